//! The review queue: list and count it, open an item with everything a
//! reviewer needs, claim it (a lease), decide it, and the accuracy and
//! throughput figures. The console uses exactly these routes.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rempart_core::policy::procedures::Reason;
use rempart_core::{Action, Condition, Gate, Listing, RuleMatch};
use rempart_store::keys::Role;
use rempart_store::outcomes::{self, Decided, Stats};
use rempart_store::records::{self, StoredDecision};
use rempart_store::reviews::{self, Filter, Item, Lease, QueueCounts};
use rempart_store::{appeals, audit, notices, removed, sellers, time, traders, StoreError};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::evidence;
use crate::state::App;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ReviewQuery {
    /// `pending` (default), `closed`, `superseded`, or `all`.
    pub status: Option<String>,
    /// Only items involving this policy.
    pub policy: Option<String>,
    /// `detection`, `relisting`, `notice`, `trusted_flagger`, `order`, `appeal`.
    pub source: Option<String>,
    pub listing_id: Option<String>,
    pub seller_id: Option<String>,
    /// `true`: only the items the caller holds now.
    pub mine: Option<bool>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<u64>,
    /// Continue after this review id.
    pub after: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReviewPage {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Item>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

const STATUSES: [&str; 4] = ["pending", "closed", "superseded", "all"];
const SOURCES: [&str; 6] = ["detection", "relisting", "notice", "trusted_flagger", "order", "appeal"];

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && !s.chars().any(char::is_control)
}

fn check_policy(p: Option<&str>, field: &str) -> ApiResult<()> {
    match p {
        Some(p) if !(is_id(p) && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')) => {
            Err(ApiError::bad_request(Some(field.into()), format!("`{p}` is not a policy id")))
        }
        _ => Ok(()),
    }
}

fn check_source(s: Option<&str>) -> ApiResult<()> {
    match s {
        Some(s) if !SOURCES.contains(&s) => {
            Err(ApiError::bad_request(Some("source".into()), format!("`{s}`: expected one of {SOURCES:?}")))
        }
        _ => Ok(()),
    }
}

/// The review queue, most severe first, then by priority and age.
#[utoipa::path(
    get, path = "/v1/reviews", tag = "reviews", params(ReviewQuery),
    responses(
        (status = 200, description = "A page of the queue", body = ReviewPage),
        (status = 400, description = "Invalid filter", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list(State(app): State<App>, caller: Caller, Query(q): Query<ReviewQuery>) -> ApiResult<Json<ReviewPage>> {
    caller.require(&[Role::Reviewer, Role::Auditor])?;
    let status = q.status.unwrap_or_else(|| "pending".into());
    if !STATUSES.contains(&status.as_str()) {
        return Err(ApiError::bad_request(Some("status".into()), format!("`{status}`: expected one of {STATUSES:?}")));
    }
    check_source(q.source.as_deref())?;
    check_policy(q.policy.as_deref(), "policy")?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(Some("limit".into()), "between 1 and 1000"));
    }
    for (name, v) in [("listing_id", &q.listing_id), ("seller_id", &q.seller_id), ("after", &q.after)] {
        if v.as_deref().is_some_and(|v| !is_id(v)) {
            return Err(ApiError::bad_request(Some(name.into()), "1 to 256 printable characters"));
        }
    }
    let filter = Filter {
        status: (status != "all").then_some(status),
        policy: q.policy,
        source: q.source,
        listing_id: q.listing_id,
        seller_id: q.seller_id,
        claimed_by: q.mine.unwrap_or(false).then(|| caller.key_id.clone()),
        limit,
        after: q.after,
    };
    let items = app.read(move |tx| reviews::list(tx, &filter)).await?;
    let next = (items.len() as u64 == limit).then(|| items.last().map(|i| i.review_id.clone())).flatten();
    Ok(Json(ReviewPage { items, next }))
}

/// Counts for the queue's filters: per status, per source and per policy
/// of pending items, held items, items awaiting a second reviewer,
/// overdue orders.
#[utoipa::path(
    get, path = "/v1/reviews/counts", tag = "reviews",
    responses((status = 200, description = "Counts", body = Object)),
    security(("api_key" = []))
)]
pub async fn counts(State(app): State<App>, caller: Caller) -> ApiResult<Json<QueueCounts>> {
    caller.require(&[Role::Reviewer, Role::Auditor])?;
    Ok(Json(app.read(reviews::queue_counts).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct StatsQuery {
    /// From this date or time (RFC 3339 or YYYY-MM-DD; default: 30 days ago).
    pub since: Option<String>,
}

/// Accuracy indicators (how often people overturn each policy's automated
/// verdicts; DSA Art. 15(1)(e)), throughput per reviewer, appeal reversals.
#[utoipa::path(
    get, path = "/v1/reviews/stats", tag = "reviews", params(StatsQuery),
    responses(
        (status = 200, description = "Figures", body = Object),
        (status = 400, description = "Invalid date", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn stats(State(app): State<App>, caller: Caller, Query(q): Query<StatsQuery>) -> ApiResult<Json<Stats>> {
    caller.require(&[Role::Reviewer, Role::Auditor, Role::Regulator])?;
    let since = match q.since {
        Some(s) => time::parse(&s).map_err(|e| ApiError::bad_request(Some("since".into()), e))?,
        None => time::now_ms() - 30 * 86_400_000,
    };
    Ok(Json(app.read(move |tx| outcomes::stats(tx, since)).await?))
}

/// A reason as the console offers it.
#[derive(Serialize)]
pub struct ReasonOut {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    pub outcomes: Vec<Action>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    pub text: String,
}

impl ReasonOut {
    fn of(r: &Reason) -> ReasonOut {
        ReasonOut {
            code: r.code.clone(),
            policy: r.policy.clone(),
            outcomes: r.outcomes.clone(),
            condition: r.condition,
            text: r.text_in("en").to_string(),
        }
    }
}

/// A rule that matched, with what the reviewer needs about its policy.
#[derive(Serialize)]
pub struct RuleOut {
    pub policy: String,
    pub policy_title: String,
    pub rule: String,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    pub legal_basis: String,
    pub scope: Vec<String>,
    pub dsa_ground: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<String>,
    pub four_eyes: bool,
    pub evidence: Vec<usize>,
}

/// A listing image, with the evidence about it (hash-bank matches,
/// near-duplicates of removed listings).
#[derive(Serialize)]
pub struct ImageOut {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq: Option<String>,
    pub evidence: Vec<usize>,
}

/// The seller as the reviewer sees them.
#[derive(Serialize)]
pub struct SellerOut {
    pub seller_id: String,
    pub strikes: Vec<sellers::Strike>,
    pub measures: Vec<sellers::Measure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspension: Option<sellers::Measure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trader: Option<TraderOut>,
    /// Decisions on the seller's listings, by verdict.
    pub verdicts: Vec<(String, u64)>,
}

#[derive(Serialize)]
pub struct TraderOut {
    pub status: String,
    pub missing: Vec<String>,
    pub findings: Vec<traders::Finding>,
}

/// One audit entry about the item.
#[derive(Serialize)]
pub struct EntryOut {
    pub index: u64,
    pub kind: String,
    pub recorded_at: String,
    pub data: serde_json::Value,
}

/// Everything about one review item.
#[derive(Serialize)]
pub struct ItemView {
    pub item: Item,
    /// The listing's version in force (it may be newer than the item's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The listing as received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing: Option<serde_json::Value>,
    /// Its text fields cut where the evidence lies.
    pub fields: Vec<evidence::Field>,
    pub evidence: Vec<evidence::Item>,
    pub rules: Vec<RuleOut>,
    pub images: Vec<ImageOut>,
    /// The decision under review.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<StoredDecision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_decision: Option<String>,
    /// Every decision on the listing, oldest first.
    pub history: Vec<HistoryLine>,
    /// The audit entries about this item.
    pub audit: Vec<EntryOut>,
    pub notices: Vec<notices::Notice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appeal: Option<appeals::Appeal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspension: Option<sellers::Measure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller: Option<SellerOut>,
    /// Reasons the pack offers for this item (its policies' first).
    pub reasons: Vec<ReasonOut>,
    /// A block here needs a second reviewer.
    pub four_eyes: bool,
    pub lease_minutes: u32,
}

#[derive(Serialize)]
pub struct HistoryLine {
    pub decision_id: String,
    pub version: u64,
    pub verdict: Action,
    pub origin: String,
    pub decided_by: String,
    pub decided_at: String,
    pub audit_index: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<serde_json::Value>,
}

fn view(tx: &mut rempart_store::Tx<'_>, gate: &Gate, review_id: &str) -> Result<ItemView, StoreError> {
    let it = reviews::get(tx, review_id)?;
    let pack = gate.pack();
    let appeal = appeals::for_review(tx, review_id)?;
    let notices =
        notices::list(tx, &notices::Filter { review_id: Some(review_id.into()), limit: 200, ..Default::default() })?;
    let audit = reviews::events(tx, review_id)?
        .into_iter()
        .map(|i| {
            let e = audit::entry_json(tx, i)?;
            Ok(EntryOut {
                index: i,
                kind: e["kind"].as_str().unwrap_or_default().to_string(),
                recorded_at: e["recorded_at"].as_str().unwrap_or_default().to_string(),
                data: e["data"].clone(),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let seller_id = it.seller_id.clone().or_else(|| appeal.as_ref().map(|a| a.seller_id.clone()));
    let seller = match &seller_id {
        Some(s) => {
            let trader = traders::get(tx, s)?.map(|t| TraderOut {
                status: t.status,
                missing: t.checked.missing,
                findings: t.checked.findings,
            });
            let verdicts = tx
                .query(
                    "SELECT verdict, COUNT(*) FROM listings WHERE seller_id = ?1 GROUP BY verdict ORDER BY verdict",
                    &[s.clone().into()],
                )?
                .iter()
                .map(|r| Ok((r.text(0)?, r.uint(1)?)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            Some(SellerOut {
                seller_id: s.clone(),
                strikes: sellers::strikes(tx, s)?,
                measures: sellers::measures(tx, s)?,
                suspension: sellers::suspension_in_force(tx, s)?,
                trader,
                verdicts,
            })
        }
        None => None,
    };
    let mut out = ItemView {
        version: None,
        listing: None,
        fields: Vec::new(),
        evidence: Vec::new(),
        rules: Vec::new(),
        images: Vec::new(),
        decision: None,
        current_decision: None,
        history: Vec::new(),
        audit,
        notices,
        appeal,
        suspension: None,
        seller,
        reasons: pack.reasons_for(&it.policies).into_iter().map(ReasonOut::of).collect(),
        four_eyes: it.policies.iter().any(|p| pack.policy(p).is_some_and(|p| p.four_eyes)),
        lease_minutes: pack.procedures.lease_minutes,
        item: it.clone(),
    };
    if it.listing_id.is_empty() {
        out.suspension = Some(sellers::measure_by_id(tx, &it.decision_id)?);
        return Ok(out);
    }
    let decision = records::decision(tx, &it.decision_id)?;
    let (version, _, current) = records::current(tx, &it.listing_id)?
        .ok_or_else(|| StoreError::NotFound(format!("listing {}", it.listing_id)))?;
    let body = records::version_body(tx, &it.listing_id, version)?;
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| StoreError::Schema(format!("stored listing: {e}")))?;
    // The evidence is placed on the version it was found in; a newer
    // version is shown as it is, its evidence listed beside.
    let matches = &decision.record.decision.matches;
    if let Ok(listing) = Listing::from_json(&body) {
        let (mut fields, items) = evidence::fields(&listing, matches);
        if version != decision.record.listing_version {
            for f in &mut fields {
                for s in &mut f.segments {
                    s.evidence.clear();
                }
            }
        }
        out.images = listing
            .images
            .iter()
            .enumerate()
            .map(|(i, img)| ImageOut {
                index: i,
                url: img.url.clone(),
                pdq: img.pdq.clone(),
                evidence: items
                    .iter()
                    .filter(|e| e.field == format!("images[{i}].pdq") || e.field == format!("images[{i}].url"))
                    .map(|e| e.index)
                    .collect(),
            })
            .collect();
        out.fields = fields;
        out.evidence = items;
    }
    let mut first = 0;
    out.rules = matches
        .iter()
        .map(|m: &RuleMatch| {
            let idx: Vec<usize> = (first..first + m.evidence.len()).collect();
            first += m.evidence.len();
            let policy = pack.policy(&m.policy);
            RuleOut {
                policy: m.policy.clone(),
                policy_title: policy.map(|p| p.title.clone()).unwrap_or_default(),
                rule: m.rule.clone(),
                action: m.action,
                condition: m.condition,
                legal_basis: m.legal_basis.clone(),
                scope: m.scope.clone(),
                dsa_ground: m.dsa_ground.as_str().into(),
                explain: m.explain.clone(),
                four_eyes: policy.is_some_and(|p| p.four_eyes),
                evidence: idx,
            }
        })
        .collect();
    let history = records::history(tx, &it.listing_id)?;
    out.history = history
        .versions
        .iter()
        .flat_map(|v| v.decisions.iter())
        .map(|d| HistoryLine {
            decision_id: d.record.decision_id.clone(),
            version: d.record.listing_version,
            verdict: d.record.decision.verdict,
            origin: d.record.origin.as_str().into(),
            decided_by: d.record.decided_by.clone(),
            decided_at: d.record.decided_at.clone(),
            audit_index: d.audit_index,
            reason: d.record.reason.clone(),
        })
        .collect();
    out.version = Some(version);
    out.listing = Some(value);
    out.current_decision = Some(current);
    out.decision = Some(decision);
    Ok(out)
}

/// One item with everything a reviewer needs: the listing as received
/// with the evidence placed in its own text, the rules and legal bases,
/// the images with their hash-bank matches, the seller's strikes and
/// trader record, the listing's decisions, the item's audit entries,
/// its notices or appeal, and the reasons the pack offers.
#[utoipa::path(
    get, path = "/v1/reviews/{id}", tag = "reviews",
    params(("id" = String, Path, description = "Review id")),
    responses(
        (status = 200, description = "The item", body = Object),
        (status = 404, description = "Unknown review", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn item(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.require(&[Role::Reviewer, Role::Auditor])?;
    let gate = app.live.load_full();
    let v = app.read(move |tx| view(tx, &gate, &id)).await?;
    Ok(Json(v).into_response())
}

fn lease_ms(app: &App) -> i64 {
    i64::from(app.live.load().pack().procedures.lease_minutes) * 60_000
}

/// Claims an item (or extends the caller's own claim): the lease runs for
/// the pack's `lease_minutes`. While it runs, no other reviewer can claim
/// or decide the item.
#[utoipa::path(
    post, path = "/v1/reviews/{id}/claim", tag = "reviews",
    params(("id" = String, Path, description = "Review id")),
    responses(
        (status = 200, description = "Claimed or extended: the lease", body = Object),
        (status = 403, description = "The caller decided this item already (four-eyes) or the decision appealed", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown review", body = crate::error::ErrorBody),
        (status = 409, description = "Another reviewer holds it, or it is closed", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn claim(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Lease>> {
    caller.require(&[Role::Reviewer])?;
    let (reviewer, ms) = (caller.key_id.clone(), lease_ms(&app));
    Ok(Json(app.write(move |tx| reviews::claim(tx, &id, &reviewer, ms)).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NextFilter {
    pub policy: Option<String>,
    pub source: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Claimed {
    #[schema(value_type = Object)]
    pub lease: Lease,
    #[schema(value_type = Object)]
    pub item: Item,
}

/// Claims the next item in queue order the caller may take (an item the
/// caller already holds first). 204 when nothing is left.
#[utoipa::path(
    post, path = "/v1/reviews/claim-next", tag = "reviews",
    request_body(content = NextFilter, description = "Optional filter: policy, source"),
    responses(
        (status = 200, description = "Claimed", body = Claimed),
        (status = 204, description = "Nothing to claim"),
        (status = 400, description = "Invalid filter", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn claim_next(State(app): State<App>, caller: Caller, body: axum::body::Bytes) -> ApiResult<Response> {
    caller.require(&[Role::Reviewer])?;
    let f: NextFilter = if body.iter().all(u8::is_ascii_whitespace) {
        NextFilter::default()
    } else {
        crate::routes::parse_json(&body)?
    };
    check_policy(f.policy.as_deref(), "policy")?;
    check_source(f.source.as_deref())?;
    let (reviewer, ms) = (caller.key_id.clone(), lease_ms(&app));
    let filter = Filter { policy: f.policy, source: f.source, limit: 1, ..Filter::default() };
    let claimed = app
        .write(move |tx| {
            let Some(lease) = reviews::claim_next(tx, &filter, &reviewer, ms)? else { return Ok(None) };
            let item = reviews::get(tx, &lease.review_id)?;
            Ok(Some(Claimed { lease, item }))
        })
        .await?;
    Ok(match claimed {
        Some(c) => Json(c).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// Gives a held item back to the queue.
#[utoipa::path(
    post, path = "/v1/reviews/{id}/release", tag = "reviews",
    params(("id" = String, Path, description = "Review id")),
    responses(
        (status = 200, description = "Released", body = Object),
        (status = 404, description = "Unknown review", body = crate::error::ErrorBody),
        (status = 409, description = "The caller does not hold it", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn release(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Item>> {
    caller.require(&[Role::Reviewer])?;
    let reviewer = caller.key_id.clone();
    Ok(Json(app.write(move |tx| reviews::release(tx, &id, &reviewer)).await?))
}

/// A reviewer's outcome.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeIn {
    /// `block`, `restrict` or `allow`.
    pub outcome: String,
    /// A reason code the pack offers (see the item's `reasons`).
    pub reason: String,
    /// The reviewer's own words (kept with the decision).
    pub note: Option<String>,
    /// With `restrict`: `adults_only`, `documents_required` or
    /// `licence_required` (default: the reason's, else the rule's).
    pub condition: Option<String>,
    /// The policy the outcome applies (default: the reason's, else the
    /// item's strictest match).
    pub policy: Option<String>,
}

fn parse_outcome(req: &OutcomeIn) -> ApiResult<Action> {
    match req.outcome.as_str() {
        "block" => Ok(Action::Block),
        "restrict" => Ok(Action::Restrict),
        "allow" => Ok(Action::Allow),
        other => {
            Err(ApiError::bad_request(Some("outcome".into()), format!("`{other}`: expected block, restrict or allow")))
        }
    }
}

fn parse_condition(s: &str) -> ApiResult<Condition> {
    serde_json::from_value(serde_json::Value::String(s.into())).map_err(|_| {
        ApiError::bad_request(
            Some("condition".into()),
            format!("`{s}`: expected adults_only, documents_required or licence_required"),
        )
    })
}

/// Builds the store's input from the request and the live pack, or says
/// which field is wrong.
fn outcome_input(
    app: &App,
    gate: &Gate,
    it: &Item,
    reviewed: Option<&StoredDecision>,
    req: OutcomeIn,
    reviewer: &str,
) -> ApiResult<outcomes::Input> {
    let pack = gate.pack();
    let outcome = parse_outcome(&req)?;
    let reason = pack.reason(&req.reason).ok_or_else(|| {
        let offered: Vec<&str> = pack.reasons_for(&it.policies).iter().map(|r| r.code.as_str()).collect();
        ApiError::bad_request(
            Some("reason".into()),
            format!("`{}` is not a reason of the live pack; offered for this item: {}", req.reason, offered.join(", ")),
        )
    })?;
    if !reason.outcomes.contains(&outcome) {
        let allowed: Vec<&str> = reason.outcomes.iter().map(|a| a.as_str()).collect();
        return Err(ApiError::bad_request(
            Some("reason".into()),
            format!("`{}` justifies {}, not {outcome}", reason.code, allowed.join(" or ")),
        ));
    }
    if let Some(note) = &req.note {
        if note.len() > 4000 || note.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(ApiError::bad_request(Some("note".into()), "at most 4000 bytes of printable text"));
        }
    }
    check_policy(req.policy.as_deref(), "policy")?;
    let strictest =
        reviewed.and_then(|d| d.record.decision.matches.iter().max_by_key(|m| m.action).map(|m| m.policy.clone()));
    let policy_id =
        req.policy.clone().or_else(|| reason.policy.clone()).or(strictest).or_else(|| it.policies.first().cloned());
    let policy = match policy_id.as_deref() {
        Some(p) => Some(pack.policy(p).ok_or_else(|| {
            ApiError::bad_request(Some("policy".into()), format!("`{p}` is not a policy of the live pack"))
        })?),
        None => None,
    };
    if let (Some(p), Some(rp)) = (policy, &reason.policy) {
        if &p.id != rp {
            return Err(ApiError::bad_request(
                Some("policy".into()),
                format!("reason `{}` belongs to policy `{rp}`, not `{}`", reason.code, p.id),
            ));
        }
    }
    if outcome != Action::Allow && policy.is_none() {
        return Err(ApiError::bad_request(
            Some("policy".into()),
            "no rule matched this listing: name the policy the outcome applies",
        ));
    }
    let condition = match (&req.condition, outcome) {
        (Some(c), Action::Restrict) => Some(parse_condition(c)?),
        (Some(_), _) => {
            return Err(ApiError::bad_request(
                Some("condition".into()),
                "a condition goes with the restrict outcome only",
            ))
        }
        (None, Action::Restrict) => reason
            .condition
            .or_else(|| {
                reviewed.and_then(|d| {
                    d.record
                        .decision
                        .matches
                        .iter()
                        .find(|m| Some(&m.policy) == policy_id.as_ref() && m.condition.is_some())
                        .and_then(|m| m.condition)
                })
            })
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad_request(
                    Some("condition".into()),
                    "a restrict outcome needs its condition: adults_only, documents_required or licence_required",
                )
            })?,
        (None, _) => None,
    };
    let ground = policy.map(|p| RuleMatch {
        policy: p.id.clone(),
        rule: reason.code.clone(),
        action: outcome,
        condition,
        legal_basis: reason.legal_basis.clone().unwrap_or_else(|| p.legal_basis.clone()),
        scope: p.scope.clone(),
        dsa_category: p.dsa_category.clone(),
        dsa_ground: p.dsa_ground,
        dsa_keywords: p.dsa_keywords.clone(),
        explain: Some(reason.text_in("en").to_string()),
        evidence: Vec::new(),
        evidence_omitted: 0,
        missing: Vec::new(),
        downgraded: None,
    });
    Ok(outcomes::Input {
        review_id: it.review_id.clone(),
        reviewer: reviewer.to_string(),
        outcome,
        condition,
        reason_code: reason.code.clone(),
        reason_label: reason.text_in("en").to_string(),
        note: req.note.filter(|n| !n.trim().is_empty()),
        four_eyes: outcome == Action::Block && policy.is_some_and(|p| p.four_eyes),
        ground,
        pack_version: pack.version.clone(),
        repeat_offenders: pack.procedures.repeat_offenders.clone(),
        webhook: app.people.webhook.as_ref().map(|w| w.url.clone()),
    })
}

/// Decides a held item: `block`, `restrict` (with a condition) or `allow`,
/// with a reason from the pack. The outcome becomes the listing's new
/// decision, linked to the one it supersedes; notices on the item are
/// answered, an appeal is reversed or confirmed, a block adds a strike. A
/// block in a four-eyes policy first awaits a second reviewer (`state`
/// says which happened).
#[utoipa::path(
    post, path = "/v1/reviews/{id}/decision", tag = "reviews",
    params(("id" = String, Path, description = "Review id")),
    request_body = OutcomeIn,
    responses(
        (status = 200, description = "Decided, or awaiting a second reviewer", body = Object),
        (status = 400, description = "A field is invalid (outcome, reason, condition, policy, note)", body = crate::error::ErrorBody),
        (status = 403, description = "The caller may not decide this item (four-eyes, appeal)", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown review", body = crate::error::ErrorBody),
        (status = 409, description = "Not held by the caller, or closed", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn decide(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Decided>> {
    caller.require(&[Role::Reviewer])?;
    let req: OutcomeIn = crate::routes::parse_json(&body)?;
    parse_outcome(&req)?;
    let gate = app.live.load_full();
    let lookup = id.clone();
    let (it, reviewed) = app
        .read(move |tx| {
            let it = reviews::get(tx, &lookup)?;
            let reviewed = if it.listing_id.is_empty() { None } else { Some(records::decision(tx, &it.decision_id)?) };
            Ok((it, reviewed))
        })
        .await?;
    let input = outcome_input(&app, &gate, &it, reviewed.as_ref(), req, &caller.key_id)?;
    let decided = app.write(move |tx| outcomes::decide(tx, input)).await?;
    if let Decided::Final(f) = &decided {
        if let Some(d) = &f.decision {
            app.metrics.record_decision(&d.record.decision, d.record.origin.as_str());
            if d.record.decision.verdict == Action::Block {
                remember_removal(&app, d).await;
            }
        }
    }
    Ok(Json(decided))
}

/// A listing a person blocked joins the removed-listings index, so its
/// relisting goes to review like that of an automated block.
async fn remember_removal(app: &App, d: &StoredDecision) {
    let Some(signals) = app.signals.clone().filter(|s| s.checks_relisting()) else { return };
    let (listing_id, version, decision_id) =
        (d.record.listing_id.clone(), d.record.listing_version, d.record.decision_id.clone());
    let by = format!("review by {} ({})", d.record.decided_by, d.record.decision_id);
    let body = {
        let (l, v) = (listing_id.clone(), version);
        match app.read(move |tx| records::version_body(tx, &l, v)).await {
            Ok(b) => b,
            Err(e) => return tracing::warn!(listing_id = %listing_id, "removed index: {}", e.message),
        }
    };
    let Ok(listing) = Listing::from_json(&body) else { return };
    let s = signals.clone();
    let Ok(removal) =
        tokio::task::spawn_blocking(move || rempart_signals::Removal::of(&listing, &by, s.removal_hashes(&listing)))
            .await
    else {
        return;
    };
    let Ok(entry) = serde_json::to_value(&removal) else { return };
    let (l, d) = (listing_id.clone(), decision_id);
    if let Err(e) = app.write(move |tx| removed::insert(tx, &l, &d, &entry).map(|_| ())).await {
        return tracing::warn!(listing_id = %listing_id, "removed index: {}", e.message);
    }
    if let Err(e) = signals.add_removed(removal) {
        tracing::warn!(listing_id = %listing_id, "removed index: {e}");
    }
}
