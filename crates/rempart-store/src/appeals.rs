//! Appeals (DSA Art. 20): the seller's complaint against a restrictive
//! decision on a listing, or against a suspension.
//!
//! An appeal is accepted within the pack's period (six months by default,
//! the DSA's minimum) after the decision, for the decision in force, from
//! the listing's own seller, once at a time. It goes to the review queue
//! with the people who decided excluded: a different reviewer decides it
//! (Art. 20(6)). The outcome reverses or confirms; a reversal restores the
//! listing with a new decision and removes the strike (see `outcomes`).

use serde::Serialize;
use serde_json::json;

use crate::audit::{self, EntryKind};
use crate::backend::Value;
use crate::records::{self};
use crate::reviews::{self, Extra, Seed, Source};
use crate::{sellers, time, StoreError, Tx};

/// An appeal as received (validated shape; the rules are checked here).
#[derive(Clone, Debug)]
pub struct NewAppeal {
    /// The decision (or suspension) appealed.
    pub decision_id: String,
    pub seller_id: String,
    pub explanation: String,
    pub submitted_by: String,
    /// How long after a decision an appeal is accepted.
    pub appeal_months: u32,
    /// Queue severity of the item (the caller reads the pack).
    pub severity: i64,
}

/// An appeal as stored.
#[derive(Clone, Debug, Serialize)]
pub struct Appeal {
    pub appeal_id: String,
    /// `decision` (a listing's) or `suspension`.
    pub subject: String,
    pub decision_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing_id: Option<String>,
    pub seller_id: String,
    pub explanation: String,
    pub submitted_by: String,
    pub received_at: String,
    /// `open` or `decided`.
    pub status: String,
    pub review_id: String,
    /// `reversed` or `confirmed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    /// The decision the outcome produced (a reversal on a listing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome_decision: Option<String>,
    pub audit_index: u64,
}

const COLUMNS: &str =
    "appeal_id, subject, decision_id, listing_id, seller_id, explanation, submitted_by, received_at, \
     status, review_id, outcome, decided_by, decided_at, outcome_decision, audit_index";

fn appeal(r: &crate::Row) -> Result<Appeal, StoreError> {
    Ok(Appeal {
        appeal_id: r.text(0)?,
        subject: r.text(1)?,
        decision_id: r.text(2)?,
        listing_id: r.opt_text(3)?.filter(|l| !l.is_empty()),
        seller_id: r.text(4)?,
        explanation: r.text(5)?,
        submitted_by: r.text(6)?,
        received_at: time::rfc3339(r.int(7)?),
        status: r.text(8)?,
        review_id: r.text(9)?,
        outcome: r.opt_text(10)?,
        decided_by: r.opt_text(11)?,
        decided_at: r.opt_int(12)?.map(time::rfc3339),
        outcome_decision: r.opt_text(13)?,
        audit_index: r.uint(14)?,
    })
}

/// `ms` plus `months` calendar months (the day clamped to the month's end).
pub fn add_months(ms: i64, months: u32) -> i64 {
    let Ok(t) = ::time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else { return ms };
    let total = t.year() * 12 + i32::from(u8::from(t.month())) - 1 + i32::try_from(months).unwrap_or(0);
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12));
    let Ok(month) = ::time::Month::try_from(u8::try_from(month0 + 1).unwrap_or(1)) else { return ms };
    let day = t.day().min(month.length(year));
    match ::time::Date::from_calendar_date(year, month, day) {
        Ok(date) => {
            let shifted = t.replace_date(date);
            i64::try_from(shifted.unix_timestamp_nanos() / 1_000_000).unwrap_or(ms)
        }
        Err(_) => ms,
    }
}

/// The people who decided `decision_id`: its decider and, for a
/// four-eyes outcome, the reviewer who proposed it.
fn deciders(tx: &mut Tx<'_>, decision_id: &str, decided_by: &str) -> Result<Vec<String>, StoreError> {
    let mut out: Vec<String> = Vec::new();
    if decided_by != "rempart" {
        out.push(decided_by.to_string());
    }
    for r in tx.query(
        "SELECT o.reviewer FROM review_outcomes o JOIN reviews r ON r.review_id = o.review_id \
         WHERE r.outcome_decision = ?1",
        &[decision_id.into()],
    )? {
        let k = r.text(0)?;
        if !out.contains(&k) {
            out.push(k);
        }
    }
    Ok(out)
}

