//! # Lesson 02: a listening socket, step by step — bind, listen, backlog
//!
//! `std::net::TcpListener::bind` hides four system calls. This lesson makes them one
//! at a time with `socket2`, then shows what surprises beginners:
//!
//! 1. the backlog: the kernel finishes handshakes *without* your program, and queues the
//!    connections until you `accept` them; when the queue is full, new clients wait,
//!    and their kernels send the SYN again on a schedule this lesson reads from Linux;
//! 2. a client can be connected on its side while the server has no room for it
//!    (Linux: `tcp_abort_on_overflow` decides what it then sees);
//! 3. `Address already in use`: two sockets cannot listen on one address;
//! 4. TIME_WAIT and `SO_REUSEADDR`: the four combinations, and which one binds.
//!
//! ```text
//! cargo run --example 02_listen
//! cargo run --example 02_listen -- 127.0.0.1:0 --backlog 2 --clients 6
//! ```

use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};
use tcp_lessons::args::Args;
use tcp_lessons::say::{explain, fail, heading};
use tcp_lessons::sys::{self, TcpState};
use tcp_lessons::{client, kernel, note, server};

/// Where the article's server listens.
const ADDRESS: &str = "127.0.0.1:1234";
/// The article's backlog: `s.listen(5)`.
const BACKLOG: i32 = 5;
/// How long each client waits for its handshake: well before the first SYN resend (1 s).
const CONNECT_TIMEOUT_MS: u64 = 300;
/// Each waiting client holds a file descriptor: the lesson connects at most this many.
const MAX_CLIENTS: usize = 200;
/// Two clients that find the queue full wait this long each, at most.
const MAX_CONNECT_TIMEOUT_MS: u64 = 60_000;
/// Once this many clients found the queue full, the later ones would too: stop there.
const FULL_AFTER: usize = 2;
/// The waits of the other sections: long enough for a busy machine, short for a lesson.
const PATIENCE: Duration = Duration::from_secs(3);

