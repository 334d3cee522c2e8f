//! Extraction of stated quantities: sizes, power, voltage, volume, energy,
//! mass, concentration, counts and ages, each converted to one canonical
//! unit and tied to its exact span in the original text.
//!
//! Written by hand rather than as one regular expression: the grammar has
//! ranges (`8-10 ans` gives both ends), compound forms (`3'2"`,
//! `4ft 1in`, `1m05`), multi-word units (`millions de volts`, `pack of`)
//! and number formats that depend on what follows (`10.000` vs `1,5`).
//! A single left-to-right scan does all of it without backtracking and
//! touches a field only where it has a digit.

use std::borrow::Cow;

use serde::Serialize;

use crate::bytescan::first_ascii_digit;
use crate::lexicon::{Lexicon, UnitMeaning, Word, WordList};
use crate::normalize::PlainView;

/// The kinds of quantity the policy language can compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantityKind {
    /// Any length or size, in cm.
    Length,
    /// A length that states how tall the product is, in cm: lengths in the
    /// title, in a height-like attribute, or after a height word.
    Height,
    /// Optical or electrical power, in mW.
    Power,
    /// Voltage, in V.
    Voltage,
    /// Volume, in ml.
    Volume,
    /// Energy (muzzle energy), in J.
    Energy,
    /// Draw weight of bows and crossbows, in lb.
    DrawWeight,
    /// Mass, in g.
    Mass,
    /// Concentration, in %.
    Concentration,
    /// Number of puffs of a vaping device.
    Puffs,
    /// Number of pieces in a pack.
    Pieces,
    /// Age, in years.
    Age,
}

impl QuantityKind {
    /// All kinds, in a stable order.
    pub const ALL: [QuantityKind; 12] = [
        QuantityKind::Length,
        QuantityKind::Height,
        QuantityKind::Power,
        QuantityKind::Voltage,
        QuantityKind::Volume,
        QuantityKind::Energy,
        QuantityKind::DrawWeight,
        QuantityKind::Mass,
        QuantityKind::Concentration,
        QuantityKind::Puffs,
        QuantityKind::Pieces,
        QuantityKind::Age,
    ];

    /// The name used in policy expressions.
    pub fn name(self) -> &'static str {
        match self {
            QuantityKind::Length => "length",
            QuantityKind::Height => "height",
            QuantityKind::Power => "power",
            QuantityKind::Voltage => "voltage",
            QuantityKind::Volume => "volume",
            QuantityKind::Energy => "energy",
            QuantityKind::DrawWeight => "draw_weight",
            QuantityKind::Mass => "mass",
            QuantityKind::Concentration => "concentration",
            QuantityKind::Puffs => "puffs",
            QuantityKind::Pieces => "pieces",
            QuantityKind::Age => "age",
        }
    }

    /// Parses a policy-expression name.
    pub fn from_name(name: &str) -> Option<QuantityKind> {
        QuantityKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The canonical unit values are expressed in.
    pub fn canonical_unit(self) -> &'static str {
        match self {
            QuantityKind::Length | QuantityKind::Height => "cm",
            QuantityKind::Power => "mW",
            QuantityKind::Voltage => "V",
            QuantityKind::Volume => "ml",
            QuantityKind::Energy => "J",
            QuantityKind::DrawWeight => "lb",
            QuantityKind::Mass => "g",
            QuantityKind::Concentration => "%",
            QuantityKind::Puffs | QuantityKind::Pieces => "",
            QuantityKind::Age => "years",
        }
    }
}

/// One stated quantity.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantity {
    pub kind: QuantityKind,
    /// Value in the kind's canonical unit.
    pub value: f64,
    /// Byte span in the original field text.
    pub start: usize,
    pub end: usize,
}

/// Where a text comes from, which decides whether its lengths are heights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeightContext {
    /// Every length is a height (titles, height-like attributes).
    Always,
    /// A length is a height only after a height word (descriptions).
    AfterHeightWord,
    /// Never (categories, other attributes).
    Never,
}

