//! Languages: the codes a pack may key its terms by, and what language a
//! field of seller text is written in.
//!
//! Language matters for *false friends*: a spelling that is a product word
//! in one language and an ordinary word in others (Dutch `pop` is a doll,
//! English `pop` is a music genre). A term set marks such spellings, and
//! the gate counts them only in text of their language. Detection runs
//! only on fields where such a spelling was found, and on the screening
//! path only when the decision depends on the language (the gate first
//! decides under every outcome detection could have, `gate/languages.rs`),
//! so its cost (60 to 100 µs a call, nearly whatever the text's length) is paid by a
//! handful of listings, not by all.
//!
//! The detector is `whatlang` (pure Rust, trigram profiles, no I/O),
//! restricted to the EU official languages it knows (all but Irish and
//! Maltese). It was chosen over `lingua` after a measurement on 23,578
//! real product names with a declared language (BENCHMARKS.md): `lingua`
//! is more accurate on short titles (0.75 vs 0.58 correct) but adds a
//! 138 MB binary and a 6-minute build; since a detection that is not
//! confident only sends a listing to review (never to block or allow), the
//! lighter detector is enough.

use std::fmt;

/// The language keys a term set may use: the 24 official EU languages,
/// other languages sellers write in, and `any` for language-neutral
/// tokens (molecule names, model numbers, emoji).
pub const LANGUAGE_KEYS: &[&str] = &[
    "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it", "lt", "lv", "mt", "nl", "pl",
    "pt", "ro", "sk", "sl", "sv", // EU official languages
    "no", "is", "tr", "ru", "uk", "sr", "bs", "mk", "sq", "ca", "eu", "gl", "lb", "zh", "ja", "ar", "any",
];

/// The 24 official languages of the EU (ISO 639-1).
pub const EU_LANGUAGES: &[&str] = &[
    "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it", "lt", "lv", "mt", "nl", "pl",
    "pt", "ro", "sk", "sl", "sv",
];

/// A language, as an index into [`LANGUAGE_KEYS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Language(u8);

impl Language {
    /// The language of an ISO 639-1 key of [`LANGUAGE_KEYS`] (`any` included).
    pub fn from_code(code: &str) -> Option<Language> {
        // Compared without a lower-cased copy: every listing that declares
        // its language is read through here.
        let code = code.trim().split(['-', '_']).next().unwrap_or_default();
        LANGUAGE_KEYS.iter().position(|k| k.eq_ignore_ascii_case(code)).map(|i| Language(i as u8))
    }

    pub fn code(self) -> &'static str {
        LANGUAGE_KEYS[self.0 as usize]
    }
}

/// A set of languages (the languages a false friend is listed under).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Languages(u64);

impl Languages {
    pub fn insert(&mut self, language: Language) {
        self.0 |= 1 << language.0;
    }

    pub fn contains(self, language: Language) -> bool {
        self.0 & (1 << language.0) != 0
    }

    pub fn of(language: Language) -> Languages {
        let mut set = Languages::default();
        set.insert(language);
        set
    }

    /// Every language of the set, by key order.
    pub fn iter(self) -> impl Iterator<Item = Language> {
        (0..64u8).filter(move |&i| self.0 & (1 << i) != 0).map(Language)
    }

    /// The languages of either set.
    pub fn union(self, other: Languages) -> Languages {
        Languages(self.0 | other.0)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What a field's language says about a spelling bound to one language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The field is in that language (declared or detected): the spelling
    /// means what the term set says.
    Valid,
    /// The field is confidently in another language: the spelling is an
    /// ordinary word there and is dropped.
    Foreign,
    /// The text is too short or mixed to tell: the spelling is kept but
    /// a rule that needs it decides at most `review`.
    Unsure,
}

/// Below this `whatlang` confidence a detection is not trusted. Measured
/// on the open food facts product names: above it 97% of detections are
/// right (22% of names reach it); below it, about half.
const CONFIDENT: f64 = 0.5;

/// What detection tells of a field's language, as far as false friends
/// go: a language it is confident of, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detected {
    Confident(Language),
    /// No language, or one below the confidence a false friend needs.
    Unsure,
}

impl Detected {
    /// Detects the language of `text` ([`detect`]).
    pub fn of(text: &str) -> Detected {
        match detect(text) {
            // Only a confident detection makes a false friend count: below
            // the threshold whatlang is right on about half of short names,
            // and a false friend must never block on a guess.
            Some((language, confidence)) if confidence >= CONFIDENT => Detected::Confident(language),
            _ => Detected::Unsure,
        }
    }

    /// Every way detection can judge spellings bound to languages within
    /// `bound`, each once: confident of each language of `bound`, of one
    /// outside it (every such language judges alike), or unsure.
    pub fn every_outcome(bound: Languages) -> impl Iterator<Item = Detected> {
        let outside = (0..LANGUAGE_KEYS.len() as u8).map(Language).find(|&l| !bound.contains(l));
        bound.iter().chain(outside).map(Detected::Confident).chain([Detected::Unsure])
    }
}

/// Whether the declared language makes a spelling bound to `bound` valid
/// without detection.
pub fn declared_settles(declared: Option<Language>, bound: Languages) -> bool {
    declared.is_some_and(|d| bound.contains(d))
}

