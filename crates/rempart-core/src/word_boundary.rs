//! Word boundaries read as ASCII ones where that gives the same answer.
//!
//! The pack's regular expressions are written with `\b`, which the regex
//! crate reads as a Unicode word boundary. Its lazy DFA cannot decide one
//! next to a non-ASCII character: it gives up, and `regex_automata`'s meta
//! engine runs the search again in the PikeVM, which for a set of thirty
//! patterns read every byte of a window for about 7,000 instructions.
//! Folding brings Latin, Greek and Cyrillic letters to ASCII, so a folded
//! text keeps a non-ASCII character only where it has no ASCII look-alike
//! (an emoji, a CJK or Hangul name, mojibake such as `7aﾬ` in the
//! benchmark corpus): 91 windows in 100,000 listings, each costing as much
//! as the regular expressions of a thousand listings (BENCHMARKS.md, issue
//! 14, sixteenth step). A catalogue with Japanese or Korean names next to
//! its sizes would pay it on most listings.
//!
//! An ASCII word boundary the lazy DFA decides on any text. The two
//! readings differ only next to a non-ASCII word character, so:
//! - where none lies in or beside the searched span ([`reads_the_same`]),
//!   the set with ASCII boundaries ([`with_ascii_boundaries`]) gives the
//!   very answer of the set as written;
//! - elsewhere, when every Unicode boundary of a pattern sits next to a
//!   character the pattern itself matches as an ASCII word character
//!   ([`ascii_reading_widens`]), the ASCII reading matches wherever the
//!   Unicode one does: if it finds nothing, nothing is there, and only
//!   when it finds something does the set as written run.
//!
//! The regex crate offers neither the rewrite nor the proof, hence this
//! module; both work on `regex_syntax`'s syntax tree.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// `hir` with each Unicode word-boundary assertion replaced by its ASCII
/// counterpart; everything else as it was.
pub(crate) fn with_ascii_boundaries(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Look(look) => Hir::look(ascii_look(*look)),
        HirKind::Repetition(repetition) => {
            let mut repetition = repetition.clone();
            repetition.sub = Box::new(with_ascii_boundaries(&repetition.sub));
            Hir::repetition(repetition)
        }
        HirKind::Capture(capture) => {
            let mut capture = capture.clone();
            capture.sub = Box::new(with_ascii_boundaries(&capture.sub));
            Hir::capture(capture)
        }
        HirKind::Concat(parts) => Hir::concat(parts.iter().map(with_ascii_boundaries).collect()),
        HirKind::Alternation(branches) => Hir::alternation(branches.iter().map(with_ascii_boundaries).collect()),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) => hir.clone(),
    }
}

fn ascii_look(look: Look) -> Look {
    match look {
        Look::WordUnicode => Look::WordAscii,
        Look::WordUnicodeNegate => Look::WordAsciiNegate,
        Look::WordStartUnicode => Look::WordStartAscii,
        Look::WordEndUnicode => Look::WordEndAscii,
        Look::WordStartHalfUnicode => Look::WordStartHalfAscii,
        Look::WordEndHalfUnicode => Look::WordEndHalfAscii,
        other => other,
    }
}

/// Whether `hir` holds a Unicode word-boundary assertion (without one,
/// [`with_ascii_boundaries`] changes nothing).
pub(crate) fn has_unicode_boundary(hir: &Hir) -> bool {
    hir.properties().look_set().contains_word_unicode()
}

/// Whether every match of `hir` is also a match of
/// [`with_ascii_boundaries`]`(hir)`, decided on the syntax tree and erring
/// towards `false`.
///
/// An ASCII word character is a Unicode one, and a character that is not
/// a Unicode word character is not an ASCII one. So where one side of a
/// boundary is a character the pattern matches as an ASCII word
/// character, a Unicode boundary there (the other side not a word
/// character) is an ASCII one too. The half boundaries (`\b{start-half}`:
/// no word character before) widen on any text. A negated boundary (`\B`)
/// does not, nor a boundary whose sides the pattern leaves to the text.
pub(crate) fn ascii_reading_widens(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) => true,
        // A boundary outside a sequence has no side of the pattern's own.
        HirKind::Look(look) => widens_anywhere(*look),
        HirKind::Repetition(repetition) => ascii_reading_widens(&repetition.sub),
        HirKind::Capture(capture) => ascii_reading_widens(&capture.sub),
        HirKind::Alternation(branches) => branches.iter().all(ascii_reading_widens),
        HirKind::Concat(parts) => parts.iter().enumerate().all(|(i, part)| match part.kind() {
            HirKind::Look(look) if needs_a_side(*look) => {
                sequence_edge(parts[i + 1..].iter(), Edge::First) == SequenceEdge::AsciiWord
                    || sequence_edge(parts[..i].iter().rev(), Edge::Last) == SequenceEdge::AsciiWord
            }
            _ => ascii_reading_widens(part),
        }),
    }
}

