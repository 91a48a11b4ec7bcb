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
//! cargo run --example 04_client -- --interactive     # type your own lines
//! ```

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use tcp_lessons::args::Args;
use tcp_lessons::client;
use tcp_lessons::say::{explain, fail};

const USAGE: &str = indoc::indoc! {"
    usage: 04_client [ADDRESS] [NAME ...] [--interactive] [--timeout-ms MS]

    The article's client: print the server's welcome, send each NAME and print the
    reply, then send `exit` and close.

      ADDRESS          the server (default 127.0.0.1:1234)
      NAME ...         the names to send (default: Michael Tracy Sarah)
      --interactive    send the lines you type instead; stop at `exit` or end of input
                       (Ctrl-D)
      --timeout-ms MS  how long to wait for each reply before giving up (default 10000)
      --help           show this text
"};

// ANCHOR: main
fn main() {
    let mut args = Args::from_env(USAGE);
    let interactive = args.flag("--interactive");
    let timeout = Duration::from_millis(args.value("--timeout-ms", 10_000));
    let addr = args.address("127.0.0.1:1234");
    let mut names = args.rest();
    args.finish();
    if names.is_empty() {
        names = ["Michael", "Tracy", "Sarah"].map(String::from).to_vec();
    }

    let mut stream = connect(addr, timeout).unwrap_or_else(|err| fail(explain(&err, addr)));
    let outcome = if interactive {
        talk_interactively(&mut stream)
    } else {
        talk(&mut stream, &names)
    };
    if let Err(err) = outcome {
        fail(format!(
            "the conversation broke off: {}",
            explain(&err, addr)
        ));
    }
    // Dropping the stream closes our side: the server reads 0 bytes and ends the session.
    client!("closed the connection");
}
// ANCHOR_END: main

// ANCHOR: connect
/// Connects, and bounds every later read so a silent server cannot hang us forever.
fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    // `connect` sends the SYN and returns once the three-way handshake is done. The
    // kernel picks our own address and an ephemeral port.
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    client!(
        "connected to {addr} from {}",
        stream.local_addr().map_or("?".into(), |a| a.to_string())
    );
    Ok(stream)
}
// ANCHOR_END: connect

// ANCHOR: talk
/// The article's dialogue: welcome, one reply per name, then `exit`.
fn talk(stream: &mut TcpStream, names: &[String]) -> io::Result<()> {
    receive(stream)?;
    for name in names {
        send(stream, name)?;
        receive(stream)?;
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
/// when it does not.
fn receive(stream: &mut TcpStream) -> io::Result<String> {
    let mut buffer = [0; 1024];
    let n = stream.read(&mut buffer)?;
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
// ANCHOR_END: talk

// ANCHOR: interactive
/// Sends each line typed on stdin (without its line ending) and prints the reply.
fn talk_interactively(stream: &mut TcpStream) -> io::Result<()> {
    receive(stream)?;
    let typing = io::stdin().is_terminal();
    let mut lines = io::stdin().lock().lines();
    loop {
        if typing {
            print!("> ");
            io::stdout().flush()?;
        }
        let Some(line) = lines.next().transpose()? else {
            // End of input (Ctrl-D): say goodbye the way the article's client does.
            return send(stream, "exit");
        };
        if line.is_empty() {
            // Zero bytes would send nothing at all: the server would wait, and so would we.
            continue;
        }
        send(stream, &line)?;
        if line == "exit" {
            return Ok(());
        }
        receive(stream)?;
    }
}
// ANCHOR_END: interactive
