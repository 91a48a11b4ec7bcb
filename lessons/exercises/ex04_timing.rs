//! # Exercise ex04_timing: time each round trip
//!
//! The client below is lesson 04's: it prints the server's welcome, sends each name
//! (the bytes alone, no line ending) and prints the reply, then sends `exit`.
//!
//! **Your task:** print each reply with the time it took, from just before the name is
//! written to just after the reply is read, in milliseconds with three decimals (to the
//! microsecond): `Hello, Michael! (1000.334 ms)`. That time is the round trip: the
//! name's way to the server, the server's work (lesson 03 pauses one second), and the
//! reply's way back.
//!
//! Difficulty: ★☆☆. Rust: `std::time::Instant`, and `{:.3}` in a format string.
//!
//! Try it: `cargo run --example 03_server` in one terminal, then
//! `cargo run -p exercises --bin ex04_timing` in a second one.
//! Check it: `cargo exercise ex04_timing`.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use tcp_lessons::args::Args;
use tcp_lessons::client;
use tcp_lessons::say::{explain, fail};

fn main() {
    let mut args = Args::from_env("usage: ex04_timing [ADDRESS] [NAME ...]");
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
        // TODO: note the time here, just before the write (`Instant::now()`)...
        stream.write_all(name.as_bytes())?;
        let reply = receive(stream)?;
        // TODO: ...and print how long it took: `Hello, Michael! (1000.334 ms)`.
        client!("{reply}");
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
