//! Signed tree heads as C2SP checkpoints (<https://c2sp.org/tlog-checkpoint>).
//!
//! A head is published as a signed note whose text is
//!
//! ```text
//! <origin>
//! <tree size, decimal>
//! <root hash, base64>
//! timestamp_ms <milliseconds since the Unix epoch, decimal>
//! ```
//!
//! The first three lines are the standard checkpoint, readable by Go's
//! `sumdb/note`, transparency-dev witnesses and other checkpoint tooling.
//! The fourth is an extension line this crate defines: when the log signed
//! the head. It is covered by the signature like the rest of the text, so
//! the time cannot be changed without breaking it; tools that do not know
//! it ignore it. Decimal numbers have no sign and no leading zeros (`0`
//! alone excepted), so a head has exactly one text form.
//!
//! The log's key name should be the origin (the spec's recommendation).
//! A head is checked against a [`KeyRing`]: after a key rotation the ring
//! holds old and new keys and the key id in the signature line says which
//! one signed.
//!
//! ```
//! use rempart_audit::{Hash, KeyRing, NoteSigner, SignedTreeHead, TreeHead};
//!
//! let signer = NoteSigner::from_seed("log.example/rempart", [3; 32])?;
//! let head = TreeHead {
//!     origin: "log.example/rempart".into(),
//!     size: 42,
//!     root: Hash([0xab; 32]),
//!     timestamp_ms: 1_767_225_600_000,
//! };
//! let signed = SignedTreeHead::sign(&head, &signer)?;
//! assert!(signed.checkpoint().starts_with("log.example/rempart\n42\nq6ur"));
//!
//! // An auditor, later, with the published vkey only:
//! let keys = KeyRing::from_vkeys(&signer.verifier().to_vkey())?;
//! let received = SignedTreeHead::parse(signed.checkpoint())?;
//! assert_eq!(received.verify(&keys)?, signer.key_id());
//! assert_eq!(received.head(), &head);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::hash::Hash;
use crate::note::{open_note, parse_note, sign_note, KeyId, KeyRing, NoteError, NoteSignature, NoteSigner};

/// Key of the timestamp extension line.
pub const TIMESTAMP_EXTENSION: &str = "timestamp_ms";

/// The log's state at one moment: what a signed head commits to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeHead {
    /// Log identity, e.g. `market.example/rempart` (checkpoint line 1).
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// RFC 9162 root of the first `size` entries.
    pub root: Hash,
    /// When the head was signed, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
}

/// A checkpoint or signed head that is malformed or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The signed-note layer failed (syntax, unknown or invalid signature).
    #[error(transparent)]
    Note(#[from] NoteError),
    /// A line of the checkpoint text is wrong.
    #[error("checkpoint {line} line: {reason}")]
    Body {
        /// Which line: origin, size, root, timestamp, or extension.
        line: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The JSON form's fields disagree with its own checkpoint text.
    #[error("signed head JSON: field {field} does not match the signed checkpoint")]
    JsonMismatch {
        /// The field that differs.
        field: &'static str,
    },
}

fn body_error(line: &'static str, reason: impl Into<String>) -> CheckpointError {
    CheckpointError::Body { line, reason: reason.into() }
}

/// A decimal `u64` with no sign and no leading zeros.
fn parse_decimal(text: &str, line: &'static str) -> Result<u64, CheckpointError> {
    let canonical =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(body_error(line, format!("{text:?} is not a decimal number without leading zeros")));
    }
    text.parse().map_err(|_| body_error(line, format!("{text} does not fit in 64 bits")))
}

impl TreeHead {
    /// The checkpoint text (the part that is signed).
    pub fn to_checkpoint_text(&self) -> Result<String, CheckpointError> {
        if self.origin.is_empty() || self.origin.chars().any(|c| c.is_control()) {
            return Err(body_error("origin", "must be non-empty, on one line, without control characters"));
        }
        Ok(format!(
            "{}\n{}\n{}\n{TIMESTAMP_EXTENSION} {}\n",
            self.origin,
            self.size,
            self.root.to_base64(),
            self.timestamp_ms
        ))
    }

