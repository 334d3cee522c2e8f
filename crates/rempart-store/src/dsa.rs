//! Statements of reasons (DSA Art. 17 and 24(5)): which recorded decisions
//! owe one, and what the Commission's Transparency Database answered when
//! they were sent (`dsa_submissions`, migration 3).
//!
//! The mapping from a decision to its statement is `rempart-dsa`'s; this
//! module only reads decisions and keeps the record of submissions, so
//! that a statement the database accepted (or already had) is never sent
//! again, and a crash between sending and recording is resolved by asking
//! the database, not by sending twice.

use serde::Serialize;
use serde_json::{json, Value as Json};

use crate::audit::{self, EntryKind};
use crate::backend::Value;
use crate::records::{self, StoredDecision};
use crate::{time, StoreError, Tx};

/// A restrictive decision with what its statement needs from the record.
#[derive(Clone, Debug)]
pub struct Restriction {
    pub decision: StoredDecision,
    /// The listing version the decision is on, exactly as received.
    pub listing: Vec<u8>,
    /// When that version was received (ms since the epoch).
    pub received_at: i64,
    /// When the decision was recorded (ms since the epoch).
    pub decided_at: i64,
    /// For a decision that replaced another (a review outcome, an appeal):
    /// the review queue's `source` for the decision it replaced
    /// (`detection`, `relisting`, `notice`, `trusted_flagger`, `order`,
    /// `appeal`), when the item went through the queue.
    pub review_source: Option<String>,
    /// `decided_by` of the decision it replaced, if any (`rempart` when
    /// the gate decided).
    pub superseded_by_whom: Option<String>,
}

/// Restrictive decisions (`block`, `restrict`) recorded in
/// `[since_ms, until_ms)`, in log order after audit index `after` (pass
/// `None` to start), at most `limit`.
///
/// A decision that only repeats the restriction in force on the same
/// listing version (a rescan, an appeal upheld) is left out: the
/// restriction it confirms already owes its statement.
pub fn restrictions(
    tx: &mut Tx<'_>,
    since_ms: i64,
    until_ms: i64,
    after: Option<u64>,
    limit: u64,
) -> Result<Vec<Restriction>, StoreError> {
    let after = after.map_or(-1, |a| i64::try_from(a).unwrap_or(i64::MAX));
    let rows = tx.query(
        "SELECT d.audit_index, v.body, v.received_at, d.decided_at, \
           (SELECT r.source FROM reviews r WHERE r.decision_id = d.supersedes ORDER BY r.created_at LIMIT 1), \
           p.decision_id \
         FROM decisions d \
         JOIN listing_versions v ON v.listing_id = d.listing_id AND v.version = d.version \
         LEFT JOIN decisions p ON p.decision_id = d.supersedes \
         WHERE d.verdict IN ('block', 'restrict') AND d.decided_at >= ?1 AND d.decided_at < ?2 \
           AND d.audit_index > ?3 \
           AND NOT (p.decision_id IS NOT NULL AND p.verdict = d.verdict AND p.version = d.version) \
         ORDER BY d.audit_index LIMIT ?4",
        &[Value::Int(since_ms), Value::Int(until_ms), Value::Int(after), Value::from(limit)],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let decision = records::decision_at(tx, row.uint(0)?)?;
        let superseded_by_whom = match row.opt_text(5)? {
            Some(id) => Some(records::decision(tx, &id)?.record.decided_by),
            None => None,
        };
        out.push(Restriction {
            decision,
            listing: row.blob(1)?,
            received_at: row.int(2)?,
            decided_at: row.int(3)?,
            review_source: row.opt_text(4)?,
            superseded_by_whom,
        });
    }
    Ok(out)
}

/// A person's decision on an automated one: the automated verdict, the
/// policy of its first match, and what the person decided.
#[derive(Clone, Debug)]
pub struct ReviewOutcome {
    pub policy: Option<String>,
    pub automated_verdict: String,
    pub outcome_verdict: String,
}

