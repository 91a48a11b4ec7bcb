//! # Lesson 08: a benchmark — how fast, how many, how much memory
//!
//! Lesson 07 measures one server at a time. This lesson runs every server of the
//! project on this machine and sets the numbers side by side:
//!
//! - `03_server --pause-ms 0 --backlog 1024`: the article's server without its one-second
//!   pause; the backlog is raised so that 1000 clients do not overflow the accept queue;
//! - `03_server/quiet`: the same with `--quiet`, which stops it logging every read, to
//!   show what a line of log per message costs;
//! - `06_hardened_server --max-sessions 2000 --backlog 1024`: the hardened server, its
//!   session limit raised so that 1000 clients are not turned away (it speaks lines:
//!   07's `--lines`);
//! - `article_server.py`: the project's Python rendition of the article, pause 0, with
//!   the article's `listen(5)` (only when `python3` is installed);
//! - `floor`: a minimal server written here (`08_benchmark --floor-server ADDRESS`): the
//!   article's protocol and nothing else, no log, no limits, listening as the Rust
//!   servers above do (backlog 1024). It is the most a blocking thread-per-connection
//!   server can do on this machine.
//!
//! For each it measures round trips per second and latency at 1, 10, 100 and 1000
//! clients, with lesson 07 as the load generator. A shared machine is noisy: a compiler
//! starting during one server's run would decide a comparison on its own. So the servers
//! take turns: in every *round* each server runs once at each number of clients, one
//! after the other (A B C, then B C A, ...), a ratio between two servers is taken within
//! a round, and the tables show the median of the rounds with their range (min–max). Then
//! a burst of 1000 connections hits 03_server with the article's pause at backlog 5 and
//! at backlog 1024; the benchmark measures the memory one idle connection holds and how
//! long each server takes to start.
//!
//! Build everything in release mode first, then run it (about a minute and a half):
//!
//! ```text
//! cargo build --release --examples
//! cargo run --release --example 08_benchmark
//! cargo run --release --example 08_benchmark -- --rounds 9 --markdown benchmark.md
//! ```
//!
//! Numbers from a debug build measure the compiler's unoptimised code, not the design:
//! the benchmark refuses to run without `--release` (`--allow-debug` overrides that, for
//! tests). A thousand clients need about 2000 open files (a socket at each end), more
//! than macOS's default `ulimit -n` of 256: the benchmark raises its own limit to the
//! most the system allows, for itself and the programs it starts, and says so.

use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};
use tcp_lessons::args::Args;
use tcp_lessons::say::{explain, fail, heading};
use tcp_lessons::{note, server, sys};

/// Rounds of measurement: each server runs once per round at each number of clients.
const ROUNDS: usize = 5;
/// Rounds with `--quick`: enough for a median.
const QUICK_ROUNDS: usize = 3;
/// The most rounds we accept: each takes about fifteen seconds.
const MAX_ROUNDS: usize = 100;
/// The backlog of every Rust server measured here, the floor's included: room in the
/// accept queue for 1000 clients connecting one after the other.
const BACKLOG: i32 = 1024;
/// Where the floor server listens when run on its own.
const FLOOR_ADDRESS: &str = "127.0.0.1:1234";
/// How long 07's clients wait for each reply in the measured runs. 07's own default
/// (10 s) would make each run against the Python server's full `listen(5)` queue last
/// ten seconds, in every round.
const REPLY_TIMEOUT_MS: u64 = 3000;
/// The most bytes one read takes, as the article's `recv(1024)`.
const READ_SIZE: usize = 1024;
/// How long we wait for a server's `listening on` line, or a reply.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long the floor's accept loop pauses after a failed accept.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// Starts per server; the table shows the median.
const STARTS: usize = 5;
/// Open files this program, 07 and a server need beyond one per client: standard
/// streams, pipes, listening sockets, with room to spare.
const SPARE_FILES: u64 = 100;
/// `--scale`: sessions held at once by one server process.
const SCALE_SIZES: [usize; 3] = [1_000, 10_000, 19_000];
/// `--scale`: sessions held at once by 10_async_server's workers.
const BIG_SESSIONS: usize = 100_000;
/// `--scale`: 10_async_server's worker processes for [`BIG_SESSIONS`]: each holds at
/// most its open-file limit (20,000 on the machine this was written on), and the
/// kernel's spreading is not perfectly even.
const BIG_WORKERS: usize = 8;
/// `--scale`: how long 10_async_server lets a session sit idle (its own default, a
/// minute, is shorter than opening 100,000 connections may take).
const HOLD_TIMEOUT_MS: u64 = 600_000;
/// `--scale`: 11_many_clients' limits: opening all connections, and each wait.
const OPEN_TIMEOUT_MS: u64 = 90_000;
const CLIENT_TIMEOUT_MS: u64 = 20_000;
/// `--scale`: the longest one held run may take before it is stopped.
const HOLD_LIMIT: Duration = Duration::from_secs(180);
/// `--scale`: the most sessions the Python rendition is asked to hold. At 10,000 its
/// threads took 40 s and 76 processor-seconds for the dialogues; at 19,000, in one run,
/// 720 s and 1194, with the load average past 6,000 for the whole machine.
const PYTHON_MOST: usize = 10_000;
/// `--scale --quick`: the pause of the held runs, for tests.
const QUICK_PAUSE_MS: u64 = 100;
/// `--scale`: the backlog of every server (Linux caps it at `net.core.somaxconn`).
const SCALE_BACKLOG: i32 = 4096;
/// `--scale`: how often the server's memory, threads and processor time are read.
const SAMPLE_EVERY: Duration = Duration::from_millis(50);
/// Clock ticks per second in /proc/PID/stat: `USER_HZ`, 100 on Linux.
const TICKS_PER_S: f64 = 100.0;

fn usage() -> String {
    let sizes: Vec<String> = SCALE_SIZES.iter().map(|n| n.to_string()).collect();
    let sizes = sizes.join(", ");
    indoc::formatdoc! {"
        usage: 08_benchmark [OPTIONS]
               08_benchmark --scale [--quick] [--rounds N] [--markdown FILE]
               08_benchmark --floor-server [ADDRESS] [--backlog N]

        Runs 03_server, 06_hardened_server, the Python rendition of the article's server
        and a minimal floor server, drives them with 07_load at 1 to 1000 clients in
        rounds where they take turns, and prints tables: round trips per second and
        latency, ratios between the servers (median of the rounds, with min–max), a burst
        of 1000 connections, memory per idle connection, startup time.

        arguments:
          ADDRESS          where the floor server listens, with --floor-server only
                           (default {FLOOR_ADDRESS}; 127.0.0.1:0 picks a free port)

        options:
          --rounds N       rounds of measurement, every server once per round at each
                           number of clients (default {ROUNDS}; {QUICK_ROUNDS} with --quick; at most {MAX_ROUNDS})
          --quick          fewer clients and round trips, no Python, no burst (for tests)
          --markdown FILE  also write the tables as Markdown to FILE
          --allow-debug    run even in a debug build (the numbers mean little)
          --scale          instead, the scale run: 03, 09, 10 and Python hold {sizes}
                           sessions at once (11_many_clients), 10 with {BIG_WORKERS} workers
                           {BIG_SESSIONS}; 09 and 10 against the floor at 10 and 100 clients.
                           Needs `cargo build --release --features scale --examples`
          --floor-server   run only the floor server, on ADDRESS
          --backlog N      the floor server's backlog (default {BACKLOG}, as the benchmark
                           gives 03_server and 06_hardened_server)
          -h, --help       show this text

        examples:
          cargo build --release --examples
          cargo run --release --example 08_benchmark
          cargo run --release --example 08_benchmark -- --rounds 9 --markdown benchmark.md
          cargo run --release --example 08_benchmark -- --floor-server 127.0.0.1:0
          cargo build --release --features scale --examples
          cargo run --release --features scale --example 08_benchmark -- --scale
    "}
}

