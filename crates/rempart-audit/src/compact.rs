//! Appending to the log: the *frontier* (a compact range covering
//! `[0, size)`) and the addressing of perfect subtrees.
//!
//! # Why a frontier
//!
//! RFC 9162 defines the tree hash MTH recursively over all leaves; computing
//! it that way costs O(n) per append. But the leaves `[0, n)` split uniquely
//! into at most ⌈log₂ n⌉ *perfect* subtrees, one per set bit of `n`, largest
//! first, and MTH is their hashes folded from the right. Keeping those few
//! hashes (the frontier) lets an append cost O(log n) hashes (amortised O(1):
//! appending leaf `n` merges as many subtrees as `n` has trailing one bits).
//!
//! # What the store persists
//!
//! Each merge completes a perfect subtree whose hash never changes again:
//! later appends only ever build *on top of* it. [`Frontier::push`] hands
//! every such node to the caller as a [`StoredNode`] (the leaf itself is
//! node `(0, index)`), and the store writes them next to the entry, in the
//! same transaction. These immutable nodes are all that proofs need
//! ([`crate::proof`]): any right-edge node of an older or newer tree that is
//! not perfect is recomputed from them on demand. After a restart
//! [`Frontier::restore`] reads back the O(log n) nodes of the frontier.

use serde::{Deserialize, Serialize};

use crate::hash::{empty_root, node_hash, Hash};
use crate::proof::{NodeReader, ProofError};

/// A perfect subtree: `2^level` leaves starting at leaf `index << level`.
/// Leaves are level 0. This is the key under which the store keeps a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId {
    /// Height above the leaves.
    pub level: u8,
    /// Position among the nodes of that level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The perfect subtree of `2^level` leaves starting at `index << level`.
    pub const fn new(level: u8, index: u64) -> Self {
        NodeId { level, index }
    }

    /// The leaf at `index`.
    pub const fn leaf(index: u64) -> Self {
        NodeId { level: 0, index }
    }
}

/// A completed perfect-subtree node, ready to be persisted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredNode {
    /// Where it sits.
    pub id: NodeId,
    /// Its hash.
    pub hash: Hash,
}

/// What one [`Frontier::append`] produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// Index of the new leaf (the size before the append).
    pub index: u64,
    /// Tree root after the append.
    pub root: Hash,
    /// Nodes completed by this append, the leaf `(0, index)` first, then
    /// upwards; persist all of them.
    pub nodes: Vec<StoredNode>,
}

/// What one [`Frontier::append_batch`] produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendedBatch {
    /// Index of the first leaf of the batch.
    pub first_index: u64,
    /// Tree size after the batch.
    pub size: u64,
    /// Tree root after the batch (computed once, not per leaf).
    pub root: Hash,
    /// Nodes completed by the batch, in completion order.
    pub nodes: Vec<StoredNode>,
}

/// The frontier cannot take the state it was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrontierError {
    /// The tree already holds `u64::MAX` leaves.
    #[error("the log is full: it already holds u64::MAX leaves")]
    Full,
    /// `from_parts` got the wrong number of subtree hashes for the size.
    #[error("a frontier of size {size} has {expected} subtree hashes, got {actual}")]
    WrongHashCount {
        /// Tree size.
        size: u64,
        /// `size.count_ones()`.
        expected: usize,
        /// What was given.
        actual: usize,
    },
}

