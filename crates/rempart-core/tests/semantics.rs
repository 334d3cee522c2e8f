//! Rule semantics that fail safe (issue 11): local exceptions, review when an
//! unsure exception cancels a block, false friends bound to their language,
//! attribute evidence in the seller's own value, and pack errors that say
//! where they are.

use rempart_core::{Action, DowngradeReason, Gate, Listing, Pack};

const HEAD: &str = "[policy]\nid = \"p\"\ntitle = \"t\"\nlegal_basis = \"b\"\nscope = [\"EU\"]\n\
                    dsa_category = \"STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS\"\n";

/// A one-policy pack, with the default pack's unit words (a pack without
/// them reads no quantity).
fn gate(body: &str) -> Gate {
    let units = include_str!("../../../policies/common/quantities.toml");
    let files = vec![("p.toml".into(), format!("{HEAD}{body}")), ("quantities.toml".into(), units.to_string())];
    Gate::new(Pack::from_sources(files).expect("pack compiles"))
}

fn verdict(gate: &Gate, title: &str) -> Action {
    gate.screen(&Listing::new("l", title)).verdict
}

const PASSPORTS: &str = r#"
[terms.doc]
en = ["passport"]
[terms.fake]
en = ["fake"]
[terms.holder]
en = ["holder", "wallet"]
certain = true
[terms.photo]
en = ["photo", "box"]
[[rule]]
id = "forged"
action = "block"
when = "near(fake, without(doc, holder, 1), 3)"
"#;

#[test]
fn an_exception_cancels_only_the_match_it_sits_next_to() {
    let g = gate(PASSPORTS);
    assert_eq!(verdict(&g, "fake passport"), Action::Block);
    // A certain exception right next to the document word: an accessory.
    assert_eq!(verdict(&g, "fake passport holder"), Action::Allow);
    // The same word far away cancels nothing.
    assert_eq!(verdict(&g, "fake passport, express shipping from our warehouse, free holder"), Action::Block);
}

#[test]
fn an_unsure_exception_that_cancels_a_block_sends_the_listing_to_review() {
    let g = gate(&PASSPORTS.replace("holder, 1", "photo, 2"));
    let d = g.screen(&Listing::new("l", "fake passport photo"));
    assert_eq!(d.verdict, Action::Review);
    let m = &d.matches[0];
    assert_eq!(m.downgraded.map(|x| (x.from, x.reason)), Some((Action::Block, DowngradeReason::UncertainException)));
    // The reviewer sees the exception that cancelled the block.
    assert!(m.evidence.iter().any(|e| e.text == "photo" && e.detail.as_deref() == Some("exception")), "{m:?}");
}

#[test]
fn one_word_anywhere_never_switches_a_block_off_for_certain() {
    let body = r#"
[terms.rx]
en = ["oxycodone"]
[terms.packaging]
en = ["box"]
certain = true
[[rule]]
id = "rx"
action = "block"
when = "rx & !packaging"
"#;
    let g = gate(body);
    assert_eq!(verdict(&g, "oxycodone 30 tablets"), Action::Block);
    // Even a `certain` set, negated over the whole listing, only downgrades.
    assert_eq!(verdict(&g, "oxycodone box of 30"), Action::Review);
    // Restricted to a field, a certain exception is honoured.
    let g = gate(&body.replace("!packaging", "!packaging@title"));
    assert_eq!(verdict(&g, "oxycodone box of 30"), Action::Allow);
}

#[test]
fn a_review_is_not_raised_by_the_fall_back() {
    let body = r#"
[terms.rx]
en = ["oxycodone"]
[terms.book]
en = ["book"]
[[rule]]
id = "named"
action = "review"
when = "rx & !book"
"#;
    assert_eq!(verdict(&gate(body), "oxycodone book"), Action::Allow);
}

const DOLLS: &str = r#"
[terms.doll]
nl = ["pop"]
en = ["doll"]
false_friends = ["pop"]
[terms.sexual]
en = ["erotic"]
nl = ["erotische"]
[[rule]]
id = "small"
action = "block"
when = "near(doll, sexual, 3) & max(height) < 140 cm"
"#;

