//! # Lesson 04: the article's client
//!
//! Connects to the session server of lesson 03, prints its welcome, sends the names
//! `Michael`, `Tracy` and `Sarah` one at a time (each printed with the reply it got),
//! then sends `exit` and closes. Start the server first, in another terminal:
//!
//! ```text
//! cargo run --example 03_server
//! cargo run --example 04_client
//! cargo run --example 04_client -- 127.0.0.1:1234 Alice Bob
//! cargo run --example 04_client -- localhost:1234    # a name: every address it gives
//! cargo run --example 04_client -- --interactive     # type your own lines
//! ```
//!
//! Given a host name, the client shows every address the name resolved to and tries
//! them one after the other, as Rust's `TcpStream::connect` does, until one answers.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;
use tcp_lessons::args::{Args, parse_address};
use tcp_lessons::client;
use tcp_lessons::say::{self, explain, fail};

/// The server, as the article's client has it.
const ADDRESS: &str = "127.0.0.1:1234";
/// The article's names.
const NAMES: [&str; 3] = ["Michael", "Tracy", "Sarah"];
const TIMEOUT_MS: u64 = 10_000;

fn usage() -> String {
    indoc::formatdoc! {"
        usage: 04_client [ADDRESS] [NAME ...] [OPTIONS]

        The article's client: print the server's welcome, send each NAME and print the
        reply, then send `exit` and close.

        arguments:
          ADDRESS          the server, IP:PORT or HOST:PORT (default {ADDRESS}); a host
                           name may stand for several addresses, tried one after the other
          NAME ...         the names to send (default: {names})

        options:
          --interactive    send the lines you type instead; stop at `exit` or end of
                           input (Ctrl-D; on Windows Ctrl-Z, then Enter)
          --timeout-ms MS  how long to wait for the handshake and for each reply
                           (default {TIMEOUT_MS})
          -h, --help       show this text

        examples:
          cargo run --example 04_client
          cargo run --example 04_client -- 127.0.0.1:1234 Alice Bob
          cargo run --example 04_client -- localhost:1234
          cargo run --example 04_client -- --interactive
    ", names = NAMES.join(" ")}
}

// ANCHOR: main
fn main() {
    let mut args = Args::from_env(&usage());
    let interactive = args.flag("--interactive");
    let timeout_ms = args.value("--timeout-ms", TIMEOUT_MS);
    if timeout_ms == 0 {
        args.refuse("--timeout-ms 0: a timeout must be at least 1 ms");
    }
    let timeout = Duration::from_millis(timeout_ms);
    let server = args.positional().unwrap_or_else(|| ADDRESS.to_string());
    let addrs = resolve(&server).unwrap_or_else(|why| args.refuse(why));
    let mut names = args.rest();
    args.finish();
    if names.is_empty() {
        names = NAMES.map(String::from).to_vec();
    }

    let mut stream = connect(&server, &addrs, timeout).unwrap_or_else(|why| fail(why));
    let outcome = if interactive {
        talk_interactively(&mut stream)
    } else {
        talk(&mut stream, &names)
    };
    if let Err(err) = outcome {
        fail(format!("the conversation broke off: {err}"));
    }
    // Dropping the stream closes our side: the server reads 0 bytes and ends the session.
    client!("closed the connection");
}
// ANCHOR_END: main

// ANCHOR: connect
/// Every address `server` stands for: one for an `IP:PORT`, one or more for a
/// `HOST:PORT`, in the order the system's resolver gives them (`/etc/hosts`, then DNS).
fn resolve(server: &str) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = match server.to_socket_addrs() {
        Ok(addrs) => addrs.collect(),
        Err(_) => Vec::new(),
    };
    if addrs.is_empty() {
        // Say why in the words every lesson uses ("is a port, not an address", ...).
        return Err(parse_address(server)
            .err()
            .unwrap_or_else(|| format!("{server:?} resolves to no address")));
    }
    Ok(addrs)
}

