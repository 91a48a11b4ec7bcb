//! # Lesson 09: one thread for every client — an event loop with `mio`
//!
//! Lesson 03 gives every client a thread, and every thread waits in `read()` or in
//! `sleep()` for its own client. This server has one thread for all of them (and a
//! second that only writes its log, as lesson 03's does). Its
//! sockets are *non-blocking*: a read with nothing to read returns at once with the
//! error `WouldBlock` instead of waiting. The thread asks the kernel one question,
//! over and over: "which of my sockets can make progress now?" (`epoll_wait` on Linux,
//! `kqueue` on macOS, behind the `mio` crate that tokio stands on), does that work, and
//! asks again. That loop is the *event loop*.
//!
//! Each client's session is a small state machine, a value instead of a thread:
//! writing a reply (the welcome first), reading a message, or paused until an instant.
//! The article's one-second pause is a deadline in a queue, not a sleeping thread.
//!
//! It speaks the article's protocol exactly as lesson 03 does, so the article's
//! client, 04 and 07 work against it unchanged:
//!
//! ```text
//! cargo run --features scale --example 09_event_loop
//! cargo run --example 04_client          # in a second terminal
//! ```
//!
//! (`--features scale` brings in the `mio` and `tokio` crates, which the lessons before
//! this one do not need.)

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token};
use socket2::{Domain, Protocol, Socket, Type};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tcp_lessons::args::Args;
use tcp_lessons::article::split_line_ending;
use tcp_lessons::say::{self, OnBrokenStdout, excerpt, explain, fail};
use tcp_lessons::server;

/// The article's address.
const ADDRESS: &str = "127.0.0.1:1234";
/// Room in the accept queue for a burst of connections. The event loop accepts them
/// between two turns, so a burst of thousands waits here first. Linux caps it at
/// `net.core.somaxconn` (4096 by default since Linux 5.4).
const BACKLOG: i32 = 4096;
/// The article's pause after each read: `time.sleep(1)`.
const PAUSE_MS: u64 = 1000;
/// The most bytes one read takes, as the article's `recv(1024)`.
const READ_SIZE: usize = 1024;
/// How long the loop stops accepting after `accept` failed (out of file descriptors):
/// the connection waits in the queue, and trying again at once would fail again.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// The token of the listening socket; sessions count up from 1.
const LISTENER: Token = Token(0);

