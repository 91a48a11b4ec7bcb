//! What the black-box tests share: build a lesson as a student would, start it, read
//! what it prints (each read with a timeout), and talk to it over real sockets.
//!
//! Every server is started on 127.0.0.1 port 0 and the tests read the port it really
//! got from its `listening on IP:PORT` line, so tests run in parallel without clashing.
//!
//! Students change the lessons, so a failure must say what changed. A test reads what a
//! program really sent — up to the text it expected while what comes matches it, and once
//! it stops matching, on until the program falls silent for [`IDLE_GAP`], closes, or a
//! timeout passes — and reports it whole. When the difference breaks one of the book's
//! [`promise`]s (the welcome, the reply, `exit`, the defaults, the lines other lessons
//! read), the failure says which one, where the book shows it and who relies on it, and
//! points to book/src/changing.md.
#![allow(dead_code)] // each test file uses its own part of this module

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single wait in a test may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// How long a test goes on reading once what came stopped matching what it expected.
/// Over loopback the rest of a message written at once arrives well within it; a
/// program that says nothing more for this long has said what it had to say.
pub const IDLE_GAP: Duration = Duration::from_millis(200);

/// How long a test that takes whatever comes ([`Peer::read_message`]) waits for the
/// rest of a message that did not match: a message written at once is all there by
/// then over loopback, and a test with many clients stays fast.
const SETTLE: Duration = Duration::from_millis(20);

/// The most bytes a test reads to report what came instead of what it expected.
const REPORT_LIMIT: usize = 64 * 1024;

/// The page that tells a student what to do when a test says a promise changed.
pub const CHANGING: &str = "book/src/changing.md";

/// The path of a lesson's binary, built (once per test process) with the same profile
/// as this test, so `cargo test --test NAME` works on a fresh checkout too.
pub fn lesson(name: &str) -> PathBuf {
    lessons(&[name]).remove(0)
}

