//! A person's outcome on a review item, and what follows from it, in one
//! transaction:
//!
//! - **four-eyes**: a block the pack marks as needing a second reviewer is
//!   a *proposal* until another reviewer agrees; if the second disagrees,
//!   a third (neither of them) breaks the tie;
//! - the outcome becomes the listing's **new decision** (origin `review`,
//!   or `appeal`), superseding the one in force, decided by the reviewer's
//!   key, with the reason code from the pack, the reviewer's note, the
//!   rule and legal basis, and the evidence the gate had found;
//! - every **notice** on the item is answered and its webhook delivery
//!   queued; an **appeal** is reversed or confirmed;
//! - a block adds a **strike** (and may warn or suspend the seller); a
//!   reversed block removes it; a reversed suspension is lifted;
//! - the outcome is counted for the **accuracy indicators** (overturn rate
//!   per policy) and **throughput** per reviewer.
//!
//! The store does not choose: the caller resolves the pack (the reason,
//! its ground, whether four-eyes applies) and passes it in.

use std::collections::BTreeMap;

use rempart_core::policy::procedures::RepeatOffenders;
use rempart_core::{Action, Condition, Decision, RuleMatch};
use serde::Serialize;
use serde_json::json;

use crate::appeals::{self, Appeal};
use crate::backend::Value;
use crate::records::{self, DecisionRecord, Origin, StoredDecision};
use crate::reviews::{self, Item};
use crate::sellers::{self, Effects};
use crate::{notices, time, StoreError, Tx};

/// A reviewer's outcome, with what the pack says about it.
#[derive(Clone, Debug)]
pub struct Input {
    pub review_id: String,
    /// The reviewer's key id.
    pub reviewer: String,
    /// `allow`, `restrict` or `block`.
    pub outcome: Action,
    /// With `restrict`: the condition of publication.
    pub condition: Option<Condition>,
    /// A reason code of the pack.
    pub reason_code: String,
    /// The pack's text of the reason (English), kept with the decision.
    pub reason_label: String,
    /// The reviewer's own words.
    pub note: Option<String>,
    /// For `block`/`restrict`: the rule the outcome applies (policy, legal
    /// basis, scope, DSA ground); its evidence is filled in from the
    /// automated decision.
    pub ground: Option<RuleMatch>,
    /// A block here needs a second reviewer (the ground's policy says so).
    pub four_eyes: bool,
    /// The pack version that offered the reason.
    pub pack_version: String,
    pub repeat_offenders: RepeatOffenders,
    /// Where notice outcomes are delivered, if anywhere.
    pub webhook: Option<String>,
}

/// What happened.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Decided {
    /// A four-eyes block awaits a second reviewer.
    AwaitingSecondReviewer { review: Item, audit_index: u64 },
    /// The second reviewer disagreed: a third breaks the tie.
    AwaitingTiebreak { review: Item, audit_index: u64 },
    /// Decided.
    Final(Box<Final>),
}

/// The outcome and its consequences.
#[derive(Clone, Debug, Serialize)]
pub struct Final {
    pub review: Item,
    /// The new decision on the listing (absent for a suspension appeal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<StoredDecision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appeal: Option<Appeal>,
    /// Notices answered.
    pub notices: Vec<String>,
    /// Strikes, warnings, suspensions or lifts that followed.
    pub seller: Effects,
    /// The `review_action` entry of the outcome.
    pub audit_index: u64,
}

fn refuse_unless_held(it: &Item, reviewer: &str, now: i64) -> Result<(), StoreError> {
    if it.status != "pending" {
        return Err(StoreError::Conflict(format!("review {} is {}", it.review_id, it.status)));
    }
    if it.excluded.iter().any(|k| k == reviewer) {
        return Err(StoreError::Forbidden(format!(
            "review {}: key {reviewer} decided this item or the decision under appeal; another reviewer must",
            it.review_id
        )));
    }
    if !it.held_by(reviewer, now) {
        return Err(match &it.claimed_by {
            Some(holder) => StoreError::Conflict(format!("review {} is held by {holder}", it.review_id)),
            None => StoreError::Conflict(format!(
                "claim review {} first (POST /v1/reviews/{}/claim): decisions are taken under a lease",
                it.review_id, it.review_id
            )),
        });
    }
    Ok(())
}

