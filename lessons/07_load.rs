//! # Lesson 07: a load generator — many clients at once, and where the limits are
//!
//! One client at a time tells little about a server. This lesson starts N clients, each
//! in its own thread, and has each do M round trips: send a name, wait for `Hello, NAME!`.
//! Then it prints a table: how many connected, how many were refused or never got a
//! handshake, how many round trips were done per second, and how long one took.
//!
//! Run a server in one terminal and the load in another:
//!
//! ```text
//! cargo run --release --example 03_server -- --backlog 128
//! cargo run --release --example 07_load -- --clients 100 --rounds 1
//! ```
//!
//! Each of those 100 round trips waits out the server's one-second pause, yet the whole
//! run takes about one second, not a hundred: every session has its own thread, so the
//! pauses overlap. Then hit the article's `listen(5)` with a burst:
//!
//! ```text
//! cargo run --release --example 03_server
//! cargo run --release --example 07_load -- --clients 200 --rounds 1 --burst --connect-timeout-ms 500
//! ```
//!
//! With `--burst` all clients connect at the same instant. Connections arrive faster
//! than the accept loop takes them, the accept queue of the listening socket overflows,
//! and Linux drops the SYNs it has no room for: those clients get no SYN-ACK and time
//! out (their kernels would send the SYN again after a second). A larger backlog
//! (`03_server -- --backlog 1024`) lets them all in.
//!
//! A client can also be *connected* and still never welcomed: `connect()` returns as
//! soon as the SYN-ACK arrives, but if the queue is full when the client's ACK arrives,
//! Linux drops that ACK and the server's side of the handshake is not done. The server
//! may send its SYN-ACK again and finish when there is room, but not if it answered with
//! a SYN cookie (then it keeps no state to resend from). Such a client waits for its
//! welcome, and counts as an error when it times out.
//!
//! By default it speaks the article's protocol: messages without any framing, one read
//! per reply. `--lines` speaks the newline protocol of lesson 06 instead, and with
//! `--pipeline N` each round sends N lines in one write before it reads the N replies.
//!
//! A load generator meets the limits of its own machine too: one file descriptor per
//! socket (it raises its soft limit when a run needs more, and refuses a run that cannot
//! fit), and one local port per connection to the same server (a closed connection keeps
//! its port in TIME_WAIT for a minute; the table counts clients that found none free).

