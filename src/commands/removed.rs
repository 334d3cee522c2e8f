//! `rempart removed add`: register listings removed outside the gate (after
//! a notice, an authority order or a review) in the removed-listings index,
//! so that their relisting is caught.

use std::io::{self, BufWriter, Write};

use anyhow::{Context, Result};

use crate::input::InputArgs;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Add listings (JSONL/CSV, as for `screen`) to the removed-listings index named in the
    /// signals config. Prints one JSON line per listing added.
    #[command(
        after_help = "Output: one JSON object per listing added: {\"id\", \"decided_by\", \"images\": [hex…]}. \
Image hashes come from `images[].pdq`, or from `images[].url` with --fetch-images.\n\n\
Exit status: 0 every record was added; 2 some records were invalid (reported on stderr) and every valid one \
was added; 1 nothing could be done."
    )]
    Add(AddArgs),
}

#[derive(clap::Args)]
pub struct AddArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Signals configuration naming the removed-listings index (its `[removed]` table).
    #[arg(long, value_name = "FILE")]
    signals: std::path::PathBuf,
    /// Who or what removed them: a reviewer, a notice or order reference. Shown as evidence
    /// when a near-duplicate comes back.
    #[arg(long, value_name = "WHO")]
    decided_by: String,
    /// Download `images[].url` to hash them (needs a `[fetch]` table).
    #[arg(long)]
    fetch_images: bool,
    #[command(flatten)]
    pack: crate::PackArgs,
}

pub fn run(command: Command) -> Result<u8> {
    let Command::Add(args) = command;
    let signals_args = super::SignalsArgs {
        signals: Some(args.signals.clone()),
        fetch_images: args.fetch_images,
        record_removed: true,
    };
    let gate = super::load_gate(&args.pack)?;
    // With `record_removed` set, loading fails unless a [removed] table names the file.
    let signals = super::load_signals(&signals_args, &gate)?.context("signals config")?;
    let path = signals.removed_file().context("signals config has no [removed] table")?.to_path_buf();
    let mut out = BufWriter::new(io::stdout().lock());
    let mut removals = Vec::new();
    let stats = crate::input::process(
        &args.input,
        "removed add",
        |listing| rempart_signals::Removal::of(listing, &args.decided_by, signals.removal_hashes(listing)),
        |removal| {
            let line = serde_json::json!({
                "id": removal.entry.listing_id, "decided_by": removal.entry.decided_by, "images": removal.images,
            });
            writeln!(out, "{line}")?;
            removals.push(removal);
            Ok(())
        },
    )?;
    out.flush().context("writing output")?;
    rempart_signals::removed::append(&path, &removals)
        .with_context(|| format!("recording removed listings in {}", path.display()))?;
    eprintln!("rempart: {} listing(s) added to {}", removals.len(), path.display());
    Ok(crate::input::exit_code(&stats))
}
