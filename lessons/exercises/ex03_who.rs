//! # Exercise ex03_who: who is connected?
//!
//! The server below is lesson 03's, one message per line (as lesson 05 teaches) and
//! with no pause. It answers `Hello, NAME!` to every line until `exit`. Each session
//! runs in a thread of its own and knows only its own client.
//!
//! **Your task:** answer the command `who` with the addresses of every client connected
//! right now, sorted, on one line: `who 127.0.0.1:50412 127.0.0.1:50414`. That takes a
//! set of addresses shared by all the sessions: a session adds its client's address when
//! it starts and takes it off when it ends, however it ends (`exit`, the client closing,
//! an error). Every other line is still greeted with `Hello, NAME!`.
//!
//! Difficulty: ★★★. Rust: state shared by threads, a `Mutex` moved into a `move`
//! closure, from the second half of the Rust Book (chapter 16.3, "Shared-State
//! Concurrency", and 13.1 on closures); a `BTreeSet`.
//!
//! Try it: `cargo run -p exercises --bin ex03_who`, and `nc 127.0.0.1 1234` in two more
//! terminals.
//! Check it: `cargo exercise ex03_who`.

use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpStream};
use tcp_lessons::framing::{read_line, write_line};
use tcp_lessons::serve::serve;

// ANCHOR: task
fn main() {
    // TODO: make a set of addresses that every session shares (a `Mutex` around a
    // `BTreeSet<SocketAddr>`, say), and move it into the closure below: `serve` calls
    // this one closure from every session's thread.
    serve("usage: ex03_who [ADDRESS]", |stream, peer| {
        // TODO: add `peer` to the set here, and take it off once the session has ended.
        session(stream, peer)
    });
}

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
        // TODO: when the line is `who`, reply `who` and the addresses in the set,
        // sorted, each after a space. (Pass the set to `session` to see it here.)
        write_line(&mut writer, format!("Hello, {name}!").as_bytes())?;
    }
    Ok(())
}
// ANCHOR_END: task
