//! # Lesson 08: a benchmark — how fast, how many, how much memory
//!
//! Lesson 07 measures one server at a time. This lesson runs every server of the
//! project, one after the other, on this machine, and sets the numbers side by side:
//!
//! - `03_server --pause-ms 0 --backlog 1024`: the article's server without its one-second
//!   pause; the backlog is raised so that 1000 clients do not overflow the accept queue;
//! - `03_server/quiet`: the same with `--quiet`, which stops it logging every read, to
//!   show what a line of log per message costs;
//! - `06_hardened_server --max-sessions 2000`: the hardened server, its session limit
//!   raised so that 1000 clients are not turned away (it speaks lines: 07's `--lines`);
//! - `article_server.py`: the project's Python rendition of the article, pause 0, with
//!   the article's `listen(5)` (only when `python3` is installed);
//! - `floor`: a minimal server written here (`08_benchmark --floor-server ADDRESS`): the
//!   article's protocol and nothing else, no logging, no limits. It is the most a
//!   blocking thread-per-connection server can do on this machine.
//!
//! For each it measures round trips per second and latency at 1, 10, 100 and 1000
//! clients (with lesson 07 as the load generator), the memory one idle connection
//! holds, and how long the server takes to start. Then a burst of 1000 connections hits
//! 03_server with the article's pause at backlog 5 and at backlog 1024.
//!
//! Build everything in release mode first, then run it (about a minute):
//!
//! ```text
//! cargo build --release --examples
//! cargo run --release --example 08_benchmark
//! cargo run --release --example 08_benchmark -- --markdown benchmark.md
//! ```
//!
//! Numbers from a debug build measure the compiler's unoptimised code, not the design:
//! the benchmark refuses to run without `--release` (`--allow-debug` overrides that, for
//! tests).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};
use tcp_lessons::args::Args;
use tcp_lessons::say::{explain, fail, heading};
use tcp_lessons::{note, server};

const USAGE: &str = indoc::indoc! {"
    usage: 08_benchmark [--quick] [--markdown FILE] [--allow-debug]
           08_benchmark --floor-server ADDRESS

    Runs 03_server, 06_hardened_server, the Python rendition of the article's server
    and a minimal floor server one after the other, drives each with 07_load, and
    prints tables: round trips per second and latency at 1 to 1000 clients, a burst of
    1000 connections, memory per idle connection, startup time.

      --quick                fewer clients and rounds, no Python, no burst (for tests)
      --markdown FILE        also write the tables as Markdown to FILE
      --allow-debug          run even in a debug build (the numbers mean little)
      --floor-server         run only the floor server, listening on ADDRESS
      --help                 show this text

    Build the servers first: cargo build --release --examples
    Then: cargo run --release --example 08_benchmark
"};

/// The most bytes one read takes, as the article's `recv(1024)`.
const READ_SIZE: usize = 1024;
/// How long we wait for a server's `listening on` line, or a reply.
const PATIENCE: Duration = Duration::from_secs(10);
/// Starts per server; the table shows the median.
const STARTS: usize = 5;

// ANCHOR: main
fn main() {
    let mut args = Args::from_env(USAGE);
    if args.flag("--floor-server") {
        let addr = args.address("127.0.0.1:1234");
        args.finish();
        floor_server(addr);
    }
    let quick = args.flag("--quick");
    let allow_debug = args.flag("--allow-debug");
    // An empty name means no Markdown file.
    let markdown = args.value("--markdown", String::new());
    args.finish();
    if cfg!(debug_assertions) && !allow_debug {
        fail(
            "this is a debug build: its numbers measure unoptimised code. Run \
             `cargo build --release --examples`, then `cargo run --release --example 08_benchmark`",
        );
    }
    let plan = Plan::new(quick);
    let tables = run_benchmark(&plan);
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
/// nothing else: no logging, no pause, no limits. No server of this design can do the
/// same work for less.
fn floor_server(addr: SocketAddr) -> ! {
    let listener = TcpListener::bind(addr).unwrap_or_else(|err| fail(explain(&err, addr)));
    let local = listener.local_addr().unwrap_or(addr);
    server!("listening on {local} (floor server)");
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                // If no thread can be started, this client is dropped and the next served.
                let _ = thread::Builder::new().spawn(move || floor_session(stream));
            }
            Err(err) => server!("accept failed: {err}; still waiting"),
        }
    }
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

