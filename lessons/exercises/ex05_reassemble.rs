//! # Exercise ex05_reassemble: read whole lines, however they arrive
//!
//! The client below speaks lines to a line server (such as lesson 06's): it prints the
//! welcome, sends each name as a line and prints the reply, then sends `exit`. Like
//! the article, it takes one `read` of up to 1024 bytes for one whole reply. Lesson 05
//! showed that TCP promises no such thing: a reply may come in several pieces, and two
//! replies in one.
//!
//! **Your task:** print every reply whole, however its bytes arrive: read up to each
//! `\n` and no further, and keep what a read brought beyond it for the next reply.
//!
//! Difficulty: ★★☆. Rust: a `BufReader` made once, and a `&mut` reference to it passed
//! to a function.
//!
//! Try it against a server that sends a welcome in two pieces and a reply in three:
//!
//! ```text
//! (printf 'Wel'; sleep 1; printf 'come!\n'; sleep 1; printf 'Hel'; sleep 1;
//!  printf 'lo, Mich'; sleep 1; printf 'ael!\n'; sleep 1) | nc -l 127.0.0.1 1234
//! ```
//!
//! then, in a second terminal:
//! `cargo run -p exercises --bin ex05_reassemble -- 127.0.0.1:1234 Michael`.
//! Check it: `cargo exercise ex05_reassemble`.

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::Duration;
use tcp_lessons::args::Args;
use tcp_lessons::client;
use tcp_lessons::framing::write_line;
use tcp_lessons::say::{explain, fail};

fn main() {
    let mut args = Args::from_env("usage: ex05_reassemble [ADDRESS] [NAME ...]");
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
    // TODO: make one reader for the whole connection here, and read lines from it...
    client!("{}", receive(stream)?);
    for name in names {
        write_line(&mut stream, name.as_bytes())?;
        client!("{}", receive(stream)?);
    }
    write_line(&mut stream, b"exit")
}

/// One reply: the article's `recv(1024)`, taken for one whole message.
// TODO: ...instead of this single read, which returns whatever has arrived so far.
fn receive(mut stream: &TcpStream) -> io::Result<String> {
    let mut buffer = [0; 1024];
    match stream.read(&mut buffer)? {
        0 => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        )),
        n => Ok(String::from_utf8_lossy(&buffer[..n]).trim_end().to_string()),
    }
}
// ANCHOR_END: task
