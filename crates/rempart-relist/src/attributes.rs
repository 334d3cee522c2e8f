//! What a listing's text states about the product — sizes and capacities
//! with their units, pack counts, colours, model numbers — so that two
//! titles that look alike but state different products can be told apart.
//!
//! A catalogue is full of product lines: `draper … electric screen - ntsc
//! 100 diagonal` and `… 161 diagonal`, `action sport drives 4gb …` and
//! `16gb …`. Their shingle sets are nearly equal, so the fingerprint alone
//! calls them near-duplicates. What tells them apart is what the text says
//! *against* the match: both state a value of the same kind, and the
//! values differ.
//!
//! # The rule, and why it is one-sided on purpose
//!
//! For each kind stated on **both** sides, a value with an equal value on
//! the other side *agrees*; the kind *contradicts* when **each** side has a
//! value the other lacks. A side that states nothing of a kind, or only a
//! subset of the other's values, contradicts nothing: a relisting that
//! drops a size, or adds a year ("2026 NEW …"), is what a seller evading
//! removal does, and must stay a match. See [`compare`].
//!
//! # Kinds and units
//!
//! * Quantities with a unit, converted to one canonical unit per kind so
//!   that `1 l` and `1000 ml`, `2.5 in` and `6.35 cm` agree (equal within
//!   2 %): the unit words of the policy pack's lexicon (`rempart_core`'s
//!   quantity units, CLDR names in the EU languages: length in cm, volume
//!   in ml, mass in g, power in mW, voltage in V, energy in J, pieces, age
//!   in years…) and this crate's `vocab/attributes.toml` for what the pack
//!   has no kind for: data size in GB (decimal, as storage is sold: 1 TB =
//!   1000 GB; `GiB` converts exactly), frequency in Hz, charge in mAh, and
//!   US volumes.
//! * Pack counts: a number after a pack word of the lexicon (`set of 10`,
//!   `lot de 6`) or before a count unit (`8 outlet`, `24 count`).
//! * Colours: base-colour ids (`noir`, `schwarz` and `black` are one
//!   colour) from `vocab/attributes.toml`.
//! * Codes: every other number, alone (`ntsc 100`) or glued to letters (a
//!   model number: `m1300`, `1015pn-pu27-wt`, `ddr3`), or a bare size
//!   (`60 x 80`). A code is compared by its numbers only, because the
//!   letters are what a typo or a homoglyph changes and the digits are what
//!   tells `m1300` from `m2500`.
//!
//! Extraction is a hand-written left-to-right scan: the grammar is notation
//! (digits glued to letters, `60x80`, `2.5in.`, `1,000`), not vocabulary,
//! and every word it looks up comes from the pack or the data file.

use std::collections::HashMap;
use std::sync::OnceLock;

use rempart_core::extract::QuantityKind;
use rempart_core::lexicon::{Lexicon, WordList};
use rempart_core::normalize::{fold_word, PlainView};
use serde::{Deserialize, Serialize};

use crate::ListingText;

/// What an attribute states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeKind {
    /// Length or size with a unit, in cm.
    Length,
    /// Volume or capacity, in ml.
    Volume,
    /// Mass, in g.
    Mass,
    /// Power, in mW.
    Power,
    /// Voltage, in V.
    Voltage,
    /// Energy, in J.
    Energy,
    /// Concentration, in %.
    Concentration,
    /// Age or duration, in years.
    Age,
    /// Puffs of a vaping device.
    Puffs,
    /// Number of pieces in a pack, or of outlets, cartridges… (a count).
    Pieces,
    /// Storage or memory size, in GB (1 TB = 1000 GB).
    DataSize,
    /// Frequency, in Hz.
    Frequency,
    /// Battery charge, in mAh.
    Charge,
    /// Base colour id (`black`, `blue`…).
    Colour,
    /// A number without a unit: model numbers and bare sizes, compared by
    /// their numbers.
    Code,
}

