//! `rempart sweep`: screen a whole catalogue dump in one streaming pass and
//! write a report a regulator can read (HTML) and process (CSV).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rempart_core::InputError;
use rempart_dsa::sweep::{InputIdentity, RunInfo, Screened, Start, Sweep};

use crate::input::{InputArgs, InputFormat, Resume, Sink, Stats};
use crate::PackArgs;

#[derive(clap::Args)]
#[command(after_help = "Writes into DIR: index.html (counts, charts, top sellers, flagged listings with \
their evidence marked; more pages in flagged-N.html), flagged.csv (one row per flagged listing: verdict, \
policy, rules, legal basis, evidence), flagged.jsonl, by_policy.csv, by_verdict.csv, by_territory.csv, \
sellers.csv, invalid.csv (every unreadable row with line, field and reason), summary.json, checkpoint.json.\n\n\
Resuming: progress is saved in DIR/checkpoint.json every few seconds; running the same command again \
after an interruption continues from there (rows written after the checkpoint are rewritten, none are \
lost or doubled). A different catalogue or policy pack in the same DIR is refused; --restart starts over.\n\n\
The semantic stage runs as in `screen` (--no-semantic turns it off; a resumed sweep should keep the \
same choice).\n\n\
Output: the summary as one JSON object on stdout. Exit status: 0 every row was screened; 2 some rows \
were unreadable (in invalid.csv, the first ones also on stderr) and every other row was screened; 1 \
nothing could be done (unreadable catalogue, invalid pack, a report folder of another sweep).")]
pub struct Args {
    /// Catalogue: JSONL or CSV (by extension, or --input-format), optionally compressed (.gz, .zst).
    #[arg(value_name = "CATALOGUE")]
    catalogue: String,
    /// Folder for the report (created if needed).
    #[arg(long, value_name = "DIR")]
    report: PathBuf,
    /// Format of the catalogue (default: from its extension; JSONL unless it ends in .csv[.gz|.zst]).
    #[arg(long, value_enum)]
    input_format: Option<InputFormat>,
    /// CSV only: accept line breaks inside quoted fields (as for `screen`).
    #[arg(long)]
    csv_multiline: bool,
    /// Worker threads, 1 to 1024 (default: one per core).
    #[arg(long, value_name = "N", value_parser = crate::input::parse_threads)]
    threads: Option<usize>,
    #[command(flatten)]
    pack: PackArgs,
    #[command(flatten)]
    signals: super::SignalsArgs,
    #[command(flatten)]
    semantic: super::SemanticArgs,
    /// Discard an earlier (finished or interrupted) sweep in DIR and start over.
    #[arg(long)]
    restart: bool,
    /// Flagged listings per HTML page.
    #[arg(long, default_value_t = 500, value_name = "N")]
    per_page: usize,
    /// Seconds between checkpoints.
    #[arg(long, default_value_t = 5, value_name = "S")]
    checkpoint_seconds: u64,
}

/// Unreadable rows echoed on stderr (all are in invalid.csv).
const SHOWN_INVALID: u64 = 20;

struct SweepSink {
    sweep: Sweep,
    every: Duration,
    last: Instant,
    position: u64,
}

impl Sink<Screened> for SweepSink {
    fn record(&mut self, _line: u64, item: Screened) -> Result<()> {
        Ok(self.sweep.record(&item)?)
    }

    fn invalid(&mut self, line: u64, at: &str, error: &InputError) -> Result<()> {
        if self.sweep.tally().invalid < SHOWN_INVALID {
            eprintln!("{at}: {error}");
        }
        let message = match error {
            InputError::Field { message, .. } => message.as_str(),
            InputError::Record(message) => message.as_str(),
        };
        Ok(self.sweep.invalid(line, error.field_name(), message)?)
    }

    fn batch_done(&mut self, position: u64, _stats: &Stats) -> Result<()> {
        self.position = position;
        if self.last.elapsed() >= self.every {
            self.sweep.checkpoint(position)?;
            self.last = Instant::now();
        }
        Ok(())
    }
}

/// The command line as typed, for the report's "reproduce" line.
fn command_line() -> String {
    std::env::args()
        .map(|a| {
            if a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:".contains(c)) {
                a
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn run(args: Args) -> Result<u8> {
    if args.signals.record_removed {
        anyhow::bail!("--record-removed: a sweep only reads; record removals with `rempart removed add`");
    }
    let gate = super::load_gate(&args.pack)?;
    let signals = super::load_signals(&args.signals, &gate)?;
    let semantic = super::load_semantic(&args.semantic, &gate);
    let input_identity =
        InputIdentity::of(&args.catalogue).with_context(|| format!("cannot open {}", args.catalogue))?;
    let run = RunInfo {
        input: input_identity,
        pack_name: gate.pack().name.clone(),
        pack_version: gate.pack().version.clone(),
        engine_version: super::engine_version(),
        command: command_line(),
        started_at: rempart_dsa::sweep::now_rfc3339(),
    };
    let start = if args.restart { Start::Fresh } else { Start::Resume };
    let sweep = Sweep::open(&args.report, run, start)?;
    if let Some(position) = sweep.resumed_from() {
        eprintln!(
            "rempart: resuming the sweep in {} after {} records ({} listings already counted)",
            args.report.display(),
            position,
            sweep.tally().listings + sweep.tally().invalid
        );
    }
    let input = InputArgs {
        file: args.catalogue.clone(),
        input_format: args.input_format.unwrap_or_else(|| InputFormat::of_path(&args.catalogue)),
        csv_multiline: args.csv_multiline,
        threads: args.threads,
    };
    let resume = Resume { skip: sweep.position() };
    let mut sink = SweepSink {
        every: Duration::from_secs(args.checkpoint_seconds.max(1)),
        last: Instant::now(),
        position: sweep.position(),
        sweep,
    };
    let stats = crate::input::process_with(
        &input,
        "sweep",
        resume,
        |line, listing| {
            let computed = signals.as_ref().map(|s| s.compute(listing));
            let screened = super::screen_one(&gate, semantic.as_ref(), listing, computed.as_ref().map(|c| &c.external));
            Screened::new(line, listing, &screened.decision)
        },
        &mut sink,
    )?;
    let SweepSink { sweep, position, .. } = sink;
    let summary = sweep.finish(position, args.per_page)?;
    println!("{}", summary.to_json());
    let t = &summary.tally;
    eprintln!(
        "rempart: {} listings swept ({} flagged: {} block, {} review, {} restrict; {} unreadable rows); report in {}",
        t.listings,
        t.flagged(),
        t.verdict(rempart_core::Action::Block),
        t.verdict(rempart_core::Action::Review),
        t.verdict(rempart_core::Action::Restrict),
        t.invalid,
        args.report.display()
    );
    Ok(if t.invalid > 0 || stats.invalid > 0 { crate::EXIT_INVALID_RECORDS } else { crate::EXIT_OK })
}
