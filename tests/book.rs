//! The book's checks, so prose and code cannot drift apart (no mdbook needed):
//!
//! - every `{{#include FILE:ANCHOR}}` names a file that exists and an anchor it has;
//! - every lesson (and every exercise and its solution) has a chapter that includes it,
//!   and every chapter is in SUMMARY.md;
//! - every image a page uses exists, every SVG parses, and no figure is unused;
//! - every transcript (the output a chapter shows) is what the command prints today.
//!
//! After changing a lesson's output on purpose, rewrite the transcripts with
//! `UPDATE_TRANSCRIPTS=1 cargo test --test book`, and read the diff. That works even when
//! the change breaks what a scenario expects (a new welcome, say): in that mode the
//! scenarios note what no longer holds, go on, and record what the lessons print now.

mod common;

use common::{EXIT, Peer, Running, WELCOME, hello, run};
use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn book_src() -> PathBuf {
    root().join("book/src")
}

/// Every file under `dir` whose name ends with `ext`, recursively.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(&path, ext));
        } else if path.to_string_lossy().ends_with(ext) {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// The pages of the book: every Markdown file but SUMMARY.md and the measurements,
/// which pages include.
fn pages() -> Vec<PathBuf> {
    files(&book_src(), ".md")
        .into_iter()
        .filter(|p| !p.ends_with("SUMMARY.md") && !p.parent().unwrap().ends_with("measurements"))
        .collect()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The text between `open` and `close`, for every such pair in `text`.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(close) else { break };
        found.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    found
}

/// The `{{#include PATH[:ANCHOR]}}` directives of a page, as (file, anchor).
fn includes(page: &Path) -> Vec<(PathBuf, Option<String>)> {
    let dir = page.parent().unwrap();
    between(&read(page), "{{#include ", "}}")
        .into_iter()
        .map(|target| {
            let target = target.trim();
            let (file, anchor) = match target.split_once(':') {
                Some((file, anchor)) => (file, Some(anchor.to_string())),
                None => (target, None),
            };
            (dir.join(file), anchor)
        })
        .collect()
}

/// Images a page uses: `![alt](PATH)` and `<img src="PATH">`.
fn images(page: &Path) -> Vec<PathBuf> {
    images_in(&read(page), page)
}

/// Images that `text`, on `page`, uses.
fn images_in(text: &str, page: &Path) -> Vec<PathBuf> {
    let markdown = between(text, "](", ")")
        .into_iter()
        .filter(|target| target.ends_with(".svg") || target.ends_with(".png"));
    let html = between(text, "src=\"", "\"").into_iter();
    let dir = page.parent().unwrap();
    markdown
        .chain(html)
        .map(|target| dir.join(target))
        .collect()
}

#[test]
fn every_include_and_anchor_resolves() {
    let mut problems = Vec::new();
    for page in pages() {
        for (file, anchor) in includes(&page) {
            let name = page.strip_prefix(root()).unwrap().display();
            let Ok(text) = fs::read_to_string(&file) else {
                problems.push(format!("{name}: no file {}", file.display()));
                continue;
            };
            let Some(anchor) = anchor else { continue };
            if anchor
                .split(':')
                .all(|part| part.chars().all(|c| c.is_ascii_digit()))
            {
                continue; // a line range, not an anchor
            }
            for mark in [format!("ANCHOR: {anchor}"), format!("ANCHOR_END: {anchor}")] {
                let found = text.lines().any(|line| line.trim_end().ends_with(&mark));
                if !found {
                    problems.push(format!("{name}: {} has no `{mark}`", file.display()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_lesson_and_exercise_has_a_chapter() {
    let included: BTreeSet<PathBuf> = pages()
        .iter()
        .flat_map(|page| includes(page))
        .filter_map(|(file, _)| file.canonicalize().ok())
        .collect();
    let lessons = root().join("lessons");
    let exercises = lessons.join("exercises");
    // The numbered lessons, the exercises' starters (lessons/exercises/exNN_*.rs) and
    // their solutions (lessons/exercises/solutions/*.rs).
    let numbered = |file: &Path| {
        file.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(|c: char| c.is_ascii_digit())
    };
    let starter = |file: &Path| {
        file.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("ex")
    };
    let in_book: Vec<PathBuf> = files(&lessons, ".rs")
        .into_iter()
        .filter(|file| {
            let folder = file.parent().unwrap();
            (folder == lessons && numbered(file))
                || (folder == exercises && starter(file))
                || folder == exercises.join("solutions")
        })
        .collect();
    assert!(
        in_book
            .iter()
            .any(|f| f.starts_with(exercises.join("solutions"))),
        "no solutions found under {}",
        exercises.display()
    );
    for file in in_book {
        assert!(
            included.contains(&file.canonicalize().unwrap()),
            "no chapter includes {}",
            file.display()
        );
    }
}

#[test]
fn every_page_is_in_summary_and_every_link_exists() {
    let summary = read(&book_src().join("SUMMARY.md"));
    let linked: BTreeSet<PathBuf> = between(&summary, "](", ")")
        .into_iter()
        .map(|target| book_src().join(target))
        .collect();
    for target in &linked {
        assert!(
            target.is_file(),
            "SUMMARY.md links {}, which does not exist",
            target.display()
        );
    }
    for page in pages() {
        assert!(
            linked.contains(&page),
            "{} is not in SUMMARY.md",
            page.display()
        );
    }
}

#[test]
fn every_image_exists_and_every_svg_parses_and_is_used() {
    let mut used = BTreeSet::new();
    for page in pages() {
        for image in images(&page) {
            assert!(
                image.is_file(),
                "{} uses {}, which does not exist",
                page.display(),
                image.display()
            );
            used.insert(image.canonicalize().unwrap());
        }
    }
    // The Chinese edition's figures are used by translated messages.
    for (page, text) in translated_texts() {
        for image in images_in(&text, &page) {
            assert!(
                image.is_file(),
                "the Chinese translation of {} uses {}, which does not exist",
                page.display(),
                image.display()
            );
            used.insert(image.canonicalize().unwrap());
        }
    }
    for svg in files(&book_src(), ".svg") {
        let text = read(&svg);
        let doc = roxmltree::Document::parse(&text)
            .unwrap_or_else(|e| panic!("{} is not well-formed XML: {e}", svg.display()));
        let top = doc.root_element();
        assert_eq!(top.tag_name().name(), "svg", "{}", svg.display());
        assert!(
            top.attribute("viewBox").is_some(),
            "{} has no viewBox",
            svg.display()
        );
        assert!(
            used.contains(&svg.canonicalize().unwrap()),
            "no page uses {}",
            svg.display()
        );
    }
}

/// How the test runs a transcript's command. The book shows the default address,
/// 127.0.0.1:1234; the test uses free ports, and writes 127.0.0.1:1234 back in.
#[derive(Debug)]
enum Setup {
    /// On its own.
    Alone,
    /// A lesson that listens: it gets 127.0.0.1:0 instead of port 1234.
    Listens,
    /// Given the address of a 03_server started with these arguments.
    Against(&'static [&'static str]),
    /// Given an address where nothing listens.
    NothingListening,
    /// The lesson is a server, started on 127.0.0.1:0 with its arguments and these
    /// unshown ones (which do not change what it prints); the transcript is its log
    /// while the scenario plays out.
    ServerLog(&'static [&'static str], Scenario),
}

/// What happens to a server while its log is recorded. Each scenario ends by waiting
/// for the server's last line, so the log is complete when it returns.
type Scenario = fn(SocketAddr, &mut Running);

/// A transcript the book shows: `$ COMMAND` on its first line, then the output.
struct Transcript {
    file: &'static str,
    lesson: &'static str,
    args: &'static [&'static str],
    setup: Setup,
    stdin: &'static str,
    /// Only the part of the output under the heading that starts with this text.
    section: Option<&'static str>,
    /// Lines containing any of these report facts of the machine the lesson ran on
    /// (its interfaces, its port range): they are not compared.
    varies: &'static [&'static str],
    /// Only the lines after the first one containing this text.
    after: Option<&'static str>,
}

impl Transcript {
    const fn new(file: &'static str, lesson: &'static str, setup: Setup) -> Transcript {
        Transcript {
            file,
            lesson,
            args: &[],
            setup,
            stdin: "",
            section: None,
            varies: &[],
            after: None,
        }
    }

    const fn after(mut self, line_with: &'static str) -> Transcript {
        self.after = Some(line_with);
        self
    }

    const fn varies(mut self, lines_with: &'static [&'static str]) -> Transcript {
        self.varies = lines_with;
        self
    }

    const fn args(mut self, args: &'static [&'static str]) -> Transcript {
        self.args = args;
        self
    }

    const fn stdin(mut self, stdin: &'static str) -> Transcript {
        self.stdin = stdin;
        self
    }

    const fn section(mut self, heading: &'static str) -> Transcript {
        self.section = Some(heading);
        self
    }
}

const PARCEL: &[&str] = &["localhost:1234", "Michael", "--src-port", "50000"];
const NO_PAUSE: &[&str] = &["--pause-ms", "0"];

const TRANSCRIPTS: &[Transcript] = &[
    Transcript::new("01_ip.txt", "01_addresses", Setup::Alone)
        .args(PARCEL)
        .section("1."),
    Transcript::new("01_mac.txt", "01_addresses", Setup::Alone)
        .args(PARCEL)
        .section("2.")
        .varies(&["[kernel]   ", "/proc/net/arp"]),
    Transcript::new("01_ports.txt", "01_addresses", Setup::Alone)
        .args(PARCEL)
        .section("3.")
        .varies(&["ephemeral ports:", "the OS chose port"]),
    Transcript::new("01_socket_address.txt", "01_addresses", Setup::Alone)
        .args(PARCEL)
        .section("4.")
        .varies(&["[kernel]"]),
    Transcript::new("01_parcel.txt", "01_addresses", Setup::Alone)
        .args(PARCEL)
        .section("5."),
    Transcript::new("01_packings.txt", "01_addresses", Setup::Alone)
        .args(PARCEL)
        .section("6."),
    Transcript::new("02_socket.txt", "02_listen", Setup::Listens)
        .section("A listening socket")
        .varies(&["somaxconn"]),
    Transcript::new("02_queue.txt", "02_listen", Setup::Listens)
        .section("The accept queue")
        .varies(&[
            "tcp_syn_",
            "dropped SYN is sent again",
            "connect() fails at",
        ]),
    Transcript::new("02_not_accepted.txt", "02_listen", Setup::Listens)
        .section("Connected, but not accepted")
        .varies(&["TcpExtListenOverflows", "after its connect()"]),
    Transcript::new("02_in_use.txt", "02_listen", Setup::Listens).section("Address already in use"),
    Transcript::new("02_time_wait.txt", "02_listen", Setup::Listens)
        .section("TIME_WAIT and SO_REUSEADDR"),
    Transcript::new("02_std.txt", "02_listen", Setup::Listens).section("From socket2 to std"),
    // 03 says how many sessions this machine has room for, from its limits.
    Transcript::new(
        "03_session.txt",
        "03_server",
        Setup::ServerLog(&[], article_client),
    )
    .args(NO_PAUSE)
    .varies(&["[kernel]", "sessions at once"]),
    Transcript::new("03_nc.txt", "03_server", Setup::ServerLog(&[], nc_session))
        .args(NO_PAUSE)
        .varies(&["[kernel]", "sessions at once"]),
    Transcript::new("03_in_use.txt", "03_server", Setup::Against(NO_PAUSE)),
    Transcript::new("04_client.txt", "04_client", Setup::Against(NO_PAUSE)),
    Transcript::new("04_names.txt", "04_client", Setup::Against(NO_PAUSE)).args(&["Alice", "张三"]),
    Transcript::new("04_interactive.txt", "04_client", Setup::Against(NO_PAUSE))
        .args(&["--interactive"])
        .stdin("Alice\nBob\nexit\n"),
    Transcript::new("04_refused.txt", "04_client", Setup::NothingListening),
    // 05 starts its own 03_server and shows its log among the client's lines; the
    // two interleave as threads run, so only the client's lines are compared.
    Transcript::new("05_two_writes.txt", "05_stream", Setup::Alone)
        .section("1.")
        .varies(&["[server]"]),
    Transcript::new("05_one_write.txt", "05_stream", Setup::Alone)
        .section("2.")
        .varies(&["[server]"]),
    Transcript::new("05_cut.txt", "05_stream", Setup::Alone)
        .section("3.")
        .varies(&["[server]"]),
    // The kernel's timers ("for 60 s more") are read as they run: not compared.
    Transcript::new("05_closed.txt", "05_stream", Setup::Alone)
        .section("4.")
        .varies(&["[server]", "s more"]),
    Transcript::new("05_broken_pipe.txt", "05_stream", Setup::Alone)
        .section("5.")
        .varies(&["[server]", "s more"]),
    Transcript::new("05_shutdown_read.txt", "05_stream", Setup::Alone)
        .section("6.")
        .varies(&["[server]"]),
    Transcript::new("05_close_wait.txt", "05_stream", Setup::Alone)
        .section("7.")
        .varies(&["s more", "tcp_fin_timeout ="]),
    Transcript::new("05_lines.txt", "05_stream", Setup::Alone).section("8."),
    Transcript::new("05_length.txt", "05_stream", Setup::Alone).section("9."),
    Transcript::new(
        "06_startup.txt",
        "06_hardened_server",
        Setup::ServerLog(&[], started),
    )
    .varies(&["[kernel]"]),
    Transcript::new(
        "06_session.txt",
        "06_hardened_server",
        Setup::ServerLog(&[], lines_and_bad_bytes),
    )
    .after("waiting for connections"),
    Transcript::new(
        "06_limits.txt",
        "06_hardened_server",
        Setup::ServerLog(&[], every_limit),
    )
    .args(&[
        "--max-line",
        "16",
        "--max-sessions",
        "2",
        "--read-timeout-ms",
        "1000",
    ])
    .varies(&["[kernel]"]),
    Transcript::new(
        "06_shutdown.txt",
        "06_hardened_server",
        Setup::ServerLog(&[], ctrl_c),
    )
    .after("waiting for connections"),
    Transcript::new("06_refuse_sessions.txt", "06_hardened_server", Setup::Alone)
        .args(&["--max-sessions", "0"]),
    Transcript::new("06_refuse_backlog.txt", "06_hardened_server", Setup::Alone)
        .args(&["--backlog", "-1"]),
    Transcript::new("06_refuse_timeout.txt", "06_hardened_server", Setup::Alone)
        .args(&["--read-timeout-ms", "0"]),
    Transcript::new(
        "06_slowloris.txt",
        "06_hardened_server",
        Setup::ServerLog(&[], slowloris),
    )
    .args(&["--line-timeout-ms", "1000"])
    .after("waiting for connections"),
    Transcript::new(
        "06_error_flood.txt",
        "06_hardened_server",
        Setup::ServerLog(&[], error_flood),
    )
    .after("waiting for connections"),
    // 12 decodes the capture shipped with the lessons: the same output on every run.
    Transcript::new("12_file.txt", "12_wire", Setup::Alone).section("1."),
    Transcript::new("12_packets.txt", "12_wire", Setup::Alone).section("2."),
    Transcript::new("12_timeline.txt", "12_wire", Setup::Alone).section("3."),
    Transcript::new("12_checksums.txt", "12_wire", Setup::Alone).section("4."),
    Transcript::new("12_syn.txt", "12_wire", Setup::Alone)
        .args(&["--packet", "1"])
        .section("Packet 1"),
    Transcript::new("12_michael.txt", "12_wire", Setup::Alone)
        .args(&["--packet", "6"])
        .section("Packet 6"),
    Transcript::new("12_not_pcap.txt", "12_wire", Setup::Alone).args(&["Cargo.toml"]),
];

/// 04_client's dialogue with the server.
fn article_client(addr: SocketAddr, server: &mut Running) {
    let client = run("04_client", &[&addr.to_string()], "");
    common::check(client.status.success(), || {
        format!("04_client failed: {}", client.stderr)
    });
    server.expect("closed.");
}

/// Someone typing `Michael`, then `Tracy` the way telnet ends lines, then `exit`.
fn nc_session(addr: SocketAddr, server: &mut Running) {
    let mut client = Peer::connect(addr);
    client.expect(WELCOME);
    client.send(b"Michael\n");
    client.expect(&(hello("Michael") + "\n"));
    client.send(b"Tracy\r\n");
    client.expect(&(hello("Tracy") + "\r\n"));
    client.send(format!("{EXIT}\n").as_bytes());
    server.expect("closed.");
}

/// Nothing: the server starts and waits.
fn started(_: SocketAddr, server: &mut Running) {
    server.expect("waiting for connections");
}

/// A name, a line that is not UTF-8, `exit`.
fn lines_and_bad_bytes(addr: SocketAddr, server: &mut Running) {
    let mut client = Peer::connect(addr);
    client.expect("Welcome!\n");
    client.send(b"Michael\n");
    client.expect("Hello, Michael!\n");
    client.send(b"Mich\xffael\n");
    client.recv();
    client.send(b"exit\n");
    client.expect_closed();
    server.expect("closed after");
}

/// With two places: a third client turned away, a line too long, an idle timeout.
fn every_limit(addr: SocketAddr, server: &mut Running) {
    let mut first = Peer::connect(addr);
    first.expect("Welcome!\n");
    server.expect("#1 ");
    let mut idle = Peer::connect(addr);
    idle.expect("Welcome!\n");
    server.expect("#2 ");
    let mut third = Peer::connect(addr);
    third.expect("busy, try again later\n");
    third.expect_closed();
    server.expect("turned away");
    first.send(b"Michael\n");
    first.expect("Hello, Michael!\n");
    first.send(b"Michaelangelo Buonarroti\n");
    first.recv();
    first.expect_closed();
    server.expect("#1 closed: line too long");
    server.expect("#2 timed out");
    idle.expect("bye: nothing received for 1 s, closing\n");
    idle.expect_closed();
}

/// Ctrl-C while a client is connected.
fn ctrl_c(addr: SocketAddr, server: &mut Running) {
    let mut client = Peer::connect(addr);
    client.expect("Welcome!\n");
    client.send(b"Michael\n");
    client.expect("Hello, Michael!\n");
    server.interrupt();
    client.expect("server shutting down, bye\n");
    client.expect_closed();
    server.expect("summary:");
    let status = server.wait_exit();
    common::check(status.success(), || {
        format!("06 ended with {status} after Ctrl-C")
    });
}

/// Slowloris: a line that comes a byte at a time, and never ends.
fn slowloris(addr: SocketAddr, server: &mut Running) {
    let mut client = Peer::connect(addr);
    client.expect("Welcome!\n");
    let mut writer = client.stream.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        for _ in 0..200 {
            if std::io::Write::write_all(&mut writer, b"x").is_err() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    });
    client.expect("bye: a line took longer than 1 s to arrive, closing\n");
    server.expect("#1 closed");
    let _ = client.stream.shutdown(std::net::Shutdown::Both);
    trickle.join().unwrap();
}

/// A client whose every line is an error: ten lines of a byte that is not UTF-8.
fn error_flood(addr: SocketAddr, server: &mut Running) {
    let mut client = Peer::connect(addr);
    client.expect("Welcome!\n");
    let mut lines = b"\xff\n".repeat(10);
    lines.extend_from_slice(b"exit\n");
    client.send(&lines);
    server.expect("#1 closed");
}

/// Runs the lesson, with `address` first if given; returns stdout then stderr, as a
/// terminal shows them.
fn run_lesson(t: &Transcript, address: Option<String>) -> String {
    let mut argv: Vec<String> = address.into_iter().collect();
    argv.extend(t.args.iter().map(|a| a.to_string()));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = run(t.lesson, &argv, t.stdin);
    out.stdout + &out.stderr
}

/// What the command prints today, with the book's address in place of the test's.
/// (The whole output: see [`section`] for the part a transcript shows.)
fn fresh_output(t: &Transcript) -> String {
    let book = "127.0.0.1:1234";
    match t.setup {
        Setup::Alone => run_lesson(t, None),
        Setup::Listens => {
            let output = run_lesson(t, Some("127.0.0.1:0".into()));
            let line = output
                .lines()
                .find(|l| l.contains("listening on "))
                .unwrap_or("");
            let addr = line.split("listening on ").nth(1).unwrap_or("");
            let addr = addr.split_whitespace().next().unwrap_or("127.0.0.1:0");
            output.replace(addr, book).replace("127.0.0.1:0", book)
        }
        Setup::Against(server_args) => {
            let (_server, addr) = Running::server("03_server", server_args);
            run_lesson(t, Some(addr.to_string())).replace(&addr.to_string(), book)
        }
        Setup::NothingListening => {
            let addr = common::nothing_listening().to_string();
            run_lesson(t, Some(addr.clone())).replace(&addr, book)
        }
        Setup::ServerLog(unshown, scenario) => {
            let mut args = t.args.to_vec();
            args.extend(unshown);
            let (mut server, addr) = Running::server(t.lesson, &args);
            scenario(addr, &mut server);
            let log = server.seen().join("\n") + "\n";
            // The port also appears alone, as in `nc 127.0.0.1 PORT`.
            let nc = format!("{} {}", addr.ip(), addr.port());
            log.replace(&addr.to_string(), book)
                .replace(&nc, "127.0.0.1 1234")
        }
    }
}

/// The part of `output` that transcript `t` shows.
fn section(t: &Transcript, output: &str) -> String {
    if let Some(line_with) = t.after {
        let start = output
            .find(line_with)
            .and_then(|at| output[at..].find('\n').map(|end| at + end + 1))
            .unwrap_or_else(|| panic!("{}: no line with {line_with:?} in:\n{output}", t.file));
        return output[start..].to_string();
    }
    match t.section {
        None => output.to_string(),
        // Headings are the only lines after a blank line.
        Some(heading) => output
            .split("\n\n")
            .map(|block| block.trim_start_matches('\n'))
            .find(|block| block.starts_with(heading))
            .map(|block| block.trim_end().to_string() + "\n")
            .unwrap_or_else(|| panic!("{}: no section {heading:?} in:\n{output}", t.file)),
    }
}

/// The command line the book shows above the output.
fn command(t: &Transcript) -> String {
    let mut words = vec!["cargo run --example", t.lesson];
    let shows_address = matches!(t.setup, Setup::Against(_)) && !t.args.is_empty();
    if shows_address || !t.args.is_empty() {
        words.push("--");
    }
    if shows_address {
        words.push("127.0.0.1:1234");
    }
    words.extend(t.args);
    let line = words.join(" ");
    if t.stdin.is_empty() {
        format!("$ {line}")
    } else {
        format!("$ printf '{}' | {line}", t.stdin.escape_default())
    }
}

/// Blurs what changes from run to run: ephemeral ports, and the lines that report
/// facts of the machine the lesson ran on.
fn normalise(text: &str, varies: &[&str]) -> String {
    text.lines()
        .filter(|line| !varies.iter().any(|v| line.contains(v)))
        .map(blur_ports)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text with ports blurred and every number replaced by `#`: what a rerun of the
/// same program prints, whatever the machine's ports, counts and timings.
fn shape(text: &str) -> String {
    let blurred: Vec<String> = text.lines().map(blur_ports).collect();
    let mut out = String::new();
    let mut in_number = false;
    for c in blurred.join("\n").chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            out.push(c);
            in_number = false;
        }
    }
    out
}

