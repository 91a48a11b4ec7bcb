//! The checks of the exercises on lesson 06.

use super::{Check, Conn, Exercise, Mismatch, Program, Server, WAIT};
use socket2::SockRef;
use std::io::{ErrorKind, Read};
use std::time::Duration;

pub const ALL: &[Exercise] = &[LANGUAGES, CHAT];

const LANGUAGES: Exercise = Exercise {
    name: "ex06_languages",
    lesson: "06_hardened_server",
    task: "let each client choose its language: lang fr, then Bonjour, NAME !",
    checks: &[
        Check {
            what: "a session starts in English: \"Michael\" gets \"Hello, Michael!\"",
            hint: "start every session with the language \"en\", and greet in it",
            run: english_by_default,
        },
        Check {
            what: "\"lang fr\" gets \"ok, fr\", then \"Michael\" gets \"Bonjour, Michael !\"",
            hint: "look for lines that start with \"lang \" (line.strip_prefix(\"lang \")), \
                   keep the language in a variable of the session and answer \"ok, fr\"; \
                   French puts a space before the !",
            run: french,
        },
        Check {
            what: "\"lang de\" then gives \"Hallo, Michael!\", \"lang zh\" \"你好，Michael！\"",
            hint: "one greeting per language, chosen with a match on the session's language; \
                   the Chinese one uses the full-width ， and ！",
            run: german_and_chinese,
        },
        Check {
            what: "\"lang en\" brings English back: \"Hello, Michael!\"",
            hint: "\"en\" is a language like the others: accept it and answer \"ok, en\"",
            run: back_to_english,
        },
        Check {
            what: "\"lang xx\" gets \"error: unknown language xx (try en, fr, de, zh)\", \
                   and the session goes on in its language",
            hint: "answer the error as a reply, leave the language as it was, and keep \
                   reading: a bad command is not a reason to close",
            run: unknown_language,
        },
        Check {
            what: "one client's language does not change another's",
            hint: "keep the language in a local variable of session(): each client's thread \
                   has its own. A static or a shared variable is seen by every session",
            run: sessions_apart,
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

// ---- ex06_languages ----------------------------------------------------------------

/// Connects to `server` and reads the welcome.
fn welcomed(server: &Server) -> Result<Conn, Mismatch> {
    let mut client = server.connect()?;
    client.expect("Welcome!\n")?;
    Ok(client)
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

/// Starts the server, connects, and has the exchanges `talk` lists.
fn dialogue(program: &Program, talk: &[(&str, &str)]) -> Result<(), Mismatch> {
    let server = program.server(&[])?;
    let mut client = welcomed(&server)?;
    for (line, reply) in talk {
        says(&mut client, line, reply)?;
    }
    Ok(())
}

fn english_by_default(program: &Program) -> Result<(), Mismatch> {
    dialogue(program, &[("Michael", "Hello, Michael!")])
}

fn french(program: &Program) -> Result<(), Mismatch> {
    dialogue(
        program,
        &[("lang fr", "ok, fr"), ("Michael", "Bonjour, Michael !")],
    )
}

fn german_and_chinese(program: &Program) -> Result<(), Mismatch> {
    dialogue(
        program,
        &[
            ("lang de", "ok, de"),
            ("Michael", "Hallo, Michael!"),
            ("lang zh", "ok, zh"),
            ("Michael", "你好，Michael！"),
        ],
    )
}

fn back_to_english(program: &Program) -> Result<(), Mismatch> {
    dialogue(
        program,
        &[
            ("lang fr", "ok, fr"),
            ("lang en", "ok, en"),
            ("Michael", "Hello, Michael!"),
        ],
    )
}

fn unknown_language(program: &Program) -> Result<(), Mismatch> {
    dialogue(
        program,
        &[
            ("lang de", "ok, de"),
            ("lang xx", "error: unknown language xx (try en, fr, de, zh)"),
            ("Tracy", "Hallo, Tracy!"),
        ],
    )
}

fn sessions_apart(program: &Program) -> Result<(), Mismatch> {
    let server = program.server(&[])?;
    let mut first = welcomed(&server)?;
    let mut second = welcomed(&server)?;
    says(&mut first, "lang de", "ok, de")?;
    says(&mut second, "Tracy", "Hello, Tracy!")?;
    says(&mut first, "Michael", "Hallo, Michael!")?;
    // A session that starts after another chose French starts in English all the same.
    says(&mut first, "lang fr", "ok, fr")?;
    let mut third = welcomed(&server)?;
    says(&mut third, "Sarah", "Hello, Sarah!")
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
    match c.conn.stream().read(&mut buffer) {
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
