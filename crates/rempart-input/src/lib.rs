//! Reading listing records from byte streams (JSONL and CSV) for rempart.
//!
//! This crate turns a stream into records and says where each came from;
//! it does not screen anything. What it guarantees, because the input is
//! written by the people the gate stops and by careless exports:
//!
//! * **Bounded memory per line.** A line is kept only up to the record cap
//!   ([`rempart_core::Limits::record_bytes`]); past that the rest of the
//!   line is read and dropped up to its newline, never buffered, and the
//!   record is reported as over the cap ([`LineReader`]).
//! * **Every line accounted for.** Each non-blank line ends up in exactly
//!   one [`RawRecord`]: a record to parse, a parsed listing, or an error
//!   naming the line (or the range of lines) and what is wrong.
//! * **No silent merging of CSV rows.** By default a CSV row is one line,
//!   so a stray quote damages one row and no other; line breaks inside
//!   quoted fields are accepted only when asked ([`CsvOptions::multiline`]),
//!   and then a quote that swallows following lines, or a row that only
//!   parses by absorbing the next one, is reported with its line range and
//!   the swallowed lines are read again one by one ([`CsvReader`]).

mod csv;
mod jsonl;
mod lines;

pub use crate::csv::{listing_from_csv, CsvError, CsvOptions, CsvReader};
pub use crate::jsonl::JsonlReader;
pub use crate::lines::{Line, LineReader};

use rempart_core::{InputError, Listing};

/// One record read from a stream, with the physical lines it spans.
/// `J` holds a JSON record's bytes, or where they are in a buffer the
/// reader shares with other records ([`JsonlReader::next_record_into`]).
#[derive(Debug)]
pub struct RawRecord<J = Vec<u8>> {
    /// First line of the record (1-based).
    pub first_line: u64,
    /// Last line of the record (equal to `first_line` for one-line records).
    pub last_line: u64,
    pub content: Content<J>,
}

/// What a record holds.
#[derive(Debug)]
pub enum Content<J = Vec<u8>> {
    /// The bytes of one JSON object, to parse with
    /// [`Listing::from_json_with`] (done by the caller, in parallel).
    Json(J),
    /// A listing already built (CSV rows), or why the record is invalid.
    Parsed(Box<Result<Listing, InputError>>),
}

impl<J> RawRecord<J> {
    fn invalid(first_line: u64, last_line: u64, error: InputError) -> RawRecord<J> {
        RawRecord { first_line, last_line, content: Content::Parsed(Box::new(Err(error))) }
    }

    /// The same record with its JSON bytes (if any) held another way.
    pub fn map_json<K>(self, f: impl FnOnce(J) -> K) -> RawRecord<K> {
        let content = match self.content {
            Content::Json(json) => Content::Json(f(json)),
            Content::Parsed(parsed) => Content::Parsed(parsed),
        };
        RawRecord { first_line: self.first_line, last_line: self.last_line, content }
    }

    /// `line N` or `lines N–M`, as error reports name the record.
    pub fn location(&self) -> String {
        location(self.first_line, self.last_line)
    }
}

/// `line N` or `lines N–M`.
pub fn location(first: u64, last: u64) -> String {
    if first == last {
        format!("line {first}")
    } else {
        format!("lines {first}–{last}")
    }
}