/// Like [`lesson`], for several at once: one cargo run builds those not built yet.
#[track_caller]
pub fn lessons(names: &[&str]) -> Vec<PathBuf> {
    static BUILT: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    // Lessons cargo could not build: every later test that needs them fails at once,
    // instead of building them again (and printing the same errors) for each test.
    static UNBUILT: Mutex<Vec<BTreeSet<String>>> = Mutex::new(Vec::new());
    // target/<profile>/deps/<this test> -> target/<profile>
    let profile_dir = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .to_path_buf();
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| !built.contains(*name))
        .collect();
    if !missing.is_empty() {
        let wanted: BTreeSet<String> = missing.iter().map(|name| name.to_string()).collect();
        let mut unbuilt = UNBUILT
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if unbuilt.iter().any(|failed| failed.is_subset(&wanted)) {
            panic!("{}", cannot_build(&missing));
        }
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args(["build", "--quiet"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        for name in &missing {
            cargo.args(["--example", name]);
        }
        // Lessons 09-11 need the `scale` feature; a test run with it builds every
        // lesson with it, so that the library is not built twice.
        if cfg!(feature = "scale") {
            cargo.args(["--features", "scale"]);
        }
        match profile_dir.file_name().and_then(|p| p.to_str()) {
            Some("debug") | None => {}
            Some(profile) => {
                cargo.args(["--profile", profile]);
            }
        }
        let status = cargo.status().expect("cannot run cargo");
        if !status.success() {
            unbuilt.push(wanted);
            panic!("{}", cannot_build(&missing));
        }
        built.extend(missing.iter().map(|name| name.to_string()));
    }
    let examples = profile_dir.join("examples");
    names.iter().map(|name| examples.join(name)).collect()
}

fn cannot_build(names: &[&str]) -> String {
    format!(
        "cargo could not build {}: a lesson does not compile. The compiler's messages are \
         printed above the test results (`cargo build --example {}` shows them alone); \
         every test that needs it fails like this one until it compiles.",
        names.join(", "),
        names[0]
    )
}

// ANCHOR: promised
/// The article's welcome: lesson 03 sends it to every client first.
pub const WELCOME: &str = "Welcome!";
/// The article's reply to a message, NAME standing for the message: see [`hello`].
pub const HELLO: &str = "Hello, NAME!";
/// The message that ends a session.
pub const EXIT: &str = "exit";
/// Where lessons 03, 04 and 07 listen or connect when given no address.
pub const ADDRESS: &str = "127.0.0.1:1234";
/// The article's `listen(5)`: lesson 03's default backlog.
pub const BACKLOG: &str = "5";
/// The article's `time.sleep(1)`, in ms: lesson 03's default pause after each read.
pub const PAUSE_MS: &str = "1000";

/// The article's reply to `name`: `Hello, NAME!`.
pub fn hello(name: &str) -> String {
    HELLO.replace("NAME", name)
}
// ANCHOR_END: promised

/// Something the book shows a lesson doing, which other lessons or the tests rely on,
/// and which a student is likely to change: see [`promise`].
pub struct Promise {
    /// The program that keeps it (`03_server`); empty for a promise several keep.
    pub lesson: &'static str,
    /// The promise, said as broken: "the welcome is no longer the article's `Welcome!`".
    pub said: &'static str,
    /// How it shows in what the program sends or prints, if it does: the book's text
    /// (not the tests' copy above, which a student may change), NAME in it standing for
    /// any text.
    pub key: Option<&'static str>,
    /// Where the book shows it.
    pub read: &'static str,
    /// Who relies on it.
    pub relied_on: &'static str,
}

impl Promise {
    /// The failure message: which promise changed, `found` (what the program did
    /// instead), where to read about it, who relies on it, and where to go next.
    pub fn broken(&self, found: &str) -> String {
        format!(
            "{}: {found}.\n{}; {}.\nChanged on purpose? See {CHANGING}.",
            capital(self.said),
            self.read,
            self.relied_on
        )
    }
}

/// The book's promises that a student is likely to change, each with where the book
/// shows it and who relies on it.
pub mod promise {
    use super::Promise;

    const SERVER_CHAPTER: &str = "The book's server chapter shows it (book/src/server/session.md)";
    const FLOOR_CHAPTER: &str =
        "The book's performance chapter describes the floor (book/src/performance/servers.md)";

    pub const WELCOME: Promise = Promise {
        lesson: "03_server",
        said: "the welcome is no longer the article's `Welcome!`",
        key: Some("Welcome!"),
        read: SERVER_CHAPTER,
        relied_on: "the client (lesson 04) and lesson 05 print it, and the load generator \
                    (lesson 07, which the benchmark of lesson 08 runs) checks it word for word",
    };
    pub const HELLO: Promise = Promise {
        lesson: "03_server",
        said: "the reply is no longer the article's `Hello, NAME!`",
        key: Some("Hello, NAME!"),
        read: SERVER_CHAPTER,
        relied_on: "the client (lesson 04) prints it, lesson 05 counts replies by their \
                    `Hello, `, and the load generator (lesson 07, which the benchmark of \
                    lesson 08 runs) checks every reply word for word",
    };
    pub const EXIT: Promise = Promise {
        lesson: "03_server",
        said: "the message that ends a session is no longer the article's `exit`",
        key: None,
        read: SERVER_CHAPTER,
        relied_on: "the client (lesson 04), lesson 05 and the load generator (lesson 07) \
                    send it to say goodbye",
    };
    pub const PAUSE: Promise = Promise {
        lesson: "03_server",
        said: "the default pause is no longer the article's 1000 ms (its `time.sleep(1)`)",
        key: None,
        read: "The book's server chapter explains it (book/src/server/session.md)",
        relied_on: "the client chapter's three seconds (book/src/client/run.md) and the load \
                    chapter's first run (book/src/load/threads.md) are timed with it",
    };
    pub const BACKLOG: Promise = Promise {
        lesson: "03_server",
        said: "the default backlog is no longer the article's 5 (its `listen(5)`)",
        key: Some("(backlog 5,"),
        read: "The book's chapters on listening (book/src/listen/queue.md) and on the server \
               (book/src/server/socket.md) use it",
        relied_on: "the load chapter (book/src/load/burst.md) overflows it with a burst of \
                    clients on purpose",
    };
    pub const ADDRESS: Promise = Promise {
        lesson: "",
        said: "the default address is no longer the article's `127.0.0.1:1234`",
        key: None,
        read: "The book's server and client chapters (book/src/server.md, \
               book/src/client.md) run the lessons without one",
        relied_on: "03_server, 04_client and 07_load find each other only while all three \
                    keep the same",
    };
    pub const LISTENING: Promise = Promise {
        lesson: "03_server",
        said: "the server's first line no longer says `listening on ADDRESS`",
        key: Some("listening on "),
        read: SERVER_CHAPTER,
        relied_on: "lesson 05 and the benchmark (lesson 08) read the server's address from \
                    it, and so do the tests",
    };
    pub const WAITING: Promise = Promise {
        lesson: "03_server",
        said: "the server's startup no longer ends with `waiting for client connections...`",
        key: Some("waiting for client connections"),
        read: SERVER_CHAPTER,
        relied_on: "lesson 05 reads the startup of the 03_server it starts up to that line",
    };
    pub const RECEIVED: Promise = Promise {
        lesson: "04_client",
        said: "the client's line for a reply is no longer the book's `received \"REPLY\"`",
        key: Some("received \""),
        read: "The book's client chapter shows it (book/src/client/run.md)",
        relied_on: "the tests read the replies from it",
    };
    pub const SENT: Promise = Promise {
        lesson: "04_client",
        said: "the client's line for a message is no longer the book's `sent     \"MESSAGE\"`",
        key: Some("sent     \""),
        read: "The book's client chapter shows it (book/src/client/run.md)",
        relied_on: "the tests read what was sent from it",
    };
    pub const TABLE: Promise = Promise {
        lesson: "07_load",
        said: "the load generator's table no longer has every row the book shows",
        key: None,
        read: "The book's load chapter explains each row (book/src/load/table.md)",
        relied_on: "the benchmark (lesson 08) reads 07's table by its row labels (`drive` in \
                    lessons/08_benchmark.rs), and so do the tests",
    };
    pub const FLOOR_WELCOME: Promise = Promise {
        lesson: "08_benchmark",
        said: "the floor server's welcome is no longer the article's `Welcome!`",
        key: Some("Welcome!"),
        read: FLOOR_CHAPTER,
        relied_on: "the benchmark measures it with the load generator (lesson 07), which \
                    checks the article's welcome word for word",
    };
    pub const FLOOR_HELLO: Promise = Promise {
        lesson: "08_benchmark",
        said: "the floor server's reply is no longer the article's `Hello, NAME!`",
        key: Some("Hello, NAME!"),
        read: FLOOR_CHAPTER,
        relied_on: "the benchmark measures it with the load generator (lesson 07), which \
                    checks every reply word for word",
    };

    /// Every promise above.
    pub const ALL: &[&Promise] = &[
        &WELCOME,
        &HELLO,
        &EXIT,
        &PAUSE,
        &BACKLOG,
        &ADDRESS,
        &LISTENING,
        &WAITING,
        &RECEIVED,
        &SENT,
        &TABLE,
        &FLOOR_WELCOME,
        &FLOOR_HELLO,
    ];
}

/// The promises of `lessons` that `got` no longer keeps where `expected` showed them:
/// a piece of `expected` that a promise's key matches, missing from `got`.
pub fn promises_broken(lessons: &[&str], expected: &str, got: &str) -> Vec<&'static Promise> {
    promise::ALL
        .iter()
        .copied()
        .filter(|p| lessons.contains(&p.lesson))
        .filter(|p| {
            p.key.is_some_and(|key| {
                instances(key, expected)
                    .iter()
                    .any(|piece| !got.contains(piece.as_str()))
            })
        })
        .collect()
}

