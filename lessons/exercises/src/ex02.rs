//! The checks of the exercises on lesson 02.

use super::{Check, Exercise, Mismatch, Program, Server};
use std::collections::BTreeMap;
use std::net::{Ipv6Addr, TcpListener};

pub const ALL: &[Exercise] = &[IPV6, QUEUE_LENGTHS];

const IPV6: Exercise = Exercise {
    name: "ex02_ipv6",
    lesson: "02_listen",
    task: "make the server listen on IPv6 addresses too, such as [::1]:0",
    checks: &[
        Check {
            what: "on 127.0.0.1:0, two clients in turn each get Welcome! and a closed connection",
            hint: "keep IPv4 working: Domain::IPV4 is still right for an IPv4 address",
            run: ipv4_still_works,
        },
        Check {
            what: "`ex02_ipv6 [::1]:0` prints `listening on [::1]:PORT`",
            hint: "an IPv4 socket (Domain::IPV4) cannot bind an IPv6 address: make the domain \
                   follow the address, Domain::IPV6 for an IPv6 one (addr.is_ipv6() tells). \
                   And bind the address you were given: [::] would be every address of the \
                   machine, reachable from other machines too",
            run: listens_on_ipv6,
        },
        Check {
            what: "a client connecting to [::1]:PORT gets Welcome!",
            hint: "the socket must be an IPv6 one, bound to the IPv6 address it was given",
            run: welcomes_ipv6_client,
        },
    ],
};

fn ipv4_still_works(program: &Program) -> Result<(), Mismatch> {
    let server = program.server(&[])?;
    for _ in 0..2 {
        let mut client = server.connect()?;
        client.expect("Welcome!\n")?;
        client.expect_closed()?;
    }
    Ok(())
}

fn listens_on_ipv6(program: &Program) -> Result<(), Mismatch> {
    ipv6_server(program).map(drop)
}

fn welcomes_ipv6_client(program: &Program) -> Result<(), Mismatch> {
    let server = ipv6_server(program)?;
    let mut client = server.connect()?;
    client.expect("Welcome!\n")?;
    client.expect_closed()
}

/// Starts the program on `[::1]:0` and checks that it listens on `[::1]:PORT`.
fn ipv6_server(program: &Program) -> Result<Server, Mismatch> {
    // Without an IPv6 loopback (IPv6 turned off), no program could pass: say so.
    if let Err(err) = TcpListener::bind("[::1]:0") {
        return Err(Mismatch::new(
            "an IPv6 loopback (::1) on this machine, to run this check",
            format!(
                "none: the checker itself cannot listen on [::1]:0 ({err}). This machine \
                 cannot run this check; your program is not to blame"
            ),
        ));
    }
    let server = match program.server_at(&["[::1]:0"]) {
        Ok(server) => server,
        Err(mismatch) => return Err(why_it_stopped(program, mismatch)),
    };
    if server.addr.ip() != Ipv6Addr::LOCALHOST {
        return Err(Mismatch::new(
            "listening on [::1]:PORT",
            format!("listening on {}", server.addr),
        ));
    }
    Ok(server)
}

/// A server that failed to start said why on stderr: run it once more to show that.
fn why_it_stopped(program: &Program, mismatch: Mismatch) -> Mismatch {
    match program.run(&["[::1]:0"], "") {
        Ok(finished) if !finished.stderr.trim().is_empty() => Mismatch::new(
            "listening on [::1]:PORT",
            format!(
                "it stopped ({}) and said: {}",
                finished.status,
                finished.stderr.trim()
            ),
        ),
        _ => mismatch,
    }
}

