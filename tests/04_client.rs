//! Lesson 04 against lesson 03, against the project's Python rendition of the
//! article's server, interactively, and with nothing listening.

mod common;

use common::{Running, run};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;

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
    // A port that was free a moment ago: bind it, note it, let it go.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = run("04_client", &[&addr.to_string()], "");
    assert!(!out.status.success());
    assert_eq!(
        out.stderr.trim_end(),
        format!("04_client: connection refused: is 03_server running on {addr}?")
    );
}

#[test]
fn the_articles_dialogue_with_the_python_server() {
    let Some(python) = common::python3() else {
        common::skip("python3 is not installed, the article's Python server cannot run");
        return;
    };
    // The project's rendition of the article's server, on a free port, with no pause.
    let mut command = Command::new(python);
    command
        .arg(common::python_file("article_server.py"))
        .args(["0", "0"]);
    let mut server = Running::spawn(command);
    let addr = server.listening_addr();
    talk_the_articles_dialogue(addr);
    server.expect("closed.");
}
