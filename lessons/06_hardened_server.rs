//! # Lesson 06: a hardened server — what a real server adds to the article's
//!
//! The dialogue of lesson 03 (`Welcome!`, `Hello, NAME!`, `exit`), one message per line
//! as lesson 05 taught, made ready for clients it does not control:
//!
//! - **deadlines**: 30 s of silence between lines; 10 s for a whole line from its first
//!   byte (a client trickling one byte at a time, "slowloris", cannot hold a thread);
//!   10 s for a whole reply (nor can a client that stops reading);
//! - a **line limit** (4096 bytes), an error reply to a line that is not UTF-8, and a
//!   log that a client's errors cannot flood;
//! - a **session limit** (256): one more client is told `busy, try again later` and
//!   closed without a reset; a limit this machine cannot hold is refused at startup;
//! - **socket options**: a backlog of 1024 for bursts, `TCP_NODELAY`, a small send
//!   buffer, and TCP keepalive and `TCP_USER_TIMEOUT` on request;
//! - a **graceful shutdown** on Ctrl-C, SIGTERM or SIGHUP: every client is told, the
//!   sessions get 5 s to end, a summary, exit status 0 (1 if the log was lost).
//!
//! ```text
//! cargo run --example 06_hardened_server
//! nc 127.0.0.1 1234          # type lines; `exit`; or wait 30 s; or Ctrl-C the server
//! cargo run --example 06_hardened_server -- --read-timeout-ms 5000 --max-line 16 --max-sessions 2
//! cargo run --release --example 07_load -- --lines --clients 300   # meet the session limit
//! ```

use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};
use tcp_lessons::args::{Args, usage_error};
use tcp_lessons::ceiling::{self, Ceiling, thousands};
use tcp_lessons::framing::{self, FrameError};
use tcp_lessons::say::{self, OnBrokenStdout, Repeated, Role, explain, fail};
use tcp_lessons::{kernel, server};

// ANCHOR: defaults
/// Where to listen: the article's address.
const ADDRESS: &str = "127.0.0.1:1234";
/// Connections the kernel may queue until we accept them: room for a burst (lesson 02).
const BACKLOG: i32 = 1024;
/// How long a client may stay silent between two lines.
const READ_TIMEOUT_MS: u64 = 30_000;
/// How long a whole line may take to arrive, counted from its first byte.
const LINE_TIMEOUT_MS: u64 = 10_000;
/// How long a whole reply may take to be sent.
const WRITE_TIMEOUT_MS: u64 = 10_000;
/// The longest line accepted, in bytes.
const MAX_LINE: usize = 4096;
/// Sessions at once: one thread each.
const MAX_SESSIONS: usize = 256;
/// The send buffer of each connection (SO_SNDBUF), in bytes.
const SEND_BUFFER: i32 = 64 * 1024;
/// TCP keepalive: the seconds of silence before the first probe, and between probes
/// (0: off). Seconds: that is what the socket options take.
const KEEPALIVE_S: u64 = 0;
/// TCP keepalive: how many unanswered probes end the connection.
const KEEPALIVE_PROBES: u32 = 3;
/// TCP_USER_TIMEOUT: how long sent data may stay unacknowledged (0: off).
const USER_TIMEOUT_MS: u64 = 0;
/// After Ctrl-C, how long the sessions get to end.
const SHUTDOWN_GRACE_MS: u64 = 5000;
// ANCHOR_END: defaults

/// What a client beyond the session limit receives instead of `Welcome!`.
const BUSY: &str = "busy, try again later";
/// What every client receives when the server stops.
const GOING_DOWN: &str = "server shutting down, bye";
/// How long a last line may take to leave, and how long the doorman reads and throws
/// away what a client still sends before it closes (see `close_gently`).
const LINGER: Duration = Duration::from_secs(1);
/// The longest timeout accepted: a day.
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);
/// How long the accept loop pauses after a failed accept.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// How many of one session's errors are logged; the others are only counted.
const LOGGED_ERRORS: u64 = 3;
/// How many clients the doorman closes gently at once.
const DOORMAN_CAP: usize = 32;
/// How often the doorman looks at the clients it is closing.
const DOORMAN_TICK: Duration = Duration::from_millis(10);
/// How long we wait for the log to reach stdout before the summary and the exit.
const LOG_FLUSH: Duration = Duration::from_secs(1);