const QUEUE_LENGTHS: Exercise = Exercise {
    name: "ex02_queue_lengths",
    lesson: "02_listen",
    task: "measure how many connections the accept queue holds, for several backlogs",
    checks: &[
        Check {
            what: "`--backlogs 1,3` prints a line per backlog: `backlog 1: ...`, `backlog 3: ...`",
            hint: "main() prints the lines already: keep its loop over the backlogs",
            run: one_line_per_backlog,
        },
        Check {
            what: "backlog 1: 2 connections queued (on Linux: backlog + 1)",
            hint: "connect one client after another with TcpStream::connect_timeout, never \
                   accept, and count the ones that get in (not the one that timed out). A \
                   plain connect() to a full queue waits for minutes: Linux drops the SYN, and \
                   the client sends it again and again. Linux calls the accept queue full \
                   only when it holds more than the backlog: backlog + 1",
            run: backlog_one,
        },
        Check {
            what: "backlog 3: 4 connections queued (on Linux: backlog + 1)",
            hint: "keep connecting until a connect fails (or `most` are in), not just `backlog` \
                   times: Linux queues backlog + 1 connections",
            run: backlog_three,
        },
    ],
};

fn one_line_per_backlog(program: &Program) -> Result<(), Mismatch> {
    let queued = queue_lengths(program)?;
    let backlogs: Vec<i32> = queued.keys().copied().collect();
    if backlogs == [1, 3] {
        Ok(())
    } else {
        Err(Mismatch::new(
            "lines for backlogs [1, 3]",
            format!("lines for backlogs {backlogs:?}"),
        ))
    }
}

fn backlog_one(program: &Program) -> Result<(), Mismatch> {
    expect_queued(program, 1)
}

fn backlog_three(program: &Program) -> Result<(), Mismatch> {
    expect_queued(program, 3)
}

/// Runs `--backlogs 1,3` and checks what it says for `backlog`: backlog + 1 on Linux;
/// elsewhere (other systems count differently) at least one connection, at most
/// backlog + 2, the most the program tries.
fn expect_queued(program: &Program, backlog: i32) -> Result<(), Mismatch> {
    let queued = queue_lengths(program)?;
    let Some(&got) = queued.get(&backlog) else {
        return Err(Mismatch::new(
            format!("a line `backlog {backlog}: N connections queued`"),
            "none",
        ));
    };
    let (right, expected) = if cfg!(target_os = "linux") {
        (
            got == backlog + 1,
            format!("backlog {backlog}: {} connections queued", backlog + 1),
        )
    } else {
        (
            (1..=backlog + 2).contains(&got),
            format!(
                "backlog {backlog}: between 1 and {} connections queued",
                backlog + 2
            ),
        )
    };
    if right {
        Ok(())
    } else {
        Err(Mismatch::new(
            expected,
            format!("backlog {backlog}: {got} connections queued"),
        ))
    }
}

/// Runs the program with `--backlogs 1,3`; returns each backlog with the number of
/// connections its line says were queued.
fn queue_lengths(program: &Program) -> Result<BTreeMap<i32, i32>, Mismatch> {
    let finished = program.run(&["--backlogs", "1,3"], "")?;
    if !finished.status.success() {
        return Err(Mismatch::new(
            "lines `backlog N: M connections queued`",
            format!(
                "it stopped ({}) and said: {}",
                finished.status,
                finished.stderr.trim()
            ),
        ));
    }
    let mut queued = BTreeMap::new();
    for line in finished.stdout.lines() {
        // `[kernel] backlog 3: 4 connections queued`: the words after "backlog ".
        let Some((_, rest)) = line.split_once("backlog ") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let backlog = words.next().and_then(|w| w.strip_suffix(':')?.parse().ok());
        let count = words.next().and_then(|w| w.parse().ok());
        let queued_word = words.nth(1);
        if let (Some(backlog), Some(count), Some("queued")) = (backlog, count, queued_word) {
            queued.insert(backlog, count);
        }
    }
    if queued.is_empty() {
        return Err(Mismatch::new(
            "lines `backlog N: M connections queued`",
            format!("{:?}", finished.stdout),
        ));
    }
    Ok(queued)
}
