//! Normalisation: seller text → a canonical stream of words for matching,
//! with every byte mapped back to the original text.
//!
//! The canonical stream is lower-case words separated by single spaces.
//! It defeats the usual evasions without changing what words *mean*:
//!
//! * case, accents, ligatures and homoglyphs are folded (`fold.rs`);
//! * every `Default_Ignorable_Code_Point` character (zero-width
//!   characters, soft hyphens, Hangul fillers, bidirectional controls…)
//!   vanishes instead of splitting a word (`lo\u{200B}li` reads `loli`);
//!   where one sat between two word characters the word may *also* be
//!   read as split there ([`Folded::split_at_soft_boundaries`]), since an
//!   invisible character between two words is a way to hide the space
//!   between them (`silicone\u{3164}loli`);
//! * every run of separators (every `White_Space` character, punctuation,
//!   dashes, dots, underscores) becomes one space, so `Sex-Doll` and
//!   `sex.doll` read `sex doll`;
//! * a word may end where a letter meets a digit ([`ends_word_at`]), so a
//!   term glued to its size (`doll100cm`) is still a whole word;
//! * three or more single characters separated by single separators are
//!   joined (`s e x`, `s.e.x`, `s-e-x` → `sex`);
//! * a letter repeated three times or more is kept once (`seeex` → `sex`);
//!   the position is remembered so that only terms that needed the collapse
//!   (see [`crate::matcher`]) may use it;
//! * `@ $ ! |` count as letters where they sit inside a word, so the leet
//!   stream ([`leet_variants`]) can read `@dult` or `d!ldo`.
//!
//! Leetspeak is *not* applied to the main stream: `f4` stays `f4` and
//! `mp3` stays `mp3`. It is applied to separate streams, only to tokens
//! that look deliberately obfuscated, and a match found there must use a
//! decoded character (see [`leet_variants`]).
//!
//! Bidirectional controls are ignorable for matching, but each one is
//! recorded ([`Folded::bidi_controls`]): they reorder what a buyer sees,
//! and the pack can hold a listing that uses them for review.
//!
//! Quantities read a [`PlainView`] of the same text, with the same idea of
//! spaces and invisible characters.

pub(crate) mod fold;
mod offsets;
pub mod props;
mod view;

use fold::{bmp_table, fold_char, fold_char_in, Fold};
use offsets::OffsetMap;
pub use view::PlainView;

use crate::bytescan::first_digit_or_leet_symbol;

/// Soft boundaries that get a reading of their own
/// ([`Folded::split_at_each_soft_boundary`]).
pub const MAX_SOFT_READINGS: usize = 32;

/// A field's text in canonical form, with the map back to the original.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Folded {
    text: String,
    /// The original span of each byte of `text`.
    map: OffsetMap,
    /// Byte ranges of `text` that stand for a collapsed run of letters.
    collapsed: Vec<(u32, u32)>,
    /// Offsets of `text` inside a word where an ignorable character was
    /// removed: the word may also be read as split there.
    soft: Vec<u32>,
    /// Byte spans in the original of each bidirectional control.
    bidi: Vec<(u32, u32)>,
    /// Whether `map` was recorded (see [`Folded::lean`]).
    mapped: bool,
}

impl Folded {
    /// Normalises `original` (see the module documentation).
    pub fn new(original: &str) -> Folded {
        Folded::build(original, false)
    }

    /// [`Folded::new`] as it was before issue 14 (two scans of each ASCII
    /// run): the reference the faster folding is tested against.
    #[doc(hidden)]
    pub fn new_reference(original: &str) -> Folded {
        Folded::build(original, true)
    }

    /// [`Folded::new`] of `original`, built in this value's buffers:
    /// screening folds a few fields per listing, millions of listings
    /// per thread, and allocating the text and its offset map
    /// afresh for each field was a tenth of the fold's cost (the
    /// allocator's, in the profile; BENCHMARKS.md, issue 14, sixth step).
    /// The result is the same as [`Folded::new`]'s, whatever was here.
    pub fn refold(&mut self, original: &str) {
        self.fold_in_place(original, false);
    }

    fn build(original: &str, two_scans: bool) -> Folded {
        let mut folded = Folded::default();
        folded.fold_in_place(original, two_scans);
        folded
    }

    /// Folds `original` into this value's buffers, where the builder
    /// writes: moving a `Folded` (136 bytes) in and out of a builder, a
    /// few `memcpy` calls per field, cost about 200 instructions per
    /// listing (BENCHMARKS.md, issue 14, eighteenth step).
    fn fold_in_place(&mut self, original: &str, two_scans: bool) {
        let mut builder = Builder::<true>::writing_into(self, original.len());
        builder.two_scans = two_scans;
        builder.push_all(original);
        let spaced = builder.saw_spaced_letters();
        builder.finish();
        if spaced {
            self.join_spaced_letters(original);
        }
    }

    /// [`Folded::new`]'s canonical text, collapsed runs and bidirectional
    /// controls, without the per-byte map back to the original, for
    /// callers that only read the words. The text is the same byte for
    /// byte: one builder does both, the map switched off at compile time.
    /// Where a later step reads the map (spaced letters to join, a soft
    /// boundary to split at; both rare), the map is built anyway.
    /// [`Folded::original_span`] needs [`Folded::is_mapped`].
    pub fn lean(original: &str) -> Folded {
        let mut folded = Folded::default();
        let mut builder = Builder::<false>::writing_into(&mut folded, original.len());
        builder.push_all(original);
        if builder.saw_spaced_letters() || !builder.out.soft.is_empty() {
            return Folded::new(original);
        }
        builder.finish();
        folded
    }

    /// Whether this text carries its map back to the original (always,
    /// except from [`Folded::lean`]).
    pub fn is_mapped(&self) -> bool {
        self.mapped
    }

    /// Normalises a policy term: the same folding as [`Folded::new`], but
    /// without the evasion repairs, which only make sense on seller text
    /// (a term written `xxx` means three letters).
    pub fn term(term: &str) -> String {
        let mut folded = Folded::default();
        let mut builder = Builder::<false>::writing_into(&mut folded, term.len());
        builder.collapse_runs = false;
        builder.push_all(term);
        builder.finish();
        folded.text
    }