/// A boundary that widens whatever its sides: not a Unicode word one,
/// or a half one.
fn widens_anywhere(look: Look) -> bool {
    !needs_a_side(look) && look != Look::WordUnicodeNegate
}

/// The Unicode boundaries that widen when one side is an ASCII word
/// character of the pattern's own.
fn needs_a_side(look: Look) -> bool {
    matches!(look, Look::WordUnicode | Look::WordStartUnicode | Look::WordEndUnicode)
}

#[derive(Clone, Copy)]
enum Edge {
    First,
    Last,
}

fn never_empty(hir: &Hir) -> bool {
    hir.properties().minimum_len().is_some_and(|len| len > 0)
}

/// What the matches of a sequence hold at one edge ([`sequence_edge`]).
#[derive(PartialEq)]
enum SequenceEdge {
    /// Every match is non-empty, with an ASCII word character there.
    AsciiWord,
    /// So is every non-empty match, but a match may be empty.
    AsciiWordOrEmpty,
    /// Some match has another character there.
    Other,
}

/// What the matches of a sequence hold at one edge, its parts taken from
/// that edge inward. The edge of a match is that of the first part that
/// matched something: any part up to one that is never empty.
fn sequence_edge<'a>(parts_from_edge: impl Iterator<Item = &'a Hir>, edge: Edge) -> SequenceEdge {
    for part in parts_from_edge {
        if !non_empty_edges_are_ascii_word(part, edge) {
            return SequenceEdge::Other;
        }
        if never_empty(part) {
            return SequenceEdge::AsciiWord;
        }
    }
    SequenceEdge::AsciiWordOrEmpty
}

/// Whether every non-empty match of `hir` has an ASCII word character
/// first (or last).
fn non_empty_edges_are_ascii_word(hir: &Hir, edge: Edge) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(literal) => {
            let byte = match edge {
                Edge::First => literal.0.first(),
                Edge::Last => literal.0.last(),
            };
            byte.is_some_and(|&b| is_ascii_word_byte(b))
        }
        HirKind::Class(Class::Unicode(class)) => class
            .ranges()
            .iter()
            .all(|r| r.end().is_ascii() && (r.start()..=r.end()).all(|c| is_ascii_word_byte(c as u8))),
        HirKind::Class(Class::Bytes(class)) => {
            class.ranges().iter().all(|r| (r.start()..=r.end()).all(is_ascii_word_byte))
        }
        // A non-empty match of a repetition starts (ends) with a
        // non-empty match of what it repeats.
        HirKind::Repetition(repetition) => non_empty_edges_are_ascii_word(&repetition.sub, edge),
        HirKind::Capture(capture) => non_empty_edges_are_ascii_word(&capture.sub, edge),
        HirKind::Alternation(branches) => branches.iter().all(|b| non_empty_edges_are_ascii_word(b, edge)),
        HirKind::Concat(parts) => {
            let from_edge = match edge {
                Edge::First => sequence_edge(parts.iter(), edge),
                Edge::Last => sequence_edge(parts.iter().rev(), edge),
            };
            from_edge != SequenceEdge::Other
        }
    }
}