// ANCHOR: main
fn main() {
    let mut args = Args::from_env(&usage());
    if args.flag("--floor-server") {
        let backlog = args.value("--backlog", BACKLOG);
        if backlog < 0 {
            args.refuse(format!(
                "--backlog N: {backlog} is negative; give 0 or more"
            ));
        }
        let addr = args.address(FLOOR_ADDRESS);
        args.finish();
        floor_server(addr, backlog);
    }
    let quick = args.flag("--quick");
    let scale = args.flag("--scale");
    let allow_debug = args.flag("--allow-debug");
    let rounds = args.value("--rounds", if quick { QUICK_ROUNDS } else { ROUNDS });
    if !(1..=MAX_ROUNDS).contains(&rounds) {
        args.refuse(format!("--rounds N: give 1 to {MAX_ROUNDS}, not {rounds}"));
    }
    // An empty name means no Markdown file.
    let markdown = args.value("--markdown", String::new());
    args.finish();
    if cfg!(debug_assertions) && !allow_debug {
        fail(
            "this is a debug build: its numbers measure unoptimised code. Run \
             `cargo build --release --examples`, then `cargo run --release --example 08_benchmark`",
        );
    }
    let tables = if scale {
        let plan = Plan::scale(quick, rounds);
        raise_open_files(&plan);
        run_scale(&plan)
    } else {
        let plan = Plan::new(quick, rounds);
        raise_open_files(&plan);
        run_benchmark(&plan)
    };
    for table in &tables {
        heading(&table.title);
        print!("{}", table.to_text());
    }
    if !markdown.is_empty() {
        let text: String = tables.iter().map(Table::to_markdown).collect();
        if let Err(err) = std::fs::write(&markdown, text) {
            fail(format!("cannot write {markdown}: {err}"));
        }
        note!("tables written to {markdown} as Markdown");
    }
}
// ANCHOR_END: main

// ANCHOR: floor
/// The floor: the article's protocol in a blocking thread-per-connection server with
/// nothing else: no log, no pause, no limits. No server of this design can do the same
/// work for less.
fn floor_server(addr: SocketAddr, backlog: i32) -> ! {
    let listener = listen(addr, backlog).unwrap_or_else(|err| fail(explain(&err, addr)));
    let local = listener.local_addr().unwrap_or(addr);
    server!("listening on {local} (floor server, backlog {backlog})");
    // Accepts that failed in a row: said once, counted, and reported when one works.
    let mut failed: u64 = 0;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                if failed > 0 {
                    server!("accept works again, after failing {failed} times in a row");
                    failed = 0;
                }
                // As 06 does. In this dialogue Nagle's algorithm has nothing to hold
                // back (each reply is one write, made once the client's message has
                // come, and that message acknowledged the previous reply), but the
                // floor must lack nothing the servers it bounds have.
                let _ = stream.set_nodelay(true);
                // If no thread can be started, this client is dropped and the next served.
                let _ = thread::Builder::new().spawn(move || floor_session(stream));
            }
            Err(err) => {
                // Out of file descriptors (EMFILE), the connection stays in the queue
                // and the next accept fails at once: without a pause this loop would
                // spin at full speed, and print a line at every turn.
                failed += 1;
                if failed == 1 {
                    server!(
                        "accept failed: {err}; trying again every {} ms, counting the failures",
                        ACCEPT_PAUSE.as_millis()
                    );
                }
                thread::sleep(ACCEPT_PAUSE);
            }
        }
    }
}

/// A listening socket as 03_server and 06_hardened_server make theirs: the backlog
/// decides how many finished handshakes wait for `accept`, and a smaller queue than
/// theirs would make the floor lose connections they keep.
fn listen(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // As 03: bind again at once after a restart (off on Windows, where the option
    // would let another socket take the port). It changes nothing once listening.
    #[cfg(not(windows))]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    // std's `TcpListener::bind` would ask for 128 here (on Linux), whatever the
    // servers it bounds use.
    socket.listen(backlog)?;
    Ok(socket.into())
}

/// `Welcome!`, then `Hello, NAME!` for each read, until `exit` or the client closes.
fn floor_session(mut stream: TcpStream) -> io::Result<()> {
    stream.write_all(b"Welcome!")?;
    let mut buffer = [0; READ_SIZE];
    loop {
        let n = stream.read(&mut buffer)?;
        let text = &buffer[..n];
        if n == 0 || text == b"exit" {
            return Ok(());
        }
        let mut reply = Vec::with_capacity(n + 8);
        reply.extend_from_slice(b"Hello, ");
        reply.extend_from_slice(text);
        reply.push(b'!');
        stream.write_all(&reply)?;
    }
}
// ANCHOR_END: floor

/// What to measure: clients and round trips for each load run, how many rounds, how
/// many idle connections.
struct Plan {
    /// (clients, round trips per client): chosen so that each run of a Rust server lasts
    /// roughly a third of a second to half a second on a small machine.
    loads: Vec<(usize, usize)>,
    rounds: usize,
    idle_connections: usize,
    python: bool,
    burst: bool,
    quick: bool,
}

impl Plan {
    fn new(quick: bool, rounds: usize) -> Plan {
        if quick {
            Plan {
                loads: vec![(1, 50), (10, 10)],
                rounds,
                idle_connections: 20,
                python: false,
                burst: false,
                quick,
            }
        } else {
            Plan {
                loads: vec![(1, 6_000), (10, 3_000), (100, 300), (1000, 30)],
                rounds,
                idle_connections: 1000,
                python: python_present(),
                burst: true,
                quick,
            }
        }
    }

    /// The `--scale` run's round trips: 10 and 100 clients, pause 0.
    fn scale(quick: bool, rounds: usize) -> Plan {
        Plan {
            loads: if quick {
                vec![(10, 10)]
            } else {
                vec![(10, 3_000), (100, 300)]
            },
            rounds,
            // The sessions held at once: one process's share is the most.
            idle_connections: if quick { 0 } else { SCALE_SIZES[2] },
            python: !quick && python_present(),
            burst: false,
            quick,
        }
    }