/// Connects to the first of `addrs` that answers, trying them one after the other as
/// std's `TcpStream::connect` does, and bounds every later read so that a silent
/// server cannot hang us forever.
fn connect(server: &str, addrs: &[SocketAddr], timeout: Duration) -> Result<TcpStream, String> {
    if server.parse::<SocketAddr>().is_err() {
        let all: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        client!("{server} resolved to {}", all.join(", "));
    }
    let mut why = String::new();
    for (i, addr) in addrs.iter().enumerate() {
        // `connect` sends the SYN and returns once the three-way handshake is done. The
        // kernel picks our own address and an ephemeral port.
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(stream) => {
                stream
                    .set_read_timeout(Some(timeout))
                    .map_err(|err| format!("{addr}: {err}"))?;
                let local = stream.local_addr().map_or("?".into(), |a| a.to_string());
                client!("connected to {addr} from {local}");
                return Ok(stream);
            }
            Err(err) if i + 1 < addrs.len() => {
                client!("{addr}: {err}; trying the next address");
            }
            Err(err) if err.kind() == io::ErrorKind::TimedOut => {
                why = format!(
                    "{addr}: no answer to our SYN within {} ms: is the address right? \
                     (a SYN that is lost, or dropped by a firewall, looks like this)",
                    timeout.as_millis()
                );
            }
            Err(err) => why = explain(&err, *addr),
        }
    }
    Err(why)
}
// ANCHOR_END: connect

// ANCHOR: talk
// ANCHOR: dialogue
/// The article's dialogue: welcome, one reply per name, then `exit`.
fn talk(stream: &mut TcpStream, names: &[String]) -> io::Result<()> {
    receive(stream, None)?;
    for name in names {
        send(stream, name)?;
        receive(stream, Some(name))?;
    }
    send(stream, "exit")
}

/// Sends one message: the bytes alone, no line ending, as the article's client does.
fn send(stream: &mut TcpStream, message: &str) -> io::Result<()> {
    stream.write_all(message.as_bytes())?;
    client!("sent     {message:?}");
    Ok(())
}

/// Reads once, up to 1024 bytes, and prints what came: the article's `recv(1024)`.
/// Over loopback, with the server pausing, one read holds one reply; lesson 05 shows
/// when it does not. `sent` is the message this is the reply to (`None`: the welcome).
fn receive(stream: &mut TcpStream, sent: Option<&str>) -> io::Result<String> {
    let mut buffer = [0; 1024];
    let n = stream
        .read(&mut buffer)
        .map_err(|err| no_reply(err, sent, stream.read_timeout()))?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        ));
    }
    let reply = String::from_utf8_lossy(&buffer[..n]).into_owned();
    client!("received {reply:?}");
    Ok(reply)
}
// ANCHOR_END: dialogue

// ANCHOR: no_reply
/// Says what a failed read means at this point of the dialogue.
fn no_reply(
    err: io::Error,
    sent: Option<&str>,
    timeout: io::Result<Option<Duration>>,
) -> io::Error {
    let ms = timeout.ok().flatten().map_or(0, |t| t.as_millis());
    let why = match (err.kind(), sent) {
        (io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut, None) => format!(
            "connected, but no welcome within {ms} ms: is this a server that speaks first? \
             (03_server sends Welcome!)"
        ),
        (io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut, Some(message)) => format!(
            "the server welcomed us but sent no reply to {message:?} within {ms} ms: does \
             it wait for a line ending, as 06_hardened_server does? This client sends \
             none, as the article's"
        ),
        (io::ErrorKind::ConnectionReset, _) => "the server reset the connection".into(),
        _ => err.to_string(),
    };
    io::Error::new(err.kind(), why)
}
// ANCHOR_END: no_reply
// ANCHOR_END: talk

// ANCHOR: interactive
/// Sends each line typed on stdin (without its line ending) and prints the reply.
fn talk_interactively(stream: &mut TcpStream) -> io::Result<()> {
    receive(stream, None)?;
    let typing = io::stdin().is_terminal();
    let mut lines = io::stdin().lock().lines();
    for number in 1.. {
        if typing {
            say::out_text("> ");
        }
        let line = match lines.next() {
            Some(Ok(line)) => line,
            // Our own input failed, not the connection: say which.
            Some(Err(err)) => fail(bad_input(&err, number)),
            // End of input (Ctrl-D; Ctrl-Z then Enter on Windows): say goodbye the way the
            // article's client does.
            None => return send(stream, "exit"),
        };
        if line.is_empty() {
            // Zero bytes would send nothing at all: the server would wait, and so would we.
            continue;
        }
        send(stream, &line)?;
        if line == "exit" {
            return Ok(());
        }
        receive(stream, Some(&line))?;
    }
    Ok(())
}

/// Why line `number` of our input could not be read, in words.
fn bad_input(err: &io::Error, number: u64) -> String {
    if err.kind() == io::ErrorKind::InvalidData {
        format!(
            "line {number} of your input is not UTF-8 text, and this client sends text: \
             stopped there (nothing of that line was sent)"
        )
    } else {
        format!("cannot read line {number} of your input: {err}")
    }
}
// ANCHOR_END: interactive
