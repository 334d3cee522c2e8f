//! SHA-256 and the RFC 9162 §2.1.1 domain-separated tree hashes.
//!
//! A leaf is hashed as `SHA-256(0x00 || data)` and an interior node as
//! `SHA-256(0x01 || left || right)`. The one-byte prefixes are what make the
//! tree second-preimage resistant: without them an attacker could present
//! the 64 bytes `left || right` of an interior node as if they were a leaf's
//! data and "prove" the inclusion of an entry that was never logged.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// Prefix byte of a leaf hash (RFC 9162 §2.1.1).
pub const LEAF_PREFIX: u8 = 0x00;
/// Prefix byte of an interior node hash (RFC 9162 §2.1.1).
pub const NODE_PREFIX: u8 = 0x01;

/// A SHA-256 output: a leaf hash, a node hash or a tree root.
///
/// Serialised (serde) as 64 lowercase hex digits, the form our JSON APIs and
/// proof bundles use; [`Hash::to_base64`] gives the form C2SP checkpoints use.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

/// A byte string or text that is not a 32-byte hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashParseError {
    /// Decoded, but not 32 bytes long.
    #[error("a hash is 32 bytes, got {0}")]
    Length(usize),
    /// Not 64 hex digits.
    #[error("not a hex SHA-256 hash (64 hex digits): {0}")]
    Hex(String),
    /// Not canonical standard base64 of 32 bytes.
    #[error("not a base64 SHA-256 hash: {0}")]
    Base64(String),
}

impl Hash {
    /// The hash as raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Exactly 32 bytes, or an error saying how many there were.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashParseError> {
        <[u8; 32]>::try_from(bytes).map(Hash).map_err(|_| HashParseError::Length(bytes.len()))
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Self, HashParseError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(|e| HashParseError::Hex(e.to_string()))?;
        Ok(Hash(out))
    }

    /// Standard base64 with padding (RFC 4648 §4), as in C2SP checkpoints.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// Parses canonical standard base64 of exactly 32 bytes. Non-canonical
    /// encodings (stray trailing bits) are refused so that one hash has one
    /// text form and a flipped bit can never go unnoticed.
    pub fn from_base64(text: &str) -> Result<Self, HashParseError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| HashParseError::Base64(e.to_string()))?;
        Hash::from_slice(&bytes)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for Hash {
    type Err = HashParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hash::from_hex(s)
    }
}

impl From<[u8; 32]> for Hash {
    fn from(bytes: [u8; 32]) -> Self {
        Hash(bytes)
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Hash::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// Plain SHA-256 of `data` (no prefix): digests of records and listings.
pub fn sha256(data: &[u8]) -> Hash {
    Hash(Sha256::digest(data).into())
}

/// `SHA-256(0x00 || data)`: the hash of one log entry.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    Hash(h.finalize().into())
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// The root of the empty tree, `SHA-256("")` (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    sha256(b"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip_and_refuse_bad_lengths() {
        let h = leaf_hash(b"");
        assert_eq!(Hash::from_hex(&h.to_hex()), Ok(h));
        assert_eq!(Hash::from_base64(&h.to_base64()), Ok(h));
        assert!(matches!(Hash::from_hex("abcd"), Err(HashParseError::Hex(_))));
        assert_eq!(Hash::from_base64("AAAA"), Err(HashParseError::Length(3)));
        assert_eq!(serde_json::from_str::<Hash>(&serde_json::to_string(&h).unwrap()).unwrap(), h);
    }

    #[test]
    fn non_canonical_base64_is_refused() {
        // 32 bytes end in a base64 quantum carrying 2 unused bits: setting one
        // must not decode to the same hash.
        let text = Hash([0; 32]).to_base64();
        let mut tweaked = text.into_bytes();
        let last_data = tweaked.len() - 2;
        tweaked[last_data] = b'B';
        assert!(Hash::from_base64(std::str::from_utf8(&tweaked).unwrap()).is_err());
    }
}
