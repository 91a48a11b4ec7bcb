//! Lesson 12, run as a student runs it: the shipped capture decoded into the phases of
//! the article's dialogue, the same numbers tcpdump reads from the same files (the
//! sample, one made here with `tcpdump -i lo -w`, one made by `--live`), every link
//! type the lesson reads, and bad files refused in one line, never with a panic.

mod common;

use common::{PATIENCE, Running, help_default, run, run_command, skip};
use std::io::{BufRead, BufReader, Write};
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use tcp_lessons::parcel::{Capture, FIN, Ip, Ipv6, Link, Packet, RST};

const SAMPLE: &str = "lessons/captures/dialogue.pcap";

fn sample() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE)).unwrap()
}

/// Runs the lesson on `file` (given on standard input), expects success, returns stdout.
fn decode(file: &[u8], args: &[&str]) -> String {
    let done = decode_raw(file, args);
    assert!(
        done.status.success(),
        "12_wire {args:?} failed: {:?}\nstderr: {}\nstdout: {}",
        done.status,
        done.stderr,
        done.stdout
    );
    done.stdout
}

fn decode_raw(file: &[u8], args: &[&str]) -> common::Finished {
    let mut command = Command::new(common::lesson("12_wire"));
    command.arg("-").args(args);
    run_command(command, file)
}

/// The block of `out` under the heading that starts with `heading`, up to the next
/// blank line.
fn section<'a>(out: &'a str, heading: &str) -> &'a str {
    let start = out
        .find(&format!("\n{heading}"))
        .unwrap_or_else(|| panic!("no section {heading:?} in:\n{out}"));
    let rest = &out[start + 1..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

/// What the first line of each packet in section 2 says, as tcpdump would say it.
#[derive(Debug, PartialEq)]
struct Line {
    number: usize,
    /// Microseconds after the first packet.
    micros: u64,
    flags: String,
    /// The sequence numbers as tcpdump prints them: the ISN itself in a SYN, relative
    /// after it; `1:9` for data. None where tcpdump prints none (a bare ACK).
    seq: Option<String>,
    ack: Option<String>,
    win: u32,
    length: usize,
}

/// `0.002931` (seconds, as the lesson and `tcpdump -ttttt` print them) in microseconds.
fn micros(text: &str) -> u64 {
    let text = text.rsplit(':').next().unwrap();
    let (whole, fraction) = text.split_once('.').unwrap();
    whole.parse::<u64>().unwrap() * 1_000_000 + fraction.parse::<u64>().unwrap()
}

/// The value after `name ` up to the next `,` or space.
fn word_after<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let at = line.find(name)? + name.len();
    line[at..].split([',', ' ']).next()
}

/// The lesson's packet lines (section 2), in tcpdump's terms.
fn lesson_lines(out: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut syn_isn: u32 = 0;
    for line in section(out, "2.")
        .lines()
        .filter(|l| l.starts_with('#') && l.contains('→'))
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        let flags = words[6].to_string();
        let length: usize = word_after(line, "  length ").unwrap().parse().unwrap();
        let mut ack = word_after(line, "  ack ").map(String::from);
        // tcpdump prints a SYN's numbers in full (the ISN, and the ack of a SYN-ACK);
        // it counts from the ISNs after that, and prints no seq in a bare ACK.
        let seq = if flags.contains('S') {
            let isn: u32 = word_after(line, "(ISN ")
                .unwrap()
                .trim_end_matches(')')
                .parse()
                .unwrap();
            if let Some(relative) = &ack {
                ack = Some(syn_isn.wrapping_add(relative.parse().unwrap()).to_string());
            }
            syn_isn = isn;
            Some(isn.to_string())
        } else if length > 0 || flags.contains('F') || flags.contains('R') {
            word_after(line, "  seq ").map(String::from)
        } else {
            None
        };
        lines.push(Line {
            number: words[0][1..].parse().unwrap(),
            micros: micros(words[1]),
            flags,
            seq,
            ack,
            win: word_after(line, "  win ").unwrap().parse().unwrap(),
            length,
        });
    }
    lines
}

