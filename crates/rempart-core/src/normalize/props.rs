//! The Unicode properties the normaliser gives a meaning to, read from the
//! Unicode Character Database tables that `regex-syntax` maintains (the
//! same tables the `regex` crate matches `\p{…}` with), never from ranges
//! written here: a new Unicode version reaches us with a dependency update.
//!
//! * `White_Space` (via [`char::is_whitespace`], which is that property):
//!   separates words and reads as a space between a number and its unit
//!   (`100 cm` with a no-break space is French typography, not evasion).
//! * `Default_Ignorable_Code_Point`: invisible by definition (zero-width
//!   characters, joiners, soft hyphen, Hangul fillers, variation
//!   selectors, tags, bidirectional controls); removed wherever it is.
//! * `Bidi_Control`: also ignorable, but it changes the *display order* of
//!   the text around it, so that what a buyer sees is not what was
//!   written; every occurrence is reported as evidence for the pack's
//!   `bidi_control` signal.

use std::sync::OnceLock;

/// Sorted, non-overlapping inclusive code point ranges of one property.
struct Ranges(Vec<(u32, u32)>);

impl Ranges {
    /// The ranges of a binary property, by its UCD name.
    fn of(property: &str) -> Ranges {
        use regex_syntax::hir::{Class, HirKind};
        let pattern = format!(r"\p{{{property}}}");
        let hir = regex_syntax::ParserBuilder::new().build().parse(&pattern);
        let ranges = match hir.as_ref().map(|h| h.kind()) {
            Ok(HirKind::Class(Class::Unicode(class))) => {
                class.ranges().iter().map(|r| (r.start() as u32, r.end() as u32)).collect()
            }
            // The property names are constants known to regex-syntax; a
            // test holds each table to a few known members.
            _ => Vec::new(),
        };
        Ranges(ranges)
    }

    fn contains(&self, c: char) -> bool {
        let cp = c as u32;
        self.0
            .binary_search_by(|&(start, end)| {
                if end < cp {
                    std::cmp::Ordering::Less
                } else if start > cp {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .is_ok()
    }
}

struct Tables {
    ignorable: Ranges,
    bidi: Ranges,
    format: Ranges,
    /// Per BMP code point: whether the quantity view must change it
    /// (white space other than U+0020, an ignorable, a full-width form).
    view_bmp: Vec<u64>,
    /// Per byte, what a character starting with it may be ([`LEAD_DIGIT`],
    /// [`LEAD_VIEW`]), so that most text is let through by one byte scan.
    leads: [u8; 256],
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let ignorable = Ranges::of("Default_Ignorable_Code_Point");
        let bidi = Ranges::of("Bidi_Control");
        let format = Ranges::of("Cf");
        let mut view_bmp = vec![0u64; 0x10000 / 64];
        let mut leads = [0u8; 256];
        for c in ('0'..='9').chain('\u{FF10}'..='\u{FF19}') {
            leads[c.encode_utf8(&mut [0; 4]).as_bytes()[0] as usize] |= LEAD_DIGIT;
        }
        let mut lead_of = |c: char| leads[c.encode_utf8(&mut [0; 4]).as_bytes()[0] as usize] |= LEAD_VIEW;
        for cp in 0..0x10000u32 {
            let Some(c) = char::from_u32(cp) else { continue };
            if (c.is_whitespace() && c != ' ') || ignorable.contains(c) || fullwidth_ascii(c).is_some() {
                view_bmp[cp as usize / 64] |= 1 << (cp % 64);
                lead_of(c);
            }
        }
        for &(start, end) in &ignorable.0 {
            (start.max(0x10000)..=end).filter_map(char::from_u32).for_each(&mut lead_of);
        }
        Tables { ignorable, bidi, format, view_bmp, leads }
    })
}

/// `Default_Ignorable_Code_Point`.
pub fn is_default_ignorable(c: char) -> bool {
    tables().ignorable.contains(c)
}

/// `Bidi_Control`: marks, embeddings, overrides and isolates.
pub fn is_bidi_control(c: char) -> bool {
    tables().bidi.contains(c)
}

/// Whether printing `c` raw on a terminal could change what a person
/// reads: control characters (`Cc`: escape sequences, carriage returns,
/// line breaks), format characters (`Cf`: bidirectional controls,
/// zero-width characters), line and paragraph separators, and anything
/// else default-ignorable (invisible).
pub fn is_unsafe_on_terminal(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}')
        || (!c.is_ascii() && (tables().format.contains(c) || is_default_ignorable(c)))
}

/// `White_Space`.
pub fn is_white_space(c: char) -> bool {
    c.is_whitespace()
}

/// The ASCII character a full-width form stands for (`１` → `1`), with
/// the ideographic space read as a space.
pub(crate) fn fullwidth_ascii(c: char) -> Option<char> {
    match c {
        '\u{3000}' => Some(' '),
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFF01 + 0x21),
        _ => None,
    }
}

/// A byte that may start a digit, ASCII or full-width (`１`).
pub(crate) const LEAD_DIGIT: u8 = 1;
/// A byte that may start a character [`super::PlainView`] changes.
pub(crate) const LEAD_VIEW: u8 = 2;