    /// The most connections open at once: the biggest load, the burst, the idle ones.
    fn most_clients(&self) -> u64 {
        let loads = self.loads.iter().map(|&(clients, _)| clients);
        let burst = if self.burst { 1000 } else { 0 };
        let most = loads
            .max()
            .unwrap_or(0)
            .max(burst)
            .max(self.idle_connections);
        most as u64
    }
}

// ANCHOR: open_files
/// Every connection is a file descriptor at each end: 1000 clients need 1000 in 07 and
/// 1000 in the server (in this program for the idle connections). macOS starts programs
/// with a soft limit of 256; many Linux systems with 1024. A program may raise its soft
/// limit up to the hard one, and the programs it starts inherit it.
fn raise_open_files(plan: &Plan) {
    let needed = plan.most_clients() + SPARE_FILES;
    match sys::raise_fd_limit() {
        Ok((before, now)) => {
            if now > before {
                note!(
                    "open files: raised the limit (ulimit -n) from {before} to {now}, the \
                     most allowed, for this benchmark and the servers it starts"
                );
            } else {
                note!("open files: the limit (ulimit -n) is {now}, already the most allowed");
            }
            if now < needed {
                note!(
                    "open files: {} clients need about {needed}; expect `Too many open \
                     files` (an administrator can raise the hard limit: ulimit -Hn)",
                    plan.most_clients()
                );
            }
        }
        // Windows has no such limit to raise (a socket is a handle there).
        Err(err) if err.kind() == io::ErrorKind::Unsupported => {}
        Err(err) => note!("open files: cannot raise the limit ({err}); it stays as it is"),
    }
}
// ANCHOR_END: open_files

fn python_present() -> bool {
    Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// One server under test: how to start it and how to speak to it.
struct Server {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    /// Speaks lines (lesson 06) rather than the article's un-framed messages.
    lines: bool,
    /// Takes a port number (the Python rendition) rather than an address.
    takes_port: bool,
}

impl Server {
    fn all(python: bool) -> Vec<Server> {
        let backlog = BACKLOG.to_string();
        let mut servers = vec![
            Server {
                name: "03_server",
                program: sibling("03_server"),
                args: words(&["--pause-ms", "0", "--backlog", &backlog]),
                lines: false,
                takes_port: false,
            },
            Server {
                name: "03_server/quiet",
                program: sibling("03_server"),
                args: words(&["--pause-ms", "0", "--backlog", &backlog, "--quiet"]),
                lines: false,
                takes_port: false,
            },
            Server {
                name: "06_hardened_server",
                program: sibling("06_hardened_server"),
                args: words(&["--max-sessions", "2000", "--backlog", &backlog]),
                lines: true,
                takes_port: false,
            },
        ];
        if python {
            servers.push(Server {
                name: "article_server.py",
                program: PathBuf::from("python3"),
                args: vec![
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("lessons/python/article_server.py")
                        .display()
                        .to_string(),
                ],
                lines: false,
                takes_port: true,
            });
        }
        servers.push(Server::floor());
        servers
    }

    /// This program's floor server (see [`floor_server`]).
    fn floor() -> Server {
        Server {
            name: "floor",
            program: std::env::current_exe().unwrap_or_else(|err| fail(err)),
            args: words(&["--floor-server", "--backlog", &BACKLOG.to_string()]),
            lines: false,
            takes_port: false,
        }
    }

    /// 03_server with the article's one-second pause and the given backlog.
    fn paused(backlog: i32) -> Server {
        Server {
            name: "03_server",
            program: sibling("03_server"),
            args: words(&["--backlog", &backlog.to_string()]),
            lines: false,
            takes_port: false,
        }
    }

    /// Starts the server on a free port of 127.0.0.1 and waits for `listening on`.
    fn start(&self) -> Started {
        let mut command = server_command(&self.program, &self.args, self.takes_port.then_some("0"));
        command.stderr(Stdio::null());
        let began = Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|err| fail(format!("cannot start {}: {err}", self.name)));
        let printed = Arc::new(AtomicUsize::new(0));
        let stdout = child.stdout.take().expect("stdout is piped");
        let lines = drain(stdout, Arc::clone(&printed));
        let addr = listening_addr(&lines).unwrap_or_else(|| {
            let _ = child.kill();
            let _ = child.wait();
            fail(format!("{} printed no `listening on` line", self.name))
        });
        Started {
            child,
            addr,
            startup: began.elapsed(),
            printed,
        }
    }

    /// The flags 07 needs to speak to this server.
    fn load_flags(&self) -> Vec<String> {
        let mut flags = words(&["--timeout-ms", &REPLY_TIMEOUT_MS.to_string()]);
        if self.lines {
            flags.push("--lines".into());
        }
        flags
    }
}

/// The command that starts a server on a free port of 127.0.0.1, its output piped: the
/// lessons get the address `127.0.0.1:0`; the Python rendition takes a port and a pause
/// (`python_pause`) instead.
fn server_command(program: &Path, args: &[String], python_pause: Option<&str>) -> Command {
    let mut command = Command::new(program);
    command.args(args);
    if let Some(pause) = python_pause {
        // Find a free port by letting the kernel pick it, then give it back. (Another
        // program could take it in between; on a quiet machine none does.)
        command.arg(free_port().to_string()).arg(pause);
    } else {
        command.arg("127.0.0.1:0");
    }
    command
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    command
}

/// `1 client`, `10 clients`.
fn clients_word(n: usize) -> String {
    format!("{n} client{}", if n == 1 { "" } else { "s" })
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| w.to_string()).collect()
}

/// A program built beside this one (`target/release/examples/NAME`, with `.exe` on
/// Windows).
fn sibling(name: &str) -> PathBuf {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let path = std::env::current_exe()
        .unwrap_or_else(|err| fail(err))
        .with_file_name(file);
    if !path.exists() {
        fail(format!(
            "{} is missing: run `cargo build --release --features scale --examples` first",
            path.display()
        ));
    }
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|err| fail(format!("cannot find a free port: {err}")))
}

/// Reads a child's stdout line by line in a thread, for as long as it runs (a server
/// whose stdout pipe is full blocks on its next log line), and counts the lines.
fn drain(stdout: impl Read + Send + 'static, printed: Arc<AtomicUsize>) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            printed.fetch_add(1, SeqCst);
            // Once the address is known nobody listens: keep reading, drop the lines.
            let _ = tx.send(line);
        }
    });
    rx
}

/// Waits for a line `... listening on IP:PORT ...` and returns the address.
fn listening_addr(lines: &Receiver<String>) -> Option<SocketAddr> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let line = lines.recv_timeout(left).ok()?;
        if let Some(after) = line.split("listening on ").nth(1) {
            let word = after.split_whitespace().next()?;
            return word.trim_end_matches([',', '.', ')']).parse().ok();
        }
    }
}

