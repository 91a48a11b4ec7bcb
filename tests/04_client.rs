//! Lesson 04 against lesson 03, against the project's Python rendition of the
//! article's server, interactively, and with nothing listening.

mod common;

use common::{Running, run};
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

fn server() -> (Running, SocketAddr) {
    Running::server("03_server", &["--pause-ms", "0"])
}

/// The lines of a client run that carry a received reply.
fn received(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|line| line.split("received ").nth(1))
        .collect()
}

/// Runs 04_client with its default names against `addr` and checks every reply.
fn talk_the_articles_dialogue(addr: SocketAddr) {
    let out = run("04_client", &[&addr.to_string()], "");
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(
        received(&out.stdout),
        [
            r#""Welcome!""#,
            r#""Hello, Michael!""#,
            r#""Hello, Tracy!""#,
            r#""Hello, Sarah!""#
        ]
    );
    assert!(out.stdout.contains(r#"sent     "exit""#), "{}", out.stdout);
}

#[test]
fn the_articles_dialogue_with_03_server() {
    let (mut server, addr) = server();
    talk_the_articles_dialogue(addr);
    server.expect("closed.");
}

#[test]
fn names_from_the_command_line() {
    let (_server, addr) = server();
    let out = run("04_client", &[&addr.to_string(), "Alice", "张三"], "");
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(
        received(&out.stdout),
        [r#""Welcome!""#, r#""Hello, Alice!""#, r#""Hello, 张三!""#]
    );
}

#[test]
fn interactive_sends_each_line_until_exit() {
    let (mut server, addr) = server();
    let out = run(
        "04_client",
        &[&addr.to_string(), "--interactive"],
        "Alice\n\nBob\nexit\nnever sent\n",
    );
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(
        received(&out.stdout),
        [r#""Welcome!""#, r#""Hello, Alice!""#, r#""Hello, Bob!""#]
    );
    assert!(!out.stdout.contains("never sent"), "{}", out.stdout);
    server.expect("closed.");
}

#[test]
fn interactive_says_exit_at_end_of_input() {
    let (mut server, addr) = server();
    let out = run(
        "04_client",
        &[&addr.to_string(), "--interactive"],
        "Alice\n",
    );
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.contains(r#"sent     "exit""#), "{}", out.stdout);
    server.expect("closed.");
}

#[test]
fn nothing_listening_gives_one_clear_line() {
    let addr = common::nothing_listening();
    let out = run("04_client", &[&addr.to_string()], "");
    assert!(!out.status.success());
    assert_eq!(
        out.stderr.trim_end(),
        format!("04_client: connection refused: is 03_server running on {addr}?")
    );
}

#[test]
fn the_articles_dialogue_with_the_python_server() {
    let Some((mut server, addr)) = common::python_server() else {
        return;
    };
    talk_the_articles_dialogue(addr);
    server.expect("closed.");
}

/// The TCP sockets in TIME_WAIT (state 06 in /proc/net/tcp), each as (local port, peer
/// port); `None` where /proc/net/tcp does not exist (any system but Linux).
fn time_wait_ports() -> Option<Vec<(u16, u16)>> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    // A line reads: `sl local_address rem_address st ...`, addresses as `0100007F:04D2`.
    let port = |address: &str| u16::from_str_radix(address.rsplit(':').next()?, 16).ok();
    let entries = table.lines().skip(1).filter_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields[..] {
            [_, local, peer, "06", ..] => Some((port(local)?, port(peer)?)),
            _ => None,
        }
    });
    Some(entries.collect())
}

#[test]
fn the_client_closes_first_so_time_wait_is_on_the_clients_port() {
    if time_wait_ports().is_none() {
        common::skip("/proc/net/tcp does not exist here (not Linux): TIME_WAIT cannot be read");
        return;
    }
    // With a pause, as the article's server has (1 s there), the client's close comes
    // first. With no pause at all the two closes race and either side may get TIME_WAIT.
    let (mut server, addr) = Running::server("03_server", &["--pause-ms", "200"]);
    let out = run("04_client", &[&addr.to_string()], "");
    assert!(out.status.success(), "{}", out.stderr);
    let client_port: u16 = out
        .stdout
        .lines()
        .find_map(|line| line.split(" from 127.0.0.1:").nth(1))
        .and_then(|port| port.trim().parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no `connected to ... from 127.0.0.1:PORT` line:\n{}",
                out.stdout
            )
        });
    server.expect("closed.");
    // The server closes after its own log line: wait for this connection's TIME_WAIT.
    let this_connection = |&(local, peer): &(u16, u16)| {
        (local, peer) == (client_port, addr.port()) || (local, peer) == (addr.port(), client_port)
    };
    let deadline = Instant::now() + common::PATIENCE;
    let found = loop {
        let found: Vec<_> = time_wait_ports()
            .unwrap_or_default()
            .into_iter()
            .filter(this_connection)
            .collect();
        if !found.is_empty() || Instant::now() > deadline {
            break found;
        }
        thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(
        found,
        [(client_port, addr.port())],
        "the client closes first (it sends `exit` and closes at once, the server closes \
         after its pause), so the TIME_WAIT socket should be the client's, local port \
         {client_port}; /proc/net/tcp shows these (local port, peer port) in TIME_WAIT"
    );
}
