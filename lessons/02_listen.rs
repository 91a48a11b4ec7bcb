//! # Lesson 02: a listening socket, step by step — bind, listen, backlog
//!
//! `std::net::TcpListener::bind` hides four system calls. This lesson makes them one
//! at a time with `socket2`, then shows two things that surprise beginners:
//!
//! 1. the backlog: the kernel finishes handshakes *without* your program, and queues the
//!    connections until you `accept` them; when the queue is full, new clients wait;
//! 2. `Address already in use`: two sockets cannot listen on one address.
//!
//! ```text
//! cargo run --example 02_listen
//! cargo run --example 02_listen -- --backlog 2 --clients 6
//! ```

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;
use tcp_lessons::args::Args;
use tcp_lessons::say::{explain, fail, heading};
use tcp_lessons::{client, kernel, note, server};

const USAGE: &str = indoc::indoc! {"
    usage: 02_listen [ADDRESS] [--backlog N] [--clients N] [--connect-timeout-ms MS]

    Builds a listening socket one call at a time, fills its accept queue without
    accepting, then accepts the waiting connections, and shows `Address already in use`.

      ADDRESS                 where to listen (default 127.0.0.1:1234; 127.0.0.1:0 picks
                              a free port)
      --backlog N             the backlog passed to listen() (default 5, the article's)
      --clients N             how many clients to connect (default: backlog + 3)
      --connect-timeout-ms MS how long each client waits for its handshake (default 300)
      --help                  show this text
"};

fn main() {
    let mut args = Args::from_env(USAGE);
    let backlog: i32 = args.value("--backlog", 5);
    let clients: usize = args.value("--clients", backlog.max(0) as usize + 3);
    let timeout = Duration::from_millis(args.value("--connect-timeout-ms", 300));
    let addr = args.address("127.0.0.1:1234");
    args.finish();

    let socket = listening_socket(addr, backlog).unwrap_or_else(|err| fail(explain(&err, addr)));
    let addr = socket
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .unwrap_or(addr);

    heading("The accept queue");
    let waiting = fill_the_queue(addr, clients, timeout);
    report_the_queue(waiting.len(), clients, backlog);
    accept_the_waiting(&socket);

    heading("Address already in use");
    bind_again(addr);

    heading("From socket2 to std");
    into_std(socket);
}

// ANCHOR: listening_socket
/// socket → set_reuse_address → bind → listen: what `TcpListener::bind` does for you.
fn listening_socket(addr: SocketAddr, backlog: i32) -> io::Result<Socket> {
    heading("A listening socket, one call at a time");
    // An IPv4 (AF_INET) stream socket speaking TCP: Python's
    // socket.socket(socket.AF_INET, socket.SOCK_STREAM). It has no address yet.
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    server!("socket(): a new IPv4 TCP socket, not yet bound to any address");

    // SO_REUSEADDR: after a server stops, its closed connections linger in TIME_WAIT
    // for up to a minute; without this option a restarted server could not bind its
    // port until they are gone. On Unix it never lets two sockets listen on one port.
    // Windows differs: there SO_REUSEADDR *does* let another socket take a port in use,
    // so Windows servers leave it off (Rust's std does), and so does this lesson.
    #[cfg(not(windows))]
    socket.set_reuse_address(true)?;
    server!("set_reuse_address(true): may bind even while old connections are in TIME_WAIT");

    // bind: claim the address (IP and port). Port 0 asks the kernel for any free port.
    socket.bind(&addr.into())?;
    let bound = socket.local_addr()?.as_socket().unwrap_or(addr);
    server!("bind({addr}): the socket now owns {bound}");

    // listen: from now on the kernel answers clients' SYNs by itself, and queues
    // connections whose handshake is complete until the program accepts them.
    socket.listen(backlog)?;
    server!("listen({backlog}): listening on {bound}");
    if let Some(max) = tcp_lessons::sys::somaxconn() {
        kernel!("net.core.somaxconn = {max}: a larger backlog is silently cut to {max}");
    }
    Ok(socket)
}
// ANCHOR_END: listening_socket

// ANCHOR: fill_the_queue
/// Connects `clients` clients one after the other, and never calls `accept`.
/// Returns the connections whose handshake completed.
fn fill_the_queue(addr: SocketAddr, clients: usize, timeout: Duration) -> Vec<TcpStream> {
    note!("{clients} clients connect, one after the other; the server does not accept yet.");
    let mut waiting = Vec::new();
    for number in 1..=clients {
        // connect() returns once the three-way handshake is done: the kernel on the
        // server side did that alone, and put the connection in the accept queue.
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => {
                let me = stream.local_addr().map_or("?".into(), |a| a.to_string());
                client!("client {number} ({me}): connected, waits in the accept queue");
                waiting.push(stream);
            }
            // A full queue: Linux drops the SYN, as if it was lost, and the client's
            // kernel would retry it after a second. We give up sooner.
            Err(err) if err.kind() == io::ErrorKind::TimedOut => {
                client!("client {number}: no handshake within {timeout:?}, gave up");
            }
            Err(err) => client!("client {number}: connect failed: {err}"),
        }
    }
    waiting
}
// ANCHOR_END: fill_the_queue

/// Says what this OS did: only numbers this run observed.
fn report_the_queue(queued: usize, clients: usize, backlog: i32) {
    kernel!("with backlog {backlog}, {queued} of {clients} connections were queued");
    if queued == clients {
        note!("Every client got in: try more --clients to see the queue fill up.");
    } else if queued as i64 == i64::from(backlog) + 1 {
        note!(
            "That is backlog + 1: Linux calls the queue full only when it holds more than\n\
             the backlog. The later clients' SYNs went unanswered: their kernels would send\n\
             them again after a second, and again, until there is room or they give up."
        );
    } else {
        note!("This OS queued {queued} connections for a backlog of {backlog}.");
    }
}

// ANCHOR: accept_the_waiting
/// Accepts the queued connections one by one, until the queue is empty.
fn accept_the_waiting(socket: &Socket) {
    // Non-blocking, so that an empty queue answers WouldBlock instead of waiting
    // forever for a client that will not come.
    if let Err(err) = socket.set_nonblocking(true) {
        fail(format!("cannot make the socket non-blocking: {err}"));
    }
    let mut accepted = 0;
    loop {
        match socket.accept() {
            Ok((_connection, peer)) => {
                accepted += 1;
                let peer = peer.as_socket().map_or("?".into(), |a| a.to_string());
                server!("accept() -> connection {accepted}, from {peer}");
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(err) => {
                server!("accept() failed: {err}");
                break;
            }
        }
    }
    kernel!("the accept queue is empty: {accepted} connections were waiting in it");
    let _ = socket.set_nonblocking(false);
}
// ANCHOR_END: accept_the_waiting

// ANCHOR: bind_again
/// A second socket tries to bind the address the first one listens on.
fn bind_again(addr: SocketAddr) {
    let second = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).and_then(|second| {
        // Even with SO_REUSEADDR on both, a listening port is not shared (on Unix).
        #[cfg(not(windows))]
        second.set_reuse_address(true)?;
        second.bind(&addr.into())
    });
    match second {
        Err(err) => {
            let code = err.raw_os_error().map_or("none".into(), |c| c.to_string());
            kernel!(
                "bind({addr}) again: error kind {:?}, OS error {code}",
                err.kind()
            );
            kernel!("the OS says: {err}");
            note!(
                "Each address (IP + port) has one listener (unless every socket on it asks for\n\
                 SO_REUSEPORT, on purpose). A second server on the same port fails this\n\
                 way: stop the first, or choose another port."
            );
        }
        Ok(()) => kernel!("bind({addr}) again succeeded: this OS shares the port"),
    }
}
// ANCHOR_END: bind_again

// ANCHOR: into_std
/// Hands the socket to the standard library, which the next lessons use.
fn into_std(socket: Socket) {
    let listener: TcpListener = socket.into();
    match listener.local_addr() {
        Ok(addr) => server!("std::net::TcpListener listening on {addr}"),
        Err(err) => server!("std::net::TcpListener, address unknown: {err}"),
    }
    note!(
        "TcpListener::bind(addr) does socket(), SO_REUSEADDR (on Unix), bind() and\n\
         listen() in one call, with a backlog it chooses; socket2 lets you choose."
    );
}
// ANCHOR_END: into_std
