//! Lesson 02: the accept queue fills without `accept`, the waiting connections are
//! then accepted, a client can be connected without being queued, a second bind reports
//! `Address already in use`, and SO_REUSEADDR binds over TIME_WAIT only when both the
//! old and the new socket set it (Linux).

mod common;

use common::{help_default, run};
use std::sync::OnceLock;

/// Runs 02_listen on a free port with `args`; expects success; returns its output.
fn listen_with(args: &[&str]) -> String {
    let mut all = vec!["127.0.0.1:0"];
    all.extend_from_slice(args);
    let out = run("02_listen", &all, "");
    assert!(
        out.status.success(),
        "02_listen {all:?} failed ({:?}):\n{}{}",
        out.status,
        out.stdout,
        out.stderr
    );
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    out.stdout
}

/// The output of one run shared by most tests (each run takes a second or two):
/// backlog 2, 5 clients, each waiting 200 ms.
fn shared() -> &'static str {
    static OUTPUT: OnceLock<String> = OnceLock::new();
    OUTPUT.get_or_init(|| {
        listen_with(&[
            "--backlog",
            "2",
            "--clients",
            "5",
            "--connect-timeout-ms",
            "200",
        ])
    })
}

fn count(stdout: &str, needle: &str) -> usize {
    stdout.lines().filter(|l| l.contains(needle)).count()
}

/// The part of the output under the heading `title`, up to the next heading.
fn section<'a>(stdout: &'a str, title: &str) -> &'a str {
    let start = stdout
        .find(&format!("\n{title}\n"))
        .unwrap_or_else(|| panic!("no section {title:?} in:\n{stdout}"));
    let rest = &stdout[start + 1..];
    let end = rest.find("\n\n").unwrap_or(rest.len());
    &rest[..end]
}

