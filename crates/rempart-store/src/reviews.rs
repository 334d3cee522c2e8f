//! The review queue: items a person must decide, ordered by severity,
//! then priority (authority order > trusted flagger > notice > own
//! detection), then age.
//!
//! A reviewer *claims* an item before deciding it: the claim is a lease
//! that expires (15 minutes by default, from the pack's procedures) and
//! that claiming again extends. Two reviewers never hold the same item:
//! the claim is one conditional `UPDATE … WHERE the lease is free or mine`,
//! so whichever transaction comes second changes no row and is told who
//! holds the item, on SQLite and PostgreSQL alike (`tests/people.rs` races
//! claims from threads on both). Every claim, extension and release is an
//! audit entry.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{self, EntryKind};
use crate::backend::Value;
use crate::records::StoredDecision;
use crate::{time, StoreError, Tx};

mod counts;
use counts::Counted;
pub use counts::{exact as exact_counts, queue_counts, recount, QueueCounts};

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
    pub const ALL: [Source; 6] =
        [Source::Detection, Source::Relisting, Source::Notice, Source::TrustedFlagger, Source::Order, Source::Appeal];

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

    pub fn parse(s: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|x| x.as_str() == s)
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

    /// Items of these sources answer someone outside (a notifier, an
    /// authority, the seller): a new version of the listing does not make
    /// them moot.
    pub fn answers_someone(self) -> bool {
        matches!(self, Source::Notice | Source::TrustedFlagger | Source::Order | Source::Appeal)
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

/// What else a new item carries (notices, orders, appeals).
#[derive(Clone, Debug, Default)]
pub struct Extra {
    /// An order's deadline (ms).
    pub deadline: Option<i64>,
    /// Key ids that may not decide the item.
    pub excluded: Vec<String>,
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
    /// The listing's title when the item was opened (for the queue view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller_id: Option<String>,
    /// `first`, or `second` (a proposed block awaits a second reviewer),
    /// or `tiebreak` (the two disagreed).
    pub stage: String,
    /// Key ids that may not decide this item.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<String>,
    /// Who holds it, while the lease runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<String>,
    /// An authority order's deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome_decision: Option<String>,
    /// Raw times, for the logic that follows (not serialised).
    #[serde(skip)]
    pub times: ItemTimes,
}

/// An item's times in ms.
#[derive(Clone, Copy, Debug, Default)]
pub struct ItemTimes {
    pub created_at: i64,
    pub claimed_at: Option<i64>,
    pub lease_until: Option<i64>,
    pub deadline: Option<i64>,
}

impl Item {
    /// Does `reviewer` hold a running lease on it at `now`?
    pub fn held_by(&self, reviewer: &str, now: i64) -> bool {
        self.claimed_by.as_deref() == Some(reviewer) && self.times.lease_until.is_some_and(|t| t > now)
    }

    pub fn source(&self) -> Option<Source> {
        Source::parse(&self.source)
    }
}

/// Opens a pending review of a stored decision.
pub fn open(tx: &mut Tx<'_>, decision: &StoredDecision, seed: Seed) -> Result<String, StoreError> {
    open_item(
        tx,
        &decision.record.listing_id,
        decision.record.listing_version,
        &decision.record.decision_id,
        seed,
        Extra::default(),
    )
}

/// The title of a stored listing version, if it has one.
fn stored_title(tx: &mut Tx<'_>, listing_id: &str, version: u64) -> Result<Option<String>, StoreError> {
    let Some(row) = tx.query_opt(
        "SELECT body FROM listing_versions WHERE listing_id = ?1 AND version = ?2",
        &[listing_id.into(), Value::from(version)],
    )?
    else {
        return Ok(None);
    };
    #[derive(Deserialize)]
    struct Titled {
        title: Option<String>,
    }
    Ok(serde_json::from_slice::<Titled>(&row.blob(0)?).ok().and_then(|t| t.title))
}

/// Opens a pending item on `decision_id` (a decision on a listing, or a
/// suspension for an appeal against it, with an empty `listing_id`).
pub fn open_item(
    tx: &mut Tx<'_>,
    listing_id: &str,
    version: u64,
    decision_id: &str,
    seed: Seed,
    extra: Extra,
) -> Result<String, StoreError> {
    let id = uuid::Uuid::now_v7().to_string();
    let now = time::now_ms();
    let seller: Option<String> =
        match tx.query_opt("SELECT seller_id FROM listings WHERE listing_id = ?1", &[listing_id.into()])? {
            Some(r) => r.opt_text(0)?,
            None => None,
        };
    let title = stored_title(tx, listing_id, version)?;
    let mut policies = seed.policies.clone();
    policies.sort();
    policies.dedup();
    tx.exec(
        "INSERT INTO reviews (review_id, listing_id, version, decision_id, status, source, severity, priority, \
         policies, created_at, excluded, seller_id, title, deadline) \
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        &[
            id.as_str().into(),
            listing_id.into(),
            Value::from(version),
            decision_id.into(),
            seed.source.as_str().into(),
            Value::Int(seed.severity),
            Value::Int(seed.source.priority()),
            policies.join(",").into(),
            Value::Int(now),
            extra.excluded.join(",").into(),
            seller.into(),
            title.into(),
            extra.deadline.into(),
        ],
    )?;
    for p in &policies {
        tx.exec(
            "INSERT INTO review_policies (policy, review_id, severity, priority, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            &[p.as_str().into(), id.as_str().into(), Value::Int(seed.severity), Value::Int(seed.source.priority()), Value::Int(now)],
        )?;
    }
    counts::opened(tx, &Counted { status: "pending", source: seed.source.as_str(), policies: &policies })?;
    Ok(id)
}

