//! The checks of the exercises on lesson 05.
//!
//! `ex05_length_prefixed` is checked with frames written here by hand (a 4-byte
//! `u32::to_be_bytes` prefix), not with `framing`, so that a wrong byte order shows.
//! `ex05_reassemble` is a client: the checks play a line server that sends its
//! messages in pieces.

use super::{Check, Conn, Exercise, Mismatch, Program, WAIT, listener, read_once};
use std::io::{self, BufRead, BufReader, ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

pub const ALL: &[Exercise] = &[LENGTH_PREFIXED, REASSEMBLE];

const LENGTH_PREFIXED: Exercise = Exercise {
    name: "ex05_length_prefixed",
    lesson: "05_stream",
    task: "speak length-prefixed frames (4-byte big-endian length, then the bytes)",
    checks: &[
        Check {
            what: "the welcome comes as a frame: 00 00 00 08, then \"Welcome!\"",
            hint: "write it with write_frame(&mut writer, b\"Welcome!\"): the length first, \
                   big-endian (u32::to_be_bytes), then the bytes, and no \\n",
            run: welcome_is_a_frame,
        },
        Check {
            what: "a frame is answered with a frame: \"Michael\" gets \"Hello, Michael!\"",
            hint: "read each message with read_frame(&mut reader, 1024) and answer with \
                   write_frame",
            run: a_frame_is_answered,
        },
        Check {
            what: "a name with a newline inside, \"Michael\\nTracy\", comes back whole in one reply",
            hint: "lines cannot carry a \\n: read_line cuts the message there. read_frame \
                   reads exactly as many bytes as the length says, whatever they are",
            run: a_newline_inside_a_frame,
        },
        Check {
            what: "two frames sent in one write get two replies",
            hint: "read one frame at a time from one BufReader kept for the whole session: \
                   the second frame waits in its buffer",
            run: two_frames_in_one_write,
        },
        Check {
            what: "the frame \"exit\" ends the session: the server closes the connection",
            hint: "compare the message with \"exit\" and leave the loop",
            run: exit_closes,
        },
        Check {
            what: "a frame announcing 1 MiB (over the 1024-byte limit) closes the connection, unanswered",
            hint: "give read_frame the limit 1024: it refuses a larger length before reading \
                   the message. Let its error end the session (the `?`): nothing tells where \
                   the next frame would begin",
            run: too_long_closes,
        },
    ],
};

const REASSEMBLE: Exercise = Exercise {
    name: "ex05_reassemble",
    lesson: "05_stream",
    task: "read whole lines from a server that sends them in pieces",
    checks: &[
        Check {
            what: "a welcome sent in two pieces, \"Wel\" then \"come!\\n\" 50 ms later, is printed \"Welcome!\"",
            hint: "one read returns what has arrived so far, here \"Wel\". Read up to the \\n: \
                   a BufReader and read_line (or framing::read_line) read again until it comes",
            run: welcome_in_two_pieces,
        },
        Check {
            what: "replies that arrive one byte at a time are printed whole, one line each",
            hint: "every reply ends with \\n: read up to it, however many reads that takes",
            run: replies_byte_by_byte,
        },
        Check {
            what: "two replies that arrive in one piece are printed as two lines, each in turn",
            hint: "make ONE BufReader for the whole connection, before the first reply, and \
                   read every line from it: a read may bring the next reply too, and it must \
                   wait in that buffer. A new BufReader per reply throws it away",
            run: two_replies_in_one_piece,
        },
        Check {
            what: "after the last reply the client sends \"exit\\n\" and ends",
            hint: "keep the write_line(.., b\"exit\") at the end of talk",
            run: sends_exit_and_ends,
        },
    ],
};

// ---- ex05_length_prefixed -------------------------------------------------------

/// Starts the server, connects, and reads the welcome frame.
fn welcomed(program: &Program) -> Result<(super::Server, Conn), Mismatch> {
    let server = program.server(&[])?;
    let mut client = server.connect()?;
    let welcome = read_frame(&mut client)?;
    same_text("Welcome!", &welcome)?;
    Ok((server, client))
}

fn welcome_is_a_frame(program: &Program) -> Result<(), Mismatch> {
    welcomed(program).map(drop)
}

fn a_frame_is_answered(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut client) = welcomed(program)?;
    client.send(&frame("Michael"))?;
    same_text("Hello, Michael!", &read_frame(&mut client)?)
}

fn a_newline_inside_a_frame(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut client) = welcomed(program)?;
    client.send(&frame("Michael\nTracy"))?;
    same_text("Hello, Michael\nTracy!", &read_frame(&mut client)?)
}

fn two_frames_in_one_write(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut client) = welcomed(program)?;
    let mut both = frame("Michael");
    both.extend_from_slice(&frame("Tracy"));
    client.send(&both)?;
    same_text("Hello, Michael!", &read_frame(&mut client)?)?;
    same_text("Hello, Tracy!", &read_frame(&mut client)?)
}

