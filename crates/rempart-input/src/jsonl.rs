//! JSON Lines: one listing object per line.

use std::io::{self, BufRead};

use rempart_core::InputError;

use crate::{Content, LineReader, RawRecord};

/// Reads JSONL records. Blank lines are skipped; a UTF-8 byte order mark
/// on the first line and trailing `\r`, spaces and tabs are dropped.
pub struct JsonlReader<R> {
    lines: LineReader<R>,
    record_cap: usize,
}

impl<R: BufRead> JsonlReader<R> {
    /// `record_cap`: the longest line kept, in bytes
    /// ([`rempart_core::Limits::record_bytes`]).
    pub fn new(inner: R, record_cap: usize) -> JsonlReader<R> {
        JsonlReader { lines: LineReader::new(inner), record_cap }
    }

    /// Bytes consumed from the stream so far.
    pub fn bytes_read(&self) -> u64 {
        self.lines.bytes_read()
    }

    /// The next record, `None` at the end of the stream.
    pub fn next_record(&mut self) -> io::Result<Option<RawRecord>> {
        // Room for the trimmed characters and the byte order mark, so the
        // cap applies to the record itself.
        let keep = self.record_cap.saturating_add(64);
        loop {
            let Some(line) = self.lines.next_line(keep)? else { return Ok(None) };
            if line.over_cap {
                let error = InputError::Record(format!(
                    "record is {} bytes, over the {}-byte cap (the line was skipped, not read into memory)",
                    line.length, self.record_cap
                ));
                return Ok(Some(RawRecord::invalid(line.number, line.number, error)));
            }
            let mut slice = line.bytes.as_slice();
            if line.number == 1 {
                slice = slice.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(slice);
            }
            while let Some((last, rest)) = slice.split_last() {
                if matches!(last, b'\r' | b' ' | b'\t') {
                    slice = rest;
                } else {
                    break;
                }
            }
            if slice.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let bytes = if slice.len() == line.bytes.len() { line.bytes } else { slice.to_vec() };
            return Ok(Some(RawRecord {
                first_line: line.number,
                last_line: line.number,
                content: Content::Json(bytes),
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8], cap: usize) -> Vec<(u64, Result<Vec<u8>, String>)> {
        let mut reader = JsonlReader::new(input, cap);
        let mut out = Vec::new();
        while let Some(record) = reader.next_record().expect("read") {
            let content = match record.content {
                Content::Json(bytes) => Ok(bytes),
                Content::Parsed(result) => Err(result.err().map(|e| e.to_string()).unwrap_or_default()),
            };
            out.push((record.first_line, content));
        }
        out
    }

    #[test]
    fn lines_are_numbered_blank_ones_skipped_and_long_ones_refused() {
        let long = format!("{{\"id\":\"x\",\"title\":\"{}\"}}", "a".repeat(500));
        let input = format!("\u{FEFF}{{\"id\":1}}\r\n\n  \n{long}\n{{\"id\":2}}  ");
        let got = read_all(input.as_bytes(), 100);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (1, Ok(b"{\"id\":1}".to_vec())));
        assert_eq!(got[1].0, 4);
        assert!(got[1].1.as_ref().is_err_and(|e| e.contains("over the 100-byte cap")), "{:?}", got[1]);
        assert_eq!(got[2], (5, Ok(b"{\"id\":2}".to_vec())));
    }
}