/// A server process; killed when dropped.
struct Started {
    child: Child,
    addr: SocketAddr,
    startup: Duration,
    /// Lines the server has printed so far.
    printed: Arc<AtomicUsize>,
}

impl Started {
    /// Waits until the server has printed nothing for a moment (two seconds at most):
    /// a log still being written, and read here, would take the processor from the
    /// next server's run.
    fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut seen = self.printed.load(SeqCst);
        while Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
            let now = self.printed.load(SeqCst);
            if now == seen {
                return;
            }
            seen = now;
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One row of lesson 07's table, parsed.
struct Load {
    round_trips: u64,
    rate: f64,
    p50: Option<f64>,
    p99: Option<f64>,
    errors: u64,
    connected: u64,
    timed_out: u64,
    other: u64,
    wall: String,
    /// 07's words for the first failure of a client, if any failed.
    first_error: Option<String>,
}

// ANCHOR: drive
/// Runs 07_load against `addr` and reads its table.
fn drive(addr: SocketAddr, clients: usize, rounds: usize, extra: &[String]) -> Load {
    let output = Command::new(sibling("07_load"))
        .arg(addr.to_string())
        .args(["--clients", &clients.to_string()])
        .args(["--rounds", &rounds.to_string()])
        .args(extra)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| fail(format!("cannot run 07_load: {err}")));
    // 07 exits with status 1 when a client did not finish, after printing its table:
    // those failures are what the table counts.
    let table = String::from_utf8_lossy(&output.stdout);
    let value = |label: &str| {
        row(&table, label).unwrap_or_else(|| {
            let stderr = String::from_utf8_lossy(&output.stderr);
            fail(format!("07_load printed no {label:?} row: {stderr}"))
        })
    };
    let count = |label: &str| value(label).parse::<u64>().unwrap_or(0);
    Load {
        round_trips: count("round trips"),
        rate: value("round trips/s").parse().unwrap_or(0.0),
        p50: value("latency p50").parse().ok(),
        p99: value("latency p99").parse().ok(),
        errors: count("refused") + count("timed out") + count("busy") + count("other errors"),
        connected: count("connections ok"),
        timed_out: count("timed out"),
        other: count("other errors"),
        wall: value("wall time"),
        first_error: table.lines().find_map(|line| {
            let rest = line.strip_prefix("first error")?;
            Some(rest.trim().to_string())
        }),
    }
}

/// The value in 07's row `label` (`round trips` is not `round trips/s`).
fn row(table: &str, label: &str) -> Option<String> {
    table.lines().find_map(|line| {
        let rest = line.strip_prefix(label)?;
        rest.starts_with("  ")
            .then(|| rest.split_whitespace().next().unwrap_or("").to_string())
    })
}
// ANCHOR_END: drive

/// Every run of the load generator: `runs[server][load][round]`.
type Runs = Vec<Vec<Vec<Load>>>;

/// Runs everything in the plan and returns the tables.
fn run_benchmark(plan: &Plan) -> Vec<Table> {
    let servers = Server::all(plan.python);
    if plan.quick {
        note!("--quick: few clients and round trips, no Python, no burst");
    } else if !plan.python {
        note!("python3 not found: the Python rendition is left out");
    }
    let mut errors = Table::new(
        "First error of each run with errors",
        &["server", "clients", "round", "first error (07_load)"],
    );
    let runs = take_turns(&servers, plan, &mut errors);
    let loads = round_trips(&servers, &runs, plan);
    let ratios = ratios(&servers, &runs, plan);
    let burst = plan.burst.then(|| burst(&mut errors));
    let memory = memory(&servers, plan.idle_connections);
    let startup = startup(&servers);
    let targets = targets(&servers, &runs, plan, burst.as_ref());
    let mut tables = vec![loads, ratios];
    tables.extend(burst);
    tables.extend([memory, startup, targets]);
    if !errors.rows.is_empty() {
        tables.push(errors);
    }
    tables
}

// ANCHOR: take_turns
/// The measurement itself: in every round, at each number of clients, every server
/// runs once, one after the other. Something that slows the machine for a while then
/// slows a run of each server, not all the runs of one. The order turns by one place
/// each round (A B C, B C A, C A B, ...), so that no server always runs first, or always
/// right after the same other one (whose leftover work could slow it).
fn take_turns(servers: &[Server], plan: &Plan, errors: &mut Table) -> Runs {
    let started: Vec<Started> = servers.iter().map(Server::start).collect();
    let mut runs: Runs = servers
        .iter()
        .map(|_| plan.loads.iter().map(|_| Vec::new()).collect())
        .collect();
    for round in 1..=plan.rounds {
        for (l, &(clients, trips)) in plan.loads.iter().enumerate() {
            let mut rates = Vec::new();
            for turn in 0..servers.len() {
                let s = (turn + round - 1) % servers.len();
                let server = &servers[s];
                let load = drive(started[s].addr, clients, trips, &server.load_flags());
                started[s].settle();
                rates.push(format!("{} {:.0}/s", server.name, load.rate));
                if let Some(error) = &load.first_error {
                    let (name, clients) = (server.name.into(), clients.to_string());
                    errors.push(vec![name, clients, round.to_string(), error.clone()]);
                }
                runs[s][l].push(load);
            }
            let rounds = plan.rounds;
            note!(
                "round {round} of {rounds}, {}: {}",
                clients_word(clients),
                rates.join(", ")
            );
        }
    }
    runs
}
// ANCHOR_END: take_turns

/// The median of some numbers, with the smallest and the largest.
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    /// `None` when there is nothing to summarise.
    fn of(mut values: Vec<f64>) -> Option<Spread> {
        values.retain(|v| v.is_finite());
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => values[n / 2],
            _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        };
        Some(Spread {
            median,
            min: values[0],
            max: values[n - 1],
        })
    }

    /// The median and the range, with `decimals` digits after the point.
    fn cells(spread: Option<&Spread>, decimals: usize) -> [String; 2] {
        match spread {
            Some(s) => [
                format!("{:.*}", decimals, s.median),
                format!("{:.*}–{:.*}", decimals, s.min, decimals, s.max),
            ],
            None => ["-".into(), "-".into()],
        }
    }
}

/// For each round, server `a`'s rate divided by server `b`'s at load `l`: two runs
/// made seconds apart, on the machine as it was then.
fn ratios_by_round(runs: &Runs, a: usize, b: usize, l: usize) -> Vec<f64> {
    let pairs = runs[a][l].iter().zip(&runs[b][l]);
    pairs
        .filter(|(_, y)| y.rate > 0.0)
        .map(|(x, y)| x.rate / y.rate)
        .collect()
}

