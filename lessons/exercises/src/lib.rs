//! The exercise checker: runs a student's exercise as a black box, over real sockets,
//! and says which checks pass, what was expected, what came back, and a hint.
//!
//! `cargo exercise ex03_count` (or `cargo run -p exercises -- ex03_count`) builds and
//! checks one exercise; `cargo exercise` lists them all with their state. The package's
//! tests use the same checks to prove that every solution passes, that every starter as
//! shipped fails, and that every wrong solution under `wrong/` is rejected with the hint
//! that names its mistake.
//!
//! Each exercise lists its checks in one of the `exNN` modules. A check is a function
//! that gets the built program ([`Program`]) and returns `Ok(())` or a [`Mismatch`].

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

mod ex01;
mod ex02;
mod ex03;
mod ex04;
mod ex05;
mod ex06;
mod ex09;
mod ex10;
mod ex12;
pub mod profile;
pub mod shipped;
pub mod wrong;

/// How long a check waits for any one thing (a line, a reply, an exit). On Windows a
/// connection to a loopback port where nothing listens is reported refused only after
/// about 2 s (its TCP stack tries the SYN again before giving up, where Linux and macOS
/// answer the RST at once — reported for Windows, not run here), so ex04_retry's six
/// attempts alone take some 12 s there: Windows gets more time.
pub const WAIT: Duration = if cfg!(windows) {
    Duration::from_secs(20)
} else {
    Duration::from_secs(3)
};

/// One exercise: a starter `lessons/exercises/NAME.rs` (the program `NAME`), its
/// solution `lessons/exercises/solutions/NAME.rs` (the program `NAME_solution`), and
/// its checks.
pub struct Exercise {
    /// Also the program name of the starter, such as `ex03_count`.
    pub name: &'static str,
    /// The lesson it builds on, such as `03_server`.
    pub lesson: &'static str,
    /// The task in one line.
    pub task: &'static str,
    pub checks: &'static [Check],
}

/// One check of an exercise.
pub struct Check {
    /// What it checks, as the student reads it: "a second message is answered (message 2)".
    pub what: &'static str,
    /// Said when the check fails: where to look, what to try.
    pub hint: &'static str,
    pub run: fn(&Program) -> Result<(), Mismatch>,
}

/// What a failed check expected, and what came back instead.
#[derive(Debug)]
pub struct Mismatch {
    pub expected: String,
    pub got: String,
}

impl Mismatch {
    pub fn new(expected: impl Into<String>, got: impl Into<String>) -> Mismatch {
        Mismatch {
            expected: expected.into(),
            got: got.into(),
        }
    }
}

impl From<io::Error> for Mismatch {
    fn from(err: io::Error) -> Mismatch {
        Mismatch::new("the conversation to go on", format!("an error: {err}"))
    }
}

/// The program to check could not be started at all: no check ran. Not the student's
/// code's fault (a build that is missing, a file that cannot be run), so no hint.
#[derive(Debug)]
pub struct NotStarted {
    pub path: PathBuf,
    pub error: io::Error,
}

impl std::fmt::Display for NotStarted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot start {}: {}. No check ran: this is not about your code, the \
             program itself is missing or cannot be run",
            self.path.display(),
            self.error
        )
    }
}

/// Every exercise, in the order of the lessons.
pub fn exercises() -> Vec<&'static Exercise> {
    [
        ex01::ALL,
        ex02::ALL,
        ex03::ALL,
        ex04::ALL,
        ex05::ALL,
        ex06::ALL,
        ex09::ALL,
        ex10::ALL,
        ex12::ALL,
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The cargo features of this package: which programs need one (their
/// `required-features` in Cargo.toml), and which this build has on. Made by build.rs.
pub mod features {
    include!(concat!(env!("OUT_DIR"), "/features.rs"));

    /// The features the program `name` needs: `["scale"]` for ex09 and ex10, whose
    /// crates (mio, tokio) the other exercises do not compile.
    pub fn of(name: &str) -> &'static [&'static str] {
        REQUIRED
            .iter()
            .find(|(program, _)| *program == name)
            .map_or(&[], |(_, features)| features)
    }

    /// Whether this build has every one of `features` on.
    pub fn on(features: &[&str]) -> bool {
        features.iter().all(|f| ENABLED.contains(f))
    }
}

impl Exercise {
    /// The cargo features its programs need (the starter's, which its solution shares).
    pub fn features(&self) -> &'static [&'static str] {
        features::of(self.name)
    }
}

/// The exercise called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Exercise> {
    exercises().into_iter().find(|e| e.name == name)
}

