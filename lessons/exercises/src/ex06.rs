//! The checks of the exercises on lesson 06.

use super::{Check, Conn, Exercise, Mismatch, Program, Server, WAIT, read_once};
use socket2::SockRef;
use std::io::{ErrorKind, Write};
use std::time::{Duration, Instant};

pub const ALL: &[Exercise] = &[DEADLINE, CHAT];

const DEADLINE: Exercise = Exercise {
    name: "ex06_deadline",
    lesson: "06_hardened_server",
    task: "give every line a deadline: `too slow, bye` to a line not whole in time",
    checks: &[
        Check {
            what: "a line that comes in time is greeted: \"Michael\" gets \"Hello, Michael!\"",
            hint: "keep the dialogue as it is: Welcome!, then Hello, NAME! for each line",
            run: greets,
        },
        Check {
            what: "a client that sends nothing gets \"too slow, bye\" once its line's time \
                   (--line-ms 1000) is up, and the connection closes",
            hint: "when a read fails with a timeout (is_timeout: WouldBlock on Linux and \
                   macOS, TimedOut on Windows), write `too slow, bye` and end the session",
            run: silent_client,
        },
        Check {
            what: "a line sent one byte every 100 ms, 4 s in all, gets \"too slow, bye\" \
                   when its time is up, before it is whole",
            hint: "a read timeout counts from the last byte that came: a client that sends \
                   a byte at a time never trips it. Give the line a deadline (an Instant), \
                   and before each read make the time left until it the socket's read \
                   timeout: a struct of your own that implements Read, between the socket \
                   and the BufReader, can do it. Checking the clock once the line has come \
                   is too late: the thread has waited for all of it",
            run: trickled_line,
        },
        Check {
            what: "each line has a deadline of its own: ten lines, 250 ms apart (2.5 s in \
                   all), are all greeted",
            hint: "set a new deadline before each line, not one for the whole session: \
                   reader.get_mut() reaches your reader inside the BufReader",
            run: every_line_its_own,
        },
        Check {
            what: "two lines sent in one write get two greetings",
            hint: "make the BufReader once, for the whole session, and change the deadline \
                   through reader.get_mut(): a new one per line throws away what the last \
                   one read ahead (here, the second line)",
            run: two_lines_at_once,
        },
    ],
};

const CHAT: Exercise = Exercise {
    name: "ex06_chat",
    lesson: "06_hardened_server",
    task: "relay each line to every other client as [ADDRESS] text",
    checks: &[
        Check {
            what: "a line from A reaches B and C as \"[A's address] text\"",
            hint: "put a try_clone() of each client's socket in `clients` before its welcome, \
                   then in relay write format!(\"[{from}] {text}\") as a line to each of them",
            run: a_line_reaches_the_others,
        },
        Check {
            what: "A does not get its own line back: the next line A reads is B's",
            hint: "in relay, skip the client whose address is `from`",
            run: not_back_to_the_sender,
        },
        Check {
            what: "when C closes its sending side, the server closes C's connection too, \
                   and A's lines still reach B",
            hint: "a socket closes when its last handle is dropped, and the handle in \
                   `clients` is one: take the client out of `clients` when its session \
                   ends. In relay, a write that fails must not stop the others",
            run: after_a_close,
        },
        Check {
            what: "when C leaves in the middle of a line, the server closes C's connection \
                   too, and A's lines still reach B",
            hint: "then read_line fails, and the `?` returns from chat() before the code \
                   after the loop: C's handle stays in `clients` and its connection open. \
                   Put the loop in a function of its own, remove the client after calling \
                   it whatever it returned, then return its result",
            run: after_half_a_line,
        },
        Check {
            what: "after C leaves with a reset (an abrupt close), A's lines still reach B",
            hint: "a write to C now fails: it must not end A's session nor stop the relay \
                   (no `?` in relay). Take C out of `clients` and go on with the others",
            run: after_a_reset,
        },
    ],
};

// ---- ex06_deadline -----------------------------------------------------------------

/// The time the checks give each line: `--line-ms 1000`.
const LINE_TIME: Duration = Duration::from_millis(1000);