/// Records an outcome row; returns its id.
#[allow(clippy::too_many_arguments)]
fn record_outcome(
    tx: &mut Tx<'_>,
    it: &Item,
    input: &Input,
    automated: &str,
    is_final: bool,
    overturned: bool,
    decision_id: Option<&str>,
    audit_index: u64,
) -> Result<(), StoreError> {
    let outcome_id = uuid::Uuid::now_v7().to_string();
    let now = time::now_ms();
    tx.exec(
        "INSERT INTO review_outcomes (outcome_id, review_id, reviewer, stage, outcome, restrict_condition, reason_code, \
         source, automated_verdict, is_final, overturned, decision_id, claimed_at, decided_at, audit_index) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        &[
            outcome_id.clone().into(),
            it.review_id.clone().into(),
            input.reviewer.clone().into(),
            it.stage.clone().into(),
            input.outcome.as_str().into(),
            input.condition.map(condition_str).into(),
            input.reason_code.clone().into(),
            it.source.clone().into(),
            automated.into(),
            Value::from(is_final),
            Value::from(overturned),
            decision_id.into(),
            it.times.claimed_at.into(),
            Value::Int(now),
            Value::from(audit_index),
        ],
    )?;
    if is_final {
        for p in &it.policies {
            tx.exec(
                "INSERT INTO outcome_policies (policy, outcome_id, decided_at) VALUES (?1, ?2, ?3)",
                &[p.clone().into(), outcome_id.clone().into(), Value::Int(now)],
            )?;
        }
    }
    Ok(())
}

fn condition_str(c: Condition) -> &'static str {
    match c {
        Condition::AdultsOnly => "adults_only",
        Condition::DocumentsRequired => "documents_required",
        Condition::LicenceRequired => "licence_required",
        Condition::InformationRequired => "information_required",
    }
}

/// The reviewers of an item so far (four-eyes proposals), in order.
fn reviewers(tx: &mut Tx<'_>, review_id: &str) -> Result<Vec<String>, StoreError> {
    tx.query(
        "SELECT reviewer FROM review_outcomes WHERE review_id = ?1 ORDER BY decided_at, outcome_id",
        &[review_id.into()],
    )?
    .iter()
    .map(|r| r.text(0))
    .collect()
}

