//! JSON Lines: one listing object per line.

use std::io::{self, BufRead};
use std::ops::Range;

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
        let mut bytes = Vec::new();
        let Some(record) = self.next_record_into(&mut bytes)? else { return Ok(None) };
        Ok(Some(record.map_json(|within| {
            bytes.truncate(within.end);
            bytes.drain(..within.start);
            bytes
        })))
    }

    /// [`next_record`](Self::next_record), appending the record's bytes to
    /// `buffer`: its JSON is `buffer[range]`. A reader that batches records
    /// keeps them in one buffer, not one allocation per record, which the
    /// thread that parses them would free one by one (BENCHMARKS.md, issue
    /// 14, eleventh step).
    pub fn next_record_into(&mut self, buffer: &mut Vec<u8>) -> io::Result<Option<RawRecord<Range<usize>>>> {
        // Room for the trimmed characters and the byte order mark, so the
        // cap applies to the record itself.
        let keep = self.record_cap.saturating_add(64);
        loop {
            let Some(line) = self.lines.next_line_into(keep, buffer)? else { return Ok(None) };
            let start = line.bytes.start;
            if line.over_cap {
                let error = InputError::Record(format!(
                    "record is {} bytes, over the {}-byte cap (the line was skipped, not read into memory)",
                    line.length, self.record_cap
                ));
                return Ok(Some(RawRecord::invalid(line.number, line.number, error)));
            }
            let line_bytes = &buffer[start..];
            let lead = if line.number == 1 && line_bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
            let kept = line_bytes[lead..]
                .iter()
                .rposition(|b| !matches!(b, b'\r' | b' ' | b'\t'))
                .map_or(lead, |p| lead + p + 1);
            if line_bytes[lead..kept].iter().all(u8::is_ascii_whitespace) {
                buffer.truncate(start);
                continue;
            }
            buffer.truncate(start + kept);
            let within = start + lead..start + kept;
            return Ok(Some(RawRecord {
                first_line: line.number,
                last_line: line.number,
                content: Content::Json(within),
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

    /// Records read into one shared buffer are the records read one by
    /// one, and nothing of a blank, trimmed or refused line stays in the buffer.
    #[test]
    fn records_read_into_one_buffer_are_those_read_one_by_one() {
        let long = format!("{{\"id\":\"x\",\"title\":\"{}\"}}", "a".repeat(500));
        let input = format!("\u{FEFF}{{\"id\":1}}\r\n\n \t\r\n{long}\n{{\"id\":2}}\t \n\n{{\"id\":3}}");
        let one_by_one = read_all(input.as_bytes(), 100);
        let mut reader = JsonlReader::new(input.as_bytes(), 100);
        let mut buffer = b"left by an earlier batch".to_vec();
        let mut shared = Vec::new();
        while let Some(record) = reader.next_record_into(&mut buffer).expect("read") {
            let content = match record.content {
                Content::Json(within) => Ok(buffer[within].to_vec()),
                Content::Parsed(result) => Err(result.err().map(|e| e.to_string()).unwrap_or_default()),
            };
            shared.push((record.first_line, content));
        }
        assert_eq!(shared, one_by_one);
        assert_eq!(shared.len(), 4);
        // The byte order mark stays, outside the first record's range.
        assert_eq!(buffer, "left by an earlier batch\u{FEFF}{\"id\":1}{\"id\":2}{\"id\":3}".as_bytes());
    }
}