/// Starts the server with a line time of [`LINE_TIME`], connects and reads the welcome.
fn deadline_server(program: &Program) -> Result<(Server, Conn), Mismatch> {
    let ms = LINE_TIME.as_millis().to_string();
    let server = program.server(&["--line-ms", &ms])?;
    let mut client = server.connect()?;
    client.expect("Welcome!\n")?;
    Ok((server, client))
}

/// Sends `line`, and compares the reply with `expected`.
fn says(client: &mut Conn, line: &str, expected: &str) -> Result<(), Mismatch> {
    let wanted = format!("{expected:?} in reply to {line:?}");
    client.send(format!("{line}\n").as_bytes())?;
    match client.line() {
        Ok(got) if got == expected => Ok(()),
        Ok(got) => Err(Mismatch::new(wanted, format!("{got:?}"))),
        Err(mismatch) => Err(Mismatch::new(wanted, mismatch.got)),
    }
}

fn greets(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut client) = deadline_server(program)?;
    says(&mut client, "Michael", "Hello, Michael!")
}

fn silent_client(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut client) = deadline_server(program)?;
    let began = Instant::now();
    let line = client.line()?;
    let waited = began.elapsed();
    if line != "too slow, bye" {
        return Err(Mismatch::new("\"too slow, bye\"", format!("{line:?}")));
    }
    // A lower bound only: a busy machine makes the goodbye late, never early. (The
    // server's clock started a moment before ours, when it sent the welcome.)
    if waited < LINE_TIME * 8 / 10 {
        return Err(Mismatch::new(
            format!("the goodbye after the line's time, {LINE_TIME:?}"),
            format!("it came after {waited:.0?}"),
        ));
    }
    client.expect_closed()
}

/// The line the trickle check sends, one byte at a time.
const SLOW_LINE: &[u8] = b"Michael Tracy Sarah Alice Bob Carol Evan";
/// The pause after each byte of [`SLOW_LINE`]: 40 bytes take 4 s, four times the line's
/// time.
const TRICKLE: Duration = Duration::from_millis(100);

/// What one run of a timing check found: a verdict, or that the check itself was held
/// up (a busy machine, a stopped process) for long enough to explain what it saw.
enum Run {
    Verdict(Result<(), Mismatch>),
    HeldUp(Duration),
}

/// Runs a timing check up to three times while it was held up: the machine's load must
/// not decide it, neither way.
fn unless_held_up(run: impl Fn() -> Result<Run, Mismatch>) -> Result<(), Mismatch> {
    let mut gaps = Vec::new();
    while gaps.len() < 3 {
        match run()? {
            Run::Verdict(verdict) => return verdict,
            Run::HeldUp(gap) => gaps.push(gap),
        }
    }
    Err(Mismatch::new(
        "one run of this check that the machine did not hold up",
        format!(
            "three runs, the check's own steps held up for {gaps:.1?}: the machine is too \
             busy to tell. Run the check again"
        ),
    ))
}

fn trickled_line(program: &Program) -> Result<(), Mismatch> {
    unless_held_up(|| trickle_once(program))
}

