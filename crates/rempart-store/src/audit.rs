//! The audit log in the database: entries, perfect-subtree nodes, signed
//! heads (the arithmetic is `rempart-audit`'s; this module persists it).
//!
//! An entry is the canonical JSON (RFC 8785) of
//! `{"index", "kind", "recorded_at", "data"}`; its leaf is
//! `SHA-256(0x00 || entry)`. The index inside the entry makes a reordering
//! visible, the canonical form makes any edit visible, the Merkle tree
//! and the signed heads make a consistent rewrite visible to anyone who
//! kept an earlier head ([`crate::verify`] here, `rempart audit watch` outside).

use rempart_audit::{
    canonical_json, canonical_object, leaf_hash, ConsistencyProof, Frontier, Hash, InclusionProof, KeyRing, Member,
    NodeId, NoteSigner, ProofPlan, SignedTreeHead, TreeHead,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::backend::{Dialect, Value};
use crate::{time, StoreError, Tx};

/// What kind of event an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Decision,
    ReviewAction,
    PolicyUpload,
    PolicyActivation,
    KeyChange,
    Notice,
    Appeal,
    Suspension,
    Trader,
    /// A statement of reasons the DSA Transparency Database accepted, or
    /// already had, or refused.
    StatementOfReasons,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Decision => "decision",
            EntryKind::ReviewAction => "review_action",
            EntryKind::PolicyUpload => "policy_upload",
            EntryKind::PolicyActivation => "policy_activation",
            EntryKind::KeyChange => "key_change",
            EntryKind::Notice => "notice",
            EntryKind::Appeal => "appeal",
            EntryKind::Suspension => "suspension",
            EntryKind::Trader => "trader",
            EntryKind::StatementOfReasons => "statement_of_reasons",
        }
    }
}

/// The writer's view of the tree, kept between transactions; trusted only
/// while the database still says the same size and root.
#[derive(Clone)]
pub struct Cache {
    frontier: Frontier,
    root: Hash,
}

/// An appended entry.
#[derive(Clone, Debug)]
pub struct Appended {
    pub index: u64,
    pub leaf_hash: Hash,
    /// The entry's bytes (canonical JSON).
    pub body: Vec<u8>,
}

fn audit_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Audit(e.to_string())
}

fn hash_of(bytes: Vec<u8>) -> Result<Hash, StoreError> {
    Hash::from_slice(&bytes).map_err(audit_err)
}

/// The tree as a write transaction moved it, not yet in `audit_state`
/// (see `flush`). Its root is computed when asked: hashing up the
/// frontier costs log2(n) hashes, which the writer pays once per commit
/// instead of once per entry.
#[derive(Clone)]
pub struct Pending {
    frontier: Frontier,
    root: Option<Hash>,
    /// Appended to since it was read: `audit_state` must be written.
    dirty: bool,
    /// An append failed half-way: the frontier may hold a leaf whose rows
    /// were not written. Only a savepoint's rollback (which puts back the
    /// tree it saved) clears it; a commit or another append refuses it.
    broken: bool,
}

impl Pending {
    fn root(&mut self) -> Hash {
        *self.root.get_or_insert_with(|| self.frontier.root())
    }
}

/// Size and root as the transaction has them, locking the state row for
/// the rest of the transaction in PostgreSQL (SQLite's write transaction
/// holds the whole database already).
fn locked_state(tx: &mut Tx<'_>) -> Result<(u64, Hash), StoreError> {
    if let Some(p) = tx.audit_pending() {
        return Ok((p.frontier.size(), p.root()));
    }
    let sql = match tx.dialect() {
        Dialect::Sqlite => "SELECT tree_size, root_hash FROM audit_state WHERE singleton = 1",
        Dialect::Postgres => "SELECT tree_size, root_hash FROM audit_state WHERE singleton = 1 FOR UPDATE",
    };
    match tx.query_opt(sql, &[])? {
        Some(row) => Ok((row.uint(0)?, hash_of(row.blob(1)?)?)),
        None => Ok((0, rempart_audit::empty_root())),
    }
}

/// The log's size and root (including this transaction's appends).
pub fn state(tx: &mut Tx<'_>) -> Result<(u64, Hash), StoreError> {
    if let Some(p) = tx.audit_pending() {
        return Ok((p.frontier.size(), p.root()));
    }
    match tx.query_opt("SELECT tree_size, root_hash FROM audit_state WHERE singleton = 1", &[])? {
        Some(row) => Ok((row.uint(0)?, hash_of(row.blob(1)?)?)),
        None => Ok((0, rempart_audit::empty_root())),
    }
}

