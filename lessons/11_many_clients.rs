//! # Lesson 11: many clients — tens of thousands of connections held open at once
//!
//! Lesson 07 gives every client a thread; at ten thousand clients that is ten thousand
//! stacks on the client's side too. This load generator is an event loop, as lesson 09
//! is: one thread holds every connection, each a small state machine. It opens N
//! connections and waits until every one is welcomed and held open, then starts every
//! dialogue at the same instant — send a name, read `Hello, NAME!`, send `exit`, wait
//! for the server to close — and prints a table: how many were held and served, the
//! errors by kind, the latency, how long each connect took, the wall time, its memory.
//!
//! Two limits of one machine stand in the way of 100,000 connections, and the lesson
//! steps around both:
//!
//! - **Open files.** Every socket is a file descriptor, and a process may hold at most
//!   its soft limit (`ulimit -n`), which it may raise up to the hard limit. This
//!   program raises its own to the hard limit, and when that is still too few it
//!   spreads the clients over several processes of itself.
//! - **Ports.** A connection is named by four numbers: source address and port,
//!   destination address and port. To one server (one destination), one source
//!   address has only the ephemeral ports (`net.ipv4.ip_local_port_range`, 28,232 of
//!   them on Linux by default). Past that, `connect` fails with `EADDRNOTAVAIL`. The
//!   whole of 127.0.0.0/8 is loopback on Linux, so the clients bind to 127.0.0.1,
//!   127.0.0.2, ...: each address brings its own ports.
//!
//! ```text
//! cargo run --release --features scale --example 10_async_server -- --quiet
//! cargo run --release --features scale --example 11_many_clients -- --clients 10000
//! ```

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use socket2::{Domain, Protocol, Socket, Type};
use std::fmt::Display;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tcp_lessons::args::Args;
use tcp_lessons::say::{fail, heading};
use tcp_lessons::{client, note, sys};

/// The article's address.
const ADDRESS: &str = "127.0.0.1:1234";
/// Connections held open at once.
const CLIENTS: usize = 1000;
/// Connections being opened at the same time, not yet welcomed. More at once would
/// only fill the server's accept queue faster than it is emptied.
const WINDOW: usize = 1000;
/// Connections from one source address: below the 28,232 ephemeral ports Linux has
/// by default, with room for what else uses them.
const PER_ADDRESS: usize = 20_000;
/// How long opening every connection may take.
const OPEN_TIMEOUT_MS: u64 = 120_000;
/// How long a client waits for each reply, and for the close after `exit`.
const TIMEOUT_MS: u64 = 30_000;
/// Files a process needs besides its sockets: standard streams, the poll, pipes.
const SPARE_FILES: usize = 64;
/// The most bytes one read takes, as the article's `recv(1024)`.
const READ_SIZE: usize = 1024;
/// How often the loop looks for connections that have waited too long.
const CHECK_EVERY: Duration = Duration::from_millis(100);

