//! # Lesson 03: the article's session server, one thread per connection
//!
//! The server of the article, in Rust. It listens on 127.0.0.1:1234 and, for every
//! client that connects, starts a thread that runs one *session*: send `Welcome!`, then
//! for each message received reply `Hello, <message>!`, until the client sends `exit` or
//! closes the connection.
//!
//! Run it, then talk to it from a second terminal (it prints the exact commands, with
//! the port it really got):
//!
//! ```text
//! cargo run --example 03_server
//! cargo run --example 04_client          # the article's client
//! nc 127.0.0.1 1234                      # or type lines yourself
//! ```
//!
//! Where the article's code breaks, this lesson does not: a line ending from `nc` is
//! understood, bytes that are not UTF-8 do not kill the session, one client's error does
//! not stop the others, and every reply is sent whole with `write_all`. The server itself
//! survives what a busy machine throws at it: running out of file descriptors (it rests
//! instead of spinning), a stdout nobody reads (its log waits, its clients do not), and
//! more clients than the machine has room for (they are told `busy` before the process
//! could run out of memory mappings and abort).

use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::Duration;
use tcp_lessons::args::Args;
use tcp_lessons::ceiling::{self, thousands};
use tcp_lessons::say::{self, OnBrokenStdout, Repeated, Role, excerpt, explain, fail};
use tcp_lessons::{kernel, server};

/// Where the article's server listens.
const ADDRESS: &str = "127.0.0.1:1234";
/// The article's `listen(5)`.
const BACKLOG: i32 = 5;
/// The article's pause after each read: `time.sleep(1)`.
const PAUSE_MS: u64 = 1000;
/// The most bytes one read takes, as the article's `recv(1024)`.
const READ_SIZE: usize = 1024;
/// How long the accept loop rests after a failed `accept`.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// What a client receives instead of `Welcome!` when the server has no room for it.
const BUSY: &str = "busy, try again later";

fn usage() -> String {
    let rest_ms = ACCEPT_PAUSE.as_millis();
    indoc::formatdoc! {"
        usage: 03_server [ADDRESS] [OPTIONS]

        The article's TCP session server: one thread per client, `Welcome!`, then
        `Hello, NAME!` for every message, until the client sends `exit` or closes.
        It takes as many sessions at once as this machine has room for (it says how
        many when it starts) and answers a client beyond them `{BUSY}`.
        After a failed accept (out of file descriptors) it rests {rest_ms} ms.

        arguments:
          ADDRESS         where to listen (default {ADDRESS}; 127.0.0.1:0 picks a free port)

        options:
          --backlog N     length of the queue of connections waiting for accept (default {BACKLOG})
          --pause-ms MS   pause after each read, as the article's time.sleep(1) (default {PAUSE_MS})
          --quiet         do not log every read (a line per message costs time: lesson 08)
          -h, --help      show this text

        examples:
          cargo run --example 03_server
          cargo run --example 03_server -- 127.0.0.1:0 --pause-ms 0
          cargo run --example 03_server -- --help    (flags go after --; before it they are cargo's)
    "}
}

// ANCHOR: main
/// How each session behaves, from the command line.
#[derive(Clone, Copy)]
struct Options {
    /// The article's `time.sleep(1)` after each read.
    pause: Duration,
    /// Log every read: useful to watch, but a line per message costs time.
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
    // A server's log is for watching it, and must never stop it: if stdout is closed
    // (`03_server | head`) or full, the server says so once on stderr and serves on,
    // and its lines go through a logger thread, so no session waits for stdout.
    say::on_broken_stdout(OnBrokenStdout::KeepGoing);
    say::log_in_background();

    let listener = listen(addr, backlog).unwrap_or_else(|err| fail(explain(&err, addr)));
    // The port we asked for may be 0 ("any free port"): ask the socket which one it got.
    let local = listener.local_addr().unwrap_or(addr);
    let pause_ms = options.pause.as_millis();
    server!("listening on {local} (backlog {backlog}, pause {pause_ms} ms)");
    let limit = session_limit();
    how_to_connect(local);
    server!("waiting for client connections...");
    accept_loop(&listener, options, limit);
}

/// The commands that reach this server, with the port it really got: on a shared
/// machine port 1234 may belong to someone else's server.
fn how_to_connect(local: SocketAddr) {
    // A server listening on every address (0.0.0.0 or ::) is reached on this machine
    // through the loopback address.
    let ip = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let port = local.port();
    let to = SocketAddr::new(ip, port);
    let client = format!("cargo run --example 04_client -- {to}");
    server!("talk to it from a second terminal, with one of:\n  {client}\n  nc {ip} {port}");
}
// ANCHOR_END: main

// ANCHOR: listen
/// Creates the listening socket step by step, as lesson 02 shows.
fn listen(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // Lets a restarted server bind its port while connections of the previous one sit
    // in TIME_WAIT (60 s on Linux), instead of failing with "Address already in use".
    // Linux allows it only if those old sockets had SO_REUSEADDR too, as 03's have.
    // On Windows the option means something else: it lets a second socket bind a port
    // that is in use, even by a listening server, so a second 03 would start without an
    // error and share the port. Windows needs no option to bind past TIME_WAIT, so it
    // stays off there (Microsoft: "Using SO_REUSEADDR and SO_EXCLUSIVEADDRUSE").
    #[cfg(not(windows))]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    // From here the kernel completes handshakes on its own and queues up to about
    // `backlog` finished connections until we accept them.
    socket.listen(backlog)?;
    Ok(socket.into())
}
// ANCHOR_END: listen

// ANCHOR: limit
/// How many sessions this machine has room for, read once and said once: each session
/// is a thread and a socket, and the limits on both are the machine's (see
/// `src/ceiling.rs`). Past one of them, Linux would not just refuse a thread: the
/// whole process could abort.
fn session_limit() -> usize {
    // A session holds one descriptor: its socket.
    let ceiling = ceiling::sessions(1);
    for limit in &ceiling.limits {
        kernel!("{limit}");
    }
    if ceiling.sessions == usize::MAX {
        server!("no limit on sessions known; a client is dropped if its thread cannot start");
    } else {
        let most = thousands(ceiling.sessions);
        server!("at most {most} sessions at once; a client beyond them is told {BUSY:?}");
    }
    ceiling.sessions
}
// ANCHOR_END: limit

// ANCHOR: accept_loop
// ANCHOR: accept
/// Accepts connections forever, and gives each its own thread while there is room.
fn accept_loop(listener: &TcpListener, options: Options, limit: usize) -> ! {
    // A failure that comes again and again is logged once, then counted.
    let mut failed = Repeated::new(Role::Server);
    let mut turned_away = Repeated::new(Role::Server);
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors (EMFILE), the usual cause: the connection
                // stays in the queue and the next accept fails at once, thousands of
                // times a second. Rest, so the loop does not spin, and try again: a
                // session that ends gives a descriptor back.
                let ms = ACCEPT_PAUSE.as_millis();
                failed.say(format!("accept failed: {err}; trying again every {ms} ms"));
                thread::sleep(ACCEPT_PAUSE);
                continue;
            }
        };
        failed.end();
        if RUNNING.load(SeqCst) >= limit {
            let most = thousands(limit);
            turned_away.say(format!(
                "no room: {most} sessions running; a client told busy"
            ));
            turn_away(stream);
            continue;
        }
        turned_away.end();
        start_session(stream, peer, options);
    }
}
// ANCHOR_END: accept