#[test]
fn near_counts_the_words_between_two_hits_whatever_their_length() {
    let g = gate(
        "[terms.doc]\nfr = [\"carte d'identité\"]\nen = [\"passport\"]\n[terms.scan]\nen = [\"scan\"]\n\
         [[rule]]\nid = \"template\"\naction = \"block\"\nwhen = \"near(doc, scan, 2)\"\n",
    );
    // One word between: a three-word name reaches as far as a one-word one.
    assert_eq!(verdict(&g, "Passport française scan"), Action::Block);
    assert_eq!(verdict(&g, "Carte d'identité française scan"), Action::Block);
    assert_eq!(verdict(&g, "scan Carte d'identité"), Action::Block);
    // Three words between: too far, on either side.
    assert_eq!(verdict(&g, "Carte d'identité pour voyage sans scan"), Action::Allow);
    assert_eq!(verdict(&g, "scan de votre ancienne carte d'identité"), Action::Allow);
}

#[test]
fn a_false_friend_counts_only_in_its_language() {
    let g = gate(DOLLS);
    // Declared Dutch: `pop` is a doll.
    let mut dutch = Listing::new("l", "Erotische pop 90 cm");
    dutch.language = Some("nl".into());
    assert_eq!(g.screen(&dutch).verdict, Action::Block);
    // Confidently English: `pop` is music, and the rule does not fire.
    let english = "Vintage erotic pop art poster of a woman, printed on heavy matte paper, ready to frame, 90 cm";
    assert_eq!(verdict(&g, english), Action::Allow);
    // Too short to tell: never a block on a false friend, only a review.
    let d = g.screen(&Listing::new("l", "Erotic pop 90 cm"));
    assert_eq!(d.verdict, Action::Review);
    assert_eq!(d.matches[0].downgraded.map(|x| x.reason), Some(DowngradeReason::UncertainLanguage));
    // The plain term is not language-bound.
    assert_eq!(verdict(&g, "Erotic doll 90 cm"), Action::Block);
}

#[test]
fn attribute_evidence_points_into_the_sellers_value() {
    let g = gate(
        "[terms.doll]\nen = [\"doll\"]\n[[rule]]\nid = \"small\"\naction = \"block\"\nwhen = \"doll & max(height) < 140 cm\"\n",
    );
    let mut listing = Listing::new("l", "Doll");
    listing.attributes.push(("height_cm".into(), " 100".into()));
    let d = g.screen(&listing);
    assert_eq!(d.verdict, Action::Block);
    let e = d.matches[0].evidence.iter().find(|e| e.field == "attributes.height_cm").expect("attribute evidence");
    assert_eq!((e.start, e.end, e.text.as_str()), (1, 4, "100"));
    assert_eq!(e.signal, "height=100cm");
}

#[test]
fn a_union_define_reads_in_one_field() {
    let body = r#"
[terms.a]
en = ["alpha"]
[terms.b]
en = ["beta"]
[define]
either = "a | b"
[[rule]]
id = "r"
action = "block"
when = "either@title"
"#;
    let g = gate(body);
    assert_eq!(verdict(&g, "beta"), Action::Block);
    let mut in_description = Listing::new("l", "gamma");
    in_description.description = Some("alpha".into());
    assert_eq!(g.screen(&in_description).verdict, Action::Allow);
}

#[test]
fn pack_errors_say_where_and_what() {
    let typo = format!("{HEAD}[terms.a]\nen = [\"alpha\"]\nexeptions = [\"x\"]\n[[rule]]\nid = \"r\"\naction = \"block\"\nwhen = \"a\"\n");
    let e = Pack::from_sources(vec![("p.toml".into(), typo)]).expect_err("unknown key").to_string();
    assert!(e.contains("unknown key `exeptions`"), "{e}");
    let broken = format!("{HEAD}[terms.a]\nen = [\"alpha\"\n");
    let e = Pack::from_sources(vec![("p.toml".into(), broken)]).expect_err("bad TOML").to_string();
    assert!(e.contains("line 9, column 1"), "{e}");
    let friend = format!("{HEAD}[terms.a]\nen = [\"alpha\"]\nfalse_friends = [\"beta\"]\n[[rule]]\nid = \"r\"\naction = \"block\"\nwhen = \"a\"\n");
    let e = Pack::from_sources(vec![("p.toml".into(), friend)]).expect_err("friend").to_string();
    assert!(e.contains("false friend \"beta\" is not one of the set's terms"), "{e}");
}