/// tcpdump's lines for the same file, if tcpdump is installed.
fn tcpdump_lines(file: &Path) -> Option<Vec<Line>> {
    let out = Command::new("tcpdump")
        .args(["-r"])
        .arg(file)
        .args(["-nn", "-ttttt"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let lines = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let flags = word_after(line, "Flags ").unwrap();
            Line {
                number: i + 1,
                micros: micros(line.split_whitespace().next().unwrap()),
                flags: flags.to_string(),
                seq: word_after(line, ", seq ").map(String::from),
                ack: word_after(line, ", ack ").map(String::from),
                win: word_after(line, ", win ").unwrap().parse().unwrap(),
                length: word_after(line, ", length ").unwrap().parse().unwrap(),
            }
        })
        .collect();
    Some(lines)
}

/// Checks the lesson's reading of `file` against tcpdump's, packet by packet.
fn same_as_tcpdump(file: &Path, out: &str) {
    let Some(expected) = tcpdump_lines(file) else {
        skip("tcpdump is not installed: the lesson's reading is not compared with its");
        return;
    };
    let got = lesson_lines(out);
    assert_eq!(
        got.len(),
        expected.len(),
        "packets: lesson\n{got:#?}\ntcpdump\n{expected:#?}"
    );
    for (got, expected) in got.iter().zip(&expected) {
        assert_eq!(
            got, expected,
            "packet {} reads differently from tcpdump's",
            got.number
        );
    }
    // The timeline's times and arrows are the same packets, in the same order.
    let timeline = section(out, "3.");
    for line in &expected {
        let at = format!("#{:<3} ", line.number);
        let row = timeline
            .lines()
            .find(|l| l.starts_with(&at))
            .unwrap_or_else(|| panic!("no timeline line for packet {}:\n{timeline}", line.number));
        let time = row.split_whitespace().nth(1).unwrap();
        assert_eq!(micros(time), line.micros, "{row}");
    }
}

#[test]
fn the_shipped_sample_shows_the_whole_dialogue() {
    let out = run("12_wire", &[], "");
    assert!(out.status.success(), "{}", out.stderr);
    let out = out.stdout;
    assert!(out.contains("link type       1 = Ethernet"), "{out}");
    assert!(out.contains("packets         20, over 4.044166 s"), "{out}");
    let lines = lesson_lines(&out);
    let flags: Vec<&str> = lines.iter().map(|l| l.flags.as_str()).collect();
    assert_eq!(
        flags,
        [
            "[S]", "[S.]", "[.]", "[P.]", "[.]", "[P.]", "[.]", "[P.]", "[P.]", "[.]", "[P.]",
            "[P.]", "[.]", "[P.]", "[P.]", "[.]", "[F.]", "[.]", "[F.]", "[.]"
        ]
    );
    // The data, in order, with its numbers counted from each side's ISN.
    let data: Vec<&str> = section(&out, "2.")
        .lines()
        .filter_map(|l| l.split("data · ").nth(1))
        .filter(|d| *d != "none")
        .collect();
    assert_eq!(
        data,
        [
            "8 bytes · \"Welcome!\"",
            "7 bytes · \"Michael\"",
            "15 bytes · \"Hello, Michael!\"",
            "5 bytes · \"Tracy\"",
            "13 bytes · \"Hello, Tracy!\"",
            "5 bytes · \"Sarah\"",
            "13 bytes · \"Hello, Sarah!\"",
            "4 bytes · \"exit\""
        ]
    );
    assert_eq!(
        lines[5].seq.as_deref(),
        Some("1:8"),
        "Michael is bytes 1 to 7"
    );
    assert_eq!(
        lines[5].ack.as_deref(),
        Some("9"),
        "after Welcome!'s 8 bytes"
    );
    assert!(
        out.contains("win 64 × 2^10 = 65536"),
        "the window scale applied:\n{out}"
    );
    assert!(out.contains("win 65495 (never scaled in a SYN)"), "{out}");
    assert!(
        out.contains("options: MSS 65495, SACK permitted, timestamps"),
        "{out}"
    );
    assert!(out.contains("window scale 10 (× 1024)"), "{out}");
}