/// The roots of the maximal perfect subtrees covering leaves `[0, size)`:
/// enough to append and to compute the current root, nothing more.
///
/// Invariants: exactly `size.count_ones()` hashes, ordered left to right
/// (largest subtree first); hash `i` is the node [`Frontier::node_ids`]
/// names at position `i`; [`Frontier::root`] is RFC 9162 `MTH(D[0:size])`.
///
/// ```
/// use rempart_audit::{leaf_hash, Frontier};
///
/// let mut log = Frontier::new();
/// let mut persisted = Vec::new();
/// for entry in [&b"first"[..], b"second", b"third"] {
///     let appended = log.append(leaf_hash(entry))?;
///     persisted.extend(appended.nodes); // the store writes these
/// }
/// assert_eq!(log.size(), 3);
/// // leaves 0, 1, 2 and the node over leaves 0..2
/// assert_eq!(persisted.len(), 4);
/// # Ok::<(), rempart_audit::FrontierError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Self {
        Frontier::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frontier's subtree hashes, left to right (see [`Frontier::node_ids`]).
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The nodes a frontier of `size` leaves consists of, left to right.
    pub fn node_ids(size: u64) -> Vec<NodeId> {
        perfect_cover(0, size)
    }

    /// The frontier as persisted nodes.
    pub fn nodes(&self) -> impl Iterator<Item = StoredNode> + '_ {
        Frontier::node_ids(self.size)
            .into_iter()
            .zip(self.hashes.iter())
            .map(|(id, hash)| StoredNode { id, hash: *hash })
    }

    /// A frontier from its subtree hashes (in [`Frontier::node_ids`] order),
    /// e.g. read back by the caller in one query.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<Self, FrontierError> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(FrontierError::WrongHashCount { size, expected, actual: hashes.len() });
        }
        Ok(Frontier { size, hashes })
    }

    /// Resumes a log of `size` leaves from its persisted nodes: reads the
    /// `size.count_ones()` frontier nodes (one batch through
    /// [`NodeReader::nodes`]).
    pub fn restore<R: NodeReader>(size: u64, reader: &R) -> Result<Self, ProofError<R::Error>> {
        let ids = Frontier::node_ids(size);
        let hashes = reader.nodes(&ids).map_err(ProofError::Read)?;
        if hashes.len() != ids.len() {
            return Err(ProofError::WrongNodeCount { expected: ids.len(), actual: hashes.len() });
        }
        Ok(Frontier { size, hashes })
    }

    /// `MTH(D[0:size])`; the empty tree's root is `SHA-256("")`.
    /// Costs `size.count_ones() - 1` hashes.
    pub fn root(&self) -> Hash {
        fold_right(&self.hashes).unwrap_or_else(empty_root)
    }

    /// Appends one leaf hash and hands each node it completes (the leaf
    /// first) to `completed`. Returns the new leaf's index. Does not compute
    /// the root: the cheapest form, for callers that sign heads only now
    /// and then.
    pub fn push(&mut self, leaf: Hash, mut completed: impl FnMut(StoredNode)) -> Result<u64, FrontierError> {
        let index = self.size;
        let size = index.checked_add(1).ok_or(FrontierError::Full)?;
        completed(StoredNode { id: NodeId::leaf(index), hash: leaf });
        let mut carry = leaf;
        let mut level = 0u8;
        // Each trailing one bit of `index` is a perfect subtree of the same
        // height just left of the carry: merge them.
        while (index >> level) & 1 == 1 {
            let Some(left) = self.hashes.pop() else { unreachable!("frontier holds one hash per set bit of its size") };
            carry = node_hash(&left, &carry);
            level += 1;
            completed(StoredNode { id: NodeId::new(level, index >> level), hash: carry });
        }
        self.hashes.push(carry);
        self.size = size;
        Ok(index)
    }

    /// Appends one leaf hash; returns its index, the new root and the nodes
    /// to persist.
    pub fn append(&mut self, leaf: Hash) -> Result<Appended, FrontierError> {
        let mut nodes = Vec::with_capacity(2);
        let index = self.push(leaf, |node| nodes.push(node))?;
        Ok(Appended { index, root: self.root(), nodes })
    }

    /// Appends many leaf hashes (one database transaction's worth) and
    /// computes the root once at the end. On error (the log is full) the
    /// leaves before the failing one stay appended.
    pub fn append_batch(&mut self, leaves: impl IntoIterator<Item = Hash>) -> Result<AppendedBatch, FrontierError> {
        let first_index = self.size;
        let mut nodes = Vec::new();
        for leaf in leaves {
            self.push(leaf, |node| nodes.push(node))?;
        }
        Ok(AppendedBatch { first_index, size: self.size, root: self.root(), nodes })
    }
}

/// The perfect subtrees covering `[begin, end)`, left to right, largest
/// first. `begin` must be a multiple of a power of two ≥ `end - begin`, as
/// every range in RFC 9162's recursive definitions is (the right part of a
/// split at the largest power of two below the size); `[0, n)` always is.
pub(crate) fn perfect_cover(begin: u64, end: u64) -> Vec<NodeId> {
    let mut ids = Vec::with_capacity((end - begin).count_ones() as usize);
    let mut start = begin;
    let mut remaining = end - begin;
    while remaining > 0 {
        let level = 63 - remaining.leading_zeros() as u8;
        ids.push(NodeId::new(level, start >> level));
        let width = 1u64 << level;
        start += width;
        remaining -= width;
    }
    ids
}

/// MTH of consecutive perfect subtrees given left to right, largest first:
/// each split of RFC 9162's MTH puts the largest power of two on the left,
/// so the tree is the right fold `h0 · (h1 · (h2 · …))`.
pub(crate) fn fold_right(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, left| node_hash(left, &acc)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn cover_follows_the_bits_of_the_size() {
        assert_eq!(perfect_cover(0, 0), vec![]);
        assert_eq!(perfect_cover(0, 7), vec![NodeId::new(2, 0), NodeId::new(1, 2), NodeId::new(0, 6)]);
        assert_eq!(perfect_cover(8, 11), vec![NodeId::new(1, 4), NodeId::new(0, 10)]);
        assert_eq!(perfect_cover(0, u64::MAX).len(), 64);
    }

    #[test]
    fn push_reports_each_completed_node_once() {
        let mut f = Frontier::new();
        let mut seen = Vec::new();
        for i in 0..8u64 {
            f.push(leaf_hash(&i.to_be_bytes()), |n| seen.push(n.id)).unwrap();
        }
        let expected: usize = (0..4).map(|level| 8 >> level).sum();
        assert_eq!(seen.len(), expected);
        assert_eq!(seen.last(), Some(&NodeId::new(3, 0)));
        assert_eq!(f.hashes().len(), 1);
    }

    #[test]
    fn full_log_refuses_to_grow() {
        let mut f = Frontier::from_parts(u64::MAX, vec![Hash::default(); 64]).unwrap();
        assert_eq!(f.push(Hash::default(), |_| {}), Err(FrontierError::Full));
        assert_eq!(f.size(), u64::MAX);
        assert!(matches!(Frontier::from_parts(3, vec![]), Err(FrontierError::WrongHashCount { expected: 2, .. })));
    }
}
