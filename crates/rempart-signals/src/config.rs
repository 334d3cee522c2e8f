//! The signals configuration file (TOML): which hash banks to load and the
//! signal each fires, whether and how images may be fetched, and where
//! the removed-listings index lives. Paths are relative to the file.
//!
//! Every value is checked when the file is loaded, and a bad one is an
//! error naming its key (`fetch.timeout_seconds: …`): never replaced by
//! a default, never able to panic later. The ranges are in [`LIMITS`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use rempart_fetch::FetchPolicy;
use rempart_hash::decode::{DecodeOptions, PixelBudget};
use serde::Deserialize;

/// What the signals configuration accepts, key by key: `(key, smallest,
/// largest, default)`. Documented in the README.
pub const LIMITS: [(&str, f64, f64, f64); 15] = [
    ("fetch.max_bytes", 1.0, 1073741824.0, 20971520.0),
    ("fetch.timeout_seconds", 0.001, 600.0, 10.0),
    ("fetch.connect_timeout_seconds", 0.001, 600.0, 5.0),
    ("fetch.max_redirects", 0.0, 20.0, 5.0),
    ("fetch.max_pixels", 1.0, 250_000_000.0, 50_000_000.0),
    ("fetch.max_pixels_in_flight", 1.0, 2_000_000_000.0, 100_000_000.0),
    ("fetch.concurrency", 1.0, 256.0, 16.0),
    ("fetch.max_images", 1.0, 100.0, 8.0),
    ("fetch.listing_timeout_seconds", 0.001, 3600.0, 30.0),
    ("bank.max_distance", 0.0, 128.0, 31.0),
    ("bank.min_quality", 0.0, 100.0, 50.0),
    ("removed.min_similarity", 0.01, 1.0, 0.55),
    ("removed.min_similarity_other_seller", 0.01, 1.0, 0.60),
    ("removed.image_max_distance", 0.0, 128.0, 31.0),
    ("removed.min_words", 0.0, 1000.0, 4.0),
];

fn limit(key: &str) -> (f64, f64, f64) {
    LIMITS.iter().find(|(k, ..)| *k == key).map_or((0.0, f64::MAX, 0.0), |&(_, lo, hi, default)| (lo, hi, default))
}

/// Checks that `value` of `key` lies in its range from [`LIMITS`].
fn check(key: &str, shown: &str, value: f64) -> Result<(), crate::SignalsError> {
    check_as(key, key, shown, value)
}

/// [`check`] reporting the key as `name` (`bank[2].max_distance`).
fn check_as(key: &str, name: &str, shown: &str, value: f64) -> Result<(), crate::SignalsError> {
    let (lo, hi, _) = limit(key);
    if value.is_finite() && lo <= value && value <= hi {
        Ok(())
    } else {
        Err(crate::SignalsError::Config(format!("{name}: {shown} is out of range (from {lo} to {hi})")))
    }
}

/// The default of `key` from [`LIMITS`], as a whole number.
fn default_of(key: &str) -> u64 {
    limit(key).2 as u64
}

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
    #[serde(default)]
    pub connect_timeout_seconds: Option<f64>,
    /// Images fetched per listing; later ones are reported, not fetched.
    #[serde(default)]
    pub max_images: Option<usize>,
    /// Time for all the fetches of one listing together.
    #[serde(default)]
    pub listing_timeout_seconds: Option<f64>,
    /// Decoded pixels all concurrent fetches may hold at once (at least
    /// `max_pixels`, or the largest allowed image could never decode).
    #[serde(default)]
    pub max_pixels_in_flight: Option<u64>,
}

/// Everything the `[fetch]` table sets, checked.
#[derive(Debug, Clone)]
pub struct FetchLimits {
    pub policy: FetchPolicy,
    pub decode: DecodeOptions,
    pub concurrency: usize,
    pub max_images: usize,
    pub listing_timeout: Duration,
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
    /// The same for another seller (or an unknown one), compared with the
    /// match's score: its similarity lowered by what the two titles state
    /// against it (a different capacity, size, colour, model number;
    /// `rempart_relist::attributes`). Higher than `min_similarity`, because
    /// a catalogue is full of variants of one product line: with 2% of a
    /// real catalogue removed, 4.3% of the other products land above 0.55
    /// on similarity alone; on the score, 0.32% land above 0.60, which
    /// finds 96.3% of titles relisted with three edits (`cargo run
    /// --release -p rempart-relist --example relist_edits`).
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
    rempart_relist::DEFAULT_MIN_SCORE_OTHER_SELLER
}
fn default_text_signal() -> String {
    "near_duplicate_of_removed_text".into()
}
fn default_image_signal() -> String {
    "near_duplicate_of_removed_image".into()
}

