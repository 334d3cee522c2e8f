//! `rempart audit verify`: recompute the whole log from the stored entries
//! and say exactly where it stops matching.
//!
//! Each check trusts less than the one before: an entry against its own
//! index and canonical form, its body against the stored leaf hash, the
//! leaves against the stored tree nodes, the recomputed roots against the
//! *signed* heads (which only the holder of the signing key can make), and
//! the decision index against the entries it points to. The report names
//! the first entry that was changed, removed, reordered or inserted.

use std::collections::HashMap;

use rempart_audit::{canonical_json, leaf_hash, Frontier, Hash, KeyRing};
use serde::Serialize;

use crate::backend::Value;
use crate::{audit, StoreError, Tx};

/// One thing that is wrong.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Finding {
    /// An index has no entry (deleted).
    EntryMissing { index: u64 },
    /// The entry stored at `index` says it is entry `claims` (moved or reordered).
    EntryMisplaced { index: u64, claims: Option<u64> },
    /// The entry's bytes are not the canonical JSON they were written as.
    EntryNotCanonical { index: u64 },
    /// The entry's bytes no longer hash to the leaf stored with them.
    EntryChanged { index: u64 },
    /// The leaf hash stored with the entry differs from the tree's leaf node
    /// (entry and its hash rewritten together).
    LeafRewritten { index: u64 },
    /// A tree node differs from the one recomputed from the entries.
    NodeMismatch { level: u8, node: u64 },
    /// Entries stored beyond the size the log records (inserted).
    EntryBeyondSize { index: u64, size: u64 },
    /// A signed head's root is not the root of the recomputed tree at its
    /// size: history up to that head was rewritten.
    HeadMismatch { size: u64, first_unverified_after: u64 },
    /// A head's signature does not verify with the log's keys.
    HeadSignature { size: u64, error: String },
    /// A signed head claims more entries than the log holds (entries removed from the end).
    HeadBeyondLog { size: u64, entries: u64 },
    /// The recorded state (size, root) is not the recomputed one.
    StateMismatch { recorded_size: u64, computed_size: u64 },
    /// A decision row disagrees with the audit entry it points to.
    DecisionMismatch { decision_id: String, index: u64, reason: String },
}

impl Finding {
    /// The entry a person should look at first, when there is one.
    pub fn entry(&self) -> Option<u64> {
        match self {
            Finding::EntryMissing { index }
            | Finding::EntryMisplaced { index, .. }
            | Finding::EntryNotCanonical { index }
            | Finding::EntryChanged { index }
            | Finding::LeafRewritten { index }
            | Finding::EntryBeyondSize { index, .. }
            | Finding::DecisionMismatch { index, .. } => Some(*index),
            Finding::NodeMismatch { level, node } => Some(node << level),
            _ => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Finding::EntryMissing { index } => format!("entry {index} is missing (removed)"),
            Finding::EntryMisplaced { index, claims: Some(c) } => {
                format!("entry {index} holds the body of entry {c} (entries reordered or moved)")
            }
            Finding::EntryMisplaced { index, claims: None } => format!("entry {index} has no index in its body"),
            Finding::EntryNotCanonical { index } => {
                format!("entry {index} is not in canonical form (its bytes were edited)")
            }
            Finding::EntryChanged { index } => format!("entry {index} was changed: its bytes no longer hash to its leaf"),
            Finding::LeafRewritten { index } => {
                format!("entry {index} was changed together with its leaf hash: it differs from the Merkle tree")
            }
            Finding::NodeMismatch { level, node } => {
                format!("tree node (level {level}, index {node}) differs from the one recomputed from the entries")
            }
            Finding::EntryBeyondSize { index, size } => {
                format!("entry {index} lies beyond the log's recorded size {size} (inserted)")
            }
            Finding::HeadMismatch { size, first_unverified_after } => format!(
                "the signed head of size {size} does not match the entries: history after entry {first_unverified_after} was rewritten"
            ),
            Finding::HeadSignature { size, error } => format!("the head of size {size} has a bad signature: {error}"),
            Finding::HeadBeyondLog { size, entries } => {
                format!("a head was signed at size {size} but the log holds {entries} entries (entries removed)")
            }
            Finding::StateMismatch { recorded_size, computed_size } => {
                format!("the log records {recorded_size} entries but {computed_size} were found")
            }
            Finding::DecisionMismatch { decision_id, index, reason } => {
                format!("decision {decision_id} (entry {index}): {reason}")
            }
        }
    }
}

