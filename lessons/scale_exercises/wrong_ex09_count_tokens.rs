//! # Exercise ex09_count, a wrong solution the checker must reject: it counts the
//! tokens handed out, and a session that ended is still counted.
//!
//! The server below is lesson 09's event loop, without the pause: one thread, a `mio`
//! poll, a state machine per session, the article's `Welcome!` and `Hello, NAME!`.
//!
//! **Your task:** answer the message `count` with `sessions open: N`, where N is the
//! number of sessions open at that moment, this one included, with the message's line
//! ending kept (`count\n` gets `sessions open: 2\n`). Every other message is greeted
//! as before.
//!
//! In lesson 03 every session is a thread, and a number they all share would need an
//! `Arc<Mutex<..>>` or an atomic. Here every session lives in one map that one thread
//! owns: the number is already there.
//!
//! Try it: `cargo run --features scale --example ex09_count`, and
//! `nc 127.0.0.1 1234` in two more terminals.
//! Check it: `cargo run --example check -- ex09_count`.

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use tcp_lessons::args::Args;
use tcp_lessons::say::{explain, fail};
use tcp_lessons::server;

const USAGE: &str = "usage: ex09_count [ADDRESS]\n";
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

fn event_loop(listener: &mut TcpListener) -> io::Result<()> {
    let mut poll = Poll::new()?;
    poll.registry()
        .register(listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    let mut sessions: HashMap<Token, Session> = HashMap::new();
    let mut next = 1;
    loop {
        if let Err(err) = poll.poll(&mut events, None) {
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        for event in &events {
            let token = event.token();
            if token == LISTENER {
                while let Ok((mut stream, _)) = listener.accept() {
                    let token = Token(next);
                    next += 1;
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    poll.registry().register(&mut stream, token, interest)?;
                    let pending = b"Welcome!".to_vec();
                    sessions.insert(token, Session { stream, pending });
                }
                continue;
            }
            // ANCHOR: solution
            // The loop owns every session: their number is the map's length. Read it
            // before `get_mut` borrows one of them.
            let open = next - 1;
            let Some(session) = sessions.get_mut(&token) else {
                continue;
            };
            if serve(session, open).is_err() {
                sessions.remove(&token); // dropping the session closes its socket
            }
            // ANCHOR_END: solution
        }
    }
}

/// Sends what is pending, then reads and answers every message that has come; an
/// error (the client closed or reset, or sent `exit`) ends the session.
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
