//! Property tests: the pipeline never panics, and every span it reports
//! points at valid text in the original.

use proptest::prelude::*;
use rempart_core::extract::{extract, HeightContext, Quantity};
use rempart_core::normalize::{leet_variants, Folded};
use rempart_core::{ExternalSignals, Gate, Listing};

fn gate() -> &'static Gate {
    static GATE: std::sync::OnceLock<Gate> = std::sync::OnceLock::new();
    GATE.get_or_init(|| Gate::with_default_pack().expect("embedded pack"))
}

/// Text mixing what sellers write: ASCII, accents, homoglyphs, digits,
/// units, separators, zero-width characters and emoji.
fn seller_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "sex", "doll", " ", "  ", "-", ".", "_", "0", "1", "3", "4", "@", "$", "!", "cm", "m", "ft", "'", "\"", "ml",
        "mW", "%", "+", "ans", "é", "е", "ѕ", "Ａ", "𝓼", "ß", "\u{200B}", "\u{AD}", "\u{301}", "👧", "日", "€", "’",
        "”", "million", "de", "volts", "10 000", "1,5", "1m05", "3'2\"", "4ft 1in", "8-10", "age", "x", "pack of",
        "\u{FEFF}", "\n", "\t", "ǅ", "İ", "ﬁ", "Ⅻ", "½", "²",
    ]);
    prop::collection::vec(prop_oneof![pieces.prop_map(String::from), any::<char>().prop_map(String::from)], 0..40)
        .prop_map(|v| v.concat())
}

