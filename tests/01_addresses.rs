//! Lesson 01, run as a student runs it: what it prints about addresses and ports, and
//! whether the parcel's headers are real (sizes and both checksums checked here, by a
//! computation of the test's own).

mod common;

use common::{help_default, run};

/// Runs the lesson with `args`, expects success, returns its stdout.
fn lesson(args: &[&str]) -> String {
    let done = run("01_addresses", args, "");
    assert!(
        done.status.success(),
        "01_addresses {args:?} failed: {:?}\nstderr:\n{}\nstdout:\n{}",
        done.status,
        done.stderr,
        done.stdout
    );
    done.stdout
}

/// The text of each line with the parcel's left bars taken off.
fn unboxed(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|line| line.trim_start_matches(['│', ' ']).to_string())
        .collect()
}

/// The bytes printed after `label`, on its line and the hex-only lines that follow.
fn hex_after(stdout: &str, label: &str) -> Vec<u8> {
    let lines = unboxed(stdout);
    let at = lines
        .iter()
        .position(|line| line.starts_with(label))
        .unwrap_or_else(|| panic!("no line starting with {label:?} in:\n{stdout}"));
    let mut bytes = Vec::new();
    for (i, line) in lines[at..].iter().enumerate() {
        let text = if i == 0 {
            &line[label.len()..]
        } else {
            &line[..]
        };
        let words: Vec<&str> = text.split_whitespace().collect();
        let hex: Option<Vec<u8>> = words
            .iter()
            .map(|w| {
                (w.len() == 2)
                    .then(|| u8::from_str_radix(w, 16).ok())
                    .flatten()
            })
            .collect();
        match hex {
            Some(row) if !row.is_empty() => {
                assert!(row.len() <= 16, "more than 16 bytes on one line: {line:?}");
                bytes.extend(row);
            }
            _ if i == 0 => panic!("no hex after {label:?}: {line:?}"),
            _ => break,
        }
    }
    bytes
}

/// The `0x....` value on the line starting with `label`.
fn value_after(stdout: &str, label: &str) -> u16 {
    let lines = unboxed(stdout);
    let line = lines
        .iter()
        .find(|line| line.starts_with(label))
        .unwrap_or_else(|| panic!("no line starting with {label:?} in:\n{stdout}"));
    let word = line[label.len()..].split_whitespace().next().unwrap();
    let hex = word
        .strip_prefix("0x")
        .unwrap_or_else(|| panic!("not 0x...: {line:?}"));
    u16::from_str_radix(hex, 16).unwrap()
}

