//! The prefilter: a static embedding of a text, the weighted mean of its
//! tokens' rows in the model's own token-embedding table (the model's input
//! layer, before any transformer layer), compared with the exemplars' static
//! embeddings. It costs microseconds where the transformer costs
//! milliseconds, and it is only a sieve: a listing whose static embedding is
//! far from every exemplar of a policy cannot be near one after the
//! transformer often enough to be worth the call (measured on the
//! evaluation set: see `PREFILTER` in BENCHMARKS.md), so it stops there.
//!
//! Two adjustments make raw token rows usable (the recipe of SIF sentence
//! embeddings, Arora et al. 2017, and of Model2Vec): each token is weighted
//! by `a / (a + p)`, `p` its unigram probability in the tokenizer, so that
//! frequent pieces (the word separator, digits, "g") count little, and the
//! table's mean row is removed, so that cosines measure what distinguishes
//! tokens rather than what all rows share.

use crate::engine::{Model, DIM};

/// The SIF smoothing constant `a`.
pub const SIF_A: f32 = 1e-4;

/// The static embedder of one model.
pub struct StaticEmbedder {
    mean: [f32; DIM],
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
        StaticEmbedder { mean }
    }

    /// The L2-normalised static embedding of `text`; `None` when it has no
    /// token (or the engine is absent).
    pub fn embed(&self, model: &Model, text: &str) -> Option<[f32; DIM]> {
        let tokens = model.tokens(text).ok()?;
        let mut v = [0f32; DIM];
        let mut any = false;
        for id in tokens {
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