impl AttributeKind {
    /// The name used in evidence.
    pub fn name(self) -> &'static str {
        match self {
            AttributeKind::Length => "length",
            AttributeKind::Volume => "volume",
            AttributeKind::Mass => "mass",
            AttributeKind::Power => "power",
            AttributeKind::Voltage => "voltage",
            AttributeKind::Energy => "energy",
            AttributeKind::Concentration => "concentration",
            AttributeKind::Age => "age",
            AttributeKind::Puffs => "puffs",
            AttributeKind::Pieces => "count",
            AttributeKind::DataSize => "data size",
            AttributeKind::Frequency => "frequency",
            AttributeKind::Charge => "charge",
            AttributeKind::Colour => "colour",
            AttributeKind::Code => "model/number",
        }
    }

    fn of_quantity(kind: QuantityKind) -> Option<AttributeKind> {
        Some(match kind {
            QuantityKind::Length | QuantityKind::Height => AttributeKind::Length,
            QuantityKind::Volume => AttributeKind::Volume,
            QuantityKind::Mass => AttributeKind::Mass,
            QuantityKind::Power => AttributeKind::Power,
            QuantityKind::Voltage => AttributeKind::Voltage,
            QuantityKind::Energy => AttributeKind::Energy,
            QuantityKind::Concentration => AttributeKind::Concentration,
            QuantityKind::Age => AttributeKind::Age,
            QuantityKind::Puffs => AttributeKind::Puffs,
            QuantityKind::Pieces => AttributeKind::Pieces,
            // `lb` is also a mass; the mass reading is the one compared.
            QuantityKind::DrawWeight => return None,
        })
    }

    fn from_data_name(name: &str) -> Option<AttributeKind> {
        Some(match name {
            "data_size" => AttributeKind::DataSize,
            "frequency" => AttributeKind::Frequency,
            "charge" => AttributeKind::Charge,
            "volume" => AttributeKind::Volume,
            "pieces" => AttributeKind::Pieces,
            _ => return None,
        })
    }
}

/// The canonical value of an attribute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttributeValue {
    /// A quantity in its kind's canonical unit.
    Amount(f64),
    /// A colour id, or the numbers of a code joined by `-` (`1015-27`).
    Key(String),
}

/// One attribute a listing states.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    pub kind: AttributeKind,
    pub value: AttributeValue,
    /// As the seller wrote it (`16GB`, `noire`, `m1300`).
    pub text: String,
}

impl Attribute {
    /// Same kind and equal value (amounts within 2 %: `2.5 in` and `6.35
    /// cm`, `1 l` and `1000 ml`, rounding in conversions).
    fn agrees_with(&self, other: &Attribute) -> bool {
        self.kind == other.kind
            && match (&self.value, &other.value) {
                (AttributeValue::Amount(a), AttributeValue::Amount(b)) => (a - b).abs() <= 0.02 * a.abs().max(b.abs()),
                (AttributeValue::Key(a), AttributeValue::Key(b)) => a == b,
                _ => false,
            }
    }
}

/// The attributes a listing's text states, in the order written, each
/// (kind, value) once. Serialises as a plain array.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Attributes(pub Vec<Attribute>);

impl Attributes {
    /// Reads the attributes of one or more texts (title, brand…) with the
    /// default vocabulary.
    pub fn of_texts<'t>(texts: impl IntoIterator<Item = &'t str>) -> Attributes {
        Vocabulary::default_pack().read(texts)
    }

    /// The attributes of the fields a fingerprint shingles: the title and
    /// the short "other" text (brand, model). Descriptions are left out for
    /// the reason the fingerprint leaves them out: their many numbers and
    /// words (shipping weights, compatible models) would contradict what
    /// the title says.
    pub fn of_listing(text: &ListingText<'_>) -> Attributes {
        Attributes::of_texts([Some(text.title), text.other].into_iter().flatten())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Attribute> {
        self.0.iter()
    }

    fn push(&mut self, attribute: Attribute) {
        if !self.0.iter().any(|a| a.kind == attribute.kind && a.value == attribute.value) {
            self.0.push(attribute);
        }
    }
}

/// An attribute both listings state with equal values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub kind: AttributeKind,
    /// As the new listing wrote it.
    pub text: String,
}

/// A kind both listings state, each with a value the other lacks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contradiction {
    pub kind: AttributeKind,
    /// The new listing's values that the removed one does not state.
    pub listing: Vec<String>,
    /// The removed listing's values that the new one does not state.
    pub removed: Vec<String>,
}

/// What two listings' attributes say about a match.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AttributeComparison {
    pub agreed: Vec<Agreement>,
    pub contradicted: Vec<Contradiction>,
}

impl AttributeComparison {
    /// `similarity` lowered by [`CONTRADICTION_PENALTY`] for each
    /// contradicting kind, never below 0. Agreements do not raise it:
    /// product lines agree on most of what they state (brand, series,
    /// colour) and differ in one value.
    pub fn score(&self, similarity: f64) -> f64 {
        (similarity - CONTRADICTION_PENALTY * self.contradicted.len() as f64).max(0.0)
    }

