//! Reading listings from JSONL or CSV in batches, screening each batch on
//! all cores, and handing results back in input order.
//!
//! Memory stays flat in input size: at most three batches are held at a
//! time (one being read, one waiting, one being screened).
//! A bad record is reported on stderr as `line N: …` and never stops the
//! others. Files ending in `.gz` or `.zst` are decompressed on the fly.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::Range;
use std::path::Path;

use anyhow::{Context, Result};
use clap::ValueEnum;
use indicatif::ProgressBar;
use rayon::prelude::*;
use rempart_core::{InputError, Limits, Listing};
use rempart_input::{Content, CsvOptions, CsvReader, JsonlReader, RawRecord};

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
    /// CSV only: accept line breaks inside quoted fields (rows spanning
    /// lines). Without it a row is one line, so a stray quote damages one
    /// row only; with it, a quote that swallows later lines is reported with
    /// the line range and those lines are read again one by one.
    #[arg(long)]
    pub csv_multiline: bool,
    /// Worker threads, 1 to 1024 (default: one per core).
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,
}

/// Counts of what a run read.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub records: u64,
    pub invalid: u64,
}

/// The most worker threads `--threads` accepts: past a few per core they
/// only help while waiting on image downloads, and an absurd number would
/// exhaust the machine before the first listing.
pub const MAX_THREADS: usize = 1024;

pub fn parse_threads(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => Err(format!("expected a number of threads from 1 to {MAX_THREADS}")),
    }
}

/// Records read together. A JSON record is a range of `bytes`: one
/// buffer for the batch, handed back to the reader and reused. A buffer
/// per record, allocated by the reader thread and freed by the thread that
/// parsed it, cost about 4 % of the screening time (BENCHMARKS.md, issue 14,
/// eleventh step).
struct Batch {
    bytes: Vec<u8>,
    records: Vec<RawRecord<Range<usize>>>,
}

fn into_listing(record: RawRecord<Range<usize>>, bytes: &[u8], limits: &Limits) -> Result<Listing, InputError> {
    match record.content {
        Content::Json(within) => Listing::from_json_with(&bytes[within], limits),
        Content::Parsed(result) => *result,
    }
}

/// Where records come from: JSONL or CSV framing over a buffered stream.
enum Source {
    Jsonl(JsonlReader<Box<dyn BufRead + Send>>, u64),
    Csv(Box<CsvReader<Box<dyn BufRead + Send>>>, u64),
}

impl Source {
    /// The next record, its JSON bytes (if any) appended to `bytes`.
    fn next_record_into(&mut self, bytes: &mut Vec<u8>) -> io::Result<Option<RawRecord<Range<usize>>>> {
        let (record, count) = match self {
            Source::Jsonl(r, count) => (r.next_record_into(bytes)?, count),
            // CSV rows arrive parsed.
            Source::Csv(r, count) => (
                r.next_record()?.map(|record| {
                    record.map_json(|json| {
                        let start = bytes.len();
                        bytes.extend_from_slice(&json);
                        start..bytes.len()
                    })
                }),
                count,
            ),
        };
        *count += u64::from(record.is_some());
        Ok(record)
    }

    /// Records read so far, valid or not: where a resumed run starts
    /// ([`Resume::skip`]).
    fn position(&self) -> u64 {
        match self {
            Source::Jsonl(_, count) | Source::Csv(_, count) => *count,
        }
    }

    /// Reads and drops `n` records (already handled by an interrupted run).
    fn skip(&mut self, n: u64) -> Result<()> {
        let mut bytes = Vec::new();
        while self.position() < n {
            bytes.clear();
            if self.next_record_into(&mut bytes).context("reading input")?.is_none() {
                break;
            }
        }
        Ok(())
    }

    fn bytes_read(&self) -> u64 {
        match self {
            Source::Jsonl(r, _) => r.bytes_read(),
            Source::Csv(r, _) => r.bytes_read(),
        }
    }

    /// Up to `max_records` records or about `max_bytes` of input, read
    /// into `bytes` (a spent batch's buffer, or a new one).
    fn next_batch(
        &mut self,
        (max_records, max_bytes): (usize, u64),
        progress: &ProgressBar,
        mut bytes: Vec<u8>,
    ) -> Result<Batch> {
        bytes.clear();
        let mut records = Vec::new();
        let start = self.bytes_read();
        while records.len() < max_records && self.bytes_read() - start < max_bytes {
            match self.next_record_into(&mut bytes).context("reading input")? {
                Some(record) => records.push(record),
                None => break,
            }
        }
        progress.inc(self.bytes_read() - start);
        Ok(Batch { bytes, records })
    }
}