/// What a field's language says of a spelling bound to the languages
/// `bound`, given the language the listing declares (if any) and what
/// detection says of the field, asked only when the declared language
/// does not settle it.
pub fn verdict(declared: Option<Language>, bound: Languages, detected: impl FnOnce() -> Detected) -> Verdict {
    if declared_settles(declared, bound) {
        return Verdict::Valid;
    }
    match detected() {
        Detected::Confident(language) if bound.contains(language) => Verdict::Valid,
        _ if declared.is_some() => Verdict::Foreign,
        Detected::Confident(_) => Verdict::Foreign,
        Detected::Unsure => Verdict::Unsure,
    }
}

/// Detects the language of `text` among the EU languages the detector
/// knows, with its confidence (0 to 1).
pub fn detect(text: &str) -> Option<(Language, f64)> {
    use std::sync::OnceLock;
    use whatlang::Lang::*;
    static DETECTOR: OnceLock<whatlang::Detector> = OnceLock::new();
    let detector = DETECTOR.get_or_init(|| {
        whatlang::Detector::with_allowlist(vec![
            Bul, Ces, Dan, Deu, Ell, Eng, Spa, Est, Fin, Fra, Hrv, Hun, Ita, Lit, Lav, Nld, Pol, Por, Ron, Slk, Slv,
            Swe,
        ])
    });
    let info = detector.detect(text)?;
    let code = match info.lang() {
        Bul => "bg",
        Ces => "cs",
        Dan => "da",
        Deu => "de",
        Ell => "el",
        Eng => "en",
        Spa => "es",
        Est => "et",
        Fin => "fi",
        Fra => "fr",
        Hrv => "hr",
        Hun => "hu",
        Ita => "it",
        Lit => "lt",
        Lav => "lv",
        Nld => "nl",
        Pol => "pl",
        Por => "pt",
        Ron => "ro",
        Slk => "sk",
        Slv => "sl",
        Swe => "sv",
        _ => return None,
    };
    Language::from_code(code).map(|l| (l, info.confidence()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(code: &str) -> Languages {
        Languages::of(Language::from_code(code).expect("known code"))
    }

    #[test]
    fn codes_round_trip_and_regions_are_dropped() {
        let nl = Language::from_code("nl").expect("known");
        assert_eq!(nl.code(), "nl");
        assert_eq!(Language::from_code("fr-FR"), Language::from_code("fr"));
        assert_eq!(Language::from_code("NL"), Some(nl));
        let mut two = Languages::of(nl);
        two.insert(Language::from_code("da").expect("known"));
        assert!(two.contains(nl) && !two.contains(Language::from_code("en").expect("known")));
        assert_eq!(Language::from_code("exceptions"), None);
        assert!(EU_LANGUAGES.iter().all(|c| Language::from_code(c).is_some()));
    }

    fn judged(text: &str, declared: Option<Language>, bound: Languages) -> Verdict {
        verdict(declared, bound, || Detected::of(text))
    }

    #[test]
    fn declared_language_decides_first() {
        let nl = Language::from_code("nl");
        assert_eq!(verdict(nl, lang("nl"), || panic!("no detection needed")), Verdict::Valid);
    }

    #[test]
    fn a_confident_other_language_drops_the_spelling() {
        let text = "Vintage pop art poster of a woman, printed on heavy matte paper, ready to frame";
        assert_eq!(judged(text, None, lang("nl")), Verdict::Foreign);
        let dutch = "Een mooie pop met lange haren en een roze jurk, geschikt voor kinderen vanaf drie jaar";
        assert_eq!(judged(dutch, None, lang("nl")), Verdict::Valid);
    }

    #[test]
    fn two_words_are_unsure() {
        assert_eq!(judged("pop 90", None, lang("nl")), Verdict::Unsure);
        // A declared language other than the spelling's makes it foreign
        // when detection cannot tell.
        assert_eq!(judged("pop 90", Language::from_code("en"), lang("nl")), Verdict::Foreign);
    }

    /// The outcomes tried for a set of languages give every verdict any
    /// detection can give, for every bound within the set: checked against
    /// every language detection could be confident of, and none.
    #[test]
    fn every_outcome_covers_every_verdict() {
        let (nl, cs) = (lang("nl"), lang("cs"));
        let bounds = [nl, cs, nl.union(cs)];
        let union = bounds.iter().fold(Languages::default(), |u, &b| u.union(b));
        let tried: Vec<Detected> = Detected::every_outcome(union).collect();
        assert_eq!(tried.len(), 4, "nl, cs, one outside, unsure: {tried:?}");
        let every_detection =
            (0..LANGUAGE_KEYS.len() as u8).map(|i| Detected::Confident(Language(i))).chain([Detected::Unsure]);
        for declared in [None, Language::from_code("en"), Language::from_code("nl")] {
            for detection in every_detection.clone() {
                let verdicts = |d: Detected| bounds.map(|b| verdict(declared, b, || d));
                assert!(
                    tried.iter().any(|&t| verdicts(t) == verdicts(detection)),
                    "{detection:?} with {declared:?} judges as no outcome tried"
                );
            }
        }
    }
}
