//! The checks of the exercise on lesson 12. Each check writes a small capture of its
//! own, built with the lessons' parcel codec (`tcp_lessons::parcel`): a handshake, a
//! few segments of the server's, then the client's ACK with SACK blocks for the server's
//! bytes beyond a gap. It runs the program on the file and reads its last line.

use super::{Check, Exercise, Mismatch, Program};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use tcp_lessons::parcel::{ACK, Capture, Ip, Ipv4, Link, PSH, Packet, SYN, Tcp, TcpOption};

pub const ALL: &[Exercise] = &[SACK];

const SACK: Exercise = Exercise {
    name: "ex12_sack",
    lesson: "12_wire",
    task: "decode the SACK blocks of an ACK",
    checks: &[
        Check {
            what: "one block, counted from the server's ISN: SACK 2897:4345",
            hint: "read each edge with u32::from_be_bytes, left then right, and subtract \
                   receiver_isn from both: the blocks number the server's bytes, as the ack \
                   does. The right edge is already the byte after the block: print it as it is",
            run: one_block,
        },
        Check {
            what: "three blocks, every one in order: SACK 2897:4345 5793:7241 8689:10137",
            hint: "print every block: the data holds 8 bytes per block, up to four; \
                   data.chunks_exact(8) gives them one after the other",
            run: three_blocks,
        },
        Check {
            what: "a server ISN just below 2^32, so that the edges wrapped past 0: still \
                   SACK 2897:4345",
            hint: "sequence numbers wrap around at 2^32, so an edge may be smaller than the \
                   ISN: wrapping_sub counts across the wrap, where `-` overflows and panics",
            run: wrapped,
        },
        Check {
            what: "a broken SACK option, 10 bytes of blocks (one and a bit): no panic, the \
                   whole block shown",
            hint: "a capture may hold anything: data.chunks_exact(8) leaves a broken tail \
                   out, where chunks(8) hands it over and block[4] runs past its end",
            run: broken,
        },
    ],
};

/// The client's ISN, and the server's in most checks.
const CLIENT_ISN: u32 = 1_000_000;
const SERVER_ISN: u32 = 3_000_000_000;
/// A full segment's data over Ethernet with timestamps, as in lesson 01.
const FULL: u32 = 1448;

fn one_block(program: &Program) -> Result<(), Mismatch> {
    expect_sack(program, "one_block", SERVER_ISN, &[(2897, 4345)], &[])
}

fn three_blocks(program: &Program) -> Result<(), Mismatch> {
    let blocks = [(2897, 4345), (5793, 7241), (8689, 10137)];
    expect_sack(program, "three_blocks", SERVER_ISN, &blocks, &[])
}

fn wrapped(program: &Program) -> Result<(), Mismatch> {
    // 2^32 - 2000: byte 2897 of the server's stream is number 897.
    expect_sack(program, "wrapped", u32::MAX - 1999, &[(2897, 4345)], &[])
}

fn broken(program: &Program) -> Result<(), Mismatch> {
    expect_sack(
        program,
        "broken",
        SERVER_ISN,
        &[(2897, 4345)],
        &[0xab, 0xcd],
    )
}