/// What a unit word (already folded) measures and its factor to the
/// canonical unit: the notation symbols `%`, `'`, `''` and `"`, and the
/// pack's unit words (`word`, the lexicon's entry for it; a symbol folds to
/// no lexicon key, so the two never meet).
fn unit_meanings<'a>(unit: &str, word: Word<'a>) -> &'a [UnitMeaning] {
    use QuantityKind::*;
    match unit {
        "%" => &[(Concentration, 1.0)],
        "\"" | "''" => &[(Length, 2.54)],
        "'" => &[(Length, 30.48)],
        _ => word.units(),
    }
}

/// The folded word right before a number, as the lexicon knows it, and its
/// folded length.
#[derive(Clone, Copy)]
struct Prefix<'l> {
    word: Word<'l>,
    len: usize,
}

impl<'l> Prefix<'l> {
    fn before(text: &str, at: usize, lex: &'l Lexicon) -> Prefix<'l> {
        let folded = word_before(text, at);
        Prefix { word: lex.word(&folded), len: folded.len() }
    }
}

/// Whether a number of years ending its unit at `unit_end` is a duration
/// (a warranty, a shelf life, an experience) rather than an age.
fn is_duration(text: &str, unit_end: usize, prefix: Prefix<'_>, lex: &Lexicon) -> bool {
    if prefix.word.is(WordList::Warranty) || prefix.word.is(WordList::DurationBefore) {
        return true;
    }
    let mut after = text[unit_end..]
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| lex.word(&fold_word(w)));
    match after.next() {
        // `2 ans de garantie`, `3 years of warranty`: one word further.
        Some(w) if w.is(WordList::DurationLink) => after.next().is_some_and(|w| w.is(WordList::Warranty)),
        Some(w) => w.is(WordList::Warranty) || w.is(WordList::DurationAfter),
        None => false,
    }
}

/// Extracts every quantity stated in `text`, reading units and the words
/// around numbers with the pack's [`Lexicon`].
///
/// Reads the normaliser's [`PlainView`] of the text when it differs (a
/// no-break or other Unicode space, an invisible character, full-width
/// forms like `１００ｃｍ`), so `100\u{A0}cm` and `100\u{200B}cm` are read as
/// `100 cm` is; spans are mapped back to the original.
pub fn extract(text: &str, context: HeightContext, lex: &Lexicon) -> Vec<Quantity> {
    use crate::normalize::props::{leads_in, LEAD_DIGIT, LEAD_VIEW};
    let leads = leads_in(text);
    // No digit (ASCII or full-width): nothing to read.
    if leads & LEAD_DIGIT == 0 {
        return Vec::new();
    }
    let view = if leads & LEAD_VIEW != 0 { PlainView::of_candidate(text) } else { None };
    match view {
        None => extract_ascii_digits(text, context, lex),
        Some(view) => {
            let mut found = extract_ascii_digits(view.as_str(), context, lex);
            for q in &mut found {
                (q.start, q.end) = view.original_span(q.start, q.end);
            }
            found
        }
    }
}

fn extract_ascii_digits(text: &str, context: HeightContext, lex: &Lexicon) -> Vec<Quantity> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(to_digit) = bytes.get(i..).and_then(first_ascii_digit) {
        i += to_digit;
        if i > 0 && is_word_byte(bytes[i - 1]) && !after_x(bytes, i) && !glued_to_word(text, i) {
            i += 1;
            continue;
        }
        let number_start = i;
        // After an age or pack word a bare number stands alone: in
        // `age 13 160cm` the space is not a thousands separator.
        let prefix = Prefix::before(text, i, lex);
        let spaced_groups = !is_count_context(prefix.word);
        let Some((value, after_number)) = parse_number_with(bytes, i, spaced_groups) else {
            i += 1;
            continue;
        };
        i = scan_quantity(text, number_start, value, after_number, (context, lex), prefix, &mut out);
    }
    out
}

/// A number glued to the word before it (`poupée100cm`, `age18`): two
/// letters or more right before its first digit. A single letter is a
/// model number or leetspeak (`x26`, `s3x`), and a glued `0` is a letter
/// `o` in leetspeak (`her0in`) unless a decimal part follows (`0,5l`).
fn glued_to_word(text: &str, i: usize) -> bool {
    let bytes = text.as_bytes();
    if bytes[i] == b'0' && !matches!(bytes.get(i + 1), Some(b'.' | b',')) {
        return false;
    }
    match (i.checked_sub(2).map(|k| bytes[k]), bytes[i - 1]) {
        (Some(a), b) if a.is_ascii() && b.is_ascii() => a.is_ascii_alphabetic() && b.is_ascii_alphabetic(),
        _ => text[..i].chars().rev().take(2).filter(|c| c.is_alphabetic()).count() == 2,
    }
}

