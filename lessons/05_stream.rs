//! # Lesson 05: TCP carries bytes, not messages
//!
//! The article's server takes each `recv(1024)` to be one message. TCP promises less:
//! the bytes arrive complete and in order, but not in the pieces they were written in.
//! This lesson talks to lesson 03's server and shows each way "one read = one message"
//! breaks, then fixes it twice with framing (`src/framing.rs`): lines, and a length
//! prefix.
//!
//! ```text
//! cargo build --example 03_server     # the lesson starts it on a free port
//! cargo run --example 05_stream
//! cargo run --example 05_stream -- 127.0.0.1:1234   # or use a 03_server you started
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;
use tcp_lessons::args::Args;
use tcp_lessons::framing::{self, FrameError};
use tcp_lessons::say::{self, Role, explain, fail, heading};
use tcp_lessons::{client, note, server};

const USAGE: &str = indoc::indoc! {"
    usage: 05_stream [ADDRESS] [--pause-ms MS]

    Shows that TCP is a byte stream: writes merge, a message splits, a character is
    cut in two, a read of 0 bytes means the peer closed. Then frames messages twice:
    with newlines, and with a length prefix.

      ADDRESS        a running 03_server; without it the lesson starts one itself
                     (build it first: cargo build --example 03_server)
      --pause-ms MS  the pause of the 03_server the lesson starts (default 300)
      --help         show this text
"};

// ANCHOR: main
fn main() {
    let mut args = Args::from_env(USAGE);
    let pause = Duration::from_millis(args.value("--pause-ms", 300));
    let given = args.positional();
    args.finish();

    // Keep the server (if we started it) alive until the end of main.
    let (addr, _server) = match given {
        Some(text) => (parse_address(&text), None),
        None => {
            let (addr, child) = start_server(pause);
            (addr, Some(child))
        }
    };
    let replies_within = pause * 3 + Duration::from_secs(2);

    two_writes_one_read(addr, pause, replies_within);
    one_write_many_reads(addr, replies_within);
    a_character_cut_in_two(addr, replies_within);
    zero_bytes_means_closed(addr, pause, replies_within);
    fixed_with_lines();
    fixed_with_a_length_prefix();
}
// ANCHOR_END: main

// ANCHOR: two_writes
/// `Michael` and `Tracy`, written one after the other, come back as one greeting.
fn two_writes_one_read(addr: SocketAddr, pause: Duration, wait: Duration) {
    heading("1. Two writes, one read");
    let mut stream = connect(addr, wait);
    send(&mut stream, b"Sarah");
    // The server has read "Sarah" and sleeps for its pause. Both names below arrive
    // while it sleeps, and wait together in its receive buffer for its next read.
    thread::sleep(pause / 3);
    send(&mut stream, b"Michael");
    send(&mut stream, b"Tracy");
    let replies = read_replies(&mut stream, 2);
    if replies.iter().any(|r| r.contains("MichaelTracy")) {
        note!(
            "Two writes, one read: the server took \"MichaelTracy\" for one name.\n\
             TCP keeps the bytes in order but forgets where each write ended."
        );
    } else {
        note!("This time the writes came apart; on a busy machine timing varies. Run it again.");
    }
    bye(stream);
}
// ANCHOR_END: two_writes

// ANCHOR: one_write
/// One write of 3000 bytes meets a server that reads at most 1024 at a time.
fn one_write_many_reads(addr: SocketAddr, wait: Duration) {
    heading("2. One write, several reads");
    let mut stream = connect(addr, wait);
    send(&mut stream, &[b'A'; 3000]);
    let replies = read_replies(&mut stream, 3);
    note!(
        "One message, {} replies: each read takes at most 1024 bytes (the article's\n\
         recv(1024)), so the server greeted three pieces of one name.",
        replies.len()
    );
    bye(stream);
}
// ANCHOR_END: one_write

// ANCHOR: cut_character
/// A Chinese name whose UTF-8 bytes straddle the server's 1024-byte reads.
fn a_character_cut_in_two(addr: SocketAddr, wait: Duration) {
    heading("3. A character cut in two");
    let name = "张三";
    note!(
        "{name} is {} bytes in UTF-8: {} (each character takes 3).",
        name.len(),
        hex(name.as_bytes())
    );
    let mut message = vec![b'x'; 1022];
    message.extend_from_slice(name.as_bytes());
    // 1022 + 6 bytes: the first read ends 2 bytes into 张, the second starts with its
    // last byte. Neither piece is valid UTF-8 on its own.
    let mut stream = connect(addr, wait);
    send(&mut stream, &message);
    read_replies(&mut stream, 2);
    note!(
        "Each piece was decoded alone: the cut bytes became U+FFFD (\u{FFFD}), the\n\
         replacement character. A decoder that waits for the rest needs framing."
    );
    bye(stream);
}
// ANCHOR_END: cut_character

// ANCHOR: zero_bytes
/// How a conversation ends: half-close with `shutdown(Write)`, or drop the socket.
fn zero_bytes_means_closed(addr: SocketAddr, pause: Duration, wait: Duration) {
    heading("4. A read of 0 bytes: the other side closed");
    let mut stream = connect(addr, wait);
    send(&mut stream, b"Michael");
    // Half-close: "I will send nothing more" (a FIN), but the socket can still read.
    stream
        .shutdown(Shutdown::Write)
        .unwrap_or_else(|err| fail(err));
    client!("shutdown(Write): sent FIN, still reading");
    read_replies(&mut stream, 1);
    let mut buffer = [0; 1024];
    match stream.read(&mut buffer) {
        Ok(0) => client!("read 0 bytes: the server closed its side too"),
        Ok(n) => client!("read {n} more bytes"),
        Err(err) => client!("read failed: {err}"),
    }
    note!(
        "The server read 0 bytes after \"Michael\": that is how a reader learns the\n\
         writer has finished. With shutdown(Write) we still got our reply."
    );
    let mut dropped = connect(addr, wait);
    send(&mut dropped, b"Tracy");
    drop(dropped);
    client!("dropped the socket after \"Tracy\": it can neither send nor read now");
    // Give the server time to answer and to read the end (a pause each), so its log
    // lines land in this section.
    thread::sleep(pause * 2 + Duration::from_millis(100));
    note!(
        "The reply to \"Tracy\" has nowhere to go: this machine's kernel answers it with a\n\
         reset (RST). Dropping closes both directions; shutdown(Write) closes one."
    );
}
// ANCHOR_END: zero_bytes

// ANCHOR: fixed_with_lines
/// Newline framing: the messages come out whole however the bytes are cut.
fn fixed_with_lines() {
    heading("5. Fixed: one message per line");
    let mut stream = Vec::new();
    for message in ["Michael", "Tracy", "张三"] {
        framing::write_line(&mut stream, message.as_bytes()).unwrap_or_else(|err| fail(err));
    }
    let (writer, reader) = socket_pair();
    // Cut in awkward places: inside "Tracy", inside 张.
    send_in_pieces(writer, stream, &[10, 6]);
    let mut reader = BufReader::new(reader);
    loop {
        match framing::read_line(&mut reader, 1024) {
            Ok(Some(line)) => server!("read_line -> {:?}", String::from_utf8_lossy(&line)),
            Ok(None) => break server!("read_line -> end of stream, between messages"),
            Err(err) => break server!("read_line -> error: {err}"),
        }
    }
    note!(
        "read_line collects bytes up to \\n, across as many reads as it takes: three\n\
         messages, whole, and 张三 intact. A line over the limit is refused:"
    );
    let (mut writer, reader) = socket_pair();
    let _ = writer.write_all(&[b'x'; 2000]);
    drop(writer);
    match framing::read_line(&mut BufReader::new(reader), 1024) {
        Err(err @ FrameError::TooLong { .. }) => server!("read_line -> error: {err}"),
        other => server!("read_line -> {other:?}"),
    }
}
// ANCHOR_END: fixed_with_lines

// ANCHOR: fixed_with_length
/// Length-prefixed framing: a u32 in network byte order, then the bytes.
fn fixed_with_a_length_prefix() {
    heading("6. Fixed: a length before each message");
    let seven: u32 = 7;
    note!(
        "The length 7 as a u32: big-endian (network byte order) {}, little-endian\n\
         (how x86 and most ARM keep it in memory) {}. Both ends must agree:\n\
         to_be_bytes() and from_be_bytes() give the same bytes on every machine.",
        hex(&seven.to_be_bytes()),
        hex(&seven.to_le_bytes())
    );
    let mut stream = Vec::new();
    for message in ["Michael", "Tracy", "张三"] {
        framing::write_frame(&mut stream, message.as_bytes()).unwrap_or_else(|err| fail(err));
    }
    note!("On the wire: {}", hex(&stream));
    let (writer, mut reader) = socket_pair();
    send_in_pieces(writer, stream, &[2, 9, 5]);
    loop {
        match framing::read_frame(&mut reader, 1024) {
            Ok(Some(bytes)) => server!("read_frame -> {:?}", String::from_utf8_lossy(&bytes)),
            Ok(None) => break server!("read_frame -> end of stream, between messages"),
            Err(err) => break server!("read_frame -> error: {err}"),
        }
    }
    note!("A frame cut short by a closing peer is an error, not a shorter message:");
    let (writer, mut reader) = socket_pair();
    send_in_pieces(writer, vec![0, 0, 0, 7, b'M', b'i'], &[]);
    match framing::read_frame(&mut reader, 1024) {
        Err(err) => server!("read_frame -> error: {err}"),
        Ok(frame) => server!("read_frame -> {frame:?}"),
    }
}
// ANCHOR_END: fixed_with_length

// ANCHOR: helpers
/// Connects to the server and reads its welcome; every read waits at most `wait`.
fn connect(addr: SocketAddr, wait: Duration) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|err| fail(explain(&err, addr)));
    stream
        .set_read_timeout(Some(wait))
        .unwrap_or_else(|err| fail(err));
    let mut buffer = [0; 1024];
    match stream.read(&mut buffer) {
        Ok(n) if n > 0 => client!("connected, read {}", show(&buffer[..n])),
        Ok(_) => fail(format!("{addr} closed the connection at once")),
        Err(err) => fail(explain(&err, addr)),
    }
    stream
}

