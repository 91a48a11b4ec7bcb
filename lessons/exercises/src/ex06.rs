//! The checks of the exercises on lesson 06.

use super::{Check, Conn, Exercise, Mismatch, Program, Server, WAIT, read_once};
use socket2::SockRef;
use std::io::ErrorKind;
use std::time::{Duration, Instant};

pub const ALL: &[Exercise] = &[RATE_LIMIT, CHAT];

const RATE_LIMIT: Exercise = Exercise {
    name: "ex06_rate_limit",
    lesson: "06_hardened_server",
    task: "at most 5 lines a second per client: `too fast: ...` to the sixth, then close",
    checks: &[
        Check {
            what: "a line is greeted: \"Michael\" gets \"Hello, Michael!\"",
            hint: "keep the dialogue as it is: Welcome!, then Hello, NAME! for each line",
            run: greets,
        },
        Check {
            what: "eight lines sent at once: the first five are greeted, the sixth gets \
                   \"too fast: at most 5 lines a second, bye\" at once, and the connection \
                   closes",
            hint: "count the lines of the current second and, at the sixth, write TOO_FAST \
                   and return from session(): the sixth line is refused, not the fifth, and \
                   refused, not delayed (a sleep only slows the client down, and keeps a \
                   thread waiting for it)",
            run: the_sixth_is_refused,
        },
        Check {
            what: "five lines, then a pause of 1.2 s, then five more: all ten are greeted",
            hint: "a second after the current second began (Instant::elapsed), a new one \
                   begins: start the count again, or a client that keeps to the rule is \
                   cut off at its sixth line of the session",
            run: the_count_starts_again,
        },
        Check {
            what: "two clients, three lines each at once: each gets its three greetings",
            hint: "keep the count inside session(), a local variable of each client's \
                   thread: a static (or any count outside session) is one count shared by \
                   every client",
            run: each_client_counts_alone,
        },
    ],
};

// ---- ex06_rate_limit ---------------------------------------------------------------

/// The lines a client may send in one second.
const PER_SECOND: usize = 5;
/// What the sixth line of a second gets.
const TOO_FAST: &str = "too fast: at most 5 lines a second, bye";

/// Starts the server, connects and reads the welcome.
fn welcomed(program: &Program) -> Result<(Server, Conn), Mismatch> {
    let server = program.server(&[])?;
    let mut client = server.connect()?;
    client.expect("Welcome!\n")?;
    Ok((server, client))
}

/// Sends `names` in one write and checks that each is greeted, in order.
fn greeted(client: &mut Conn, names: &[String], when: &str) -> Result<(), Mismatch> {
    let lines: String = names.iter().map(|name| format!("{name}\n")).collect();
    client.send(lines.as_bytes())?;
    for name in names {
        let expected = format!("Hello, {name}!");
        let got = match client.line() {
            Ok(line) => format!("{line:?}"),
            Err(mismatch) => mismatch.got,
        };
        if got != format!("{expected:?}") {
            return Err(Mismatch::new(format!("{expected:?}, {when}"), got));
        }
    }
    Ok(())
}

/// `count` names, `prefix1`, `prefix2`, ...
fn names(prefix: &str, count: usize) -> Vec<String> {
    (1..=count).map(|n| format!("{prefix}{n}")).collect()
}

fn greets(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut client) = welcomed(program)?;
    greeted(
        &mut client,
        &["Michael".to_string()],
        "in reply to \"Michael\"",
    )
}

fn the_sixth_is_refused(program: &Program) -> Result<(), Mismatch> {
    unless_held_up(|| sixth_once(program))
}

/// Sends eight lines in one write; five greetings, then the refusal, then the end.
fn sixth_once(program: &Program) -> Result<Run, Mismatch> {
    let began = Instant::now();
    let (_server, mut client) = welcomed(program)?;
    let lines: String = names("a", PER_SECOND + 3)
        .iter()
        .map(|n| format!("{n}\n"))
        .collect();
    client.send(lines.as_bytes())?;
    let mut replies = Vec::new();
    let mut first_reply = None;
    let mut then = String::new();
    // Up to the sixth reply: whatever it is, it decides.
    while replies.len() <= PER_SECOND {
        match client.line() {
            Ok(line) => replies.push(line),
            Err(mismatch) => {
                then = format!(", then {}", mismatch.got);
                break;
            }
        }
        first_reply.get_or_insert(began.elapsed());
    }
    // A correct server reads all eight lines at once: from the start of the check to
    // its first reply is all the time the machine could take from its second. Longer
    // than half a second, and a correct server may have started a new one.
    if first_reply.is_some_and(|took| took > Duration::from_millis(500)) {
        return Ok(Run::HeldUp(first_reply.unwrap_or_default()));
    }
    let expected: Vec<String> = names("a", PER_SECOND)
        .iter()
        .map(|name| format!("Hello, {name}!"))
        .chain([TOO_FAST.to_string()])
        .collect();
    if replies != expected {
        let took = began.elapsed();
        return Ok(Run::Verdict(Err(Mismatch::new(
            format!("{expected:?}"),
            format!("{replies:?}{then} (in {took:.1?})"),
        ))));
    }
    let expected = "the connection to close after the refusal";
    Ok(Run::Verdict(closes(&client, expected)))
}

fn the_count_starts_again(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut client) = welcomed(program)?;
    greeted(&mut client, &names("a", PER_SECOND), "the first five lines")?;
    // The server's second began before it sent the first of these greetings.
    std::thread::sleep(Duration::from_millis(1200));
    greeted(
        &mut client,
        &names("b", PER_SECOND),
        "five more lines 1.2 s after the first five",
    )
}

fn each_client_counts_alone(program: &Program) -> Result<(), Mismatch> {
    let server = program.server(&[])?;
    let mut first = server.connect()?;
    first.expect("Welcome!\n")?;
    greeted(&mut first, &names("a", 3), "the first client's three lines")?;
    let mut second = server.connect()?;
    second.expect("Welcome!\n")?;
    greeted(
        &mut second,
        &names("b", 3),
        "a second client's three lines, after the first client's three",
    )
}

/// Checks that the server closes `conn`: the end of the stream, or a reset (the server
/// closed with bytes of ours unread).
fn closes(conn: &Conn, expected: &str) -> Result<(), Mismatch> {
    let mut buffer = [0; 256];
    match read_once(&mut conn.stream(), &mut buffer) {
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
    closes(&c.conn, expected)
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