/// What a verification found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub entries: u64,
    pub heads_checked: u64,
    pub decisions_checked: u64,
    pub root: Option<String>,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }

    /// The first entry at fault, by index.
    pub fn first_bad_entry(&self) -> Option<u64> {
        self.findings.iter().filter_map(Finding::entry).min()
    }
}

const CHUNK: u64 = 10_000;
/// Enough findings to say what happened; a wholesale rewrite would
/// otherwise list every entry.
const MAX_FINDINGS: usize = 1_000;

fn push(report: &mut Report, f: Finding) {
    if report.findings.len() < MAX_FINDINGS {
        report.findings.push(f);
    }
}

/// Verifies the whole log inside one read transaction. `progress` is told
/// how many entries were checked so far.
pub fn verify(tx: &mut Tx<'_>, trusted: &KeyRing, mut progress: impl FnMut(u64, u64)) -> Result<Report, StoreError> {
    let mut report = Report::default();
    let (recorded_size, _) = audit::state(tx)?;
    let max_idx = tx.query_one("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_entries", &[], "entry count")?.uint(0)?;
    let total = recorded_size.max(max_idx);
    let heads = audit::heads(tx, 0, u64::MAX >> 1)?;
    let mut next_head = heads.iter().peekable();
    let mut frontier = Frontier::new();
    // The tree as stored (from the stored leaf nodes): its internal nodes
    // must match the stored ones whatever the entries say.
    let mut stored_tree = Frontier::new();
    let mut last_good_head = 0u64;

    let mut start = 0u64;
    while start < total {
        let end = (start + CHUNK).min(total);
        let rows = tx.query(
            "SELECT idx, body, leaf_hash FROM audit_entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
            &[Value::from(start), Value::from(end)],
        )?;
        let mut by_index: HashMap<u64, (Vec<u8>, Vec<u8>)> = HashMap::with_capacity(rows.len());
        for r in rows {
            by_index.insert(r.uint(0)?, (r.blob(1)?, r.blob(2)?));
        }
        let stored_nodes = nodes_completed_in(tx, start, end)?;
        let mut computed_nodes: HashMap<(u8, u64), Hash> = HashMap::new();
        for index in start..end {
            if index >= recorded_size && by_index.contains_key(&index) {
                push(&mut report, Finding::EntryBeyondSize { index, size: recorded_size });
                continue;
            }
            let stored_leaf = stored_nodes.get(&(0, index)).copied();
            let leaf = match by_index.remove(&index) {
                None => {
                    push(&mut report, Finding::EntryMissing { index });
                    // Without the entry the tree cannot be rebuilt past it;
                    // keep the stored leaf so later checks still say something.
                    stored_leaf.unwrap_or(Hash([0; 32]))
                }
                Some((body, leaf_column)) => check_entry(&mut report, index, &body, &leaf_column, stored_leaf.as_ref()),
            };
            frontier.push(leaf, |_| {}).map_err(|e| StoreError::Audit(e.to_string()))?;
            stored_tree
                .push(stored_leaf.unwrap_or(leaf), |n| {
                    computed_nodes.insert((n.id.level, n.id.index), n.hash);
                })
                .map_err(|e| StoreError::Audit(e.to_string()))?;
            while let Some(head) = next_head.peek() {
                if head.size > frontier.size() {
                    break;
                }
                if head.size == frontier.size() {
                    check_head(&mut report, head, &frontier, trusted, &mut last_good_head);
                }
                next_head.next();
            }
        }
        for (&(level, node), hash) in &computed_nodes {
            if level > 0 && stored_nodes.get(&(level, node)).is_some_and(|s| s != hash) {
                push(&mut report, Finding::NodeMismatch { level, node });
            }
        }
        report.entries = end.min(recorded_size);
        progress(end, total);
        start = end;
    }
    // Heads of an empty log, or beyond it.
    for head in next_head {
        if head.size == 0 && frontier.size() == 0 {
            check_head(&mut report, head, &frontier, trusted, &mut last_good_head);
        } else if head.size > frontier.size() {
            push(&mut report, Finding::HeadBeyondLog { size: head.size, entries: frontier.size() });
        }
    }
    if recorded_size != frontier.size().min(recorded_size) || max_idx > recorded_size {
        push(&mut report, Finding::StateMismatch { recorded_size, computed_size: max_idx });
    }
    report.root = Some(frontier.root().to_hex());
    check_decisions(tx, &mut report)?;
    // Entry findings first, by entry; what they cause (heads, state) after.
    report.findings.sort_by_key(|f| f.entry().unwrap_or(u64::MAX));
    Ok(report)
}

