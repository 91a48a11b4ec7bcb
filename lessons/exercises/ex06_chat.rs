//! # Exercise ex06_chat: a chat room
//!
//! The server below welcomes every client with `Welcome to the chat!`, each in a thread
//! of its own, and reads its lines; but it only logs them: nobody else hears a word.
//!
//! **Your task:** relay every line a client sends to every *other* client, as
//! `[127.0.0.1:PORT] text` (the sender's address, then the text), and not back to the
//! sender. The sessions share one map, `clients`: a second handle (`try_clone`) on
//! each client's socket, under its address. A client that leaves, however it leaves,
//! is taken out of it. A write that fails (that client is gone) must not stop the
//! relay to the others: take that client out instead.
//!
//! Difficulty: ★★★. Rust: `Arc<Mutex<HashMap>>` shared by threads (the Rust Book,
//! chapter 16.3), `HashMap::retain`, and a function that returns early with `?`.
//!
//! Try it: `cargo run -p exercises --bin ex06_chat`, then `nc 127.0.0.1 1234` in two or
//! three more terminals, and type.
//! Check it: `cargo exercise ex06_chat`.

use std::collections::HashMap;
use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tcp_lessons::framing::{read_line, write_line};
use tcp_lessons::serve::serve;
use tcp_lessons::server;

/// Every client in the room: a handle on its socket, under its address.
type Clients = Arc<Mutex<HashMap<SocketAddr, TcpStream>>>;

fn main() {
    let clients = Clients::default();
    serve("usage: ex06_chat [ADDRESS]", move |stream, peer| {
        chat(stream, peer, &clients)
    });
}

// ANCHOR: task
/// One client's session: welcome it, then relay each of its lines to the others.
fn chat(stream: TcpStream, peer: SocketAddr, clients: &Clients) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    // TODO: first put this client in `clients`: `stream.try_clone()?`, under `peer`...
    write_line(&mut writer, b"Welcome to the chat!")?;
    let mut reader = BufReader::new(stream);
    while let Some(line) = read_line(&mut reader, 1024).map_err(io::Error::other)? {
        relay(peer, &String::from_utf8_lossy(&line), clients);
    }
    // TODO: ...and take it out when it leaves, however it leaves (`?` returns early).
    Ok(())
}

/// Sends `[FROM] text` to every client but `from`.
fn relay(from: SocketAddr, text: &str, clients: &Clients) {
    let clients = lock(clients);
    // TODO: write the line to every client in `clients` but `from`. A write that fails
    // must not stop the others: take that client out of the map instead.
    server!(
        "{from} says {text:?}: relayed to none of the {} in the room",
        clients.len()
    );
}

/// The map, locked. (A thread that panicked with the lock held leaves it "poisoned";
/// each change is one insert or remove, so the map is still sound.)
fn lock(clients: &Clients) -> MutexGuard<'_, HashMap<SocketAddr, TcpStream>> {
    clients.lock().unwrap_or_else(PoisonError::into_inner)
}
// ANCHOR_END: task
