//! Listings, their versions and the decisions on them.
//!
//! A decision record is the `data` of a `decision` audit entry; the
//! `decisions` table only indexes it. Recording a submission is one
//! transaction: the version, the decision entry and its tree nodes, the
//! listing's current state, a pending review when the verdict asks for
//! one, and the listing's entry in the removed-listings index when it is
//! blocked. A crash leaves all of it or none.

use rempart_audit::{canonical_object, Member};
use rempart_core::{Action, Decision};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::audit::{self, EntryKind};
use crate::backend::Value;
use crate::{reviews, time, Dialect, StoreError, Tx};

/// Why a decision was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Screening on submission.
    Screening,
    /// Screening again after a new pack was activated.
    Rescan,
    /// Screening again once the listing's images could be fetched.
    ImagesArrived,
    /// A person's review outcome.
    Review,
    /// The outcome of the seller's appeal.
    Appeal,
    /// Suspension of the seller (repeat offender).
    Suspension,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Screening => "screening",
            Origin::Rescan => "rescan",
            Origin::ImagesArrived => "images_arrived",
            Origin::Review => "review",
            Origin::Appeal => "appeal",
            Origin::Suspension => "suspension",
        }
    }
}

/// The stored record of a decision: what a court, an auditor or a
/// statement of reasons reads years later.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub decision_id: String,
    pub listing_id: String,
    pub listing_version: u64,
    /// `sha256:` of the listing's canonical JSON (RFC 8785) as received.
    pub listing_digest: String,
    pub received_at: String,
    pub decided_at: String,
    pub origin: Origin,
    /// Who decided: `rempart` (automated) or the reviewer's key id.
    pub decided_by: String,
    /// The decision this one replaces for the same listing, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
    /// Why, for decisions made by a person (a reason code and free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Json>,
    pub decision: Decision,
}

/// A decision with where it sits in the log.
#[derive(Clone, Debug, Serialize)]
pub struct StoredDecision {
    pub audit_index: u64,
    #[serde(flatten)]
    pub record: DecisionRecord,
}

/// A decision's canonical JSON (RFC 8785), computed before it reaches the
/// writer: the writer thread is the one serial stage of the record path,
/// and canonicalising a decision with its evidence was a sixth of its work.
#[derive(Clone, Debug)]
pub struct CanonicalDecision(Vec<u8>);

impl CanonicalDecision {
    pub fn of(decision: &Decision) -> Result<CanonicalDecision, StoreError> {
        let value = serde_json::to_value(decision).map_err(|e| StoreError::Invalid(e.to_string()))?;
        rempart_audit::canonical_json(&value).map(CanonicalDecision).map_err(|e| StoreError::Invalid(e.to_string()))
    }
}