/// Writes the capture, runs the program on it, and compares the last line's SACK.
fn expect_sack(
    program: &Program,
    name: &str,
    server_isn: u32,
    blocks: &[(u32, u32)],
    tail: &[u8],
) -> Result<(), Mismatch> {
    let path = write_capture(name, &capture(server_isn, blocks, tail))?;
    let shown = path.display().to_string();
    let want: Vec<String> = blocks.iter().map(|(l, r)| format!("{l}:{r}")).collect();
    let want = format!("SACK {}", want.join(" "));
    let expected = format!("a last line (the client's ACK) with \"{want}\", for {shown}");
    let finished = program.run(&[&shown], "")?;
    if !finished.status.success() {
        return Err(Mismatch::new(
            expected,
            format!(
                "it stopped ({}) and said: {}",
                finished.status,
                // A panic's first two lines say where and why; a backtrace may follow.
                finished
                    .stderr
                    .lines()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        ));
    }
    let last = finished
        .stdout
        .lines()
        .last()
        .unwrap_or_default()
        .trim_end();
    let sack = last.split("SACK").nth(1).map(|rest| format!("SACK{rest}"));
    match sack {
        Some(sack) if sack == want || sack.starts_with(&format!("{want},")) => Ok(()),
        _ => Err(Mismatch::new(expected, format!("{last:?}"))),
    }
}

/// The handshake, the server's first segment, one segment for each block's bytes (the
/// gaps between them lost), then the client's ACK of the first segment with the blocks.
/// Block edges are given counted from the server's ISN.
fn capture(server_isn: u32, blocks: &[(u32, u32)], tail: &[u8]) -> Capture {
    let (c, s) = (CLIENT_ISN, server_isn);
    let handshake = [TcpOption::Mss(1460), TcpOption::SackPermitted];
    let mut packets = vec![
        segment(true, c, 0, SYN, handshake.to_vec(), 0),
        segment(false, s, c + 1, SYN | ACK, handshake.to_vec(), 0),
        segment(true, c + 1, s.wrapping_add(1), ACK, Vec::new(), 0),
        segment(false, s.wrapping_add(1), c + 1, PSH | ACK, Vec::new(), FULL),
    ];
    let mut sack = Vec::new();
    for (left, right) in blocks {
        packets.push(segment(
            false,
            s.wrapping_add(*left),
            c + 1,
            PSH | ACK,
            Vec::new(),
            right - left,
        ));
        sack.extend_from_slice(&s.wrapping_add(*left).to_be_bytes());
        sack.extend_from_slice(&s.wrapping_add(*right).to_be_bytes());
    }
    sack.extend_from_slice(tail);
    let options = vec![
        TcpOption::Nop,
        TcpOption::Nop,
        TcpOption::Other {
            kind: 5,
            data: sack,
        },
    ];
    packets.push(segment(
        true,
        c + 1,
        s.wrapping_add(1 + FULL),
        ACK,
        options,
        0,
    ));
    let mut capture = Capture::new(Link::ETHERNET);
    for (i, packet) in packets.iter().enumerate() {
        // A millisecond apart, from 2026-01-01.
        capture.push(
            1_767_225_600_000_000_000 + i as u64 * 1_000_000,
            packet.to_bytes(),
        );
    }
    capture
}

/// One segment between 127.0.0.1:50000 (the client) and 127.0.0.1:1234, sealed.
fn segment(
    from_client: bool,
    seq: u32,
    ack: u32,
    flags: u8,
    options: Vec<TcpOption>,
    data: u32,
) -> Packet {
    let (client, server) = (50000, 1234);
    let (src_port, dst_port) = if from_client {
        (client, server)
    } else {
        (server, client)
    };
    Packet {
        link: Link::Ethernet {
            dst: [0; 6],
            src: [0; 6],
            ethertype: 0x0800,
        },
        ip: Ip::V4(Ipv4 {
            dscp_ecn: 0,
            total_len: 0,
            identification: 0,
            flags_fragment: 0x4000,
            ttl: 64,
            protocol: 6,
            checksum: 0,
            src: Ipv4Addr::LOCALHOST,
            dst: Ipv4Addr::LOCALHOST,
            options: Vec::new(),
        }),
        tcp: Tcp {
            src_port,
            dst_port,
            seq,
            ack,
            reserved: 0,
            flags,
            window: 512,
            checksum: 0,
            urgent: 0,
            options,
        },
        payload: vec![b'x'; data as usize],
        trailer: Vec::new(),
    }
    .seal()
}

/// Writes `capture` where the student can find it again: the temporary folder's
/// `tcp-lessons-ex12/NAME.pcap`, whole (written aside, then renamed: checks running side
/// by side never read half a file).
fn write_capture(name: &str, capture: &Capture) -> Result<PathBuf, Mismatch> {
    let dir = std::env::temp_dir().join("tcp-lessons-ex12");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.pcap"));
    let aside = dir.join(format!(
        "{name}.{}.{:?}.part",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&aside, capture.to_bytes())?;
    std::fs::rename(&aside, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The captures read back with the blocks where the checks say they are.
    #[test]
    fn the_captures_hold_the_blocks_the_checks_expect() {
        for server_isn in [SERVER_ISN, u32::MAX - 1999] {
            let bytes = capture(server_isn, &[(2897, 4345), (5793, 7241)], &[]).to_bytes();
            let read = Capture::read(&bytes).unwrap();
            let last = read.records.last().unwrap();
            let packet = Packet::parse(read.link_type, &last.data).unwrap();
            let Some(TcpOption::Other { kind: 5, data }) = packet.tcp.options.last() else {
                panic!("no SACK option: {:?}", packet.tcp.options);
            };
            let edge = |at: usize| {
                u32::from_be_bytes(data[at..at + 4].try_into().unwrap()).wrapping_sub(server_isn)
            };
            assert_eq!(
                [edge(0), edge(4), edge(8), edge(12)],
                [2897, 4345, 5793, 7241]
            );
            assert_eq!(packet.tcp.ack.wrapping_sub(server_isn), 1449);
        }
    }
}
