//! Lesson 07: the load generator's counts, against lesson 03, against nothing, against
//! small line-speaking servers written here (so these tests do not depend on lesson 06),
//! and against the project's Python rendition of the article's server.

mod common;

use common::{Finished, Running, run};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;

/// 03_server without its pause, with room in its accept queue for clients that connect
/// together (the article's backlog of 5 can overflow, and a dropped SYN is sent again
/// only after a second).
fn server() -> (Running, SocketAddr) {
    Running::server("03_server", &["--pause-ms", "0", "--backlog", "64"])
}

/// Runs 07_load against `addr` with `args`.
fn load(addr: SocketAddr, args: &[&str]) -> Finished {
    let addr = addr.to_string();
    let mut all = vec![addr.as_str()];
    all.extend_from_slice(args);
    run("07_load", &all, "")
}

/// The number in the table row whose label is `label` (`round trips` is not
/// `round trips/s`).
fn row(stdout: &str, label: &str) -> String {
    stdout
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(label)?;
            rest.starts_with("  ")
                .then(|| rest.split_whitespace().next().unwrap_or("").to_string())
        })
        .unwrap_or_else(|| panic!("no row {label:?} in the table:\n{stdout}"))
}

/// The whole-number value of row `label`.
fn count(stdout: &str, label: &str) -> usize {
    let value = row(stdout, label);
    value
        .parse()
        .unwrap_or_else(|_| panic!("row {label:?} holds {value:?}, not a count:\n{stdout}"))
}

/// Asserts that every one of `clients` clients connected and did its 5 round trips.
fn assert_all_served(out: &Finished, clients: usize) {
    let table = &out.stdout;
    assert!(out.status.success(), "{}\n{}", out.stderr, table);
    // No progress line and no error: stderr is not a terminal here.
    assert_eq!(out.stderr, "", "{table}");
    assert_eq!(count(table, "clients"), clients, "{table}");
    assert_eq!(count(table, "connections ok"), clients, "{table}");
    assert_eq!(count(table, "refused"), 0, "{table}");
    assert_eq!(count(table, "timed out"), 0, "{table}");
    assert_eq!(count(table, "busy"), 0, "{table}");
    assert_eq!(count(table, "other errors"), 0, "{table}");
    assert_eq!(count(table, "finished"), clients, "{table}");
    assert_eq!(count(table, "round trips"), clients * 5, "{table}");
    // The measured rows hold numbers (their size is the benchmark's business).
    for label in ["round trips/s", "latency min", "latency p50", "latency p90"] {
        let value = row(table, label);
        let number: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("{label}: {value:?}"));
        assert!(number >= 0.0, "{label}: {value}");
    }
    for label in ["latency p99", "latency max", "connect p50", "wall time"] {
        row(table, label);
    }
}

#[test]
fn eight_clients_one_after_the_other() {
    let (mut server, addr) = server();
    let out = load(addr, &["--clients", "8", "--rounds", "5"]);
    assert_all_served(&out, 8);
    // Each client said goodbye with `exit`: the server closes sessions normally.
    server.expect("closed.");
}

#[test]
fn eight_clients_in_a_burst() {
    let (_server, addr) = server();
    let out = load(addr, &["--clients", "8", "--rounds", "5", "--burst"]);
    assert_all_served(&out, 8);
    assert!(out.stdout.contains("all at once"), "{}", out.stdout);
}

#[test]
fn nothing_listening_refuses_every_client() {
    let addr = common::nothing_listening();
    let out = load(addr, &["--clients", "8", "--rounds", "5"]);
    let table = &out.stdout;
    assert_eq!(out.status.code(), Some(1), "{table}");
    assert_eq!(count(table, "connections ok"), 0, "{table}");
    assert_eq!(count(table, "refused"), 8, "{table}");
    assert_eq!(count(table, "round trips"), 0, "{table}");
    assert_eq!(row(table, "latency p50"), "-", "{table}");
    // The table is printed, and then one line says why the run failed.
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("8 refused"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

/// A small line-speaking server on a free port: for each connection, `welcome`, then
/// `answer(line)` for every line until `exit` or the end of the stream.
fn line_server(welcome: &'static str, answer: fn(&str) -> String) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || serve_lines(stream, welcome, answer));
        }
    });
    addr
}

fn serve_lines(mut stream: TcpStream, welcome: &str, answer: fn(&str) -> String) {
    if stream.write_all(welcome.as_bytes()).is_err() {
        return;
    }
    let reader = BufReader::new(stream.try_clone().unwrap());
    for line in reader.lines() {
        let Ok(line) = line else { return };
        if line == "exit" {
            return;
        }
        if stream.write_all(answer(&line).as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn lines_mode_against_a_line_server() {
    let addr = line_server("Welcome!\n", |name| format!("Hello, {name}!\n"));
    let out = load(addr, &["--clients", "8", "--rounds", "5", "--lines"]);
    assert_all_served(&out, 8);
}

#[test]
fn wrong_replies_are_errors_with_an_example() {
    let addr = line_server("Welcome!\n", |name| format!("Hi, {name}.\n"));
    let out = load(addr, &["--clients", "8", "--rounds", "5", "--lines"]);
    let table = &out.stdout;
    assert_eq!(out.status.code(), Some(1), "{table}");
    assert_eq!(count(table, "connections ok"), 8, "{table}");
    assert_eq!(count(table, "other errors"), 8, "{table}");
    assert_eq!(count(table, "finished"), 0, "{table}");
    assert_eq!(count(table, "round trips"), 0, "{table}");
    // The example names what was expected and what came.
    let example = table
        .lines()
        .find(|line| line.starts_with("first error"))
        .unwrap_or_else(|| panic!("no example error:\n{table}"));
    assert!(example.contains(r#"expected "Hello, client"#), "{example}");
    assert!(example.contains(r#"got "Hi, client"#), "{example}");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("8 failed otherwise"), "{}", out.stderr);
}

#[test]
fn a_busy_server_counts_as_busy_not_as_an_error() {
    let addr = line_server("busy, try again later\n", |_| String::new());
    let out = load(addr, &["--clients", "8", "--rounds", "5", "--lines"]);
    let table = &out.stdout;
    assert_eq!(out.status.code(), Some(1), "{table}");
    assert_eq!(count(table, "busy"), 8, "{table}");
    assert_eq!(count(table, "other errors"), 0, "{table}");
    assert_eq!(count(table, "round trips"), 0, "{table}");
    assert!(out.stderr.contains("8 busy"), "{}", out.stderr);
}

#[test]
fn the_articles_protocol_against_a_line_server_is_an_error() {
    // Without --lines, `Welcome!\n` is not the article's `Welcome!`.
    let addr = line_server("Welcome!\n", |name| format!("Hello, {name}!\n"));
    let out = load(addr, &["--clients", "2", "--rounds", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", out.stdout);
    assert_eq!(count(&out.stdout, "other errors"), 2, "{}", out.stdout);
    assert!(out.stdout.contains("try --lines"), "{}", out.stdout);
}

#[test]
fn the_articles_python_server() {
    // Its listen(5) queues up to six connections: four clients fit even if Python is
    // slow to accept them.
    let Some((_server, addr)) = common::python_server() else {
        return;
    };
    let out = load(addr, &["--clients", "4", "--rounds", "5"]);
    assert_all_served(&out, 4);
}

#[test]
fn zero_clients_is_a_usage_error() {
    let out = run("07_load", &["--clients", "0"], "");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("--clients"), "{}", out.stderr);
}
