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
//! per reply. `--lines` speaks the newline protocol of lesson 06 instead.

use colored::Colorize;
use std::fmt::Display;
use std::io::{self, BufReader, IsTerminal, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, ScopedJoinHandle};
use std::time::{Duration, Instant};
use tcp_lessons::args::Args;
use tcp_lessons::client;
use tcp_lessons::framing::{self, FrameError};
use tcp_lessons::say::{fail, heading, program};

const USAGE: &str = indoc::indoc! {"
    usage: 07_load [ADDRESS] [--clients N] [--rounds M] [--burst]
                   [--connect-timeout-ms MS] [--timeout-ms MS] [--lines]

    A load generator: N clients, each in its own thread, each doing M round trips
    (send a name, read `Hello, NAME!`), then `exit`. Prints a table of what happened.

      ADDRESS                  the server (default 127.0.0.1:1234)
      --clients N              how many clients (default 10)
      --rounds M               round trips per client (default 3)
      --burst                  start all clients at the same instant, instead of one
                               after the other
      --connect-timeout-ms MS  how long a client waits for its handshake (default 3000)
      --timeout-ms MS          how long a client waits for each reply (default 10000)
      --lines                  speak lines (`NAME\\n`, lesson 06) instead of the
                               article's un-framed messages (lessons 03 and 04)
      --help                   show this text

    Start a server first: cargo run --example 03_server -- --backlog 128
"};

/// The most bytes one read takes, as the article's `recv(1024)`.
const READ_SIZE: usize = 1024;

/// What lesson 06's server sends instead of `Welcome!` when it has no room for us.
const BUSY: &str = "busy, try again later";

// ANCHOR: main
fn main() {
    let options = Options::from_args();
    client!(
        "{}, {} each, to {} ({})",
        plural(options.clients, "client"),
        plural(options.rounds, "round trip"),
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
}
// ANCHOR_END: main

/// What the command line asked for.
#[derive(Clone, Copy)]
struct Options {
    addr: SocketAddr,
    clients: usize,
    rounds: usize,
    burst: bool,
    lines: bool,
    connect_timeout: Duration,
    timeout: Duration,
}

impl Options {
    fn from_args() -> Options {
        let mut args = Args::from_env(USAGE);
        let burst = args.flag("--burst");
        let lines = args.flag("--lines");
        let clients = at_least_one("--clients", args.value("--clients", 10));
        let rounds = args.value("--rounds", 3);
        let connect_timeout = at_least_one(
            "--connect-timeout-ms",
            args.value("--connect-timeout-ms", 3000),
        );
        let timeout = at_least_one("--timeout-ms", args.value("--timeout-ms", 10_000));
        let addr = args.address("127.0.0.1:1234");
        args.finish();
        Options {
            addr,
            clients,
            rounds,
            burst,
            lines,
            connect_timeout: Duration::from_millis(connect_timeout),
            timeout: Duration::from_millis(timeout),
        }
    }
}

/// Refuses 0 where it makes no sense (no clients; a timeout of zero, which the socket
/// calls reject), the way `Args` refuses a bad value: one line, exit status 2.
fn at_least_one<T: PartialEq + From<u8>>(name: &str, value: T) -> T {
    if value == T::from(0) {
        eprintln!(
            "{}: {name} must be at least 1 (--help shows the usage)",
            program()
        );
        std::process::exit(2);
    }
    value
}

/// Counters the clients bump and the main thread reads to show progress.
#[derive(Default)]
struct Progress {
    connected: AtomicUsize,
    round_trips: AtomicUsize,
    stopped: AtomicUsize,
}

// ANCHOR: run_clients
/// Starts one thread per client, shows progress while they run, and sums up what each
/// client saw.
fn run_clients(options: &Options) -> Report {
    let progress = Progress::default();
    // ANCHOR: burst
    // With --burst, every client thread waits at this barrier, and so does this thread
    // once it has started them all. When the last of them arrives, all go at once.
    let start_line = options.burst.then(|| Barrier::new(options.clients + 1));
    // ANCHOR_END: burst
    let mut start = Instant::now();
    let logs = thread::scope(|scope| {
        let mut clients = Vec::with_capacity(options.clients);
        for id in 0..options.clients {
            let (progress, start_line) = (&progress, start_line.as_ref());
            let spawned = thread::Builder::new()
                .name(format!("client {id}"))
                .spawn_scoped(scope, move || client(id, options, start_line, progress));
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
            show_progress(&clients, &progress, options);
        }
        clients
            .into_iter()
            .map(|client| client.join().unwrap_or_else(|_| ClientLog::panicked()))
            .collect::<Vec<ClientLog>>()
    });
    summarise(logs, start)
}
// ANCHOR_END: run_clients

/// Rewrites one line on stderr a few times a second until every client is done.
fn show_progress(clients: &[ScopedJoinHandle<ClientLog>], progress: &Progress, options: &Options) {
    let total_trips = options.clients * options.rounds;
    let mut width = 0;
    while !clients.iter().all(|client| client.is_finished()) {
        // Relaxed loads are enough: these numbers are only shown; the table is built
        // from what each thread returns.
        let line = format!(
            "connected {}/{}, round trips {}/{}, stopped early {}",
            progress.connected.load(Ordering::Relaxed),
            options.clients,
            progress.round_trips.load(Ordering::Relaxed),
            total_trips,
            progress.stopped.load(Ordering::Relaxed),
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
    /// The server said it was full instead of welcoming us.
    Busy,
    /// Anything else, in words.
    Failed(String),
}

/// What one client saw.
struct ClientLog {
    outcome: Outcome,
    /// How long `connect` took, if it succeeded.
    connect_time: Option<Duration>,
    /// How long each completed round trip took.
    latencies: Vec<Duration>,
    ended: Instant,
}

impl ClientLog {
    fn panicked() -> ClientLog {
        ClientLog {
            outcome: Outcome::Failed("the client thread panicked".into()),
            connect_time: None,
            latencies: Vec::new(),
            ended: Instant::now(),
        }
    }
}

// ANCHOR: client
/// One client's life: connect, read the welcome, do the round trips, send `exit`, close.
fn client(
    id: usize,
    options: &Options,
    start_line: Option<&Barrier>,
    progress: &Progress,
) -> ClientLog {
    if let Some(start_line) = start_line {
        start_line.wait();
    }
    let mut connect_time = None;
    let mut latencies = Vec::with_capacity(options.rounds);
    let connecting = Instant::now();
    // connect() sends the SYN and returns once the SYN-ACK is back and our ACK is on its
    // way. The server's kernel answers alone, even while the server program is busy,
    // as long as the accept queue of the listening socket has room.
    let outcome = match TcpStream::connect_timeout(&options.addr, options.connect_timeout) {
        Ok(stream) => {
            connect_time = Some(connecting.elapsed());
            progress.connected.fetch_add(1, Ordering::Relaxed);
            // `stream` is dropped at the end of this arm: that closes the connection.
            match converse(id, &stream, options, &mut latencies, progress) {
                Ok(()) => Outcome::Finished,
                Err(outcome) => outcome,
            }
        }
        Err(err) => connect_failure(id, err),
    };
    if !matches!(outcome, Outcome::Finished) {
        progress.stopped.fetch_add(1, Ordering::Relaxed);
    }
    ClientLog {
        outcome,
        connect_time,
        latencies,
        ended: Instant::now(),
    }
}

/// Sorts a failed connect into refused, timed out, or something else.
fn connect_failure(id: usize, err: io::Error) -> Outcome {
    match err.kind() {
        // Nothing listens there: the server's kernel answered our SYN with a RST.
        io::ErrorKind::ConnectionRefused => Outcome::Refused,
        // No SYN-ACK came: a full accept queue drops SYNs on Linux, as if they were lost.
        io::ErrorKind::TimedOut => Outcome::TimedOut,
        // Too many open files, no free local port, ...
        _ => Outcome::Failed(format!("client {id}: connect failed: {err}")),
    }
}

/// The dialogue on a connected stream: welcome, `rounds` round trips, `exit`.
fn converse(
    id: usize,
    stream: &TcpStream,
    options: &Options,
    latencies: &mut Vec<Duration>,
    progress: &Progress,
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
    if welcome == BUSY {
        return Err(Outcome::Busy);
    }
    if welcome != "Welcome!" {
        return Err(Outcome::Failed(format!(
            "client {id}: {}",
            unexpected("Welcome!", &welcome, options)
        )));
    }
    for round in 0..options.rounds {
        let name = format!("client{id}-round{round}");
        let latency = round_trip(&mut wire, &name, options)
            .map_err(|why| Outcome::Failed(format!("client {id}: {why}")))?;
        latencies.push(latency);
        progress.round_trips.fetch_add(1, Ordering::Relaxed);
    }
    wire.send("exit").map_err(|err| failed("sending exit", err))
}
// ANCHOR_END: client

// ANCHOR: round_trip
/// Sends `name`, reads one reply, and checks it is `Hello, NAME!`. Returns the time from
/// just before the send to just after the reply: what one round trip costs this client,
/// the server's pause included.
fn round_trip(wire: &mut Wire, name: &str, options: &Options) -> Result<Duration, String> {
    let sent = Instant::now();
    wire.send(name)
        .map_err(|err| format!("sending {name:?}: {}", describe(&err, options)))?;
    let reply = wire.receive().map_err(|err| {
        let why = describe(&err, options);
        format!("waiting for the reply to {name:?}: {why}")
    })?;
    let latency = sent.elapsed();
    let expected = format!("Hello, {name}!");
    if reply != expected {
        return Err(format!(
            "sent {name:?}: {}",
            unexpected(&expected, &reply, options)
        ));
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

    fn send(&mut self, message: &str) -> io::Result<()> {
        let mut stream = self.stream;
        if self.lines.is_some() {
            framing::write_line(&mut stream, message.as_bytes())
        } else {
            // The article's client: the bytes alone, no line ending.
            stream.write_all(message.as_bytes())
        }
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

/// Everything the run saw, summed up over all clients.
#[derive(Default)]
struct Report {
    clients: usize,
    connected: usize,
    refused: usize,
    timed_out: usize,
    busy: usize,
    failed: usize,
    finished: usize,
    first_error: Option<String>,
    /// Every completed round trip's latency, sorted.
    latencies: Vec<Duration>,
    /// Every successful connect's duration, sorted.
    connect_times: Vec<Duration>,
    /// From the start (the burst's release) until the last client was done.
    wall_time: Duration,
}

/// Counts the outcomes and gathers every sample.
fn summarise(logs: Vec<ClientLog>, start: Instant) -> Report {
    let mut report = Report {
        clients: logs.len(),
        ..Report::default()
    };
    for log in logs {
        match log.outcome {
            Outcome::Finished => report.finished += 1,
            Outcome::Refused => report.refused += 1,
            Outcome::TimedOut => report.timed_out += 1,
            Outcome::Busy => report.busy += 1,
            Outcome::Failed(why) => {
                report.failed += 1;
                report.first_error.get_or_insert(why);
            }
        }
        if let Some(connect_time) = log.connect_time {
            report.connected += 1;
            report.connect_times.push(connect_time);
        }
        report.latencies.extend(log.latencies);
        report.wall_time = report
            .wall_time
            .max(log.ended.saturating_duration_since(start));
    }
    report.latencies.sort();
    report.connect_times.sort();
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
        Some(reason)
    }
}

// ANCHOR: percentiles
/// The `p`th percentile of `sorted` by the nearest-rank method: the smallest sample that
/// at least `p`% of all samples are at or below. No interpolation, so every number shown
/// was measured; with fewer than 100 samples, p99 is the maximum.
fn percentile(sorted: &[Duration], p: usize) -> Option<&Duration> {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1)
}
// ANCHOR_END: percentiles

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

    let done = report.latencies.len();
    let wall = report.wall_time.as_secs_f64();
    let rate = if wall > 0.0 { done as f64 / wall } else { 0.0 };
    row(
        "round trips",
        done,
        format!("of {}", options.clients * options.rounds),
    );
    row(
        "round trips/s",
        format!("{rate:.1}"),
        "round trips / wall time",
    );
    let latency = &report.latencies;
    row("latency min", ms(latency.first()), "ms, from send to reply");
    row("latency p50", ms(percentile(latency, 50)), "ms");
    row("latency p90", ms(percentile(latency, 90)), "ms");
    row("latency p99", ms(percentile(latency, 99)), "ms");
    row("latency max", ms(latency.last()), "ms");
    let connect = &report.connect_times;
    row(
        "connect p50",
        ms(percentile(connect, 50)),
        "ms, how long connect() took",
    );
    row("connect max", ms(connect.last()), "ms");
    row("wall time", format!("{wall:.3}"), "s");
}

fn row(label: &str, value: impl Display, note: impl Display) {
    println!("{}", format!("{label:<15}{value:>10}  {note}").trim_end());
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
fn plural(count: usize, what: &str) -> String {
    let s = if count == 1 { "" } else { "s" };
    format!("{count} {what}{s}")
}

/// A duration in milliseconds with two decimals, or `-` when there is none.
fn ms(sample: Option<&Duration>) -> String {
    sample.map_or("-".into(), |d| format!("{:.2}", d.as_secs_f64() * 1000.0))
}
// ANCHOR_END: table
