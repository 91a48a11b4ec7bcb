//! The command line: a few flags and positional words, split by `lexopt`.
//!
//! ```no_run
//! use tcp_lessons::args::Args;
//! let usage = "usage: 03_server [ADDRESS] [OPTIONS]\n\noptions:\n  --backlog N   the backlog\n";
//! let mut args = Args::from_env(usage);
//! let backlog: i32 = args.value("--backlog", 5); // take the flags first,
//! let addr = args.address("127.0.0.1:1234"); // then the positional words,
//! args.finish(); // and refuse anything left over.
//! ```
//!
//! The usage text is the only list of flags: a line of it that starts with a flag, such
//! as `  --backlog N   ...` or `  --quiet   ...`, declares that flag, and an upper-case
//! word after it (`N`, `MS`, `FILE`) says that it takes a value. So `--help` can never
//! forget a flag, and a misspelt one is caught by name (`--client` gets "did you mean
//! `--clients`?") instead of being taken for something else.
//!
//! `--help` (or `-h`) prints the usage text and exits. A bad value prints one line that
//! says what was wrong and exits with status 2. `--` ends the flags: every word after it
//! is positional, so a name that starts with `-` can still be given.

use crate::say;
use std::fmt::Display;
use std::net::{SocketAddr, ToSocketAddrs};
use std::str::FromStr;

/// What is left of the command line after the parts taken so far.
#[derive(Debug)]
pub struct Args {
    /// The flags given, in order, with their values (`None` for a flag without one).
    given: Vec<(String, Option<String>)>,
    /// The words that are not flags, in order.
    words: Vec<String>,
    /// The flags the usage text declares.
    known: Vec<Spec>,
}

/// One flag the usage text declares, such as `--backlog N`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Spec {
    /// Every name of the flag: `--help` and `-h`.
    names: Vec<String>,
    /// The placeholder of its value (`N`, `MS`), if it takes one.
    value: Option<String>,
}

/// Why parsing stopped before a program could use its arguments.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// `--help` was given: print this text and exit 0.
    Help(String),
    /// The command line is wrong: print this line and exit 2.
    Wrong(String),
}

impl Args {
    /// Reads this program's arguments; prints `usage` and exits on `--help` or `-h`,
    /// and prints one line and exits with status 2 on a flag the usage does not know.
    pub fn from_env(usage: &str) -> Args {
        say::init_colour();
        // args_os: an argument that is not UTF-8 becomes U+FFFD instead of a panic.
        match Args::parse(usage, std::env::args_os().skip(1)) {
            Ok(args) => args,
            Err(Stop::Help(text)) => {
                say::out_text(&format!("{}\n", text.trim_end()));
                std::process::exit(0)
            }
            Err(Stop::Wrong(message)) => usage_error(message),
        }
    }

    /// Parses `words` against the flags that `usage` declares.
    pub fn parse<W>(usage: &str, words: impl IntoIterator<Item = W>) -> Result<Args, Stop>
    where
        W: Into<std::ffi::OsString>,
    {
        use lexopt::Arg;
        let known = specs(usage);
        let mut args = Args {
            given: Vec::new(),
            words: Vec::new(),
            known,
        };
        let mut parser = lexopt::Parser::from_args(words);
        let wrong = |err: lexopt::Error| Stop::Wrong(err.to_string());
        while let Some(arg) = parser.next().map_err(wrong)? {
            let name = match arg {
                Arg::Value(word) => {
                    args.words.push(word.to_string_lossy().into_owned());
                    continue;
                }
                Arg::Short(letter) => format!("-{letter}"),
                Arg::Long(long) => format!("--{long}"),
            };
            if name == "--help" || name == "-h" {
                return Err(Stop::Help(usage.to_string()));
            }
            let Some(spec) = args.spec(&name) else {
                return Err(Stop::Wrong(args.unknown(&name)));
            };
            let value = match &spec.value {
                Some(placeholder) => match parser.value() {
                    Ok(value) => Some(value.to_string_lossy().into_owned()),
                    Err(_) => {
                        return Err(Stop::Wrong(format!(
                            "{name} needs a value ({name} {placeholder})"
                        )));
                    }
                },
                None => None,
            };
            args.given.push((name, value));
        }
        Ok(args)
    }

