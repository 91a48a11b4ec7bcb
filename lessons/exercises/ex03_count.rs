//! # Exercise ex03_count: count the messages of each session
//!
//! The server below is lesson 03's, one message per line (as lesson 05 teaches) and
//! with no pause. It answers `Hello, NAME!` to every line until `exit`.
//!
//! **Your task:** number the messages of each session, so that the reply to a
//! session's first message is `Hello, Michael! (message 1)`, to its second
//! `Hello, Tracy! (message 2)`, and so on. Every new client counts from 1 again.
//!
//! Difficulty: ★☆☆, a warm-up. Rust: a `let mut` variable and `format!`.
//!
//! Try it: `cargo run -p exercises --bin ex03_count`, and `nc 127.0.0.1 1234` in a
//! second terminal.
//! Check it: `cargo exercise ex03_count`.

use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpStream};
use tcp_lessons::framing::{read_line, write_line};
use tcp_lessons::serve::serve;

fn main() {
    serve("usage: ex03_count [ADDRESS]", session);
}

// ANCHOR: task
/// One client: `Welcome!`, then a greeting per line, until `exit`.
fn session(stream: TcpStream, _peer: SocketAddr) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    write_line(&mut writer, b"Welcome!")?;
    // TODO: keep a count of this session's messages here...
    while let Some(line) = read_line(&mut reader, 1024).map_err(io::Error::other)? {
        let name = String::from_utf8_lossy(&line);
        if name == "exit" {
            break;
        }
        // TODO: ...and add " (message N)" to the reply.
        write_line(&mut writer, format!("Hello, {name}!").as_bytes())?;
    }
    Ok(())
}
// ANCHOR_END: task
