//! CSV with a header row, read line by line so that damage stays local.
//!
//! A general CSV reader lets a quoted field run over line breaks, which is
//! how one stray `"` swallows every later row of a file into one field,
//! or merges two rows into one listing that parses cleanly. Here a row is
//! one physical line unless [`CsvOptions::multiline`] is set; with it, a
//! row spanning lines is accepted only if it has the header's number of
//! columns and none of the lines it swallowed reads as a complete row by
//! itself. Otherwise the first line is reported with the range it damaged
//! and the following lines are read again, one row per line, so the rows
//! a stray quote swallowed are still decided or reported one by one.
//!
//! The tokenizer is `csv-core` (quotes, doubled quotes, separators); this
//! module decides where records start and end.

use std::collections::VecDeque;
use std::io::{self, BufRead};

use csv_core::{ReadRecordResult, Reader, ReaderBuilder, Terminator};
use rempart_core::listing::Price;
use rempart_core::{InputError, Limits, Listing};
use serde_json::Value;

use crate::{location, Content, Line, LineReader, RawRecord};

/// How a CSV stream is read.
#[derive(Clone, Copy, Debug)]
pub struct CsvOptions {
    /// Accept line breaks inside quoted fields (rows spanning lines).
    pub multiline: bool,
    /// The longest row kept, in bytes ([`Limits::record_bytes`]).
    pub record_cap: usize,
}

impl Default for CsvOptions {
    fn default() -> CsvOptions {
        CsvOptions { multiline: false, record_cap: Limits::default().record_bytes }
    }
}

/// Why a CSV stream cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("reading CSV input: {0}")]
    Io(#[from] io::Error),
    /// The header row is missing or ambiguous.
    #[error("CSV header (line {line}): {message}")]
    Header { line: u64, message: String },
}

/// Reads CSV rows as listings (see the module documentation).
pub struct CsvReader<R> {
    lines: LineReader<R>,
    headers: Vec<String>,
    options: CsvOptions,
    parser: RowParser,
    /// Records found while re-reading lines a damaged row swallowed.
    queue: VecDeque<RawRecord>,
}

impl<R: BufRead> CsvReader<R> {
    /// Reads the header row: the first non-blank line. Column names are
    /// trimmed and lower-cased; a name given twice is refused, since
    /// every row would then be ambiguous.
    pub fn new(inner: R, options: CsvOptions) -> Result<CsvReader<R>, CsvError> {
        let mut lines = LineReader::new(inner);
        let mut parser = RowParser::new();
        let header = loop {
            let Some(line) = lines.next_line(options.record_cap)? else {
                return Err(CsvError::Header { line: lines.line_number(), message: "the input is empty".into() });
            };
            if line.over_cap {
                let message = format!("{} bytes, over the {}-byte cap", line.length, options.record_cap);
                return Err(CsvError::Header { line: line.number, message });
            }
            if !is_blank(&line.bytes) {
                break line;
            }
        };
        let header_error = |message: String| CsvError::Header { line: header.number, message };
        if !parser.parse_line(trim_cr(&header.bytes)) {
            return Err(header_error("a quoted column name is not closed on this line".into()));
        }
        let mut headers: Vec<String> = Vec::new();
        for (i, field) in parser.fields().enumerate() {
            let name = std::str::from_utf8(field)
                .map_err(|_| header_error(format!("column {} is not valid UTF-8", i + 1)))?
                .trim_start_matches('\u{FEFF}')
                .trim()
                .to_lowercase();
            if let Some(first) = headers.iter().position(|h| *h == name) {
                return Err(header_error(format!(
                    "column `{name}` appears twice (columns {} and {})",
                    first + 1,
                    i + 1
                )));
            }
            headers.push(name);
        }
        Ok(CsvReader { lines, headers, options, parser, queue: VecDeque::new() })
    }

    /// The column names, trimmed and lower-cased.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Bytes consumed from the stream so far.
    pub fn bytes_read(&self) -> u64 {
        self.lines.bytes_read()
    }