/// One row per server and number of clients: the median of the rounds.
fn round_trips(servers: &[Server], runs: &Runs, plan: &Plan) -> Table {
    let mut table = Table::new(
        &format!("Round trips (median of {} rounds)", plan.rounds),
        &[
            "server",
            "clients",
            "each",
            "per s",
            "min–max",
            "p50 ms",
            "p99 ms",
            "errors",
        ],
    );
    for (s, server) in servers.iter().enumerate() {
        for (l, &(clients, trips)) in plan.loads.iter().enumerate() {
            let these = &runs[s][l];
            let rates = Spread::of(these.iter().map(|run| run.rate).collect());
            let [rate, range] = Spread::cells(rates.as_ref(), 0);
            let median = |pick: fn(&Load) -> Option<f64>| {
                let spread = Spread::of(these.iter().filter_map(pick).collect());
                Spread::cells(spread.as_ref(), 2)[0].clone()
            };
            let errors: u64 = these.iter().map(|run| run.errors).sum();
            table.push(vec![
                server.name.into(),
                clients.to_string(),
                trips.to_string(),
                rate,
                range,
                median(|run| run.p50),
                median(|run| run.p99),
                errors.to_string(),
            ]);
        }
    }
    table
}

/// Each server's rate divided by the floor's, 03_server's and Python's, for each number
/// of clients: the median of the per-round ratios, and their range.
fn ratios(servers: &[Server], runs: &Runs, plan: &Plan) -> Table {
    let mut table = Table::new(
        &format!(
            "Ratios of round trips/s (median of {} per-round ratios)",
            plan.rounds
        ),
        &[
            "server",
            "clients",
            "÷ floor",
            "min–max",
            "÷ 03_server",
            "min–max",
            "÷ Python",
            "min–max",
        ],
    );
    let of = |name: &str| servers.iter().position(|s| s.name == name);
    for (s, server) in servers.iter().enumerate() {
        for (l, &(clients, _)) in plan.loads.iter().enumerate() {
            let mut cells = vec![server.name.to_string(), clients.to_string()];
            for other in [of("floor"), of("03_server"), of("article_server.py")] {
                let spread = other.and_then(|o| Spread::of(ratios_by_round(runs, s, o, l)));
                cells.extend(Spread::cells(spread.as_ref(), 2));
            }
            table.push(cells);
        }
    }
    table
}

// ANCHOR: burst
/// 1000 clients connect at the same instant to 03_server with the article's one-second
/// pause, at backlog 5 and at backlog 1024.
fn burst(errors: &mut Table) -> Table {
    let mut table = Table::new(
        "Burst of 1000 connections to 03_server (pause 1000 ms)",
        &[
            "backlog",
            "connected",
            "served",
            "timed out",
            "other errors",
            "wall s",
        ],
    );
    for backlog in [5, BACKLOG] {
        note!("burst of 1000 at backlog {backlog}");
        let started = Server::paused(backlog).start();
        let extra = words(&["--burst", "--connect-timeout-ms", "3000"]);
        let load = drive(started.addr, 1000, 1, &extra);
        if let Some(error) = &load.first_error {
            let name = format!("03_server burst, backlog {backlog}");
            errors.push(vec![name, "1000".into(), "-".into(), error.clone()]);
        }
        table.push(vec![
            backlog.to_string(),
            load.connected.to_string(),
            load.round_trips.to_string(),
            load.timed_out.to_string(),
            load.other.to_string(),
            load.wall,
        ]);
    }
    table
}
// ANCHOR_END: burst

// ANCHOR: memory
/// Opens `count` connections to each server, reads each welcome, and compares the
/// server's resident memory (VmRSS) before and after.
fn memory(servers: &[Server], count: usize) -> Table {
    let mut table = Table::new(
        &format!("Memory for {count} idle connections (VmRSS)"),
        &["server", "before KiB", "after KiB", "per connection KiB"],
    );
    for server in servers {
        note!("{}: {count} idle connections", server.name);
        let started = server.start();
        let pid = started.child.id();
        let before = rss_kib(pid);
        let mut held = Vec::with_capacity(count);
        for _ in 0..count {
            match welcomed(started.addr) {
                Ok(stream) => held.push(stream),
                Err(err) => {
                    note!(
                        "{}: connection {} failed: {err}",
                        server.name,
                        held.len() + 1
                    );
                    break;
                }
            }
        }
        let after = rss_kib(pid);
        let per = match (before, after) {
            (Some(b), Some(a)) if !held.is_empty() => {
                format!("{:.1}", (a as f64 - b as f64) / held.len() as f64)
            }
            _ => "-".into(),
        };
        let kib = |v: Option<u64>| v.map_or("-".into(), |v| v.to_string());
        table.push(vec![server.name.into(), kib(before), kib(after), per]);
    }
    table
}

/// A connection whose welcome has been read: the server's session is now waiting in
/// its first read, its thread started and its stack touched.
fn welcomed(addr: SocketAddr) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, PATIENCE)?;
    stream.set_read_timeout(Some(PATIENCE))?;
    let mut buffer = [0; READ_SIZE];
    match stream.read(&mut buffer)? {
        0 => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "closed before the welcome",
        )),
        _ => Ok(stream),
    }
}

/// The resident set of process `pid` in KiB: pages of memory it has touched and that
/// are in RAM now. Linux only; `None` elsewhere.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
// ANCHOR_END: memory

/// Starts each server five times and keeps the median time to `listening on`.
fn startup(servers: &[Server]) -> Table {
    let mut table = Table::new(
        &format!("Startup to `listening on` (median of {STARTS})"),
        &["server", "median ms", "min ms", "max ms"],
    );
    for server in servers {
        let mut times: Vec<Duration> = (0..STARTS).map(|_| server.start().startup).collect();
        times.sort();
        let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
        table.push(vec![
            server.name.into(),
            ms(times[STARTS / 2]),
            ms(times[0]),
            ms(times[STARTS - 1]),
        ]);
    }
    table
}

