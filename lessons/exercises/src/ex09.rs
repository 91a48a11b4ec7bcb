//! The checks of the exercise on lesson 09.

use super::{Check, Conn, Exercise, Mismatch, Program, Server};

pub const ALL: &[Exercise] = &[COUNT];

const COUNT: Exercise = Exercise {
    name: "ex09_count",
    lesson: "09_event_loop",
    task: "answer `count` with the number of sessions open: sessions open: 2",
    checks: &[
        Check {
            what: "a client alone: \"count\" gets \"sessions open: 1\"",
            hint: "read `sessions.len()` in `ready`, before `sessions.get_mut(&token)` lends \
                   one session out of the map, pass it to `serve`, and answer `count` with \
                   it. The one asking is included: a session taken out of the map while it \
                   is served is still open",
            run: alone,
        },
        Check {
            what: "with three clients connected, \"count\" gets \"sessions open: 3\"",
            hint: "count every session in the map, the one asking included",
            run: three,
        },
        Check {
            what: "after one of three has sent exit and been closed, \"count\" gets \
                   \"sessions open: 2\"",
            hint: "read the number from the map when `count` arrives: a session that has \
                   ended is no longer in it, but a count kept beside the map (one more at \
                   each accept, like the tokens handed out) still counts it",
            run: one_left,
        },
        Check {
            what: "other messages are still greeted: \"Michael\" gets \"Hello, Michael!\"",
            hint: "answer `count` only when the whole message is `count`",
            run: still_greets,
        },
        Check {
            what: "the reply ends as the message did: \"count\\r\\n\" gets \
                   \"sessions open: 1\\r\\n\"",
            hint: "end the reply with the message's own line ending (`ending`), as \
                   `Hello, NAME!` does: a client that reads lines waits for it",
            run: line_ending,
        },
    ],
};

/// Connects to `server` and reads the article's welcome (it has no line ending).
pub(crate) fn welcomed(server: &Server) -> Result<Conn, Mismatch> {
    let mut client = server.connect()?;
    client.expect("Welcome!")?;
    Ok(client)
}

/// Sends `line` with a `\n`, and compares the reply line with `expected`.
pub(crate) fn says(client: &mut Conn, line: &str, expected: &str) -> Result<(), Mismatch> {
    let wanted = format!("{expected:?} in reply to {line:?}");
    client.send(format!("{line}\n").as_bytes())?;
    match client.line() {
        Ok(got) if got == expected => Ok(()),
        Ok(got) => Err(Mismatch::new(wanted, format!("{got:?}"))),
        Err(mismatch) => Err(Mismatch::new(wanted, mismatch.got)),
    }
}

fn alone(program: &Program) -> Result<(), Mismatch> {
    let server = program.server(&[])?;
    let mut client = welcomed(&server)?;
    says(&mut client, "count", "sessions open: 1")
}

fn three(program: &Program) -> Result<(), Mismatch> {
    let server = program.server(&[])?;
    let mut a = welcomed(&server)?;
    let _b = welcomed(&server)?;
    let _c = welcomed(&server)?;
    says(&mut a, "count", "sessions open: 3")
}

fn one_left(program: &Program) -> Result<(), Mismatch> {
    let server = program.server(&[])?;
    let mut a = welcomed(&server)?;
    let _b = welcomed(&server)?;
    let mut c = welcomed(&server)?;
    c.send(b"exit\n")?;
    c.expect_closed()?;
    says(&mut a, "count", "sessions open: 2")
}

fn still_greets(program: &Program) -> Result<(), Mismatch> {
    let server = program.server(&[])?;
    let mut client = welcomed(&server)?;
    says(&mut client, "Michael", "Hello, Michael!")?;
    says(&mut client, "count", "sessions open: 1")?;
    says(&mut client, "Tracy", "Hello, Tracy!")
}

/// The exact bytes: `\r\n` in, `\r\n` out, and nothing else before the next reply.
fn line_ending(program: &Program) -> Result<(), Mismatch> {
    let server = program.server(&[])?;
    let mut client = welcomed(&server)?;
    for (line, expected) in [
        ("count\r\n", "sessions open: 1\r\n"),
        ("Michael\r\n", "Hello, Michael!\r\n"),
    ] {
        client.send(line.as_bytes())?;
        let got = up_to_a_newline(&mut client)?;
        if got != expected {
            return Err(Mismatch::new(
                format!("{expected:?} in reply to {line:?}"),
                format!("{got:?}"),
            ));
        }
    }
    Ok(())
}

/// What comes until a `\n` (or until nothing more comes within WAIT), the line ending
/// included.
fn up_to_a_newline(client: &mut Conn) -> Result<String, Mismatch> {
    let mut got = String::new();
    while !got.ends_with('\n') {
        match client.read_some() {
            Ok(more) if more.is_empty() => break, // the server closed
            Ok(more) => got.push_str(&more),
            Err(_) if !got.is_empty() => break, // a reply without a line ending
            Err(mismatch) => return Err(mismatch),
        }
    }
    Ok(got)
}