/// `127.0.0.1:54321` -> `127.0.0.1:<port>`; 1234, the book's port, stays.
fn blur_ports(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(':') {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        let digits: String = tail[1..].chars().take_while(char::is_ascii_digit).collect();
        let ip: String = head
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let after_ip = ip.matches('.').count() == 3 || head.ends_with(']');
        if after_ip && !digits.is_empty() && digits != "1234" {
            out.push_str(":<port>");
        } else {
            out.push(':');
            out.push_str(&digits);
        }
        rest = &tail[1 + digits.len()..];
    }
    out.push_str(rest);
    out
}

/// The lessons whose promises transcript `t` shows: its own, and 03's when it talks to
/// a 03_server.
fn lessons_shown(t: &Transcript) -> Vec<&'static str> {
    let talks_to_03 = matches!(t.setup, Setup::Against(_)) || t.lesson == "05_stream";
    let mut lessons = vec![t.lesson];
    if talks_to_03 {
        lessons.push("03_server");
    }
    lessons
}

/// The message of a panic, from what `join` returned.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload.downcast_ref::<String>().map(String::as_str);
    let text = text.or(payload.downcast_ref::<&str>().copied());
    text.unwrap_or("(a panic without a message)").to_string()
}

#[test]
#[cfg(target_os = "linux")] // the transcripts were made on Linux, which 02 shows
fn every_transcript_matches_what_the_command_prints() {
    let update = std::env::var_os("UPDATE_TRANSCRIPTS").is_some();
    if update {
        // A deliberate change may break what a scenario expects: note it, go on, record.
        common::tolerate_changes();
    }
    common::lesson("03_server"); // several transcripts talk to it; 05 starts it itself
    // Each command runs once (sections of one run share it), each in its own thread:
    // the suite stays fast.
    let key = |t: &Transcript| format!("{} {:?} {:?}", command(t), t.setup, t.stdin);
    let mut firsts: Vec<&Transcript> = Vec::new();
    for t in TRANSCRIPTS {
        if !firsts.iter().any(|f| key(f) == key(t)) {
            firsts.push(t);
        }
    }
    // For each command, what it printed, or why it could not run to its end.
    let outputs: Vec<(String, Result<String, String>)> = std::thread::scope(|scope| {
        let runs: Vec<_> = firsts
            .iter()
            .map(|t| (key(t), scope.spawn(|| fresh_output(t))))
            .collect();
        runs.into_iter()
            .map(|(key, run)| (key, run.join().map_err(|p| panic_message(&*p))))
            .collect()
    });
    let mut stale = Vec::new();
    // Each command that could not run to its end, with why and the transcripts it makes.
    let mut failed: Vec<(String, &str, Vec<&str>)> = Vec::new();
    // Each broken promise, with the transcripts that show it broken.
    let mut broken: Vec<(&common::Promise, Vec<&str>)> = Vec::new();
    for t in TRANSCRIPTS {
        let (_, output) = outputs.iter().find(|(k, _)| *k == key(t)).unwrap();
        let output = match output {
            Ok(output) => output,
            Err(why) => {
                match failed.iter_mut().find(|(k, _, _)| *k == key(t)) {
                    Some((_, _, files)) => files.push(t.file),
                    None => failed.push((key(t), why, vec![t.file])),
                }
                continue;
            }
        };
        let fresh = format!("{}\n{}", command(t), section(t, output));
        let path = book_src().join("transcripts").join(t.file);
        let stored = fs::read_to_string(&path).unwrap_or_default();
        if update {
            // Rewritten whole when anything but ports and numbers changed, lines that
            // vary included (their wording may have changed): the book shows this run.
            if shape(&stored) != shape(&fresh) {
                fs::write(&path, &fresh).unwrap();
            }
        } else if normalise(&stored, t.varies) != normalise(&fresh, t.varies) {
            let (stored, fresh) = (normalise(&stored, t.varies), normalise(&fresh, t.varies));
            for promise in common::promises_broken(&lessons_shown(t), &stored, &fresh) {
                match broken.iter_mut().find(|(p, _)| std::ptr::eq(*p, promise)) {
                    Some((_, files)) => files.push(t.file),
                    None => broken.push((promise, vec![t.file])),
                }
            }
            stale.push(format!(
                "{}:\n--- stored\n{stored}\n--- printed now\n{fresh}",
                t.file
            ));
        }
    }
    if update {
        let noticed = common::noticed();
        if !noticed.is_empty() {
            // Said on the terminal: the test passes, and the harness hides a passing
            // test's output.
            let _ = writeln!(
                std::io::stderr(),
                "The transcripts were recorded from what the lessons do now, which no longer \
                 keeps these promises (read `git diff book/src/transcripts` and the pages \
                 that include them):\n\n{}\n",
                noticed.join("\n\n")
            );
        }
    }
    let mut message: Vec<String> = broken
        .iter()
        .map(|(promise, files)| {
            promise.broken(&format!(
                "what the lessons print now differs from book/src/transcripts/ ({})",
                files.join(", ")
            ))
        })
        .collect();
    for (_, why, files) in &failed {
        message.push(format!(
            "{}: the command could not run to its end:\n{why}",
            files.join(", ")
        ));
    }
    if !stale.is_empty() {
        message.push(format!(
            "These transcripts differ from what the lessons print now. Changed on purpose? \
             `UPDATE_TRANSCRIPTS=1 cargo test --test book` rewrites them; then read \
             `git diff book/src/transcripts`.\n\n{}",
            stale.join("\n\n")
        ));
    }
    assert!(message.is_empty(), "{}", message.join("\n\n"));
}