/// `x10`, `x 10`: the number after an `x` prefix is a pack count.
fn after_x(bytes: &[u8], i: usize) -> bool {
    i >= 1 && (bytes[i - 1] == b'x' || bytes[i - 1] == b'X') && (i < 2 || !is_word_byte(bytes[i - 2]))
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// Reads a number at `i`: `10`, `10 000`, `10.000`, `10,000`, `1,5`, `1.5`.
/// Returns its value and the byte after it.
fn parse_number(bytes: &[u8], i: usize) -> Option<(f64, usize)> {
    parse_number_with(bytes, i, true)
}

/// Whether the word before a number makes it a bare count or age.
fn is_count_context(prefix: Word<'_>) -> bool {
    prefix.is(WordList::AgeBefore) || prefix.is(WordList::PackBefore) || prefix.is(WordList::CountLink)
}

/// Like [`parse_number`]; `spaced_groups` says whether a space may
/// separate thousands (`10 000`).
fn parse_number_with(bytes: &[u8], start: usize, spaced_groups: bool) -> Option<(f64, usize)> {
    let digits = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let ascii = |from: usize, to: usize| std::str::from_utf8(&bytes[from..to]).ok();
    let first = digits(start);
    let mut i = start + first;
    // The literal `f64` parses: borrowed from the text while it is written
    // there as is (`150`, `1.5`), rebuilt only without thousands
    // separators or with a decimal comma.
    let mut literal = Cow::Borrowed(ascii(start, i)?);
    let mut groups = 0;
    // Thousands groups.
    loop {
        let sep = bytes.get(i).copied();
        let sep_len = match sep {
            // Unicode spaces (`10 000` with a no-break space) arrive here
            // as ASCII spaces through the plain view.
            Some(b' ') if spaced_groups => 1,
            Some(b'.') | Some(b',') => 1,
            _ => 0,
        };
        if sep_len == 0 {
            break;
        }
        let group = digits(i + sep_len);
        let followed_by_digit = bytes.get(i + sep_len + group).is_some_and(u8::is_ascii_digit);
        let is_thousands = group == 3 && !followed_by_digit && literal != "0" && (groups > 0 || literal.len() <= 3);
        if is_thousands {
            groups += 1;
            literal.to_mut().push_str(ascii(i + sep_len, i + sep_len + 3)?);
            i += sep_len + 3;
            continue;
        }
        if (sep == Some(b'.') || sep == Some(b',')) && group > 0 {
            if sep == Some(b'.') && groups == 0 {
                literal = Cow::Borrowed(ascii(start, i + 1 + group)?);
            } else {
                let fraction = ascii(i + 1, i + 1 + group)?;
                let owned = literal.to_mut();
                owned.push('.');
                owned.push_str(fraction);
            }
            i += 1 + group;
        }
        break;
    }
    decimal_value(&literal).filter(|v| v.is_finite()).map(|v| (v, i))
}

/// The value of `literal`, ASCII digits with at most one `.` (what
/// `parse_number_with` builds), exactly as `str::parse::<f64>` gives it.
///
/// `str::parse` handles signs, exponents, `inf` and arbitrary lengths, and
/// cost about 240 instructions per number in the profile (BENCHMARKS.md,
/// issue 14, ninth step); the numbers of product text are short. With at
/// most 15 significant digits the digits form an integer below 2^53 and
/// the fraction a power of ten up to 10^15, both exact as `f64`, and one
/// IEEE division of two exact values is correctly rounded, as `parse` is
/// (Clinger's fast path). Longer literals go to `parse`.
fn decimal_value(literal: &str) -> Option<f64> {
    const POWERS_OF_TEN: [f64; 16] =
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    let (mut digits, mut fraction_digits, mut mantissa) = (0usize, None::<usize>, 0u64);
    for &byte in literal.as_bytes() {
        match byte {
            b'0'..=b'9' if digits < 15 => {
                mantissa = mantissa * 10 + u64::from(byte - b'0');
                digits += 1;
                if let Some(count) = fraction_digits.as_mut() {
                    *count += 1;
                }
            }
            b'.' if fraction_digits.is_none() => fraction_digits = Some(0),
            _ => return literal.parse().ok(),
        }
    }
    if digits == 0 {
        return literal.parse().ok();
    }
    // Exact: `mantissa < 10^15 < 2^53`.
    Some(mantissa as f64 / POWERS_OF_TEN[fraction_digits.unwrap_or(0)])
}

/// A unit word read after a number, already folded for lookup.
struct UnitWord<'a> {
    unit: Cow<'a, str>,
    end: usize,
}