/// Every piece of `text` that `key` matches, NAME in `key` standing for any text within
/// one line and without quotes.
fn instances(key: &str, text: &str) -> Vec<String> {
    let Some((before, after)) = key.split_once("NAME") else {
        return if text.contains(key) {
            vec![key.to_string()]
        } else {
            Vec::new()
        };
    };
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(before) {
        rest = &rest[at + before.len()..];
        let line = rest.split(['\n', '"']).next().unwrap_or("");
        if let Some(end) = line.find(after).filter(|&end| end > 0) {
            found.push(format!("{before}{}{after}", &line[..end]));
        }
    }
    found
}

/// The promise of `program` about a whole message such as `expected`, if there is one.
fn promise_about(program: &str, expected: &str) -> Option<&'static Promise> {
    let message = split_line_ending(expected).0;
    let matches = |key: &str| match key.split_once("NAME") {
        Some((before, after)) => {
            message.len() > before.len() + after.len()
                && message.starts_with(before)
                && message.ends_with(after)
        }
        None => message == key,
    };
    promise::ALL
        .iter()
        .copied()
        .find(|p| p.lesson == program && p.key.is_some_and(matches))
}

/// The promise of `program` about a printed line that contains `needle`, if any.
fn promise_about_line(program: &str, needle: &str) -> Option<&'static Promise> {
    let needle = needle.trim();
    promise::ALL.iter().copied().find(|p| {
        p.lesson == program
            && p.key.is_some_and(|key| {
                let key = key.trim();
                needle.contains(key) || (needle.len() >= 6 && key.contains(needle))
            })
    })
}

/// Fails unless `got` is `expected`: says which promises of `lessons` the difference
/// breaks, then shows both whole. `who` says whose text `got` is: `04_client printed`.
#[track_caller]
pub fn assert_same(lessons: &[&str], who: &str, got: &str, expected: &str) {
    if got == expected {
        return;
    }
    let expected_lines: Vec<&str> = expected.lines().collect();
    let first = got
        .lines()
        .enumerate()
        .find(|(i, line)| expected_lines.get(*i) != Some(line))
        .map_or("nothing more".to_string(), |(_, line)| format!("{line:?}"));
    let found = format!("{who} {first}");
    let mut message: Vec<String> = promises_broken(lessons, expected, got)
        .iter()
        .map(|p| p.broken(&found))
        .collect();
    message.push(format!(
        "The test expected:\n{}\n{who}:\n{}",
        indent(expected),
        indent(got)
    ));
    fail_or_note(message.join("\n"));
}

/// Fails, in the words of `promise`, unless the `--help` text `help` of `lesson` gives
/// `value` as the default of `flag`.
#[track_caller]
pub fn assert_default(lesson: &str, help: &str, flag: &str, value: &str, promise: &Promise) {
    let default = help_default(help, flag);
    if default != value {
        fail_or_note(promise.broken(&format!(
            "{lesson}'s --help says {flag} defaults to {default}"
        )));
    }
}

