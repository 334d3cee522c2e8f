//! A bounded cache of embeddings keyed by a digest of the exact text
//! embedded: catalogues repeat titles (the same product from many
//! sellers, relistings, a feed sent again), and the model costs
//! milliseconds where a lookup costs a few hundred nanoseconds.
//!
//! Eviction is by two generations, an approximation of least-recently-used
//! that needs no linked list: entries go into the young generation; when it
//! is full the old one is dropped and the young one becomes old; a hit in
//! the old generation moves the entry back to the young one. At most
//! `2 × half` entries are held, and an entry used within the last `half`
//! insertions is never evicted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::engine::DIM;

/// The first 16 bytes of the text's SHA-256: a collision among the
/// thousands of texts a cache holds is as likely as a hardware fault.
type Key = [u8; 16];

/// Embeddings by text.
pub struct EmbeddingCache {
    half: usize,
    generations: Mutex<Generations>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Default)]
struct Generations {
    young: HashMap<Key, [f32; DIM]>,
    old: HashMap<Key, [f32; DIM]>,
}

impl EmbeddingCache {
    /// A cache holding at most `capacity` embeddings (1.5 KB each); 0
    /// turns it off.
    pub fn new(capacity: usize) -> EmbeddingCache {
        EmbeddingCache {
            half: capacity / 2,
            generations: Mutex::new(Generations::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn key(text: &str) -> Key {
        let digest = Sha256::digest(text.as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        key
    }

    /// The embedding of `text`, from the cache or from `embed` (whose
    /// result is then kept). `embed` runs outside the lock, so two threads
    /// may embed the same new text at once; both get the same vector.
    pub fn get_or_embed<E>(&self, text: &str, embed: impl FnOnce() -> Result<[f32; DIM], E>) -> Result<[f32; DIM], E> {
        if self.half == 0 {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return embed();
        }
        let key = Self::key(text);
        if let Some(v) = self.lookup(&key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(v);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let v = embed()?;
        self.insert(key, v);
        Ok(v)
    }

    fn lookup(&self, key: &Key) -> Option<[f32; DIM]> {
        let mut g = self.generations.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(v) = g.young.get(key) {
            return Some(*v);
        }
        let v = g.old.remove(key)?;
        g.insert(self.half, *key, v);
        Some(v)
    }

    fn insert(&self, key: Key, v: [f32; DIM]) {
        let mut g = self.generations.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        g.insert(self.half, key, v);
    }

    /// (hits, misses) since the cache was made.
    pub fn counts(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }

    /// Embeddings held now.
    pub fn len(&self) -> usize {
        let g = self.generations.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        g.young.len() + g.old.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Generations {
    fn insert(&mut self, half: usize, key: Key, v: [f32; DIM]) {
        if self.young.len() >= half {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(x: f32) -> [f32; DIM] {
        [x; DIM]
    }

    #[test]
    fn a_text_is_embedded_once_and_the_least_recent_go_first() {
        let cache = EmbeddingCache::new(4);
        let embed = |x: f32| move || Ok::<_, ()>(vector(x));
        assert_eq!(cache.get_or_embed("a", embed(1.0)), Ok(vector(1.0)));
        // A hit does not call the model (it would return another vector).
        assert_eq!(cache.get_or_embed("a", embed(9.0)), Ok(vector(1.0)));
        assert_eq!(cache.counts(), (1, 1));
        cache.get_or_embed("b", embed(2.0)).ok();
        cache.get_or_embed("c", embed(3.0)).ok(); // young {c}, old {a, b}
        cache.get_or_embed("a", embed(9.0)).ok(); // a back to young {c, a}
        cache.get_or_embed("d", embed(4.0)).ok(); // young {d}, old {c, a}: b dropped
        assert!(cache.len() <= 4);
        assert_eq!(cache.get_or_embed("a", embed(9.0)), Ok(vector(1.0)));
        assert_eq!(cache.get_or_embed("b", embed(7.0)), Ok(vector(7.0)));
        // Texts differing by one character are different keys.
        assert_eq!(cache.get_or_embed("b ", embed(8.0)), Ok(vector(8.0)));
    }

    #[test]
    fn a_zero_capacity_cache_always_embeds() {
        let cache = EmbeddingCache::new(0);
        assert_eq!(cache.get_or_embed("a", || Ok::<_, ()>(vector(1.0))), Ok(vector(1.0)));
        assert_eq!(cache.get_or_embed("a", || Ok::<_, ()>(vector(2.0))), Ok(vector(2.0)));
        assert!(cache.is_empty());
    }
}
