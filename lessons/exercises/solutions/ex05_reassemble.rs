//! # Solution to ex05_reassemble: read whole lines, however they arrive
//!
//! One `BufReader` for the whole connection: `read_line` reads until a `\n`, however
//! many reads that takes, and keeps the bytes after it for the next reply.
//! Run it: `cargo run -p exercises --bin ex05_reassemble_solution`.

use std::io::{self, BufRead, BufReader};
use std::net::TcpStream;
use std::time::Duration;
use tcp_lessons::args::Args;
use tcp_lessons::client;
use tcp_lessons::framing::{read_line, write_line};
use tcp_lessons::say::{explain, fail};

fn main() {
    let mut args = Args::from_env("usage: ex05_reassemble_solution [ADDRESS] [NAME ...]");
    let addr = args.address("127.0.0.1:1234");
    let mut names = args.rest();
    args.finish();
    if names.is_empty() {
        names = ["Michael", "Tracy", "Sarah"].map(String::from).to_vec();
    }
    let stream = TcpStream::connect(addr).unwrap_or_else(|err| fail(explain(&err, addr)));
    // A server that never answers must not hang us forever.
    let talked = stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .and_then(|()| talk(&stream, &names));
    if let Err(err) = talked {
        fail(format!(
            "the conversation broke off: {}",
            explain(&err, addr)
        ));
    }
}

// ANCHOR: task
/// The dialogue, one line each way: welcome, one reply per name, then `exit`.
fn talk(mut stream: &TcpStream, names: &[String]) -> io::Result<()> {
    // One reader for the whole connection: bytes it read past a `\n` (the start of the
    // next reply, or all of it) wait in its buffer. A new reader per reply would drop them.
    let mut reader = BufReader::new(stream);
    client!("{}", receive(&mut reader)?);
    for name in names {
        write_line(&mut stream, name.as_bytes())?;
        client!("{}", receive(&mut reader)?);
    }
    write_line(&mut stream, b"exit")
}

/// One reply: the bytes up to the next `\n`, however many reads they take.
fn receive(reader: &mut impl BufRead) -> io::Result<String> {
    match read_line(reader, 1024).map_err(io::Error::other)? {
        Some(line) => Ok(String::from_utf8_lossy(&line).into_owned()),
        None => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        )),
    }
}
// ANCHOR_END: task