use colored::Colorize;
use std::fmt::Display;
use std::io::{self, BufReader, IsTerminal, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread::{self, ScopedJoinHandle};
use std::time::{Duration, Instant};
use tcp_lessons::args::Args;
use tcp_lessons::framing::{self, FrameError};
use tcp_lessons::say::{self, OnBrokenStdout, fail, heading};
use tcp_lessons::{client, kernel, sys};

/// The server, as the article's client has it.
const ADDRESS: &str = "127.0.0.1:1234";
const CLIENTS: usize = 10;
const ROUNDS: u64 = 3;
/// Lines sent in one write per round, with --lines.
const PIPELINE: usize = 1;
const CONNECT_TIMEOUT_MS: u64 = 3000;
const TIMEOUT_MS: u64 = 10_000;

/// The most clients one run starts. Each is a thread with a 2 MiB stack reserved and a
/// socket; past a few thousand, a load generator needs an event loop, not a thread per
/// client (the book's Load chapter).
const MAX_CLIENTS: usize = 10_000;
/// The most lines in one write. A client that writes everything before it reads can
/// deadlock with a server that answers as it reads, once the replies fill both socket
/// buffers; a hundred short lines stay far below that.
const MAX_PIPELINE: usize = 100;
/// File descriptors the process needs besides one socket per client: stdin, stdout,
/// stderr, and room to spare.
const SPARE_FDS: u64 = 16;

fn usage() -> String {
    indoc::formatdoc! {"
        usage: 07_load [ADDRESS] [OPTIONS]

        A load generator: N clients, each in its own thread, each doing M round trips
        (send a name, read `Hello, NAME!`), then `exit`. Prints a table of what happened.

        arguments:
          ADDRESS                  the server (default {ADDRESS})

        options:
          --clients N              how many clients, at most {MAX_CLIENTS} (default {CLIENTS})
          --rounds M               round trips per client (default {ROUNDS})
          --burst                  start all clients at the same instant, instead of one
                                   after the other
          --connect-timeout-ms MS  how long a client waits for its handshake (default {CONNECT_TIMEOUT_MS})
          --timeout-ms MS          how long a client waits for each reply (default {TIMEOUT_MS})
          --lines                  speak lines (`NAME\\n`, lesson 06) instead of the
                                   article's un-framed messages (lessons 03 and 04)
          --pipeline N             with --lines: each round sends N lines in one write, then
                                   reads the N replies (default {PIPELINE}, at most {MAX_PIPELINE})
          -h, --help               show this text

        examples:
          cargo run --release --example 03_server -- --backlog 128
          cargo run --release --example 07_load -- --clients 100 --rounds 1
          cargo run --release --example 07_load -- --clients 200 --rounds 1 --burst
          cargo run --release --example 07_load -- --lines --pipeline 2 --rounds 20
    "}
}

/// The most bytes one read takes, as the article's `recv(1024)`.
const READ_SIZE: usize = 1024;

/// What lesson 06's server sends instead of `Welcome!` when it has no room for us.
const BUSY: &str = "busy, try again later";

// ANCHOR: main
fn main() {
    // The exit status reports the run, so a closed or full stdout must not end the
    // program early, nor hide a failure: the table's lines are dropped, and the end of
    // `main` says what happened.
    say::on_broken_stdout(OnBrokenStdout::KeepGoing);
    let options = Options::from_args();
    client!(
        "{}, {} each{}, to {} ({})",
        plural(options.clients as u64, "client"),
        plural(options.rounds, "round trip"),
        if options.pipeline > 1 {
            format!(" ({} lines per write)", options.pipeline)
        } else {
            String::new()
        },
        options.addr,
        if options.burst {
            "all at once"
        } else {
            "one after the other"
        }
    );
    let report = run_clients(&options);
    print_table(&report, &options);
    if let Some(reason) = report.failure(&options) {
        fail(reason);
    }
    if say::stdout_failed() {
        fail("every client finished, but the table could not be written to stdout");
    }
}
// ANCHOR_END: main

/// What the command line asked for.
#[derive(Clone, Copy)]
struct Options {
    addr: SocketAddr,
    clients: usize,
    rounds: u64,
    pipeline: usize,
    burst: bool,
    lines: bool,
    connect_timeout: Duration,
    timeout: Duration,
}

impl Options {
    fn from_args() -> Options {
        let mut args = Args::from_env(&usage());
        let burst = args.flag("--burst");
        let lines = args.flag("--lines");
        let clients = args.value("--clients", CLIENTS);
        let rounds = args.value("--rounds", ROUNDS);
        let pipeline = args.value("--pipeline", PIPELINE);
        let connect_timeout = millis(&mut args, "--connect-timeout-ms", CONNECT_TIMEOUT_MS);
        let timeout = millis(&mut args, "--timeout-ms", TIMEOUT_MS);
        let addr = args.address(ADDRESS);
        check_run(&args, clients, rounds, pipeline, lines);
        args.finish();
        Options {
            addr,
            clients,
            rounds,
            pipeline,
            burst,
            lines,
            connect_timeout,
            timeout,
        }
    }

    /// Round trips the whole run asks for (`check_run` made sure it fits).
    fn total_round_trips(&self) -> u64 {
        self.clients as u64 * self.rounds
    }
}

/// A timeout flag in milliseconds. Zero is refused: the socket calls reject a zero
/// timeout (to the kernel it would mean "wait forever").
fn millis(args: &mut Args, name: &str, default: u64) -> Duration {
    let ms = args.value(name, default);
    if ms == 0 {
        args.refuse(format!("{name} 0: a timeout must be at least 1 ms"));
    }
    Duration::from_millis(ms)
}

// ANCHOR: limits
/// Refuses, before a single thread starts, a run that cannot be done: too many clients
/// for a thread each or for this process's file descriptors, or more round trips than
/// a counter holds. One line, exit status 2, as for any bad command line.
fn check_run(args: &Args, clients: usize, rounds: u64, pipeline: usize, lines: bool) {
    if clients == 0 {
        args.refuse("--clients 0: a run needs at least one client");
    }
    if clients > MAX_CLIENTS {
        args.refuse(format!(
            "--clients {clients}: at most {MAX_CLIENTS}, one thread each \
             (more clients need an event loop, not a thread per client)"
        ));
    }
    if pipeline == 0 || pipeline > MAX_PIPELINE {
        args.refuse(format!(
            "--pipeline {pipeline}: from 1 to {MAX_PIPELINE} lines per write"
        ));
    }
    if pipeline > 1 && !lines {
        args.refuse(
            "--pipeline needs --lines: un-framed messages written together arrive as one \
             (lesson 05)",
        );
    }
    // Checked arithmetic: clients × rounds × lines must fit the counters, instead of
    // wrapping around to a small number.
    let messages = (clients as u64)
        .checked_mul(rounds)
        .and_then(|trips| trips.checked_mul(pipeline as u64));
    if messages.is_none() {
        args.refuse(format!(
            "--clients {clients} × --rounds {rounds} is more round trips than 07_load can count"
        ));
    }
    // Every client holds one socket, and every socket is a file descriptor.
    let needed = clients as u64 + SPARE_FDS;
    match open_files_limit(needed) {
        Some(limit) if limit < needed => args.refuse(format!(
            "--clients {clients}: this process may open only {limit} files \
             (ulimit -n), room for {} clients; use fewer, or raise the hard limit",
            limit.saturating_sub(SPARE_FDS)
        )),
        _ => {}
    }
}

/// This process's limit on open files (`ulimit -n`), after raising the soft limit to
/// the hard one if `needed` is more than the soft limit allows, as many servers do at
/// startup: the soft limit is only a default (256 on macOS, 1024 on many Linux
/// systems), which a process may raise up to the hard limit without privileges.
/// `None` where there is no such limit (Windows).
fn open_files_limit(needed: u64) -> Option<u64> {
    let (soft, _) = sys::fd_limit()?;
    if soft >= needed {
        return Some(soft);
    }
    match sys::raise_fd_limit() {
        Ok((before, after)) if after > before => {
            kernel!("open files (ulimit -n): soft limit raised from {before} to {after}");
            Some(after)
        }
        _ => Some(soft),
    }
}
// ANCHOR_END: limits

/// What the clients share while they run: the counters of the progress line, and the
/// histograms every connect and every round trip is counted in.
struct Tally {
    connected: AtomicUsize,
    round_trips: AtomicU64,
    stopped: AtomicUsize,
    connects: Histogram,
    latencies: Histogram,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            connected: AtomicUsize::new(0),
            round_trips: AtomicU64::new(0),
            stopped: AtomicUsize::new(0),
            connects: Histogram::new(),
            latencies: Histogram::new(),
        }
    }
}