const BROKEN: &str = "an audit append failed outside a savepoint: the transaction cannot be committed";

/// Writes the transaction's tree state to `audit_state` (once per
/// transaction, just before the commit) and hands it to the next
/// transaction as its cache. The cache is dropped again if the commit fails.
pub(crate) fn flush(tx: &mut Tx<'_>) -> Result<(), StoreError> {
    let Some(p) = tx.audit_pending() else { return Ok(()) };
    if p.broken {
        return Err(StoreError::Audit(BROKEN.into()));
    }
    if !p.dirty {
        return Ok(());
    }
    let root = p.root();
    let frontier = p.frontier.clone();
    tx.exec(
        "INSERT INTO audit_state (singleton, tree_size, root_hash) VALUES (1, ?1, ?2) \
         ON CONFLICT (singleton) DO UPDATE SET tree_size = excluded.tree_size, root_hash = excluded.root_hash",
        &[Value::from(frontier.size()), root.as_bytes().to_vec().into()],
    )?;
    if let Some(p) = tx.audit_pending() {
        p.dirty = false;
    }
    if let Ok(mut c) = tx.audit_cache().lock() {
        *c = Some(Cache { frontier, root });
    }
    Ok(())
}

/// Reads the given nodes in one query, in the order asked.
pub fn read_nodes(tx: &mut Tx<'_>, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    // Chunks keep the statement small; proofs need ~2·log2(n) nodes.
    for chunk in ids.chunks(64) {
        let mut sql = String::from("SELECT level, idx, hash FROM audit_nodes WHERE ");
        let mut params = Vec::with_capacity(chunk.len() * 2);
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(" OR ");
            }
            sql.push_str(&format!("(level = ?{} AND idx = ?{})", 2 * i + 1, 2 * i + 2));
            params.push(Value::Int(i64::from(id.level)));
            params.push(Value::from(id.index));
        }
        let rows = tx.query(&sql, &params)?;
        for id in chunk {
            let row = rows
                .iter()
                .find(|r| r.int(0).ok() == Some(i64::from(id.level)) && r.uint(1).ok() == Some(id.index))
                .ok_or_else(|| {
                    StoreError::Audit(format!("tree node (level {}, index {}) is missing", id.level, id.index))
                })?;
            out.push(hash_of(row.blob(2)?)?);
        }
    }
    Ok(out)
}

fn frontier_for(tx: &mut Tx<'_>, size: u64, root: Hash) -> Result<Cache, StoreError> {
    let cached = tx.audit_cache().lock().ok().and_then(|c| c.clone());
    if let Some(c) = cached {
        if c.frontier.size() == size && c.root == root {
            return Ok(c);
        }
    }
    let hashes = read_nodes(tx, &Frontier::node_ids(size))?;
    let frontier = Frontier::from_parts(size, hashes).map_err(audit_err)?;
    if frontier.root() != root {
        return Err(StoreError::Audit(format!(
            "the stored tree nodes do not fold to the stored root at size {size}: run `rempart audit verify`"
        )));
    }
    Ok(Cache { frontier, root })
}

