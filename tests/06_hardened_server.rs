//! Lesson 06 over real sockets: the dialogue in lines, each limit with small values so
//! that every test is quick, and the graceful shutdown on Ctrl-C.

mod common;

use common::{Peer, Running, run};
use std::io::{ErrorKind, Write};
use std::net::SocketAddr;
use std::time::Duration;

/// Starts 06_hardened_server on a free port with `args`.
fn server(args: &[&str]) -> (Running, SocketAddr) {
    Running::server("06_hardened_server", args)
}

/// A client that has had its welcome.
fn welcomed(addr: SocketAddr) -> Peer {
    let mut client = Peer::connect(addr);
    client.expect("Welcome!\n");
    client
}

/// Sends line after line and never reads a reply, until a write fails: it times out
/// (the server stopped reading: it is stuck writing replies we do not read) or the
/// server closed the connection.
fn flood(client: &mut Peer) {
    client
        .stream
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let line = format!("{}\n", "x".repeat(1000));
    let chunk = line.repeat(64);
    // Socket buffers hold a few MB at most: 1 GB means the server never stopped.
    for _ in 0..(1 << 30) / chunk.len() {
        if let Err(err) = client.stream.write_all(chunk.as_bytes()) {
            assert_ne!(err.kind(), ErrorKind::Interrupted);
            return;
        }
    }
    panic!("the server read 1 GB of lines while its replies went unread");
}

#[test]
fn prints_each_limit_then_waits() {
    let (mut server, _) = server(&[]);
    server.expect("waiting for connections; Ctrl-C stops the server gracefully");
    // The defaults the book promises, one line each, the backlog on the first.
    let printed = server.seen();
    assert!(printed[0].contains("(backlog 1024)"), "{}", printed[0]);
    for default in [
        "read timeout 30 s",
        "write timeout 10 s",
        "line limit 4096 bytes",
        "session limit 256",
        "shutdown grace 5 s",
    ] {
        let lines = printed.iter().filter(|line| line.contains(default)).count();
        assert_eq!(lines, 1, "{default:?} in:\n{}", printed.join("\n"));
    }
}

#[test]
fn the_dialogue_in_lines() {
    let (mut server, addr) = server(&[]);
    let mut client = Peer::connect(addr);
    let me = client.stream.local_addr().unwrap();
    client.expect("Welcome!\n");
    server.expect(&format!("#1 {me} connected (1 of 256 sessions)"));
    client.send(b"Michael\n");
    client.expect("Hello, Michael!\n");
    // telnet ends its lines with \r\n: the \r is not part of the name.
    client.send(b"Tracy\r\n");
    client.expect("Hello, Tracy!\n");
    client.send(b"exit\r\n");
    client.expect_closed();
    server.expect("#1 closed after 3 messages (the client sent exit)");
}

#[test]
fn lines_not_reads_are_the_messages() {
    let (_server, addr) = server(&[]);
    let mut client = welcomed(addr);
    // One line cut in two writes, then two lines in one write: three messages.
    client.send(b"Michael\nTra");
    client.expect("Hello, Michael!\n");
    client.send(b"cy\nSarah\n");
    client.expect("Hello, Tracy!\nHello, Sarah!\n");
}

#[test]
fn a_silent_client_is_told_why_and_disconnected() {
    let (mut server, addr) = server(&["--read-timeout-ms", "200"]);
    let mut client = welcomed(addr);
    // We send nothing; our own read waits up to PATIENCE (10 s) for the server's word.
    client.expect("bye: nothing received for 200 ms, closing\n");
    client.expect_closed();
    server.expect("#1 timed out after 200 ms idle (after 0 messages)");
}

#[test]
fn an_overlong_line_gets_an_error_and_the_connection_closes() {
    let (mut server, addr) = server(&["--max-line", "16"]);
    let mut other = welcomed(addr);
    let mut client = welcomed(addr);
    let sixteen = "x".repeat(16);
    client.send(format!("{sixteen}\r\n").as_bytes());
    client.expect(&format!("Hello, {sixteen}!\n"));
    client.send(format!("{sixteen}y\n").as_bytes());
    client.expect("error: line longer than 16 bytes, closing\n");
    client.expect_closed();
    server.expect("#2 closed: line too long (after 1 message)");
    // The server goes on serving the others.
    other.send(b"Sarah\n");
    other.expect("Hello, Sarah!\n");
    welcomed(addr);
}