#[test]
fn blur_ports_keeps_1234_and_hides_ephemeral_ports() {
    assert_eq!(
        blur_ports("connected to 127.0.0.1:1234 from 127.0.0.1:54321, at 10:30"),
        "connected to 127.0.0.1:1234 from 127.0.0.1:<port>, at 10:30"
    );
    assert_eq!(blur_ports("[::1]:4000"), "[::1]:<port>");
}

#[test]
fn every_transcript_file_is_listed() {
    let listed: BTreeSet<&str> = TRANSCRIPTS.iter().map(|t| t.file).collect();
    let dir = book_src().join("transcripts");
    for file in files(&dir, ".txt") {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("check_") {
            continue; // the checker's output: the exercises' package checks it
        }
        assert!(
            listed.contains(name.as_str()),
            "{name} is in book/src/transcripts but no test regenerates it"
        );
    }
}

/// The id mdBook gives a heading: its text lower-cased, spaces made `-`, and every
/// character but letters, digits, `_` and `-` dropped (mdBook's `normalize_id`); inline
/// code keeps its text.
fn heading_id(heading: &str) -> String {
    heading
        .replace('`', "")
        .chars()
        .filter_map(|c| match c {
            c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c.to_ascii_lowercase()),
            c if c.is_whitespace() => Some('-'),
            _ => None,
        })
        .collect()
}