fn usage() -> String {
    // Off by default: `0: off`, said from the constant.
    let off = |value: u64| format!("{value}{}", if value == 0 { ": off" } else { "" });
    let (keepalive, user_timeout) = (off(KEEPALIVE_S), off(USER_TIMEOUT_MS));
    indoc::formatdoc! {"
        usage: 06_hardened_server [ADDRESS] [OPTIONS]

        The session server of lesson 03, one message per line, hardened against clients it
        does not control: deadlines, a line limit, a session limit, socket options, and a
        graceful stop on Ctrl-C, SIGTERM or SIGHUP.

        arguments:
          ADDRESS                     where to listen (default {ADDRESS}; 127.0.0.1:0 picks a free port)

        options:
          --backlog N                 connections the kernel may queue before we accept them
                                      (default {BACKLOG})
          --read-timeout-ms MS        disconnect a client silent this long between lines
                                      (default {READ_TIMEOUT_MS})
          --line-timeout-ms MS        a line must arrive whole this long after its first byte
                                      (default {LINE_TIMEOUT_MS})
          --write-timeout-ms MS       a reply must be sent whole within this long (default {WRITE_TIMEOUT_MS})
          --max-line BYTES            the longest line accepted (default {MAX_LINE})
          --max-sessions N            sessions at once; one more client is told to try again
                                      later (default {MAX_SESSIONS})
          --send-buffer BYTES         each connection's send buffer, SO_SNDBUF; 0 leaves it to
                                      the kernel (default {SEND_BUFFER})
          --nagle                     leave Nagle's algorithm on (no TCP_NODELAY), to see its cost
          --keepalive-s N             probe a connection silent N seconds, then every N s;
                                      {KEEPALIVE_PROBES} unanswered end it (default {keepalive})
          --user-timeout-ms MS        end a connection whose sent data stays unacknowledged
                                      this long, TCP_USER_TIMEOUT, Linux (default {user_timeout})
          --shutdown-grace-ms MS      after Ctrl-C, how long the sessions get to end
                                      (default {SHUTDOWN_GRACE_MS})
          -h, --help                  show this text

        examples:
          cargo run --example 06_hardened_server
          cargo run --example 06_hardened_server -- --read-timeout-ms 5000 --max-line 16 --max-sessions 2
          cargo run --example 06_hardened_server -- --keepalive-s 10
        Then, in a second terminal: nc 127.0.0.1 1234  (type lines; `exit` ends the session)
    "}
}

// ANCHOR: main
fn main() {
    // A server keeps serving when its log cannot be written (stdout closed, or a full
    // disk): the lines are dropped, stderr says so once, and the exit status tells.
    say::on_broken_stdout(OnBrokenStdout::KeepGoing);
    let limits = Limits::from_args();
    // From here the log goes through a thread of its own: no session waits for stdout.
    say::log_in_background();
    let addr = limits.address;
    let listener = listen(addr, limits.backlog).unwrap_or_else(|err| fail(explain(&err, addr)));
    // Read once we listen, so that the listening socket counts among the open files.
    let ceiling = ceiling::sessions(1);
    limits.refuse_beyond(&ceiling);
    // The port we asked for may be 0 ("any free port"): ask the socket which one it got.
    let local = listener.local_addr().unwrap_or(addr);
    let shared = Arc::new(Shared::new(limits, start_doorman()));
    // The signals are caught before we say we listen: from then on they stop us gracefully.
    stop_on_signals(&shared, local);
    server!("listening on {local} (backlog {})", shared.limits.backlog);
    shared.limits.describe(&ceiling);
    server!("waiting for connections; Ctrl-C stops the server gracefully");

    accept_loop(&listener, &shared);
    // Closing the listening socket: from now on the kernel answers new connections with
    // a reset ("connection refused"), and resets those still waiting in its queue.
    drop(listener);
    // ANCHOR: exit_status
    let summary = shutdown(&shared);
    // A server whose log was lost must not report success: whoever started it would
    // never learn. The summary goes to stderr too, where it can still be read.
    say::flush_log(LOG_FLUSH);
    if say::stdout_failed() {
        fail(format!("the log could not be written to stdout; {summary}"));
    }
    // Returning from main ends the process, with exit status 0.
    // ANCHOR_END: exit_status
}
// ANCHOR_END: main

// ANCHOR: limits
/// Every limit of the server, from the command line.
struct Limits {
    address: SocketAddr,
    backlog: i32,
    read_timeout: Duration,
    line_timeout: Duration,
    write_timeout: Duration,
    max_line: usize,
    max_sessions: usize,
    /// SO_SNDBUF; 0 leaves the send buffer to the kernel, which grows it as it sees fit.
    send_buffer: i32,
    nagle: bool,
    /// The silence before each keepalive probe; zero: no probes.
    keepalive: Duration,
    /// TCP_USER_TIMEOUT; zero: the kernel's own patience with unacknowledged data.
    user_timeout: Duration,
    shutdown_grace: Duration,
}

impl Limits {
    fn from_args() -> Limits {
        let mut args = Args::from_env(&usage());
        let ms = |value: u64| Duration::from_millis(value);
        let limits = Limits {
            backlog: args.value("--backlog", BACKLOG),
            read_timeout: ms(args.value("--read-timeout-ms", READ_TIMEOUT_MS)),
            line_timeout: ms(args.value("--line-timeout-ms", LINE_TIMEOUT_MS)),
            write_timeout: ms(args.value("--write-timeout-ms", WRITE_TIMEOUT_MS)),
            max_line: args.value("--max-line", MAX_LINE),
            max_sessions: args.value("--max-sessions", MAX_SESSIONS),
            send_buffer: args.value("--send-buffer", SEND_BUFFER),
            nagle: args.flag("--nagle"),
            keepalive: Duration::from_secs(args.value("--keepalive-s", KEEPALIVE_S)),
            user_timeout: ms(args.value("--user-timeout-ms", USER_TIMEOUT_MS)),
            shutdown_grace: ms(args.value("--shutdown-grace-ms", SHUTDOWN_GRACE_MS)),
            address: args.address(ADDRESS),
        };
        limits.refuse_unusable(&args);
        args.finish();
        // The kernel has bounds of its own (Linux: keepalive probes at most 32767 s
        // apart): try the socket options once on a scratch socket, so that a value it
        // refuses stops us here rather than failing every session.
        let scratch = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP));
        if let Err(err) = scratch.and_then(|socket| tune(SockRef::from(&socket), &limits)) {
            let options = "--send-buffer, --keepalive-s, --user-timeout-ms";
            usage_error(format!(
                "the kernel refuses these socket options ({options}): {err}"
            ));
        }
        limits
    }

    /// Refuses a value the server cannot use, in one line that says why (exit 2).
    fn refuse_unusable(&self, args: &Args) {
        if self.backlog < 0 {
            let largest = "Linux would take a negative length for its largest";
            let why = format!("a queue cannot be shorter than empty ({largest})");
            args.refuse(format!("--backlog {}: {why}", self.backlog));
        }
        for (flag, timeout) in [
            ("--read-timeout-ms", self.read_timeout),
            ("--line-timeout-ms", self.line_timeout),
            ("--write-timeout-ms", self.write_timeout),
        ] {
            if timeout.is_zero() {
                let never = "a timeout of 0 would mean no timeout at all; give at least 1";
                args.refuse(format!("{flag} 0: {never}"));
            }
            if timeout > MAX_TIMEOUT {
                let ms = timeout.as_millis();
                args.refuse(format!(
                    "{flag} {ms}: more than a day; a timeout that long is none"
                ));
            }
        }
        if self.max_line == 0 {
            args.refuse("--max-line 0: every line would be refused; give at least 1");
        }
        if self.max_sessions == 0 {
            args.refuse("--max-sessions 0: every client would be turned away; give at least 1");
        }
        if self.send_buffer < 0 {
            let bytes = self.send_buffer;
            args.refuse(format!(
                "--send-buffer {bytes}: a buffer holds 0 bytes or more"
            ));
        }
        if !self.user_timeout.is_zero() && !cfg!(target_os = "linux") {
            args.refuse("--user-timeout-ms: TCP_USER_TIMEOUT is an option of Linux");
        }
    }
}
// ANCHOR_END: limits