fn usage() -> String {
    indoc::formatdoc! {"
        usage: 02_listen [ADDRESS] [OPTIONS]

        Builds a listening socket one call at a time, fills its accept queue without
        accepting, then accepts the waiting connections. Then: a client connected but not
        accepted, `Address already in use`, and TIME_WAIT against SO_REUSEADDR.

        arguments:
          ADDRESS                  where to listen, an IPv4 address (default {ADDRESS};
                                   127.0.0.1:0 picks a free port)

        options:
          --backlog N              the backlog passed to listen() (default {BACKLOG}, the article's)
          --clients N              how many clients to connect (default: enough to fill the
                                   queue and two more, at most {MAX_CLIENTS})
          --connect-timeout-ms MS  how long each client waits for its handshake
                                   (default {CONNECT_TIMEOUT_MS}, at most {MAX_CONNECT_TIMEOUT_MS})
          -h, --help               show this text

        examples:
          cargo run --example 02_listen
          cargo run --example 02_listen -- 127.0.0.1:0 --backlog 2 --clients 6
    "}
}

fn main() {
    let (addr, backlog, clients, timeout) = command_line();

    let socket = listening_socket(addr, backlog).unwrap_or_else(|err| fail(explain(&err, addr)));
    let addr = socket
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .unwrap_or(addr);

    heading("The accept queue");
    let filled = fill_the_queue(addr, clients, timeout);
    report_the_queue(&filled, clients, backlog, timeout);
    accept_the_waiting(&socket);
    let measured = filled.failed.is_none();
    drop(filled); // the clients close: their file descriptors are free again

    connected_but_not_accepted();

    heading("Address already in use");
    bind_again(addr);

    time_wait_and_reuse_address();

    heading("From socket2 to std");
    into_std(socket);

    if !measured {
        // The queue's length was not measured: say so with the exit status too.
        std::process::exit(1);
    }
}

/// The command line: the address, the backlog, how many clients, their connect timeout.
/// What cannot work is refused in one line (exit 2).
fn command_line() -> (SocketAddr, i32, usize, Duration) {
    let mut args = Args::from_env(&usage());
    let backlog: i32 = args.value("--backlog", BACKLOG);
    let clients: usize = args.value("--clients", default_clients(backlog));
    let timeout_ms: u64 = args.value("--connect-timeout-ms", CONNECT_TIMEOUT_MS);
    let addr = args.address(ADDRESS);
    if clients == 0 || clients > MAX_CLIENTS {
        args.refuse(format!(
            "--clients {clients}: give 1 to {MAX_CLIENTS} (each waiting client holds a file \
             descriptor, and {MAX_CLIENTS} fill any backlog worth watching)"
        ));
    }
    if timeout_ms == 0 || timeout_ms > MAX_CONNECT_TIMEOUT_MS {
        args.refuse(format!(
            "--connect-timeout-ms {timeout_ms}: give 1 to {MAX_CONNECT_TIMEOUT_MS} (a client \
             needs some time for its handshake, and each one that finds the queue full \
             waits all of it)"
        ));
    }
    if addr.is_ipv6() {
        args.refuse(format!(
            "{addr} is an IPv6 address, and this lesson makes an IPv4 socket, as the \
             article does: give 127.0.0.1:0 (exercise ex02_ipv6 makes the socket follow \
             the address)"
        ));
    }
    args.finish();
    (addr, backlog, clients, Duration::from_millis(timeout_ms))
}

/// Enough clients to fill the queue Linux will really make, and two more to find it
/// full; at most MAX_CLIENTS.
fn default_clients(backlog: i32) -> usize {
    let places = i64::from(kernel_backlog(backlog)) + 1;
    usize::try_from(places + FULL_AFTER as i64).map_or(MAX_CLIENTS, |n| n.min(MAX_CLIENTS))
}

/// The backlog Linux uses for `listen(backlog)`: it compares the number as unsigned,
/// so a negative one is huge, and cuts anything above net.core.somaxconn down to it.
/// Where somaxconn cannot be read (not Linux), the backlog as given, at least 0.
fn kernel_backlog(backlog: i32) -> i32 {
    match sys::somaxconn() {
        Some(max) if backlog < 0 || backlog > max => max,
        _ => backlog.max(0),
    }
}

// ANCHOR: listening_socket
/// socket → set_reuse_address → bind → listen: what `TcpListener::bind` does for you.
fn listening_socket(addr: SocketAddr, backlog: i32) -> io::Result<Socket> {
    heading("A listening socket, one call at a time");
    // An IPv4 (AF_INET) stream socket speaking TCP: Python's
    // socket.socket(socket.AF_INET, socket.SOCK_STREAM). It has no address yet.
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    server!("socket(): a new IPv4 TCP socket, not yet bound to any address");

    // SO_REUSEADDR (Unix): a restarted server may bind its port while connections of
    // the old one linger in TIME_WAIT, if the old one had set it too (the last section
    // shows the four cases). It never lets two sockets listen on one address.
    // On Windows it means something else: it would let another socket take this port
    // while we use it. So there the lesson leaves it off, as Rust's std does.
    #[cfg(not(windows))]
    {
        socket.set_reuse_address(true)?;
        server!("set_reuse_address(true): may bind over old connections in TIME_WAIT");
    }
    #[cfg(windows)]
    server!("SO_REUSEADDR left off: on Windows it would let another socket share this port");

    // bind: claim the address (IP and port). Port 0 asks the kernel for any free port.
    socket.bind(&addr.into())?;
    let bound = socket.local_addr()?.as_socket().unwrap_or(addr);
    server!("bind({addr}): the socket now owns {bound}");

    // listen: from now on the kernel answers clients' SYNs by itself, and queues
    // connections whose handshake is complete until the program accepts them.
    socket.listen(backlog)?;
    server!("listen({backlog}): listening on {bound}");
    explain_the_backlog(backlog);
    Ok(socket)
}
// ANCHOR_END: listening_socket

/// What the kernel made of the backlog: read, not assumed.
fn explain_the_backlog(backlog: i32) {
    let Some(max) = sys::somaxconn() else {
        return; // not Linux: nothing to read
    };
    kernel!("net.core.somaxconn = {max}: a larger backlog is silently cut to {max}");
    if backlog < 0 {
        kernel!(
            "listen() takes a C int, and Linux compares it as unsigned: {backlog} is read as \
             {}, so the backlog is {max}",
            backlog as u32
        );
    }
}

/// What happened to the clients of [`fill_the_queue`].
struct Filled {
    /// The connections whose handshake completed: they wait in the accept queue.
    waiting: Vec<TcpStream>,
    /// How many clients got no handshake in time: the queue was full.
    timed_out: usize,
    /// A client whose connect failed otherwise (then the rest were not tried).
    failed: Option<io::Error>,
}

// ANCHOR: fill_the_queue
/// Connects up to `clients` clients one after the other, and never calls `accept`.
fn fill_the_queue(addr: SocketAddr, clients: usize, timeout: Duration) -> Filled {
    note!("{clients} clients connect, one after the other; the server does not accept yet.");
    let mut filled = Filled {
        waiting: Vec::new(),
        timed_out: 0,
        failed: None,
    };
    for number in 1..=clients {
        // connect() returns once the three-way handshake is done: the kernel on the
        // server side did that alone, and put the connection in the accept queue.
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => {
                let me = local(&stream);
                client!("client {number} ({me}): connected, waits in the accept queue");
                filled.waiting.push(stream);
            }
            // A full queue: Linux drops the SYN, as if it was lost, and the client's
            // kernel would send it again after a second. We give up sooner.
            Err(err) if err.kind() == io::ErrorKind::TimedOut => {
                client!("client {number}: no handshake within {timeout:?}, gave up");
                filled.timed_out += 1;
            }
            Err(err) => {
                client!("client {number}: connect failed: {err}");
                filled.failed = Some(err);
                break;
            }
        }
        // Nobody accepts, so every later client would find the queue full too.
        if filled.timed_out == FULL_AFTER && number < clients {
            note!(
                "The queue is full: the other {} clients would wait the same way.",
                clients - number
            );
            break;
        }
    }
    filled
}
// ANCHOR_END: fill_the_queue

/// Says what this OS did: only numbers this run observed.
fn report_the_queue(filled: &Filled, clients: usize, backlog: i32, timeout: Duration) {
    let queued = filled.waiting.len();
    if let Some(err) = &filled.failed {
        kernel!("a client failed for another reason ({err}): the queue's length was not measured");
        note!("Too many open files? Try fewer --clients. Refused? Is the address this machine's?");
        return;
    }
    kernel!("with backlog {backlog}, {queued} of {clients} connections were queued");
    if filled.timed_out == 0 {
        let places = i64::from(kernel_backlog(backlog)) + 1;
        if places > MAX_CLIENTS as i64 {
            note!(
                "Every client got in: this queue has {places} places, more than the {MAX_CLIENTS} clients this lesson connects at most."
            );
        } else {
            note!("Every client got in: try more --clients to see the queue fill up.");
        }
        return;
    }
    if queued as i64 == i64::from(kernel_backlog(backlog)) + 1 {
        note!(
            "That is the backlog + 1: Linux calls the queue full only when it holds more\n\
             than the backlog. The later clients' SYNs went unanswered."
        );
    } else {
        note!("This OS queued {queued} connections for a backlog of {backlog}.");
    }
    explain_syn_retries(timeout);
}

// ANCHOR: syn_retries
/// When a client's kernel sends its SYN again, on this machine: read, not assumed.
fn explain_syn_retries(timeout: Duration) {
    let Some(retries) = sys::sysctl("net.ipv4.tcp_syn_retries") else {
        note!(
            "A client whose SYN is dropped sends it again after a while (this OS's schedule is not shown)."
        );
        return;
    };
    // New in Linux 6.5: the first resends keep a 1 s wait instead of doubling it.
    let linear = sys::sysctl("net.ipv4.tcp_syn_linear_timeouts");
    match linear {
        Some(linear) => kernel!(
            "net.ipv4.tcp_syn_retries = {retries}, net.ipv4.tcp_syn_linear_timeouts = {linear}"
        ),
        None => kernel!(
            "net.ipv4.tcp_syn_retries = {retries} (no tcp_syn_linear_timeouts: before Linux 6.5)"
        ),
    }
    let count = |n: Option<i64>| n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
    let (sends, give_up) = sys::syn_schedule(count(Some(retries)), count(linear));
    let resends: Vec<String> = sends[1..].iter().map(u64::to_string).collect();
    kernel!(
        "so a dropped SYN is sent again at {} s\n\
         after connect(), and connect() fails at {give_up} s",
        resends.join(", ")
    );
    note!("The clients above gave up sooner: after {timeout:?}, their own connect timeout.");
}
// ANCHOR_END: syn_retries

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
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                kernel!("the accept queue is empty: {accepted} connections were waiting in it");
                break;
            }
            Err(err) => {
                server!("accept() failed: {err}");
                break;
            }
        }
    }
    let _ = socket.set_nonblocking(false);
}
// ANCHOR_END: accept_the_waiting

