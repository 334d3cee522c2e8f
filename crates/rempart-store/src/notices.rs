//! Notices (DSA Art. 16), trusted-flagger notices (Art. 22) and authority
//! orders (Art. 9), the registry of trusted flaggers, and the delivery of
//! outcomes to the notifier's webhook.
//!
//! A notice on a listing joins the listing's pending review item when
//! there is one (a duplicate notice is *merged* into the first: same
//! item, same outcome, each notifier answered); otherwise it opens one.
//! A stronger source raises the item (order > trusted flagger > notice)
//! and an order's deadline becomes the item's. When the item is decided,
//! every notice on it gets the outcome, and a delivery to the configured
//! webhook is queued: the service signs it, retries it with backoff and
//! records each attempt here, so its state is visible.
//!
//! The audit log gets each notice (without the notifier's name and e-mail,
//! only their digest: personal data stays deletable) and each outcome.

use serde::Serialize;
use serde_json::json;

use crate::audit::{self, EntryKind};
use crate::backend::Value;
use crate::reviews::{self, Extra, Seed, Source};
use crate::{records, time, StoreError, Tx};

/// What kind of notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Notice,
    TrustedFlagger,
    Order,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Notice => "notice",
            Kind::TrustedFlagger => "trusted_flagger",
            Kind::Order => "order",
        }
    }

    pub fn source(self) -> Source {
        match self {
            Kind::Notice => Source::Notice,
            Kind::TrustedFlagger => Source::TrustedFlagger,
            Kind::Order => Source::Order,
        }
    }
}

/// An authority order's own fields (Art. 9(2)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Order {
    pub authority: String,
    pub reference: Option<String>,
    pub legal_basis: String,
    pub territorial_scope: Vec<String>,
    /// ms since the epoch.
    pub deadline: i64,
}

/// A notice as received (already validated by the caller).
#[derive(Clone, Debug)]
pub struct NewNotice {
    pub kind: Kind,
    pub listing_id: String,
    pub url: Option<String>,
    pub category: String,
    pub explanation: String,
    pub notifier_name: Option<String>,
    pub notifier_email: Option<String>,
    /// Concerns child sexual abuse material: the notifier may stay
    /// anonymous (Art. 16(2)(c)).
    pub csam: bool,
    pub good_faith: bool,
    pub flagger_id: Option<String>,
    pub order: Option<Order>,
    pub submitted_by: String,
    /// Where a new queue item goes (the caller reads the pack).
    pub severity: i64,
    pub policies: Vec<String>,
}

/// The acknowledgement of receipt (Art. 16(4)).
#[derive(Clone, Debug, Serialize)]
pub struct Receipt {
    /// The notice's id, to quote in any follow-up.
    pub receipt_id: String,
    pub received_at: String,
    pub kind: Kind,
    pub listing_id: String,
    /// The review item that will decide it.
    pub review_id: String,
    /// The notice this one was merged into (same listing, still open).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    pub audit_index: u64,
}

fn id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The digest that stands for the notifier in the audit log.
fn notifier_digest(name: Option<&str>, email: Option<&str>) -> Option<String> {
    if name.is_none() && email.is_none() {
        return None;
    }
    Some(rempart_audit::sha256_digest(format!("{}\n{}", name.unwrap_or(""), email.unwrap_or("")).as_bytes()))
}