// ANCHOR: ceiling
impl Limits {
    /// Refuses a session limit this machine cannot hold (exit 2). Past one of its
    /// limits a new thread does not just fail: on Linux, out of memory mappings, std
    /// aborts the whole process, every session with it (`src/ceiling.rs` says why).
    fn refuse_beyond(&self, ceiling: &Ceiling) {
        let (asked, room) = (self.max_sessions, ceiling.sessions);
        if asked > room {
            let why = ceiling.binding().unwrap_or("the machine's limits");
            usage_error(format!(
                "--max-sessions {asked}: at most {} sessions fit in this process, by the \
                 lowest of its limits: {why}; ask for fewer, or raise that limit",
                thousands(room)
            ));
        }
    }
}
// ANCHOR_END: ceiling

// ANCHOR: describe
impl Limits {
    /// Says what each limit is and what it protects against, one line each.
    fn describe(&self, ceiling: &Ceiling) {
        if let Some(cap) = tcp_lessons::sys::somaxconn() {
            let backlog = self.backlog;
            if cap < backlog {
                kernel!(
                    "net.core.somaxconn is {cap}: Linux cuts the backlog of {backlog} to {cap}"
                );
            } else {
                kernel!("net.core.somaxconn is {cap}: Linux would cut a larger backlog to that");
            }
        }
        for limit in &ceiling.limits {
            kernel!("{limit}");
        }
        let (read, line) = (human(self.read_timeout), human(self.line_timeout));
        server!("read timeout {read}: a client silent that long between lines is disconnected");
        server!("line timeout {line}: a line must arrive whole within that long of its first byte");
        let write = human(self.write_timeout);
        server!("write timeout {write}: a reply must be sent whole within that long");
        let max_line = self.max_line;
        server!("line limit {max_line} bytes: a longer line gets an error reply, then we close");
        let max = self.max_sessions;
        server!("session limit {max}: one client more is told {BUSY:?} and closed");
        server!("socket options: {}", self.options());
        let grace = human(self.shutdown_grace);
        server!("shutdown grace {grace}: after Ctrl-C, SIGTERM or SIGHUP, sessions get that long");
    }

    /// The socket options of each connection, in words.
    fn options(&self) -> String {
        let nodelay = if self.nagle {
            "off (Nagle's algorithm on)"
        } else {
            "on"
        };
        let buffer = match self.send_buffer {
            0 => "the kernel's".into(),
            bytes => format!("{bytes} bytes"),
        };
        let keepalive = match self.keepalive {
            every if every.is_zero() => "off".into(),
            every => format!("every {}, {KEEPALIVE_PROBES} probes", human(every)),
        };
        let user_timeout = match self.user_timeout {
            timeout if timeout.is_zero() => "off".into(),
            timeout => human(timeout),
        };
        format!(
            "TCP_NODELAY {nodelay}, send buffer {buffer} (SO_SNDBUF), keepalive {keepalive}, \
             TCP_USER_TIMEOUT {user_timeout}"
        )
    }
}
// ANCHOR_END: describe

