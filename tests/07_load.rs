//! Lesson 07: the load generator's counts, against lesson 03, against nothing, against
//! small line-speaking servers written here (so these tests do not depend on lesson 06),
//! and against the project's Python rendition of the article's server.
//!
//! 07 checks the article's words (`Welcome!`, `Hello, NAME!`) itself: when 03 says
//! something else, every client fails, and these tests say which promise changed.

mod common;

use common::{Finished, PATIENCE, Peer, Running, WELCOME, promise, run, run_command};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// 03_server without its pause, with room in its accept queue for clients that connect
/// together (the article's backlog of 5 can overflow, and a dropped SYN is sent again
/// only after a second).
///
/// It first checks that 03 still speaks the article's dialogue, which 07 expects word for
/// word: if not, the test fails here and says what changed.
#[track_caller]
fn server() -> (Running, SocketAddr) {
    let (server, addr) = Running::server("03_server", &["--pause-ms", "0", "--backlog", "64"]);
    let mut peer = Peer::connect(addr);
    peer.expect(WELCOME);
    peer.send(b"client0-round0");
    peer.expect(&common::hello("client0-round0"));
    (server, addr)
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
#[track_caller]
fn row(stdout: &str, label: &str) -> String {
    stdout
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(label)?;
            rest.starts_with("  ")
                .then(|| rest.split_whitespace().next().unwrap_or("").to_string())
        })
        .unwrap_or_else(|| {
            let found = format!("07_load printed no row {label:?}");
            panic!("{}\nIt printed:\n{stdout}", promise::TABLE.broken(&found))
        })
}

/// What the table's first error says, in plain words, when 07 got other words than the
/// article's from the server at `addr` (its `expected "...", got "..."`); empty when the
/// first error is about something else.
fn words_changed(out: &Finished, addr: SocketAddr) -> String {
    let Some(error) = out.stdout.lines().find(|l| l.starts_with("first error")) else {
        return String::new();
    };
    let Some((_, said)) = error.split_once("expected ") else {
        return String::new();
    };
    let Some((expected, got)) = said.split_once(", got ") else {
        return String::new();
    };
    let got = got.split(" (a server").next().unwrap_or(got);
    let server = common::program_at(addr);
    let text = |quoted: &str| quoted.trim_matches('"').to_string();
    let found = format!("07_load got {got} from {server}");
    let mut message: Vec<String> = common::promises_broken(&[&server], &text(expected), &text(got))
        .iter()
        .map(|p| p.broken(&found))
        .collect();
    message.push(format!(
        "07_load checks what the server says word for word (`converse` and `round_trip` in \
         lessons/07_load.rs): it expected {expected} and got {got}, so no client finished.\n"
    ));
    message.join("\n")
}

/// The whole-number value of row `label`.
fn count(stdout: &str, label: &str) -> usize {
    let value = row(stdout, label);
    value
        .parse()
        .unwrap_or_else(|_| panic!("row {label:?} holds {value:?}, not a count:\n{stdout}"))
}

/// Asserts that every one of `clients` clients of a run against `addr` connected and did
/// its 5 round trips.
#[track_caller]
fn assert_all_served(out: &Finished, clients: usize, addr: SocketAddr) {
    let table = &out.stdout;
    assert!(
        out.status.success(),
        "{}{}\n{table}",
        words_changed(out, addr),
        out.stderr
    );
    // No progress line and no error: stderr is not a terminal here.
    assert_eq!(out.stderr, "", "{table}");
    assert_eq!(count(table, "clients"), clients, "{table}");
    assert_eq!(count(table, "connections ok"), clients, "{table}");
    assert_eq!(count(table, "refused"), 0, "{table}");
    assert_eq!(count(table, "timed out"), 0, "{table}");
    assert_eq!(count(table, "no local port"), 0, "{table}");
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
    assert_all_served(&out, 8, addr);
    // Each client said goodbye with `exit`: the server closes sessions normally.
    server.expect("closed.");
}

#[test]
fn eight_clients_in_a_burst() {
    let (_server, addr) = server();
    let out = load(addr, &["--clients", "8", "--rounds", "5", "--burst"]);
    assert_all_served(&out, 8, addr);
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
    assert_all_served(&out, 8, addr);
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
    assert_all_served(&out, 4, addr);
}

