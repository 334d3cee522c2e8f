//! `GET /v1/reviews`: the review queue.

use axum::extract::{Query, State};
use axum::Json;
use rempart_store::keys::Role;
use rempart_store::reviews::{self, Filter, Item};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
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
    if let Some(s) = q.source.as_deref().filter(|s| !SOURCES.contains(s)) {
        return Err(ApiError::bad_request(Some("source".into()), format!("`{s}`: expected one of {SOURCES:?}")));
    }
    if let Some(p) =
        q.policy.as_deref().filter(|p| !p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
    {
        return Err(ApiError::bad_request(Some("policy".into()), format!("`{p}` is not a policy id")));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(Some("limit".into()), "between 1 and 1000"));
    }
    let filter = Filter {
        status: (status != "all").then_some(status),
        policy: q.policy,
        source: q.source,
        listing_id: q.listing_id,
        limit,
        after: q.after,
    };
    let items = app.read(move |tx| reviews::list(tx, &filter)).await?;
    let next = (items.len() as u64 == limit).then(|| items.last().map(|i| i.review_id.clone())).flatten();
    Ok(Json(ReviewPage { items, next }))
}