/// The canonical bytes of `record`, whose decision is `decision` in
/// canonical form: the envelope is small, so the writer's share is small.
fn record_json(record: &mut DecisionRecord, decision: &CanonicalDecision) -> Result<Vec<u8>, StoreError> {
    let invalid = |e: &dyn std::fmt::Display| StoreError::Invalid(e.to_string());
    // The envelope is serialised without the decision's bulk (its matches
    // and their evidence, already in `decision`): lent out for the call,
    // so the writer does not serialise them a second time.
    let matches = std::mem::take(&mut record.decision.matches);
    let signal_errors = std::mem::take(&mut record.decision.signal_errors);
    let envelope = serde_json::to_value(&*record);
    record.decision.matches = matches;
    record.decision.signal_errors = signal_errors;
    let Json::Object(mut envelope) = envelope.map_err(|e| invalid(&e))? else {
        return Err(StoreError::Invalid("a decision record is an object".into()));
    };
    envelope.remove("decision");
    let mut members: Vec<(&str, Member<'_>)> = envelope.iter().map(|(k, v)| (k.as_str(), Member::Value(v))).collect();
    members.push(("decision", Member::Canonical(&decision.0)));
    canonical_object(&members).map_err(|e| invalid(&e))
}

/// What to record for one submitted listing.
pub struct Submission {
    pub listing_id: String,
    pub seller_id: Option<String>,
    /// The listing's bytes exactly as received.
    pub body: Vec<u8>,
    /// `sha256:` of its canonical JSON.
    pub digest: String,
    pub received_at: i64,
    /// Key id of the client that submitted it.
    pub submitted_by: String,
    pub decision: Decision,
    /// `decision` in canonical form ([`CanonicalDecision::of`]).
    pub canonical_decision: CanonicalDecision,
    /// Where it goes in the review queue when the verdict is `review`.
    pub review: Option<reviews::Seed>,
    /// Its entry in the removed-listings index when it is blocked.
    pub removal: Option<Json>,
}

/// What recording a submission did.
#[derive(Clone, Debug)]
pub enum Recorded {
    /// A new version (or a new listing): screened and recorded.
    New(StoredDecision),
    /// The same bytes as the latest version: nothing recorded; the decision
    /// in force is returned.
    Unchanged(StoredDecision),
}

impl Recorded {
    pub fn decision(&self) -> &StoredDecision {
        match self {
            Recorded::New(d) | Recorded::Unchanged(d) => d,
        }
    }
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The listing's latest version and the decision in force, if it is known.
pub fn current(tx: &mut Tx<'_>, listing_id: &str) -> Result<Option<(u64, String, String)>, StoreError> {
    let row = tx.query_opt(
        "SELECT l.latest_version, v.digest, l.current_decision FROM listings l \
         JOIN listing_versions v ON v.listing_id = l.listing_id AND v.version = l.latest_version \
         WHERE l.listing_id = ?1",
        &[listing_id.into()],
    )?;
    row.map(|r| Ok((r.uint(0)?, r.text(1)?, r.text(2)?))).transpose()
}

/// Records one submission (see the module docs). Idempotent: the same
/// bytes as the latest version record nothing.
pub fn record_submission(tx: &mut Tx<'_>, s: Submission) -> Result<Recorded, StoreError> {
    record_one(tx, &s)
}

/// Records a request's submissions, each answered on its own: one bad
/// listing never loses the others.
///
/// All of them go in one savepoint, so a batch of n listings costs two
/// savepoint statements, not 2n. If any fails, that savepoint is rolled
/// back (and with it the tree's in-memory state, see [`Tx::savepoint`])
/// and each listing is recorded again in a savepoint of its own, side by
/// side (never nested: SQLite walks its sub-journal from the start on
/// every nested release). A submission that is already an error (it
/// could not be prepared) is answered with that error either way.
pub fn record_batch(
    tx: &mut Tx<'_>,
    submissions: &[Result<Submission, StoreError>],
) -> Vec<Result<Recorded, StoreError>> {
    let together = tx.savepoint(|tx| {
        submissions
            .iter()
            .map(|s| match s {
                Ok(s) => record_one(tx, s).map(Ok),
                Err(e) => Ok(Err(e.clone())),
            })
            .collect::<Result<Vec<_>, StoreError>>()
    });
    match together {
        Ok(out) => out,
        Err(_) => submissions
            .iter()
            .map(|s| s.as_ref().map_err(Clone::clone).and_then(|s| tx.savepoint(|tx| record_one(tx, s))))
            .collect(),
    }
}

fn record_one(tx: &mut Tx<'_>, s: &Submission) -> Result<Recorded, StoreError> {
    let previous = current(tx, &s.listing_id)?;
    if let Some((_, digest, decision_id)) = &previous {
        if *digest == s.digest {
            return Ok(Recorded::Unchanged(decision(tx, decision_id)?));
        }
    }
    let version = previous.as_ref().map_or(1, |(v, _, _)| v + 1);
    tx.exec(
        "INSERT INTO listing_versions (listing_id, version, digest, body, received_at, submitted_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[
            s.listing_id.as_str().into(),
            Value::from(version),
            s.digest.as_str().into(),
            s.body.as_slice().into(),
            Value::Int(s.received_at),
            s.submitted_by.as_str().into(),
        ],
    )?;
    // A new version makes reviews of the old ones moot; a listing seen for
    // the first time has no old ones (and most are), so no query.
    if previous.is_some() {
        reviews::supersede_for_listing(tx, &s.listing_id)?;
    }
    let record = DecisionRecord {
        decision_id: new_id(),
        listing_id: s.listing_id.clone(),
        listing_version: version,
        listing_digest: s.digest.clone(),
        received_at: time::rfc3339(s.received_at),
        decided_at: time::rfc3339(time::now_ms()),
        origin: Origin::Screening,
        decided_by: "rempart".into(),
        supersedes: previous.map(|(_, _, d)| d),
        reason: None,
        decision: s.decision.clone(),
    };
    let stored = insert_canonical_decision(tx, record, &s.canonical_decision, s.seller_id.as_deref())?;
    if stored.record.decision.verdict == Action::Review {
        if let Some(seed) = &s.review {
            reviews::open(tx, &stored, seed.clone())?;
        }
    }
    if stored.record.decision.verdict == Action::Block {
        if let Some(entry) = &s.removal {
            crate::removed::insert(tx, &stored.record.listing_id, &stored.record.decision_id, entry)?;
        }
    }
    Ok(Recorded::New(stored))
}

/// Records a decision on an existing version (rescan, review outcome,
/// images arrived…): appends its entry, indexes it, makes it the one in
/// force. The record's `decision_id` and `decided_at` are filled in.
pub fn insert_decision(
    tx: &mut Tx<'_>,
    record: DecisionRecord,
    seller_id: Option<&str>,
) -> Result<StoredDecision, StoreError> {
    let canonical = CanonicalDecision::of(&record.decision)?;
    insert_canonical_decision(tx, record, &canonical, seller_id)
}

/// [`insert_decision`] with the decision already in canonical form.
fn insert_canonical_decision(
    tx: &mut Tx<'_>,
    mut record: DecisionRecord,
    decision: &CanonicalDecision,
    seller_id: Option<&str>,
) -> Result<StoredDecision, StoreError> {
    if record.decision_id.is_empty() {
        record.decision_id = new_id();
    }
    if record.decided_at.is_empty() {
        record.decided_at = time::rfc3339(time::now_ms());
    }
    let data = record_json(&mut record, decision)?;
    let appended = audit::append_canonical(tx, &[(EntryKind::Decision, data)])?;
    let audit_index = appended[0].index;
    let now = time::now_ms();
    let d = &record.decision;
    tx.exec(
        "INSERT INTO decisions (decision_id, listing_id, version, audit_index, verdict, origin, supersedes, \
         pack_version, engine_version, decided_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        &[
            record.decision_id.as_str().into(),
            record.listing_id.as_str().into(),
            Value::from(record.listing_version),
            Value::from(audit_index),
            d.verdict.as_str().into(),
            record.origin.as_str().into(),
            record.supersedes.as_deref().into(),
            d.policy_version.as_str().into(),
            d.engine_version.as_str().into(),
            Value::Int(now),
        ],
    )?;
    for (position, m) in d.matches.iter().enumerate() {
        tx.exec(
            "INSERT INTO decision_matches (decision_id, position, policy, rule, action) VALUES (?1, ?2, ?3, ?4, ?5)",
            &[
                record.decision_id.as_str().into(),
                Value::from(position as u64),
                m.policy.as_str().into(),
                m.rule.as_str().into(),
                m.action.as_str().into(),
            ],
        )?;
    }
    tx.exec(
        "INSERT INTO listings (listing_id, seller_id, latest_version, current_decision, verdict, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (listing_id) DO UPDATE SET seller_id = COALESCE(excluded.seller_id, listings.seller_id), \
         latest_version = excluded.latest_version, current_decision = excluded.current_decision, \
         verdict = excluded.verdict, updated_at = excluded.updated_at",
        &[
            record.listing_id.as_str().into(),
            seller_id.into(),
            Value::from(record.listing_version),
            record.decision_id.as_str().into(),
            d.verdict.as_str().into(),
            Value::Int(now),
        ],
    )?;
    Ok(StoredDecision { audit_index, record })
}

