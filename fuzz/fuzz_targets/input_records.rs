//! Byte streams → records, as JSONL and as CSV (one row per line, and
//! with line breaks in fields): no panic, and every record's line range is
//! within the input, in order, never overlapping the next record's start.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rempart_input::{Content, CsvOptions, CsvReader, JsonlReader, RawRecord};

fn check_order(records: &[RawRecord], lines: u64) {
    let mut previous = 0;
    for r in records {
        assert!(r.first_line > previous, "records go forward: {} after {previous}", r.first_line);
        assert!(r.first_line <= r.last_line && r.last_line <= lines, "{}–{} of {lines}", r.first_line, r.last_line);
        previous = r.first_line;
    }
}

fuzz_target!(|bytes: &[u8]| {
    let lines = bytes.split(|&b| b == b'\n').count() as u64;
    // JSONL, with a small cap so that over-cap lines happen.
    let mut jsonl = JsonlReader::new(bytes, 64);
    let mut records = Vec::new();
    while let Ok(Some(record)) = jsonl.next_record() {
        assert_eq!(record.first_line, record.last_line);
        if let Content::Json(ref json) = record.content {
            assert!(json.len() <= 64 + 64);
            let _ = rempart_core::Listing::from_json(json);
        }
        records.push(record);
    }
    check_order(&records, lines);
    for multiline in [false, true] {
        let options = CsvOptions { multiline, record_cap: 256 };
        let Ok(mut csv) = CsvReader::new(bytes, options) else { continue };
        let mut records = Vec::new();
        while let Ok(Some(record)) = csv.next_record() {
            records.push(record);
        }
        check_order(&records, lines);
    }
});
