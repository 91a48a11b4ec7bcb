//! Coloured, role-tagged output.
//!
//! Every line a lesson prints starts with a tag saying who speaks: the `[server]`, the
//! `[client]`, the `[kernel]` (facts read from the operating system) or a `[note]` for the
//! reader. Colour is used only on a terminal (decided for stdout and for stderr apart),
//! never when `NO_COLOR` is set to a non-empty value or `TERM` is `dumb`, and always
//! when `CLICOLOR_FORCE` is set (<https://no-color.org>): tests and transcripts see the
//! same words without escape codes.
//!
//! Use the macros: `server!("listening on {addr}")`, `client!(..)`, `kernel!(..)`,
//! `note!(..)`. A message of several lines keeps its lines under the tag.
//!
//! One-shot lessons write each line at once, in order. A server calls
//! [`log_in_background`] first: its lines then go to stdout through a logger thread, so
//! a session never waits for stdout (a slow terminal, a pipe nobody reads); when the
//! logger cannot keep up, lines are dropped and counted. [`flush_log`] waits for the
//! lines queued so far, before a server's last words and exit. [`excerpt`] keeps a
//! logged message short, whatever a client sends.

use colored::{ColoredString, Colorize};
use std::fmt::Display;
use std::io::{self, IsTerminal, Write};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread;
use std::time::{Duration, Instant};

/// Who is speaking on a line of output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Server,
    Client,
    Kernel,
    Note,
}

impl Role {
    fn paint(self, text: &str) -> ColoredString {
        match self {
            Role::Server => text.green(),
            Role::Client => text.cyan(),
            Role::Kernel => text.yellow(),
            Role::Note => text.magenta(),
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Role::Server => "[server]",
            Role::Client => "[client]",
            Role::Kernel => "[kernel]",
            Role::Note => "[note]  ",
        }
    }
}

/// Whether output to a stream may be coloured: `CLICOLOR_FORCE` (not `0`) says yes,
/// a non-empty `NO_COLOR` or `TERM=dumb` say no, and otherwise only a terminal gets
/// colour.
pub fn colour_allowed(is_terminal: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("CLICOLOR_FORCE") && std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
        return true;
    }
    if set("NO_COLOR") || std::env::var_os("TERM").is_some_and(|t| t == "dumb") {
        return false;
    }
    is_terminal
}

/// Decides once whether stdout gets colour (see [`colour_allowed`]); every printing
/// function calls it, and so does [`crate::args::Args::from_env`].
pub fn init_colour() {
    static DECIDED: std::sync::Once = std::sync::Once::new();
    DECIDED.call_once(|| {
        // On Windows 10 and later a console shows escape codes as colours only once
        // "virtual terminal processing" is on; where it cannot be turned on, no colour.
        #[cfg(windows)]
        let console_ok = colored::control::set_virtual_terminal(true).is_ok();
        #[cfg(not(windows))]
        let console_ok = true;
        let stdout = colour_allowed(io::stdout().is_terminal()) && console_ok;
        colored::control::set_override(stdout);
    });
}

/// Prints `text` tagged with `role`; later lines of a multi-line text are indented
/// under the first.
pub fn line(role: Role, text: impl Display) {
    if stdout_failed() {
        // Nothing more reaches stdout (see [`OnBrokenStdout::KeepGoing`]): skip the work.
        return;
    }
    init_colour();
    // One write per message, so lines from different threads never interleave.
    out_text(&tagged(role, text));
}

/// `text` with `role`'s tag before its first line, its later lines indented, and a
/// newline after each.
fn tagged(role: Role, text: impl Display) -> String {
    let text = text.to_string();
    let mut out = String::new();
    for (i, part) in text.lines().enumerate() {
        let lead = if i == 0 {
            role.paint(role.tag()).bold()
        } else {
            " ".repeat(role.tag().len()).normal()
        };
        out.push_str(&format!("{lead} {}\n", role.paint(part)));
    }
    if out.is_empty() {
        out = format!("{}\n", role.paint(role.tag()).bold());
    }
    out
}

/// Prints a section heading, with a blank line before it.
pub fn heading(title: impl Display) {
    init_colour();
    out_text(&format!("\n{}\n", title.to_string().bold().underline()));
}

/// What a program does when its stdout cannot be written (see [`out_text`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnBrokenStdout {
    /// A one-shot lesson: stop quietly (status 0) when the reader has gone
    /// (`| head` has read enough), stop with status 1 and a line on stderr on any other
    /// error (a full disk is an error, not success). The default.
    Stop,
    /// A server, or a tool whose exit status reports a run: say so once on stderr, drop
    /// the lines it cannot write, and go on; [`stdout_failed`] tells it afterwards.
    KeepGoing,
}

