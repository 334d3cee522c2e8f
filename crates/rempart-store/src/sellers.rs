//! Repeat offenders (DSA Art. 23): strikes, warnings, suspensions.
//!
//! A strike is a block a person confirmed (a review outcome, or an appeal
//! that confirms a block); an automated block never counts, so a false
//! positive of the gate cannot suspend anyone. When the live strikes in
//! the window reach `warning_at`, the seller is warned; when they reach
//! `suspend_at` after a warning, the seller is suspended for
//! `suspension_days` (the numbers are the pack's `[procedures]`). An
//! appeal that reverses a block removes its strike, and a suspension that
//! no longer has enough strikes is lifted. Each step is an audit entry in
//! the transaction that takes it.

use rempart_core::policy::procedures::RepeatOffenders;
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, EntryKind};
use crate::backend::Value;
use crate::{time, StoreError, Tx};

const DAY_MS: i64 = 86_400_000;

/// A strike against a seller.
#[derive(Clone, Debug, Serialize)]
pub struct Strike {
    pub strike_id: String,
    pub seller_id: String,
    pub listing_id: String,
    /// The confirmed block.
    pub decision_id: String,
    pub policy: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_reason: Option<String>,
    pub audit_index: u64,
}

/// A warning or a suspension.
#[derive(Clone, Debug, Serialize)]
pub struct Measure {
    pub measure_id: String,
    pub seller_id: String,
    /// `warning` or `suspension`.
    pub kind: String,
    pub starts_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
    /// The strikes it rests on.
    pub strikes: Vec<String>,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifted_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifted_reason: Option<String>,
    /// A suspension in force now.
    pub in_force: bool,
    pub audit_index: u64,
    #[serde(skip)]
    pub starts_ms: i64,
    #[serde(skip)]
    pub ends_ms: Option<i64>,
}

const STRIKE_COLUMNS: &str =
    "strike_id, seller_id, listing_id, decision_id, policy, created_at, removed_at, removed_reason, audit_index";

fn strike(r: &crate::Row) -> Result<Strike, StoreError> {
    Ok(Strike {
        strike_id: r.text(0)?,
        seller_id: r.text(1)?,
        listing_id: r.text(2)?,
        decision_id: r.text(3)?,
        policy: r.text(4)?,
        created_at: time::rfc3339(r.int(5)?),
        removed_at: r.opt_int(6)?.map(time::rfc3339),
        removed_reason: r.opt_text(7)?,
        audit_index: r.uint(8)?,
    })
}

const MEASURE_COLUMNS: &str =
    "measure_id, seller_id, kind, starts_at, ends_at, strikes, reason, lifted_at, lifted_reason, audit_index";

fn measure(r: &crate::Row, now: i64) -> Result<Measure, StoreError> {
    let kind = r.text(2)?;
    let ends = r.opt_int(4)?;
    let lifted = r.opt_int(7)?;
    Ok(Measure {
        measure_id: r.text(0)?,
        seller_id: r.text(1)?,
        in_force: kind == "suspension" && lifted.is_none() && ends.is_some_and(|e| e > now),
        kind,
        starts_at: time::rfc3339(r.int(3)?),
        ends_at: ends.map(time::rfc3339),
        strikes: r.text(5)?.split(',').filter(|s| !s.is_empty()).map(String::from).collect(),
        reason: r.text(6)?,
        lifted_at: lifted.map(time::rfc3339),
        lifted_reason: r.opt_text(8)?,
        audit_index: r.uint(9)?,
        starts_ms: r.int(3)?,
        ends_ms: ends,
    })
}

/// Every strike of a seller, newest first.
pub fn strikes(tx: &mut Tx<'_>, seller_id: &str) -> Result<Vec<Strike>, StoreError> {
    tx.query(
        &format!("SELECT {STRIKE_COLUMNS} FROM strikes WHERE seller_id = ?1 ORDER BY created_at DESC, strike_id DESC"),
        &[seller_id.into()],
    )?
    .iter()
    .map(strike)
    .collect()
}

