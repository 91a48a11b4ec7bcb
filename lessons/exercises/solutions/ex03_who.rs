//! # Solution to ex03_who: who is connected?
//!
//! One `Mutex<BTreeSet<SocketAddr>>` shared by every session: the mutex lets one thread
//! at a time change or read it, and a `BTreeSet` keeps the addresses sorted.
//! Run it: `cargo run -p exercises --bin ex03_who_solution`.

use std::collections::BTreeSet;
use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Mutex, MutexGuard, PoisonError};
use tcp_lessons::framing::{read_line, write_line};
use tcp_lessons::serve::serve;

/// The clients connected right now.
type Peers = Mutex<BTreeSet<SocketAddr>>;

// ANCHOR: task
fn main() {
    // `serve` keeps this closure in an `Arc` and calls it from every session's thread,
    // so the set it owns is the one set that all sessions see.
    let peers = Peers::default();
    serve("usage: ex03_who_solution [ADDRESS]", move |stream, peer| {
        lock(&peers).insert(peer);
        let ended = session(stream, &peers);
        // However the session ended (`exit`, the client closing, an error), it is over:
        // this client is no longer connected.
        lock(&peers).remove(&peer);
        ended
    });
}

/// One client: `Welcome!`, then the list of clients or a greeting per line, until `exit`.
fn session(stream: TcpStream, peers: &Peers) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    write_line(&mut writer, b"Welcome!")?;
    while let Some(line) = read_line(&mut reader, 1024).map_err(io::Error::other)? {
        let name = String::from_utf8_lossy(&line);
        let reply = match name.as_ref() {
            "exit" => break,
            "who" => lock(peers)
                .iter()
                .fold("who".to_string(), |list, peer| format!("{list} {peer}")),
            _ => format!("Hello, {name}!"),
        };
        // The lock was released at the end of the line above: never hold it while
        // writing, or one slow client would stop every other session at `who`.
        write_line(&mut writer, reply.as_bytes())?;
    }
    Ok(())
}

/// The set, locked. A session that panicked while holding the lock leaves the set as it
/// was (an insert or remove either happened or not), so going on with it is safe.
fn lock(peers: &Peers) -> MutexGuard<'_, BTreeSet<SocketAddr>> {
    peers.lock().unwrap_or_else(PoisonError::into_inner)
}
// ANCHOR_END: task