/// Closes the pending reviews a listing's new version makes moot: those
/// of its own detection. Items that answer a notifier, an authority or
/// the seller stay open and are decided on the version in force.
pub fn supersede_for_listing(tx: &mut Tx<'_>, listing_id: &str) -> Result<u64, StoreError> {
    let moot = tx.query(
        "SELECT source, policies FROM reviews \
         WHERE listing_id = ?1 AND status = 'pending' AND source IN ('detection', 'relisting')",
        &[listing_id.into()],
    )?;
    // Most new versions have nothing pending: one indexed read, no writes.
    if moot.is_empty() {
        return Ok(0);
    }
    for row in &moot {
        let (source, policies) = (row.text(0)?, split(&row.text(1)?));
        let before = Counted { status: "pending", source: &source, policies: &policies };
        counts::changed(tx, &before, &Counted { status: "superseded", ..before })?;
    }
    tx.exec(
        "DELETE FROM review_policies WHERE review_id IN (SELECT review_id FROM reviews \
         WHERE listing_id = ?1 AND status = 'pending' AND source IN ('detection', 'relisting'))",
        &[listing_id.into()],
    )?;
    tx.exec(
        "UPDATE reviews SET status = 'superseded', closed_at = ?2, claimed_by = NULL, lease_until = NULL \
         WHERE listing_id = ?1 AND status = 'pending' AND source IN ('detection', 'relisting')",
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
    pub seller_id: Option<String>,
    /// Only items this key holds.
    pub claimed_by: Option<String>,
    pub limit: u64,
    /// Continue after this review id (from the previous page's last item).
    pub after: Option<String>,
}

const COLUMNS: &str = "r.review_id, r.listing_id, r.version, r.decision_id, r.status, r.source, r.severity, \
     r.priority, r.policies, r.created_at, r.closed_at, r.title, r.seller_id, r.stage, r.excluded, r.claimed_by, \
     r.claimed_at, r.lease_until, r.deadline, r.outcome, r.outcome_decision";

fn split(list: &str) -> Vec<String> {
    list.split(',').filter(|p| !p.is_empty()).map(String::from).collect()
}

fn item(r: &crate::Row) -> Result<Item, StoreError> {
    let now = time::now_ms();
    let lease_until = r.opt_int(17)?;
    // An expired lease holds nothing: show the item as free.
    let live = lease_until.is_some_and(|t| t > now);
    Ok(Item {
        review_id: r.text(0)?,
        listing_id: r.text(1)?,
        version: r.uint(2)?,
        decision_id: r.text(3)?,
        status: r.text(4)?,
        source: r.text(5)?,
        severity: r.int(6)?,
        priority: r.int(7)?,
        policies: split(&r.text(8)?),
        created_at: time::rfc3339(r.int(9)?),
        closed_at: r.opt_int(10)?.map(time::rfc3339),
        title: r.opt_text(11)?,
        seller_id: r.opt_text(12)?,
        stage: r.text(13)?,
        excluded: split(&r.text(14)?),
        claimed_by: if live { r.opt_text(15)? } else { None },
        lease_until: if live { lease_until.map(time::rfc3339) } else { None },
        deadline: r.opt_int(18)?.map(time::rfc3339),
        outcome: r.opt_text(19)?,
        outcome_decision: r.opt_text(20)?,
        times: ItemTimes {
            created_at: r.int(9)?,
            claimed_at: r.opt_int(16)?,
            lease_until: if live { lease_until } else { None },
            deadline: r.opt_int(18)?,
        },
    })
}

/// SQL for a filtered queue in queue order: the `FROM`/`WHERE` part and
/// its parameters. A policy filter on pending items reads
/// `review_policies` (indexed in queue order); other statuses fall back
/// to the item's policy list.
struct Query {
    sql: String,
    params: Vec<Value<'static>>,
    /// The table whose columns give the order (`p` or `r`).
    order: &'static str,
}

impl Query {
    fn bind(&mut self, clause: &str, v: Value<'static>) {
        self.params.push(v);
        self.sql.push_str(&clause.replace('?', &format!("?{}", self.params.len())));
    }

    fn new(f: &Filter) -> Query {
        let pending_policy = f.policy.is_some() && f.status.as_deref() == Some("pending");
        let mut q = if pending_policy {
            Query {
                sql: "FROM review_policies p JOIN reviews r ON r.review_id = p.review_id WHERE r.status = 'pending'"
                    .into(),
                params: Vec::new(),
                order: "p",
            }
        } else {
            Query { sql: "FROM reviews r WHERE 1 = 1".into(), params: Vec::new(), order: "r" }
        };
        if let Some(p) = &f.policy {
            if pending_policy {
                q.bind(" AND p.policy = ?", p.clone().into());
            } else {
                // Policy ids are snake_case: no LIKE metacharacters to escape.
                q.bind(" AND (',' || r.policies || ',') LIKE ?", format!("%,{p},%").into());
            }
        }
        if let Some(s) = f.status.as_ref().filter(|_| !pending_policy) {
            q.bind(" AND r.status = ?", s.clone().into());
        }
        if let Some(s) = &f.source {
            q.bind(" AND r.source = ?", s.clone().into());
        }
        if let Some(l) = &f.listing_id {
            q.bind(" AND r.listing_id = ?", l.clone().into());
        }
        if let Some(s) = &f.seller_id {
            q.bind(" AND r.seller_id = ?", s.clone().into());
        }
        if let Some(k) = &f.claimed_by {
            q.bind(" AND r.claimed_by = ?", k.clone().into());
            q.bind(" AND r.lease_until > ?", Value::Int(time::now_ms()));
        }
        q
    }

    /// Keyset continuation after the item `(severity, priority, created_at, id)`.
    fn after(&mut self, sev: i64, pri: i64, at: i64, id: &str) {
        let n = self.params.len();
        let t = self.order;
        self.sql.push_str(&format!(
            " AND ({t}.severity < ?{a} OR ({t}.severity = ?{a} AND ({t}.priority < ?{b} OR ({t}.priority = ?{b} AND \
             ({t}.created_at > ?{c} OR ({t}.created_at = ?{c} AND {t}.review_id > ?{d}))))))",
            a = n + 1,
            b = n + 2,
            c = n + 3,
            d = n + 4
        ));
        self.params.extend([Value::Int(sev), Value::Int(pri), Value::Int(at), id.to_string().into()]);
    }

    fn ordered(&mut self, limit: u64) {
        let t = self.order;
        self.params.push(Value::from(limit));
        self.sql.push_str(&format!(
            " ORDER BY {t}.severity DESC, {t}.priority DESC, {t}.created_at, {t}.review_id LIMIT ?{}",
            self.params.len()
        ));
    }
}

/// A page of the queue in queue order (keyset pagination: stable and fast
/// at any depth).
pub fn list(tx: &mut Tx<'_>, f: &Filter) -> Result<Vec<Item>, StoreError> {
    let mut q = Query::new(f);
    if let Some(after) = &f.after {
        let cursor = tx.query_one(
            "SELECT severity, priority, created_at FROM reviews WHERE review_id = ?1",
            &[after.clone().into()],
            &format!("review {after}"),
        )?;
        q.after(cursor.int(0)?, cursor.int(1)?, cursor.int(2)?, after);
    }
    q.ordered(f.limit.clamp(1, 1000));
    tx.query(&format!("SELECT {COLUMNS} {}", q.sql), &q.params)?.iter().map(item).collect()
}

pub fn get(tx: &mut Tx<'_>, review_id: &str) -> Result<Item, StoreError> {
    let r = tx.query_one(
        &format!("SELECT {COLUMNS} FROM reviews r WHERE r.review_id = ?1"),
        &[review_id.into()],
        &format!("review {review_id}"),
    )?;
    item(&r)
}

/// Counts per status.
pub fn counts(tx: &mut Tx<'_>) -> Result<Vec<(String, u64)>, StoreError> {
    counts::by_status(tx)
}

/// A reviewer's hold on an item.
#[derive(Clone, Debug, Serialize)]
pub struct Lease {
    pub review_id: String,
    pub claimed_by: String,
    pub claimed_at: String,
    pub lease_until: String,
    /// `false` for a new claim, `true` when the holder extended it.
    pub extended: bool,
    /// Its place in the audit log.
    pub audit_index: u64,
}

fn excluded_pattern(reviewer: &str) -> String {
    format!("%,{reviewer},%")
}

/// Why `reviewer` cannot claim `review_id`: the error to return.
fn refusal(tx: &mut Tx<'_>, review_id: &str, reviewer: &str, now: i64) -> StoreError {
    match get(tx, review_id) {
        Err(e) => e,
        Ok(it) if it.status != "pending" => StoreError::Conflict(format!("review {review_id} is {}", it.status)),
        Ok(it) if it.excluded.iter().any(|k| k == reviewer) => StoreError::Forbidden(format!(
            "review {review_id}: key {reviewer} decided this item or the decision under appeal; another reviewer must"
        )),
        Ok(it) => match (&it.claimed_by, it.times.lease_until) {
            (Some(holder), Some(until)) if holder != reviewer && until > now => {
                StoreError::Conflict(format!("review {review_id} is held by {holder} until {}", time::rfc3339(until)))
            }
            _ => StoreError::Conflict(format!("review {review_id} could not be claimed; try again")),
        },
    }
}

/// Claims `review_id` for `reviewer` for `lease_ms`, or extends the
/// reviewer's own claim. Refused (`Conflict`) while another reviewer's
/// lease runs, (`Forbidden`) for an excluded reviewer, (`NotFound`) for an
/// unknown id.
pub fn claim(tx: &mut Tx<'_>, review_id: &str, reviewer: &str, lease_ms: i64) -> Result<Lease, StoreError> {
    let now = time::now_ms();
    let until = now + lease_ms.max(1);
    let before =
        tx.query_opt("SELECT claimed_by, lease_until FROM reviews WHERE review_id = ?1", &[review_id.into()])?;
    let extended = before.as_ref().is_some_and(|r| {
        r.opt_text(0).ok().flatten().as_deref() == Some(reviewer)
            && r.opt_int(1).ok().flatten().is_some_and(|t| t > now)
    });
    // The one statement that makes a claim exclusive: it changes the row
    // only while the item is free, expired, or already this reviewer's.
    let changed = tx.exec(
        "UPDATE reviews SET claimed_by = ?1, lease_until = ?3, \
         claimed_at = CASE WHEN claimed_by = ?1 AND lease_until > ?2 THEN claimed_at ELSE ?2 END \
         WHERE review_id = ?4 AND status = 'pending' \
         AND (claimed_by IS NULL OR claimed_by = ?1 OR lease_until IS NULL OR lease_until <= ?2) \
         AND (',' || excluded || ',') NOT LIKE ?5",
        &[reviewer.into(), Value::Int(now), Value::Int(until), review_id.into(), excluded_pattern(reviewer).into()],
    )?;
    if changed == 0 {
        return Err(refusal(tx, review_id, reviewer, now));
    }
    let it = get(tx, review_id)?;
    let appended = event(
        tx,
        review_id,
        json!({
                "action": if extended { "extended" } else { "claimed" },
                "review_id": review_id,
                "listing_id": it.listing_id,
                "reviewer": reviewer,
                "lease_until": time::rfc3339(until),
        }),
    )?;
    Ok(Lease {
        review_id: review_id.to_string(),
        claimed_by: reviewer.to_string(),
        claimed_at: time::rfc3339(it.times.claimed_at.unwrap_or(now)),
        lease_until: time::rfc3339(until),
        extended,
        audit_index: appended,
    })
}

/// Appends a `review_action` entry about an item and remembers it as part
/// of the item's history.
pub fn event(tx: &mut Tx<'_>, review_id: &str, data: serde_json::Value) -> Result<u64, StoreError> {
    let index = audit::append(tx, &[(EntryKind::ReviewAction, data)])?[0].index;
    link(tx, review_id, index)?;
    Ok(index)
}

/// Remembers that audit entry `index` concerns the item.
pub fn link(tx: &mut Tx<'_>, review_id: &str, index: u64) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO review_events (review_id, audit_index) VALUES (?1, ?2) ON CONFLICT (review_id, audit_index) DO NOTHING",
        &[review_id.into(), Value::from(index)],
    )?;
    Ok(())
}

