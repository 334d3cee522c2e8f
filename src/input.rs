//! Reading listings from JSONL or CSV in batches, screening each batch on
//! all cores, and handing results back in input order.
//!
//! Memory stays flat in input size: at most one batch is held at a time.
//! A bad record is reported on stderr as `line N: …` and never stops the
//! others. Files ending in `.gz` or `.zst` are decompressed on the fly.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result};
use clap::ValueEnum;
use indicatif::ProgressBar;
use rayon::prelude::*;
use rempart_core::{InputError, Limits, Listing};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// One JSON listing per line.
    Jsonl,
    /// CSV with a header row; `id`, `title`, `description`, `category`,
    /// `language`, `ship_to`, `price`, `currency`, `seller_id`,
    /// `seller_country`, `seller_type` map to the listing, other columns
    /// become attributes.
    Csv,
}

impl InputFormat {
    /// The format a file name announces (`catalogue.csv.gz` is CSV),
    /// JSONL otherwise.
    pub fn of_path(path: &str) -> InputFormat {
        let base = strip_compression(path).to_ascii_lowercase();
        if base.ends_with(".csv") {
            InputFormat::Csv
        } else {
            InputFormat::Jsonl
        }
    }
}

fn strip_compression(path: &str) -> &str {
    path.strip_suffix(".gz").or_else(|| path.strip_suffix(".zst")).unwrap_or(path)
}

/// Options shared by every command that reads listings.
#[derive(clap::Args, Clone, Debug)]
pub struct InputArgs {
    /// Listings file, or `-` for standard input.
    #[arg(default_value = "-", value_name = "FILE")]
    pub file: String,
    /// Format of the input.
    #[arg(long, value_enum, default_value_t = InputFormat::Jsonl)]
    pub input_format: InputFormat,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Counts of what a run read.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub records: u64,
    pub invalid: u64,
}

enum Raw {
    Json(Vec<u8>),
    Parsed(Box<Result<Listing, InputError>>),
}

struct Record {
    line: u64,
    raw: Raw,
}

impl Record {
    fn into_listing(self, limits: &Limits) -> Result<Listing, InputError> {
        match self.raw {
            Raw::Json(bytes) => Listing::from_json_with(&bytes, limits),
            Raw::Parsed(result) => *result,
        }
    }
}

trait RecordSource: Send {
    fn next_batch(&mut self, max_records: usize, max_bytes: usize) -> Result<Vec<Record>>;
    /// Skips `n` source units (lines of JSONL, records of CSV) unread.
    fn skip(&mut self, n: u64) -> Result<()>;
    /// Source units consumed so far (where a resumed run skips to).
    fn position(&self) -> u64;
}

struct JsonlSource<R> {
    reader: R,
    line: u64,
}

impl<R: BufRead + Send> RecordSource for JsonlSource<R> {
    fn skip(&mut self, n: u64) -> Result<()> {
        let mut buf = Vec::new();
        for _ in 0..n {
            buf.clear();
            if self.reader.read_until(b'\n', &mut buf).context("reading input")? == 0 {
                break;
            }
            self.line += 1;
        }
        Ok(())
    }

    fn position(&self) -> u64 {
        self.line
    }

    fn next_batch(&mut self, max_records: usize, max_bytes: usize) -> Result<Vec<Record>> {
        let mut batch = Vec::new();
        let mut bytes = 0;
        while batch.len() < max_records && bytes < max_bytes {
            let mut buf = Vec::new();
            let n = self.reader.read_until(b'\n', &mut buf).context("reading input")?;
            if n == 0 {
                break;
            }
            self.line += 1;
            bytes += n;
            let mut slice = buf.as_slice();
            if self.line == 1 {
                slice = slice.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(slice);
            }
            while let Some((last, rest)) = slice.split_last() {
                if matches!(last, b'\n' | b'\r' | b' ' | b'\t') {
                    slice = rest;
                } else {
                    break;
                }
            }
            if slice.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let raw = if slice.len() == buf.len() { buf } else { slice.to_vec() };
            batch.push(Record { line: self.line, raw: Raw::Json(raw) });
        }
        Ok(batch)
    }
}

struct CsvSource<R> {
    reader: csv::Reader<R>,
    headers: Vec<String>,
    records: u64,
}

