//! External signals for the gate: what a listing's images and its
//! resemblance to removed listings say, turned into the named signals a
//! policy pack declares (`external_signals` in `pack.toml`).
//!
//! This is the I/O edge of screening: it may read image URLs (opt-in, via
//! [`rempart_fetch`]) and it loads banks and the removed-listings index
//! from files, once. Computing signals for a listing reads that state
//! only, so a [`Signals`] is `Send + Sync` and shared across workers like
//! the gate. The gate stays pure: it receives [`ExternalSignals`].
//!
//! A listing image that cannot be used (refused URL, corrupt file, bad hex)
//! is reported in the decision's `signal_errors`, and the listing is
//! decided on its other signals.

pub mod config;
pub mod removed;
pub mod safety_gate;

use std::path::{Path, PathBuf};

use rempart_core::{Evidence, ExternalSignals, Listing, Pack, SignalError};
use rempart_fetch::Fetcher;
use rempart_hash::bank::{Bank, MatchRule};
use rempart_hash::decode::DecodeOptions;
use rempart_hash::{pdq::Dihedral, Hash256};

pub use config::{RemovedConfig, SignalsConfig};
pub use removed::{Removal, RemovedListings};

#[derive(Debug, thiserror::Error)]
pub enum SignalsError {
    #[error("signals config: {0}")]
    Config(String),
    #[error(transparent)]
    Bank(#[from] rempart_hash::bank::BankError),
    #[error("removed-listings index {path}: {source}")]
    Removed { path: String, source: std::io::Error },
    #[error("safety gate `{name}`: {source}")]
    SafetyGate { name: String, source: safety_gate::AlertFileError },
}

/// A hash bank and the signal it fires.
struct BoundBank {
    bank: Bank,
    signal: String,
}

struct RemovedSource {
    /// The JSONL file the CLI appends to; `None` when the store keeps it.
    file: Option<PathBuf>,
    listings: std::sync::RwLock<RemovedListings>,
    text_signal: String,
    image_signal: String,
    min_similarity: f64,
    min_similarity_other_seller: f64,
    image_max_distance: u32,
    min_words: usize,
}

/// A Safety Gate alert bank and the signal it fires.
struct BoundSafetyGate {
    gate: safety_gate::SafetyGate,
    signal: String,
}

/// Everything signals are computed from, loaded once.
pub struct Signals {
    banks: Vec<BoundBank>,
    safety_gates: Vec<BoundSafetyGate>,
    fetch: Option<Fetching>,
    decode: DecodeOptions,
    removed: Option<RemovedSource>,
}

/// Image fetching, when asked for.
struct Fetching {
    fetcher: Fetcher,
    /// Listings screened at once (see [`Signals::fetch_concurrency`]).
    concurrency: usize,
    /// Images fetched per listing.
    max_images: usize,
    /// Time for all the fetches of one listing.
    listing_timeout: std::time::Duration,
}

/// The signals of one listing.
pub struct Computed {
    pub external: ExternalSignals,
    /// PDQ hashes of the listing's usable images of quality ≥ 50, in order
    /// (the unrotated hash of fetched ones).
    pub image_hashes: Vec<Hash256>,
}

/// What loading reported that is worth telling the operator.
#[derive(Debug, Default)]
pub struct LoadNotes {
    pub lines: Vec<String>,
}

/// The code of the signal error a listing carries for an image not fetched
/// yet: the service decides without it and re-decides when it arrives.
pub const IMAGE_PENDING: &str = "image_pending";

/// A listing's images as the signals stage uses them: the hashes of the
/// usable ones and, for each of the others, why it is not usable (or not
/// fetched yet).
///
/// Acquiring images is the slow, blocking part of signals (downloads);
/// computing signals from them is fast. Keeping them apart lets the
/// service fetch ahead, off the request's path, and decide with what has
/// arrived by its deadline ([`Signals::images_pending`]).
#[derive(Default)]
pub struct Images {
    hashed: Vec<ImageHashes>,
    errors: Vec<SignalError>,
}

impl Images {
    /// Whether some images were left for later ([`IMAGE_PENDING`]).
    pub fn has_pending(&self) -> bool {
        self.errors.iter().any(|e| e.code == IMAGE_PENDING)
    }
}

/// One image of a listing, hashed: where it came from and its hashes (one
/// for a precomputed PDQ, eight dihedral ones for a fetched image).
struct ImageHashes {
    field: String,
    text: String,
    hashes: Vec<(Hash256, &'static str)>,
    quality: u8,
}

impl Signals {
    /// Loads banks and the removed index named by `config`, checking each
    /// signal is one `pack` declares. `fetch_images` turns on URL fetching
    /// (the config must also have a `[fetch]` table).
    pub fn load(config: &SignalsConfig, pack: &Pack, fetch_images: bool) -> Result<(Signals, LoadNotes), SignalsError> {
        Signals::load_from(config, pack, fetch_images, None)
    }

