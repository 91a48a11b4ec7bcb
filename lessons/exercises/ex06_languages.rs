//! # Exercise ex06_languages: each client chooses its language
//!
//! The server below greets every line `Hello, NAME!` until `exit`, one message per
//! line, each client in a thread of its own.
//!
//! **Your task:** let each client choose the language of its greetings. The line
//! `lang fr` is answered `ok, fr`, and from then on the session's names are greeted
//! `Bonjour, NAME !` (French puts a space before `!`). `lang de` gives `Hallo, NAME!`,
//! `lang zh` gives `你好，NAME！` (full-width comma and `！`), and `lang en` brings back
//! `Hello, NAME!`. Any other language is answered
//! `error: unknown language xx (try en, fr, de, zh)`, and the session goes on. Every
//! session starts in English, and one client's choice never changes another's.
//!
//! Try it: `cargo run -p exercises --bin ex06_languages`, and `nc 127.0.0.1 1234` in a second
//! terminal (and a third).
//! Check it: `cargo exercise ex06_languages`.

use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpStream};
use tcp_lessons::framing::{read_line, write_line};
use tcp_lessons::serve::serve;

fn main() {
    serve("usage: ex06_languages [ADDRESS]", session);
}

// ANCHOR: task
/// One client: `Welcome!`, then a greeting per line, until `exit`.
fn session(stream: TcpStream, _peer: SocketAddr) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    write_line(&mut writer, b"Welcome!")?;
    // TODO: remember this session's language here (it starts as English)...
    while let Some(line) = read_line(&mut reader, 1024).map_err(io::Error::other)? {
        let line = String::from_utf8_lossy(&line);
        if line == "exit" {
            break;
        }
        // TODO: ...answer `lang XX` (`ok, XX` or an error), and greet in the language.
        let reply = greet(&line);
        write_line(&mut writer, reply.as_bytes())?;
    }
    Ok(())
}

/// The greeting for `name`.
fn greet(name: &str) -> String {
    format!("Hello, {name}!")
}
// ANCHOR_END: task