/// What each check of `exercise` says about `program`, or why none could run.
pub type Results = Vec<(&'static Check, Result<(), Mismatch>)>;

/// Runs every check of `exercise` against `program`.
pub fn run_checks(exercise: &Exercise, program: &Program) -> Result<Results, NotStarted> {
    program.can_start()?;
    // Every check starts its own copy of the program on its own port, so the checks
    // run side by side: a failing one waits at most WAIT, not WAIT per check.
    Ok(thread::scope(|scope| {
        let runs: Vec<_> = exercise
            .checks
            .iter()
            .map(|check| (check, scope.spawn(|| (check.run)(program))))
            .collect();
        runs.into_iter()
            .map(|(check, run)| {
                let result = run.join().unwrap_or_else(|_| {
                    Err(Mismatch::new(
                        "the check to finish",
                        "the check itself panicked",
                    ))
                });
                (check, result)
            })
            .collect()
    }))
}

/// The first check of `exercise` that `program` fails, if any; the checks after it are
/// not run.
pub fn first_failure(
    exercise: &Exercise,
    program: &Program,
) -> Result<Option<(&'static Check, Mismatch)>, NotStarted> {
    program.can_start()?;
    Ok(exercise
        .checks
        .iter()
        .find_map(|check| (check.run)(program).err().map(|mismatch| (check, mismatch))))
}

/// A built exercise program, ready to be run by a check.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    path: PathBuf,
    /// For the program that holds every wrong solution: which one to be.
    wrong: Option<String>,
}

impl Program {
    pub fn new(path: &Path) -> Program {
        Program {
            path: path.to_path_buf(),
            wrong: None,
        }
    }

    /// The wrong solution `name`, from the program `wrong` at `path`.
    pub fn wrong(path: &Path, name: &str) -> Program {
        Program {
            path: path.to_path_buf(),
            wrong: Some(name.to_string()),
        }
    }

    /// Starts the program once (with `--help`, so that it ends at once) to see whether
    /// it can be started at all.
    fn can_start(&self) -> Result<(), NotStarted> {
        let mut command = self.command(&["--help"]);
        command.stdout(Stdio::null()).stderr(Stdio::null());
        match command.spawn() {
            Ok(mut child) => {
                let _ = child.kill();
                let _ = child.wait();
                Ok(())
            }
            Err(error) => Err(NotStarted {
                path: self.path.clone(),
                error,
            }),
        }
    }

    /// Runs the program with `args` and `stdin` to its end (at most [`WAIT`]).
    pub fn run(&self, args: &[&str], stdin: &str) -> Result<Finished, Mismatch> {
        let mut child = self.spawn(args)?;
        let mut input = child.stdin.take().expect("piped");
        let stdin = stdin.to_string();
        thread::spawn(move || input.write_all(stdin.as_bytes()));
        let stdout = read_all(child.stdout.take().expect("piped"));
        let stderr = read_all(child.stderr.take().expect("piped"));
        let status = wait_for_exit(&mut child).ok_or_else(|| {
            let _ = child.kill();
            Mismatch::new(
                "the program to finish",
                format!("still running after {WAIT:?}"),
            )
        })?;
        Ok(Finished {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        })
    }

    /// Starts the program as a server on 127.0.0.1:0 (then `args`), and waits for its
    /// `listening on IP:PORT` line.
    pub fn server(&self, args: &[&str]) -> Result<Server, Mismatch> {
        let mut all = vec!["127.0.0.1:0"];
        all.extend_from_slice(args);
        self.server_at(&all)
    }

    /// Starts the program with exactly `args` and waits for its `listening on` line.
    pub fn server_at(&self, args: &[&str]) -> Result<Server, Mismatch> {
        let mut child = self.spawn(args)?;
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped");
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            lines,
            seen: Vec::new(),
            addr: "127.0.0.1:0".parse().expect("an address"),
        };
        let line = server.expect_line("listening on ")?;
        let word = line
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_default()
            .trim_end_matches([',', '.', ')']);
        server.addr = word
            .parse()
            .map_err(|_| Mismatch::new("listening on IP:PORT", line.clone()))?;
        Ok(server)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.path);
        command.args(args).env("NO_COLOR", "1");
        if let Some(name) = &self.wrong {
            command.env(wrong::WHICH, name);
        }
        command
    }

    fn spawn(&self, args: &[&str]) -> Result<Child, Mismatch> {
        self.command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| Mismatch::new("the program to start", err.to_string()))
    }
}