// ANCHOR: run_clients
/// Starts one thread per client, shows progress while they run, and sums up what each
/// client saw.
fn run_clients(options: &Options) -> Report {
    let tally = Tally::new();
    // ANCHOR: burst
    // With --burst, every client thread waits at this barrier, and so does this thread
    // once it has started them all. When the last of them arrives, all go at once.
    let start_line = options.burst.then(|| Barrier::new(options.clients + 1));
    // ANCHOR_END: burst
    let mut start = Instant::now();
    let logs = thread::scope(|scope| {
        let mut clients = Vec::with_capacity(options.clients);
        for id in 0..options.clients {
            let (tally, start_line) = (&tally, start_line.as_ref());
            let spawned = thread::Builder::new()
                .name(format!("client {id}"))
                .spawn_scoped(scope, move || client(id, options, start_line, tally));
            // Out of threads or memory: the run cannot be what was asked for.
            clients.push(spawned.unwrap_or_else(|err| {
                fail(format!(
                    "cannot start a thread for client {id}: {err}; try fewer --clients"
                ))
            }));
        }
        if let Some(start_line) = &start_line {
            start_line.wait();
            start = Instant::now();
        }
        if io::stderr().is_terminal() {
            show_progress(&clients, &tally, options);
        }
        clients
            .into_iter()
            .map(|client| client.join().unwrap_or_else(|_| ClientLog::panicked()))
            .collect::<Vec<ClientLog>>()
    });
    summarise(logs, tally, start)
}
// ANCHOR_END: run_clients

