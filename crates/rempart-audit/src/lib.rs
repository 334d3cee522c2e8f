//! The cryptographic core of rempart's tamper-evident audit log.
//!
//! Every decision, review action, policy activation and key change is a
//! leaf of an append-only Merkle tree in the style of Certificate
//! Transparency (RFC 9162 §2.1, hashing identical to RFC 6962). The log
//! periodically signs its head (size, root, time) as a C2SP checkpoint with
//! an Ed25519 key; anyone holding the public key can then check offline that
//! one entry is in the log ([`verify_entry`]) and that a later head extends
//! an earlier one ([`verify_head_consistency`]), i.e. that history was not
//! rewritten. Records are hashed in their RFC 8785 canonical JSON form
//! ([`canonical_json`]), so the hash does not depend on who serialised them.
//!
//! This crate does no I/O. The store computes with it and persists what it
//! returns:
//!
//! * appending: [`Frontier::push`]/[`Frontier::append`] give the completed
//!   perfect-subtree nodes ([`StoredNode`]) to write in the same
//!   transaction as the entry, and the new root; after a restart
//!   [`Frontier::restore`] reads back the `popcount(size)` frontier nodes;
//! * proving: implement [`NodeReader`] over the stored nodes (or use the
//!   sans-IO [`ProofPlan`] to fetch them yourself, e.g. asynchronously) and
//!   call [`inclusion_proof`], [`consistency_proof`], [`root_at`];
//! * signing: [`SignedTreeHead::sign`] with a [`NoteSigner`] (from a seed
//!   the store draws and keeps secret), published as
//!   [`SignedTreeHead::checkpoint`] text or [`SignedTreeHeadJson`];
//! * verifying, with no tree at hand: [`verify_inclusion`],
//!   [`verify_consistency`], [`verify_entry`], [`verify_head_consistency`].
//!
//! ```
//! use rempart_audit::*;
//! use serde_json::json;
//!
//! // The log: entries are canonical JSON; the leaf is their hash.
//! let signer = NoteSigner::from_seed("market.example/rempart", [42; 32])?;
//! let mut tree = MemoryTree::new();
//! let entry = canonical_json(&json!({"decision_id": "d-1", "verdict": "block"}))?;
//! tree.push(leaf_hash(&entry))?;
//! tree.push(leaf_hash(b"another entry"))?;
//! let head = TreeHead { origin: "market.example/rempart".into(), size: 2, root: tree.root(), timestamp_ms: 1_767_225_600_000 };
//! let published = SignedTreeHead::sign(&head, &signer)?.checkpoint().to_owned();
//!
//! // The auditor, offline, with the entry, its proof, the head and the vkey.
//! let proof = InclusionProof { leaf_index: 0, tree_size: 2, leaf_hash: leaf_hash(&entry), hashes: inclusion_proof(&tree, 0, 2)? };
//! let trusted = KeyRing::from_vkeys(&signer.verifier().to_vkey())?;
//! let verified = verify_entry(&entry, &proof, &SignedTreeHead::parse(&published)?, &trusted)?;
//! assert_eq!(verified.head.size, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Invariants
//!
//! * **Domain separation**: leaves are `SHA-256(0x00 || data)`, nodes
//!   `SHA-256(0x01 || left || right)`; a node can never pass for a leaf.
//! * **Append-only storage**: a perfect-subtree node is written once, when
//!   its last leaf arrives, and never changes; proofs for any past size are
//!   built from these nodes, recomputing the one right-edge node a proof
//!   may need.
//! * **The frontier** of a tree of `n` leaves is exactly the
//!   `n.count_ones()` roots of the maximal perfect subtrees covering
//!   `[0, n)`, left to right; its fold is RFC 9162's MTH.
//! * **One text form**: hashes, sizes, timestamps and signatures have a
//!   single accepted encoding (canonical base64, decimals without leading
//!   zeros), so any changed byte of a head is rejected.

mod bundle;
mod canonical;
mod checkpoint;
mod compact;
mod hash;
mod memory;
mod note;
mod proof;
mod verify;

pub use bundle::{
    verify_entry, verify_head_consistency, ConsistencyProof, EntryError, HeadConsistencyError, InclusionProof,
    VerifiedEntry,
};
pub use canonical::{
    canonical_digest, canonical_json, canonical_object, parse_sha256_digest, sha256_digest, CanonicalError,
    DigestError, Member, MAX_SAFE_INTEGER,
};
pub use checkpoint::{CheckpointError, SignedTreeHead, SignedTreeHeadJson, TreeHead, TIMESTAMP_EXTENSION};
pub use compact::{Appended, AppendedBatch, Frontier, FrontierError, NodeId, StoredNode};
pub use hash::{empty_root, leaf_hash, node_hash, sha256, Hash, HashParseError, LEAF_PREFIX, NODE_PREFIX};
pub use memory::{MemoryTree, MissingNode};
pub use note::{
    is_valid_key_name, open_note, parse_note, sign_note, KeyError, KeyId, KeyRing, Note, NoteError, NoteSignature,
    NoteSigner, NoteVerifier, OpenedNote, ALG_ED25519, MAX_SIGNATURES,
};
pub use proof::{consistency_proof, inclusion_proof, root_at, NodeReader, PlanError, ProofError, ProofPlan};
pub use verify::{root_from_inclusion, verify_consistency, verify_inclusion, VerifyError};