    /// The next record, `None` at the end of the stream.
    pub fn next_record(&mut self) -> io::Result<Option<RawRecord>> {
        loop {
            if let Some(record) = self.queue.pop_front() {
                return Ok(Some(record));
            }
            let Some(line) = self.lines.next_line(self.options.record_cap)? else { return Ok(None) };
            if line.over_cap {
                return Ok(Some(self.over_cap(&line)));
            }
            if is_blank(&line.bytes) {
                continue;
            }
            if self.parser.parse_line(trim_cr(&line.bytes)) {
                return Ok(Some(self.row(line.number, line.number)));
            }
            if !self.options.multiline {
                return Ok(Some(RawRecord::invalid(line.number, line.number, unclosed_quote())));
            }
            return self.continue_row(line).map(Some);
        }
    }

    /// Reads the lines of a row whose quoted field is still open at the
    /// end of `first`, and checks the row they make.
    fn continue_row(&mut self, first: Line) -> io::Result<RawRecord> {
        let mut span = vec![first];
        let mut size = span[0].bytes.len();
        let cap = self.options.record_cap;
        loop {
            let Some(line) = self.lines.next_line(cap)? else {
                return Ok(self.damaged(span, "is never closed: the input ends inside it".into()));
            };
            size += line.bytes.len() + 1;
            if line.over_cap || size > cap {
                let reason = format!("is still open after {size} bytes, over the {cap}-byte record cap");
                span.push(line);
                return Ok(self.damaged(span, reason));
            }
            let closed = self.parser.feed_line(trim_cr(&line.bytes));
            span.push(line);
            if closed {
                break;
            }
        }
        let (first_line, last_line) = (span[0].number, span[span.len() - 1].number);
        let columns = self.parser.fields().count();
        if columns != self.headers.len() {
            let reason = format!(
                "runs to line {last_line} and leaves the row with {columns} columns; the header has {}",
                self.headers.len()
            );
            return Ok(self.damaged(span, reason));
        }
        // A swallowed line that is a row by itself means the quote was a
        // stray one that merged rows, not a line break inside a field.
        let mut alone = RowParser::new();
        let header_columns = self.headers.len();
        let row_like = span[1..]
            .iter()
            .find(|l| alone.parse_line(trim_cr(&l.bytes)) && alone.fields().count() == header_columns)
            .map(|l| l.number);
        if let Some(row_line) = row_like {
            let reason =
                format!("runs to line {last_line}, but line {row_line} reads as a complete row of its own (a stray quote merging rows?)");
            return Ok(self.damaged(span, reason));
        }
        Ok(self.row(first_line, last_line))
    }

    /// Reports a row whose quoted field went wrong, and queues the lines
    /// after its first one to be read again one by one.
    fn damaged(&mut self, span: Vec<Line>, reason: String) -> RawRecord {
        let (first_line, last_line) = (span[0].number, span[span.len() - 1].number);
        let again = if span.len() > 2 {
            format!("; {} are read again one row per line", location(first_line + 1, last_line))
        } else if span.len() == 2 {
            format!("; line {last_line} is read again on its own")
        } else {
            String::new()
        };
        let message = format!("a quoted field opened on line {first_line} {reason}{again}");
        for line in &span[1..] {
            if line.over_cap {
                let record = self.over_cap(line);
                self.queue.push_back(record);
            } else if !is_blank(&line.bytes) {
                let record = if self.parser.parse_line(trim_cr(&line.bytes)) {
                    self.row(line.number, line.number)
                } else {
                    RawRecord::invalid(line.number, line.number, unclosed_quote())
                };
                self.queue.push_back(record);
            }
        }
        RawRecord::invalid(first_line, last_line, InputError::Record(message))
    }

    fn over_cap(&self, line: &Line) -> RawRecord {
        let message = format!("row is {} bytes, over the {}-byte cap", line.length, self.options.record_cap);
        RawRecord::invalid(line.number, line.number, InputError::Record(message))
    }

    /// The listing of the row the parser holds.
    fn row(&self, first_line: u64, last_line: u64) -> RawRecord {
        let columns = self.parser.fields().count();
        let result = if columns != self.headers.len() {
            Err(InputError::Record(format!(
                "wrong number of columns: {columns}, the header has {}",
                self.headers.len()
            )))
        } else {
            self.parser
                .fields()
                .zip(&self.headers)
                .map(|(field, name)| {
                    String::from_utf8(field.to_vec()).map_err(|_| InputError::field(name.clone(), "invalid UTF-8"))
                })
                .collect::<Result<Vec<String>, InputError>>()
                .and_then(|fields| listing_from_csv(&self.headers, &fields))
        };
        RawRecord { first_line, last_line, content: Content::Parsed(Box::new(result)) }
    }
}