    /// One line for evidence: `agree: 16GB (data size), black (colour);
    /// contradict: model/number m1300 vs m2500`. Empty when nothing was
    /// compared.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.agreed.is_empty() {
            let agreed: Vec<String> = self.agreed.iter().map(|a| format!("{} ({})", a.text, a.kind.name())).collect();
            parts.push(format!("attributes agree: {}", agreed.join(", ")));
        }
        if !self.contradicted.is_empty() {
            let contradicted: Vec<String> = self
                .contradicted
                .iter()
                .map(|c| format!("{} {} vs {}", c.kind.name(), c.listing.join("/"), c.removed.join("/")))
                .collect();
            parts.push(format!("contradict: {}", contradicted.join(", ")));
        }
        parts.join("; ")
    }
}

/// How much one contradicting kind lowers a match's score. Chosen on the
/// `relist_edits` benchmark (2 % of 2,518 Walmart titles removed; see the
/// crate documentation): at the other-seller threshold of 0.60, 0.3 leaves
/// 0.61 % of the other products flagged, 0.4 and 0.5 leave 0.32 %; 0.5 also
/// takes a variant of similarity 1.0 (identical but for one value) under
/// the same-seller threshold's neighbourhood. Relistings contradict
/// nothing, so their recall does not depend on it.
pub const CONTRADICTION_PENALTY: f64 = 0.5;

/// Compares a new listing's attributes with a removed listing's (see the
/// module documentation for the rule).
///
/// An unmatched value whose numbers the other listing states under another
/// reading contradicts nothing: `6 25 count` and `6 count 25` (a word
/// moved by the relister) read as a count of 25 and a count of 6, but both
/// state 6 and 25; so do `350 watt 6.5` and `350 6.5 watt`. Only a number
/// the other side does not state at all makes a contradiction.
pub fn compare(listing: &Attributes, removed: &Attributes) -> AttributeComparison {
    let mut comparison = AttributeComparison::default();
    let our_numbers = stated_numbers(listing);
    let their_numbers = stated_numbers(removed);
    let new_to = |attribute: &Attribute, numbers: &[String]| {
        let own = numbers_in(&attribute.text);
        own.is_empty() || own.iter().any(|n| !numbers.contains(n))
    };
    let mut kinds: Vec<AttributeKind> = listing.iter().map(|a| a.kind).collect();
    kinds.sort_unstable();
    kinds.dedup();
    for kind in kinds {
        let ours: Vec<&Attribute> = listing.iter().filter(|a| a.kind == kind).collect();
        let theirs: Vec<&Attribute> = removed.iter().filter(|a| a.kind == kind).collect();
        if theirs.is_empty() {
            continue;
        }
        let ours_unmatched: Vec<String> = ours
            .iter()
            .filter(|a| !theirs.iter().any(|b| a.agrees_with(b)) && new_to(a, &their_numbers))
            .map(|a| a.text.clone())
            .collect();
        let theirs_unmatched: Vec<String> = theirs
            .iter()
            .filter(|b| !ours.iter().any(|a| a.agrees_with(b)) && new_to(b, &our_numbers))
            .map(|b| b.text.clone())
            .collect();
        for attribute in ours.iter().filter(|a| theirs.iter().any(|b| a.agrees_with(b))) {
            comparison.agreed.push(Agreement { kind, text: attribute.text.clone() });
        }
        if !ours_unmatched.is_empty() && !theirs_unmatched.is_empty() {
            comparison.contradicted.push(Contradiction { kind, listing: ours_unmatched, removed: theirs_unmatched });
        }
    }
    comparison
}

/// The numbers written in an attribute's text, as keys (`2.0` → `2`).
fn numbers_in(text: &str) -> Vec<String> {
    tokens(text)
        .iter()
        .filter_map(|t| match t.kind {
            TokenKind::Number(n) => Some(format_number(n)),
            _ => None,
        })
        .collect()
}

/// Every number a listing's attributes state, whatever their kind.
fn stated_numbers(attributes: &Attributes) -> Vec<String> {
    let mut numbers: Vec<String> = attributes.iter().flat_map(|a| numbers_in(&a.text)).collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
}

/// The words attribute extraction looks up: the pack lexicon's quantity
/// units and pack words, and this crate's colours and extra units.
#[derive(Clone, Debug)]
pub struct Vocabulary {
    lexicon: Lexicon,
    /// Folded unit spelling → (kind, factor to the canonical unit).
    units: HashMap<String, (AttributeKind, f64)>,
    /// Folded colour word → colour id.
    colours: HashMap<String, String>,
}