fn is_ascii_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether a Unicode and an ASCII word boundary read the same everywhere
/// a search of `text[start..end]` may test one: no non-ASCII word
/// character lies in the span or right beside it (a boundary at the
/// span's edge looks at the text around it).
pub(crate) fn reads_the_same(text: &str, start: usize, end: usize) -> bool {
    let bytes = text.as_bytes();
    // Most spans are ASCII, beside ASCII: a byte test settles them.
    let before = start.checked_sub(1).is_none_or(|i| bytes[i].is_ascii());
    let after = bytes.get(end).is_none_or(u8::is_ascii);
    if before && after && bytes[start..end].is_ascii() {
        return true;
    }
    let (Some(head), Some(tail)) = (text.get(..start), text.get(end..)) else {
        return false;
    };
    let beside = head.chars().next_back().into_iter().chain(tail.chars().next());
    !text[start..end].chars().chain(beside).any(|c| !c.is_ascii() && regex_syntax::is_word_character(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(pattern: &str) -> Hir {
        regex_syntax::parse(pattern).expect("pattern parses")
    }

    #[test]
    fn boundaries_beside_a_word_character_of_the_pattern_widen() {
        for pattern in [
            r"\b[0-9]+ ?(mg|mcg|ug) ?ml\b",
            r"\b(replica|copy) 1 1\b",
            r"\bthc (?:content |level )?([1-9][0-9]?)(?:$| [a-z]{3,})",
            r"\b(1 8|1 4|1 2) ?oz\b",
            r"\b[0-9]{2,3} ?gr(ain)?s?\b",
            r"(?:^| )0(?: [0-9]+)? (?:%|percent )?thc\b",
            r"\brange (of |up to )?\d+ ?(m|ft)\b",
            r"x\b{start-half}",
            r"no boundary at all",
        ] {
            assert!(ascii_reading_widens(&tree(pattern)), "{pattern}");
        }
    }

    #[test]
    fn boundaries_left_to_the_text_do_not_widen() {
        for pattern in [
            // A side that may be empty, or a space, or not ASCII.
            r"\b[0-9]* ?mg",
            r"mg ?\b",
            r"\bé",
            r"\b\w",
            r"(a|\b)",
            r"\b",
            r"x\B",
            r"\b(mg|)",
        ] {
            assert!(!ascii_reading_widens(&tree(pattern)), "{pattern}");
        }
    }

    /// The proof against the two readings themselves: wherever the
    /// pattern as written matches, its ASCII reading does, on texts with
    /// non-ASCII word characters beside and inside the match.
    #[test]
    fn a_widening_pattern_matches_in_ascii_wherever_it_does_in_unicode() {
        let patterns = [r"\b[0-9]+ ?(mg|ml)\b", r"\b(1 2|1 4) ?oz\b", r"\bthc ([1-9][0-9]?)\b", r"(?:^| )0 thc\b"];
        let texts = ["5 mg", "д5 mgд", "д 5 mg д", "ж1 2oz", "thc 12 щ", "щthc 12", "x 0 thc", "0 thcé", "µ5ml"];
        for pattern in patterns {
            let hir = tree(pattern);
            assert!(ascii_reading_widens(&hir), "{pattern}");
            let unicode = regex::Regex::new(pattern).expect("compiles");
            let ascii = regex::Regex::new(&with_ascii_boundaries(&hir).to_string()).expect("compiles");
            for text in texts {
                if unicode.is_match(text) {
                    assert!(ascii.is_match(text), "{pattern} on {text}");
                }
            }
        }
    }

    #[test]
    fn ascii_boundaries_replace_unicode_ones_only() {
        let hir = tree(r"\b5\B(?-u:\b)x\b{start}y\b{end-half}");
        assert!(has_unicode_boundary(&hir));
        let ascii = with_ascii_boundaries(&hir);
        assert!(!has_unicode_boundary(&ascii));
        assert_eq!(ascii, tree(r"(?-u:\b)5(?-u:\B)(?-u:\b)x(?-u:\b{start})y(?-u:\b{end-half})"));
        assert!(!has_unicode_boundary(&tree("(?-u:\\b)5")));
    }

    #[test]
    fn readings_agree_unless_a_non_ascii_word_character_is_in_or_beside_the_span() {
        let text = "12 mg × 5 ml дд 7 g";
        let span = |s: &str| {
            let start = text.find(s).expect("in text");
            (start, start + s.len())
        };
        let same = |(start, end)| reads_the_same(text, start, end);
        assert!(same(span("12 mg")));
        // `×` is not a word character.
        assert!(same(span("mg × 5")));
        assert!(same(span("5 ml")));
        assert!(!same(span("5 ml ")), "a Cyrillic letter right after the span");
        assert!(!same(span("дд")));
        assert!(same(span("7 g")), "a space between the span and the Cyrillic letter");
        assert!(!same(span(" 7 g")));
        assert!(same((0, 0)));
        assert!(same((text.len(), text.len())));
        assert!(!same((span("дд").1, span("дд").1)));
    }
}