fn usage() -> String {
    indoc::formatdoc! {"
        usage: 11_many_clients [ADDRESS] [OPTIONS]

        A load generator on an event loop: opens N connections and holds them until all
        are welcomed, then runs every dialogue at once (a name, `Hello, NAME!`, `exit`,
        the server's close) and prints what happened.

        arguments:
          ADDRESS              the server (default {ADDRESS})

        options:
          --clients N          connections held open at once (default {CLIENTS})
          --window N           connections being opened at the same time (default {WINDOW})
          --per-address N      connections from one source address; past N the clients
                               use 127.0.0.2, 127.0.0.3, ... (default {PER_ADDRESS})
          --processes N        spread the clients over N processes (default: as few as
                               the open-file limit allows)
          --open-timeout-ms MS how long opening all connections may take (default {OPEN_TIMEOUT_MS})
          --timeout-ms MS      how long a client waits for each reply (default {TIMEOUT_MS})
          --part FIRST         run as one of those processes: clients FIRST to FIRST+N-1,
                               start the dialogues on `go` from standard input
          -h, --help           show this text

        examples:
          cargo run --release --features scale --example 11_many_clients -- --clients 10000
          cargo run --release --features scale --example 11_many_clients -- --clients 100000
    "}
}

/// What the command line asked for.
#[derive(Clone, Copy)]
struct Options {
    addr: SocketAddr,
    clients: usize,
    window: usize,
    per_address: usize,
    processes: usize,
    open_timeout: Duration,
    timeout: Duration,
    /// As one part of a run over several processes: the first client's number.
    part: Option<usize>,
}

// ANCHOR: main
fn main() {
    let options = Options::from_args();
    let capacity = open_files();
    if let Some(first) = options.part {
        // One part of a bigger run: report to the process that started us.
        let report = run_part(first, &options, true);
        print!("{}", report.to_lines());
        return;
    }
    let processes = match options.processes {
        0 => options.clients.div_ceil(capacity),
        n => n,
    };
    let sources = options.clients.div_ceil(options.per_address);
    client!(
        "{} clients to {}, over {} and {}",
        options.clients,
        options.addr,
        plural(processes, "process", "processes"),
        plural(sources, "source address", "source addresses")
    );
    let report = if processes == 1 {
        run_part(0, &options, false)
    } else {
        run_parts(processes, &options)
    };
    print_table(&report, &options, processes);
    if let Some(reason) = report.failure() {
        fail(reason);
    }
}
// ANCHOR_END: main

impl Options {
    fn from_args() -> Options {
        let mut args = Args::from_env(&usage());
        let mut positive = |name: &str, default: usize| {
            let value = args.value(name, default);
            if value == 0 {
                args.refuse(format!("{name} must be at least 1"));
            }
            value
        };
        let clients = positive("--clients", CLIENTS);
        let window = positive("--window", WINDOW);
        let per_address = positive("--per-address", PER_ADDRESS);
        let open_timeout = positive("--open-timeout-ms", OPEN_TIMEOUT_MS as usize);
        let timeout = positive("--timeout-ms", TIMEOUT_MS as usize);
        let processes = args.value("--processes", 0);
        let part = args.value("--part", usize::MAX);
        let addr = args.address(ADDRESS);
        if clients.div_ceil(per_address) > 1 && !addr.ip().is_loopback() {
            args.refuse(format!(
                "{clients} clients need more than one source address, and that is done on \
                 loopback only (127.0.0.0/8): give a 127.x.x.x server, or --clients {per_address}"
            ));
        }
        if clients.div_ceil(per_address) > 254 {
            args.refuse("--per-address N: too few for --clients over 127.0.0.1 to 127.0.0.254");
        }
        args.finish();
        Options {
            addr,
            clients,
            window,
            per_address,
            processes,
            open_timeout: Duration::from_millis(open_timeout as u64),
            timeout: Duration::from_millis(timeout as u64),
            part: (part != usize::MAX).then_some(part),
        }
    }
}

// ANCHOR: open_files
/// Raises this process's soft limit on open files to its hard limit (children inherit
/// it), and returns how many connections one process can then hold.
fn open_files() -> usize {
    match sys::raise_fd_limit() {
        Ok((before, now)) => {
            if now > before {
                note!(
                    "open files: raised the soft limit (ulimit -n) from {before} to {now}, the hard limit"
                );
            }
            (now as usize).saturating_sub(SPARE_FILES).max(1)
        }
        // Windows: no such limit to raise.
        Err(_) => usize::MAX / 2,
    }
}
// ANCHOR_END: open_files

// ANCHOR: parts
/// Starts `processes` copies of this program, each with its share of the clients, waits
/// until every one has its connections open, tells them all `go` at once, and adds up
/// their reports.
fn run_parts(processes: usize, options: &Options) -> Report {
    let share = options.clients.div_ceil(processes);
    let mut parts: Vec<(Child, BufReader<std::process::ChildStdout>)> = Vec::new();
    for first in (0..options.clients).step_by(share) {
        let count = share.min(options.clients - first);
        let program = std::env::current_exe().unwrap_or_else(|err| fail(err));
        let mut child = Command::new(program)
            .arg(options.addr.to_string())
            .args([
                "--part",
                &first.to_string(),
                "--clients",
                &count.to_string(),
            ])
            .args(["--per-address", &options.per_address.to_string()])
            .args(["--window", &options.window.to_string()])
            .args([
                "--open-timeout-ms",
                &options.open_timeout.as_millis().to_string(),
            ])
            .args(["--timeout-ms", &options.timeout.as_millis().to_string()])
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| fail(format!("cannot start a part: {err}")));
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        parts.push((child, stdout));
    }
    // Every part says `ready` once its connections are open (or have failed).
    for (_, stdout) in &mut parts {
        let mut line = String::new();
        while stdout.read_line(&mut line).is_ok_and(|n| n > 0) && !line.starts_with("ready") {
            line.clear();
        }
    }
    for (child, _) in &mut parts {
        let _ = child.stdin.as_mut().map(|stdin| stdin.write_all(b"go\n"));
    }
    let mut total = Report::default();
    for (mut child, mut stdout) in parts {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let _ = child.wait();
        total.add(Report::from_lines(&text));
    }
    total
}
// ANCHOR_END: parts

// ANCHOR: connection
/// Where one client stands.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Phase {
    /// `connect` is under way: the SYN is sent, the handshake not finished.
    Connecting,
    /// Connected, waiting for `Welcome!`.
    Welcome,
    /// Welcomed and held open, waiting for the go.
    Held,
    /// The name is sent; waiting for `Hello, NAME!`.
    Reply,
    /// `exit` is sent; waiting for the server to close.
    Closing,
    /// The dialogue is done.
    Served,
    /// It went wrong (the error is counted).
    Failed,
}

