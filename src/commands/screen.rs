//! `rempart screen`: the main job.

use std::io::{self, BufWriter, Write};

use anyhow::{Context, Result};
use rempart_core::Action;

use crate::input;

#[derive(clap::Args)]
#[command(after_help = "Output: one JSON object per valid listing on stdout, in input order: \
{\"id\", \"verdict\", \"matches\": [{\"policy\", \"rule\", \"action\", \"legal_basis\", \"scope\", \
\"evidence\": [{\"field\", \"start\", \"end\", \"text\", \"signal\"}]}], \"policy_version\"}. \
Evidence offsets are bytes into the original field text.\n\n\
Exit status: 0 every record was decided; 2 some records were invalid (reported on stderr as \
`line N: field F: …`) and every valid one was decided; 1 nothing could be done.")]
pub struct Args {
    #[command(flatten)]
    common: super::ScreenArgs,
}

pub fn run(args: Args) -> Result<u8> {
    let args = args.common;
    let gate = super::load_gate(&args.pack)?;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let only_flagged = args.only_flagged;
    let stats = input::process(
        &args.input,
        "screen",
        |listing| {
            let decision = gate.screen(&listing);
            if only_flagged && decision.verdict == Action::Allow {
                return None;
            }
            // Serialising a Decision cannot fail: plain strings and numbers.
            serde_json::to_string(&decision).ok()
        },
        |line| {
            if let Some(line) = line {
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
            }
            Ok(())
        },
    )?;
    out.flush().context("writing decisions")?;
    Ok(input::exit_code(&stats))
}
