//! The checks of the exercises on lesson 03.

use super::{Check, Conn, Exercise, Mismatch, Program, Server};
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

pub const ALL: &[Exercise] = &[COUNT, TIME, WHO];

const COUNT: Exercise = Exercise {
    name: "ex03_count",
    lesson: "03_server",
    task: "number each session's messages: Hello, Michael! (message 1)",
    checks: &[
        Check {
            what: "the first message is answered \"Hello, Michael! (message 1)\"",
            hint: "format the reply with the count, format!(\"Hello, {name}! (message {count})\"), \
                   and add 1 to the count before the reply: the first message is 1, not 0",
            run: first_message_is_one,
        },
        Check {
            what: "the count goes on: the third message is (message 3)",
            hint: "add 1 to the count for every message, before you reply",
            run: count_goes_on,
        },
        Check {
            what: "a second client counts from 1 again",
            hint: "keep the count inside session(), so that each client has its own: a static \
                   (or any counter outside session) is one count shared by every client",
            run: each_session_counts_alone,
        },
    ],
};

/// Connects, reads the welcome, sends `names` and returns the replies.
fn greetings(program: &Program, names: &[&str]) -> Result<Vec<String>, Mismatch> {
    let server = program.server(&[])?;
    let mut client = server.connect()?;
    client.expect("Welcome!\n")?;
    let mut replies = Vec::new();
    for name in names {
        client.send(format!("{name}\n").as_bytes())?;
        replies.push(client.line()?);
    }
    Ok(replies)
}

fn same(expected: &str, got: &str) -> Result<(), Mismatch> {
    if expected == got {
        Ok(())
    } else {
        Err(Mismatch::new(format!("{expected:?}"), format!("{got:?}")))
    }
}

fn first_message_is_one(program: &Program) -> Result<(), Mismatch> {
    let replies = greetings(program, &["Michael"])?;
    same("Hello, Michael! (message 1)", &replies[0])
}

fn count_goes_on(program: &Program) -> Result<(), Mismatch> {
    let replies = greetings(program, &["Michael", "Tracy", "Sarah"])?;
    same("Hello, Sarah! (message 3)", &replies[2])
}

fn each_session_counts_alone(program: &Program) -> Result<(), Mismatch> {
    let server = program.server(&[])?;
    let mut first = server.connect()?;
    first.expect("Welcome!\n")?;
    first.send(b"Michael\nTracy\n")?;
    first.line()?;
    first.line()?;
    let mut second = server.connect()?;
    second.expect("Welcome!\n")?;
    second.send(b"Sarah\n")?;
    same("Hello, Sarah! (message 1)", &second.line()?)
}

const TIME: Exercise = Exercise {
    name: "ex03_time",
    lesson: "03_server",
    task: "answer `time` with the server's clock: time 1795000000",
    checks: &[
        Check {
            what: "`time` is answered \"time N\", N the seconds since 1970 on the server's clock",
            hint: "compare the line with \"time\" before you greet it; \
                   SystemTime::now().duration_since(UNIX_EPOCH) gives a Duration, and \
                   .as_secs() its whole seconds",
            run: time_is_told,
        },
        Check {
            what: "a name is still greeted: \"Hello, Michael!\"",
            hint: "only the line `time` gets the time; every other line keeps its greeting",
            run: time_keeps_greeting,
        },
        Check {
            what: "`time` does not end the session: a name after it is still answered",
            hint: "after the time reply, go on with the loop (no break, no return)",
            run: time_goes_on,
        },
        Check {
            what: "`time` gets one reply: the line after it gets its own greeting",
            hint: "answer `time` with one line and nothing else: an extra reply (the time, \
                   and then `Hello, time!` as well) is read by the client as the answer to \
                   its next line. Build one reply per line, in one `match` or `if`/`else`",
            run: time_gets_one_reply,
        },
    ],
};

/// How far the server's clock may be from the check's: they run on the same machine,
/// so only the second boundary and a slow start separate them.
const CLOCK_SLACK: u64 = 5;

/// Starts the server, connects and reads the welcome.
fn welcomed(program: &Program) -> Result<(Server, Conn), Mismatch> {
    let server = program.server(&[])?;
    let mut client = server.connect()?;
    client.expect("Welcome!\n")?;
    Ok((server, client))
}

/// Sends one line and returns the reply line.
fn ask(client: &mut Conn, line: &str) -> Result<String, Mismatch> {
    client.send(format!("{line}\n").as_bytes())?;
    client.line()
}

fn time_is_told(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut client) = welcomed(program)?;
    let reply = ask(&mut client, "time")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let expected = format!("\"time {now}\" (give or take {CLOCK_SLACK} s)");
    let told = reply
        .strip_prefix("time ")
        .and_then(|n| n.trim().parse::<u64>().ok());
    match told {
        Some(n) if n.abs_diff(now) <= CLOCK_SLACK => Ok(()),
        _ => Err(Mismatch::new(expected, format!("{reply:?}"))),
    }
}

fn time_keeps_greeting(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut client) = welcomed(program)?;
    same("Hello, Michael!", &ask(&mut client, "Michael")?)
}

fn time_goes_on(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut client) = welcomed(program)?;
    ask(&mut client, "time")?;
    // Any line will do here: whether it is the right one is the next check's business.
    client.send(b"Michael\n")?;
    client
        .line()
        .map(drop)
        .map_err(|m| Mismatch::new("a reply to \"Michael\", sent after \"time\"", m.got))
}

fn time_gets_one_reply(program: &Program) -> Result<(), Mismatch> {
    one_reply(program, "time")
}

