//! Issue 14's oracle: the screening path `rempart screen` runs (fields
//! folded without the per-byte offset map, which is built only for fields
//! with a hit; regular expressions only where they can match) must
//! decide exactly as the reference path it replaces (every field folded
//! into a canonical string with a per-byte offset map, then matched):
//! the same decision, byte for byte once serialised, on the real corpora
//! of the benchmark and on every example and evaluation set.
//!
//! The corpus is `../shared/data`, the one `bench/corpus.py bench` cycles:
//! without it this test fails rather than pass on nothing.

mod support;

use rempart_core::{ExternalSignals, Gate, Listing};
use support::{benign_listings, data_dir};

/// Every listing of the example and labelled sets (policy-relevant text,
/// evasions in seven languages, what sellers write).
fn example_listings() -> Vec<Listing> {
    let mut listings = Vec::new();
    for file in [
        "examples/listings.jsonl",
        "examples/labelled.jsonl",
        "examples/probe_multilingual.jsonl",
        "examples/sellers_words.jsonl",
    ] {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let before = listings.len();
        listings.extend(text.lines().filter_map(|line| Listing::from_json(line.as_bytes()).ok()));
        assert!(listings.len() > before, "{file}: no valid listing read");
    }
    listings
}

/// Screens `listings` both ways; returns how many differ, printing each.
fn differences(gate: &Gate, listings: &[Listing]) -> usize {
    let none = ExternalSignals::default();
    let mut differ = 0;
    for listing in listings {
        let fast = serde_json::to_string(&gate.screen_with(listing, &none)).expect("decision serialises");
        let reference = serde_json::to_string(&gate.screen_reference(listing, &none)).expect("decision serialises");
        if fast != reference {
            differ += 1;
            if differ <= 10 {
                println!("listing {:?} {:?}:\n  fast      {fast}\n  reference {reference}", listing.id, listing.title);
            }
        }
    }
    differ
}

#[test]
fn fast_path_decides_like_the_reference_on_the_examples() {
    let gate = Gate::with_default_pack().expect("default pack");
    let listings = example_listings();
    assert!(listings.len() > 300, "{} example listings", listings.len());
    assert_eq!(differences(&gate, &listings), 0, "decisions differ on the examples (see stdout)");
}

#[test]
fn fast_path_decides_like_the_reference_on_the_benchmark_corpora() {
    let data = data_dir().expect("../shared/data (the benchmark corpora) must be beside the repository");
    let gate = Gate::with_default_pack().expect("default pack");
    let listings = benign_listings(&data);
    assert!(listings.len() > 68_000, "all rows read ({})", listings.len());
    assert_eq!(differences(&gate, &listings), 0, "decisions differ on the corpora (see stdout)");
}
