//! Appeals (DSA Art. 20): the seller's complaint, decided by a different
//! reviewer than the one who decided.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use rempart_store::appeals::{self, Appeal, NewAppeal};
use rempart_store::keys::Role;
use rempart_store::{records, StoreError};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::App;

/// A seller's appeal, forwarded by the marketplace.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealIn {
    /// The decision appealed (or a suspension's id).
    pub decision_id: String,
    /// The seller appealing: must be the listing's seller.
    pub seller_id: String,
    /// The seller's explanation.
    pub explanation: String,
}

fn bad(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request(Some(field.into()), message)
}

fn text(field: &str, v: &str, max: usize) -> ApiResult<String> {
    let v = v.trim();
    if v.is_empty() || v.len() > max || v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(bad(field, format!("1 to {max} bytes of printable text")));
    }
    Ok(v.to_string())
}

/// Files an appeal against a restrictive decision on a listing, or
/// against a suspension, within the pack's period (six months by
/// default). A reviewer other than those who decided will decide it.
#[utoipa::path(
    post, path = "/v1/appeals", tag = "appeals", request_body = AppealIn,
    responses(
        (status = 201, description = "Received and queued", body = Object),
        (status = 400, description = "A field is missing or invalid", body = crate::error::ErrorBody),
        (status = 403, description = "The seller is not the listing's", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown decision or suspension", body = crate::error::ErrorBody),
        (status = 409, description = "Already appealed, or no longer in force", body = crate::error::ErrorBody),
        (status = 422, description = "Nothing to appeal, or the period has ended", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn submit(
    State(app): State<App>,
    caller: Caller,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<Appeal>)> {
    caller.require(&[Role::Submitter])?;
    let req: AppealIn = crate::routes::parse_json(&body)?;
    let decision_id = text("decision_id", &req.decision_id, 256)?;
    let seller_id = text("seller_id", &req.seller_id, 256)?;
    let explanation = text("explanation", &req.explanation, 10_000)?;
    let gate = app.live.load_full();
    let pack = gate.pack();
    let appeal_months = pack.procedures.appeal_months;
    let severities: std::collections::HashMap<String, i64> =
        pack.policies.iter().map(|p| (p.id.clone(), i64::from(p.severity))).collect();
    let submitted_by = caller.key_id.clone();
    let appeal = app
        .write(move |tx| {
            let severity = match records::decision(tx, &decision_id) {
                Ok(d) => d.record.decision.matches.iter().filter_map(|m| severities.get(&m.policy)).copied().max(),
                Err(StoreError::NotFound(_)) => severities.get("repeat_offenders").copied(),
                Err(e) => return Err(e),
            }
            .unwrap_or(0);
            appeals::receive(
                tx,
                NewAppeal { decision_id, seller_id, explanation, submitted_by, appeal_months, severity },
            )
        })
        .await?;
    Ok((StatusCode::CREATED, Json(appeal)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AppealQuery {
    /// `open` or `decided`.
    pub status: Option<String>,
    pub seller_id: Option<String>,
    /// 1 to 1000 (default 100).
    pub limit: Option<u64>,
    pub after: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AppealPage {
    #[schema(value_type = Vec<Object>)]
    pub appeals: Vec<Appeal>,
    pub next: Option<String>,
}

/// Appeals, newest first.
#[utoipa::path(
    get, path = "/v1/appeals", tag = "appeals", params(AppealQuery),
    responses(
        (status = 200, description = "A page of appeals", body = AppealPage),
        (status = 400, description = "Invalid filter", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list(State(app): State<App>, caller: Caller, Query(q): Query<AppealQuery>) -> ApiResult<Json<AppealPage>> {
    caller.require(&[Role::Reviewer, Role::Auditor, Role::Submitter])?;
    if let Some(s) = q.status.as_deref().filter(|s| !["open", "decided"].contains(s)) {
        return Err(bad("status", format!("`{s}`: expected open or decided")));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(bad("limit", "between 1 and 1000"));
    }
    let f = appeals::Filter { status: q.status, seller_id: q.seller_id, limit, after: q.after };
    let appeals = app.read(move |tx| appeals::list(tx, &f)).await?;
    let next = (appeals.len() as u64 == limit).then(|| appeals.last().map(|a| a.appeal_id.clone())).flatten();
    Ok(Json(AppealPage { appeals, next }))
}

/// One appeal and its outcome.
#[utoipa::path(
    get, path = "/v1/appeals/{id}", tag = "appeals",
    params(("id" = String, Path, description = "Appeal id")),
    responses(
        (status = 200, description = "The appeal", body = Object),
        (status = 404, description = "Unknown appeal", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Appeal>> {
    caller.require(&[Role::Reviewer, Role::Auditor, Role::Submitter])?;
    Ok(Json(app.read(move |tx| appeals::get(tx, &id)).await?))
}