/// Review and appeal outcomes recorded in `[since_ms, until_ms)` that
/// replaced an automated decision (screening, rescan, images arrived).
pub fn review_outcomes(tx: &mut Tx<'_>, since_ms: i64, until_ms: i64) -> Result<Vec<ReviewOutcome>, StoreError> {
    tx.query(
        "SELECT (SELECT m.policy FROM decision_matches m WHERE m.decision_id = p.decision_id ORDER BY m.position LIMIT 1), \
           p.verdict, d.verdict \
         FROM decisions d JOIN decisions p ON p.decision_id = d.supersedes \
         WHERE d.origin IN ('review', 'appeal') AND p.origin IN ('screening', 'rescan', 'images_arrived') \
           AND d.decided_at >= ?1 AND d.decided_at < ?2",
        &[Value::Int(since_ms), Value::Int(until_ms)],
    )?
    .iter()
    .map(|r| Ok(ReviewOutcome { policy: r.opt_text(0)?, automated_verdict: r.text(1)?, outcome_verdict: r.text(2)? }))
    .collect()
}

/// A notice, trusted flagger's notice or authority order received in a
/// period, with its outcome if it was decided before the period ended.
#[derive(Clone, Debug)]
pub struct ReceivedNotice {
    pub notice_id: String,
    /// `notice`, `trusted_flagger` or `order`.
    pub kind: String,
    pub listing_id: String,
    /// The category the notifier gave (`STATEMENT_CATEGORY_…`).
    pub category: String,
    /// An order's territorial scope.
    pub territorial_scope: Vec<String>,
    pub received_at: i64,
    /// When it was decided, if before the end of the period.
    pub decided_at: Option<i64>,
    /// `block`, `restrict` or `allow`, if decided in the period.
    pub outcome: Option<String>,
    /// The decision the outcome recorded, if it was decided in the period.
    pub outcome_decision: Option<StoredDecision>,
}

/// Notices (Art. 16, 22) and orders (Art. 9) received in
/// `[since_ms, until_ms)`, in order of receipt; an outcome recorded at or
/// after `until_ms` counts as not decided.
pub fn notices_received(tx: &mut Tx<'_>, since_ms: i64, until_ms: i64) -> Result<Vec<ReceivedNotice>, StoreError> {
    let rows = tx.query(
        "SELECT notice_id, kind, listing_id, category, territorial_scope, received_at, decided_at, outcome, outcome_decision \
         FROM notices WHERE received_at >= ?1 AND received_at < ?2 ORDER BY received_at, notice_id",
        &[Value::Int(since_ms), Value::Int(until_ms)],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let decided_at = r.opt_int(6)?.filter(|d| *d < until_ms);
        let (outcome, outcome_decision) = match decided_at {
            Some(_) => {
                let decision = match r.opt_text(8)? {
                    Some(id) => Some(records::decision(tx, &id)?),
                    None => None,
                };
                (r.opt_text(7)?, decision)
            }
            None => (None, None),
        };
        out.push(ReceivedNotice {
            notice_id: r.text(0)?,
            kind: r.text(1)?,
            listing_id: r.text(2)?,
            category: r.text(3)?,
            territorial_scope: r
                .opt_text(4)?
                .map(|t| t.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect())
                .unwrap_or_default(),
            received_at: r.int(5)?,
            decided_at,
            outcome,
            outcome_decision,
        });
    }
    Ok(out)
}

/// A complaint (appeal, Art. 20) received in a period.
#[derive(Clone, Debug)]
pub struct ReceivedComplaint {
    /// `decision` (on a listing) or `suspension` (of the seller).
    pub subject: String,
    pub received_at: i64,
    /// When it was decided, if before the end of the period.
    pub decided_at: Option<i64>,
    /// `confirmed` or `reversed`, if decided in the period.
    pub outcome: Option<String>,
}

