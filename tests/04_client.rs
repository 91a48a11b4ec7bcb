//! Lesson 04 against lesson 03, against the project's Python rendition of the
//! article's server, interactively, and with nothing listening.

mod common;

use common::{Running, run};
use std::net::SocketAddr;

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