// ANCHOR: not_accepted
/// Two clients that finish their handshake after the last place in the queue was
/// taken: connected on their side, not in the server's queue. Linux only: the
/// lesson needs TCP_QUICKACK to make a client's kernel send its last ACK late.
#[cfg(target_os = "linux")]
fn connected_but_not_accepted() {
    heading("Connected, but not accepted");
    let (listener, addr) = match small_listener() {
        Ok(made) => made,
        Err(err) => return kernel!("cannot make a listener for this section: {err}"),
    };
    note!("A new listener on {addr}, backlog 1: room for 2 connections.");
    let Ok(first) = TcpStream::connect_timeout(&addr, PATIENCE) else {
        return client!("the first client could not connect: this section stops here");
    };
    client!(
        "client {}: connected, waits in the accept queue",
        local(&first)
    );
    note!(
        "Two more clients, with TCP_QUICKACK off: their kernels send the handshake's last\n\
         ACK up to 200 ms late, as on a slow network. Both SYNs still find a free place,\n\
         so both get a SYN-ACK, and both connect() calls return at once:"
    );
    let overflows = sys::tcp_ext_counter("ListenOverflows");
    let late_since = Instant::now();
    let late: Vec<TcpStream> = (0..2).filter_map(|_| late_acking_client(addr)).collect();
    for client in &late {
        client!("client {}: connect() returned: connected", local(client));
    }
    wait_for_the_late_acks(addr.port());
    what_the_server_kernel_did(addr, overflows);
    for client in &late {
        what_a_late_client_sees(client);
    }
    accept_now_and_later(&listener, &first, late_since);
}