// ANCHOR: listen
/// Creates the listening socket step by step, as lesson 02 shows.
fn listen(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // A restarted server binds its port again while old connections sit in TIME_WAIT.
    // Not on Windows: there it lets a second program take a port in use (Microsoft's
    // documentation), the very thing it prevents on Unix.
    #[cfg(not(windows))]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    // A burst of clients waits in the accept queue; when it is full Linux drops their
    // SYNs, and each client waits a second or more to try again (lesson 02). Linux cuts
    // the backlog to net.core.somaxconn (4096 since Linux 5.4, 128 before).
    socket.listen(backlog)?;
    Ok(socket.into())
}
// ANCHOR_END: listen

// ANCHOR: ctrl_c
/// On Ctrl-C (SIGINT), SIGTERM (what service managers and `docker stop` send) or
/// SIGHUP (the terminal closed), sets `stopping` and wakes the accept loop. A second
/// signal quits at once, without waiting for the sessions.
fn stop_on_signals(shared: &Arc<Shared>, listening: SocketAddr) {
    let shared = Arc::clone(shared);
    let wake = wake_address(listening);
    let handler = move || {
        if shared.stopping.swap(true, SeqCst) {
            server!("second signal: quitting without waiting for the sessions");
            say::flush_log(Duration::from_millis(100));
            // 130 = 128 + SIGINT, what a shell reports for a program stopped by Ctrl-C.
            std::process::exit(130);
        }
        server!("signal to stop (Ctrl-C, SIGTERM or SIGHUP): stopping");
        // The accept loop sleeps in accept() until a connection arrives; setting a flag
        // does not wake it. So we connect to the server ourselves: accept() returns, the
        // loop sees the flag and stops. Our connection is simply dropped.
        if let Err(err) = TcpStream::connect_timeout(&wake, Duration::from_secs(1)) {
            server!("cannot wake the accept loop ({err}); it stops at the next connection");
        }
    };
    // ctrlc's `termination` feature (Cargo.toml) adds SIGTERM and SIGHUP to SIGINT.
    if let Err(err) = ctrlc::set_handler(handler) {
        fail(format!("cannot catch Ctrl-C: {err}"));
    }
}

/// Where to connect to reach our own listening socket: its address, with loopback in
/// place of "any address" (0.0.0.0 or ::). To listen, that means "every address of this
/// machine"; as a destination it is not portable (Linux takes it, others refuse it).
fn wake_address(listening: SocketAddr) -> SocketAddr {
    let mut wake = listening;
    if listening.ip().is_unspecified() {
        match listening {
            SocketAddr::V4(_) => wake.set_ip(Ipv4Addr::LOCALHOST.into()),
            SocketAddr::V6(_) => wake.set_ip(Ipv6Addr::LOCALHOST.into()),
        }
    }
    wake
}
// ANCHOR_END: ctrl_c

// ANCHOR: shared
/// What the accept loop, the sessions and the shutdown share.
struct Shared {
    limits: Limits,
    /// Set by Ctrl-C: accept no more, and end every session.
    stopping: AtomicBool,
    /// The live sessions by id, each with a second handle on its socket so that the
    /// shutdown can reach it. Its length is the number of sessions running.
    live: Mutex<BTreeMap<u64, Arc<TcpStream>>>,
    /// Notified each time a session ends, for the shutdown to wait on.
    ended: Condvar,
    /// Where sockets go to be closed without a reset (see `close_gently`).
    doorman: Doorman,
    counts: Counts,
}

/// Totals for the summary.
#[derive(Default)]
struct Counts {
    sessions: AtomicU64,
    messages: AtomicU64,
    errors: AtomicU64,
    /// Clients told `busy` because every place was taken.
    turned_away: AtomicU64,
    /// Clients told `busy` because no thread could be started for them.
    no_thread: AtomicU64,
}

impl Shared {
    fn new(limits: Limits, doorman: Doorman) -> Shared {
        Shared {
            limits,
            stopping: AtomicBool::new(false),
            live: Mutex::new(BTreeMap::new()),
            ended: Condvar::new(),
            doorman,
            counts: Counts::default(),
        }
    }

    fn stopping(&self) -> bool {
        self.stopping.load(SeqCst)
    }