/// Asserts that 07_load refuses `args` as a bad command line: exit status 2 and one
/// line on stderr that names `flag`, before any client starts.
fn assert_refused(args: &[&str], flag: &str) {
    let out = run("07_load", args, "");
    let stderr = &out.stderr;
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?}: {stderr}{}",
        out.stdout
    );
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.contains(flag), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(
        !out.stdout.contains("Results"),
        "{args:?} ran:\n{}",
        out.stdout
    );
}

#[test]
fn zero_clients_and_zero_timeouts_are_usage_errors() {
    assert_refused(&["--clients", "0"], "--clients");
    assert_refused(&["--timeout-ms", "0"], "--timeout-ms");
    assert_refused(&["--connect-timeout-ms", "0"], "--connect-timeout-ms");
}

#[test]
fn impossible_runs_are_refused_up_front() {
    let nowhere = common::nothing_listening().to_string();
    let nowhere = nowhere.as_str();
    // Used to panic with `capacity overflow`.
    assert_refused(&[nowhere, "--clients", "18446744073709551615"], "--clients");
    // Used to start a hundred thousand threads.
    assert_refused(&[nowhere, "--clients", "100000"], "--clients");
    // Used to wrap around: `round trips 0 of 18446744073709551614`.
    assert_refused(
        &[
            nowhere,
            "--clients",
            "2",
            "--rounds",
            "18446744073709551615",
        ],
        "--rounds",
    );
    assert_refused(&[nowhere, "--lines", "--pipeline", "0"], "--pipeline");
    assert_refused(&[nowhere, "--lines", "--pipeline", "1000"], "--pipeline");
    // Un-framed messages written together would merge into one.
    assert_refused(&[nowhere, "--pipeline", "2"], "--lines");
}

#[test]
fn a_long_run_needs_no_memory_for_its_samples() {
    // A trillion round trips used to mean allocating 16 TB up front, and an abort, even
    // against a closed port. Now the clients are refused, and the run ends normally.
    let addr = common::nothing_listening();
    let out = load(addr, &["--clients", "2", "--rounds", "1000000000000"]);
    assert_eq!(out.status.code(), Some(1), "{}{}", out.stdout, out.stderr);
    assert_eq!(count(&out.stdout, "refused"), 2, "{}", out.stdout);
    assert!(out.stdout.contains("of 2000000000000"), "{}", out.stdout);
}

