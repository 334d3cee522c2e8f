//! `rempart shadow report`: where a candidate pack running in shadow
//! disagrees with the live one, by policy, with examples.

use anyhow::Result;
use rempart_store::packs;

use super::store_args::StoreArgs;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Disagreements of a shadow pack by policy, with examples (JSON on stdout, a summary on stderr).
    #[command(after_help = "Without --version: the pack running in shadow, else the last one that ran.\n\n\
Exit status: 0 printed; 1 no store.")]
    Report {
        #[command(flatten)]
        store: StoreArgs,
        /// Shadow pack version (sha256:…).
        #[arg(long)]
        version: Option<String>,
        /// Examples per policy.
        #[arg(long, default_value_t = 5)]
        examples: usize,
    },
}

pub fn run(cmd: Command) -> Result<u8> {
    let Command::Report { store, version, examples } = cmd;
    let (version, all) = store.open()?.read(|tx| {
        let version = match version {
            Some(v) => Some(v),
            None => match packs::holder(tx, packs::PackRole::Shadow)? {
                Some(p) => Some(p.pack_version),
                None => packs::shadow_versions(tx)?.into_iter().next(),
            },
        };
        let all = match &version {
            Some(v) => packs::disagreements(tx, v, u64::MAX >> 1)?,
            None => Vec::new(),
        };
        Ok((version, all))
    })?;
    let report = rempart_server::routes::packs::report(version, all, examples);
    println!("{}", serde_json::to_string(&report)?);
    match &report.shadow_version {
        None => eprintln!("rempart: no shadow pack has run"),
        Some(v) => {
            eprintln!("rempart: shadow {v}: {} listing(s) decided otherwise", report.disagreements);
            for (change, n) in &report.by_verdict {
                eprintln!("  {change}: {n}");
            }
            for p in &report.policies {
                eprintln!("  {}: +{} only in shadow, -{} only live", p.policy, p.only_shadow, p.only_live);
            }
        }
    }
    Ok(crate::EXIT_OK)
}
