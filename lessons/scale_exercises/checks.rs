//! The checks of the exercises on lessons 09 and 10, in the form of `src/check/ex06.rs`:
//! to be split into `ex09.rs` and `ex10.rs` of the exercise package and listed in its
//! `exercises()`.

use super::{Check, Conn, Exercise, Mismatch, Program, Server};

pub const ALL: &[Exercise] = &[COUNT, TOTAL];

const COUNT: Exercise = Exercise {
    name: "ex09_count",
    lesson: "09_event_loop",
    task: "answer count with sessions open: N",
    checks: &[
        Check {
            what: "a client alone: \"count\" gets \"sessions open: 1\"",
            hint: "before `sessions.get_mut(&token)` borrows one session, read \
                   `sessions.len()`, pass it to `serve`, and answer `count` with it",
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
            hint: "the number must be read when `count` arrives, not kept from before: \
                   a session that ended is no longer in the map",
            run: one_left,
        },
        Check {
            what: "other messages are still greeted: \"Michael\" gets \"Hello, Michael!\"",
            hint: "answer `count` only when the whole message is `count`",
            run: still_greets,
        },
    ],
};

const TOTAL: Exercise = Exercise {
    name: "ex10_total",
    lesson: "10_async_server",
    task: "answer total with names greeted: N, over all sessions",
    checks: &[
        Check {
            what: "a fresh server: \"total\", twice, gets \"names greeted: 0\" both times",
            hint: "`total` is not a name: answer it without counting it",
            run: none_yet,
        },
        Check {
            what: "after \"Michael\" and \"Tracy\", \"total\" gets \"names greeted: 2\"",
            hint: "add one to the count for each `Hello, NAME!` sent",
            run: two_names,
        },
        Check {
            what: "names from two clients add up: 2 from A and 1 from B, then B's \
                   \"total\" gets \"names greeted: 3\"",
            hint: "one count for the whole server: make it once, before the accept loop, \
                   in an Arc, and give each task a clone of the Arc (not a count of its own)",
            run: two_clients,
        },
    ],
};

/// Connects to `server` and reads the article's welcome (it has no line ending).
fn welcomed(server: &Server) -> Result<Conn, Mismatch> {
    let mut client = server.connect()?;
    client.expect("Welcome!")?;
    Ok(client)
}

/// Sends `line` with a `\n`, and compares the reply line with `expected`.
fn says(client: &mut Conn, line: &str, expected: &str) -> Result<(), Mismatch> {
    let wanted = format!("{expected:?} in reply to {line:?}");
    client.send(format!("{line}\n").as_bytes())?;
    match client.line() {
        Ok(got) if got == expected => Ok(()),
        Ok(got) => Err(Mismatch::new(wanted, format!("{got:?}"))),
        Err(mismatch) => Err(Mismatch::new(wanted, mismatch.got)),
    }
}

// ---- ex09_count --------------------------------------------------------------------

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

// ---- ex10_total --------------------------------------------------------------------

fn none_yet(program: &Program) -> Result<(), Mismatch> {
    let server = program.server(&[])?;
    let mut client = welcomed(&server)?;
    says(&mut client, "total", "names greeted: 0")?;
    says(&mut client, "total", "names greeted: 0")
}

fn two_names(program: &Program) -> Result<(), Mismatch> {
    let server = program.server(&[])?;
    let mut client = welcomed(&server)?;
    says(&mut client, "Michael", "Hello, Michael!")?;
    says(&mut client, "Tracy", "Hello, Tracy!")?;
    says(&mut client, "total", "names greeted: 2")
}

fn two_clients(program: &Program) -> Result<(), Mismatch> {
    let server = program.server(&[])?;
    let mut a = welcomed(&server)?;
    let mut b = welcomed(&server)?;
    says(&mut a, "Michael", "Hello, Michael!")?;
    says(&mut a, "Tracy", "Hello, Tracy!")?;
    says(&mut b, "Sarah", "Hello, Sarah!")?;
    says(&mut b, "total", "names greeted: 3")
}