    /// Like [`Signals::load`], but the removed-listings index is built from
    /// `removals` (kept by the service's store) instead of the config's
    /// file, and is on even without a `[removed]` table (default
    /// thresholds). New removals are then [`add`](Signals::add_removed)ed.
    pub fn load_with_removals(
        config: &SignalsConfig,
        pack: &Pack,
        fetch_images: bool,
        removals: Vec<Removal>,
    ) -> Result<(Signals, LoadNotes), SignalsError> {
        Signals::load_from(config, pack, fetch_images, Some(removals))
    }

    fn load_from(
        config: &SignalsConfig,
        pack: &Pack,
        fetch_images: bool,
        removals: Option<Vec<Removal>>,
    ) -> Result<(Signals, LoadNotes), SignalsError> {
        let mut notes = LoadNotes::default();
        let declared = |signal: &str| -> Result<(), SignalsError> {
            if pack.external_signals.iter().any(|s| s == signal) {
                Ok(())
            } else {
                Err(SignalsError::Config(format!(
                    "signal `{signal}` is not declared in the pack's external_signals ({})",
                    pack.external_signals.join(", ")
                )))
            }
        };
        let mut banks = Vec::new();
        for spec in &config.banks {
            declared(&spec.signal)?;
            let rule = MatchRule { max_distance: spec.max_distance, min_quality: spec.min_quality };
            let (bank, report) = Bank::load(&spec.name, &config.resolve(&spec.file), rule)?;
            notes.lines.push(format!(
                "bank `{}`: {} hashes loaded, {} below quality {}, {} lines skipped",
                spec.name,
                report.loaded,
                report.low_quality,
                spec.min_quality,
                report.skipped.len()
            ));
            for s in report.skipped.iter().take(20) {
                notes.lines.push(format!("bank `{}`: line {}: {}", spec.name, s.line, s.reason));
            }
            banks.push(BoundBank { bank, signal: spec.signal.clone() });
        }
        let mut safety_gates = Vec::new();
        for spec in &config.safety_gates {
            declared(&spec.signal)?;
            let mut alerts = Vec::new();
            for file in &spec.files {
                let path = config.resolve(file);
                let (loaded, skipped) = safety_gate::load(&path)
                    .map_err(|source| SignalsError::SafetyGate { name: spec.name.clone(), source })?;
                notes.lines.push(format!(
                    "safety gate `{}`: {} alerts from {}, {} rows skipped",
                    spec.name,
                    loaded.len(),
                    path.display(),
                    skipped.len()
                ));
                for s in skipped.iter().take(20) {
                    notes.lines.push(format!(
                        "safety gate `{}`: {} row {}: {}",
                        spec.name,
                        path.display(),
                        s.position,
                        s.reason
                    ));
                }
                alerts.extend(loaded);
            }
            let gate = safety_gate::SafetyGate::new(alerts, spec.max_matches);
            notes.lines.push(format!("safety gate `{}`: {} distinct alerts indexed", spec.name, gate.len()));
            safety_gates.push(BoundSafetyGate { gate, signal: spec.signal.clone() });
        }
        let mut decode = DecodeOptions::default();
        let fetch = match (&config.fetch, fetch_images) {
            (Some(table), true) => {
                let limits = table.limits()?;
                decode = limits.decode;
                Some(Fetching {
                    fetcher: Fetcher::new(limits.policy),
                    concurrency: limits.concurrency,
                    max_images: limits.max_images,
                    listing_timeout: limits.listing_timeout,
                })
            }
            (None, true) => {
                return Err(SignalsError::Config(
                    "image fetching was asked for but the config has no [fetch] table".into(),
                ))
            }
            (_, false) => None,
        };
        let default_spec = RemovedConfig::default();
        let spec = match (&config.removed, &removals) {
            (Some(spec), _) => Some(spec),
            (None, Some(_)) => Some(&default_spec),
            (None, None) => None,
        };
        let removed = match spec {
            Some(spec) => {
                declared(&spec.text_signal)?;
                declared(&spec.image_signal)?;
                let (listings, bad, file) = match removals {
                    Some(removals) => {
                        let n = removals.len();
                        let (listings, bad) = RemovedListings::build(removals);
                        notes.lines.push(format!("removed listings: {n} loaded from the store"));
                        (listings, bad, None)
                    }
                    None => {
                        let path = config.resolve(&spec.file);
                        let (listings, bad) = RemovedListings::load(&path)
                            .map_err(|source| SignalsError::Removed { path: path.display().to_string(), source })?;
                        notes.lines.push(format!(
                            "removed listings: {} loaded from {}",
                            listings.len(),
                            path.display()
                        ));
                        (listings, bad, Some(path))
                    }
                };
                for b in bad.iter().take(20) {
                    notes.lines.push(format!("removed listings: line {}: {}", b.line, b.reason));
                }
                Some(RemovedSource {
                    file,
                    listings: std::sync::RwLock::new(listings),
                    text_signal: spec.text_signal.clone(),
                    image_signal: spec.image_signal.clone(),
                    min_similarity: spec.min_similarity,
                    min_similarity_other_seller: spec.min_similarity_other_seller,
                    image_max_distance: spec.image_max_distance,
                    min_words: spec.min_words,
                })
            }
            None => None,
        };
        Ok((Signals { banks, safety_gates, fetch, decode, removed }, notes))
    }

