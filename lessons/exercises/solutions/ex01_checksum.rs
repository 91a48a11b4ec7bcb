//! # Solution to ex01_checksum: the Internet checksum
//!
//! The sum is kept in a `u64`, so that the carries out of 16 bits pile up above them
//! (no input a command line can hold overflows it); folding them back in until none is
//! left gives the ones'-complement sum.
//! Run it: `cargo run -p exercises --bin ex01_checksum_solution`.

use tcp_lessons::args::Args;
use tcp_lessons::say::fail;

const USAGE: &str = indoc::indoc! {"
    usage: ex01_checksum_solution [HEX BYTES...]

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
    let mut sum: u64 = 0;
    for pair in bytes.chunks(2) {
        // Big-endian: the first byte is the high one. An odd last byte stands alone
        // and gets a zero byte after it.
        let word = u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]);
        sum += u64::from(word);
    }
    // Ones'-complement addition: a carry out of the top bit comes back in at the
    // bottom. Adding the carries can carry again (0xffff + 1), so fold until none is left.
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
// ANCHOR_END: task
