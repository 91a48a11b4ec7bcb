//! Lesson 11 at a small scale: it holds its clients open, runs every dialogue, and
//! prints the table; over several processes and source addresses too; and it says in
//! one line what went wrong when nothing listens.

mod common;

use common::{Running, run};

/// The number in the row `label` of the table.
fn row(stdout: &str, label: &str) -> Option<String> {
    stdout.lines().find_map(|line| {
        let rest = line.strip_prefix(label)?;
        rest.starts_with("  ")
            .then(|| rest.split_whitespace().next().unwrap_or("").to_string())
    })
}

#[test]
fn fifty_clients_are_held_and_served() {
    let (_server, addr) = Running::server("09_event_loop", &["--pause-ms", "0", "--quiet"]);
    let out = run(
        "11_many_clients",
        &[&addr.to_string(), "--clients", "50"],
        "",
    );
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    for (label, expected) in [("held", "50"), ("served", "50"), ("errors", "0")] {
        assert_eq!(
            row(&out.stdout, label).as_deref(),
            Some(expected),
            "row {label:?} of the table:\n{}",
            out.stdout
        );
    }
    assert!(row(&out.stdout, "connect p99").is_some(), "{}", out.stdout);
}

#[test]
fn parts_and_source_addresses_spread_the_clients() {
    // 30 clients, 10 per source address, over 3 processes: the server sees
    // 127.0.0.1, .2 and .3.
    let (mut server, addr) = Running::server("09_event_loop", &["--pause-ms", "0"]);
    let args = [
        &addr.to_string(),
        "--clients",
        "30",
        "--per-address",
        "10",
        "--processes",
        "3",
    ];
    let out = run("11_many_clients", &args, "");
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        row(&out.stdout, "served").as_deref(),
        Some("30"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("over 3 processes"), "{}", out.stdout);
    server.expect("127.0.0.3:");
    for source in ["127.0.0.1:", "127.0.0.2:", "127.0.0.3:"] {
        let from_it = server
            .seen()
            .iter()
            .filter(|l| l.contains("welcome new client") && l.contains(source))
            .count();
        assert_eq!(from_it, 10, "clients from {source} the server welcomed");
    }
}

#[test]
fn nothing_listening_gives_one_line_and_a_failure() {
    let addr = common::nothing_listening();
    let out = run(
        "11_many_clients",
        &[&addr.to_string(), "--clients", "5"],
        "",
    );
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("5 ECONNREFUSED"), "{}", out.stderr);
}

#[test]
fn zero_clients_is_a_usage_error() {
    let out = run("11_many_clients", &["--clients", "0"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stderr.contains("--clients"), "{}", out.stderr);
}
