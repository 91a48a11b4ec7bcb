//! # Solution to ex02_queue_lengths: measure the accept queue
//!
//! Each `connect_timeout` that returns `Ok` is a handshake the kernel finished alone:
//! one more connection in the accept queue. The first that times out found it full.
//! Run it: `cargo run -p exercises --bin ex02_queue_lengths_solution`.

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use tcp_lessons::args::Args;
use tcp_lessons::say::fail;
use tcp_lessons::{kernel, note};

const USAGE: &str = indoc::indoc! {"
    usage: ex02_queue_lengths_solution [--backlogs LIST]

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
    // Kept open while we count, like real clients waiting to be served.
    let mut queued = Vec::new();
    while queued.len() < most {
        match TcpStream::connect_timeout(&addr, timeout) {
            // connect() returns when the handshake is done: the server's kernel did it
            // alone and put the connection in the accept queue.
            Ok(stream) => queued.push(stream),
            // A full queue: Linux drops the SYN unanswered, and we stop waiting after
            // `timeout`. (Any other error ends the count too.)
            Err(_) => break,
        }
    }
    queued.len()
}
// ANCHOR_END: task
