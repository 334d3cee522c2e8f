//! Signals from banks and the removed-listings index, without the CLI.

use rempart_core::{Action, Gate, Listing, Pack};
use rempart_hash::Hash256;
use rempart_signals::{removed, Removal, Signals, SignalsConfig};

const BRIDGE: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";

fn flipped(bits: usize) -> String {
    let mut h: Hash256 = BRIDGE.parse().expect("hex");
    for i in 0..bits {
        h.0[i % 4] ^= 1 << (i * 5 % 64);
    }
    h.to_string()
}

fn listing(json: &str) -> Listing {
    Listing::from_json(json.as_bytes()).expect("valid listing")
}

fn setup(config: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, Signals, Gate) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let path = dir.path().join("signals.toml");
    std::fs::write(&path, config).expect("config");
    let pack = Pack::embedded().expect("pack");
    let config = SignalsConfig::load(&path).expect("config parses");
    let (signals, _) = Signals::load(&config, &pack, false).expect("signals load");
    (dir, signals, Gate::new(pack))
}

const BANK_CONFIG: &str = "[[bank]]\nname = \"b\"\nfile = \"bank.txt\"\nsignal = \"image_known_prohibited_product\"\n";

#[test]
fn a_precomputed_hash_within_the_threshold_fires_the_bank_signal() {
    let (_dir, signals, gate) = setup(BANK_CONFIG, &[("bank.txt", &format!("{BRIDGE},seized lot 4\n"))]);
    let near = listing(&format!(r#"{{"id":"1","title":"Lamp","images":[{{"pdq":"{}"}}]}}"#, flipped(31)));
    let decision = gate.screen_with(&near, &signals.compute(&near).external);
    assert_eq!(decision.verdict, Action::Review);
    let evidence = &decision.matches[0].evidence[0];
    assert_eq!(evidence.field, "images[0].pdq");
    assert!(evidence.detail.as_deref().is_some_and(|d| d.contains("31 bits") && d.contains("seized lot 4")));

    let far = listing(&format!(r#"{{"id":"2","title":"Lamp","images":[{{"pdq":"{}"}}]}}"#, flipped(32)));
    assert_eq!(gate.screen_with(&far, &signals.compute(&far).external).verdict, Action::Allow);
}

#[test]
fn low_quality_listing_hashes_never_match() {
    let (_dir, signals, gate) = setup(BANK_CONFIG, &[("bank.txt", BRIDGE)]);
    let low = listing(&format!(r#"{{"id":"1","title":"Lamp","images":[{{"pdq":"{BRIDGE}","pdq_quality":30}}]}}"#));
    assert_eq!(gate.screen_with(&low, &signals.compute(&low).external).verdict, Action::Allow);
}

#[test]
fn removed_listing_images_catch_a_relisting_under_a_new_title() {
    let old = listing(&format!(
        r#"{{"id":"OLD","title":"Taser 50000 kV","seller":{{"id":"S1"}},"images":[{{"pdq":"{BRIDGE}"}}]}}"#
    ));
    let line = serde_json::to_string(&Removal::of(&old, "reviewer:ana", vec![BRIDGE.parse().expect("hex")]))
        .expect("serialises");
    let config = "[removed]\nfile = \"removed.jsonl\"\n";
    let (_dir, signals, gate) = setup(config, &[("removed.jsonl", &(line + "\nnot json\n"))]);
    let new = listing(&format!(
        r#"{{"id":"NEW","title":"Flashlight self defence","seller":{{"id":"S9"}},"images":[{{"pdq":"{}"}}]}}"#,
        flipped(6)
    ));
    let decision = gate.screen_with(&new, &signals.compute(&new).external);
    let m = decision.matches.iter().find(|m| m.policy == "relisting").expect("relisting");
    let detail = m.evidence[0].detail.as_deref().unwrap_or("");
    assert!(detail.contains("removed listing OLD") && detail.contains("reviewer:ana") && detail.contains("seller S1"));
    // A near-uniform image (quality < 50) is not evidence of anything.
    let flat = listing(&format!(
        r#"{{"id":"FLAT","title":"Stylo bille bleu","images":[{{"pdq":"{}","pdq_quality":20}}]}}"#,
        flipped(6)
    ));
    assert!(gate.screen_with(&flat, &signals.compute(&flat).external).matches.iter().all(|m| m.policy != "relisting"));
    // The removed listing itself, screened again, is not its own relisting.
    let again = gate.screen_with(&old, &signals.compute(&old).external);
    assert!(again.matches.iter().all(|m| m.policy != "relisting"));
}

#[test]
fn appended_removals_are_read_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("removed.jsonl");
    let a = listing(r#"{"id":"A","title":"Replica watch 1:1 automatic steel"}"#);
    removed::append(&path, &[Removal::of(&a, "rule x", Vec::new())]).expect("append");
    removed::append(&path, &[Removal::of(&a, "rule y", Vec::new())]).expect("append again");
    let (index, bad) = rempart_signals::RemovedListings::load(&path).expect("load");
    assert_eq!((index.len(), bad.len()), (2, 0));
}

#[test]
fn undeclared_signals_and_missing_banks_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pack = Pack::embedded().expect("pack");
    let path = dir.path().join("s.toml");
    std::fs::write(&path, "[[bank]]\nname = \"b\"\nfile = \"nope.txt\"\nsignal = \"image_known_prohibited_product\"\n")
        .expect("write");
    let config = SignalsConfig::load(&path).expect("parses");
    let err = Signals::load(&config, &pack, false).err().expect("missing bank file");
    assert!(err.to_string().contains("nope.txt"), "{err}");
    std::fs::write(&path, "[[bank]]\nname = \"b\"\nfile = \"x\"\nsignal = \"made_up\"\n").expect("write");
    let config = SignalsConfig::load(&path).expect("parses");
    let err = Signals::load(&config, &pack, false).err().expect("undeclared");
    assert!(err.to_string().contains("made_up"), "{err}");
    std::fs::write(&path, "[[bank]]\nname = 3\n").expect("write");
    assert!(SignalsConfig::load(&path).is_err());
}

/// Real titles of one product line (walmart_amazon): another seller's
/// listing of a different capacity is not a relisting, the same product
/// relisted by a new account is, and the evidence says which attributes
/// agreed and which contradicted.
#[test]
fn a_variant_that_states_another_capacity_is_not_a_relisting() {
    let old = listing(
        r#"{"id":"OLD","title":"edge 320gb diskgo 2.5in. backup ultra portable usb 2.0 hard drive","seller":{"id":"S1"},"attributes":{"brand":"edge"}}"#,
    );
    let line = serde_json::to_string(&Removal::of(&old, "notice N-8", Vec::new())).expect("serialises");
    assert!(line.contains("\"attributes\":[") && line.contains("320gb"), "{line}");
    let (_dir, signals, gate) = setup("[removed]\nfile = \"removed.jsonl\"\n", &[("removed.jsonl", &line)]);
    let evidence = |title: &str, seller: &str| {
        let json =
            format!(r#"{{"id":"NEW","title":"{title}","seller":{{"id":"{seller}"}},"attributes":{{"brand":"edge"}}}}"#);
        let new = listing(&json);
        let decision = gate.screen_with(&new, &signals.compute(&new).external);
        let detail = decision
            .matches
            .iter()
            .filter(|m| m.policy == "relisting")
            .flat_map(|m| m.evidence.iter())
            .find_map(|e| e.detail.clone());
        detail
    };
    let variant = "edge 160gb diskgo 2.5in. backup ultra portable usb 2.0 hard drive";
    assert_eq!(evidence(variant, "S2"), None, "another seller's 160 GB drive is another product");
    let same_seller = evidence(variant, "S1").expect("the same seller is matched on similarity alone");
    assert!(same_seller.contains("contradict: data size 160gb vs 320gb"), "{same_seller}");
    let relisted = evidence("NEW edge diskgo 320gb 2.5in. backup ultra portable usb 2.0 hard drvie", "S3")
        .expect("a relisting by another account is found");
    assert!(relisted.contains("attributes agree: ") && relisted.contains("320gb (data size)"), "{relisted}");
    assert!(!relisted.contains("contradict"), "{relisted}");
}

/// Variants of one product line are common: another seller needs a closer
/// title (score 0.60 by default) than the seller whose listing was removed
/// (similarity 0.55).
#[test]
fn another_seller_needs_a_closer_title_than_the_same_seller() {
    let old = listing(
        r#"{"id":"OLD","title":"Pistolet a impulsion electrique 50000 kV rechargeable noir","seller":{"id":"S1"}}"#,
    );
    let line = serde_json::to_string(&Removal::of(&old, "notice N-7", Vec::new())).expect("serialises");
    let (_dir, signals, gate) = setup("[removed]\nfile = \"removed.jsonl\"\n", &[("removed.jsonl", &line)]);
    let relisted = |seller: &str| {
        let json = format!(
            r#"{{"id":"NEW","title":"Pistolet electrique impulsion rechargeable 50000kV lampe torche LED","seller":{{"id":"{seller}"}}}}"#
        );
        let new = listing(&json);
        gate.screen_with(&new, &signals.compute(&new).external).matches.iter().any(|m| m.policy == "relisting")
    };
    assert!(relisted("S1"), "same seller, similarity ~0.56");
    assert!(!relisted("S2"), "another seller, below 0.60");
}
