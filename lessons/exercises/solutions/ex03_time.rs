//! # Solution to ex03_time: tell the time
//!
//! `time` is one more case in the session loop; the loop goes on after it, so the
//! session does not end. Run it: `cargo run -p exercises --bin ex03_time_solution`.

use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::time::{SystemTime, UNIX_EPOCH};
use tcp_lessons::framing::{read_line, write_line};
use tcp_lessons::serve::serve;

fn main() {
    serve("usage: ex03_time_solution [ADDRESS]", session);
}

// ANCHOR: task
/// One client: `Welcome!`, then the time or a greeting per line, until `exit`.
fn session(stream: TcpStream, _peer: SocketAddr) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    write_line(&mut writer, b"Welcome!")?;
    while let Some(line) = read_line(&mut reader, 1024).map_err(io::Error::other)? {
        let name = String::from_utf8_lossy(&line);
        let reply = match name.as_ref() {
            "exit" => break,
            "time" => format!("time {}", seconds_since_epoch()),
            _ => format!("Hello, {name}!"),
        };
        write_line(&mut writer, reply.as_bytes())?;
    }
    Ok(())
}

/// The server machine's clock: the client's may differ, and the number is already
/// half a round trip old when it arrives.
fn seconds_since_epoch() -> u64 {
    // Before 1970 only if the clock is badly wrong; say 0 rather than crash the session.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}
// ANCHOR_END: task
