//! Lesson 05: each way "one read = one message" breaks against 03_server, how a
//! connection ends (the states the kernel reports, shutdown(Read), Broken pipe,
//! CLOSE_WAIT), and both framings putting the messages back together.

mod common;

use common::{PATIENCE, Peer, Running, run};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// What 05_stream printed, run once (with the 03_server it starts itself, as a student
/// runs it) for all the tests of this file that read it. If it cannot run, every test
/// says why, and only the first one waits for it.
fn stream_lesson() -> &'static str {
    static OUT: OnceLock<Result<String, String>> = OnceLock::new();
    let out = OUT.get_or_init(|| {
        std::panic::catch_unwind(run_stream_lesson).map_err(|panic| {
            let text = panic.downcast_ref::<String>().map(String::as_str);
            let text = text.or(panic.downcast_ref::<&str>().copied());
            text.unwrap_or("05_stream could not run").to_string()
        })
    });
    match out {
        Ok(out) => out,
        Err(why) => panic!("{why}"),
    }
}

fn run_stream_lesson() -> String {
    // 05 starts the 03_server built beside it, reads its startup up to the line
    // `waiting for client connections`, and waits for replies by their `Hello, `: first
    // check that 03 still does what 05 relies on (the article's words, whatever the
    // tests' own copy of them in tests/common/mod.rs says).
    let (mut server, addr) = Running::server("03_server", &["--pause-ms", "0"]);
    server.expect("waiting for client connections");
    let mut peer = Peer::welcomed(addr);
    peer.send(b"Michael");
    peer.expect("Hello, Michael!");
    drop(server);
    let out = run("05_stream", &["--pause-ms", "200"], "");
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    out.stdout
}

fn lines_with<'a>(out: &'a str, needles: &[&str]) -> Vec<&'a str> {
    out.lines()
        .filter(|line| needles.iter().all(|n| line.contains(n)))
        .collect()
}

/// The lines of the section whose heading starts with `number` (such as "4.").
fn section<'a>(out: &'a str, number: &str) -> &'a str {
    out.split("\n\n")
        .find(|block| block.trim_start().starts_with(number))
        .unwrap_or_else(|| panic!("05_stream printed no section {number:?}:\n{out}"))
}

/// The states the lesson printed in `text`, in order: (our end, the server's end), each
/// as printed after the address, such as `TIME_WAIT, for 60 s more`.
fn states(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let state = |line: &str| {
        line.split_once("  ")
            .map_or("", |(_, s)| s)
            .trim()
            .to_string()
    };
    lines
        .windows(2)
        .filter(|pair| {
            pair[0].starts_with("[kernel] client ") && pair[1].trim().starts_with("server ")
        })
        .map(|pair| (state(pair[0].trim()), state(pair[1].trim())))
        .collect()
}

/// The state's name alone: `TIME_WAIT, for 60 s more` -> `TIME_WAIT`.
fn name(state: &str) -> &str {
    state.split([',', ' ']).next().unwrap_or("")
}