/// Appeals received in `[since_ms, until_ms)`.
pub fn complaints_received(
    tx: &mut Tx<'_>,
    since_ms: i64,
    until_ms: i64,
) -> Result<Vec<ReceivedComplaint>, StoreError> {
    tx.query(
        "SELECT subject, received_at, decided_at, outcome FROM appeals \
         WHERE received_at >= ?1 AND received_at < ?2 ORDER BY received_at, appeal_id",
        &[Value::Int(since_ms), Value::Int(until_ms)],
    )?
    .iter()
    .map(|r| {
        let decided_at = r.opt_int(2)?.filter(|d| *d < until_ms);
        Ok(ReceivedComplaint {
            subject: r.text(0)?,
            received_at: r.int(1)?,
            decided_at,
            outcome: if decided_at.is_some() { r.opt_text(3)? } else { None },
        })
    })
    .collect()
}

/// Suspensions of sellers (Art. 23) that began in `[since_ms, until_ms)`:
/// (seller, start in ms).
pub fn suspensions_enacted(tx: &mut Tx<'_>, since_ms: i64, until_ms: i64) -> Result<Vec<(String, i64)>, StoreError> {
    tx.query(
        "SELECT seller_id, starts_at FROM seller_measures \
         WHERE kind = 'suspension' AND starts_at >= ?1 AND starts_at < ?2 ORDER BY starts_at, measure_id",
        &[Value::Int(since_ms), Value::Int(until_ms)],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)?)))
    .collect()
}

/// The audit entries about a listing other than its decisions: its review
/// items' events (claims, proposals, outcomes), the notices and orders on
/// it, the appeals against its decisions, the strikes it caused — in log
/// order, for its evidence bundle.
pub fn listing_history(tx: &mut Tx<'_>, listing_id: &str) -> Result<Vec<u64>, StoreError> {
    tx.query(
        "SELECT e.audit_index FROM review_events e JOIN reviews r ON r.review_id = e.review_id WHERE r.listing_id = ?1 \
         UNION SELECT audit_index FROM notices WHERE listing_id = ?1 \
         UNION SELECT audit_index FROM appeals WHERE listing_id = ?1 \
         UNION SELECT audit_index FROM strikes WHERE listing_id = ?1 \
         ORDER BY 1",
        &[listing_id.into()],
    )?
    .iter()
    .map(|r| r.uint(0))
    .collect()
}

/// Whether the database has a table of this name (records other
/// workflows add in later migrations).
pub fn table_exists(tx: &mut Tx<'_>, name: &str) -> Result<bool, StoreError> {
    let sql = match tx.dialect() {
        crate::Dialect::Sqlite => "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        crate::Dialect::Postgres => "SELECT 1 FROM information_schema.tables WHERE table_name = ?1",
    };
    Ok(tx.query_opt(sql, &[name.into()])?.is_some())
}

/// Where a statement stands with one endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionStatus {
    /// Posted without a definite answer: ask the database before sending
    /// it again.
    Sending,
    /// Created by the database (201).
    Accepted,
    /// The database already had this `puid`.
    Existing,
    /// Refused (422) with reasons; sent again on a later run.
    Rejected,
}

impl SubmissionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubmissionStatus::Sending => "sending",
            SubmissionStatus::Accepted => "accepted",
            SubmissionStatus::Existing => "existing",
            SubmissionStatus::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Result<SubmissionStatus, StoreError> {
        Ok(match s {
            "sending" => SubmissionStatus::Sending,
            "accepted" => SubmissionStatus::Accepted,
            "existing" => SubmissionStatus::Existing,
            "rejected" => SubmissionStatus::Rejected,
            other => return Err(StoreError::Schema(format!("unknown submission status `{other}`"))),
        })
    }

    /// The database has the statement: it must never be sent again.
    pub fn is_final(self) -> bool {
        matches!(self, SubmissionStatus::Accepted | SubmissionStatus::Existing)
    }
}

/// One statement's record with one endpoint.
#[derive(Clone, Debug, Serialize)]
pub struct Submission {
    pub endpoint: String,
    pub puid: String,
    pub decision_id: String,
    pub status: SubmissionStatus,
    pub uuid: Option<String>,
    pub errors: Option<Json>,
    /// `sha256:` of the statement's canonical JSON as last sent.
    pub digest: String,
    pub attempts: u64,
}