    /// Parses checkpoint text in exactly the form [`TreeHead::to_checkpoint_text`]
    /// writes: the three standard lines and our timestamp line, nothing else.
    pub fn from_checkpoint_text(text: &str) -> Result<Self, CheckpointError> {
        let body =
            text.strip_suffix('\n').ok_or_else(|| body_error("timestamp", "the text must end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() || origin.chars().any(|c| c.is_control()) {
            return Err(body_error("origin", "must be non-empty, without control characters"));
        }
        let size = parse_decimal(lines.next().ok_or_else(|| body_error("size", "missing"))?, "size")?;
        let root_text = lines.next().ok_or_else(|| body_error("root", "missing"))?;
        let root = Hash::from_base64(root_text).map_err(|e| body_error("root", e.to_string()))?;
        let timestamp_line = lines.next().ok_or_else(|| body_error("timestamp", "missing extension line"))?;
        let timestamp_text =
            timestamp_line.strip_prefix(TIMESTAMP_EXTENSION).and_then(|rest| rest.strip_prefix(' ')).ok_or_else(
                || body_error("timestamp", format!("expected '{TIMESTAMP_EXTENSION} <ms>', got {timestamp_line:?}")),
            )?;
        let timestamp_ms = parse_decimal(timestamp_text, "timestamp")?;
        if let Some(extra) = lines.next() {
            return Err(body_error("extension", format!("unexpected line {extra:?}")));
        }
        Ok(TreeHead { origin: origin.to_owned(), size, root, timestamp_ms })
    }
}

/// A tree head with its signed-note text. Built by signing, or parsed from
/// received text (then check it with [`SignedTreeHead::verify`] before
/// trusting it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTreeHead {
    head: TreeHead,
    note: String,
    signatures: Vec<NoteSignature>,
}

impl SignedTreeHead {
    /// Signs `head` with the log key.
    pub fn sign(head: &TreeHead, signer: &NoteSigner) -> Result<Self, CheckpointError> {
        let text = head.to_checkpoint_text()?;
        let note = sign_note(&text, &[signer])?;
        SignedTreeHead::parse(&note)
    }

    /// Parses a signed checkpoint (syntax only: nothing is verified yet).
    pub fn parse(note: &str) -> Result<Self, CheckpointError> {
        let parsed = parse_note(note)?;
        let head = TreeHead::from_checkpoint_text(&parsed.text)?;
        Ok(SignedTreeHead { head, note: note.to_owned(), signatures: parsed.signatures })
    }

    /// Checks the signatures against the trusted keys; returns the first
    /// trusted key that signed (the log key). Fails if any trusted key's
    /// signature is invalid or none is present.
    pub fn verify(&self, keys: &KeyRing) -> Result<KeyId, CheckpointError> {
        let opened = open_note(&self.note, keys)?;
        opened.verified.into_iter().next().ok_or(CheckpointError::Note(NoteError::NoTrustedSignature(Vec::new())))
    }

    /// The head (unverified until [`SignedTreeHead::verify`] succeeded).
    pub fn head(&self) -> &TreeHead {
        &self.head
    }

    /// The full signed note, as published.
    pub fn checkpoint(&self) -> &str {
        &self.note
    }

    /// The signature lines.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// The JSON form for the HTTP API (its `signature` fields describe the
    /// first signature line, the log's).
    pub fn to_json(&self) -> SignedTreeHeadJson {
        let (key_name, key_id, signature) = match self.signatures.first() {
            Some(s) => (s.key.name.clone(), s.key.id_hex(), BASE64.encode(&s.signature)),
            None => (String::new(), String::new(), String::new()),
        };
        SignedTreeHeadJson {
            origin: self.head.origin.clone(),
            tree_size: self.head.size,
            root_hash: self.head.root,
            timestamp_ms: self.head.timestamp_ms,
            key_name,
            key_id,
            signature,
            checkpoint: self.note.clone(),
        }
    }
}

/// A signed head as the HTTP API serves it (`GET /v1/audit/head`).
///
/// `checkpoint` is authoritative: the other fields repeat what it says for
/// convenience (hex root, a number for the time) and
/// [`SignedTreeHeadJson::to_signed`] refuses a document where they differ.
/// `signature` is base64 of the 64-byte Ed25519 signature over the
/// checkpoint text (the note minus its signature lines), by the key named
/// `key_name` with id `key_id` (8 hex digits).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTreeHeadJson {
    /// Log identity.
    pub origin: String,
    /// Number of entries.
    pub tree_size: u64,
    /// Root hash, hex.
    pub root_hash: Hash,
    /// Signing time, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// Signing key name.
    pub key_name: String,
    /// Signing key id, 8 hex digits.
    pub key_id: String,
    /// Ed25519 signature, base64.
    pub signature: String,
    /// The signed note (C2SP checkpoint) text.
    pub checkpoint: String,
}

impl SignedTreeHeadJson {
    /// Parses the embedded checkpoint and checks that every field agrees
    /// with it. Verify the result with [`SignedTreeHead::verify`].
    pub fn to_signed(&self) -> Result<SignedTreeHead, CheckpointError> {
        let signed = SignedTreeHead::parse(&self.checkpoint)?;
        let expected = signed.to_json();
        let agree = [
            ("origin", self.origin == expected.origin),
            ("tree_size", self.tree_size == expected.tree_size),
            ("root_hash", self.root_hash == expected.root_hash),
            ("timestamp_ms", self.timestamp_ms == expected.timestamp_ms),
            ("key_name", self.key_name == expected.key_name),
            ("key_id", self.key_id == expected.key_id),
            ("signature", self.signature == expected.signature),
        ];
        if let Some((field, _)) = agree.iter().find(|(_, same)| !same) {
            return Err(CheckpointError::JsonMismatch { field });
        }
        Ok(signed)
    }
}