#[test]
#[cfg(unix)]
fn a_run_that_needs_more_files_raises_the_soft_limit() {
    // `ulimit -Sn 64` leaves room for 48 clients; the hard limit stays as it was.
    let (_server, addr) = server();
    let mut command = Command::new("sh");
    command
        .args(["-c", r#"ulimit -Sn 64 && exec "$@""#, "sh"])
        .arg(common::lesson("07_load"))
        .args([&addr.to_string(), "--clients", "100", "--rounds", "1"]);
    let out = run_command(command, b"");
    let table = &out.stdout;
    if out.stderr.contains("room for") {
        // The hard limit itself is 64 or less here: nothing to raise.
        common::skip("the hard limit on open files is too low to raise the soft one");
        return;
    }
    assert!(
        table.contains("soft limit raised from 64 to"),
        "07 did not say that it raised its limit on open files:\n{table}{}",
        out.stderr
    );
    assert_eq!(
        count(table, "finished"),
        100,
        "{}{table}{}",
        words_changed(&out, addr),
        out.stderr
    );
}

#[test]
#[cfg(unix)]
fn a_run_beyond_the_hard_limit_on_files_is_refused() {
    let mut command = Command::new("sh");
    command
        .args(["-c", r#"ulimit -n 64 && exec "$@""#, "sh"])
        .arg(common::lesson("07_load"))
        .args(["--clients", "100"]);
    let out = run_command(command, b"");
    assert_eq!(out.status.code(), Some(2), "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("room for 48 clients"), "{}", out.stderr);
}

/// A line server for one client that waits for `gate` before it says `Welcome!\n`:
/// the test decides when the run can go on.
fn gated_line_server(answer: fn(&str) -> String) -> (SocketAddr, mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (gate, opened) = mpsc::channel();
    thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        if opened.recv_timeout(PATIENCE).is_ok() {
            serve_lines(stream, "Welcome!\n", answer);
        }
    });
    (addr, gate)
}

/// Runs one client of 07_load against a gated server, reads the first line of its
/// stdout and closes the pipe (as `| head -1` does), then lets the run go on.
fn load_into_a_closed_pipe(answer: fn(&str) -> String) -> Finished {
    let (addr, gate) = gated_line_server(answer);
    let mut child = Command::new(common::lesson("07_load"))
        .args([
            &addr.to_string(),
            "--lines",
            "--clients",
            "1",
            "--rounds",
            "1",
        ])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("1 client"), "{first}");
    drop(stdout);
    gate.send(()).unwrap();
    common::finish(child)
}

/// Asserts that 07_load exited with status 1 and that its stderr says each of `words`.
fn assert_failed_saying(out: &Finished, words: &[&str]) {
    assert_eq!(out.status.code(), Some(1), "{}{}", out.stdout, out.stderr);
    for word in words {
        assert!(
            out.stderr.contains(word),
            "stderr should say {word:?}:\n{}",
            out.stderr
        );
    }
}

#[test]
fn a_finished_run_whose_table_is_lost_in_a_closed_pipe_exits_non_zero() {
    let out = load_into_a_closed_pipe(|name| format!("Hello, {name}!\n"));
    assert_failed_saying(&out, &["Broken pipe", "table could not be written"]);
}

#[test]
fn a_failed_run_exits_1_even_when_its_pipe_is_closed() {
    let out = load_into_a_closed_pipe(|name| format!("Hi, {name}.\n"));
    assert_failed_saying(&out, &["1 failed otherwise"]);
}

#[test]
#[cfg(target_os = "linux")]
fn a_full_stdout_never_turns_a_run_into_success_or_hides_a_success() {
    let into_dev_full = |addr: SocketAddr| {
        let mut command = Command::new("sh");
        command
            .args(["-c", r#"exec "$@" > /dev/full"#, "sh"])
            .arg(common::lesson("07_load"))
            .args([&addr.to_string(), "--clients", "3", "--rounds", "1"]);
        run_command(command, b"")
    };
    let failed = into_dev_full(common::nothing_listening());
    assert_failed_saying(&failed, &["3 refused", "No space left on device"]);
    let (_server, addr) = server();
    let finished = into_dev_full(addr);
    // Its table is lost in /dev/full: if no client finished, the run's words say why.
    assert!(
        !finished.stderr.contains("did not finish"),
        "07_load could not finish against 03_server (its table, with the first error, went \
         to /dev/full; `eight_clients_one_after_the_other` shows it):\n{}",
        finished.stderr
    );
    assert_failed_saying(&finished, &["table could not be written"]);
}

#[test]
fn a_busy_line_counts_as_busy_without_lines_too() {
    // Lesson 06 ends its `busy` with `\n`, which a client of the article's protocol
    // keeps in what it read.
    let addr = line_server("busy, try again later\n", |_| String::new());
    let out = load(addr, &["--clients", "8", "--rounds", "5"]);
    let table = &out.stdout;
    assert_eq!(out.status.code(), Some(1), "{table}");
    assert_eq!(count(table, "busy"), 8, "{table}");
    assert_eq!(count(table, "other errors"), 0, "{table}");
    assert!(!table.contains("try --lines"), "{table}");
}

/// A line server that answers each line as it reads it, one write per reply, and
/// keeps the most lines it found in one read.
fn counting_line_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let most = Arc::new(AtomicUsize::new(0));
    let most_seen = Arc::clone(&most);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let most = Arc::clone(&most_seen);
            thread::spawn(move || answer_each_line(stream, &most));
        }
    });
    (addr, most)
}

fn answer_each_line(mut stream: TcpStream, most: &AtomicUsize) {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    if stream.write_all(b"Welcome!\n").is_err() {
        return;
    }
    let mut pending = Vec::new();
    let mut buffer = [0; 4096];
    while let Ok(n @ 1..) = stream.read(&mut buffer) {
        let read = &buffer[..n];
        let lines = read.iter().filter(|&&b| b == b'\n').count();
        most.fetch_max(lines, Ordering::Relaxed);
        pending.extend_from_slice(read);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let name = String::from_utf8_lossy(&line[..end]).into_owned();
            if name == "exit" {
                return;
            }
            if stream
                .write_all(format!("Hello, {name}!\n").as_bytes())
                .is_err()
            {
                return;
            }
        }
    }
}

#[test]
fn pipelined_lines_leave_in_one_write_and_every_reply_is_checked() {
    let (addr, most) = counting_line_server();
    let out = load(
        addr,
        &[
            "--clients",
            "4",
            "--rounds",
            "5",
            "--lines",
            "--pipeline",
            "3",
        ],
    );
    assert_all_served(&out, 4, addr);
    assert!(
        out.stdout.contains("each 3 lines in one write"),
        "{}",
        out.stdout
    );
    // One write of three lines arrives in one read over loopback.
    assert_eq!(
        most.load(Ordering::Relaxed),
        3,
        "--pipeline 3 should send 3 lines in one write"
    );
}

