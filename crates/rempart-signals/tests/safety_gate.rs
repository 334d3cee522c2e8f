//! EU Safety Gate matching measured on the evaluation set built from the
//! alerts' own descriptions (see `examples/support/safety_gate_set.rs`):
//! seeded seller rewordings must be found, near misses (same brand, other
//! model) and the real benign corpora must not. The full report with
//! every miss and wrong match: `cargo run --release -p rempart-signals
//! --example safety_gate_eval -- BENIGN_DIR`.

#[path = "../examples/support/safety_gate_set.rs"]
mod safety_gate_set;

use std::path::Path;
use std::process::Command;

use rempart_signals::safety_gate::SafetyGate;
use safety_gate_set::{benign, data_dir, evaluate, load_alerts, near_misses, positives, Kind};

#[test]
fn safety_gate_matching_finds_reworded_alerts_and_not_near_misses() {
    let dir = data_dir().expect("../shared/data/eu_safety_gate is needed by this test");
    let alerts = load_alerts(&dir);
    assert!(alerts.len() > 500, "{} alerts loaded", alerts.len());
    let gate = SafetyGate::new(alerts.clone(), 3);
    assert!(gate.len() > 520, "{} distinct alerts", gate.len());

    let mut cases = positives(&alerts, 20_240_613);
    cases.extend(near_misses(&alerts, 20_240_613));
    let corpus = tempfile::tempdir().expect("temp dir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = Command::new("python3")
        .arg(root.join("bench/corpus.py"))
        .arg("benign")
        .arg(corpus.path())
        .env("REMPART_DATA", dir.parent().expect("data dir"))
        .status()
        .expect("python3 runs bench/corpus.py");
    assert!(status.success());
    cases.extend(benign(corpus.path()));
    let scores = evaluate(&gate, &cases, &alerts);
    let (n, tp) = scores.positives();
    println!(
        "recall {:.3} ({tp}/{n}), precision {:.3}, near misses matched {}/{}, benign matched {}/{}",
        scores.recall(),
        scores.precision(),
        scores.matched(Kind::NearMiss),
        scores.cases(Kind::NearMiss),
        scores.matched(Kind::Benign),
        scores.cases(Kind::Benign)
    );
    // Every alert with a barcode is found by it.
    assert_eq!(scores.by_kind[&Kind::Positive("barcode")].2, scores.cases(Kind::Positive("barcode")));
    assert!(scores.recall() >= 0.88, "recall {:.3}", scores.recall());
    assert!(scores.precision() >= 0.90, "precision {:.3}", scores.precision());
    assert!(scores.cases(Kind::NearMiss) > 300);
    assert!(scores.matched(Kind::NearMiss) * 100 <= scores.cases(Kind::NearMiss) * 3, "near misses matched");
    assert!(scores.cases(Kind::Benign) > 68_000);
    assert!(scores.matched(Kind::Benign) <= 10, "benign listings matched: {}", scores.matched(Kind::Benign));
}
