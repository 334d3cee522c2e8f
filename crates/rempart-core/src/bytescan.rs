//! Finding the next byte of a small class eight bytes at a time.
//!
//! Every byte of every field is scanned for digits (the regular
//! expressions that read numbers, the quantity scanner), and most words
//! hold none, so a clean word is skipped in a few instructions instead of
//! eight byte tests. Written by hand: `memchr` finds up to three given
//! bytes, not a range of bytes (nor a range together with every byte whose
//! high bit is set).

const LOW_SEVEN_BITS: u64 = u64::from_ne_bytes([0x7f; 8]);
const HIGH_BITS: u64 = u64::from_ne_bytes([0x80; 8]);
const LOW_BITS: u64 = u64::from_ne_bytes([0x01; 8]);
// Added to a byte below 0x80, these set its high bit when it is at least
// `0` (resp. more than `9`), without carrying into the next byte.
const FROM_ZERO: u64 = u64::from_ne_bytes([0x80 - b'0'; 8]);
const PAST_NINE: u64 = u64::from_ne_bytes([0x80 - b'9' - 1; 8]);

/// Where the first ASCII digit of `bytes` is.
pub(crate) fn first_ascii_digit(bytes: &[u8]) -> Option<usize> {
    first_flagged(bytes, |word| ascii_digits(word) & !word, |b| b.is_ascii_digit())
}

/// Where the first ASCII digit or non-ASCII byte (≥ 0x80) of `bytes` is:
/// where a numeric character (`char::is_numeric`) may start.
pub(crate) fn first_digit_or_non_ascii(bytes: &[u8]) -> Option<usize> {
    first_flagged(bytes, |word| ascii_digits(word) | word, |b| b.is_ascii_digit() || !b.is_ascii())
}

/// Where the first ASCII digit or `@`, `$`, `!`, `|` of `bytes` is: where
/// a leet reading may start (the digits it reads are a subset).
pub(crate) fn first_digit_or_leet_symbol(bytes: &[u8]) -> Option<usize> {
    first_flagged(
        bytes,
        |word| {
            ascii_digits(word) & !word
                | equal_bytes(word, b'@')
                | equal_bytes(word, b'$')
                | equal_bytes(word, b'!')
                | equal_bytes(word, b'|')
        },
        |b| b.is_ascii_digit() || matches!(b, b'@' | b'$' | b'!' | b'|'),
    )
}

/// The first byte of `bytes` whose high bit `flags` sets in its eight-byte
/// word (exact for the lowest flagged byte of a word; bytes above it may
/// be flagged wrongly), or that `flagged` accepts in the tail.
#[inline(always)]
fn first_flagged(bytes: &[u8], flags: impl Fn(u64) -> u64, flagged: impl Fn(u8) -> bool) -> Option<usize> {
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    for (i, word) in words.enumerate() {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        let found = flags(u64::from_le_bytes(eight)) & HIGH_BITS;
        if found != 0 {
            // The lowest flagged byte is the first (little-endian load).
            return Some(i * 8 + found.trailing_zeros() as usize / 8);
        }
    }
    let in_tail = tail.iter().position(|&b| flagged(b))?;
    Some(bytes.len() - tail.len() + in_tail)
}

/// Sets the high bit of each byte whose low seven bits are an ASCII digit
/// (exact in every byte: nothing carries between bytes).
#[inline(always)]
fn ascii_digits(word: u64) -> u64 {
    let low = word & LOW_SEVEN_BITS;
    (low + FROM_ZERO) & !(low + PAST_NINE)
}

/// Sets the high bit of each byte equal to `byte`: exact for the lowest
/// such byte, as the borrow of the subtraction only runs upwards from it.
#[inline(always)]
fn equal_bytes(word: u64, byte: u8) -> u64 {
    let zero_where_equal = word ^ u64::from_ne_bytes([byte; 8]);
    zero_where_equal.wrapping_sub(LOW_BITS) & !zero_where_equal
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The word-at-a-time scans find the byte the byte-at-a-time tests
        /// find, from every offset (so each alignment and tail length is
        /// met), on text mixing ASCII, digits and multi-byte characters.
        #[test]
        fn the_word_scans_find_what_byte_scans_find(text in "[\\x00-\\x7f0-9@$!|é٣€😀½߀Ⅻ\u{80}\u{7ff}\u{ffff}]{0,40}") {
            let bytes = text.as_bytes();
            for start in 0..=bytes.len() {
                let rest = &bytes[start..];
                let or_non_ascii = rest.iter().position(|&b| b.is_ascii_digit() || !b.is_ascii());
                proptest::prop_assert_eq!(first_digit_or_non_ascii(rest), or_non_ascii, "{:?} from {}", text, start);
                let digit = rest.iter().position(u8::is_ascii_digit);
                proptest::prop_assert_eq!(first_ascii_digit(rest), digit, "{:?} from {}", text, start);
                let leet = rest.iter().position(|&b| b.is_ascii_digit() || b"@$!|".contains(&b));
                proptest::prop_assert_eq!(first_digit_or_leet_symbol(rest), leet, "{:?} from {}", text, start);
            }
        }
    }

    #[test]
    fn bytes_above_ascii_whose_low_bits_are_digits_are_not_digits() {
        // 0xB0..=0xB9 are continuation bytes whose low seven bits are `0`..`9`.
        let text = "°±²³´µ¶·¸¹ 7";
        assert_eq!(first_ascii_digit(text.as_bytes()), Some(text.len() - 1));
        assert_eq!(first_digit_or_non_ascii(text.as_bytes()), Some(0));
    }
}