/// One client: its socket, where it stands, what it has received so far.
struct Connection {
    stream: Option<TcpStream>,
    phase: Phase,
    /// Bytes received towards the message awaited (a message may come in pieces).
    received: Vec<u8>,
    /// When the current phase started: for the connect time, the latency, timeouts.
    since: Instant,
}
// ANCHOR_END: connection

/// What one client's dialogue sends and expects.
fn name(id: usize) -> String {
    format!("client{id}")
}

// ANCHOR: run_part
/// Opens clients `first..first + clients` and runs their dialogues on one event loop.
/// As a part of a bigger run, it says `ready` when all are open and waits for `go`.
fn run_part(first: usize, options: &Options, as_part: bool) -> Report {
    let mut poll = Poll::new().unwrap_or_else(|err| fail(format!("cannot create a poll: {err}")));
    let mut events = Events::with_capacity(4096);
    let mut report = Report {
        clients: options.clients,
        ..Report::default()
    };
    let mut conns: Vec<Connection> = Vec::with_capacity(options.clients);
    let mut opening = 0; // connections connecting or awaiting their welcome
    let open_deadline = Instant::now() + options.open_timeout;
    let opening_started = Instant::now();
    let mut last_check = Instant::now();
    // The opening phase: keep `window` connections on their way until all are open.
    while conns.len() < options.clients || opening > 0 {
        while conns.len() < options.clients && opening < options.window {
            let id = first + conns.len();
            let conn = open(
                id,
                options,
                poll.registry(),
                Token(conns.len()),
                &mut report,
            );
            if conn.phase != Phase::Failed {
                opening += 1;
            }
            conns.push(conn);
        }
        let now = Instant::now();
        if now > open_deadline {
            for conn in conns.iter_mut().filter(|c| opening_phase(c.phase)) {
                time_out(conn, &mut report, "the opening phase ran out of time");
            }
            break;
        }
        wait(&mut poll, &mut events, CHECK_EVERY);
        for event in &events {
            let conn = &mut conns[event.token().0];
            let before = opening_phase(conn.phase);
            step(conn, first + event.token().0, &mut report);
            if before && !opening_phase(conn.phase) {
                opening -= 1;
            }
        }
        if last_check.elapsed() >= CHECK_EVERY {
            last_check = Instant::now();
            for conn in conns.iter_mut().filter(|c| opening_phase(c.phase)) {
                if conn.since.elapsed() > options.timeout {
                    time_out(conn, &mut report, "waited too long");
                    opening -= 1;
                }
            }
        }
    }
    report.opening = opening_started.elapsed();
    report.held = conns.iter().filter(|c| c.phase == Phase::Held).count();
    if as_part {
        // Tell the parent, and wait for its word: every part starts at once.
        println!("ready");
        let _ = io::stdout().flush();
        let _ = io::stdin().read_line(&mut String::new());
    }
    dialogues(
        &mut conns,
        first,
        options,
        &mut poll,
        &mut events,
        &mut report,
    );
    report.peak_rss_kib = peak_rss_kib();
    report
}