    /// How many listings to screen at once: more than the cores when images
    /// are fetched (the wait is on the network), `None` otherwise.
    pub fn fetch_concurrency(&self) -> Option<usize> {
        self.fetch.as_ref().map(|f| f.concurrency)
    }

    /// The removed-listings file named in the configuration, if any.
    pub fn removed_file(&self) -> Option<&Path> {
        self.removed.as_ref().and_then(|r| r.file.as_deref())
    }

    /// Whether relisting is checked (a removed-listings index is loaded).
    pub fn checks_relisting(&self) -> bool {
        self.removed.is_some()
    }

    /// Whether a listing id is already in the removed index.
    pub fn knows_removed(&self, listing_id: &str) -> bool {
        self.removed
            .as_ref()
            .is_some_and(|r| r.listings.read().unwrap_or_else(std::sync::PoisonError::into_inner).contains(listing_id))
    }

    /// Adds a removal to the live index, so the next listing is checked
    /// against it. Without an index this does nothing.
    pub fn add_removed(&self, removal: Removal) -> Result<(), String> {
        let Some(removed) = &self.removed else { return Ok(()) };
        let mut listings = removed.listings.write().map_err(|_| "the removed index lock is poisoned".to_string())?;
        listings.add(removal)
    }

    /// The PDQ hashes to record for a listing being removed: those of its
    /// usable images, without looking anything up.
    pub fn removal_hashes(&self, listing: &Listing) -> Vec<Hash256> {
        evidence_hashes(&self.images(listing).hashed)
    }

    /// Whether screening `listing` would download images (so takes the
    /// network's time): fetching is on and an image has a URL and no PDQ.
    pub fn fetches_images_of(&self, listing: &Listing) -> bool {
        self.fetch.is_some() && listing.images.iter().any(|i| i.pdq.is_none() && i.url.is_some())
    }

    /// Computes the external signals of one listing, and the PDQ hash of
    /// each usable image (to record if the listing is removed). Blocking
    /// when images are fetched: [`Signals::images`] then
    /// [`Signals::compute_from`].
    pub fn compute(&self, listing: &Listing) -> Computed {
        self.compute_from(listing, &self.images(listing))
    }

