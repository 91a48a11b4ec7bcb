//! # Exercise ex05_length_prefixed: frames instead of lines
//!
//! The server below speaks lines, as lesson 05 taught: `Welcome!`, then `Hello, NAME!`
//! for every line, until `exit`. A line cannot carry a `\n`, and the reader learns a
//! message's size only once it has read all of it.
//!
//! **Your task:** make it speak length-prefixed frames instead, both ways: every message
//! is a 4-byte length in network byte order (big-endian), then that many bytes. It
//! sends the frame `Welcome!`, answers each frame `NAME` with the frame `Hello, NAME!`,
//! and ends the session on the frame `exit`. A frame announcing more than 1024 bytes
//! closes the connection, unanswered. `framing::read_frame` and `framing::write_frame`
//! (lesson 05) do the framing.
//!
//! Difficulty: ★☆☆. Rust: calling functions that return a `Result`, and `?`.
//!
//! Try it: `cargo run -p exercises --bin ex05_length_prefixed`, and in a second terminal
//! send two frames by hand (`\0\0\0\7` is the length 7) and look at the bytes that
//! come back: `printf '\0\0\0\7Michael\0\0\0\4exit' | nc 127.0.0.1 1234 | hexdump -C`
//! Check it: `cargo exercise ex05_length_prefixed`.

use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpStream};
use tcp_lessons::framing::{read_line, write_line};
use tcp_lessons::serve::serve;

fn main() {
    serve("usage: ex05_length_prefixed [ADDRESS]", session);
}

// ANCHOR: task
/// One client: `Welcome!`, then a greeting per message, until `exit`.
fn session(stream: TcpStream, _peer: SocketAddr) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    // TODO: send every message as a frame (`write_frame`) instead of a line...
    write_line(&mut writer, b"Welcome!")?;
    // TODO: ...and read frames (`read_frame`, at most 1024 bytes) instead of lines.
    while let Some(message) = read_line(&mut reader, 1024).map_err(io::Error::other)? {
        let name = String::from_utf8_lossy(&message);
        if name == "exit" {
            break;
        }
        write_line(&mut writer, format!("Hello, {name}!").as_bytes())?;
    }
    Ok(())
}
// ANCHOR_END: task