impl<R: Read + Send> RecordSource for CsvSource<R> {
    fn skip(&mut self, n: u64) -> Result<()> {
        let mut record = csv::ByteRecord::new();
        for _ in 0..n {
            match self.reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => self.records += 1,
                Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                    return Err(anyhow::Error::new(e).context("reading CSV input"))
                }
                // A broken row still counts as one consumed record.
                Err(_) => self.records += 1,
            }
        }
        Ok(())
    }

    fn position(&self) -> u64 {
        self.records
    }

    fn next_batch(&mut self, max_records: usize, _max_bytes: usize) -> Result<Vec<Record>> {
        let mut batch = Vec::new();
        let mut record = csv::StringRecord::new();
        while batch.len() < max_records {
            let line = self.reader.position().line() + 1;
            let read = self.reader.read_record(&mut record);
            if !matches!(read, Ok(false)) {
                self.records += 1;
            }
            match read {
                Ok(false) => break,
                Ok(true) => {
                    let line = record.position().map_or(line, |p| p.line());
                    let parsed = listing_from_csv(&self.headers, &record);
                    batch.push(Record { line, raw: Raw::Parsed(Box::new(parsed)) });
                }
                Err(e) => {
                    let (line, message) = match e.kind() {
                        csv::ErrorKind::Utf8 { pos, err } => (
                            pos.as_ref().map_or(line, |p| p.line()),
                            format!(
                                "field {}: invalid UTF-8",
                                self.headers.get(err.field()).map_or("?", String::as_str)
                            ),
                        ),
                        csv::ErrorKind::UnequalLengths { pos, .. } => {
                            (pos.as_ref().map_or(line, |p| p.line()), "wrong number of columns".to_string())
                        }
                        csv::ErrorKind::Io(_) => return Err(anyhow::Error::new(e).context("reading CSV input")),
                        _ => (line, e.to_string()),
                    };
                    batch.push(Record { line, raw: Raw::Parsed(Box::new(Err(InputError::Record(message)))) });
                }
            }
        }
        Ok(batch)
    }
}

/// Builds a listing from a CSV row, naming the column at fault.
fn listing_from_csv(headers: &[String], row: &csv::StringRecord) -> Result<Listing, InputError> {
    let mut listing = Listing::default();
    let (mut amount, mut currency) = (None, None);
    for (name, value) in headers.iter().zip(row.iter()) {
        if value.is_empty() {
            continue;
        }
        match name.as_str() {
            "id" => listing.id = value.to_string(),
            "title" => listing.title = value.to_string(),
            "description" => listing.description = Some(value.to_string()),
            "category" => listing.category = Some(value.to_string()),
            "language" => listing.language = Some(value.to_string()),
            "ship_to" => {
                listing.ship_to = value
                    .split([',', ';', ' '])
                    .filter(|s| !s.is_empty())
                    .map(|s| s.trim().to_ascii_uppercase())
                    .collect()
            }
            "price" => {
                amount = Some(
                    value
                        .trim()
                        .replace(',', ".")
                        .parse::<f64>()
                        .map_err(|_| InputError::field("price", format!("`{value}` is not a number")))?,
                )
            }
            "currency" => currency = Some(value.to_string()),
            "seller_id" | "seller_country" | "seller_type" => {
                let seller = listing.seller.get_or_insert_with(Default::default);
                match name.as_str() {
                    "seller_id" => seller.id = Some(value.to_string()),
                    "seller_country" => seller.country = Some(value.to_string()),
                    _ => {
                        seller.extra.insert("type".into(), Value::String(value.to_string()));
                    }
                }
            }
            "expected" | "expected_policies" => {
                listing.extra.insert(name.clone(), Value::String(value.to_string()));
            }
            _ => listing.attributes.push((name.clone(), value.to_string())),
        }
    }
    if let Some(amount) = amount {
        listing.price = Some(rempart_core::listing::Price { amount, currency });
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

fn open_source(args: &InputArgs, progress_label: &str) -> Result<(Box<dyn RecordSource>, ProgressBar)> {
    let (reader, total): (Box<dyn Read + Send>, u64) = if args.file == "-" {
        (Box::new(io::stdin()), 0)
    } else {
        let path = Path::new(&args.file);
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let total = file.metadata().map(|m| m.len()).unwrap_or(0);
        (Box::new(file), total)
    };
    let progress = crate::progress::bytes(total, progress_label);
    // Progress counts the bytes of the file as stored, so a compressed
    // catalogue's bar still ends at 100 %.
    let reader = progress.wrap_read(reader);
    let reader: Box<dyn Read + Send> = if args.file.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, reader)))
    } else if args.file.ends_with(".zst") {
        Box::new(zstd::stream::read::Decoder::new(reader).with_context(|| format!("opening {} as zstd", args.file))?)
    } else {
        Box::new(reader)
    };
    let reader = BufReader::with_capacity(1 << 20, reader);
    let source: Box<dyn RecordSource> = match args.input_format {
        InputFormat::Jsonl => Box::new(JsonlSource { reader, line: 0 }),
        InputFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(reader);
            let headers = reader
                .headers()
                .context("reading the CSV header row")?
                .iter()
                .map(|h| h.trim_start_matches('\u{FEFF}').trim().to_ascii_lowercase())
                .collect();
            Box::new(CsvSource { reader, headers, records: 0 })
        }
    };
    Ok((source, progress))
}