/// Rewrites one line on stderr a few times a second until every client is done.
fn show_progress(clients: &[ScopedJoinHandle<ClientLog>], tally: &Tally, options: &Options) {
    let mut width = 0;
    while !clients.iter().all(|client| client.is_finished()) {
        // Relaxed loads are enough: these numbers are only shown; the table is built
        // after every thread has been joined.
        let line = format!(
            "connected {}/{}, round trips {}/{}, stopped early {}",
            tally.connected.load(Ordering::Relaxed),
            options.clients,
            tally.round_trips.load(Ordering::Relaxed),
            options.total_round_trips(),
            tally.stopped.load(Ordering::Relaxed),
        );
        width = width.max(line.len());
        eprint!("\r{line}");
        thread::sleep(Duration::from_millis(200));
    }
    // Clear the line, so the table stands alone.
    eprint!("\r{}\r", " ".repeat(width));
}

/// How one client's life ended.
enum Outcome {
    /// Connected, was welcomed, did every round trip and sent `exit`.
    Finished,
    /// The connection was refused: a RST answered our SYN.
    Refused,
    /// No handshake within the connect timeout.
    TimedOut,
    /// EADDRNOTAVAIL: our own kernel had no free local port for the connection.
    NoLocalPort,
    /// The server said it was full instead of welcoming us.
    Busy,
    /// Anything else, in words.
    Failed(String),
}

/// What one client saw (its times went into the shared histograms).
struct ClientLog {
    outcome: Outcome,
    connected: bool,
    ended: Instant,
}

impl ClientLog {
    fn panicked() -> ClientLog {
        ClientLog {
            outcome: Outcome::Failed("the client thread panicked".into()),
            connected: false,
            ended: Instant::now(),
        }
    }
}

// ANCHOR: client
/// One client's life: connect, read the welcome, do the round trips, send `exit`, close.
fn client(id: usize, options: &Options, start_line: Option<&Barrier>, tally: &Tally) -> ClientLog {
    if let Some(start_line) = start_line {
        start_line.wait();
    }
    let mut connected = false;
    let connecting = Instant::now();
    // connect() sends the SYN and returns once the SYN-ACK is back and our ACK is on its
    // way. The server's kernel answers alone, even while the server program is busy,
    // as long as the accept queue of the listening socket has room.
    let outcome = match TcpStream::connect_timeout(&options.addr, options.connect_timeout) {
        Ok(stream) => {
            tally.connects.record(connecting.elapsed());
            tally.connected.fetch_add(1, Ordering::Relaxed);
            connected = true;
            // `stream` is dropped at the end of this arm: that closes the connection.
            match converse(id, &stream, options, tally) {
                Ok(()) => Outcome::Finished,
                Err(outcome) => outcome,
            }
        }
        Err(err) => connect_failure(id, err),
    };
    if !matches!(outcome, Outcome::Finished) {
        tally.stopped.fetch_add(1, Ordering::Relaxed);
    }
    ClientLog {
        outcome,
        connected,
        ended: Instant::now(),
    }
}

/// Sorts a failed connect into refused, timed out, no local port, or something else.
fn connect_failure(id: usize, err: io::Error) -> Outcome {
    match err.kind() {
        // Nothing listens there: the server's kernel answered our SYN with a RST.
        io::ErrorKind::ConnectionRefused => Outcome::Refused,
        // No SYN-ACK came: a full accept queue drops SYNs on Linux, as if they were lost.
        io::ErrorKind::TimedOut => Outcome::TimedOut,
        // EADDRNOTAVAIL: every local port that could reach this server:port is taken,
        // by live connections or by closed ones waiting out TIME_WAIT.
        io::ErrorKind::AddrNotAvailable => Outcome::NoLocalPort,
        // Too many open files, ...
        _ => Outcome::Failed(format!("client {id}: connect failed: {err}")),
    }
}
// ANCHOR_END: client