static KEEP_GOING: AtomicBool = AtomicBool::new(false);
static FAILED: AtomicBool = AtomicBool::new(false);

/// Chooses what happens when stdout cannot be written; call it first thing in `main`.
pub fn on_broken_stdout(policy: OnBrokenStdout) {
    KEEP_GOING.store(policy == OnBrokenStdout::KeepGoing, Ordering::SeqCst);
}

/// Whether a write to stdout has failed (only ever true under
/// [`OnBrokenStdout::KeepGoing`]: the other policy has stopped the program).
pub fn stdout_failed() -> bool {
    FAILED.load(Ordering::SeqCst)
}

/// Writes to stdout, whole, and handles a failure as [`on_broken_stdout`] chose; once
/// [`log_in_background`] is on, hands the text to the logger thread instead.
pub fn out_text(text: &str) {
    match LOGGER.get() {
        Some(logger) => queue(logger, text),
        None => write_stdout(text),
    }
}

/// Writes `text` to stdout now, whole.
fn write_stdout(text: &str) {
    if stdout_failed() {
        return;
    }
    let mut stdout = io::stdout().lock();
    let Err(err) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    else {
        return;
    };
    drop(stdout);
    if KEEP_GOING.load(Ordering::SeqCst) {
        if !FAILED.swap(true, Ordering::SeqCst) {
            error_line(format!(
                "cannot write to stdout ({err}); its lines are dropped from now on, \
                 the program goes on"
            ));
        }
    } else if err.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    } else {
        fail(format!("cannot write to stdout: {err}"));
    }
}

// A server's log. A session thread that printed straight to stdout would wait whenever
// stdout is slow (a terminal scrolling, a pipe nobody reads: once its 64 KiB are full,
// every write blocks), and every thread printing would queue for stdout's lock. So a
// server hands each line to one logger thread through a bounded queue and goes on.

/// How many lines may wait for the logger thread; past that, lines are dropped and
/// counted, so a flood of messages cannot grow the server's memory.
const LOG_QUEUE: usize = 4096;
/// The most bytes the logger thread collects before one `write`.
const LOG_BATCH: usize = 64 * 1024;
/// How long the logger thread rests after each write, so that lines arriving meanwhile
/// go out together and a session seldom has to wake it.
const LOG_REST: Duration = Duration::from_millis(1);

/// What the logger thread receives.
enum Entry {
    /// Text to write, tagged and ending in a newline.
    Text(String),
    /// A request to say when everything queued before it has been written.
    Flush(SyncSender<()>),
}

static LOGGER: OnceLock<SyncSender<Entry>> = OnceLock::new();
const LOGGER_NAME: &str = "log";
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Sends every line printed from now on (`server!`, `note!`, ...) to stdout through a
/// logger thread of its own, for a server: a thread that prints only queues its line and
/// never waits for stdout. Lines keep their order; if the queue is full (stdout is not
/// read fast enough) a line is dropped, and a `[note]` says how many were once the
/// logger catches up. Call it once the command line is parsed (`--help` prints and
/// exits at once: through the queue its text could be lost), and [`flush_log`] before
/// the program's last lines or a planned exit. (If the thread cannot be started,
/// printing stays as it was: a line at a time.)
pub fn log_in_background() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let (sender, entries) = mpsc::sync_channel(LOG_QUEUE);
        let spawned = thread::Builder::new()
            .name(LOGGER_NAME.into())
            .spawn(move || write_log(&entries));
        if spawned.is_ok() {
            let _ = LOGGER.set(sender);
        }
    });
}

/// Waits until every line printed before this call has been written to stdout (or
/// dropped, if stdout is broken), but no longer than `within`; says whether it got
/// there. Without [`log_in_background`] every line is already written: `true` at once.
/// A server calls it before its summary and before it exits, as lines still queued are
/// lost when the process ends. The wait is bounded because stdout may be a pipe that
/// nobody reads: a server must still be able to stop.
pub fn flush_log(within: Duration) -> bool {
    let Some(logger) = LOGGER.get() else {
        return true;
    };
    if thread::current().name() == Some(LOGGER_NAME) {
        // The logger itself, failing on stdout: nothing can wait for it.
        return false;
    }
    let deadline = Instant::now() + within;
    let (done, written) = mpsc::sync_channel(1);
    let mut entry = Entry::Flush(done);
    loop {
        match logger.try_send(entry) {
            Ok(()) => break,
            Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                entry = back;
                thread::sleep(LOG_REST);
            }
            Err(TrySendError::Full(_)) => return false,
            Err(TrySendError::Disconnected(_)) => return true,
        }
    }
    written
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .is_ok()
}