fn capital(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or(String::new(), |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn indent(text: &str) -> String {
    let lines: Vec<String> = text.lines().map(|line| format!("    {line}")).collect();
    if lines.is_empty() {
        "    (nothing)".to_string()
    } else {
        lines.join("\n")
    }
}

/// `text` without a trailing `\r\n` or `\n`, and that line ending.
fn split_line_ending(text: &str) -> (&str, &str) {
    if let Some(bare) = text.strip_suffix("\r\n") {
        (bare, "\r\n")
    } else if let Some(bare) = text.strip_suffix('\n') {
        (bare, "\n")
    } else {
        (text, "")
    }
}

static TOLERANT: AtomicBool = AtomicBool::new(false);
static NOTICED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// From now on, in this test process, a failed expectation about what a program sends
/// or prints is noted (see [`noticed`]) instead of failing the test, and the test goes
/// on with what came. For recording the book's transcripts after a deliberate change
/// (`UPDATE_TRANSCRIPTS=1`), when the old expectations no longer hold.
pub fn tolerate_changes() {
    TOLERANT.store(true, SeqCst);
}

/// What [`tolerate_changes`] let pass, each once, in the order noticed.
pub fn noticed() -> Vec<String> {
    NOTICED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
}

/// Fails the test with `message`; once changes are tolerated, notes it instead.
#[track_caller]
pub fn fail_or_note(message: String) {
    if !TOLERANT.load(SeqCst) {
        panic!("{message}");
    }
    let mut noticed = NOTICED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !noticed.contains(&message) {
        noticed.push(message);
    }
}

/// Like `assert!`, but only noted once changes are tolerated.
#[track_caller]
pub fn check(ok: bool, message: impl FnOnce() -> String) {
    if !ok {
        fail_or_note(message());
    }
}

/// How long to wait for a line: [`PATIENCE`], or once a tolerated change has been
/// noted, a second (what changed may mean the line never comes).
fn patience() -> Duration {
    let changed = TOLERANT.load(SeqCst) && !noticed().is_empty();
    if changed {
        Duration::from_secs(1)
    } else {
        PATIENCE
    }
}

/// The servers started so far in this test process, by the address they listen on, so
/// that a failure can name the program that sent something.
static PROGRAMS: Mutex<Vec<(SocketAddr, String)>> = Mutex::new(Vec::new());

fn note_program(addr: SocketAddr, name: &str) {
    let mut programs = PROGRAMS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    programs.retain(|(known, _)| *known != addr);
    programs.push((addr, name.to_string()));
}

/// The name of the program listening on `addr`, as the tests started it (`the server`
/// for one they did not start with [`Running`]).
pub fn program_at(addr: SocketAddr) -> String {
    let programs = PROGRAMS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    programs
        .iter()
        .find(|(known, _)| *known == addr)
        .map_or("the server".to_string(), |(_, name)| name.clone())
}

/// The name of the program `command` runs: the lesson (or Python script) it starts,
/// through a wrapper such as `sh -c '...' BINARY` or `unshare` too.
fn program_name(command: &Command) -> String {
    let name = |path: &OsStr| {
        Path::new(path)
            .file_name()
            .map_or(String::new(), |name| name.to_string_lossy().into_owned())
    };
    let mut words = std::iter::once(command.get_program()).chain(command.get_args());
    let lesson = words.find(|word| {
        let path = Path::new(word);
        path.parent().is_some_and(|dir| dir.ends_with("examples"))
            || path.extension().is_some_and(|ext| ext == "py")
    });
    name(lesson.unwrap_or(command.get_program()))
}

/// A lesson running in the background; killed when dropped.
pub struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    /// The program's name, for messages: `03_server`.
    name: String,
    /// Everything it has written to stderr so far.
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Running {
    /// Starts lesson `name` with `args`, its stdout read line by line.
    pub fn start(name: &str, args: &[&str]) -> Running {
        let mut command = Command::new(lesson(name));
        command.args(args);
        Running::spawn(command)
    }

    /// Starts any program (the Python renditions, say), its stdout read line by line
    /// for as long as it runs: a program whose stdout is closed may die writing to it.
    /// Its stderr is kept, for the messages of a failed test.
    pub fn spawn(command: Command) -> Running {
        let name = program_name(&command);
        let mut child = spawn_piped(command);
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut from = child.stderr.take().unwrap();
        let into = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut buffer = [0; 4096];
            while let Ok(n @ 1..) = from.read(&mut buffer) {
                let mut kept = into.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if kept.len() < REPORT_LIMIT {
                    kept.extend_from_slice(&buffer[..n]);
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
            name,
            stderr,
        }
    }

    /// Starts a server lesson on 127.0.0.1:0 with `args` and waits for its
    /// `listening on` line; returns it with the address it listens on.
    #[track_caller]
    pub fn server(name: &str, args: &[&str]) -> (Running, SocketAddr) {
        let mut all = vec!["127.0.0.1:0"];
        all.extend_from_slice(args);
        let mut server = Running::start(name, &all);
        let addr = server.listening_addr();
        (server, addr)
    }

    /// Waits for the next line containing `needle` and returns it. If none comes, the
    /// failure shows every line printed so far and stderr, and says which promise of
    /// the book the missing line was (`listening on`, ...). Once changes are tolerated
    /// ([`tolerate_changes`]) it returns an empty line instead.
    #[track_caller]
    pub fn expect(&mut self, needle: &str) -> String {
        let waited = patience();
        let deadline = Instant::now() + waited;
        let ended = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    break format!("within {} s", waited.as_secs_f32());
                }
                Err(RecvTimeoutError::Disconnected) => break self.how_it_ended(),
            }
        };
        let found = format!(
            "{} printed no line containing {needle:?} {ended}",
            self.name
        );
        // A promise only once the program got far enough to keep it: it printed a line.
        let promise = promise_about_line(&self.name, needle).filter(|_| !self.seen.is_empty());
        let said = promise.map_or(capital(&found) + ".", |p| p.broken(&found));
        let message = format!("{said}\n{}", self.output());
        fail_or_note(message);
        String::new()
    }

    /// How the program's stdout came to an end: it exited (and how), or it closed it.
    fn how_it_ended(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return format!("before it exited ({status})");
            }
            thread::sleep(Duration::from_millis(10));
        }
        "before it closed its stdout".to_string()
    }

    /// What the program printed so far, on stdout and on stderr, for a failure message.
    fn output(&mut self) -> String {
        let stdout = self.seen().join("\n");
        let stderr = self.stderr_text();
        let mut text = format!("It printed:\n{}", indent(&stdout));
        if !stderr.is_empty() {
            text += &format!("\nand on stderr:\n{}", indent(&stderr));
        }
        text
    }

    /// What the program has written to stderr so far.
    pub fn stderr_text(&self) -> String {
        let bytes = self
            .stderr
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Waits for the `listening on IP:PORT` line and returns the address.
    #[track_caller]
    pub fn listening_addr(&mut self) -> SocketAddr {
        let line = self.expect("listening on ");
        let after = line.split("listening on ").nth(1).unwrap_or("");
        let word = after.split_whitespace().next().unwrap_or("");
        let addr = word.trim_end_matches([',', '.', ')']).parse();
        let Ok(addr) = addr else {
            let found = format!("{} printed {line:?}, with no address after it", self.name);
            let said = promise_about_line(&self.name, "listening on ")
                .map_or(capital(&found) + ".", |p| p.broken(&found));
            panic!("{said}");
        };
        note_program(addr, &self.name);
        addr
    }

    /// Sends SIGINT to the program, as Ctrl-C in its terminal would.
    pub fn interrupt(&self) {
        self.signal("INT");
    }

    /// Sends SIGTERM to the program, as `kill` or a service manager would.
    pub fn terminate(&self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -TERM {pid} failed");
    }

    /// Waits for the program to exit, at most [`PATIENCE`], and returns its status.
    #[track_caller]
    pub fn wait_exit(&mut self) -> ExitStatus {
        if let Some(status) = exit_status(&mut self.child) {
            return status;
        }
        let output = self.output();
        panic!("{} still running after {PATIENCE:?}. {output}", self.name)
    }

    /// Every line printed so far, including those not yet read by `expect`.
    pub fn seen(&mut self) -> &[String] {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a finished lesson printed.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs lesson `name` to its end with `stdin` as input; fails the test if it takes
/// longer than [`PATIENCE`].
#[track_caller]
pub fn run(name: &str, args: &[&str], stdin: &str) -> Finished {
    let mut command = Command::new(lesson(name));
    command.args(args);
    let mut child = spawn_piped(command);
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_string();
    thread::spawn(move || input.write_all(stdin.as_bytes()));
    let stdout = read_all(child.stdout.take().unwrap());
    let stderr = read_all(child.stderr.take().unwrap());
    let Some(status) = exit_status(&mut child) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "{name} {args:?} did not finish within {PATIENCE:?}. It printed:\n{}\nand on \
             stderr:\n{}",
            indent(&stdout.join().unwrap()),
            indent(&stderr.join().unwrap())
        );
    };
    Finished {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Waits for `child` to exit, at most [`PATIENCE`]; `None` if it is still running.
fn exit_status(child: &mut Child) -> Option<ExitStatus> {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("cannot wait for the child") {
            return Some(status);
        }
        thread::sleep(Duration::from_millis(10));
    }
    None
}

/// Starts `command` with plain (uncoloured) output and all three streams piped.
fn spawn_piped(mut command: Command) -> Child {
    command
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"))
}

fn read_all(mut from: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A test's own TCP client, every read bounded by [`PATIENCE`]. Its failures name the
/// program at the other end and show what it really sent. (Its one field is its stream,
/// so a test can make one of a stream it connected itself: `Peer { stream }`.)
pub struct Peer {
    pub stream: TcpStream,
}

/// What a [`Peer`] sent last and expected last, for its failure messages; kept beside
/// it, by connection, so that a peer stays a bare stream.
#[derive(Clone, Default)]
struct Notes {
    /// What the peer sent last.
    sent: Vec<u8>,
    /// The last text it expected and got: when the next message comes after extra
    /// bytes, that text is what went on longer.
    matched: Option<String>,
}

/// The [`Notes`] of every peer, by its connection (its own address, the other end's).
static NOTES: Mutex<Vec<((SocketAddr, SocketAddr), Notes)>> = Mutex::new(Vec::new());

/// How what came from a peer ended.
enum End {
    /// Nothing more came for this long.
    Idle(Duration),
    /// The peer closed the connection.
    Closed,
    /// Nothing came before the read timed out.
    Silent(Option<Duration>),
    /// The read failed.
    Failed(io::Error),
    /// It went on sending past [`REPORT_LIMIT`] bytes or [`PATIENCE`].
    More,
    /// It is what one read returned.
    OneRead,
}

impl End {
    fn of(err: io::Error, stream: &TcpStream) -> End {
        if is_timeout(&err) {
            End::Silent(stream.read_timeout().ok().flatten())
        } else {
            End::Failed(err)
        }
    }

    /// How it ended, after what came.
    fn then(&self) -> String {
        match self {
            End::Idle(gap) => format!("then nothing more for {} ms", gap.as_millis()),
            End::Closed => "then it closed the connection".into(),
            End::Silent(Some(t)) => format!("then nothing for {} s", t.as_secs_f32()),
            End::Silent(None) => "then nothing".into(),
            End::Failed(err) => format!("then the connection failed ({err})"),
            End::More => "and more (this is the start)".into(),
            End::OneRead => "in one read".into(),
        }
    }

    /// Why nothing came.
    fn nothing(&self) -> String {
        match self {
            End::Closed => "it closed the connection".into(),
            End::Silent(Some(t)) => format!("nothing came within {} s", t.as_secs_f32()),
            End::Failed(err) => format!("the connection failed ({err})"),
            _ => "nothing came".into(),
        }
    }
}

fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Reads on into `got` until nothing more comes for `gap`, the peer closes, or
/// [`REPORT_LIMIT`] bytes or [`PATIENCE`] have passed; says which.
fn read_on(stream: &TcpStream, got: &mut Vec<u8>, gap: Duration) -> End {
    let before = stream.read_timeout().ok().flatten();
    let _ = stream.set_read_timeout(Some(gap));
    let deadline = Instant::now() + PATIENCE;
    let mut buffer = [0; 4096];
    let end = loop {
        if got.len() >= REPORT_LIMIT || Instant::now() > deadline {
            break End::More;
        }
        match (&mut &*stream).read(&mut buffer) {
            Ok(0) => break End::Closed,
            Ok(n) => got.extend_from_slice(&buffer[..n]),
            Err(err) if is_timeout(&err) => break End::Idle(gap),
            Err(err) => break End::Failed(err),
        }
    };
    let _ = stream.set_read_timeout(before);
    end
}

impl Peer {
    /// This connection: its own address and the other end's.
    fn connection(&self) -> Option<(SocketAddr, SocketAddr)> {
        Some((
            self.stream.local_addr().ok()?,
            self.stream.peer_addr().ok()?,
        ))
    }

    /// What this peer sent and expected last.
    fn notes(&self) -> Notes {
        let Some(connection) = self.connection() else {
            return Notes::default();
        };
        let notes = NOTES
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        notes
            .iter()
            .find(|(known, _)| *known == connection)
            .map_or(Notes::default(), |(_, notes)| notes.clone())
    }

    /// Changes what this peer noted.
    fn note(&self, change: impl FnOnce(&mut Notes)) {
        let Some(connection) = self.connection() else {
            return;
        };
        let mut notes = NOTES
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match notes.iter_mut().find(|(known, _)| *known == connection) {
            Some((_, found)) => change(found),
            None => {
                let mut new = Notes::default();
                change(&mut new);
                notes.push((connection, new));
            }
        }
    }

    /// The program at the other end, as the tests started it (`03_server`).
    fn program(&self) -> String {
        self.stream
            .peer_addr()
            .map_or("the server".to_string(), program_at)
    }

    #[track_caller]
    pub fn connect(addr: SocketAddr) -> Peer {
        let stream = TcpStream::connect_timeout(&addr, PATIENCE)
            .unwrap_or_else(|e| panic!("cannot connect to {} at {addr}: {e}", program_at(addr)));
        Peer::from_stream(stream)
    }

    /// Connects to `addr` and reads its welcome, whatever its words: for the tests that
    /// are not about the welcome. (See [`Peer::read_message`].)
    #[track_caller]
    pub fn welcomed(addr: SocketAddr) -> Peer {
        let mut peer = Peer::connect(addr);
        peer.read_message(WELCOME);
        peer
    }

    #[track_caller]
    pub fn send(&mut self, bytes: &[u8]) {
        if let Err(err) = self.stream.write_all(bytes) {
            panic!(
                "sending {:?} to {} failed: {err}",
                String::from_utf8_lossy(bytes),
                self.program()
            );
        }
        self.note(|notes| notes.sent = bytes.to_vec());
    }

    /// Sends `message` and reads the reply, whatever its words: for the tests that are
    /// not about the reply. Returns it. (See [`Peer::read_message`], with the article's
    /// `Hello, NAME!` as the reply it expects.)
    #[track_caller]
    pub fn round_trip(&mut self, message: &[u8]) -> String {
        self.send(message);
        let text = String::from_utf8_lossy(message);
        let (name, ending) = split_line_ending(&text);
        self.read_message(&(hello(name) + ending))
    }

    /// Reads one message: `expected`, or whatever the program sends instead. Reads up to
    /// `expected` while what comes matches it, and then what has already arrived after
    /// it; once it does not match, it takes what has come and what follows within a few
    /// milliseconds (a message written at once). Fails only when nothing comes at all.
    #[track_caller]
    pub fn read_message(&mut self, expected: &str) -> String {
        let (mut got, end) = self.read_up_to(expected, SETTLE);
        if end.is_none() {
            // `expected` came; a message that goes on past it ("Hello, NAME! ...") was
            // written at once, and its rest is here already: take it too.
            self.take_what_is_there(&mut got);
        }
        if got.is_empty() {
            let why = end.map_or("nothing came".into(), |end| end.nothing());
            fail_or_note(format!(
                "{} sent nothing where a message was due: {why}.",
                capital(&self.program())
            ));
        }
        String::from_utf8_lossy(&got).into_owned()
    }

    /// Appends to `got` whatever has arrived and not been read yet, without waiting.
    fn take_what_is_there(&self, got: &mut Vec<u8>) {
        if self.stream.set_nonblocking(true).is_err() {
            return;
        }
        let mut buffer = [0; 4096];
        while got.len() < REPORT_LIMIT {
            match (&mut &self.stream).read(&mut buffer) {
                Ok(n @ 1..) => got.extend_from_slice(&buffer[..n]),
                _ => break,
            }
        }
        let _ = self.stream.set_nonblocking(false);
    }

    /// Reads up to `expected` while what comes matches it; once it does not, on until
    /// nothing more comes for `gap`. Returns what came, and how it ended if it is not
    /// `expected`.
    fn read_up_to(&mut self, expected: &str, gap: Duration) -> (Vec<u8>, Option<End>) {
        let want = expected.as_bytes();
        let mut got = Vec::new();
        loop {
            if got.len() == want.len() {
                self.note(|notes| notes.matched = Some(expected.to_string()));
                return (got, None);
            }
            // No further than the expected text: what follows belongs to the next one.
            let mut buffer = vec![0; want.len() - got.len()];
            match self.stream.read(&mut buffer) {
                Ok(0) => return (got, Some(End::Closed)),
                Ok(n) => {
                    got.extend_from_slice(&buffer[..n]);
                    if !want.starts_with(&got) {
                        let end = read_on(&self.stream, &mut got, gap);
                        return (got, Some(end));
                    }
                }
                Err(err) => return (got, Some(End::of(err, &self.stream))),
            }
        }
    }

    /// One read of up to 1024 bytes, as the article's client does.
    #[track_caller]
    pub fn recv(&mut self) -> Vec<u8> {
        let mut buf = [0; 1024];
        match self.stream.read(&mut buf) {
            Ok(n) => buf[..n].to_vec(),
            Err(err) => {
                let end = End::of(err, &self.stream);
                fail_or_note(format!(
                    "Waiting for {} to send something{}: {}.",
                    self.program(),
                    self.after_sent(),
                    end.nothing()
                ));
                Vec::new()
            }
        }
    }

    /// One read, as text.
    #[track_caller]
    pub fn recv_text(&mut self) -> String {
        let bytes = self.recv();
        String::from_utf8(bytes).unwrap_or_else(|err| {
            let lossy = String::from_utf8_lossy(err.as_bytes()).into_owned();
            panic!(
                "{} sent bytes that are not UTF-8: {lossy:?}",
                self.program()
            )
        })
    }

    /// Reads until `expected` has come, and compares. Reads no further than `expected`
    /// while what comes matches it; when it stops matching, reads on until the program
    /// falls silent for [`IDLE_GAP`] or closes, and fails showing all that came, with
    /// the promise of the book it breaks, if any.
    #[track_caller]
    pub fn expect(&mut self, expected: &str) {
        let previous = self.notes().matched;
        self.note(|notes| notes.matched = None);
        let (got, end) = self.read_up_to(expected, IDLE_GAP);
        let Some(end) = end else { return };
        let message = self.unexpected(expected, &got, &end, previous.as_deref());
        fail_or_note(message);
    }

    /// One read, as the article's client does it, and compares: the whole of `expected`
    /// must come in that read.
    #[track_caller]
    pub fn expect_read(&mut self, expected: &str) {
        let previous = self.notes().matched;
        self.note(|notes| notes.matched = None);
        let mut buffer = [0; 1024];
        let (got, end) = match self.stream.read(&mut buffer) {
            Ok(0) => (Vec::new(), End::Closed),
            Ok(n) => (buffer[..n].to_vec(), End::OneRead),
            Err(err) => (Vec::new(), End::of(err, &self.stream)),
        };
        if got == expected.as_bytes() {
            self.note(|notes| notes.matched = Some(expected.to_string()));
            return;
        }
        let mut message = self.unexpected(expected, &got, &end, previous.as_deref());
        if !got.is_empty() && expected.as_bytes().starts_with(&got) {
            message += " The rest may have come in a later read: TCP does not keep \
                        messages apart (lesson 05), but over loopback a short message \
                        written at once comes in one read.";
        }
        fail_or_note(message);
    }

    /// The failure message when `got` came instead of `expected`.
    fn unexpected(&self, expected: &str, got: &[u8], end: &End, previous: Option<&str>) -> String {
        let program = &self.program();
        let text = String::from_utf8_lossy(got);
        if got.is_empty() {
            return format!(
                "The test expected {expected:?}{}; {program} sent nothing: {}.",
                self.after_sent(),
                end.nothing()
            );
        }
        let details = format!(
            "The test expected {expected:?}{}; {program} sent {text:?}, {}.",
            self.after_sent(),
            end.then()
        );
        // The expected message came after extra bytes: the previous one went on longer.
        let extra = text.find(expected).filter(|&at| at > 0);
        let promise = match (extra, previous) {
            (Some(at), Some(previous)) => promise_about(program, previous).map(|p| {
                let more = &text[..at];
                p.broken(&format!("{program} sent {more:?} right after {previous:?}"))
            }),
            _ => promise_about(program, expected)
                .map(|p| p.broken(&format!("{program} sent {text:?}"))),
        };
        match promise {
            Some(promise) => format!("{promise}\n{details}"),
            None => details,
        }
    }

    /// ` after it was sent "..."`, naming what this peer sent last, if anything.
    fn after_sent(&self) -> String {
        let sent = self.notes().sent;
        if sent.is_empty() {
            String::new()
        } else {
            let sent = String::from_utf8_lossy(&sent);
            format!(" after it was sent {sent:?}")
        }
    }

    /// Asserts that the server closes the connection (a read of 0 bytes). If it sends
    /// something instead, the failure shows all it sent; if this peer had just sent
    /// `exit`, it says that the book's `exit` no longer ends a session.
    #[track_caller]
    pub fn expect_closed(&mut self) {
        let mut buffer = [0; 1024];
        let (got, end) = match self.stream.read(&mut buffer) {
            Ok(0) => return,
            Ok(n) => {
                let mut got = buffer[..n].to_vec();
                let end = read_on(&self.stream, &mut got, IDLE_GAP);
                (got, end)
            }
            Err(err) => (Vec::new(), End::of(err, &self.stream)),
        };
        let program = &self.program();
        let sent = String::from_utf8_lossy(&self.notes().sent).into_owned();
        let text = String::from_utf8_lossy(&got);
        let found = if got.is_empty() {
            format!(
                "expected {program} to close the connection{}, but {}",
                self.after_sent(),
                end.nothing()
            )
        } else {
            format!(
                "{program} answered {sent:?} with {text:?} ({}) instead of closing the \
                 connection",
                end.then()
            )
        };
        // After `exit`, a server of the article closes the session.
        let exit_sent = split_line_ending(&sent).0 == EXIT && !matches!(end, End::Failed(_));
        let message = if exit_sent && *program == promise::EXIT.lesson {
            promise::EXIT.broken(&found)
        } else {
            capital(&found) + "."
        };
        fail_or_note(message);
    }
}

/// Closes `peer` with a reset (RST) instead of the usual FIN: SO_LINGER with a zero
/// timeout makes close() abort the connection.
pub fn reset(peer: Peer) {
    let socket = socket2::Socket::from(peer.stream);
    socket.set_linger(Some(Duration::ZERO)).unwrap();
    drop(socket);
}

/// The `python3` command, if this machine has one.
pub fn python3() -> Option<&'static str> {
    let works = Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    works.then_some("python3")
}

/// The path of one of the project's Python renditions under lessons/python/.
pub fn python_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("lessons/python")
        .join(name)
}