/// The dialogue on a connected stream: welcome, `rounds` round trips, `exit`.
fn converse(
    id: usize,
    stream: &TcpStream,
    options: &Options,
    tally: &Tally,
) -> Result<(), Outcome> {
    let failed = |doing: &str, err: io::Error| {
        Outcome::Failed(format!("client {id}: {doing}: {}", describe(&err, options)))
    };
    // Without timeouts a silent server would hold this thread, and the run, forever.
    stream
        .set_read_timeout(Some(options.timeout))
        .and_then(|()| stream.set_write_timeout(Some(options.timeout)))
        .map_err(|err| failed("setting timeouts", err))?;
    let mut wire = Wire::new(stream, options.lines);
    let welcome = wire.receive().map_err(|err| {
        // 03_server's welcome has no `\n`: a line reader waits for one until it times out.
        let hint = if options.lines && is_timeout(&err) {
            " (a server whose welcome has no \\n, like 03_server? try without --lines)"
        } else {
            ""
        };
        let why = describe(&err, options);
        Outcome::Failed(format!("client {id}: waiting for the welcome: {why}{hint}"))
    })?;
    // ANCHOR: busy
    // trim_end: lesson 06 ends its `busy` with `\n`, which a client that does not
    // speak lines keeps in what it read.
    if welcome.trim_end() == BUSY {
        return Err(Outcome::Busy);
    }
    // ANCHOR_END: busy
    if welcome != "Welcome!" {
        return Err(Outcome::Failed(format!(
            "client {id}: {}",
            unexpected("Welcome!", &welcome, options)
        )));
    }
    for round in 0..options.rounds {
        let names = names(id, round, options.pipeline);
        let latency = round_trip(&mut wire, &names, options)
            .map_err(|why| Outcome::Failed(format!("client {id}: {why}")))?;
        tally.latencies.record(latency);
        tally.round_trips.fetch_add(1, Ordering::Relaxed);
    }
    wire.send(&["exit".to_string()])
        .map_err(|err| failed("sending exit", err))
}

// ANCHOR: names
/// The names one round sends: `client3-round7`, or with --pipeline 2
/// `client3-round7-0` and `client3-round7-1`.
fn names(id: usize, round: u64, pipeline: usize) -> Vec<String> {
    if pipeline == 1 {
        return vec![format!("client{id}-round{round}")];
    }
    (0..pipeline)
        .map(|line| format!("client{id}-round{round}-{line}"))
        .collect()
}
// ANCHOR_END: names

// ANCHOR: round_trip
/// Sends `names` in one write, reads one reply per name, and checks each is
/// `Hello, NAME!`. Returns the time from just before the write to just after the last
/// reply: what one round trip costs this client, the server's pause included.
fn round_trip(wire: &mut Wire, names: &[String], options: &Options) -> Result<Duration, String> {
    let sent = Instant::now();
    wire.send(names)
        .map_err(|err| format!("sending {:?}: {}", names[0], describe(&err, options)))?;
    let mut replies = Vec::with_capacity(names.len());
    for name in names {
        let reply = wire.receive().map_err(|err| {
            let why = describe(&err, options);
            format!("waiting for the reply to {name:?}: {why}")
        })?;
        replies.push(reply);
    }
    let latency = sent.elapsed();
    for (name, reply) in names.iter().zip(&replies) {
        let expected = format!("Hello, {name}!");
        if *reply != expected {
            return Err(format!(
                "sent {name:?}: {}",
                unexpected(&expected, reply, options)
            ));
        }
    }
    Ok(latency)
}
// ANCHOR_END: round_trip

// ANCHOR: wire
/// A client's connection, speaking the article's un-framed messages or lines.
struct Wire<'a> {
    stream: &'a TcpStream,
    /// With --lines, replies are read through a buffer up to their `\n`: a line may
    /// arrive in pieces, or together with the next one.
    lines: Option<BufReader<&'a TcpStream>>,
}

