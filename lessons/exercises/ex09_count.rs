//! # Exercise ex09_count: how many clients are here?
//!
//! The server below is lesson 09's event loop, without the pause: one thread, a `mio`
//! poll, a small state per session, the article's `Welcome!` and `Hello, NAME!` until
//! `exit`. Every session lives in one map, `sessions`, that the loop owns.
//!
//! **Your task:** answer the message `count` with `sessions open: N`, where N is the
//! number of sessions open at that moment, the one asking included, and end the reply
//! the way the message ended (`count\n` gets `sessions open: 2\n`). Every other message
//! is greeted as before.
//!
//! In lesson 03 every session is a thread, and a number they all read would need an
//! `Arc<Mutex<..>>` or an atomic. Here one thread owns every session: the number is
//! already there. The borrow checker only asks you to read it at the right moment.
//!
//! Difficulty: ★☆☆. Rust: `HashMap::len`, a parameter, and the borrowing rules (the
//! Rust Book, chapter 4.2, "References and Borrowing").
//!
//! Try it: `cargo run -p exercises --features scale --bin ex09_count`, and
//! `nc 127.0.0.1 1234` in two more terminals. (`--features scale` brings in `mio`, as
//! for lesson 09.)
//! Check it: `cargo exercise ex09_count`.

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use tcp_lessons::args::Args;
use tcp_lessons::say::{explain, fail};
use tcp_lessons::server;

const USAGE: &str = "usage: ex09_count [ADDRESS]";
/// The token of the listening socket; sessions count up from 1.
const LISTENER: Token = Token(0);

/// One session: its socket, and the bytes it still has to send.
struct Session {
    stream: TcpStream,
    pending: Vec<u8>,
}

fn main() {
    let mut args = Args::from_env(USAGE);
    let addr = args.address("127.0.0.1:1234");
    args.finish();
    let mut listener = TcpListener::bind(addr).unwrap_or_else(|err| fail(explain(&err, addr)));
    server!("listening on {}", listener.local_addr().unwrap_or(addr));
    if let Err(err) = event_loop(&mut listener) {
        fail(format!("the event loop stopped: {err}"));
    }
}

/// Waits for sockets that are ready, and serves them: lesson 09's loop.
fn event_loop(listener: &mut TcpListener) -> io::Result<()> {
    let mut poll = Poll::new()?;
    poll.registry()
        .register(listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    let mut sessions: HashMap<Token, Session> = HashMap::new();
    let mut next = LISTENER.0 + 1;
    loop {
        if let Err(err) = poll.poll(&mut events, None) {
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        for event in &events {
            if event.token() != LISTENER {
                ready(&mut sessions, event.token());
                continue;
            }
            // Every connection waiting in the queue, until `accept` says `WouldBlock`.
            while let Ok((mut stream, _)) = listener.accept() {
                let token = Token(next);
                next += 1;
                let interest = Interest::READABLE | Interest::WRITABLE;
                poll.registry().register(&mut stream, token, interest)?;
                let pending = b"Welcome!".to_vec();
                sessions.insert(token, Session { stream, pending });
            }
        }
    }
}

// ANCHOR: task
/// The socket of `token` is ready: serve its session, and close it if it is over.
fn ready(sessions: &mut HashMap<Token, Session>, token: Token) {
    // TODO: how many sessions are open? The map knows; but once `get_mut` has lent
    // one session out of it, the map can be read again only when that loan is over...
    let Some(session) = sessions.get_mut(&token) else {
        return; // closed already: a late event
    };
    if serve(session).is_err() {
        sessions.remove(&token); // dropping the session closes its socket
    }
}

/// Sends what is pending, then reads and answers every message that has come; an
/// error (the client closed or reset, or sent `exit`) ends the session.
fn serve(session: &mut Session) -> io::Result<()> {
    loop {
        while !session.pending.is_empty() {
            match session.stream.write(&session.pending) {
                Ok(n) => drop(session.pending.drain(..n)),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(err) => return Err(err),
            }
        }
        let mut buffer = [0; 1024];
        let n = match session.stream.read(&mut buffer) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(err) => return Err(err),
        };
        let message = String::from_utf8_lossy(&buffer[..n]);
        let text = message.trim_end_matches(['\r', '\n']);
        let ending = &message[text.len()..];
        if text == "exit" {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        // TODO: ...and answer `count` here.
        session.pending = format!("Hello, {text}!{ending}").into_bytes();
    }
}
// ANCHOR_END: task
