//! # Solution to ex04_retry: try again when the server is not there yet
//!
//! A loop around `connect` that retries only a refusal: the one error that says "no one
//! listens here yet", and that comes back at once. Run it, with no server running:
//! `cargo run -p exercises --bin ex04_retry_solution`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;
use tcp_lessons::args::Args;
use tcp_lessons::client;
use tcp_lessons::say::{explain, fail};

fn main() {
    let mut args = Args::from_env("usage: ex04_retry_solution [ADDRESS] [NAME ...]");
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
/// How often a refused connection is tried again, and how long to wait before each try.
const RETRIES: u32 = 5;
const PAUSE: Duration = Duration::from_millis(200);

/// Connects to `addr`, trying again while the connection is refused, and bounds every
/// later read.
fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let mut retries = 0;
    let stream = loop {
        match TcpStream::connect(addr) {
            Ok(stream) => break stream,
            // Refused: the server's kernel answered our SYN with a RST, as no socket
            // listens on that port (yet). Any other error is not cured by waiting.
            Err(err) if err.kind() == io::ErrorKind::ConnectionRefused && retries < RETRIES => {
                retries += 1;
                client!("connection refused, retrying ({retries} of {RETRIES})");
                thread::sleep(PAUSE);
            }
            Err(err) => return Err(err),
        }
    };
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
