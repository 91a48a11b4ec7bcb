//! Framing: where one message ends and the next begins, on a TCP byte stream.
//!
//! TCP delivers bytes in order, but not in the pieces they were written in: two writes
//! can arrive in one read, one write in several (lesson 05 shows both). So both ends
//! agree on a *frame* around each message. This module has the two usual ones:
//!
//! - **lines**: each message ends with `\n` (a `\r\n` from telnet is accepted too), as
//!   `nc` and most text protocols do. Simple, readable, but a message cannot hold `\n`.
//! - **length-prefixed**: a 4-byte length in network byte order (big-endian), then that
//!   many bytes. Any bytes can be sent, and the reader knows the size before reading.
//!
//! Both readers take a maximum size and never hold much more than that in memory,
//! whatever the peer sends (a line reader: the limit, a `\r\n`, and its `BufRead`'s own
//! buffer); both return `Ok(None)` when the stream ends cleanly between messages.

use std::fmt;
use std::io::{self, BufRead, Read, Write};

/// What can go wrong reading a frame.
#[derive(Debug)]
pub enum FrameError {
    /// The message is longer than the reader allows; the connection cannot be trusted
    /// to resynchronise, so it should be closed.
    TooLong { limit: usize },
    /// The stream ended in the middle of a message.
    Truncated { got: usize },
    /// The socket failed: a reset, a timeout.
    Io(io::Error),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            FrameError::TooLong { limit } => {
                write!(f, "message longer than the limit of {limit} bytes")
            }
            FrameError::Truncated { got } => write!(
                f,
                "the connection closed in the middle of a message ({got} bytes of it came)"
            ),
            FrameError::Io(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for FrameError {}

impl From<io::Error> for FrameError {
    fn from(err: io::Error) -> FrameError {
        FrameError::Io(err)
    }
}

// ANCHOR: lines
/// Reads one line of at most `max` bytes (not counting its `\n` or `\r\n`), and returns
/// it without the line ending; `Ok(None)` if the stream ended before a new line began.
pub fn read_line(reader: &mut impl BufRead, max: usize) -> Result<Option<Vec<u8>>, FrameError> {
    let mut line = Vec::new();
    // `take` stops the read after max + 2 bytes: room for the longest line with `\r\n`.
    // Without it, a peer that never sends `\n` would make `line` grow until memory ends.
    let limit = max.saturating_add(2) as u64;
    let n = reader.by_ref().take(limit).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.pop() != Some(b'\n') {
        return Err(if n as u64 == limit {
            FrameError::TooLong { limit: max }
        } else {
            FrameError::Truncated { got: n }
        });
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.len() > max {
        return Err(FrameError::TooLong { limit: max });
    }
    Ok(Some(line))
}

/// Writes `message` as one line. It must not contain `\n`: the reader would see two.
pub fn write_line(writer: &mut impl Write, message: &[u8]) -> io::Result<()> {
    if message.contains(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a line-framed message cannot contain \\n",
        ));
    }
    // One buffer, one write: the line leaves in one piece when it can.
    let mut frame = Vec::with_capacity(message.len() + 1);
    frame.extend_from_slice(message);
    frame.push(b'\n');
    writer.write_all(&frame)
}
// ANCHOR_END: lines

// ANCHOR: length_prefixed
/// Writes `message` after its length, a `u32` in network byte order (big-endian).
pub fn write_frame(writer: &mut impl Write, message: &[u8]) -> io::Result<()> {
    let len = u32::try_from(message.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a frame holds under 4 GiB"))?;
    let mut frame = Vec::with_capacity(4 + message.len());
    // to_be_bytes: most significant byte first, as the headers of IP and TCP write
    // numbers. 300 goes out as 00 00 01 2c on any machine, little- or big-endian.
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(message);
    writer.write_all(&frame)
}

/// Reads one length-prefixed message of at most `max` bytes; `Ok(None)` if the stream
/// ended before a new frame began.
pub fn read_frame(reader: &mut impl Read, max: usize) -> Result<Option<Vec<u8>>, FrameError> {
    let mut prefix = [0; 4];
    let got = read_fully(reader, &mut prefix)?;
    if got == 0 {
        return Ok(None);
    }
    if got < prefix.len() {
        return Err(FrameError::Truncated { got });
    }
    let len = u32::from_be_bytes(prefix) as usize;
    // Check before allocating: a peer announcing 4 GiB must not get us to reserve it.
    if len > max {
        return Err(FrameError::TooLong { limit: max });
    }
    let mut message = vec![0; len];
    let got = read_fully(reader, &mut message)?;
    if got < len {
        return Err(FrameError::Truncated { got: 4 + got });
    }
    Ok(Some(message))
}
// ANCHOR_END: length_prefixed

/// Reads until `buf` is full or the stream ends; returns how many bytes came. Unlike
/// `read_exact`, it tells a clean end (0 bytes) from a cut one.
fn read_fully(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::BufReader;

    /// A reader that hands out `data` in pieces of the given sizes (then the rest),
    /// as TCP may: the way to test that framing does not depend on how bytes arrive.
    struct Pieces {
        data: Vec<u8>,
        at: usize,
        sizes: Vec<usize>,
    }

    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let size = if self.sizes.is_empty() {
                usize::MAX
            } else {
                self.sizes.remove(0).max(1)
            };
            let n = size.min(buf.len()).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn pieces(data: Vec<u8>, sizes: Vec<usize>) -> Pieces {
        Pieces { data, at: 0, sizes }
    }

    fn all_lines(data: Vec<u8>, sizes: Vec<usize>, max: usize) -> Result<Vec<Vec<u8>>, FrameError> {
        // A tiny buffer, so the reader's own buffering does not hide the pieces.
        let mut reader = BufReader::with_capacity(3, pieces(data, sizes));
        std::iter::from_fn(|| read_line(&mut reader, max).transpose()).collect()
    }

    fn all_frames(
        data: Vec<u8>,
        sizes: Vec<usize>,
        max: usize,
    ) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut reader = pieces(data, sizes);
        std::iter::from_fn(|| read_frame(&mut reader, max).transpose()).collect()
    }

    /// Messages a line can carry: no `\n`, and no `\r` at the end (it would be taken
    /// for half of a `\r\n`).
    fn line_message() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            any::<u8>().prop_filter("no newline", |b| *b != b'\n'),
            0..60,
        )
        .prop_filter("no trailing CR", |m| m.last() != Some(&b'\r'))
    }

    proptest! {
        #[test]
        fn lines_survive_any_cutting(
            messages in prop::collection::vec(line_message(), 0..20),
            sizes in prop::collection::vec(1usize..50, 0..40),
        ) {
            let mut stream = Vec::new();
            for m in &messages {
                write_line(&mut stream, m).unwrap();
            }
            prop_assert_eq!(all_lines(stream, sizes, 60).unwrap(), messages);
        }

        #[test]
        fn frames_survive_any_cutting(
            messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..20),
            sizes in prop::collection::vec(1usize..50, 0..40),
        ) {
            let mut stream = Vec::new();
            for m in &messages {
                write_frame(&mut stream, m).unwrap();
            }
            prop_assert_eq!(all_frames(stream, sizes, 300).unwrap(), messages);
        }

        #[test]
        fn a_cut_frame_is_truncated_never_a_panic(
            message in prop::collection::vec(any::<u8>(), 1..300),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut stream = Vec::new();
            write_frame(&mut stream, &message).unwrap();
            let cut = 1 + cut.index(stream.len() - 1); // 1 ..= len-1 bytes arrive
            stream.truncate(cut);
            let got = all_frames(stream, vec![], 300);
            prop_assert!(matches!(got, Err(FrameError::Truncated { got }) if got == cut), "{:?}", got);
        }

        #[test]
        fn a_cut_line_is_truncated_never_a_panic(
            message in line_message().prop_filter("not empty", |m| !m.is_empty()),
        ) {
            let got = all_lines(message.clone(), vec![], 60);
            prop_assert!(matches!(got, Err(FrameError::Truncated { .. })), "{:?}", got);
        }

        #[test]
        fn an_overlong_line_is_refused_after_reading_at_most_the_limit(
            len in 11usize..5000,
        ) {
            let mut data = vec![b'x'; len];
            data.push(b'\n');
            let mut reader = BufReader::with_capacity(4, pieces(data, vec![]));
            let got = read_line(&mut reader, 10);
            prop_assert!(matches!(got, Err(FrameError::TooLong { limit: 10 })), "{:?}", got);
            // Bounded memory: the reader stopped near the limit, not at the end.
            prop_assert!(reader.into_inner().at <= 10 + 2 + 4);
        }
    }

    #[test]
    fn crlf_and_lf_both_end_a_line() {
        let got = all_lines(b"Michael\r\nTracy\n\n".to_vec(), vec![], 10).unwrap();
        assert_eq!(got, [b"Michael".to_vec(), b"Tracy".to_vec(), b"".to_vec()]);
    }

    #[test]
    fn a_line_of_exactly_the_limit_passes() {
        let got = all_lines(b"1234567890\r\n1234567890\n".to_vec(), vec![], 10).unwrap();
        assert_eq!(got.len(), 2);
        let got = all_lines(b"12345678901\n".to_vec(), vec![], 10);
        assert!(matches!(got, Err(FrameError::TooLong { limit: 10 })));
    }

    #[test]
    fn the_length_is_big_endian() {
        let mut stream = Vec::new();
        write_frame(&mut stream, &[7; 300]).unwrap();
        assert_eq!(&stream[..4], &[0x00, 0x00, 0x01, 0x2c]);
    }

    #[test]
    fn a_huge_announced_length_is_refused_before_allocating() {
        let got = all_frames(vec![0xff, 0xff, 0xff, 0xff, 1, 2, 3], vec![], 1024);
        assert!(matches!(got, Err(FrameError::TooLong { limit: 1024 })));
    }

    #[test]
    fn a_newline_inside_a_line_message_is_refused() {
        let err = write_line(&mut Vec::new(), b"two\nlines").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
