//! Lesson 04 against lesson 03, against the project's Python rendition of the
//! article's server, interactively, and with nothing listening.
//!
//! Only the tests of the article's dialogue check the words of 03's welcome and replies;
//! the others check what the client does with whatever the server says.

mod common;

use common::{EXIT, Finished, PATIENCE, Running, WELCOME, hello, promise, run, run_command};
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

fn server() -> (Running, SocketAddr) {
    Running::server("03_server", &["--pause-ms", "0"])
}

/// What the client printed it received, each as it printed it (quoted), from its
/// lines `received "..."`: the welcome, then the replies.
#[track_caller]
fn received(out: &Finished) -> Vec<&str> {
    let found: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|line| line.split("received ").nth(1))
        .collect();
    if found.is_empty() {
        let said = promise::RECEIVED.broken("04_client printed no line `received \"...\"`");
        panic!("{said}\nIt printed:\n{}{}", out.stdout, out.stderr);
    }
    found
}

/// The replies the client printed after the welcome, unquoted.
#[track_caller]
fn replies(out: &Finished) -> Vec<String> {
    received(out)[1..]
        .iter()
        .map(|reply| reply.trim_matches('"').to_string())
        .collect()
}

/// Asserts that the client received one reply per name, each naming it: the article's
/// `Hello, NAME!` or whatever reply a changed 03 sends, if it names the name.
#[track_caller]
fn assert_a_reply_for_each(out: &Finished, names: &[&str]) {
    let replies = replies(out);
    let named = replies.len() == names.len()
        && names
            .iter()
            .zip(&replies)
            .all(|(name, reply)| reply.contains(name));
    assert!(
        named,
        "expected one reply naming each of {names:?}, got {replies:?}:\n{}",
        out.stdout
    );
}

/// `"TEXT"`, as the client prints what it received.
fn quoted(text: &str) -> String {
    format!("{text:?}")
}

/// Runs 04_client with its default names against `addr` and checks every reply word
/// for word: the article's dialogue, with `welcome` and replies made by `hello`.
/// `server` is the program at `addr`.
fn talk_the_articles_dialogue(
    addr: SocketAddr,
    server: &str,
    welcome: &str,
    hello: fn(&str) -> String,
) {
    let out = run("04_client", &[&addr.to_string()], "");
    assert!(out.status.success(), "{}", out.stderr);
    let expected: Vec<String> = [welcome.to_string()]
        .into_iter()
        .chain(["Michael", "Tracy", "Sarah"].map(hello))
        .collect();
    let got: Vec<&str> = received(&out).iter().map(|r| r.trim_matches('"')).collect();
    common::assert_same(
        &[server],
        &format!("04_client received from {server}"),
        &got.join("\n"),
        &expected.join("\n"),
    );
    let exit = format!("sent     {}", quoted(EXIT));
    if !out.stdout.contains(&exit) {
        let said = promise::SENT.broken(&format!("04_client printed no line `{exit}`"));
        panic!("{said}\nIt printed:\n{}", out.stdout);
    }
}

#[test]
fn the_articles_dialogue_with_03_server() {
    let (mut server, addr) = server();
    talk_the_articles_dialogue(addr, "03_server", WELCOME, hello);
    server.expect("closed.");
}

#[test]
fn names_from_the_command_line() {
    let (_server, addr) = server();
    let out = run("04_client", &[&addr.to_string(), "Alice", "张三"], "");
    assert!(out.status.success(), "{}", out.stderr);
    assert_a_reply_for_each(&out, &["Alice", "张三"]);
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
    assert_a_reply_for_each(&out, &["Alice", "Bob"]);
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
    let exit = format!("sent     {}", quoted(EXIT));
    assert!(out.stdout.contains(&exit), "{}", out.stdout);
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
    // The article's own server: the article's words, whatever tests/common/mod.rs says.
    talk_the_articles_dialogue(addr, "article_server.py", "Welcome!", |name| {
        format!("Hello, {name}!")
    });
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

#[test]
fn a_zero_timeout_is_a_usage_error() {
    let out = run("04_client", &["--timeout-ms", "0"], "");
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("--timeout-ms 0"), "{}", out.stderr);
    assert!(!out.stderr.contains("duration"), "{}", out.stderr);
}

