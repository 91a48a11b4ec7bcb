//! # Solution to ex02_ipv6: listen on IPv6 too
//!
//! `Domain::for_address` picks `AF_INET` for an IPv4 address and `AF_INET6` for an
//! IPv6 one: the rest of the calls are the same for both.
//! Run it: `cargo run -p exercises --bin ex02_ipv6_solution -- [::1]:1234`.

use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use tcp_lessons::args::Args;
use tcp_lessons::say::{explain, fail};
use tcp_lessons::server;

const USAGE: &str = indoc::indoc! {"
    usage: ex02_ipv6_solution [ADDRESS]

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
    // The domain (address family) must match the address bind gets: Domain::IPV4 for
    // 127.0.0.1, Domain::IPV6 for ::1. On Linux, by default, an IPv6 socket bound to [::]
    // takes IPv4 clients too (as ::ffff:127.0.0.1), unless set_only_v6(true) comes first.
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
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