    /// Takes `name` (such as `--interactive`) if it was given.
    pub fn flag(&mut self, name: &str) -> bool {
        self.declared(name);
        let before = self.given.len();
        self.given.retain(|(given, _)| given != name);
        self.given.len() != before
    }

    /// Takes `name VALUE` or `name=VALUE` and parses the value; `default` if absent.
    /// Given twice, the last one counts.
    pub fn value<T: FromStr>(&mut self, name: &str, default: T) -> T
    where
        T::Err: Display,
    {
        let spec = self.declared(name);
        let mut text = None;
        self.given.retain(|(given, value)| {
            let this = given == name;
            if this {
                text = value.clone();
            }
            !this
        });
        let Some(text) = text else {
            return default;
        };
        text.parse().unwrap_or_else(|err| {
            let placeholder = spec.value.unwrap_or_default();
            self.refuse(format!(
                "{name} {placeholder}: {text:?} is not {} ({err})",
                what_is(&placeholder)
            ))
        })
    }

    /// Takes the next positional word, if any.
    pub fn positional(&mut self) -> Option<String> {
        (!self.words.is_empty()).then(|| self.words.remove(0))
    }

    /// Takes the next positional word as a socket address (`IP:PORT` or `HOST:PORT`),
    /// or uses `default`.
    pub fn address(&mut self, default: &str) -> SocketAddr {
        let text = self.positional().unwrap_or_else(|| default.to_string());
        parse_address(&text).unwrap_or_else(|message| self.refuse(message))
    }

    /// Takes every positional word that is left.
    pub fn rest(&mut self) -> Vec<String> {
        std::mem::take(&mut self.words)
    }

    /// Refuses anything not taken: an extra word, or a flag the program did not read.
    pub fn finish(self) {
        if let Some(word) = self.words.first() {
            self.refuse(format!("unexpected argument {word:?}"));
        }
        if let Some((name, _)) = self.given.first() {
            self.refuse(format!("{name} cannot be used here"));
        }
    }

    /// Prints `message` as a usage error (one line) and exits with status 2. For a
    /// value the parser accepts but the lesson cannot use: `--backlog -1`.
    pub fn refuse(&self, message: impl Display) -> ! {
        usage_error(message)
    }

    fn spec(&self, name: &str) -> Option<&Spec> {
        self.known
            .iter()
            .find(|spec| spec.names.iter().any(|n| n == name))
    }

    /// The spec of `name`; a flag missing from the usage text is the lesson's mistake,
    /// so it panics with a sentence for the person editing the lesson.
    fn declared(&self, name: &str) -> Spec {
        self.spec(name).cloned().unwrap_or_else(|| {
            panic!("the usage text does not declare {name}: add a line `  {name} ...` to it")
        })
    }

    /// The line for a flag the usage text does not declare, with a suggestion.
    fn unknown(&self, name: &str) -> String {
        let names = self.known.iter().flat_map(|spec| &spec.names);
        let nearest = names
            .map(|known| (distance(name, known), known))
            .filter(|(d, known)| *d <= 2 || (known.starts_with(name) && name.len() > 3))
            .min();
        match nearest {
            Some((_, known)) => format!("unknown option {name}; did you mean {known}?"),
            None => format!("unknown option {name}"),
        }
    }
}

/// Prints `PROGRAM: MESSAGE (--help shows the usage)` on stderr and exits with status 2.
pub fn usage_error(message: impl Display) -> ! {
    say::error_line(format!("{message} (--help shows the usage)"));
    std::process::exit(2)
}

/// Parses `IP:PORT` or `HOST:PORT` (the first address it resolves to).
pub fn parse_address(text: &str) -> Result<SocketAddr, String> {
    match text.to_socket_addrs().map(|mut all| all.next()) {
        Ok(Some(addr)) => Ok(addr),
        _ if text.parse::<u16>().is_ok() => Err(format!(
            "{text:?} is a port, not an address: try 127.0.0.1:{text}"
        )),
        _ => Err(format!(
            "{text:?} is not an address: expected IP:PORT, such as 127.0.0.1:1234"
        )),
    }
}