/// The audit entries about an item, in log order.
pub fn events(tx: &mut Tx<'_>, review_id: &str) -> Result<Vec<u64>, StoreError> {
    tx.query("SELECT audit_index FROM review_events WHERE review_id = ?1 ORDER BY audit_index", &[review_id.into()])?
        .iter()
        .map(|r| r.uint(0))
        .collect()
}

/// Claims the first item in queue order that `reviewer` may take and
/// that matches `f` (status is always `pending`); an item the reviewer
/// already holds comes first, so a console reloaded mid-item resumes it.
/// `None` when nothing is left.
pub fn claim_next(tx: &mut Tx<'_>, f: &Filter, reviewer: &str, lease_ms: i64) -> Result<Option<Lease>, StoreError> {
    let now = time::now_ms();
    let mine = Filter { claimed_by: Some(reviewer.to_string()), limit: 1, after: None, ..pending(f) };
    if let Some(held) = list(tx, &mine)?.into_iter().next() {
        return claim(tx, &held.review_id, reviewer, lease_ms).map(Some);
    }
    let mut q = Query::new(&pending(f));
    q.bind(" AND (r.claimed_by IS NULL OR r.lease_until IS NULL OR r.lease_until <= ?)", Value::Int(now));
    q.bind(" AND (',' || r.excluded || ',') NOT LIKE ?", excluded_pattern(reviewer).into());
    q.ordered(1);
    let next = tx.query(&format!("SELECT r.review_id {}", q.sql), &q.params)?;
    match next.first() {
        Some(row) => claim(tx, &row.text(0)?, reviewer, lease_ms).map(Some),
        None => Ok(None),
    }
}

