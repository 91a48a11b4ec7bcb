//! # Solution to ex05_length_prefixed: frames instead of lines
//!
//! The same session with `read_frame`/`write_frame`: the length comes first, so a
//! message may hold any bytes (a `\n` too), and one that is too long is refused before
//! a byte of it is read.
//! Run it: `cargo run -p exercises --bin ex05_length_prefixed_solution`.

use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpStream};
use tcp_lessons::framing::{read_frame, write_frame};
use tcp_lessons::serve::serve;

fn main() {
    serve("usage: ex05_length_prefixed_solution [ADDRESS]", session);
}

// ANCHOR: task
/// One client: `Welcome!`, then a greeting per frame, until `exit`.
fn session(stream: TcpStream, _peer: SocketAddr) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    // Buffered: a 4-byte prefix and its message usually come in one read, not two.
    let mut reader = BufReader::new(stream);
    // Each frame is one write: its 4-byte length (big-endian), then the bytes.
    write_frame(&mut writer, b"Welcome!")?;
    // A length over 1024 is an error (TooLong): the `?` ends the session, and dropping
    // the socket closes the connection. Nothing tells where the next frame would begin.
    while let Some(message) = read_frame(&mut reader, 1024).map_err(io::Error::other)? {
        let name = String::from_utf8_lossy(&message);
        if name == "exit" {
            break;
        }
        write_frame(&mut writer, format!("Hello, {name}!").as_bytes())?;
    }
    Ok(())
}
// ANCHOR_END: task