/// Live strikes of a seller since `since` (ms).
fn live_strikes(tx: &mut Tx<'_>, seller_id: &str, since: i64) -> Result<Vec<Strike>, StoreError> {
    tx.query(
        &format!(
            "SELECT {STRIKE_COLUMNS} FROM strikes WHERE seller_id = ?1 AND removed_at IS NULL AND created_at >= ?2 \
             ORDER BY created_at, strike_id"
        ),
        &[seller_id.into(), Value::Int(since)],
    )?
    .iter()
    .map(strike)
    .collect()
}

/// Every warning and suspension of a seller, newest first.
pub fn measures(tx: &mut Tx<'_>, seller_id: &str) -> Result<Vec<Measure>, StoreError> {
    let now = time::now_ms();
    tx.query(
        &format!(
            "SELECT {MEASURE_COLUMNS} FROM seller_measures WHERE seller_id = ?1 ORDER BY starts_at DESC, measure_id DESC"
        ),
        &[seller_id.into()],
    )?
    .iter()
    .map(|r| measure(r, now))
    .collect()
}

pub fn measure_by_id(tx: &mut Tx<'_>, measure_id: &str) -> Result<Measure, StoreError> {
    let now = time::now_ms();
    let r = tx.query_one(
        &format!("SELECT {MEASURE_COLUMNS} FROM seller_measures WHERE measure_id = ?1"),
        &[measure_id.into()],
        &format!("suspension {measure_id}"),
    )?;
    measure(&r, now)
}

/// The seller's suspension in force now, if any.
pub fn suspension_in_force(tx: &mut Tx<'_>, seller_id: &str) -> Result<Option<Measure>, StoreError> {
    let now = time::now_ms();
    tx.query_opt(
        &format!(
            "SELECT {MEASURE_COLUMNS} FROM seller_measures WHERE seller_id = ?1 AND kind = 'suspension' \
             AND lifted_at IS NULL AND ends_at > ?2 ORDER BY ends_at DESC LIMIT 1"
        ),
        &[seller_id.into(), Value::Int(now)],
    )?
    .map(|r| measure(&r, now))
    .transpose()
}

/// What adding or removing a strike led to.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Effects {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strike: Option<Strike>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<Measure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspension: Option<Measure>,
    /// A suspension lifted because its strikes fell below the threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifted: Option<Measure>,
}

/// Records a strike for a block a person confirmed, then warns or
/// suspends as `rules` say. A listing carries one live strike at most:
/// confirming the same listing's block again adds nothing.
pub fn add_strike(
    tx: &mut Tx<'_>,
    seller_id: &str,
    listing_id: &str,
    decision_id: &str,
    policy: &str,
    rules: &RepeatOffenders,
) -> Result<Effects, StoreError> {
    let existing = tx.query_opt(
        "SELECT strike_id FROM strikes WHERE seller_id = ?1 AND listing_id = ?2 AND removed_at IS NULL",
        &[seller_id.into(), listing_id.into()],
    )?;
    if existing.is_some() {
        return Ok(Effects::default());
    }
    let now = time::now_ms();
    let strike_id = uuid::Uuid::now_v7().to_string();
    let appended = audit::append(
        tx,
        &[(
            EntryKind::Suspension,
            json!({"action": "strike", "strike_id": strike_id, "seller_id": seller_id, "listing_id": listing_id,
                   "decision_id": decision_id, "policy": policy}),
        )],
    )?;
    tx.exec(
        &format!("INSERT INTO strikes ({STRIKE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL, ?7)"),
        &[
            strike_id.clone().into(),
            seller_id.into(),
            listing_id.into(),
            decision_id.into(),
            policy.into(),
            Value::Int(now),
            Value::from(appended[0].index),
        ],
    )?;
    let mut effects = escalate(tx, seller_id, rules, now)?;
    effects.strike = strikes(tx, seller_id)?.into_iter().find(|s| s.strike_id == strike_id);
    Ok(effects)
}