fn pending(f: &Filter) -> Filter {
    Filter { status: Some("pending".into()), after: None, ..f.clone() }
}

/// Gives a held item back to the queue before its lease ends.
pub fn release(tx: &mut Tx<'_>, review_id: &str, reviewer: &str) -> Result<Item, StoreError> {
    let now = time::now_ms();
    let changed = tx.exec(
        "UPDATE reviews SET claimed_by = NULL, lease_until = NULL WHERE review_id = ?1 AND status = 'pending' \
         AND claimed_by = ?2 AND lease_until > ?3",
        &[review_id.into(), reviewer.into(), Value::Int(now)],
    )?;
    if changed == 0 {
        let it = get(tx, review_id)?;
        return Err(StoreError::Conflict(format!("review {review_id} is not held by {reviewer} ({})", it.status)));
    }
    let it = get(tx, review_id)?;
    event(
        tx,
        review_id,
        json!({"action": "released", "review_id": review_id, "listing_id": it.listing_id, "reviewer": reviewer}),
    )?;
    Ok(it)
}

/// Raises a pending item's place when a stronger source joins it (an
/// order merged into a notice's item), and keeps the earliest deadline.
pub fn raise(tx: &mut Tx<'_>, review_id: &str, source: Source, deadline: Option<i64>) -> Result<(), StoreError> {
    let it = get(tx, review_id)?;
    let raised = tx.exec(
        "UPDATE reviews SET source = ?2, priority = ?3 WHERE review_id = ?1 AND status = 'pending' AND priority < ?3",
        &[review_id.into(), source.as_str().into(), Value::Int(source.priority())],
    )?;
    if raised > 0 {
        let before = Counted { status: &it.status, source: &it.source, policies: &it.policies };
        counts::changed(tx, &before, &Counted { source: source.as_str(), ..before })?;
    }
    tx.exec(
        "UPDATE review_policies SET priority = ?2 WHERE review_id = ?1 AND priority < ?2",
        &[review_id.into(), Value::Int(source.priority())],
    )?;
    if let Some(d) = deadline {
        tx.exec(
            "UPDATE reviews SET deadline = ?2 WHERE review_id = ?1 AND (deadline IS NULL OR deadline > ?2)",
            &[review_id.into(), Value::Int(d)],
        )?;
    }
    Ok(())
}

