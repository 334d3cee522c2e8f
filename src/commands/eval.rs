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
per-policy precision/recall, confusion matrix, every miss) and a summary table on stderr. With the \
semantic stage (on unless --no-semantic) the report is of lexical + semantic, `lexical_only` holds \
the same report without the stage, and stderr compares per-policy recall and false positives; \
--sweep-thresholds adds `sweep`: per watched policy and threshold, recall, precision, listings \
added and false reviews.\n\n\
Exit status: 0 every record evaluated; 2 some records invalid or unlabelled; 1 nothing could be done.")]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    pack: PackArgs,
    #[command(flatten)]
    semantic: super::SemanticArgs,
    /// Also print, for each policy the semantic stage watches, recall and false reviews at
    /// thresholds from 0.80 to 0.97 (the precision/recall curve a compliance team chooses from).
    #[arg(long, conflicts_with = "no_semantic")]
    sweep_thresholds: bool,
}

/// What the semantic stage saw of one listing, for the threshold sweep.
struct Compared {
    policy: String,
    similarity: f32,
    /// The listing is expected to be held by this policy.
    positive: bool,
}

/// One point of a policy's threshold curve.
#[derive(serde::Serialize)]
struct SweepPoint {
    policy: String,
    threshold: f32,
    recall: Option<f64>,
    precision: Option<f64>,
    /// Listings not expected under the policy that the stage would send to review.
    false_reviews: usize,
    /// Expected listings the stage would add to what the lexical stage holds.
    added: usize,
}

/// Thresholds the sweep tries.
fn sweep_thresholds() -> impl Iterator<Item = f32> {
    (0..=34).map(|i| 0.80 + i as f32 * 0.005)
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

type Evaluated = (Decision, Option<Decision>, Expectation, Vec<Compared>);

pub fn run(args: Args) -> Result<u8> {
    let gate = super::load_gate(&args.pack)?;
    let semantic = super::load_semantic(&args.semantic, &gate);
    let mut lexical = Evaluator::default();
    let mut with_semantic = Evaluator::default();
    let mut compared = Vec::new();
    let mut lexical_tp: std::collections::BTreeMap<String, usize> = Default::default();
    let mut positives: std::collections::BTreeMap<String, usize> = Default::default();
    let mut unlabelled = 0u64;
    let stats = input::process(
        &args.input,
        "eval",
        |listing| -> Result<Evaluated, (String, InputError)> {
            let expected = expectation(listing).map_err(|e| (listing.id.clone(), e))?;
            let lexical = gate.screen(listing);
            let Some(stage) = &semantic else { return Ok((lexical, None, expected, Vec::new())) };
            let screened = stage.screen(&gate, listing, &rempart_core::ExternalSignals::default());
            let seen = screened
                .nearest
                .iter()
                .map(|n| Compared {
                    policy: n.policy.clone(),
                    similarity: n.similarity,
                    positive: expected.policies.as_ref().is_some_and(|p| p.contains(&n.policy)),
                })
                .collect();
            Ok((lexical, Some(screened.decision), expected, seen))
        },
        |result| {
            match result {
                Ok((decision, semantic_decision, expected, seen)) => {
                    for p in expected.policies.iter().flatten() {
                        *positives.entry(p.clone()).or_default() += 1;
                        if decision.matches.iter().any(|m| &m.policy == p) {
                            *lexical_tp.entry(p.clone()).or_default() += 1;
                        }
                    }
                    lexical.add(&decision, &expected);
                    with_semantic.add(semantic_decision.as_ref().unwrap_or(&decision), &expected);
                    compared.extend(seen);
                }
                Err((id, e)) => {
                    unlabelled += 1;
                    eprintln!("listing {id}: {e}");
                }
            }
            Ok(())
        },
    )?;
    let lexical = lexical.finish();
    let stage_on = semantic.is_some();
    let with_semantic = with_semantic.finish();
    let sweep: Vec<SweepPoint> = match &semantic {
        Some(stage) if args.sweep_thresholds => stage
            .watched()
            .iter()
            .flat_map(|w| {
                let (compared, lexical_tp, positives) =
                    (&compared, lexical_tp.get(&w.policy).copied().unwrap_or(0), positives.get(&w.policy).copied());
                sweep_thresholds().map(move |t| {
                    let over = compared.iter().filter(|c| c.policy == w.policy && c.similarity >= t);
                    let (added, false_reviews) =
                        over.fold((0, 0), |(a, f), c| if c.positive { (a + 1, f) } else { (a, f + 1) });
                    let held = lexical_tp + added;
                    SweepPoint {
                        policy: w.policy.clone(),
                        threshold: t,
                        recall: positives.filter(|&p| p > 0).map(|p| held as f64 / p as f64),
                        precision: (added + false_reviews > 0).then(|| added as f64 / (added + false_reviews) as f64),
                        false_reviews,
                        added,
                    }
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut report = serde_json::to_value(if stage_on { &with_semantic } else { &lexical })?;
    if let Some(object) = report.as_object_mut() {
        object.insert("semantic_stage".into(), stage_on.into());
        if stage_on {
            object.insert("lexical_only".into(), serde_json::to_value(&lexical)?);
        }
        if args.sweep_thresholds {
            object.insert("sweep".into(), serde_json::to_value(&sweep)?);
        }
    }
    writeln!(io::stdout().lock(), "{}", serde_json::to_string(&report)?)?;
    if stage_on {
        eprint!("{}", summary(&with_semantic));
        eprint!("{}", comparison(&lexical, &with_semantic));
    } else {
        eprint!("{}", summary(&lexical));
    }
    if !sweep.is_empty() {
        eprint!("{}", sweep_table(&sweep));
    }
    Ok(if unlabelled > 0 { crate::EXIT_INVALID_RECORDS } else { input::exit_code(&stats) })
}

/// Per policy: recall and false reviews, lexical only and with the semantic stage.
fn comparison(lexical: &rempart_core::eval::Report, semantic: &rempart_core::eval::Report) -> String {
    let mut s = format!(
        "\n{:<36}{:>16}{:>16}{:>12}{:>12}\n",
        "policy", "recall lexical", "recall +sem", "fp lexical", "fp +sem"
    );
    for (p, c) in &semantic.per_policy {
        let l = lexical.per_policy.get(p).cloned().unwrap_or_default();
        s.push_str(&format!(
            "{:<36}{:>16}{:>16}{:>12}{:>12}\n",
            p,
            pct(l.recall),
            pct(c.recall),
            l.false_positives,
            c.false_positives
        ));
    }
    s
}

fn sweep_table(points: &[SweepPoint]) -> String {
    let mut s = format!(
        "\nthreshold sweep (semantic stage)\n{:<28}{:>10}{:>9}{:>11}{:>8}{:>15}\n",
        "policy", "threshold", "recall", "precision", "added", "false reviews"
    );
    for p in points {
        s.push_str(&format!(
            "{:<28}{:>10.3}{:>9}{:>11}{:>8}{:>15}\n",
            p.policy,
            p.threshold,
            pct(p.recall),
            pct(p.precision),
            p.added,
            p.false_reviews
        ));
    }
    s
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