// ANCHOR: sessions
/// Sessions running now: the accept loop counts each one in, and a [`Place`] counts
/// it out.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// A session's place among the running ones, given back when it is dropped: when the
/// session ends, however it ends, or at once if its thread cannot start.
struct Place;

impl Drop for Place {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, SeqCst);
    }
}

/// Starts a thread that runs one client's session.
fn start_session(stream: TcpStream, peer: SocketAddr, options: Options) {
    RUNNING.fetch_add(1, SeqCst);
    let place = Place;
    // A thread per connection: while one session sleeps or waits for its client, the
    // others go on.
    let spawned = thread::Builder::new()
        .name(format!("session {peer}"))
        .spawn(move || {
            session(stream, peer, options);
            drop(place);
        });
    if let Err(err) = spawned {
        // Out of threads or memory: the closure is dropped, and with it the stream (the
        // connection closes) and the place. Drop this client, keep serving.
        server!("cannot start a thread for {peer}: {err}; connection dropped");
    }
}
// ANCHOR_END: sessions

// ANCHOR: turn_away
/// Tells a client we have no room for to come back later, and closes. The accept loop
/// does it itself: a client beyond the limit gets no thread.
fn turn_away(mut stream: TcpStream) {
    // A new socket's send buffer is empty: this short write is copied into it at once,
    // without waiting for the client. Dropping the stream then closes the connection.
    let _ = stream.write_all(BUSY.as_bytes());
}
// ANCHOR_END: turn_away
// ANCHOR_END: accept_loop

// ANCHOR: session
/// One client's session, from welcome to close.
fn session(mut stream: TcpStream, peer: SocketAddr, options: Options) {
    server!("welcome new client {peer}...");
    match converse(&mut stream, peer, options) {
        Ok(()) => server!("connection from {peer} closed."),
        // A reset or a broken pipe ends this session only.
        Err(err) => server!("connection from {peer} closed after an error: {err}"),
    }
    // Dropping `stream` here closes the socket, as the article's `sock.close()`.
}

/// The dialogue: `Welcome!`, then one `Hello, NAME!` per message, until `exit`.
fn converse(stream: &mut TcpStream, peer: SocketAddr, options: Options) -> io::Result<()> {
    // `write_all` keeps writing until every byte is handed to the kernel; a single
    // `write` (the article's `send`) may take only part of them.
    stream.write_all(b"Welcome!")?;
    let mut buffer = [0; READ_SIZE];
    loop {
        // One read returns the bytes that have arrived so far, at most 1024 (0 once
        // the client has closed); it does not know where one message ends and the
        // next begins (lesson 05 shows what that does).
        let n = stream.read(&mut buffer)?;
        if options.log_reads {
            // `excerpt` quotes a short message whole and a long one cut to its ends:
            // whatever a client sends, the line stays short.
            server!("read {n} bytes from {peer}: {}", excerpt(&buffer[..n]));
        }
        thread::sleep(options.pause);
        // A read of 0 bytes means the client closed its side: the session is over.
        if n == 0 {
            return Ok(());
        }
        let (text, line_ending) = split_line_ending(&buffer[..n]);
        // Bytes that are not UTF-8 become U+FFFD instead of an error that ends the
        // session (the article's `decode('utf-8')` raises there).
        let text = String::from_utf8_lossy(text);
        if text == "exit" {
            return Ok(());
        }
        stream.write_all(format!("Hello, {text}!{line_ending}").as_bytes())?;
    }
}
// ANCHOR_END: session

// ANCHOR: line_ending
/// Splits a trailing `\r\n` or `\n` off the message. `nc` and `telnet` send one after
/// every line; the article's client sends none. The reply ends the way the message did,
/// so both kinds of client see what they expect.
fn split_line_ending(message: &[u8]) -> (&[u8], &'static str) {
    if let Some(text) = message.strip_suffix(b"\r\n") {
        (text, "\r\n")
    } else if let Some(text) = message.strip_suffix(b"\n") {
        (text, "\n")
    } else {
        (message, "")
    }
}
// ANCHOR_END: line_ending