fn insert_measure(
    tx: &mut Tx<'_>,
    seller_id: &str,
    kind: &str,
    ends_at: Option<i64>,
    strike_ids: &[String],
    reason: &str,
) -> Result<Measure, StoreError> {
    let now = time::now_ms();
    let measure_id = uuid::Uuid::now_v7().to_string();
    let action = if kind == "suspension" { "suspended" } else { "warned" };
    let appended = audit::append(
        tx,
        &[(
            EntryKind::Suspension,
            json!({"action": action, "measure_id": measure_id, "seller_id": seller_id,
                   "ends_at": ends_at.map(time::rfc3339), "strikes": strike_ids, "reason": reason}),
        )],
    )?;
    tx.exec(
        &format!("INSERT INTO seller_measures ({MEASURE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, NULL, ?8)"),
        &[
            measure_id.clone().into(),
            seller_id.into(),
            kind.into(),
            Value::Int(now),
            ends_at.into(),
            strike_ids.join(",").into(),
            reason.into(),
            Value::from(appended[0].index),
        ],
    )?;
    measure_by_id(tx, &measure_id)
}

/// Warns or suspends a seller whose live strikes in the window call for it.
fn escalate(tx: &mut Tx<'_>, seller_id: &str, rules: &RepeatOffenders, now: i64) -> Result<Effects, StoreError> {
    let since = now - i64::from(rules.window_days) * DAY_MS;
    let live = live_strikes(tx, seller_id, since)?;
    let n = live.len() as u64;
    let ids: Vec<String> = live.iter().map(|s| s.strike_id.clone()).collect();
    let mut effects = Effects::default();
    if suspension_in_force(tx, seller_id)?.is_some() {
        return Ok(effects);
    }
    let warned = tx
        .query_opt(
            "SELECT measure_id FROM seller_measures WHERE seller_id = ?1 AND kind = 'warning' AND starts_at >= ?2 LIMIT 1",
            &[seller_id.into(), Value::Int(since)],
        )?
        .is_some();
    if warned && n >= u64::from(rules.suspend_at) {
        let until = now + i64::from(rules.suspension_days) * DAY_MS;
        let reason = format!(
            "{n} blocks confirmed by a person within {} days, after a warning (DSA Art. 23(1))",
            rules.window_days
        );
        effects.suspension = Some(insert_measure(tx, seller_id, "suspension", Some(until), &ids, &reason)?);
    } else if !warned && n >= u64::from(rules.warning_at) {
        let reason = format!(
            "{n} blocks confirmed by a person within {} days; at {} the seller is suspended for {} days (DSA Art. 23(1))",
            rules.window_days, rules.suspend_at, rules.suspension_days
        );
        effects.warning = Some(insert_measure(tx, seller_id, "warning", None, &ids, &reason)?);
    }
    Ok(effects)
}

/// Removes the live strike of a listing (its block was reversed on
/// appeal) and lifts a suspension left without enough strikes.
pub fn remove_strike(
    tx: &mut Tx<'_>,
    seller_id: &str,
    listing_id: &str,
    reason: &str,
    rules: &RepeatOffenders,
) -> Result<Effects, StoreError> {
    let Some(row) = tx.query_opt(
        &format!(
            "SELECT {STRIKE_COLUMNS} FROM strikes WHERE seller_id = ?1 AND listing_id = ?2 AND removed_at IS NULL"
        ),
        &[seller_id.into(), listing_id.into()],
    )?
    else {
        return Ok(Effects::default());
    };
    let removed = strike(&row)?;
    let now = time::now_ms();
    audit::append(
        tx,
        &[(
            EntryKind::Suspension,
            json!({"action": "strike_removed", "strike_id": removed.strike_id, "seller_id": seller_id,
                   "listing_id": listing_id, "reason": reason}),
        )],
    )?;
    tx.exec(
        "UPDATE strikes SET removed_at = ?2, removed_reason = ?3 WHERE strike_id = ?1",
        &[removed.strike_id.clone().into(), Value::Int(now), reason.into()],
    )?;
    let mut effects = Effects::default();
    if let Some(s) = suspension_in_force(tx, seller_id)? {
        let since = now - i64::from(rules.window_days) * DAY_MS;
        let left = live_strikes(tx, seller_id, since)?.len() as u64;
        if left < u64::from(rules.suspend_at) {
            let why = format!("a strike it rested on was removed on appeal; {left} strike(s) remain in the window");
            effects.lifted = Some(lift(tx, &s.measure_id, &why, "rempart")?);
        }
    }
    effects.strike = strikes(tx, seller_id)?.into_iter().find(|s| s.strike_id == removed.strike_id);
    Ok(effects)
}