/// Records an appeal and queues it (see the module docs).
pub fn receive(tx: &mut Tx<'_>, a: NewAppeal) -> Result<Appeal, StoreError> {
    let now = time::now_ms();
    let id = &a.decision_id;
    // The subject: a decision on a listing, else a suspension.
    let (subject, listing_id, version, policies, decided_ms, excluded) = match records::decision(tx, id) {
        Ok(d) => {
            let verdict = d.record.decision.verdict;
            if !matches!(verdict, rempart_core::Action::Block | rempart_core::Action::Restrict) {
                return Err(StoreError::Invalid(format!(
                    "decision {id} is `{verdict}`: it restricts nothing, there is nothing to appeal"
                )));
            }
            let (_, _, current) = records::current(tx, &d.record.listing_id)?
                .ok_or_else(|| StoreError::NotFound(format!("listing {}", d.record.listing_id)))?;
            if current != *id {
                return Err(StoreError::Conflict(format!(
                    "decision {id} is no longer in force on listing {} (decision {current} is): appeal that one",
                    d.record.listing_id
                )));
            }
            let seller: Option<String> = tx
                .query_opt(
                    "SELECT seller_id FROM listings WHERE listing_id = ?1",
                    &[d.record.listing_id.clone().into()],
                )?
                .map(|r| r.opt_text(0))
                .transpose()?
                .flatten();
            if seller.as_deref() != Some(a.seller_id.as_str()) {
                return Err(StoreError::Forbidden(format!(
                    "seller {} is not the seller of listing {}",
                    a.seller_id, d.record.listing_id
                )));
            }
            let decided = time::parse(&d.record.decided_at).map_err(StoreError::Schema)?;
            let mut policies: Vec<String> = d.record.decision.matches.iter().map(|m| m.policy.clone()).collect();
            policies.dedup();
            let excluded = deciders(tx, id, &d.record.decided_by)?;
            ("decision", d.record.listing_id.clone(), d.record.listing_version, policies, decided, excluded)
        }
        Err(StoreError::NotFound(_)) => {
            let m = sellers::measure_by_id(tx, id)
                .map_err(|_| StoreError::NotFound(format!("decision or suspension {id}")))?;
            if m.kind != "suspension" {
                return Err(StoreError::Invalid(format!(
                    "{id} is a warning: it restricts nothing, there is nothing to appeal"
                )));
            }
            if m.seller_id != a.seller_id {
                return Err(StoreError::Forbidden(format!("suspension {id} is not of seller {}", a.seller_id)));
            }
            if m.lifted_at.is_some() {
                return Err(StoreError::Conflict(format!("suspension {id} was already lifted")));
            }
            ("suspension", String::new(), 0, vec!["repeat_offenders".to_string()], m.starts_ms, Vec::new())
        }
        Err(e) => return Err(e),
    };
    let closes = add_months(decided_ms, a.appeal_months);
    // The period is half-open: at `closes` it has ended. A period of zero
    // months is over at once, however close the appeal follows the
    // decision (with `>`, one in the same millisecond was let in).
    if now >= closes {
        return Err(StoreError::Invalid(format!(
            "the appeal period of {id} ended on {} ({} months after the decision)",
            time::rfc3339(closes),
            a.appeal_months
        )));
    }
    if let Some(open) =
        tx.query_opt("SELECT appeal_id FROM appeals WHERE decision_id = ?1 AND status = 'open'", &[id.clone().into()])?
    {
        return Err(StoreError::Conflict(format!("appeal {} against {id} is already open", open.text(0)?)));
    }
    let seed = Seed { source: Source::Appeal, severity: a.severity, policies };
    let review_id = reviews::open_item(tx, &listing_id, version, id, seed, Extra { deadline: None, excluded })?;
    if listing_id.is_empty() {
        tx.exec(
            "UPDATE reviews SET seller_id = ?2 WHERE review_id = ?1",
            &[review_id.clone().into(), a.seller_id.clone().into()],
        )?;
    }
    let appeal_id = uuid::Uuid::now_v7().to_string();
    let appended = audit::append(
        tx,
        &[(
            EntryKind::Appeal,
            json!({"action": "received", "appeal_id": appeal_id, "subject": subject, "decision_id": id,
                   "listing_id": (!listing_id.is_empty()).then_some(&listing_id), "seller_id": a.seller_id,
                   "review_id": review_id, "submitted_by": a.submitted_by,
                   "explanation_digest": rempart_audit::sha256_digest(a.explanation.as_bytes())}),
        )],
    )?;
    reviews::link(tx, &review_id, appended[0].index)?;
    tx.exec(
        &format!(
            "INSERT INTO appeals ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'open', ?9, NULL, NULL, NULL, NULL, ?10)"
        ),
        &[
            appeal_id.clone().into(),
            subject.into(),
            id.clone().into(),
            Some(listing_id).filter(|l| !l.is_empty()).into(),
            a.seller_id.into(),
            a.explanation.into(),
            a.submitted_by.into(),
            Value::Int(now),
            review_id.into(),
            Value::from(appended[0].index),
        ],
    )?;
    get(tx, &appeal_id)
}