    /// The live sessions, locked. (A thread that panicked while holding the lock leaves
    /// it "poisoned"; every change to the map is a single insert or remove, so the map
    /// is still sound and we go on.)
    fn live(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<TcpStream>>> {
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
    fn take(shared: &Arc<Shared>, id: u64, stream: &Arc<TcpStream>) -> Option<(Slot, usize)> {
        let mut live = shared.live();
        if live.len() >= shared.limits.max_sessions {
            return None;
        }
        live.insert(id, Arc::clone(stream));
        let slot = Slot {
            id,
            shared: Arc::clone(shared),
        };
        Some((slot, live.len()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // The socket closes when its last handle goes: the session's, or this one.
        self.shared.live().remove(&self.id);
        self.shared.ended.notify_all();
    }
}
// ANCHOR_END: shared

// ANCHOR: accept_loop
/// Accepts connections until a signal: a thread for each session while there is room,
/// `busy, try again later` for a client beyond the limit.
fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    // A failure that comes again and again is logged once, then counted.
    let mut failed = Repeated::new(Role::Server);
    let max = shared.limits.max_sessions;
    let mut next_id = 1;
    loop {
        let accepted = listener.accept();
        if shared.stopping() {
            // The signal handler's wake-up call, or a client arriving as we stop.
            return;
        }
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // With "too many open files" the connection stays in the queue and the
                // next accept fails at once: pause, so the loop does not spin.
                let ms = ACCEPT_PAUSE.as_millis();
                failed.say(format!("accept failed: {err}; trying again every {ms} ms"));
                thread::sleep(ACCEPT_PAUSE);
                continue;
            }
        };
        failed.end();
        // One socket, two owners: the session's thread and the list of live sessions.
        let stream = Arc::new(stream);
        let Some((slot, running)) = Slot::take(shared, next_id, &stream) else {
            shared.counts.turned_away.fetch_add(1, SeqCst);
            server!("{peer} turned away: {max} of {max} sessions busy");
            turn_away(stream, shared);
            continue;
        };
        server!("#{next_id} {peer} connected ({running} of {max} sessions)");
        start_session(stream, slot, shared);
        next_id += 1;
    }
}

/// Starts the session's thread; a client we cannot start one for is told `busy` too.
fn start_session(stream: Arc<TcpStream>, slot: Slot, shared: &Shared) {
    let id = slot.id;
    let ours = Arc::clone(&stream);
    let started = thread::Builder::new()
        .name(format!("session #{id}"))
        .spawn(move || session(stream, slot));
    match started {
        Ok(_) => {
            shared.counts.sessions.fetch_add(1, SeqCst);
        }
        Err(err) => {
            // Out of threads or memory (EAGAIN). The closure is dropped, and with it the
            // slot (the place is freed) and its handle on the socket: ours is the last.
            shared.counts.no_thread.fetch_add(1, SeqCst);
            server!("#{id} turned away: cannot start a thread ({err})");
            turn_away(ours, shared);
        }
    }
}

/// Tells a client to come back later, then closes gently. The accept loop does it
/// itself, without waiting: a new socket's send buffer is empty, so the short line is
/// copied into it at once.
fn turn_away(stream: Arc<TcpStream>, shared: &Shared) {
    let _ = framing::write_line(&mut &*stream, BUSY.as_bytes());
    close_gently(stream, shared);
}
// ANCHOR_END: accept_loop

// ANCHOR: close_gently
/// Closes without destroying our last line. A socket closed with received bytes unread
/// in it sends a reset (RST), not a FIN: what we wrote and has not left yet is lost, the
/// client's next write fails, and on Windows (its documentation says) the client loses
/// what it has not read yet. So our FIN follows the line at once (the client reads the
/// line, then the end of the stream), and the doorman reads what the client still
/// sends, for at most LINGER, before it closes.
fn close_gently(stream: Arc<TcpStream>, shared: &Shared) {
    let _ = stream.shutdown(Shutdown::Write);
    // When the doorman's places are all taken the socket closes here, at once: the
    // client has our line and FIN already (on Linux it reads both, then the reset).
    let _ = shared.doorman.try_send(stream);
}
// ANCHOR_END: close_gently

// ANCHOR: doorman
/// Where sockets go to be closed gently.
type Doorman = SyncSender<Arc<TcpStream>>;

/// Starts the doorman: one thread that closes gently every socket it is handed.
fn start_doorman() -> Doorman {
    let (doorman, arrivals) = mpsc::sync_channel(DOORMAN_CAP);
    let started = thread::Builder::new()
        .name("doorman".into())
        .spawn(move || doorman_loop(arrivals));
    if let Err(err) = started {
        server!("cannot start the doorman ({err}): sockets close at once, perhaps with a reset");
    }
    doorman
}

/// Reads and throws away what the clients still send, until each closes or LINGER has
/// passed: all of them in one thread (a thread each would let a flood of refused clients
/// cost us a thread each), never blocking on one: each tick it reads every socket in
/// non-blocking mode. An event loop does the same, woken by the kernel instead of a clock.
fn doorman_loop(arrivals: Receiver<Arc<TcpStream>>) {
    let mut closing: Vec<(Arc<TcpStream>, Instant)> = Vec::new();
    loop {
        // With no one to close, sleep until someone arrives; else come back each tick.
        let arrival = if closing.is_empty() {
            arrivals.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            arrivals.recv_timeout(DOORMAN_TICK)
        };
        match arrival {
            Ok(stream) if closing.len() < DOORMAN_CAP && stream.set_nonblocking(true).is_ok() => {
                closing.push((stream, Instant::now() + LINGER));
            }
            Ok(_) | Err(RecvTimeoutError::Timeout) => {} // (no room: dropped, closed)
            Err(RecvTimeoutError::Disconnected) => return,
        }
        // Keep a socket while its client may still be sending: dropping it closes it.
        closing.retain(|(stream, until)| still_sending(stream) && Instant::now() < *until);
    }
}

/// Reads and throws away what has arrived, 64 KB at most (so that a client sending
/// without pause cannot keep the doorman from the others); false once the client has
/// closed (or the socket failed), true while it may still send.
fn still_sending(mut stream: &TcpStream) -> bool {
    let mut sink = [0; 64 * 1024];
    match stream.read(&mut sink) {
        Ok(0) => false,
        Ok(_) => true,
        Err(err) => err.kind() == io::ErrorKind::WouldBlock,
    }
}
// ANCHOR_END: doorman

// ANCHOR: session
/// One client's session, from welcome to close, in its own thread.
fn session(stream: Arc<TcpStream>, slot: Slot) {
    let shared = &slot.shared;
    let mut tally = Tally {
        id: slot.id,
        messages: 0,
        errors: 0,
    };
    let end = match tune(SockRef::from(&*stream), &shared.limits) {
        Ok(()) => converse(&stream, shared, &mut tally),
        Err(err) => End::Failed(err),
    };
    if let Some(line) = end.last_words(&shared.limits) {
        // A last line gets LINGER to leave: no longer, whatever the client does.
        let _ = framing::write_line(&mut Timed::new(&stream, LINGER), line.as_bytes());
    }
    tally.report(&end, shared);
    if let End::TooLong | End::SlowLine = end {
        // The client is in the middle of a line, and the rest of it is coming.
        close_gently(stream, shared);
    }
    // Dropping `slot` frees the place; the socket closes with its last handle.
}

/// How a session ended.
enum End {
    /// The client sent `exit`.
    Exit,
    /// The client closed the connection between lines.
    ClientClosed,
    /// The client closed the connection in the middle of a line.
    ClosedMidLine,
    /// The client sent nothing for the read timeout.
    Idle,
    /// A line took longer than the line timeout to arrive.
    SlowLine,
    /// The client sent a line over the limit.
    TooLong,
    /// A reply took longer than the write timeout to be sent.
    SlowReply,
    /// The server is stopping.
    ShuttingDown,
    /// The socket failed: a reset, or the kernel gave up on the client.
    Failed(io::Error),
}

impl End {
    /// The line the client gets before we close, if any.
    fn last_words(&self, limits: &Limits) -> Option<String> {
        let (idle, line) = (human(limits.read_timeout), human(limits.line_timeout));
        match self {
            End::Idle => Some(format!("bye: nothing received for {idle}, closing")),
            End::SlowLine => Some(format!(
                "bye: a line took longer than {line} to arrive, closing"
            )),
            End::TooLong => Some(format!(
                "error: line longer than {} bytes, closing",
                limits.max_line
            )),
            End::ShuttingDown => Some(GOING_DOWN.into()),
            _ => None,
        }
    }

