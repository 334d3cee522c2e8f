//! The index of removed listings: LSH banding for candidates, the sketch's
//! similarity estimate for verification.
//!
//! # Banding
//!
//! The 128-slot signature is cut into `b` bands of `r` consecutive slots;
//! each band's `r` values are hashed to a bucket key, and an entry is a
//! candidate for a query when they share the key of at least one band. Two
//! listings of Jaccard similarity `J` agree on a slot with probability `J`,
//! so they become candidates with probability `1 - (1 - J^r)^b`, an S-curve
//! whose steep part sits near `(1/b)^(1/r)`. Candidates are then verified
//! with the full 128-slot estimate, so banding only decides recall (a true
//! near-duplicate never made candidate is lost) and work (every candidate
//! costs one signature comparison).
//!
//! The default, 42 bands of 3 rows (126 of the 128 slots; the last two only
//! serve verification), is chosen for the default threshold
//! [`crate::DEFAULT_MIN_SIMILARITY`] of 0.55:
//!
//! | J          | 0.05   | 0.1  | 0.2  | 0.3  | 0.4  | 0.5    | 0.55   | 0.6      |
//! |------------|--------|------|------|------|------|--------|--------|----------|
//! | 42 × 3     | 0.005  | 0.04 | 0.29 | 0.68 | 0.94 | 0.996  | 0.9995 | 0.99996  |
//! | 32 × 4     | 0.0002 | 0.003| 0.05 | 0.23 | 0.56 | 0.87   | 0.95   | 0.99     |
//! | 64 × 2     | 0.15   | 0.47 | 0.93 | 0.998| ≈ 1  | ≈ 1    | ≈ 1    | ≈ 1      |
//!
//! At the threshold, one true pair in 2,000 is missed, and a relisted title
//! with light edits scores 0.75 and more (see the crate tests). Unrelated
//! titles still share common trigrams (`ing`, ` th`) and sit around
//! J = 0.05 to 0.15, where 42 × 3 makes few of them candidates: on the
//! Amazon-Google benchmark a query verifies 14 of 1,363 entries (1 %).
//! 32 × 4 would lose 5 % of the pairs at the threshold; 64 × 2 verifies
//! 115 entries per query (8 times the work) and gains nothing at 0.55
//! (the `relist_eval` example prints both). Callers who want thresholds
//! near 0.3 should pick 64 × 2 with [`RemovedIndex::with_bands`].

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::attributes::{compare, AttributeComparison, Attributes};
use crate::fingerprint::{TextFingerprint, SIGNATURE_LEN};
use crate::hash::{mix64, PassThroughBuild, BAND_SEED};
use crate::RelistError;

/// A removed or blocked listing, as recorded in the index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RemovedEntry {
    pub listing_id: String,
    /// What removed it: a rule id, a reviewer, a takedown reference.
    pub decided_by: String,
    pub seller_id: Option<String>,
    pub fingerprint: TextFingerprint,
    /// What its text stated (sizes, colours, model numbers), compared with
    /// a new listing's by [`RemovedIndex::query_with_attributes`]. Empty in
    /// entries stored before attributes were kept: those compare on text
    /// similarity alone, as before.
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    pub attributes: Attributes,
}

/// A removed listing that a query resembles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Near {
    pub listing_id: String,
    pub decided_by: String,
    pub seller_id: Option<String>,
    /// Estimated Jaccard similarity of the shingle sets, `0.0..=1.0`; 1.0
    /// when the normalised text has exactly the same shingles.
    pub similarity: f64,
    /// The similarity lowered for what the two texts state against the
    /// match (see [`crate::attributes`]); equal to `similarity` when
    /// nothing contradicts, and from [`RemovedIndex::query`].
    pub score: f64,
    /// Which attributes agreed and which contradicted; empty from
    /// [`RemovedIndex::query`].
    pub attributes: AttributeComparison,
}

/// LSH banding parameters: `bands` bands of `rows` signature slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LshBands {
    bands: usize,
    rows: usize,
}

impl LshBands {
    /// The default banding, 42 bands of 3 rows (see the module docs).
    pub const DEFAULT: LshBands = LshBands { bands: 42, rows: 3 };

    /// Checks that `bands × rows` slots fit in the signature.
    pub fn new(bands: usize, rows: usize) -> Result<LshBands, RelistError> {
        if bands == 0 || rows == 0 || bands.saturating_mul(rows) > SIGNATURE_LEN {
            return Err(RelistError::Banding { bands, rows, slots: SIGNATURE_LEN });
        }
        Ok(LshBands { bands, rows })
    }

