//! # Exercise ex01_checksum: the Internet checksum
//!
//! Every IPv4 header carries a 16-bit checksum, so that a router or the receiver can
//! tell a damaged header from a good one. This program reads the bytes of a header,
//! written in hex on the command line with the checksum field (the 11th and 12th bytes)
//! set to `00 00`, and prints the checksum that belongs there: `checksum 0xb861`.
//!
//! **Your task:** write `checksum`, the Internet checksum of RFC 1071. Read the bytes
//! as 16-bit big-endian words (`45 00` is the word `0x4500`) and pad an odd last byte
//! with a zero byte after it. Add the words up; every carry out of the top bit is added
//! back in at the bottom (a *ones'-complement* sum). The checksum is that sum with every
//! bit flipped.
//!
//! Difficulty: ★★☆. Rust: integer types and bit operators (`<<`, `>>`, `&`, `!`),
//! `u16::from_be_bytes`, `chunks` on a slice.
//!
//! Try it: `cargo run -p exercises --bin ex01_checksum` (a textbook header, whose
//! checksum is `0xb861`), or give the bytes yourself, such as the IPv4 header of lesson
//! 01's parcel (its checksum is `3c c7`):
//!
//! ```text
//! cargo run -p exercises --bin ex01_checksum -- \
//!     45 00 00 2f 00 00 40 00 40 06 00 00 7f 00 00 01 7f 00 00 01
//! ```
//!
//! Check it: `cargo exercise ex01_checksum`.

use tcp_lessons::args::Args;
use tcp_lessons::say::fail;

const USAGE: &str = indoc::indoc! {"
    usage: ex01_checksum [HEX BYTES...]

    Prints the Internet checksum (RFC 1071) of the bytes, given in hex: `45 00 00 73`
    or `45000073`. Without bytes, the IPv4 header
    45 00 00 73 00 00 40 00 40 11 00 00 c0 a8 00 01 c0 a8 00 c7.
"};

/// A UDP packet's IPv4 header from 192.168.0.1 to 192.168.0.199, checksum field zero.
const EXAMPLE: &str = "45 00 00 73 00 00 40 00 40 11 00 00 c0 a8 00 01 c0 a8 00 c7";

fn main() {
    let mut args = Args::from_env(USAGE);
    let mut words = args.rest();
    args.finish();
    if words.is_empty() {
        words = EXAMPLE.split(' ').map(String::from).collect();
    }
    let bytes = parse_hex(&words).unwrap_or_else(|bad| {
        fail(format!(
            "{bad:?} is not hex bytes: write each byte as two hex digits, such as 45 00"
        ))
    });
    println!("checksum {:#06x}", checksum(&bytes));
}

/// The bytes written in `words`, two hex digits each; the first bad word as the error.
fn parse_hex(words: &[String]) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    for word in words {
        if word.is_empty() || word.len() % 2 != 0 || !word.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(word.clone());
        }
        for at in (0..word.len()).step_by(2) {
            bytes.push(u8::from_str_radix(&word[at..at + 2], 16).map_err(|_| word.clone())?);
        }
    }
    Ok(bytes)
}

// ANCHOR: task
/// The Internet checksum of `bytes` (RFC 1071).
fn checksum(bytes: &[u8]) -> u16 {
    // TODO: add up the 16-bit big-endian words of `bytes` (an odd last byte is the high
    // byte of a last word whose low byte is 0), add every carry back in at the bottom,
    // and return the sum with every bit flipped.
    let _ = bytes;
    0
}
// ANCHOR_END: task
