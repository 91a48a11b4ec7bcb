//! # Exercise ex02_queue_lengths: measure the accept queue
//!
//! Lesson 02 fills one listener's accept queue without accepting, and reports what it
//! saw. This program does it for several backlogs. For each it makes a fresh listener on
//! 127.0.0.1 with that backlog, connects clients to it, never calls `accept`, and prints
//! how many connections the kernel queued: `backlog 4: 5 connections queued`.
//!
//! **Your task:** write `count_queued`. Connect clients one after the other with
//! `TcpStream::connect_timeout`, each waiting at most `timeout` for its handshake, and
//! keep the connected streams. Stop at the first client that does not get in (the queue
//! is full), or when `most` clients are in. Return how many got in.
//!
//! Difficulty: ★★☆. Rust: a `loop` or `while`, a `Vec`, and `match` on a `Result`.
//!
//! Try it: `cargo run -p exercises --bin ex02_queue_lengths -- --backlogs 1,2,4`.
//! Check it: `cargo exercise ex02_queue_lengths`.

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use tcp_lessons::args::Args;
use tcp_lessons::say::fail;
use tcp_lessons::{kernel, note};

const USAGE: &str = indoc::indoc! {"
    usage: ex02_queue_lengths [--backlogs LIST]

    For each backlog, listens on 127.0.0.1 with it, connects clients without accepting
    them, and prints how many connections the kernel queued.

      --backlogs LIST   backlogs to try, separated by commas, each from 0 to 100
                        (default 1,2,4,8)
"};

/// How long a client waits for its handshake. On loopback an answer takes microseconds;
/// an unanswered SYN would be sent again only after a second.
const TIMEOUT: Duration = Duration::from_millis(200);

fn main() {
    let mut args = Args::from_env(USAGE);
    let list: String = args.value("--backlogs", "1,2,4,8".to_string());
    args.finish();
    let backlogs = parse_backlogs(&list).unwrap_or_else(|bad| {
        fail(format!(
            "--backlogs: {bad:?} is not a backlog from 0 to 100 (write them as 1,2,4)"
        ))
    });

    note!(
        "For each backlog: a new listener on 127.0.0.1, at most backlog + 2 clients, each\n\
         waiting {TIMEOUT:?} for its handshake, and no accept()."
    );
    for backlog in backlogs {
        let listener = listening_socket(backlog)
            .unwrap_or_else(|err| fail(format!("cannot listen on 127.0.0.1: {err}")));
        let Some(addr) = listener.local_addr().ok().and_then(|a| a.as_socket()) else {
            fail("the listener has no address")
        };
        // Two more clients than the backlog: enough to fill a queue of backlog + 1, and
        // to see one client more wait in vain.
        let most = backlog as usize + 2;
        let queued = count_queued(addr, most, TIMEOUT);
        let plural = if queued == 1 { "" } else { "s" };
        if queued == most {
            kernel!(
                "backlog {backlog}: {queued} connection{plural} queued (all {most} clients got in: \
                 the queue may hold more)"
            );
        } else {
            kernel!("backlog {backlog}: {queued} connection{plural} queued");
        }
        // The listener closes here; the connections still queued are reset.
    }
}

/// The backlogs in `list`, such as `1,2,4`; the first bad one as the error.
fn parse_backlogs(list: &str) -> Result<Vec<i32>, String> {
    list.split(',')
        .map(|word| match word.trim().parse::<i32>() {
            Ok(backlog) if (0..=100).contains(&backlog) => Ok(backlog),
            _ => Err(word.to_string()),
        })
        .collect()
}

/// A listening socket on 127.0.0.1, port chosen by the kernel, with `backlog`.
fn listening_socket(backlog: i32) -> io::Result<Socket> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket)
}

// ANCHOR: task
/// Connects at most `most` clients to `addr`, one after the other, and never accepts.
/// Returns how many got in: the connections the kernel queued.
fn count_queued(addr: SocketAddr, most: usize, timeout: Duration) -> usize {
    let queued: Vec<TcpStream> = Vec::new();
    // TODO: connect clients one after the other, each with
    // TcpStream::connect_timeout(&addr, timeout), and push every connected stream into
    // `queued`, until a connect fails or `most` clients are in.
    let _ = (addr, most, timeout);
    queued.len()
}
// ANCHOR_END: task
