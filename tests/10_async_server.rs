//! Lesson 10 as a student meets it: the same dialogue tests as lesson 03's server, then
//! what it adds: a graceful shutdown on SIGINT and SIGTERM that tells every client
//! goodbye, a session cap, a read timeout, and worker processes on one port.

mod common;
mod dialogue;

use common::{Peer, Running};

dialogue_tests!("10_async_server");

const GOING_DOWN: &str = "server shutting down, bye";

#[cfg(unix)]
#[test]
fn survives_running_out_of_file_descriptors() {
    dialogue::survives_running_out_of_file_descriptors("10_async_server");
}

/// Three clients: one idle after its welcome, one in the middle of its pause, one that
/// has just sent a name. After the signal every one reads the goodbye and the close,
/// and the server exits with status 0.
fn every_client_is_told_goodbye(signal: fn(&Running)) {
    let (mut server, addr) = Running::server("10_async_server", &["--pause-ms", "300"]);
    let mut clients: Vec<Peer> = (0..3).map(|_| Peer::connect(addr)).collect();
    for client in &mut clients {
        client.expect("Welcome!");
    }
    clients[1].send(b"Tracy");
    server.expect("read 5 bytes");
    signal(&server);
    for client in &mut clients {
        client.expect(GOING_DOWN);
        client.expect_closed();
    }
    server.expect("shut down");
    let status = server.wait_exit();
    assert!(
        status.success(),
        "the server should exit 0 after a clean shutdown: {status}"
    );
}

#[test]
fn sigint_tells_every_client_goodbye() {
    every_client_is_told_goodbye(Running::interrupt);
}

#[test]
fn sigterm_tells_every_client_goodbye() {
    every_client_is_told_goodbye(Running::terminate);
}

#[test]
fn a_client_past_the_session_cap_is_told_busy() {
    let (_server, addr) = Running::server(
        "10_async_server",
        &["--pause-ms", "0", "--max-sessions", "1"],
    );
    let mut first = Peer::connect(addr);
    first.expect("Welcome!");
    let mut second = Peer::connect(addr);
    second.expect("busy, try again later");
    second.expect_closed();
    // The first session goes on; once it ends, there is room again.
    first.send(b"exit");
    first.expect_closed();
    let mut third = Peer::connect(addr);
    third.expect("Welcome!");
}

#[test]
fn a_silent_client_is_closed_after_the_read_timeout() {
    let (mut server, addr) = Running::server(
        "10_async_server",
        &["--pause-ms", "0", "--timeout-ms", "200"],
    );
    let mut silent = Peer::connect(addr);
    silent.expect("Welcome!");
    silent.expect_closed();
    server.expect("nothing received for 200 ms");
}

#[cfg(target_os = "linux")]
#[test]
fn workers_share_the_port_and_stop_together() {
    let (mut server, addr) =
        Running::server("10_async_server", &["--pause-ms", "0", "--workers", "3"]);
    // SO_REUSEPORT spreads by a hash of the client's address and port: wherever the
    // kernel puts them, all twelve are served.
    for i in 0..12 {
        let mut client = Peer::connect(addr);
        client.expect("Welcome!");
        client.send(format!("n{i}").as_bytes());
        client.expect(&format!("Hello, n{i}!"));
    }
    let mut held = Peer::connect(addr);
    held.expect("Welcome!");
    server.terminate();
    held.expect(GOING_DOWN);
    held.expect_closed();
    let status = server.wait_exit();
    assert!(
        status.success(),
        "the first process should exit 0 once its workers have: {status}"
    );
    let workers = server
        .seen()
        .iter()
        .filter(|l| l.contains("a worker"))
        .count();
    assert_eq!(
        workers, 0,
        "the workers' `listening on` lines are read by the first process"
    );
}
