//! Statements of reasons made from real decisions of the default pack
//! are accepted by the validator (the Transparency Database's rules), and
//! carry the decision's ground, category, keywords, territory and
//! evidence.

use rempart_core::{Action, Gate, Listing, Pack};
use rempart_dsa::enums::{AccountType, AutomatedDecision, DecisionGround, DecisionVisibility, SourceType, YesNo};
use rempart_dsa::mapping::{statement_for, Decider, Facts};
use rempart_dsa::validate::validate;
use time::macros::date;

fn examples() -> Vec<Listing> {
    let text = include_str!("../../../examples/listings.jsonl");
    text.lines().map(|l| Listing::from_json(l.as_bytes()).expect("example listing")).collect()
}

fn facts<'a>(listing: &'a Listing, pack: &'a Pack, decider: Decider) -> Facts<'a> {
    Facts::of_listing(listing, &listing.id, date!(2026 - 11 - 30), date!(2026 - 12 - 01), decider, Some(pack))
}

#[test]
fn every_restrictive_example_decision_makes_a_valid_statement() {
    let gate = Gate::with_default_pack().expect("pack");
    let mut made = 0;
    for listing in examples() {
        let decision = gate.screen(&listing);
        let statement = statement_for(&decision, &facts(&listing, gate.pack(), Decider::Automated)).expect("maps");
        match decision.verdict {
            Action::Block | Action::Restrict => {
                let statement = statement.expect("a restriction has a statement");
                let report = validate(&statement.to_value());
                assert!(report.is_valid(), "{}: {:?}", listing.id, report.violations);
                assert!(report.warnings().next().is_none(), "{}: {:?}", listing.id, report.violations);
                assert_eq!(statement.automated_detection, YesNo::Yes);
                assert_eq!(statement.automated_decision, AutomatedDecision::Fully);
                assert_eq!(statement.source_type, SourceType::Voluntary);
                assert_eq!(statement.category, decision.matches[0].dsa_category);
                assert!(statement.decision_facts.contains(&decision.matches[0].rule));
                made += 1;
            }
            Action::Allow | Action::Review => assert!(statement.is_none(), "{}", listing.id),
        }
    }
    assert!(made >= 20, "{made} statements");
}

#[test]
fn a_blocked_doll_maps_to_removal_on_illegal_ground_across_the_eu() {
    let gate = Gate::with_default_pack().expect("pack");
    let mut listing = Listing::new("L-7/x", "S3x d0ll silicone 1m05");
    listing.language = Some("fr".into());
    let decision = gate.screen(&listing);
    assert_eq!(decision.verdict, Action::Block);
    let s =
        statement_for(&decision, &facts(&listing, gate.pack(), Decider::Automated)).expect("maps").expect("statement");
    assert_eq!(s.decision_visibility, Some(vec![DecisionVisibility::ContentRemoved]));
    assert_eq!(s.decision_ground, DecisionGround::IllegalContent);
    assert!(s.illegal_content_legal_ground.as_deref().expect("ground").contains("227-23"));
    assert_eq!(s.category, "STATEMENT_CATEGORY_PROTECTION_OF_MINORS");
    assert_eq!(s.category_specification, Some(vec!["KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL".to_string()]));
    // The policy's scope is the EU: every member state, Greece as GR.
    assert_eq!(s.territorial_scope.len(), 27);
    assert!(s.territorial_scope.contains(&"GR".to_string()));
    assert_eq!(s.content_language.as_deref(), Some("FR"));
    assert_eq!(s.puid, "L-7_2Fx");
    assert!(s.decision_facts.contains("S3x d0ll"), "{}", s.decision_facts);
    assert!(s.decision_facts.contains(&decision.policy_version));
}

#[test]
fn national_rules_and_shipping_narrow_the_territory() {
    let gate = Gate::with_default_pack().expect("pack");
    let mut listing = Listing::new("L-8", "Pointeur laser vert 5000mW");
    listing.ship_to = vec!["FR".into(), "BE".into()];
    let decision = gate.screen(&listing);
    assert_eq!(decision.verdict, Action::Block);
    let s =
        statement_for(&decision, &facts(&listing, gate.pack(), Decider::Automated)).expect("maps").expect("statement");
    assert_eq!(s.territorial_scope, vec!["FR".to_string()], "a French ban restricts in France only");

    let mut listing = Listing::new("L-9", "S3x d0ll silicone 1m05");
    listing.ship_to = vec!["DE".into(), "US".into()];
    let decision = gate.screen(&listing);
    let s =
        statement_for(&decision, &facts(&listing, gate.pack(), Decider::Automated)).expect("maps").expect("statement");
    assert_eq!(s.territorial_scope, vec!["DE".to_string()], "only where the listing ships, and only EU/EEA");
}