/// Appends entries in order; returns them with their indexes. Part of the
/// caller's transaction: if it rolls back, so do the entries.
pub fn append(tx: &mut Tx<'_>, entries: &[(EntryKind, Json)]) -> Result<Vec<Appended>, StoreError> {
    let canonical = entries
        .iter()
        .map(|(kind, data)| Ok((*kind, canonical_json(data).map_err(audit_err)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    append_canonical(tx, &canonical)
}

/// [`append`] for entries whose data is already canonical JSON (from
/// `canonical_json` or `canonical_object`): what lets a caller canonicalise
/// a large record outside the single writer thread.
pub fn append_canonical(tx: &mut Tx<'_>, entries: &[(EntryKind, Vec<u8>)]) -> Result<Vec<Appended>, StoreError> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let mut pending = match tx.audit_pending().take() {
        Some(p) => p,
        None => {
            let (size, root) = locked_state(tx)?;
            let cache = frontier_for(tx, size, root)?;
            Pending { frontier: cache.frontier, root: Some(cache.root), dirty: false, broken: false }
        }
    };
    if pending.broken {
        *tx.audit_pending() = Some(pending);
        return Err(StoreError::Audit(BROKEN.into()));
    }
    let result = push_entries(tx, &mut pending, entries);
    pending.broken = result.is_err();
    *tx.audit_pending() = Some(pending);
    result
}

fn push_entries(
    tx: &mut Tx<'_>,
    pending: &mut Pending,
    entries: &[(EntryKind, Vec<u8>)],
) -> Result<Vec<Appended>, StoreError> {
    let now = time::now_ms();
    let recorded_at = Json::String(time::rfc3339(now));
    let mut out = Vec::with_capacity(entries.len());
    for (kind, data) in entries {
        let index = pending.frontier.size();
        let body = canonical_object(&[
            ("index", Member::Value(&json!(index))),
            ("kind", Member::Value(&Json::String(kind.as_str().to_string()))),
            ("recorded_at", Member::Value(&recorded_at)),
            ("data", Member::Canonical(data)),
        ])
        .map_err(audit_err)?;
        let leaf = leaf_hash(&body);
        let mut nodes = Vec::with_capacity(2);
        pending.frontier.push(leaf, |n| nodes.push(n)).map_err(audit_err)?;
        pending.root = None;
        pending.dirty = true;
        tx.exec(
            "INSERT INTO audit_entries (idx, kind, recorded_at, body, leaf_hash) VALUES (?1, ?2, ?3, ?4, ?5)",
            &[
                Value::from(index),
                kind.as_str().into(),
                Value::Int(now),
                body.as_slice().into(),
                leaf.as_bytes().as_slice().into(),
            ],
        )?;
        for n in nodes {
            tx.exec(
                "INSERT INTO audit_nodes (level, idx, hash) VALUES (?1, ?2, ?3)",
                &[Value::Int(i64::from(n.id.level)), Value::from(n.id.index), n.hash.as_bytes().as_slice().into()],
            )?;
        }
        out.push(Appended { index, leaf_hash: leaf, body });
    }
    Ok(out)
}

/// A stored signed head.
#[derive(Clone, Debug)]
pub struct StoredHead {
    pub size: u64,
    pub root: Hash,
    pub signed_at: i64,
    pub key_id: String,
    pub signed: SignedTreeHead,
}

fn head_from_row(row: &crate::Row) -> Result<StoredHead, StoreError> {
    let signed = SignedTreeHead::parse(&row.text(4)?).map_err(audit_err)?;
    Ok(StoredHead {
        size: row.uint(0)?,
        root: hash_of(row.blob(1)?)?,
        signed_at: row.int(2)?,
        key_id: row.text(3)?,
        signed,
    })
}

const HEAD_COLUMNS: &str = "tree_size, root_hash, signed_at, key_id, checkpoint";

/// The latest signed head, if any.
pub fn latest_head(tx: &mut Tx<'_>) -> Result<Option<StoredHead>, StoreError> {
    tx.query_opt(&format!("SELECT {HEAD_COLUMNS} FROM audit_heads ORDER BY tree_size DESC LIMIT 1"), &[])?
        .map(|r| head_from_row(&r))
        .transpose()
}

/// The signed head of exactly `size` entries, if one was signed.
pub fn head_at(tx: &mut Tx<'_>, size: u64) -> Result<Option<StoredHead>, StoreError> {
    tx.query_opt(&format!("SELECT {HEAD_COLUMNS} FROM audit_heads WHERE tree_size = ?1"), &[Value::from(size)])?
        .map(|r| head_from_row(&r))
        .transpose()
}

/// The first signed head covering entry `index`.
pub fn head_covering(tx: &mut Tx<'_>, index: u64) -> Result<Option<StoredHead>, StoreError> {
    tx.query_opt(
        &format!("SELECT {HEAD_COLUMNS} FROM audit_heads WHERE tree_size > ?1 ORDER BY tree_size LIMIT 1"),
        &[Value::from(index)],
    )?
    .map(|r| head_from_row(&r))
    .transpose()
}

/// All signed heads, oldest first.
pub fn heads(tx: &mut Tx<'_>, after_size: u64, limit: u64) -> Result<Vec<StoredHead>, StoreError> {
    tx.query(
        &format!("SELECT {HEAD_COLUMNS} FROM audit_heads WHERE tree_size > ?1 ORDER BY tree_size LIMIT ?2"),
        &[Value::from(after_size), Value::from(limit)],
    )?
    .iter()
    .map(head_from_row)
    .collect()
}

/// Signs the current tree if it grew since the last head (or `force`).
/// Returns the new head, if one was signed.
pub fn sign_head(tx: &mut Tx<'_>, signer: &NoteSigner, force: bool) -> Result<Option<StoredHead>, StoreError> {
    let (size, root) = locked_state(tx)?;
    let last = latest_head(tx)?;
    if last.as_ref().is_some_and(|h| h.size == size) && !force {
        return Ok(None);
    }
    if last.as_ref().is_some_and(|h| h.size > size) {
        return Err(StoreError::Audit(format!(
            "a head of size {} was signed but the log holds {size} entries: entries were removed",
            last.map_or(0, |h| h.size)
        )));
    }
    let now = time::now_ms().max(last.as_ref().map_or(0, |h| h.signed_at));
    let head =
        TreeHead { origin: signer.key_id().name.clone(), size, root, timestamp_ms: u64::try_from(now).unwrap_or(0) };
    let signed = SignedTreeHead::sign(&head, signer).map_err(audit_err)?;
    let key_id = signer.key_id().id_hex();
    tx.exec(
        "INSERT INTO audit_heads (tree_size, root_hash, signed_at, key_id, checkpoint) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (tree_size) DO NOTHING",
        &[
            Value::from(size),
            root.as_bytes().to_vec().into(),
            Value::Int(now),
            key_id.clone().into(),
            signed.checkpoint().into(),
        ],
    )?;
    Ok(Some(StoredHead { size, root, signed_at: now, key_id, signed }))
}

/// Records a signing key's public half (and audits it).
pub fn register_signing_key(tx: &mut Tx<'_>, signer: &NoteSigner) -> Result<(), StoreError> {
    let verifier = signer.verifier();
    let key_id = signer.key_id().id_hex();
    let vkey = verifier.to_vkey();
    let known = tx.query_opt("SELECT vkey FROM signing_keys WHERE key_id = ?1", &[key_id.clone().into()])?;
    if known.is_some() {
        return Ok(());
    }
    let now = time::now_ms();
    tx.exec("UPDATE signing_keys SET retired_at = ?1 WHERE retired_at IS NULL", &[Value::Int(now)])?;
    tx.exec(
        "INSERT INTO signing_keys (key_id, vkey, created_at) VALUES (?1, ?2, ?3)",
        &[key_id.clone().into(), vkey.clone().into(), Value::Int(now)],
    )?;
    append(tx, &[(EntryKind::KeyChange, json!({"action": "log_signing_key_added", "key_id": key_id, "vkey": vkey}))])?;
    Ok(())
}

/// Every signing key's public half: what a verifier trusts.
pub fn key_ring(tx: &mut Tx<'_>) -> Result<KeyRing, StoreError> {
    let rows = tx.query("SELECT vkey FROM signing_keys ORDER BY created_at", &[])?;
    let text = rows.iter().map(|r| r.text(0)).collect::<Result<Vec<_>, _>>()?.join("\n");
    KeyRing::from_vkeys(&text).map_err(audit_err)
}

/// The signing keys' vkeys, oldest first.
pub fn vkeys(tx: &mut Tx<'_>) -> Result<Vec<String>, StoreError> {
    tx.query("SELECT vkey FROM signing_keys ORDER BY created_at", &[])?.iter().map(|r| r.text(0)).collect()
}

/// One stored entry's bytes.
pub fn entry(tx: &mut Tx<'_>, index: u64) -> Result<Vec<u8>, StoreError> {
    tx.query_one(
        "SELECT body FROM audit_entries WHERE idx = ?1",
        &[Value::from(index)],
        &format!("audit entry {index}"),
    )?
    .blob(0)
}

/// An entry parsed.
pub fn entry_json(tx: &mut Tx<'_>, index: u64) -> Result<Json, StoreError> {
    let body = entry(tx, index)?;
    serde_json::from_slice(&body).map_err(|e| StoreError::Audit(format!("entry {index} is not JSON: {e}")))
}

/// Inclusion proof of entry `index` in the tree of `size` entries.
pub fn inclusion(tx: &mut Tx<'_>, index: u64, size: u64) -> Result<InclusionProof, StoreError> {
    let plan = ProofPlan::inclusion(index, size).map_err(audit_err)?;
    let hashes = read_nodes(tx, plan.node_ids())?;
    let hashes = plan.assemble(&hashes).ok_or_else(|| StoreError::Audit("proof assembly failed".into()))?;
    let leaf = read_nodes(tx, &[NodeId::leaf(index)])?[0];
    Ok(InclusionProof { leaf_index: index, tree_size: size, leaf_hash: leaf, hashes })
}

/// Consistency proof from the tree of `old` entries to that of `new`.
pub fn consistency(tx: &mut Tx<'_>, old: u64, new: u64) -> Result<ConsistencyProof, StoreError> {
    let plan = ProofPlan::consistency(old, new).map_err(audit_err)?;
    let hashes = read_nodes(tx, plan.node_ids())?;
    let hashes = plan.assemble(&hashes).ok_or_else(|| StoreError::Audit("proof assembly failed".into()))?;
    Ok(ConsistencyProof { old_size: old, new_size: new, hashes })
}