impl FetchConfig {
    /// The fetcher's limits, the decoder's pixel caps and the per-listing
    /// limits this table sets, over their defaults; a value out of range
    /// is an error naming its key.
    pub fn limits(&self) -> Result<FetchLimits, crate::SignalsError> {
        let allow = FetchPolicy::parse_allow_list(&self.allow)
            .map_err(|e| crate::SignalsError::Config(format!("fetch.allow[{}]: {e}", e.index)))?;
        let mut policy = FetchPolicy { allow, ..FetchPolicy::default() };
        let count = |key: &str, value: Option<u64>| -> Result<u64, crate::SignalsError> {
            let v = value.unwrap_or_else(|| default_of(key));
            check(key, &v.to_string(), v as f64).map(|_| v)
        };
        let seconds = |key: &str, value: Option<f64>| -> Result<Duration, crate::SignalsError> {
            let v = value.unwrap_or(limit(key).2);
            check(key, &v.to_string(), v).map(|_| Duration::from_secs_f64(v))
        };
        policy.max_bytes = count("fetch.max_bytes", self.max_bytes)?;
        policy.total_timeout = seconds("fetch.timeout_seconds", self.timeout_seconds)?;
        policy.connect_timeout =
            seconds("fetch.connect_timeout_seconds", self.connect_timeout_seconds)?.min(policy.total_timeout);
        policy.max_redirects = count("fetch.max_redirects", self.max_redirects.map(u64::from))? as u32;
        let max_pixels = count("fetch.max_pixels", self.max_pixels)?;
        let in_flight = count("fetch.max_pixels_in_flight", self.max_pixels_in_flight)?;
        if in_flight < max_pixels {
            return Err(crate::SignalsError::Config(format!(
                "fetch.max_pixels_in_flight: {in_flight} is below fetch.max_pixels ({max_pixels}): the largest allowed image could never be decoded"
            )));
        }
        let decode =
            DecodeOptions { max_pixels, budget: Some(PixelBudget::new(in_flight)), ..DecodeOptions::default() };
        Ok(FetchLimits {
            policy,
            decode,
            concurrency: count("fetch.concurrency", self.concurrency.map(|c| c as u64))? as usize,
            max_images: count("fetch.max_images", self.max_images.map(|c| c as u64))? as usize,
            listing_timeout: seconds("fetch.listing_timeout_seconds", self.listing_timeout_seconds)?,
        })
    }
}

impl BankConfig {
    fn validate(&self, at: usize) -> Result<(), crate::SignalsError> {
        let named = |what: &str| crate::SignalsError::Config(format!("bank[{at}].{what}"));
        if self.name.trim().is_empty() {
            return Err(named("name: is empty"));
        }
        if self.file.as_os_str().is_empty() {
            return Err(named("file: is empty"));
        }
        let distance = self.max_distance;
        check_as("bank.max_distance", &format!("bank[{at}].max_distance"), &distance.to_string(), distance.into())?;
        let quality = self.min_quality;
        check_as("bank.min_quality", &format!("bank[{at}].min_quality"), &quality.to_string(), quality.into())
    }
}

impl RemovedConfig {
    fn validate(&self) -> Result<(), crate::SignalsError> {
        if self.file.as_os_str().is_empty() {
            return Err(crate::SignalsError::Config("removed.file: is empty".into()));
        }
        check("removed.min_similarity", &self.min_similarity.to_string(), self.min_similarity)?;
        let other = self.min_similarity_other_seller;
        check("removed.min_similarity_other_seller", &other.to_string(), other)?;
        check("removed.image_max_distance", &self.image_max_distance.to_string(), f64::from(self.image_max_distance))?;
        check("removed.min_words", &self.min_words.to_string(), self.min_words as f64)
    }
}

/// Names the key a TOML error is about, from the error's position: type
/// errors from the parser show the line but not which key of which table.
fn key_of_error(text: &str, error: &toml::de::Error) -> Option<String> {
    let at = error.span()?.start.min(text.len());
    let line_start = text[..at].rfind('\n').map_or(0, |p| p + 1);
    let line = text[line_start..].lines().next()?;
    let key = line.split_once('=')?.0.trim();
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(['[', ']']).trim().to_string());
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_string(),
    })
}

impl SignalsConfig {
    /// Reads and checks a configuration file: every value in range (see
    /// [`LIMITS`]), every error naming its key.
    pub fn load(path: &Path) -> Result<SignalsConfig, crate::SignalsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| crate::SignalsError::Config(format!("{}: {e}", path.display())))?;
        let mut config: SignalsConfig = toml::from_str(&text).map_err(|e| {
            let key = key_of_error(&text, &e).map(|k| format!("{k}: ")).unwrap_or_default();
            crate::SignalsError::Config(format!("{}: {key}{}", path.display(), e.message().trim()))
        })?;
        config.validate().map_err(|e| crate::SignalsError::Config(format!("{}: {}", path.display(), strip(&e))))?;
        config.base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(config)
    }

    /// Checks every value (also done by [`SignalsConfig::load`]).
    pub fn validate(&self) -> Result<(), crate::SignalsError> {
        for (i, bank) in self.banks.iter().enumerate() {
            bank.validate(i)?;
        }
        if let Some(fetch) = &self.fetch {
            fetch.limits()?;
        }
        if let Some(removed) = &self.removed {
            removed.validate()?;
        }
        Ok(())
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

/// The message of a config error without its "signals config: " prefix.
fn strip(e: &crate::SignalsError) -> String {
    match e {
        crate::SignalsError::Config(m) => m.clone(),
        other => other.to_string(),
    }
}
