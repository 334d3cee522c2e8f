//! `rempart eval`: precision and recall of a pack on labelled listings.

use std::io::{self, Write};

use anyhow::Result;
use rempart_core::eval::{Evaluator, Expectation};
use rempart_core::{Action, Decision, InputError, Listing};
use serde_json::Value;

use crate::input::{self, InputArgs};
use crate::PackArgs;

#[derive(clap::Args)]
#[command(after_help = "Each input listing carries its label: `\"expected\": \"block\"` and optionally \
`\"expected_policies\": [\"policy_id\", …]` (CSV: columns `expected` and `expected_policies`, the \
latter separated by `;`). Prints one JSON report on stdout (verdict accuracy, flagged precision/recall, \
per-policy precision/recall, confusion matrix, every miss) and a summary table on stderr.\n\n\
Exit status: 0 every record evaluated; 2 some records invalid or unlabelled; 1 nothing could be done.")]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    pack: PackArgs,
}

fn expectation(listing: &Listing) -> Result<Expectation, InputError> {
    let verdict = match listing.extra.get("expected") {
        Some(Value::String(s)) => s.parse::<Action>().map_err(|e| InputError::field("expected", e))?,
        Some(_) => return Err(InputError::field("expected", "expected a string verdict")),
        None => return Err(InputError::field("expected", "missing (eval needs a labelled verdict)")),
    };
    let policies = match listing.extra.get("expected_policies") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.split(';').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()),
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(String::from)
                        .ok_or_else(|| InputError::field("expected_policies", "expected strings"))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => return Err(InputError::field("expected_policies", "expected an array of policy ids")),
    };
    Ok(Expectation { verdict, policies })
}

pub fn run(args: Args) -> Result<u8> {
    let gate = super::load_gate(&args.pack)?;
    let mut evaluator = Evaluator::default();
    let mut unlabelled = 0u64;
    let stats = input::process(
        &args.input,
        "eval",
        |listing| -> Result<(Decision, Expectation), (String, InputError)> {
            let expected = expectation(&listing).map_err(|e| (listing.id.clone(), e))?;
            Ok((gate.screen(&listing), expected))
        },
        |result| {
            match result {
                Ok((decision, expected)) => evaluator.add(&decision, &expected),
                Err((id, e)) => {
                    unlabelled += 1;
                    eprintln!("listing {id}: {e}");
                }
            }
            Ok(())
        },
    )?;
    let report = evaluator.finish();
    writeln!(io::stdout().lock(), "{}", serde_json::to_string(&report)?)?;
    eprint!("{}", summary(&report));
    Ok(if unlabelled > 0 { crate::EXIT_INVALID_RECORDS } else { input::exit_code(&stats) })
}

fn pct(v: Option<f64>) -> String {
    v.map_or("  n/a".to_string(), |v| format!("{:5.1}%", v * 100.0))
}

fn summary(r: &rempart_core::eval::Report) -> String {
    let mut s = format!(
        "{} listings · verdict accuracy {} · flagged precision {} recall {}\n\nexpected \\ got ",
        r.listings,
        pct(r.verdict_accuracy),
        pct(r.flagged.precision),
        pct(r.flagged.recall)
    );
    for a in Action::ALL {
        s.push_str(&format!("{:>9}", a.as_str()));
    }
    s.push('\n');
    for want in Action::ALL {
        s.push_str(&format!("{:<15}", want.as_str()));
        for got in Action::ALL {
            let n = r.confusion.get(&want).and_then(|m| m.get(&got)).copied().unwrap_or(0);
            s.push_str(&format!("{n:>9}"));
        }
        s.push('\n');
    }
    s.push_str(&format!("\n{:<36}{:>6}{:>6}{:>6}{:>10}{:>10}\n", "policy", "tp", "fp", "fn", "precision", "recall"));
    for (p, c) in &r.per_policy {
        s.push_str(&format!(
            "{:<36}{:>6}{:>6}{:>6}{:>10}{:>10}\n",
            p,
            c.true_positives,
            c.false_positives,
            c.false_negatives,
            pct(c.precision),
            pct(c.recall)
        ));
    }
    s
}