/// A client whose kernel delays the handshake's last ACK (TCP_QUICKACK off: Linux
/// then holds back even that ACK, for up to 200 ms).
#[cfg(target_os = "linux")]
fn late_acking_client(addr: SocketAddr) -> Option<TcpStream> {
    let connect = || -> io::Result<TcpStream> {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        socket.set_tcp_quickack(false)?;
        socket.connect_timeout(&addr.into(), PATIENCE)?;
        Ok(socket.into())
    };
    connect()
        .map_err(|err| client!("a late client could not connect: {err}"))
        .ok()
}
// ANCHOR_END: not_accepted

#[cfg(not(target_os = "linux"))]
fn connected_but_not_accepted() {
    heading("Connected, but not accepted");
    note!(
        "This section needs Linux (TCP_QUICKACK, /proc/net/netstat): read it in the book,\n\
         chapter \"Bind, listen, backlog\"."
    );
}

/// A listener on 127.0.0.1, any free port, backlog 1.
#[cfg(target_os = "linux")]
fn small_listener() -> io::Result<(Socket, SocketAddr)> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.bind(&SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0).into())?;
    socket.listen(1)?;
    let addr = socket.local_addr()?.as_socket();
    Ok((socket, addr.ok_or_else(|| io::Error::other("no address"))?))
}