/// Hands `text` to the logger thread without waiting: dropped and counted if the queue
/// is full.
fn queue(logger: &SyncSender<Entry>, text: &str) {
    match logger.try_send(Entry::Text(text.to_owned())) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
        Err(TrySendError::Disconnected(_)) => write_stdout(text),
    }
}

/// The logger thread: takes what is queued, writes it in one go, rests a moment, and
/// again, for as long as the program runs.
fn write_log(entries: &Receiver<Entry>) {
    let mut batch = String::new();
    let mut waiting = Vec::new();
    while let Ok(first) = entries.recv() {
        let mut next = Some(first);
        while let Some(entry) = next {
            match entry {
                Entry::Text(text) => batch.push_str(&text),
                Entry::Flush(done) => waiting.push(done),
            }
            next = if batch.len() < LOG_BATCH {
                entries.try_recv().ok()
            } else {
                None
            };
        }
        let dropped = DROPPED.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            init_colour();
            batch.push_str(&tagged(
                Role::Note,
                format!("{dropped} log lines dropped here: stdout did not keep up"),
            ));
        }
        write_stdout(&batch);
        batch.clear();
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
        thread::sleep(LOG_REST);
    }
}

/// How many bytes of a long message [`excerpt`] shows from its start, and from its end.
const EXCERPT_HEAD: usize = 40;
const EXCERPT_TAIL: usize = 16;

/// `bytes` quoted for a log line, as Rust writes a string (`"Tracy\r\n"`; bytes that
/// are not UTF-8 become U+FFFD), and bounded: a message longer than 64 bytes shows its
/// first 40 and last 16 bytes and says how many it left out, so a client cannot make a
/// log line long (escaped, one control byte takes up to five characters: `\u{1}`).
/// Cuts fall between characters, not inside one.
pub fn excerpt(bytes: &[u8]) -> String {
    let quote = |part: &[u8]| format!("{:?}", String::from_utf8_lossy(part));
    if bytes.len() <= EXCERPT_HEAD + EXCERPT_TAIL + 8 {
        return quote(bytes);
    }
    // A byte 0b10xxxxxx continues a UTF-8 character: move each cut off such bytes.
    let continues = |i: usize| bytes[i] & 0xC0 == 0x80;
    let mut head = EXCERPT_HEAD;
    while head > 0 && continues(head) {
        head -= 1;
    }
    let mut tail = bytes.len() - EXCERPT_TAIL;
    while tail < bytes.len() && continues(tail) {
        tail += 1;
    }
    format!(
        "{} … {} bytes left out … {}",
        quote(&bytes[..head]),
        tail - head,
        quote(&bytes[tail..])
    )
}

/// A log line that may come many times in a row, such as a failed `accept` retried
/// every 100 ms: said the first time, then only counted, and the count said once the
/// run ends (another line, or [`Repeated::end`]). A server's log stays readable, and
/// cannot grow by thousands of identical lines a second.
pub struct Repeated {
    role: Role,
    last: Option<String>,
    again: u64,
}

impl Repeated {
    /// Lines spoken by `role`.
    pub fn new(role: Role) -> Repeated {
        Repeated {
            role,
            last: None,
            again: 0,
        }
    }

    /// Prints `text`, unless it is the same as the last one: then counts it.
    pub fn say(&mut self, text: impl Display) {
        let text = text.to_string();
        if self.last.as_ref() == Some(&text) {
            self.again += 1;
            return;
        }
        self.end();
        line(self.role, &text);
        self.last = Some(text);
    }

    /// The run is over: says how many times the last line came again, if it did.
    pub fn end(&mut self) {
        let last = self.last.take();
        if let (Some(last), 1..) = (last, self.again) {
            let times = if self.again == 1 { "time" } else { "times" };
            line(
                self.role,
                format!("(the line \"{last}\" came {} more {times})", self.again),
            );
        }
        self.again = 0;
    }
}

/// `server!("...")`: a line spoken by the server.
#[macro_export]
macro_rules! server {
    ($($arg:tt)*) => { $crate::say::line($crate::say::Role::Server, format_args!($($arg)*)) };
}