/// Reads the unit after a number: one optional space, then letters, or a
/// symbol unit (`%`, `'`, `"`, `''`, `+`).
fn read_unit(text: &str, mut i: usize) -> Option<UnitWord<'_>> {
    let bytes = text.as_bytes();
    if bytes.get(i) == Some(&b' ')
        || bytes.get(i) == Some(&b'-') && bytes.get(i + 1).is_some_and(|b| b.is_ascii_alphabetic())
    {
        i += 1;
    }
    match bytes.get(i)? {
        b'%' => return Some(UnitWord { unit: Cow::Borrowed("%"), end: i + 1 }),
        b'"' => return Some(UnitWord { unit: Cow::Borrowed("\""), end: i + 1 }),
        b'\'' if bytes.get(i + 1) == Some(&b'\'') => return Some(UnitWord { unit: Cow::Borrowed("''"), end: i + 2 }),
        b'\'' => return Some(UnitWord { unit: Cow::Borrowed("'"), end: i + 1 }),
        _ => {}
    }
    if text[i..].starts_with('’') || text[i..].starts_with('′') {
        return Some(UnitWord { unit: Cow::Borrowed("'"), end: i + 3 });
    }
    if text[i..].starts_with('”') || text[i..].starts_with('″') {
        return Some(UnitWord { unit: Cow::Borrowed("\""), end: i + 3 });
    }
    let word_len: usize = text[i..].chars().take_while(|c| c.is_alphabetic()).map(char::len_utf8).sum();
    if word_len == 0 {
        return None;
    }
    let mut unit = fold_word(&text[i..i + word_len]);
    let mut end = i + word_len;
    // Two-word units.
    if unit == "fl" {
        if let Some(rest) = text[end..].strip_prefix(" oz").or_else(|| text[end..].strip_prefix(". oz")) {
            unit = Cow::Borrowed("floz");
            end = text.len() - rest.len();
        }
    }
    Some(UnitWord { unit, end })
}

/// Lower-cases and strips accents from a short word, for unit lookup:
/// the shared word folder, except that a letter run seller text would have
/// collapsed (`cmmm`) takes the full folder, so units read as in the text.
fn fold_word(word: &str) -> Cow<'_, str> {
    // Most unit words are written folded already (`cm`, `ml`, `ans`): the
    // folders would copy them unchanged, once per number of the field.
    let is_folded = word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if is_folded && !crate::normalize::has_triple_letter(word.as_bytes()) {
        return Cow::Borrowed(word);
    }
    let folded = crate::normalize::fold_word(word);
    if crate::normalize::has_triple_letter(folded.as_bytes()) {
        return Cow::Owned(crate::normalize::Folded::new(word).as_str().replace(' ', ""));
    }
    Cow::Owned(folded)
}