/// Sends [`SLOW_LINE`] a byte at a time, [`TRICKLE`] apart, and looks for the goodbye.
fn trickle_once(program: &Program) -> Result<Run, Mismatch> {
    let (_server, client) = deadline_server(program)?;
    let mut stream = client.stream();
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(TRICKLE))?;
    let began = Instant::now();
    let mut last_byte = began;
    // The longest time between two of our bytes: one longer than half the line's time
    // could trip a mere read timeout, and then the goodbye proves nothing.
    let mut longest = Duration::ZERO;
    let mut reply = Vec::new();
    let mut sent = 0;
    let mut closed = false;
    // One byte, then up to TRICKLE for a reply; stop at a whole reply or a close.
    while sent < SLOW_LINE.len() && !reply.contains(&b'\n') && !closed {
        longest = longest.max(last_byte.elapsed());
        if stream.write_all(&SLOW_LINE[sent..=sent]).is_err() {
            closed = true;
            break;
        }
        last_byte = Instant::now();
        sent += 1;
        let mut buffer = [0; 256];
        match read_once(&mut stream, &mut buffer) {
            Ok(0) => closed = true,
            Ok(n) => reply.extend_from_slice(&buffer[..n]),
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => closed = true,
        }
    }
    let expected = format!(
        "\"too slow, bye\" about {LINE_TIME:?} after the line began, before its {} bytes \
         had all come",
        SLOW_LINE.len()
    );
    // The wait after the last byte counts too: the reply may have come during it.
    longest = longest.max(last_byte.elapsed());
    let text = String::from_utf8_lossy(&reply).trim_end().to_string();
    if (!text.is_empty() || closed) && longest >= LINE_TIME / 2 {
        return Ok(Run::HeldUp(longest));
    }
    if text == "too slow, bye" && sent < SLOW_LINE.len() {
        return Ok(Run::Verdict(Ok(())));
    }
    if !text.is_empty() || closed {
        let how = if text.is_empty() {
            "the connection closed without a word".to_string()
        } else {
            format!("{text:?}")
        };
        return Ok(Run::Verdict(Err(Mismatch::new(
            expected,
            format!("{how}, {:.1?} in, after {sent} bytes", began.elapsed()),
        ))));
    }
    // Nothing while the line came: end it, and show what the server says then.
    stream.set_read_timeout(Some(WAIT))?;
    stream.write_all(b"\n")?;
    let mut buffer = [0; 256];
    let then = match read_once(&mut stream, &mut buffer) {
        Ok(0) => "the connection closed".to_string(),
        Ok(n) => format!("{:?}", String::from_utf8_lossy(&buffer[..n]).trim_end()),
        Err(err) => err.to_string(),
    };
    Ok(Run::Verdict(Err(Mismatch::new(
        expected,
        format!(
            "no reply while its bytes came for {:.1?}; once it was whole: {then}",
            began.elapsed()
        ),
    ))))
}

/// The pause between the lines of [`every_line_its_own`].
const BETWEEN_LINES: Duration = Duration::from_millis(250);

fn every_line_its_own(program: &Program) -> Result<(), Mismatch> {
    unless_held_up(|| lines_apart_once(program))
}

/// Sends ten lines, [`BETWEEN_LINES`] apart, each after the reply to the one before.
fn lines_apart_once(program: &Program) -> Result<Run, Mismatch> {
    let (_server, mut client) = deadline_server(program)?;
    let began = Instant::now();
    let mut last_sent = began;
    for n in 1..=10 {
        let name = format!("Michael{n}");
        if n > 1 {
            std::thread::sleep(BETWEEN_LINES);
        }
        // The server waited for this line at most since we sent the last one: the
        // pause, a round trip, and whatever held us up.
        let gap = last_sent.elapsed();
        last_sent = Instant::now();
        if let Err(m) = says(&mut client, &name, &format!("Hello, {name}!")) {
            if gap >= LINE_TIME / 2 {
                return Ok(Run::HeldUp(gap));
            }
            return Ok(Run::Verdict(Err(Mismatch::new(
                format!(
                    "{}, line {n} of 10, {:.1?} into the session",
                    m.expected,
                    began.elapsed()
                ),
                m.got,
            ))));
        }
    }
    Ok(Run::Verdict(Ok(())))
}

fn two_lines_at_once(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut client) = deadline_server(program)?;
    client.send(b"Michael\nTracy\n")?;
    for expected in ["Hello, Michael!", "Hello, Tracy!"] {
        let got = client.line()?;
        if got != expected {
            return Err(Mismatch::new(
                format!("{expected:?}, for the lines \"Michael\" and \"Tracy\" sent at once"),
                format!("{got:?}"),
            ));
        }
    }
    Ok(())
}

// ---- ex06_chat ---------------------------------------------------------------------

/// How long the reset check lets the server take in C's reset before A speaks.
const SETTLE: Duration = Duration::from_millis(200);

/// A chat client of a check: its connection and the address the server sees for it.
struct Member {
    conn: Conn,
    addr: String,
}

impl Member {
    fn join(server: &Server) -> Result<Member, Mismatch> {
        let mut conn = server.connect()?;
        conn.expect("Welcome to the chat!\n")?;
        let addr = conn.stream().local_addr()?.to_string();
        Ok(Member { conn, addr })
    }