/// The targets of the issues, and whether this run meets them: a ratio target is met
/// when the median of the per-round ratios reaches it.
fn targets(servers: &[Server], runs: &Runs, plan: &Plan, burst: Option<&Table>) -> Table {
    let mut table = Table::new(
        "Targets (a ratio: the median of the per-round ratios)",
        &["target", "measured", "min–max", "met"],
    );
    let of = |name: &str| servers.iter().position(|s| s.name == name);
    let mut check = |a: &str, b: &str, clients: usize, at_least: f64, target: String| {
        let l = plan.loads.iter().position(|&(c, _)| c == clients);
        let spread = match (of(a), of(b), l) {
            (Some(a), Some(b), Some(l)) => Spread::of(ratios_by_round(runs, a, b, l)),
            _ => None,
        };
        let met = match &spread {
            Some(s) if s.median >= at_least => "yes",
            Some(_) => "no",
            None => "not measured",
        };
        let [median, range] = Spread::cells(spread.as_ref(), 2);
        table.push(vec![target, median, range, met.into()]);
    };
    for clients in [10, 100] {
        let target = format!("03_server ÷ Python ≥ 3 at {}", clients_word(clients));
        check("03_server", "article_server.py", clients, 3.0, target);
    }
    for &(clients, _) in &plan.loads {
        let target = format!(
            "03_server (log on) ÷ floor ≥ 0.8 at {}",
            clients_word(clients)
        );
        check("03_server", "floor", clients, 0.8, target);
    }
    for &(clients, _) in &plan.loads {
        let target = format!("06 ÷ 03_server ≥ 0.8 at {}", clients_word(clients));
        check("06_hardened_server", "03_server", clients, 0.8, target);
    }
    let burst_row = burst.and_then(|t| t.rows.iter().find(|row| row[0] == BACKLOG.to_string()));
    let (measured, met) = match burst_row {
        Some(row) => {
            let wall: f64 = row[5].parse().unwrap_or(f64::MAX);
            let ok = row[2] == "1000" && row[3] == "0" && row[4] == "0" && wall < 2.0;
            (
                format!("{} served, {} s", row[2], row[5]),
                if ok { "yes" } else { "no" },
            )
        }
        None => ("-".into(), "not measured"),
    };
    table.push(vec![
        format!("burst of 1000 at backlog {BACKLOG}: all served, no errors, < 2 s"),
        measured,
        "-".into(),
        met.into(),
    ]);
    table
}

// ANCHOR: scale
/// The `--scale` run: 09 and 10 beside the floor at 10 and 100 clients, then every
/// design holding thousands of sessions at once.
fn run_scale(plan: &Plan) -> Vec<Table> {
    let backlog = BACKLOG.to_string();
    let flags = |extra: &[&str]| {
        let mut all = words(&["--pause-ms", "0", "--backlog", &backlog]);
        all.extend(words(extra));
        all
    };
    let lesson = |name: &'static str, program: &str, args: Vec<String>| Server {
        name,
        program: sibling(program),
        args,
        lines: false,
        takes_port: false,
    };
    let mut servers = vec![
        lesson("03_server", "03_server", flags(&[])),
        lesson("09_event_loop", "09_event_loop", flags(&[])),
        lesson("09_event_loop/quiet", "09_event_loop", flags(&["--quiet"])),
        lesson("10_async_server", "10_async_server", flags(&[])),
        lesson(
            "10_async_server/quiet",
            "10_async_server",
            flags(&["--quiet"]),
        ),
    ];
    servers.push(Server::floor());
    let mut errors = Table::new(
        "First error of each run with errors",
        &["server", "clients", "round", "first error (07_load)"],
    );
    let runs = take_turns(&servers, plan, &mut errors);
    let ratios = ratios(&servers, &runs, plan);
    let (held, said) = held_sessions(plan);
    let targets = scale_targets(&servers, &runs, plan, &held);
    let mut tables = vec![ratios, held, said, targets];
    if !errors.rows.is_empty() {
        tables.push(errors);
    }
    tables
}

/// One design held at a scale: the server, its flags, and how many sessions.
struct Held {
    design: &'static str,
    program: PathBuf,
    args: Vec<String>,
    sessions: usize,
}

/// Every design at every size: start the server with the article's pause, have
/// 11_many_clients open the sessions and hold them, run every dialogue at once, and
/// watch the server's memory, threads and processor time meanwhile.
fn held_sessions(plan: &Plan) -> (Table, Table) {
    let mut table = Table::new(
        &format!(
            "Sessions held at once, then every dialogue at once (pause {} ms)",
            held_pause_ms(plan)
        ),
        &[
            "design",
            "sessions",
            "held",
            "served",
            "errors",
            "opening s",
            "wall s",
            "connect p50 ms",
            "connect p99 ms",
            "peak RSS MiB",
            "RSS/session KiB",
            "threads",
            "CPU s",
            "limit hit",
        ],
    );
    let mut said = Table::new(
        "What the servers printed: the first line of each kind of error",
        &["design", "sessions", "error", "times", "first line"],
    );
    for held in scale_plan(plan) {
        note!("{}: {} sessions at once", held.design, held.sessions);
        let mut lines = Vec::new();
        table.push(hold(&held, &mut lines));
        for line in lines {
            let mut row = vec![held.design.to_string(), held.sessions.to_string()];
            row.extend(line);
            said.push(row);
        }
        // Let the closed connections' last packets and the exited threads go.
        if !plan.quick {
            thread::sleep(Duration::from_secs(1));
        }
    }
    let skipped = SCALE_SIZES
        .iter()
        .filter(|&&n| plan.python && !plan.quick && n > PYTHON_MOST);
    for sessions in skipped {
        let mut row = vec!["article_server.py".to_string(), sessions.to_string()];
        row.extend((2..table.header.len() - 1).map(|_| "-".to_string()));
        row.push(format!(
            "not run: more than {PYTHON_MOST} threads swamp the machine"
        ));
        table.push(row);
    }
    (table, said)
}

/// The designs and sizes of the scale run.
fn scale_plan(plan: &Plan) -> Vec<Held> {
    let backlog = SCALE_BACKLOG.to_string();
    let pause = held_pause_ms(plan).to_string();
    let quiet = words(&["--quiet", "--backlog", &backlog, "--pause-ms", &pause]);
    // 10 closes a session idle for a minute: opening 100,000 may take longer than that.
    let mut tokio = quiet.clone();
    tokio.extend(words(&["--timeout-ms", &HOLD_TIMEOUT_MS.to_string()]));
    let sizes: Vec<usize> = if plan.quick {
        vec![50]
    } else {
        SCALE_SIZES.to_vec()
    };
    let mut list = Vec::new();
    for &sessions in &sizes {
        let mut designs = vec![
            ("03_server (threads)", sibling("03_server"), quiet.clone()),
            (
                "09_event_loop (mio)",
                sibling("09_event_loop"),
                quiet.clone(),
            ),
            (
                "10_async_server (tokio)",
                sibling("10_async_server"),
                tokio.clone(),
            ),
        ];
        if plan.python && sessions <= PYTHON_MOST {
            let script =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons/python/article_server.py");
            designs.push((
                "article_server.py",
                PathBuf::from("python3"),
                vec![script.display().to_string()],
            ));
        }
        for (design, program, args) in designs {
            list.push(Held {
                design,
                program,
                args,
                sessions,
            });
        }
    }
    let (big, workers) = if plan.quick {
        (100, 2)
    } else {
        (BIG_SESSIONS, BIG_WORKERS)
    };
    let mut args = tokio;
    args.extend(words(&["--workers", &workers.to_string()]));
    list.push(Held {
        design: if plan.quick {
            "10_async_server --workers 2"
        } else {
            "10_async_server --workers 8"
        },
        program: sibling("10_async_server"),
        args,
        sessions: big,
    });
    list
}

/// The pause of the held runs: the article's second, shorter with `--quick`.
fn held_pause_ms(plan: &Plan) -> u64 {
    if plan.quick { QUICK_PAUSE_MS } else { 1000 }
}

