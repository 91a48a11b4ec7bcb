//! Is a starter still the one shipped? The package's tests check that every starter
//! fails a check *as shipped*; a starter a student has changed (solved, half-solved)
//! is left out, with a line saying so, so that solving an exercise never turns a test
//! red.
//!
//! `shipped-starters.txt`, beside the starters, holds a fingerprint of each starter as
//! shipped: works without git, and a commit of the student's own work changes nothing.
//! After changing a starter on purpose, `UPDATE_FINGERPRINTS=1 cargo test -p exercises`
//! rewrites the file (and CI, with `SHIPPED_STARTERS_ONLY=1`, refuses a stale one).

use std::fs;
use std::path::PathBuf;

/// The file of fingerprints, one `NAME FINGERPRINT` line per starter.
pub fn fingerprints_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("shipped-starters.txt")
}

/// The starter's source file.
pub fn starter_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("{name}.rs"))
}

/// The fingerprint of a source text: 64-bit FNV-1a of its bytes, with `\r\n` read as
/// `\n` so that a checkout with Windows line endings is the same starter.
pub fn fingerprint(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.replace("\r\n", "\n").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The fingerprint recorded for starter `name`, if any.
pub fn recorded(name: &str) -> Option<String> {
    let text = fs::read_to_string(fingerprints_file()).ok()?;
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| match line.split_once(' ') {
            Some((n, print)) if n == name => Some(print.trim().to_string()),
            _ => None,
        })
}

/// The fingerprint of starter `name` as it is now on disk.
pub fn current(name: &str) -> Option<String> {
    fs::read_to_string(starter_file(name))
        .ok()
        .map(|text| fingerprint(&text))
}

/// Whether starter `name` is the one shipped.
pub fn is_shipped(name: &str) -> bool {
    matches!((recorded(name), current(name)), (Some(r), Some(c)) if r == c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_do_not_change_a_fingerprint_but_a_byte_does() {
        assert_eq!(fingerprint("a\r\nb\n"), fingerprint("a\nb\n"));
        assert_ne!(fingerprint("a\nb\n"), fingerprint("a\nc\n"));
        // FNV-1a's published value for the empty input.
        assert_eq!(fingerprint(""), "cbf29ce484222325");
    }
}