/// `client!("...")`: a line spoken by the client.
#[macro_export]
macro_rules! client {
    ($($arg:tt)*) => { $crate::say::line($crate::say::Role::Client, format_args!($($arg)*)) };
}

/// `kernel!("...")`: a fact read from the operating system.
#[macro_export]
macro_rules! kernel {
    ($($arg:tt)*) => { $crate::say::line($crate::say::Role::Kernel, format_args!($($arg)*)) };
}

/// `note!("...")`: an explanation for the reader.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => { $crate::say::line($crate::say::Role::Note, format_args!($($arg)*)) };
}

/// The name this program was started as, such as `03_server`.
pub fn program() -> String {
    std::env::args_os()
        .next()
        .and_then(|path| {
            std::path::Path::new(&path)
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "lesson".into())
}

/// Prints one error line on stderr, `PROGRAM: MESSAGE`, and exits with status 1 (after
/// the lines a logger thread still holds, for at most a second: see [`flush_log`]).
pub fn fail(message: impl Display) -> ! {
    flush_log(Duration::from_secs(1));
    error_line(message);
    std::process::exit(1)
}

/// Prints `PROGRAM: MESSAGE` on stderr, in red where stderr itself is a terminal that
/// takes colour (stdout may be a terminal while stderr goes to a file, or the reverse).
pub fn error_line(message: impl Display) {
    let message = message.to_string();
    let painted = if colour_allowed(io::stderr().is_terminal()) {
        format!("\x1b[31m{message}\x1b[0m")
    } else {
        message
    };
    // A closed stderr leaves nowhere to say anything: ignore the error.
    let _ = writeln!(io::stderr(), "{}: {painted}", program());
}

/// Says in words what a failed `bind`, `listen` or `connect` on `addr` means, and what
/// to try. The result is one line, ready for [`fail`].
pub fn explain(err: &io::Error, addr: SocketAddr) -> String {
    match err.kind() {
        io::ErrorKind::AddrInUse => format!(
            "cannot listen on {addr}: address already in use. Another program \
             (a server from another lesson?) holds this port: stop it, or pick another \
             port ({}:0 takes any free one)",
            addr.ip()
        ),
        io::ErrorKind::AddrNotAvailable => {
            format!(
                "cannot use {addr}: {} is not an address of this machine",
                addr.ip()
            )
        }
        io::ErrorKind::PermissionDenied if addr.port() < 1024 => format!(
            "cannot listen on {addr}: permission denied. Ports below 1024 are privileged \
             (on Linux: root or CAP_NET_BIND_SERVICE); use a port above 1023"
        ),
        io::ErrorKind::ConnectionRefused => {
            format!("connection refused: is 03_server running on {addr}?")
        }
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => format!(
            "{addr} did not answer in time: is the address right, and is a server there \
             that speaks first (03_server sends Welcome!)?"
        ),
        _ => format!("{addr}: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_message_is_quoted_whole() {
        assert_eq!(excerpt(b"Tracy\r\n"), r#""Tracy\r\n""#);
        assert_eq!(excerpt(b"Mich\xffael"), "\"Mich\u{FFFD}ael\"");
        assert_eq!(excerpt(&[b'x'; 64]), format!("{:?}", "x".repeat(64)));
    }

    #[test]
    fn a_long_message_keeps_its_ends_and_counts_the_rest() {
        let mut message = vec![b'x'; 1022];
        message.extend_from_slice("张三".as_bytes()); // 1028 bytes, as lesson 05 sends
        let shown = excerpt(&message);
        let head = format!("{:?}", "x".repeat(40));
        assert!(shown.starts_with(&head), "{shown}");
        assert!(shown.ends_with("xxxxxxxxxx张三\""), "{shown}");
        assert!(shown.contains(" 972 bytes left out "), "{shown}");
    }

    #[test]
    fn a_cut_never_falls_inside_a_character() {
        let message = "张".repeat(100); // 300 bytes, 3 per character
        let shown = excerpt(message.as_bytes());
        assert!(!shown.contains('\u{FFFD}'), "{shown}");
        // 39 bytes (13 characters) before the cut, 15 (5 characters) after it.
        assert!(shown.contains(" 246 bytes left out "), "{shown}");
    }

    #[test]
    fn control_bytes_cannot_make_a_long_line() {
        assert!(excerpt(&[1; 1024]).len() < 400);
        assert!(excerpt(&[0; 1024]).len() < 200);
    }
}
