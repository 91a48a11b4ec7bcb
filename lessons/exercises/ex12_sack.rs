//! # Exercise ex12_sack: decode SACK blocks
//!
//! When a segment is lost and later ones arrive, the receiver cannot acknowledge them
//! with its ack number, which only says "everything before this byte". With SACK
//! (RFC 2018), allowed by both SYNs' "SACK permitted", it adds an option of kind 5 to
//! its ACKs: up to four blocks of bytes it holds beyond the gap, each a left edge (its
//! first byte) and a right edge (the byte after its last), 32-bit big-endian sequence
//! numbers. The sender then resends only what is missing.
//!
//! This program reads a capture, as lesson 12 does, and prints each TCP segment with
//! its ack number and its options. It shows SACK blocks only as
//! `SACK (8 bytes, not decoded)`.
//!
//! **Your task:** decode them as tcpdump does: `SACK 2897:4345 5793:7241`, every block,
//! each edge counted from an ISN like the ack number. The bytes a segment acknowledges
//! were sent by the *other* side: the blocks count from that side's ISN.
//!
//! Difficulty: ★★☆. Rust: slices and `chunks_exact`, `u32::from_be_bytes`, and
//! `wrapping_sub` for numbers that wrap around at 2^32.
//!
//! Try it: `cargo run -p exercises --bin ex12_sack` reads lesson 12's capture (no
//! SACK in it: nothing was lost); `cargo run -p exercises --bin ex12_sack -- FILE` reads
//! yours. `cargo exercise ex12_sack` checks it, and says where it wrote the captures it
//! checks with, so you can run the program on them.

use std::net::IpAddr;
use tcp_lessons::args::Args;
use tcp_lessons::parcel::{Capture, Packet, SYN, TcpOption};
use tcp_lessons::say::{fail, out_text};

const USAGE: &str = indoc::indoc! {"
    usage: ex12_sack [FILE]

    Prints every TCP segment of a capture (classic pcap) with its ack number and its
    options. Without FILE, lesson 12's capture, lessons/captures/dialogue.pcap.
"};

/// Lesson 12's capture, for a run without FILE.
const SAMPLE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../captures/dialogue.pcap"
));

fn main() {
    let mut args = Args::from_env(USAGE);
    let file = args.positional();
    args.finish();
    let bytes = match &file {
        Some(file) => std::fs::read(file).unwrap_or_else(|err| fail(format!("{file}: {err}"))),
        None => SAMPLE.to_vec(),
    };
    let capture = Capture::read(&bytes).unwrap_or_else(|bad| fail(bad));
    // Each side's ISN, from its SYN: (address, port) and the ISN.
    let mut isns: Vec<((IpAddr, u16), u32)> = Vec::new();
    for (i, record) in capture.records.iter().enumerate() {
        let Ok(packet) = Packet::parse(capture.link_type, &record.data) else {
            continue;
        };
        let tcp = &packet.tcp;
        let (from, to) = (
            (packet.ip.src(), tcp.src_port),
            (packet.ip.dst(), tcp.dst_port),
        );
        if tcp.has(SYN) {
            isns.push((from, tcp.seq));
        }
        let isn_of = |side| {
            isns.iter()
                .rev()
                .find(|(s, _)| *s == side)
                .map(|(_, isn)| *isn)
        };
        // The ack number counts the receiver's bytes: from the receiver's ISN.
        let receiver_isn = isn_of(to).unwrap_or(0);
        let options: Vec<String> = tcp
            .options
            .iter()
            .map(|option| describe(option, receiver_isn))
            .collect();
        out_text(&format!(
            "#{} {} > {}  {}  ack {}  options: {}\n",
            i + 1,
            tcp.src_port,
            tcp.dst_port,
            tcp.tcpdump_flags(),
            tcp.ack.wrapping_sub(receiver_isn),
            options.join(", ")
        ));
    }
}

// ANCHOR: task
/// One option, as tcpdump names it. `receiver_isn` is the ISN of the side this segment
/// goes to: the side whose bytes it acknowledges.
fn describe(option: &TcpOption, receiver_isn: u32) -> String {
    match option {
        TcpOption::Other { kind: 5, data } => {
            // TODO: `data` holds 8 bytes per block: the left edge, then the right edge,
            // each a 32-bit big-endian sequence number. Print every block as
            // "LEFT:RIGHT", both counted from `receiver_isn`, after "SACK ".
            let _ = receiver_isn;
            format!("SACK ({} bytes, not decoded)", data.len())
        }
        other => other.describe(),
    }
}
// ANCHOR_END: task
