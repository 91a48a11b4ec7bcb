//! Lesson 03 as a student meets it: the article's dialogue, `nc`-style lines, bad bytes,
//! a client that resets, many clients at once, and a port already in use; what it says
//! when it starts; and what a busy machine throws at it: no file descriptors left, a
//! closed or full stdout, a log nobody reads, more clients than the machine has room for.
//!
//! Students change this lesson. Only the tests about the article's dialogue check its
//! words (`Welcome!`, `Hello, NAME!`, `exit`) and its defaults; the others take whatever
//! welcome and reply come (`Peer::welcomed`, `Peer::round_trip`), so a new greeting turns
//! red only the tests that are about the greeting, each saying which promise changed.

mod common;

use common::{EXIT, Peer, Running, Started, WELCOME, hello, promise, run};
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

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
    client.expect_read(WELCOME);
    for name in ["Michael", "Tracy", "Sarah"] {
        client.send(name.as_bytes());
        client.expect_read(&hello(name));
    }
    client.send(EXIT.as_bytes());
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
    let expected: Vec<String> = [WELCOME.to_string()]
        .into_iter()
        .chain(["Michael", "Tracy", "Sarah"].map(hello))
        .map(|line| line + "\n")
        .collect();
    common::assert_same(
        &["03_server"],
        "the article's Python client printed",
        &String::from_utf8_lossy(&out.stdout),
        &expected.concat(),
    );
}

#[test]
fn nc_style_lines_keep_their_line_ending() {
    let (_server, addr) = server("0");
    let mut client = Peer::welcomed(addr);
    client.send(b"Michael\n");
    client.expect(&(hello("Michael") + "\n"));
    client.send(b"Tracy\r\n");
    client.expect(&(hello("Tracy") + "\r\n"));
    client.send(format!("{EXIT}\n").as_bytes());
    client.expect_closed();
}

#[test]
fn exit_with_crlf_ends_the_session() {
    let (_server, addr) = server("0");
    let mut client = Peer::welcomed(addr);
    client.send(format!("{EXIT}\r\n").as_bytes());
    client.expect_closed();
}

#[test]
fn invalid_utf8_is_replaced_and_the_session_goes_on() {
    let (mut server, addr) = server("0");
    let mut client = Peer::welcomed(addr);
    client.send(b"Mich\xffael");
    client.expect(&hello("Mich\u{FFFD}ael"));
    client.round_trip(b"Tracy");
    drop(client);
    server.expect("closed.");
}

#[test]
fn a_client_that_resets_ends_only_its_own_session() {
    let (mut server, addr) = server("0");
    let mut steady = Peer::welcomed(addr);

    let rude = Peer::welcomed(addr);
    let rude_addr = rude.stream.local_addr().unwrap();
    common::reset(rude);
    server.expect(&format!(
        "connection from {rude_addr} closed after an error"
    ));

    // The other session and the server are unharmed.
    steady.round_trip(b"Sarah");
    Peer::welcomed(addr);
}

#[test]
fn ten_clients_are_served_at_once() {
    let (_server, addr) = roomy_server("0");
    // Ten sessions open together: each client has its welcome while all ten are still
    // connected. A server without threads would welcome only the first.
    let mut clients: Vec<Peer> = (0..10).map(|_| Peer::connect(addr)).collect();
    for client in &mut clients {
        client.read_message(WELCOME);
    }
    for (i, client) in clients.iter_mut().enumerate() {
        client.round_trip(format!("client{i}").as_bytes());
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
                let mut client = Peer::welcomed(addr);
                client.round_trip(format!("n{i}").as_bytes());
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
    let mut client = Peer::welcomed(addr);
    client.round_trip(b"Michael");
    drop(client);
    server.expect("closed.");
    let reads: Vec<&String> = server
        .seen()
        .iter()
        .filter(|l| l.contains("read "))
        .collect();
    assert!(reads.is_empty(), "--quiet still logged reads: {reads:?}");
}

/// The number just before `suffix` in `line`, such as 5 in `(backlog 5, ...`
/// for `after = "backlog "`: the digits (commas allowed) right after `after`.
fn number_after(line: &str, after: &str) -> u64 {
    let rest = line
        .split(after)
        .nth(1)
        .unwrap_or_else(|| panic!("no {after:?} in {line:?}"));
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {after:?} in {line:?}"))
}

#[test]
fn the_help_shows_the_defaults_it_really_uses() {
    let help = run("03_server", &["--help"], "");
    assert!(help.status.success(), "{}", help.stderr);
    let default_of = |flag: &str| {
        let line = help
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(flag))
            .unwrap_or_else(|| panic!("--help does not list {flag}:\n{}", help.stdout));
        number_after(line, "(default ")
    };
    let (backlog, pause_ms) = (default_of("--backlog"), default_of("--pause-ms"));

    // Started with no flag but the address, the server says what it uses.
    let (mut server, addr) = Running::server("03_server", &[]);
    let first = server.seen()[0].clone();
    assert_eq!(
        number_after(&first, "backlog "),
        backlog,
        "--help says the default backlog is {backlog}, but the server started without \
         --backlog says {first:?}: does `main` use the constant BACKLOG that the help shows?"
    );
    assert_eq!(
        number_after(&first, "pause "),
        pause_ms,
        "--help says the default pause is {pause_ms} ms, but the server started without \
         --pause-ms says {first:?}: does `main` use the constant PAUSE_MS that the help shows?"
    );
    // And it really pauses that long before it replies (sleep never wakes early).
    let mut client = Peer::welcomed(addr);
    let sent = Instant::now();
    client.round_trip(b"Michael");
    let waited = sent.elapsed();
    assert!(
        waited >= Duration::from_millis(pause_ms),
        "the reply came after {waited:?}, before the default pause of {pause_ms} ms"
    );
}