/// The anchors a page has: `(explicit, implicit)`. Explicit: a heading's `{#id}` and
/// every `id="..."` written in its HTML. Implicit: the id mdBook derives from a heading's
/// text (a repeated one gets `-1`, `-2`, ...), which the Chinese edition, whose headings
/// are translated, does not have.
fn anchors(page: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let text = read(page);
    let mut explicit = BTreeSet::new();
    let mut implicit = BTreeSet::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        if let Some((_, custom)) = title.rsplit_once("{#") {
            explicit.insert(custom.trim_end_matches('}').to_string());
            continue;
        }
        let id = heading_id(title);
        let mut unique = id.clone();
        let mut n = 0;
        while implicit.contains(&unique) {
            n += 1;
            unique = format!("{id}-{n}");
        }
        implicit.insert(unique);
    }
    explicit.extend(between(&text, "id=\"", "\"").into_iter().map(String::from));
    (explicit, implicit)
}

#[test]
fn every_link_between_pages_lands_on_a_page_and_a_heading() {
    let mut broken = Vec::new();
    for page in pages() {
        let name = page.strip_prefix(book_src()).unwrap().display().to_string();
        broken.extend(broken_links(&read(&page), &page, &name));
    }
    // The Chinese edition: the translated messages, on the pages they come from.
    for (page, text) in translated_texts() {
        let name = page.strip_prefix(book_src()).unwrap().display();
        broken.extend(broken_links(&text, &page, &format!("{name} (zh-CN.po)")));
    }
    assert!(
        broken.is_empty(),
        "links that lead nowhere (a heading's id is its text in lower case, spaces as -, \
         punctuation dropped):\n{}",
        broken.join("\n")
    );
}