#[test]
fn the_timeline_names_every_phase_in_order() {
    let out = run("12_wire", &[], "").stdout;
    let timeline = section(&out, "3.");
    let mut rest = timeline;
    for phase in [
        "client 127.0.0.1:49894",
        "server 127.0.0.1:1234",
        "three-way handshake",
        "#1 ",
        "handshake 1/3, MSS 65495, scale 10",
        "handshake 2/3",
        "handshake 3/3: connected",
        "the server speaks first",
        "\"Welcome!\" 1:9",
        "the client sends \"Michael\"",
        "1.000 s after \"Michael\": the pause",
        "the client sends \"Tracy\"",
        "the client sends \"Sarah\"",
        "the client sends \"exit\"",
        "the close",
        "the client closes first",
        "delayed ACK, 45.8 ms later",
        "the server closes too, 1.038 s later",
        "last ACK: the client enters TIME_WAIT",
        "TIME_WAIT: 60 s on Linux",
    ] {
        let at = rest
            .find(phase)
            .unwrap_or_else(|| panic!("{phase:?} missing, or out of order, in:\n{timeline}"));
        rest = &rest[at + phase.len()..];
    }
    // Client on the left: its segments point right.
    let syn = timeline.lines().find(|l| l.starts_with("#1 ")).unwrap();
    assert!(
        syn.contains("│─ SYN seq 0 ─") && syn.contains("▶│"),
        "{syn}"
    );
    let synack = timeline.lines().find(|l| l.starts_with("#2 ")).unwrap();
    assert!(
        synack.contains("│◀─") && synack.contains("SYN ACK seq 0 ack 1"),
        "{synack}"
    );
}

#[test]
fn checksums_are_checked_and_loopbacks_explained() {
    let out = run("12_wire", &[], "").stdout;
    let checks = section(&out, "4.");
    for expected in [
        "IPv4 header checksums: 20 of 20 correct",
        "TCP checksums: 1 correct, 19 partial, 0 wrong",
        "the sum of the pseudo-header alone",
        "Complete: #20, the last ACK",
        "20 frames carry MAC addresses of all zeros",
        "MSS 65495",
    ] {
        assert!(
            checks.contains(expected),
            "{expected:?} missing in:\n{checks}"
        );
    }
    let packets = section(&out, "2.");
    assert_eq!(packets.matches("checksum partial").count(), 19, "{packets}");
}

#[test]
fn the_sample_reads_as_tcpdump_reads_it() {
    let out = run("12_wire", &[], "").stdout;
    same_as_tcpdump(&Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE), &out);
}

#[test]
fn one_packet_in_full_shows_michael_and_the_packings() {
    let out = run("12_wire", &["--packet", "6"], "").stdout;
    for expected in [
        "Packet 6 in full",
        "┌─ link frame (Ethernet II) · 14-byte header + 59 bytes = 73 bytes",
        "┌─ TCP segment · 32-byte header + 7 bytes = 39 bytes",
        "(relative 1: counted from the client's ISN)",
        "(relative 9: the next byte it expects from the server)",
        "64 × 2^10 = 65536 bytes (scale 10, from its SYN)",
        "0xfe2f partial, the pseudo-header's sum (whole: 0x3a8f)",
        "correct: the header sums to 0",
        "\"Michael\"",
        "data hex                4d 69 63 68 61 65 6c",
        "packing 1, the goods: the 7 bytes \"Michael\"",
        "packing 2, the post office",
        "packing 3, the vehicle: the 14-byte Ethernet II header, MACs all zero",
    ] {
        assert!(out.contains(expected), "{expected:?} missing in:\n{out}");
    }
    // tcpdump -vv said of this packet: "cksum 0xfe2f (incorrect -> 0x3a8f)".
    let bad = run("12_wire", &["--packet", "21"], "");
    assert_eq!(bad.status.code(), Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("holds 20 packets"), "{}", bad.stderr);
}