/// What to measure: clients and rounds for each load run, how many idle connections.
struct Plan {
    /// (clients, rounds per client): chosen so that each run of a Rust server lasts
    /// roughly 0.5 to 2 s on a small machine.
    loads: Vec<(usize, usize)>,
    idle_connections: usize,
    python: bool,
    burst: bool,
    quick: bool,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                loads: vec![(1, 50), (10, 10)],
                idle_connections: 20,
                python: false,
                burst: false,
                quick,
            }
        } else {
            Plan {
                loads: vec![(1, 20_000), (10, 4_000), (100, 400), (1000, 40)],
                idle_connections: 1000,
                python: python_present(),
                burst: true,
                quick,
            }
        }
    }
}

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
        let mut servers = vec![
            Server {
                name: "03_server",
                program: sibling("03_server"),
                args: words(&["--pause-ms", "0", "--backlog", "1024"]),
                lines: false,
                takes_port: false,
            },
            Server {
                name: "03_server/quiet",
                program: sibling("03_server"),
                args: words(&["--pause-ms", "0", "--backlog", "1024", "--quiet"]),
                lines: false,
                takes_port: false,
            },
            Server {
                name: "06_hardened_server",
                program: sibling("06_hardened_server"),
                args: words(&["--max-sessions", "2000"]),
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
        servers.push(Server {
            name: "floor",
            program: std::env::current_exe().unwrap_or_else(|err| fail(err)),
            args: words(&["--floor-server"]),
            lines: false,
            takes_port: false,
        });
        servers
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
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        if self.takes_port {
            // The Python server takes a port, not an address: find a free one by letting
            // the kernel pick it, then give it back. (Another program could take it in
            // between; on a quiet machine none does.)
            command.arg(free_port().to_string()).arg("0");
        } else {
            command.arg("127.0.0.1:0");
        }
        command
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let began = Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|err| fail(format!("cannot start {}: {err}", self.name)));
        let lines = drain(child.stdout.take().expect("stdout is piped"));
        let addr = listening_addr(&lines).unwrap_or_else(|| {
            let _ = child.kill();
            let _ = child.wait();
            fail(format!("{} printed no `listening on` line", self.name))
        });
        Started {
            child,
            addr,
            startup: began.elapsed(),
        }
    }
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| w.to_string()).collect()
}

