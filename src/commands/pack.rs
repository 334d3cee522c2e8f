//! `rempart pack`: the policy lifecycle on a database — upload a pack
//! version (compiled and tested first), activate it (audited; stored
//! listings are re-screened), run one in shadow. A running server follows
//! these changes within seconds.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Result};
use rempart_core::Pack;
use rempart_store::packs::{self, PackRole};

use super::store_args::StoreArgs;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Store a pack version: compiled, its test cases run; prints its version.
    #[command(after_help = "A pack that does not compile is refused (exit 1). One whose tests fail is \
stored but cannot be activated (exit 4).\n\nExit status: 0 stored; 4 its tests fail; 1 not stored.")]
    Upload {
        #[command(flatten)]
        store: StoreArgs,
        /// Pack folder (every *.toml under it).
        dir: PathBuf,
    },
    /// Make a stored pack version live (audited), then re-screen every stored listing with it.
    #[command(after_help = "Changed decisions are recorded as new decisions (origin `rescan`) \
superseding the old ones; progress on stderr. A server running on the same database swaps the new pack \
in within seconds.\n\nExit status: 0 activated (and rescanned); 1 unknown version, failing tests, or no store.")]
    Activate {
        #[command(flatten)]
        store: StoreArgs,
        /// Pack version (sha256:…), as printed by `pack upload` or `pack list`.
        version: String,
        /// Signals configuration to screen with (banks, relisting) during the rescan.
        #[arg(long, value_name = "FILE")]
        signals: Option<PathBuf>,
        /// Do not re-screen stored listings.
        #[arg(long)]
        no_rescan: bool,
        #[command(flatten)]
        semantic: super::SemanticArgs,
    },
    /// Run a stored pack version in shadow beside the live one (or stop with --stop).
    #[command(after_help = "Every submission is also screened with the shadow pack; disagreements \
are recorded, never enforced (`rempart shadow report`).\n\nExit status: 0 done; 1 unknown version or no store.")]
    Shadow {
        #[command(flatten)]
        store: StoreArgs,
        version: Option<String>,
        #[arg(long, conflicts_with = "version")]
        stop: bool,
    },
    /// Stored pack versions as JSONL (version, name, tests, role).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Upload { store, dir } => {
            let files: BTreeMap<String, String> = Pack::sources_in_dir(&dir)?.into_iter().collect();
            let (gate, failures, passed) =
                rempart_server::routes::packs::check(&files).map_err(|e| anyhow::anyhow!("{}", e.message))?;
            let (version, name) = (gate.pack().version.clone(), gate.pack().name.clone());
            let failed = failures.len() as u64;
            let new = store.open()?.write(|tx| {
                packs::upload(
                    tx,
                    packs::Upload {
                        pack_version: &version,
                        name: &name,
                        files: &files,
                        tests_passed: passed,
                        tests_failed: failed,
                        engine_version: rempart_core::ENGINE_VERSION,
                        by: "cli",
                    },
                )
            })?;
            println!(
                "{}",
                serde_json::json!({"pack_version": version, "name": name, "tests_passed": passed,
                    "tests_failed": failed, "failures": failures, "new": new})
            );
            for f in &failures {
                eprintln!("FAIL {f}");
            }
            Ok(if failed == 0 { crate::EXIT_OK } else { crate::EXIT_CHECKS_FAILED })
        }
        Command::Activate { store: args, version, signals, no_rescan, semantic } => {
            let store = args.open()?;
            let stored = store.read(|tx| packs::get(tx, &version))?;
            let (gate, _, _) =
                rempart_server::routes::packs::check(&stored.files).map_err(|e| anyhow::anyhow!("{}", e.message))?;
            let index = store.write(|tx| packs::assign(tx, PackRole::Live, &version, "cli"))?;
            eprintln!("rempart: pack {version} is live (audit entry {index})");
            let mut outcome = rempart_server::rescan::Outcome::default();
            if !no_rescan {
                let signals = match signals {
                    Some(path) => {
                        let removals = store.read(|tx| rempart_store::removed::since(tx, 0, u64::MAX >> 1))?;
                        let removals =
                            removals.into_iter().filter_map(|(_, v)| serde_json::from_value(v).ok()).collect();
                        let config = rempart_signals::SignalsConfig::load(&path)?;
                        Some(rempart_signals::Signals::load_with_removals(&config, gate.pack(), false, removals)?.0)
                    }
                    None => None,
                };
                let semantic = super::load_semantic(&semantic, &gate);
                let id = rempart_server::rescan::begin(&store, &gate)?;
                let total = store.read(rempart_store::records::counts)?.listings;
                let bar = crate::progress::items(total, "rescan");
                outcome = rempart_server::rescan::run(
                    &store,
                    &gate,
                    signals.as_ref(),
                    semantic.as_ref(),
                    &id,
                    || false,
                    |_| {},
                    |done, changed| {
                        bar.set_position(done);
                        bar.set_message(format!("{changed} changed"));
                    },
                )?;
                bar.finish_and_clear();
                eprintln!("rempart: rescan {id}: {} listings, {} decisions changed", outcome.listings, outcome.changed);
            }
            println!(
                "{}",
                serde_json::json!({"pack_version": version, "audit_index": index,
                    "rescanned": outcome.listings, "changed": outcome.changed})
            );
            Ok(crate::EXIT_OK)
        }
        Command::Shadow { store, version, stop } => {
            let store = store.open()?;
            match (version, stop) {
                (_, true) => store.write(|tx| packs::clear_shadow(tx, "cli"))?,
                (Some(v), false) => {
                    let stored = store.read(|tx| packs::get(tx, &v))?;
                    rempart_server::routes::packs::check(&stored.files)
                        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
                    store.write(|tx| packs::assign(tx, PackRole::Shadow, &v, "cli"))?;
                }
                (None, false) => bail!("give a pack version, or --stop"),
            }
            Ok(crate::EXIT_OK)
        }
        Command::List { store } => {
            for p in store.open()?.read(packs::list)? {
                println!("{}", serde_json::to_string(&p)?);
            }
            Ok(crate::EXIT_OK)
        }
    }
}
