//! # Exercise ex02_ipv6: listen on IPv6 too
//!
//! The server below builds its listening socket one call at a time with `socket2`, as
//! lesson 02 does, and serves one client at a time: it sends `Welcome!` and closes the
//! connection. On `127.0.0.1` it works. Ask it for IPv6's loopback, `[::1]:1234`, and
//! `bind` fails: its socket was made for IPv4 (`AF_INET`), and an IPv4 socket can only
//! take an IPv4 address.
//!
//! **Your task:** make the socket's domain follow the address: IPv4 for an IPv4
//! address, IPv6 (`AF_INET6`) for an IPv6 one. Then `ex02_ipv6 [::1]:0` prints
//! `listening on [::1]:PORT` and welcomes IPv6 clients, and 127.0.0.1 still works.
//!
//! Difficulty: ★☆☆. Rust: `if` or `match` on a `SocketAddr` (`addr.is_ipv6()`).
//!
//! Try it: `cargo run -p exercises --bin ex02_ipv6 -- [::1]:1234`, and `nc -6 ::1 1234`
//! in a second terminal.
//! Check it: `cargo exercise ex02_ipv6`.

use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use tcp_lessons::args::Args;
use tcp_lessons::say::{explain, fail};
use tcp_lessons::server;

const USAGE: &str = indoc::indoc! {"
    usage: ex02_ipv6 [ADDRESS]

    Listens on ADDRESS (default 127.0.0.1:1234; [::1]:1234 is IPv6's loopback) and
    sends every client `Welcome!`, then closes the connection.
"};

fn main() {
    let mut args = Args::from_env(USAGE);
    let addr = args.address("127.0.0.1:1234");
    args.finish();

    let socket = listening_socket(addr).unwrap_or_else(|err| fail(explain(&err, addr)));
    let listener: TcpListener = socket.into();
    server!("listening on {}", listener.local_addr().unwrap_or(addr));
    // One client at a time: welcome it, and drop the connection, which closes it.
    loop {
        match listener.accept() {
            Ok((mut stream, peer)) => match stream.write_all(b"Welcome!\n") {
                Ok(()) => server!("welcomed {peer}"),
                Err(err) => server!("could not welcome {peer}: {err}"),
            },
            Err(err) => server!("accept failed: {err}"),
        }
    }
}

// ANCHOR: task
/// socket → set_reuse_address → bind → listen, as lesson 02 does.
fn listening_socket(addr: SocketAddr) -> io::Result<Socket> {
    // TODO: an IPv4 socket cannot bind an IPv6 address: choose the domain from `addr`.
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    // As in lessons 02 and 03: a restarted server may bind its port again while old
    // connections sit in TIME_WAIT. On Windows, SO_REUSEADDR would let another socket
    // take the port while we listen on it, so it stays off there.
    #[cfg(not(windows))]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(5)?;
    Ok(socket)
}
// ANCHOR_END: task