impl<'a> Wire<'a> {
    fn new(stream: &'a TcpStream, lines: bool) -> Wire<'a> {
        Wire {
            stream,
            lines: lines.then(|| BufReader::new(stream)),
        }
    }

    /// Sends `messages` in one write: each ends with `\n` when speaking lines, so with
    /// --pipeline they leave together and the server finds them all in one read.
    /// Without --lines there is one message, its bytes alone, as the article sends it.
    fn send(&mut self, messages: &[String]) -> io::Result<()> {
        let mut bytes = Vec::new();
        for message in messages {
            bytes.extend_from_slice(message.as_bytes());
            if self.lines.is_some() {
                bytes.push(b'\n');
            }
        }
        let mut stream = self.stream;
        stream.write_all(&bytes)
    }

    /// The next message, as text; an error if the server closed the connection.
    fn receive(&mut self) -> io::Result<String> {
        let bytes = match &mut self.lines {
            Some(reader) => match framing::read_line(reader, READ_SIZE) {
                Ok(Some(line)) => line,
                Ok(None) => return Err(closed()),
                Err(FrameError::Io(err)) => return Err(err),
                Err(err) => return Err(io::Error::new(io::ErrorKind::InvalidData, err)),
            },
            None => {
                // One read is taken as one reply, as the article does. In practice it
                // holds here: the server writes each short reply at once, the client
                // waits for it, and over loopback it arrives in one piece. TCP does not
                // promise it (lesson 05).
                let mut buffer = [0; READ_SIZE];
                let mut stream = self.stream;
                let n = stream.read(&mut buffer)?;
                if n == 0 {
                    return Err(closed());
                }
                buffer[..n].to_vec()
            }
        };
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}
// ANCHOR_END: wire

fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the server closed the connection",
    )
}

/// Says in words why a read or write failed.
fn describe(err: &io::Error, options: &Options) -> String {
    if is_timeout(err) {
        format!("timed out after {} ms", options.timeout.as_millis())
    } else if err.kind() == io::ErrorKind::ConnectionReset {
        "the server reset the connection".into()
    } else {
        err.to_string()
    }
}

/// A read or write that ran into the socket's timeout: WouldBlock on Unix, TimedOut on
/// Windows.
fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Says what came instead of what was expected, with a hint when the framing is wrong.
fn unexpected(expected: &str, got: &str, options: &Options) -> String {
    let hint = if !options.lines && got.ends_with('\n') {
        " (a server that speaks lines? try --lines)"
    } else {
        ""
    };
    format!("expected {expected:?}, got {got:?}{hint}")
}

// ANCHOR: histogram
/// Durations counted in buckets, so that the memory stays the same (about 440 KiB)
/// for ten round trips or ten billion: a run cannot keep every sample, since
/// `--rounds 1000000000000` would need 16 TB for them. All client threads count into
/// the same buckets at once.
///
/// The buckets are log-linear, as in HdrHistogram: below 2048 ns each nanosecond has
/// its own, and above it each doubling of time (2–4 µs, ..., 1–2 s, ...) is split into
/// 1024 equal buckets. A bucket is never wider than 1/1024 of the durations in it.
struct Histogram {
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
}

/// A bucket keeps the top 11 significant bits of a duration in nanoseconds.
const PRECISION_BITS: u32 = 11;
/// Enough buckets for any `u64` of nanoseconds (585 years).
const BUCKETS: usize =
    ((64 - PRECISION_BITS as usize) << (PRECISION_BITS - 1)) + (1 << PRECISION_BITS);

