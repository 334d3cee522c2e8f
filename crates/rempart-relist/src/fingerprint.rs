//! The text fingerprint: a one-permutation MinHash signature of a listing's
//! normalised title and brand text. The crate documentation explains the
//! choice of fields and shingles; this module explains the sketch.
//!
//! # One-permutation MinHash with optimal densification
//!
//! Classic MinHash hashes every shingle with `k` hash functions and keeps
//! the `k` minima: `k` hashes per shingle. One-permutation hashing (Li, Owen
//! and Zhang, NIPS 2012) hashes every shingle once, splits the hash range
//! into `k` bins and keeps the minimum of each bin: one hash per shingle,
//! same estimator (the fraction of equal bins). Its weakness is empty bins:
//! a title has 20 to 60 shingles for 128 bins, so most bins are empty.
//! Optimal densification (Shrivastava, ICML 2017) fills an empty bin `i` by
//! probing bins `h(i, 0), h(i, 1), …` with a fixed hash until one that was
//! non-empty *before* densification, and copying its minimum. Both listings
//! probe the same sequence, so the first probe that lands on a bin occupied
//! in either set is uniform over the occupied bins of the union, and the two
//! copies agree exactly when that bin's minimum is shared, with probability
//! equal to the Jaccard similarity: the estimator stays unbiased.
//!
//! A bin stores the low 32 bits of its minimum shingle hash (the high bits
//! chose the bin). Two different minima agree by accident with probability
//! 2^-32, far below the sketch's own noise, so no b-bit correction is made.
//! 128 bins give a standard deviation of `sqrt(J(1-J)/128)`, 0.044 at
//! J = 0.5, and 512 bytes per fingerprint.

use rempart_core::normalize::Folded;
use serde::{Deserialize, Serialize};

use crate::hash::{hash_bytes, mix64, DENSIFY_SEED, EXACT_SEED, TRIGRAM_SEED, WORD_SEED};
use crate::RelistError;

/// Number of MinHash bins (signature slots).
pub const SIGNATURE_LEN: usize = 128;

/// Identifies the fields, normalisation, shingles, hash and signature
/// length. Fingerprints of different schemes are not comparable, so a
/// stored fingerprint of another scheme is refused at deserialisation and
/// must be recomputed from the listing text.
pub const FINGERPRINT_SCHEME: u32 = 1;

/// Densification gives up on hashed probes after this many and scans
/// linearly instead. With one occupied bin out of 128 a probe succeeds with
/// probability 1/128, so 8,192 failures in a row (p ≈ 1e-28) never happen
/// in practice; the scan only guarantees termination.
const MAX_DENSIFY_PROBES: u32 = 8192;

/// The listing fields a fingerprint is built from, as the seller wrote
/// them (normalisation happens inside).
///
/// Only `title` and `other` are shingled; `description` is read only when
/// those two yield no word at all, so that a listing without a title still
/// gets a fingerprint. The crate documentation has the measurements behind
/// leaving descriptions out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListingText<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    /// Short identifying text other than the title: brand, manufacturer,
    /// model. Join several with spaces.
    pub other: Option<&'a str>,
}

impl<'a> ListingText<'a> {
    /// A listing known only by its title.
    pub fn title(title: &'a str) -> ListingText<'a> {
        ListingText { title, description: None, other: None }
    }

    /// The set the fingerprint's similarity estimates the Jaccard index of:
    /// hashes of the words and of the character trigrams of each
    /// space-padded word, sorted and without duplicates. Exposed so that an
    /// evaluation can compare the sketch with the exact similarity.
    pub fn shingle_set(&self) -> Vec<u64> {
        let mut shingles = Vec::new();
        let mut scratch = Scratch::default();
        for field in [Some(self.title), self.other].into_iter().flatten() {
            push_shingles(Folded::new(field).as_str(), &mut scratch, &mut shingles);
        }
        if shingles.is_empty() {
            if let Some(description) = self.description {
                push_shingles(Folded::new(description).as_str(), &mut scratch, &mut shingles);
            }
        }
        shingles.sort_unstable();
        shingles.dedup();
        shingles
    }
}

/// Reused buffers for shingling, so a word costs no allocation.
#[derive(Default)]
struct Scratch {
    padded: String,
    char_starts: Vec<usize>,
}

/// Appends the shingles of one canonical text (lower-case words separated
/// by single spaces): each word, and each character trigram of ` word `.
/// The padding makes the first and last letters count as much as the
/// middle ones and gives one- and two-letter words a trigram too.
fn push_shingles(canonical: &str, scratch: &mut Scratch, out: &mut Vec<u64>) {
    for word in canonical.split(' ').filter(|w| !w.is_empty()) {
        out.push(hash_bytes(WORD_SEED, word.as_bytes()));
        scratch.padded.clear();
        scratch.padded.push(' ');
        scratch.padded.push_str(word);
        scratch.padded.push(' ');
        scratch.char_starts.clear();
        scratch.char_starts.extend(scratch.padded.char_indices().map(|(i, _)| i));
        scratch.char_starts.push(scratch.padded.len());
        // `char_starts` holds one more offset than there are characters,
        // and a padded word has at least three characters.
        for window in scratch.char_starts.windows(4) {
            out.push(hash_bytes(TRIGRAM_SEED, &scratch.padded.as_bytes()[window[0]..window[3]]));
        }
    }
}

/// A listing's text fingerprint. Build with [`TextFingerprint::new`];
/// compare with [`TextFingerprint::similarity`] or through a
/// [`crate::RemovedIndex`].
///
/// Serialises as `{"scheme": 1, "exact": u64, "signature": [u32; 128]}`
/// (`signature` is empty for a listing without text). Deserialisation
/// checks the scheme and the length, so a fingerprint in hand is always
/// comparable with freshly computed ones.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "StoredFingerprint")]
pub struct TextFingerprint {
    scheme: u32,
    /// Hash of the whole shingle set: equal sets, equal keys. Lets an index
    /// answer "identical text" without sketch noise.
    exact: u64,
    signature: Vec<u32>,
}

/// The serialised form, validated into a [`TextFingerprint`].
#[derive(Deserialize)]
struct StoredFingerprint {
    scheme: u32,
    exact: u64,
    signature: Vec<u32>,
}

impl TryFrom<StoredFingerprint> for TextFingerprint {
    type Error = RelistError;