    /// How the log tells this ending, `after` N messages; `Err` when it is an error.
    fn logged(&self, limits: &Limits, after: &str) -> Result<String, String> {
        let (idle, line) = (human(limits.read_timeout), human(limits.line_timeout));
        let write = human(limits.write_timeout);
        match self {
            End::Exit => Ok(format!("closed {after} (the client sent exit)")),
            End::ClientClosed => Ok(format!("closed {after} (the client closed)")),
            End::ShuttingDown => Ok(format!("closed: server shutting down ({after})")),
            End::ClosedMidLine => Err(format!("closed: the client left mid-line ({after})")),
            End::Idle => Err(format!("timed out after {idle} idle ({after})")),
            End::SlowLine => Err(format!(
                "closed: a line took longer than {line} to arrive ({after})"
            )),
            End::TooLong => Err(format!("closed: line too long ({after})")),
            End::SlowReply => Err(format!(
                "closed: a reply took longer than {write} to send, the client is not \
                 reading ({after})"
            )),
            // On Linux, ETIMEDOUT on a connection: keepalive probes went unanswered, or
            // sent data stayed unacknowledged past TCP_USER_TIMEOUT. The machine is gone.
            End::Failed(err) if err.kind() == io::ErrorKind::TimedOut => Err(format!(
                "closed: the client stopped answering ({after}): {err}"
            )),
            End::Failed(err) => Err(format!("closed by an error {after}: {err}")),
        }
    }

    /// `late` when `err` says one of our deadlines passed, `Failed` for any other error.
    fn failed(err: io::Error, late: End) -> End {
        if is_late(&err) {
            late
        } else {
            End::Failed(err)
        }
    }
}
// ANCHOR_END: session

// ANCHOR: tally
/// One session's counts, and its share of the log.
struct Tally {
    id: u64,
    messages: u64,
    errors: u64,
}

impl Tally {
    /// Logs a client's mistake, the first LOGGED_ERRORS of them only. A client can make
    /// one with every two bytes it sends (`\xff\n`), and each would cost us a log line
    /// of 74: logged in full, a client could write 37 bytes of our log per byte it sends.
    fn error(&mut self, shared: &Shared, what: &str) {
        self.errors += 1;
        shared.counts.errors.fetch_add(1, SeqCst);
        if self.errors <= LOGGED_ERRORS {
            server!("#{} {what}", self.id);
        }
    }

