//! Lines with a byte cap: a line longer than the cap is consumed to its
//! end without being stored, so one absurd line costs the reader's buffer,
//! not its length.

use std::io::{self, BufRead};
use std::ops::Range;

/// One physical line, without its `\n`. `B` holds its bytes, or where
/// they are in the caller's buffer ([`LineReader::next_line_into`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line<B = Vec<u8>> {
    /// 1-based line number.
    pub number: u64,
    /// The line's bytes; empty when `over_cap`.
    pub bytes: B,
    /// The line's full length in bytes (without the `\n`), even when it
    /// was not kept.
    pub length: u64,
    /// The line was longer than the cap: its bytes were read and dropped.
    pub over_cap: bool,
}

/// Reads lines from a buffered stream, each kept up to a cap.
pub struct LineReader<R> {
    inner: R,
    line: u64,
    bytes_read: u64,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R) -> LineReader<R> {
        LineReader { inner, line: 0, bytes_read: 0 }
    }

    /// Bytes consumed from the stream so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Lines returned so far.
    pub fn line_number(&self) -> u64 {
        self.line
    }

    /// The next line, keeping at most `cap` bytes of it; `None` at the
    /// end of the stream. A last line without `\n` is still a line.
    pub fn next_line(&mut self, cap: usize) -> io::Result<Option<Line>> {
        let mut bytes = Vec::new();
        Ok(self.next_line_into(cap, &mut bytes)?.map(|line| Line {
            number: line.number,
            bytes,
            length: line.length,
            over_cap: line.over_cap,
        }))
    }

    /// [`next_line`](Self::next_line), appending the line's bytes to `out`
    /// (nothing when it is over the cap) and giving their range in it: a
    /// reader that batches lines keeps them in one buffer, not one
    /// allocation per line.
    pub fn next_line_into(&mut self, cap: usize, out: &mut Vec<u8>) -> io::Result<Option<Line<Range<usize>>>> {
        let start = out.len();
        let mut length: u64 = 0;
        let mut over_cap = false;
        let mut saw_any = false;
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                break;
            }
            saw_any = true;
            let (chunk, consumed, ends) = match memchr::memchr(b'\n', buf) {
                Some(p) => (&buf[..p], p + 1, true),
                None => (buf, buf.len(), false),
            };
            length += chunk.len() as u64;
            if !over_cap {
                if out.len() - start + chunk.len() > cap {
                    over_cap = true;
                    out.truncate(start);
                } else {
                    out.extend_from_slice(chunk);
                }
            }
            self.inner.consume(consumed);
            self.bytes_read += consumed as u64;
            if ends {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        self.line += 1;
        Ok(Some(Line { number: self.line, bytes: start..out.len(), length, over_cap }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_skipped_without_being_kept() {
        let mut input = b"short\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100_000));
        input.extend(b"\nlast");
        // A small buffer: the long line arrives in many pieces.
        let mut reader = LineReader::new(io::BufReader::with_capacity(64, input.as_slice()));
        let first = reader.next_line(1000).expect("read").expect("line");
        assert_eq!((first.number, first.bytes.as_slice(), first.over_cap), (1, &b"short"[..], false));
        let long = reader.next_line(1000).expect("read").expect("line");
        assert_eq!((long.number, long.length, long.over_cap, long.bytes.len()), (2, 100_000, true, 0));
        let last = reader.next_line(1000).expect("read").expect("line");
        assert_eq!((last.number, last.bytes.as_slice()), (3, &b"last"[..]));
        assert!(reader.next_line(1000).expect("read").is_none());
        assert_eq!(reader.bytes_read(), input.len() as u64);
    }

    #[test]
    fn a_line_exactly_at_the_cap_is_kept() {
        let mut reader = LineReader::new(&b"abcd\nabcde\n"[..]);
        assert!(!reader.next_line(4).expect("read").expect("line").over_cap);
        assert!(reader.next_line(4).expect("read").expect("line").over_cap);
    }
}
