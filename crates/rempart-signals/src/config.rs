//! The signals configuration file (TOML): which hash banks to load and the
//! signal each fires, whether and how images may be fetched, and where
//! the removed-listings index lives. Paths are relative to the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rempart_fetch::FetchPolicy;
use rempart_hash::decode::DecodeOptions;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalsConfig {
    #[serde(default, rename = "bank")]
    pub banks: Vec<BankConfig>,
    #[serde(default)]
    pub fetch: Option<FetchConfig>,
    #[serde(default)]
    pub removed: Option<RemovedConfig>,
    #[serde(default, rename = "safety_gate")]
    pub safety_gates: Vec<SafetyGateConfig>,
    #[serde(skip)]
    pub base: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankConfig {
    pub name: String,
    pub file: PathBuf,
    /// The external signal (declared in the pack) a match fires.
    pub signal: String,
    #[serde(default = "default_distance")]
    pub max_distance: u32,
    #[serde(default = "default_quality")]
    pub min_quality: u8,
}

/// EU Safety Gate alert lists loaded as one bank (see `safety_gate.rs`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyGateConfig {
    pub name: String,
    /// Alert files: the portal's XML export, CSV exports of it, or national
    /// recall lists (CSV with a product-name column).
    pub files: Vec<PathBuf>,
    /// The external signal (declared in the pack) a match fires.
    #[serde(default = "default_safety_gate_signal")]
    pub signal: String,
    /// Alerts reported per listing, strongest match first.
    #[serde(default = "default_max_matches")]
    pub max_matches: usize,
}

/// Fetching is opt-in twice: this table must exist and the command must be
/// asked to fetch (`--fetch-images`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchConfig {
    /// CIDRs that may be fetched even though they are private or loopback
    /// (an internal image CDN).
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub max_bytes: Option<u64>,
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
    #[serde(default)]
    pub max_redirects: Option<u32>,
    #[serde(default)]
    pub max_pixels: Option<u64>,
    /// Listings screened at once while fetching (default 16): downloads
    /// wait on the network, not the CPU, so more workers than cores keep
    /// a slow image host from stalling the batch.
    #[serde(default)]
    pub concurrency: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemovedConfig {
    /// JSONL file of removed listings (created when missing).
    pub file: PathBuf,
    #[serde(default = "default_text_signal")]
    pub text_signal: String,
    #[serde(default = "default_image_signal")]
    pub image_signal: String,
    /// Text similarity (estimated Jaccard) from which a listing of the
    /// same seller is a near-duplicate.
    #[serde(default = "default_similarity")]
    pub min_similarity: f64,
    /// The same for another seller (or an unknown one). Higher, because a
    /// catalogue is full of variants of one product line that only a
    /// seller id tells apart: with 2% of a real catalogue removed, 4.3% of
    /// the other products land above 0.55 but 2.1% above 0.65, which still
    /// finds 90% of titles relisted with three edits (`cargo run --release
    /// -p rempart-relist --example relist_edits`).
    #[serde(default = "default_similarity_other_seller")]
    pub min_similarity_other_seller: f64,
    #[serde(default = "default_distance")]
    pub image_max_distance: u32,
    /// Titles shorter than this many words ("Doll 100cm", "Phone case")
    /// match by text only when the seller is the same: a generic title is
    /// shared by too many honest listings to stand as evidence alone.
    #[serde(default = "default_min_words")]
    pub min_words: usize,
}

fn default_safety_gate_signal() -> String {
    "safety_gate_alert".into()
}
fn default_max_matches() -> usize {
    3
}
impl Default for RemovedConfig {
    /// The service keeps the removed index in its store: no file, the
    /// default thresholds and signal names.
    fn default() -> RemovedConfig {
        RemovedConfig {
            file: PathBuf::new(),
            text_signal: default_text_signal(),
            image_signal: default_image_signal(),
            min_similarity: default_similarity(),
            min_similarity_other_seller: default_similarity_other_seller(),
            image_max_distance: default_distance(),
            min_words: default_min_words(),
        }
    }
}

fn default_distance() -> u32 {
    rempart_hash::bank::DEFAULT_MAX_DISTANCE
}
fn default_quality() -> u8 {
    rempart_hash::bank::DEFAULT_MIN_QUALITY
}
fn default_similarity() -> f64 {
    rempart_relist::DEFAULT_MIN_SIMILARITY
}
fn default_min_words() -> usize {
    4
}
fn default_similarity_other_seller() -> f64 {
    0.65
}
fn default_text_signal() -> String {
    "near_duplicate_of_removed_text".into()
}
fn default_image_signal() -> String {
    "near_duplicate_of_removed_image".into()
}

impl FetchConfig {
    /// The fetcher's limits and the decoder's pixel cap this table sets,
    /// over their defaults.
    pub fn limits(&self) -> Result<(FetchPolicy, DecodeOptions), crate::SignalsError> {
        let allow = FetchPolicy::parse_allow_list(&self.allow)
            .map_err(|e| crate::SignalsError::Config(format!("fetch.allow: {e}")))?;
        let mut policy = FetchPolicy { allow, ..FetchPolicy::default() };
        if let Some(max) = self.max_bytes {
            policy.max_bytes = max;
        }
        if let Some(seconds) = self.timeout_seconds.filter(|s| s.is_finite() && *s > 0.0) {
            policy.total_timeout = Duration::from_secs_f64(seconds);
            policy.connect_timeout = policy.connect_timeout.min(policy.total_timeout);
        }
        if let Some(max) = self.max_redirects {
            policy.max_redirects = max;
        }
        let mut decode = DecodeOptions::default();
        if let Some(max) = self.max_pixels {
            decode.max_pixels = max;
        }
        Ok((policy, decode))
    }
}

impl SignalsConfig {
    pub fn load(path: &Path) -> Result<SignalsConfig, crate::SignalsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| crate::SignalsError::Config(format!("{}: {e}", path.display())))?;
        let mut config: SignalsConfig =
            toml::from_str(&text).map_err(|e| crate::SignalsError::Config(format!("{}: {e}", path.display())))?;
        config.base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(config)
    }

    /// A path from the file, resolved against the file's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base.join(path)
        }
    }
}
