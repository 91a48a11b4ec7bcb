//! # Lesson 06: a hardened server — what a real server adds to the article's
//!
//! The dialogue of lesson 03 (`Welcome!`, `Hello, NAME!`, `exit`), now one message per
//! line as lesson 05 taught, with what the article's server needs before it faces
//! clients it does not control:
//!
//! - a **read timeout**: a client silent for 30 s is told why and disconnected, so it
//!   cannot hold a thread forever; a **write timeout** does the same for a client that
//!   stops reading;
//! - a **line limit**: a line over 4096 bytes gets an error and the connection closes,
//!   so memory stays bounded whatever a client sends; a line that is not UTF-8 gets an
//!   error reply and the session goes on;
//! - a **session limit**: while 256 sessions run, one more client is told
//!   `busy, try again later` and closed at once, and the 256 are not slowed;
//! - a **large backlog** (1024) for bursts of connections, and `TCP_NODELAY` so that
//!   short replies leave at once;
//! - a **graceful shutdown** on Ctrl-C: stop accepting, tell every client, wait for the
//!   sessions to end (at most 5 s), print a summary and exit with status 0;
//! - **logs** that number the sessions (`#1`, `#2`, ...) and count their messages.
//!
//! ```text
//! cargo run --example 06_hardened_server
//! nc 127.0.0.1 1234          # type lines; `exit`; or wait 30 s; or Ctrl-C the server
//! cargo run --example 06_hardened_server -- --read-timeout-ms 5000 --max-line 16 --max-sessions 2
//! cargo run --release --example 07_load -- --lines --clients 300   # meet the session limit
//! ```

use socket2::{Domain, Protocol, Socket, Type};
use std::collections::HashMap;
use std::io::{self, BufReader, Read};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};
use tcp_lessons::args::Args;
use tcp_lessons::framing::{self, FrameError};
use tcp_lessons::say::{explain, fail};
use tcp_lessons::{kernel, server};