#[test]
fn every_packet_of_the_sample_is_rebuilt_byte_for_byte() {
    let capture = Capture::read(&sample()).unwrap();
    assert_eq!(capture.to_bytes(), sample());
    for (i, record) in capture.records.iter().enumerate() {
        let packet = Packet::parse(capture.link_type, &record.data)
            .unwrap_or_else(|e| panic!("packet {}: {e}", i + 1));
        assert_eq!(packet.to_bytes(), record.data, "packet {}", i + 1);
    }
}

/// The sample with every frame's link header replaced, as another link type writes it.
fn relinked(link: Link) -> Vec<u8> {
    let mut capture = Capture::read(&sample()).unwrap();
    for record in &mut capture.records {
        let mut packet = Packet::parse(capture.link_type, &record.data).unwrap();
        packet.link = link.clone();
        record.data = packet.to_bytes();
        record.original_len = record.data.len() as u32;
    }
    capture.link_type = link.link_type();
    capture.to_bytes()
}

#[test]
fn every_link_type_reads_the_same_conversation() {
    let original = run("12_wire", &[], "").stdout;
    let timeline = section(&original, "3.");
    let variants: Vec<(&str, Vec<u8>)> = vec![
        (
            "Linux cooked capture, SLL",
            relinked(Link::Sll {
                packet_type: 0,
                hardware: 772,
                address_len: 6,
                address: [0; 8],
                protocol: 0x0800,
            }),
        ),
        (
            "Linux cooked capture v2, SLL2",
            relinked(Link::Sll2 {
                protocol: 0x0800,
                reserved: 0,
                interface: 1,
                hardware: 772,
                packet_type: 0,
                address_len: 6,
                address: [0; 8],
            }),
        ),
        (
            "BSD loopback, NULL",
            relinked(Link::Null {
                family: 2u32.to_le_bytes(),
            }),
        ),
        (
            "BSD loopback, NULL",
            relinked(Link::Null {
                family: 2u32.to_be_bytes(),
            }),
        ),
    ];
    for (name, file) in variants {
        let out = decode(&file, &[]);
        assert!(out.contains(&format!("┌─ {name}")), "{name}:\n{out}");
        assert_eq!(section(&out, "3."), timeline, "{name}");
        if let Some(path) = tcpdump_file(&file) {
            same_as_tcpdump(&path, &out);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// `file` written where tcpdump can read it, if tcpdump is installed.
fn tcpdump_file(file: &[u8]) -> Option<PathBuf> {
    Command::new("tcpdump").arg("--version").output().ok()?;
    let path = temp_file("pcap");
    std::fs::write(&path, file).unwrap();
    Some(path)
}

fn temp_file(ext: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    std::env::temp_dir().join(format!("12_wire_test_{}_{n}.{ext}", std::process::id()))
}

#[test]
fn ipv6_reads_the_same_conversation() {
    // The sample's packets carried over IPv6 between ::1 and ::1, sealed again.
    let mut capture = Capture::read(&sample()).unwrap();
    for record in &mut capture.records {
        let mut packet = Packet::parse(capture.link_type, &record.data).unwrap();
        let Ip::V4(v4) = &packet.ip else {
            unreachable!()
        };
        packet.ip = Ip::V6(Ipv6 {
            traffic_class: 0,
            flow_label: 0x12345,
            payload_len: 0,
            next_header: 6,
            hop_limit: v4.ttl,
            src: Ipv6Addr::LOCALHOST,
            dst: Ipv6Addr::LOCALHOST,
        });
        if let Link::Ethernet { ethertype, .. } = &mut packet.link {
            *ethertype = 0x86dd;
        }
        record.data = packet.seal().to_bytes();
        record.original_len = record.data.len() as u32;
    }
    let out = decode(&capture.to_bytes(), &[]);
    assert!(
        out.contains("client [::1]:49894") && out.contains("server [::1]:1234"),
        "{out}"
    );
    assert!(
        out.contains("┌─ IPv6 · ::1 → ::1 · 40 bytes after the header · hop limit 64"),
        "{out}"
    );
    assert!(out.contains("TCP checksums: 20 correct"), "{out}");
    let original = run("12_wire", &[], "").stdout;
    let strip = |text: &str| text.replace("[::1]", "127.0.0.1").replace("127.0.0.1:", "");
    let lines =
        |text: &str| -> Vec<String> { section(text, "3.").lines().skip(2).map(strip).collect() };
    assert_eq!(lines(&out), lines(&original));
}

/// A file the lesson must refuse, and words its one line must contain.
fn refused(name: &str, file: &[u8], words: &[&str]) {
    let done = decode_raw(file, &[]);
    assert_eq!(
        done.status.code(),
        Some(1),
        "{name}: {}\n{}",
        done.stderr,
        done.stdout
    );
    assert_eq!(
        done.stderr.lines().count(),
        1,
        "{name}: one line, not:\n{}",
        done.stderr
    );
    assert!(!done.stderr.contains("panicked"), "{name}: {}", done.stderr);
    for word in words {
        assert!(
            done.stderr.contains(word),
            "{name}: {word:?} missing in {}",
            done.stderr
        );
    }
    assert!(
        done.stdout.is_empty(),
        "{name}: printed before refusing:\n{}",
        done.stdout
    );
}

/// The sample with packet `index`'s bytes changed by `change`.
fn with_packet(index: usize, change: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut capture = Capture::read(&sample()).unwrap();
    change(&mut capture.records[index].data);
    capture.records[index].original_len = capture.records[index].data.len() as u32;
    capture.to_bytes()
}

#[test]
fn bad_files_are_refused_in_one_line() {
    let good = sample();
    refused("an empty file", b"", &["too few for a pcap file"]);
    refused(
        "a text file",
        b"[package]\nname = \"x\"\n",
        &["not a pcap file", "5b 70 61 63"],
    );
    refused(
        "pcapng",
        &[0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0, 0x4d, 0x3c],
        &["pcapng", "editcap"],
    );
    refused(
        "a cut file header",
        &good[..20],
        &["inside its 24-byte file header"],
    );
    refused(
        "a cut record header",
        &good[..24 + 8],
        &["inside the record header of packet 1"],
    );
    refused(
        "a cut packet",
        &good[..good.len() - 5],
        &["inside packet 20", "cut short"],
    );
    let mut huge = good.clone();
    huge[24 + 8..24 + 12].copy_from_slice(&4_000_000_000u32.to_le_bytes());
    refused(
        "a huge captured length",
        &huge,
        &["packet 1", "4000000000", "damaged"],
    );
    let mut link = good.clone();
    link[20..24].copy_from_slice(&105u32.to_le_bytes());
    refused(
        "an unknown link type",
        &link,
        &["link type 105", "Ethernet (1)", "(113)"],
    );
    refused(
        "a packet shorter than its headers",
        &with_packet(3, |data| data.truncate(14 + 20 + 10)),
        &["packet 4", "TCP header is cut short"],
    );
    refused(
        "an IHL past the end",
        &with_packet(0, |data| {
            data[14] = 0x4f; // IHL 15: 60 bytes of IPv4 header
            data.truncate(14 + 40);
        }),
        &["packet 1", "IHL 15", "60 bytes"],
    );
    refused(
        "a data offset past the end",
        &with_packet(4, |data| data[14 + 20 + 12] = 0xf0),
        &["packet 5", "data offset 15", "60 bytes"],
    );
    refused(
        "a total length shorter than the header",
        &with_packet(2, |data| data[14 + 2..14 + 4].copy_from_slice(&[0, 10])),
        &["packet 3", "total length, 10"],
    );
    let missing = run("12_wire", &["/no/such/file.pcap"], "");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        missing.stderr.contains("cannot read /no/such/file.pcap"),
        "{}",
        missing.stderr
    );
    assert!(
        missing.stderr.contains("tcpdump -i lo -w"),
        "{}",
        missing.stderr
    );
}

#[test]
fn a_capture_cut_at_its_snap_length_is_read_with_what_it_holds() {
    // The 8 segments that carry data lose its last 3 bytes, as a snap length cuts.
    let mut capture = Capture::read(&sample()).unwrap();
    for record in &mut capture.records {
        let packet = Packet::parse(Link::ETHERNET, &record.data).unwrap();
        if !packet.payload.is_empty() {
            record.data.truncate(record.data.len() - 3);
        }
    }
    let out = decode(&capture.to_bytes(), &[]);
    let cut = out
        .matches("3 bytes not captured (the snap length)")
        .count();
    assert_eq!(cut, 8, "{out}");
    assert!(out.contains("8 not checked (data not"), "{out}");
    assert!(out.contains("data · 5 bytes · \"Welco\""), "{out}");
    let mut capture = Capture::read(&sample()).unwrap();
    capture.records[0].data.truncate(40); // the SYN's TCP header cut
    let done = decode_raw(&capture.to_bytes(), &[]);
    assert_eq!(done.status.code(), Some(1), "{}", done.stderr);
    assert!(
        done.stderr
            .contains("only 40 of its 74 bytes were captured"),
        "{}",
        done.stderr
    );
    assert!(done.stderr.contains("tcpdump -s 0"), "{}", done.stderr);
}

/// Cut the sample short in many places and flip bits all over it: the lesson either
/// decodes what it gets or says in one line what is wrong, and never panics.
#[test]
fn truncations_and_bit_flips_never_panic() {
    let good = sample();
    let capture = Capture::read(&good).unwrap();
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    // Around every record boundary, where a reader is most easily fooled...
    for record in &capture.records {
        for delta in [-1i64, 0, 1, 8, 15, 16, 17, 30, 50] {
            let cut = (record.offset as i64 + delta).clamp(0, good.len() as i64) as usize;
            inputs.push(good[..cut].to_vec());
        }
    }
    // The same places every run: a linear congruential generator (Knuth's MMIX numbers).
    let mut state: u64 = 12;
    let mut below = |n: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) % n as u64) as usize
    };
    // ...anywhere else...
    for _ in 0..100 {
        inputs.push(good[..below(good.len())].to_vec());
    }
    // ...and 1 to 4 flipped bits, anywhere in the file.
    for _ in 0..600 {
        let mut flipped = good.clone();
        for _ in 0..=below(4) {
            let at = below(flipped.len());
            flipped[at] ^= 1 << below(8);
        }
        inputs.push(flipped);
    }
    let tried = inputs.len();
    let lesson = common::lesson("12_wire");
    let chunks: Vec<Vec<Vec<u8>>> = inputs
        .chunks(tried.div_ceil(8))
        .map(<[_]>::to_vec)
        .collect();
    let outcomes: Vec<(usize, usize, Vec<String>)> = thread::scope(|scope| {
        let runs: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                let lesson = &lesson;
                scope.spawn(move || {
                    let (mut decoded, mut refused, mut wrong) = (0, 0, Vec::new());
                    for input in chunk {
                        let mut command = Command::new(lesson);
                        command.arg("-");
                        let done = run_command(command, input);
                        let panicked = done.stderr.contains("panicked");
                        match done.status.code() {
                            Some(0) if !panicked && !done.stdout.is_empty() => decoded += 1,
                            Some(1) if !panicked && done.stderr.lines().count() == 1 => {
                                refused += 1
                            }
                            _ => wrong.push(format!(
                                "{:?} on {} bytes: {}",
                                done.status,
                                input.len(),
                                done.stderr
                            )),
                        }
                    }
                    (decoded, refused, wrong)
                })
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    let decoded: usize = outcomes.iter().map(|o| o.0).sum();
    let refused: usize = outcomes.iter().map(|o| o.1).sum();
    let wrong: Vec<&String> = outcomes.iter().flat_map(|o| &o.2).collect();
    assert!(wrong.is_empty(), "panics or bad exits:\n{wrong:#?}");
    assert_eq!(decoded + refused, tried);
    assert!(
        decoded > 0 && refused > 0,
        "decoded {decoded}, refused {refused}"
    );
    // A figure for the book, said even when the test passes.
    let _ = writeln!(
        std::io::stderr(),
        "12_wire fuzzed: {tried} inputs, {decoded} decoded, {refused} refused in one line, 0 panics"
    );
}

#[test]
fn help_gives_the_sample_as_the_default() {
    let help = run("12_wire", &["--help"], "").stdout;
    assert_eq!(help_default(&help, "FILE"), SAMPLE);
    assert_eq!(help_default(&help, "--pause-ms"), "1000");
    let out = run("12_wire", &[], "").stdout;
    assert!(
        out.contains(&format!("{SAMPLE}: 1750 bytes of classic pcap")),
        "{out}"
    );
}

#[test]
fn wrong_command_lines_exit_2() {
    for args in [
        &["--save", "x.pcap"][..],
        &["--live", "file.pcap"],
        &["--packet", "many"],
        &["--paket", "6"],
    ] {
        let done = run("12_wire", args, "");
        assert_eq!(done.status.code(), Some(2), "{args:?}: {}", done.stderr);
        assert_eq!(done.stderr.lines().count(), 1, "{args:?}: {}", done.stderr);
    }
}

/// Whether this process may open an AF_PACKET socket (root, or CAP_NET_RAW).
fn may_capture() -> bool {
    use socket2::{Domain, Protocol, Socket, Type};
    Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(0x0300))).is_ok()
}

