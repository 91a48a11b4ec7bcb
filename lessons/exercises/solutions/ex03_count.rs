//! # Solution to ex03_count: count the messages of each session
//!
//! A counter local to `session`: each thread has its own, so each client counts from 1.
//! Run it: `cargo run -p exercises --bin ex03_count_solution`.

use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpStream};
use tcp_lessons::framing::{read_line, write_line};
use tcp_lessons::serve::serve;

fn main() {
    serve("usage: ex03_count_solution [ADDRESS]", session);
}

// ANCHOR: task
/// One client: `Welcome!`, then a numbered greeting per line, until `exit`.
fn session(stream: TcpStream, _peer: SocketAddr) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    write_line(&mut writer, b"Welcome!")?;
    // A local variable of this session's thread: no other session sees it.
    let mut count = 0;
    while let Some(line) = read_line(&mut reader, 1024).map_err(io::Error::other)? {
        let name = String::from_utf8_lossy(&line);
        if name == "exit" {
            break;
        }
        count += 1;
        write_line(
            &mut writer,
            format!("Hello, {name}! (message {count})").as_bytes(),
        )?;
    }
    Ok(())
}
// ANCHOR_END: task
