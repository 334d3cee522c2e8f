//! The queue's counts: kept in `review_counts`, adjusted in the same
//! transaction as every change of an item's status, source or policies,
//! so the console reads a few rows instead of counting the queue
//! (a `GROUP BY` over a million items took seconds).
//!
//! [`exact`] still counts the tables: the tests' oracle, and what
//! `recount` writes back if the two ever disagree.

use serde::Serialize;

use crate::backend::Value;
use crate::{time, StoreError, Tx};

/// What the queue holds, for its filters' counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueueCounts {
    pub by_status: Vec<(String, u64)>,
    /// Pending items per source.
    pub pending_by_source: Vec<(String, u64)>,
    /// Pending items per policy.
    pub pending_by_policy: Vec<(String, u64)>,
    /// Pending items someone holds now.
    pub pending_claimed: u64,
    /// Pending items awaiting a second reviewer (four-eyes) or a tiebreak.
    pub pending_second_stage: u64,
    /// Pending orders past their deadline.
    pub orders_overdue: u64,
}

const STATUS: &str = "status";
const PENDING_SOURCE: &str = "pending_source";
const PENDING_POLICY: &str = "pending_policy";

/// An item as the counts see it.
pub(super) struct Counted<'a> {
    pub status: &'a str,
    pub source: &'a str,
    pub policies: &'a [String],
}

fn bump(tx: &mut Tx<'_>, dimension: &str, key: &str, by: i64) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO review_counts (dimension, key, n) VALUES (?1, ?2, ?3) \
         ON CONFLICT (dimension, key) DO UPDATE SET n = review_counts.n + excluded.n",
        &[dimension.into(), key.into(), Value::Int(by)],
    )?;
    Ok(())
}

/// Adds (`by` = 1) or removes (`by` = -1) an item from the counts.
fn count(tx: &mut Tx<'_>, item: &Counted<'_>, by: i64) -> Result<(), StoreError> {
    bump(tx, STATUS, item.status, by)?;
    if item.status == "pending" {
        bump(tx, PENDING_SOURCE, item.source, by)?;
        for p in item.policies {
            bump(tx, PENDING_POLICY, p, by)?;
        }
    }
    Ok(())
}

/// An item was opened.
pub(super) fn opened(tx: &mut Tx<'_>, item: &Counted<'_>) -> Result<(), StoreError> {
    count(tx, item, 1)
}

/// An item changed from `before` to `after`.
pub(super) fn changed(tx: &mut Tx<'_>, before: &Counted<'_>, after: &Counted<'_>) -> Result<(), StoreError> {
    count(tx, before, -1)?;
    count(tx, after, 1)
}

fn pairs(tx: &mut Tx<'_>, sql: &str, params: &[Value]) -> Result<Vec<(String, u64)>, StoreError> {
    tx.query(sql, params)?.iter().map(|r| Ok((r.text(0)?, r.uint(1)?))).collect()
}

fn one(tx: &mut Tx<'_>, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
    tx.query_one(sql, params, "count")?.uint(0)
}

/// The counts that depend on the time or concern few items, each read
/// through an index (migration 4).
fn fill_indexed(tx: &mut Tx<'_>, c: &mut QueueCounts) -> Result<(), StoreError> {
    let now = Value::Int(time::now_ms());
    c.pending_claimed = one(
        tx,
        "SELECT COUNT(*) FROM reviews WHERE status = 'pending' AND lease_until > ?1 AND claimed_by IS NOT NULL",
        std::slice::from_ref(&now),
    )?;
    c.pending_second_stage =
        one(tx, "SELECT COUNT(*) FROM reviews WHERE status = 'pending' AND stage IN ('second', 'tiebreak')", &[])?;
    c.orders_overdue = one(
        tx,
        "SELECT COUNT(*) FROM reviews WHERE status = 'pending' AND source = 'order' AND deadline < ?1",
        std::slice::from_ref(&now),
    )?;
    Ok(())
}

/// Counts per status, from the kept counts.
pub fn by_status(tx: &mut Tx<'_>) -> Result<Vec<(String, u64)>, StoreError> {
    kept(tx, STATUS)
}

fn kept(tx: &mut Tx<'_>, dimension: &str) -> Result<Vec<(String, u64)>, StoreError> {
    pairs(tx, "SELECT key, n FROM review_counts WHERE dimension = ?1 AND n > 0 ORDER BY key", &[dimension.into()])
}

/// The queue's counts, from the kept counts: a few rows at any queue size.
pub fn queue_counts(tx: &mut Tx<'_>) -> Result<QueueCounts, StoreError> {
    let mut c = QueueCounts {
        by_status: kept(tx, STATUS)?,
        pending_by_source: kept(tx, PENDING_SOURCE)?,
        pending_by_policy: kept(tx, PENDING_POLICY)?,
        ..QueueCounts::default()
    };
    fill_indexed(tx, &mut c)?;
    Ok(c)
}

/// The queue's counts, counted from the items themselves.
pub fn exact(tx: &mut Tx<'_>) -> Result<QueueCounts, StoreError> {
    let mut c = QueueCounts {
        by_status: pairs(tx, "SELECT status, COUNT(*) FROM reviews GROUP BY status ORDER BY status", &[])?,
        pending_by_source: pairs(
            tx,
            "SELECT source, COUNT(*) FROM reviews WHERE status = 'pending' GROUP BY source ORDER BY source",
            &[],
        )?,
        pending_by_policy: pairs(
            tx,
            "SELECT policy, COUNT(*) FROM review_policies GROUP BY policy ORDER BY policy",
            &[],
        )?,
        ..QueueCounts::default()
    };
    fill_indexed(tx, &mut c)?;
    Ok(c)
}

/// Rewrites the kept counts from the items (after a repair, or to check
/// them: returns whether they differed).
pub fn recount(tx: &mut Tx<'_>) -> Result<bool, StoreError> {
    let before = queue_counts(tx)?;
    let exact = exact(tx)?;
    let dimensions = |c: &QueueCounts| (c.by_status.clone(), c.pending_by_source.clone(), c.pending_by_policy.clone());
    if dimensions(&before) == dimensions(&exact) {
        return Ok(false);
    }
    tx.exec("DELETE FROM review_counts", &[])?;
    for (dimension, rows) in [
        (STATUS, &exact.by_status),
        (PENDING_SOURCE, &exact.pending_by_source),
        (PENDING_POLICY, &exact.pending_by_policy),
    ] {
        for (key, n) in rows {
            bump(tx, dimension, key, i64::try_from(*n).unwrap_or(i64::MAX))?;
        }
    }
    Ok(true)
}