/// Says on the terminal that a test could not run, and why. (Written to stderr
/// directly: the test harness would hide an `eprintln!`.)
pub fn skip(why: &str) {
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}

/// The project's Python rendition of the article's server on a free port, with no
/// pause; `None` (and a line saying the test was skipped) when python3 is missing.
pub fn python_server() -> Option<(Running, SocketAddr)> {
    let Some(python) = python3() else {
        skip("python3 is not installed, the article's Python server cannot run");
        return None;
    };
    let mut command = Command::new(python);
    command
        .arg(python_file("article_server.py"))
        .args(["0", "0"]);
    let mut server = Running::spawn(command);
    let addr = server.listening_addr();
    Some((server, addr))
}

/// An address where nothing listens: a port that was free a moment ago (bound, noted,
/// let go).
pub fn nothing_listening() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|free| free.local_addr())
        .expect("no free port on 127.0.0.1")
}
/// Runs `command` to its end with `stdin` as input, as [`run`] does, for what `run`
/// cannot say: a wrapper (`sh -c 'ulimit -n 64; exec ...'`, `unshare`), or input that
/// is not UTF-8.
pub fn run_command(command: Command, stdin: &[u8]) -> Finished {
    let mut child = spawn_piped(command);
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    thread::spawn(move || input.write_all(&stdin));
    finish(child)
}