#[test]
fn live_captures_a_conversation_that_tcpdump_reads_the_same() {
    if !may_capture() {
        skip("not root (no CAP_NET_RAW): --live cannot open its AF_PACKET socket here");
        return;
    }
    common::lessons(&["03_server", "04_client"]);
    let saved = temp_file("pcap");
    let saved_arg = saved.to_string_lossy().into_owned();
    let out = run(
        "12_wire",
        &["--live", "--pause-ms", "100", "--save", &saved_arg],
        "",
    );
    assert!(out.status.success(), "{}\n{}", out.stderr, out.stdout);
    let out = out.stdout;
    assert!(
        out.contains("an AF_PACKET socket listens on lo for TCP port"),
        "{out}"
    );
    let timeline = section(&out, "3.");
    for phase in [
        "three-way handshake",
        "the client sends \"Michael\"",
        "the client closes first",
        "last ACK: the client enters TIME_WAIT",
    ] {
        assert!(
            timeline.contains(phase),
            "{phase:?} missing in:\n{timeline}"
        );
    }
    // Captured once each: lo's outgoing copies are filtered out.
    assert_eq!(lesson_lines(&out).len(), 20, "{out}");
    same_as_tcpdump(&saved, &out);
    let _ = std::fs::remove_file(saved);
}