/// The layout of `vocab/attributes.toml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VocabularyFile {
    unit: Vec<UnitEntry>,
    colour: std::collections::BTreeMap<String, HashMap<String, Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitEntry {
    kind: String,
    factor: f64,
    words: Vec<String>,
}

/// The data file, compiled in.
const VOCABULARY_FILE: &str = include_str!("../vocab/attributes.toml");

/// Why a vocabulary could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VocabularyError {
    #[error("vocab/attributes.toml: {0}")]
    Syntax(String),
    #[error("vocab/attributes.toml: unknown unit kind `{0}`")]
    UnitKind(String),
    #[error("vocab/attributes.toml: `{word}` is both {first} and {second}")]
    Ambiguous { word: String, first: String, second: String },
}

impl Vocabulary {
    /// The crate's colours and extra units with `lexicon`'s quantity units
    /// and pack words (a pack's `Pack::lexicon`).
    pub fn new(lexicon: Lexicon) -> Result<Vocabulary, VocabularyError> {
        let file: VocabularyFile =
            toml::from_str(VOCABULARY_FILE).map_err(|e| VocabularyError::Syntax(e.to_string()))?;
        let mut units = HashMap::new();
        for entry in &file.unit {
            let kind = AttributeKind::from_data_name(&entry.kind)
                .ok_or_else(|| VocabularyError::UnitKind(entry.kind.clone()))?;
            for word in &entry.words {
                units.insert(fold_word(word), (kind, entry.factor));
            }
        }
        let mut colours: HashMap<String, String> = HashMap::new();
        for (id, languages) in &file.colour {
            for word in languages.values().flatten() {
                let folded = fold_word(word);
                if let Some(first) = colours.get(&folded).filter(|first| *first != id) {
                    return Err(VocabularyError::Ambiguous {
                        word: word.clone(),
                        first: first.clone(),
                        second: id.clone(),
                    });
                }
                colours.insert(folded, id.clone());
            }
        }
        Ok(Vocabulary { lexicon, units, colours })
    }