/// Sends `command`, reads one line (its reply), then sends a name: the next line must
/// be that name's greeting. A second reply to `command` would come first. (A session
/// that ends after `command`, or says nothing more, is another check's business: this
/// one has nothing to judge then, and passes.)
fn one_reply(program: &Program, command: &str) -> Result<(), Mismatch> {
    let (_server, mut client) = welcomed(program)?;
    ask(&mut client, command)?;
    client.send(b"Michael\n")?;
    match client.line() {
        Ok(reply) if reply == "Hello, Michael!" => Ok(()),
        Ok(reply) => Err(Mismatch::new(
            format!("\"Hello, Michael!\" in reply to \"Michael\", the line after {command:?}"),
            format!("{reply:?}"),
        )),
        Err(_) => Ok(()),
    }
}

const WHO: Exercise = Exercise {
    name: "ex03_who",
    lesson: "03_server",
    task: "answer `who` with every connected client: who 127.0.0.1:50412 127.0.0.1:50414",
    checks: &[
        Check {
            what: "with two clients connected, `who` lists both",
            hint: "keep one set of addresses for all sessions (a Mutex<BTreeSet<SocketAddr>> \
                   made in main and moved into the closure you give serve: a set made inside \
                   the closure is a new one per session), insert the peer when its session \
                   starts, and reply \"who\" followed by each address after a space",
            run: who_lists_both,
        },
        Check {
            what: "after one client has closed the connection (without `exit`), `who` lists only the other",
            hint: "take the peer off the set once session() has returned, whatever it \
                   returned: a client that closes without `exit` ends its session too",
            run: who_forgets_the_closed,
        },
        Check {
            what: "the list is sorted: who 127.0.0.1:50412 127.0.0.1:50414 127.0.0.1:50416",
            hint: "a HashSet has no order (it changes from run to run): sort the addresses, \
                   or keep them in a BTreeSet, which iterates in order",
            run: who_is_sorted,
        },
        Check {
            what: "a name is still greeted: \"Hello, Michael!\"",
            hint: "only the line `who` gets the list; every other line keeps its greeting",
            run: who_keeps_greeting,
        },
        Check {
            what: "`who` gets one reply: the line after it gets its own greeting",
            hint: "answer `who` with the list and nothing else: an extra reply (the list, and \
                   then `Hello, who!` as well) is read by the client as the answer to its \
                   next line. Build one reply per line, in one `match` or `if`/`else`",
            run: who_gets_one_reply,
        },
    ],
};

/// Connects `count` clients, each greeted once so that its session has surely started.
fn clients(server: &Server, count: usize) -> Result<Vec<Conn>, Mismatch> {
    let mut all = Vec::new();
    for _ in 0..count {
        let mut client = server.connect()?;
        client.expect("Welcome!\n")?;
        same("Hello, Michael!", &ask(&mut client, "Michael")?)?;
        all.push(client);
    }
    Ok(all)
}

/// The address the server sees for `client`: its own end of the connection.
fn address(client: &Conn) -> Result<SocketAddr, Mismatch> {
    client.stream().local_addr().map_err(Mismatch::from)
}

/// Asks `who` on `client` and compares the reply with `expected`, in order or not.
fn who_is(client: &mut Conn, mut expected: Vec<SocketAddr>, sorted: bool) -> Result<(), Mismatch> {
    expected.sort();
    let want = expected
        .iter()
        .fold("who".to_string(), |list, peer| format!("{list} {peer}"));
    let reply = ask(client, "who")?;
    let mut words = reply.split_whitespace();
    let listed: Option<Vec<SocketAddr>> = match words.next() {
        Some("who") => words.map(|word| word.parse().ok()).collect(),
        _ => None,
    };
    let fits = match listed {
        Some(mut listed) if !sorted => {
            listed.sort();
            listed == expected
        }
        Some(listed) => listed == expected,
        None => false,
    };
    if fits {
        Ok(())
    } else if sorted || expected.len() < 2 {
        Err(Mismatch::new(format!("{want:?}"), format!("{reply:?}")))
    } else {
        Err(Mismatch::new(
            format!("{want:?} (in any order)"),
            format!("{reply:?}"),
        ))
    }
}

fn who_lists_both(program: &Program) -> Result<(), Mismatch> {
    let server = program.server(&[])?;
    let mut both = clients(&server, 2)?;
    let expected = vec![address(&both[0])?, address(&both[1])?];
    who_is(&mut both[0], expected, false)
}

fn who_forgets_the_closed(program: &Program) -> Result<(), Mismatch> {
    let mut server = program.server(&[])?;
    let mut both = clients(&server, 2)?;
    let gone = address(&both[0])?;
    let stays = address(&both[1])?;
    // Close the first without `exit`, and wait until the server has seen its session end.
    drop(both.remove(0));
    server.expect_line(&format!("{gone} closed"))?;
    who_is(&mut both[0], vec![stays], false)
}

fn who_is_sorted(program: &Program) -> Result<(), Mismatch> {
    let server = program.server(&[])?;
    let mut three = clients(&server, 3)?;
    let expected = three.iter().map(address).collect::<Result<Vec<_>, _>>()?;
    who_is(&mut three[2], expected, true)
}

fn who_keeps_greeting(program: &Program) -> Result<(), Mismatch> {
    let (_server, mut client) = welcomed(program)?;
    same("Hello, Michael!", &ask(&mut client, "Michael")?)
}

fn who_gets_one_reply(program: &Program) -> Result<(), Mismatch> {
    one_reply(program, "who")
}