/// Having read a number, reads what it measures and records it. Returns
/// where scanning continues.
fn scan_quantity(
    text: &str,
    start: usize,
    value: f64,
    after: usize,
    (context, lex): (HeightContext, &Lexicon),
    prefix: Prefix<'_>,
    out: &mut Vec<Quantity>,
) -> usize {
    let bytes = text.as_bytes();
    let age_prefix = prefix.word.is(WordList::AgeBefore);
    // Range: `8-10 ans`, `8 à 10 ans`, `8 to 10 years`, `age 8-10`.
    if let Some((second_start, second_value, second_after)) = range_second(text, after, age_prefix, lex) {
        if age_prefix {
            out.push(Quantity { kind: QuantityKind::Age, value, start, end: after });
            out.push(Quantity { kind: QuantityKind::Age, value: second_value, start: second_start, end: second_after });
            return second_after;
        }
        let before = out.len();
        let second_prefix = Prefix::before(text, second_start, lex);
        let next = scan_quantity(text, second_start, second_value, second_after, (context, lex), second_prefix, out);
        // The first number takes each reading of the second, in proportion.
        for k in before..out.len() {
            let Quantity { kind, value: second_reading, start: reading_start, end } = out[k];
            if reading_start == second_start {
                let ratio = if second_value != 0.0 { second_reading / second_value } else { 1.0 };
                out.push(Quantity { kind, value: value * ratio, start, end });
            }
        }
        return next;
    }
    if after_x(bytes, start)
        || prefix.word.is(WordList::PackBefore)
        || prefix.word.is(WordList::CountLink)
            && Prefix::before(text, start.saturating_sub(prefix.len + 1), lex).word.is(WordList::PackBefore)
    {
        out.push(Quantity { kind: QuantityKind::Pieces, value, start: start.saturating_sub(1), end: after });
        return after;
    }
    if bytes.get(after) == Some(&b'+') && !bytes.get(after + 1).is_some_and(u8::is_ascii_alphanumeric) {
        out.push(Quantity { kind: QuantityKind::Age, value, start, end: after + 1 });
        return after + 1;
    }
    let Some(unit) = read_unit(text, after) else {
        if age_prefix {
            out.push(Quantity { kind: QuantityKind::Age, value, start, end: after });
        }
        return after.max(start + 1);
    };
    // `1m05`, `1m50`: metres and centimetres.
    if unit.unit == "m" && unit.end == after + 1 {
        let cm_digits = bytes[unit.end..].iter().take_while(|b| b.is_ascii_digit()).count();
        if cm_digits == 2 {
            let cm: f64 = text[unit.end..unit.end + 2].parse().unwrap_or(0.0);
            push_length(out, text, value * 100.0 + cm, start, unit.end + 2, (context, lex));
            return unit.end + 2;
        }
    }
    let unit_word = lex.word(&unit.unit);
    // `million(s) de volts`, `1 million volts`.
    if unit_word.is(WordList::Million) {
        if let Some(volts) = million_volts(text, unit.end, lex) {
            out.push(Quantity { kind: QuantityKind::Voltage, value: value * 1e6, start, end: volts });
            return volts;
        }
    }
    let meanings = unit_meanings(&unit.unit, unit_word);
    let Some(&(first_kind, first_factor)) = meanings.first() else {
        if age_prefix {
            out.push(Quantity { kind: QuantityKind::Age, value, start, end: after });
        }
        return after;
    };
    // `2 years warranty`, `garantie 2 ans`: a duration, not an age.
    if first_kind == QuantityKind::Age && is_duration(text, unit.end, prefix, lex) {
        return unit.end;
    }
    // Feet then inches: `3'2"`, `4ft 1in`, `5 feet 2 inches`.
    let feet = value * first_factor;
    if first_kind == QuantityKind::Length && is_factor(feet, value, 30.48) {
        if let Some((inches, inches_end)) = trailing_inches(text, unit.end, lex) {
            push_length(out, text, feet + inches * 2.54, start, inches_end, (context, lex));
            return inches_end;
        }
    }
    for &(kind, factor) in meanings {
        if kind == QuantityKind::Length {
            push_length(out, text, value * factor, start, unit.end, (context, lex));
        } else {
            out.push(Quantity { kind, value: value * factor, start, end: unit.end });
        }
    }
    // `12 years old`, `8 ans et plus`: the unit already said it.
    unit.end
}

/// Whether `canonical` is `value` converted with `factor` (which unit a
/// length was written in: feet are 30.48 cm, inches 2.54).
fn is_factor(canonical: f64, value: f64, factor: f64) -> bool {
    (canonical - value * factor).abs() < 1e-9 * canonical.abs().max(1.0)
}

fn push_length(
    out: &mut Vec<Quantity>,
    text: &str,
    cm: f64,
    start: usize,
    end: usize,
    (context, lex): (HeightContext, &Lexicon),
) {
    out.push(Quantity { kind: QuantityKind::Length, value: cm, start, end });
    let is_height = match context {
        HeightContext::Always => true,
        HeightContext::Never => false,
        HeightContext::AfterHeightWord => height_word_before(text, start, lex),
    };
    if is_height {
        out.push(Quantity { kind: QuantityKind::Height, value: cm, start, end });
    }
}

