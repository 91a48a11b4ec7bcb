//! Lesson 03 as a student meets it: the article's dialogue, `nc`-style lines, bad bytes,
//! a client that resets, many clients at once, and a port already in use.

mod common;

use common::{Peer, Running, run};
use std::net::SocketAddr;
use std::process::Command;
use std::thread;
use std::time::Instant;

/// Starts 03_server on a free port with the given pause.
fn server(pause_ms: &str) -> (Running, SocketAddr) {
    Running::server("03_server", &["--pause-ms", pause_ms])
}

/// A server whose accept queue has room for ten clients at once. Ten quick connects
/// can outrun the accept loop and overflow the article's backlog of 5; a dropped SYN is
/// resent only after a second (lesson 02). The tests using this are about threads.
fn roomy_server(pause_ms: &str) -> (Running, SocketAddr) {
    Running::server("03_server", &["--pause-ms", pause_ms, "--backlog", "64"])
}

#[test]
fn prints_listening_then_waiting() {
    let (mut server, _) = server("0");
    server.expect("waiting for client connections");
}

#[test]
fn the_articles_dialogue() {
    let (mut server, addr) = server("0");
    let mut client = Peer::connect(addr);
    let me = client.stream.local_addr().unwrap();
    server.expect(&format!("welcome new client {me}"));
    // Exactly the article's client: one recv per message, no line endings.
    assert_eq!(client.recv_text(), "Welcome!");
    for name in ["Michael", "Tracy", "Sarah"] {
        client.send(name.as_bytes());
        assert_eq!(client.recv_text(), format!("Hello, {name}!"));
    }
    client.send(b"exit");
    client.expect_closed();
    server.expect(&format!("connection from {me} closed."));
}

#[test]
fn the_articles_python_client_prints_the_four_lines() {
    let Some(python) = common::python3() else {
        common::skip("python3 is not installed, the article's Python client cannot run");
        return;
    };
    let (_server, addr) = server("0");
    let out = Command::new(python)
        .arg(common::python_file("article_client.py"))
        .args(["127.0.0.1", &addr.port().to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Welcome!\nHello, Michael!\nHello, Tracy!\nHello, Sarah!\n"
    );
}

#[test]
fn nc_style_lines_keep_their_line_ending() {
    let (_server, addr) = server("0");
    let mut client = Peer::connect(addr);
    client.expect("Welcome!");
    client.send(b"Michael\n");
    client.expect("Hello, Michael!\n");
    client.send(b"Tracy\r\n");
    client.expect("Hello, Tracy!\r\n");
    client.send(b"exit\n");
    client.expect_closed();
}

#[test]
fn exit_with_crlf_ends_the_session() {
    let (_server, addr) = server("0");
    let mut client = Peer::connect(addr);
    client.expect("Welcome!");
    client.send(b"exit\r\n");
    client.expect_closed();
}

#[test]
fn invalid_utf8_is_replaced_and_the_session_goes_on() {
    let (mut server, addr) = server("0");
    let mut client = Peer::connect(addr);
    client.expect("Welcome!");
    client.send(b"Mich\xffael");
    client.expect("Hello, Mich\u{FFFD}ael!");
    client.send(b"Tracy");
    client.expect("Hello, Tracy!");
    client.send(b"exit");
    client.expect_closed();
    server.expect("closed.");
}

#[test]
fn a_client_that_resets_ends_only_its_own_session() {
    let (mut server, addr) = server("0");
    let mut steady = Peer::connect(addr);
    steady.expect("Welcome!");

    let mut rude = Peer::connect(addr);
    rude.expect("Welcome!");
    let rude_addr = rude.stream.local_addr().unwrap();
    common::reset(rude);
    server.expect(&format!(
        "connection from {rude_addr} closed after an error"
    ));

    // The other session and the server are unharmed.
    steady.send(b"Sarah");
    steady.expect("Hello, Sarah!");
    let mut late = Peer::connect(addr);
    late.expect("Welcome!");
}

#[test]
fn ten_clients_are_served_at_once() {
    let (_server, addr) = roomy_server("0");
    // Ten sessions open together: each client has its welcome while all ten are still
    // connected. A server without threads would welcome only the first.
    let mut clients: Vec<Peer> = (0..10).map(|_| Peer::connect(addr)).collect();
    for client in &mut clients {
        client.expect("Welcome!");
    }
    for (i, client) in clients.iter_mut().enumerate() {
        client.send(format!("client{i}").as_bytes());
        client.expect(&format!("Hello, client{i}!"));
    }
}

#[test]
fn ten_clients_with_a_pause_take_far_less_than_ten_pauses() {
    const PAUSE_MS: u128 = 200;
    let (_server, addr) = roomy_server(&PAUSE_MS.to_string());
    let started = Instant::now();
    let clients: Vec<_> = (0..10)
        .map(|i| {
            thread::spawn(move || {
                let mut client = Peer::connect(addr);
                client.expect("Welcome!");
                client.send(format!("n{i}").as_bytes());
                client.expect(&format!("Hello, n{i}!"));
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    // One after the other, ten round trips would take ten pauses (2 s). The threads
    // overlap the pauses: all ten take about one. Half of ten leaves room for a busy CI.
    let took = started.elapsed().as_millis();
    assert!(
        took < 5 * PAUSE_MS,
        "ten clients took {took} ms: sessions did not overlap"
    );
}

#[test]
fn a_port_in_use_gives_one_clear_line() {
    let (_first, addr) = server("0");
    let second = run("03_server", &[&addr.to_string()], "");
    assert!(
        !second.status.success(),
        "a second server on {addr} should fail"
    );
    let lines: Vec<&str> = second.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{}", second.stderr);
    assert!(lines[0].contains("address already in use"), "{}", lines[0]);
    assert!(!second.stderr.contains("panicked"));
}

#[test]
fn a_bad_flag_gives_one_clear_line() {
    let out = run("03_server", &["--backlog", "many"], "");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("--backlog"), "{}", out.stderr);
}

#[test]
fn quiet_logs_sessions_but_not_reads() {
    let (mut server, addr) = Running::server("03_server", &["--pause-ms", "0", "--quiet"]);
    let mut client = Peer::connect(addr);
    client.expect("Welcome!");
    client.send(b"Michael");
    client.expect("Hello, Michael!");
    client.send(b"exit");
    client.expect_closed();
    server.expect("closed.");
    let reads: Vec<&String> = server
        .seen()
        .iter()
        .filter(|l| l.contains("read "))
        .collect();
    assert!(reads.is_empty(), "--quiet still logged reads: {reads:?}");
}
