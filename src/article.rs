//! The article's protocol, as lesson 03 speaks it, for the lessons that serve it again
//! in another design: 09 (an event loop) and 10 (async tasks).
//!
//! Those lessons are about how a server waits for many clients, not about what it says
//! to them: their dialogue (`Welcome!`, `Hello, NAME!`, `exit`) stands in each lesson,
//! and only the one rule they would otherwise copy from lesson 03 is here. Lesson 03
//! keeps its own copy of it, in the open, because it is the lesson that teaches it.

/// Splits a trailing `\r\n` or `\n` off the message, as lesson 03 does: `nc` and
/// `telnet` send one after every line, the article's client sends none, and the reply
/// ends the way the message did, so both kinds of client see what they expect.
pub fn split_line_ending(message: &[u8]) -> (&[u8], &'static str) {
    if let Some(text) = message.strip_suffix(b"\r\n") {
        (text, "\r\n")
    } else if let Some(text) = message.strip_suffix(b"\n") {
        (text, "\n")
    } else {
        (message, "")
    }
}

#[cfg(test)]
mod tests {
    use super::split_line_ending;

    #[test]
    fn the_line_ending_is_split_off_and_kept() {
        assert_eq!(split_line_ending(b"Michael"), (&b"Michael"[..], ""));
        assert_eq!(split_line_ending(b"Michael\n"), (&b"Michael"[..], "\n"));
        assert_eq!(split_line_ending(b"Michael\r\n"), (&b"Michael"[..], "\r\n"));
        // Only one ending comes off: an empty line inside the message stays.
        assert_eq!(split_line_ending(b"a\n\n"), (&b"a\n"[..], "\n"));
        // A lone `\r` is not a line ending.
        assert_eq!(split_line_ending(b"a\r"), (&b"a\r"[..], ""));
    }
}