fn usage() -> String {
    indoc::formatdoc! {"
        usage: 09_event_loop [ADDRESS] [OPTIONS]

        The article's session server on one thread: non-blocking sockets, a `mio` event
        loop, a small state machine per client, the pause as a deadline in a queue.

        arguments:
          ADDRESS         where to listen (default {ADDRESS}; 127.0.0.1:0 picks a free port)

        options:
          --backlog N     length of the queue of connections waiting for accept (default {BACKLOG})
          --pause-ms MS   pause after each read, as the article's time.sleep(1) (default {PAUSE_MS})
          --quiet         do not log every read
          -h, --help      show this text

        examples:
          cargo run --features scale --example 09_event_loop
          cargo run --features scale --example 09_event_loop -- 127.0.0.1:0 --pause-ms 0
    "}
}

// ANCHOR: main
/// How each session behaves, from the command line.
#[derive(Clone, Copy)]
struct Options {
    pause: Duration,
    log_reads: bool,
}

fn main() {
    let mut args = Args::from_env(&usage());
    let backlog: i32 = args.value("--backlog", BACKLOG);
    let options = Options {
        pause: Duration::from_millis(args.value("--pause-ms", PAUSE_MS)),
        log_reads: !args.flag("--quiet"),
    };
    let addr = args.address(ADDRESS);
    args.finish();
    // As in lesson 03, and more so here: one thread serves every client, so a write to a
    // slow or closed stdout would hold them all up. Lines go to a logger thread instead,
    // and a broken stdout is said once on stderr.
    say::on_broken_stdout(OnBrokenStdout::KeepGoing);
    say::log_in_background();

    let listener = listen(addr, backlog).unwrap_or_else(|err| fail(explain(&err, addr)));
    let local = listener.local_addr().unwrap_or(addr);
    server!("listening on {local} (backlog {backlog}, one thread, an event loop)");
    server!("waiting for client connections...");
    if let Err(err) = event_loop(listener, options) {
        fail(format!("the event loop stopped: {err}"));
    }
}
// ANCHOR_END: main

// ANCHOR: listen
/// The listening socket as lesson 03 makes it, then switched to non-blocking mode: an
/// `accept` with no connection waiting returns `WouldBlock` instead of waiting.
fn listen(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    #[cfg(not(windows))]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    socket.set_nonblocking(true)?;
    Ok(TcpListener::from_std(socket.into()))
}
// ANCHOR_END: listen

// ANCHOR: session
/// One client's session: a value the loop keeps, where lesson 03 kept a thread.
struct Session {
    stream: TcpStream,
    peer: SocketAddr,
    state: State,
}

/// Where a session stands. Each state says what the session waits for.
enum State {
    /// Bytes to send: the welcome first, then each reply. Reading comes next.
    Writing { pending: Vec<u8> },
    /// Waiting for the client's next message.
    Reading,
    /// A message has come; its reply goes out when the deadline in the queue passes.
    Paused { message: Vec<u8> },
    /// The session is over: the loop drops it, which closes the socket.
    Done(Result<(), io::Error>),
}

impl Session {
    /// A new session: the welcome is its first pending write.
    fn new(stream: TcpStream, peer: SocketAddr) -> Session {
        let state = State::Writing {
            pending: b"Welcome!".to_vec(),
        };
        Session {
            stream,
            peer,
            state,
        }
    }
}
// ANCHOR_END: session

// ANCHOR: event_loop
/// The loop: wait until a socket is ready or a deadline is due, do what can be done
/// without waiting, and wait again. Nothing in here ever blocks, except `poll`.
fn event_loop(mut listener: TcpListener, options: Options) -> io::Result<()> {
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    let mut sessions = Sessions::new(options);
    loop {
        // Sleep in the kernel until a socket has news, or until the earliest deadline.
        let timeout = sessions
            .deadlines
            .next()
            .map(|due| due - Instant::now().min(due));
        match poll.poll(&mut events, timeout) {
            Ok(()) => {}
            // A signal arrived while we slept: nothing happened, ask again.
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
        // Sockets that are ready...
        for event in &events {
            match event.token() {
                LISTENER => sessions.accept_all(&listener, poll.registry()),
                token => sessions.step(token, poll.registry()),
            }
        }
        // ...and pauses that are over.
        for token in sessions.deadlines.due(Instant::now()) {
            match token {
                LISTENER => sessions.accept_all(&listener, poll.registry()),
                token => sessions.resume(token, poll.registry()),
            }
        }
    }
}

/// Every open session by its token, and the queue of their deadlines.
struct Sessions {
    open: HashMap<Token, Session>,
    deadlines: Deadlines,
    next_token: usize,
    options: Options,
}
// ANCHOR_END: event_loop

// ANCHOR: accept
impl Sessions {
    fn new(options: Options) -> Sessions {
        Sessions {
            open: HashMap::new(),
            deadlines: Deadlines::default(),
            next_token: LISTENER.0 + 1,
            options,
        }
    }

    /// Accepts every connection waiting in the queue, until `accept` says `WouldBlock`
    /// (edge-triggered readiness: the listener is reported ready once per new arrival,
    /// so the queue must be emptied now).
    fn accept_all(&mut self, listener: &TcpListener, registry: &Registry) {
        loop {
            match listener.accept() {
                Ok((mut stream, peer)) => {
                    let token = Token(self.next_token);
                    self.next_token += 1;
                    // Readable or writable: the loop hears about both, and the
                    // session's state decides which one it cares about.
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if let Err(err) = registry.register(&mut stream, token, interest) {
                        server!("cannot watch the connection from {peer}: {err}; dropped");
                        continue;
                    }
                    server!("welcome new client {peer}...");
                    self.open.insert(token, Session::new(stream, peer));
                    // The welcome goes out now, without waiting for an event.
                    self.step(token, registry);
                }
                // The queue is empty: every waiting connection is ours now.
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                // Out of file descriptors (EMFILE), most likely: the connection stays in
                // the queue. Serve the others, and try again a little later.
                Err(err) => {
                    server!(
                        "accept failed: {err}; {} sessions open, trying again in {} ms",
                        self.open.len(),
                        ACCEPT_PAUSE.as_millis()
                    );
                    self.deadlines.push(Instant::now() + ACCEPT_PAUSE, LISTENER);
                    return;
                }
            }
        }
    }
    // ANCHOR_END: accept

    // ANCHOR: step
    /// The socket of `token` is ready: move its session on, and close it if it is over.
    fn step(&mut self, token: Token, registry: &Registry) {
        let Some(session) = self.open.get_mut(&token) else {
            return; // closed already: a late event
        };
        advance(session, token, self.options, &mut self.deadlines);
        if let State::Done(result) = &session.state {
            let peer = session.peer;
            match result {
                Ok(()) => server!("connection from {peer} closed."),
                Err(err) => server!("connection from {peer} closed after an error: {err}"),
            }
            let _ = registry.deregister(&mut session.stream);
            // Dropping the session closes its socket, as the article's `sock.close()`.
            self.open.remove(&token);
        }
    }

    /// The pause of `token` is over: its message gets its answer.
    fn resume(&mut self, token: Token, registry: &Registry) {
        let Some(session) = self.open.get_mut(&token) else {
            return;
        };
        if let State::Paused { message } = &session.state {
            session.state = reply_to(message);
            self.step(token, registry);
        }
    }
}
// ANCHOR_END: step

// ANCHOR: advance
/// Moves a session forward as far as it can go without waiting. The kernel said its
/// socket is ready, or its pause is over; a step that would block leaves the session
/// in its state, and a later event brings it back here.
fn advance(session: &mut Session, token: Token, options: Options, deadlines: &mut Deadlines) {
    loop {
        let next = match &mut session.state {
            State::Writing { pending } => match write_some(&mut session.stream, pending) {
                Ok(true) => State::Reading,
                // The socket's send buffer is full: the rest waits for a writable event.
                Ok(false) => return,
                Err(err) => State::Done(Err(err)),
            },
            State::Reading => match read_message(&mut session.stream, session.peer, options) {
                Ok(Some(message)) if options.pause.is_zero() => reply_to(&message),
                Ok(Some(message)) => {
                    // The article sleeps here. We note when to go on, and serve the
                    // others meanwhile.
                    deadlines.push(Instant::now() + options.pause, token);
                    State::Paused { message }
                }
                // Nothing has arrived yet: wait for a readable event.
                Ok(None) => return,
                Err(err) => State::Done(Err(err)),
            },
            // Only its deadline moves a paused session on; the loop closes a done one.
            State::Paused { .. } | State::Done(_) => return,
        };
        session.state = next;
    }
}
// ANCHOR_END: advance

// ANCHOR: io
/// Writes as much of `pending` as the socket takes now, and removes it from `pending`;
/// true once all of it is written.
fn write_some(stream: &mut TcpStream, pending: &mut Vec<u8>) -> io::Result<bool> {
    while !pending.is_empty() {
        match stream.write(pending) {
            // A write may take only part of the bytes (lesson 03's `write_all` loops
            // on that; here the loop is ours).
            Ok(n) => {
                pending.drain(..n);
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(true)
}

/// One read of at most 1024 bytes, as the article's `recv(1024)`: `Some(message)`
/// (empty when the client has closed), or `None` when nothing has arrived yet.
fn read_message(
    stream: &mut TcpStream,
    peer: SocketAddr,
    options: Options,
) -> io::Result<Option<Vec<u8>>> {
    let mut buffer = [0; READ_SIZE];
    loop {
        match stream.read(&mut buffer) {
            Ok(n) => {
                if options.log_reads {
                    // Cut to its ends when long (as lesson 03): the log stays bounded.
                    server!("read {n} bytes from {peer}: {}", excerpt(&buffer[..n]));
                }
                return Ok(Some(buffer[..n].to_vec()));
            }
            // Non-blocking: nothing has arrived. In lesson 03 the thread would sleep
            // here; this loop goes and serves someone else.
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}
// ANCHOR_END: io

// ANCHOR: reply_to
/// What lesson 03 does after its pause: close on 0 bytes or `exit`, or answer. (Its
/// `split_line_ending` is lesson 03's, shared by 09 and 10 from `src/article.rs`.)
fn reply_to(message: &[u8]) -> State {
    if message.is_empty() {
        return State::Done(Ok(()));
    }
    let (text, line_ending) = split_line_ending(message);
    let text = String::from_utf8_lossy(text);
    if text == "exit" {
        return State::Done(Ok(()));
    }
    State::Writing {
        pending: format!("Hello, {text}!{line_ending}").into_bytes(),
    }
}
// ANCHOR_END: reply_to

// ANCHOR: deadlines
/// The pauses of all sessions, earliest first: a min-heap of (instant, token). A
/// sleeping thread per session becomes one entry here.
#[derive(Default)]
struct Deadlines {
    heap: BinaryHeap<Reverse<(Instant, Token)>>,
}

impl Deadlines {
    fn push(&mut self, due: Instant, token: Token) {
        self.heap.push(Reverse((due, token)));
    }

    /// The earliest deadline, if any: how long `poll` may sleep.
    fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((due, _))| *due)
    }

    /// Takes out every deadline that has passed.
    fn due(&mut self, now: Instant) -> Vec<Token> {
        let mut tokens = Vec::new();
        while let Some(Reverse((due, token))) = self.heap.peek().copied() {
            if due > now {
                break;
            }
            self.heap.pop();
            tokens.push(token);
        }
        tokens
    }
}
// ANCHOR_END: deadlines
