//! # Solution to ex06_rate_limit: at most 5 lines a second
//!
//! Each session keeps its own clock and count: when the line that comes is a second or
//! more after the current second began, a new second begins and the count starts
//! again; the sixth line of a second is refused, and the session ends.
//! Run it: `cargo run -p exercises --bin ex06_rate_limit_solution`.

use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use tcp_lessons::framing::{read_line, write_line};
use tcp_lessons::serve::serve;

/// The most lines a client may send in one second.
const PER_SECOND: usize = 5;
/// What a client that sends faster is told before the connection closes.
const TOO_FAST: &str = "too fast: at most 5 lines a second, bye";

fn main() {
    serve("usage: ex06_rate_limit_solution [ADDRESS]", session);
}

// ANCHOR: task
/// One client: `Welcome!`, then a greeting per line, until `exit`; at most
/// PER_SECOND lines a second.
fn session(stream: TcpStream, _peer: SocketAddr) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    write_line(&mut writer, b"Welcome!")?;
    // Local variables of this session's thread: every client has its own clock and count.
    let mut second_began = Instant::now();
    let mut lines_in_it = 0;
    while let Some(line) = read_line(&mut reader, 1024).map_err(io::Error::other)? {
        if second_began.elapsed() >= Duration::from_secs(1) {
            // A new second: the count starts again.
            second_began = Instant::now();
            lines_in_it = 0;
        }
        lines_in_it += 1;
        if lines_in_it > PER_SECOND {
            // Refused at once, not delayed: a server that only slowed the client down
            // would still spend a thread on it, waiting.
            return write_line(&mut writer, TOO_FAST.as_bytes());
        }
        let name = String::from_utf8_lossy(&line);
        if name == "exit" {
            break;
        }
        write_line(&mut writer, format!("Hello, {name}!").as_bytes())?;
    }
    Ok(())
}
// ANCHOR_END: task