fn unclosed_quote() -> InputError {
    InputError::Record(
        "a quoted field is not closed on this line (a stray `\"`?); rows with line breaks inside quoted \
         fields need --csv-multiline"
            .into(),
    )
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `csv-core` driven one line at a time, keeping its state between lines
/// of one row.
struct RowParser {
    reader: Reader,
    out: Vec<u8>,
    out_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
}

impl RowParser {
    fn new() -> RowParser {
        RowParser {
            reader: ReaderBuilder::new().terminator(Terminator::Any(b'\n')).build(),
            out: vec![0; 1024],
            out_len: 0,
            ends: vec![0; 32],
            ends_len: 0,
        }
    }

    /// Starts a new row with `line`. Returns whether the row is complete
    /// (false: a quoted field is still open at the end of the line).
    fn parse_line(&mut self, line: &[u8]) -> bool {
        self.reader.reset();
        self.out_len = 0;
        self.ends_len = 0;
        self.feed_line(line)
    }

    /// Feeds the next line of the current row, with its line break.
    fn feed_line(&mut self, line: &[u8]) -> bool {
        for mut input in [line, b"\n"] {
            loop {
                let (result, read, written, ended) =
                    self.reader.read_record(input, &mut self.out[self.out_len..], &mut self.ends[self.ends_len..]);
                input = &input[read..];
                self.out_len += written;
                self.ends_len += ended;
                match result {
                    ReadRecordResult::InputEmpty => break,
                    ReadRecordResult::OutputFull => self.out.resize(self.out.len() * 2, 0),
                    ReadRecordResult::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                    // The only unquoted line break is the one fed last.
                    ReadRecordResult::Record => return true,
                    ReadRecordResult::End => return false,
                }
            }
        }
        false
    }

    /// The fields of the row last completed.
    fn fields(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let ends = &self.ends[..self.ends_len];
        (0..ends.len()).map(move |i| &self.out[if i == 0 { 0 } else { ends[i - 1] }..ends[i]])
    }
}

/// Builds a listing from a CSV row, naming the column at fault. `id`,
/// `title`, `description`, `category`, `language`, `ship_to`, `price`,
/// `currency`, `seller_id`, `seller_country` and `seller_type` map to the
/// listing; `expected` and `expected_policies`
/// (labels for `rempart eval`) are kept; every other column is an
/// attribute. Empty cells are absent values.
pub fn listing_from_csv(headers: &[String], row: &[String]) -> Result<Listing, InputError> {
    let mut listing = Listing::default();
    let (mut amount, mut currency) = (None, None);
    for (name, value) in headers.iter().zip(row) {
        if value.is_empty() {
            continue;
        }
        match name.as_str() {
            "id" => listing.id = value.clone(),
            "title" => listing.title = value.clone(),
            "description" => listing.description = Some(value.clone()),
            "category" => listing.category = Some(value.clone()),
            "language" => listing.language = Some(value.clone()),
            "ship_to" => {
                listing.ship_to = value
                    .split([',', ';', ' '])
                    .filter(|s| !s.is_empty())
                    .map(|s| s.trim().to_ascii_uppercase())
                    .collect()
            }
            "price" => amount = Some(parse_price(value)?),
            "currency" => currency = Some(value.clone()),
            // Marketplace dumps name the seller per row: kept as the
            // listing's seller, so sweeps can count by seller.
            "seller_id" | "seller_country" | "seller_type" => {
                let seller = listing.seller.get_or_insert_with(Default::default);
                match name.as_str() {
                    "seller_id" => seller.id = Some(value.clone()),
                    "seller_country" => seller.country = Some(value.clone()),
                    _ => {
                        seller.extra.insert("type".into(), Value::String(value.clone()));
                    }
                }
            }
            "expected" | "expected_policies" => {
                listing.extra.insert(name.clone(), Value::String(value.clone()));
            }
            _ => listing.attributes.push((name.clone(), value.clone())),
        }
    }
    if let Some(amount) = amount {
        listing.price = Some(Price { amount, currency });
    }
    if !headers.iter().any(|h| h == "id") {
        return Err(InputError::field("id", "missing (the CSV has no `id` column)"));
    }
    if listing.id.is_empty() {
        return Err(InputError::field("id", "missing (required)"));
    }
    if !headers.iter().any(|h| h == "title") || listing.title.is_empty() {
        return Err(InputError::field("title", "missing (required)"));
    }
    listing.validate(&Limits::default())?;
    Ok(listing)
}

/// A price cell: a finite number, `,` accepted as the decimal mark. Rust
/// would parse `NaN`, `inf` and `1e999` (infinity); JSON cannot say them,
/// and neither may CSV.
fn parse_price(value: &str) -> Result<f64, InputError> {
    let not_a_number = || InputError::field("price", format!("`{value}` is not a finite number"));
    let amount = value.trim().replace(',', ".").parse::<f64>().map_err(|_| not_a_number())?;
    if amount.is_finite() {
        Ok(amount)
    } else {
        Err(not_a_number())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(location, id or error)` for every record of `input`.
    fn read(input: &str, multiline: bool) -> Vec<(String, Result<String, String>)> {
        let options = CsvOptions { multiline, ..CsvOptions::default() };
        let mut reader = CsvReader::new(input.as_bytes(), options).expect("header");
        let mut out = Vec::new();
        while let Some(record) = reader.next_record().expect("read") {
            let at = record.location();
            let outcome = match record.content {
                Content::Parsed(result) => result.map(|l| l.id).map_err(|e| e.to_string()),
                Content::Json(_) => Err("json".into()),
            };
            out.push((at, outcome));
        }
        out
    }

    fn ids(records: &[(String, Result<String, String>)]) -> Vec<&str> {
        records.iter().filter_map(|(_, r)| r.as_deref().ok()).collect()
    }

    #[test]
    fn an_unclosed_quote_damages_its_own_line_only() {
        let input = "id,title,description\n1,Mug,\"fine\"\n2,Doll,\"never closed\n3,Tasse,ok\n4,Gants,\"a, b\"\n";
        let got = read(input, false);
        assert_eq!(ids(&got), vec!["1", "3", "4"]);
        assert_eq!(got[1].0, "line 3");
        assert!(got[1].1.as_ref().is_err_and(|e| e.contains("not closed on this line")));
    }

    #[test]
    fn multiline_rows_are_read_and_stray_quotes_do_not_merge_rows() {
        let good = "id,title,description\n1,Mug,\"line one\nline two\"\n2,Tasse,ok\n";
        assert_eq!(ids(&read(good, true)), vec!["1", "2"]);
        // The quote opened on line 2 closes on line 3, which is a row.
        let merged = "id,title,description\n1,Doll,\"x\n2,Mug,y\"\n3,Tasse,ok\n";
        let got = read(merged, true);
        assert_eq!(got[0].0, "lines 2–3");
        assert!(got[0].1.as_ref().is_err_and(|e| e.contains("line 3 reads as a complete row")), "{got:?}");
        assert_eq!(ids(&got), vec!["2", "3"]);
        // Never closed: every later line is read again.
        let runaway = "id,title,description\n1,Doll,\"x\n2,Mug,y\n3,Tasse,ok\n";
        let got = read(runaway, true);
        assert_eq!(got[0].0, "lines 2–4");
        assert!(got[0].1.as_ref().is_err_and(|e| e.contains("never closed")), "{got:?}");
        assert_eq!(ids(&got), vec!["2", "3"]);
    }

    #[test]
    fn rows_and_cells_are_checked() {
        let input = "id,title,price\n1,Mug,1.5\n2,Mug,NaN\n3,Mug,inf\n4,Mug,1e999\n5,Mug\n6,Mug,\"2,5\"\n   ,Mug,1\n";
        let got = read(input, false);
        assert_eq!(ids(&got), vec!["1", "6"]);
        for (at, field) in [(1, "price"), (2, "price"), (3, "price"), (4, "columns"), (6, "id")] {
            assert!(got[at].1.as_ref().is_err_and(|e| e.contains(field)), "{:?}", got[at]);
        }
    }

    #[test]
    fn ambiguous_headers_are_refused() {
        let e = CsvReader::new(&b"id,title,Title\n1,a,b\n"[..], CsvOptions::default()).err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("`title` appears twice")));
        assert!(CsvReader::new(&b"\n\n"[..], CsvOptions::default()).is_err());
    }
}
