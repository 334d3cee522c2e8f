//! Relisting detection end to end: removed listings in, lightly edited
//! relists found, unrelated listings left alone, and the Amazon-Google
//! benchmark held above measured floors.

#[path = "../examples/support/amazon_google.rs"]
mod amazon_google;
#[path = "../examples/support/walmart_relist.rs"]
#[allow(dead_code)]
mod walmart_relist;

use rempart_relist::{ListingText, Near, RemovedEntry, RemovedIndex, TextFingerprint, DEFAULT_MIN_SIMILARITY};

/// Removed listings, with realistic neighbours so that a match must pick
/// the right one, not merely something of the same kind.
const REMOVED: &[(&str, &str, Option<&str>)] = &[
    ("rm-1", "Vintage brown leather bomber jacket, men's size L", None),
    ("rm-2", "Rolex Submariner Date 41mm black dial automatic watch", Some("Rolex")),
    ("rm-3", "Nike Air Max 90 running shoes white red size 42", Some("Nike")),
    ("rm-4", "Samsung Galaxy S21 Ultra 256GB phantom black unlocked", Some("Samsung")),
    ("rm-5", "Handmade ceramic coffee mug with bird pattern 350 ml", None),
    ("rm-6", "Apple AirPods Pro 2nd generation with MagSafe charging case", Some("Apple")),
    ("rm-7", "Lego Star Wars Millennium Falcon 75257 building set", Some("Lego")),
];

fn removed_index() -> RemovedIndex {
    let mut index = RemovedIndex::new();
    for (id, title, brand) in REMOVED {
        let fingerprint = TextFingerprint::new(&ListingText { title, description: None, other: *brand });
        index
            .insert(RemovedEntry {
                listing_id: (*id).to_string(),
                decided_by: "rule:counterfeit".to_string(),
                seller_id: Some("seller-42".to_string()),
                fingerprint,
                attributes: rempart_relist::Attributes::of_listing(&ListingText {
                    title,
                    description: None,
                    other: *brand,
                }),
            })
            .expect("insert");
    }
    index
}

fn query(index: &RemovedIndex, title: &str, brand: Option<&str>) -> Vec<Near> {
    let text = ListingText { title, description: Some("Ships fast. Great condition."), other: brand };
    index.query(&TextFingerprint::new(&text), DEFAULT_MIN_SIMILARITY)
}

#[track_caller]
fn assert_found(index: &RemovedIndex, title: &str, brand: Option<&str>, expected: &str) {
    let found = query(index, title, brand);
    let best = found.first().unwrap_or_else(|| panic!("{title:?} matched nothing"));
    assert_eq!(best.listing_id, expected, "{title:?} matched {found:?}");
    assert_eq!(best.decided_by, "rule:counterfeit");
    assert_eq!(best.seller_id.as_deref(), Some("seller-42"));
}

#[test]
fn relist_with_word_order_swapped_is_found() {
    let index = removed_index();
    assert_found(&index, "Vintage leather brown bomber jacket, size L men's", None, "rm-1");
    assert_found(&index, "Submariner Rolex Date black dial 41mm watch automatic", Some("Rolex"), "rm-2");
}

#[test]
fn relist_with_emoji_and_zero_width_characters_is_found() {
    let index = removed_index();
    assert_found(&index, "🔥 Vintage brown le\u{200B}ather bomber jacket, men's size L 🔥", None, "rm-1");
    assert_found(
        &index,
        "R\u{200D}olex Sub\u{00AD}mariner Date 41mm ⌚ black dial automatic watch",
        Some("Rolex"),
        "rm-2",
    );
}

#[test]
fn relist_with_homoglyphs_is_found() {
    let index = removed_index();
    // Cyrillic о, а, е, р and Greek Ο in place of their Latin twins.
    assert_found(
        &index,
        "R\u{043E}lex Submariner D\u{0430}te 41mm bl\u{0430}ck di\u{0430}l automatic watch",
        Some("Rolex"),
        "rm-2",
    );
    assert_found(
        &index,
        "Lego Star Wars Mill\u{0435}nnium F\u{0430}lc\u{03BF}n 75257 building s\u{0435}t",
        Some("Lego"),
        "rm-7",
    );
    assert_found(&index, "Samsung Galaxy S21 Ultra 256GB \u{0440}hantom black unlocked", Some("Samsung"), "rm-4");
}

#[test]
fn relist_with_changed_casing_and_punctuation_is_found() {
    let index = removed_index();
    assert_found(&index, "NIKE AIR-MAX 90 -- Running Shoes (White/Red), Size 42!!!", Some("NIKE"), "rm-3");
    assert_found(&index, "handmade ceramic coffee-mug, with bird pattern; 350ml", None, "rm-5");
}

#[test]
fn relist_with_an_extra_word_is_found() {
    let index = removed_index();
    assert_found(&index, "Apple AirPods Pro 2nd generation with MagSafe charging case NEW", Some("Apple"), "rm-6");
    assert_found(&index, "Authentic vintage brown leather bomber jacket, men's size L", None, "rm-1");
}

#[test]
fn relist_with_several_edits_at_once_is_found() {
    let index = removed_index();
    // Swap, extra word, split word, homoglyph and emoji together.
    assert_found(&index, "✨ New Air Max 90 Ni-ke running sh\u{043E}es red white size 42", Some("Nike"), "rm-3");
}

