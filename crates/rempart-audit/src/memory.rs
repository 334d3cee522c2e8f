//! An in-memory log: the frontier plus every persisted node, in vectors.
//! What tests, benchmarks and `audit verify`-style recomputation use where a
//! database would otherwise stand.

use crate::compact::{Frontier, FrontierError, StoredNode};
use crate::hash::Hash;
use crate::proof::NodeReader;

/// A node that is not (yet) in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no node ({level}, {index}) in a tree of {size} leaves")]
pub struct MissingNode {
    /// Level asked for.
    pub level: u8,
    /// Index asked for.
    pub index: u64,
    /// Tree size at the time.
    pub size: u64,
}

/// An append-only Merkle tree held in memory (about 64 bytes per leaf).
///
/// ```
/// use rempart_audit::{leaf_hash, MemoryTree};
///
/// let mut tree = MemoryTree::new();
/// tree.push(leaf_hash(b"entry"))?;
/// assert_eq!(tree.root(), leaf_hash(b"entry"));
/// # Ok::<(), rempart_audit::FrontierError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    frontier: Frontier,
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// The empty tree.
    pub fn new() -> Self {
        MemoryTree::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The frontier, as a store would keep it.
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }

    /// Appends a leaf hash, keeping every node it completes; returns its index.
    pub fn push(&mut self, leaf: Hash) -> Result<u64, FrontierError> {
        let levels = &mut self.levels;
        self.frontier.push(leaf, |StoredNode { id, hash }| {
            let level = usize::from(id.level);
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            // Nodes of one level complete left to right, so `id.index` is
            // always the next slot.
            levels[level].push(hash);
        })
    }
}

impl NodeReader for MemoryTree {
    type Error = MissingNode;

    fn node(&self, level: u8, index: u64) -> Result<Hash, MissingNode> {
        let missing = MissingNode { level, index, size: self.size() };
        let row = self.levels.get(usize::from(level)).ok_or(missing)?;
        let slot = usize::try_from(index).map_err(|_| missing)?;
        row.get(slot).copied().ok_or(missing)
    }
}
