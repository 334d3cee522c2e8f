//! Seeded synthetic hashes, for tests, benchmarks and sizing a bank before
//! real data arrives. The generator is SplitMix64, small enough to keep
//! here, so generated banks never change under a dependency upgrade.

use crate::Hash256;

/// A seeded generator of hashes and near-duplicates.
#[derive(Clone, Debug)]
pub struct HashGenerator(u64);

impl HashGenerator {
    pub fn new(seed: u64) -> HashGenerator {
        HashGenerator(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound.max(1) as u64) as usize
    }

    /// A uniformly random hash.
    pub fn hash(&mut self) -> Hash256 {
        Hash256([self.next_u64(), self.next_u64(), self.next_u64(), self.next_u64()])
    }

    /// `hash` with exactly `count` (≤ 256) distinct bits flipped.
    pub fn flip_bits(&mut self, hash: &Hash256, count: u32) -> Hash256 {
        let count = count.min(256);
        let mut flipped = *hash;
        while flipped.distance(hash) < count {
            let bit = self.below(256);
            let mask = 1 << (bit % 64);
            // Only bits still equal to the original, so flips never cancel.
            if (flipped.0[bit / 64] ^ hash.0[bit / 64]) & mask == 0 {
                flipped.0[bit / 64] ^= mask;
            }
        }
        flipped
    }
}
