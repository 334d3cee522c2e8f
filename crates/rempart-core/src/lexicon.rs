//! The language knowledge quantity extraction needs: unit words and the
//! words around numbers (an age word before, a warranty word after, a
//! range separator between two). It is pack data (`[[unit]]` and
//! `[words.*]` tables, see `policies/README.md`), compiled once with the
//! pack, so a language is added by editing a policy file, not the code.
//! Only notation stays in code: digits, `%`, `'` and `"`, `1m05`, `x10`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::extract::QuantityKind;
use crate::normalize::fold_word;

/// The `[words.NAME]` tables a pack may define, and what they are for, in
/// the order of [`WordList`].
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

/// One of the [`WORD_LISTS`], by its position there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WordList {
    AgeBefore,
    HeightBefore,
    HeightAttribute,
    Warranty,
    DurationAfter,
    DurationBefore,
    DurationLink,
    PackBefore,
    CountLink,
    Range,
    Million,
    VoltAfterMillion,
}

impl WordList {
    const ALL: [WordList; 12] = [
        WordList::AgeBefore,
        WordList::HeightBefore,
        WordList::HeightAttribute,
        WordList::Warranty,
        WordList::DurationAfter,
        WordList::DurationBefore,
        WordList::DurationLink,
        WordList::PackBefore,
        WordList::CountLink,
        WordList::Range,
        WordList::Million,
        WordList::VoltAfterMillion,
    ];

    /// The list a `[words.NAME]` table fills, `None` if there is no such list.
    pub fn from_name(name: &str) -> Option<WordList> {
        WORD_LISTS.iter().position(|(n, _)| *n == name).and_then(|i| WordList::ALL.get(i).copied())
    }

    fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// One unit word: what it measures and the factor to the canonical unit.
pub type UnitMeaning = (QuantityKind, f64);

/// FNV-1a over the bytes of a key. The lexicon is looked up for every
/// number of every field (the word before it, the unit after it), with
/// keys of a few bytes, where SipHash costs more than the lookup; its
/// flooding resistance is not needed: the tables are the pack's, and
/// seller text only looks words up.
pub(crate) struct Fnv(u64);

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

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// What the lexicon knows of one folded word: the lists it is in and its
/// meanings as a unit. Kept together so that the word before a number and
/// the unit after it are each looked up once, whatever is asked of them.
#[derive(Clone, Debug, Default)]
struct Entry {
    lists: u16,
    units: Vec<UnitMeaning>,
}

/// A word as the lexicon knows it; a word it does not hold is in no list
/// and means no unit.
#[derive(Clone, Copy, Debug, Default)]
pub struct Word<'a> {
    lists: u16,
    units: &'a [UnitMeaning],
}

impl<'a> Word<'a> {
    /// Whether the word is in `list`.
    pub fn is(self, list: WordList) -> bool {
        self.lists & list.bit() != 0
    }

    /// Its meanings as a unit word, empty if it is not one.
    pub fn units(self) -> &'a [UnitMeaning] {
        self.units
    }
}

/// The compiled language knowledge of a pack.
#[derive(Clone, Debug, Default)]
pub struct Lexicon {
    words: FastMap<String, Entry>,
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
        let meanings = &mut self.words.entry(unit_key(word)).or_default().units;
        if !meanings.iter().any(|m| m.0 == kind) {
            meanings.push((kind, factor));
        }
    }

    /// Adds a word to the list `list` (one of [`WORD_LISTS`]). Returns
    /// false when the list is unknown.
    pub fn add_word(&mut self, list: &str, word: &str) -> bool {
        let Some(list) = WordList::from_name(list) else {
            return false;
        };
        match list {
            WordList::Range => self.ranges.push(format!(" {} ", word.trim().to_lowercase())),
            WordList::VoltAfterMillion => self.volt_leads.push(format!(" {}", word.trim().to_lowercase())),
            _ => {}
        }
        let folded: String = word.split_whitespace().map(fold_word).collect::<Vec<_>>().join(" ");
        self.words.entry(folded).or_default().lists |= list.bit();
        true
    }

    /// What the lexicon knows of a word already folded (`fold_word`).
    pub fn word(&self, folded: &str) -> Word<'_> {
        self.words.get(folded).map_or_else(Word::default, |entry| Word { lists: entry.lists, units: &entry.units })
    }

    /// Meanings of a unit word already folded (`fold_word`), `None` if it is
    /// not a unit.
    pub fn unit(&self, folded: &str) -> Option<&[UnitMeaning]> {
        Some(self.word(folded).units()).filter(|units| !units.is_empty())
    }

    /// Whether a folded word is in a word list.
    pub fn has(&self, list: WordList, folded: &str) -> bool {
        self.word(folded).is(list)
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
        let units = self.words.values().filter(|entry| !entry.units.is_empty()).count();
        let listed = self.words.values().map(|entry| entry.lists.count_ones() as usize).sum();
        (units, listed)
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
    fn word_lists_name_their_variants_in_order() {
        for (position, (name, _)) in WORD_LISTS.iter().enumerate() {
            assert_eq!(WordList::from_name(name).map(|list| list as usize), Some(position), "{name}");
        }
        assert_eq!(WordList::ALL.len(), WORD_LISTS.len());
    }

    #[test]
    fn one_word_may_be_a_unit_and_listed() {
        let mut lex = Lexicon::default();
        lex.add_unit("ans", QuantityKind::Age, 1.0);
        lex.add_word("duration_after", "ans");
        let word = lex.word("ans");
        assert!(word.is(WordList::DurationAfter) && !word.is(WordList::Warranty));
        assert_eq!(word.units(), [(QuantityKind::Age, 1.0)]);
        assert_eq!(lex.size(), (1, 1));
        assert!(lex.unit("garantie").is_none() && lex.word("garantie").units().is_empty());
    }

    #[test]
    fn word_lists_are_closed() {
        let mut lex = Lexicon::default();
        assert!(lex.add_word("age_before", "Âge"));
        assert!(lex.has(WordList::AgeBefore, "age"));
        assert!(!lex.has(WordList::PackBefore, "age"));
        assert!(!lex.add_word("ages", "age"));
        assert!(lex.add_word("range", "à"));
        assert_eq!(lex.ranges(), [" à "]);
    }
}