/// Where results go, for runs that need more than a closure: invalid
/// records, and the end of each batch (to checkpoint a long run).
pub trait Sink<T> {
    /// A decided record (from input line `line`), in input order.
    fn record(&mut self, line: u64, value: T) -> Result<()>;

    /// An invalid record (reported on stderr by default).
    fn invalid(&mut self, line: u64, error: &InputError) -> Result<()> {
        use std::io::Write;
        let _ = writeln!(io::stderr().lock(), "line {line}: {error}");
        Ok(())
    }

    /// Every record up to source position `position` (see
    /// [`Resume::skip`]) has been passed to `record` or `invalid`.
    fn batch_done(&mut self, _position: u64, _stats: &Stats) -> Result<()> {
        Ok(())
    }
}

/// A closure as a [`Sink`].
struct FnSink<F>(F);

impl<T, F: FnMut(T) -> Result<()>> Sink<T> for FnSink<F> {
    fn record(&mut self, _line: u64, value: T) -> Result<()> {
        (self.0)(value)
    }
}

/// Where a run starts: source units (JSONL lines, CSV records) already
/// consumed by an earlier, interrupted run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Resume {
    pub skip: u64,
}

/// Reads every record, applies `work` to the valid ones on all cores, and
/// calls `sink` with the results in input order. Invalid records are
/// reported on stderr and counted.
pub fn process<T: Send>(
    args: &InputArgs,
    label: &str,
    work: impl Fn(Listing) -> T + Sync,
    sink: impl FnMut(T) -> Result<()>,
) -> Result<Stats> {
    process_with(args, label, Resume::default(), |_, listing| work(listing), &mut FnSink(sink))
}

/// [`process`] with a [`Sink`] and a starting point; `work` also gets the
/// line the listing was read from.
pub fn process_with<T: Send>(
    args: &InputArgs,
    label: &str,
    resume: Resume,
    work: impl Fn(u64, Listing) -> T + Sync,
    sink: &mut impl Sink<T>,
) -> Result<Stats> {
    if let Some(n) = args.threads {
        // Only fails if the pool was already built, which is harmless.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global();
    }
    let (mut source, progress) = open_source(args, label)?;
    source.skip(resume.skip)?;
    let limits = Limits::default();
    let mut stats = Stats::default();
    let started = std::time::Instant::now();
    // A reader thread keeps the next batch ready while the current one is
    // screened on all cores; the bounded channel keeps memory flat.
    type Batch = Result<(Vec<Record>, u64)>;
    let (batches, incoming) = std::sync::mpsc::sync_channel::<Batch>(1);
    std::thread::scope(|scope| -> Result<()> {
        scope.spawn(move || loop {
            let batch = source.next_batch(4096, 8 << 20).map(|b| (b, source.position()));
            let last = batch.as_ref().map_or(true, |(b, _)| b.is_empty());
            if batches.send(batch).is_err() || last {
                break;
            }
        });
        for batch in incoming {
            let (batch, position) = batch?;
            if batch.is_empty() {
                break;
            }
            let results: Vec<(u64, Result<T, InputError>)> = batch
                .into_par_iter()
                .map(|record| {
                    let line = record.line;
                    // The pipeline is written not to panic; if it ever does
                    // on some input, that record is reported and the rest go on.
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        record.into_listing(&limits).map(|listing| work(line, listing))
                    }))
                    .unwrap_or_else(|_| {
                        Err(InputError::Record("internal error while screening this record (please report it)".into()))
                    });
                    (line, outcome)
                })
                .collect();
            for (line, result) in results {
                stats.records += 1;
                match result {
                    Ok(value) => sink.record(line, value)?,
                    Err(e) => {
                        stats.invalid += 1;
                        sink.invalid(line, &e)?;
                    }
                }
            }
            sink.batch_done(position, &stats)?;
            let rate = stats.records as f64 / started.elapsed().as_secs_f64().max(1e-3);
            progress.set_message(format!("{} listings, {rate:.0}/s", stats.records));
        }
        Ok(())
    })?;
    progress.finish_and_clear();
    Ok(stats)
}

/// The exit status for a run that read `stats`.
pub fn exit_code(stats: &Stats) -> u8 {
    if stats.invalid > 0 {
        crate::EXIT_INVALID_RECORDS
    } else {
        crate::EXIT_OK
    }
}