#[test]
fn the_defaults_are_the_articles() {
    // The help shows the constants the server uses (the test above): these are the
    // article's, which the book and the other lessons rely on.
    let help = run("03_server", &["--help"], "").stdout;
    let default = |flag: &str, value: &str, promise: &common::Promise| {
        common::assert_default("03_server", &help, flag, value, promise);
    };
    default("ADDRESS", common::ADDRESS, &promise::ADDRESS);
    default("--backlog", common::BACKLOG, &promise::BACKLOG);
    default("--pause-ms", common::PAUSE_MS, &promise::PAUSE);
}

#[test]
fn it_prints_the_client_commands_for_the_port_it_got() {
    let (mut server, addr) = server("0");
    let port = addr.port();
    server.expect(&format!(
        "cargo run --example 04_client -- 127.0.0.1:{port}"
    ));
    server.expect(&format!("nc 127.0.0.1 {port}"));
    server.expect("waiting for client connections");
    // The printed command works: 04_client talks to this very server.
    let client = run("04_client", &[&addr.to_string()], "");
    assert!(client.status.success(), "{}", client.stderr);
    let me = client
        .stdout
        .lines()
        .find(|l| l.contains("connected to "))
        .unwrap_or("");
    assert!(
        me.contains(&format!("connected to {addr}")),
        "04_client did not say it connected to {addr}:\n{}",
        client.stdout
    );
}

#[test]
fn a_long_message_is_logged_cut_to_its_ends() {
    let (mut server, addr) = server("0");
    let mut client = Peer::welcomed(addr);
    let mut message = vec![1u8; 1000];
    message.extend_from_slice(b"THE END");
    client.round_trip(&message);
    let line = server.expect("read ");
    // Written out whole, each \x01 would take 5 characters (`\u{1}`): 5 KB for one line.
    assert!(
        line.len() < 600,
        "a 1007-byte message made a {}-byte log line",
        line.len()
    );
    assert!(line.contains("bytes left out"), "{line}");
    assert!(
        line.contains("THE END"),
        "the end of the message is not shown: {line}"
    );
}

#[test]
#[cfg(target_os = "linux")]
fn out_of_file_descriptors_it_rests_instead_of_spinning() {
    if Command::new("prlimit").arg("--version").output().is_err() {
        common::skip("prlimit (util-linux) is not installed");
        return;
    }
    let (mut server, addr) = Running::server("03_server", &["--pause-ms", "0", "--backlog", "64"]);
    let pid = server.id().to_string();
    let mut first = Peer::welcomed(addr);
    server.expect("welcome new client");
    // Below what it already holds: from now on every accept fails with EMFILE, and the
    // connections below wait in the accept queue.
    let limit = |soft: &str| {
        let nofile = format!("--nofile={soft}:");
        let status = Command::new("prlimit")
            .args(["--pid", &pid, &nofile])
            .status();
        assert!(status.is_ok_and(|s| s.success()), "prlimit {nofile} failed");
    };
    limit("4");
    let waiting: Vec<TcpStream> = (0..5)
        .map(|_| TcpStream::connect(addr).expect("the kernel completes the handshake"))
        .collect();
    server.expect("accept failed");
    let ticks = common::cpu_ticks(server.id());
    let watched = Instant::now();
    thread::sleep(Duration::from_millis(1500));
    let used = common::cpu_ticks(server.id()) - ticks;
    let wall = watched.elapsed().as_secs_f64() * common::clock_ticks_per_second() as f64;
    assert!(
        (used as f64) < wall / 4.0,
        "out of descriptors, 03 used {used} ticks of CPU in {wall:.0}: it spins on accept"
    );
    let failures = server
        .seen()
        .iter()
        .filter(|l| l.contains("accept failed"))
        .count();
    assert!(
        failures <= 2,
        "{failures} lines of 'accept failed': one, then a count"
    );
    // Room again: the waiting clients are served, and the log says how often it failed.
    limit("1024");
    for stream in waiting {
        Peer::from_stream(stream).read_message(WELCOME);
    }
    server.expect("more times");
    first.round_trip(b"Michael");
}

