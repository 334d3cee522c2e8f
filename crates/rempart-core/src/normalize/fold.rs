//! What one character of seller text becomes in the matching stream.
//!
//! Folding is decided per code point and cached in a table for the Basic
//! Multilingual Plane, so the hot path is one array index per non-ASCII
//! character. `decancer` supplies the homoglyph and diacritic knowledge
//! (Cyrillic `е` → `e`, `𝓼` → `s`, `é` → `e`, `œ` → `oe`); the few places
//! where its "cure" is wrong for product text are overridden here first:
//! it turns emoji into letters (`👧` → `o`), `ß` into `b`, some CJK
//! ideographs into digits, `™`/`®` into letters, and zero-width characters
//! into spaces, which would let an invisible character split a word.
//! Spaces and invisible characters are decided by their Unicode properties
//! (`White_Space`, `Default_Ignorable_Code_Point`, see `props.rs`) before
//! anything else.

use std::sync::OnceLock;

use super::props;

/// The fate of one input character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fold {
    /// Invisible: every `Default_Ignorable_Code_Point` (zero-width
    /// characters, soft hyphens, Hangul fillers, variation selectors, tags,
    /// bidirectional controls) and combining marks. Removed without
    /// splitting the word.
    Skip,
    /// Separates words (every `White_Space` character, punctuation, symbols).
    Sep,
    /// An emoji or pictograph: kept verbatim as a word of its own, so a
    /// policy can list emoji stand-ins.
    Token,
    /// Word characters: up to six bytes of lower-case UTF-8.
    Text { len: u8, buf: [u8; 6] },
}

impl Fold {
    fn text(s: &str) -> Fold {
        let bytes = s.as_bytes();
        if bytes.is_empty() {
            return Fold::Skip;
        }
        let mut buf = [0u8; 6];
        // Longer cures (rare: "1/2" style expansions) keep their first
        // whole characters; they never carry a policy term on their own.
        let mut len = 0;
        for ch in s.chars() {
            let l = ch.len_utf8();
            if len + l > buf.len() {
                break;
            }
            ch.encode_utf8(&mut buf[len..len + l]);
            len += l;
        }
        Fold::Text { len: len as u8, buf }
    }

    /// The folded bytes, without checking them as UTF-8 again as
    /// [`Fold::as_str`] does: the fold's per-character path, where that
    /// check cost more than the rest of a character's work.
    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Fold::Text { len, buf } => &buf[..*len as usize],
            _ => &[],
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            // The buffer is filled from whole `char`s only.
            Fold::Text { len, buf } => std::str::from_utf8(&buf[..*len as usize]).unwrap_or(""),
            _ => "",
        }
    }
}

/// Folds one character. ASCII callers should use their own fast path; this
/// is correct for every `char`.
pub(crate) fn fold_char(c: char) -> Fold {
    fold_char_in(bmp_table(), c)
}

/// [`fold_char`] with the table already fetched (hot loops fetch it once).
#[inline]
pub(crate) fn fold_char_in(table: &[Fold], c: char) -> Fold {
    let cp = c as u32;
    if cp < 0x80 {
        return fold_ascii(c as u8);
    }
    if cp <= 0xFFFF {
        return table[cp as usize - 0x80];
    }
    compute(c)
}

pub(crate) fn fold_ascii(b: u8) -> Fold {
    if b.is_ascii_alphanumeric() {
        let mut buf = [0u8; 6];
        buf[0] = b.to_ascii_lowercase();
        Fold::Text { len: 1, buf }
    } else {
        Fold::Sep
    }
}

pub(crate) fn bmp_table() -> &'static [Fold] {
    static TABLE: OnceLock<Vec<Fold>> = OnceLock::new();
    TABLE.get_or_init(|| (0x80u32..=0xFFFF).map(|cp| char::from_u32(cp).map_or(Fold::Sep, compute)).collect())
}

/// For each code point of two bytes of UTF-8 (U+0080 to U+07FF), the
/// ASCII lower-case letter or digit it folds to alone, else 0: the bulk
/// of Cyrillic, Greek and accented Latin words, which the fold copies
/// through this table a letter at a time ([`two_byte_letter`]).
pub(crate) fn two_byte_letters() -> &'static [u8; 0x780] {
    static TABLE: OnceLock<[u8; 0x780]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let bmp = bmp_table();
        std::array::from_fn(|i| match bmp[i].as_bytes() {
            &[b] if b.is_ascii_lowercase() || b.is_ascii_digit() => b,
            _ => 0,
        })
    })
}