/// Writes the bytes in one call, and says so.
fn send(stream: &mut TcpStream, bytes: &[u8]) {
    stream
        .write_all(bytes)
        .unwrap_or_else(|err| fail(format!("write failed: {err}")));
    client!("wrote {}", show(bytes));
}

/// Reads until `count` greetings have come (or the server stops answering), printing
/// every read as it returns. Returns the greetings' text.
fn read_replies(stream: &mut TcpStream, count: usize) -> Vec<String> {
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    while received.windows(7).filter(|w| w == b"Hello, ").count() < count {
        match stream.read(&mut buffer) {
            Ok(0) => {
                client!("read 0 bytes: the server closed the connection");
                break;
            }
            Ok(n) => {
                client!("read {}", show(&buffer[..n]));
                received.extend_from_slice(&buffer[..n]);
            }
            Err(err) => {
                client!("no more replies: {err}");
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&received).into_owned();
    text.split_inclusive('!').map(String::from).collect()
}

/// Ends a conversation the article's way, and waits until the server has closed.
fn bye(mut stream: TcpStream) {
    let _ = stream.write_all(b"exit");
    let _ = stream.read(&mut [0; 1024]);
}

/// A connected pair of sockets over loopback: what one writes, the other reads.
fn socket_pair() -> (TcpStream, TcpStream) {
    let pair = TcpListener::bind("127.0.0.1:0").and_then(|listener| {
        let writer = TcpStream::connect(listener.local_addr()?)?;
        let (reader, _) = listener.accept()?;
        reader.set_read_timeout(Some(Duration::from_secs(5)))?;
        Ok((writer, reader))
    });
    pair.unwrap_or_else(|err| fail(format!("cannot make a loopback connection: {err}")))
}

/// Writes `bytes` in pieces of the given sizes (then the rest), in a thread, pausing
/// between pieces so that each is likely to leave as a segment of its own; then closes.
fn send_in_pieces(mut writer: TcpStream, bytes: Vec<u8>, sizes: &[usize]) {
    let _ = writer.set_nodelay(true);
    let mut pieces = Vec::new();
    let mut rest = &bytes[..];
    for &size in sizes {
        let (piece, after) = rest.split_at(size.min(rest.len()));
        pieces.push(piece.to_vec());
        rest = after;
    }
    pieces.push(rest.to_vec());
    for piece in &pieces {
        client!("write {}", show(piece));
    }
    thread::spawn(move || {
        for piece in pieces {
            if writer.write_all(&piece).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
    });
}
// ANCHOR_END: helpers

/// `N bytes "text"` (or the bytes in hex, when they are not text), long texts
/// shortened in the middle.
fn show(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return format!("{} bytes {}", bytes.len(), hex(bytes));
    }
    format!("{} bytes {}", bytes.len(), shorten(&format!("{text:?}")))
}

/// Keeps the start and the end of a long line.
fn shorten(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= 90 {
        return line.to_string();
    }
    let head: String = chars[..64].iter().collect();
    let tail: String = chars[chars.len() - 18..].iter().collect();
    format!("{head}…{tail}")
}

fn hex(bytes: &[u8]) -> String {
    let pairs: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    pairs.join(" ")
}

fn parse_address(text: &str) -> SocketAddr {
    text.parse()
        .unwrap_or_else(|_| fail(format!("{text:?} is not an address such as 127.0.0.1:1234")))
}

/// Starts lesson 03's server on a free port, its log shown among ours.
fn start_server(pause: Duration) -> (SocketAddr, ServerProcess) {
    let name = format!("03_server{}", std::env::consts::EXE_SUFFIX);
    let path = std::env::current_exe()
        .map(|me| me.with_file_name(name))
        .unwrap_or_default();
    let pause_ms = pause.as_millis().to_string();
    let child = Command::new(&path)
        .args(["127.0.0.1:0", "--pause-ms", &pause_ms])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| {
            fail(format!(
                "cannot start {} ({err}): build it with `cargo build --example 03_server`, \
                 or start one and give its address",
                path.display()
            ))
        });
    let mut server = ServerProcess(child);
    let mut lines = BufReader::new(server.0.stdout.take().expect("piped")).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let addr = first
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| fail(format!("03_server did not say where it listens: {first:?}")));
    server!("03_server started by this lesson, listening on {addr}, pause {pause:?}");
    if let Some(Ok(waiting)) = lines.next() {
        say::line(Role::Server, waiting.trim_start_matches("[server] "));
    }
    // Show the server's log as it comes, so both sides of each experiment are seen.
    thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            say::line(Role::Server, shorten(line.trim_start_matches("[server] ")));
        }
    });
    (addr, server)
}

/// The 03_server this lesson started; stopped when the lesson ends.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
