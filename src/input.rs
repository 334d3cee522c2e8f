//! Reading listings from JSONL or CSV in batches, screening each batch on
//! all cores, and handing results back in input order.
//!
//! Memory stays flat in input size: at most one batch is held at a time.
//! A bad record is reported on stderr as `line N: …` and never stops the
//! others.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
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
    /// `language`, `ship_to`, `price`, `currency` map to the listing, other
    /// columns become attributes.
    Csv,
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

fn parse_threads(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => Err(format!("expected a number of threads from 1 to {MAX_THREADS}")),
    }
}

fn into_listing(record: RawRecord, limits: &Limits) -> Result<Listing, InputError> {
    match record.content {
        Content::Json(bytes) => Listing::from_json_with(&bytes, limits),
        Content::Parsed(result) => *result,
    }
}

/// Where records come from: JSONL or CSV framing over a buffered stream.
enum Source {
    Jsonl(JsonlReader<Box<dyn BufRead + Send>>),
    Csv(Box<CsvReader<Box<dyn BufRead + Send>>>),
}

impl Source {
    fn next_record(&mut self) -> io::Result<Option<RawRecord>> {
        match self {
            Source::Jsonl(r) => r.next_record(),
            Source::Csv(r) => r.next_record(),
        }
    }

    fn bytes_read(&self) -> u64 {
        match self {
            Source::Jsonl(r) => r.bytes_read(),
            Source::Csv(r) => r.bytes_read(),
        }
    }

    /// Up to `max_records` records or about `max_bytes` of input.
    fn next_batch(&mut self, max_records: usize, max_bytes: u64, progress: &ProgressBar) -> Result<Vec<RawRecord>> {
        let mut batch = Vec::new();
        let start = self.bytes_read();
        while batch.len() < max_records && self.bytes_read() - start < max_bytes {
            match self.next_record().context("reading input")? {
                Some(record) => batch.push(record),
                None => break,
            }
        }
        progress.inc(self.bytes_read() - start);
        Ok(batch)
    }
}

fn open_source(args: &InputArgs, progress_label: &str, limits: &Limits) -> Result<(Source, ProgressBar)> {
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
    let reader: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(1 << 20, reader));
    let source = match args.input_format {
        InputFormat::Jsonl => Source::Jsonl(JsonlReader::new(reader, limits.record_bytes)),
        InputFormat::Csv => {
            let options = CsvOptions { multiline: args.csv_multiline, record_cap: limits.record_bytes };
            Source::Csv(Box::new(CsvReader::new(reader, options)?))
        }
    };
    Ok((source, progress))
}

/// Reads every record, applies `work` to the valid ones on all cores, and
/// calls `sink` with the results in input order. Invalid records are
/// reported on stderr and counted.
pub fn process<T: Send>(
    args: &InputArgs,
    label: &str,
    work: impl Fn(Listing) -> T + Sync,
    mut sink: impl FnMut(T) -> Result<()>,
) -> Result<Stats> {
    if let Some(n) = args.threads {
        // Only fails if the pool was already built, which is harmless.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global();
    }
    let limits = Limits::default();
    let (mut source, progress) = open_source(args, label, &limits)?;
    let mut stats = Stats::default();
    let stderr = io::stderr();
    // A reader thread keeps the next batch ready while the current one is
    // screened on all cores; the bounded channel keeps memory flat.
    let (batches, incoming) = std::sync::mpsc::sync_channel::<Result<Vec<RawRecord>>>(1);
    let reading = progress.clone();
    std::thread::scope(|scope| -> Result<()> {
        scope.spawn(move || loop {
            let batch = source.next_batch(4096, 8 << 20, &reading);
            let last = batch.as_ref().map_or(true, Vec::is_empty);
            if batches.send(batch).is_err() || last {
                break;
            }
        });
        for batch in incoming {
            let batch = batch?;
            if batch.is_empty() {
                break;
            }
            let results: Vec<(String, Result<T, InputError>)> = batch
                .into_par_iter()
                .map(|record| {
                    let at = record.location();
                    // The pipeline is written not to panic; if it ever does
                    // on some input, that record is reported and the rest go on.
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        into_listing(record, &limits).map(&work)
                    }))
                    .unwrap_or_else(|_| {
                        Err(InputError::Record("internal error while screening this record (please report it)".into()))
                    });
                    (at, outcome)
                })
                .collect();
            for (at, result) in results {
                stats.records += 1;
                match result {
                    Ok(value) => sink(value)?,
                    Err(e) => {
                        stats.invalid += 1;
                        use std::io::Write;
                        let _ = writeln!(stderr.lock(), "{at}: {e}");
                    }
                }
            }
            progress.set_message(format!("{} listings", stats.records));
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
