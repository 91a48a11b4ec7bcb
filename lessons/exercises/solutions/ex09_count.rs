//! # Solution to ex09_count: how many clients are here?
//!
//! The loop owns every session, in one map: their number is the map's length. It is
//! read before `get_mut` lends one session out of the map, and handed to `serve`.
//! Run it: `cargo run -p exercises --features scale --bin ex09_count_solution`.

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use tcp_lessons::args::Args;
use tcp_lessons::say::{explain, fail};
use tcp_lessons::server;

const USAGE: &str = "usage: ex09_count_solution [ADDRESS]";
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
    // Read now, while nothing is borrowed from the map: this session is in it too.
    let open = sessions.len();
    let Some(session) = sessions.get_mut(&token) else {
        return; // closed already: a late event
    };
    if serve(session, open).is_err() {
        sessions.remove(&token); // dropping the session closes its socket
    }
}

/// Sends what is pending, then reads and answers every message that has come (`count`
/// with `open`, the sessions open); an error (the client closed or reset, or sent
/// `exit`) ends the session.
fn serve(session: &mut Session, open: usize) -> io::Result<()> {
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
        session.pending = if text == "count" {
            format!("sessions open: {open}{ending}").into_bytes()
        } else {
            format!("Hello, {text}!{ending}").into_bytes()
        };
    }
}
// ANCHOR_END: task
