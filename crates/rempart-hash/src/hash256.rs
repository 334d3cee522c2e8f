//! The 256-bit hash value shared by PDQ, hash banks and their index.

use std::fmt;
use std::str::FromStr;

/// A 256-bit perceptual hash. Word 0 holds the first 16 hex digits of the
/// conventional hex form (the most significant bits), so `Display` and
/// `FromStr` round-trip with the reference tools' output.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash256(pub [u64; 4]);

/// Why a hex string is not a 256-bit hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseHashError {
    #[error("expected 64 hex digits, found {0} characters")]
    Length(usize),
    #[error("`{0}` is not a hex digit")]
    Digit(char),
}

impl Hash256 {
    /// Number of differing bits.
    #[inline]
    pub fn distance(&self, other: &Hash256) -> u32 {
        (self.0[0] ^ other.0[0]).count_ones()
            + (self.0[1] ^ other.0[1]).count_ones()
            + (self.0[2] ^ other.0[2]).count_ones()
            + (self.0[3] ^ other.0[3]).count_ones()
    }

    /// Bit `i` counted from the least significant bit of the last hex
    /// digit, as the PDQ reference numbers them (bit 0 is the last word's
    /// lowest bit).
    #[inline]
    pub fn bit(&self, i: usize) -> bool {
        (self.0[3 - i / 64] >> (i % 64)) & 1 == 1
    }

    #[inline]
    pub fn set_bit(&mut self, i: usize) {
        self.0[3 - i / 64] |= 1 << (i % 64);
    }

    /// The 16-bit word `i` (0..16) in the reference's numbering: word 0 is
    /// the last four hex digits.
    #[inline]
    pub fn word16(&self, i: usize) -> u16 {
        (self.0[3 - i / 4] >> ((i % 4) * 16)) as u16
    }
}

impl fmt::Display for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}{:016x}{:016x}{:016x}", self.0[0], self.0[1], self.0[2], self.0[3])
    }
}

impl fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash256({self})")
    }
}

impl FromStr for Hash256 {
    type Err = ParseHashError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() != 64 {
            return Err(ParseHashError::Length(s.chars().count()));
        }
        if let Some(c) = s.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(ParseHashError::Digit(c));
        }
        let mut words = [0u64; 4];
        for (i, word) in words.iter_mut().enumerate() {
            // Checked above: 64 ASCII hex digits, so every slice parses.
            *word = u64::from_str_radix(&s[i * 16..i * 16 + 16], 16).map_err(|_| ParseHashError::Length(64))?;
        }
        Ok(Hash256(words))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_distance() {
        let a: Hash256 = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22".parse().unwrap();
        assert_eq!(a.to_string(), "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22");
        let b: Hash256 = "d8f8f0cee0f4a84f0637022a038f67f0b36e2ed596631e1d33e6339c4e9c9b22".parse().unwrap();
        assert_eq!(a.distance(&b), 2);
        assert_eq!(a.word16(0), 0x9b22);
        assert!(a.bit(1) && !a.bit(0));
        assert_eq!("zz".parse::<Hash256>(), Err(ParseHashError::Length(2)));
    }
}
