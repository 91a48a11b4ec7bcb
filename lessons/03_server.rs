//! # Lesson 03: the article's session server, one thread per connection
//!
//! The server of the article, in Rust. It listens on 127.0.0.1:1234 and, for every
//! client that connects, starts a thread that runs one *session*: send `Welcome!`, then
//! for each message received reply `Hello, <message>!`, until the client sends `exit` or
//! closes the connection.
//!
//! Run it, then talk to it from a second terminal:
//!
//! ```text
//! cargo run --example 03_server
//! cargo run --example 04_client          # the article's client
//! nc 127.0.0.1 1234                      # or type lines yourself
//! ```
//!
//! Where the article's code breaks, this lesson does not: a line ending from `nc` is
//! understood, bytes that are not UTF-8 do not kill the session, one client's error does
//! not stop the others, and every reply is sent whole with `write_all`.

use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;
use tcp_lessons::args::Args;
use tcp_lessons::say::{explain, fail};
use tcp_lessons::server;

const USAGE: &str = indoc::indoc! {"
    usage: 03_server [ADDRESS] [--backlog N] [--pause-ms MS] [--quiet]

    The article's TCP session server: one thread per client, `Welcome!`, then
    `Hello, NAME!` for every message, until the client sends `exit` or closes.

      ADDRESS         where to listen (default 127.0.0.1:1234; 127.0.0.1:0 picks a free port)
      --backlog N     length of the queue of connections waiting for accept (default 5)
      --pause-ms MS   pause after each read, as the article's time.sleep(1) (default 1000)
      --quiet         do not log every read (a line per message costs time: lesson 08)
      --help          show this text

    Then, in a second terminal: cargo run --example 04_client  (or: nc 127.0.0.1 1234)
"};

/// The most bytes one read takes, as the article's `recv(1024)`.
const READ_SIZE: usize = 1024;

// ANCHOR: main
/// How each session behaves, from the command line.
#[derive(Clone, Copy)]
struct Options {
    /// The article's `time.sleep(1)` after each read.
    pause: Duration,
    /// Log every read: useful to watch, but a line per message costs a system call.
    log_reads: bool,
}

fn main() {
    let mut args = Args::from_env(USAGE);
    let backlog: i32 = args.value("--backlog", 5);
    let options = Options {
        pause: Duration::from_millis(args.value("--pause-ms", 1000)),
        log_reads: !args.flag("--quiet"),
    };
    let addr = args.address("127.0.0.1:1234");
    args.finish();

    let listener = listen(addr, backlog).unwrap_or_else(|err| fail(explain(&err, addr)));
    // The port we asked for may be 0 ("any free port"): ask the socket which one it got.
    let local = listener.local_addr().unwrap_or(addr);
    server!("listening on {local} (backlog {backlog})");
    server!("waiting for client connections...");
    accept_loop(&listener, options);
}
// ANCHOR_END: main

// ANCHOR: listen
/// Creates the listening socket step by step, as lesson 02 shows.
fn listen(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // Lets a restarted server bind its port again while old connections sit in
    // TIME_WAIT, instead of failing with "Address already in use" for a minute.
    // (On Windows the option lets another socket take the port: it stays off there.)
    #[cfg(not(windows))]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    // From here the kernel completes handshakes on its own and queues up to about
    // `backlog` finished connections until we accept them.
    socket.listen(backlog)?;
    Ok(socket.into())
}
// ANCHOR_END: listen

// ANCHOR: accept_loop
/// Accepts connections forever, and gives each its own thread.
fn accept_loop(listener: &TcpListener, options: Options) -> ! {
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                // A thread per connection: while one session sleeps or waits for its
                // client, the others go on.
                let spawned = thread::Builder::new()
                    .name(format!("session {peer}"))
                    .spawn(move || session(stream, peer, options));
                if let Err(err) = spawned {
                    // Out of threads or memory: drop this client, keep serving.
                    server!("cannot start a thread for {peer}: {err}; connection dropped");
                }
            }
            // Too many open files (EMFILE), or, on some systems, a connection reset
            // before we took it: this one connection is lost, the server is not.
            Err(err) => server!("accept failed: {err}; still waiting"),
        }
    }
}
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
            let received = String::from_utf8_lossy(&buffer[..n]);
            server!("read {n} bytes from {peer}: {received:?}");
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