/// Waits at most [`PATIENCE`] for `child` to exit (killing it and failing the test if
/// it does not), and returns its status with what is left to read of its stdout and
/// stderr (a stream the test has taken reads as empty).
pub fn finish(mut child: Child) -> Finished {
    let stdout = child.stdout.take().map(read_all);
    let stderr = child.stderr.take().map(read_all);
    let text = |output: Option<thread::JoinHandle<String>>| {
        output.map_or(String::new(), |reader| reader.join().unwrap())
    };
    let Some(status) = exit_status(&mut child) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "still running after {PATIENCE:?}; it printed:\n{}",
            text(stdout)
        );
    };
    Finished {
        status,
        stdout: text(stdout),
        stderr: text(stderr),
    }
}

impl Running {
    /// The program's process id (for `nsenter --target`, `/proc/PID/...`).
    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

/// The default that a lesson's `--help` text gives for `flag` (or for an argument such
/// as `NAME ...`): the words after `(default` or `(default:` in the flag's entry, up
/// to `)`, `,` or `;`.
pub fn help_default(help: &str, flag: &str) -> String {
    let mut lines = help
        .lines()
        .skip_while(|line| !line.trim_start().starts_with(flag));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("--help has no entry for {flag}:\n{help}"));
    // The entry goes on over the lines indented further than its flag.
    let more = lines.take_while(|line| line.starts_with("       ") && !line.trim().is_empty());
    let entry: Vec<&str> = std::iter::once(first).chain(more).map(str::trim).collect();
    let entry = entry.join(" ");
    let after = entry
        .split("(default")
        .nth(1)
        .unwrap_or_else(|| panic!("--help gives no default for {flag}: {entry}"));
    after
        .trim_start_matches(':')
        .split([')', ',', ';'])
        .next()
        .unwrap()
        .trim()
        .to_string()
}

