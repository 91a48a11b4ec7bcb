//! Lesson 02: the accept queue fills without `accept`, the waiting connections are
//! then accepted, and a second bind reports `Address already in use`.

mod common;

use common::run;

/// Runs 02_listen on a free port; returns its output.
fn listen(backlog: &str, clients: &str) -> String {
    let out = run(
        "02_listen",
        &[
            "127.0.0.1:0",
            "--backlog",
            backlog,
            "--clients",
            clients,
            "--connect-timeout-ms",
            "200",
        ],
        "",
    );
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    out.stdout
}

fn count(stdout: &str, needle: &str) -> usize {
    stdout.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn the_queue_fills_then_the_waiting_are_accepted() {
    let out = listen("2", "5");
    let queued = count(&out, "waits in the accept queue");
    let gave_up = count(&out, "no handshake within");
    assert!(queued >= 1, "no connection was queued:\n{out}");
    assert_eq!(queued + gave_up, 5, "{out}");
    // What the lesson reports is what it saw.
    assert!(
        out.contains(&format!(
            "with backlog 2, {queued} of 5 connections were queued"
        )),
        "{out}"
    );
    // Every queued connection is accepted, and then the queue is empty.
    assert_eq!(count(&out, "accept() -> connection"), queued, "{out}");
    assert!(
        out.contains(&format!("{queued} connections were waiting in it")),
        "{out}"
    );
}

#[test]
#[cfg(target_os = "linux")]
fn linux_queues_backlog_plus_one() {
    let out = listen("2", "5");
    assert_eq!(count(&out, "waits in the accept queue"), 3, "{out}");
    assert_eq!(count(&out, "no handshake within"), 2, "{out}");
    assert!(out.contains("That is backlog + 1"), "{out}");
}

#[test]
fn the_accepted_peers_are_the_clients_that_connected() {
    let out = listen("1", "2");
    // "client 1 (127.0.0.1:PORT): connected" ... "accept() -> connection 1, from 127.0.0.1:PORT"
    let client_addrs: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("waits in the accept queue"))
        .map(|l| l.split(['(', ')']).nth(1).unwrap())
        .collect();
    let accepted: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split("accept() -> connection ").nth(1))
        .map(|rest| rest.split("from ").nth(1).unwrap())
        .collect();
    assert!(!client_addrs.is_empty(), "{out}");
    assert_eq!(client_addrs, accepted, "{out}");
}

#[test]
fn address_in_use_is_reported_not_panicked() {
    let out = listen("5", "1");
    assert!(out.contains("error kind AddrInUse"), "{out}");
    #[cfg(target_os = "linux")]
    assert!(out.contains("OS error 98"), "{out}");
    assert!(
        out.contains("std::net::TcpListener listening on 127.0.0.1:"),
        "{out}"
    );
}
