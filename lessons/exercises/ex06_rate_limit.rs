//! # Exercise ex06_rate_limit: at most 5 lines a second
//!
//! The server below speaks lesson 06's dialogue, one message per line (`Welcome!`, then
//! `Hello, NAME!` for each line, until `exit`), each client in a thread of its own.
//! Lesson 06 bounds how long a client may take, how long its lines may be and how many
//! of its mistakes reach the log; it does not bound how *often* a client may speak. A
//! client that writes a hundred thousand lines a second gets a hundred thousand
//! replies, and keeps a thread and a processor busy for as long as it likes.
//!
//! **Your task:** allow each client at most 5 lines a second. A line beyond that gets
//! `too fast: at most 5 lines a second, bye`, at once, and the connection closes.
//! Count per client (one fast client must cost the others nothing) and per second (a
//! client that sends 5 lines, waits a second and sends 5 more keeps to the rule).
//!
//! Difficulty: ★★☆. Rust: `std::time::Instant` and `Duration`, and `let mut`.
//!
//! Try it: `cargo run -p exercises --bin ex06_rate_limit`, then in a second terminal
//! send eight lines at once:
//!
//! ```text
//! printf 'a\nb\nc\nd\ne\nf\ng\nh\n' | nc 127.0.0.1 1234
//! ```
//!
//! Check it: `cargo exercise ex06_rate_limit`.

use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpStream};
use tcp_lessons::framing::{read_line, write_line};
use tcp_lessons::serve::serve;

// Yours to use: the starter does not use them yet (hence the `allow`).
/// The most lines a client may send in one second.
#[allow(dead_code)]
const PER_SECOND: usize = 5;
/// What a client that sends faster is told before the connection closes.
#[allow(dead_code)]
const TOO_FAST: &str = "too fast: at most 5 lines a second, bye";

fn main() {
    serve("usage: ex06_rate_limit [ADDRESS]", session);
}

// ANCHOR: task
/// One client: `Welcome!`, then a greeting per line, until `exit`.
fn session(stream: TcpStream, _peer: SocketAddr) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    write_line(&mut writer, b"Welcome!")?;
    // TODO: note when this client's current second began, and how many lines it has
    // sent in it...
    while let Some(line) = read_line(&mut reader, 1024).map_err(io::Error::other)? {
        // TODO: ...and count this line. A line beyond PER_SECOND in the same second
        // gets TOO_FAST, and the session ends.
        let name = String::from_utf8_lossy(&line);
        if name == "exit" {
            break;
        }
        write_line(&mut writer, format!("Hello, {name}!").as_bytes())?;
    }
    Ok(())
}
// ANCHOR_END: task
