//! One module per command.

pub mod eval;
pub mod explain;
pub mod policy;
pub mod screen;

use anyhow::Result;
use rempart_core::{Gate, Pack};

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