#[test]
fn input_that_is_not_utf8_is_blamed_not_the_server() {
    let (_server, addr) = server();
    let mut command = Command::new(common::lesson("04_client"));
    command.args([&addr.to_string(), "--interactive"]);
    let out = run_command(command, b"Alice\n\xff\xfe\nBob\n");
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert_a_reply_for_each(&out, &["Alice"]);
    assert!(
        out.stderr.contains("line 2 of your input is not UTF-8"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("conversation"), "{}", out.stderr);
}

#[test]
fn a_server_that_welcomes_and_then_stalls_is_described_as_such() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(b"Welcome!").unwrap();
        // Say nothing more, and keep the connection open until the client gives up.
        thread::sleep(PATIENCE);
    });
    let out = run("04_client", &[&addr.to_string(), "--timeout-ms", "300"], "");
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert_eq!(received(&out), [quoted("Welcome!")]);
    assert!(
        out.stderr
            .contains(r#"no reply to "Michael" within 300 ms"#),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("speaks first"), "{}", out.stderr);
}

/// The lines of 04's output that show name resolution and connection attempts.
fn attempts(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .take_while(|line| !line.contains("received"))
        .collect()
}

#[test]
fn a_host_name_shows_its_addresses_and_the_one_that_answered() {
    let (_server, addr) = server();
    let port = addr.port();
    let out = run("04_client", &[&format!("localhost:{port}"), "Alice"], "");
    assert!(out.status.success(), "{}", out.stderr);
    let lines = attempts(&out.stdout);
    let resolved = lines
        .iter()
        .find(|line| line.contains(&format!("localhost:{port} resolved to ")))
        .unwrap_or_else(|| panic!("no line shows what localhost resolved to:\n{}", out.stdout));
    assert!(
        resolved.contains(&format!("127.0.0.1:{port}")),
        "{resolved}"
    );
    let connected = format!("connected to 127.0.0.1:{port} from 127.0.0.1:");
    assert!(
        lines.last().is_some_and(|line| line.contains(&connected)),
        "{}",
        out.stdout
    );
}

#[test]
#[cfg(target_os = "linux")]
fn addresses_are_tried_one_after_the_other() {
    // A private /etc/hosts (in a mount namespace of its own) where localhost is ::1
    // first, then 127.0.0.1, as on Debian, Ubuntu or macOS. The server listens on
    // 127.0.0.1 only, so ::1 refuses and the client goes on to the next address.
    let hosts = std::env::temp_dir().join(format!("04_client-hosts-{}", std::process::id()));
    std::fs::write(&hosts, "::1 localhost\n127.0.0.1 localhost\n").unwrap();
    let script = r#"mount --bind "$0" /etc/hosts && exec "$@""#;
    let in_namespace = || {
        let mut command = Command::new("unshare");
        command.args(["-rm", "sh", "-c", script]).arg(&hosts);
        command
    };
    let works = in_namespace()
        .arg("true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        let _ = std::fs::remove_file(&hosts);
        common::skip("cannot mount a private /etc/hosts here (unshare -rm)");
        return;
    }
    let (_server, addr) = server();
    let port = addr.port();
    let mut command = in_namespace();
    command
        .arg(common::lesson("04_client"))
        .args([&format!("localhost:{port}"), "Alice"]);
    let out = run_command(command, b"");
    let _ = std::fs::remove_file(&hosts);
    assert!(out.status.success(), "{}", out.stderr);
    let lines = attempts(&out.stdout);
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert_eq!(
        lines[0],
        format!("[client] localhost:{port} resolved to [::1]:{port}, 127.0.0.1:{port}")
    );
    assert_eq!(
        lines[1],
        format!(
            "[client] [::1]:{port}: Connection refused (os error 111); trying the next address"
        )
    );
    let connected = format!("[client] connected to 127.0.0.1:{port} from 127.0.0.1:");
    assert!(lines[2].starts_with(&connected), "{}", out.stdout);
    assert_a_reply_for_each(&out, &["Alice"]);
}

#[test]
fn help_shows_the_defaults_a_run_uses() {
    let help = run("04_client", &["--help"], "").stdout;
    let names = common::help_default(&help, "NAME ...");
    let (_server, addr) = server();
    let out = run("04_client", &[&addr.to_string()], "");
    assert!(out.status.success(), "{}", out.stderr);
    let sent: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|line| line.split("sent     ").nth(1))
        .map(|name| name.trim_matches('"'))
        .filter(|name| *name != "exit")
        .collect();
    assert_eq!(
        sent.join(" "),
        names,
        "--help says the default names are {names:?}"
    );
    assert_eq!(common::help_default(&help, "--timeout-ms"), "10000");
}

#[test]
fn the_default_address_is_the_articles() {
    // 03_server listens there by default: without arguments, the two find each other.
    let help = run("04_client", &["--help"], "").stdout;
    common::assert_default(
        "04_client",
        &help,
        "ADDRESS",
        common::ADDRESS,
        &promise::ADDRESS,
    );
}