    /// The canonical text: lower-case words separated by single spaces.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Maps a byte range of the canonical text to the original text.
    /// `start < end` must hold and lie on the canonical text.
    pub fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        (self.map.span(start).0 as usize, self.map.span(end - 1).1 as usize)
    }

    /// Whether a letter run was collapsed anywhere in the text.
    pub fn has_collapsed(&self) -> bool {
        !self.collapsed.is_empty()
    }

    /// Whether `start..end` covers a collapsed letter run.
    pub fn touches_collapsed(&self, start: usize, end: usize) -> bool {
        self.collapsed.iter().any(|&(s, e)| (s as usize) < end && start < e as usize)
    }

    /// Byte spans, in the original text, of the bidirectional controls
    /// (`Bidi_Control`) it contained, in order.
    pub fn bidi_controls(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.bidi.iter().map(|&(s, e)| (s as usize, e as usize))
    }

    /// The reading of the text with a space at every soft boundary (where
    /// an invisible character separated two word characters), and for
    /// each byte of it plus one past the end, its offset in the canonical
    /// text. `None` when there is no soft boundary, as in most text.
    ///
    /// The canonical text joins across invisible characters (`lo\u{200B}li`
    /// is `loli`); this reading splits there (`silicone\u{200B}loli` holds
    /// `loli`). A term found in it is a term of the text.
    pub fn split_at_soft_boundaries(&self) -> Option<(Folded, Vec<u32>)> {
        (!self.soft.is_empty()).then(|| self.split_where(&self.soft))
    }

    /// The readings split at one soft boundary each, when there are two or
    /// more (with one, it is [`Folded::split_at_soft_boundaries`]). A term
    /// that starts at one invisible character and has another inside it
    /// (`ml\u{FE00}s\u{200B}exdoll`) is in none of the other readings: more
    /// hidden characters must never hide more. At most
    /// [`MAX_SOFT_READINGS`] boundaries, the first ones, get a reading of
    /// their own, which bounds the work on a text stuffed with them.
    pub fn split_at_each_soft_boundary(&self) -> impl Iterator<Item = (Folded, Vec<u32>)> + '_ {
        let each = if self.soft.len() >= 2 { &self.soft[..self.soft.len().min(MAX_SOFT_READINGS)] } else { &[] };
        each.iter().map(|&b| self.split_where(&[b]))
    }

    /// The text with a space inserted before each byte offset in `at`
    /// (sorted), and the map from its bytes back to the canonical text.
    fn split_where(&self, at: &[u32]) -> (Folded, Vec<u32>) {
        // The map is read byte for byte alongside the text.
        debug_assert!(self.mapped, "split_where needs the offset map");
        let bytes = self.text.as_bytes();
        let capacity = bytes.len() + at.len();
        let mut text = Vec::with_capacity(capacity);
        let mut map = OffsetMap::default();
        let mut to_canonical = Vec::with_capacity(capacity + 1);
        let mut soft = at.iter().map(|&p| p as usize).peekable();
        for (k, (&b, (from, to))) in bytes.iter().zip(self.map.spans()).enumerate() {
            if soft.next_if_eq(&k).is_some() {
                // The inserted space covers nothing in the original.
                text.push(b' ');
                map.push_spanning(from, from, 1);
                to_canonical.push(k as u32);
            }
            text.push(b);
            map.push_spanning(from, to, 1);
            to_canonical.push(k as u32);
        }
        to_canonical.push(bytes.len() as u32);
        let from_canonical = |p: u32| to_canonical.partition_point(|&c| c < p) as u32;
        let collapsed = self.collapsed.iter().map(|&(s, e)| (from_canonical(s), from_canonical(e))).collect();
        let split = Folded {
            // Spaces went in only at character boundaries of valid UTF-8.
            text: String::from_utf8(text).unwrap_or_default(),
            map,
            collapsed,
            soft: Vec::new(),
            bidi: Vec::new(),
            mapped: true,
        };
        (split, to_canonical)
    }

    /// Joins runs of three or more one-character words separated by a
    /// single character in the original (`s e x`, `s.e.x`), a classic way
    /// of writing a term so that word filters miss it.
    fn join_spaced_letters(&mut self, original: &str) {
        let bytes = self.text.as_bytes();
        // Quick reject: no single-character word followed by a space.
        let has_candidate = bytes.windows(3).any(|w| w[1] == b' ' && w[2] != b' ')
            && bytes.iter().enumerate().any(|(i, &b)| {
                b != b' ' && (i == 0 || bytes[i - 1] == b' ') && bytes.get(i + 1).is_none_or(|&n| n == b' ')
            });
        if !has_candidate {
            return;
        }
        let words = word_spans(&self.text);
        let mut drop_space = vec![false; bytes.len()];
        let mut i = 0;
        while i < words.len() {
            let mut j = i;
            while j + 1 < words.len()
                && is_spelled_unit(bytes, words[j])
                && is_spelled_unit(bytes, words[j + 1])
                && self.single_char_gap(original, words[j].1, words[j + 1].0)
            {
                j += 1;
            }
            let run = &words[i..=j];
            let letters = run.iter().filter(|&&(s, _)| bytes[s].is_ascii_alphabetic()).count();
            if run.len() >= 3 && letters >= 2 {
                for w in &run[..run.len() - 1] {
                    drop_space[w.1] = true;
                }
            }
            i = j + 1;
        }
        if !drop_space.iter().any(|&d| d) {
            return;
        }
        let mut kept = Vec::with_capacity(bytes.len());
        let mut map = OffsetMap::default();
        let mut shift: Vec<u32> = Vec::with_capacity(bytes.len() + 1);
        let mut removed = 0u32;
        for (k, (&b, (from, to))) in bytes.iter().zip(self.map.spans()).enumerate() {
            shift.push(removed);
            if drop_space[k] {
                removed += 1;
                continue;
            }
            kept.push(b);
            map.push_spanning(from, to, 1);
        }
        shift.push(removed);
        let collapsed = self.collapsed.iter().map(|&(s, e)| (s - shift[s as usize], e - shift[e as usize])).collect();
        let soft = self.soft.iter().map(|&p| p - shift[p as usize]).collect();
        // Only ASCII spaces were removed, so the bytes stay valid UTF-8.
        self.text = String::from_utf8(kept).unwrap_or_default();
        self.map = map;
        self.collapsed = collapsed;
        self.soft = soft;
    }

    fn single_char_gap(&self, original: &str, space_at: usize, next_word: usize) -> bool {
        let (from, to) = (self.map.span(space_at - 1).1 as usize, self.map.span(next_word).0 as usize);
        // Invisible characters in the gap do not make it wider.
        original.get(from..to).is_some_and(|gap| gap.chars().filter(|&c| !props::is_default_ignorable(c)).count() == 1)
    }
}

/// Whether a word of the canonical text may end at byte `at`: at a space
/// or the end, as everywhere, or where a letter meets a digit, so that a
/// term glued to a size or a count (`doll100cm`, `puff9000`) is still a
/// whole word. Only that direction: a number followed by letters is how
/// units are written (`100cm`), and model numbers mix both (`mp3`).
pub fn ends_word_at(text: &[u8], at: usize) -> bool {
    at >= text.len() || text[at] == b' ' || (at > 0 && text[at].is_ascii_digit() && text[at - 1].is_ascii_alphabetic())
}

fn is_spelled_unit(bytes: &[u8], (s, e): (usize, usize)) -> bool {
    e - s == 1 && (bytes[s].is_ascii_alphanumeric() || bytes[s] == b'@' || bytes[s] == b'$')
}

/// Folds a short word (a unit, a context word) for lookup: case, accents
/// and homoglyphs folded, separators dropped, no offset map.
pub fn fold_word(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    fold_word_into(word, &mut out);
    out
}

