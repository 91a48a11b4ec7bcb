//! The checks of the exercises on lesson 01.

use super::{Check, Exercise, Mismatch, Program};

pub const ALL: &[Exercise] = &[CHECKSUM, RANGES];

const CHECKSUM: Exercise = Exercise {
    name: "ex01_checksum",
    lesson: "01_addresses",
    task: "compute the Internet checksum (RFC 1071) of a header given in hex",
    checks: &[
        Check {
            what: "the textbook header 45 00 00 73 ... c0 a8 00 c7 gives checksum 0xb861",
            hint: "read each two bytes as one big-endian word (u16::from_be_bytes), add the \
                   words up in a wider integer (u32 or u64), and flip every bit of the \
                   result with !",
            run: textbook_header,
        },
        Check {
            what: "lesson 01's parcel header 45 00 00 2f ... 7f 00 00 01 gives 0x3cc7",
            hint: "the sum of ten words is wider than 16 bits: add what is above the low 16 \
                   bits back in at the bottom, (sum & 0xffff) + (sum >> 16), before you flip",
            run: parcel_header,
        },
        Check {
            what: "45 00 00 73 b8 62 ... c0 a8 00 c7, whose sum carries again after one fold, \
                   gives 0xfffe",
            hint: "adding the carry back in can carry again (0xffff + 1 = 0x10000): fold in a \
                   loop until the sum fits in 16 bits, then flip",
            run: two_folds,
        },
        Check {
            what: "an odd number of bytes, 01 02 03, gives 0xfbfd (the last word is 0x0300)",
            hint: "bytes.chunks(2) ends with a chunk of one byte when the length is odd: that \
                   byte is the HIGH byte of its word, with a zero byte after it",
            run: odd_length,
        },
    ],
};

/// The usual worked example: a UDP packet's IPv4 header, 192.168.0.1 to 192.168.0.199.
const TEXTBOOK: &str = "45 00 00 73 00 00 40 00 40 11 00 00 c0 a8 00 01 c0 a8 00 c7";
/// The IPv4 header of lesson 01's parcel: `Michael` from 127.0.0.1 to 127.0.0.1:1234.
const PARCEL: &str = "45 00 00 2f 00 00 40 00 40 06 00 00 7f 00 00 01 7f 00 00 01";
/// The textbook header with identification 0xb862: its ten words add up to 0x2fffe, one
/// fold gives 0xfffe + 0x2 = 0x10000, which carries again: a second fold gives 0x0001,
/// and the checksum is !0x0001 = 0xfffe. A program that folds once and truncates gets
/// 0xffff. Found and computed independently with python3:
/// `s = sum(int.from_bytes(h[i:i+2], 'big') for i in range(0, 20, 2))`, trying
/// identifications until `(s & 0xffff) + (s >> 16) > 0xffff`, then folding in a loop.
const TWO_FOLDS: &str = "45 00 00 73 b8 62 40 00 40 11 00 00 c0 a8 00 01 c0 a8 00 c7";
const ODD: &str = "01 02 03";

fn textbook_header(program: &Program) -> Result<(), Mismatch> {
    expect_checksum(program, TEXTBOOK, 0xb861)
}

fn parcel_header(program: &Program) -> Result<(), Mismatch> {
    expect_checksum(program, PARCEL, 0x3cc7)
}

fn two_folds(program: &Program) -> Result<(), Mismatch> {
    expect_checksum(program, TWO_FOLDS, 0xfffe)
}

fn odd_length(program: &Program) -> Result<(), Mismatch> {
    // 0x0102 + 0x0300 = 0x0402, flipped: 0xfbfd.
    expect_checksum(program, ODD, 0xfbfd)
}

/// Runs the program on `hex` and compares its `checksum 0x....` line with `expected`.
fn expect_checksum(program: &Program, hex: &str, expected: u16) -> Result<(), Mismatch> {
    let args: Vec<&str> = hex.split(' ').collect();
    let want = format!("checksum {expected:#06x}");
    let finished = program.run(&args, "")?;
    // Says which bytes, so that the student can run the program on them.
    let want_for = format!("{want}, for the bytes {hex}");
    if !finished.status.success() {
        return Err(Mismatch::new(
            want_for,
            format!(
                "it stopped ({}) and said: {}",
                finished.status,
                finished.stderr.trim()
            ),
        ));
    }
    let line = finished
        .stdout
        .lines()
        .find(|line| line.starts_with("checksum "))
        .map(str::trim_end);
    match line {
        Some(line) if line == want => Ok(()),
        Some(line) => Err(Mismatch::new(want_for, line)),
        None => Err(Mismatch::new(
            want_for,
            format!("no line starting with \"checksum \": {:?}", finished.stdout),
        )),
    }
}