/// The record of `puid` with `endpoint`, if it was ever sent there.
pub fn submission(tx: &mut Tx<'_>, endpoint: &str, puid: &str) -> Result<Option<Submission>, StoreError> {
    let row = tx.query_opt(
        "SELECT decision_id, status, uuid, errors, digest, attempts FROM dsa_submissions \
         WHERE endpoint = ?1 AND puid = ?2",
        &[endpoint.into(), puid.into()],
    )?;
    row.map(|r| {
        Ok(Submission {
            endpoint: endpoint.to_string(),
            puid: puid.to_string(),
            decision_id: r.text(0)?,
            status: SubmissionStatus::parse(&r.text(1)?)?,
            uuid: r.opt_text(2)?,
            errors: r.opt_text(3)?.and_then(|t| serde_json::from_str(&t).ok()),
            digest: r.text(4)?,
            attempts: r.uint(5)?,
        })
    })
    .transpose()
}

/// Notes that `puid` is about to be posted (before the request leaves, in
/// its own committed transaction), so that a crash before the answer is
/// recorded leaves `sending`, not nothing.
pub fn mark_sending(
    tx: &mut Tx<'_>,
    endpoint: &str,
    puid: &str,
    decision_id: &str,
    digest: &str,
) -> Result<(), StoreError> {
    let now = time::now_ms();
    tx.exec(
        "INSERT INTO dsa_submissions (endpoint, puid, decision_id, status, digest, attempts, first_sent_at, updated_at) \
         VALUES (?1, ?2, ?3, 'sending', ?4, 1, ?5, ?5) \
         ON CONFLICT (endpoint, puid) DO UPDATE SET status = 'sending', digest = excluded.digest, \
         attempts = dsa_submissions.attempts + 1, updated_at = excluded.updated_at",
        &[endpoint.into(), puid.into(), decision_id.into(), digest.into(), Value::Int(now)],
    )?;
    Ok(())
}

/// Records the database's definite answer for `puid` and appends it to
/// the audit log (a statement sent to the Commission is part of the
/// decision's legal record).
pub fn record_answer(
    tx: &mut Tx<'_>,
    endpoint: &str,
    puid: &str,
    status: SubmissionStatus,
    uuid: Option<&str>,
    errors: Option<&Json>,
) -> Result<Submission, StoreError> {
    if status == SubmissionStatus::Sending {
        return Err(StoreError::Invalid("`sending` is not an answer".into()));
    }
    let errors_text = errors.map(Json::to_string);
    let changed = tx.exec(
        "UPDATE dsa_submissions SET status = ?3, uuid = COALESCE(?4, uuid), errors = ?5, updated_at = ?6 \
         WHERE endpoint = ?1 AND puid = ?2",
        &[
            endpoint.into(),
            puid.into(),
            status.as_str().into(),
            uuid.into(),
            errors_text.into(),
            Value::Int(time::now_ms()),
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("statement {puid} was never marked as sent to {endpoint}")));
    }
    let record = submission(tx, endpoint, puid)?
        .ok_or_else(|| StoreError::NotFound(format!("statement {puid} with {endpoint}")))?;
    audit::append(
        tx,
        &[(
            EntryKind::StatementOfReasons,
            json!({
                "endpoint": endpoint,
                "puid": puid,
                "decision_id": record.decision_id,
                "status": status.as_str(),
                "uuid": record.uuid,
                "errors": errors,
                "statement_digest": record.digest,
            }),
        )],
    )?;
    Ok(record)
}

/// How many statements stand in each status with `endpoint`.
pub fn submission_counts(tx: &mut Tx<'_>, endpoint: &str) -> Result<Vec<(String, u64)>, StoreError> {
    tx.query(
        "SELECT status, COUNT(*) FROM dsa_submissions WHERE endpoint = ?1 GROUP BY status ORDER BY status",
        &[endpoint.into()],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.uint(1)?)))
    .collect()
}
