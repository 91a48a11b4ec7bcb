//! What the black-box tests share: build a lesson as a student would, start it, read
//! what it prints (each read with a timeout), and talk to it over real sockets.
//!
//! Every server is started on 127.0.0.1 port 0 and the tests read the port it really
//! got from its `listening on IP:PORT` line, so tests run in parallel without clashing.
#![allow(dead_code)] // each test file uses its own part of this module

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single wait in a test may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The path of a lesson's binary, built (once per test process) with the same profile
/// as this test, so `cargo test --test NAME` works on a fresh checkout too.
pub fn lesson(name: &str) -> PathBuf {
    lessons(&[name]).remove(0)
}

/// Like [`lesson`], for several at once: one cargo run builds those not built yet.
pub fn lessons(names: &[&str]) -> Vec<PathBuf> {
    static BUILT: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
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
        assert!(status.success(), "cargo build of {missing:?} failed");
        built.extend(missing.iter().map(|name| name.to_string()));
    }
    let examples = profile_dir.join("examples");
    names.iter().map(|name| examples.join(name)).collect()
}

/// A lesson running in the background; killed when dropped.
pub struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
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
    pub fn spawn(command: Command) -> Running {
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
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Starts a server lesson on 127.0.0.1:0 with `args` and waits for its
    /// `listening on` line; returns it with the address it listens on.
    pub fn server(name: &str, args: &[&str]) -> (Running, SocketAddr) {
        let mut all = vec!["127.0.0.1:0"];
        all.extend_from_slice(args);
        let mut server = Running::start(name, &all);
        let addr = server.listening_addr();
        (server, addr)
    }

    /// Waits for the next line containing `needle` and returns it.
    pub fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line containing {needle:?} within {PATIENCE:?}; it printed:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Waits for the `listening on IP:PORT` line and returns the address.
    pub fn listening_addr(&mut self) -> SocketAddr {
        let line = self.expect("listening on ");
        let after = line.split("listening on ").nth(1).unwrap();
        let word = after.split_whitespace().next().unwrap();
        word.trim_end_matches([',', '.', ')'])
            .parse()
            .unwrap_or_else(|e| panic!("bad address in {line:?}: {e}"))
    }

    /// Sends SIGINT to the program, as Ctrl-C in its terminal would.
    pub fn interrupt(&self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-INT", &pid]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -INT {pid} failed");
    }

    /// Sends SIGTERM to the program, as `kill` or a service manager would.
    pub fn terminate(&self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -TERM {pid} failed");
    }

    /// Waits for the program to exit, at most [`PATIENCE`], and returns its status.
    pub fn wait_exit(&mut self) -> ExitStatus {
        exit_status(&mut self.child).unwrap_or_else(|| {
            panic!(
                "still running after {PATIENCE:?}; it printed:\n{}",
                self.seen().join("\n")
            )
        })
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
            "{name} {args:?} did not finish within {PATIENCE:?}; it printed:\n{}",
            stdout.join().unwrap()
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

/// A test's own TCP client, every read bounded by [`PATIENCE`].
pub struct Peer {
    pub stream: TcpStream,
}

impl Peer {
    pub fn connect(addr: SocketAddr) -> Peer {
        let stream = TcpStream::connect_timeout(&addr, PATIENCE)
            .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream.set_write_timeout(Some(PATIENCE)).unwrap();
        Peer { stream }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send failed");
    }

    /// One read of up to 1024 bytes, as the article's client does.
    pub fn recv(&mut self) -> Vec<u8> {
        let mut buf = [0; 1024];
        let n = self
            .stream
            .read(&mut buf)
            .expect("read failed or timed out");
        buf[..n].to_vec()
    }

    /// One read, as text.
    pub fn recv_text(&mut self) -> String {
        String::from_utf8(self.recv()).expect("reply is not UTF-8")
    }

    /// Reads until exactly `expected.len()` bytes have come, and compares.
    pub fn expect(&mut self, expected: &str) {
        let mut got = vec![0; expected.len()];
        self.stream
            .read_exact(&mut got)
            .unwrap_or_else(|e| panic!("waiting for {expected:?}: {e}"));
        assert_eq!(String::from_utf8_lossy(&got), expected);
    }

    /// Asserts that the server closes the connection (a read of 0 bytes).
    pub fn expect_closed(&mut self) {
        assert_eq!(
            self.recv(),
            b"",
            "expected the server to close the connection"
        );
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