fn exit_closes(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut client) = welcomed(program)?;
    client.send(&frame("exit"))?;
    closed(&mut client, "after \"exit\"")
}

fn too_long_closes(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut client) = welcomed(program)?;
    // The length alone, and a few bytes of the message: the rest never comes.
    let mut start = (1u32 << 20).to_be_bytes().to_vec();
    start.extend_from_slice(b"xxxx");
    client.send(&start)?;
    closed(&mut client, "after a frame announcing 1048576 bytes")
}

/// A frame as the exercise must read it: the length as 4 bytes, big-endian, then the text.
fn frame(text: &str) -> Vec<u8> {
    let mut bytes = (text.len() as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

/// Reads one frame, with its own code: 4 bytes of length, big-endian, then the message.
fn read_frame(client: &mut Conn) -> Result<String, Mismatch> {
    let mut prefix = [0; 4];
    read_exactly(client, &mut prefix, "a frame: 4 bytes of length")?;
    let len = u32::from_be_bytes(prefix);
    if len > 1024 {
        let text = String::from_utf8_lossy(&prefix);
        let little = u32::from_le_bytes(prefix);
        let guess = if little <= 1024 {
            format!(" (read little-endian it would be {little}: use to_be_bytes)")
        } else {
            format!(" (as text: {text:?}; no length prefix?)")
        };
        return Err(Mismatch::new(
            "a frame: 4 bytes of length, big-endian",
            format!("{}, the length {len}{guess}", hex(&prefix)),
        ));
    }
    let mut message = vec![0; len as usize];
    read_exactly(
        client,
        &mut message,
        &format!("the {len} bytes the length announced"),
    )?;
    Ok(String::from_utf8_lossy(&message).into_owned())
}

/// Fills `buf` from the connection (each read bounded by WAIT).
fn read_exactly(client: &mut Conn, buf: &mut [u8], what: &str) -> Result<(), Mismatch> {
    let mut stream = client.stream();
    let mut filled = 0;
    while filled < buf.len() {
        let then = match read_once(&mut stream, &mut buf[filled..]) {
            Ok(0) => "the connection closed".to_string(),
            Ok(n) => {
                filled += n;
                continue;
            }
            Err(err) => words(&err),
        };
        let got = match filled {
            0 => then,
            _ => format!("{} came, then {then}", hex(&buf[..filled])),
        };
        return Err(Mismatch::new(what, got));
    }
    Ok(())
}

/// Checks that the server closes the connection without sending anything.
fn closed(client: &mut Conn, when: &str) -> Result<(), Mismatch> {
    let expected = format!("the connection to close {when}");
    let mut buffer = [0; 64];
    match read_once(&mut client.stream(), &mut buffer) {
        Ok(0) => Ok(()),
        // A close with unread bytes in the server's socket is a reset: closed too.
        Err(err) if err.kind() == ErrorKind::ConnectionReset => Ok(()),
        Ok(n) => Err(Mismatch::new(
            expected,
            format!("the bytes {}", hex(&buffer[..n])),
        )),
        Err(err) => Err(Mismatch::new(expected, words(&err))),
    }
}

fn same_text(expected: &str, got: &str) -> Result<(), Mismatch> {
    if expected == got {
        Ok(())
    } else {
        Err(Mismatch::new(format!("{expected:?}"), format!("{got:?}")))
    }
}

/// `00 00 00 08`
fn hex(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let more = if bytes.len() > 16 { " ..." } else { "" };
    format!("{}{more}", shown.join(" "))
}

fn words(err: &io::Error) -> String {
    match err.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => format!("nothing within {WAIT:?}"),
        _ => err.to_string(),
    }
}

// ---- ex05_reassemble --------------------------------------------------------------

/// How the played server sends its replies.
#[derive(Clone, Copy, PartialEq)]
enum Replies {
    /// Each reply in one write.
    Whole,
    /// Each reply one byte at a time, 5 ms apart.
    ByteByByte,
    /// The replies to the first two names in one write, as soon as the first name comes.
    TwoAtOnce,
}

/// What the played server saw.
struct Heard {
    /// The lines the client sent, in order.
    lines: Vec<String>,
}

/// Plays a line server for one client: `Welcome!` (in two pieces if `split_welcome`),
/// then `Hello, NAME!` for each line, sent as `replies` says, until `exit`.
fn play_server(
    listener: TcpListener,
    names: Vec<String>,
    split_welcome: bool,
    replies: Replies,
) -> thread::JoinHandle<Result<Heard, Mismatch>> {
    thread::spawn(move || {
        let stream = accept(&listener)?;
        stream.set_read_timeout(Some(WAIT))?;
        stream.set_write_timeout(Some(WAIT))?;
        // Every small write leaves at once, as its own segment.
        stream.set_nodelay(true)?;
        let mut writer = &stream;
        let mut reader = BufReader::new(&stream);
        if split_welcome {
            writer.write_all(b"Wel")?;
            thread::sleep(Duration::from_millis(50));
            writer.write_all(b"come!\n")?;
        } else {
            writer.write_all(b"Welcome!\n")?;
        }
        let mut heard = Heard { lines: Vec::new() };
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let line = line.trim_end_matches(['\n', '\r']).to_string();
            heard.lines.push(line.clone());
            if line == "exit" {
                break;
            }
            let reply = format!("Hello, {line}!\n");
            // A write that fails means the client is gone: go on reading what it sent.
            let _ = match replies {
                Replies::Whole => writer.write_all(reply.as_bytes()),
                Replies::ByteByByte => reply.bytes().try_for_each(|byte| {
                    writer.write_all(&[byte])?;
                    thread::sleep(Duration::from_millis(5));
                    Ok::<(), io::Error>(())
                }),
                Replies::TwoAtOnce if heard.lines.len() == 1 && names.len() > 1 => {
                    let next = format!("Hello, {}!\n", names[1]);
                    writer.write_all(format!("{reply}{next}").as_bytes())
                }
                // The second name was answered with the first.
                Replies::TwoAtOnce if heard.lines.len() == 2 => Ok(()),
                Replies::TwoAtOnce => writer.write_all(reply.as_bytes()),
            };
        }
        Ok(heard)
    })
}