/// A program started with streams of the test's own choosing; killed when dropped.
pub struct Started(pub Child);

impl Started {
    /// Starts `command` as it is (no streams changed, except `NO_COLOR`).
    pub fn spawn(mut command: Command) -> Started {
        command.env("NO_COLOR", "1");
        Started(
            command
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}")),
        )
    }

    /// Whether the program is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The CPU time a process has used so far (user + system), in clock ticks, from the
/// 14th and 15th fields of `/proc/PID/stat` (Linux).
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/stat: {e}"));
    // The name in parentheses may hold spaces: count the fields after its `)`.
    let after_name = &stat[stat.rfind(')').expect("no ) in /proc/PID/stat") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Field 3 (the state) is fields[0] here, so utime (14) and stime (15) are [11], [12].
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Clock ticks per second, the unit of [`cpu_ticks`] (`getconf CLK_TCK`; 100 on Linux).
pub fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// The memory mappings a process holds now: the lines of `/proc/PID/maps` (Linux).
pub fn count_maps(pid: u32) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/maps: {e}"))
        .lines()
        .count()
}

/// The IPv4 address a process listens on, found without its stdout (Linux): the
/// socket inodes among `/proc/PID/fd`, looked up in `/proc/net/tcp` (state 0A is
/// LISTEN). Waits up to [`PATIENCE`] for the process to listen.
pub fn listening_addr_of(pid: u32) -> SocketAddr {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .filter_map(|link| {
                let link = link.to_string_lossy().into_owned();
                let inode = link.strip_prefix("socket:[")?.strip_suffix(']')?;
                Some(inode.to_string())
            })
            .collect();
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
        for row in table.lines().skip(1) {
            let cols: Vec<&str> = row.split_whitespace().collect();
            if cols.len() > 9 && cols[3] == "0A" && inodes.iter().any(|i| i == cols[9]) {
                // The local address as HEX_IP:HEX_PORT; the IP is a number printed in this
                // machine's byte order, its bytes in network order.
                let (ip, port) = cols[1].split_once(':').unwrap();
                let ip = u32::from_str_radix(ip, 16).unwrap();
                let ip = std::net::Ipv4Addr::from(ip.to_ne_bytes());
                let port = u16::from_str_radix(port, 16).unwrap();
                return SocketAddr::from((ip, port));
            }
        }
        assert!(
            Instant::now() < deadline,
            "process {pid} did not listen on IPv4 within {PATIENCE:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

impl Peer {
    /// A peer over a stream connected elsewhere, every read and write bounded by
    /// [`PATIENCE`] as in [`Peer::connect`].
    pub fn from_stream(stream: TcpStream) -> Peer {
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream.set_write_timeout(Some(PATIENCE)).unwrap();
        let peer = Peer { stream };
        // A new connection: nothing sent or expected yet, whatever an old one on the
        // same ports noted.
        peer.note(|notes| *notes = Notes::default());
        peer
    }
}

/// Whether a TCP connection on local port `port` is in TIME_WAIT now (state 06 in
/// `/proc/net/tcp`, Linux); waits up to a second for one to appear.
pub fn time_wait_on(port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
        let found = table.lines().skip(1).any(|row| {
            let cols: Vec<&str> = row.split_whitespace().collect();
            let local_port = cols.get(1).and_then(|a| a.split_once(':')).map(|(_, p)| p);
            cols.get(3) == Some(&"06")
                && local_port.and_then(|p| u16::from_str_radix(p, 16).ok()) == Some(port)
        });
        if found || Instant::now() > deadline {
            return found;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

impl Running {
    /// Sends the signal `name` (`TERM`, `HUP`, ...) to the program, as `kill -NAME` does.
    ///
    /// Through the C library's `kill` (Unix). Windows has no signals to send to another
    /// process: the tests that need one run on Unix only.
    #[cfg(unix)]
    pub fn signal(&self, name: &str) {
        let number = match name {
            "INT" => libc::SIGINT,
            "TERM" => libc::SIGTERM,
            "HUP" => libc::SIGHUP,
            "KILL" => libc::SIGKILL,
            "STOP" => libc::SIGSTOP,
            "CONT" => libc::SIGCONT,
            other => panic!("this test helper does not know the signal {other}"),
        };
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill only sends a signal to the process `pid`, our own child.
        let sent = unsafe { libc::kill(pid, number) };
        assert_eq!(
            sent,
            0,
            "kill -{name} {pid} failed: {}",
            std::io::Error::last_os_error()
        );
    }

    #[cfg(not(unix))]
    pub fn signal(&self, name: &str) {
        panic!("SIG{name} cannot be sent to another process on this system; this test is for Unix");
    }
}

/// What `ss` prints for `args` (such as `["-tno", "( sport = :4000 )"]`); `None`, with a
/// line saying the test was skipped, where `ss` (Linux's iproute2) cannot run.
pub fn ss(args: &[&str]) -> Option<String> {
    match Command::new("ss").args(args).output() {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into()),
        _ => {
            skip("`ss` (iproute2) cannot run here");
            None
        }
    }
}
