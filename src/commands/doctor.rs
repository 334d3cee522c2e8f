//! `rempart doctor`: which stages would run, and why one would not.

use std::io::{self, Write};

use anyhow::Result;
use serde_json::json;

use crate::PackArgs;

#[derive(clap::Args)]
#[command(after_help = "Prints one JSON object per stage on stdout: {\"stage\", \"active\", …}: \
`lexical` (the pack: name, version, policies), `signals` (the --signals configuration, if given), \
`semantic` (the model file, the watched policies with their signal, threshold and exemplar count, \
or `reason` when it is off). A line per stage also goes to stderr.\n\n\
Exit status: 0 every stage that was asked for is active; 3 the semantic stage is off for a reason \
other than --no-semantic (no engine in this build, no model file); 1 the pack or the signals \
configuration is invalid.")]
pub struct Args {
    #[command(flatten)]
    pack: PackArgs,
    #[command(flatten)]
    signals: super::SignalsArgs,
    #[command(flatten)]
    semantic: super::SemanticArgs,
}

/// Exit status when the semantic stage cannot run.
pub const EXIT_STAGE_OFF: u8 = 3;

pub fn run(args: Args) -> Result<u8> {
    let gate = super::load_gate(&args.pack)?;
    let pack = gate.pack();
    let mut lines = vec![json!({
        "stage": "lexical",
        "active": true,
        "pack": pack.name,
        "pack_version": pack.version,
        "policies": pack.policies.len(),
        "term_sets": pack.sets.len(),
    })];
    eprintln!("lexical: active ({}, {} policies)", pack.name, pack.policies.len());
    if args.signals.signals.is_some() {
        super::load_signals(&args.signals, &gate)?;
        lines.push(json!({"stage": "signals", "active": true}));
        eprintln!("signals: active");
    }
    let mut code = crate::EXIT_OK;
    let semantic = if args.semantic.no_semantic {
        eprintln!("semantic: off (--no-semantic)");
        json!({"stage": "semantic", "active": false, "reason": "--no-semantic"})
    } else {
        match super::try_load_semantic(&args.semantic, &gate) {
            Ok(Some(stage)) => {
                let watched: Vec<_> = stage
                    .watched()
                    .iter()
                    .map(|w| {
                        json!({
                            "policy": w.policy,
                            "signal": w.signal,
                            // f32 → the value as written in the pack, not 0.9300000071525574.
                            "threshold": (f64::from(w.threshold) * 1e4).round() / 1e4,
                            "exemplars": w.exemplars.len()
                        })
                    })
                    .collect();
                eprintln!(
                    "semantic: active ({}, {} watched policies: {})",
                    stage.model().path().display(),
                    watched.len(),
                    stage.watched().iter().map(|w| w.policy.as_str()).collect::<Vec<_>>().join(", ")
                );
                json!({"stage": "semantic", "active": true, "model": stage.model().path(), "watched": watched})
            }
            Ok(None) => {
                eprintln!("semantic: off (the pack has no [semantic] table)");
                json!({"stage": "semantic", "active": false, "reason": "the pack has no [semantic] table"})
            }
            Err(e) => {
                code = EXIT_STAGE_OFF;
                eprintln!("semantic: off ({e})");
                json!({"stage": "semantic", "active": false, "reason": e.to_string()})
            }
        }
    };
    lines.push(semantic);
    let mut out = io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}")?;
    }
    Ok(code)
}
