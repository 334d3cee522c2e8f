//! Proof generation from persisted perfect-subtree nodes.
//!
//! Inclusion proofs (RFC 9162 §2.1.3.1, `PATH`) and consistency proofs
//! (§2.1.4.1, `PROOF`) are lists of subtree hashes `MTH(D[a:b])`. Each such
//! range is either a perfect subtree, which the store has (nodes are written
//! once, when completed, and never change), or a range along the right edge
//! of the requested tree, `[a, size)` with `size` not a multiple of its
//! width, which no store has because it changes with every append. The
//! latter is recomputed here from the perfect subtrees that cover it. At
//! most one proof element is such an *ephemeral* node, so a proof reads
//! O(log n) nodes for any sizes, including old tree sizes: historical heads
//! are proven from today's store.
//!
//! Generation is split into a pure plan ([`ProofPlan`]: which nodes to read)
//! and assembly from the hashes read, so a store can fetch the nodes in one
//! query, sync or async. [`NodeReader`] and the functions [`inclusion_proof`],
//! [`consistency_proof`] and [`root_at`] wrap the two steps for a
//! synchronous store.
//!
//! ```
//! use rempart_audit::{inclusion_proof, leaf_hash, verify_inclusion, MemoryTree};
//!
//! let mut tree = MemoryTree::new();
//! for i in 0..1000u32 {
//!     tree.push(leaf_hash(&i.to_be_bytes()))?;
//! }
//! // Prove entry 123 in the tree as it was at size 500.
//! let root_500 = rempart_audit::root_at(&tree, 500)?;
//! let proof = inclusion_proof(&tree, 123, 500)?;
//! verify_inclusion(&leaf_hash(&123u32.to_be_bytes()), 123, 500, &proof, &root_500)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::compact::{fold_right, perfect_cover, NodeId};
use crate::hash::{empty_root, Hash};

/// Read access to persisted perfect-subtree nodes (leaves are level 0).
///
/// A node `(level, index)` covers leaves `[index << level, (index + 1) << level)`
/// and exists once all of them are appended; it never changes afterwards.
pub trait NodeReader {
    /// Why a node could not be read (missing row, I/O error, …).
    type Error: std::error::Error + 'static;

    /// The hash of one node.
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;

    /// The hashes of several nodes, in the order asked. Override to fetch
    /// them in one round trip; the default reads them one by one.
    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        ids.iter().map(|id| self.node(id.level, id.index)).collect()
    }
}

impl<R: NodeReader + ?Sized> NodeReader for &R {
    type Error = R::Error;
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        (**self).node(level, index)
    }
    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        (**self).nodes(ids)
    }
}

/// A proof or root was asked for sizes or an index that make no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Inclusion of a leaf at or beyond the tree size.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// Requested leaf.
        index: u64,
        /// Requested tree size.
        size: u64,
    },
    /// Consistency from a larger tree to a smaller one.
    #[error("consistency from size {old_size} to the smaller size {new_size}")]
    SizeOrder {
        /// Requested old size.
        old_size: u64,
        /// Requested new size.
        new_size: u64,
    },
    /// Consistency from the empty tree: every tree extends it, there is
    /// nothing to prove (RFC 9162 defines PROOF for `0 < m`).
    #[error("consistency from the empty tree proves nothing")]
    EmptyOldTree,
}

/// Proof generation failed.
#[derive(Debug, thiserror::Error)]
pub enum ProofError<E: std::error::Error + 'static> {
    /// The request itself is invalid.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The store could not provide a node.
    #[error("reading a tree node: {0}")]
    Read(#[source] E),
    /// The store returned a different number of hashes than asked for.
    #[error("asked the store for {expected} node hashes, got {actual}")]
    WrongNodeCount {
        /// Nodes asked for.
        expected: usize,
        /// Hashes returned.
        actual: usize,
    },
}

/// One element of a proof: a perfect subtree read as is, or an ephemeral
/// right-edge range folded from the perfect subtrees covering it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Perfect,
    Ephemeral { parts: usize },
}

/// Which nodes a proof (or a root) needs, and how to assemble it from them.
///
/// ```
/// use rempart_audit::ProofPlan;
///
/// // Inclusion of leaf 0 in a tree of 7 leaves: leaf 1, the node over
/// // leaves 2..4, and MTH(D[4:7]), which no store keeps (it changes when
/// // leaf 7 arrives) and is folded from nodes (1, 2) and (0, 6).
/// let plan = ProofPlan::inclusion(0, 7)?;
/// assert_eq!(plan.len(), 3);
/// assert_eq!(plan.node_ids().len(), 4);
/// # Ok::<(), rempart_audit::PlanError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofPlan {
    pieces: Vec<Piece>,
    ids: Vec<NodeId>,
}

impl ProofPlan {
    /// RFC 9162 `PATH(index, D[0:size])`.
    pub fn inclusion(index: u64, size: u64) -> Result<Self, PlanError> {
        let ranges = inclusion_ranges(index, size)?;
        Ok(ProofPlan::from_ranges(&ranges))
    }

    /// RFC 9162 `PROOF(old_size, D[0:new_size])`; empty when the sizes are
    /// equal.
    pub fn consistency(old_size: u64, new_size: u64) -> Result<Self, PlanError> {
        let ranges = consistency_ranges(old_size, new_size)?;
        Ok(ProofPlan::from_ranges(&ranges))
    }

