//! Proofs as data, and the checks an auditor runs offline.
//!
//! [`InclusionProof`] is what `rempart audit prove` prints and what evidence
//! bundles embed next to the entry and a signed head; [`verify_entry`] is
//! the whole offline check in one call. [`ConsistencyProof`] is what
//! `GET /v1/audit/consistency` serves and [`verify_head_consistency`] is
//! what a witness (`rempart audit watch`) runs on each new head. Hashes are
//! hex in JSON.

use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointError, SignedTreeHead, TreeHead};
use crate::hash::{empty_root, leaf_hash, Hash};
use crate::note::{KeyId, KeyRing};
use crate::verify::{verify_consistency, verify_inclusion, VerifyError};

/// An inclusion proof for one log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Position of the entry in the log (0-based).
    pub leaf_index: u64,
    /// Size of the tree the proof is for (the signed head's size).
    pub tree_size: u64,
    /// `SHA-256(0x00 || entry bytes)`.
    pub leaf_hash: Hash,
    /// RFC 9162 PATH, deepest sibling first.
    pub hashes: Vec<Hash>,
}

/// A consistency proof between two tree sizes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The earlier tree size.
    pub old_size: u64,
    /// The later tree size.
    pub new_size: u64,
    /// RFC 9162 PROOF.
    pub hashes: Vec<Hash>,
}

/// Why an entry could not be proven against a signed head.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// The head's signature or text is not acceptable.
    #[error("signed head: {0}")]
    Head(#[from] CheckpointError),
    /// The entry bytes do not hash to the proof's leaf hash: the entry
    /// given is not the one that was logged.
    #[error("the entry hashes to {computed}, but the proof is for leaf {expected}: the entry was altered")]
    EntryAltered {
        /// Leaf hash in the proof.
        expected: Hash,
        /// Leaf hash of the entry bytes.
        computed: Hash,
    },
    /// The proof is for another tree size than the head.
    #[error("the proof is for tree size {proof_size}, the signed head for {head_size}")]
    SizeMismatch {
        /// `tree_size` of the proof.
        proof_size: u64,
        /// `size` of the head.
        head_size: u64,
    },
    /// The path does not lead to the head's root.
    #[error("inclusion proof: {0}")]
    Proof(#[from] VerifyError),
}

/// An entry proven to be in a signed head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEntry {
    /// Position of the entry in the log.
    pub leaf_index: u64,
    /// The head that contains it.
    pub head: TreeHead,
    /// The trusted key that signed the head.
    pub signed_by: KeyId,
}

/// The auditor's offline check of one entry: the head is signed by a
/// trusted key, the entry bytes are the logged leaf, and the path leads
/// from that leaf to the head's root.
///
/// ```
/// use rempart_audit::*;
///
/// let signer = NoteSigner::from_seed("log.example/rempart", [9; 32])?;
/// let mut tree = MemoryTree::new();
/// let entries = [&br#"{"decision":"allow"}"#[..], br#"{"decision":"block"}"#];
/// for entry in entries {
///     tree.push(leaf_hash(entry))?;
/// }
/// let head = TreeHead { origin: "log.example/rempart".into(), size: tree.size(), root: tree.root(), timestamp_ms: 0 };
/// let signed = SignedTreeHead::sign(&head, &signer)?;
/// let proof = InclusionProof {
///     leaf_index: 1,
///     tree_size: 2,
///     leaf_hash: leaf_hash(entries[1]),
///     hashes: inclusion_proof(&tree, 1, 2)?,
/// };
/// let trusted = KeyRing::from_vkeys(&signer.verifier().to_vkey())?;
/// let ok = verify_entry(entries[1], &proof, &signed, &trusted)?;
/// assert_eq!(ok.signed_by, signer.key_id());
///
/// let altered = verify_entry(br#"{"decision":"allow"}"#, &proof, &signed, &trusted);
/// assert!(matches!(altered, Err(EntryError::EntryAltered { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_entry(
    entry: &[u8],
    proof: &InclusionProof,
    head: &SignedTreeHead,
    trusted: &KeyRing,
) -> Result<VerifiedEntry, EntryError> {
    let signed_by = head.verify(trusted)?;
    let computed = leaf_hash(entry);
    if computed != proof.leaf_hash {
        return Err(EntryError::EntryAltered { expected: proof.leaf_hash, computed });
    }
    let tree = head.head();
    if proof.tree_size != tree.size {
        return Err(EntryError::SizeMismatch { proof_size: proof.tree_size, head_size: tree.size });
    }
    verify_inclusion(&computed, proof.leaf_index, proof.tree_size, &proof.hashes, &tree.root)?;
    Ok(VerifiedEntry { leaf_index: proof.leaf_index, head: tree.clone(), signed_by })
}

/// Why a new head does not extend an old one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadConsistencyError {
    /// The heads are from different logs.
    #[error("the heads are from different logs: {old:?} and {new:?}")]
    OriginMismatch {
        /// Origin of the old head.
        old: String,
        /// Origin of the new head.
        new: String,
    },
    /// The log shrank: entries were removed.
    #[error("the log shrank from {old_size} to {new_size} entries")]
    Shrunk {
        /// Old size.
        old_size: u64,
        /// New size.
        new_size: u64,
    },
    /// The proof's sizes are not the heads' sizes.
    #[error("the proof is from size {proof_old} to {proof_new}, the heads are {old_size} and {new_size}")]
    SizeMismatch {
        /// Proof's old size.
        proof_old: u64,
        /// Proof's new size.
        proof_new: u64,
        /// Old head size.
        old_size: u64,
        /// New head size.
        new_size: u64,
    },
    /// The proof fails: history was rewritten (or the proof is corrupt).
    #[error("history was rewritten between sizes {old_size} and {new_size}: {source}")]
    Rewritten {
        /// Old size.
        old_size: u64,
        /// New size.
        new_size: u64,
        /// What the verifier found.
        source: VerifyError,
    },
}

/// The witness's check: `new` extends `old` (same log, no entry changed,
/// removed or reordered). The heads' signatures are checked separately
/// ([`SignedTreeHead::verify`]), before this. An empty old head is extended
/// by any head of the same log (the proof must then be empty).
pub fn verify_head_consistency(
    old: &TreeHead,
    new: &TreeHead,
    proof: &ConsistencyProof,
) -> Result<(), HeadConsistencyError> {
    if old.origin != new.origin {
        return Err(HeadConsistencyError::OriginMismatch { old: old.origin.clone(), new: new.origin.clone() });
    }
    if new.size < old.size {
        return Err(HeadConsistencyError::Shrunk { old_size: old.size, new_size: new.size });
    }
    if proof.old_size != old.size || proof.new_size != new.size {
        return Err(HeadConsistencyError::SizeMismatch {
            proof_old: proof.old_size,
            proof_new: proof.new_size,
            old_size: old.size,
            new_size: new.size,
        });
    }
    let rewritten = |source| HeadConsistencyError::Rewritten { old_size: old.size, new_size: new.size, source };
    if old.size == 0 {
        if old.root != empty_root() {
            return Err(rewritten(VerifyError::OldRootMismatch { expected: empty_root(), computed: old.root }));
        }
        if !proof.hashes.is_empty() {
            return Err(rewritten(VerifyError::WrongProofLength { expected: 0, actual: proof.hashes.len() }));
        }
        return Ok(());
    }
    verify_consistency(old.size, new.size, &old.root, &new.root, &proof.hashes).map_err(rewritten)
}