/// The source, the bar shown, and the bar the source's reads advance
/// (hidden when the bar follows the compressed file instead).
fn open_source(args: &InputArgs, progress_label: &str, limits: &Limits) -> Result<(Source, ProgressBar, ProgressBar)> {
    let (reader, total): (Box<dyn Read + Send>, u64) = if args.file == "-" {
        if crate::stdio::stdin_was_closed() {
            anyhow::bail!("standard input is closed: give a file, or pipe the listings in");
        }
        (Box::new(io::stdin()), 0)
    } else {
        let path = Path::new(&args.file);
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let total = file.metadata().map(|m| m.len()).unwrap_or(0);
        (Box::new(file), total)
    };
    let progress = crate::progress::bytes(total, progress_label);
    // A compressed catalogue's bar counts the bytes as stored (so it ends
    // at 100 %), not the bytes the readers see after decompression.
    let (reader, counted): (Box<dyn Read + Send>, ProgressBar) = if args.file.ends_with(".gz") {
        let stored = progress.wrap_read(reader);
        (Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, stored))), ProgressBar::hidden())
    } else if args.file.ends_with(".zst") {
        let stored = progress.wrap_read(reader);
        let decoder =
            zstd::stream::read::Decoder::new(stored).with_context(|| format!("opening {} as zstd", args.file))?;
        (Box::new(decoder), ProgressBar::hidden())
    } else {
        (reader, progress.clone())
    };
    let reader: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(1 << 20, reader));
    let source = match args.input_format {
        InputFormat::Jsonl => Source::Jsonl(JsonlReader::new(reader, limits.record_bytes), 0),
        InputFormat::Csv => {
            let options = CsvOptions { multiline: args.csv_multiline, record_cap: limits.record_bytes };
            Source::Csv(Box::new(CsvReader::new(reader, options)?), 0)
        }
    };
    Ok((source, progress, counted))
}

/// Where results go, for runs that need more than a closure: invalid
/// records, and the end of each batch (to checkpoint a long run).
pub trait Sink<T> {
    /// A decided record (starting on input line `line`), in input order.
    fn record(&mut self, line: u64, value: T) -> Result<()>;

    /// An invalid record starting on line `line`; `at` names it (`line N`
    /// or `lines N–M`). Reported on stderr by default.
    fn invalid(&mut self, _line: u64, at: &str, error: &InputError) -> Result<()> {
        use std::io::Write;
        let _ = writeln!(io::stderr().lock(), "{at}: {error}");
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

/// Where a run starts: records (valid or not) already handled by an
/// earlier, interrupted run.
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
    work: impl Fn(&Listing) -> T + Sync,
    sink: impl FnMut(T) -> Result<()>,
) -> Result<Stats> {
    process_with(args, label, Resume::default(), |_, listing| work(listing), &mut FnSink(sink))
}

/// [`process`] with a [`Sink`] and a starting point; `work` also gets the
/// line the listing starts on.
pub fn process_with<T: Send>(
    args: &InputArgs,
    label: &str,
    resume: Resume,
    work: impl Fn(u64, &Listing) -> T + Sync,
    sink: &mut impl Sink<T>,
) -> Result<Stats> {
    if let Some(n) = args.threads {
        // Only fails if the pool was already built, which is harmless.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global();
    }
    let limits = Limits::default();
    let (mut source, progress, counted) = open_source(args, label, &limits)?;
    source.skip(resume.skip)?;
    let mut stats = Stats::default();
    let started = std::time::Instant::now();
    // A reader thread keeps the next batch ready while the current one is
    // screened on all cores; the bounded channel keeps memory flat.
    let (batches, incoming) = std::sync::mpsc::sync_channel::<Result<(Batch, u64)>>(1);
    // Screened batches' buffers go back to the reader: at most three are
    // in use (one read, one waiting, one screened).
    let (spent, to_reuse) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| -> Result<()> {
        scope.spawn(move || loop {
            let bytes = to_reuse.try_recv().unwrap_or_default();
            let batch = source.next_batch((4096, 8 << 20), &counted, bytes).map(|b| (b, source.position()));
            let last = batch.as_ref().map_or(true, |(b, _)| b.records.is_empty());
            if batches.send(batch).is_err() || last {
                break;
            }
        });
        for batch in incoming {
            let (Batch { bytes, records }, position) = batch?;
            if records.is_empty() {
                break;
            }
            // A record's lines, not its `line N` label: the label is
            // written out only for the rare record that is invalid.
            let results: Vec<(u64, u64, Result<T, InputError>)> = records
                .into_par_iter()
                .map(|record| {
                    let (line, last_line) = (record.first_line, record.last_line);
                    // The pipeline is written not to panic; if it ever does
                    // on some input, that record is reported and the rest go on.
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        into_listing(record, &bytes, &limits).map(|listing| {
                            let done = work(line, &listing);
                            // Its strings are the next record's.
                            listing.recycle();
                            done
                        })
                    }))
                    .unwrap_or_else(|_| {
                        Err(InputError::Record("internal error while screening this record (please report it)".into()))
                    });
                    (line, last_line, outcome)
                })
                .collect();
            // Fails only once the reader has stopped, when no batch is left.
            let _ = spent.send(bytes);
            for (line, last_line, result) in results {
                stats.records += 1;
                match result {
                    Ok(value) => sink.record(line, value)?,
                    Err(e) => {
                        stats.invalid += 1;
                        sink.invalid(line, &rempart_input::location(line, last_line), &e)?;
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