/// Records a notice and puts it in the queue (see the module docs).
pub fn receive(tx: &mut Tx<'_>, n: NewNotice) -> Result<Receipt, StoreError> {
    let (version, _, decision_id) = records::current(tx, &n.listing_id)?
        .ok_or_else(|| StoreError::NotFound(format!("listing {}", n.listing_id)))?;
    let now = time::now_ms();
    let notice_id = id();
    let deadline = n.order.as_ref().map(|o| o.deadline);
    let primary = tx.query_opt(
        "SELECT notice_id, review_id FROM notices WHERE listing_id = ?1 AND status = 'open' AND merged_into IS NULL \
         ORDER BY received_at LIMIT 1",
        &[n.listing_id.clone().into()],
    )?;
    let (merged_into, review_id) = match primary {
        Some(r) => {
            let review_id = r.text(1)?;
            reviews::raise(tx, &review_id, n.kind.source(), deadline)?;
            (Some(r.text(0)?), review_id)
        }
        None => match reviews::pending_for_listing(tx, &n.listing_id)? {
            Some(item) => {
                reviews::raise(tx, &item.review_id, n.kind.source(), deadline)?;
                (None, item.review_id)
            }
            None => {
                let seed = Seed { source: n.kind.source(), severity: n.severity, policies: n.policies.clone() };
                let extra = Extra { deadline, excluded: Vec::new() };
                (None, reviews::open_item(tx, &n.listing_id, version, &decision_id, seed, extra)?)
            }
        },
    };
    let order = n.order.clone().unwrap_or_default();
    let appended = audit::append(
        tx,
        &[(
            EntryKind::Notice,
            json!({
                "action": "received", "notice_id": notice_id, "kind": n.kind.as_str(), "listing_id": n.listing_id,
                "category": n.category, "csam": n.csam, "flagger_id": n.flagger_id,
                "authority": n.order.as_ref().map(|o| &o.authority), "order_reference": order.reference,
                "deadline": deadline.map(time::rfc3339), "merged_into": merged_into, "review_id": review_id,
                "notifier_digest": notifier_digest(n.notifier_name.as_deref(), n.notifier_email.as_deref()),
                "explanation_digest": rempart_audit::sha256_digest(n.explanation.as_bytes()),
                "submitted_by": n.submitted_by,
            }),
        )],
    )?;
    reviews::link(tx, &review_id, appended[0].index)?;
    tx.exec(
        "INSERT INTO notices (notice_id, kind, listing_id, url, category, explanation, notifier_name, notifier_email, \
         csam, good_faith, flagger_id, authority, order_reference, order_legal_basis, territorial_scope, deadline, \
         submitted_by, received_at, status, merged_into, review_id, audit_index) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, 'open', ?19, ?20, ?21)",
        &[
            notice_id.clone().into(),
            n.kind.as_str().into(),
            n.listing_id.clone().into(),
            n.url.into(),
            n.category.into(),
            n.explanation.into(),
            n.notifier_name.into(),
            n.notifier_email.into(),
            Value::from(n.csam),
            Value::from(n.good_faith),
            n.flagger_id.into(),
            n.order.as_ref().map(|o| o.authority.clone()).into(),
            order.reference.into(),
            n.order.as_ref().map(|o| o.legal_basis.clone()).into(),
            n.order.as_ref().map(|o| o.territorial_scope.join(",")).into(),
            deadline.into(),
            n.submitted_by.into(),
            Value::Int(now),
            merged_into.clone().into(),
            review_id.clone().into(),
            Value::from(appended[0].index),
        ],
    )?;
    Ok(Receipt {
        receipt_id: notice_id,
        received_at: time::rfc3339(now),
        kind: n.kind,
        listing_id: n.listing_id,
        review_id,
        merged_into,
        deadline: deadline.map(time::rfc3339),
        audit_index: appended[0].index,
    })
}

/// A notice as stored, with its deliveries.
#[derive(Clone, Debug, Serialize)]
pub struct Notice {
    pub notice_id: String,
    pub kind: String,
    pub listing_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub category: String,
    pub explanation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notifier_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notifier_email: Option<String>,
    pub csam: bool,
    pub good_faith: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flagger_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderView>,
    pub submitted_by: String,
    pub received_at: String,
    /// `open` or `decided`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome_decision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    pub audit_index: u64,
    pub deliveries: Vec<Delivery>,
}

/// An order's fields as shown.
#[derive(Clone, Debug, Serialize)]
pub struct OrderView {
    pub authority: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub legal_basis: String,
    pub territorial_scope: Vec<String>,
    pub deadline: String,
}

const COLUMNS: &str = "notice_id, kind, listing_id, url, category, explanation, notifier_name, notifier_email, csam, \
     good_faith, flagger_id, authority, order_reference, order_legal_basis, territorial_scope, deadline, submitted_by, \
     received_at, status, merged_into, review_id, outcome, outcome_decision, outcome_reason, decided_at, audit_index";