fn check_entry(report: &mut Report, index: u64, body: &[u8], stored_leaf: &[u8], tree_leaf: Option<&Hash>) -> Hash {
    let leaf = leaf_hash(body);
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => {
            let claims = v.get("index").and_then(serde_json::Value::as_u64);
            if claims != Some(index) {
                push(report, Finding::EntryMisplaced { index, claims });
            }
            if canonical_json(&v).ok().as_deref() != Some(body) {
                push(report, Finding::EntryNotCanonical { index });
            }
        }
        Err(_) => push(report, Finding::EntryNotCanonical { index }),
    }
    if stored_leaf != leaf.as_bytes() {
        push(report, Finding::EntryChanged { index });
    } else if tree_leaf.is_some_and(|t| *t != leaf) {
        push(report, Finding::LeafRewritten { index });
    }
    leaf
}

fn check_head(
    report: &mut Report,
    head: &audit::StoredHead,
    frontier: &Frontier,
    trusted: &KeyRing,
    last_good: &mut u64,
) {
    report.heads_checked += 1;
    if let Err(e) = head.signed.verify(trusted) {
        push(report, Finding::HeadSignature { size: head.size, error: e.to_string() });
    }
    let signed_root = head.signed.head().root;
    if signed_root != frontier.root() || head.root != signed_root || head.signed.head().size != head.size {
        push(report, Finding::HeadMismatch { size: head.size, first_unverified_after: *last_good });
    } else {
        *last_good = head.size;
    }
}

/// Stored nodes completed by appending leaves `[start, end)`: at level L,
/// those with index in `[start >> L, end >> L)`.
fn nodes_completed_in(tx: &mut Tx<'_>, start: u64, end: u64) -> Result<HashMap<(u8, u64), Hash>, StoreError> {
    let mut out = HashMap::new();
    for level in 0u8..63 {
        let (lo, hi) = (start >> level, end >> level);
        if lo >= hi {
            if end >> level == 0 {
                break;
            }
            continue;
        }
        let rows = tx.query(
            "SELECT idx, hash FROM audit_nodes WHERE level = ?1 AND idx >= ?2 AND idx < ?3",
            &[Value::Int(i64::from(level)), Value::from(lo), Value::from(hi)],
        )?;
        for r in rows {
            if let Ok(h) = Hash::from_slice(&r.blob(1)?) {
                out.insert((level, r.uint(0)?), h);
            }
        }
    }
    Ok(out)
}

/// Every decision row must point at a decision entry that says the same.
fn check_decisions(tx: &mut Tx<'_>, report: &mut Report) -> Result<(), StoreError> {
    let mut after = String::new();
    loop {
        let rows = tx.query(
            "SELECT decision_id, audit_index, listing_id, version, verdict FROM decisions WHERE decision_id > ?1 \
             ORDER BY decision_id LIMIT 5000",
            &[after.clone().into()],
        )?;
        let Some(last) = rows.last() else { break };
        after = last.text(0)?;
        for r in &rows {
            report.decisions_checked += 1;
            let (id, index) = (r.text(0)?, r.uint(1)?);
            let mismatch = |reason: String| Finding::DecisionMismatch { decision_id: id.clone(), index, reason };
            let Some(body) = tx.query_opt("SELECT body FROM audit_entries WHERE idx = ?1", &[Value::from(index)])?
            else {
                push(report, mismatch("its audit entry is missing".into()));
                continue;
            };
            let entry: serde_json::Value = serde_json::from_slice(&body.blob(0)?).unwrap_or_default();
            let data = &entry["data"];
            let checks = [
                ("kind", entry["kind"].as_str() == Some("decision")),
                ("decision id", data["decision_id"].as_str() == Some(id.as_str())),
                ("listing id", data["listing_id"].as_str() == Some(r.text(2)?.as_str())),
                ("listing version", data["listing_version"].as_u64() == Some(r.uint(3)?)),
                ("verdict", data["decision"]["verdict"].as_str() == Some(r.text(4)?.as_str())),
            ];
            for (what, ok) in checks {
                if !ok {
                    push(report, mismatch(format!("the decision index and the audit entry disagree on the {what}")));
                }
            }
        }
    }
    Ok(())
}
