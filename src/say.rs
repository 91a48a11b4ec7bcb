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

use colored::{ColoredString, Colorize};
use std::fmt::Display;
use std::io::{self, IsTerminal, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};

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
    init_colour();
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
    // One write per message, so lines from different threads never interleave.
    out_text(&out);
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

/// Writes to stdout, whole, and handles a failure as [`on_broken_stdout`] chose.
pub fn out_text(text: &str) {
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

/// Prints one error line on stderr, `PROGRAM: MESSAGE`, and exits with status 1.
pub fn fail(message: impl Display) -> ! {
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