    pub fn bands(&self) -> usize {
        self.bands
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Probability that two listings of Jaccard similarity `jaccard`
    /// share at least one band: `1 - (1 - J^r)^b`.
    pub fn candidate_probability(&self, jaccard: f64) -> f64 {
        let jaccard = jaccard.clamp(0.0, 1.0);
        1.0 - (1.0 - jaccard.powi(self.rows as i32)).powi(self.bands as i32)
    }

    /// The bucket key of every band of `signature`.
    fn keys<'s>(&self, signature: &'s [u32]) -> impl Iterator<Item = u64> + 's {
        let rows = self.rows;
        signature.chunks_exact(rows).take(self.bands).enumerate().map(|(band, slots)| {
            // The band number enters the key so that equal values in
            // different bands do not meet in one bucket.
            slots.iter().fold(mix64(BAND_SEED ^ band as u64), |key, &value| mix64(key ^ u64::from(value)))
        })
    }
}

impl Default for LshBands {
    fn default() -> Self {
        LshBands::DEFAULT
    }
}

/// The fingerprints of removed listings, searchable for near-duplicates.
///
/// Built by a writer with [`RemovedIndex::insert`], then shared read-only
/// (it is `Send + Sync`; queries take `&self`).
#[derive(Clone, Debug, Default)]
pub struct RemovedIndex {
    bands: LshBands,
    entries: Vec<RemovedEntry>,
    /// Band key → positions in `entries`. All bands share one map: keys
    /// already include the band number.
    buckets: HashMap<u64, Vec<u32>, PassThroughBuild>,
    /// Exact shingle-set key → positions in `entries`.
    exact: HashMap<u64, Vec<u32>, PassThroughBuild>,
}

impl RemovedIndex {
    /// An empty index with the default banding.
    pub fn new() -> RemovedIndex {
        RemovedIndex::default()
    }

    /// An empty index with other banding, for thresholds far from the
    /// default (see the module documentation).
    pub fn with_bands(bands: LshBands) -> RemovedIndex {
        RemovedIndex { bands, ..RemovedIndex::default() }
    }

    pub fn bands(&self) -> LshBands {
        self.bands
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[RemovedEntry] {
        &self.entries
    }

    /// Adds a removed listing. An entry with an empty fingerprint is kept
    /// (so [`RemovedIndex::entries`] stays a faithful record) but can never
    /// be returned. Fails only past `u32::MAX` entries.
    pub fn insert(&mut self, entry: RemovedEntry) -> Result<(), RelistError> {
        let position = u32::try_from(self.entries.len()).map_err(|_| RelistError::IndexFull)?;
        let fingerprint = &entry.fingerprint;
        if !fingerprint.is_empty() {
            self.exact.entry(fingerprint.exact_key()).or_default().push(position);
            for key in self.bands.keys(fingerprint.signature()) {
                self.buckets.entry(key).or_default().push(position);
            }
        }
        self.entries.push(entry);
        Ok(())
    }

    /// The removed listings whose estimated similarity to `fingerprint` is
    /// at least `min_similarity`, most similar first (ties by listing id,
    /// so the order is deterministic). Attributes are not compared:
    /// `score` is the similarity.
    ///
    /// Listings at or above the default threshold (0.55) are found with
    /// probability 0.9995 or more. Below about 0.45 the default banding
    /// misses a growing share (see the module documentation), so a lower
    /// `min_similarity` filters less but does not reach everything.
    pub fn query(&self, fingerprint: &TextFingerprint, min_similarity: f64) -> Vec<Near> {
        self.query_with(fingerprint, None, min_similarity)
    }

    /// As [`RemovedIndex::query`], then each match's attributes are
    /// compared with `attributes` (the new listing's): `score` is the
    /// similarity lowered per contradicting kind, and results come best
    /// score first (then similarity, then listing id). Every match of
    /// similarity `min_similarity` or more is returned, whatever its
    /// score: the caller decides which score it acts on.
    pub fn query_with_attributes(
        &self,
        fingerprint: &TextFingerprint,
        attributes: &Attributes,
        min_similarity: f64,
    ) -> Vec<Near> {
        self.query_with(fingerprint, Some(attributes), min_similarity)
    }

    fn query_with(
        &self,
        fingerprint: &TextFingerprint,
        attributes: Option<&Attributes>,
        min_similarity: f64,
    ) -> Vec<Near> {
        if fingerprint.is_empty() || self.entries.is_empty() {
            return Vec::new();
        }
        let mut candidates: Vec<u32> = self.exact.get(&fingerprint.exact_key()).cloned().unwrap_or_default();
        for key in self.bands.keys(fingerprint.signature()) {
            if let Some(bucket) = self.buckets.get(&key) {
                candidates.extend_from_slice(bucket);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut near: Vec<Near> = candidates
            .into_iter()
            .filter_map(|position| self.entries.get(position as usize))
            .map(|entry| (fingerprint.similarity(&entry.fingerprint), entry))
            .filter(|&(similarity, _)| similarity >= min_similarity)
            .map(|(similarity, entry)| {
                let comparison = attributes.map(|ours| compare(ours, &entry.attributes)).unwrap_or_default();
                Near {
                    listing_id: entry.listing_id.clone(),
                    decided_by: entry.decided_by.clone(),
                    seller_id: entry.seller_id.clone(),
                    similarity,
                    score: comparison.score(similarity),
                    attributes: comparison,
                }
            })
            .collect();
        near.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| b.similarity.total_cmp(&a.similarity))
                .then_with(|| a.listing_id.cmp(&b.listing_id))
        });
        near
    }
}