/// Runs one design at one size and returns its row.
fn hold(held: &Held, said: &mut Vec<Vec<String>>) -> Vec<String> {
    // The Python rendition, with the article's pause of one second.
    let python = (held.program == Path::new("python3")).then_some("1");
    let mut command = server_command(&held.program, &held.args, python);
    command.stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|err| fail(format!("cannot start {}: {err}", held.design)));
    let stdout = drain(
        child.stdout.take().expect("piped"),
        Arc::new(AtomicUsize::new(0)),
    );
    let stderr = drain(
        child.stderr.take().expect("piped"),
        Arc::new(AtomicUsize::new(0)),
    );
    let Some(addr) = listening_addr(&stdout) else {
        let _ = child.kill();
        let _ = child.wait();
        fail(format!("{} printed no `listening on` line", held.design));
    };
    let watch = Watch::start(child.id());
    let (output, overran) = hold_with(addr, held.sessions);
    let seen = watch.stop();
    let died = child.try_wait().ok().flatten();
    let _ = child.kill();
    let _ = child.wait();
    let table = String::from_utf8_lossy(&output.stdout);
    let value = |label: &str| row(&table, label).unwrap_or_else(|| "-".into());
    let count = |label: &str| value(label).parse::<usize>().unwrap_or(0);
    // The server's own words: everything it printed that names an error.
    let printed: Vec<String> = stdout.try_iter().chain(stderr.try_iter()).collect();
    let mut limit = limits_seen(&printed, said);
    if let Some(status) = died {
        limit.push(format!("server died: {status}"));
    }
    limit.extend(client_errors(&table));
    if overran {
        limit.push(format!("stopped after {} s", HOLD_LIMIT.as_secs()));
    }
    if limit.is_empty() {
        limit.push("none".into());
    }
    let per_session = match seen.peak_rss_kib.checked_sub(seen.first_rss_kib) {
        Some(grown) if count("held") > 0 => format!("{:.1}", grown as f64 / count("held") as f64),
        _ => "-".into(),
    };
    vec![
        held.design.into(),
        held.sessions.to_string(),
        value("held"),
        value("served"),
        value("errors"),
        value("opening"),
        value("wall time"),
        value("connect p50"),
        value("connect p99"),
        format!("{:.1}", seen.peak_rss_kib as f64 / 1024.0),
        per_session,
        seen.peak_threads.to_string(),
        format!("{:.2}", seen.cpu_ticks as f64 / TICKS_PER_S),
        limit.join("; "),
    ]
}

/// Runs 11_many_clients against `addr` with `sessions` clients; kills it if it runs
/// longer than [`HOLD_LIMIT`] (true then). Its table is in the output either way.
fn hold_with(addr: SocketAddr, sessions: usize) -> (std::process::Output, bool) {
    let mut child = Command::new(sibling("11_many_clients"))
        .arg(addr.to_string())
        .args(["--clients", &sessions.to_string()])
        .args(["--open-timeout-ms", &OPEN_TIMEOUT_MS.to_string()])
        .args(["--timeout-ms", &CLIENT_TIMEOUT_MS.to_string()])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| fail(format!("cannot run 11_many_clients: {err}")));
    let deadline = Instant::now() + HOLD_LIMIT;
    let mut overran = false;
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            // Its parts, when it spread the clients over processes, are its
            // children: stop them too.
            for pid in family(child.id()).into_iter().skip(1) {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
            let _ = child.kill();
            overran = true;
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    let output = child
        .wait_with_output()
        .unwrap_or_else(|err| fail(format!("cannot read 11_many_clients: {err}")));
    (output, overran)
}

/// The errors a server printed, by the C library's name for them, counted: `accept
/// failed: Too many open files (os error 24)` is EMFILE. A thread that could not be
/// started says EAGAIN; a stack guard page that could not be mapped, ENOMEM (the
/// kernel's `vm.max_map_count`, or memory).
/// Each kind's first line goes into `said`: (kind, count, the line).
fn limits_seen(lines: &[String], said: &mut Vec<Vec<String>>) -> Vec<String> {
    let names = [
        (24, "EMFILE"),
        (11, "EAGAIN"),
        (12, "ENOMEM"),
        (99, "EADDRNOTAVAIL"),
        (23, "ENFILE"),
    ];
    let mut found: Vec<String> = Vec::new();
    for (code, name) in names {
        let needle = format!("(os error {code})");
        let hits: Vec<&String> = lines.iter().filter(|l| l.contains(&needle)).collect();
        if let Some(first) = hits.first() {
            found.push(format!("server {name} ×{}", hits.len()));
            said.push(vec![name.into(), hits.len().to_string(), words_of(first)]);
        }
    }
    if let Some(fatal) = lines.iter().find(|l| l.contains("fatal runtime error")) {
        found.push("server aborted".into());
        said.push(vec!["abort".into(), "1".into(), words_of(fatal)]);
    }
    found
}

/// A line the server printed, without its `[server]` tag, and cut short.
fn words_of(line: &str) -> String {
    let words = line.strip_prefix("[server] ").unwrap_or(line);
    words.chars().take(110).collect()
}

/// The error rows of 11's table (`  EADDRNOTAVAIL  12  ...`), as `client EADDRNOTAVAIL ×12`.
fn client_errors(table: &str) -> Vec<String> {
    table
        .lines()
        .filter(|line| line.starts_with("  "))
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (kind, count) = (words.next()?, words.next()?);
            Some(format!("client {kind} ×{count}"))
        })
        .collect()
}

/// What was seen of a server process and its children while it ran.
#[derive(Default, Clone, Copy)]
struct Seen {
    first_rss_kib: u64,
    peak_rss_kib: u64,
    peak_threads: u64,
    cpu_ticks: u64,
}

/// A thread that reads /proc for a process and its children every [`SAMPLE_EVERY`].
struct Watch {
    stop: Arc<AtomicUsize>,
    handle: thread::JoinHandle<Seen>,
}

impl Watch {
    fn start(pid: u32) -> Watch {
        let stop = Arc::new(AtomicUsize::new(0));
        let stopped = Arc::clone(&stop);
        let handle = thread::spawn(move || {
            let mut seen = Seen::default();
            let mut first_cpu = None;
            // Processor time by process: a process that exits keeps its last reading.
            let mut cpu: Vec<(u32, u64)> = Vec::new();
            while stopped.load(SeqCst) == 0 {
                let (mut rss, mut threads) = (0, 0);
                for p in family(pid) {
                    let status =
                        std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
                    rss += status_field(&status, "VmRSS:");
                    threads += status_field(&status, "Threads:");
                    if let Some(ticks) = cpu_ticks(p) {
                        match cpu.iter_mut().find(|(q, _)| *q == p) {
                            Some((_, t)) => *t = ticks,
                            None => cpu.push((p, ticks)),
                        }
                    }
                }
                if seen.first_rss_kib == 0 {
                    seen.first_rss_kib = rss;
                }
                let total: u64 = cpu.iter().map(|(_, t)| t).sum();
                let first = *first_cpu.get_or_insert(total);
                seen.cpu_ticks = total - first.min(total);
                seen.peak_rss_kib = seen.peak_rss_kib.max(rss);
                seen.peak_threads = seen.peak_threads.max(threads);
                thread::sleep(SAMPLE_EVERY);
            }
            seen
        });
        Watch { stop, handle }
    }

