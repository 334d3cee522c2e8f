//! Relisting detection. A seller whose listing was removed puts it back
//! the next day with a lightly edited title. When a listing is blocked or
//! removed, its [`TextFingerprint`] joins a [`RemovedIndex`]; a new listing
//! whose fingerprint is close to one of them goes to human review with the
//! evidence "near-duplicate of removed listing X" ([`Near`]).
//!
//! ```
//! use rempart_relist::{Attributes, ListingText, RemovedEntry, RemovedIndex, TextFingerprint, DEFAULT_MIN_SIMILARITY};
//!
//! let mut removed = RemovedIndex::new();
//! let old = ListingText { title: "Rolex Submariner 41mm black dial", description: None, other: Some("Rolex") };
//! removed.insert(RemovedEntry {
//!     listing_id: "L-1".into(),
//!     decided_by: "rule:counterfeit-watches".into(),
//!     seller_id: Some("S-9".into()),
//!     fingerprint: TextFingerprint::new(&old),
//!     attributes: Attributes::of_listing(&old),
//! })?;
//!
//! let relisted = ListingText { title: "R\u{043E}lex SUBMARINER black dial 41 mm ⌚", description: None, other: Some("Rolex") };
//! let near = removed.query(&TextFingerprint::new(&relisted), DEFAULT_MIN_SIMILARITY);
//! assert_eq!(near[0].listing_id, "L-1");
//! # Ok::<(), rempart_relist::RelistError>(())
//! ```
//!
//! # Why MinHash
//!
//! A relist is the same text with a few edits, which is what the Jaccard
//! similarity of shingle sets measures, and MinHash turns a shingle set of
//! any size into a fixed 128-slot signature whose slot agreement estimates
//! it, that can be stored, compared in nanoseconds, and indexed by LSH
//! banding so that a query does not scan every removed listing. Exact
//! hashes miss every edit; text embeddings would need a model, weights to
//! ship and floating-point results that differ across machines. The sketch
//! itself is one-permutation MinHash with optimal densification (one hash
//! per shingle instead of 128; see [`fingerprint`]). On the
//! benchmark below the sketch costs 0.003 of F1 against the exact Jaccard
//! of the same sets (0.014 when only the best match counts), and the
//! banding nothing more at the default threshold.
//!
//! # Which text
//!
//! Text is first normalised by `rempart_core::normalize::Folded`, so case,
//! accents, homoglyphs (Cyrillic `о`), zero-width characters, punctuation
//! and spaced-out letters are gone before shingling. Only the title and the
//! short "other" text (brand, manufacturer) are shingled. The description
//! is read only when those are empty: merged into the set, its many words
//! swamp the title's, and on the benchmark best F1 falls from 0.49 to 0.27
//! (first ten description words only: 0.37). Keeping descriptions as a
//! second signature, taking the larger similarity, gained nothing (0.510 →
//! 0.513), and shared boilerplate ("ships from…, 30-day returns") would tie
//! every listing of a shop to its removed ones. The brand helps: 0.455 →
//! 0.485, as one retailer puts it in the title and the other beside it.
//!
//! # Which shingles
//!
//! Words, plus the character trigrams of each space-padded word
//! (`" jacket "` → ` ja`, `jac`, …, `et `). Measured on the benchmark with
//! exact Jaccard over title + brand (best F1, all matches / top-1 only),
//! and as the mean similarity of 1,363 titles to themselves after random
//! relist edits (a word swap, an added word and a typo together; a word
//! split in two, `Ro-lex`). These come from a one-off harness; the
//! `relist_eval` example reproduces the chosen row (0.484 / 0.646):
//!
//! | shingles                 | F1 all | F1 top-1 | swap+add+typo | split word |
//! |--------------------------|--------|----------|---------------|------------|
//! | words                    | 0.490  | 0.643    | 0.72          | 0.67       |
//! | words + word bigrams     | 0.510  | 0.644    | 0.47          | 0.57       |
//! | word trigrams only       | 0.475  | 0.636    | 0.75          | 0.90       |
//! | **words + trigrams**     | 0.485  | 0.643    | 0.74          | 0.86       |
//!
//! Bigrams win the benchmark by 2.5 points on all matches and tie on
//! top-1, but a relister who reorders and pads a title pushes them to 0.47,
//! under any usable threshold. Trigrams keep typos, split and glued words
//! (`imagemanager`) close; whole words keep short titles from matching
//! every title that shares a few common trigrams.
//!
//! # The default threshold, measured
//!
//! `cargo run --release -p rempart-relist --example relist_eval` treats the
//! 1,363 Amazon products of the Amazon-Google entity-matching benchmark as
//! removed listings and queries each of the 3,226 Google products; a flag is
//! right when it names a gold partner (1,300 gold pairs; "all" counts every
//! returned match, "top-1" only the best one):
//!
//! | threshold | flagged | precision | recall | F1    | top-1 P | top-1 R | top-1 F1 |
//! |-----------|---------|-----------|--------|-------|---------|---------|----------|
//! | 0.40      | 3,892   | 0.263     | 0.788  | 0.394 | 0.581   | 0.688   | **0.630**|
//! | 0.45      | 2,942   | 0.315     | 0.713  | 0.437 | 0.605   | 0.635   | 0.620    |
//! | 0.50      | 2,217   | 0.373     | 0.636  | 0.470 | 0.637   | 0.576   | 0.605    |
//! | **0.55**  | 1,618   | 0.434     | 0.540  |**0.481**| 0.671 | 0.500   | 0.573    |
//! | 0.60      | 1,261   | 0.481     | 0.467  | 0.474 | 0.694   | 0.437   | 0.536    |
//! | 0.70      | 684     | 0.620     | 0.326  | 0.427 | 0.756   | 0.308   | 0.437    |
//!
//! [`DEFAULT_MIN_SIMILARITY`] is 0.55, the best F1 of what
//! [`RemovedIndex::query`] returns. This benchmark is harder than
//! relisting: two retailers describe the same product independently
//! (`soundtrack 1.2` / `apple software m9301z/b soundtrack v1.2`), and
//! published F1 for classical matchers is 0.5–0.7, so its recall is a
//! floor. Many of its "false positives" are sibling products (2007 and 2008
//! editions, Windows and Mac versions) that a reviewer would want to see
//! anyway. A relisted title with light edits scores 0.75 to 1.0 (see
//! `tests/relist.rs`), unrelated listings below 0.15.
//!
//! # Product-line variants
//!
//! A catalogue is full of variants of one product line (`draper … screen -
//! ntsc 100 diagonal` / `… 161 diagonal`, `4gb` / `16gb` drives, `white` /
//! `blue` netbooks) whose shingle sets are nearly equal. On a real
//! catalogue (`examples/relist_edits.rs`: 2,518 Walmart titles, 2 %
//! removed) 4.3 % of the other products land above 0.55 and 2.1 % above
//! 0.65 on similarity alone, while titles relisted with three edits are
//! found at 0.985 and 0.90.
//!
//! So a removed entry keeps the [`Attributes`] its text states (sizes and
//! capacities in canonical units, counts, colours, model numbers; see
//! [`attributes`]), and [`RemovedIndex::query_with_attributes`] compares
//! them with the new listing's: a kind that both state, each with a value
//! the other lacks, *contradicts*, and lowers the match's [`Near::score`]
//! by [`CONTRADICTION_PENALTY`] (0.5). A listing that states less than the
//! removed one (a dropped size), or more (an added year), contradicts
//! nothing: the seeded relist edits never lower a score, so recall is the
//! similarity's. [`Near::attributes`] says what agreed and what
//! contradicted, for the reviewer.
//!
//! | other-seller rule | recall (3 edits) | other products flagged |
//! |-------------------|------------------|------------------------|
//! | similarity ≥ 0.65 (before) | 0.902 | 51 (2.07 %) |
//! | similarity ≥ 0.60 | 0.963 | 83 (3.36 %) |
//! | **score ≥ 0.60** ([`DEFAULT_MIN_SCORE_OTHER_SELLER`]) | **0.963** | **8 (0.32 %)** |
//! | score ≥ 0.55 | 0.985 | 13 (0.53 %) |
//!
//! `rempart-signals` matches the same seller's removed listings on
//! similarity ≥ 0.55 (a changed size from the seller whose listing was
//! removed is as likely an evasion as a variant) and any other seller's on
//! score ≥ 0.60. What the score cannot separate: true duplicates in the
//! catalogue (one title listed twice), variants that differ in words only
//! (`glass beaded` / `matte white`, `camera bag` / `backpack`), and a
//! variant that states a value the other leaves out (`system 100 black
//! frame` / `no frame`).
//!
//! # Limits
//!
//! * Text only: a relist with a new title and the old photos needs the
//!   image hashes of `rempart-hash`.
//! * Attributes are read from the title and brand, in the units and colour
//!   words of `vocab/attributes.toml` and the default pack's lexicon;
//!   entries stored before attributes were kept compare on similarity
//!   alone until they are recorded again.
//! * Entries cannot be removed (a reinstated listing): rebuild the index
//!   from the remaining entries, which is fast (the 1,363 benchmark entries
//!   are fingerprinted and indexed in under 20 ms).