    fn say(&mut self, text: &str) -> Result<(), Mismatch> {
        self.conn.send(format!("{text}\n").as_bytes())
    }

    /// Reads the next line and checks that it is `text` from `from`.
    fn hears(&mut self, who: &str, from: &Member, text: &str) -> Result<(), Mismatch> {
        let expected = format!("[{}] {text}", from.addr);
        let got = self
            .conn
            .line()
            .map_err(|m| Mismatch::new(format!("{who} to read {expected:?}"), m.got))?;
        if got == expected {
            Ok(())
        } else {
            Err(Mismatch::new(
                format!("{who} to read {expected:?}"),
                format!("{got:?}"),
            ))
        }
    }
}

/// A server with three members in its room: A, B and C.
fn room(program: &Program) -> Result<(Server, Member, Member, Member), Mismatch> {
    let server = program.server(&[])?;
    let a = Member::join(&server)?;
    let b = Member::join(&server)?;
    let c = Member::join(&server)?;
    Ok((server, a, b, c))
}

fn a_line_reaches_the_others(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut a, mut b, mut c) = room(program)?;
    a.say("hello from A")?;
    b.hears("B", &a, "hello from A")?;
    c.hears("C", &a, "hello from A")
}

fn not_back_to_the_sender(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut a, mut b, mut c) = room(program)?;
    a.say("hello from A")?;
    b.hears("B", &a, "hello from A")?;
    c.hears("C", &a, "hello from A")?;
    // B's line is relayed after A's (it was sent after B read A's): if A got its own
    // line back, A reads that first.
    b.say("hello from B")?;
    a.hears("A", &b, "hello from B")
}

/// A says two lines after C has left; B must hear both. Two, because the first write
/// to a socket whose peer has gone may still succeed; the second then fails.
fn a_speaks_after_c_left(a: &mut Member, b: &mut Member) -> Result<(), Mismatch> {
    a.say("are you there?")?;
    b.hears("B", a, "are you there?")?;
    a.say("still here?")?;
    b.hears("B", a, "still here?")?;
    // And the room still works the other way round.
    b.say("yes")?;
    a.hears("A", b, "yes")
}

fn after_a_close(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut a, mut b, mut c) = room(program)?;
    // A FIN: "C sends nothing more". C's session reads the end of the stream and ends.
    c.conn.finish_sending();
    let_go(&mut c)?;
    a_speaks_after_c_left(&mut a, &mut b)
}

fn after_half_a_line(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut a, mut b, mut c) = room(program)?;
    // No \n before the end of the stream: C's read_line fails (Truncated).
    c.conn.send(b"half a li")?;
    c.conn.finish_sending();
    let_go(&mut c)?;
    a_speaks_after_c_left(&mut a, &mut b)
}

/// Checks that the server closes C's connection once C's session has ended: it does
/// only when no handle on C's socket is left, in the room's map either.
fn let_go(c: &mut Member) -> Result<(), Mismatch> {
    let expected = "C to read the end of the stream: the server closed C's connection";
    let mut buffer = [0; 256];
    match read_once(&mut c.conn.stream(), &mut buffer) {
        Ok(0) => Ok(()),
        Err(err) if err.kind() == ErrorKind::ConnectionReset => Ok(()),
        Ok(n) => Err(Mismatch::new(
            expected,
            format!("{:?}", String::from_utf8_lossy(&buffer[..n])),
        )),
        Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Err(Mismatch::new(
                expected,
                format!("nothing within {WAIT:?}: the connection is still open"),
            ))
        }
        Err(err) => Err(Mismatch::new(expected, err.to_string())),
    }
}

fn after_a_reset(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut a, mut b, c) = room(program)?;
    // SO_LINGER 0: closing sends a reset (RST) instead of a FIN; the server's read of
    // C's socket fails with "connection reset" instead of returning 0.
    SockRef::from(c.conn.stream()).set_linger(Some(Duration::ZERO))?;
    drop(c);
    // Let C's session meet the reset (and end) before A speaks, so that the check sees
    // whether that session leaves the room. Nothing shows it from outside, hence the
    // sleep; a right program passes without it too.
    std::thread::sleep(SETTLE);
    a_speaks_after_c_left(&mut a, &mut b)
}
