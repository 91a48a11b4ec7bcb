//! # Exercise ex04_retry: try again when the server is not there yet
//!
//! The client below is lesson 04's: it connects, prints the server's welcome, sends each
//! name and prints the reply, then sends `exit`. If no server listens, `connect` fails
//! at once with "connection refused", and so does the client.
//!
//! **Your task:** when the connection is refused, try again, up to 5 times, 200 ms
//! apart, saying so before each pause: `connection refused, retrying (1 of 5)`, ...,
//! `(5 of 5)`. If the last try is refused too, give up with one clear line and exit
//! status 1, as the client does now. A server that starts a moment after its client
//! (both started by one script, say) is then no longer an error.
//!
//! Difficulty: ★★☆. Rust: a `loop` with a counter, `match` on `err.kind()`
//! (`io::ErrorKind`), `std::thread::sleep`.
//!
//! Try it: `cargo run -p exercises --bin ex04_retry` with no server running, and again
//! while you start `cargo run --example 03_server` in a second terminal.
//! Check it: `cargo exercise ex04_retry`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use tcp_lessons::args::Args;
use tcp_lessons::client;
use tcp_lessons::say::{explain, fail};

fn main() {
    let mut args = Args::from_env("usage: ex04_retry [ADDRESS] [NAME ...]");
    let addr = args.address("127.0.0.1:1234");
    let mut names = args.rest();
    args.finish();
    if names.is_empty() {
        names = ["Michael", "Tracy", "Sarah"].map(String::from).to_vec();
    }
    let mut stream = connect(addr).unwrap_or_else(|err| fail(explain(&err, addr)));
    if let Err(err) = talk(&mut stream, &names) {
        fail(format!(
            "the conversation broke off: {}",
            explain(&err, addr)
        ));
    }
}

// ANCHOR: task
/// Connects to `addr`, and bounds every later read.
fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    // TODO: when this fails with `io::ErrorKind::ConnectionRefused`, say
    // `connection refused, retrying (1 of 5)`, wait 200 ms (`std::thread::sleep`) and
    // try again; after 5 retries, return the last error.
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    client!("connected to {addr}");
    Ok(stream)
}
// ANCHOR_END: task

/// The article's dialogue: welcome, one reply per name, then `exit`.
fn talk(stream: &mut TcpStream, names: &[String]) -> io::Result<()> {
    client!("{}", receive(stream)?);
    for name in names {
        stream.write_all(name.as_bytes())?;
        client!("{}", receive(stream)?);
    }
    stream.write_all(b"exit")
}

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
