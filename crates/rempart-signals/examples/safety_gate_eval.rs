//! Precision and recall of EU Safety Gate matching, on a set built from
//! the alerts' own product descriptions with seeded seller rewording,
//! near misses (same brand, other model) and the real benign corpora.
//!
//! ```text
//! python3 bench/corpus.py benign /tmp/benign
//! cargo run --release -p rempart-signals --example safety_gate_eval -- /tmp/benign
//! ```
//!
//! Reads `$REMPART_DATA/eu_safety_gate/` (default: the `shared/data`
//! folder beside the repository). Without a benign folder, only the
//! generated cases are scored.

#[path = "support/safety_gate_set.rs"]
mod safety_gate_set;

use std::error::Error;
use std::path::Path;

use rempart_signals::safety_gate::SafetyGate;
use safety_gate_set::{benign, data_dir, evaluate, load_alerts, near_misses, positives, Kind};

const SEED: u64 = 20_240_613;

fn main() -> Result<(), Box<dyn Error>> {
    let dir = data_dir().ok_or("eu_safety_gate not found: set REMPART_DATA to the shared/data folder")?;
    let alerts = load_alerts(&dir);
    let gate = SafetyGate::new(alerts.clone(), 3);
    let mut cases = positives(&alerts, SEED);
    cases.extend(near_misses(&alerts, SEED));
    if let Some(benign_dir) = std::env::args().nth(1) {
        cases.extend(benign(Path::new(&benign_dir)));
    }
    let scores = evaluate(&gate, &cases, &alerts);
    println!("{} alerts ({} distinct), seed {SEED}", alerts.len(), gate.len());
    println!("{:<28} {:>7} {:>8} {:>8}", "cases", "n", "matched", "right");
    for (kind, (n, matched, right)) in &scores.by_kind {
        let name = match kind {
            Kind::Positive(style) => format!("positive: {style}"),
            Kind::NearMiss => "near miss (brand, other model)".into(),
            Kind::Benign => "benign corpora".into(),
        };
        println!("{name:<28} {n:>7} {matched:>8} {right:>8}");
    }
    let (n, tp) = scores.positives();
    println!(
        "\nrecall {:.3} ({tp} of {n} positives matched to their alert); precision {:.3} ({} wrong matches)",
        scores.recall(),
        scores.precision(),
        scores.false_matches.len()
    );
    println!(
        "near misses matched: {} of {}; benign listings matched: {} of {}",
        scores.matched(Kind::NearMiss),
        scores.cases(Kind::NearMiss),
        scores.matched(Kind::Benign),
        scores.cases(Kind::Benign)
    );
    println!("\nwrong matches:");
    for (id, title, alert, by) in &scores.false_matches {
        println!("  {id}: {title:?} -> {alert} by {by}");
    }
    println!("\nmissed positives (first 40 of {}):", scores.misses.len());
    for (id, title, alert) in scores.misses.iter().take(40) {
        println!("  {id}: {title:?} (alert {alert})");
    }
    Ok(())
}