fn notice(r: &crate::Row) -> Result<Notice, StoreError> {
    let order = match (r.opt_text(11)?, r.opt_int(15)?) {
        (Some(authority), Some(deadline)) => Some(OrderView {
            authority,
            reference: r.opt_text(12)?,
            legal_basis: r.opt_text(13)?.unwrap_or_default(),
            territorial_scope: r
                .opt_text(14)?
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            deadline: time::rfc3339(deadline),
        }),
        _ => None,
    };
    Ok(Notice {
        notice_id: r.text(0)?,
        kind: r.text(1)?,
        listing_id: r.text(2)?,
        url: r.opt_text(3)?,
        category: r.text(4)?,
        explanation: r.text(5)?,
        notifier_name: r.opt_text(6)?,
        notifier_email: r.opt_text(7)?,
        csam: r.int(8)? != 0,
        good_faith: r.int(9)? != 0,
        flagger_id: r.opt_text(10)?,
        order,
        submitted_by: r.text(16)?,
        received_at: time::rfc3339(r.int(17)?),
        status: r.text(18)?,
        merged_into: r.opt_text(19)?,
        review_id: r.opt_text(20)?,
        outcome: r.opt_text(21)?,
        outcome_decision: r.opt_text(22)?,
        outcome_reason: r.opt_text(23)?,
        decided_at: r.opt_int(24)?.map(time::rfc3339),
        audit_index: r.uint(25)?,
        deliveries: Vec::new(),
    })
}

pub fn get(tx: &mut Tx<'_>, notice_id: &str) -> Result<Notice, StoreError> {
    let r = tx.query_one(
        &format!("SELECT {COLUMNS} FROM notices WHERE notice_id = ?1"),
        &[notice_id.into()],
        &format!("notice {notice_id}"),
    )?;
    let mut n = notice(&r)?;
    n.deliveries = deliveries_of(tx, notice_id)?;
    Ok(n)
}

/// A filter on notices (newest first).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub kind: Option<String>,
    pub status: Option<String>,
    pub listing_id: Option<String>,
    pub review_id: Option<String>,
    /// Only those this key submitted (a regulator reads its own orders).
    pub submitted_by: Option<String>,
    pub limit: u64,
    /// Continue after this notice id.
    pub after: Option<String>,
}

pub fn list(tx: &mut Tx<'_>, f: &Filter) -> Result<Vec<Notice>, StoreError> {
    let mut sql = format!("SELECT {COLUMNS} FROM notices WHERE 1 = 1");
    let mut params: Vec<Value> = Vec::new();
    let mut bind = |sql: &mut String, clause: &str, v: Value<'static>| {
        params.push(v);
        sql.push_str(&clause.replace('?', &format!("?{}", params.len())));
    };
    for (clause, v) in [
        (" AND kind = ?", &f.kind),
        (" AND status = ?", &f.status),
        (" AND listing_id = ?", &f.listing_id),
        (" AND review_id = ?", &f.review_id),
        (" AND submitted_by = ?", &f.submitted_by),
    ] {
        if let Some(v) = v {
            bind(&mut sql, clause, v.clone().into());
        }
    }
    if let Some(after) = &f.after {
        let at = tx
            .query_one(
                "SELECT received_at FROM notices WHERE notice_id = ?1",
                &[after.clone().into()],
                &format!("notice {after}"),
            )?
            .int(0)?;
        let n = params.len();
        sql.push_str(&format!(
            " AND (received_at < ?{a} OR (received_at = ?{a} AND notice_id < ?{b}))",
            a = n + 1,
            b = n + 2
        ));
        params.extend([Value::Int(at), after.clone().into()]);
    }
    params.push(Value::from(f.limit.clamp(1, 1000)));
    sql.push_str(&format!(" ORDER BY received_at DESC, notice_id DESC LIMIT ?{}", params.len()));
    tx.query(&sql, &params)?.iter().map(notice).collect()
}

/// What the notifier is told of the outcome.
#[derive(Clone, Debug)]
pub struct Outcome<'a> {
    pub review_id: &'a str,
    pub outcome: &'a str,
    pub decision_id: Option<&'a str>,
    pub reason_code: &'a str,
    /// The webhook the outcome is delivered to, if one is configured.
    pub webhook: Option<&'a str>,
}

