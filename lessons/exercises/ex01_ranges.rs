//! # Exercise ex01_ranges: the ranges std does not name
//!
//! Lesson 01 asks `std::net` which special range an address is in. This program does
//! the same for the IPv4 addresses on its command line, one line each:
//! `10.1.2.3         private (RFC 1918)`. But the stable API of `std` names only some
//! ranges, and an address it does not know is called global here, wrongly for these:
//!
//! - `100.64.0.0/10`, the shared address space (RFC 6598): the addresses an Internet
//!   provider's carrier-grade NAT gives its customers;
//! - `192.0.2.0/24`, `198.51.100.0/24` and `203.0.113.0/24`, for documentation
//!   (RFC 5737): examples in books, never on a real network;
//! - `198.18.0.0/15`, for benchmarking network devices (RFC 2544).
//!
//! **Your task:** make `classify` name them, with the labels `shared (RFC 6598,
//! carrier-grade NAT)`, `documentation (RFC 5737)` and `benchmarking (RFC 2544)`. A
//! prefix such as `/10` is the number of leading bits that are fixed: an address is in
//! `100.64.0.0/10` when its first 10 bits are those of `100.64.0.0`. Test that with a bit
//! mask. (For documentation, std's `Ipv4Addr::is_documentation` is stable: use it, or
//! masks again.)
//!
//! Difficulty: ★☆☆. Rust: `u32::from(ip)` and the bit operator `&`, `if`/`else if`.
//!
//! Try it: `cargo run -p exercises --bin ex01_ranges` (a few examples), or your own
//! addresses: `cargo run -p exercises --bin ex01_ranges -- 100.64.1.2 198.19.0.1`.
//! Check it: `cargo exercise ex01_ranges`.

use std::net::Ipv4Addr;
use tcp_lessons::args::Args;
use tcp_lessons::say::fail;

const USAGE: &str = indoc::indoc! {"
    usage: ex01_ranges [IPV4 ADDRESS...]

    Says which special range each IPv4 address is in, one line each.
    Without addresses, classifies a few examples.
"};

/// Examples, with the first and last addresses of some ranges and their neighbours.
const EXAMPLES: &[&str] = &[
    "127.0.0.1",
    "10.1.2.3",
    "169.254.10.20",
    "224.0.0.251",
    "100.63.255.255",
    "100.64.0.0",
    "100.127.255.255",
    "100.128.0.0",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.7",
    "198.18.0.1",
    "198.19.255.255",
    "8.8.8.8",
];

fn main() {
    let mut args = Args::from_env(USAGE);
    let mut words = args.rest();
    args.finish();
    if words.is_empty() {
        words = EXAMPLES.iter().map(|w| w.to_string()).collect();
    }
    let mut addresses = Vec::new();
    for word in &words {
        match word.parse::<Ipv4Addr>() {
            Ok(ip) => addresses.push(ip),
            Err(_) => fail(format!(
                "{word:?} is not an IPv4 address, such as 100.64.1.2"
            )),
        }
    }
    for ip in addresses {
        // 15 characters: the longest IPv4 address, 255.255.255.255.
        println!("{:<15}  {}", ip.to_string(), classify(ip));
    }
}

// ANCHOR: task
/// The special range `ip` is in, as a label.
fn classify(ip: Ipv4Addr) -> &'static str {
    if ip.is_unspecified() {
        "unspecified (0.0.0.0)"
    } else if ip.is_loopback() {
        "loopback (127.0.0.0/8)"
    } else if ip.is_private() {
        "private (RFC 1918)"
    } else if ip.is_link_local() {
        "link-local (169.254.0.0/16)"
    } else if ip.is_multicast() {
        "multicast (224.0.0.0/4)"
    } else if ip.is_broadcast() {
        "broadcast (255.255.255.255)"
    // TODO: shared 100.64.0.0/10, documentation (RFC 5737) and benchmarking
    // 198.18.0.0/15. `u32::from(ip)` is the address as a 32-bit number, first byte on top.
    } else {
        "global (in none of the ranges this program knows)"
    }
}
// ANCHOR_END: task