/// Applies a reviewer's outcome (see the module docs).
pub fn decide(tx: &mut Tx<'_>, input: Input) -> Result<Decided, StoreError> {
    let now = time::now_ms();
    let it = reviews::get(tx, &input.review_id)?;
    refuse_unless_held(&it, &input.reviewer, now)?;
    match (input.outcome, input.condition) {
        (Action::Review, _) => {
            return Err(StoreError::Invalid("`review` is not an outcome: decide allow, restrict or block".into()))
        }
        (Action::Restrict, None) => {
            return Err(StoreError::Invalid("a restrict outcome needs its condition of publication".into()))
        }
        (Action::Block | Action::Restrict, _) if input.ground.is_none() => {
            return Err(StoreError::Invalid(format!("a {} outcome needs the rule it applies", input.outcome)))
        }
        _ => {}
    }
    let appeal = appeals::for_review(tx, &it.review_id)?;
    let on_listing = !it.listing_id.is_empty();
    let under_review = if on_listing { Some(records::decision(tx, &it.decision_id)?) } else { None };
    let automated = under_review.as_ref().map_or(Action::Block, |d| d.record.decision.verdict);
    let base = json!({
        "review_id": it.review_id, "listing_id": it.listing_id, "reviewer": input.reviewer,
        "outcome": input.outcome.as_str(), "condition": input.condition.map(condition_str),
        "reason": input.reason_code, "note": input.note, "stage": it.stage,
        "policy": input.ground.as_ref().map(|g| &g.policy), "pack_version": input.pack_version,
    });
    let with = |action: &str, extra: serde_json::Value| {
        let mut v = base.clone();
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.insert("action".into(), action.into());
            o.extend(e.clone());
        }
        v
    };

    // Four-eyes: a first block is a proposal; a second that disagrees
    // calls a third.
    let block = input.outcome == Action::Block;
    if it.stage == "first" && block && input.four_eyes {
        let index = reviews::event(tx, &it.review_id, with("proposed", json!({"awaits": "second_reviewer"})))?;
        record_outcome(tx, &it, &input, automated.as_str(), false, false, None, index)?;
        reviews::next_stage(tx, &it.review_id, "second", &input.reviewer)?;
        return Ok(Decided::AwaitingSecondReviewer { review: reviews::get(tx, &it.review_id)?, audit_index: index });
    }
    if it.stage == "second" && !block {
        let index = reviews::event(tx, &it.review_id, with("disagreed", json!({"awaits": "tiebreak"})))?;
        record_outcome(tx, &it, &input, automated.as_str(), false, false, None, index)?;
        reviews::next_stage(tx, &it.review_id, "tiebreak", &input.reviewer)?;
        return Ok(Decided::AwaitingTiebreak { review: reviews::get(tx, &it.review_id)?, audit_index: index });
    }

    let mut chain = reviewers(tx, &it.review_id)?;
    chain.push(input.reviewer.clone());
    let notices_on_item: Vec<String> = notices::list(
        tx,
        &notices::Filter { review_id: Some(it.review_id.clone()), limit: 1000, ..notices::Filter::default() },
    )?
    .into_iter()
    .map(|n| n.notice_id)
    .collect();

    // The new decision on the listing.
    let decision = match &under_review {
        Some(reviewed) => {
            let (version, digest, current) = records::current(tx, &it.listing_id)?
                .ok_or_else(|| StoreError::NotFound(format!("listing {}", it.listing_id)))?;
            let received = tx
                .query_one(
                    "SELECT received_at FROM listing_versions WHERE listing_id = ?1 AND version = ?2",
                    &[it.listing_id.clone().into(), Value::from(version)],
                    "listing version",
                )?
                .int(0)?;
            let matches = match &input.ground {
                Some(g) if input.outcome != Action::Allow => {
                    let mut m = g.clone();
                    m.action = input.outcome;
                    m.condition = input.condition.filter(|_| input.outcome == Action::Restrict);
                    m.evidence = reviewed
                        .record
                        .decision
                        .matches
                        .iter()
                        .filter(|x| x.policy == g.policy)
                        .flat_map(|x| x.evidence.clone())
                        .collect();
                    m.evidence_omitted = reviewed
                        .record
                        .decision
                        .matches
                        .iter()
                        .filter(|x| x.policy == g.policy)
                        .map(|x| x.evidence_omitted)
                        .sum();
                    vec![m]
                }
                _ => Vec::new(),
            };
            let record = DecisionRecord {
                decision_id: String::new(),
                listing_id: it.listing_id.clone(),
                listing_version: version,
                listing_digest: digest,
                received_at: time::rfc3339(received),
                decided_at: String::new(),
                origin: if appeal.is_some() { Origin::Appeal } else { Origin::Review },
                decided_by: input.reviewer.clone(),
                supersedes: Some(current),
                reason: Some(json!({
                    "code": input.reason_code, "text": input.reason_label, "note": input.note,
                    "review_id": it.review_id, "source": it.source, "reviewers": chain,
                    "reviewed_decision": it.decision_id, "notices": notices_on_item,
                    "appeal_id": appeal.as_ref().map(|a| &a.appeal_id),
                })),
                decision: Decision {
                    id: it.listing_id.clone(),
                    verdict: input.outcome,
                    matches,
                    policy_version: input.pack_version.clone(),
                    engine_version: rempart_core::ENGINE_VERSION.to_string(),
                    schema_version: rempart_core::DECISION_SCHEMA_VERSION,
                    signal_errors: Vec::new(),
                },
            };
            let stored = records::insert_decision(tx, record, it.seller_id.as_deref())?;
            reviews::link(tx, &it.review_id, stored.audit_index)?;
            Some(stored)
        }
        None => None,
    };
    let decision_id = decision.as_ref().map(|d| d.record.decision_id.clone());
    reviews::close(tx, &it.review_id, input.outcome.as_str(), decision_id.as_deref())?;
    let overturned = match &appeal {
        Some(_) => input.outcome != automated,
        None if automated == Action::Review => input.outcome == Action::Allow,
        None => input.outcome != automated,
    };
    let index = reviews::event(
        tx,
        &it.review_id,
        with("decided", json!({"decision_id": decision_id, "reviewers": chain, "overturned": overturned})),
    )?;
    record_outcome(tx, &it, &input, automated.as_str(), true, overturned, decision_id.as_deref(), index)?;

    let answered = notices::answer(
        tx,
        &notices::Outcome {
            review_id: &it.review_id,
            outcome: input.outcome.as_str(),
            decision_id: decision_id.as_deref(),
            reason_code: &input.reason_code,
            webhook: input.webhook.as_deref(),
        },
    )?;

    let mut effects = Effects::default();
    let seller = it.seller_id.clone();
    let policy = input.ground.as_ref().map_or_else(String::new, |g| g.policy.clone());
    // A block a person confirmed: a strike against the listing's seller.
    let strike = |tx: &mut Tx<'_>, seller: &str| {
        sellers::add_strike(
            tx,
            seller,
            &it.listing_id,
            decision_id.as_deref().unwrap_or_default(),
            &policy,
            &input.repeat_offenders,
        )
    };
    let appeal = match appeal {
        Some(a) => {
            let reversed = overturned;
            let verdict = if reversed { "reversed" } else { "confirmed" };
            if a.subject == "suspension" {
                if reversed {
                    let why = format!("appeal {} reversed it ({})", a.appeal_id, input.reason_code);
                    effects.lifted = Some(sellers::lift(tx, &a.decision_id, &why, &input.reviewer)?);
                }
            } else if let Some(seller) = &seller {
                if reversed && automated == Action::Block {
                    let why = format!("appeal {} reversed the block", a.appeal_id);
                    effects = sellers::remove_strike(tx, seller, &it.listing_id, &why, &input.repeat_offenders)?;
                } else if block {
                    effects = strike(tx, seller)?;
                }
            }
            Some(appeals::decide(tx, &a.appeal_id, verdict, &input.reviewer, decision_id.as_deref())?)
        }
        None => {
            if let (true, Some(seller), true) = (block, &seller, on_listing) {
                effects = strike(tx, seller)?;
            }
            None
        }
    };
    Ok(Decided::Final(Box::new(Final {
        review: reviews::get(tx, &it.review_id)?,
        decision,
        appeal,
        notices: answered,
        seller: effects,
        audit_index: index,
    })))
}