/// The ones'-complement sum of 16-bit big-endian words (RFC 1071), written again here
/// so that the lesson's own code is not checked against itself.
fn ones_sum(bytes: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    for (i, b) in bytes.iter().enumerate() {
        sum += u64::from(*b) << if i % 2 == 0 { 8 } else { 0 };
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

const MICHAEL: &[&str] = &["localhost:1234", "Michael", "--src-port", "50000"];

#[test]
fn the_parcel_has_four_layers_with_their_sizes() {
    let out = lesson(MICHAEL);
    for title in [
        "┌─ link frame (Ethernet II) · 14-byte header + 47 bytes = 61 bytes",
        "│ ┌─ IPv4 packet · 20-byte header + 27 bytes = 47 bytes",
        "│ │ ┌─ TCP segment · 20-byte header + 7 bytes = 27 bytes",
        "│ │ │ ┌─ application data · 7 bytes",
        "│ │ │ │ \"Michael\"",
    ] {
        assert!(out.contains(title), "missing {title:?} in:\n{out}");
    }
    assert_eq!(out.matches("┌─").count(), out.matches("└─").count());
    assert_eq!(hex_after(&out, "Ethernet header hex").len(), 14);
    assert_eq!(hex_after(&out, "IPv4 header hex").len(), 20);
    assert_eq!(hex_after(&out, "TCP header hex").len(), 20);
    assert_eq!(hex_after(&out, "data hex"), b"Michael");
}

#[test]
fn the_ipv4_header_checksum_is_right() {
    let out = lesson(MICHAEL);
    let header = hex_after(&out, "IPv4 header hex");
    assert_eq!(header.len(), 20);
    // Valid: a header with its checksum in place sums to 0xffff.
    assert_eq!(ones_sum(&header), 0xffff, "header {header:02x?}");
    // And the same as computed on the side, with Python's struct module:
    // the header 45 00 00 2f 00 00 40 00 40 06 00 00 7f 00 00 01 7f 00 00 01
    // (version 4, IHL 5, total length 47, identification 0, DF, TTL 64, TCP,
    // 127.0.0.1 -> 127.0.0.1), its 16-bit words summed with the carries folded back
    // and the result inverted, gives 0x3cc7.
    assert_eq!(value_after(&out, "header checksum"), 0x3cc7);
    assert_eq!(&header[10..12], &[0x3c, 0xc7]);
    assert_eq!(
        &header[..10],
        &[0x45, 0x00, 0x00, 0x2f, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06]
    );
    assert_eq!(&header[12..], &[127, 0, 0, 1, 127, 0, 0, 1]);
}

#[test]
fn the_tcp_checksum_is_right() {
    let out = lesson(MICHAEL);
    let header = hex_after(&out, "TCP header hex");
    assert_eq!(header.len(), 20);
    assert_eq!(
        &header[..4],
        &[0xc3, 0x50, 0x04, 0xd2],
        "ports 50000 -> 1234"
    );
    // The RFC 9293 pseudo-header: source IP, destination IP, zero, protocol 6, and the
    // TCP length (20-byte header + 7 bytes of data).
    let mut covered = vec![127, 0, 0, 1, 127, 0, 0, 1, 0, 6, 0, 27];
    covered.extend_from_slice(&header);
    covered.extend_from_slice(b"Michael");
    assert_eq!(ones_sum(&covered), 0xffff, "segment {header:02x?}");
    // Computed on the side with Python's struct module (pseudo-header + header with
    // seq 1, ack 1, offset 5, PSH ACK, window 65535, checksum 0 + "Michael"): 0x6b67.
    assert_eq!(value_after(&out, "checksum"), 0x6b67);
}

#[test]
fn the_link_frame_is_loopbacks() {
    let out = lesson(MICHAEL);
    let eth = hex_after(&out, "Ethernet header hex");
    assert_eq!(eth, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00]);
}

#[test]
fn a_longer_message_changes_every_length_and_stays_valid() {
    let message = "x".repeat(100);
    let out = lesson(&["localhost:1234", &message, "--src-port", "40000"]);
    assert!(out.contains("TCP segment · 20-byte header + 100 bytes = 120 bytes"));
    assert!(out.contains("IPv4 packet · 20-byte header + 120 bytes = 140 bytes"));
    let ip = hex_after(&out, "IPv4 header hex");
    assert_eq!(ones_sum(&ip), 0xffff);
    assert_eq!(&ip[2..4], &[0, 140]);
    // The data hex is cut after 64 bytes, so this checks the TCP header only by its
    // fields, not its checksum.
    let tcp = hex_after(&out, "TCP header hex");
    assert_eq!(&tcp[..4], &[0x9c, 0x40, 0x04, 0xd2]);
}

#[test]
fn the_source_port_is_the_one_the_os_chose() {
    let out = lesson(&[]);
    let line = out
        .lines()
        .find(|line| line.contains("the OS chose port "))
        .unwrap_or_else(|| panic!("no chosen port in:\n{out}"));
    let port: u16 = line
        .split("the OS chose port ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|word| word.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    assert_ne!(port, 0);
    assert!(
        out.contains(&format!("A client at 127.0.0.1:{port} sends it")),
        "the parcel does not start from port {port}:\n{out}"
    );
    let source_port = unboxed(&out)
        .into_iter()
        .find(|line| line.starts_with("source port"))
        .and_then(|line| line.split_whitespace().nth(2).map(str::to_string));
    assert_eq!(source_port, Some(port.to_string()));
}

#[test]
fn localhost_resolves_to_loopback() {
    let out = lesson(&["localhost:1234"]);
    assert!(
        out.lines()
            .any(|line| line.starts_with("[kernel]") && line.contains("127.0.0.1:1234")),
        "no resolved 127.0.0.1:1234 in:\n{out}"
    );
}

#[test]
fn an_ip_literal_needs_no_resolver() {
    let out = lesson(&["10.1.2.3:80"]);
    assert!(out.contains("10.1.2.3:80 is already IP:PORT"), "{out}");
    assert!(out.contains("IPv4 private (RFC 1918)"), "{out}");
}

#[test]
fn addresses_are_classified() {
    let out = lesson(MICHAEL);
    for (address, class) in [
        ("127.0.0.1 ", "IPv4 loopback"),
        ("192.168.1.10 ", "IPv4 private"),
        ("169.254.10.20 ", "IPv4 link-local"),
        ("8.8.8.8 ", "IPv4 global (none of the special ranges above)"),
        ("fe80::1 ", "IPv6 link-local"),
        ("fd12:3456:789a::1 ", "IPv6 unique local"),
        ("ff02::1 ", "IPv6 multicast"),
    ] {
        assert!(
            out.lines()
                .any(|line| line.contains(address) && line.contains(class)),
            "{address} is not shown as {class}:\n{out}"
        );
    }
}

#[test]
fn a_bad_name_is_said_and_the_lesson_goes_on() {
    // .invalid never resolves (RFC 6761); with no network the lookup fails just as well.
    let out = lesson(&["no-such-host.invalid:80", "张三", "--src-port", "50000"]);
    assert!(
        out.contains("cannot resolve \"no-such-host.invalid:80\""),
        "{out}"
    );
    assert!(out.contains("application data · 6 bytes (2 characters in UTF-8)"));
    assert_eq!(hex_after(&out, "data hex"), "张三".as_bytes());
}

#[test]
fn a_word_without_a_port_is_explained() {
    let out = lesson(&["localhost"]);
    assert!(out.contains("cannot resolve \"localhost\""), "{out}");
    assert!(out.contains("Expected HOST:PORT"), "{out}");
}

#[test]
fn an_empty_message_still_makes_a_valid_parcel() {
    let out = lesson(&["localhost:1234", "", "--src-port", "50000"]);
    assert!(out.contains("TCP segment · 20-byte header + 0 bytes = 20 bytes"));
    assert_eq!(ones_sum(&hex_after(&out, "IPv4 header hex")), 0xffff);
}

#[test]
fn a_bad_source_port_exits_2_with_one_line() {
    for bad in ["abc", "70000", "-1"] {
        let done = run("01_addresses", &["--src-port", bad], "");
        assert_eq!(done.status.code(), Some(2), "--src-port {bad}");
        assert_eq!(done.stderr.lines().count(), 1, "stderr: {:?}", done.stderr);
        assert!(
            done.stderr.contains("--src-port"),
            "stderr: {:?}",
            done.stderr
        );
        assert!(!done.stderr.contains("panicked"));
        assert!(done.stdout.is_empty());
    }
}

#[test]
fn help_shows_the_usage() {
    let out = lesson(&["--help"]);
    assert!(out.starts_with("usage: 01_addresses"));
    assert!(out.contains("--src-port N"));
}

#[test]
fn help_shows_the_defaults_the_lesson_uses() {
    let help = lesson(&["--help"]);
    let out = lesson(&[]);
    let target = help_default(&help, "HOST:PORT");
    assert!(
        out.contains(&format!("turned {target} into")),
        "--help says the lesson resolves {target} by default, but it resolved another:\n{out}"
    );
    let message = help_default(&help, "MESSAGE");
    assert_eq!(
        hex_after(&out, "data hex"),
        message.as_bytes(),
        "--help says the parcel carries {message:?} by default"
    );
}

#[test]
#[cfg(target_os = "linux")]
fn every_interface_is_listed_with_its_mtu() {
    let out = lesson(MICHAEL);
    for entry in std::fs::read_dir("/sys/class/net").unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let mtu = std::fs::read_to_string(entry.path().join("mtu")).unwrap();
        let listed = out.lines().any(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words.get(1) == Some(&name.as_str()) && words.get(3) == Some(&mtu.trim())
        });
        assert!(
            listed,
            "{name} with mtu {} is not listed:\n{out}",
            mtu.trim()
        );
    }
}

