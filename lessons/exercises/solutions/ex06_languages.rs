//! # Solution to ex06_languages: each client chooses its language
//!
//! The language is a local variable of `session`: each client's thread has its own, so
//! one client's choice cannot change another's, and a new session starts in English.
//! Run it: `cargo run -p exercises --bin ex06_languages_solution`.

use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpStream};
use tcp_lessons::framing::{read_line, write_line};
use tcp_lessons::serve::serve;

fn main() {
    serve("usage: ex06_languages_solution [ADDRESS]", session);
}

// ANCHOR: task
/// One client: `Welcome!`, then a greeting per line in the session's language, until
/// `exit`; `lang XX` changes the language.
fn session(stream: TcpStream, _peer: SocketAddr) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    write_line(&mut writer, b"Welcome!")?;
    // Session state: it lives as long as this connection, in this thread alone.
    let mut language = String::from("en");
    while let Some(line) = read_line(&mut reader, 1024).map_err(io::Error::other)? {
        let line = String::from_utf8_lossy(&line);
        if line == "exit" {
            break;
        }
        let reply = match line.strip_prefix("lang ") {
            Some(code) if LANGUAGES.contains(&code) => {
                language = code.to_string();
                format!("ok, {code}")
            }
            // A bad command is the client's mistake, not the end of the session.
            Some(code) => format!("error: unknown language {code} (try en, fr, de, zh)"),
            None => greet(&language, &line),
        };
        write_line(&mut writer, reply.as_bytes())?;
    }
    Ok(())
}

/// The languages `lang` accepts.
const LANGUAGES: [&str; 4] = ["en", "fr", "de", "zh"];

/// The greeting for `name` in `language` (one of `LANGUAGES`).
fn greet(language: &str, name: &str) -> String {
    match language {
        "fr" => format!("Bonjour, {name} !"),
        "de" => format!("Hallo, {name}!"),
        "zh" => format!("你好，{name}！"),
        _ => format!("Hello, {name}!"),
    }
}
// ANCHOR_END: task