/// What a finished program printed.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// A running server; stopped when dropped.
pub struct Server {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Server {
    /// Waits (at most [`WAIT`]) for the next line of its output that contains `needle`.
    pub fn expect_line(&mut self, needle: &str) -> Result<String, Mismatch> {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return Ok(line);
                    }
                }
                Err(_) => {
                    let got = match self.seen.last() {
                        Some(last) => format!("its last line was {last:?}"),
                        None => "no output at all".into(),
                    };
                    return Err(Mismatch::new(format!("a line with {needle:?}"), got));
                }
            }
        }
    }

    /// Connects a client to it.
    pub fn connect(&self) -> Result<Conn, Mismatch> {
        Conn::connect(self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A check's own TCP connection; every read waits at most [`WAIT`].
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn connect(addr: SocketAddr) -> Result<Conn, Mismatch> {
        let stream = TcpStream::connect_timeout(&addr, WAIT)
            .map_err(|err| Mismatch::new(format!("to connect to {addr}"), err.to_string()))?;
        Conn::from_stream(stream).map_err(Mismatch::from)
    }

    pub fn from_stream(stream: TcpStream) -> io::Result<Conn> {
        stream.set_read_timeout(Some(WAIT))?;
        stream.set_write_timeout(Some(WAIT))?;
        Ok(Conn {
            reader: BufReader::new(stream),
        })
    }

    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }

    pub fn send(&mut self, bytes: &[u8]) -> Result<(), Mismatch> {
        self.reader
            .get_mut()
            .write_all(bytes)
            .map_err(Mismatch::from)
    }

    /// Reads one line and returns it without its `\n` (or `\r\n`). Bytes that came
    /// without a line ending are shown in the mismatch.
    pub fn line(&mut self) -> Result<String, Mismatch> {
        let mut line = Vec::new();
        let result = self.reader.read_until(b'\n', &mut line);
        let text = String::from_utf8_lossy(&line);
        match result {
            Ok(0) => Err(Mismatch::new("a line", "the connection closed")),
            Ok(_) => Ok(text.trim_end_matches(['\n', '\r']).to_string()),
            Err(err) if line.is_empty() => Err(Mismatch::new("a line", describe(&err))),
            // `read_until` keeps what it read before the error.
            Err(err) => Err(Mismatch::new(
                "a line",
                format!("{text:?} with no line ending, then {}", describe(&err)),
            )),
        }
    }

    /// Reads exactly `expected.len()` bytes and compares them with `expected`.
    pub fn expect(&mut self, expected: &str) -> Result<(), Mismatch> {
        let mut got = vec![0; expected.len()];
        let mut filled = 0;
        while filled < got.len() {
            match read_once(&mut self.reader, &mut got[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(err) => {
                    let so_far = String::from_utf8_lossy(&got[..filled]);
                    return Err(Mismatch::new(
                        format!("{expected:?}"),
                        format!("{so_far:?}, then {}", describe(&err)),
                    ));
                }
            }
        }
        let got = String::from_utf8_lossy(&got[..filled]);
        if got == expected {
            Ok(())
        } else {
            Err(Mismatch::new(format!("{expected:?}"), format!("{got:?}")))
        }
    }

    /// One read of whatever has arrived (up to 4096 bytes), as text.
    pub fn read_some(&mut self) -> Result<String, Mismatch> {
        let mut buffer = [0; 4096];
        match read_once(&mut self.reader, &mut buffer) {
            Ok(n) => Ok(String::from_utf8_lossy(&buffer[..n]).into_owned()),
            Err(err) => Err(Mismatch::new("a reply", describe(&err))),
        }
    }

    /// Checks that the other side closes the connection (a read of 0 bytes).
    pub fn expect_closed(&mut self) -> Result<(), Mismatch> {
        match self.read_some()?.as_str() {
            "" => Ok(()),
            more => Err(Mismatch::new(
                "the connection to close",
                format!("{more:?}"),
            )),
        }
    }

    /// Half-closes: we send nothing more.
    pub fn finish_sending(&mut self) {
        let _ = self.reader.get_ref().shutdown(Shutdown::Write);
    }
}

/// A listener for checks that play the server, on 127.0.0.1 port 0.
pub fn listener() -> Result<(TcpListener, SocketAddr), Mismatch> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(Mismatch::from)?;
    let addr = listener.local_addr().map_err(Mismatch::from)?;
    Ok((listener, addr))
}

/// One read, tried again when a signal interrupted it. (On Linux a socket read with a
/// timeout fails with EINTR when the process was stopped and continued, even with no
/// signal handler: a check must not take that for the program's doing.)
pub fn read_once(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            done => return done,
        }
    }
}

/// A timeout in words a student understands.
fn describe(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            format!("nothing within {WAIT:?}")
        }
        _ => err.to_string(),
    }
}

fn read_all(mut from: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn wait_for_exit(child: &mut Child) -> Option<ExitStatus> {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        thread::sleep(Duration::from_millis(10));
    }
    None
}
