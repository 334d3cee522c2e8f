//! One module per command.

pub mod eval;
pub mod explain;
pub mod hash;
pub mod policy;
pub mod screen;

use std::io::{self, BufWriter, Write};

use anyhow::{Context, Result};
use rempart_core::{Action, Decision, Gate, Listing, Pack};

use crate::input::InputArgs;
use crate::PackArgs;

/// What `screen` and `explain` both take.
#[derive(clap::Args)]
pub struct ScreenArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub pack: PackArgs,
    /// Only output decisions other than `allow`.
    #[arg(long)]
    pub only_flagged: bool,
}

/// Compiles the pack named by `--policy`, or the embedded one.
pub fn load_gate(args: &PackArgs) -> Result<Gate> {
    let pack = match &args.policy {
        Some(dir) => Pack::from_dir(dir)?,
        None => Pack::embedded()?,
    };
    Ok(Gate::new(pack))
}

/// Screens every listing of `args` and writes `render(listing, decision)`
/// for each one kept, in input order. Returns the exit status.
pub fn screen_and_write(
    args: ScreenArgs,
    label: &str,
    render: impl Fn(&Listing, &Decision) -> String + Sync,
) -> Result<u8> {
    let gate = load_gate(&args.pack)?;
    let mut out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
    let only_flagged = args.only_flagged;
    let stats = crate::input::process(
        &args.input,
        label,
        |listing| {
            let decision = gate.screen(&listing);
            let keep = !(only_flagged && decision.verdict == Action::Allow);
            keep.then(|| render(&listing, &decision))
        },
        |text| {
            if let Some(text) = text {
                out.write_all(text.as_bytes())?;
            }
            Ok(())
        },
    )?;
    out.flush().context("writing output")?;
    Ok(crate::input::exit_code(&stats))
}