/// [`fold_word`], appended to `out`.
fn fold_word_into(word: &str, out: &mut String) {
    for ch in word.chars() {
        if ch.is_ascii() {
            if ch.is_ascii_alphanumeric() {
                out.push(ch.to_ascii_lowercase());
            }
        } else if let f @ Fold::Text { .. } = fold_char(ch) {
            out.push_str(f.as_str());
        }
    }
}

/// The words of an attribute name or value (runs of alphanumeric
/// characters), each folded by [`fold_word`].
pub fn fold_words(text: &str) -> impl DoubleEndedIterator<Item = String> + '_ {
    words_of(text).map(fold_word)
}

/// [`fold_words`] joined by `separator`, written into one string: an
/// attribute name or value folded for every listing that carries it made a
/// string per word and a list of them (BENCHMARKS.md, issue 14,
/// fourteenth step).
pub fn fold_words_joined(text: &str, separator: char) -> String {
    let mut joined = String::with_capacity(text.len());
    for word in words_of(text) {
        if !joined.is_empty() {
            joined.push(separator);
        }
        fold_word_into(word, &mut joined);
    }
    joined
}

fn words_of(text: &str) -> impl DoubleEndedIterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty())
}

/// Whether `name` is lower-case ASCII words joined by single underscores:
/// such a name's [`fold_words`] are its `_`-separated parts unchanged, so
/// callers can read them in place instead of folding copies.
pub fn is_folded_name(name: &str) -> bool {
    // One pass over the bytes, as it runs on every attribute name of every
    // listing: an underscore is allowed only after a word character, and
    // the name must end on one.
    let mut after_word = false;
    for &b in name.as_bytes() {
        after_word = match b {
            b'a'..=b'z' | b'0'..=b'9' => true,
            b'_' if after_word => false,
            _ => return false,
        };
    }
    after_word
}

