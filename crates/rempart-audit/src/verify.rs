//! Proof verification with no tree at hand: what an auditor runs offline.
//!
//! The algorithms are RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
//! (consistency), which walk the proof with two bit cursors over the leaf
//! index and the last index instead of rebuilding the tree. Before walking,
//! the proof length is checked against the one the sizes dictate, so a
//! truncated or padded proof is named as such rather than as a root
//! mismatch. Every input (any `u64`, any proof) is handled without panic.

use crate::hash::{node_hash, Hash};
use crate::proof::{consistency_ranges, inclusion_ranges, PlanError};

/// Why a proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The index or sizes cannot have a proof at all.
    #[error(transparent)]
    Request(#[from] PlanError),
    /// The proof has the wrong number of hashes for the index and sizes.
    #[error("the proof has {actual} hashes; one for these sizes has {expected}")]
    WrongProofLength {
        /// Length the sizes dictate.
        expected: usize,
        /// Length given.
        actual: usize,
    },
    /// The proof leads to another root than the one expected (the entry or
    /// the history differs from what the head commits to).
    #[error("the proof leads to root {computed}, not the expected {expected}")]
    RootMismatch {
        /// Root of the (new) signed head.
        expected: Hash,
        /// Root recomputed from the proof.
        computed: Hash,
    },
    /// A consistency proof does not reproduce the old root: the old head is
    /// not a prefix of the new tree.
    #[error("the consistency proof leads to old root {computed}, not the expected {expected}")]
    OldRootMismatch {
        /// Root of the old head.
        expected: Hash,
        /// Root recomputed from the proof.
        computed: Hash,
    },
}

/// Recomputes the root of the tree of `size` leaves from leaf `index`'s
/// hash and its inclusion proof (RFC 9162 §2.1.3.2, steps 1–4).
pub fn root_from_inclusion(leaf_hash: &Hash, index: u64, size: u64, proof: &[Hash]) -> Result<Hash, VerifyError> {
    let expected = inclusion_ranges(index, size)?.len();
    if proof.len() != expected {
        return Err(VerifyError::WrongProofLength { expected, actual: proof.len() });
    }
    let wrong_length = VerifyError::WrongProofLength { expected, actual: proof.len() };
    let mut cursor = Cursor { fn_: index, sn: size - 1 };
    let mut r = *leaf_hash;
    for p in proof {
        match cursor.step() {
            Some(Sibling::Left) => r = node_hash(p, &r),
            Some(Sibling::Right) => r = node_hash(&r, p),
            None => return Err(wrong_length),
        }
    }
    if !cursor.at_root() {
        return Err(wrong_length);
    }
    Ok(r)
}

/// Which side of the running hash a proof element goes.
enum Sibling {
    Left,
    Right,
}

/// The two bit cursors of RFC 9162 §2.1.3.2 and §2.1.4.2: `fn_` follows the
/// path of the proven leaf (or of the old tree's last leaf), `sn` that of
/// the tree's last leaf; the walk is at the root when `sn` reaches 0.
struct Cursor {
    fn_: u64,
    sn: u64,
}

impl Cursor {
    /// Consumes one proof element: on which side it goes, or `None` if the
    /// walk already reached the root (the proof is too long).
    fn step(&mut self) -> Option<Sibling> {
        if self.sn == 0 {
            return None;
        }
        let side = if self.fn_ & 1 == 1 || self.fn_ == self.sn {
            // On the right edge, levels where the path has no left sibling
            // are skipped.
            while self.fn_ & 1 == 0 && self.fn_ != 0 {
                self.shift();
            }
            Sibling::Left
        } else {
            Sibling::Right
        };
        self.shift();
        Some(side)
    }

    fn shift(&mut self) {
        self.fn_ >>= 1;
        self.sn >>= 1;
    }

    fn at_root(&self) -> bool {
        self.sn == 0
    }
}

/// Checks that the entry whose leaf hash is `leaf_hash` is leaf `index` of
/// the tree of `size` leaves whose root is `root`.
///
/// As in RFC 9162, the proof alone does not bind `size`: a proof may also
/// verify for another size whose path from `index` has the same shape. The
/// size must come from the signed head that carries `root`, as
/// [`crate::verify_entry`] enforces.
///
/// ```
/// use rempart_audit::{inclusion_proof, leaf_hash, verify_inclusion, MemoryTree, VerifyError};
///
/// let mut tree = MemoryTree::new();
/// for entry in ["a", "b", "c"] {
///     tree.push(leaf_hash(entry.as_bytes()))?;
/// }
/// let proof = inclusion_proof(&tree, 1, 3)?;
/// verify_inclusion(&leaf_hash(b"b"), 1, 3, &proof, &tree.root())?;
/// let forged = verify_inclusion(&leaf_hash(b"B"), 1, 3, &proof, &tree.root());
/// assert!(matches!(forged, Err(VerifyError::RootMismatch { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    let computed = root_from_inclusion(leaf_hash, index, size, proof)?;
    if computed != *root {
        return Err(VerifyError::RootMismatch { expected: *root, computed });
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a
/// prefix of the tree of `new_size` leaves with root `new_root`
/// (RFC 9162 §2.1.4.2): nothing logged before was changed, removed or
/// reordered. Equal sizes need an empty proof and equal roots; an empty old
/// tree is refused as meaningless ([`PlanError::EmptyOldTree`]).
///
/// ```
/// use rempart_audit::{consistency_proof, leaf_hash, verify_consistency, MemoryTree};
///
/// let mut tree = MemoryTree::new();
/// tree.push(leaf_hash(b"a"))?;
/// tree.push(leaf_hash(b"b"))?;
/// tree.push(leaf_hash(b"c"))?;
/// let old_root = tree.root();
/// tree.push(leaf_hash(b"d"))?;
/// let proof = consistency_proof(&tree, 3, 4)?;
/// verify_consistency(3, 4, &old_root, &tree.root(), &proof)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    let expected = consistency_ranges(old_size, new_size)?.len();
    if proof.len() != expected {
        return Err(VerifyError::WrongProofLength { expected, actual: proof.len() });
    }
    if old_size == new_size {
        if old_root != new_root {
            return Err(VerifyError::RootMismatch { expected: *new_root, computed: *old_root });
        }
        return Ok(());
    }
    let wrong_length = VerifyError::WrongProofLength { expected, actual: proof.len() };
    // Step 2: when the old tree is a perfect subtree its root is the seed.
    let (seed, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        match proof.split_first() {
            Some(split) => split,
            None => return Err(wrong_length),
        }
    };
    let mut cursor = Cursor { fn_: old_size - 1, sn: new_size - 1 };
    // Step 4: start from the level of the old tree's last full subtree.
    while cursor.fn_ & 1 == 1 {
        cursor.shift();
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        match cursor.step() {
            Some(Sibling::Left) => {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
            }
            Some(Sibling::Right) => sr = node_hash(&sr, c),
            None => return Err(wrong_length),
        }
    }
    if !cursor.at_root() {
        return Err(wrong_length);
    }
    if fr != *old_root {
        return Err(VerifyError::OldRootMismatch { expected: *old_root, computed: fr });
    }
    if sr != *new_root {
        return Err(VerifyError::RootMismatch { expected: *new_root, computed: sr });
    }
    Ok(())
}