/// True while a connection is still being opened.
fn opening_phase(phase: Phase) -> bool {
    matches!(phase, Phase::Connecting | Phase::Welcome)
}
// ANCHOR_END: run_part

// ANCHOR: open
/// Starts connecting client `id`, from the source address its number gives it. The
/// socket is non-blocking: `connect` sends the SYN and returns at once (`EINPROGRESS`);
/// the socket turns writable when the handshake is done.
fn open(
    id: usize,
    options: &Options,
    registry: &mio::Registry,
    token: Token,
    report: &mut Report,
) -> Connection {
    let mut conn = Connection {
        stream: None,
        phase: Phase::Connecting,
        received: Vec::new(),
        since: Instant::now(),
    };
    match connect(id, options) {
        Ok(mut stream) => {
            let interest = Interest::READABLE | Interest::WRITABLE;
            match registry.register(&mut stream, token, interest) {
                Ok(()) => conn.stream = Some(stream),
                Err(err) => fail_conn(&mut conn, report, &error_kind(&err), &err.to_string()),
            }
        }
        Err(err) => fail_conn(&mut conn, report, &error_kind(&err), &err.to_string()),
    }
    conn
}

fn connect(id: usize, options: &Options) -> io::Result<TcpStream> {
    let socket = Socket::new(
        Domain::for_address(options.addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_nonblocking(true)?;
    if options.clients > options.per_address || options.part.is_some() {
        // Client `id` speaks from 127.0.0.(1 + id / per_address): binding the address
        // with port 0 lets the kernel pick a free port of that address.
        let host = 1 + id / options.per_address;
        let source = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host as u8)), 0);
        // Linux: choose the port at connect, from the ports free for this destination
        // (elsewhere bind chooses it now, from the ports free for every destination).
        let _ = sys::bind_address_no_port(&socket);
        socket.bind(&source.into())?;
    }
    match socket.connect(&options.addr.into()) {
        Ok(()) => {}
        // The handshake is under way: the normal answer of a non-blocking connect.
        Err(err) if err.raw_os_error() == Some(EINPROGRESS) => {}
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
        Err(err) => return Err(err),
    }
    Ok(TcpStream::from_std(socket.into()))
}

/// `EINPROGRESS` (Linux 115, macOS 36): a non-blocking connect has started.
const EINPROGRESS: i32 = if cfg!(target_os = "linux") { 115 } else { 36 };
// ANCHOR_END: open

