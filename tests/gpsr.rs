//! The GPSR Art. 19 policy on the real benign corpora: it applies only to
//! offers declared as a trader's, so it stays silent on the corpora as they
//! are; declared as traders' offers with the information given it stays
//! silent too (and the added attributes trip no other policy); declared
//! without the information, every listing is held naming what is missing.

mod support;

use rempart_core::listing::{ImageRef, Seller};
use rempart_core::{Action, Condition, Gate, Listing, RuleMatch};
use serde_json::json;

const POLICY: &str = "gpsr_listing_information";

fn corpora() -> Vec<Listing> {
    let data = support::data_dir().expect("../shared/data is needed by this test");
    support::benign_listings(&data)
}

fn trader(mut listing: Listing) -> Listing {
    let mut seller = Seller::default();
    seller.extra.insert("type".into(), json!("business"));
    listing.seller = Some(seller);
    listing
}

fn complete(listing: Listing) -> Listing {
    let mut l = trader(listing);
    for (k, v) in [
        ("manufacturer", "Fabrique Exemple SAS"),
        ("manufacturer_address", "12 rue des Artisans, 69002 Lyon"),
        ("manufacturer_email", "contact@fabrique-exemple.example"),
        ("manufacturer_country", "France"),
        ("model", "FX-100"),
        ("warnings", "Tenir hors de portée des enfants."),
    ] {
        l.attributes.push((k.into(), v.into()));
    }
    l.images.push(ImageRef { url: Some("https://img.example/p.jpg".into()), ..Default::default() });
    l
}

fn gpsr_matches(gate: &Gate, listing: &Listing) -> Vec<RuleMatch> {
    gate.screen(listing).matches.into_iter().filter(|m| m.policy == POLICY).collect()
}

/// The verdict of every policy but GPSR.
fn others(gate: &Gate, listing: &Listing) -> Action {
    gate.screen(listing).matches.iter().filter(|m| m.policy != POLICY).map(|m| m.action).max().unwrap_or(Action::Allow)
}

#[test]
fn gpsr_applies_to_traders_only_and_names_what_is_missing() {
    let gate = Gate::with_default_pack().expect("pack");
    let listings = corpora();
    assert!(listings.len() > 68_000);
    let (mut silent_as_is, mut silent_complete, mut same_others, mut held, mut warnings_needed) = (0, 0, 0, 0, 0);
    for listing in &listings {
        silent_as_is += usize::from(gpsr_matches(&gate, listing).is_empty());
        let full = complete(listing.clone());
        let complete_matches = gpsr_matches(&gate, &full);
        assert!(complete_matches.is_empty(), "{}: {:?}", listing.id, complete_matches);
        silent_complete += 1;
        same_others += usize::from(others(&gate, &full) == others(&gate, listing));

        let bare = trader(listing.clone());
        let matches = gpsr_matches(&gate, &bare);
        let rules: Vec<&str> = matches.iter().map(|m| m.rule.as_str()).collect();
        assert!(rules.contains(&"manufacturer_identification_missing"), "{}", listing.id);
        assert!(rules.contains(&"product_identification_missing") || !listing.images.is_empty(), "{}", listing.id);
        for m in &matches {
            assert_eq!((m.action, m.condition), (Action::Restrict, Some(Condition::InformationRequired)));
            assert!(!m.missing.is_empty(), "{}: {} names what is missing", listing.id, m.rule);
            assert_eq!(m.evidence[0].field, "seller.type");
        }
        held += usize::from(!matches.is_empty());
        warnings_needed += usize::from(rules.contains(&"safety_warnings_missing"));
    }
    println!(
        "{} listings: GPSR silent as they are {silent_as_is}, silent when complete {silent_complete}, \
         held when declared by a trader without the information {held} ({warnings_needed} also need warnings); \
         other policies' verdicts unchanged by the added information: {same_others}",
        listings.len()
    );
    assert_eq!(silent_as_is, listings.len());
    assert_eq!(held, listings.len());
    assert_eq!(same_others, listings.len());
    // Toys, cosmetics, chargers… are in the corpora: some need warnings, most do not.
    assert!(warnings_needed > 500 && warnings_needed * 2 < listings.len(), "{warnings_needed}");
}