    fn try_from(stored: StoredFingerprint) -> Result<Self, Self::Error> {
        if stored.scheme != FINGERPRINT_SCHEME {
            return Err(RelistError::UnknownScheme { found: stored.scheme, expected: FINGERPRINT_SCHEME });
        }
        if !stored.signature.is_empty() && stored.signature.len() != SIGNATURE_LEN {
            return Err(RelistError::SignatureLength { found: stored.signature.len(), expected: SIGNATURE_LEN });
        }
        Ok(TextFingerprint { scheme: stored.scheme, exact: stored.exact, signature: stored.signature })
    }
}

impl TextFingerprint {
    /// Fingerprints a listing's text. Deterministic: the same text gives
    /// the same fingerprint on every run, machine and (within one
    /// [`FINGERPRINT_SCHEME`]) version.
    pub fn new(text: &ListingText<'_>) -> TextFingerprint {
        TextFingerprint::from_shingles(&text.shingle_set())
    }

    /// Fingerprints a shingle set as [`ListingText::shingle_set`] returns
    /// it: sorted and deduplicated, which the exact key relies on.
    fn from_shingles(sorted_set: &[u64]) -> TextFingerprint {
        let exact = sorted_set.iter().fold(EXACT_SEED, |key, &shingle| mix64(key ^ shingle));
        TextFingerprint { scheme: FINGERPRINT_SCHEME, exact, signature: one_permutation_minhash(sorted_set) }
    }

    /// Whether the listing had no text to fingerprint. An empty fingerprint
    /// is similar to nothing, not even to another empty one.
    pub fn is_empty(&self) -> bool {
        self.signature.is_empty()
    }

    /// Estimated Jaccard similarity of the two shingle sets, in `0.0..=1.0`:
    /// the fraction of signature slots that agree. Exactly 1.0 for equal
    /// shingle sets; 0.0 when either fingerprint is empty.
    pub fn similarity(&self, other: &TextFingerprint) -> f64 {
        if self.is_empty() || other.is_empty() {
            return 0.0;
        }
        if self.exact == other.exact {
            return 1.0;
        }
        let agreeing = self.signature.iter().zip(&other.signature).filter(|(a, b)| a == b).count();
        agreeing as f64 / SIGNATURE_LEN as f64
    }

    /// Key equal for equal shingle sets (up to 64-bit hash collisions).
    pub(crate) fn exact_key(&self) -> u64 {
        self.exact
    }

