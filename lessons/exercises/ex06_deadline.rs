//! # Exercise ex06_deadline: a deadline for every line
//!
//! The server below speaks lesson 06's dialogue, one message per line, each client in a
//! thread of its own. Like lesson 06 it sets a read timeout: a client that sends nothing
//! for `--line-ms` is told `too slow, bye` and disconnected. But a read timeout counts
//! from the last byte that came: a client that sends one byte every second, and never a
//! whole line, never trips a 10-second timeout. It holds its thread, and its place, for
//! as long as it likes; a few hundred such clients hold every thread a server has (the
//! attack is called *slowloris*).
//!
//! **Your task:** give every line a deadline instead: from the moment the server begins
//! to wait for a line, the whole line must have come within `--line-ms`, however it
//! trickles in. A line that misses its deadline gets `too slow, bye`, and the connection
//! closes. Each line has a deadline of its own: a client may talk for as long as it
//! likes, one timely line after another.
//!
//! Difficulty: ★★★. Rust: `std::time::Instant`, and a type of your own that implements
//! the `Read` trait (the Rust Book, chapter 10.2), wrapped in a `BufReader`.
//!
//! Try it: `cargo run -p exercises --bin ex06_deadline`, then in a second terminal send
//! a line slowly, a piece every 4 seconds:
//!
//! ```text
//! (printf 'Mi'; sleep 4; printf 'cha'; sleep 4; printf 'el'; sleep 4;
//!  printf '\n'; sleep 1) | nc 127.0.0.1 1234
//! ```
//!
//! Check it: `cargo exercise ex06_deadline`.

use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;
use tcp_lessons::args::Args;
use tcp_lessons::framing::{FrameError, read_line, write_line};
use tcp_lessons::say::{explain, fail};
use tcp_lessons::server;

/// How long a client has for each whole line, by default.
const LINE_MS: u64 = 10_000;
/// What a client that misses a deadline is told before the connection closes.
const TOO_SLOW: &[u8] = b"too slow, bye";

fn usage() -> String {
    indoc::formatdoc! {"
        usage: ex06_deadline [ADDRESS] [OPTIONS]

        A line server (Welcome!, Hello, NAME!, exit) that should give each line a deadline.

        arguments:
          ADDRESS        where to listen (default 127.0.0.1:1234; 127.0.0.1:0 picks a free port)

        options:
          --line-ms MS   the time a client has for each whole line (default {LINE_MS})
          -h, --help     show this text
    "}
}

fn main() {
    let mut args = Args::from_env(&usage());
    let line_ms: u64 = args.value("--line-ms", LINE_MS);
    let addr = args.address("127.0.0.1:1234");
    args.finish();
    if line_ms == 0 {
        eprintln!("ex06_deadline: --line-ms: give a time of 1 ms or more");
        std::process::exit(2);
    }
    let line_time = Duration::from_millis(line_ms);
    let listener = TcpListener::bind(addr).unwrap_or_else(|err| fail(explain(&err, addr)));
    server!("listening on {}", listener.local_addr().unwrap_or(addr));
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                thread::spawn(move || match session(stream, peer, line_time) {
                    Ok(()) => server!("{peer} closed"),
                    Err(err) => server!("{peer} closed after an error: {err}"),
                });
            }
            Err(err) => {
                // As in lesson 06: with "too many open files" the next accept fails at
                // once, so pause instead of spinning.
                server!("accept failed: {err}");
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

// ANCHOR: task
/// One client: `Welcome!`, then a greeting per line, until `exit`. A client that keeps
/// a read waiting for `line_time` ends the session.
fn session(stream: TcpStream, peer: SocketAddr, line_time: Duration) -> io::Result<()> {
    // TODO: this timeout starts again with every read, and a line slowly sent takes
    // many reads. Give each line a deadline (an `Instant`), and before every read make
    // the time left until it the socket's read timeout. `BufReader` does the reads: put
    // a reader of your own between it and the socket, one that implements `Read`.
    stream.set_read_timeout(Some(line_time))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    write_line(&mut writer, b"Welcome!")?;
    loop {
        let line = match read_line(&mut reader, 1024) {
            Ok(Some(line)) => line,
            Ok(None) => return Ok(()),
            Err(FrameError::Io(err)) if is_timeout(&err) => {
                server!("{peer}: a read waited {line_time:?} for nothing, closing");
                return write_line(&mut writer, TOO_SLOW);
            }
            Err(err) => return Err(io::Error::other(err)),
        };
        let name = String::from_utf8_lossy(&line);
        if name == "exit" {
            return Ok(());
        }
        write_line(&mut writer, format!("Hello, {name}!").as_bytes())?;
    }
}
// ANCHOR_END: task

/// A read timed out: Unix says EAGAIN (WouldBlock), Windows WSAETIMEDOUT (TimedOut).
fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
