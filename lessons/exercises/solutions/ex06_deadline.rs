//! # Solution to ex06_deadline: a deadline for every line
//!
//! A reader of our own sits between the socket and the `BufReader`: before each read it
//! makes the time left until the line's deadline the socket's read timeout. However the
//! line trickles in, the last read ends by the deadline.
//! Run it: `cargo run -p exercises --bin ex06_deadline_solution`.

use std::io::{self, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};
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
        usage: ex06_deadline_solution [ADDRESS] [OPTIONS]

        A line server (Welcome!, Hello, NAME!, exit) that gives each line a deadline.

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
        eprintln!("ex06_deadline_solution: --line-ms: give a time of 1 ms or more");
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
/// One client: `Welcome!`, then a greeting per line, until `exit`. A line that is not
/// whole `line_time` after we began to wait for it ends the session.
fn session(stream: TcpStream, peer: SocketAddr, line_time: Duration) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    // One reader for the whole session: what it reads ahead (the next line, sent in the
    // same piece) waits in its buffer for the next read_line.
    let mut reader = BufReader::new(Deadline {
        stream,
        until: Instant::now(),
    });
    write_line(&mut writer, b"Welcome!")?;
    loop {
        // The clock of this line starts now, whatever the last one took.
        reader.get_mut().until = Instant::now() + line_time;
        let line = match read_line(&mut reader, 1024) {
            Ok(Some(line)) => line,
            Ok(None) => return Ok(()),
            Err(FrameError::Io(err)) if is_timeout(&err) => {
                server!("{peer}: no whole line within {line_time:?}, closing");
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

/// The socket, read until a deadline: each read may wait only for the time left.
struct Deadline {
    stream: TcpStream,
    until: Instant,
}

impl Read for Deadline {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.until.saturating_duration_since(Instant::now());
        // A zero timeout would mean "wait forever" to the OS: std refuses it. No time
        // left is a timeout of our own.
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
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