/// A height word within the few words before `at`.
fn height_word_before(text: &str, at: usize, lex: &Lexicon) -> bool {
    let from = floor_char_boundary(text, at.saturating_sub(28));
    let window = crate::normalize::Folded::lean(&text[from..at]);
    window.as_str().rsplit(' ').take(3).any(|w| lex.has(WordList::HeightBefore, w))
}

/// The folded word right before `at` (skipping spaces and `:`).
fn word_before(text: &str, at: usize) -> Cow<'_, str> {
    let head = &text[..floor_char_boundary(text, at)];
    let trimmed = head.trim_end_matches([' ', ':']);
    let word_start =
        trimmed.char_indices().rev().take_while(|(_, c)| c.is_alphabetic()).last().map_or(trimmed.len(), |(i, _)| i);
    fold_word(&trimmed[word_start..])
}

/// The char boundary at or before `i`, at most the text's length.
/// (`str::floor_char_boundary` is stable only from Rust 1.91; the
/// workspace builds with 1.85.)
pub(crate) fn floor_char_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The char boundary at or after `i`, at most the text's length (see
/// [`floor_char_boundary`]).
pub(crate) fn ceil_char_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// After a first number ending at `after`: `-10`, ` - 10`, ` to 10`,
/// ` à 10`, ` bis 10`, ` a 10`. Returns the second number.
fn range_second(text: &str, after: usize, unitless_ok: bool, lex: &Lexicon) -> Option<(usize, f64, usize)> {
    let rest = &text[after..];
    let starts = |sep: &str| rest.get(..sep.len()).is_some_and(|head| head.eq_ignore_ascii_case(sep));
    let dash = ["-", " - ", "–", " – "].into_iter().find(|s| rest.starts_with(s)).map(str::len);
    let sep_len = dash.or_else(|| lex.ranges().iter().find(|s| starts(s)).map(String::len))?;
    let second = after + sep_len;
    if !text.as_bytes().get(second).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let (value, end) = parse_number(text.as_bytes(), second)?;
    // Only a range if the second number carries a unit, or an age word
    // came before the first.
    if !unitless_ok {
        read_unit(text, end)?;
    }
    Some((second, value, end))
}

fn million_volts(text: &str, after_million: usize, lex: &Lexicon) -> Option<usize> {
    let rest = &text[after_million..];
    for lead in lex.volt_leads() {
        if rest.get(..lead.len()).is_some_and(|head| head.eq_ignore_ascii_case(lead)) {
            return Some(after_million + lead.len());
        }
    }
    None
}