/// Byte spans of the words of a canonical text.
pub(crate) fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, b) in text.bytes().enumerate() {
        match (b == b' ', start) {
            (true, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

/// What a fold kept for the next [`Folded::refold`] holds.
impl crate::scratch::HeapBytes for Folded {
    fn heap_bytes(&self) -> usize {
        self.text.capacity()
            + self.map.heap_bytes()
            + self.soft.capacity() * size_of::<u32>()
            + (self.collapsed.capacity() + self.bidi.capacity()) * size_of::<(u32, u32)>()
    }
}

/// Builds a [`Folded`] in place; with `MAP` false it records no offset
/// map (the text and every other field are the same either way).
struct Builder<'a, const MAP: bool> {
    /// Where the map, collapsed runs, soft boundaries and bidirectional
    /// controls are written, and the text once [`Builder::finish`]ed.
    out: &'a mut Folded,
    text: Vec<u8>,
    /// An ignorable character was removed inside the word being built.
    soft_pending: bool,
    /// A separator was seen since the last word character.
    pending_space: Option<(u32, u32)>,
    collapse_runs: bool,
    /// Scan ASCII runs as the reference path did ([`Folded::new_reference`]).
    two_scans: bool,
    /// Bytes in the word being built, and how many one-character words
    /// came in a row before it (to detect `s e x` without a second pass).
    word_len: u32,
    singles_in_row: u32,
    spaced: bool,
    /// Whether a letter appears three times in a row somewhere in the
    /// text being pushed: when not (nearly every field), word runs are
    /// measured without looking for one ([`word_run`]).
    triples: bool,
}

impl<'a, const MAP: bool> Builder<'a, MAP> {
    /// A builder writing into `out`'s vectors, emptied, with room for `n`
    /// bytes of text.
    fn writing_into(out: &'a mut Folded, n: usize) -> Builder<'a, MAP> {
        let mut text = std::mem::take(&mut out.text).into_bytes();
        text.clear();
        text.reserve(n);
        out.map.clear();
        out.collapsed.clear();
        out.soft.clear();
        out.bidi.clear();
        out.mapped = MAP;
        Builder {
            out,
            text,
            soft_pending: false,
            pending_space: None,
            collapse_runs: true,
            two_scans: false,
            word_len: 0,
            singles_in_row: 0,
            spaced: false,
            triples: true,
        }
    }

    fn push_all(&mut self, original: &str) {
        let bytes = original.as_bytes();
        self.triples = has_triple_letter_anywhere(bytes);
        let table = bmp_table();
        let mut i = 0;
        while i < bytes.len() {
            match BYTE_CLASS[bytes[i] as usize] {
                ByteClass::Word => i = self.push_word_run(bytes, i),
                ByteClass::Separator => {
                    // A run of separators is one space: only the first
                    // one's span is kept, so the rest are skipped unread.
                    self.push_separator(i as u32, i as u32 + 1);
                    i += 1;
                    while bytes.get(i).is_some_and(|&b| BYTE_CLASS[b as usize] == ByteClass::Separator) {
                        i += 1;
                    }
                }
                ByteClass::Symbol => {
                    // `@` and `$` are letters next to one (`@dult`), `!`
                    // and `|` only between two (`d!ldo`, not `wow!`).
                    let b = bytes[i];
                    let letter = match b {
                        b'@' | b'$' => self.letter_before() || next_is_letter(original, i + 1),
                        _ => self.letter_before() && next_is_letter(original, i + 1),
                    };
                    if letter {
                        self.emit_byte(b, i as u32, i as u32 + 1);
                    } else {
                        self.push_separator(i as u32, i as u32 + 1);
                    }
                    i += 1;
                }
                ByteClass::NonAscii => {
                    // `original` is a &str, so a char starts here.
                    if !self.two_scans {
                        let end = self.push_two_byte_letters(bytes, i);
                        if end > i {
                            i = end;
                            continue;
                        }
                    }
                    let ch = original[i..].chars().next().unwrap_or('\u{FFFD}');
                    let len = ch.len_utf8();
                    self.push(fold_char_in(table, ch), i, i + len, &original[i..i + len]);
                    i += len;
                }
            }
        }
    }

    /// Pushes the run of ASCII letters and digits that starts at `i`, the
    /// bulk of product text, with the words that follow it one separator
    /// apart ([`Builder::count_words_after`]), and returns where they end.
    /// They are copied in one go unless a letter in the run may collapse
    /// (rare), which the per-byte path handles.
    fn push_word_run(&mut self, bytes: &[u8], i: usize) -> usize {
        let (run_len, triple) = if self.two_scans {
            // The reference's two scans: the length, then tripled letters.
            let len = bytes[i..].iter().take_while(|c| c.is_ascii_alphanumeric()).count();
            (len, has_triple_letter(&bytes[i..i + len]))
        } else {
            word_run(&bytes[i..], self.triples)
        };
        let run_end = i + run_len;
        let run = &bytes[i..run_end];
        let continues_run = self.pending_space.is_none()
            && self.text.last().is_some_and(|&l| l.is_ascii_alphabetic() && l == run[0].to_ascii_lowercase());
        if !self.collapse_runs || (!continues_run && !triple) {
            let mapped_from = self.open_ascii_run(i as u32);
            self.word_len += run_len as u32;
            // The reference pushes one run at a time.
            let end = if self.two_scans { run_end } else { self.count_words_after(bytes, run_end) };
            self.copy_ascii_words(bytes, i, end);
            if MAP {
                self.out.map.push_copied(mapped_from, end as u32 - mapped_from);
            }
            return end;
        }
        // The whole run byte by byte: resuming the fast path's scan at
        // every byte would make a long repeated letter quadratic.
        for (at, &c) in (i as u32..).zip(run) {
            let lower = c.to_ascii_lowercase();
            if !(lower.is_ascii_alphabetic() && self.collapse_run(lower, at + 1)) {
                self.emit_byte(lower, at, at + 1);
            }
        }
        run_end
    }

    /// Pushes the letters from `i` on that are two bytes of UTF-8 folding
    /// to one ASCII letter or digit ([`fold::two_byte_letters`]) and
    /// returns where they end (`i` if there is none). The space or soft
    /// boundary pending before the first is written as
    /// [`Builder::emit_word_bytes`] writes it; then each letter is one
    /// byte of text and one of map, as [`Builder::push`] would write it,
    /// without its per-character steps: a Cyrillic or Greek word folded
    /// through those cost about 150 instructions a letter (BENCHMARKS.md,
    /// issue 14, sixteenth step). A letter that repeats the one before
    /// may be a tripled letter's, collapsed by `push`: it ends the run
    /// (unless a space comes between, where `push` collapses nothing).
    fn push_two_byte_letters(&mut self, bytes: &[u8], i: usize) -> usize {
        let letters = fold::two_byte_letters();
        match fold::two_byte_letter(letters, bytes, i) {
            Some(letter) if self.pending_space.is_some() || self.text.last() != Some(&letter) => {}
            _ => return i,
        }
        if let Some((s, e)) = self.pending_space.take() {
            self.emit_space(s, e);
        }
        self.mark_soft();
        let mut at = i;
        while let Some(letter) = fold::two_byte_letter(letters, bytes, at) {
            if self.text.last() == Some(&letter) {
                break;
            }
            self.text.push(letter);
            at += 2;
        }
        let letters = (at - i) as u32 / 2;
        if MAP && letters > 0 {
            self.out.map.push_two_byte_run(i as u32, letters);
        }
        self.word_len += letters;
        at
    }

    /// Counts the words that follow a word just pushed, ending at `at`,
    /// each after one separator (`bolt cutter 24-inch`): most of product
    /// text. Returns where they end: before the first separator that is
    /// not one byte followed by a word, or before a word with a tripled
    /// letter (left to the byte-by-byte path). The caller copies them
    /// with the word before them, in one go and mapped as one copied
    /// stretch: the text and map word after word would give, separators
    /// turned to spaces, without returning to the main loop for each
    /// separator and each word (BENCHMARKS.md, issue 14, fourteenth step).
    fn count_words_after(&mut self, bytes: &[u8], at: usize) -> usize {
        let mut end = at;
        while let (Some(&separator), Some(&next)) = (bytes.get(end), bytes.get(end + 1)) {
            if BYTE_CLASS[usize::from(separator)] != ByteClass::Separator
                || BYTE_CLASS[usize::from(next)] != ByteClass::Word
            {
                break;
            }
            let (len, triple) = word_run(&bytes[end + 1..], self.triples);
            if triple {
                break;
            }
            self.end_word();
            self.word_len = len as u32;
            end += 1 + len;
        }
        end
    }

    /// Appends `bytes[from..to]`, ASCII words and the separators between
    /// them, lower-cased, separators turned to spaces. Sixteen bytes at a
    /// time while the original has sixteen more, even past `to` (cut off
    /// after): a copy and a fix-up of constant size are a few vector
    /// instructions, where a `memcpy` call for each stretch cost more
    /// (BENCHMARKS.md, issue 14, fourteenth step).
    fn copy_ascii_words(&mut self, bytes: &[u8], from: usize, to: usize) {
        const BLOCK: usize = 16;
        let start = self.text.len();
        let mut at = from;
        while at < to {
            if let Some(chunk) = bytes.get(at..at + BLOCK) {
                let mut block = [0u8; BLOCK];
                block.copy_from_slice(chunk);
                block.iter_mut().for_each(|c| *c = canonical_ascii(*c));
                self.text.extend_from_slice(&block);
                at += BLOCK;
            } else {
                let tail = self.text.len();
                self.text.extend_from_slice(&bytes[at..to]);
                self.text[tail..].iter_mut().for_each(|c| *c = canonical_ascii(*c));
                at = to;
            }
        }
        self.text.truncate(start + (to - from));
    }

    #[inline]
    fn emit_byte(&mut self, b: u8, from: u32, to: u32) {
        if let Some((s, e)) = self.pending_space.take() {
            self.emit_space(s, e);
        }
        self.mark_soft();
        self.text.push(b);
        if MAP {
            self.out.map.push_spanning(from, to, 1);
        }
        self.word_len += 1;
    }

    /// Starts a run of ASCII letters and digits at original offset
    /// `from`: writes the space pending before it, if any. Returns where
    /// the run's map starts in the original.
    fn open_ascii_run(&mut self, from: u32) -> u32 {
        match self.pending_space.take() {
            Some((s, e)) if s + 1 == from && e == from && !self.text.is_empty() => {
                // Product text's usual case, once per word: one original
                // space right before the run. The space is mapped with
                // the run as one copied stretch (the map two pushes would
                // make, merged).
                self.end_word();
                self.text.push(b' ');
                s
            }
            pending => {
                if let Some((s, e)) = pending {
                    self.emit_space(s, e);
                }
                self.mark_soft();
                from
            }
        }
    }

    /// Records a soft boundary before the word byte about to be emitted,
    /// if an ignorable character was removed just before it.
    #[inline]
    fn mark_soft(&mut self) {
        if self.soft_pending {
            self.soft_pending = false;
            self.out.soft.push(self.text.len() as u32);
        }
    }

    /// Ends the current word with a space.
    #[inline]
    fn emit_space(&mut self, s: u32, e: u32) {
        if self.text.is_empty() {
            self.soft_pending = false;
            return;
        }
        self.end_word();
        self.text.push(b' ');
        if MAP {
            self.out.map.push_spanning(s, e, 1);
        }
    }

    /// Counts the word just ended (one-letter words in a row reveal
    /// spaced letters) before a space is written; no soft boundary is
    /// pending across a space.
    #[inline]
    fn end_word(&mut self) {
        self.soft_pending = false;
        self.singles_in_row = if self.word_len == 1 { self.singles_in_row + 1 } else { 0 };
        self.spaced |= self.singles_in_row >= 3;
        self.word_len = 0;
    }

    /// A separator ends the word: the space is written before the next
    /// word character, spanning the first separator of the run.
    #[inline]
    fn push_separator(&mut self, from: u32, to: u32) {
        if self.pending_space.is_none() {
            self.pending_space = Some((from, to));
        }
    }

    /// Whether three one-character words came in a row somewhere.
    fn saw_spaced_letters(&self) -> bool {
        self.spaced || self.singles_in_row + u32::from(self.word_len == 1) >= 3
    }

    fn letter_before(&self) -> bool {
        self.pending_space.is_none() && self.text.last().is_some_and(|b| b.is_ascii_alphabetic())
    }

    /// `source` is the original character, needed only for [`Fold::Token`]
    /// and [`Fold::Skip`].
    fn push(&mut self, fold: Fold, from: usize, to: usize, source: &str) {
        let (from, to) = (from as u32, to as u32);
        match fold {
            Fold::Skip => {
                // An invisible character inside a word extends the
                // previous character's span so the evidence covers it.
                // An ignorable one (not a combining accent) may also hide
                // a word boundary.
                let ignorable = source.chars().next().filter(|&c| props::is_default_ignorable(c));
                if self.pending_space.is_none() && !self.text.is_empty() {
                    if MAP {
                        self.out.map.set_last_end(to);
                    }
                    self.soft_pending |= ignorable.is_some();
                }
                if ignorable.is_some_and(props::is_bidi_control) {
                    self.out.bidi.push((from, to));
                }
            }
            Fold::Sep => self.push_separator(from, to),
            Fold::Token => {
                self.pending_space.get_or_insert((from, from));
                self.emit_word_bytes(source.as_bytes(), from, to);
                self.pending_space = Some((to, to));
            }
            Fold::Text { .. } => {
                let bytes = fold.as_bytes();
                if let [letter] = *bytes {
                    if self.collapse_runs && letter.is_ascii_alphabetic() && self.collapse_run(letter, to) {
                        return;
                    }
                }
                self.emit_word_bytes(bytes, from, to);
            }
        }
    }

    /// Returns true when `letter` was absorbed into a run of three or
    /// more. Stateless: the last emitted bytes tell whether a run is on.
    #[inline]
    fn collapse_run(&mut self, letter: u8, to: u32) -> bool {
        let len = self.text.len();
        if self.pending_space.is_some() || len == 0 || self.text[len - 1] != letter {
            return false;
        }
        if self.out.collapsed.last().is_some_and(|&(s, _)| s as usize == len - 1) {
            // Fourth letter and beyond: the run's first letter stands for it.
            if MAP {
                self.out.map.set_last_end(to);
            }
            return true;
        }
        if len >= 2 && self.text[len - 2] == letter {
            // Third letter: drop the second; the first now stands for the run.
            self.text.pop();
            if MAP {
                self.out.map.pop();
                self.out.map.set_last_end(to);
            }
            self.out.collapsed.push((len as u32 - 2, len as u32 - 1));
            return true;
        }
        false
    }

    fn emit_word_bytes(&mut self, out: &[u8], from: u32, to: u32) {
        if let Some((s, e)) = self.pending_space.take() {
            self.emit_space(s, e);
        }
        self.mark_soft();
        // One byte, the usual fold of a character, without the call
        // `extend_from_slice` makes for a slice of unknown length.
        match *out {
            [byte] => self.text.push(byte),
            _ => self.text.extend_from_slice(out),
        }
        if MAP {
            self.out.map.push_spanning(from, to, out.len() as u32);
        }
        self.word_len += out.len() as u32;
    }

    fn finish(self) {
        // Built from whole folded chars and ASCII, so always valid.
        self.out.text = String::from_utf8(self.text).unwrap_or_default();
    }
}

/// An ASCII letter lower-cased, a digit as it is, any other byte a
/// space: the canonical form of the bytes of a stretch of ASCII words.
#[inline(always)]
fn canonical_ascii(c: u8) -> u8 {
    // Digits already have bit 0x20 set.
    let lower = c | 0x20;
    if lower.wrapping_sub(b'a') < 26 || c.wrapping_sub(b'0') < 10 {
        lower
    } else {
        b' '
    }
}

/// What a byte is to the fold's main loop: one table lookup sorts the
/// bytes of product text, nearly all ASCII letters, digits and spaces.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ByteClass {
    /// An ASCII letter or digit: copied lower-cased, a run at a time.
    Word,
    /// Any other ASCII byte but `@ $ ! |`: a run of them is one space.
    Separator,
    /// `@ $ ! |`: a letter inside a word (leet), else a separator.
    Symbol,
    /// A byte of a non-ASCII character: folded through the BMP table.
    NonAscii,
}

const BYTE_CLASS: [ByteClass; 256] = {
    let mut table = [ByteClass::NonAscii; 256];
    let mut b = 0;
    while b < 0x80 {
        let byte = b as u8;
        table[b] = match byte {
            b'@' | b'$' | b'!' | b'|' => ByteClass::Symbol,
            _ if byte.is_ascii_alphanumeric() => ByteClass::Word,
            _ => ByteClass::Separator,
        };
        b += 1;
    }
    table
};

/// The length of the run of ASCII letters and digits `bytes` starts
/// with, and whether a letter appears three times in a row in it
/// (case-insensitively, as [`has_triple_letter`]), looked for only when
/// `triples` says the text holds one ([`has_triple_letter_anywhere`]):
/// nearly no field does.
#[inline]
fn word_run(bytes: &[u8], triples: bool) -> (usize, bool) {
    let len = bytes.iter().position(|&c| BYTE_CLASS[c as usize] != ByteClass::Word).unwrap_or(bytes.len());
    (len, triples && has_triple_letter(&bytes[..len]))
}

/// [`has_triple_letter`] of a whole text, in blocks the compiler turns
/// into vector compares. Looking for two equal bytes in a row inside
/// each word run, as the runs were measured, cost about 950 instructions
/// per listing (BENCHMARKS.md, issue 14, eighteenth step); three letters
/// in a row lie inside one run, so one look at the text answers for all.
fn has_triple_letter_anywhere(text: &[u8]) -> bool {
    const BLOCK: usize = 32;
    // `&` rather than `&&`: no branch per byte, which lets the compiler
    // test a whole block at once.
    let triple_at = |((&a, &b), &c): ((&u8, &u8), &u8)| {
        let lower = a | 0x20;
        (lower.wrapping_sub(b'a') < 26) & (lower == b | 0x20) & (lower == c | 0x20)
    };
    let mut start = 0;
    // Blocks of a size known at compile time, each with the two bytes after it.
    while let Some(block) = text[start..].first_chunk::<{ BLOCK + 2 }>() {
        let triples = block[..BLOCK].iter().zip(&block[1..BLOCK + 1]).zip(&block[2..]);
        if triples.fold(false, |found, bytes| found | triple_at(bytes)) {
            return true;
        }
        start += BLOCK;
    }
    let rest = &text[start..];
    rest.iter().zip(rest.get(1..).unwrap_or_default()).zip(rest.get(2..).unwrap_or_default()).any(triple_at)
}

/// Whether a letter appears three times in a row (case-insensitively).
pub(crate) fn has_triple_letter(run: &[u8]) -> bool {
    run.windows(3)
        .any(|w| w[0].is_ascii_alphabetic() && w[0].eq_ignore_ascii_case(&w[1]) && w[1].eq_ignore_ascii_case(&w[2]))
}

/// Whether the next visible character from byte `i` is an ASCII letter
/// (invisible characters in between do not count).
fn next_is_letter(original: &str, i: usize) -> bool {
    let rest = original.get(i..).unwrap_or_default();
    rest.chars().find(|&c| !props::is_default_ignorable(c)).is_some_and(|c| c.is_ascii_alphabetic())
}

/// The alternative readings of a canonical text with leetspeak decoded.
///
/// Only tokens that look deliberately obfuscated are decoded: a digit or
/// `@ $ ! |` with letters on both sides (`s3x`, `l0li`, `d!ldo`), or a
/// leading one followed by three letters or more (`4dult`, `@dult`). Model
/// numbers, sizes and units (`mp3`, `f4`, `ps4`, `100cm`, `1m05`) stay as
/// they are. `1` reads as `i` in the first variant and as `l` in a second
/// one, produced only when a decoded `1` exists: folding `l` into `i`
/// everywhere is what makes other filters see "loli" in "Lolly".
///
/// Every variant has the same length as the canonical text, so the same
/// offset map serves all of them.
pub fn leet_variants(canonical: &str) -> Vec<String> {
    let bytes = canonical.as_bytes();
    // Allocated only once a run really needs decoding: most runs of digits
    // are sizes and model numbers. The runs are found by a scan that skips
    // clean words eight bytes at a time, and only their own words are
    // read: reading every word of a field with one candidate run was 2.5 %
    // of the screening instructions (BENCHMARKS.md, issue 14, thirteenth
    // step).
    let mut decoded: smallvec::SmallVec<[(usize, usize); 4]> = smallvec::SmallVec::new();
    for (start, end) in leet_runs(bytes) {
        if decoded_run(bytes, start, end, &decoded) {
            decoded.push((start, end));
        }
    }
    if decoded.is_empty() {
        return Vec::new();
    }
    readings_decoded(bytes, &decoded)
}

/// The readings of `bytes` with the runs `decoded` read as letters: `1`
/// as `i`, and in a second reading as `l` when a `1` is decoded. Each is
/// a copy of the text with only those runs rewritten: mapping every byte
/// of the field through a per-byte mask cost about 300 instructions a
/// listing (BENCHMARKS.md, issue 14, seventeenth step).
fn readings_decoded(bytes: &[u8], decoded: &[(usize, usize)]) -> Vec<String> {
    let variant = |one: u8| -> String {
        let mut out = bytes.to_vec();
        for &(start, end) in decoded {
            for b in &mut out[start..end] {
                *b = leet_letter(*b, one).unwrap_or(*b);
            }
        }
        String::from_utf8(out).unwrap_or_default()
    };
    let mut variants = vec![variant(b'i')];
    if decoded.iter().any(|&(start, end)| bytes[start..end].contains(&b'1')) {
        variants.push(variant(b'l'));
    }
    variants
}

/// Whether the run of leet characters at `start..end` of a canonical
/// text is decoded, given the runs decoded before it, in order:
/// inside a word (a letter on both sides), leading a word and followed by
/// three letters or more, or ending a word after letters when the word
/// already has a decoded character ("l0l1"). A trailing symbol after a
/// word ("lol!") is punctuation.
fn decoded_run(bytes: &[u8], start: usize, end: usize, decoded: &[(usize, usize)]) -> bool {
    // Words are separated by single spaces, which are not leet characters.
    let word_start = bytes[..start].iter().rposition(|&b| b == b' ').map_or(0, |p| p + 1);
    let letter_before = start > word_start && bytes[start - 1].is_ascii_alphabetic();
    let letters_after = bytes[end..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let word_ends = bytes.get(end).is_none_or(|&b| b == b' ');
    let inside = letter_before && letters_after > 0;
    let leading = start == word_start && letters_after >= 3;
    // Runs end before `start`: one ending past the word's start is in it.
    let trailing = word_ends && letter_before && decoded.iter().any(|&(_, run_end)| run_end > word_start);
    inside || leading || trailing
}

/// The maximal runs of leet characters in `bytes`, as `(start, end)`.
fn leet_runs(bytes: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    // Every byte the skip stops at, and every byte of a run, is tested: a
    // table beats the match.
    const IS_LEET: [bool; 256] = {
        let mut table = [false; 256];
        let mut b = 0;
        while b < 256 {
            table[b] = leet_letter(b as u8, b'i').is_some();
            b += 1;
        }
        table
    };
    let is_leet = |b: u8| IS_LEET[b as usize];
    let mut i = 0;
    std::iter::from_fn(move || {
        // Most fields have no digit and no leet symbol: skipped by words.
        loop {
            i += first_digit_or_leet_symbol(bytes.get(i..)?)?;
            if is_leet(bytes[i]) {
                break;
            }
            i += 1;
        }
        let start = i;
        while i < bytes.len() && is_leet(bytes[i]) {
            i += 1;
        }
        Some((start, i))
    })
}

const fn leet_letter(b: u8, one: u8) -> Option<u8> {
    Some(match b {
        b'0' => b'o',
        b'1' => one,
        b'3' => b'e',
        b'4' | b'@' => b'a',
        b'5' | b'$' => b's',
        b'7' => b't',
        b'!' | b'|' => b'i',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        Folded::new(s).as_str().to_string()
    }

    /// [`leet_variants`] as it was before issue 14's thirteenth step: a
    /// pre-scan of the runs, then every word of the text read and its
    /// runs marked word by word. The oracle of the run-by-run reading.
    fn leet_variants_word_by_word(canonical: &str) -> Vec<String> {
        let bytes = canonical.as_bytes();
        let may_decode = leet_runs(bytes).any(|(start, end)| {
            let before = if start == 0 { b' ' } else { bytes[start - 1] };
            let letters_after = bytes[end..].iter().take(3).take_while(|b| b.is_ascii_alphabetic()).count();
            (before.is_ascii_alphabetic() && letters_after > 0) || (before == b' ' && letters_after == 3)
        });
        if !may_decode {
            return Vec::new();
        }
        let mut decode = vec![false; bytes.len()];
        let mut word_start = 0;
        for w in canonical.split(' ').map(str::as_bytes) {
            for (run_start, i) in leet_runs(w) {
                let marks = &mut decode[word_start..word_start + w.len()];
                let letter_before = run_start > 0 && w[run_start - 1].is_ascii_alphabetic();
                let letters_after = w[i..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
                let inside = letter_before && letters_after > 0;
                let leading = run_start == 0 && letters_after >= 3;
                let trailing = i == w.len() && letter_before && marks[..run_start].contains(&true);
                if inside || leading || trailing {
                    marks[run_start..i].iter_mut().for_each(|d| *d = true);
                }
            }
            word_start += w.len() + 1;
        }
        if !decode.contains(&true) {
            return Vec::new();
        }
        // Every byte through the mask, as the readings were made before
        // issue 14's seventeenth step.
        let variant = |one: u8| -> String {
            let out: Vec<u8> = bytes
                .iter()
                .zip(&decode)
                .map(|(&b, &d)| if d { leet_letter(b, one).unwrap_or(b) } else { b })
                .collect();
            String::from_utf8(out).unwrap_or_default()
        };
        let mut variants = vec![variant(b'i')];
        if bytes.iter().zip(&decode).any(|(&b, &d)| d && b == b'1') {
            variants.push(variant(b'l'));
        }
        variants
    }

    proptest::proptest! {
        /// Reading the leet runs one by one decodes what reading every word
        /// did, on text dense in digits, leet symbols, short words and
        /// repeated spaces.
        #[test]
        fn leet_runs_read_one_by_one_decode_as_words_did(text in "[adlox0134579@$!| é]{0,24}") {
            proptest::prop_assert_eq!(leet_variants(&text), leet_variants_word_by_word(&text), "{:?}", text);
        }

        /// Three letters in a row lie inside one run of letters and digits,
        /// so the look at the whole text answers for each run.
        #[test]
        fn a_text_holds_a_tripled_letter_where_one_of_its_runs_does(text in "([aAbB1 ,é]|xxx|XxX|Ää){0,80}") {
            let in_a_run = text.split(|c: char| !c.is_ascii_alphanumeric()).any(|run| has_triple_letter(run.as_bytes()));
            proptest::prop_assert_eq!(has_triple_letter_anywhere(text.as_bytes()), in_a_run, "{:?}", text);
        }

        /// A name [`is_folded_name`] accepts has its `_`-separated parts as
        /// its folded words, which is what lets callers borrow them.
        #[test]
        fn a_folded_name_is_its_own_words(name in "[a-zA-Z0-9_ é\\-\u{345}\u{200B}]{0,10}") {
            if is_folded_name(&name) {
                proptest::prop_assert_eq!(fold_words(&name).collect::<Vec<_>>(), name.split('_').collect::<Vec<_>>());
            }
        }

        /// [`is_folded_name`]'s single pass accepts exactly the names made
        /// of non-empty words of lower-case ASCII letters and digits
        /// joined by single underscores.
        #[test]
        fn folded_names_are_lower_case_words_joined_by_underscores(name in "[a-zA-Z0-9_ é\\-]{0,8}") {
            let words = !name.is_empty()
                && name.split('_').all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
            proptest::prop_assert_eq!(is_folded_name(&name), words, "{:?}", name);
        }

        /// The fast fold (words after single separators copied in one go,
        /// one scan of each run) folds as the reference does, a run at a
        /// time with two scans: text, map, collapsed runs and all, on text
        /// dense in tripled letters, single separators and symbols.
        #[test]
        fn the_fast_fold_folds_as_the_reference(text in "([aAbB1 ,.@-]|xxx|XxX| a b c|é){0,30}") {
            proptest::prop_assert_eq!(Folded::new(&text), Folded::new_reference(&text), "{:?}", text);
        }

        /// Words of letters two bytes long in UTF-8 (Cyrillic, Greek,
        /// accented Latin), copied a letter at a time after the first, fold
        /// as the reference folds them a character at a time: with tripled
        /// and doubled letters, letters folding to two (`ß`, `æ`) or to
        /// none, combining and invisible characters, two-byte separators.
        #[test]
        fn two_byte_letters_fold_as_the_reference(
            text in "([aAd1 ,@]|д|Д|дд|ддд|жДж|é|É|ééé|α|Ω|ß|æ|٣|ǆ|\u{301}|\u{200B}|\u{AD}|\u{A0}|×|µ){0,30}",
        ) {
            proptest::prop_assert_eq!(Folded::new(&text), Folded::new_reference(&text), "{:?}", text);
        }

        /// On plain ASCII product text (words of two letters or digits or
        /// more, no letter three times in a row, separated by runs of
        /// spaces and punctuation), the fold is what a brute-force reading
        /// says: the words lower-cased, joined by single spaces; each byte
        /// of a word mapped to its own byte, each space to the first
        /// separator of its run.
        #[test]
        fn plain_ascii_text_folds_as_its_words_read_one_by_one(
            parts in proptest::collection::vec(("( |[ ,.;:/()-]{1,3})", "[a-zA-Z0-9]{2,8}"), 1..12),
            lead in "[ ,.]{0,2}",
        ) {
            let mut original = lead.clone();
            let (mut expected, mut spans) = (String::new(), Vec::new());
            for (i, (separators, word)) in parts.iter().enumerate() {
                if i > 0 {
                    original.push_str(separators);
                    expected.push(' ');
                    let first = original.len() - separators.len();
                    spans.push((first, first + 1));
                }
                for (k, c) in word.chars().enumerate() {
                    spans.push((original.len() + k, original.len() + k + 1));
                    expected.push(c.to_ascii_lowercase());
                }
                original.push_str(word);
            }
            proptest::prop_assume!(!has_triple_letter(expected.as_bytes()));
            let folded = Folded::new(&original);
            proptest::prop_assert_eq!(folded.as_str(), expected.as_str(), "{:?}", original);
            for (k, &span) in spans.iter().enumerate() {
                proptest::prop_assert_eq!(folded.original_span(k, k + 1), span, "byte {} of {:?}", k, original);
            }
        }
    }

    #[test]
    fn separators_case_and_accents() {
        assert_eq!(canon("  Poupée—SEXUELLE_100cm!! "), "poupee sexuelle 100cm");
        assert_eq!(canon("Sex-Doll"), "sex doll");
        assert_eq!(canon("s\u{200B}e\u{00AD}x doll"), "sex doll");
    }

    #[test]
    fn spaced_letters_are_joined() {
        assert_eq!(canon("s e x d o l l 100 cm"), "sexdoll 100 cm");
        assert_eq!(canon("S.E.X doll"), "sex doll");
        assert_eq!(canon("a b"), "a b");
        assert_eq!(canon("size S  M  L"), "size s m l");
    }

    #[test]
    fn repeated_letters_collapse_and_are_remembered() {
        let f = Folded::new("seeeex dolll");
        assert_eq!(f.as_str(), "sex dol");
        assert!(f.touches_collapsed(1, 2));
        assert!(!f.touches_collapsed(0, 1));
        assert_eq!(canon("doll"), "doll");
    }

    #[test]
    fn a_long_run_collapses_whole_and_what_follows_is_read() {
        // A run longer than any word, with case changes and a word glued
        // after it: one letter for the run, the rest read as usual.
        let text = format!("x{}{}og 100cm", "d".repeat(30_000), "D".repeat(30_000));
        let f = Folded::new(&text);
        assert_eq!(f.as_str(), "xdog 100cm");
        assert!(f.touches_collapsed(1, 2));
        assert!(!f.touches_collapsed(2, 3));
    }

    #[test]
    fn offsets_point_into_the_original() {
        let original = "Pоupée  SEX-doll";
        let f = Folded::new(original);
        let canonical = f.as_str();
        let at = canonical.find("sex doll").unwrap_or(0);
        let (s, e) = f.original_span(at, at + "sex doll".len());
        assert_eq!(&original[s..e], "SEX-doll");
        let (s, e) = f.original_span(0, "poupee".len());
        assert_eq!(&original[s..e], "Pоupée");
    }

    #[test]
    fn leet_is_decoded_only_where_it_is_obfuscation() {
        assert_eq!(leet_variants(&canon("s3x d0ll")), vec!["sex doll".to_string()]);
        assert_eq!(leet_variants(&canon("l0li")), vec!["loli".to_string()]);
        assert!(leet_variants(&canon("f4 fireworks mp3 ps4 100cm 1m05")).is_empty());
        let v = leet_variants(&canon("sh0ta 1oli"));
        assert!(v.is_empty() || v.iter().all(|s| s.starts_with("shota")));
        assert_eq!(leet_variants(&canon("@dult d!ldo")), vec!["adult dildo".to_string()]);
        assert_eq!(leet_variants(&canon("lo1i")), vec!["loii".to_string(), "loli".to_string()]);
    }

    #[test]
    fn unicode_spaces_separate_and_ignorables_vanish() {
        let spaces = ['\u{A0}', '\u{202F}', '\u{2009}', '\u{2000}', '\u{200A}', '\u{205F}', '\u{1680}', '\u{2028}'];
        for space in spaces.into_iter().chain(['\u{2029}', '\u{85}', '\u{3000}', '\t', '\u{B}', '\r', '\n']) {
            assert_eq!(canon(&format!("sex{space}doll")), "sex doll", "U+{:04X}", space as u32);
        }
        let invisible = ['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{2063}', '\u{FEFF}', '\u{AD}', '\u{34F}'];
        let fillers = ['\u{3164}', '\u{115F}', '\u{1160}', '\u{FFA0}', '\u{180E}', '\u{17B4}', '\u{FE0F}'];
        let others = ['\u{1BCA0}', '\u{E0041}', '\u{E01EF}', '\u{202E}', '\u{2066}', '\u{200F}', '\u{61C}'];
        for c in invisible.into_iter().chain(fillers).chain(others) {
            assert_eq!(canon(&format!("lo{c}li")), "loli", "U+{:04X}", c as u32);
            assert_eq!(canon(&format!("{c}loli{c}")), "loli", "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn words_joined_by_an_invisible_character_are_also_read_apart() {
        let original = "Silicone\u{3164}loli\u{200B} doll";
        let f = Folded::new(original);
        assert_eq!(f.as_str(), "siliconeloli doll");
        let (split, to_canonical) = f.split_at_soft_boundaries().expect("a soft boundary");
        assert_eq!(split.as_str(), "silicone loli doll");
        let at = split.as_str().find("loli").unwrap_or(0);
        let (s, e) = split.original_span(at, at + 4);
        assert_eq!(&original[s..e], "loli\u{200B}");
        assert_eq!(&f.as_str()[to_canonical[at] as usize..to_canonical[at + 4] as usize], "loli");
        assert_eq!(to_canonical.len(), split.as_str().len() + 1);
        // Combining accents and plain text have no soft boundary.
        assert!(Folded::new("Poupe\u{301}e doll").split_at_soft_boundaries().is_none());
        assert!(Folded::new("plain text 100cm").split_at_soft_boundaries().is_none());
        // Spaced letters joined later keep their boundaries in place.
        let f = Folded::new("s e x d\u{200B}oll");
        assert_eq!(f.as_str(), "sex doll");
        assert_eq!(f.split_at_soft_boundaries().map(|(s, _)| s.as_str().to_string()).as_deref(), Some("sex d oll"));
    }

    #[test]
    fn invisible_characters_change_no_other_repair() {
        for (plain, hidden) in [
            ("s e x doll", "s \u{200B}e\u{2060} x doll"),
            ("@dult d!ldo", "@\u{200B}dult d!\u{FEFF}ldo"),
            ("seeex", "se\u{200B}e\u{AD}ex"),
        ] {
            assert_eq!(canon(hidden), canon(plain), "{hidden:?}");
        }
    }

    #[test]
    fn bidi_controls_are_ignored_and_recorded() {
        let text = "sex \u{202E}llod\u{202C} 100cm \u{200B}\u{2067}x";
        let f = Folded::new(text);
        assert_eq!(f.as_str(), "sex llod 100cm x");
        let found: Vec<&str> = f.bidi_controls().map(|(s, e)| &text[s..e]).collect();
        assert_eq!(found, ["\u{202E}", "\u{202C}", "\u{2067}"]);
        assert_eq!(Folded::new("no controls\u{200B}").bidi_controls().count(), 0);
    }

    #[test]
    fn words_end_where_a_letter_meets_a_digit() {
        let text = b"doll100cm mp3 100cm";
        assert!(ends_word_at(text, 4), "doll|100cm");
        assert!(!ends_word_at(text, 3) && !ends_word_at(text, 5) && !ends_word_at(text, 7));
        assert!(ends_word_at(text, 9) && ends_word_at(text, 12) && ends_word_at(text, text.len()));
        assert!(!ends_word_at(text, 17), "a unit after a number is no boundary");
    }

    #[test]
    fn the_one_pass_run_scan_agrees_with_the_two_pass_one() {
        for text in ["", "abc", "aaab", "aAa", "a1aa", "xx1xxx", "Dolll-x", "100cm", "ab ccc", "zzZ9", "éaaa", "a2a2a"]
        {
            let bytes = text.as_bytes();
            let len = bytes.iter().take_while(|c| c.is_ascii_alphanumeric()).count();
            assert_eq!(word_run(bytes, true), (len, has_triple_letter(&bytes[..len])), "{text:?}");
            assert_eq!(word_run(bytes, false).0, len, "{text:?}");
        }
    }

    #[test]
    fn a_tripled_letter_is_found_at_every_offset() {
        // Blocks and the tail: each offset before, across and after the
        // edges of the blocks the whole-text look reads.
        for len in 0..100usize {
            let plain: Vec<u8> = (0..len).map(|i| if i % 2 == 0 { b'a' } else { b'B' }).collect();
            assert!(!has_triple_letter_anywhere(&plain), "{len}");
            for at in 0..len.saturating_sub(2) {
                let mut text = plain.clone();
                text[at..at + 3].copy_from_slice(b"qQq");
                assert!(has_triple_letter_anywhere(&text), "{len} {at}");
                text[at + 1] = b'1';
                assert!(!has_triple_letter_anywhere(&text), "{len} {at}");
            }
        }
    }

    #[test]
    fn the_byte_classes_agree_with_the_character_fold() {
        for b in 0..=0x7Fu8 {
            let class = BYTE_CLASS[b as usize];
            let word = matches!(fold::fold_ascii(b), Fold::Text { .. });
            assert_eq!(class == ByteClass::Word, word, "{b:#04x}");
            assert_eq!(class == ByteClass::Symbol, b"@$!|".contains(&b), "{b:#04x}");
        }
        assert!(BYTE_CLASS[0x80..].iter().all(|&c| c == ByteClass::NonAscii));
    }

    #[test]
    fn emoji_are_words() {
        assert_eq!(canon("doll👧100cm"), "doll 👧 100cm");
    }
}