/// Which of [`LEAD_DIGIT`] and [`LEAD_VIEW`] some byte of `text` is: one
/// pass answers both questions quantity extraction asks of every field
/// (is there a number? does the view differ?). The table is fetched once:
/// through the `OnceLock` per byte, the scan cost twice as much.
pub(crate) fn leads_in(text: &str) -> u8 {
    let leads = &tables().leads;
    let mut found = 0;
    for &b in text.as_bytes() {
        found |= leads[usize::from(b)];
        if found == LEAD_DIGIT | LEAD_VIEW {
            break;
        }
    }
    found
}

/// Whether some byte of `text` may start a character [`super::PlainView`]
/// changes (a cheap test before [`changed_in_view`]).
pub(crate) fn may_hold_changed(text: &str) -> bool {
    // Its own scan, over the same table, so that it stops at the first
    // such byte whether or not the text holds a digit.
    let leads = &tables().leads;
    text.bytes().any(|b| leads[usize::from(b)] & LEAD_VIEW != 0)
}

/// Whether [`super::PlainView`] changes `c`: white space other than
/// the ASCII space, ignorables, full-width forms.
pub(crate) fn changed_in_view(c: char) -> bool {
    let cp = c as u32;
    if cp < 0x80 {
        return c != ' ' && c.is_whitespace();
    }
    if cp < 0x10000 {
        return tables().view_bmp[cp as usize / 64] & (1 << (cp % 64)) != 0;
    }
    is_default_ignorable(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_come_from_the_ucd() {
        for c in ['\u{AD}', '\u{34F}', '\u{61C}', '\u{115F}', '\u{1160}', '\u{17B4}', '\u{180E}', '\u{200B}'] {
            assert!(is_default_ignorable(c), "{:04X}", c as u32);
        }
        for c in ['\u{200D}', '\u{2060}', '\u{2064}', '\u{3164}', '\u{FE0F}', '\u{FEFF}', '\u{FFA0}'] {
            assert!(is_default_ignorable(c), "{:04X}", c as u32);
        }
        for c in ['\u{1BCA0}', '\u{1D173}', '\u{E0001}', '\u{E0041}', '\u{E01EF}'] {
            assert!(is_default_ignorable(c), "{:04X}", c as u32);
        }
        for c in ['a', ' ', '\u{A0}', '\u{2800}', 'é', '\u{301}'] {
            assert!(!is_default_ignorable(c), "{:04X}", c as u32);
        }
        for c in ['\u{61C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}'] {
            assert!(is_bidi_control(c) && is_default_ignorable(c), "{:04X}", c as u32);
        }
        assert!(!is_bidi_control('\u{200B}'));
        for c in ['\u{85}', '\u{A0}', '\u{1680}', '\u{2000}', '\u{200A}', '\u{2028}', '\u{2029}', '\u{202F}'] {
            assert!(is_white_space(c) && changed_in_view(c), "{:04X}", c as u32);
        }
        assert!(changed_in_view('\u{205F}') && changed_in_view('\u{3000}') && changed_in_view('\t'));
        assert!(changed_in_view('\u{E0041}') && changed_in_view('１'));
        assert!(!changed_in_view(' ') && !changed_in_view('é') && !changed_in_view('5'));
        for c in ['\t', '\u{A0}', '\u{3000}', '\u{E0041}', '\u{1BCA0}', '１'] {
            assert!(may_hold_changed(&format!("a{c}")), "{:04X}", c as u32);
        }
        assert!(!may_hold_changed("a é") && !may_hold_changed(""));
        for c in ['\u{1B}', '\r', '\n', '\u{7F}', '\u{9B}', '\u{202E}', '\u{2066}', '\u{200B}', '\u{2028}', '\u{FFF9}']
        {
            assert!(is_unsafe_on_terminal(c), "{:04X}", c as u32);
        }
        for c in ['a', ' ', 'é', '日', '👧', '\u{A0}'] {
            assert!(!is_unsafe_on_terminal(c), "{:04X}", c as u32);
        }
    }

    #[test]
    fn one_scan_tells_digits_and_view_changes_apart() {
        // Every character alone and after ASCII text, against the
        // per-character definitions.
        for c in (0..0x11000u32).filter_map(char::from_u32) {
            for text in [c.to_string(), format!("ab {c}")] {
                let leads = leads_in(&text);
                let digit_byte = text.bytes().any(|b| b.is_ascii_digit() || b == 0xEF);
                assert_eq!(leads & LEAD_DIGIT != 0, digit_byte, "{:04X}", c as u32);
                if changed_in_view(c) {
                    assert!(leads & LEAD_VIEW != 0, "{:04X}", c as u32);
                }
            }
        }
        assert_eq!(leads_in("100\u{A0}cm"), LEAD_DIGIT | LEAD_VIEW);
        assert_eq!(leads_in("Poupée 100 cm"), LEAD_DIGIT);
        assert_eq!(leads_in("a\tb"), LEAD_VIEW);
        assert_eq!(leads_in(""), 0);
    }
}