/// The links of `text`, on `page`, that do not land on a page and a heading.
fn broken_links(text: &str, page: &Path, name: &str) -> Vec<String> {
    let mut broken = Vec::new();
    for target in between(text, "](", ")") {
        let target = target.split_whitespace().next().unwrap_or_default();
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
        if !(file.is_empty() || file.ends_with(".md")) {
            continue; // a figure or another file: checked elsewhere
        }
        let linked = if file.is_empty() {
            page.to_path_buf()
        } else {
            page.parent().unwrap().join(file)
        };
        if !linked.is_file() {
            broken.push(format!("{name}: ({target}): no page {file}"));
            continue;
        }
        let (explicit, implicit) = anchors(&linked);
        if anchor.is_empty() || explicit.contains(anchor) {
            continue;
        }
        broken.push(if implicit.contains(anchor) {
            format!(
                "{name}: ({target}): give that heading an explicit id, `## Title {{#{anchor}}}`: \
                 the Chinese edition translates headings, and their derived ids with them"
            )
        } else {
            format!("{name}: ({target}): no heading with id #{anchor}")
        });
    }
    broken
}

/// One entry of a gettext catalogue: where its text comes from, the English text, and
/// its translation.
struct PoEntry {
    locations: Vec<String>,
    msgid: String,
    msgstr: String,
    fuzzy: bool,
}