    /// The vocabulary with the lexicon of the default (embedded) pack,
    /// built once. Should the embedded pack fail to compile, which its own
    /// tests rule out, quantities fall back to this crate's units only.
    pub fn default_pack() -> &'static Vocabulary {
        static DEFAULT: OnceLock<Vocabulary> = OnceLock::new();
        DEFAULT.get_or_init(|| {
            let lexicon = rempart_core::Pack::embedded().map(|pack| pack.lexicon).unwrap_or_default();
            // The data file is compiled in and parsed by this crate's tests.
            Vocabulary::new(lexicon).or_else(|_| Vocabulary::new(Lexicon::default())).unwrap_or_else(|_| Vocabulary {
                lexicon: Lexicon::default(),
                units: HashMap::new(),
                colours: HashMap::new(),
            })
        })
    }

    /// The attributes stated in `texts` (a title, a brand…), read one text
    /// after the other.
    pub fn read<'t>(&self, texts: impl IntoIterator<Item = &'t str>) -> Attributes {
        let mut attributes = Attributes::default();
        for text in texts {
            let view = PlainView::new(text);
            let plain = view.as_ref().map_or(text, PlainView::as_str);
            self.read_one(&tokens(plain), &mut attributes);
        }
        attributes
    }

    /// The meanings of a unit spelling (folded), the lexicon's and this
    /// crate's.
    fn unit(&self, folded: &str) -> Vec<(AttributeKind, f64)> {
        let mut meanings: Vec<(AttributeKind, f64)> = self
            .lexicon
            .unit(folded)
            .unwrap_or_default()
            .iter()
            .filter_map(|&(kind, factor)| Some((AttributeKind::of_quantity(kind)?, factor)))
            .collect();
        if let Some(&(kind, factor)) = self.units.get(folded) {
            if !meanings.iter().any(|m| m.0 == kind) {
                meanings.push((kind, factor));
            }
        }
        meanings
    }

    /// The unit at `at` and how many tokens it spans: one word, two words
    /// (`fl oz`), or `"` (inches) and `%`.
    fn unit_at(&self, tokens: &[Token], at: usize) -> Option<(Vec<(AttributeKind, f64)>, usize)> {
        match tokens.get(at)?.kind {
            TokenKind::Symbol('"') => Some((vec![(AttributeKind::Length, 2.54)], 1)),
            TokenKind::Symbol('%') => Some((vec![(AttributeKind::Concentration, 1.0)], 1)),
            TokenKind::Word => {
                if let Some(next) = tokens.get(at + 1).filter(|t| t.kind == TokenKind::Word) {
                    let two = format!("{}{}", tokens[at].folded, next.folded);
                    let meanings = self.unit(&two);
                    if !meanings.is_empty() {
                        return Some((meanings, 2));
                    }
                }
                let meanings = self.unit(&tokens[at].folded);
                (!meanings.is_empty()).then_some((meanings, 1))
            }
            _ => None,
        }
    }

    fn read_one(&self, tokens: &[Token], out: &mut Attributes) {
        let mut used = vec![false; tokens.len()];
        let is_number = |i: usize| tokens.get(i).is_some_and(|t| matches!(t.kind, TokenKind::Number(_)));
        let is_times = |i: usize| {
            tokens
                .get(i)
                .is_some_and(|t| t.kind == TokenKind::Symbol('x') || (t.kind == TokenKind::Word && t.folded == "x"))
        };
        let number = |i: usize| match tokens.get(i).map(|t| t.kind) {
            Some(TokenKind::Number(n)) => n,
            _ => 0.0,
        };
        // Pass 1: quantities, sizes and counts around numbers.
        let mut i = 0;
        while i < tokens.len() {
            if !is_number(i) {
                // `set of 10`, `lot de 6`, `pack 24`.
                let word = &tokens[i];
                if word.kind == TokenKind::Word && self.lexicon.has(WordList::PackBefore, &word.folded) {
                    let link = usize::from(
                        tokens.get(i + 1).is_some_and(|t| self.lexicon.has(WordList::CountLink, &t.folded)),
                    );
                    let at = i + 1 + link;
                    if is_number(at) && !is_times(at + 1) {
                        let text = span_text(tokens, i, at);
                        out.push(quantity(AttributeKind::Pieces, number(at), text));
                        used[i..=at].iter_mut().for_each(|u| *u = true);
                        i = at + 1;
                        continue;
                    }
                }
                i += 1;
                continue;
            }
            // A number glued on to letters or digits before it is part of a
            // code (`xms3 gb`, `pc2-6400 mhz`, `2948b001 cartridge`): a unit
            // after it belongs to the code's neighbour, not to it.
            if tokens[i].glued {
                i += 1;
                continue;
            }
            // `60 x 80`, `8x10x2` with an optional unit after.
            let mut end = i;
            let mut sizes = vec![number(i)];
            while is_times(end + 1) && is_number(end + 2) {
                sizes.push(number(end + 2));
                end += 2;
            }
            // A unit after the number (or the size), glued or not, or after
            // a hyphen (`10-pack`).
            let hyphen = usize::from(tokens.get(end + 1).is_some_and(|t| t.kind == TokenKind::Symbol('-') && t.glued));
            let unit = self.unit_at(tokens, end + 1 + hyphen).filter(|(_, span)| {
                // A unit word glued on to more letters or digits is part of
                // a code (`16gbx`), not a unit.
                tokens
                    .get(end + 1 + hyphen + span)
                    .is_none_or(|after| !after.glued || after.kind == TokenKind::Symbol('.'))
            });
            match unit {
                Some((meanings, span)) => {
                    let last = end + hyphen + span;
                    let text = span_text(tokens, i, last);
                    // Each size of `60 x 80 cm` is a length of its own, so
                    // that a relisting that reorders the words (`60 cm x
                    // 80`) still agrees value by value.
                    for (kind, factor) in meanings {
                        for size in &sizes {
                            out.push(quantity(kind, size * factor, text.clone()));
                        }
                    }
                    used[i..=last].iter_mut().for_each(|u| *u = true);
                    i = last + 1;
                }
                None if sizes.len() > 1 => {
                    // A bare size: each number is a code, compared one by
                    // one for the same reason.
                    for k in (i..=end).step_by(2) {
                        out.push(Attribute {
                            kind: AttributeKind::Code,
                            value: AttributeValue::Key(format_number(number(k))),
                            text: tokens[k].text.clone(),
                        });
                    }
                    used[i..=end].iter_mut().for_each(|u| *u = true);
                    i = end + 1;
                }
                None => i += 1,
            }
        }
        // Pass 2: codes (glued runs with a number) and colours.
        let mut i = 0;
        while i < tokens.len() {
            if used[i] {
                i += 1;
                continue;
            }
            let mut end = i;
            while tokens.get(end + 1).is_some_and(|t| t.glued && !used[end + 1]) {
                end += 1;
            }
            let numbers: Vec<String> = tokens[i..=end]
                .iter()
                .filter_map(|t| match t.kind {
                    TokenKind::Number(n) => Some(format_number(n)),
                    _ => None,
                })
                .collect();
            if !numbers.is_empty() {
                out.push(Attribute {
                    kind: AttributeKind::Code,
                    value: AttributeValue::Key(numbers.join("-")),
                    text: span_text(tokens, i, end),
                });
            } else {
                for token in &tokens[i..=end] {
                    if let Some(colour) = self.colours.get(&token.folded).filter(|_| token.kind == TokenKind::Word) {
                        out.push(Attribute {
                            kind: AttributeKind::Colour,
                            value: AttributeValue::Key(colour.clone()),
                            text: token.text.clone(),
                        });
                    }
                }
            }
            i = end + 1;
        }
    }
}