/// A program built beside this one (`target/release/examples/NAME`).
fn sibling(name: &str) -> PathBuf {
    let path = std::env::current_exe()
        .unwrap_or_else(|err| fail(err))
        .with_file_name(name);
    if !path.exists() {
        fail(format!(
            "{} is missing: run `cargo build --release --examples` first",
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

/// Reads a child's stdout line by line in a thread, for as long as it runs: a server
/// whose stdout pipe is full blocks on its next log line.
fn drain(stdout: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
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
    p50: String,
    p99: String,
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
fn drive(addr: SocketAddr, clients: usize, rounds: usize, extra: &[&str]) -> Load {
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
        p50: value("latency p50"),
        p99: value("latency p99"),
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

/// Runs everything in the plan and returns the tables.
fn run_benchmark(plan: &Plan) -> Vec<Table> {
    let servers = Server::all(plan.python);
    if plan.quick {
        note!("--quick: few clients and rounds, no Python, no burst");
    } else if !plan.python {
        note!("python3 not found: the Python rendition is left out");
    }
    let mut rates: Vec<Vec<f64>> = Vec::new();
    let mut loads = Table::new(
        "Round trips",
        &[
            "server",
            "clients",
            "rounds",
            "round trips",
            "per s",
            "p50 ms",
            "p99 ms",
            "errors",
        ],
    );
    let mut errors = Table::new(
        "First error of each run with errors",
        &["server", "clients", "first error (07_load)"],
    );
    for server in &servers {
        note!(
            "{}: round trips at {:?} (clients, rounds)",
            server.name,
            plan.loads
        );
        let started = server.start();
        let mut server_rates = Vec::new();
        for &(clients, rounds) in &plan.loads {
            let lines: &[&str] = if server.lines { &["--lines"] } else { &[] };
            let load = drive(started.addr, clients, rounds, lines);
            server_rates.push(load.rate);
            if let Some(error) = &load.first_error {
                errors.push(vec![server.name.into(), clients.to_string(), error.clone()]);
            }
            loads.push(vec![
                server.name.into(),
                clients.to_string(),
                rounds.to_string(),
                load.round_trips.to_string(),
                format!("{:.0}", load.rate),
                load.p50,
                load.p99,
                load.errors.to_string(),
            ]);
        }
        rates.push(server_rates);
    }
    let ratios = ratios(&servers, &rates, plan);
    let burst = plan.burst.then(|| burst(&mut errors));
    let memory = memory(&servers, plan.idle_connections);
    let startup = startup(&servers);
    let targets = targets(&servers, &rates, plan, burst.as_ref());
    let mut tables = vec![loads, ratios];
    tables.extend(burst);
    tables.extend([memory, startup, targets]);
    if !errors.rows.is_empty() {
        tables.push(errors);
    }
    tables
}

/// Each server's rate divided by Python's, by the floor's and by 03_server's, for each
/// number of clients: every pair measured in the same run.
fn ratios(servers: &[Server], rates: &[Vec<f64>], plan: &Plan) -> Table {
    let mut table = Table::new(
        "Ratios of round trips/s",
        &["server", "clients", "÷ 03_server", "÷ Python", "÷ floor"],
    );
    let of = |name: &str| servers.iter().position(|s| s.name == name);
    for (s, server) in servers.iter().enumerate() {
        for (l, &(clients, _)) in plan.loads.iter().enumerate() {
            let ratio = |other: Option<usize>| match other {
                Some(o) if rates[o][l] > 0.0 => format!("{:.2}", rates[s][l] / rates[o][l]),
                _ => "-".into(),
            };
            table.push(vec![
                server.name.into(),
                clients.to_string(),
                ratio(of("03_server")),
                ratio(of("article_server.py")),
                ratio(of("floor")),
            ]);
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
    for backlog in [5, 1024] {
        note!("burst of 1000 at backlog {backlog}");
        let started = Server::paused(backlog).start();
        let extra = ["--burst", "--connect-timeout-ms", "3000"];
        let load = drive(started.addr, 1000, 1, &extra);
        if let Some(error) = &load.first_error {
            let name = format!("03_server burst, backlog {backlog}");
            errors.push(vec![name, "1000".into(), error.clone()]);
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

/// The targets of the issue, and whether this run meets them.
fn targets(servers: &[Server], rates: &[Vec<f64>], plan: &Plan, burst: Option<&Table>) -> Table {
    let mut table = Table::new("Targets", &["target", "measured", "met"]);
    let of = |name: &str| servers.iter().position(|s| s.name == name);
    let mut check = |target: String, ratio: Option<f64>, at_least: f64| {
        let (measured, met) = match ratio {
            Some(r) => (format!("{r:.2}"), if r >= at_least { "yes" } else { "no" }),
            None => ("-".into(), "not measured"),
        };
        table.push(vec![target, measured, met.into()]);
    };
    let rate = |server: Option<usize>, clients: usize| {
        let l = plan.loads.iter().position(|&(c, _)| c == clients)?;
        Some(rates[server?][l])
    };
    let pair = |a: &str, b: &str, clients: usize| {
        let (x, y) = (rate(of(a), clients)?, rate(of(b), clients)?);
        (y > 0.0).then(|| x / y)
    };
    for clients in [10, 100] {
        let r = pair("03_server", "article_server.py", clients);
        check(
            format!("03_server ÷ Python ≥ 3 at {clients} clients"),
            r,
            3.0,
        );
    }
    for &(clients, _) in &plan.loads {
        let r = pair("03_server", "floor", clients);
        check(
            format!("03_server ÷ floor ≥ 0.8 at {clients} clients"),
            r,
            0.8,
        );
    }
    for &(clients, _) in &plan.loads {
        let r = pair("06_hardened_server", "03_server", clients);
        check(format!("06 ÷ 03_server ≥ 0.8 at {clients} clients"), r, 0.8);
    }
    let burst_row = burst.and_then(|t| t.rows.iter().find(|row| row[0] == "1024"));
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
        "burst of 1000 at backlog 1024: all served, no errors, < 2 s".into(),
        measured,
        met.into(),
    ]);
    table
}

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
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        let rule: Vec<String> = (0..self.header.len())
            .map(|i| if i == 0 { ":--" } else { "--:" }.to_string())
            .collect();
        let mut text = format!("#### {}\n\n", self.title);
        text += &line(&self.header);
        text += &line(&rule);
        for row in &self.rows {
            text += &line(row);
        }
        text + "\n"
    }
}
// ANCHOR_END: table
