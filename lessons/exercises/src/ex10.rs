//! The checks of the exercise on lesson 10.

use super::ex09::{says, welcomed};
use super::{Check, Exercise, Mismatch, Program};

pub const ALL: &[Exercise] = &[TOTAL];

const TOTAL: Exercise = Exercise {
    name: "ex10_total",
    lesson: "10_async_server",
    task: "answer `total` with the names greeted by every session: names greeted: 3",
    checks: &[
        Check {
            what: "a fresh server: \"total\", twice, gets \"names greeted: 0\" both times",
            hint: "`total` is not a name: answer it without counting it (count a name \
                   where its `Hello, NAME!` is made, not for every message)",
            run: none_yet,
        },
        Check {
            what: "after \"Michael\" and \"Tracy\", \"total\" gets \"names greeted: 2\"",
            hint: "add one to the count for each `Hello, NAME!` sent, in `session`: a \
                   client that sends two names counts two (not one per connection)",
            run: two_names,
        },
        Check {
            what: "names from two clients add up: 2 from A and 1 from B, then B's \
                   \"total\" gets \"names greeted: 3\"",
            hint: "one count for the whole server: make it once, before the accept loop, \
                   in an `Arc`, and give each task a clone of the `Arc` (not a count of \
                   its own)",
            run: two_clients,
        },
    ],
};

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
