//! The semantic stage end to end, with the real model (installed by
//! `.ci/setup/40-model.sh`; these tests fail when it is missing): what it
//! adds on the benign corpora, and the evaluation set's floors through
//! `rempart eval`.

mod support;

use std::process::Command;

use rempart_core::{ExternalSignals, Gate};
use rempart_semantic::{Model, SemanticStage};
use serde_json::Value;
use support::{benign_listings, bin, data_dir};

fn stage(gate: &Gate) -> SemanticStage {
    let dir = std::env::var_os("REMPART_SEMANTIC_MODEL_DIR")
        .map(std::path::PathBuf::from)
        .or_else(Model::default_dir)
        .expect("the semantic model: run `bash .ci/setup/40-model.sh` and rebuild");
    let model = Model::load(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    SemanticStage::new(std::sync::Arc::new(model), gate.pack()).expect("exemplars embed")
}

/// The quality bar (issue 12): on the 68,252 benign listings the stage
/// adds at most 0.2 % reviews. Every added review is printed.
#[test]
fn the_stage_adds_at_most_0_2_percent_reviews_on_benign_corpora() {
    let data = data_dir().expect("../shared/data beside the repository");
    let gate = Gate::with_default_pack().expect("default pack");
    let stage = stage(&gate);
    let none = ExternalSignals::default();
    let (mut total, mut reached, mut added) = (0usize, 0usize, Vec::new());
    for listing in benign_listings(&data) {
        total += 1;
        let s = stage.screen(&gate, &listing, &none);
        reached += usize::from(s.reached_model);
        if s.nearest.iter().any(|n| n.fires()) {
            let fired: Vec<String> =
                s.nearest.iter().filter(|n| n.fires()).map(|n| format!("{} {:.3}", n.policy, n.similarity)).collect();
            added.push(format!("{} {:?}: {}", listing.id, listing.title, fired.join(", ")));
        }
    }
    println!("{} of {total} benign listings reached the model; {} semantic reviews added:", reached, added.len());
    for a in &added {
        println!("  {a}");
    }
    assert!(total > 68_000, "all rows read ({total})");
    assert!(added.len() * 500 <= total, "{} added reviews of {total} (> 0.2%)", added.len());
}

/// `rempart eval` on the evaluation set (eval/semantic): the stage adds
/// recall the lexical stage does not have, per watched policy, and false
/// reviews stay within floors.
#[test]
fn the_evaluation_set_keeps_its_floors() {
    data_dir().expect("../shared/data beside the repository");
    let out = tempfile::tempdir().expect("temp dir");
    let set = out.path().join("eval.jsonl");
    let status = Command::new("python3").arg("eval/semantic/build.py").arg(&set).status().expect("python3 runs");
    assert!(status.success());
    let run = Command::new(bin()).args(["eval", "--sweep-thresholds"]).arg(&set).output().expect("rempart eval runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    println!("{stderr}");
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("semantic stage off"), "{stderr}");
    let report: Value = serde_json::from_slice(&run.stdout).expect("one JSON report");
    assert_eq!(report["semantic_stage"], true);
    let recall = |r: &Value, p: &str| r["per_policy"][p]["recall"].as_f64().unwrap_or(0.0);
    let false_positives = |r: &Value, p: &str| r["per_policy"][p]["false_positives"].as_u64().unwrap_or(0);
    // Floors: (policy, recall lexical only at most, recall with the stage at
    // least, false positives with the stage at most). Measured values are in
    // the note and BENCHMARKS.md; the floors sit a little below them.
    for (policy, recall_with, fp_with) in FLOORS {
        let (lexical, with) = (recall(&report["lexical_only"], policy), recall(&report, policy));
        println!("{policy}: recall {lexical:.3} -> {with:.3}, fp {}", false_positives(&report, policy));
        assert!(with >= recall_with, "{policy}: recall with the stage {with:.3} < {recall_with}");
        assert!(with > lexical, "{policy}: the stage adds no recall ({lexical:.3} -> {with:.3})");
        assert!(
            false_positives(&report, policy) <= fp_with,
            "{policy}: {} false positives",
            false_positives(&report, policy)
        );
    }
    let sweep = report["sweep"].as_array().expect("sweep points");
    assert!(sweep.len() >= 3 * 30, "{} sweep points", sweep.len());
}

/// Measured on 2026-12-02: recall 60.0 %, 61.5 %, 30.0 % with the stage
/// (13.3 %, 23.1 %, 10.0 % lexical only), no false positive added.
const FLOORS: [(&str, f64, u64); 3] =
    [("child_like_sex_doll", 0.55, 0), ("laser_pointers", 0.55, 0), ("narcotics", 0.25, 0)];