/// [`seller_text`] with policy words and the evasions written around
/// them (spaced letters, leet, invisible joins, collapsed runs), so the
/// differential property below meets hits, not only clean text.
fn evasive_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "sex",
        "doll",
        "loli",
        "l0li",
        "s3x",
        "d0ll",
        "s e x",
        "s.e.x",
        "seeex",
        "dolll",
        "teen",
        "teeeen",
        "poupée",
        "sexuelle",
        "poing américain",
        "laser",
        "5000mW",
        "pointer",
        "ivory",
        "white",
        "@dult",
        "d!ldo",
        "1oli",
        "lo1i",
        "silicone",
        "\u{3164}",
        "\u{200B}",
        "\u{202E}",
        "ѕех",
        "100cm",
        "ans",
        "child",
        "kids",
        " ",
        " ",
        "-",
        ".",
        "x",
        "ID card",
        "passport",
        "cbd",
        "thc",
        "22 %",
        "Sabres",
        "Sabrent",
    ]);
    prop::collection::vec(prop_oneof![3 => pieces.prop_map(String::from), 1 => seller_text()], 0..24)
        .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Issue 14: the fast text path decides exactly as the reference path
    /// (canonical string with a per-byte offset map), byte for byte.
    #[test]
    fn fast_path_decides_like_the_reference(
        title in evasive_text(),
        description in prop::option::of(evasive_text()),
        value in evasive_text(),
        key in prop::sample::select(vec!["height_cm", "power_mw", "size", "color", "material"]),
    ) {
        let mut listing = Listing::new("p", title);
        listing.description = description;
        listing.attributes.push((key.to_string(), value));
        let none = ExternalSignals::default();
        let fast = serde_json::to_string(&gate().screen_with(&listing, &none)).unwrap_or_default();
        let reference = serde_json::to_string(&gate().screen_reference(&listing, &none)).unwrap_or_default();
        prop_assert_eq!(fast, reference, "{:?}", listing);
    }

    /// One buffer refolded over a run of fields (as each screening
    /// thread does) gives each exactly what a fresh fold gives: nothing
    /// of an earlier field (its map, collapsed runs, soft boundaries,
    /// bidirectional controls) leaks into the next.
    #[test]
    fn refolding_a_buffer_equals_folding_afresh(texts in prop::collection::vec(evasive_text(), 1..8)) {
        let mut buffer = Folded::default();
        for text in &texts {
            buffer.refold(text);
            prop_assert_eq!(&buffer, &Folded::new(text), "{:?} after {:?}", text, texts);
        }
    }

    #[test]
    fn normalisation_maps_every_byte_back(text in seller_text()) {
        let folded = Folded::new(&text);
        let canonical = folded.as_str();
        prop_assert!(!canonical.starts_with(' ') && !canonical.ends_with(' ') && !canonical.contains("  "));
        for (start, ch) in canonical.char_indices() {
            let end = start + ch.len_utf8();
            let (s, e) = folded.original_span(start, end);
            prop_assert!(s <= e && e <= text.len());
            prop_assert!(text.is_char_boundary(s) && text.is_char_boundary(e));
        }
        for variant in leet_variants(canonical) {
            prop_assert_eq!(variant.len(), canonical.len());
        }
    }

    #[test]
    fn extraction_spans_are_valid(text in seller_text()) {
        for context in [HeightContext::Always, HeightContext::AfterHeightWord, HeightContext::Never] {
            for q in extract(&text, context, &gate().pack().lexicon) {
                prop_assert!(q.start < q.end && q.end <= text.len(), "{:?} in {:?}", q, text);
                prop_assert!(text.get(q.start..q.end).is_some(), "{:?} not on char boundaries in {:?}", q, text);
                prop_assert!(q.value.is_finite());
            }
        }
    }

    #[test]
    fn screening_never_panics_and_evidence_is_original_text(
        title in seller_text(),
        description in seller_text(),
        value in prop_oneof![seller_text(), "[0-9]{1,4}([.,][0-9]{1,2})?".prop_map(String::from), " ?[0-9]{2,3} ?".prop_map(String::from)],
        key in prop::sample::select(vec!["height_cm", "height", "taille (cm)", "power_mw", "volume", "size", "color"]),
    ) {
        let mut listing = Listing::new("p", title.clone());
        listing.description = Some(description.clone());
        listing.attributes.push((key.to_string(), value.clone()));
        let decision = gate().screen(&listing);
        for m in &decision.matches {
            for e in &m.evidence {
                if e.detail.is_some() && e.field.starts_with("images") {
                    continue;
                }
                let field = match e.field.as_str() {
                    "title" => &title,
                    "description" => &description,
                    f => {
                        prop_assert_eq!(f, format!("attributes.{key}"));
                        &value
                    }
                };
                prop_assert_eq!(field.get(e.start..e.end), Some(e.text.as_str()), "{:?}", e);
            }
        }
    }

    /// The normaliser's contract for Unicode spacing: any `White_Space`
    /// character reads as an ASCII space, and `Default_Ignorable_Code_Point`
    /// characters (bidirectional controls aside) read as nothing, for
    /// words and quantities alike; verdicts follow.
    #[test]
    fn other_spaces_and_invisible_characters_change_nothing(
        text in seller_text(),
        spaces in prop::collection::vec(any::<u8>(), 1..16),
        hidden in prop::collection::vec((any::<u16>(), any::<u8>()), 0..8),
    ) {
        const SPACES: &[char] = &['\u{A0}', '\u{202F}', '\u{2009}', '\u{2003}', '\u{1680}', '\u{2028}', '\u{85}', '\u{3000}', '\t'];
        const INVISIBLE: &[char] = &['\u{200B}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{AD}', '\u{3164}', '\u{FE0F}', '\u{E0041}', '\u{180E}'];
        let mut pick = spaces.iter().cycle();
        let respaced: String = text
            .chars()
            .map(|c| if c == ' ' { SPACES[*pick.next().unwrap_or(&0) as usize % SPACES.len()] } else { c })
            .collect();
        let mut invisible = text.clone();
        for &(at, which) in &hidden {
            let mut at = at as usize % (invisible.len() + 1);
            while !invisible.is_char_boundary(at) {
                at -= 1;
            }
            invisible.insert(at, INVISIBLE[which as usize % INVISIBLE.len()]);
        }
        let quantities = |t: &str| -> Vec<(String, u64)> {
            extract(t, HeightContext::Always, &gate().pack().lexicon).iter().map(|q: &Quantity| (q.kind.name().to_string(), q.value.to_bits())).collect()
        };
        let verdict = |t: &str| gate().screen(&Listing::new("p", t)).verdict;
        for other in [&respaced, &invisible] {
            let (a, b) = (Folded::new(other), Folded::new(&text));
            prop_assert_eq!(a.as_str(), b.as_str(), "{:?} vs {:?}", other, text);
            prop_assert_eq!(quantities(other), quantities(&text), "{:?} vs {:?}", other, text);
        }
        prop_assert_eq!(verdict(&respaced), verdict(&text));
        prop_assert!(verdict(&invisible) >= verdict(&text), "{:?} vs {:?}", invisible, text);
    }
}
