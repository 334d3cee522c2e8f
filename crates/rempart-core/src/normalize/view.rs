//! The plain view of a field: what quantity extraction reads.
//!
//! Quantities are read from the seller's characters, not from the
//! canonical word stream (`1,5` and `3'2"` need their punctuation), but
//! they need the same answer to "is this a space?" and "is this
//! invisible?" as words do, or `100 cm` written with a no-break space, or
//! `100\u{200B}cm` with a zero-width space, stops being a height. The
//! view applies exactly that part of normalisation:
//!
//! * every `White_Space` character becomes an ASCII space;
//! * every `Default_Ignorable_Code_Point` character is removed;
//! * full-width ASCII forms (`１００ｃｍ`) become ASCII.
//!
//! Every byte of the view maps back to the original character it came
//! from, so spans found in the view are reported in the original text.

use super::offsets::OffsetMap;
use super::props::{changed_in_view, fullwidth_ascii, is_default_ignorable, may_hold_changed};

/// A field's text with spaces, ignorables and full-width forms made plain.
#[derive(Clone, Debug)]
pub struct PlainView {
    text: String,
    /// The original span of the character each byte of `text` came from.
    map: OffsetMap,
}

impl PlainView {
    /// The view of `original`, or `None` when it would be identical (the
    /// common case: read the original directly).
    pub fn new(original: &str) -> Option<PlainView> {
        // Most text has no byte that can start a changed character (plain
        // ASCII, accented Latin): one cheap pass.
        if !may_hold_changed(original) {
            return None;
        }
        PlainView::of_candidate(original)
    }

    /// [`PlainView::new`] of a text a byte scan found may need a view
    /// ([`may_hold_changed`]).
    pub(crate) fn of_candidate(original: &str) -> Option<PlainView> {
        if !original.chars().any(changed_in_view) {
            return None;
        }
        let mut view = PlainView { text: String::with_capacity(original.len()), map: OffsetMap::default() };
        for (i, c) in original.char_indices() {
            let to = (i + c.len_utf8()) as u32;
            let mapped = if c.is_whitespace() {
                ' '
            } else if is_default_ignorable(c) {
                continue;
            } else {
                fullwidth_ascii(c).unwrap_or(c)
            };
            view.text.push(mapped);
            view.map.push_spanning(i as u32, to, mapped.len_utf8() as u32);
        }
        Some(view)
    }

    /// The plain text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Maps a byte range of the view (`start < end`, on the view) to the
    /// original text. Ignorables inside the range are covered; those
    /// around it are not.
    pub fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        (self.map.span(start).0 as usize, self.map.span(end - 1).1 as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_ignorables_and_full_width_forms_are_made_plain() {
        let original = "100\u{A0}cm 1\u{200B}m05 \u{202E}5\u{2009}000\u{202F}mW\tok １００ｃｍ";
        let view = PlainView::new(original).expect("changed");
        assert_eq!(view.as_str(), "100 cm 1m05 5 000 mW ok 100cm");
        let at = view.as_str().find("1m05").unwrap_or(0);
        let (s, e) = view.original_span(at, at + 4);
        assert_eq!(&original[s..e], "1\u{200B}m05");
        let at = view.as_str().rfind("100cm").unwrap_or(0);
        let (s, e) = view.original_span(at, at + 5);
        assert_eq!(&original[s..e], "１００ｃｍ");
        let at = view.as_str().find("5 000").unwrap_or(0);
        let (s, e) = view.original_span(at, at + 5);
        assert_eq!(&original[s..e], "5\u{2009}000", "the bidi control before the number is left out");
    }

    #[test]
    fn plain_text_needs_no_view() {
        assert!(PlainView::new("Poupée 100 cm, 5 000 mW").is_none());
        assert!(PlainView::new("").is_none());
        assert!(PlainView::new("a\nb").is_some());
    }
}
