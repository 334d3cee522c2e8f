//! The on-disk form of a policy pack: what a compliance officer edits.
//! Documented for authors in `policies/README.md`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::decision::{Action, Condition, DsaGround};

/// One `.toml` file of a pack.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PackFile {
    pub pack: Option<PackMeta>,
    pub policy: Option<PolicyMeta>,
    #[serde(default)]
    pub terms: BTreeMap<String, TermSetDef>,
    /// Named sub-expressions rules can use like signals.
    #[serde(default)]
    pub define: BTreeMap<String, String>,
    /// Listing information rules may require, by name (see `info.rs`).
    #[serde(default)]
    pub info: BTreeMap<String, InfoDef>,
    #[serde(default)]
    pub rule: Vec<RuleDef>,
    #[serde(default)]
    pub test: Vec<TestCaseDef>,
    /// Unit words sellers write after a number.
    #[serde(default)]
    pub unit: Vec<UnitDef>,
    /// Words around numbers, by list (`age_before`, `range`…): language
    /// code → words.
    #[serde(default)]
    pub words: BTreeMap<String, WordListDef>,
    /// Reasons a reviewer may give (`[[reason]]`, see `procedures`).
    #[serde(default)]
    pub reason: Vec<super::procedures::ReasonDef>,
    /// Plain-language texts of policies for sellers: policy id →
    /// language code → text.
    #[serde(default)]
    pub seller_text: BTreeMap<String, BTreeMap<String, String>>,
    /// Settings of the review, appeal, repeat-offender and trader
    /// procedures (one file of the pack at most).
    #[serde(default)]
    pub procedures: Option<super::procedures::ProceduresDef>,
    /// What the semantic stage compares listings with for this file's
    /// policy (`[semantic]`, see `Semantic`).
    #[serde(default)]
    pub semantic: Option<SemanticDef>,
}

/// `[semantic]`: exemplar descriptions of what a policy looks for, the
/// signal the semantic stage fires when a listing is close to one, the
/// similarity that counts as close, and the term sets that make a listing
/// worth comparing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SemanticDef {
    pub signal: String,
    pub threshold: f64,
    /// Static-embedding similarity below which a candidate never reaches
    /// the model (the stage's prefilter); no prefilter when absent.
    #[serde(default)]
    pub prefilter: Option<f64>,
    /// Candidate set → a higher prefilter for listings in which that set
    /// is the only reason to compare (a weight alone is a weak reason).
    #[serde(default)]
    pub prefilter_sets: BTreeMap<String, f64>,
    /// Words (of three letters or more, without digits) a title needs for
    /// its similarity to count: a bare product word and a size says too
    /// little. Any title counts when absent.
    #[serde(default)]
    pub min_words: Option<usize>,
    pub candidates: Vec<String>,
    /// Term sets that keep a listing away from the model even when it
    /// holds a candidate (a CBD product, a laser level, a reborn doll).
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Language code → exemplar texts.
    pub exemplars: BTreeMap<String, Vec<String>>,
}

/// `[[unit]]`: spellings of one unit, per language.
#[derive(Debug, Deserialize)]
pub(crate) struct UnitDef {
    /// The quantity it measures (`length`, `mass`…).
    pub kind: String,
    /// Multiplies a stated value into the kind's canonical unit.
    pub factor: f64,
    /// Language code → spellings (and `source`, for people).
    #[serde(flatten)]
    pub languages: BTreeMap<String, toml::Value>,
}

/// `[words.NAME]`: a word list, per language.
#[derive(Debug, Deserialize)]
pub(crate) struct WordListDef {
    /// Language code → words (and `description`, `source`, for people).
    #[serde(flatten)]
    pub languages: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PackMeta {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub territories: Vec<String>,
    /// Signals computed outside the text pipeline (image banks, relisting
    /// indexes) that rules may name.
    #[serde(default)]
    pub external_signals: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyMeta {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub legal_basis: String,
    #[serde(default)]
    pub scope: Vec<String>,
    #[serde(default)]
    pub dsa_category: String,
    #[serde(default)]
    pub dsa_keywords: Vec<String>,
    /// `illegal_content` (the default: the legal basis is the ground) or
    /// `incompatible_content` (the platform's terms; needs `terms_reference`).
    #[serde(default)]
    pub dsa_ground: DsaGround,
    /// The clause of the marketplace's terms and conditions a policy on
    /// `incompatible_content` ground applies.
    #[serde(default)]
    pub terms_reference: Option<String>,
    /// Review-queue order (higher first); by default from the strictest
    /// action the policy's rules take.
    #[serde(default)]
    pub severity: Option<u32>,
    /// A block in this policy needs a second reviewer's agreement.
    #[serde(default)]
    pub four_eyes: bool,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TermSetDef {
    #[serde(default)]
    pub description: Option<String>,
    /// Where the terms come from (a public list and its version), or
    /// `hand-written` and why.
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub exceptions: Vec<String>,
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Spellings (also listed under a language key) that are ordinary
    /// words in other languages: they count only in text of their
    /// language.
    #[serde(default)]
    pub false_friends: Vec<String>,
    /// When this set, used as a local exception (`!set@title` or
    /// `without(…, set, N)`), cancels a block, the cancellation is certain:
    /// no fall-back to review. Over the whole listing (`!set`) no exception
    /// is certain.
    #[serde(default)]
    pub certain: bool,
    /// Language code → terms. Keys are checked against the known language
    /// codes when the pack compiles, so a misspelt key is an error.
    #[serde(flatten)]
    pub languages: BTreeMap<String, toml::Value>,
}

/// `[info.NAME]`: where a listing may carry a piece of information.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InfoDef {
    pub description: String,
    /// Accepted attribute names (compared without case, accents or separators).
    #[serde(default)]
    pub attributes: Vec<String>,
    /// Accepted JSON paths into the listing (`seller.type`, `gpsr.manufacturer.name`).
    #[serde(default)]
    pub fields: Vec<String>,
    /// Accepted values; empty: any non-empty value.
    #[serde(default)]
    pub values: Vec<String>,
    /// A regular expression the value must match.
    #[serde(default)]
    pub pattern: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleDef {
    pub id: String,
    pub action: Action,
    #[serde(default)]
    pub condition: Option<Condition>,
    pub when: String,
    #[serde(default)]
    pub explain: Option<String>,
    /// The paragraph this rule applies, when more precise than the
    /// policy's `legal_basis` (a knuckle-duster cites its own item).
    #[serde(default)]
    pub legal_basis: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TestCaseDef {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub ship_to: Vec<String>,
    #[serde(default)]
    pub language: Option<String>,
    /// The seller as the listing gives it (`{ type = "business" }`).
    #[serde(default)]
    pub seller: Option<toml::Table>,
    /// Image URLs of the listing (never fetched by `policy test`).
    #[serde(default)]
    pub images: Vec<String>,
    /// External signals (declared in pack.toml) that fire for this case,
    /// e.g. an image found in a hash bank.
    #[serde(default)]
    pub signals: Vec<String>,
    pub expect: Action,
    #[serde(default)]
    pub expect_rule: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}