    /// Logs how the session ended, with the count of errors not logged, and counts the
    /// ending as an error when it was one.
    fn report(&self, end: &End, shared: &Shared) {
        let after = format!("after {}", count(self.messages, "message"));
        let what = end.logged(&shared.limits, &after).unwrap_or_else(|error| {
            shared.counts.errors.fetch_add(1, SeqCst);
            error
        });
        match self.errors.saturating_sub(LOGGED_ERRORS) {
            0 => server!("#{} {what}", self.id),
            unlogged => {
                let unlogged = count(unlogged, "more error");
                server!("#{} {what}; {unlogged} not logged", self.id)
            }
        }
    }
}
// ANCHOR_END: tally

/// The socket options of a connection.
fn tune(socket: SockRef, limits: &Limits) -> io::Result<()> {
    // ANCHOR: nodelay
    // TCP_NODELAY turns off Nagle's algorithm, which holds back a small segment while
    // earlier data is unacknowledged, hoping to merge it with more. Two replies in a
    // row (a client sent two lines at once): the second would wait for the ACK of the
    // first, which the client delays, hoping to send it with data: 40 ms on Linux.
    socket.set_tcp_nodelay(!limits.nagle)?;
    // ANCHOR_END: nodelay
    // ANCHOR: send_buffer
    // The send buffer holds what we wrote until the client acknowledges it. Linux lets
    // it grow to 4 MB (net.ipv4.tcp_wmem) for a client that does not read: 256 stuck
    // sessions could pin 1 GB of the kernel's memory. Our replies are a few KB at most.
    if limits.send_buffer > 0 {
        socket.set_send_buffer_size(limits.send_buffer as usize)?;
    }
    // ANCHOR_END: send_buffer
    // ANCHOR: keepalive
    // Keepalive: after a silence, the kernel sends probes (segments the client's kernel
    // must answer); when a machine has vanished none is answered, and after the last
    // one our next read fails with "timed out": 4 silences after the last word heard.
    if !limits.keepalive.is_zero() {
        let every = limits.keepalive;
        let keepalive = TcpKeepalive::new().with_time(every).with_interval(every);
        // The count is TCP_KEEPCNT: Linux, macOS, and Windows 10 version 1703 and later
        // (older Windows always sends 10 probes, its documentation says).
        let keepalive = keepalive.with_retries(KEEPALIVE_PROBES);
        socket.set_tcp_keepalive(&keepalive)?;
    }
    // TCP_USER_TIMEOUT: how long sent data may stay unacknowledged before the kernel
    // gives up on the connection (without it, Linux retransmits for about 15 minutes).
    #[cfg(target_os = "linux")]
    if !limits.user_timeout.is_zero() {
        socket.set_tcp_user_timeout(Some(limits.user_timeout))?;
    }
    // ANCHOR_END: keepalive
    Ok(())
}

// ANCHOR: converse
/// The dialogue, one line each way: `Welcome!`, then `Hello, NAME!` for each line,
/// until `exit`. Only this thread writes to the socket, so replies never interleave.
fn converse(stream: &TcpStream, shared: &Shared, tally: &mut Tally) -> End {
    let limits = &shared.limits;
    // Lines come in through a buffered reader; each wait has its deadline (next_line).
    let mut lines = BufReader::new(Timed::new(stream, limits.read_timeout));
    // ANCHOR: reply
    let reply = |text: &str| {
        // One deadline for the whole reply, however many writes it takes.
        let mut writer = Timed::new(stream, limits.write_timeout);
        framing::write_line(&mut writer, text.as_bytes())
            .map_err(|err| End::failed(err, End::SlowReply))
    };
    // ANCHOR_END: reply
    if let Err(end) = reply("Welcome!") {
        return end;
    }
    loop {
        let line = match next_line(&mut lines, shared) {
            Ok(line) => line,
            Err(end) => return end,
        };
        tally.messages += 1;
        shared.counts.messages.fetch_add(1, SeqCst);
        let text = match String::from_utf8(line) {
            Ok(text) if text == "exit" => return End::Exit,
            Ok(text) => format!("Hello, {text}!"),
            Err(err) => {
                // Name the bad byte and where it is, so that the client's author can
                // find it; the line is refused, the session goes on.
                let at = err.utf8_error().valid_up_to();
                let problem = format!("invalid byte 0x{:02x} at offset {at}", err.as_bytes()[at]);
                tally.error(
                    shared,
                    &format!("sent a line that is not UTF-8 ({problem})"),
                );
                format!("error: not UTF-8 ({problem}); send text")
            }
        };
        if let Err(end) = reply(&text) {
            return end;
        }
    }
}
// ANCHOR_END: converse

// ANCHOR: next_line
/// The next line: first a wait of up to the read timeout for its first byte, then the
/// line timeout for the whole line, however slowly its bytes come. `Err` says how the
/// session ends instead.
fn next_line(lines: &mut BufReader<Timed<'_>>, shared: &Shared) -> Result<Vec<u8>, End> {
    let limits = &shared.limits;
    if shared.stopping() {
        return Err(End::ShuttingDown);
    }
    lines.get_mut().deadline = Instant::now() + limits.read_timeout;
    match lines.fill_buf() {
        // The end of the stream: our shutdown closed the reading side to wake us, or
        // the client closed its sending side.
        Ok([]) if shared.stopping() => return Err(End::ShuttingDown),
        Ok([]) => return Err(End::ClientClosed),
        Ok(_) => {}
        Err(err) => return Err(End::failed(err, End::Idle)),
    }
    // The line has begun: all of it must be here within the line timeout. Without this
    // deadline, a client sending one byte every 29 s would hold this thread forever.
    lines.get_mut().deadline = Instant::now() + limits.line_timeout;
    // read_line never holds more than max_line bytes (+2 for `\r\n`), whatever comes.
    match framing::read_line(lines, limits.max_line) {
        Ok(Some(line)) => Ok(line),
        // The end of the stream in the middle of a line: our shutdown (the client gets
        // its goodbye all the same), or the client left.
        Ok(None) | Err(FrameError::Truncated { .. }) if shared.stopping() => Err(End::ShuttingDown),
        Ok(None) | Err(FrameError::Truncated { .. }) => Err(End::ClosedMidLine),
        // The rest of the line is still coming and nothing tells where the next line
        // begins: the only safe way on is to close.
        Err(FrameError::TooLong { .. }) => Err(End::TooLong),
        Err(FrameError::Io(err)) => Err(End::failed(err, End::SlowLine)),
    }
}
// ANCHOR_END: next_line

// ANCHOR: deadline
/// A socket whose reads or writes must all be done by one deadline. The socket's own
/// timeouts (SO_RCVTIMEO, SO_SNDTIMEO) bound each call, not a whole line or reply:
/// `write_all` calls `write` again after each partial write, and each call would get a
/// fresh timeout, so a client reading a little at a time could make one reply last for
/// ever. So before each call, `Timed` sets the socket's timeout to what is left.
struct Timed<'a> {
    stream: &'a TcpStream,
    deadline: Instant,
}