/// The entries of the PO file at `path` (the subset of the format that
/// mdbook-xgettext and msgmerge write: `#:` locations, `#, fuzzy`, msgid and msgstr
/// strings continued on following lines).
fn po_entries(path: &Path) -> Vec<PoEntry> {
    let Ok(text) = fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    for block in text.split("\n\n") {
        let mut entry = PoEntry {
            locations: Vec::new(),
            msgid: String::new(),
            msgstr: String::new(),
            fuzzy: false,
        };
        let mut field: Option<&mut String> = None;
        let mut obsolete = false;
        for line in block.lines() {
            if let Some(locs) = line.strip_prefix("#: ") {
                entry
                    .locations
                    .extend(locs.split_whitespace().map(String::from));
            } else if line.starts_with("#,") && line.contains("fuzzy") {
                entry.fuzzy = true;
            } else if line.starts_with("#~") {
                obsolete = true;
            } else if let Some(rest) = line.strip_prefix("msgid ") {
                entry.msgid = unquote(rest);
                field = Some(&mut entry.msgid);
            } else if let Some(rest) = line.strip_prefix("msgstr ") {
                entry.msgstr = unquote(rest);
                field = Some(&mut entry.msgstr);
            } else if line.starts_with('"') {
                if let Some(field) = field.as_deref_mut() {
                    field.push_str(&unquote(line));
                }
            }
        }
        if !obsolete && !entry.msgid.is_empty() {
            entries.push(entry);
        }
    }
    entries
}

