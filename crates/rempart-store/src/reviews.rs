//! The review queue: items a person must decide, ordered by severity,
//! then priority (authority order > trusted flagger > notice > own
//! detection), then age.

use serde::{Deserialize, Serialize};

use crate::backend::Value;
use crate::records::StoredDecision;
use crate::{time, StoreError, Tx};

/// Where a review item came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The gate answered `review`.
    Detection,
    /// A near-duplicate of a removed listing.
    Relisting,
    /// A notice from anyone (DSA Art. 16).
    Notice,
    /// A notice from a trusted flagger (Art. 22).
    TrustedFlagger,
    /// An order from an authority (Art. 9).
    Order,
    /// The seller's complaint (Art. 20).
    Appeal,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Detection => "detection",
            Source::Relisting => "relisting",
            Source::Notice => "notice",
            Source::TrustedFlagger => "trusted_flagger",
            Source::Order => "order",
            Source::Appeal => "appeal",
        }
    }

    /// Queue priority: authority order > trusted flagger > other notice >
    /// own detection.
    pub fn priority(self) -> i64 {
        match self {
            Source::Order => 4,
            Source::TrustedFlagger => 3,
            Source::Notice | Source::Appeal => 2,
            Source::Relisting | Source::Detection => 1,
        }
    }
}

/// Where a new item goes in the queue.
#[derive(Clone, Debug)]
pub struct Seed {
    pub source: Source,
    /// Higher first: the severity of the strictest policy involved.
    pub severity: i64,
    /// Policies involved, for filtering.
    pub policies: Vec<String>,
}

/// One item of the queue.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    pub review_id: String,
    pub listing_id: String,
    pub version: u64,
    pub decision_id: String,
    pub status: String,
    pub source: String,
    pub severity: i64,
    pub priority: i64,
    pub policies: Vec<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
}

/// Opens a pending review of a stored decision.
pub fn open(tx: &mut Tx<'_>, decision: &StoredDecision, seed: Seed) -> Result<String, StoreError> {
    let id = uuid::Uuid::now_v7().to_string();
    tx.exec(
        "INSERT INTO reviews (review_id, listing_id, version, decision_id, status, source, severity, priority, \
         policies, created_at) VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7, ?8, ?9)",
        &[
            id.clone().into(),
            decision.record.listing_id.clone().into(),
            Value::from(decision.record.listing_version),
            decision.record.decision_id.clone().into(),
            seed.source.as_str().into(),
            Value::Int(seed.severity),
            Value::Int(seed.source.priority()),
            seed.policies.join(",").into(),
            Value::Int(time::now_ms()),
        ],
    )?;
    Ok(id)
}

/// Closes the pending reviews of a listing's older versions.
pub fn supersede_for_listing(tx: &mut Tx<'_>, listing_id: &str) -> Result<u64, StoreError> {
    tx.exec(
        "UPDATE reviews SET status = 'superseded', closed_at = ?2 WHERE listing_id = ?1 AND status = 'pending'",
        &[listing_id.into(), Value::Int(time::now_ms())],
    )
}

/// A filter on the queue.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub status: Option<String>,
    pub policy: Option<String>,
    pub source: Option<String>,
    pub listing_id: Option<String>,
    pub limit: u64,
    /// Continue after this review id (from the previous page's last item).
    pub after: Option<String>,
}

const COLUMNS: &str =
    "review_id, listing_id, version, decision_id, status, source, severity, priority, policies, created_at, closed_at";

fn item(r: &crate::Row) -> Result<Item, StoreError> {
    let policies = r.text(8)?;
    Ok(Item {
        review_id: r.text(0)?,
        listing_id: r.text(1)?,
        version: r.uint(2)?,
        decision_id: r.text(3)?,
        status: r.text(4)?,
        source: r.text(5)?,
        severity: r.int(6)?,
        priority: r.int(7)?,
        policies: policies.split(',').filter(|p| !p.is_empty()).map(String::from).collect(),
        created_at: time::rfc3339(r.int(9)?),
        closed_at: r.opt_int(10)?.map(time::rfc3339),
    })
}

/// A page of the queue in queue order (keyset pagination: stable and fast
/// at any depth).
pub fn list(tx: &mut Tx<'_>, f: &Filter) -> Result<Vec<Item>, StoreError> {
    let mut sql = format!("SELECT {COLUMNS} FROM reviews WHERE 1 = 1");
    let mut params: Vec<Value> = Vec::new();
    let mut bind = |sql: &mut String, clause: &str, v: Value| {
        params.push(v);
        sql.push_str(&clause.replace("?", &format!("?{}", params.len())));
    };
    if let Some(s) = &f.status {
        bind(&mut sql, " AND status = ?", s.clone().into());
    }
    if let Some(s) = &f.source {
        bind(&mut sql, " AND source = ?", s.clone().into());
    }
    if let Some(l) = &f.listing_id {
        bind(&mut sql, " AND listing_id = ?", l.clone().into());
    }
    if let Some(p) = &f.policy {
        // Policy ids are snake_case: no LIKE metacharacters to escape.
        bind(&mut sql, " AND (',' || policies || ',') LIKE ?", format!("%,{p},%").into());
    }
    if let Some(after) = &f.after {
        let cursor = tx.query_one(
            "SELECT severity, priority, created_at, review_id FROM reviews WHERE review_id = ?1",
            &[after.clone().into()],
            &format!("review {after}"),
        )?;
        let (sev, pri, at) = (cursor.int(0)?, cursor.int(1)?, cursor.int(2)?);
        let n = params.len();
        sql.push_str(&format!(
            " AND (severity < ?{a} OR (severity = ?{a} AND (priority < ?{b} OR (priority = ?{b} AND \
             (created_at > ?{c} OR (created_at = ?{c} AND review_id > ?{d}))))))",
            a = n + 1,
            b = n + 2,
            c = n + 3,
            d = n + 4
        ));
        params.extend([Value::Int(sev), Value::Int(pri), Value::Int(at), after.clone().into()]);
    }
    params.push(Value::from(f.limit.clamp(1, 1000)));
    sql.push_str(&format!(" ORDER BY severity DESC, priority DESC, created_at, review_id LIMIT ?{}", params.len()));
    tx.query(&sql, &params)?.iter().map(item).collect()
}

pub fn get(tx: &mut Tx<'_>, review_id: &str) -> Result<Item, StoreError> {
    let r = tx.query_one(
        &format!("SELECT {COLUMNS} FROM reviews WHERE review_id = ?1"),
        &[review_id.into()],
        &format!("review {review_id}"),
    )?;
    item(&r)
}

/// Counts per status.
pub fn counts(tx: &mut Tx<'_>) -> Result<Vec<(String, u64)>, StoreError> {
    tx.query("SELECT status, COUNT(*) FROM reviews GROUP BY status ORDER BY status", &[])?
        .iter()
        .map(|r| Ok((r.text(0)?, r.uint(1)?)))
        .collect()
}