    /// [`Signals::compute`] from images acquired beforehand (fetched by
    /// [`Signals::images`], or left pending by [`Signals::images_pending`]).
    /// Never touches the network.
    pub fn compute_from(&self, listing: &Listing, images: &Images) -> Computed {
        let mut out = ExternalSignals::default();
        for e in &images.errors {
            out.error(e.clone());
        }
        let images = &images.hashed;
        for image in images {
            for bound in &self.banks {
                let best = image
                    .hashes
                    .iter()
                    .filter_map(|(h, orientation)| bound.bank.lookup(h, image.quality).map(|m| (m, *orientation)))
                    .min_by_key(|(m, _)| m.distance);
                if let Some((m, orientation)) = best {
                    let turned = if orientation == "orig" {
                        String::new()
                    } else {
                        format!(" (matched by the image turned {orientation})")
                    };
                    let meta = if m.metadata.is_empty() { String::new() } else { format!(" [{}]", m.metadata) };
                    let detail = format!(
                        "in hash bank `{}`: {} bits from {}{meta}{turned}",
                        bound.bank.name, m.distance, m.entry
                    );
                    out.fire(bound.signal.clone(), vec![image.evidence(&bound.signal, detail)]);
                }
            }
        }
        if let Some(removed) = &self.removed {
            self.near_removed(listing, removed, images, &mut out);
        }
        for bound in &self.safety_gates {
            for m in bound.gate.matches(listing) {
                out.fire(bound.signal.clone(), safety_gate::evidence_for(&m, &bound.signal));
            }
        }
        Computed { external: out, image_hashes: evidence_hashes(images) }
    }

    /// The listing's images, fetched (blocking, within the listing's fetch
    /// deadline) and hashed; unusable ones are reported.
    pub fn images(&self, listing: &Listing) -> Images {
        self.acquire(listing, None)
    }

    /// The listing's images without the network: precomputed PDQ hashes
    /// are used, and each image that would be fetched is reported
    /// [`IMAGE_PENDING`].
    pub fn images_pending(&self, listing: &Listing) -> Images {
        let why = "not fetched yet: the listing is decided again when its images arrive";
        self.acquire(listing, Some((IMAGE_PENDING, why)))
    }

    /// The listing's images without the network, each image that would be
    /// fetched reported with `code` and `message` (why it was not).
    pub fn images_not_fetched(&self, listing: &Listing, code: &str, message: &str) -> Images {
        self.acquire(listing, Some((code, message)))
    }

    fn near_removed(
        &self,
        listing: &Listing,
        removed: &RemovedSource,
        images: &[ImageHashes],
        out: &mut ExternalSignals,
    ) {
        let seller = listing.seller.as_ref().and_then(|s| s.id.as_deref());
        let same_seller = |other: Option<&str>| seller.is_some() && seller == other;
        let whose = |other: Option<&str>| match other {
            _ if same_seller(other) => "same seller".to_string(),
            Some(b) => format!("seller {b}"),
            None => "seller unknown".to_string(),
        };
        let short_title = listing.title.split_whitespace().count() < removed.min_words;
        let lowest = removed.min_similarity.min(removed.min_similarity_other_seller);
        // A poisoned lock means a writer panicked mid-insert: the index
        // is still a valid index of the removals before it.
        let listings = removed.listings.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let near_text = listings.near_text(listing, lowest);
        // The seller's own removed listing is matched on text similarity
        // alone: from the same seller, a changed size or model number is as
        // likely an evasion as a variant. Another seller's is matched on the
        // score, which what the two titles state against the match (a
        // different capacity, colour, model number) lowers: a catalogue's
        // product-line variants are not relistings.
        let usable = near_text.iter().find(|near| {
            let same = same_seller(near.seller_id.as_deref());
            let acted_on = if same {
                near.similarity >= removed.min_similarity
            } else {
                near.score >= removed.min_similarity_other_seller
            };
            acted_on && (same || !short_title)
        });
        if let Some(near) = usable {
            let attributes = near.attributes.describe();
            let detail = format!(
                "near-duplicate of removed listing {} (text similarity {:.2}{}{}), decided by {}; {}",
                near.listing_id,
                near.similarity,
                if near.score < near.similarity { format!(", score {:.2}", near.score) } else { String::new() },
                if attributes.is_empty() { String::new() } else { format!("; {attributes}") },
                near.decided_by,
                whose(near.seller_id.as_deref())
            );
            let evidence = Evidence {
                field: "title".into(),
                start: 0,
                end: listing.title.len(),
                text: listing.title.clone(),
                signal: removed.text_signal.clone(),
                detail: Some(detail),
            };
            out.fire(removed.text_signal.clone(), vec![evidence]);
        }
        for image in images.iter().filter(|i| i.is_evidence()) {
            let best = image
                .hashes
                .iter()
                .filter_map(|(h, _)| listings.near_image(&listing.id, h, removed.image_max_distance))
                .min_by_key(|n| n.distance);
            if let Some(near) = best {
                let detail = format!(
                    "image {} bits from an image of removed listing {}, decided by {}; {}",
                    near.distance,
                    near.listing_id,
                    near.decided_by,
                    whose(near.seller_id.as_deref())
                );
                out.fire(removed.image_signal.clone(), vec![image.evidence(&removed.image_signal, detail)]);
            }
        }
    }