/// Waits (at most PATIENCE) until the late ACKs have arrived: then the server's
/// kernel holds two established connections on the port, the first client and the
/// late one whose ACK took the last place.
#[cfg(target_os = "linux")]
fn wait_for_the_late_acks(port: u16) {
    let deadline = Instant::now() + PATIENCE;
    while sys::sockets_on_port(port, TcpState::Established) < Some(2) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    // The other ACK left at the same moment: give it time to arrive too.
    thread::sleep(Duration::from_millis(20));
}

/// What the server's kernel did with the ACK it had no room for.
#[cfg(target_os = "linux")]
fn what_the_server_kernel_did(addr: SocketAddr, overflows_before: Option<u64>) {
    let port = addr.port();
    if let (Some(before), Some(after)) = (overflows_before, sys::tcp_ext_counter("ListenOverflows"))
    {
        kernel!(
            "TcpExtListenOverflows rose by {} (/proc/net/netstat, a count for all listeners)",
            after - before
        );
    }
    let count = |state| sys::sockets_on_port(port, state).unwrap_or(0);
    kernel!(
        "on {addr}: {} established, {} half-open (SYN-RECV) (from /proc/net/tcp)",
        count(TcpState::Established),
        count(TcpState::SynRecv)
    );
    match sys::sysctl("net.ipv4.tcp_abort_on_overflow") {
        Some(0) => kernel!(
            "net.ipv4.tcp_abort_on_overflow = 0: the ACK that found the queue full was\n\
             dropped; the server's kernel keeps that connection half-open, to send its\n\
             SYN-ACK again later"
        ),
        Some(n) => kernel!(
            "net.ipv4.tcp_abort_on_overflow = {n}: the ACK that found the queue full was\n\
             answered with a RST"
        ),
        None => {}
    }
}

/// Reads briefly from a late client: does it notice anything?
#[cfg(target_os = "linux")]
fn what_a_late_client_sees(client: &TcpStream) {
    let me = local(client);
    let _ = client.set_read_timeout(Some(Duration::from_millis(100)));
    match (&*client).read(&mut [0; 16]) {
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            client!("client {me}: reads nothing, and no error: its connection looks open")
        }
        Err(err) => client!("client {me}: read failed: {err}"),
        Ok(0) => client!("client {me}: read 0 bytes: the connection was closed"),
        Ok(n) => client!("client {me}: read {n} bytes"),
    }
}

/// Accepts what is in the queue now, then waits for what comes later.
#[cfg(target_os = "linux")]
fn accept_now_and_later(listener: &Socket, first: &TcpStream, late_since: Instant) {
    let first = first.local_addr().ok();
    let _ = listener.set_nonblocking(true);
    let mut accepted = 0;
    while let Ok((_connection, peer)) = listener.accept() {
        accepted += 1;
        let who = if peer.as_socket() == first {
            "the first client"
        } else {
            "a late client"
        };
        server!("accept() -> {}, {who}", show(&peer));
    }
    server!("accept() -> nothing more for now: {accepted} of the 3 clients were in the queue");
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Ok((_connection, peer)) = listener.accept() {
            return server!(
                "accept() -> {}, a late client, {:.1} s after its connect():\n\
                 the server's kernel sent its SYN-ACK again, the client answered with an ACK,\n\
                 and now there was room",
                show(&peer),
                late_since.elapsed().as_secs_f64()
            );
        }
        thread::sleep(Duration::from_millis(10));
    }
    server!("no other connection came within {PATIENCE:?}");
}

/// A socket2 address as text.
#[cfg(target_os = "linux")]
fn show(addr: &socket2::SockAddr) -> String {
    addr.as_socket().map_or("?".into(), |a| a.to_string())
}