fn trailing_inches(text: &str, after_feet: usize, lex: &Lexicon) -> Option<(f64, usize)> {
    let bytes = text.as_bytes();
    let mut i = after_feet;
    while bytes.get(i) == Some(&b' ') {
        i += 1;
    }
    if !bytes.get(i).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let (inches, end) = parse_number(bytes, i)?;
    let unit = read_unit(text, end)?;
    let is_inch = unit_meanings(&unit.unit, lex.word(&unit.unit))
        .first()
        .is_some_and(|&(kind, factor)| kind == QuantityKind::Length && is_factor(inches * factor, inches, 2.54));
    (is_inch && inches < 12.0).then_some((inches, unit.end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use QuantityKind::*;

    /// The default pack's lexicon: unit words are pack data.
    fn lex() -> &'static Lexicon {
        static LEX: std::sync::OnceLock<Lexicon> = std::sync::OnceLock::new();
        LEX.get_or_init(|| crate::Pack::embedded().expect("embedded pack").lexicon)
    }

    proptest::proptest! {
        /// The fast path gives `str::parse`'s value, bit for bit, on the
        /// literals `parse_number_with` builds, short and long.
        #[test]
        fn decimal_value_is_what_parse_gives(
            whole in "[0-9]{0,20}",
            fraction in proptest::option::of("[0-9]{0,20}"),
        ) {
            let literal = match &fraction {
                Some(f) => format!("{whole}.{f}"),
                None => whole.clone(),
            };
            let expected = literal.parse::<f64>().ok().map(f64::to_bits);
            proptest::prop_assert_eq!(decimal_value(&literal).map(f64::to_bits), expected, "{:?}", literal);
        }
    }

    #[test]
    fn decimal_values_at_the_edges_of_the_fast_path() {
        for literal in [
            "0",
            "0.1",
            "1.5",
            "160",
            ".5",
            "5.",
            ".",
            "",
            "999999999999999",
            "9999999999999999",
            "0.000000000000001",
            "123456789012345.6",
            "9007199254740993",
            "1.00000000000000000001",
            "00000000000000001",
        ] {
            assert_eq!(
                decimal_value(literal).map(f64::to_bits),
                literal.parse::<f64>().ok().map(f64::to_bits),
                "{literal:?}"
            );
        }
    }

    /// `fold_word` gives what the full folder gives on words of letters.
    #[test]
    fn fold_word_agrees_with_the_full_folder() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = 1 + (state % 7) as usize;
            let word: String = (0..len)
                .map(|k| {
                    let pick = ((state >> (k * 6)) % 64) as usize;
                    // Mostly a few letters, so repeated runs occur too, and
                    // accented, full-width and Cyrillic look-alikes.
                    const OTHERS: [char; 10] = ['é', 'É', 'è', 'ß', 'æ', 'о', 'м', 'ｍ', 'µ', 'ï'];
                    match pick {
                        0..=39 => b"mMlLcCkKgG"[pick % 10] as char,
                        40..=53 => OTHERS[pick % 10],
                        _ => (b'A' + (pick % 26) as u8) as char,
                    }
                })
                .collect();
            let slow = crate::normalize::Folded::new(&word).as_str().replace(' ', "");
            assert_eq!(fold_word(&word), slow, "{word}");
        }
    }

    fn values(text: &str, kind: QuantityKind) -> Vec<f64> {
        extract(text, HeightContext::AfterHeightWord, lex())
            .into_iter()
            .filter(|q| q.kind == kind)
            .map(|q| (q.value * 100.0).round() / 100.0)
            .collect()
    }

    #[test]
    fn lengths_in_every_notation() {
        assert_eq!(values("doll 100 cm", Length), vec![100.0]);
        assert_eq!(values("doll 1m05", Length), vec![105.0]);
        assert_eq!(values("doll 1,25 m", Length), vec![125.0]);
        assert_eq!(values("3'2\" doll", Length), vec![96.52]);
        assert_eq!(values("4ft 1in doll", Length), vec![124.46]);
        assert_eq!(values("5 feet 2 inches", Length), vec![157.48]);
        assert_eq!(values("850mm", Length), vec![85.0]);
        assert_eq!(values("4’6” tall", Length), vec![137.16]);
    }

    #[test]
    fn number_formats() {
        assert_eq!(values("10 000 mW", Power), vec![10000.0]);
        assert_eq!(values("10.000mW", Power), vec![10000.0]);
        assert_eq!(values("1,5 W", Power), vec![1500.0]);
        assert_eq!(values("0,500 L", Volume), vec![500.0]);
        assert_eq!(values("1,000,000 volts", Voltage), vec![1_000_000.0]);
    }

    #[test]
    fn other_units() {
        assert_eq!(values("stun gun 5 millions de volts", Voltage), vec![5_000_000.0]);
        assert_eq!(values("spray 300ml", Volume), vec![300.0]);
        assert_eq!(values("50 cl", Volume), vec![500.0]);
        assert_eq!(values("air rifle 24J", Energy), vec![24.0]);
        assert_eq!(values("crossbow 150 lbs", DrawWeight), vec![150.0]);
        assert_eq!(values("bonbonne 640g", Mass), vec![640.0]);
        assert_eq!(values("hydroquinone 4%", Concentration), vec![4.0]);
        assert_eq!(values("PUFF 9000 taffes", Puffs), vec![9000.0]);
        assert_eq!(values("600 Züge", Puffs), vec![600.0]);
        assert_eq!(values("pack of 24", Pieces), vec![24.0]);
        assert_eq!(values("24 cartouches", Pieces), vec![24.0]);
        assert_eq!(values("x50", Pieces), vec![50.0]);
    }

    #[test]
    fn ages() {
        assert_eq!(values("poupée 8 ans", Age), vec![8.0]);
        assert_eq!(values("age 8-10", Age), vec![8.0, 10.0]);
        assert_eq!(values("8-10 years", Age), vec![10.0, 8.0]);
        assert_eq!(values("3+", Age), vec![3.0]);
        assert_eq!(values("18 months", Age), vec![1.5]);
        assert_eq!(values("Alter: 12", Age), vec![12.0]);
        assert_eq!(values("12 Jahre", Age), vec![12.0]);
        assert_eq!(values("doll age 13 160cm", Age), vec![13.0]);
        assert!(values("165 cm, 2 years warranty", Age).is_empty());
        assert!(values("garantie 2 ans", Age).is_empty());
        assert!(values("2 ans de garantie", Age).is_empty());
        assert_eq!(values("poupée 8 ans et plus", Age), vec![8.0]);
        assert_eq!(values("doll age 13 160cm", Length), vec![160.0]);
    }

    #[test]
    fn heights_need_context_in_descriptions() {
        assert_eq!(values("box 30 cm, height 158 cm", Height), vec![158.0]);
        assert_eq!(values("box 30 cm", Height), Vec::<f64>::new());
        let title = extract("Doll 100cm", HeightContext::Always, lex());
        assert!(title.iter().any(|q| q.kind == Height && q.value == 100.0));
    }

    #[test]
    fn spans_cover_the_stated_text() {
        let text = "Poupée 1m05 neuve";
        let q = &extract(text, HeightContext::Always, lex())[0];
        assert_eq!(&text[q.start..q.end], "1m05");
    }

    #[test]
    fn full_width_forms_are_read_and_mapped_back() {
        let text = "ｄｏｌｌ １００ｃｍ";
        let q = &extract(text, HeightContext::Always, lex())[0];
        assert_eq!((q.kind, q.value), (Length, 100.0));
        assert_eq!(&text[q.start..q.end], "１００ｃｍ");
    }

    #[test]
    fn unicode_spaces_and_invisible_characters_do_not_hide_quantities() {
        for gap in ["\u{A0}", "\u{202F}", "\u{2009}", "\u{2003}", "\u{1680}", "\u{2028}", "\u{85}", "\t", "\n"] {
            assert_eq!(values(&format!("doll 100{gap}cm"), Length), vec![100.0], "{gap:?}");
            assert_eq!(values(&format!("laser 5000{gap}mW"), Power), vec![5000.0], "{gap:?}");
        }
        for hidden in ["\u{200B}", "\u{200D}", "\u{2060}", "\u{FEFF}", "\u{AD}", "\u{3164}", "\u{202E}", "\u{E0041}"] {
            assert_eq!(values(&format!("doll 100{hidden}cm"), Length), vec![100.0], "{hidden:?}");
            assert_eq!(values(&format!("doll 1{hidden}00cm"), Length), vec![100.0], "{hidden:?}");
            assert_eq!(values(&format!("doll{hidden}100cm"), Length), vec![100.0], "{hidden:?}");
        }
        assert_eq!(values("laser 10\u{A0}000 mW", Power), vec![10000.0]);
        assert_eq!(values("laser 10\u{202F}000\u{A0}mW", Power), vec![10000.0]);
        let text = "Poupée 1\u{200B}m\u{A0}05";
        let q = &extract(text, HeightContext::Always, lex())[0];
        assert_eq!((q.kind, q.value), (Length, 100.0));
        let text = "Poupée 1\u{200B}00\u{A0}cm !";
        let q = &extract(text, HeightContext::Always, lex())[0];
        assert_eq!(&text[q.start..q.end], "1\u{200B}00\u{A0}cm");
    }

    #[test]
    fn numbers_glued_to_words_are_read() {
        assert_eq!(values("poupée100cm", Length), vec![100.0]);
        assert_eq!(values("SexDoll150cm", Length), vec![150.0]);
        assert_eq!(values("doll8ans", Age), vec![8.0]);
        assert_eq!(values("age18", Age), vec![18.0]);
        assert_eq!(values("vodka0,5l", Volume), vec![500.0]);
        // Leetspeak and model numbers are not sizes.
        assert!(values("her0in s3x l0li", Length).is_empty());
        assert!(values("M8x50mm", Length).is_empty());
        assert!(values("mp3 ps4 USB3", Length).is_empty());
    }

    #[test]
    fn model_numbers_are_not_quantities() {
        assert!(values("HSTNN-1836 mp3 ps4", Length).is_empty());
        assert!(values("X26 taser", Length).is_empty());
    }
}
