//! One module per command.

pub mod eval;
pub mod explain;
pub mod policy;
pub mod screen;

use anyhow::Result;
use rempart_core::{Gate, Pack};

use crate::PackArgs;

/// Compiles the pack named by `--policy`, or the embedded one.
pub fn load_gate(args: &PackArgs) -> Result<Gate> {
    let pack = match &args.policy {
        Some(dir) => Pack::from_dir(dir)?,
        None => Pack::embedded()?,
    };
    Ok(Gate::new(pack))
}