impl Histogram {
    fn new() -> Histogram {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
        }
    }

    fn record(&self, duration: Duration) {
        let ns = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        // Relaxed: each counter only adds up, and the table reads them after every
        // client thread has been joined.
        self.buckets[bucket(ns)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.min.fetch_min(ns, Ordering::Relaxed);
        self.max.fetch_max(ns, Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn min(&self) -> Option<Duration> {
        (self.count() > 0).then(|| Duration::from_nanos(self.min.load(Ordering::Relaxed)))
    }

    fn max(&self) -> Option<Duration> {
        (self.count() > 0).then(|| Duration::from_nanos(self.max.load(Ordering::Relaxed)))
    }
}

/// The bucket of a duration of `ns` nanoseconds.
fn bucket(ns: u64) -> usize {
    let bits = u64::BITS - ns.leading_zeros(); // ns < 2^bits
    if bits <= PRECISION_BITS {
        return ns as usize;
    }
    // Drop the bits below the top PRECISION_BITS: durations that differ only there
    // share a bucket. Each doubling gets the next 1024 buckets.
    let dropped = bits - PRECISION_BITS;
    ((dropped as usize) << (PRECISION_BITS - 1)) + (ns >> dropped) as usize
}

/// The middle of bucket `index`, in nanoseconds: within half a bucket (1/2048, or
/// 0.05 %) of every duration counted in it.
fn middle(index: usize) -> u64 {
    if index < 1 << PRECISION_BITS {
        return index as u64;
    }
    let dropped = (index >> (PRECISION_BITS - 1)) - 1;
    let top = (index - (dropped << (PRECISION_BITS - 1))) as u64;
    (top << dropped) + (1 << dropped) / 2
}
// ANCHOR_END: histogram

// ANCHOR: percentiles
/// The `p`th percentile by the nearest-rank method: the smallest sample that at least
/// `p`% of all samples are at or below. The histogram knows which bucket that sample
/// is in, and shows the bucket's middle: within 0.05 % of the sample. The lowest and
/// the highest rank are the exact minimum and maximum, so with fewer than 100 samples,
/// p99 is the maximum.
fn percentile(histogram: &Histogram, p: u64) -> Option<Duration> {
    let count = histogram.count();
    let rank = (u128::from(p) * u128::from(count)).div_ceil(100).max(1);
    if count == 0 || rank >= u128::from(count) {
        return histogram.max();
    }
    if rank == 1 {
        return histogram.min();
    }
    let mut seen = 0;
    for (index, bucket) in histogram.buckets.iter().enumerate() {
        seen += u128::from(bucket.load(Ordering::Relaxed));
        if seen >= rank {
            let min = histogram.min.load(Ordering::Relaxed);
            let max = histogram.max.load(Ordering::Relaxed);
            return Some(Duration::from_nanos(middle(index).clamp(min, max)));
        }
    }
    histogram.max()
}
// ANCHOR_END: percentiles

/// Everything the run saw, summed up over all clients.
struct Report {
    clients: usize,
    connected: usize,
    refused: usize,
    timed_out: usize,
    no_local_port: usize,
    busy: usize,
    failed: usize,
    finished: usize,
    first_error: Option<String>,
    /// Every completed round trip's latency.
    latencies: Histogram,
    /// Every successful connect's duration.
    connects: Histogram,
    /// From the start (the burst's release) until the last client was done.
    wall_time: Duration,
}

/// Counts the outcomes; the histograms come from the tally.
fn summarise(logs: Vec<ClientLog>, tally: Tally, start: Instant) -> Report {
    let mut report = Report {
        clients: logs.len(),
        connected: 0,
        refused: 0,
        timed_out: 0,
        no_local_port: 0,
        busy: 0,
        failed: 0,
        finished: 0,
        first_error: None,
        latencies: tally.latencies,
        connects: tally.connects,
        wall_time: Duration::ZERO,
    };
    for log in logs {
        match log.outcome {
            Outcome::Finished => report.finished += 1,
            Outcome::Refused => report.refused += 1,
            Outcome::TimedOut => report.timed_out += 1,
            Outcome::NoLocalPort => report.no_local_port += 1,
            Outcome::Busy => report.busy += 1,
            Outcome::Failed(why) => {
                report.failed += 1;
                report.first_error.get_or_insert(why);
            }
        }
        report.connected += usize::from(log.connected);
        report.wall_time = report
            .wall_time
            .max(log.ended.saturating_duration_since(start));
    }
    report
}

impl Report {
    /// Why the run did not fully succeed, in one line; `None` if every client finished.
    fn failure(&self, options: &Options) -> Option<String> {
        if self.finished == self.clients {
            return None;
        }
        let counts = [
            (self.refused, "refused"),
            (self.timed_out, "timed out"),
            (self.no_local_port, "found no free local port"),
            (self.busy, "busy"),
            (self.failed, "failed otherwise"),
        ];
        let parts: Vec<String> = counts
            .iter()
            .filter(|(count, _)| *count > 0)
            .map(|(count, what)| format!("{count} {what}"))
            .collect();
        let mut reason = format!(
            "{} of {} clients did not finish: {}",
            self.clients - self.finished,
            self.clients,
            parts.join(", ")
        );
        if self.refused == self.clients {
            reason += &format!("; is a server listening on {}?", options.addr);
        }
        if self.no_local_port > 0 {
            reason += "; this machine ran out of local ports for this server \
                       (TIME_WAIT, ip_local_port_range: see the book's Load chapter)";
        }
        Some(reason)
    }
}

// ANCHOR: table
/// Prints the report as an aligned table. Each row: a label a reader (or a test) can
/// find, the number, then its unit or a few words on what it means.
fn print_table(report: &Report, options: &Options) {
    heading("Results");
    let how = if options.burst {
        "all at once (--burst)"
    } else {
        "one after the other"
    };
    let each = format!(
        "{} each, started {how}",
        plural(options.rounds, "round trip")
    );
    row("clients", report.clients, each);
    row("connections ok", report.connected, "connect() succeeded");
    trouble(
        "refused",
        report.refused,
        "RST to our SYN: nothing listens there",
    );
    let within = format!(
        "no handshake within {} ms",
        options.connect_timeout.as_millis()
    );
    trouble("timed out", report.timed_out, within);
    trouble(
        "no local port",
        report.no_local_port,
        "EADDRNOTAVAIL: no free local port (TIME_WAIT?)",
    );
    trouble(
        "busy",
        report.busy,
        "the server said \"busy\" instead of Welcome!",
    );
    trouble("other errors", report.failed, "");
    if let Some(example) = &report.first_error {
        row("first error", "", example);
    }
    row(
        "finished",
        report.finished,
        "all round trips done, exit sent",
    );

    let latency = &report.latencies;
    let done = latency.count();
    let wall = report.wall_time.as_secs_f64();
    let rate = if wall > 0.0 { done as f64 / wall } else { 0.0 };
    let of = if options.pipeline > 1 {
        format!(
            "of {}, each {} lines in one write",
            options.total_round_trips(),
            options.pipeline
        )
    } else {
        format!("of {}", options.total_round_trips())
    };
    row("round trips", done, of);
    row(
        "round trips/s",
        format!("{rate:.1}"),
        "round trips / wall time",
    );
    let from = if options.pipeline > 1 {
        "ms, from the write to the last reply"
    } else {
        "ms, from send to reply"
    };
    row("latency min", ms(latency.min()), from);
    row("latency p50", ms(percentile(latency, 50)), "ms");
    row("latency p90", ms(percentile(latency, 90)), "ms");
    row("latency p99", ms(percentile(latency, 99)), "ms");
    row("latency max", ms(latency.max()), "ms");
    let connect = &report.connects;
    row(
        "connect p50",
        ms(percentile(connect, 50)),
        "ms, how long connect() took",
    );
    row("connect max", ms(connect.max()), "ms");
    row("wall time", format!("{wall:.3}"), "s");
}
// ANCHOR_END: table

fn row(label: &str, value: impl Display, note: impl Display) {
    let line = format!("{label:<15}{value:>10}  {note}");
    say::out_text(&format!("{}\n", line.trim_end()));
}

/// A row counting trouble: red on a terminal when it is not zero.
fn trouble(label: &str, count: usize, note: impl Display) {
    let value = format!("{count:>10}");
    let value = if count > 0 {
        value.red()
    } else {
        value.normal()
    };
    row(label, value, note);
}

/// "1 client", "3 clients".
fn plural(count: u64, what: &str) -> String {
    let s = if count == 1 { "" } else { "s" };
    format!("{count} {what}{s}")
}

/// A duration in milliseconds with two decimals, or `-` when there is none.
fn ms(sample: Option<Duration>) -> String {
    sample.map_or("-".into(), |d| format!("{:.2}", d.as_secs_f64() * 1000.0))
}
