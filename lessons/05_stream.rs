//! # Lesson 05: TCP carries bytes, not messages
//!
//! The article's server takes each `recv(1024)` to be one message. TCP promises less:
//! the bytes arrive complete and in order, but not in the pieces they were written in.
//! This lesson talks to lesson 03's server and shows each way "one read = one message"
//! breaks; then how a conversation ends (a read of 0 bytes, the states the kernel keeps
//! each end in, a write that meets a reset, `shutdown(Read)`, a socket nobody closes);
//! then fixes the messages twice with framing (`src/framing.rs`): lines, and a length
//! prefix.
//!
//! ```text
//! cargo build --example 03_server     # the lesson starts it on a free port
//! cargo run --example 05_stream
//! cargo run --example 05_stream -- 127.0.0.1:1234   # or use a 03_server you started
//! ```

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use tcp_lessons::args::{Args, parse_address};
use tcp_lessons::framing::{self, FrameError};
use tcp_lessons::say::{self, Role, explain, fail, heading};
use tcp_lessons::{client, kernel, note, server};

/// The pause of the 03_server the lesson starts: the article's `time.sleep(1)`, shorter
/// so that the lesson runs in seconds. Experiment 1 needs the server to have one.
const PAUSE_MS: u64 = 300;
/// How long experiment 7 keeps the socket nobody closes, before closing it at last.
const HOLD_MS: u64 = 0;