fn quantity(kind: AttributeKind, amount: f64, text: String) -> Attribute {
    Attribute { kind, value: AttributeValue::Amount(amount), text }
}

/// The text of tokens `from..=to` as written, with a space where there
/// was one.
fn span_text(tokens: &[Token], from: usize, to: usize) -> String {
    let mut text = String::new();
    for (k, token) in tokens[from..=to].iter().enumerate() {
        if k > 0 && !token.glued {
            text.push(' ');
        }
        text.push_str(&token.text);
    }
    text
}

/// A number as a key: no trailing zeros (`2.0` → `2`, `2.50` → `2.5`).
fn format_number(n: f64) -> String {
    let rounded = (n * 1000.0).round() / 1000.0;
    format!("{rounded}")
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum TokenKind {
    Number(f64),
    Word,
    Symbol(char),
}

#[derive(Clone, Debug)]
struct Token {
    kind: TokenKind,
    /// As written.
    text: String,
    /// Words folded for lookup (case, accents, homoglyphs); empty otherwise.
    folded: String,
    /// No space (or separator) before it.
    glued: bool,
}

/// Splits plain text into numbers, words and the symbols that matter
/// (`x` `×` `*` between sizes, `"` for inches, `%`, `-` `/` `.` inside
/// codes); every other character separates.
fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<Token> = Vec::new();
    let mut glued = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let mut digits: String = chars[start..i].iter().collect();
            // A decimal (`2.5`, `1,5`) or a thousands group (`1,000`).
            if i + 1 < chars.len() && matches!(chars[i], '.' | ',') && chars[i + 1].is_ascii_digit() {
                let separator = chars[i];
                let group_start = i + 1;
                let mut group_end = group_start;
                while group_end < chars.len() && chars[group_end].is_ascii_digit() {
                    group_end += 1;
                }
                let group: String = chars[group_start..group_end].iter().collect();
                if separator == ',' && group.len() == 3 {
                    digits.push_str(&group);
                } else {
                    digits.push('.');
                    digits.push_str(&group);
                }
                i = group_end;
            }
            let value = digits.parse::<f64>().unwrap_or(0.0);
            out.push(Token {
                kind: TokenKind::Number(value),
                text: chars[start..i].iter().collect(),
                folded: String::new(),
                glued,
            });
            glued = true;
        } else if c.is_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_alphabetic() {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let folded = fold_word(&text);
            out.push(Token { kind: TokenKind::Word, text, folded, glued });
            glued = true;
        } else if matches!(c, '×' | '*' | '"' | '″' | '%' | '-' | '/' | '.') {
            let symbol = match c {
                '×' | '*' => 'x',
                '″' => '"',
                other => other,
            };
            out.push(Token { kind: TokenKind::Symbol(symbol), text: c.to_string(), folded: String::new(), glued });
            // A symbol glues what follows only inside a code (`pu27-wt`);
            // after a space (`screen - ntsc`) it stands alone.
            glued = glued && matches!(symbol, '-' | '/' | '.');
            i += 1;
        } else {
            glued = false;
            i += 1;
        }
    }
    // A trailing `-`, `/` or `.` glued to nothing after it ends its run.
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<(AttributeKind, String)> {
        Attributes::of_texts([text])
            .0
            .into_iter()
            .map(|a| {
                let value = match a.value {
                    AttributeValue::Amount(n) => format_number(n),
                    AttributeValue::Key(k) => k,
                };
                (a.kind, value)
            })
            .collect()
    }

    fn has(text: &str, kind: AttributeKind, value: &str) -> bool {
        read(text).iter().any(|(k, v)| *k == kind && v == value)
    }

    #[test]
    fn the_data_file_parses_and_no_word_is_two_colours() {
        Vocabulary::new(Lexicon::default()).expect("vocab/attributes.toml");
        let pack = rempart_core::Pack::embedded().expect("embedded pack");
        assert!(pack.lexicon.size().0 > 0, "the pack has unit words");
    }

    #[test]
    fn units_are_normalised_to_one_canonical_unit() {
        use AttributeKind::*;
        // Volume in ml: 1 l = 1000 ml, 1,5 l = 1500 ml, cl and dl.
        assert!(has("Water bottle 1 l", Volume, "1000"));
        assert!(has("Water bottle 1000ml", Volume, "1000"));
        assert!(has("Bouteille 1,5 L", Volume, "1500"));
        assert!(has("Flasche 75cl", Volume, "750"));
        assert!(has("mop bucket 35 qt", Volume, &format_number(35.0 * 946.352946)));
        // Data size in GB, decimal: 1 TB = 1000 GB; 512 MB = 0.512 GB.
        assert!(has("portable hard drive 1TB", DataSize, "1000"));
        assert!(has("portable hard drive 1000 GB", DataSize, "1000"));
        assert!(has("clé USB 512 Mo", Code, "512") || has("clé USB 512 Mo", DataSize, "0.512"));
        assert!(has("usb drive 16gb", DataSize, "16"));
        assert!(has("clé usb 16 Go", DataSize, "16"));
        // Length in cm: inches glued, spaced, with a dot or a quote.
        assert!(has("edge diskgo 2.5in. backup drive", Length, "6.35"));
        assert!(has("monitor 24\" lcd", Length, "60.96"));
        assert!(has("Poupée 100cm", Length, "100"));
        assert!(has("câble 2 m", Length, "200"));
        // Mass in g, power in mW, energy in J, frequency in Hz, charge.
        assert!(has("Sac de riz 2 kg", Mass, "2000"));
        assert!(has("Laser 5mW", Power, "5"));
        assert!(has("projector lamp 200w", Power, "200000"));
        assert!(has("cyberpower 2400 joules surge protector", Energy, "2400"));
        assert!(has("intel core 2.4 GHz", Frequency, "2400000000"));
        assert!(has("power bank 10000mAh", Charge, "10000"));
    }

    #[test]
    fn equal_amounts_in_different_units_agree() {
        let litre = Attributes::of_texts(["Evian 1 l"]);
        let millilitres = Attributes::of_texts(["Evian 1000 ml"]);
        let terabyte = Attributes::of_texts(["hard drive 1 TB"]);
        let gigabytes = Attributes::of_texts(["hard drive 1000 GB"]);
        let inch = Attributes::of_texts(["drive 2.5in"]);
        let cm = Attributes::of_texts(["drive 6.35 cm"]);
        for (a, b) in [(&litre, &millilitres), (&terabyte, &gigabytes), (&inch, &cm)] {
            let comparison = compare(a, b);
            assert!(comparison.contradicted.is_empty(), "{comparison:?}");
            assert_eq!(comparison.agreed.len(), 1, "{comparison:?}");
        }
    }

    #[test]
    fn counts_sizes_codes_and_colours() {
        use AttributeKind::*;
        assert!(has("comprehensive stereo phone jack set of 25", Pieces, "25"));
        assert!(has("Coffret 6 verres", Pieces, "6"));
        assert!(has("AA batteries pack of 24", Pieces, "24"));
        assert!(has("cyberpower 8 outlet surge protector", Pieces, "8"));
        assert!(has("batteries 10-pack", Pieces, "10"));
        assert!(has("da-lite manual screen - 60 x 80 video format", Code, "60"));
        assert!(has("da-lite manual screen - 60 x 80 video format", Code, "80"));
        assert!(has("draper electric screen - av format 8x10", Code, "10"));
        assert!(has("kingston hyperx 4gb kit 2 x 2gb ddr3", DataSize, "2"));
        // A number glued to a code takes no unit: `pc2-6400 mhz`.
        assert!(has("pc2-6400 mhz 800", Code, "2-6400"));
        assert!(!read("pc2-6400 mhz 800").iter().any(|(k, _)| *k == Frequency));
        assert!(has("draper m1300 access series v electric screen", Code, "1300"));
        assert!(has("asus 1015pn-pu27-wt netbook", Code, "1015-27"));
        assert!(has("usb 2.0 hard drive", Code, "2"));
        assert!(has("asus white eee netbook", Colour, "white"));
        assert!(has("Robe noire en coton", Colour, "black"));
        assert!(has("Kleid SCHWARZ", Colour, "black"));
        assert!(has("vestido negro", Colour, "black"));
        assert!(has("Jacke grün", Colour, "green"));
        // Homoglyphs and zero-width characters change nothing.
        assert!(has("bl\u{0430}ck ph\u{043e}ne c\u{0430}se 16\u{200b}gb", Colour, "black"));
        assert!(has("bl\u{0430}ck ph\u{043e}ne c\u{0430}se 16\u{200b}gb", DataSize, "16"));
        // Letters around a unit make a code, not a unit: `1st`, `3x`.
        assert!(!read("1st edition").iter().any(|(k, _)| *k == Pieces));
        assert!(has("camcorder w 3x optical zoom", Code, "3"));
    }

    #[test]
    fn variants_contradict_and_relisting_edits_do_not() {
        let removed = Attributes::of_texts(["action sport drives 16gb santa cruz usb snow drive spider"]);
        let variant = Attributes::of_texts(["action sport drives 4gb santa cruz usb snow drive spider"]);
        let comparison = compare(&variant, &removed);
        assert_eq!(comparison.contradicted.len(), 1);
        assert_eq!(comparison.contradicted[0].kind, AttributeKind::DataSize);
        assert_eq!(comparison.contradicted[0].listing, ["4gb"]);
        assert_eq!(comparison.contradicted[0].removed, ["16gb"]);
        assert!(comparison.describe().contains("data size 4gb vs 16gb"), "{}", comparison.describe());

        let removed = Attributes::of_texts(["asus blue 10.1 eee seashell 1015pn-pu27-bu netbook"]);
        let variant = Attributes::of_texts(["asus white 10.1 eee seashell 1015pn-pu27-wt netbook"]);
        let comparison = compare(&variant, &removed);
        let kinds: Vec<AttributeKind> = comparison.contradicted.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, [AttributeKind::Colour]);
        assert!(comparison.agreed.iter().any(|a| a.text == "1015pn-pu27-wt"));

        // A relisting that adds a year, drops the size, reorders, upper-cases
        // and puts homoglyphs in contradicts nothing.
        let removed = Attributes::of_texts(["draper matte white access series e electric screen - ntsc 100 diagonal"]);
        for relisted in [
            "2026 draper matte white access series e electric screen - ntsc 100 diagonal",
            "draper matte white access series e electric screen - ntsc diagonal",
            "DRAPER - MATTE - WHITE - ACCESS - SERIES - E - ELECTRIC - SCREEN - - - NTSC - 100 - DIAGONAL!!",
            "dr\u{0430}per m\u{0430}tte white \u{200b}access series e electric screen ntsc 100 diagonal",
            "draper white matte access series e electric screen - 100 ntsc diagonal",
        ] {
            let comparison = compare(&Attributes::of_texts([relisted]), &removed);
            assert!(comparison.contradicted.is_empty(), "{relisted}: {comparison:?}");
        }
        // A word moved next to another number changes what the numbers
        // read as, not which numbers are stated.
        for (relisted, original) in [
            ("scotch bubble mailer 6 count 25", "scotch bubble mailer 6 25 count"),
            ("boss chaos extreme 350 6.5 watt speakers", "boss chaos extreme 350 watt 6.5 speakers"),
            ("roocase 2 1 in stylus pen", "roocase 2 in 1 stylus pen"),
        ] {
            let comparison = compare(&Attributes::of_texts([relisted]), &Attributes::of_texts([original]));
            assert!(comparison.contradicted.is_empty(), "{relisted}: {comparison:?}");
        }
        // A side that states nothing of a kind contradicts nothing.
        let comparison = compare(&Attributes::of_texts(["drive spider"]), &Attributes::of_texts(["16gb drive spider"]));
        assert_eq!(comparison, AttributeComparison::default());
    }

    #[test]
    fn score_lowers_per_contradicting_kind() {
        let comparison = AttributeComparison {
            agreed: Vec::new(),
            contradicted: vec![Contradiction {
                kind: AttributeKind::Code,
                listing: vec!["100".into()],
                removed: vec!["161".into()],
            }],
        };
        assert!((comparison.score(0.9) - (0.9 - CONTRADICTION_PENALTY)).abs() < 1e-12);
        assert_eq!(AttributeComparison::default().score(0.7), 0.7);
        let twice = AttributeComparison {
            contradicted: [comparison.contradicted.clone(), comparison.contradicted.clone()].concat(),
            ..comparison
        };
        assert_eq!(twice.score(0.2), 0.0);
    }

    #[test]
    fn serde_round_trip() {
        let attributes = Attributes::of_texts(["asus white 16gb netbook 1015pn"]);
        let json = serde_json::to_string(&attributes).unwrap_or_default();
        let back: Attributes = serde_json::from_str(&json).expect("round trip");
        assert_eq!(back, attributes);
    }
}