#[test]
fn live_without_the_privilege_says_so_and_decodes_the_sample() {
    let mut command = if may_capture() {
        // Root here: take CAP_NET_RAW away from the lesson with setpriv.
        let Ok(status) = Command::new("setpriv").arg("--version").output() else {
            skip("setpriv (util-linux) is missing: cannot run --live without CAP_NET_RAW as root");
            return;
        };
        let _ = status;
        let mut command = Command::new("setpriv");
        command
            .args(["--bounding-set=-net_raw"])
            .arg(common::lesson("12_wire"));
        command
    } else {
        Command::new(common::lesson("12_wire"))
    };
    command.arg("--live");
    let done = run_command(command, b"");
    assert!(done.status.success(), "{}", done.stderr);
    assert_eq!(done.stderr.lines().count(), 1, "{}", done.stderr);
    for words in [
        "cannot capture",
        "CAP_NET_RAW",
        "tcpdump -i lo -w FILE port 1234",
        SAMPLE,
    ] {
        assert!(
            done.stderr.contains(words),
            "{words:?} missing in {}",
            done.stderr
        );
    }
    assert!(
        done.stdout.contains(&format!("{SAMPLE}: 1750 bytes")),
        "{}",
        done.stdout
    );
}

/// Captures a fresh conversation with `tcpdump -i lo -w`, while 04_client talks to a
/// 03_server started here, and checks that the lesson reads it as tcpdump does.
#[test]
fn a_fresh_tcpdump_capture_reads_as_tcpdump_reads_it() {
    fresh_capture("lo", "127.0.0.1:0", "1 = Ethernet");
}