#[test]
#[cfg(target_os = "linux")]
fn the_neighbour_table_is_shown_as_linux_publishes_it() {
    let out = lesson(MICHAEL);
    assert!(
        out.contains("/proc/net/arp"),
        "the lesson does not say where the ARP table comes from:\n{out}"
    );
    // Every entry line has the shape "IP is at MAC on DEVICE".
    for line in out.lines().filter(|l| l.contains(" is at ")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert!(
            words[1].parse::<std::net::Ipv4Addr>().is_ok(),
            "not an IPv4 address in {line:?}"
        );
        assert_eq!(words[4].split(':').count(), 6, "not a MAC in {line:?}");
        assert_eq!(words[5], "on", "{line:?}");
    }
    assert!(
        out.contains("ip -6 neigh"),
        "IPv6 neighbours are not explained:\n{out}"
    );
}

#[test]
fn the_mss_is_explained_and_a_long_message_is_cut() {
    let out = lesson(&["localhost:1234", "Michael", "--src-port", "50000"]);
    assert!(out.contains("its MSS"), "{out}");
    assert!(out.contains("1448 bytes of data"), "{out}");
    assert!(!out.contains("would cut this message"), "{out}");
    let long = "x".repeat(3000);
    let out = lesson(&["localhost:1234", &long, "--src-port", "50000"]);
    // 3000 bytes at 1448 a segment: 1448 + 1448 + 104.
    assert!(out.contains("cut this message into 3 segments"), "{out}");
}

#[test]
fn the_tcp_standard_cited_is_rfc_9293() {
    let out = lesson(MICHAEL);
    assert!(out.contains("RFC 9293"), "{out}");
    assert!(
        !out.contains("RFC 793"),
        "RFC 793 is obsolete (RFC 9293):\n{out}"
    );
}