/// The flags a usage text declares: every indented line that starts with `-`.
fn specs(usage: &str) -> Vec<Spec> {
    usage
        .lines()
        .filter(|line| line.starts_with(' ') && line.trim_start().starts_with('-'))
        .map(|line| {
            let mut words = line.split_whitespace().peekable();
            let mut names = Vec::new();
            while let Some(word) = words.next_if(|w| w.starts_with('-')) {
                names.push(word.trim_end_matches(',').to_string());
            }
            let value = words.next_if(|w| is_placeholder(w)).map(|w| w.to_string());
            Spec { names, value }
        })
        .collect()
}

/// `N`, `MS`, `FILE`, `ADDRESS`: an upper-case word names a value.
fn is_placeholder(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_uppercase())
        && word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "_.".contains(c))
}

/// What a placeholder asks for, in words.
fn what_is(placeholder: &str) -> String {
    match placeholder {
        "N" | "M" => "a whole number".into(),
        "MS" => "a number of milliseconds".into(),
        "BYTES" => "a number of bytes".into(),
        other => format!("a valid {other}"),
    }
}

/// How many one-character edits turn `a` into `b` (Levenshtein distance).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let replaced = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = replaced.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const USAGE: &str = "usage: x [ADDRESS] [OPTIONS]

options:
  --clients N      how many
  --pause-ms MS    the pause
  --burst          all at once
  -h, --help       show this text
";

    fn parse(words: &[&str]) -> Result<Args, Stop> {
        Args::parse(USAGE, words.iter().copied())
    }

    fn wrong(words: &[&str]) -> String {
        match parse(words) {
            Err(Stop::Wrong(message)) => message,
            other => panic!("{words:?} should be refused, got {other:?}"),
        }
    }

    #[test]
    fn the_usage_text_declares_the_flags() {
        let known = specs(USAGE);
        assert_eq!(known.len(), 4);
        assert_eq!(known[0].value.as_deref(), Some("N"));
        assert_eq!(known[2].value, None);
        assert_eq!(known[3].names, ["-h", "--help"]);
    }

    #[test]
    fn values_flags_and_words() {
        let mut args =
            parse(&["127.0.0.1:0", "--clients", "5", "--burst", "--pause-ms=7"]).unwrap();
        assert_eq!(args.value("--clients", 1), 5);
        assert_eq!(args.value("--pause-ms", 1000), 7);
        assert!(args.flag("--burst"));
        assert_eq!(args.positional().as_deref(), Some("127.0.0.1:0"));
        args.finish();
    }

    #[test]
    fn defaults_when_absent() {
        let mut args = parse(&[]).unwrap();
        assert_eq!(args.value("--clients", 10), 10);
        assert!(!args.flag("--burst"));
        assert_eq!(args.positional(), None);
    }

    #[test]
    fn a_misspelt_flag_is_named_with_a_suggestion() {
        let message = wrong(&["--client", "5"]);
        assert!(message.contains("--client"), "{message}");
        assert!(message.contains("did you mean --clients?"), "{message}");
        assert!(wrong(&["--pause", "5"]).contains("did you mean --pause-ms?"));
        assert_eq!(wrong(&["--xyzzy"]), "unknown option --xyzzy");
    }

    #[test]
    fn a_flag_without_its_value_says_so() {
        assert_eq!(
            wrong(&["--clients"]),
            "--clients needs a value (--clients N)"
        );
    }

    #[test]
    fn double_dash_ends_the_flags() {
        let mut args = parse(&["--", "-Michael", "--burst"]).unwrap();
        assert_eq!(args.rest(), ["-Michael", "--burst"]);
    }

    #[test]
    fn a_negative_value_reaches_the_lesson() {
        let mut args = parse(&["--clients", "-1"]).unwrap();
        assert_eq!(args.value("--clients", 0i64), -1);
    }

    #[test]
    fn help_is_recognised_anywhere_before_double_dash() {
        assert!(matches!(parse(&["--burst", "-h"]), Err(Stop::Help(_))));
        assert!(parse(&["--", "-h"]).is_ok());
    }

    #[test]
    fn a_port_alone_gets_a_hint() {
        let message = parse_address("1234").unwrap_err();
        assert!(message.contains("try 127.0.0.1:1234"), "{message}");
    }

    #[test]
    fn edit_distance() {
        assert_eq!(distance("--client", "--clients"), 1);
        assert_eq!(distance("abc", "abc"), 0);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