/// A decision by id, read from its audit entry.
pub fn decision(tx: &mut Tx<'_>, decision_id: &str) -> Result<StoredDecision, StoreError> {
    let row = tx.query_one(
        "SELECT audit_index FROM decisions WHERE decision_id = ?1",
        &[decision_id.into()],
        &format!("decision {decision_id}"),
    )?;
    decision_at(tx, row.uint(0)?)
}

/// The decision recorded in audit entry `index`.
pub fn decision_at(tx: &mut Tx<'_>, index: u64) -> Result<StoredDecision, StoreError> {
    let entry = audit::entry_json(tx, index)?;
    let record: DecisionRecord = serde_json::from_value(entry["data"].clone())
        .map_err(|e| StoreError::Audit(format!("entry {index} is not a decision record: {e}")))?;
    Ok(StoredDecision { audit_index: index, record })
}

/// One version of a listing as stored.
#[derive(Clone, Debug, Serialize)]
pub struct Version {
    pub version: u64,
    pub digest: String,
    pub received_at: String,
    pub submitted_by: String,
    /// The listing exactly as received (JSON).
    pub listing: Box<serde_json::value::RawValue>,
    pub decisions: Vec<StoredDecision>,
}

/// A listing's history: every version and every decision on it.
#[derive(Clone, Debug, Serialize)]
pub struct History {
    pub listing_id: String,
    pub seller_id: Option<String>,
    pub current_decision: String,
    pub verdict: String,
    pub versions: Vec<Version>,
}

