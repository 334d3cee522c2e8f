//! The crate's one hash function, fixed so that fingerprints stored today
//! still compare equal to fingerprints computed next year on another
//! machine.
//!
//! `std`'s `DefaultHasher` is explicitly unspecified across releases and
//! `RandomState` is seeded per process, so neither may feed a stored
//! signature. The function below is the SplitMix64 finaliser (Steele, Lea
//! and Flood, 2014) applied after every 8-byte little-endian word: cheap,
//! endian-independent, and every output bit depends on every input bit,
//! which is all MinHash needs (bin choice from the high bits, bin value from
//! the low bits). It is not keyed: nothing here defends against an attacker
//! who crafts colliding shingles, and nothing needs to, since a collision
//! can only make two listings look *more* alike and send them to review.

/// Seeds that keep the different uses of [`hash_bytes`] apart, so that a
/// word and a character trigram with the same bytes (`"lex"`) are different
/// shingles.
pub(crate) const WORD_SEED: u64 = 0x5245_4d50_574f_5244; // "REMPWORD"
pub(crate) const TRIGRAM_SEED: u64 = 0x5245_4d50_5452_4947; // "REMPTRIG"
pub(crate) const EXACT_SEED: u64 = 0x5245_4d50_4558_4143; // "REMPEXAC"
pub(crate) const DENSIFY_SEED: u64 = 0x5245_4d50_4445_4e53; // "REMPDENS"
pub(crate) const BAND_SEED: u64 = 0x5245_4d50_4241_4e44; // "REMPBAND"

/// SplitMix64's output function: a bijection on `u64` with full avalanche.
#[inline]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes `bytes` under `seed`. The length enters first, so inputs that
/// differ only by trailing zero bytes differ.
pub(crate) fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = mix64(seed ^ (bytes.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = mix64(h ^ u64::from_le_bytes(word));
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut word = [0u8; 8];
        word[..tail.len()].copy_from_slice(tail);
        h = mix64(h ^ u64::from_le_bytes(word));
    }
    h
}

/// A `Hasher` for maps whose keys are already [`hash_bytes`] outputs:
/// hashing them again would only cost time, and `RandomState` would make
/// bucket order (though never results) vary between runs.
#[derive(Default)]
pub(crate) struct PassThroughHasher(u64);

impl std::hash::Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached for non-u64 keys, which this crate never uses; stay
        // correct anyway.
        self.0 = hash_bytes(self.0, bytes);
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }
}

pub(crate) type PassThroughBuild = std::hash::BuildHasherDefault<PassThroughHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_values_are_pinned() {
        // Stored fingerprints depend on these exact values (checked against
        // an independent Python implementation): a change here must come
        // with a new fingerprint scheme number.
        assert_eq!(hash_bytes(WORD_SEED, b""), 0x49cb_ecc3_ba7e_022c);
        assert_eq!(hash_bytes(WORD_SEED, b"jacket"), 0x957b_5186_291d_d410);
        assert_eq!(hash_bytes(TRIGRAM_SEED, b"leather jacket"), 0x6e2e_dbcb_8a0f_2c0c);
        assert_ne!(hash_bytes(WORD_SEED, b"lex"), hash_bytes(TRIGRAM_SEED, b"lex"));
        assert_ne!(hash_bytes(WORD_SEED, b"a"), hash_bytes(WORD_SEED, b"a\0"));
        assert_eq!(mix64(0), 0);
        assert_eq!(mix64(1), 0x5692_161D_100B_05E5);
    }
}