#[test]
#[cfg(unix)]
fn a_small_descriptor_limit_sets_the_session_limit_and_the_rest_are_told_busy() {
    let mut command = Command::new("sh");
    let binary = common::lesson("03_server");
    command.args([
        "-c",
        r#"ulimit -n 64 && exec "$0" 127.0.0.1:0 --pause-ms 0 --backlog 128"#,
    ]);
    command.arg(&binary);
    let mut server = Running::spawn(command);
    let addr = server.listening_addr();
    let line = server.expect("RLIMIT_NOFILE 64");
    let in_use = number_after(&line, ", ");
    let room = number_after(&line, "room for ");
    assert_eq!(
        room,
        64 - in_use - 1,
        "one descriptor per session, one kept to say busy: {line}"
    );
    let limit = number_after(&server.expect("sessions at once"), "at most ");
    assert!(
        limit <= room,
        "the session limit {limit} is above the descriptors' {room}"
    );
    let pid = server.id();

    // Every session the limit allows, then 40 more clients than that: held, not closed.
    let mut served: Vec<Peer> = (0..limit).map(|_| Peer::connect(addr)).collect();
    for client in &mut served {
        client.read_message(WELCOME);
    }
    let ticks = common::cpu_ticks(pid);
    let watched = Instant::now();
    let mut refused: Vec<Peer> = (0..40).map(|_| Peer::connect(addr)).collect();
    for client in &mut refused {
        client.expect("busy, try again later");
        client.expect_closed();
    }
    thread::sleep(Duration::from_millis(1000));
    let used = common::cpu_ticks(pid) - ticks;
    let wall = watched.elapsed().as_secs_f64() * common::clock_ticks_per_second() as f64;
    assert!(
        (used as f64) < wall / 4.0,
        "03 used {used} ticks of CPU in {wall:.0}"
    );
    let log = server.seen().len();
    assert!(log < 3 * limit as usize + 20, "the log grew by {log} lines");
    assert!(
        server.seen().iter().any(|l| l.contains("no room")),
        "no line said why"
    );

    // The sessions go on; once one ends, a new client is served.
    served[0].round_trip(b"Michael");
    drop(served.remove(0));
    server.expect("closed.");
    let mut late = Peer::welcomed(addr);
    late.round_trip(b"Sarah");
    assert!(server.seen().iter().all(|l| !l.contains("panicked")));
}

#[test]
#[cfg(target_os = "linux")]
fn a_session_thread_costs_the_mappings_the_limit_assumes() {
    let (mut server, addr) = roomy_server("0");
    let line = server.expect("vm.max_map_count");
    let assumed = number_after(&line, "threads (") as f64;
    server.expect("waiting for client connections");
    // The first threads also get malloc arenas: start a few before counting.
    let mut clients: Vec<Peer> = (0..20).map(|_| Peer::connect(addr)).collect();
    for client in &mut clients {
        client.read_message(WELCOME);
    }
    let before = common::count_maps(server.id());
    let mut more: Vec<Peer> = (0..50).map(|_| Peer::connect(addr)).collect();
    for client in &mut more {
        client.read_message(WELCOME);
    }
    let each = (common::count_maps(server.id()) - before) as f64 / 50.0;
    assert!(
        each <= assumed + 0.5,
        "a session thread costs {each:.1} mappings here, the limit assumes {assumed}: \
         at ~vm.max_map_count / {each:.1} threads the process could abort"
    );
}

/// Three clients, one after the other: a welcome, a round trip, goodbye.
fn three_dialogues(addr: SocketAddr) {
    for name in ["Michael", "Tracy", "Sarah"] {
        let mut client = Peer::welcomed(addr);
        client.round_trip(name.as_bytes());
    }
}

/// Waits for the server to say on stderr that it cannot write to stdout, plays three
/// more dialogues, and checks that it is still running and said it once.
fn says_once_and_serves_on(mut server: Started, addr: SocketAddr, error: &str) {
    let mut stderr = BufReader::new(server.0.stderr.take().unwrap());
    let mut line = String::new();
    // (If the server died, this read ends at once with the end of its stderr.)
    stderr.read_line(&mut line).unwrap();
    assert!(
        line.contains("cannot write to stdout") && line.contains(error),
        "expected a line about stdout ({error}) on stderr, got {line:?}"
    );
    three_dialogues(addr);
    assert!(server.running(), "03 stopped when its stdout failed");
    let _ = server.0.kill();
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    assert_eq!(rest, "", "expected one line on stderr, then nothing");
}