/// The seconds in `..., for N s more`.
fn seconds_left(state: &str) -> Option<u64> {
    state
        .split(", for ")
        .nth(1)?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

fn names(states: &[(String, String)]) -> Vec<(&str, &str)> {
    states.iter().map(|(a, b)| (name(a), name(b))).collect()
}

#[test]
fn every_trap_shows_and_both_framings_fix_it() {
    let out = stream_lesson();

    // 1. Two writes, one read.
    assert!(
        out.contains(r#"[client] read 20 bytes "Hello, MichaelTracy!""#),
        "{out}"
    );

    // 2. 3000 bytes: three server reads (1024, 1024, 952), three greetings.
    let server_reads = |n: &str| lines_with(out, &[&format!("[server] read {n} bytes"), "\"AAAA"]);
    assert_eq!(server_reads("1024").len(), 2, "{out}");
    assert_eq!(server_reads("952").len(), 1, "{out}");
    assert_eq!(
        lines_with(out, &["[client] read", "\"Hello, AAAA"]).len(),
        3,
        "{out}"
    );

    // 3. 张三 cut after 1024 bytes: both halves lose a character to U+FFFD.
    assert!(out.contains("e5 bc a0 e4 b8 89"), "{out}");
    assert!(out.contains("x\u{FFFD}!\""), "{out}");
    assert!(
        out.contains(r#"[client] read 14 bytes "Hello, �三!""#),
        "{out}"
    );

    // 4. After shutdown(Write) the reply still comes, then 0 bytes.
    let half_close = out
        .split("shutdown(Write)")
        .nth(1)
        .expect("no half-close section");
    let reply = half_close
        .find(r#"read 15 bytes "Hello, Michael!""#)
        .expect(out);
    let closed = half_close
        .find("read 0 bytes: the server has closed its side")
        .expect(out);
    assert!(reply < closed, "{out}");

    // 8. Lines: whole messages whatever the cut, an over-long line refused.
    let lines = lines_with(out, &["read_line -> "]);
    assert_eq!(
        lines,
        [
            r#"[server] read_line -> "Michael""#,
            r#"[server] read_line -> "Tracy""#,
            r#"[server] read_line -> "张三""#,
            "[server] read_line -> end of stream, between messages",
            "[server] read_line -> error: message longer than the limit of 1024 bytes",
        ],
        "{out}"
    );

    // 9. Length prefix: big-endian, whole messages, a cut frame is an error.
    assert!(
        out.contains("big-endian (network byte order) 00 00 00 07"),
        "{out}"
    );
    let frames = lines_with(out, &["read_frame -> "]);
    assert_eq!(
        frames,
        [
            r#"[server] read_frame -> "Michael""#,
            r#"[server] read_frame -> "Tracy""#,
            r#"[server] read_frame -> "张三""#,
            "[server] read_frame -> end of stream, between messages",
            "[server] read_frame -> error: the connection closed in the middle of a message \
             (6 bytes had come)",
        ],
        "{out}"
    );
}

/// The tcp_fin_timeout of this machine, as the lesson should report it.
#[cfg(target_os = "linux")]
fn fin_timeout() -> u64 {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_fin_timeout").unwrap();
    text.trim().parse().unwrap()
}

#[test]
#[cfg(target_os = "linux")] // the states come from Linux's /proc/net/tcp
fn closing_goes_through_the_states_the_book_draws() {
    let out = section(stream_lesson(), "4.");
    let seen = states(out);
    assert_eq!(
        names(&seen),
        [
            ("FIN_WAIT_2", "CLOSE_WAIT"), // after our shutdown(Write)
            ("TIME_WAIT", "CLOSED"),      // after the server closed too
            ("FIN_WAIT_2", "CLOSE_WAIT"), // after we dropped the socket
            ("CLOSED", "CLOSED"),         // after the server's reply met a reset
        ],
        "the states of a closing connection changed: stream.md (section 4 and the figure \
         tcp-states.svg) says the side that closes first goes through FIN_WAIT_2 to \
         TIME_WAIT and the other waits in CLOSE_WAIT, and that a reply to a dropped socket \
         ends both with a reset. Section 4 printed:\n{out}"
    );
    let time_wait = seconds_left(&seen[1].0);
    assert!(
        time_wait.is_some_and(|s| s > 0 && s <= 60),
        "TIME_WAIT should show the kernel's timer, at most Linux's fixed 60 s: {:?}\n{out}",
        seen[1].0
    );
    let orphan = seconds_left(&seen[2].0);
    assert!(
        orphan.is_some_and(|s| s > 0 && s <= fin_timeout()),
        "a dropped socket's FIN_WAIT_2 should show a timer of at most tcp_fin_timeout \
         ({} s): {:?}\n{out}",
        fin_timeout(),
        seen[2].0
    );
    assert_eq!(
        seconds_left(&seen[0].0),
        None,
        "a FIN_WAIT_2 end that the program still holds has no timer on Linux:\n{out}"
    );
}

#[test]
#[cfg(target_os = "linux")]
fn shutdown_read_makes_a_read_return_0_while_the_server_is_there() {
    let out = section(stream_lesson(), "6.");
    assert!(
        out.contains("[client] the blocked read returned 0 bytes"),
        "after shutdown(Read) the read blocked in the other thread should return 0 \
         (stream.md, section 6; lesson 06's Ctrl-C relies on it):\n{out}"
    );
    assert_eq!(
        names(&states(out)),
        [("ESTABLISHED", "ESTABLISHED")],
        "shutdown(Read) sends nothing, so both ends should still be ESTABLISHED:\n{out}"
    );
}

#[test]
#[cfg(target_os = "linux")]
fn the_second_write_after_a_reset_is_a_broken_pipe() {
    let out = section(stream_lesson(), "5.");
    let taken = out
        .find(r#"[client] wrote 7 bytes "Michael": our kernel took them"#)
        .unwrap_or_else(|| {
            panic!("the first write, after the server closed, should succeed:\n{out}")
        });
    let broken = out
        .find(r#"[client] write of 5 bytes "Tracy" failed: Broken pipe"#)
        .unwrap_or_else(|| {
            panic!(
                "the second write, after the server's reset, should fail with EPIPE \
                 (Broken pipe), not kill the lesson (Rust ignores SIGPIPE):\n{out}"
            )
        });
    assert!(taken < broken, "{out}");
    assert_eq!(
        names(&states(out)),
        [("CLOSE_WAIT", "FIN_WAIT_2"), ("CLOSED", "CLOSED")],
        "the server closed first (FIN_WAIT_2, we CLOSE_WAIT), then its reset ended both:\n{out}"
    );
}

#[test]
#[cfg(target_os = "linux")]
fn a_socket_nobody_closes_waits_in_close_wait() {
    let out = section(stream_lesson(), "7.");
    assert_eq!(
        names(&states(out)),
        [("FIN_WAIT_2", "CLOSE_WAIT"), ("TIME_WAIT", "CLOSED")],
        "a server that read 0 bytes and kept its socket should sit in CLOSE_WAIT until it \
         closes (stream.md, section 7):\n{out}"
    );
    let expected = format!("[kernel] net.ipv4.tcp_fin_timeout = {} s", fin_timeout());
    assert!(out.contains(&expected), "expected {expected:?} in:\n{out}");
}

#[test]
fn no_server_at_the_address_gives_one_clear_line() {
    let addr = common::nothing_listening();
    let out = run("05_stream", &[&addr.to_string()], "");
    assert!(!out.status.success());
    assert_eq!(
        out.stderr.trim_end(),
        format!("05_stream: connection refused: is 03_server running on {addr}?")
    );
}

#[test]
fn a_name_is_accepted_as_the_other_lessons_accept_it() {
    let port = common::nothing_listening().port();
    let out = run("05_stream", &[&format!("localhost:{port}")], "");
    assert_eq!(
        out.status.code(),
        Some(1),
        "localhost:PORT should be resolved and tried (nothing listens there: exit 1), \
         not refused as a bad command line; it printed: {}",
        out.stderr
    );
    assert!(out.stderr.contains("connection refused"), "{}", out.stderr);
    assert!(out.stderr.contains(&format!(":{port}?")), "{}", out.stderr);
}

#[test]
fn a_bad_address_is_one_line_and_status_2() {
    let out = run("05_stream", &["nowhere"], "");
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("\"nowhere\""), "{}", out.stderr);
}

/// 05_stream started as a student starts it, its stdout read by a thread until the line
/// that says where its 03_server listens.
#[cfg(target_os = "linux")]
struct Started {
    lesson: Child,
    server_pid: u32,
    addr: SocketAddr,
    /// The pause the lesson says its server got.
    pause: String,
}

/// Starts 05_stream with `args`, reads its stdout until the line that says where its
/// 03_server listens, and notes that server. Then freezes the server (SIGSTOP): a
/// frozen server neither logs nor dies of a broken pipe, so if it ends, the lesson
/// ended it. Then, if `close_stdout`, closes the lesson's stdout (as `05_stream | head`
/// does), otherwise reads it to the end.
#[cfg(target_os = "linux")]
fn start_lesson(args: &[&str], close_stdout: bool) -> Started {
    common::lesson("03_server");
    let mut lesson = Command::new(common::lesson("05_stream"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start 05_stream");
    let stdout = lesson.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let (go_on, noted) = mpsc::channel::<()>();
    thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref().map_while(Result::ok) {
            if line.contains("started by this lesson, listening on ") {
                let _ = tx.send(line);
                break;
            }
        }
        let _ = noted.recv(); // the server is noted: the lesson may end now
        if !close_stdout {
            lines.for_each(drop);
        }
        // Returning drops the reader: the pipe's read end is closed.
    });
    let line = rx
        .recv_timeout(PATIENCE)
        .expect("05_stream did not say where its 03_server listens");
    let after = line.split("listening on ").nth(1).unwrap();
    let addr = after.split(',').next().unwrap().parse().unwrap();
    let pause = after.split("pause ").nth(1).unwrap().trim().to_string();
    let server_pid = children(lesson.id())
        .into_iter()
        .find(|&pid| command_name(pid).as_deref() == Some("03_server"))
        .expect("05_stream has no 03_server child");
    let frozen = Command::new("kill")
        .args(["-STOP", &server_pid.to_string()])
        .status();
    assert!(
        frozen.is_ok_and(|s| s.success()),
        "kill -STOP {server_pid} failed"
    );
    let _ = go_on.send(());
    Started {
        lesson,
        server_pid,
        addr,
        pause,
    }
}

/// The processes whose parent is `pid` (from /proc/PID/stat).
#[cfg(target_os = "linux")]
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&child: &u32| stat(child).is_some_and(|(_, parent)| parent == pid))
        .collect()
}

/// The state letter and the parent of process `pid`, if it exists.
#[cfg(target_os = "linux")]
fn stat(pid: u32) -> Option<(char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid ...: comm may hold spaces, so split after its `)`.
    let mut after = text.rsplit_once(')')?.1.split_whitespace();
    let state = after.next()?.chars().next()?;
    let parent = after.next()?.parse().ok()?;
    Some((state, parent))
}

#[cfg(target_os = "linux")]
fn command_name(pid: u32) -> Option<String> {
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(name.trim().to_string())
}

/// Waits (a few seconds at most) for process `pid` to be gone or a zombie, and for
/// nothing to accept connections at `addr` any more (a zombie's last threads may still
/// be closing its files); if not, kills it and fails with `why`.
#[cfg(target_os = "linux")]
fn expect_gone(pid: u32, addr: SocketAddr, why: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let ended = || stat(pid).is_none_or(|(state, _)| state == 'Z' || state == 'X');
    let refused = || std::net::TcpStream::connect_timeout(&addr, PATIENCE).is_err();
    while Instant::now() < deadline {
        if ended() && refused() {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
    panic!(
        "{why}, but the 03_server it started (pid {pid}, listening on {addr}) was still \
         running 5 s later: whatever ends lesson 05 must end its server too (stream.md, \
         \"Run it\")"
    );
}

#[cfg(target_os = "linux")]
fn wait_exit(lesson: &mut Child) {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if lesson.try_wait().unwrap().is_some() {
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let _ = lesson.kill();
    panic!("05_stream went on running after its stdout was closed or it got SIGTERM");
}

#[test]
#[cfg(target_os = "linux")] // the lesson asks Linux to end its server (PR_SET_PDEATHSIG)
fn a_closed_stdout_ends_the_lesson_and_its_server() {
    // With the server frozen, the lesson's next read times out (after 2 s with no
    // pause) and it fails, unless it meets its closed stdout first: both end it.
    let mut started = start_lesson(&["--pause-ms", "0"], true);
    wait_exit(&mut started.lesson);
    expect_gone(
        started.server_pid,
        started.addr,
        "05_stream stopped when its stdout was closed (as `05_stream | head` does)",
    );
}

#[test]
#[cfg(target_os = "linux")]
fn sigterm_ends_the_lesson_and_its_server() {
    let mut started = start_lesson(&[], false);
    let pid = started.lesson.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid} failed");
    wait_exit(&mut started.lesson);
    expect_gone(
        started.server_pid,
        started.addr,
        "05_stream ended on SIGTERM",
    );

    // Run without flags, the lesson gave its server the pause its --help promises.
    let help = run("05_stream", &["--help"], "").stdout;
    let promised = help
        .split("--pause-ms MS")
        .nth(1)
        .and_then(|rest| rest.split("(default ").nth(1))
        .and_then(|rest| rest.split(')').next())
        .expect("--help shows no default for --pause-ms");
    assert_eq!(
        started.pause,
        format!("{promised}ms"),
        "--help says the default pause is {promised} ms, the lesson used another"
    );
}