fn usage() -> String {
    indoc::formatdoc! {"
        usage: 05_stream [ADDRESS] [OPTIONS]

        Shows that TCP is a byte stream: writes merge, a message splits, a character is
        cut in two. Then how a connection ends: a read of 0 bytes, the states of both
        ends, Broken pipe, shutdown(Read), CLOSE_WAIT. Then frames messages twice: with
        newlines, and with a length prefix.

        arguments:
          ADDRESS         a running 03_server (IP:PORT or HOST:PORT); without it the
                          lesson starts one itself on a free port (build it first:
                          cargo build --example 03_server)

        options:
          --pause-ms MS   the pause of the 03_server the lesson starts; with ADDRESS, give
                          that server's pause (default {PAUSE_MS})
          --hold-ms MS    how long experiment 7 keeps a socket in CLOSE_WAIT, time to look
                          at it with `ss -tan state close-wait` (default {HOLD_MS})
          -h, --help      show this text

        examples:
          cargo run --example 05_stream
          cargo run --example 05_stream -- --hold-ms 10000
          cargo run --example 05_stream -- localhost:1234 --pause-ms 1000
    "}
}

// ANCHOR: main
fn main() {
    let mut args = Args::from_env(&usage());
    let pause = Duration::from_millis(args.value("--pause-ms", PAUSE_MS));
    let hold = Duration::from_millis(args.value("--hold-ms", HOLD_MS));
    let given = args
        .positional()
        .map(|text| parse_address(&text).unwrap_or_else(|message| args.refuse(message)));
    args.finish();

    let (addr, server) = match given {
        Some(addr) => (addr, None),
        None => {
            let (addr, child) = start_server(pause);
            (addr, Some(child))
        }
    };
    let replies_within = pause * 3 + Duration::from_secs(2);

    two_writes_one_read(addr, pause, replies_within);
    one_write_many_reads(addr, replies_within);
    a_character_cut_in_two(addr, replies_within);
    zero_bytes_means_closed(addr, replies_within);
    writing_after_a_reset(addr, replies_within);
    // The experiments with 03_server are over: stop it, and print the last of its log
    // before the next heading.
    if let Some(server) = server {
        server.stop();
    }
    zero_bytes_after_shutdown_read();
    a_socket_nobody_closes(hold);
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
/// How a conversation ends: half-close with `shutdown(Write)`, or drop the socket; and
/// the state the kernel keeps each end of the connection in meanwhile.
fn zero_bytes_means_closed(addr: SocketAddr, wait: Duration) {
    heading("4. A read of 0 bytes: the other side closed");
    let mut stream = connect(addr, wait);
    let ends = ends_of(&stream);
    send(&mut stream, b"Michael");
    // Half-close: "I will send nothing more" (a FIN), but the socket can still read.
    stream
        .shutdown(Shutdown::Write)
        .unwrap_or_else(|err| fail(err));
    client!("shutdown(Write): sent FIN, still reading");
    kernel_states(ends, ["FIN_WAIT_2", "CLOSE_WAIT"], wait);
    read_replies(&mut stream, 1);
    read_the_end(&mut stream);
    kernel_states(ends, ["TIME_WAIT", "CLOSED"], wait);
    note!(
        "The server read 0 bytes after \"Michael\": that is how a reader learns the\n\
         writer has finished. With shutdown(Write) we still got our reply. We closed\n\
         first, so our end waits in TIME_WAIT; the server's end is gone."
    );

    let mut dropped = connect(addr, wait);
    let ends = ends_of(&dropped);
    send(&mut dropped, b"Tracy");
    drop(dropped);
    client!("dropped the socket after \"Tracy\": it can neither send nor read now");
    kernel_states(ends, ["FIN_WAIT_2", "CLOSE_WAIT"], wait);
    // After its pause the server writes its reply to a socket nobody holds: our
    // kernel answers with a reset (RST), which ends both sockets at once.
    kernel_states(ends, ["CLOSED", "CLOSED"], wait);
    note!(
        "The server wrote \"Hello, Tracy!\" after our FIN; our kernel answered with a\n\
         reset (RST), and both ends are gone, with no TIME_WAIT. The server's next read\n\
         returned 0, not an error: once a FIN has come, Linux reports the end of the\n\
         stream first. Dropping closes both directions; shutdown(Write) closes one."
    );
}
// ANCHOR_END: zero_bytes

// ANCHOR: broken_pipe
/// Writing to a connection the server has closed: our kernel takes the first write,
/// the server's kernel answers it with a reset, and the next write fails.
fn writing_after_a_reset(addr: SocketAddr, wait: Duration) {
    heading("5. Writing after the other side has gone: Broken pipe");
    let mut stream = connect(addr, wait);
    let ends = ends_of(&stream);
    send(&mut stream, b"exit");
    read_the_end(&mut stream);
    kernel_states(ends, ["CLOSE_WAIT", "FIN_WAIT_2"], wait);
    // The server closed its socket; we have only heard its FIN ("no more data from
    // me"), so as far as our kernel knows we may still send.
    write_and_say(&mut stream, b"Michael");
    // No program holds the server's socket: its kernel answers the data with a RST.
    kernel_states(ends, ["CLOSED", "CLOSED"], wait);
    write_and_say(&mut stream, b"Tracy");
    note!(
        "The first write only handed the bytes to our kernel: it succeeded, and the\n\
         server's kernel answered them with a reset. The second write met the reset:\n\
         on Linux, EPIPE, \"Broken pipe\". By default, a C program would have been\n\
         killed by the signal SIGPIPE instead; Rust ignores SIGPIPE, and the error\n\
         comes back as a value."
    );
}
// ANCHOR_END: broken_pipe

// ANCHOR: shutdown_read
/// A read of 0 bytes while the other side is still there: our own `shutdown(Read)`.
fn zero_bytes_after_shutdown_read() {
    heading("6. A read of 0 bytes that is not the other side closing");
    let (client_side, server_side) = socket_pair();
    let ends = ends_of(&client_side);
    // A second handle on the same socket, for a thread that waits in `read`: the
    // other side sends nothing, so the read blocks.
    let mut reader = client_side.try_clone().unwrap_or_else(|err| fail(err));
    let blocked = thread::spawn(move || reader.read(&mut [0; 1024]));
    thread::sleep(Duration::from_millis(100));
    client_side
        .shutdown(Shutdown::Read)
        .unwrap_or_else(|err| fail(err));
    client!("shutdown(Read), from the main thread");
    match blocked.join() {
        Ok(Ok(0)) => client!("the blocked read returned 0 bytes"),
        Ok(Ok(n)) => client!("the blocked read returned {n} bytes"),
        Ok(Err(err)) => client!("the blocked read failed: {err}"),
        Err(_) => fail("the reading thread panicked"),
    }
    kernel_states(ends, ["ESTABLISHED", "ESTABLISHED"], Duration::from_secs(2));
    note!(
        "Nobody sent a FIN: shutdown(Read) sends nothing, it only makes our reads\n\
         return 0. Lesson 06 uses it to wake its sessions on Ctrl-C."
    );
    drop(server_side);
}
// ANCHOR_END: shutdown_read

// ANCHOR: close_wait
/// A server that reads 0 bytes and never closes: its end of the connection waits in
/// CLOSE_WAIT for as long as the program keeps the socket.
fn a_socket_nobody_closes(hold: Duration) {
    heading("7. A server that never closes: CLOSE_WAIT");
    let (client_side, server_side) = socket_pair();
    let ends = ends_of(&client_side);
    drop(client_side);
    client!("closed the connection: FIN");
    match (&server_side).read(&mut [0; 1024]) {
        Ok(0) => server!("read 0 bytes, and does not close its socket"),
        Ok(n) => server!("read {n} bytes"),
        Err(err) => server!("read failed: {err}"),
    }
    kernel_states(ends, ["FIN_WAIT_2", "CLOSE_WAIT"], Duration::from_secs(2));
    match std::fs::read_to_string("/proc/sys/net/ipv4/tcp_fin_timeout") {
        Ok(seconds) => kernel!(
            "net.ipv4.tcp_fin_timeout = {} s: how long a FIN_WAIT_2 end that no program\n\
             holds waits for the other FIN. CLOSE_WAIT has no timer at all.",
            seconds.trim()
        ),
        Err(_) => kernel!("(no /proc/sys/net/ipv4/tcp_fin_timeout on this system)"),
    }
    if !hold.is_zero() {
        note!("keeping it {hold:?}: try `ss -tan state close-wait` in another terminal");
        thread::sleep(hold);
    }
    drop(server_side);
    server!("closed its socket at last: FIN");
    kernel_states(ends, ["TIME_WAIT", "CLOSED"], Duration::from_secs(2));
    note!(
        "Until the server closed, its end sat in CLOSE_WAIT, holding a file descriptor\n\
         and kernel memory: a server that forgets to close leaks one per client."
    );
}
// ANCHOR_END: close_wait

// ANCHOR: fixed_with_lines
/// Newline framing: the messages come out whole however the bytes are cut.
fn fixed_with_lines() {
    heading("8. Fixed: one message per line");
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
    heading("9. Fixed: a length before each message");
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

/// Writes the bytes in one call, and says what came of it, an error too.
fn write_and_say(stream: &mut TcpStream, bytes: &[u8]) {
    match stream.write(bytes) {
        Ok(n) => client!("wrote {}: our kernel took them", show(&bytes[..n])),
        Err(err) => client!("write of {} failed: {err}", show(bytes)),
    }
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

/// Reads once more, expecting the end of the stream, and says what came.
fn read_the_end(stream: &mut TcpStream) {
    match stream.read(&mut [0; 1024]) {
        Ok(0) => client!("read 0 bytes: the server has closed its side"),
        Ok(n) => client!("read {n} more bytes"),
        Err(err) => client!("read failed: {err}"),
    }
}

/// The two ends of a connection: our address, and the server's.
type Ends = (SocketAddr, SocketAddr);

/// The ends of the connection of `stream`.
fn ends_of(stream: &TcpStream) -> Ends {
    match (stream.local_addr(), stream.peer_addr()) {
        (Ok(ours), Ok(theirs)) => (ours, theirs),
        (Err(err), _) | (_, Err(err)) => fail(format!("a socket without address: {err}")),
    }
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

// ANCHOR: states
/// Prints the state of both ends of a connection, as the kernel reports them, once
/// they are the `expected` ones or `limit` has passed: the line shows what they are.
fn kernel_states((client, server): Ends, expected: [&str; 2], limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let Ok(table) = tcp_table(client) else {
            return kernel!("(no /proc/net/tcp here: `netstat -an` shows the states)");
        };
        let (ours, theirs) = (
            tcp_end(&table, client, server),
            tcp_end(&table, server, client),
        );
        let name = |end: &Option<TcpEnd>| end.as_ref().map_or("CLOSED", |e| e.state);
        let names = [name(&ours), name(&theirs)];
        if names == expected || Instant::now() >= deadline {
            let say = |end: &Option<TcpEnd>| match end {
                None => "CLOSED (no socket left)".to_string(),
                Some(end) => match end.timer {
                    Some(seconds) => format!("{}, for {seconds} s more", end.state),
                    None => end.state.to_string(),
                },
            };
            return kernel!(
                "client {client}  {}\nserver {server}  {}",
                say(&ours),
                say(&theirs)
            );
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// One end of a TCP connection, as Linux lists it in /proc/net/tcp (where `ss` and
/// `netstat` read it too).
struct TcpEnd {
    /// The state, as RFC 9293 names it (with `_` where the RFC and `ss` write `-`).
    state: &'static str,
    /// For an end in TIME_WAIT or FIN_WAIT_2: the seconds before the kernel drops it.
    timer: Option<u64>,
}

/// Linux's table of TCP sockets, for IPv4 or IPv6 as `addr` is: a line per socket.
/// An error where there is no such file (any system but Linux).
fn tcp_table(addr: SocketAddr) -> io::Result<String> {
    let name = if addr.is_ipv4() { "tcp" } else { "tcp6" };
    std::fs::read_to_string(format!("/proc/net/{name}"))
}

/// The end of the connection from `local` to `remote` in `table`; `None` once no
/// socket has these addresses (it is CLOSED).
fn tcp_end(table: &str, local: SocketAddr, remote: SocketAddr) -> Option<TcpEnd> {
    let (local, remote) = (proc_hex(local), proc_hex(remote));
    for line in table.lines().skip(1) {
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when ...
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 6 || fields[1] != local || fields[2] != remote {
            continue;
        }
        let state = match fields[3] {
            "01" => "ESTABLISHED",
            "04" => "FIN_WAIT_1",
            "05" => "FIN_WAIT_2",
            "06" => "TIME_WAIT",
            "08" => "CLOSE_WAIT",
            "09" => "LAST_ACK",
            "0B" => "CLOSING",
            _ => "another state",
        };
        // The timer: which one is running, and when it fires, in 1/100 s (USER_HZ).
        let (running, ticks) = fields[5].split_once(':').unwrap_or(("00", "0"));
        let ticks = u64::from_str_radix(ticks, 16).unwrap_or(0);
        let timed = running != "00" && matches!(state, "TIME_WAIT" | "FIN_WAIT_2");
        let timer = timed.then_some(ticks.div_ceil(100));
        return Some(TcpEnd { state, timer });
    }
    None
}

/// An address as /proc/net/tcp writes it: the IP address in 32-bit words, each in
/// this machine's byte order, then the port, all in hex (127.0.0.1:1234 is
/// `0100007F:04D2` on x86).
fn proc_hex(addr: SocketAddr) -> String {
    let octets = match addr.ip() {
        IpAddr::V4(ip) => ip.octets().to_vec(),
        IpAddr::V6(ip) => ip.octets().to_vec(),
    };
    let words: String = octets
        .chunks(4)
        .map(|w| format!("{:08X}", u32::from_ne_bytes([w[0], w[1], w[2], w[3]])))
        .collect();
    format!("{words}:{:04X}", addr.port())
}
// ANCHOR_END: states

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

// ANCHOR: start_server
/// Starts lesson 03's server on a free port, its log shown among ours.
fn start_server(pause: Duration) -> (SocketAddr, ServerProcess) {
    let name = format!("03_server{}", std::env::consts::EXE_SUFFIX);
    let path = std::env::current_exe()
        .map(|me| me.with_file_name(name))
        .unwrap_or_default();
    let mut command = Command::new(&path);
    let pause_ms = pause.as_millis().to_string();
    command
        .args(["127.0.0.1:0", "--pause-ms", &pause_ms])
        .stdout(Stdio::piped());
    end_with_this_lesson(&mut command);
    let mut child = command.spawn().unwrap_or_else(|err| {
        fail(format!(
            "cannot start {} ({err}): build it with `cargo build --example 03_server`, \
             or start one and give its address",
            path.display()
        ))
    });
    let Some(stdout) = child.stdout.take() else {
        fail("03_server started without its output")
    };
    let mut server = ServerProcess { child, log: None };
    let mut lines = BufReader::new(stdout).lines();
    // Its first lines say where it listens, what limits it has and how to reach it,
    // up to `waiting for client connections`; from there its log is shown among ours.
    let mut addr = None;
    for line in lines.by_ref().take(40).map_while(Result::ok) {
        if let Some(after) = line.split("listening on ").nth(1) {
            let word = after.split_whitespace().next().unwrap_or_default();
            addr = word.trim_end_matches([',', '.', ')']).parse().ok();
        }
        if line.contains("waiting for client connections") {
            break;
        }
    }
    let Some(addr) = addr else {
        fail("03_server did not say where it listens")
    };
    server!("03_server started by this lesson, listening on {addr}, pause {pause:?}");
    // Show the server's log as it comes, so both sides of each experiment are seen.
    server.log = Some(thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            say::line(Role::Server, shorten(line.trim_start_matches("[server] ")));
        }
    }));
    (addr, server)
}

/// The 03_server this lesson started, and the thread that shows its log.
struct ServerProcess {
    child: Child,
    log: Option<JoinHandle<()>>,
}

impl ServerProcess {
    /// Stops the server, and waits until every line it wrote has been shown.
    fn stop(mut self) {
        self.end();
        if let Some(log) = self.log.take() {
            let _ = log.join();
        }
    }

    fn end(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.end();
    }
}

/// Makes the 03_server end with this lesson, however the lesson ends: at the end of
/// `main`, `Drop` stops it; but a `fail()` or a closed stdout (`05_stream | head`)
/// calls `process::exit`, which runs no `Drop`, and a signal runs nothing at all. So on
/// Linux we ask the kernel: `prctl(PR_SET_PDEATHSIG, SIGKILL)`, run in the child
/// between fork and exec, sends it SIGKILL when the thread that started it ends. That
/// is this lesson's main thread, which ends only with the whole process.
#[cfg(target_os = "linux")]
fn end_with_this_lesson(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // Two functions of the C library, declared here rather than adding a dependency.
    unsafe extern "C" {
        fn prctl(option: i32, ...) -> i32;
        fn getppid() -> i32;
    }
    const PR_SET_PDEATHSIG: i32 = 1;
    const SIGKILL: std::ffi::c_ulong = 9;
    let lesson = std::process::id() as i32;
    // SAFETY: between fork and exec a child may only make plain system calls (no
    // allocation, no locks): prctl and getppid are such calls, and the errors built
    // here allocate nothing.
    unsafe {
        command.pre_exec(move || {
            if prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // If the lesson ended before prctl took effect, no signal will come: stop.
            if getppid() != lesson {
                return Err(io::ErrorKind::Other.into());
            }
            Ok(())
        });
    }
}

/// macOS and Windows have no such call: there only `Drop` stops the server, so a
/// lesson stopped early can leave it running (`ps`, or the Task Manager, finds it).
#[cfg(not(target_os = "linux"))]
fn end_with_this_lesson(_: &mut Command) {}
// ANCHOR_END: start_server