/// A kernel setting read by the test itself, from /proc/sys.
#[cfg(target_os = "linux")]
fn sysctl(name: &str) -> Option<i64> {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[test]
fn the_queue_fills_then_the_waiting_are_accepted() {
    let out = section(shared(), "The accept queue");
    let queued = count(out, "waits in the accept queue");
    let gave_up = count(out, "no handshake within");
    assert!(queued >= 1, "no connection was queued:\n{out}");
    assert!(queued + gave_up <= 5, "{out}");
    // What the lesson reports is what it saw.
    assert!(
        out.contains(&format!(
            "with backlog 2, {queued} of 5 connections were queued"
        )),
        "{out}"
    );
    // Every queued connection is accepted, and then the queue is empty.
    assert_eq!(count(out, "accept() -> connection"), queued, "{out}");
    assert!(
        out.contains(&format!("{queued} connections were waiting in it")),
        "{out}"
    );
}

#[test]
#[cfg(target_os = "linux")]
fn linux_queues_backlog_plus_one() {
    let out = shared();
    let queue = section(out, "The accept queue");
    assert_eq!(
        count(queue, "waits in the accept queue"),
        3,
        "Linux should queue backlog + 1 = 3 connections:\n{queue}"
    );
    assert_eq!(count(queue, "no handshake within"), 2, "{queue}");
    assert!(queue.contains("That is the backlog + 1"), "{queue}");
}

#[test]
#[cfg(target_os = "linux")]
fn the_syn_schedule_is_read_from_this_kernel() {
    let out = shared();
    let retries = sysctl("net.ipv4.tcp_syn_retries").unwrap();
    assert!(
        out.contains(&format!("net.ipv4.tcp_syn_retries = {retries}")),
        "the lesson does not print this kernel's tcp_syn_retries ({retries}):\n{out}"
    );
    match sysctl("net.ipv4.tcp_syn_linear_timeouts") {
        // Linux 6.5 and later with the defaults: measured with tcpdump on this kind of
        // machine (SYNs at 0, 1.01, 2.03, 3.06, 4.08, 5.11, 7.12, 11.19, 19.38, 35.51,
        // 69.04 s; connect() failed after 134.58 s).
        Some(4) if retries == 6 => {
            assert!(
                out.contains("sent again at 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s"),
                "{out}"
            );
            assert!(out.contains("and connect() fails at 131 s"), "{out}");
        }
        // Before 6.5, with the default 6 retries: 1, 2, 4, ... doubling.
        None if retries == 6 => {
            assert!(out.contains("sent again at 1, 3, 7, 15, 31, 63 s"), "{out}");
            assert!(out.contains("and connect() fails at 127 s"), "{out}");
        }
        _ => {} // settings changed on this machine: the schedule differs
    }
}

#[test]
fn the_accepted_peers_are_the_clients_that_connected() {
    let out = shared();
    let queue = section(out, "The accept queue");
    // "client 1 (127.0.0.1:PORT): connected" ... "accept() -> connection 1, from 127.0.0.1:PORT"
    let client_addrs: Vec<&str> = queue
        .lines()
        .filter(|l| l.contains("waits in the accept queue"))
        .map(|l| l.split(['(', ')']).nth(1).unwrap())
        .collect();
    let accepted: Vec<&str> = queue
        .lines()
        .filter_map(|l| l.split("accept() -> connection ").nth(1))
        .map(|rest| rest.split("from ").nth(1).unwrap())
        .collect();
    assert!(!client_addrs.is_empty(), "{out}");
    assert_eq!(client_addrs, accepted, "{out}");
}

#[test]
fn address_in_use_is_reported_not_panicked() {
    let out = shared();
    assert!(out.contains("error kind AddrInUse"), "{out}");
    #[cfg(target_os = "linux")]
    assert!(out.contains("OS error 98"), "{out}");
    assert!(
        out.contains("std::net::TcpListener listening on 127.0.0.1:"),
        "{out}"
    );
}

#[test]
#[cfg(target_os = "linux")]
fn so_reuseaddr_binds_over_time_wait_only_when_old_and_new_set_it() {
    let part = section(shared(), "TIME_WAIT and SO_REUSEADDR");
    let olds: Vec<&str> = part
        .lines()
        .filter(|l| l.starts_with("[kernel] old socket"))
        .collect();
    let news: Vec<&str> = part
        .lines()
        .filter(|l| l.starts_with("[server] new socket"))
        .collect();
    assert_eq!(olds.len(), 4, "four cases expected:\n{part}");
    assert_eq!(news.len(), 4, "four cases expected:\n{part}");
    for old in &olds {
        assert!(
            old.contains("1 connection in TIME_WAIT"),
            "the old listener's connection should be in TIME_WAIT before the new bind: {old}"
        );
    }
    let cases = [
        ("old socket without", "new socket without", false),
        ("old socket without", "new socket with SO", false),
        ("old socket with SO", "new socket without", false),
        ("old socket with SO", "new socket with SO", true),
    ];
    for (i, (old, new, binds)) in cases.into_iter().enumerate() {
        assert!(olds[i].contains(old), "case {i}: {}", olds[i]);
        assert!(news[i].contains(new), "case {i}: {}", news[i]);
        if binds {
            assert!(
                news[i].ends_with("and listen: yes"),
                "SO_REUSEADDR on both sockets should bind over TIME_WAIT on Linux: {}",
                news[i]
            );
        } else {
            assert!(
                news[i].contains("failed: Address already in use"),
                "Linux should refuse this bind over TIME_WAIT: {}",
                news[i]
            );
        }
    }
}

#[test]
#[cfg(target_os = "linux")]
fn a_client_can_be_connected_and_not_queued() {
    let part = section(shared(), "Connected, but not accepted");
    assert_eq!(
        count(part, "connect() returned: connected"),
        2,
        "both late clients' connect() should return:\n{part}"
    );
    assert!(
        part.contains("2 of the 3 clients were in the queue"),
        "the queue of backlog 1 should hold 2 of the 3 clients:\n{part}"
    );
    match sysctl("net.ipv4.tcp_abort_on_overflow") {
        Some(0) => {
            assert!(part.contains("2 established, 1 half-open"), "{part}");
            assert_eq!(count(part, "reads nothing, and no error"), 2, "{part}");
            assert!(
                part.contains("sent its SYN-ACK again"),
                "the dropped client should be accepted once the server's kernel resends its SYN-ACK:\n{part}"
            );
        }
        _ => assert!(part.contains("Connection reset by peer"), "{part}"),
    }
}

#[test]
fn a_huge_backlog_ends_with_a_bounded_number_of_clients() {
    let out = listen_with(&["--backlog", "2147483647"]);
    assert!(
        out.contains("with backlog 2147483647, 200 of 200 connections were queued"),
        "{out}"
    );
}

#[test]
#[cfg(target_os = "linux")]
fn a_negative_backlog_is_explained() {
    let out = listen_with(&["--backlog", "-5", "--clients", "2"]);
    let max = sysctl("net.core.somaxconn").unwrap();
    assert!(out.contains("listen(-5)"), "{out}");
    assert!(
        out.contains(&format!(
            "-5 is read as 4294967291, so the backlog is {max}"
        )),
        "{out}"
    );
}

#[test]
fn impossible_requests_are_refused_with_one_line() {
    for (args, word) in [
        (&["--clients", "100000"][..], "--clients"),
        (&["--clients", "0"], "--clients"),
        (&["--connect-timeout-ms", "0"], "--connect-timeout-ms"),
        (&["--connect-timeout-ms", "600000"], "--connect-timeout-ms"),
        (&["[::1]:0"], "IPv6"),
        (&["--backlog", "2147483648"], "--backlog"),
    ] {
        let out = run("02_listen", args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(word), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
}

#[test]
#[cfg(unix)]
fn a_client_that_cannot_connect_is_not_counted_as_a_full_queue() {
    // With 9 file descriptors the lesson runs out of them while it connects: that is
    // not a measurement of the queue, and the exit status says so.
    let lesson = common::lesson("02_listen");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 9 && exec \"$0\" 127.0.0.1:0 --connect-timeout-ms 200")
        .arg(&lesson)
        .env("NO_COLOR", "1")
        .output()
        .expect("cannot run sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("the queue's length was not measured"),
        "{stdout}"
    );
    assert!(!stdout.contains("connections were queued"), "{stdout}");
}

#[test]
fn help_shows_the_defaults_the_lesson_uses() {
    let help = listen_with(&["--help"]);
    assert!(
        help.starts_with("usage: 02_listen [ADDRESS] [OPTIONS]"),
        "{help}"
    );
    let out = listen_with(&[]);
    let backlog = help_default(&help, "--backlog");
    assert!(
        out.contains(&format!("listen({backlog}):")),
        "--help says the backlog is {backlog} by default, but the lesson used another:\n{out}"
    );
    let timeout = help_default(&help, "--connect-timeout-ms");
    assert!(
        out.contains(&format!("no handshake within {timeout}ms")),
        "--help says each client waits {timeout} ms by default, but the lesson waited otherwise:\n{out}"
    );
}