#[test]
fn unrelated_listings_are_not_flagged() {
    let index = removed_index();
    for (title, brand) in [
        ("Wooden toy train set with 40 pieces", None),
        ("Organic green tea 100 bags", Some("Twinings")),
        ("Stainless steel kitchen knife set 5 pieces", None),
        ("Women's floral summer dress size M", None),
        // Same brands or kinds as removed listings, different products.
        ("Apple MacBook Air 13 inch M2 8GB 256GB silver", Some("Apple")),
        ("Nike Dri-FIT training t-shirt black size M", Some("Nike")),
        ("Samsung 55 inch QLED 4K smart TV", Some("Samsung")),
        ("Casio G-Shock digital watch black resin", Some("Casio")),
        ("Lego City police station 60316", Some("Lego")),
    ] {
        let found = query(&index, title, brand);
        assert!(found.is_empty(), "{title:?} flagged as {found:?}");
        // Not merely below the threshold: far below it (measured ≤ 0.15),
        // checked against every entry without the banding in between.
        let fingerprint = TextFingerprint::new(&ListingText { title, description: None, other: brand });
        let closest = index.entries().iter().map(|e| e.fingerprint.similarity(&fingerprint)).fold(0.0, f64::max);
        assert!(closest < 0.3, "{title:?} scores {closest:.3}");
    }
}

#[test]
fn fingerprints_are_deterministic_and_pinned() {
    let text = ListingText { title: "Vintage brown leather bomber jacket", description: None, other: Some("Acme") };
    let first = TextFingerprint::new(&text);
    let second = TextFingerprint::new(&ListingText { ..text });
    assert_eq!(first, second);
    // Pinned so that a change of hash, shingles or normalisation that
    // would strand stored fingerprints cannot pass unnoticed: such a
    // change must bump FINGERPRINT_SCHEME and update this value.
    let json = serde_json::to_string(&first).expect("serialise");
    assert!(json.starts_with(PINNED_PREFIX), "fingerprint changed: {json}");
}

const PINNED_PREFIX: &str =
    r#"{"scheme":1,"exact":5438136287188533688,"signature":[1233802814,1334356636,1756911357,1607661126,"#;

#[test]
fn index_answers_from_several_threads() {
    let index = removed_index();
    let hits: Vec<usize> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| query(&index, "Vintage brown leather bomber jacket men's size L", None).len()))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).collect()
    });
    assert_eq!(hits, [1, 1, 1, 1]);
}

/// Amazon-Google as relisting: at the default threshold, precision and
/// recall stay above floors set a few points under the values measured
/// with `cargo run --release -p rempart-relist --example relist_eval`
/// (all matches: P 0.434, R 0.540; top-1: P 0.671, R 0.500).
#[test]
fn amazon_google_precision_and_recall_stay_above_floors() {
    // Missing data fails the test: a benchmark that is not run proves nothing.
    let dir = amazon_google::data_dir()
        .expect("shared/data/product_listings_en/amazon_google is not beside the repository (../shared)");
    let bench = amazon_google::load(&dir).expect("benchmark loads");
    assert_eq!((bench.removed.len(), bench.new.len(), bench.gold.len()), (1363, 3226, 1300));
    let index = amazon_google::removed_index(&bench);
    let results = amazon_google::query_all(&index, &bench, DEFAULT_MIN_SIMILARITY);
    let all = amazon_google::score_all(&results, &bench.gold, DEFAULT_MIN_SIMILARITY);
    let top1 = amazon_google::score_top1(&results, &bench.gold, DEFAULT_MIN_SIMILARITY);
    eprintln!("all matches: {all:?}\ntop-1: {top1:?}");
    assert_eq!(all.threshold, DEFAULT_MIN_SIMILARITY);
    assert!(all.precision >= 0.41 && all.recall >= 0.51 && all.f1 >= 0.46, "all matches: {all:?}");
    assert!(top1.precision >= 0.64 && top1.recall >= 0.47, "top-1: {top1:?}");
    // Reviewer load: the flags raised (measured 1,618) must not balloon.
    assert!(all.true_positives + all.false_positives <= 1800, "all matches: {all:?}");
    assert_eq!(amazon_google::top1_ceiling(&bench.gold), 1291);
}

/// The `relist_edits` benchmark on its fixed seed, at the other-seller
/// threshold: 2,518 real Walmart titles, each relisted with three edits
/// (two words swapped, a marketing word added, a one-letter typo) and
/// found; every 50th removed, and the 2,467 others, product-line variants
/// among them, left alone. Before attributes, 83 of them (3.36 %) landed
/// above 0.60; the figures are the example's, so a change to extraction or
/// to the penalty that moves them shows here.
#[test]
fn walmart_relists_are_found_and_product_line_variants_left_alone() {
    use walmart_relist::{figures, full_index, products, sample_index, Rule};
    let products = products().expect("../shared/data/product_listings_en/walmart_amazon/walmart.csv (REMPART_DATA)");
    assert_eq!(products.len(), 2518);
    let (full, sample) = (full_index(&products), sample_index(&products));
    let threshold = rempart_relist::DEFAULT_MIN_SCORE_OTHER_SELLER;
    let before = figures(&products, &full, &sample, Rule::Similarity, threshold);
    let after = figures(&products, &full, &sample, Rule::Attributes, threshold);
    eprintln!("before {before:?}\nafter {after:?}");
    assert_eq!((after.products, after.others), (2518, 2467));
    assert!(after.recall() >= 0.95, "{after:?}");
    assert!(after.false_alarm_rate() <= 0.005, "{after:?}");
    // Relistings contradict nothing: attributes cost no recall.
    assert_eq!(after.found, before.found);
    assert_eq!((before.found, before.false_alarms), (2425, 83));
    assert_eq!(after.false_alarms, 8);
}
