//! The black-box tests every server of the article's protocol passes: lesson 03's, run
//! against another lesson. `dialogue_tests!("09_event_loop");` writes them as tests of
//! the file that says it, each starting that lesson.
#![allow(dead_code)]

use crate::common::{self, Peer, Running, run};
use std::net::SocketAddr;
use std::process::Command;
use std::thread;
use std::time::Instant;

/// Writes the article-protocol tests for `$lesson` into the calling test file.
#[macro_export]
macro_rules! dialogue_tests {
    ($lesson:expr) => {
        #[test]
        fn prints_listening_then_waiting() {
            dialogue::prints_listening_then_waiting($lesson);
        }
        #[test]
        fn the_articles_dialogue() {
            dialogue::the_articles_dialogue($lesson);
        }
        #[test]
        fn the_articles_python_client_prints_the_four_lines() {
            dialogue::the_articles_python_client_prints_the_four_lines($lesson);
        }
        #[test]
        fn nc_style_lines_keep_their_line_ending() {
            dialogue::nc_style_lines_keep_their_line_ending($lesson);
        }
        #[test]
        fn invalid_utf8_is_replaced_and_the_session_goes_on() {
            dialogue::invalid_utf8_is_replaced_and_the_session_goes_on($lesson);
        }
        #[test]
        fn a_client_that_resets_ends_only_its_own_session() {
            dialogue::a_client_that_resets_ends_only_its_own_session($lesson);
        }
        #[test]
        fn ten_clients_are_served_at_once() {
            dialogue::ten_clients_are_served_at_once($lesson);
        }
        #[test]
        fn ten_clients_with_a_pause_take_far_less_than_ten_pauses() {
            dialogue::ten_clients_with_a_pause_take_far_less_than_ten_pauses($lesson);
        }
        #[test]
        fn a_port_in_use_gives_one_clear_line() {
            dialogue::a_port_in_use_gives_one_clear_line($lesson);
        }
        #[test]
        fn a_bad_flag_gives_one_clear_line() {
            dialogue::a_bad_flag_gives_one_clear_line($lesson);
        }
        #[test]
        fn quiet_logs_sessions_but_not_reads() {
            dialogue::quiet_logs_sessions_but_not_reads($lesson);
        }
    };
}

/// Starts `lesson` on a free port with the given pause.
pub fn server(lesson: &str, pause_ms: &str) -> (Running, SocketAddr) {
    Running::server(lesson, &["--pause-ms", pause_ms])
}

pub fn prints_listening_then_waiting(lesson: &str) {
    let (mut server, _) = server(lesson, "0");
    server.expect("waiting for client connections");
}

pub fn the_articles_dialogue(lesson: &str) {
    let (mut server, addr) = server(lesson, "0");
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

pub fn the_articles_python_client_prints_the_four_lines(lesson: &str) {
    let Some(python) = common::python3() else {
        common::skip("python3 is not installed, the article's Python client cannot run");
        return;
    };
    let (_server, addr) = server(lesson, "0");
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
        "Welcome!\nHello, Michael!\nHello, Tracy!\nHello, Sarah!\n",
        "the article's client should print the welcome and three greetings"
    );
}

pub fn nc_style_lines_keep_their_line_ending(lesson: &str) {
    let (_server, addr) = server(lesson, "0");
    let mut client = Peer::connect(addr);
    client.expect("Welcome!");
    client.send(b"Michael\n");
    client.expect("Hello, Michael!\n");
    client.send(b"Tracy\r\n");
    client.expect("Hello, Tracy!\r\n");
    client.send(b"exit\r\n");
    client.expect_closed();
}

pub fn invalid_utf8_is_replaced_and_the_session_goes_on(lesson: &str) {
    let (mut server, addr) = server(lesson, "0");
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

pub fn a_client_that_resets_ends_only_its_own_session(lesson: &str) {
    let (mut server, addr) = server(lesson, "0");
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

pub fn ten_clients_are_served_at_once(lesson: &str) {
    let (_server, addr) = server(lesson, "0");
    // All ten are welcomed while all ten are connected: one thread serves them all.
    let mut clients: Vec<Peer> = (0..10).map(|_| Peer::connect(addr)).collect();
    for client in &mut clients {
        client.expect("Welcome!");
    }
    for (i, client) in clients.iter_mut().enumerate() {
        client.send(format!("client{i}").as_bytes());
        client.expect(&format!("Hello, client{i}!"));
    }
}

pub fn ten_clients_with_a_pause_take_far_less_than_ten_pauses(lesson: &str) {
    const PAUSE_MS: u128 = 200;
    let (_server, addr) = server(lesson, &PAUSE_MS.to_string());
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
    // One after the other, ten round trips would take ten pauses (2 s). The pauses
    // are deadlines that run out together: all ten take about one.
    let took = started.elapsed().as_millis();
    assert!(
        took < 5 * PAUSE_MS,
        "ten clients took {took} ms: the pauses did not overlap"
    );
}

pub fn a_port_in_use_gives_one_clear_line(lesson: &str) {
    let (_first, addr) = server(lesson, "0");
    let second = run(lesson, &[&addr.to_string()], "");
    assert!(
        !second.status.success(),
        "a second server on {addr} should fail"
    );
    let lines: Vec<&str> = second.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{}", second.stderr);
    assert!(lines[0].contains("address already in use"), "{}", lines[0]);
}

pub fn a_bad_flag_gives_one_clear_line(lesson: &str) {
    let out = run(lesson, &["--backlog", "many"], "");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("--backlog"), "{}", out.stderr);
}

pub fn quiet_logs_sessions_but_not_reads(lesson: &str) {
    let (mut server, addr) = Running::server(lesson, &["--pause-ms", "0", "--quiet"]);
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

/// Starts `lesson` with at most `files` open files (`ulimit -n`), through the shell.
#[cfg(unix)]
pub fn server_with_few_files(lesson: &str, files: u32) -> (Running, SocketAddr) {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit -n {files} && exec \"$0\" \"$@\""))
        .arg(common::lesson(lesson))
        .args(["127.0.0.1:0", "--pause-ms", "0"]);
    let mut server = Running::spawn(command);
    let addr = server.listening_addr();
    (server, addr)
}

/// Out of file descriptors, `accept` fails with EMFILE: the server says so, keeps its
/// sessions, and takes the waiting connection once a session has ended.
#[cfg(unix)]
pub fn survives_running_out_of_file_descriptors(lesson: &str) {
    // 3 standard streams, the listener, the event loop's own descriptors: about 10
    // left for sessions.
    let (mut server, addr) = server_with_few_files(lesson, 24);
    let mut clients = Vec::new();
    for _ in 0..30 {
        clients.push(Peer::connect(addr)); // the kernel completes the handshakes
    }
    server.expect("Too many open files");
    let mut first = clients.remove(0);
    first.expect("Welcome!");
    first.send(b"Michael");
    first.expect("Hello, Michael!");
    // Closing sessions frees descriptors: every waiting client gets its turn.
    drop(first);
    for mut client in clients {
        client.expect("Welcome!");
        client.send(b"exit");
        client.expect_closed();
    }
}