pub mod attributes;
pub mod fingerprint;
mod hash;
pub mod index;

pub use attributes::{
    AttributeComparison, AttributeKind, Attributes, Contradiction, Vocabulary, CONTRADICTION_PENALTY,
};
pub use fingerprint::{ListingText, TextFingerprint, FINGERPRINT_SCHEME, SIGNATURE_LEN};
pub use index::{LshBands, Near, RemovedEntry, RemovedIndex};

/// The similarity from which a listing is flagged as a near-duplicate.
pub const DEFAULT_MIN_SIMILARITY: f64 = 0.55;

/// The score ([`Near::score`], the similarity lowered by contradicting
/// attributes) from which a listing is flagged as a near-duplicate of
/// *another seller's* removed listing. See "Product-line variants" above.
pub const DEFAULT_MIN_SCORE_OTHER_SELLER: f64 = 0.60;

/// Errors of this crate.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RelistError {
    /// A stored fingerprint was made by another fingerprint scheme and
    /// must be recomputed from the listing text.
    #[error("fingerprint scheme {found} is not this library's scheme {expected}; recompute it from the listing text")]
    UnknownScheme { found: u32, expected: u32 },
    #[error("fingerprint signature has {found} slots, expected {expected}")]
    SignatureLength { found: usize, expected: usize },
    #[error("LSH banding of {bands} bands × {rows} rows needs 1..={slots} slots")]
    Banding { bands: usize, rows: usize, slots: usize },
    #[error("the index holds u32::MAX entries already")]
    IndexFull,
}