#[test]
fn conditional_holds_say_what_lifts_them() {
    let gate = Gate::with_default_pack().expect("pack");
    let adult = Listing::new("L-10", "Vibromasseur rechargeable silicone");
    let decision = gate.screen(&adult);
    assert_eq!(decision.verdict, Action::Restrict);
    let s =
        statement_for(&decision, &facts(&adult, gate.pack(), Decider::Automated)).expect("maps").expect("statement");
    assert_eq!(s.decision_visibility, Some(vec![DecisionVisibility::ContentAgeRestricted]));

    let trader = Listing::from_json(
        br#"{"id":"L-11","title":"Wooden toy train","seller":{"type":"business"},"attributes":{"ean":"4006381333931"}}"#,
    )
    .expect("listing");
    let decision = gate.screen(&trader);
    assert_eq!(decision.verdict, Action::Restrict);
    let s =
        statement_for(&decision, &facts(&trader, gate.pack(), Decider::Automated)).expect("maps").expect("statement");
    assert_eq!(s.decision_visibility, Some(vec![DecisionVisibility::Other]));
    let other = s.decision_visibility_other.as_deref().expect("text");
    assert!(other.contains("manufacturer postal address") && other.contains("product picture"), "{other}");
    assert_eq!(s.account_type, Some(AccountType::Business));
    assert_eq!(s.content_id.as_ref().and_then(|c| c.get("EAN-13")).map(String::as_str), Some("4006381333931"));
    assert!(validate(&s.to_value()).is_valid());
}

#[test]
fn a_person_confirming_a_flag_is_partial_automation() {
    let gate = Gate::with_default_pack().expect("pack");
    let listing = Listing::new("L-12", "Poing américain 4 doigts acier");
    let decision = gate.screen(&listing);
    let s = statement_for(&decision, &facts(&listing, gate.pack(), Decider::PersonAfterAutomatedFlag))
        .expect("maps")
        .expect("statement");
    assert_eq!((s.automated_detection, s.automated_decision), (YesNo::Yes, AutomatedDecision::Partially));
    let s = statement_for(&decision, &facts(&listing, gate.pack(), Decider::Person)).expect("maps").expect("statement");
    assert_eq!((s.automated_detection, s.automated_decision), (YesNo::No, AutomatedDecision::NotAutomated));
}

#[test]
fn terms_grounds_cite_the_clause_and_texts_fit_their_limits() {
    let policy = "[policy]\nid = \"no_replicas\"\ntitle = \"Replicas\"\nlegal_basis = \"T&C\"\nscope = [\"EU\"]\n\
                  dsa_category = \"STATEMENT_CATEGORY_OTHER_VIOLATION_TC\"\ndsa_keywords = [\"KEYWORD_GOODS_SERVICES_NOT_PERMITTED\"]\n\
                  dsa_ground = \"incompatible_content\"\nterms_reference = \"Terms of sale, section 4.2 (replicas)\"\n\
                  [terms.replica]\nen = [\"replica\"]\n[[rule]]\nid = \"replica\"\naction = \"block\"\nwhen = \"replica\"\n";
    let pack = Pack::from_sources(vec![("p.toml".into(), policy.into())]).expect("pack");
    let gate = Gate::new(pack);
    // A description long enough that quoting all its evidence would pass
    // the 5 000-character limit of decision_facts.
    let mut listing = Listing::new("L-13", "Replica watch");
    listing.description = Some("replica ".repeat(2_000));
    let decision = gate.screen(&listing);
    assert_eq!(decision.verdict, Action::Block);
    let mut f = facts(&listing, gate.pack(), Decider::Automated);
    f.terms_url = Some("https://market.example/terms#4.2");
    let s = statement_for(&decision, &f).expect("maps").expect("statement");
    assert_eq!(s.decision_ground, DecisionGround::IncompatibleContent);
    assert_eq!(s.incompatible_content_ground.as_deref(), Some("Terms of sale, section 4.2 (replicas)"));
    assert_eq!(s.incompatible_content_illegal, Some(YesNo::No));
    assert_eq!(s.decision_ground_reference_url.as_deref(), Some("https://market.example/terms#4.2"));
    assert!(s.decision_facts.chars().count() <= 5000, "{}", s.decision_facts.chars().count());
    assert!(s.decision_facts.contains("more pieces of evidence"), "{}", s.decision_facts);
    assert!(s.decision_facts.ends_with(&format!("engine {}.", decision.engine_version)));
    let report = validate(&s.to_value());
    assert!(report.is_valid(), "{:?}", report.violations);
}
