//! Lesson 06 over real sockets: the dialogue in lines, each limit with small values so
//! that every test is quick, each attack a limit answers, the socket options, and the
//! graceful shutdown on Ctrl-C, SIGTERM and SIGHUP.

mod common;

use common::{PATIENCE, Peer, Running, Started, help_default, run, run_command, skip};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

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

/// Reads until the end of the stream, a reset or PATIENCE; returns what came and how
/// it ended: "end", "reset" or the error.
fn read_to_end(client: &mut Peer) -> (String, String) {
    let mut got = Vec::new();
    let how = match client.stream.read_to_end(&mut got) {
        Ok(_) => "end".to_string(),
        Err(err) if err.kind() == ErrorKind::ConnectionReset => "reset".to_string(),
        Err(err) => err.to_string(),
    };
    (String::from_utf8_lossy(&got).into_owned(), how)
}

/// `30 s`, or `200 ms` when not whole seconds: how 06 prints a duration.
fn human_ms(ms: u64) -> String {
    if ms >= 1000 && ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

/// Every option of `--help` that takes a value (`--backlog N`), with the default the
/// help gives it: `("--backlog", "1024")`; `0: off` is read as `0`.
fn help_defaults() -> Vec<(String, String)> {
    let help = run("06_hardened_server", &["--help"], "");
    assert_eq!(help.status.code(), Some(0), "{}", help.stderr);
    let takes_a_value = |line: &str| {
        let mut words = line.split_whitespace();
        let flag = words.next().filter(|flag| flag.starts_with("--"))?;
        let value = words.next()?;
        value
            .chars()
            .all(|c| c.is_ascii_uppercase())
            .then(|| flag.to_string())
    };
    help.stdout
        .lines()
        .filter_map(|line| takes_a_value(line.trim_start()))
        .map(|flag| {
            let default = help_default(&help.stdout, &flag);
            let value = default.split(':').next().unwrap().trim().to_string();
            (flag, value)
        })
        .collect()
}

/// What 06 prints at startup for `flag` at its `default`.
fn startup_text(flag: &str, default: &str) -> String {
    let ms = || human_ms(default.parse().expect("a number of milliseconds"));
    match (flag, default) {
        ("--backlog", _) => format!("(backlog {default})"),
        ("--read-timeout-ms", _) => format!("read timeout {}", ms()),
        ("--line-timeout-ms", _) => format!("line timeout {}", ms()),
        ("--write-timeout-ms", _) => format!("write timeout {}", ms()),
        ("--max-line", _) => format!("line limit {default} bytes"),
        ("--max-sessions", _) => format!("session limit {default}"),
        ("--send-buffer", "0") => "send buffer the kernel's".into(),
        ("--send-buffer", _) => format!("send buffer {default} bytes"),
        ("--keepalive-s", "0") => "keepalive off".into(),
        ("--keepalive-s", _) => format!(
            "keepalive every {}",
            human_ms(1000 * default.parse::<u64>().unwrap())
        ),
        ("--user-timeout-ms", "0") => "TCP_USER_TIMEOUT off".into(),
        ("--user-timeout-ms", _) => format!("TCP_USER_TIMEOUT {}", ms()),
        ("--shutdown-grace-ms", _) => format!("shutdown grace {}", ms()),
        _ => panic!(
            "--help gives {flag} a default ({default}): add to this test what 06 prints \
             for it at startup"
        ),
    }
}

#[test]
fn the_defaults_help_shows_are_what_startup_prints() {
    let defaults = help_defaults();
    assert!(
        defaults.len() >= 10,
        "--help shows fewer defaults than 06 has options: {defaults:?}"
    );
    let (mut server, _) = server(&[]);
    server.expect("waiting for connections; Ctrl-C stops the server gracefully");
    let printed = server.seen().join("\n");
    for (flag, default) in &defaults {
        let expected = startup_text(flag, default);
        assert!(
            printed.contains(&expected),
            "--help says {flag} defaults to {default}, but the startup lines do not say \
             {expected:?}:\n{printed}"
        );
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
fn a_line_trickling_in_is_cut_off_by_the_line_timeout() {
    // Slowloris: a byte at a time, never a line end, each byte well within the read
    // timeout. The line timeout counts from the line's first byte.
    let (mut server, addr) = server(&["--line-timeout-ms", "300"]);
    let mut client = welcomed(addr);
    let mut writer = client.stream.try_clone().unwrap();
    let trickle = thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < PATIENCE && writer.write_all(b"x").is_ok() {
            thread::sleep(Duration::from_millis(20));
        }
    });
    client.expect("bye: a line took longer than 300 ms to arrive, closing\n");
    let (rest, how) = read_to_end(&mut client);
    assert_eq!(
        (rest.as_str(), how.as_str()),
        ("", "end"),
        "after its last line the server should close gently, not reset"
    );
    server.expect("#1 closed: a line took longer than 300 ms to arrive (after 0 messages)");
    // Stop the trickle: its next write fails.
    let _ = client.stream.shutdown(std::net::Shutdown::Both);
    trickle.join().unwrap();
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
    // unread when the server closes, its kernel would reset the connection: our write
    // would fail. So the server sends its FIN, then reads and discards the rest
    // (close_gently).
    let mut writer = client.stream.try_clone().unwrap();
    let sending = thread::spawn(move || writer.write_all(&vec![b'x'; 1 << 20]));
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
fn a_client_cannot_flood_the_log_with_its_errors() {
    // `\xff\n` is two bytes, and each used to cost a log line of 70.
    let (mut server, addr) = server(&[]);
    let mut client = welcomed(addr);
    let mut lines = b"\xff\n".repeat(1000);
    lines.extend_from_slice(b"exit\n");
    let mut writer = client.stream.try_clone().unwrap();
    let sending = thread::spawn(move || writer.write_all(&lines));
    read_to_end(&mut client);
    sending.join().unwrap().unwrap();
    let last = server.expect("#1 closed after 1001 messages (the client sent exit)");
    assert!(
        last.ends_with("; 997 more errors not logged"),
        "the session's last line should count the errors it did not log: {last}"
    );
    let logged = server
        .seen()
        .iter()
        .filter(|line| line.contains("not UTF-8"))
        .count();
    assert_eq!(
        logged, 3,
        "1000 bad lines should give 3 log lines, not {logged}"
    );
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
fn turned_away_clients_that_spoke_first_read_busy_then_the_end_not_a_reset() {
    let (_server, addr) = server(&["--max-sessions", "1"]);
    let _inside = welcomed(addr);
    // Twenty clients speak as soon as they connect: their lines reach the server before
    // it turns them away. Closed with those lines unread, a socket answers with a reset.
    let mut clients: Vec<Peer> = (0..20).map(|_| Peer::connect(addr)).collect();
    for client in &mut clients {
        client.send(b"Michael\n");
    }
    for (i, client) in clients.iter_mut().enumerate() {
        let (got, how) = read_to_end(client);
        assert_eq!(
            (got.as_str(), how.as_str()),
            ("busy, try again later\n", "end"),
            "turned-away client {i} should read `busy`, then the end of the stream"
        );
    }
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
    server.expect("#2 closed: a reply took longer than 200 ms to send, the client is not reading");
    steady.send(b"Sarah\n");
    steady.expect("Hello, Sarah!\n");
}

#[test]
fn a_reply_has_one_deadline_however_many_writes_it_takes() {
    // A reply of 8 MB, more than the socket buffers hold, read by a client that keeps
    // reading, slowly: each write the server makes progresses, but the whole reply
    // cannot be sent within the write timeout. A timeout per write would never fire.
    let size = 8_000_000;
    let timeout_ms = 500;
    let (mut server, addr) = server(&[
        "--max-line",
        &size.to_string(),
        "--write-timeout-ms",
        &timeout_ms.to_string(),
    ]);
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(256 * 1024).unwrap();
    socket.connect_timeout(&addr.into(), PATIENCE).unwrap();
    let mut client = Peer::from_stream(socket.into());
    client.expect("Welcome!\n");
    let mut line = vec![b'x'; size];
    line.push(b'\n');
    client.send(&line);
    // About 1 MB/s: the reply needs 8 s. Read for ten times the timeout at most.
    let start = Instant::now();
    let mut got = 0;
    let mut chunk = vec![0; 64 * 1024];
    let end = loop {
        match client.stream.read(&mut chunk) {
            Ok(0) => break "the end of the stream",
            Ok(n) => got += n,
            Err(_) => break "an error",
        }
        assert!(
            start.elapsed() < Duration::from_millis(10 * timeout_ms),
            "after {:?} the server was still sending its reply ({got} bytes so far): the \
             write timeout bounds each write, not the whole reply",
            start.elapsed()
        );
        thread::sleep(Duration::from_millis(50));
    };
    assert!(got < size, "the whole reply came, then {end}");
    server.expect(&format!(
        "#1 closed: a reply took longer than {timeout_ms} ms to send"
    ));
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
    server.expect(
        "summary: 1 session served, 1 message, 0 errors; turned away busy: 0 at the \
         session limit, 0 for want of a thread",
    );
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
fn ctrl_c_with_a_client_mid_line_still_says_goodbye() {
    let (mut server, addr) = server(&[]);
    let mut client = welcomed(addr);
    // Half a line: the shutdown wakes the session inside read_line, not between lines.
    client.send(b"Mich");
    server.interrupt();
    client.expect("server shutting down, bye\n");
    client.expect_closed();
    server.expect("#1 closed: server shutting down (after 0 messages)");
    server.expect("summary: 1 session served, 0 messages, 0 errors");
    assert_eq!(server.wait_exit().code(), Some(0));
}

#[test]
fn sigterm_and_sighup_stop_it_gracefully_like_ctrl_c() {
    // Service managers and `docker stop` send SIGTERM; a closing terminal sends SIGHUP.
    for signal in ["TERM", "HUP"] {
        let (mut server, addr) = server(&[]);
        let mut client = welcomed(addr);
        server.signal(signal);
        client.expect("server shutting down, bye\n");
        client.expect_closed();
        server.expect("summary: 1 session served");
        let status = server.wait_exit();
        assert_eq!(status.code(), Some(0), "SIG{signal}: {status}");
    }
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
    // A session blocked in a write (its client reads nothing) is not woken by the
    // shutdown; it would end at its reply's deadline (10 s). With no grace at all the
    // server names it and exits all the same. (An idle session would not do: woken at
    // once, it may end within the moment the server looks.)
    let (mut server, addr) = server(&["--shutdown-grace-ms", "0"]);
    let mut hog = welcomed(addr);
    flood(&mut hog);
    server.interrupt();
    server.expect("1 session still running at the deadline (#1)");
    assert_eq!(server.wait_exit().code(), Some(0));
}

#[test]
fn a_broken_stdout_does_not_stop_the_server_but_the_exit_status_tells() {
    // A closed pipe (`| head -1` has read enough) and a full disk (/dev/full).
    for broken in ["closed pipe", "/dev/full"] {
        let addr = common::nothing_listening();
        let mut command = Command::new(common::lesson("06_hardened_server"));
        command.arg(addr.to_string()).stderr(Stdio::piped());
        if broken == "/dev/full" {
            if !std::path::Path::new("/dev/full").exists() {
                skip("/dev/full is missing");
                continue;
            }
            command.stdout(std::fs::File::create("/dev/full").unwrap());
        } else {
            command.stdout(Stdio::piped());
        }
        let mut child = Started::spawn(command);
        let child = &mut child.0;
        drop(child.stdout.take()); // the reader has gone
        let (tx, stderr) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // Its `listening on` line went nowhere: try until it listens.
        let start = Instant::now();
        let stream = loop {
            match std::net::TcpStream::connect(addr) {
                Ok(stream) => break stream,
                Err(err) if start.elapsed() > PATIENCE => panic!("{broken}: {err}"),
                Err(_) => thread::sleep(Duration::from_millis(10)),
            }
        };
        let mut client = Peer::from_stream(stream);
        client.expect("Welcome!\n");
        // A log line failed by now (a pipe takes lines until its reader has gone, so
        // this one may be the `connected` line); stderr says so, once.
        let first = stderr.recv_timeout(PATIENCE).expect("nothing on stderr");
        assert!(
            first.contains("cannot write to stdout"),
            "{broken}: {first}"
        );
        client.send(b"Michael\n");
        client.expect("Hello, Michael!\n");
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        let last = stderr.recv_timeout(PATIENCE).expect("no summary on stderr");
        assert!(
            last.contains("summary: 1 session served"),
            "{broken}: {last}"
        );
        let status = child.wait().unwrap();
        assert_eq!(
            status.code(),
            Some(1),
            "{broken}: a lost log is not a success"
        );
    }
}

#[test]
fn bad_flags_give_one_clear_line() {
    for (args, says) in [
        (&["--max-sessions", "lots"][..], "not a whole number"),
        (
            &["--max-sessions", "0"],
            "every client would be turned away",
        ),
        (&["--backlog", "-1"], "cannot be shorter than empty"),
        (
            &["--read-timeout-ms", "0"],
            "a timeout of 0 would mean no timeout",
        ),
        (
            &["--line-timeout-ms", "0"],
            "a timeout of 0 would mean no timeout",
        ),
        (
            &["--write-timeout-ms", "0"],
            "a timeout of 0 would mean no timeout",
        ),
        (
            &["--line-timeout-ms", "18446744073709551615"],
            "more than a day",
        ),
        (&["--keepalive-s", "99999999"], "the kernel refuses"),
        (&["--max-line", "0"], "every line would be refused"),
        (&["--max-line", "-1"], "not a number of bytes"),
        (&["--send-buffer", "-1"], "0 bytes or more"),
        (&["--colour"], "unknown option"),
    ] {
        let out = run("06_hardened_server", args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(args[0]), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
}

#[test]
#[cfg(target_os = "linux")]
fn a_session_limit_the_machine_cannot_hold_is_refused() {
    // A thread per session: a billion cannot fit anywhere.
    let out = run("06_hardened_server", &["--max-sessions", "1000000000"], "");
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("sessions fit in this process"),
        "{}",
        out.stderr
    );
    // Under `ulimit -n 200` the open files are the limit, and the line names them.
    let mut command = Command::new("sh");
    command
        .args(["-c", "ulimit -n 200 && exec \"$0\" 127.0.0.1:0"])
        .arg(common::lesson("06_hardened_server"));
    let out = run_command(command, b"");
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("--max-sessions 256: at most")
            && out.stderr.contains("RLIMIT_NOFILE 200"),
        "under ulimit -n 200 the refusal should name the open-file limit: {}",
        out.stderr
    );
}

/// Root only: runs `program` as user `uid` (a number no one else uses).
#[cfg(unix)]
fn as_user(uid: u32, program: &str) -> Command {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(program);
    command.uid(uid).gid(uid);
    command
}

#[test]
#[cfg(target_os = "linux")]
fn a_client_with_no_thread_to_spare_is_told_busy_and_counted_apart() {
    // Threads run out when a user's processes and threads reach RLIMIT_NPROC. The
    // server runs as a user of its own with a limit of 10; seven `sleep`s of that user
    // and the server's three threads take all ten. Only root can run programs as
    // another user, and Linux does not apply the limit to root itself.
    let uid = 40_000 + std::process::id() % 20_000;
    if Command::new("prlimit").arg("--version").output().is_err() {
        return skip("prlimit (util-linux) is missing");
    }
    if let Err(err) = as_user(uid, "true").status() {
        return skip(&format!("cannot run a program as another user: {err}"));
    }
    let mut command = as_user(uid, "prlimit");
    command
        .arg("--nproc=10")
        .arg("--")
        .arg(common::lesson("06_hardened_server"))
        .args(["127.0.0.1:0", "--max-sessions", "4"]);
    let mut server = Running::spawn(command);
    let addr = server.listening_addr();
    server.expect("waiting for connections");
    let mut hogs = Vec::new();
    for _ in 0..7 {
        match as_user(uid, "sleep").arg("10").spawn() {
            Ok(hog) => hogs.push(Started(hog)),
            Err(err) => return skip(&format!("cannot run a program as another user: {err}")),
        }
    }
    let mut client = Peer::connect(addr);
    client.expect("busy, try again later\n");
    client.expect_closed();
    server.expect("#1 turned away: cannot start a thread");
    drop(hogs); // killed: their threads are free again
    welcomed(addr);
    server.interrupt();
    server.expect(
        "summary: 1 session served, 0 messages, 0 errors; turned away busy: 0 at the \
         session limit, 1 for want of a thread",
    );
}

/// The time from one write of two lines to both replies, `rounds` times, each client in
/// turn (so that both see the same moments of a busy machine); the median of each.
fn medians_of_two_line_rounds(clients: &mut [Peer], rounds: usize) -> Vec<Duration> {
    let mut times = vec![Vec::new(); clients.len()];
    for _ in 0..rounds {
        for (client, times) in clients.iter_mut().zip(&mut times) {
            let start = Instant::now();
            client.send(b"Michael\nTracy\n");
            client.expect("Hello, Michael!\nHello, Tracy!\n");
            times.push(start.elapsed());
        }
    }
    times
        .into_iter()
        .map(|mut times| {
            times.sort();
            times[times.len() / 2]
        })
        .collect()
}

#[test]
fn without_tcp_nodelay_the_second_of_two_replies_waits() {
    // The server writes `Hello, Michael!` then `Hello, Tracy!`. With Nagle's algorithm
    // on, the second waits for the ACK of the first, and our kernel delays that ACK.
    let (_fast, fast_addr) = server(&[]);
    let (_slow, slow_addr) = server(&["--nagle"]);
    let mut clients = [welcomed(fast_addr), welcomed(slow_addr)];
    let medians = medians_of_two_line_rounds(&mut clients, 11);
    let (nodelay, nagle) = (medians[0], medians[1]);
    // Shown with `cargo test --test 06_hardened_server nodelay -- --nocapture`.
    eprintln!("median round trip: TCP_NODELAY {nodelay:?}, Nagle's algorithm {nagle:?}");
    assert!(
        nagle > nodelay * 5,
        "with Nagle's algorithm a round of two lines took {nagle:?} (median), with \
         TCP_NODELAY {nodelay:?}: expected the first far slower"
    );
}

#[test]
#[cfg(target_os = "linux")]
fn ss_shows_the_send_buffer_and_the_keepalive_timer() {
    for (args, keepalive) in [(&[][..], false), (&["--keepalive-s", "5"], true)] {
        let (_server, addr) = server(args);
        let _client = welcomed(addr);
        // The server's end of the connection: its source port is the server's.
        let filter = format!("( sport = :{} )", addr.port());
        let Some(out) = common::ss(&["-tnmo", "state", "established", &filter]) else {
            return;
        };
        // Linux doubles SO_SNDBUF for its bookkeeping: 65536 asked, 131072 given.
        assert!(out.contains("tb131072"), "{args:?}: {out}");
        assert_eq!(
            out.contains("timer:(keepalive"),
            keepalive,
            "{args:?}: a keepalive timer was expected only with --keepalive-s:\n{out}"
        );
    }
}

/// A network namespace joined to ours by a pair of virtual Ethernet interfaces: a
/// machine we can make vanish (bring our end down). Deleted when dropped.
struct Namespace {
    name: String,
    link: String,
    /// The namespace's address, and ours.
    theirs: String,
    ours: String,
}

impl Namespace {
    /// Root only, and `ip` (iproute2); `None` (and a line saying why) otherwise.
    fn new() -> Option<Namespace> {
        let pid = std::process::id();
        let n = pid % (256 * 64);
        let (x, y) = (n / 64, n % 64 * 4);
        let net = Namespace {
            name: format!("h6t{pid}"),
            link: format!("h6t{pid}a"),
            ours: format!("10.206.{x}.{}", y + 1),
            theirs: format!("10.206.{x}.{}", y + 2),
        };
        let inside = |args: &str| format!("netns exec {} ip {args}", net.name);
        let steps = [
            format!("netns add {}", net.name),
            format!("link add {} type veth peer name {}b", net.link, net.link),
            format!("link set {}b netns {}", net.link, net.name),
            format!("addr add {}/30 dev {}", net.ours, net.link),
            format!("link set {} up", net.link),
            inside(&format!("addr add {}/30 dev {}b", net.theirs, net.link)),
            inside(&format!("link set {}b up", net.link)),
            inside("link set lo up"),
        ];
        for step in steps {
            let done = Command::new("ip").args(step.split(' ')).output();
            if !done.as_ref().is_ok_and(|out| out.status.success()) {
                skip(&format!(
                    "cannot make a network namespace (`ip {step}`: root only)"
                ));
                return None;
            }
        }
        Some(net)
    }

    /// Our end of the link goes down: to the namespace, our machine has vanished.
    fn vanish(&self) {
        let done = Command::new("ip")
            .args(["link", "set", &self.link, "down"])
            .status();
        assert!(done.is_ok_and(|s| s.success()));
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.link])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

#[test]
#[cfg(target_os = "linux")]
fn keepalive_finds_a_client_whose_machine_vanished() {
    // The server runs in a namespace of its own; the client, here, is "another machine"
    // behind a virtual cable. We cut the cable: no FIN, no RST, nothing tells the
    // server. A read timeout of a minute would find out after a minute; keepalive
    // probes, unanswered, end the connection sooner. (TCP_USER_TIMEOUT, 1.5 s, keeps
    // the test short: without it the 3 probes take 1 + 3 s.)
    let Some(net) = Namespace::new() else { return };
    let mut command = Command::new("ip");
    command
        .args(["netns", "exec", &net.name])
        .arg(common::lesson("06_hardened_server"))
        .arg(format!("{}:0", net.theirs))
        .args(["--read-timeout-ms", "60000", "--keepalive-s", "1"])
        .args(["--user-timeout-ms", "1500"]);
    let mut server = Running::spawn(command);
    let addr = server.listening_addr();
    let _client = welcomed(addr);
    server.expect("#1 ");
    let start = Instant::now();
    net.vanish();
    server
        .expect("#1 closed: the client stopped answering (after 0 messages): Connection timed out");
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "found only after {:?}: the read timeout, not keepalive",
        start.elapsed()
    );
}

#[test]
#[cfg(target_os = "linux")]
fn on_linux_a_reset_keeps_what_the_receiver_has_and_loses_what_the_sender_had() {
    // Not lesson 06 itself: the kernel fact its close_gently and turn_away are built on.
    // A server closes while bytes it received lie unread: its kernel resets.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut client = Peer::connect(addr);
    let (mut server, _) = listener.accept().unwrap();
    client.send(b"Michael\n");
    // Our line is in the server's socket, unread, when it writes its own and closes.
    let mut peek = [0; 8];
    server.set_read_timeout(Some(PATIENCE)).unwrap();
    assert_eq!(server.peek(&mut peek).unwrap(), 8);
    server.write_all(b"error: bye\n").unwrap();
    drop(server);
    // The reset does not destroy what the client's kernel already holds: the line
    // first, then "connection reset" (Windows, its documentation says, drops it).
    client.expect("error: bye\n");
    let (rest, how) = read_to_end(&mut client);
    assert_eq!((rest.as_str(), how.as_str()), ("", "reset"));

    // But what the sender had not sent yet is lost: 8 MB written to a client that has
    // not read them cannot all be in flight when the reset goes out.
    let mut client = Peer::connect(addr);
    let (server, _) = listener.accept().unwrap();
    client.send(b"Michael\n");
    let big = vec![b'x'; 8 << 20];
    let mut writer = server.try_clone().unwrap();
    writer
        .set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let written = match writer.write(&big) {
        Ok(n) => n,
        Err(err) => panic!("the first write failed: {err}"),
    };
    drop(writer);
    drop(server);
    let (got, how) = read_to_end(&mut client);
    assert_eq!(how, "reset");
    assert!(
        got.len() < written,
        "the client read {} of {written} bytes the server had written: the reset should \
         have dropped those still in the server's send buffer",
        got.len()
    );
}
