//! The command line, parsed by hand: a few flags and positional words.
//!
//! ```no_run
//! use tcp_lessons::args::Args;
//! let mut args = Args::from_env("usage: 03_server [ADDRESS] [--backlog N]");
//! let backlog: i32 = args.value("--backlog", 5); // take the flags first,
//! let addr = args.address("127.0.0.1:1234"); // then the positional words,
//! args.finish(); // and refuse anything left over.
//! ```
//!
//! `--help` (or `-h`) prints the usage text and exits. A bad value prints one line that
//! says what was wrong and exits with status 2.

use crate::say;
use std::net::{SocketAddr, ToSocketAddrs};
use std::str::FromStr;

/// What is left of the command line after the parts taken so far.
pub struct Args {
    words: Vec<String>,
}

impl Args {
    /// Reads this program's arguments; prints `usage` and exits on `--help` or `-h`.
    pub fn from_env(usage: &'static str) -> Args {
        // args_os: an argument that is not UTF-8 becomes U+FFFD instead of a panic.
        let words = std::env::args_os().skip(1);
        Args::from_words(usage, words.map(|w| w.to_string_lossy().into_owned()))
    }

    /// Like [`Args::from_env`], from the given words (handy in tests).
    pub fn from_words(usage: &'static str, words: impl IntoIterator<Item = String>) -> Args {
        let words: Vec<String> = words.into_iter().collect();
        if words.iter().any(|w| w == "--help" || w == "-h") {
            println!("{}", usage.trim_end());
            std::process::exit(0);
        }
        Args { words }
    }

    /// Takes `name` (such as `--interactive`) if it was given.
    pub fn flag(&mut self, name: &str) -> bool {
        let before = self.words.len();
        self.words.retain(|w| w != name);
        self.words.len() != before
    }

    /// Takes `name VALUE` or `name=VALUE` and parses the value; `default` if absent.
    pub fn value<T: FromStr>(&mut self, name: &str, default: T) -> T
    where
        T::Err: std::fmt::Display,
    {
        let Some(text) = self.take_value(name) else {
            return default;
        };
        text.parse().unwrap_or_else(|err| {
            self.usage_error(format!("{name}: {text:?} is not a valid value ({err})"))
        })
    }

    /// Takes the next positional word, if any.
    pub fn positional(&mut self) -> Option<String> {
        let at = self.words.iter().position(|w| !w.starts_with('-'))?;
        Some(self.words.remove(at))
    }

    /// Takes the next positional word as a socket address (`IP:PORT` or `HOST:PORT`),
    /// or uses `default`.
    pub fn address(&mut self, default: &str) -> SocketAddr {
        let text = self.positional().unwrap_or_else(|| default.to_string());
        match text.to_socket_addrs().map(|mut all| all.next()) {
            Ok(Some(addr)) => addr,
            _ => self.usage_error(format!(
                "{text:?} is not an address: expected IP:PORT, such as 127.0.0.1:1234"
            )),
        }
    }

    /// Takes every positional word that is left.
    pub fn rest(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.positional()).collect()
    }

    /// Refuses anything not taken: an unknown flag or an extra word.
    pub fn finish(self) {
        if let Some(word) = self.words.first() {
            self.usage_error(format!("unexpected argument {word:?}"));
        }
    }

    fn take_value(&mut self, name: &str) -> Option<String> {
        let prefix = format!("{name}=");
        if let Some(at) = self.words.iter().position(|w| w.starts_with(&prefix)) {
            return Some(self.words.remove(at)[prefix.len()..].to_string());
        }
        let at = self.words.iter().position(|w| w == name)?;
        if at + 1 >= self.words.len() {
            self.usage_error(format!("{name} needs a value"));
        }
        self.words.remove(at);
        Some(self.words.remove(at))
    }

    fn usage_error(&self, message: String) -> ! {
        eprintln!("{}: {message} (--help shows the usage)", say::program());
        std::process::exit(2)
    }
}