/// The text of a PO string literal: `"a \"b\"\n"` -> `a "b"` and a newline.
fn unquote(literal: &str) -> String {
    let inner = literal.trim().trim_start_matches('"').trim_end_matches('"');
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Every translated message of the Chinese edition, once for each page it is on.
fn translated_texts() -> Vec<(PathBuf, String)> {
    let mut texts = Vec::new();
    for entry in po_entries(&root().join("book/po/zh-CN.po")) {
        if entry.msgstr.is_empty() || entry.fuzzy {
            continue;
        }
        for location in &entry.locations {
            let location = location.split(':').next().unwrap_or_default();
            let Some(page) = location.strip_prefix("src/") else {
                continue;
            };
            if !page.ends_with("SUMMARY.md") {
                texts.push((book_src().join(page), entry.msgstr.clone()));
            }
        }
    }
    texts
}

#[test]
fn the_chinese_edition_keeps_the_markdown_that_must_survive() {
    let mut lost = Vec::new();
    for entry in po_entries(&root().join("book/po/zh-CN.po")) {
        // A fuzzy entry (its English changed since it was translated) is not used.
        if entry.msgstr.is_empty() || entry.fuzzy {
            continue;
        }
        let targets = |text: &str| -> Vec<String> {
            let mut all: Vec<String> = between(text, "](", ")")
                .into_iter()
                .map(|t| t.replace("figures/zh-CN/", "figures/"))
                .collect();
            all.sort();
            all
        };
        // Every link and figure of the English stays; a translation may add links for
        // its readers (the Chinese introduction links the article's topics), and those
        // are checked to land like every other.
        let translated = targets(&entry.msgstr);
        let lost_targets: Vec<String> = targets(&entry.msgid)
            .into_iter()
            .filter(|t| !translated.contains(t))
            .collect();
        if !lost_targets.is_empty() {
            lost.push(format!(
                "{}: the translation lost the link or figure {:?}",
                entry.locations.join(" "),
                lost_targets
            ));
        }
        if entry.msgid.contains("{{#") && entry.msgid != entry.msgstr {
            lost.push(format!(
                "{}: a message with an include must stay as it is: {:?}",
                entry.locations.join(" "),
                entry.msgid
            ));
        }
    }
    assert!(
        lost.is_empty(),
        "book/po/zh-CN.po (the Chinese edition):\n{}",
        lost.join("\n")
    );
}

#[test]
fn heading_ids_are_mdbooks() {
    assert_eq!(
        heading_id("`SO_REUSEADDR` and TIME_WAIT"),
        "so_reuseaddr-and-time_wait"
    );
    assert_eq!(heading_id("Ports: who's who?"), "ports-whos-who");
    assert_eq!(heading_id("三次握手 (handshake)"), "三次握手-handshake");
}

#[test]
fn the_change_a_lesson_page_quotes_the_messages_the_tests_print() {
    // book/src/changing.md quotes failures recorded in a terminal; the promises' wording
    // lives in tests/common/mod.rs. A change of wording there must reach the page.
    let page = read(&book_src().join("changing.md"));
    let quoted = [
        (
            &common::promise::WELCOME,
            r#"03_server sent "Welcome to Ming's server!""#,
        ),
        (
            &common::promise::PAUSE,
            "03_server's --help says --pause-ms defaults to 200",
        ),
        (
            &common::promise::BACKLOG,
            "03_server's --help says --backlog defaults to 1",
        ),
    ];
    for (promise, found) in quoted {
        for line in promise.broken(found).lines() {
            assert!(
                page.contains(line),
                "book/src/changing.md no longer quotes what the tests print; the line\n\
                 {line}\nis missing: record the change again and copy the new message"
            );
        }
    }
}

#[test]
fn the_readme_test_command_is_the_one_ci_runs() {
    let readme = read(&root().join("README.md"));
    let ci = read(&root().join(".ci/run"));
    let command = readme
        .lines()
        .skip_while(|line| !line.starts_with("Check that the lessons"))
        .find(|line| line.starts_with("cargo test"))
        .expect("README.md gives no test command after \"Check that the lessons\"");
    assert!(
        ci.lines().any(|line| line.trim() == command),
        ".ci/run does not run README's test command `{command}`"
    );
    let page = read(&book_src().join("changing.md"));
    assert!(
        page.contains(command),
        "book/src/changing.md does not give README's test command `{command}`"
    );
}