/// The accuracy and throughput figures since a time.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    pub since: String,
    /// Per policy: final outcomes and how often they departed from the
    /// automated verdict (DSA Art. 15(1)(e) accuracy indicators).
    pub policies: Vec<PolicyStats>,
    /// Per reviewer: outcomes given and time from claim to outcome.
    pub reviewers: Vec<ReviewerStats>,
    pub appeals: AppealStats,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct PolicyStats {
    pub policy: String,
    pub decided: u64,
    pub blocked: u64,
    pub restricted: u64,
    pub allowed: u64,
    pub overturned: u64,
    pub overturn_rate: f64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ReviewerStats {
    pub reviewer: String,
    /// Outcomes given, four-eyes proposals included.
    pub outcomes: u64,
    /// Items this reviewer closed.
    pub closed: u64,
    /// Median seconds from claim to outcome.
    pub median_seconds: f64,
    pub per_hour_active: f64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct AppealStats {
    pub decided: u64,
    pub reversed: u64,
    pub confirmed: u64,
    pub reversal_rate: f64,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        #[allow(clippy::cast_precision_loss)]
        let r = a as f64 / b as f64;
        (r * 10_000.0).round() / 10_000.0
    }
}

pub fn stats(tx: &mut Tx<'_>, since: i64) -> Result<Stats, StoreError> {
    let mut policies = Vec::new();
    for r in tx.query(
        "SELECT p.policy, COUNT(*), \
         SUM(CASE WHEN o.outcome = 'block' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN o.outcome = 'restrict' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN o.outcome = 'allow' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN o.overturned = 1 THEN 1 ELSE 0 END) \
         FROM outcome_policies p JOIN review_outcomes o ON o.outcome_id = p.outcome_id \
         WHERE p.decided_at >= ?1 GROUP BY p.policy ORDER BY p.policy",
        &[Value::Int(since)],
    )? {
        let decided = r.uint(1)?;
        let overturned = r.uint(5)?;
        policies.push(PolicyStats {
            policy: r.text(0)?,
            decided,
            blocked: r.uint(2)?,
            restricted: r.uint(3)?,
            allowed: r.uint(4)?,
            overturned,
            overturn_rate: ratio(overturned, decided),
        });
    }
    let mut per: BTreeMap<String, (u64, u64, Vec<i64>, i64, i64)> = BTreeMap::new();
    for r in tx.query(
        "SELECT reviewer, is_final, claimed_at, decided_at FROM review_outcomes WHERE decided_at >= ?1",
        &[Value::Int(since)],
    )? {
        let e = per.entry(r.text(0)?).or_insert((0, 0, Vec::new(), i64::MAX, i64::MIN));
        e.0 += 1;
        e.1 += u64::from(r.int(1)? != 0);
        let decided = r.int(3)?;
        if let Some(claimed) = r.opt_int(2)? {
            e.2.push(decided - claimed);
            e.3 = e.3.min(claimed);
        }
        e.4 = e.4.max(decided);
    }
    let reviewers = per
        .into_iter()
        .map(|(reviewer, (outcomes, closed, mut spans, first, last))| {
            spans.sort_unstable();
            #[allow(clippy::cast_precision_loss)]
            let median = spans.get(spans.len() / 2).map_or(0.0, |ms| *ms as f64 / 1000.0);
            #[allow(clippy::cast_precision_loss)]
            let hours = if last > first { (last - first) as f64 / 3_600_000.0 } else { 0.0 };
            #[allow(clippy::cast_precision_loss)]
            let per_hour = if hours > 0.0 { (outcomes as f64 / hours * 10.0).round() / 10.0 } else { 0.0 };
            ReviewerStats { reviewer, outcomes, closed, median_seconds: median, per_hour_active: per_hour }
        })
        .collect();
    let a = tx.query_one(
        "SELECT COUNT(*), SUM(CASE WHEN outcome = 'reversed' THEN 1 ELSE 0 END) FROM appeals \
         WHERE status = 'decided' AND decided_at >= ?1",
        &[Value::Int(since)],
        "appeals",
    )?;
    let decided = a.uint(0)?;
    let reversed = a.opt_int(1)?.map_or(0, |v| u64::try_from(v).unwrap_or(0));
    Ok(Stats {
        since: time::rfc3339(since),
        policies,
        reviewers,
        appeals: AppealStats {
            decided,
            reversed,
            confirmed: decided - reversed.min(decided),
            reversal_rate: ratio(reversed, decided),
        },
    })
}
