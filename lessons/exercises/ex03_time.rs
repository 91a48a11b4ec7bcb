//! # Exercise ex03_time: tell the time
//!
//! The server below is lesson 03's, one message per line (as lesson 05 teaches) and
//! with no pause. It answers `Hello, NAME!` to every line until `exit`.
//!
//! **Your task:** answer the command `time` with the server's clock, in whole seconds since
//! the Unix epoch (1970-01-01 00:00:00 UTC): the reply to `time` is a line such as
//! `time 1795000000`. Every other line is still greeted with `Hello, NAME!`, and the
//! session goes on after `time`.
//!
//! Difficulty: ★☆☆. Rust: `match` on a `&str`, `std::time::SystemTime`, a `Result`.
//!
//! Try it: `cargo run -p exercises --bin ex03_time`, and `nc 127.0.0.1 1234` in a
//! second terminal.
//! Check it: `cargo exercise ex03_time`.

use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpStream};
use tcp_lessons::framing::{read_line, write_line};
use tcp_lessons::serve::serve;

fn main() {
    serve("usage: ex03_time [ADDRESS]", session);
}

// ANCHOR: task
/// One client: `Welcome!`, then a greeting per line, until `exit`.
fn session(stream: TcpStream, _peer: SocketAddr) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    write_line(&mut writer, b"Welcome!")?;
    while let Some(line) = read_line(&mut reader, 1024).map_err(io::Error::other)? {
        let name = String::from_utf8_lossy(&line);
        if name == "exit" {
            break;
        }
        // TODO: when the line is `time`, reply `time N` instead, N being the seconds
        // since the Unix epoch: `SystemTime::now().duration_since(UNIX_EPOCH)` (std::time).
        write_line(&mut writer, format!("Hello, {name}!").as_bytes())?;
    }
    Ok(())
}
// ANCHOR_END: task