/// Moves a four-eyes item to its next stage: the reviewer who just
/// proposed is excluded and the item goes back to the queue.
pub fn next_stage(tx: &mut Tx<'_>, review_id: &str, stage: &str, exclude: &str) -> Result<(), StoreError> {
    let it = get(tx, review_id)?;
    let mut excluded = it.excluded;
    if !excluded.iter().any(|k| k == exclude) {
        excluded.push(exclude.to_string());
    }
    tx.exec(
        "UPDATE reviews SET stage = ?2, excluded = ?3, claimed_by = NULL, lease_until = NULL WHERE review_id = ?1",
        &[review_id.into(), stage.into(), excluded.join(",").into()],
    )?;
    Ok(())
}

/// Closes an item with its outcome.
pub fn close(tx: &mut Tx<'_>, review_id: &str, outcome: &str, decision_id: Option<&str>) -> Result<(), StoreError> {
    let it = get(tx, review_id)?;
    let before = Counted { status: &it.status, source: &it.source, policies: &it.policies };
    counts::changed(tx, &before, &Counted { status: "closed", ..before })?;
    tx.exec("DELETE FROM review_policies WHERE review_id = ?1", &[review_id.into()])?;
    tx.exec(
        "UPDATE reviews SET status = 'closed', closed_at = ?2, outcome = ?3, outcome_decision = ?4, \
         claimed_by = NULL, lease_until = NULL WHERE review_id = ?1",
        &[review_id.into(), Value::Int(time::now_ms()), outcome.into(), decision_id.into()],
    )?;
    Ok(())
}

/// The pending item on a listing that a notice should join, if any:
/// anything but an appeal (the seller's complaint is its own matter).
pub fn pending_for_listing(tx: &mut Tx<'_>, listing_id: &str) -> Result<Option<Item>, StoreError> {
    tx.query_opt(
        &format!(
            "SELECT {COLUMNS} FROM reviews r WHERE r.listing_id = ?1 AND r.status = 'pending' AND r.source <> 'appeal' \
             ORDER BY r.priority DESC, r.created_at LIMIT 1"
        ),
        &[listing_id.into()],
    )?
    .map(|r| item(&r))
    .transpose()
}
