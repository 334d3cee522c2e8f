//! `rempart bank check`: read a hash-bank file as `screen` would, and say
//! what was loaded and which lines were skipped.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Result;
use rempart_hash::bank::{Bank, MatchRule, DEFAULT_MAX_DISTANCE, DEFAULT_MIN_QUALITY};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Load bank files (one hash per line with optional `,metadata`, or CSV with a hash/pdq
    /// column) and report, as JSON lines, what was loaded and every skipped line.
    #[command(after_help = "Output: per file, one JSON object {\"file\", \"loaded\", \"low_quality\", \"skipped\", \
\"memory_bytes\"}, then one {\"file\", \"line\", \"reason\"} per skipped line.\n\n\
Exit status: 0 every line was read; 2 some lines were skipped; 1 a file could not be read.")]
    Check(CheckArgs),
}

#[derive(clap::Args)]
pub struct CheckArgs {
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Drop entries whose stated quality is below this.
    #[arg(long, default_value_t = DEFAULT_MIN_QUALITY)]
    min_quality: u8,
}

pub fn run(command: Command) -> Result<u8> {
    let Command::Check(args) = command;
    let rule = MatchRule { max_distance: DEFAULT_MAX_DISTANCE, min_quality: args.min_quality };
    let mut out = io::stdout().lock();
    let mut skipped_any = false;
    for file in &args.files {
        let name = file.display().to_string();
        let (bank, report) = Bank::load(&name, file, rule)?;
        writeln!(
            out,
            "{}",
            serde_json::json!({"file": name, "loaded": report.loaded, "low_quality": report.low_quality,
                "skipped": report.skipped.len(), "memory_bytes": bank.memory_bytes()})
        )?;
        for s in &report.skipped {
            writeln!(out, "{}", serde_json::json!({"file": name, "line": s.line, "reason": s.reason}))?;
        }
        skipped_any |= !report.skipped.is_empty();
    }
    Ok(if skipped_any { crate::EXIT_INVALID_RECORDS } else { crate::EXIT_OK })
}