/// Gives every open notice on a decided item its outcome, and queues its
/// delivery. Returns the notices answered.
pub fn answer(tx: &mut Tx<'_>, o: &Outcome<'_>) -> Result<Vec<String>, StoreError> {
    let now = time::now_ms();
    let open = list(
        tx,
        &Filter {
            review_id: Some(o.review_id.to_string()),
            status: Some("open".into()),
            limit: 1000,
            ..Filter::default()
        },
    )?;
    let mut answered = Vec::new();
    for n in open {
        let appended = audit::append(
            tx,
            &[(
                EntryKind::Notice,
                json!({"action": "answered", "notice_id": n.notice_id, "review_id": o.review_id, "outcome": o.outcome,
                       "decision_id": o.decision_id, "reason": o.reason_code}),
            )],
        )?;
        reviews::link(tx, o.review_id, appended[0].index)?;
        tx.exec(
            "UPDATE notices SET status = 'decided', outcome = ?2, outcome_decision = ?3, outcome_reason = ?4, \
             decided_at = ?5 WHERE notice_id = ?1",
            &[
                n.notice_id.clone().into(),
                o.outcome.into(),
                o.decision_id.into(),
                o.reason_code.into(),
                Value::Int(now),
            ],
        )?;
        if let Some(url) = o.webhook {
            let payload = json!({
                "event": "notice.decided",
                "notice_id": n.notice_id,
                "receipt_id": n.notice_id,
                "kind": n.kind,
                "listing_id": n.listing_id,
                "outcome": o.outcome,
                "decision_id": o.decision_id,
                "reason": o.reason_code,
                "decided_at": time::rfc3339(now),
                "order_reference": n.order.as_ref().and_then(|x| x.reference.clone()),
                "flagger_id": n.flagger_id,
            });
            let body = serde_json::to_vec(&payload).map_err(|e| StoreError::Invalid(e.to_string()))?;
            tx.exec(
                "INSERT INTO deliveries (delivery_id, notice_id, url, payload, status, attempts, next_attempt_at, created_at) \
                 VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, ?5)",
                &[id().into(), n.notice_id.clone().into(), url.into(), body.into(), Value::Int(now)],
            )?;
        }
        answered.push(n.notice_id);
    }
    Ok(answered)
}

/// One webhook delivery and its attempts so far.
#[derive(Clone, Debug, Serialize)]
pub struct Delivery {
    pub delivery_id: String,
    pub notice_id: String,
    pub url: String,
    /// `pending`, `delivered`, or `failed` (no more attempts).
    pub status: String,
    pub attempts: u64,
    pub next_attempt_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<String>,
    /// The exact bytes to send (JSON).
    #[serde(skip)]
    pub payload: Vec<u8>,
}

const DELIVERY_COLUMNS: &str =
    "delivery_id, notice_id, url, status, attempts, next_attempt_at, last_status, last_error, \
     created_at, delivered_at, payload";

fn delivery(r: &crate::Row) -> Result<Delivery, StoreError> {
    let status = r.text(3)?;
    Ok(Delivery {
        delivery_id: r.text(0)?,
        notice_id: r.text(1)?,
        url: r.text(2)?,
        next_attempt_at: (status == "pending").then(|| r.int(5).map(time::rfc3339)).transpose()?,
        status,
        attempts: r.uint(4)?,
        last_status: r.opt_int(6)?,
        last_error: r.opt_text(7)?,
        created_at: time::rfc3339(r.int(8)?),
        delivered_at: r.opt_int(9)?.map(time::rfc3339),
        payload: r.blob(10)?,
    })
}

pub fn deliveries_of(tx: &mut Tx<'_>, notice_id: &str) -> Result<Vec<Delivery>, StoreError> {
    tx.query(
        &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE notice_id = ?1 ORDER BY created_at"),
        &[notice_id.into()],
    )?
    .iter()
    .map(delivery)
    .collect()
}

/// Deliveries whose next attempt is due at `now`, oldest first.
pub fn due(tx: &mut Tx<'_>, now: i64, limit: u64) -> Result<Vec<Delivery>, StoreError> {
    tx.query(
        &format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?1 \
             ORDER BY next_attempt_at, delivery_id LIMIT ?2"
        ),
        &[Value::Int(now), Value::from(limit)],
    )?
    .iter()
    .map(delivery)
    .collect()
}

/// How one attempt went.
#[derive(Clone, Debug)]
pub enum Attempt {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// It failed; retry at `retry_at` (ms), or give up when `None`.
    Failed { status: Option<u16>, error: String, retry_at: Option<i64> },
}

/// Records an attempt.
pub fn attempted(tx: &mut Tx<'_>, delivery_id: &str, attempt: &Attempt) -> Result<(), StoreError> {
    let now = time::now_ms();
    match attempt {
        Attempt::Delivered { status } => tx.exec(
            "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, last_status = ?2, last_error = NULL, \
             delivered_at = ?3 WHERE delivery_id = ?1",
            &[delivery_id.into(), Value::Int(i64::from(*status)), Value::Int(now)],
        )?,
        Attempt::Failed { status, error, retry_at } => tx.exec(
            "UPDATE deliveries SET status = ?2, attempts = attempts + 1, last_status = ?3, last_error = ?4, \
             next_attempt_at = ?5 WHERE delivery_id = ?1",
            &[
                delivery_id.into(),
                if retry_at.is_some() { "pending" } else { "failed" }.into(),
                status.map(i64::from).into(),
                error.clone().into(),
                Value::Int(retry_at.unwrap_or(now)),
            ],
        )?,
    };
    Ok(())
}

