//! # Solution to ex12_sack: decode SACK blocks
//!
//! Every whole 8-byte block is read with `chunks_exact`, which leaves out a broken
//! tail instead of reading past the end, and both edges are counted from the ISN of
//! the side whose bytes they number, with `wrapping_sub`: sequence numbers wrap around
//! at 2^32, and a block may lie across the wrap.
//! Run it: `cargo run -p exercises --bin ex12_sack_solution -- FILE`.

use std::net::IpAddr;
use tcp_lessons::args::Args;
use tcp_lessons::parcel::{Capture, Packet, SYN, TcpOption};
use tcp_lessons::say::{fail, out_text};

const USAGE: &str = indoc::indoc! {"
    usage: ex12_sack_solution [FILE]

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
            let blocks: Vec<String> = data
                .chunks_exact(8)
                .map(|block| {
                    let left = u32::from_be_bytes([block[0], block[1], block[2], block[3]]);
                    let right = u32::from_be_bytes([block[4], block[5], block[6], block[7]]);
                    // The right edge is the byte after the block, as in `seq 1:9`.
                    let left = left.wrapping_sub(receiver_isn);
                    let right = right.wrapping_sub(receiver_isn);
                    format!("{left}:{right}")
                })
                .collect();
            format!("SACK {}", blocks.join(" "))
        }
        other => other.describe(),
    }
}
// ANCHOR_END: task
