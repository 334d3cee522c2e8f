//! The language knowledge quantity extraction needs: unit words and the
//! words around numbers (an age word before, a warranty word after, a
//! range separator between two). It is pack data (`[[unit]]` and
//! `[words.*]` tables, see `policies/README.md`), compiled once with the
//! pack, so a language is added by editing a policy file, not the code.
//! Only notation stays in code: digits, `%`, `'` and `"`, `1m05`, `x10`.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::extract::QuantityKind;
use crate::normalize::fold_word;

/// The `[words.NAME]` tables a pack may define, and what they are for.
pub const WORD_LISTS: &[(&str, &str)] = &[
    ("age_before", "a number after one of these words is an age (`age 8`)"),
    ("height_before", "a length after one of these words (within three words) is a height, in descriptions"),
    ("height_attribute", "attribute keys whose lengths are heights (`taille`, `body height`)"),
    ("warranty", "a number of years next to one of these words is a warranty, not an age"),
    ("duration_after", "a number of years followed by one of these nouns is a duration (`2 years lifetime`)"),
    ("duration_before", "a number of years after one of these words is a duration (`depuis 5 ans`)"),
    ("duration_link", "a word between a number of years and a warranty word (`2 ans de garantie`)"),
    ("pack_before", "a number after one of these words is a count of pieces (`pack 24`, `lot de 6`)"),
    ("count_link", "a word between a pack word and its number (`pack of 24`)"),
    ("range", "a word between two numbers that makes them a range (`8 to 10`, `8 à 10`)"),
    ("million", "`million` in every language (`5 millions de volts`)"),
    ("volt_after_million", "what follows `million` when it counts volts (`de volts`, `volts`)"),
];

/// One unit word: what it measures and the factor to the canonical unit.
pub type UnitMeaning = (QuantityKind, f64);

/// FNV-1a over the bytes of a key. The lexicon is looked up for every
/// number of every field (the word before it, the unit after it), with
/// keys of a few bytes, where SipHash costs more than the lookup; its
/// flooding resistance is not needed: the tables are the pack's, and
/// seller text only looks words up.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// The compiled language knowledge of a pack.
#[derive(Clone, Debug, Default)]
pub struct Lexicon {
    units: FastMap<String, Vec<UnitMeaning>>,
    words: FastMap<&'static str, HashSet<String, BuildHasherDefault<Fnv>>>,
    /// Range separators as written (case-insensitive ASCII match), padded
    /// with spaces: ` to `, ` à `.
    ranges: Vec<String>,
    /// What may follow `million`, as written (` de volts`).
    volt_leads: Vec<String>,
}

impl Lexicon {
    /// Adds a unit word meaning `kind` with `factor` to the canonical unit.
    /// A word may mean two kinds (`lb`: draw weight and mass).
    pub fn add_unit(&mut self, word: &str, kind: QuantityKind, factor: f64) {
        let key = unit_key(word);
        let meanings = self.units.entry(key).or_default();
        if !meanings.iter().any(|m| m.0 == kind) {
            meanings.push((kind, factor));
        }
    }

    /// Adds a word to the list `list` (one of [`WORD_LISTS`]). Returns
    /// false when the list is unknown.
    pub fn add_word(&mut self, list: &str, word: &str) -> bool {
        let Some(&(name, _)) = WORD_LISTS.iter().find(|(n, _)| *n == list) else {
            return false;
        };
        match name {
            "range" => self.ranges.push(format!(" {} ", word.trim().to_lowercase())),
            "volt_after_million" => self.volt_leads.push(format!(" {}", word.trim().to_lowercase())),
            _ => {}
        }
        let folded: String = word.split_whitespace().map(fold_word).collect::<Vec<_>>().join(" ");
        self.words.entry(name).or_default().insert(folded);
        true
    }

    /// Meanings of a unit word already folded (`fold_word`), `None` if it is
    /// not a unit.
    pub fn unit(&self, folded: &str) -> Option<&[UnitMeaning]> {
        self.units.get(folded).map(Vec::as_slice)
    }

    /// Whether a folded word is in a word list.
    pub fn has(&self, list: &str, folded: &str) -> bool {
        self.words.get(list).is_some_and(|set| set.contains(folded))
    }

    /// Range separators, padded with spaces (` to `).
    pub fn ranges(&self) -> &[String] {
        &self.ranges
    }

    /// What may follow `million` when it counts volts (` de volts`).
    pub fn volt_leads(&self) -> &[String] {
        &self.volt_leads
    }

    /// How many unit spellings and listed words it holds.
    pub fn size(&self) -> (usize, usize) {
        (self.units.len(), self.words.values().map(HashSet::len).sum())
    }
}

/// The lookup key of a unit spelling: folded, separators dropped (`fl oz`
/// → `floz`).
fn unit_key(word: &str) -> String {
    word.split_whitespace().map(fold_word).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_fold_and_may_mean_two_kinds() {
        let mut lex = Lexicon::default();
        lex.add_unit("Centimètres", QuantityKind::Length, 1.0);
        lex.add_unit("lb", QuantityKind::DrawWeight, 1.0);
        lex.add_unit("lb", QuantityKind::Mass, 453.592);
        lex.add_unit("fl oz", QuantityKind::Volume, 29.5735);
        assert_eq!(lex.unit("centimetres"), Some(&[(QuantityKind::Length, 1.0)][..]));
        assert_eq!(lex.unit("lb").map(<[_]>::len), Some(2));
        assert!(lex.unit("floz").is_some());
        assert!(lex.unit("pouce").is_none());
    }

    #[test]
    fn word_lists_are_closed() {
        let mut lex = Lexicon::default();
        assert!(lex.add_word("age_before", "Âge"));
        assert!(lex.has("age_before", "age"));
        assert!(!lex.add_word("ages", "age"));
        assert!(lex.add_word("range", "à"));
        assert_eq!(lex.ranges(), [" à "]);
    }
}
