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
                "the connection closed in the middle of a message ({got} bytes had come)"
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

    /// Every way to cut `len` bytes into one, two or three pieces, as the sizes of the
    /// pieces before the last: every cut point, and every pair of cut points.
    fn cuts(len: usize) -> impl Iterator<Item = Vec<usize>> {
        (0..=len).flat_map(move |a| {
            (a..=len).map(move |b| [a, b - a].into_iter().filter(|&s| s > 0).collect())
        })
    }

    /// The buffer sizes the line tests read through: one byte (every byte is a read),
    /// three (smaller than any line), and the usual kind (larger than all of them).
    const BUFFERS: [usize; 3] = [1, 3, 64];

    fn all_lines(
        data: &[u8],
        sizes: Vec<usize>,
        buffer: usize,
        max: usize,
    ) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut reader = BufReader::with_capacity(buffer, pieces(data.to_vec(), sizes));
        std::iter::from_fn(|| read_line(&mut reader, max).transpose()).collect()
    }

    fn all_frames(data: &[u8], sizes: Vec<usize>, max: usize) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut reader = pieces(data.to_vec(), sizes);
        std::iter::from_fn(|| read_frame(&mut reader, max).transpose()).collect()
    }

    /// Messages that make the line reader's edge cases: an empty one, multi-byte UTF-8,
    /// a `\r` inside, and (last) one sent with telnet's `\r\n`.
    fn line_stream() -> (Vec<u8>, Vec<Vec<u8>>) {
        let messages: Vec<Vec<u8>> = [&b"Michael"[..], b"", "张三".as_bytes(), b"a\rb", b"Tracy"]
            .map(<[u8]>::to_vec)
            .to_vec();
        let mut stream = Vec::new();
        for m in &messages {
            write_line(&mut stream, m).unwrap();
        }
        stream.extend_from_slice(b"Sarah\r\n");
        let mut expected = messages;
        expected.push(b"Sarah".to_vec());
        (stream, expected)
    }

    #[test]
    fn lines_survive_any_cutting() {
        let (stream, expected) = line_stream();
        assert_eq!(stream.len(), 33, "book/src/stream/framing-tests.md says so");
        let one_byte_each = vec![1; stream.len()];
        for sizes in cuts(stream.len()).chain([one_byte_each]) {
            for buffer in BUFFERS {
                let got = all_lines(&stream, sizes.clone(), buffer, 60);
                assert_eq!(got.unwrap(), expected, "pieces {sizes:?}, buffer {buffer}");
            }
        }
    }

    /// Frames whose bytes are everything a line cannot carry: every byte value, `\n`,
    /// an empty message.
    fn frame_stream() -> (Vec<u8>, Vec<Vec<u8>>) {
        let every_byte: Vec<u8> = (0..=255).collect();
        let messages = vec![
            b"Michael".to_vec(),
            Vec::new(),
            every_byte,
            b"\n\r\n".to_vec(),
            "张三".as_bytes().to_vec(),
        ];
        let mut stream = Vec::new();
        for m in &messages {
            write_frame(&mut stream, m).unwrap();
        }
        (stream, messages)
    }

    #[test]
    fn frames_survive_any_cutting() {
        let (stream, expected) = frame_stream();
        assert_eq!(
            stream.len(),
            292,
            "book/src/stream/framing-tests.md says so"
        );
        let one_byte_each = vec![1; stream.len()];
        for sizes in cuts(stream.len()).chain([one_byte_each]) {
            let got = all_frames(&stream, sizes.clone(), 300);
            assert_eq!(got.unwrap(), expected, "pieces {sizes:?}");
        }
    }

    #[test]
    fn a_cut_frame_is_truncated_never_a_panic() {
        for len in [1, 2, 3, 4, 5, 256] {
            let message: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut stream = Vec::new();
            write_frame(&mut stream, &message).unwrap();
            // 1 ..= len + 3 bytes arrive: the prefix cut, or the message.
            for cut in 1..stream.len() {
                for sizes in [vec![], vec![1; cut]] {
                    let got = all_frames(&stream[..cut], sizes, 300);
                    assert!(
                        matches!(got, Err(FrameError::Truncated { got }) if got == cut),
                        "a {len}-byte message cut after {cut} bytes: {got:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_cut_line_is_truncated_never_a_panic() {
        // Any start of a line, even one ending in the `\r` of a `\r\n`, then the end.
        let line = "Michael 张三\r".as_bytes();
        for cut in 1..=line.len() {
            for buffer in BUFFERS {
                let got = all_lines(&line[..cut], vec![], buffer, 60);
                assert!(
                    matches!(got, Err(FrameError::Truncated { got }) if got == cut),
                    "{cut} bytes, buffer {buffer}: {got:?}"
                );
            }
        }
    }

    #[test]
    fn an_overlong_line_is_refused_after_reading_at_most_the_limit() {
        for len in 11..5000 {
            let mut data = vec![b'x'; len];
            data.push(b'\n');
            let mut reader = BufReader::with_capacity(4, pieces(data, vec![]));
            let got = read_line(&mut reader, 10);
            assert!(
                matches!(got, Err(FrameError::TooLong { limit: 10 })),
                "{len}: {got:?}"
            );
            // Bounded memory: the reader stopped near the limit, not at the end.
            assert!(reader.into_inner().at <= 10 + 2 + 4, "{len}");
        }
    }

    #[test]
    fn crlf_and_lf_both_end_a_line() {
        let got = all_lines(b"Michael\r\nTracy\n\n", vec![], 3, 10).unwrap();
        assert_eq!(got, [b"Michael".to_vec(), b"Tracy".to_vec(), b"".to_vec()]);
    }

    #[test]
    fn a_line_of_exactly_the_limit_passes() {
        let got = all_lines(b"1234567890\r\n1234567890\n", vec![], 3, 10).unwrap();
        assert_eq!(got.len(), 2);
        let got = all_lines(b"12345678901\n", vec![], 3, 10);
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
        let got = all_frames(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3], vec![], 1024);
        assert!(matches!(got, Err(FrameError::TooLong { limit: 1024 })));
    }

    #[test]
    fn a_newline_inside_a_line_message_is_refused() {
        let err = write_line(&mut Vec::new(), b"two\nlines").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