/// The ASCII letter or digit that the character at byte `at` of UTF-8
/// text `bytes` folds to alone, if it is two bytes long and folds so
/// (`letters` is [`two_byte_letters`], fetched once by the caller's loop).
#[inline]
pub(crate) fn two_byte_letter(letters: &[u8; 0x780], bytes: &[u8], at: usize) -> Option<u8> {
    let (lead, trail) = (*bytes.get(at)?, *bytes.get(at + 1)?);
    if !(0xC2..=0xDF).contains(&lead) {
        return None;
    }
    // A two-byte lead in UTF-8 text is followed by its continuation byte.
    let code_point = (usize::from(lead & 0x1F) << 6) | usize::from(trail & 0x3F);
    Some(letters[code_point - 0x80]).filter(|&letter| letter != 0)
}

fn is_combining(cp: u32) -> bool {
    matches!(cp, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

fn is_pictograph(cp: u32) -> bool {
    matches!(cp,
        0x2600..=0x27BF             // misc symbols, dingbats
        | 0x2B00..=0x2BFF
        | 0x1F000..=0x1F0FF         // mahjong, domino, playing cards
        | 0x1F200..=0x1FAFF         // pictographs, emoticons, transport, supplemental
    )
}

/// Scripts that have no Latin look-alikes to fold into: kept as they are
/// (lower-cased), so terms written in them still match themselves.
fn is_unfolded_script(cp: u32) -> bool {
    matches!(cp,
        0x1100..=0x11FF | 0x2E80..=0x2FDF | 0x3040..=0x30FF | 0x3100..=0x31FF
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xA960..=0xA97F | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF | 0x20000..=0x3134F
    )
}

fn compute(c: char) -> Fold {
    let cp = c as u32;
    // Properties first: an invisible character vanishes and a space
    // separates, whatever a homoglyph table would make of them.
    if props::is_default_ignorable(c) || is_combining(cp) {
        return Fold::Skip;
    }
    if props::is_white_space(c) {
        return Fold::Sep;
    }
    if is_pictograph(cp) {
        return Fold::Token;
    }
    if is_unfolded_script(cp) {
        let mut s = String::new();
        s.extend(c.to_lowercase());
        return Fold::text(&s);
    }
    match c {
        'ß' | 'ẞ' => return Fold::text("ss"),
        '™' | '®' | '©' | '℠' | '℗' => return Fold::Sep,
        _ => {}
    }
    match decancer::cure_char(c, decancer::Options::default()) {
        decancer::Translation::None => Fold::Skip,
        decancer::Translation::Character(out) => fold_cured(&out.to_string()),
        decancer::Translation::String(out) => fold_cured(&out),
    }
}

/// Keeps the word characters of decancer's output; anything else it
/// produced (punctuation for dashes and bullets) separates words.
fn fold_cured(out: &str) -> Fold {
    let word: String = out.chars().filter(|ch| ch.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    if word.is_empty() {
        Fold::Sep
    } else {
        Fold::text(&word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(c: char) -> String {
        match fold_char(c) {
            f @ Fold::Text { .. } => f.as_str().to_string(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn homoglyphs_and_diacritics_fold_to_latin() {
        assert_eq!(folded('е'), "e"); // Cyrillic
        assert_eq!(folded('Ο'), "o"); // Greek capital omicron
        assert_eq!(folded('Ａ'), "a"); // full-width
        assert_eq!(folded('𝓼'), "s"); // mathematical script
        assert_eq!(folded('é'), "e");
        assert_eq!(folded('Œ'), "oe");
        assert_eq!(folded('ł'), "l");
    }

    #[test]
    fn overrides_where_the_cure_is_wrong_for_products() {
        assert_eq!(folded('ß'), "ss");
        assert_eq!(fold_char('👧'), Fold::Token);
        assert_eq!(fold_char('\u{200B}'), Fold::Skip);
        assert_eq!(fold_char('\u{00AD}'), Fold::Skip);
        assert_eq!(fold_char('™'), Fold::Sep);
        assert_eq!(folded('日'), "日");
        assert_eq!(fold_char('—'), Fold::Sep);
    }
}
