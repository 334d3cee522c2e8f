//! A decision canonicalised directly (`CanonicalDecision::of`, the record
//! path) has the same bytes as the checked path through a `serde_json::Value`
//! (`rempart_audit::canonical_json`), on the decisions of every example
//! listing: matches, evidence in several scripts, quantities, info.

use std::path::PathBuf;

use rempart_core::{Gate, Listing};
use rempart_store::records::CanonicalDecision;

#[test]
fn direct_canonical_decisions_equal_the_checked_path_on_every_example() {
    let gate = Gate::with_default_pack().expect("the default pack compiles");
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut decisions = 0;
    let mut with_matches = 0;
    for name in ["listings.jsonl", "labelled.jsonl", "probe_multilingual.jsonl", "sellers_words.jsonl"] {
        let path = examples.join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let listing = Listing::from_json(line.as_bytes()).unwrap_or_else(|e| panic!("{name} line {}: {e}", n + 1));
            let decision = gate.screen(&listing);
            let checked = rempart_audit::canonical_json(&serde_json::to_value(&decision).expect("a decision is JSON"))
                .expect("a decision canonicalises");
            let direct = CanonicalDecision::of(&decision).expect("a decision canonicalises directly");
            assert_eq!(
                String::from_utf8_lossy(direct.as_bytes()),
                String::from_utf8_lossy(&checked),
                "{name} line {}",
                n + 1
            );
            decisions += 1;
            with_matches += usize::from(!decision.matches.is_empty());
        }
    }
    assert!(decisions >= 300 && with_matches >= 100, "{decisions} decisions, {with_matches} with matches");
}
