//! `rempart policy test|lint|terms`: what a compliance officer runs before
//! deploying a pack.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use rempart_core::policy::lint;
use rempart_core::{Gate, Pack};

use crate::{EXIT_CHECKS_FAILED, EXIT_OK};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON object per line.
    Jsonl,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run every [[test]] case of the pack; exit 4 if any fails.
    #[command(after_help = "Each case is screened by the whole pack and judged on its own policy's \
matches. Exit status: 0 all cases pass; 4 some fail; 1 the pack does not compile.")]
    Test {
        /// Pack folder (default: the embedded pack).
        dir: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Check a pack: duplicate ids, missing legal bases, unknown keys and
    /// signals, unused sets, rules that can never fire or that no test
    /// exercises, exceptions that switch a block off from anywhere in the
    /// listing, failing tests.
    #[command(after_help = "Exit status: 0 no finding; 4 findings (each printed); 1 the pack does not \
compile (unknown keys, bad expressions, TOML errors with line and column). With --warn-only, \
findings are printed and the exit status is 0.")]
    Lint {
        /// Pack folder (default: the embedded pack).
        dir: Option<PathBuf>,
        /// Print findings but exit 0 (for a pack being written).
        #[arg(long)]
        warn_only: bool,
        /// Kept for scripts written before findings failed by default; no effect.
        #[arg(long, hide = true)]
        strict: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print every term spelling the matcher uses, one per line (the
    /// benchmark's raw-scan baseline feeds these to `grep -F -f`).
    Terms {
        /// Pack folder (default: the embedded pack).
        dir: Option<PathBuf>,
    },
    /// Summarise the pack: policies, rules, actions, scope, legal basis.
    Show {
        /// Pack folder (default: the embedded pack).
        dir: Option<PathBuf>,
    },
}

fn load(dir: &Option<PathBuf>) -> Result<Gate> {
    let pack = match dir {
        Some(d) => Pack::from_dir(d)?,
        None => Pack::embedded()?,
    };
    Ok(Gate::new(pack))
}

pub fn run(cmd: Command) -> Result<u8> {
    let mut out = io::stdout().lock();
    match cmd {
        Command::Test { dir, format } => {
            let gate = load(&dir)?;
            let outcomes = lint::run_tests(&gate);
            let failed = outcomes.iter().filter(|o| !o.passed).count();
            for o in &outcomes {
                match format {
                    Format::Jsonl => writeln!(out, "{}", serde_json::to_string(o)?)?,
                    Format::Text if !o.passed => writeln!(
                        out,
                        "FAIL {} test {} [{}]: {:?}: expected {}{}, got {}{}",
                        o.file,
                        o.number,
                        o.policy,
                        o.title,
                        o.expected,
                        o.expected_rule.as_ref().map(|r| format!(" by rule {r}")).unwrap_or_default(),
                        o.got,
                        if o.rules.is_empty() { String::new() } else { format!(" ({})", o.rules.join(", ")) },
                    )?,
                    Format::Text => {}
                }
            }
            // The plain closing line test runners print.
            let summary = format!("policy tests: {} passed, {} failed", outcomes.len() - failed, failed);
            match format {
                Format::Text => writeln!(out, "{summary}")?,
                Format::Jsonl => eprintln!("{summary}"),
            }
            Ok(if failed == 0 { EXIT_OK } else { EXIT_CHECKS_FAILED })
        }
        Command::Lint { dir, warn_only, strict: _, format } => {
            let gate = load(&dir)?;
            let outcomes = lint::run_tests(&gate);
            let issues = lint::lint(&gate, &outcomes);
            for issue in &issues {
                match format {
                    Format::Text => writeln!(out, "{issue}")?,
                    Format::Jsonl => {
                        writeln!(out, "{}", serde_json::json!({"file": issue.file, "message": issue.message}))?
                    }
                }
            }
            let p = gate.pack();
            eprintln!(
                "{}: {} policies, {} rules, {} term sets, {} spellings, {} test cases; {} finding(s)",
                p.name,
                p.policies.len(),
                p.policies.iter().map(|x| x.rules.len()).sum::<usize>(),
                p.sets.len(),
                p.spellings().count(),
                p.tests.len(),
                issues.len()
            );
            Ok(if !warn_only && !issues.is_empty() { EXIT_CHECKS_FAILED } else { EXIT_OK })
        }
        Command::Terms { dir } => {
            let gate = load(&dir)?;
            for s in gate.pack().spellings() {
                writeln!(out, "{s}")?;
            }
            Ok(EXIT_OK)
        }
        Command::Show { dir } => {
            let gate = load(&dir)?;
            let p = gate.pack();
            writeln!(out, "{} ({})", p.name, p.version)?;
            for policy in &p.policies {
                writeln!(
                    out,
                    "\n{} — {}\n  legal basis: {}\n  scope: {}  DSA: {}",
                    policy.id,
                    policy.title,
                    policy.legal_basis,
                    policy.scope.join(", "),
                    policy.dsa_category
                )?;
                for r in &policy.rules {
                    writeln!(out, "  {:<8} {:<32} when {}", r.action.as_str(), r.id, r.when)?;
                }
            }
            Ok(EXIT_OK)
        }
    }
}