// ANCHOR: step
/// Moves one connection on after an event: finish the handshake, read what came,
/// answer it. Nothing here waits.
fn step(conn: &mut Connection, id: usize, report: &mut Report) {
    let Some(stream) = conn.stream.as_mut() else {
        return;
    };
    if conn.phase == Phase::Connecting {
        // Writable after a non-blocking connect: the handshake is over, one way or the
        // other. `take_error` says which (SO_ERROR), `peer_addr` confirms.
        match stream.take_error() {
            Ok(None) if stream.peer_addr().is_ok() => {
                report.connect_times.push(conn.since.elapsed());
                conn.phase = Phase::Welcome;
                conn.since = Instant::now();
            }
            Ok(None) => return, // not yet
            Ok(Some(err)) | Err(err) => {
                return fail_conn(conn, report, &error_kind(&err), &err.to_string());
            }
        }
    }
    let expected = match conn.phase {
        Phase::Welcome => "Welcome!".to_string(),
        Phase::Reply => format!("Hello, {}!", name(id)),
        Phase::Closing => String::new(),
        _ => return,
    };
    // Read everything that has come: edge-triggered readiness reports new bytes once.
    let mut buffer = [0; READ_SIZE];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) if conn.phase == Phase::Closing => {
                conn.phase = Phase::Served;
                report.served += 1;
                conn.stream = None; // closes our side
                return;
            }
            Ok(0) => {
                let got = String::from_utf8_lossy(&conn.received).into_owned();
                return fail_conn(
                    conn,
                    report,
                    "closed-early",
                    &format!("closed by the server while waiting for {expected:?} (got {got:?})"),
                );
            }
            Ok(n) => conn.received.extend_from_slice(&buffer[..n]),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return fail_conn(conn, report, &error_kind(&err), &err.to_string()),
        }
    }
    if conn.received.len() < expected.len() && expected.as_bytes().starts_with(&conn.received) {
        return; // part of the message: wait for the rest
    }
    if conn.received != expected.as_bytes() {
        let got = String::from_utf8_lossy(&conn.received).into_owned();
        return fail_conn(
            conn,
            report,
            "wrong-reply",
            &format!("expected {expected:?}, got {got:?}"),
        );
    }
    conn.received.clear();
    match conn.phase {
        Phase::Welcome => conn.phase = Phase::Held,
        Phase::Reply => {
            report.latencies.push(conn.since.elapsed());
            send(conn, b"exit", Phase::Closing, report);
        }
        _ => {}
    }
}

/// Sends a short message and moves to `next`. A few bytes on a fresh connection fit
/// the socket's send buffer whole; a short write is counted as an error.
fn send(conn: &mut Connection, message: &[u8], next: Phase, report: &mut Report) {
    let Some(stream) = conn.stream.as_mut() else {
        return;
    };
    match stream.write(message) {
        Ok(n) if n == message.len() => {
            conn.phase = next;
            conn.since = Instant::now();
        }
        Ok(_) => fail_conn(
            conn,
            report,
            "short-write",
            "the send buffer took part of a message",
        ),
        Err(err) => fail_conn(conn, report, &error_kind(&err), &err.to_string()),
    }
}
// ANCHOR_END: step

// ANCHOR: dialogues
/// Every held connection sends its name at once, then each goes on as its replies come.
fn dialogues(
    conns: &mut [Connection],
    first: usize,
    options: &Options,
    poll: &mut Poll,
    events: &mut Events,
    report: &mut Report,
) {
    let go = Instant::now();
    for (i, conn) in conns.iter_mut().enumerate() {
        if conn.phase == Phase::Held {
            send(conn, name(first + i).as_bytes(), Phase::Reply, report);
        }
    }
    let busy = |c: &Connection| matches!(c.phase, Phase::Reply | Phase::Closing);
    let mut active = conns.iter().filter(|c| busy(c)).count();
    let mut last_check = Instant::now();
    while active > 0 {
        wait(poll, events, CHECK_EVERY);
        for event in events.iter() {
            let i = event.token().0;
            let before = busy(&conns[i]);
            step(&mut conns[i], first + i, report);
            if before && !busy(&conns[i]) {
                active -= 1;
            }
        }
        if last_check.elapsed() >= CHECK_EVERY {
            last_check = Instant::now();
            for conn in conns.iter_mut().filter(|c| busy(c)) {
                if conn.since.elapsed() > options.timeout {
                    time_out(conn, report, "waited too long");
                    active -= 1;
                }
            }
        }
    }
    report.wall = go.elapsed();
}
// ANCHOR_END: dialogues

/// Waits for events, at most `timeout`.
fn wait(poll: &mut Poll, events: &mut Events, timeout: Duration) {
    match poll.poll(events, Some(timeout)) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::Interrupted => events.clear(),
        Err(err) => fail(format!("poll failed: {err}")),
    }
}

