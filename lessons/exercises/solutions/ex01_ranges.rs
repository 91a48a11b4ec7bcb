//! # Solution to ex01_ranges: the ranges std does not name
//!
//! A prefix `/len` becomes a mask of `len` one bits followed by zeros; an address is in
//! the network when it agrees with the network's address on every bit of the mask.
//! Run it: `cargo run -p exercises --bin ex01_ranges_solution -- 100.64.1.2`.

use std::net::Ipv4Addr;
use tcp_lessons::args::Args;
use tcp_lessons::say::fail;

const USAGE: &str = indoc::indoc! {"
    usage: ex01_ranges_solution [IPV4 ADDRESS...]

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
    } else if in_network(ip, Ipv4Addr::new(100, 64, 0, 0), 10) {
        "shared (RFC 6598, carrier-grade NAT)"
    } else if ip.is_documentation() {
        "documentation (RFC 5737)"
    } else if in_network(ip, Ipv4Addr::new(198, 18, 0, 0), 15) {
        "benchmarking (RFC 2544)"
    } else {
        "global (in none of the ranges this program knows)"
    }
}

/// Whether the first `prefix` bits of `ip` are those of `network`: `ip` is in
/// `network/prefix`.
fn in_network(ip: Ipv4Addr, network: Ipv4Addr, prefix: u32) -> bool {
    // `prefix` one bits, then zeros: /10 is 0xffc0_0000. (A /0 would shift by 32 bits,
    // which u32 cannot: it is the empty mask, and every address is in 0.0.0.0/0.)
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(network) & mask
}
// ANCHOR_END: task