/// A trusted flagger (Art. 22).
#[derive(Clone, Debug, Serialize)]
pub struct Flagger {
    pub flagger_id: String,
    pub name: String,
    pub expertise: String,
    /// The Digital Services Coordinator that awarded the status.
    pub awarded_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    pub registered_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

const FLAGGER_COLUMNS: &str = "flagger_id, name, expertise, awarded_by, key_id, registered_at, revoked_at";

fn flagger(r: &crate::Row) -> Result<Flagger, StoreError> {
    Ok(Flagger {
        flagger_id: r.text(0)?,
        name: r.text(1)?,
        expertise: r.text(2)?,
        awarded_by: r.text(3)?,
        key_id: r.opt_text(4)?,
        registered_at: time::rfc3339(r.int(5)?),
        revoked_at: r.opt_int(6)?.map(time::rfc3339),
    })
}

/// Registers a trusted flagger (refused if the id or the key is taken).
pub fn register_flagger(tx: &mut Tx<'_>, f: &Flagger, by: &str) -> Result<Flagger, StoreError> {
    audit::append(
        tx,
        &[(
            EntryKind::Notice,
            json!({"action": "flagger_registered", "flagger_id": f.flagger_id, "name": f.name,
                   "expertise": f.expertise, "awarded_by": f.awarded_by, "key_id": f.key_id, "by": by}),
        )],
    )?;
    tx.exec(
        &format!("INSERT INTO trusted_flaggers ({FLAGGER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)"),
        &[
            f.flagger_id.clone().into(),
            f.name.clone().into(),
            f.expertise.clone().into(),
            f.awarded_by.clone().into(),
            f.key_id.clone().into(),
            Value::Int(time::now_ms()),
        ],
    )
    .map_err(|e| match e {
        StoreError::Conflict(_) => {
            StoreError::Conflict(format!("trusted flagger {} (or its key) is already registered", f.flagger_id))
        }
        other => other,
    })?;
    flagger_by_id(tx, &f.flagger_id)
}

pub fn flagger_by_id(tx: &mut Tx<'_>, flagger_id: &str) -> Result<Flagger, StoreError> {
    let r = tx.query_one(
        &format!("SELECT {FLAGGER_COLUMNS} FROM trusted_flaggers WHERE flagger_id = ?1"),
        &[flagger_id.into()],
        &format!("trusted flagger {flagger_id}"),
    )?;
    flagger(&r)
}

/// The active trusted flagger that submits with this key, if any.
pub fn flagger_by_key(tx: &mut Tx<'_>, key_id: &str) -> Result<Option<Flagger>, StoreError> {
    tx.query_opt(
        &format!("SELECT {FLAGGER_COLUMNS} FROM trusted_flaggers WHERE key_id = ?1 AND revoked_at IS NULL"),
        &[key_id.into()],
    )?
    .map(|r| flagger(&r))
    .transpose()
}

pub fn flaggers(tx: &mut Tx<'_>) -> Result<Vec<Flagger>, StoreError> {
    tx.query(&format!("SELECT {FLAGGER_COLUMNS} FROM trusted_flaggers ORDER BY registered_at, flagger_id"), &[])?
        .iter()
        .map(flagger)
        .collect()
}

/// Ends a flagger's status (the coordinator revoked or suspended it).
pub fn revoke_flagger(tx: &mut Tx<'_>, flagger_id: &str, by: &str) -> Result<Flagger, StoreError> {
    let f = flagger_by_id(tx, flagger_id)?;
    if f.revoked_at.is_some() {
        return Ok(f);
    }
    audit::append(
        tx,
        &[(EntryKind::Notice, json!({"action": "flagger_revoked", "flagger_id": flagger_id, "by": by}))],
    )?;
    tx.exec(
        "UPDATE trusted_flaggers SET revoked_at = ?2 WHERE flagger_id = ?1",
        &[flagger_id.into(), Value::Int(time::now_ms())],
    )?;
    flagger_by_id(tx, flagger_id)
}