#[test]
fn percentiles_show_the_slow_round_trip() {
    // One round trip in twenty waits 300 ms: p50 is one of the quick ones, p99 (with
    // fewer than 100 samples) is the slow one, the maximum.
    let addr = line_server("Welcome!\n", |name| {
        if name.ends_with("round19") {
            thread::sleep(Duration::from_millis(300));
        }
        format!("Hello, {name}!\n")
    });
    let out = load(addr, &["--clients", "1", "--rounds", "20", "--lines"]);
    let table = &out.stdout;
    assert!(out.status.success(), "{table}{}", out.stderr);
    let value = |label: &str| -> f64 { row(table, label).parse().unwrap() };
    assert_eq!(
        row(table, "latency p99"),
        row(table, "latency max"),
        "{table}"
    );
    assert!(value("latency max") >= 300.0, "{table}");
    assert!(value("latency min") <= value("latency p50"), "{table}");
    assert!(value("latency p50") <= value("latency p90"), "{table}");
    assert!(
        value("latency p90") < value("latency max") / 10.0,
        "{table}"
    );
}

/// A command that runs its arguments inside a network namespace of its own (with a
/// user namespace, so no root is needed where the system allows them), after the
/// shell commands `setup`; `None`, with a line saying so, where that is not allowed.
fn in_a_private_network(setup: &str) -> Option<Command> {
    let script = format!("ip link set lo up && {setup} && exec \"$@\"");
    let works = Command::new("unshare")
        .args(["-rn", "sh", "-c", &script, "sh", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        common::skip("cannot make a private network namespace here (unshare -rn)");
        return None;
    }
    let mut command = Command::new("unshare");
    command.args(["-rn", "sh", "-c", &script, "sh"]);
    Some(command)
}

#[test]
#[cfg(target_os = "linux")]
fn clients_without_a_free_local_port_are_counted_and_named() {
    // In a network namespace of our own, so the machine's ports are not touched: two
    // local ports, no reuse of TIME_WAIT ones, a server that holds each client 500 ms.
    let Some(mut command) = in_a_private_network(
        "echo '40000 40001' > /proc/sys/net/ipv4/ip_local_port_range && \
         echo 0 > /proc/sys/net/ipv4/tcp_tw_reuse",
    ) else {
        return;
    };
    command
        .arg(common::lesson("03_server"))
        .args(["127.0.0.1:5000", "--pause-ms", "500"]);
    let mut server = Running::spawn(command);
    let addr = server.listening_addr();
    let mut client = Command::new("nsenter");
    client
        .args(["--target", &server.id().to_string()])
        .args(["--user", "--net", "--preserve-credentials"])
        .arg(common::lesson("07_load"))
        .args([
            &addr.to_string(),
            "--clients",
            "4",
            "--rounds",
            "1",
            "--burst",
        ]);
    let out = run_command(client, b"");
    let table = &out.stdout;
    let words = words_changed(&out, addr);
    assert!(count(table, "other errors") == 0, "{words}{table}");
    assert_failed_saying(&out, &["found no free local port", "TIME_WAIT"]);
    let no_port = count(table, "no local port");
    assert!(no_port >= 1, "nobody ran out of local ports:\n{table}");
    assert_eq!(count(table, "connections ok") + no_port, 4, "{table}");
}

#[test]
fn help_shows_the_defaults_a_run_uses() {
    let help = run("07_load", &["--help"], "").stdout;
    let clients = common::help_default(&help, "--clients");
    let rounds = common::help_default(&help, "--rounds");
    let connect_ms = common::help_default(&help, "--connect-timeout-ms");
    let out = load(common::nothing_listening(), &[]);
    let table = &out.stdout;
    assert!(
        table.contains(&format!(
            "[client] {clients} clients, {rounds} round trips each"
        )),
        "--help says {clients} clients and {rounds} rounds by default, the run did:\n{table}"
    );
    assert!(
        table.contains(&format!("no handshake within {connect_ms} ms")),
        "--help says a connect timeout of {connect_ms} ms by default, the run used:\n{table}"
    );
    common::assert_default(
        "07_load",
        &help,
        "ADDRESS",
        common::ADDRESS,
        &promise::ADDRESS,
    );
}