    /// `MTH(D[0:size])` as a one-element plan (no element for size 0).
    pub fn root(size: u64) -> Self {
        if size == 0 {
            return ProofPlan { pieces: Vec::new(), ids: Vec::new() };
        }
        ProofPlan::from_ranges(&[(0, size)])
    }

    fn from_ranges(ranges: &[(u64, u64)]) -> Self {
        let mut pieces = Vec::with_capacity(ranges.len());
        let mut ids = Vec::with_capacity(ranges.len() + 8);
        for &(begin, end) in ranges {
            let cover = perfect_cover(begin, end);
            pieces.push(if cover.len() == 1 { Piece::Perfect } else { Piece::Ephemeral { parts: cover.len() } });
            ids.extend(cover);
        }
        ProofPlan { pieces, ids }
    }

    /// Number of hashes in the finished proof.
    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    /// True for an empty proof (e.g. leaf 0 of a one-leaf tree).
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The nodes to read, each once, in the order [`ProofPlan::assemble`]
    /// expects their hashes.
    pub fn node_ids(&self) -> &[NodeId] {
        &self.ids
    }

    /// Builds the proof from the hashes of [`ProofPlan::node_ids`], in order,
    /// recomputing the ephemeral node. `None` if the count is wrong.
    pub fn assemble(&self, hashes: &[Hash]) -> Option<Vec<Hash>> {
        if hashes.len() != self.ids.len() {
            return None;
        }
        let mut rest = hashes;
        let mut proof = Vec::with_capacity(self.pieces.len());
        for piece in &self.pieces {
            let take = match piece {
                Piece::Perfect => 1,
                Piece::Ephemeral { parts } => *parts,
            };
            let (these, tail) = rest.split_at(take);
            proof.push(fold_right(these)?);
            rest = tail;
        }
        Some(proof)
    }

    /// Reads the nodes through `reader` and assembles the proof.
    pub fn read<R: NodeReader>(&self, reader: &R) -> Result<Vec<Hash>, ProofError<R::Error>> {
        let hashes = reader.nodes(&self.ids).map_err(ProofError::Read)?;
        self.assemble(&hashes).ok_or(ProofError::WrongNodeCount { expected: self.ids.len(), actual: hashes.len() })
    }
}

/// Inclusion proof for leaf `index` in the tree of `size` leaves, deepest
/// sibling first (RFC 9162 §2.1.3.1).
pub fn inclusion_proof<R: NodeReader>(reader: &R, index: u64, size: u64) -> Result<Vec<Hash>, ProofError<R::Error>> {
    ProofPlan::inclusion(index, size)?.read(reader)
}

/// Consistency proof from tree size `old_size` to `new_size`
/// (RFC 9162 §2.1.4.1); empty when the sizes are equal.
pub fn consistency_proof<R: NodeReader>(
    reader: &R,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    ProofPlan::consistency(old_size, new_size)?.read(reader)
}

/// The root of the tree as it was at `size` leaves, from persisted nodes
/// (`size.count_ones()` reads): the root a historical head must carry.
pub fn root_at<R: NodeReader>(reader: &R, size: u64) -> Result<Hash, ProofError<R::Error>> {
    let proof = ProofPlan::root(size).read(reader)?;
    Ok(proof.first().copied().unwrap_or_else(empty_root))
}

/// Largest power of two strictly below `n` (`n >= 2`): where RFC 9162 splits.
pub(crate) fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The subtree ranges of `PATH(index, D[0:size])`, deepest first.
pub(crate) fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<(u64, u64)>, PlanError> {
    if index >= size {
        return Err(PlanError::IndexOutOfRange { index, size });
    }
    // Walk from the root down to the leaf; each step's sibling range is one
    // proof element, and the RFC lists them bottom-up.
    let (mut lo, mut hi) = (0u64, size);
    let mut top_down = Vec::with_capacity(64);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index - lo < k {
            top_down.push((lo + k, hi));
            hi = lo + k;
        } else {
            top_down.push((lo, lo + k));
            lo += k;
        }
    }
    top_down.reverse();
    Ok(top_down)
}

/// The subtree ranges of `PROOF(old_size, D[0:new_size])`, in RFC order.
pub(crate) fn consistency_ranges(old_size: u64, new_size: u64) -> Result<Vec<(u64, u64)>, PlanError> {
    if old_size > new_size {
        return Err(PlanError::SizeOrder { old_size, new_size });
    }
    if old_size == 0 {
        return Err(PlanError::EmptyOldTree);
    }
    // SUBPROOF(m, D[lo:hi], b), unrolled: descend until the range is the
    // old tree's last subtree; its own hash is included unless it is the
    // whole old tree (b = true), which the verifier already holds.
    let (mut lo, mut hi) = (0u64, new_size);
    let mut whole_old_tree = true;
    let mut top_down = Vec::with_capacity(64);
    while hi != old_size {
        let k = split_point(hi - lo);
        if old_size - lo <= k {
            top_down.push((lo + k, hi));
            hi = lo + k;
        } else {
            top_down.push((lo, lo + k));
            lo += k;
            whole_old_tree = false;
        }
    }
    let mut ranges = Vec::with_capacity(top_down.len() + 1);
    if !whole_old_tree {
        ranges.push((lo, hi));
    }
    ranges.extend(top_down.into_iter().rev());
    Ok(ranges)
}
