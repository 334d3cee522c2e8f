//! The prefilter: a static embedding of a text, the weighted mean of its
//! tokens' rows in the model's own token-embedding table (the model's input
//! layer, before any transformer layer), compared with the exemplars' static
//! embeddings. It costs microseconds where the transformer costs
//! milliseconds, and it is only a sieve: a listing whose static embedding is
//! far from every exemplar of a policy is, on the evaluation set and the
//! benign corpora, never one the transformer then finds close, so it stops
//! there (the floors per policy and how they were chosen: the policy files
//! and the semantic section of BENCHMARKS.md).
//!
//! Two adjustments make raw token rows usable (the recipe of SIF sentence
//! embeddings, Arora et al. 2017, and of Model2Vec): each token is weighted
//! by `a / (a + p)`, `p` its unigram probability in the tokenizer, so that
//! frequent pieces (the word separator, digits, "g") count little, and the
//! table's mean row is removed, so that cosines measure what distinguishes
//! tokens rather than what all rows share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::engine::{Model, DIM};

/// Words whose tokens the embedder keeps (a few MB); past this the memo
/// starts again empty.
const WORDS_KEPT: usize = 200_000;

/// The SIF smoothing constant `a`.
pub const SIF_A: f32 = 1e-4;

/// The static embedder of one model.
pub struct StaticEmbedder {
    mean: [f32; DIM],
    /// Tokens by whitespace-separated word. The tokenizer's search costs
    /// far more than the rest of a static embedding (its cost grows with
    /// the square of a word's length), and catalogues reuse their words;
    /// SentencePiece pieces never span a space, so a text's tokens are its
    /// words' tokens.
    words: Mutex<HashMap<String, Arc<[u32]>>>,
}

impl StaticEmbedder {
    /// Computes the token table's mean row (a few tens of ms, once per model).
    pub fn new(model: &Model) -> StaticEmbedder {
        let mut sum = [0f64; DIM];
        let mut rows = 0usize;
        for id in 0..model.vocabulary() {
            let Some((row, _)) = u32::try_from(id).ok().and_then(|id| model.token_row(id)) else { continue };
            for (s, r) in sum.iter_mut().zip(row) {
                *s += f64::from(r);
            }
            rows += 1;
        }
        let mut mean = [0f32; DIM];
        if rows > 0 {
            for (m, s) in mean.iter_mut().zip(sum) {
                *m = (s / rows as f64) as f32;
            }
        }
        StaticEmbedder { mean, words: Mutex::new(HashMap::new()) }
    }

    fn word_tokens(&self, model: &Model, word: &str) -> Arc<[u32]> {
        let memo = |words: &Mutex<HashMap<String, Arc<[u32]>>>| {
            words.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(word).cloned()
        };
        if let Some(tokens) = memo(&self.words) {
            return tokens;
        }
        let tokens: Arc<[u32]> = model.tokens(word).unwrap_or_default().into();
        let mut words = self.words.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if words.len() >= WORDS_KEPT {
            words.clear();
        }
        words.insert(word.to_string(), tokens.clone());
        tokens
    }

    /// The L2-normalised static embedding of `text`; `None` when it has no
    /// token (or the engine is absent).
    pub fn embed(&self, model: &Model, text: &str) -> Option<[f32; DIM]> {
        let mut v = [0f32; DIM];
        let mut any = false;
        let words: Vec<Arc<[u32]>> = text.split_whitespace().map(|w| self.word_tokens(model, w)).collect();
        for &id in words.iter().flat_map(|w| w.iter()) {
            let Some((row, logp)) = model.token_row(id) else { continue };
            let weight = SIF_A / (SIF_A + logp.exp());
            for ((x, r), m) in v.iter_mut().zip(row).zip(self.mean) {
                *x += weight * (r - m);
            }
            any = true;
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if !any || norm <= f32::EPSILON {
            return None;
        }
        v.iter_mut().for_each(|x| *x /= norm);
        Some(v)
    }
}