/// Fails a connection that waited too long, named by what it waited for: a SYN-ACK
/// (`no-handshake`: the server's kernel dropped our SYN, and its resends), the welcome
/// (`no-welcome`: connected, but the server has not accepted us), a reply, the close.
fn time_out(conn: &mut Connection, report: &mut Report, detail: &str) {
    let kind = match conn.phase {
        Phase::Connecting => "no-handshake",
        Phase::Welcome => "no-welcome",
        Phase::Reply => "no-reply",
        _ => "no-close",
    };
    fail_conn(conn, report, kind, detail);
}

/// Marks a connection failed, closes it, and counts the error by kind.
fn fail_conn(conn: &mut Connection, report: &mut Report, kind: &str, detail: &str) {
    conn.phase = Phase::Failed;
    conn.stream = None;
    report.count_error(kind, detail);
}

/// The name of an error as the C library calls it, when it is one of the limits this
/// lesson meets; its words otherwise.
fn error_kind(err: &io::Error) -> String {
    let known = [
        (24, "EMFILE"),
        (99, "EADDRNOTAVAIL"),
        (104, "ECONNRESET"),
        (110, "ETIMEDOUT"),
        (111, "ECONNREFUSED"),
        (32, "EPIPE"),
        (12, "ENOMEM"),
        (11, "EAGAIN"),
    ];
    let linux = cfg!(target_os = "linux");
    match err
        .raw_os_error()
        .and_then(|code| known.iter().find(|(c, _)| linux && *c == code))
    {
        Some((_, name)) => name.to_string(),
        None => format!("{:?}", err.kind()),
    }
}

/// This process's peak resident memory (VmHWM) in KiB; Linux only.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|line| line.starts_with("VmHWM:"));
    line.and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

// ANCHOR: report
/// What a run saw, summed over its clients (and its processes).
#[derive(Default)]
struct Report {
    clients: usize,
    held: usize,
    served: usize,
    /// Errors by kind: (kind, count, the first one's words).
    errors: Vec<(String, usize, String)>,
    connect_times: Vec<Duration>,
    latencies: Vec<Duration>,
    opening: Duration,
    wall: Duration,
    peak_rss_kib: u64,
}
// ANCHOR_END: report

impl Report {
    fn count_error(&mut self, kind: &str, detail: &str) {
        match self.errors.iter_mut().find(|(k, _, _)| k == kind) {
            Some((_, count, _)) => *count += 1,
            None => self.errors.push((kind.to_string(), 1, detail.to_string())),
        }
    }

    fn error_count(&self) -> usize {
        self.errors.iter().map(|(_, count, _)| count).sum()
    }

    /// Why the run did not fully succeed, in one line; `None` if every client was served.
    fn failure(&self) -> Option<String> {
        if self.served == self.clients {
            return None;
        }
        let kinds: Vec<String> = self
            .errors
            .iter()
            .map(|(k, n, _)| format!("{n} {k}"))
            .collect();
        Some(format!(
            "{} of {} clients were not served: {}",
            self.clients - self.served,
            self.clients,
            kinds.join(", ")
        ))
    }

    /// The report as lines a parent process reads back with [`Report::from_lines`].
    fn to_lines(&self) -> String {
        let micros = |list: &[Duration]| {
            let all: Vec<String> = list.iter().map(|d| d.as_micros().to_string()).collect();
            all.join(" ")
        };
        let mut text = format!(
            "clients {}\nheld {}\nserved {}\nopening_us {}\nwall_us {}\nrss_kib {}\n",
            self.clients,
            self.held,
            self.served,
            self.opening.as_micros(),
            self.wall.as_micros(),
            self.peak_rss_kib
        );
        for (kind, count, detail) in &self.errors {
            text += &format!("error {kind}\t{count}\t{detail}\n");
        }
        text += &format!("connect_us {}\n", micros(&self.connect_times));
        text += &format!("latency_us {}\n", micros(&self.latencies));
        text
    }