/// The same over every interface at once: tcpdump writes Linux cooked headers (SLL2).
#[test]
fn a_fresh_capture_on_any_interface_reads_the_same() {
    fresh_capture("any", "127.0.0.1:0", "276 = Linux cooked capture v2");
}

/// The same over IPv6, between ::1 and ::1.
#[test]
fn a_fresh_ipv6_capture_reads_the_same() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        skip("no IPv6 loopback (::1) here");
        return;
    }
    fresh_capture("lo", "[::1]:0", "1 = Ethernet");
}

/// Captures with `tcpdump -i INTERFACE -w` while 04_client talks to a 03_server on
/// `listen`, then compares the lesson's reading of the file with tcpdump's.
fn fresh_capture(interface: &str, listen: &str, link: &str) {
    if !may_capture() || Command::new("tcpdump").arg("--version").output().is_err() {
        skip(&format!(
            "needs root and tcpdump: no fresh capture with tcpdump -i {interface}"
        ));
        return;
    }
    let mut server = Running::start("03_server", &[listen, "--pause-ms", "100"]);
    let addr = server.listening_addr();
    let file = temp_file("pcap");
    let mut child = Command::new("tcpdump")
        .args(["-i", interface, "--immediate-mode", "-U", "-w"])
        .arg(&file)
        .args(["port", &addr.port().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start tcpdump");
    // tcpdump says on stderr when it listens.
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let tcpdump = common::Started(child);
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // (With -i any it first says which link type it writes.)
    let listening = loop {
        let line = rx
            .recv_timeout(PATIENCE)
            .expect("tcpdump did not say it listens");
        if line.contains("listening on") {
            break line;
        }
    };
    assert!(
        listening.contains(&format!("listening on {interface}")),
        "{listening}"
    );
    let client = run("04_client", &[&addr.to_string()], "");
    assert!(client.status.success(), "{}", client.stderr);
    server.expect("closed.");
    // Wait for the last ACK to be written (tcpdump writes each packet at once).
    let deadline = Instant::now() + PATIENCE;
    while !closed(&file) {
        assert!(
            Instant::now() < deadline,
            "the capture never held the last ACK"
        );
        thread::sleep(Duration::from_millis(20));
    }
    drop(tcpdump);
    let bytes = std::fs::read(&file).unwrap();
    let out = decode(&bytes, &[]);
    assert!(out.contains(&format!("link type       {link}")), "{out}");
    assert!(
        section(&out, "3.").contains("last ACK: the client enters TIME_WAIT"),
        "{out}"
    );
    same_as_tcpdump(&file, &out);
    let _ = std::fs::remove_file(file);
}

/// Whether the capture in `file` holds two FINs and then an ACK, or a RST.
fn closed(file: &Path) -> bool {
    let Ok(bytes) = std::fs::read(file) else {
        return false;
    };
    let Ok(capture) = Capture::read(&bytes) else {
        return false; // a record written halfway: not yet
    };
    let mut fins = 0;
    capture.records.iter().any(|record| {
        let Ok(packet) = Packet::parse(capture.link_type, &record.data) else {
            return false;
        };
        fins += usize::from(packet.tcp.has(FIN));
        packet.tcp.has(RST) || (fins >= 2 && !packet.tcp.has(FIN))
    })
}