const USAGE: &str = indoc::indoc! {"
    usage: 06_hardened_server [ADDRESS] [--backlog N] [--read-timeout-ms MS]
                              [--write-timeout-ms MS] [--max-line BYTES]
                              [--max-sessions N] [--shutdown-grace-ms MS]

    The session server of lesson 03, one message per line, hardened: timeouts, a line
    limit, a session limit, and a graceful shutdown on Ctrl-C.

      ADDRESS                 where to listen (default 127.0.0.1:1234; 127.0.0.1:0 picks
                              a free port)
      --backlog N             connections the kernel may queue before we accept them
                              (default 1024)
      --read-timeout-ms MS    disconnect a client that sends nothing for this long
                              (default 30000)
      --write-timeout-ms MS   disconnect a client that stops reading, once a reply
                              has waited this long to be sent (default 10000)
      --max-line BYTES        the longest line accepted (default 4096)
      --max-sessions N        sessions at once; one more client is told to try again
                              later (default 256)
      --shutdown-grace-ms MS  after Ctrl-C, how long the sessions get to end (default 5000)
      --help                  show this text

    Then, in a second terminal: nc 127.0.0.1 1234  (type lines; `exit` ends the session)
"};

/// What a client beyond the session limit receives instead of `Welcome!`.
const BUSY: &str = "busy, try again later";
/// What every client receives when the server stops.
const GOING_DOWN: &str = "server shutting down, bye";
/// After an error reply, how long we read and discard what the client still sends
/// before closing (see `close_gently`).
const LINGER: Duration = Duration::from_secs(1);
/// How long the accept loop pauses after a failed accept.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

// ANCHOR: limits
/// Every limit of the server, from the command line.
struct Limits {
    address: SocketAddr,
    backlog: i32,
    read_timeout: Duration,
    write_timeout: Duration,
    max_line: usize,
    max_sessions: usize,
    shutdown_grace: Duration,
}

impl Limits {
    fn from_args() -> Limits {
        let mut args = Args::from_env(USAGE);
        let limits = Limits {
            backlog: args.value("--backlog", 1024),
            read_timeout: millis(&mut args, "--read-timeout-ms", 30_000),
            write_timeout: millis(&mut args, "--write-timeout-ms", 10_000),
            max_line: args.value("--max-line", 4096),
            max_sessions: args.value("--max-sessions", 256),
            shutdown_grace: Duration::from_millis(args.value("--shutdown-grace-ms", 5000)),
            address: args.address("127.0.0.1:1234"),
        };
        args.finish();
        limits
    }

    /// Says what each limit is and what it protects against, one line each.
    fn describe(&self) {
        match tcp_lessons::sys::somaxconn() {
            Some(cap) if cap < self.backlog => kernel!(
                "net.core.somaxconn is {cap}: Linux cuts the backlog of {} to {cap}",
                self.backlog
            ),
            Some(cap) => {
                kernel!("net.core.somaxconn is {cap}: Linux would cut a larger backlog to that")
            }
            None => {}
        }
        server!(
            "read timeout {}: a client that sends nothing for that long is told why \
             and disconnected",
            human(self.read_timeout)
        );
        server!(
            "write timeout {}: a client that stops reading is disconnected once a reply \
             has waited that long to be sent",
            human(self.write_timeout)
        );
        server!(
            "line limit {} bytes: a longer line gets an error reply and the connection \
             closes",
            self.max_line
        );
        server!(
            "session limit {}: one client more is told {BUSY:?} and closed",
            self.max_sessions
        );
        server!(
            "shutdown grace {}: after Ctrl-C, the sessions get that long to end",
            human(self.shutdown_grace)
        );
    }
}

/// A duration flag in milliseconds. Zero is refused: to the kernel a zero timeout means
/// "wait forever", the very thing a timeout is here to prevent (std refuses it too).
fn millis(args: &mut Args, name: &str, default: u64) -> Duration {
    let default = NonZeroU64::new(default).expect("defaults are not zero");
    Duration::from_millis(args.value(name, default).get())
}
// ANCHOR_END: limits

// ANCHOR: shared
/// What the accept loop, the sessions and the shutdown share.
struct Shared {
    limits: Limits,
    /// Set by Ctrl-C: accept no more, and end every session.
    stopping: AtomicBool,
    /// The live sessions by id, each with a second handle on its socket so that the
    /// shutdown can reach it. Its length is the number of sessions running.
    live: Mutex<HashMap<u64, TcpStream>>,
    /// Notified each time a session ends, for the shutdown to wait on.
    ended: Condvar,
    counts: Counts,
}

/// Totals for the summary.
#[derive(Default)]
struct Counts {
    sessions: AtomicU64,
    messages: AtomicU64,
    errors: AtomicU64,
    turned_away: AtomicU64,
}

impl Shared {
    fn new(limits: Limits) -> Shared {
        Shared {
            limits,
            stopping: AtomicBool::new(false),
            live: Mutex::new(HashMap::new()),
            ended: Condvar::new(),
            counts: Counts::default(),
        }
    }

    fn stopping(&self) -> bool {
        self.stopping.load(SeqCst)
    }

    /// The live sessions, locked. (A thread that panicked while holding the lock leaves
    /// it "poisoned"; every change to the map is a single insert or remove, so the map
    /// is still sound and we go on.)
    fn live(&self) -> MutexGuard<'_, HashMap<u64, TcpStream>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A session's place among the live ones, held for as long as the session runs.
/// Dropping it, however the session ends (even by a panic), frees the place.
struct Slot {
    id: u64,
    shared: Arc<Shared>,
}

impl Slot {
    /// Takes a place for session `id` if fewer than `max_sessions` run; returns it with
    /// the number of sessions now running, or `None` when all places are taken.
    fn take(
        shared: &Arc<Shared>,
        id: u64,
        stream: &TcpStream,
    ) -> io::Result<Option<(Slot, usize)>> {
        let mut live = shared.live();
        if live.len() >= shared.limits.max_sessions {
            return Ok(None);
        }
        live.insert(id, stream.try_clone()?);
        let running = live.len();
        let slot = Slot {
            id,
            shared: Arc::clone(shared),
        };
        Ok(Some((slot, running)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // Dropping the removed handle closes it; the session's own handle is the other.
        self.shared.live().remove(&self.id);
        self.shared.ended.notify_all();
    }
}
// ANCHOR_END: shared

// ANCHOR: main
fn main() {
    let limits = Limits::from_args();
    let addr = limits.address;
    let listener = listen(addr, limits.backlog).unwrap_or_else(|err| fail(explain(&err, addr)));
    // The port we asked for may be 0 ("any free port"): ask the socket which one it got.
    let local = listener.local_addr().unwrap_or(addr);
    let shared = Arc::new(Shared::new(limits));
    // Ctrl-C is caught before we say we listen: from then on it stops us gracefully.
    stop_on_ctrl_c(&shared, local);
    server!("listening on {local} (backlog {})", shared.limits.backlog);
    shared.limits.describe();
    server!("waiting for connections; Ctrl-C stops the server gracefully");

    accept_loop(&listener, &shared);
    // Closing the listening socket: from now on the kernel answers new connections with
    // a reset ("connection refused"), and resets those still waiting in its queue.
    drop(listener);
    shutdown(&shared);
    // Returning from main ends the process, with exit status 0.
}
// ANCHOR_END: main

// ANCHOR: listen
/// Creates the listening socket step by step, as lesson 02 shows.
fn listen(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // Lets a restarted server bind its port again while old connections sit in
    // TIME_WAIT, instead of failing with "Address already in use" for a minute.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    // A burst of clients connecting at once waits in the accept queue while we accept
    // them one by one. When the queue is full Linux drops their SYNs, and each of those
    // clients waits a second or more before its kernel tries again (lesson 02). A queue
    // of 1024 gives a burst room. Linux silently cuts the value to net.core.somaxconn
    // (4096 since Linux 5.4, 128 before).
    socket.listen(backlog)?;
    Ok(socket.into())
}
// ANCHOR_END: listen

// ANCHOR: ctrl_c
/// On Ctrl-C (SIGINT), sets `stopping` and wakes the accept loop. A second Ctrl-C quits
/// at once, without waiting for the sessions.
fn stop_on_ctrl_c(shared: &Arc<Shared>, listening: SocketAddr) {
    let shared = Arc::clone(shared);
    let wake = wake_address(listening);
    let handler = move || {
        if shared.stopping.swap(true, SeqCst) {
            server!("second Ctrl-C: quitting without waiting for the sessions");
            // 130 = 128 + SIGINT, what a shell reports for a program stopped by Ctrl-C.
            std::process::exit(130);
        }
        server!("Ctrl-C: stopping");
        // The accept loop sleeps in accept() until a connection arrives; setting a flag
        // does not wake it. So we connect to the server ourselves: accept() returns, the
        // loop sees the flag and stops. Our connection is simply dropped.
        if let Err(err) = TcpStream::connect_timeout(&wake, Duration::from_secs(1)) {
            server!("cannot wake the accept loop ({err}); it stops at the next connection");
        }
    };
    if let Err(err) = ctrlc::set_handler(handler) {
        fail(format!("cannot catch Ctrl-C: {err}"));
    }
}

/// Where to connect to reach our own listening socket: its address, with loopback in
/// place of "any address" (0.0.0.0 or ::). To listen, that means "every address of this
/// machine"; as a destination it is not portable (Linux takes it, others refuse it).
fn wake_address(listening: SocketAddr) -> SocketAddr {
    let mut wake = listening;
    match listening {
        SocketAddr::V4(addr) if addr.ip().is_unspecified() => {
            wake.set_ip(Ipv4Addr::LOCALHOST.into())
        }
        SocketAddr::V6(addr) if addr.ip().is_unspecified() => {
            wake.set_ip(Ipv6Addr::LOCALHOST.into())
        }
        _ => {}
    }
    wake
}
// ANCHOR_END: ctrl_c

// ANCHOR: accept_loop
/// Accepts connections until Ctrl-C: a thread for each session while there is room,
/// `busy, try again later` for a client beyond the limit.
fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let mut next_id = 1;
    loop {
        let accepted = listener.accept();
        if shared.stopping() {
            // The Ctrl-C handler's wake-up call, or a client arriving as we stop.
            return;
        }
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // With "too many open files" the connection stays in the queue and the
                // next accept fails at once: pause, so the loop does not spin.
                server!("accept failed: {err}; still waiting");
                thread::sleep(ACCEPT_PAUSE);
                continue;
            }
        };
        let id = next_id;
        match Slot::take(shared, id, &stream) {
            Ok(Some((slot, running))) => {
                next_id += 1;
                shared.counts.sessions.fetch_add(1, SeqCst);
                let max = shared.limits.max_sessions;
                server!("#{id} {peer} connected ({running} of {max} sessions)");
                let spawned = thread::Builder::new()
                    .name(format!("session #{id}"))
                    .spawn(move || session(stream, slot));
                if let Err(err) = spawned {
                    // Out of threads or memory. The closure is dropped, and with it the
                    // stream (the connection closes) and the slot (the place is freed).
                    server!("#{id} dropped: cannot start a thread ({err})");
                }
            }
            Ok(None) => turn_away(stream, peer, shared),
            Err(err) => server!("{peer} dropped: cannot keep a handle on its socket ({err})"),
        }
    }
}

/// Tells a client beyond the session limit to come back later, and closes at once. The
/// accept loop does it itself: no thread is started, no running session is slowed.
fn turn_away(mut stream: TcpStream, peer: SocketAddr, shared: &Shared) {
    shared.counts.turned_away.fetch_add(1, SeqCst);
    let max = shared.limits.max_sessions;
    server!("{peer} turned away: {max} of {max} sessions busy");
    // A new socket's send buffer is empty: this short line is copied into it at once,
    // without waiting for the client. Dropping the stream then closes the connection.
    let _ = framing::write_line(&mut stream, BUSY.as_bytes());
}
// ANCHOR_END: accept_loop

// ANCHOR: session
/// One client's session, from welcome to close, in its own thread.
fn session(stream: TcpStream, slot: Slot) {
    let shared = &slot.shared;
    let mut messages = 0;
    let end = set_limits(&stream, &shared.limits)
        .and_then(|()| converse(&stream, slot.id, shared, &mut messages));
    report(slot.id, &end, messages, shared);
    if let Ok(End::TooLong) = end {
        close_gently(&stream);
    }
    // Here `stream` and `slot` are dropped: the socket's last handle closes (the client
    // reads the end of the stream) and the place is free for another session.
}

/// The socket options that keep one client from holding this thread forever, and one
/// that makes replies leave at once.
fn set_limits(stream: &TcpStream, limits: &Limits) -> io::Result<()> {
    // A read that waits longer fails (WouldBlock; TimedOut on Windows) instead of
    // waiting forever for a client that went silent, or whose machine vanished without
    // a word: without a timeout, nothing would ever tell us. It bounds each wait, not
    // a whole line: a client sending one byte every 29 s stays connected.
    stream.set_read_timeout(Some(limits.read_timeout))?;
    // A write waits only when the socket's send buffer is full: the client stopped
    // reading, its receive window closed, and our replies pile up. Give up after this.
    stream.set_write_timeout(Some(limits.write_timeout))?;
    // TCP_NODELAY turns off Nagle's algorithm, which holds back a small segment while
    // earlier data is unacknowledged, hoping to merge it with more. Each reply is a
    // whole line written at once and nothing more is coming, so waiting for the
    // client's ACK (which it may delay by tens of milliseconds) would only slow the
    // dialogue. (std calls it set_nodelay; socket2 0.6 calls it set_tcp_nodelay.)
    stream.set_nodelay(true)
}

/// How a session ended, when the socket itself did not fail.
enum End {
    /// The client sent `exit`.
    Exit,
    /// The client closed the connection between lines.
    ClientClosed,
    /// The client closed the connection in the middle of a line.
    ClosedMidLine,
    /// The client sent nothing for the read timeout.
    Idle,
    /// The client sent a line over the limit.
    TooLong,
    /// The server is stopping.
    ShuttingDown,
}

/// Logs how session `id` ended, and counts it as an error when it was one.
fn report(id: u64, end: &io::Result<End>, messages: u64, shared: &Shared) {
    let limits = &shared.limits;
    let after = format!("after {}", count(messages, "message"));
    let (what, error) = match end {
        Ok(End::Exit) => (format!("closed {after} (the client sent exit)"), false),
        Ok(End::ClientClosed) => (format!("closed {after} (the client closed)"), false),
        Ok(End::ShuttingDown) => (format!("closed: server shutting down ({after})"), false),
        Ok(End::ClosedMidLine) => (
            format!("closed: the client left in the middle of a line ({after})"),
            true,
        ),
        Ok(End::Idle) => {
            let idle = human(limits.read_timeout);
            (format!("timed out after {idle} idle ({after})"), true)
        }
        Ok(End::TooLong) => (format!("closed: line too long ({after})"), true),
        // Read timeouts end as `Idle`: a timeout here is a write that waited too long.
        Err(err) if is_timeout(err) => {
            let waited = human(limits.write_timeout);
            let what = format!(
                "closed: a reply waited {waited} to be sent, the client is not reading ({after})"
            );
            (what, true)
        }
        Err(err) => (format!("closed by an error {after}: {err}"), true),
    };
    if error {
        shared.counts.errors.fetch_add(1, SeqCst);
    }
    server!("#{id} {what}");
}
// ANCHOR_END: session

// ANCHOR: converse
/// The dialogue, one line each way: `Welcome!`, then `Hello, NAME!` for each line,
/// until `exit`. Only this thread writes to the socket, so replies never interleave.
fn converse(stream: &TcpStream, id: u64, shared: &Shared, messages: &mut u64) -> io::Result<End> {
    let limits = &shared.limits;
    // A `&TcpStream` both reads and writes: lines come in through a buffered reader,
    // replies go out through a second reference to the same socket.
    let mut reader = BufReader::new(stream);
    let mut writer = stream;
    framing::write_line(&mut writer, b"Welcome!")?;
    loop {
        if shared.stopping() {
            return farewell(writer, GOING_DOWN, End::ShuttingDown);
        }
        // read_line never holds more than max_line bytes (+2 for `\r\n`), whatever
        // the client sends.
        let line = match framing::read_line(&mut reader, limits.max_line) {
            Ok(Some(line)) => line,
            // End of the stream: the shutdown closed our reading side to wake us...
            Ok(None) if shared.stopping() => {
                return farewell(writer, GOING_DOWN, End::ShuttingDown);
            }
            // ...or the client closed its sending side: it has nothing more to say.
            Ok(None) => return Ok(End::ClientClosed),
            Err(FrameError::Truncated { .. }) => return Ok(End::ClosedMidLine),
            Err(FrameError::TooLong { limit }) => {
                // The rest of the line is still coming and nothing tells where the next
                // line begins: the only safe way on is to close.
                let error = format!("error: line longer than {limit} bytes, closing");
                return farewell(writer, &error, End::TooLong);
            }
            Err(FrameError::Io(err)) if is_timeout(&err) => {
                let idle = human(limits.read_timeout);
                let bye = format!("bye: nothing received for {idle}, closing");
                return farewell(writer, &bye, End::Idle);
            }
            Err(FrameError::Io(err)) => return Err(err),
        };
        *messages += 1;
        shared.counts.messages.fetch_add(1, SeqCst);
        let reply = match String::from_utf8(line) {
            Ok(text) if text == "exit" => return Ok(End::Exit),
            Ok(text) => format!("Hello, {text}!"),
            Err(err) => {
                // Name the bad byte and where it is, so that the client's author can
                // find it; the line is refused, the session goes on.
                let at = err.utf8_error().valid_up_to();
                let problem = format!("invalid byte 0x{:02x} at offset {at}", err.as_bytes()[at]);
                server!("#{id} sent a line that is not UTF-8 ({problem})");
                shared.counts.errors.fetch_add(1, SeqCst);
                format!("error: not UTF-8 ({problem}); send text")
            }
        };
        framing::write_line(&mut writer, reply.as_bytes())?;
    }
}

/// Sends a last line and ends the session with `end`. The write may fail (the client is
/// gone, or not reading): the session ends the same way, so the error is of no use.
fn farewell(mut writer: &TcpStream, line: &str, end: End) -> io::Result<End> {
    let _ = framing::write_line(&mut writer, line.as_bytes());
    Ok(end)
}
// ANCHOR_END: converse

// ANCHOR: close_gently
/// Closes after an error reply without destroying it. Closing a socket while received
/// bytes lie unread in it makes the kernel send a reset (RST) instead of a FIN; a reset
/// discards whatever of our reply has not left yet, and some systems (Windows) throw
/// away received data the client has not read. So we send our FIN after the reply
/// (the client reads the line, then the end of the stream), then read and discard what
/// the client still sends, for at most `LINGER`, and only then close.
fn close_gently(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + LINGER;
    let mut reader = stream;
    let mut sink = [0; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match reader.read(&mut sink) {
            Ok(n) if n > 0 => {}
            // The client closed too, or it keeps us waiting, or the socket failed.
            _ => return,
        }
    }
}
// ANCHOR_END: close_gently

// ANCHOR: shutdown
/// After Ctrl-C: ends every session, waits for them up to the grace period, and prints
/// the summary.
fn shutdown(shared: &Shared) {
    let grace = human(shared.limits.shutdown_grace);
    let live = shared.live();
    if live.is_empty() {
        server!("stopped accepting; no session is running");
    } else {
        server!(
            "stopped accepting; telling {} the server is going down (waiting up to {grace})",
            count(live.len() as u64, "session")
        );
    }
    for stream in live.values() {
        // Shutting down the reading side wakes a session blocked in read(): it returns
        // end of stream, the session sees `stopping`, says goodbye and closes. The
        // session writes the goodbye itself, so it cannot land inside a reply. A
        // session blocked in a write (its client does not read) may stay blocked until
        // its write timeout: the deadline bounds our wait for it.
        let _ = stream.shutdown(Shutdown::Read);
    }
    // Wait (the lock released meanwhile) until every slot is dropped, or the deadline.
    let (live, _) = shared
        .ended
        .wait_timeout_while(live, shared.limits.shutdown_grace, |live| !live.is_empty())
        .unwrap_or_else(PoisonError::into_inner);

    let counts = &shared.counts;
    server!(
        "summary: {} served, {}, {}, {} turned away busy",
        count(counts.sessions.load(SeqCst), "session"),
        count(counts.messages.load(SeqCst), "message"),
        count(counts.errors.load(SeqCst), "error"),
        count(counts.turned_away.load(SeqCst), "client"),
    );
    if !live.is_empty() {
        let mut ids: Vec<_> = live.keys().map(|id| format!("#{id}")).collect();
        ids.sort();
        server!(
            "{} still running at the deadline ({}), cut off as the server exits",
            count(ids.len() as u64, "session"),
            ids.join(", ")
        );
    }
}
// ANCHOR_END: shutdown

/// True for the error a read or write returns when its timeout expires.
fn is_timeout(err: &io::Error) -> bool {
    // Unix reports EAGAIN (WouldBlock), Windows WSAETIMEDOUT (TimedOut).
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// `30 s`, or `200 ms` when it is not whole seconds.
fn human(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms >= 1000 && ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

/// `1 message`, `4 messages`.
fn count(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