pub fn history(tx: &mut Tx<'_>, listing_id: &str) -> Result<History, StoreError> {
    let head = tx.query_one(
        "SELECT seller_id, current_decision, verdict FROM listings WHERE listing_id = ?1",
        &[listing_id.into()],
        &format!("listing {listing_id}"),
    )?;
    let versions = tx.query(
        "SELECT version, digest, received_at, submitted_by, body FROM listing_versions WHERE listing_id = ?1 ORDER BY version",
        &[listing_id.into()],
    )?;
    let decisions = tx.query(
        "SELECT version, audit_index FROM decisions WHERE listing_id = ?1 ORDER BY audit_index",
        &[listing_id.into()],
    )?;
    let mut out = Vec::with_capacity(versions.len());
    for v in versions {
        let version = v.uint(0)?;
        let body = String::from_utf8(v.blob(4)?).map_err(|e| StoreError::Schema(e.to_string()))?;
        let listing = serde_json::value::RawValue::from_string(body)
            .map_err(|e| StoreError::Schema(format!("stored listing: {e}")))?;
        let mut ds = Vec::new();
        for d in decisions.iter().filter(|d| d.uint(0).ok() == Some(version)) {
            ds.push(decision_at(tx, d.uint(1)?)?);
        }
        out.push(Version {
            version,
            digest: v.text(1)?,
            received_at: time::rfc3339(v.int(2)?),
            submitted_by: v.text(3)?,
            listing,
            decisions: ds,
        });
    }
    Ok(History {
        listing_id: listing_id.to_string(),
        seller_id: head.opt_text(0)?,
        current_decision: head.text(1)?,
        verdict: head.text(2)?,
        versions: out,
    })
}

/// The raw bytes of one version.
pub fn version_body(tx: &mut Tx<'_>, listing_id: &str, version: u64) -> Result<Vec<u8>, StoreError> {
    tx.query_one(
        "SELECT body FROM listing_versions WHERE listing_id = ?1 AND version = ?2",
        &[listing_id.into(), Value::from(version)],
        &format!("listing {listing_id} version {version}"),
    )?
    .blob(0)
}

/// Counts for metrics and the health page.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    pub listings: u64,
    pub decisions: u64,
    pub pending_reviews: u64,
    pub audit_entries: u64,
}

/// Cheap enough for every scrape of `/metrics`, at any store size.
///
/// Listings and decisions are never deleted (the record only grows: a
/// listing changes by new versions, a decision is superseded, not
/// removed, and a listing's row is updated in place, which keeps its
/// rowid), so on SQLite the largest rowid of each table is its row count:
/// the last key of a b-tree, a few pages away. `COUNT(*)` read every page
/// of an index instead: with 5M decisions, tens of MiB through one pooled
/// connection's page cache on every scrape, which made that scan the
/// largest churn of the server's heap under a Prometheus-like scrape
/// (BENCHMARKS.md, "What the soak's heap held"). PostgreSQL tables have
/// no rowid, so there the rows are counted.
pub fn counts(tx: &mut Tx<'_>) -> Result<Counts, StoreError> {
    let one = |tx: &mut Tx<'_>, sql: &str| -> Result<u64, StoreError> { tx.query_one(sql, &[], "count")?.uint(0) };
    let rows = |tx: &mut Tx<'_>, table: &str| -> Result<u64, StoreError> {
        match tx.dialect() {
            Dialect::Sqlite => one(tx, &format!("SELECT COALESCE(MAX(rowid), 0) FROM {table}")),
            Dialect::Postgres => one(tx, &format!("SELECT COUNT(*) FROM {table}")),
        }
    };
    Ok(Counts {
        listings: rows(tx, "listings")?,
        decisions: rows(tx, "decisions")?,
        pending_reviews: one(tx, "SELECT COUNT(*) FROM reviews WHERE status = 'pending'")?,
        audit_entries: audit::state(tx)?.0,
    })
}

/// A live listing's latest version, for rescans.
pub struct LiveListing {
    pub listing_id: String,
    pub version: u64,
    pub body: Vec<u8>,
    pub current_decision: String,
    pub seller_id: Option<String>,
}

/// Live listings (latest version of each) in id order after `after`.
pub fn live_page(tx: &mut Tx<'_>, after: &str, limit: u64) -> Result<Vec<LiveListing>, StoreError> {
    tx.query(
        "SELECT l.listing_id, l.latest_version, v.body, l.current_decision, l.seller_id FROM listings l \
         JOIN listing_versions v ON v.listing_id = l.listing_id AND v.version = l.latest_version \
         WHERE l.listing_id > ?1 ORDER BY l.listing_id LIMIT ?2",
        &[after.into(), Value::from(limit)],
    )?
    .into_iter()
    .map(|r| {
        Ok(LiveListing {
            listing_id: r.text(0)?,
            version: r.uint(1)?,
            body: r.blob(2)?,
            current_decision: r.text(3)?,
            seller_id: r.opt_text(4)?,
        })
    })
    .collect()
}