#[test]
fn a_flood_without_newline_still_gets_its_error_line_then_the_end() {
    let (_server, addr) = server(&["--max-line", "16"]);
    let mut client = welcomed(addr);
    // 1 MB with no line end: the server refuses it after 18 bytes. Were the rest still
    // unread when the server closes, its kernel would reset the connection: we would
    // read a reset instead of the end of the stream, and might lose the error line.
    // So the server sends its FIN, then reads and discards the rest (close_gently).
    let mut writer = client.stream.try_clone().unwrap();
    let sending = std::thread::spawn(move || writer.write_all(&vec![b'x'; 1 << 20]));
    client.expect("error: line longer than 16 bytes, closing\n");
    client.expect_closed();
    sending
        .join()
        .unwrap()
        .expect("the server reset the connection instead of reading the rest");
}

#[test]
fn invalid_utf8_gets_an_error_and_the_session_goes_on() {
    let (mut server, addr) = server(&[]);
    let mut client = welcomed(addr);
    client.send(b"Mich\xffael\n");
    client.expect("error: not UTF-8 (invalid byte 0xff at offset 4); send text\n");
    server.expect("#1 sent a line that is not UTF-8 (invalid byte 0xff at offset 4)");
    client.send(b"Tracy\n");
    client.expect("Hello, Tracy!\n");
    client.send(b"exit\n");
    client.expect_closed();
    server.expect("#1 closed after 3 messages");
}

#[test]
fn a_client_beyond_the_session_limit_is_turned_away() {
    let (mut server, addr) = server(&["--max-sessions", "2"]);
    let mut first = welcomed(addr);
    let mut second = welcomed(addr);
    server.expect("(2 of 2 sessions)");

    let mut third = Peer::connect(addr);
    third.expect("busy, try again later\n");
    third.expect_closed();
    server.expect("turned away: 2 of 2 sessions busy");

    // The two sessions were not disturbed.
    first.send(b"Michael\n");
    first.expect("Hello, Michael!\n");
    second.send(b"Tracy\n");
    second.expect("Hello, Tracy!\n");

    // The end of the stream comes only once the session's last socket handle, the one
    // in the server's list of live sessions, is dropped: then its place is free.
    first.send(b"exit\n");
    first.expect_closed();
    let mut fourth = welcomed(addr);
    fourth.send(b"Sarah\n");
    fourth.expect("Hello, Sarah!\n");
}

#[test]
fn a_client_that_resets_leaves_the_others_served() {
    let (mut server, addr) = server(&[]);
    let mut steady = welcomed(addr);
    let rude = welcomed(addr);
    common::reset(rude);
    server.expect("#2 closed by an error after 0 messages");

    steady.send(b"Sarah\n");
    steady.expect("Hello, Sarah!\n");
    welcomed(addr);
}

#[test]
fn a_client_that_never_reads_is_cut_off_by_the_write_timeout() {
    let (mut server, addr) = server(&["--write-timeout-ms", "200"]);
    let mut steady = welcomed(addr);
    let mut hog = welcomed(addr);
    flood(&mut hog);
    server.expect("#2 closed: a reply waited 200 ms to be sent, the client is not reading");
    steady.send(b"Sarah\n");
    steady.expect("Hello, Sarah!\n");
}

#[test]
fn ctrl_c_tells_each_client_then_exits_with_a_summary() {
    let (mut server, addr) = server(&[]);
    let mut client = welcomed(addr);
    client.send(b"Michael\n");
    client.expect("Hello, Michael!\n");

    server.interrupt();
    client.expect("server shutting down, bye\n");
    client.expect_closed();
    server.expect("#1 closed: server shutting down (after 1 message)");
    server.expect("summary: 1 session served, 1 message, 0 errors, 0 clients turned away busy");
    let status = server.wait_exit();
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(
        !server
            .seen()
            .iter()
            .any(|line| line.contains("still running")),
        "{:?}",
        server.seen()
    );
}

#[test]
fn ctrl_c_with_no_client_wakes_the_accept_loop_and_exits() {
    let (mut server, _) = server(&[]);
    server.interrupt();
    server.expect("summary: 0 sessions served");
    assert_eq!(server.wait_exit().code(), Some(0));
}

#[test]
fn ctrl_c_names_the_sessions_still_running_at_the_deadline() {
    // With no grace at all, the connected session has no time to end: the server
    // names it and exits all the same.
    let (mut server, addr) = server(&["--shutdown-grace-ms", "0"]);
    let _client = welcomed(addr);
    server.interrupt();
    server.expect("1 session still running at the deadline (#1)");
    assert_eq!(server.wait_exit().code(), Some(0));
}

#[test]
fn bad_flags_give_one_clear_line() {
    for args in [
        &["--max-sessions", "lots"][..],
        &["--read-timeout-ms", "0"],
        &["--max-line", "-1"],
        &["--colour"],
    ] {
        let out = run("06_hardened_server", args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(args[0]), "{args:?}: {}", out.stderr);
    }
}