    fn stop(self) -> Seen {
        self.stop.store(1, SeqCst);
        self.handle.join().unwrap_or_default()
    }
}

/// A process and its children (10's workers), from /proc (Linux).
fn family(pid: u32) -> Vec<u32> {
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    let mut all = vec![pid];
    all.extend(
        children
            .split_whitespace()
            .filter_map(|w| w.parse::<u32>().ok()),
    );
    all
}

/// A number field of /proc/PID/status, such as `VmRSS:` (KiB) or `Threads:`.
fn status_field(status: &str, name: &str) -> u64 {
    let line = status.lines().find(|line| line.starts_with(name));
    line.and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// User and system time of a process so far, in clock ticks (/proc/PID/stat fields 14
/// and 15, counted after the command name in parentheses).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(") ")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// The targets of the scale issue, checked against this run.
fn scale_targets(servers: &[Server], runs: &Runs, plan: &Plan, held: &Table) -> Table {
    let mut table = Table::new("Scale targets", &["target", "measured", "met"]);
    let cell = |design: &str, sessions: usize, column: &str| -> Option<String> {
        let c = held.header.iter().position(|h| h == column)?;
        let row = held
            .rows
            .iter()
            .find(|r| r[0].starts_with(design) && r[1] == sessions.to_string())?;
        Some(row[c].clone())
    };
    let number = |design: &str, sessions: usize, column: &str| -> Option<f64> {
        cell(design, sessions, column)?.parse().ok()
    };
    let mut push = |target: String, measured: Option<String>, met: Option<bool>| {
        let met = match met {
            Some(true) => "yes",
            Some(false) => "no",
            None => "not measured",
        };
        table.push(vec![
            target,
            measured.unwrap_or_else(|| "-".into()),
            met.into(),
        ]);
    };
    let top = *SCALE_SIZES.last().expect("sizes");
    for design in ["09_event_loop", "10_async_server"] {
        let errors = number(design, top, "errors");
        let wall = number(design, top, "wall s");
        let per = number(design, top, "RSS/session KiB");
        let measured = format!(
            "{} errors, wall {} s, {} KiB/session",
            fmt(errors, 0),
            fmt(wall, 2),
            fmt(per, 1)
        );
        let met = match (errors, wall, per) {
            (Some(e), Some(w), Some(p)) => Some(e == 0.0 && w < 4.0 && p <= 4.0),
            _ => None,
        };
        push(
            format!("{design}: {top} sessions, 0 errors, wall < 4 s, ≤ 4 KiB/session"),
            Some(measured),
            met,
        );
    }
    let big = number("10_async_server --workers", BIG_SESSIONS, "errors");
    let big_wall = number("10_async_server --workers", BIG_SESSIONS, "wall s");
    let met = match (big, big_wall) {
        (Some(e), Some(w)) => Some(e == 0.0 && w < 15.0),
        _ => None,
    };
    push(
        format!(
            "10_async_server --workers {BIG_WORKERS}: {BIG_SESSIONS} sessions, 0 errors, wall < 15 s"
        ),
        Some(format!(
            "{} errors, wall {} s",
            fmt(big, 0),
            fmt(big_wall, 2)
        )),
        met,
    );
    let threads_cpu = number("03_server", 10_000, "CPU s");
    for design in ["09_event_loop", "10_async_server"] {
        let p99 = number(design, 10_000, "connect p99 ms");
        push(
            format!("{design}: connect p99 ≤ 100 ms at 10000"),
            Some(format!("{} ms", fmt(p99, 2))),
            p99.map(|p| p <= 100.0),
        );
        let cpu = number(design, 10_000, "CPU s");
        push(
            format!("{design}: CPU ≤ half of 03_server's at 10000"),
            Some(format!("{} s vs {} s", fmt(cpu, 2), fmt(threads_cpu, 2))),
            cpu.zip(threads_cpu).map(|(c, t)| c <= t / 2.0),
        );
    }
    let of = |name: &str| servers.iter().position(|s| s.name == name);
    for design in ["09_event_loop", "10_async_server"] {
        for clients in [10, 100] {
            let l = plan.loads.iter().position(|&(c, _)| c == clients);
            let spread = match (of(design), of("floor"), l) {
                (Some(a), Some(b), Some(l)) => Spread::of(ratios_by_round(runs, a, b, l)),
                _ => None,
            };
            let [median, range] = Spread::cells(spread.as_ref(), 2);
            push(
                format!("{design} ÷ floor ≥ 0.8 at {}", clients_word(clients)),
                spread.as_ref().map(|_| format!("{median} ({range})")),
                spread.map(|s| s.median >= 0.8),
            );
        }
    }
    table
}

/// A number with `decimals` digits, or `-`.
fn fmt(value: Option<f64>, decimals: usize) -> String {
    value.map_or("-".into(), |v| format!("{v:.decimals$}"))
}
// ANCHOR_END: scale

// ANCHOR: table
/// A table of text cells, printed aligned on the terminal or written as Markdown, from
/// the same cells: both show the same numbers.
struct Table {
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(title: &str, header: &[&str]) -> Table {
        Table {
            title: title.into(),
            header: words(header),
            rows: Vec::new(),
        }
    }

    fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// Columns separated by at least two spaces; the first left-aligned, numbers right.
    fn to_text(&self) -> String {
        let all = std::iter::once(&self.header).chain(&self.rows);
        let mut widths = vec![0; self.header.len()];
        for row in all.clone() {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut text = String::new();
        for row in all {
            let mut line = String::new();
            for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
                let pad = " ".repeat(width - cell.chars().count());
                if i == 0 {
                    line += &format!("{cell}{pad}");
                } else {
                    line += &format!("  {pad}{cell}");
                }
            }
            text += line.trim_end();
            text += "\n";
        }
        text
    }

    fn to_markdown(&self) -> String {
        // `\-` keeps a flag such as `--workers` as written: mdBook's smart punctuation
        // would turn `--` into a dash.
        let line = |cells: &[String]| {
            let cells: Vec<String> = cells.iter().map(|c| c.replace("--", "-\\-")).collect();
            format!("| {} |\n", cells.join(" | "))
        };
        let rule: Vec<&str> = (0..self.header.len())
            .map(|i| if i == 0 { ":--" } else { "--:" })
            .collect();
        let mut text = format!("#### {}\n\n", self.title);
        text += &line(&self.header);
        text += &format!("| {} |\n", rule.join(" | "));
        for row in &self.rows {
            text += &line(row);
        }
        text + "\n"
    }
}
// ANCHOR_END: table