    /// The PDQ hashes of each usable image of `listing`, and why the others
    /// are not usable; with `skip`, images to download are not, and are
    /// reported with its code and message.
    fn acquire(&self, listing: &Listing, skip: Option<(&str, &str)>) -> Images {
        let mut errors = Vec::new();
        let mut images = Vec::new();
        // One deadline and one count for all the listing's fetches, so that
        // many slow or numerous URLs cannot hold a worker.
        let deadline = self.fetch.as_ref().and_then(|f| std::time::Instant::now().checked_add(f.listing_timeout));
        let mut fetched = 0;
        for (i, image) in listing.images.iter().enumerate() {
            if let Some(hex) = &image.pdq {
                let field = format!("images[{i}].pdq");
                match hex.parse::<Hash256>() {
                    Ok(hash) => {
                        // A precomputed hash may state its quality; without
                        // one it is trusted as computed by a hasher that
                        // filters low quality itself.
                        let quality = image
                            .extra
                            .get("pdq_quality")
                            .or_else(|| image.extra.get("quality"))
                            .and_then(|q| q.as_u64())
                            .map_or(100, |q| q.min(100) as u8);
                        images.push(ImageHashes { field, text: hex.clone(), hashes: vec![(hash, "orig")], quality });
                    }
                    Err(e) => {
                        errors.push(SignalError { source: field, code: "invalid_hash".into(), message: e.to_string() })
                    }
                }
                continue;
            }
            let (Some(url), Some(fetching)) = (&image.url, &self.fetch) else { continue };
            let field = format!("images[{i}].url");
            if fetched == fetching.max_images {
                let message = format!("not fetched: a listing's images are fetched up to {}", fetching.max_images);
                errors.push(SignalError { source: field, code: "too_many_images".into(), message });
                continue;
            }
            fetched += 1;
            if let Some((code, message)) = skip {
                errors.push(SignalError { source: field, code: code.into(), message: message.into() });
                continue;
            }
            let decode = DecodeOptions { budget_deadline: deadline, ..self.decode.clone() };
            let hashed =
                fetching.fetcher.fetch_by(url, deadline).map_err(|e| (e.code().to_string(), e.to_string())).and_then(
                    |fetched| {
                        rempart_hash::dihedral_image(&fetched.bytes, &decode)
                            .map_err(|e| (e.code().to_string(), e.to_string()))
                    },
                );
            match hashed {
                Ok((dihedral, _)) => images.push(ImageHashes {
                    field,
                    text: url.clone(),
                    hashes: dihedral.hashes.iter().copied().zip(Dihedral::NAMES).collect(),
                    quality: dihedral.quality,
                }),
                Err((code, message)) => errors.push(SignalError { source: field, code, message }),
            }
        }
        Images { hashed: images, errors }
    }
}

/// The unrotated hash of each image good enough to be evidence.
fn evidence_hashes(images: &[ImageHashes]) -> Vec<Hash256> {
    images.iter().filter(|i| i.is_evidence()).filter_map(|i| i.hashes.first().map(|(h, _)| *h)).collect()
}

impl ImageHashes {
    /// Near-uniform images (quality < 50) match too much to be evidence of
    /// a relisting or to be recorded for one.
    fn is_evidence(&self) -> bool {
        self.quality >= rempart_hash::bank::DEFAULT_MIN_QUALITY
    }

    fn evidence(&self, signal: &str, detail: String) -> Evidence {
        Evidence {
            field: self.field.clone(),
            start: 0,
            end: self.text.len(),
            text: self.text.clone(),
            signal: signal.to_string(),
            detail: Some(detail),
        }
    }
}
