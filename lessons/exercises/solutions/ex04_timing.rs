//! # Solution to ex04_timing: time each round trip
//!
//! An `Instant` taken just before the write and read just after the reply: the time
//! between is the round trip, pause included. Run it, with 03_server running:
//! `cargo run -p exercises --bin ex04_timing_solution`.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tcp_lessons::args::Args;
use tcp_lessons::client;
use tcp_lessons::say::{explain, fail};

fn main() {
    let mut args = Args::from_env("usage: ex04_timing_solution [ADDRESS] [NAME ...]");
    let addr = args.address("127.0.0.1:1234");
    let mut names = args.rest();
    args.finish();
    if names.is_empty() {
        names = ["Michael", "Tracy", "Sarah"].map(String::from).to_vec();
    }
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|err| fail(explain(&err, addr)));
    // A server that never answers must not hang us forever.
    let talked = stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .and_then(|()| talk(&mut stream, &names));
    if let Err(err) = talked {
        fail(format!(
            "the conversation broke off: {}",
            explain(&err, addr)
        ));
    }
}

// ANCHOR: task
/// The article's dialogue: welcome, one reply per name, then `exit`.
fn talk(stream: &mut TcpStream, names: &[String]) -> io::Result<()> {
    client!("{}", receive(stream)?);
    for name in names {
        // `Instant` is a monotonic clock: unlike the wall clock, it never jumps when
        // the system's time is set, so the difference of two readings is a duration.
        let sent = Instant::now();
        stream.write_all(name.as_bytes())?;
        let reply = receive(stream)?;
        let took = sent.elapsed();
        client!("{reply} ({:.3} ms)", took.as_secs_f64() * 1000.0);
    }
    stream.write_all(b"exit")
}
// ANCHOR_END: task

/// Reads once, up to 1024 bytes: one reply, as in lesson 04.
fn receive(stream: &mut TcpStream) -> io::Result<String> {
    let mut buffer = [0; 1024];
    match stream.read(&mut buffer)? {
        0 => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        )),
        n => Ok(String::from_utf8_lossy(&buffer[..n]).into_owned()),
    }
}