/// The local address of `stream`, as text.
fn local(stream: &TcpStream) -> String {
    stream.local_addr().map_or("?".into(), |a| a.to_string())
}

// ANCHOR: bind_again
/// A second socket tries to bind the address the first one listens on.
fn bind_again(addr: SocketAddr) {
    let second = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).and_then(|second| {
        // Even with SO_REUSEADDR on both, a listening port is not shared (Unix).
        #[cfg(not(windows))]
        second.set_reuse_address(true)?;
        second.bind(&addr.into())
    });
    match second {
        Err(err) if err.kind() == io::ErrorKind::AddrInUse => {
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
        Err(err) => kernel!("bind({addr}) again failed, for another reason: {err}"),
        Ok(()) => kernel!("bind({addr}) again succeeded: this OS shares the port"),
    }
}
// ANCHOR_END: bind_again

// ANCHOR: time_wait
/// Can a new listener bind a port where the old one's connection is in TIME_WAIT?
/// Four tries: SO_REUSEADDR off or on, on the old socket and on the new one.
fn time_wait_and_reuse_address() {
    heading("TIME_WAIT and SO_REUSEADDR");
    note!(
        "Four times: a listener accepts a connection and closes it first, so its end waits\n\
         in TIME_WAIT on the listener's port; the listener closes; a new listener binds."
    );
    for old in [false, true] {
        for new in [false, true] {
            let port = match leave_time_wait(old) {
                Ok(port) => port,
                Err(err) => {
                    kernel!("cannot set up this case: {err}");
                    continue;
                }
            };
            let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
            match sys::sockets_on_port(port, TcpState::TimeWait) {
                Some(n) => kernel!(
                    "old socket {}: {n} connection in TIME_WAIT on {addr}",
                    with(old)
                ),
                None => kernel!("old socket {}: closed first, on {addr}", with(old)),
            }
            match bind_listener(addr, new) {
                Ok(_) => server!("new socket {}: bind and listen: yes", with(new)),
                Err(err) => server!("new socket {}: bind failed: {err}", with(new)),
            }
        }
    }
    note!(
        "On Linux only the last case binds: the new socket's SO_REUSEADDR is not enough,\n\
         the socket that left the TIME_WAIT must have had it too."
    );
}

/// A listener (with SO_REUSEADDR or without) accepts one connection and closes it
/// first, so that its end of the connection waits in TIME_WAIT. Returns its port.
fn leave_time_wait(reuse: bool) -> io::Result<u16> {
    let listener = bind_listener(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0), reuse)?;
    let addr = listener.local_addr()?;
    let client = TcpStream::connect_timeout(&addr, PATIENCE)?;
    let (connection, _) = listener.accept()?;
    drop(connection); // the server closes first: its FIN
    client.set_read_timeout(Some(PATIENCE))?;
    // A read of 0 bytes: the server's FIN has arrived.
    if (&client).read(&mut [0; 1])? != 0 {
        return Err(io::Error::other("the server sent data instead of closing"));
    }
    drop(client); // the client's FIN: the server's end enters TIME_WAIT
    wait_for_time_wait(addr.port());
    Ok(addr.port()) // the listener closes here: nothing listens on the port now
}

/// A listening socket on `addr`, with SO_REUSEADDR on or off.
fn bind_listener(addr: SocketAddr, reuse: bool) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(reuse)?;
    socket.bind(&addr.into())?;
    socket.listen(1)?;
    Ok(socket.into())
}
// ANCHOR_END: time_wait

/// Waits (at most PATIENCE) until /proc shows a TIME_WAIT socket on `port`; returns at
/// once where /proc cannot be read.
fn wait_for_time_wait(port: u16) {
    let deadline = Instant::now() + PATIENCE;
    while sys::sockets_on_port(port, TcpState::TimeWait) == Some(0) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
}

fn with(reuse: bool) -> &'static str {
    if reuse {
        "with SO_REUSEADDR"
    } else {
        "without SO_REUSEADDR"
    }
}

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