pub fn get(tx: &mut Tx<'_>, appeal_id: &str) -> Result<Appeal, StoreError> {
    let r = tx.query_one(
        &format!("SELECT {COLUMNS} FROM appeals WHERE appeal_id = ?1"),
        &[appeal_id.into()],
        &format!("appeal {appeal_id}"),
    )?;
    appeal(&r)
}

/// The appeal a queue item decides, if it is one.
pub fn for_review(tx: &mut Tx<'_>, review_id: &str) -> Result<Option<Appeal>, StoreError> {
    tx.query_opt(&format!("SELECT {COLUMNS} FROM appeals WHERE review_id = ?1"), &[review_id.into()])?
        .map(|r| appeal(&r))
        .transpose()
}

/// A filter on appeals (newest first).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub status: Option<String>,
    pub seller_id: Option<String>,
    pub limit: u64,
    pub after: Option<String>,
}

pub fn list(tx: &mut Tx<'_>, f: &Filter) -> Result<Vec<Appeal>, StoreError> {
    let mut sql = format!("SELECT {COLUMNS} FROM appeals WHERE 1 = 1");
    let mut params: Vec<Value> = Vec::new();
    for (clause, v) in [(" AND status = ?", &f.status), (" AND seller_id = ?", &f.seller_id)] {
        if let Some(v) = v {
            params.push(v.clone().into());
            sql.push_str(&clause.replace('?', &format!("?{}", params.len())));
        }
    }
    if let Some(after) = &f.after {
        let at = tx
            .query_one(
                "SELECT received_at FROM appeals WHERE appeal_id = ?1",
                &[after.clone().into()],
                &format!("appeal {after}"),
            )?
            .int(0)?;
        let n = params.len();
        sql.push_str(&format!(
            " AND (received_at < ?{a} OR (received_at = ?{a} AND appeal_id < ?{b}))",
            a = n + 1,
            b = n + 2
        ));
        params.extend([Value::Int(at), after.clone().into()]);
    }
    params.push(Value::from(f.limit.clamp(1, 1000)));
    sql.push_str(&format!(" ORDER BY received_at DESC, appeal_id DESC LIMIT ?{}", params.len()));
    tx.query(&sql, &params)?.iter().map(appeal).collect()
}

/// Records an appeal's outcome (`reversed` or `confirmed`).
pub fn decide(
    tx: &mut Tx<'_>,
    appeal_id: &str,
    outcome: &str,
    decided_by: &str,
    decision_id: Option<&str>,
) -> Result<Appeal, StoreError> {
    let a = get(tx, appeal_id)?;
    let appended = audit::append(
        tx,
        &[(
            EntryKind::Appeal,
            json!({"action": "decided", "appeal_id": appeal_id, "outcome": outcome, "decided_by": decided_by,
                   "decision_id": decision_id, "appealed": a.decision_id, "seller_id": a.seller_id}),
        )],
    )?;
    reviews::link(tx, &a.review_id, appended[0].index)?;
    tx.exec(
        "UPDATE appeals SET status = 'decided', outcome = ?2, decided_by = ?3, decided_at = ?4, outcome_decision = ?5 \
         WHERE appeal_id = ?1",
        &[appeal_id.into(), outcome.into(), decided_by.into(), Value::Int(time::now_ms()), decision_id.into()],
    )?;
    get(tx, appeal_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_calendar_months() {
        let at = |s: &str| time::parse(s).expect("date");
        assert_eq!(add_months(at("2026-01-31"), 1), at("2026-02-28"));
        assert_eq!(add_months(at("2026-08-31"), 6), at("2027-02-28"));
        assert_eq!(add_months(at("2028-08-31"), 6), at("2029-02-28"));
        assert_eq!(add_months(at("2027-08-29"), 6), at("2028-02-29"));
        assert_eq!(add_months(at("2026-12-02T10:00:00Z"), 6), at("2027-06-02T10:00:00Z"));
    }
}