#[test]
fn a_closed_stdout_does_not_stop_it() {
    // As `03_server | head -1`: the reader goes away after the first line.
    let mut command = Command::new(common::lesson("03_server"));
    command.args(["127.0.0.1:0", "--pause-ms", "0"]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut server = Started::spawn(command);
    let mut first = String::new();
    let mut stdout = BufReader::new(server.0.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    drop(stdout);
    let addr: SocketAddr = first.split_whitespace().nth(3).unwrap().parse().unwrap();
    three_dialogues(addr);
    says_once_and_serves_on(server, addr, "Broken pipe");
}

#[test]
#[cfg(target_os = "linux")]
fn a_full_stdout_does_not_stop_it() {
    let Ok(full) = std::fs::File::create("/dev/full") else {
        common::skip("/dev/full is missing");
        return;
    };
    // As `03_server > /dev/full`: every write fails with "No space left on device".
    let mut command = Command::new(common::lesson("03_server"));
    command.args(["127.0.0.1:0", "--pause-ms", "0"]);
    command.stdout(full).stderr(Stdio::piped());
    let server = Started::spawn(command);
    let addr = common::listening_addr_of(server.0.id());
    three_dialogues(addr);
    says_once_and_serves_on(server, addr, "No space left on device");
}

#[test]
fn a_log_nobody_reads_does_not_hold_up_clients() {
    // As `03_server --pause-ms 0 | sleep 25`: stdout is a pipe that nobody reads.
    let mut command = Command::new(common::lesson("03_server"));
    command.args(["127.0.0.1:0", "--pause-ms", "0"]);
    command.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut server = Started::spawn(command);
    let mut stdout = BufReader::new(server.0.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let addr: SocketAddr = first.split_whitespace().nth(3).unwrap().parse().unwrap();

    // A client floods it: 300 messages of 1000 control bytes (5 KB each, written out
    // as Rust escapes them): far more than a pipe holds.
    let flood = thread::spawn(move || {
        let mut client = Peer::connect(addr);
        client
            .stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        client.read_message(WELCOME);
        // The first reply, whatever its words; every other one is the same.
        let reply = client.round_trip(&[1u8; 1000]).into_bytes();
        for done in 1..300 {
            client.send(&[1u8; 1000]);
            let mut got = vec![0; reply.len()];
            if client.stream.read_exact(&mut got).is_err() || got != reply {
                return done;
            }
        }
        300
    });
    let flooded = flood.join().unwrap();
    // Then someone else arrives, and is served.
    let mut late = Peer::welcomed(addr);
    late.round_trip(b"Michael");
    assert_eq!(
        flooded, 300,
        "the flooding client itself got only {flooded} replies"
    );
    drop(stdout);
}

#[test]
fn a_client_whose_process_is_killed_closes_with_a_fin() {
    let (mut server, addr) = server("0");
    let mut client = Running::start("04_client", &[&addr.to_string(), "--interactive"]);
    client.expect("received ");
    let port = server.expect("welcome new client");
    let who = port
        .split_whitespace()
        .nth(4)
        .unwrap()
        .trim_end_matches("...")
        .to_string();
    // SIGKILL: the process dies, its kernel closes its socket. It had read everything
    // it was sent, so the kernel closes with a FIN: the server reads 0 bytes.
    drop(client);
    server.expect(&format!("read 0 bytes from {who}"));
    let end = server.expect(&format!("connection from {who}"));
    assert!(
        end.ends_with("closed."),
        "a killed client ended its session with: {end}"
    );
}

#[test]
#[cfg(target_os = "linux")]
fn a_restarted_server_binds_past_time_wait() {
    let (first, addr) = server("0");
    let mut client = Peer::welcomed(addr);
    // After `exit` the server closes first: the connection's TIME_WAIT is on its side,
    // on its port, once the client has closed too.
    client.send(EXIT.as_bytes());
    client.expect_closed();
    drop(client);
    assert!(
        common::time_wait_on(addr.port()),
        "no connection in TIME_WAIT on port {}",
        addr.port()
    );
    drop(first);
    let mut command = Command::new(common::lesson("03_server"));
    command.args([&addr.to_string(), "--pause-ms", "0"]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut second = Started::spawn(command);
    let mut line = String::new();
    BufReader::new(second.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if !line.contains("listening on") {
        let mut stderr = String::new();
        let _ = second.0.stderr.take().unwrap().read_to_string(&mut stderr);
        panic!(
            "a restarted 03 could not bind {addr} past a connection in TIME_WAIT (does it \
             still set SO_REUSEADDR?): {stderr}"
        );
    }
}