impl Extend<RemovedEntry> for RemovedIndex {
    /// Inserts every entry; entries past `u32::MAX` are dropped.
    fn extend<I: IntoIterator<Item = RemovedEntry>>(&mut self, entries: I) {
        for entry in entries {
            if self.insert(entry).is_err() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ListingText;

    fn entry(id: &str, title: &str) -> RemovedEntry {
        RemovedEntry {
            listing_id: id.to_string(),
            decided_by: "rule:test".to_string(),
            seller_id: Some("seller-1".to_string()),
            fingerprint: TextFingerprint::new(&ListingText::title(title)),
            attributes: Attributes::of_texts([title]),
        }
    }

    #[test]
    fn banding_validation() {
        assert!(LshBands::new(42, 3).is_ok());
        assert!(LshBands::new(64, 2).is_ok());
        assert!(LshBands::new(43, 3).is_err());
        assert!(LshBands::new(0, 3).is_err());
        assert!(LshBands::new(3, 0).is_err());
    }

    #[test]
    fn s_curve_numbers_in_the_docs_hold() {
        let b = LshBands::DEFAULT;
        let p = |j: f64| (b.candidate_probability(j) * 1000.0).round() / 1000.0;
        assert_eq!(p(0.05), 0.005);
        assert_eq!(p(0.2), 0.286);
        assert_eq!(p(0.3), 0.683);
        assert_eq!(p(0.4), 0.938);
        assert_eq!(p(0.5), 0.996);
        assert!(b.candidate_probability(crate::DEFAULT_MIN_SIMILARITY) > 0.9995);
        assert!(b.candidate_probability(0.6) > 0.99995);
        let narrow = LshBands { bands: 32, rows: 4 };
        assert!((narrow.candidate_probability(0.55) - 0.95).abs() < 0.005);
        let wide = LshBands { bands: 64, rows: 2 };
        assert!((wide.candidate_probability(0.05) - 0.15).abs() < 0.005);
    }

    #[test]
    fn exact_duplicate_scores_one_and_empty_matches_nothing() {
        let mut index = RemovedIndex::new();
        index.insert(entry("a", "Red wool scarf")).expect("insert");
        index.insert(entry("empty", "")).expect("insert");
        let found = index.query(&TextFingerprint::new(&ListingText::title("RED  wool scarf!")), 1.0);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].listing_id, "a");
        assert_eq!(found[0].similarity, 1.0);
        assert_eq!(found[0].seller_id.as_deref(), Some("seller-1"));
        assert!(index.query(&TextFingerprint::new(&ListingText::title("")), 0.0).is_empty());
        assert_eq!(index.len(), 2);
    }

    #[test]
    fn results_are_best_first_with_ties_by_id() {
        let mut index = RemovedIndex::new();
        index.extend([
            entry("b", "blue cotton summer dress"),
            entry("a", "blue cotton summer dress"),
            entry("c", "blue cotton summer dress size 12"),
        ]);
        let found = index.query(&TextFingerprint::new(&ListingText::title("blue cotton summer dress")), 0.3);
        let ids: Vec<&str> = found.iter().map(|n| n.listing_id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert!(found[2].similarity < 1.0);
    }

    #[test]
    fn index_is_send_and_sync() {
        fn shareable<T: Send + Sync>() {}
        shareable::<RemovedIndex>();
        shareable::<TextFingerprint>();
    }
}
