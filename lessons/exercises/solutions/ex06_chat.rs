//! # Solution to ex06_chat: a chat room
//!
//! Each session puts a second handle on its socket in the shared map before the
//! welcome, and takes it out when the session ends, whatever ended it. `relay` writes
//! to every other handle; a write that fails removes that client and goes on.
//! Run it: `cargo run -p exercises --bin ex06_chat_solution`.

use std::collections::HashMap;
use std::io::{self, BufReader};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tcp_lessons::framing::{read_line, write_line};
use tcp_lessons::serve::serve;
use tcp_lessons::server;

/// Every client in the room: a handle on its socket, under its address.
type Clients = Arc<Mutex<HashMap<SocketAddr, TcpStream>>>;

fn main() {
    let clients = Clients::default();
    serve(
        "usage: ex06_chat_solution [ADDRESS]",
        move |stream, peer| chat(stream, peer, &clients),
    );
}

// ANCHOR: task
/// One client's session: welcome it, then relay each of its lines to the others.
fn chat(stream: TcpStream, peer: SocketAddr, clients: &Clients) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    // The relay writes while holding the lock: a client that stops reading would block
    // the whole room once its buffers are full. The timeout bounds that wait, then the
    // write fails and the client is removed. (It is the socket's: every handle has it.)
    writer.set_write_timeout(Some(Duration::from_secs(1)))?;
    // In the room before the welcome: a client that has read its welcome hears every
    // line said after it.
    lock(clients).insert(peer, stream.try_clone()?);
    let ended = write_line(&mut writer, b"Welcome to the chat!")
        .and_then(|()| listen(stream, peer, clients));
    // Whatever ended the session (the client closed, a reset, a read error), it leaves.
    lock(clients).remove(&peer);
    ended
}

/// Relays each line the client sends, until it closes.
fn listen(stream: TcpStream, peer: SocketAddr, clients: &Clients) -> io::Result<()> {
    let mut reader = BufReader::new(stream);
    while let Some(line) = read_line(&mut reader, 1024).map_err(io::Error::other)? {
        relay(peer, &String::from_utf8_lossy(&line), clients);
    }
    Ok(())
}

/// Sends `[FROM] text` to every client but `from`.
fn relay(from: SocketAddr, text: &str, clients: &Clients) {
    let line = format!("[{from}] {text}");
    // `retain` keeps the clients we could write to and drops the others, in one pass.
    lock(clients).retain(|addr, stream| {
        if *addr == from {
            return true;
        }
        match write_line(stream, line.as_bytes()) {
            Ok(()) => true,
            Err(err) => {
                server!("{addr} removed: {err}");
                // Dropping our handle does not close the socket (its session holds
                // another); shutdown does: that session's read returns and it ends.
                let _ = stream.shutdown(Shutdown::Both);
                false
            }
        }
    });
}

/// The map, locked. (A thread that panicked with the lock held leaves it "poisoned";
/// each change is one insert or remove, so the map is still sound.)
fn lock(clients: &Clients) -> MutexGuard<'_, HashMap<SocketAddr, TcpStream>> {
    clients.lock().unwrap_or_else(PoisonError::into_inner)
}
// ANCHOR_END: task