    pub(crate) fn signature(&self) -> &[u32] {
        &self.signature
    }
}

/// The densified one-permutation MinHash signature of a shingle set, empty
/// for an empty set.
fn one_permutation_minhash(shingles: &[u64]) -> Vec<u32> {
    if shingles.is_empty() {
        return Vec::new();
    }
    let mut bins: [Option<u32>; SIGNATURE_LEN] = [None; SIGNATURE_LEN];
    for &shingle in shingles {
        // Lemire's multiply-shift maps the high 32 bits onto the bins
        // without a modulo bias; the low 32 bits are the value.
        let bin = (((shingle >> 32) * SIGNATURE_LEN as u64) >> 32) as usize;
        let value = shingle as u32;
        let slot = &mut bins[bin];
        if slot.is_none_or(|current| value < current) {
            *slot = Some(value);
        }
    }
    (0..SIGNATURE_LEN).map(|bin| bins[bin].unwrap_or_else(|| borrowed_value(&bins, bin))).collect()
}

/// Optimal densification: the value an empty `bin` copies from the first
/// occupied bin along its fixed probe sequence. `bins` has at least one
/// occupied bin (the shingle set was not empty).
fn borrowed_value(bins: &[Option<u32>; SIGNATURE_LEN], bin: usize) -> u32 {
    let sequence = mix64(DENSIFY_SEED ^ bin as u64);
    for attempt in 0..MAX_DENSIFY_PROBES {
        let probe = mix64(sequence ^ u64::from(attempt).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let source = ((probe >> 32) * SIGNATURE_LEN as u64) >> 32;
        if let Some(value) = bins[source as usize] {
            return value;
        }
    }
    (1..SIGNATURE_LEN).find_map(|step| bins[(bin + step) % SIGNATURE_LEN]).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(title: &str) -> TextFingerprint {
        TextFingerprint::new(&ListingText::title(title))
    }

    /// Exact Jaccard index of two sorted, deduplicated sets.
    fn jaccard(a: &[u64], b: &[u64]) -> f64 {
        let (mut i, mut j, mut shared) = (0, 0, 0usize);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    shared += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        shared as f64 / (a.len() + b.len() - shared) as f64
    }

    #[test]
    fn shingles_are_words_and_padded_trigrams() {
        // "ab": the word, " ab" and "ab ".
        assert_eq!(ListingText::title("AB").shingle_set().len(), 3);
        // "a": the word and " a ".
        assert_eq!(ListingText::title("a").shingle_set().len(), 2);
        // Duplicated words count once.
        assert_eq!(ListingText::title("ab ab").shingle_set(), ListingText::title("ab").shingle_set());
        // Non-ASCII words are cut on characters, not bytes.
        assert_eq!(ListingText::title("日本語").shingle_set().len(), 1 + 3);
    }

    #[test]
    fn brand_is_shingled_and_description_is_a_fallback() {
        let title_only = ListingText::title("final cut studio");
        let with_brand = ListingText { other: Some("Apple"), ..title_only };
        let with_description = ListingText { description: Some("edit video"), ..title_only };
        assert!(with_brand.shingle_set().len() > title_only.shingle_set().len());
        assert_eq!(with_description.shingle_set(), title_only.shingle_set());
        let no_title = ListingText { title: " -- ", description: Some("edit video"), other: None };
        assert_eq!(no_title.shingle_set(), ListingText::title("edit video").shingle_set());
    }

    #[test]
    fn empty_text_gives_an_empty_fingerprint_that_matches_nothing() {
        let empty = fingerprint("  ");
        assert!(empty.is_empty());
        assert_eq!(empty.similarity(&empty), 0.0);
        assert_eq!(empty.similarity(&fingerprint("ab")), 0.0);
    }

    #[test]
    fn one_shingle_fills_every_slot() {
        let signature = one_permutation_minhash(&[0xDEAD_BEEF_0000_0001]);
        assert_eq!(signature.len(), SIGNATURE_LEN);
        assert!(signature.iter().all(|&v| v == 1));
    }

    #[test]
    fn estimate_tracks_exact_jaccard() {
        // Pairs over a range of overlaps: the sketch's error must look like
        // its theoretical standard deviation (0.044 at J = 0.5), not worse.
        let base: Vec<String> = (0..40).map(|i| format!("word{i}")).collect();
        let mut squared_error = 0.0;
        let mut pairs = 0;
        for shift in 0..30 {
            let a = base[..30].join(" ");
            let b = base[shift..(shift + 30).min(40)].join(" ");
            let (sa, sb) = (ListingText::title(&a).shingle_set(), ListingText::title(&b).shingle_set());
            let exact = jaccard(&sa, &sb);
            let estimate = TextFingerprint::from_shingles(&sa).similarity(&TextFingerprint::from_shingles(&sb));
            squared_error += (exact - estimate).powi(2);
            pairs += 1;
        }
        let rmse = (squared_error / f64::from(pairs)).sqrt();
        assert!(rmse < 0.06, "root mean squared error {rmse:.3}");
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let fp = fingerprint("Vintage leather jacket");
        let json = serde_json::to_string(&fp).unwrap_or_default();
        let back: TextFingerprint = serde_json::from_str(&json).expect("round trip");
        assert_eq!(back, fp);
        let other_scheme = json.replacen("\"scheme\":1", "\"scheme\":99", 1);
        assert!(serde_json::from_str::<TextFingerprint>(&other_scheme).is_err());
        let short = r#"{"scheme":1,"exact":7,"signature":[1,2,3]}"#;
        assert!(serde_json::from_str::<TextFingerprint>(short).is_err());
    }
}