/// Lifts a suspension before its end (an appeal, or its strikes removed).
pub fn lift(tx: &mut Tx<'_>, measure_id: &str, reason: &str, by: &str) -> Result<Measure, StoreError> {
    let m = measure_by_id(tx, measure_id)?;
    if m.kind != "suspension" || m.lifted_at.is_some() {
        return Ok(m);
    }
    audit::append(
        tx,
        &[(
            EntryKind::Suspension,
            json!({"action": "lifted", "measure_id": measure_id, "seller_id": m.seller_id, "reason": reason, "by": by}),
        )],
    )?;
    tx.exec(
        "UPDATE seller_measures SET lifted_at = ?2, lifted_reason = ?3 WHERE measure_id = ?1",
        &[measure_id.into(), Value::Int(time::now_ms()), reason.into()],
    )?;
    measure_by_id(tx, measure_id)
}

/// A seller's standing as screening needs it: the suspension in force and
/// the live strikes in the window.
#[derive(Clone, Debug, Default)]
pub struct Standing {
    pub suspension: Option<Measure>,
    pub strikes_in_window: u64,
    pub trader: Option<crate::traders::Status>,
}

/// The standing of each of `seller_ids` that has any (others are absent).
pub fn standings(
    tx: &mut Tx<'_>,
    seller_ids: &[String],
    window_days: u32,
) -> Result<std::collections::HashMap<String, Standing>, StoreError> {
    let now = time::now_ms();
    let since = now - i64::from(window_days) * DAY_MS;
    let mut out: std::collections::HashMap<String, Standing> = std::collections::HashMap::new();
    for chunk in seller_ids.chunks(200) {
        // ?1 is the time bound, ?2… the seller ids.
        let list: Vec<String> = (0..chunk.len()).map(|i| format!("?{}", i + 2)).collect();
        let list = list.join(", ");
        let with = |bound: i64| -> Vec<Value> {
            std::iter::once(Value::Int(bound)).chain(chunk.iter().map(|s| Value::from(s.as_str()))).collect()
        };
        for r in tx.query(
            &format!(
                "SELECT {MEASURE_COLUMNS} FROM seller_measures WHERE seller_id IN ({list}) AND kind = 'suspension' \
                 AND lifted_at IS NULL AND ends_at > ?1"
            ),
            &with(now),
        )? {
            let m = measure(&r, now)?;
            let seller = m.seller_id.clone();
            out.entry(seller).or_default().suspension = Some(m);
        }
        for r in tx.query(
            &format!(
                "SELECT seller_id, COUNT(*) FROM strikes WHERE seller_id IN ({list}) AND removed_at IS NULL \
                 AND created_at >= ?1 GROUP BY seller_id"
            ),
            &with(since),
        )? {
            out.entry(r.text(0)?).or_default().strikes_in_window = r.uint(1)?;
        }
        for (seller, status) in crate::traders::statuses(tx, chunk)? {
            out.entry(seller).or_default().trader = Some(status);
        }
    }
    Ok(out)
}