impl Timed<'_> {
    fn new(stream: &TcpStream, within: Duration) -> Timed<'_> {
        let deadline = Instant::now() + within;
        Timed { stream, deadline }
    }

    /// The time left, or the error that says the deadline has passed. (The socket
    /// calls refuse a timeout of zero: to them it means "no timeout".)
    fn left(&self) -> io::Result<Duration> {
        match self.deadline.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(left),
            _ => Err(late()),
        }
    }
}

impl Read for Timed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            self.stream.set_read_timeout(Some(self.left()?))?;
            match self.stream.read(buf) {
                // The socket's timer ran out: `left` says whether our deadline did.
                Err(err) if timer_ran_out(&err) => continue,
                done => return done,
            }
        }
    }
}

impl Write for Timed<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            self.stream.set_write_timeout(Some(self.left()?))?;
            match self.stream.write(buf) {
                Err(err) if timer_ran_out(&err) => continue,
                done => return done,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The error of a deadline that has passed: made by us, so it carries no error number
/// of the system. That tells it apart from the kernel's own "timed out" (ETIMEDOUT, on
/// Linux: it gave up on the client, after keepalive or TCP_USER_TIMEOUT).
fn late() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the deadline passed")
}

fn is_late(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::TimedOut && err.raw_os_error().is_none()
}

/// True for the error of a socket whose own timer ran out: EAGAIN on Unix
/// (WouldBlock), WSAETIMEDOUT on Windows (TimedOut). The timer counts in the kernel's
/// clock ticks, not exactly the time it was given: the deadline decides, not the timer.
fn timer_ran_out(err: &io::Error) -> bool {
    if cfg!(windows) {
        err.kind() == io::ErrorKind::TimedOut
    } else {
        err.kind() == io::ErrorKind::WouldBlock
    }
}
// ANCHOR_END: deadline

// ANCHOR: shutdown
/// After a signal to stop: ends every session, waits for them up to the grace period,
/// and prints the summary, which it returns.
fn shutdown(shared: &Shared) -> String {
    let grace = human(shared.limits.shutdown_grace);
    let live = shared.live();
    if live.is_empty() {
        server!("stopped accepting; no session is running");
    } else {
        let sessions = count(live.len() as u64, "session");
        server!(
            "stopped accepting; telling {sessions} the server is going down (waiting up to {grace})"
        );
    }
    for stream in live.values() {
        // Shutting down the reading side wakes a session blocked in read(): it reads the
        // end of the stream (even mid-line), sees `stopping`, and writes the goodbye
        // itself, so that it cannot land inside a reply. A session blocked in a write
        // waits for its reply's deadline: the grace period bounds our wait.
        let _ = stream.shutdown(Shutdown::Read);
    }
    // Wait (the lock released meanwhile) until every slot is dropped, or the deadline.
    let (live, _) = shared
        .ended
        .wait_timeout_while(live, shared.limits.shutdown_grace, |live| !live.is_empty())
        .unwrap_or_else(PoisonError::into_inner);

    // The sessions' last lines first: the summary closes the log.
    say::flush_log(LOG_FLUSH);
    let counts = &shared.counts;
    let summary = format!(
        "summary: {} served, {}, {}; turned away busy: {} at the session limit, {} for \
         want of a thread",
        count(counts.sessions.load(SeqCst), "session"),
        count(counts.messages.load(SeqCst), "message"),
        count(counts.errors.load(SeqCst), "error"),
        counts.turned_away.load(SeqCst),
        counts.no_thread.load(SeqCst),
    );
    server!("{summary}");
    if !live.is_empty() {
        let ids: Vec<_> = live.keys().map(|id| format!("#{id}")).collect();
        server!(
            "{} still running at the deadline ({}), cut off as the server exits",
            count(ids.len() as u64, "session"),
            ids.join(", ")
        );
    }
    summary
}
// ANCHOR_END: shutdown

/// `30 s`, or `200 ms` when it is not whole seconds.
fn human(duration: Duration) -> String {
    match duration.as_millis() {
        ms if ms >= 1000 && ms % 1000 == 0 => format!("{} s", ms / 1000),
        ms => format!("{ms} ms"),
    }
}

/// `1 message`, `4 messages`.
fn count(n: u64, what: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{n} {what}{s}")
}