/// Accepts one connection, waiting at most WAIT.
fn accept(listener: &TcpListener) -> Result<TcpStream, Mismatch> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + WAIT;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false)?;
                return Ok(stream);
            }
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) if err.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(err) if err.kind() == ErrorKind::WouldBlock => {
                return Err(Mismatch::new(
                    "the client to connect",
                    format!("no connection within {WAIT:?}"),
                ));
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// Runs the client against a played server; returns what it printed (each line without
/// its `[client]` tag) and what the server heard.
fn converse(
    program: &Program,
    names: &[&str],
    split_welcome: bool,
    replies: Replies,
) -> Result<(Vec<String>, Heard), Mismatch> {
    let (listener, addr) = listener()?;
    let owned: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let server = play_server(listener, owned, split_welcome, replies);
    let addr = addr.to_string();
    let mut args = vec![addr.as_str()];
    args.extend_from_slice(names);
    let finished = program.run(&args, "")?;
    let heard = server
        .join()
        .map_err(|_| Mismatch::new("the check's server to run", "it panicked"))??;
    if !finished.status.success() {
        let said = finished.stderr.trim();
        return Err(Mismatch::new(
            "the client to end with success",
            format!("{}: {said:?}", finished.status),
        ));
    }
    let printed = finished
        .stdout
        .lines()
        .map(|line| line.trim_start_matches("[client]").trim().to_string())
        .filter(|line| !line.is_empty())
        .collect();
    Ok((printed, heard))
}

fn expected_lines(names: &[&str]) -> Vec<String> {
    let mut lines = vec!["Welcome!".to_string()];
    lines.extend(names.iter().map(|name| format!("Hello, {name}!")));
    lines
}

fn same_lines(expected: &[String], got: &[String]) -> Result<(), Mismatch> {
    if expected == got {
        Ok(())
    } else {
        Err(Mismatch::new(
            format!("these lines printed: {expected:?}"),
            format!("{got:?}"),
        ))
    }
}

fn welcome_in_two_pieces(program: &Program) -> Result<(), Mismatch> {
    let (printed, _) = converse(program, &["Michael"], true, Replies::Whole)?;
    match printed.first() {
        Some(first) if first == "Welcome!" => Ok(()),
        first => Err(Mismatch::new(
            "the first line printed: \"Welcome!\"",
            format!(
                "{:?} (all it printed: {printed:?})",
                first.map_or("", |f| f)
            ),
        )),
    }
}

fn replies_byte_by_byte(program: &Program) -> Result<(), Mismatch> {
    let names = ["Michael", "Tracy", "Sarah"];
    let (printed, _) = converse(program, &names, false, Replies::ByteByByte)?;
    same_lines(&expected_lines(&names), &printed)
}

fn two_replies_in_one_piece(program: &Program) -> Result<(), Mismatch> {
    let names = ["Michael", "Tracy", "Sarah"];
    let (printed, _) = match converse(program, &names, false, Replies::TwoAtOnce) {
        Err(mismatch) if mismatch.expected == "the program to finish" => {
            return Err(Mismatch::new(
                "Tracy's reply, which came with Michael's, printed and the client to go on",
                format!(
                    "{}: it waits for a reply that has already come",
                    mismatch.got
                ),
            ));
        }
        other => other?,
    };
    same_lines(&expected_lines(&names), &printed)
}

fn sends_exit_and_ends(program: &Program) -> Result<(), Mismatch> {
    let names = ["Michael", "Tracy"];
    let (_, heard) = converse(program, &names, false, Replies::Whole)?;
    let expected = ["Michael", "Tracy", "exit"];
    if heard.lines == expected {
        Ok(())
    } else {
        Err(Mismatch::new(
            format!("the server to receive the lines {expected:?}"),
            format!("{:?}", heard.lines),
        ))
    }
}