    fn from_lines(text: &str) -> Report {
        let mut report = Report::default();
        let micros = |rest: &str| -> Vec<Duration> {
            rest.split_whitespace()
                .filter_map(|w| w.parse().ok())
                .map(Duration::from_micros)
                .collect()
        };
        for line in text.lines() {
            let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
            let number = rest.trim().parse::<u64>().unwrap_or(0);
            match key {
                "clients" => report.clients = number as usize,
                "held" => report.held = number as usize,
                "served" => report.served = number as usize,
                "opening_us" => report.opening = Duration::from_micros(number),
                "wall_us" => report.wall = Duration::from_micros(number),
                "rss_kib" => report.peak_rss_kib = number,
                "connect_us" => report.connect_times = micros(rest),
                "latency_us" => report.latencies = micros(rest),
                "error" => {
                    let mut parts = rest.splitn(3, '\t');
                    let kind = parts.next().unwrap_or("?").to_string();
                    let count = parts.next().and_then(|n| n.parse().ok()).unwrap_or(1);
                    let detail = parts.next().unwrap_or("").to_string();
                    report.errors.push((kind, count, detail));
                }
                _ => {}
            }
        }
        report
    }

    /// Adds another part's report to this one.
    fn add(&mut self, other: Report) {
        self.clients += other.clients;
        self.held += other.held;
        self.served += other.served;
        for (kind, count, detail) in other.errors {
            match self.errors.iter_mut().find(|(k, _, _)| *k == kind) {
                Some((_, n, _)) => *n += count,
                None => self.errors.push((kind, count, detail)),
            }
        }
        self.connect_times.extend(other.connect_times);
        self.latencies.extend(other.latencies);
        self.opening = self.opening.max(other.opening);
        self.wall = self.wall.max(other.wall);
        self.peak_rss_kib += other.peak_rss_kib;
    }
}

// ANCHOR: table
/// Prints the report as lesson 07 does: a label, the number, a few words.
fn print_table(report: &Report, options: &Options, processes: usize) {
    heading("Results");
    let mut connect = report.connect_times.clone();
    let mut latency = report.latencies.clone();
    connect.sort();
    latency.sort();
    row(
        "clients",
        report.clients,
        format!("over {}", plural(processes, "process", "processes")),
    );
    row("connections ok", connect.len(), "connect() succeeded");
    row("held", report.held, "welcomed and held open at once");
    row("errors", report.error_count(), "");
    for (kind, count, detail) in &report.errors {
        row(&format!("  {kind}"), count, detail);
    }
    row(
        "served",
        report.served,
        "dialogue done: name, reply, exit, closed",
    );
    row(
        "latency p50",
        ms(percentile(&latency, 50)),
        "ms, from the name sent to its reply",
    );
    row("latency p99", ms(percentile(&latency, 99)), "ms");
    row("latency max", ms(latency.last()), "ms");
    row(
        "connect p50",
        ms(percentile(&connect, 50)),
        "ms, how long connect() took",
    );
    row("connect p99", ms(percentile(&connect, 99)), "ms");
    row("connect max", ms(connect.last()), "ms");
    row(
        "opening",
        format!("{:.3}", report.opening.as_secs_f64()),
        format!("s, to open them all ({} at a time)", options.window),
    );
    row(
        "wall time",
        format!("{:.3}", report.wall.as_secs_f64()),
        "s, from the go to the last close",
    );
    row(
        "peak RSS",
        report.peak_rss_kib,
        "KiB, of this load generator",
    );
}

fn row(label: &str, value: impl Display, note: impl Display) {
    println!("{}", format!("{label:<15}{value:>10}  {note}").trim_end());
}

/// The `p`th percentile by the nearest-rank method, as lesson 07 computes it.
fn percentile(sorted: &[Duration], p: usize) -> Option<&Duration> {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1)
}

fn ms(sample: Option<&Duration>) -> String {
    sample.map_or("-".into(), |d| format!("{:.2}", d.as_secs_f64() * 1000.0))
}
// ANCHOR_END: table

/// "1 process", "3 processes".
fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}