const RANGES: Exercise = Exercise {
    name: "ex01_ranges",
    lesson: "01_addresses",
    task: "name the shared, documentation and benchmarking ranges of IPv4",
    checks: &[
        Check {
            what: "100.64.0.0, 100.64.1.2 and 100.127.255.255 are shared (100.64.0.0/10)",
            hint: "/10: the first 10 bits are fixed. u32::from(ip) is the address as a number; \
                   keep its first 10 bits with & and a mask, and compare them with those of \
                   100.64.0.0",
            run: shared,
        },
        Check {
            what: "100.63.255.255 and 100.128.0.0, just outside 100.64.0.0/10, are global",
            hint: "the mask must keep exactly 10 bits, 0xffc0_0000: 100.64.0.0/10 runs from \
                   100.64.0.0 to 100.127.255.255 (a /8 mask would take in all of 100.x.x.x)",
            run: shared_ends,
        },
        Check {
            what: "198.18.0.0, 198.18.0.1 and 198.19.255.255 are benchmarking (198.18.0.0/15)",
            hint: "/15 keeps 15 bits: 198.18 and 198.19 differ only in the last bit of the \
                   second byte, the 16th bit, which the mask leaves out",
            run: benchmarking,
        },
        Check {
            what: "198.17.255.255 and 198.20.0.0, just outside 198.18.0.0/15, are global",
            hint: "a /15 mask has 15 one bits, then 17 zeros: 0xfffe_0000",
            run: benchmarking_ends,
        },
        Check {
            what: "192.0.2.1, 198.51.100.7 and 203.0.113.7 are documentation; 192.0.3.0 is not",
            hint: "RFC 5737 reserves three /24 networks: Ipv4Addr::is_documentation knows \
                   them, or compare the first three bytes, ip.octets()",
            run: documentation,
        },
        Check {
            what: "std's ranges still work: loopback, private, link-local, multicast, global",
            hint: "add the new ranges as more `else if` branches: keep std's tests as they are",
            run: std_ranges,
        },
    ],
};

fn shared(program: &Program) -> Result<(), Mismatch> {
    expect_ranges(
        program,
        &[
            ("100.64.0.0", "shared"),
            ("100.64.1.2", "shared"),
            ("100.127.255.255", "shared"),
        ],
    )
}

fn shared_ends(program: &Program) -> Result<(), Mismatch> {
    expect_ranges(
        program,
        &[("100.63.255.255", "global"), ("100.128.0.0", "global")],
    )
}

fn benchmarking(program: &Program) -> Result<(), Mismatch> {
    expect_ranges(
        program,
        &[
            ("198.18.0.0", "benchmarking"),
            ("198.18.0.1", "benchmarking"),
            ("198.19.255.255", "benchmarking"),
        ],
    )
}

fn benchmarking_ends(program: &Program) -> Result<(), Mismatch> {
    expect_ranges(
        program,
        &[("198.17.255.255", "global"), ("198.20.0.0", "global")],
    )
}

fn documentation(program: &Program) -> Result<(), Mismatch> {
    expect_ranges(
        program,
        &[
            ("192.0.2.1", "documentation"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.7", "documentation"),
            ("192.0.3.0", "global"),
        ],
    )
}

fn std_ranges(program: &Program) -> Result<(), Mismatch> {
    expect_ranges(
        program,
        &[
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("169.254.1.1", "link-local"),
            ("224.0.0.251", "multicast"),
            ("8.8.8.8", "global"),
        ],
    )
}

/// Runs the program on the addresses of `cases` and checks that the label of each
/// (its line's second word) starts with the expected range.
fn expect_ranges(program: &Program, cases: &[(&str, &str)]) -> Result<(), Mismatch> {
    let args: Vec<&str> = cases.iter().map(|(address, _)| *address).collect();
    let finished = program.run(&args, "")?;
    if !finished.status.success() {
        return Err(Mismatch::new(
            "one line per address",
            format!(
                "it stopped ({}) and said: {}",
                finished.status,
                finished.stderr.trim()
            ),
        ));
    }
    for (address, range) in cases {
        let label = finished.stdout.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some(*address)).then(|| words.collect::<Vec<_>>().join(" "))
        });
        match label {
            Some(label) if label.split_whitespace().next() == Some(*range) => {}
            Some(label) => {
                return Err(Mismatch::new(
                    format!("{address}  {range} ..."),
                    format!("{address}  {label}"),
                ));
            }
            None => {
                return Err(Mismatch::new(
                    format!("a line \"{address}  {range} ...\""),
                    format!("no line for {address} in {:?}", finished.stdout),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcp_lessons::parcel::internet_checksum;

    fn bytes(hex: &str) -> Vec<u8> {
        hex.split(' ')
            .map(|byte| u8::from_str_radix(byte, 16).unwrap())
            .collect()
    }

    /// The expected values agree with the library's own checksum.
    #[test]
    fn expected_checksums_agree_with_the_library() {
        for (hex, expected) in [
            (TEXTBOOK, 0xb861),
            (PARCEL, 0x3cc7),
            (TWO_FOLDS, 0xfffe),
            (ODD, 0xfbfd),
        ] {
            assert_eq!(internet_checksum(&bytes(hex)), expected, "{hex}");
        }
    }
}
