//! The published log: signed heads and consistency proofs (public: they
//! reveal hashes only, and an outside witness must be able to check the
//! platform without an account), entries and inclusion proofs (with a key).

use axum::extract::{Path, Query, State};
use axum::Json;
use rempart_audit::{ConsistencyProof, InclusionProof, SignedTreeHeadJson};
use rempart_store::keys::Role;
use rempart_store::{audit, StoreError};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::App;

/// The latest signed tree head (C2SP checkpoint and JSON).
#[utoipa::path(
    get, path = "/v1/audit/head", tag = "audit",
    responses(
        (status = 200, description = "The latest signed head", body = Object),
        (status = 404, description = "No head signed yet", body = crate::error::ErrorBody),
    )
)]
pub async fn head(State(app): State<App>) -> ApiResult<Json<SignedTreeHeadJson>> {
    let h = app.read(audit::latest_head).await?.ok_or_else(|| ApiError::not_found("no signed head yet"))?;
    Ok(Json(h.signed.to_json()))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct HeadsQuery {
    /// Only heads of a larger size than this.
    pub after: Option<u64>,
    /// At most this many (1 to 1000, default 100).
    pub limit: Option<u64>,
}

/// Signed heads in order of size: what a witness catches up on.
#[utoipa::path(
    get, path = "/v1/audit/heads", tag = "audit", params(HeadsQuery),
    responses((status = 200, description = "Signed heads, smallest first", body = Vec<Object>))
)]
pub async fn heads(State(app): State<App>, Query(q): Query<HeadsQuery>) -> ApiResult<Json<Vec<SignedTreeHeadJson>>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(Some("limit".into()), "between 1 and 1000"));
    }
    let after = q.after.unwrap_or(0);
    let hs = app.read(move |tx| audit::heads(tx, after, limit)).await?;
    Ok(Json(hs.into_iter().map(|h| h.signed.to_json()).collect()))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ConsistencyQuery {
    /// The older tree size (one the caller holds a signed head for).
    pub from: Option<u64>,
    /// The newer tree size.
    pub to: Option<u64>,
}

/// The proof that the tree of `to` entries extends that of `from` (RFC 9162 §2.1.4).
#[utoipa::path(
    get, path = "/v1/audit/consistency", tag = "audit", params(ConsistencyQuery),
    responses(
        (status = 200, description = "Consistency proof", body = Object),
        (status = 400, description = "Missing or impossible sizes", body = crate::error::ErrorBody),
    )
)]
pub async fn consistency(
    State(app): State<App>,
    Query(q): Query<ConsistencyQuery>,
) -> ApiResult<Json<ConsistencyProof>> {
    let from = q.from.ok_or_else(|| ApiError::bad_request(Some("from".into()), "required"))?;
    let to = q.to.ok_or_else(|| ApiError::bad_request(Some("to".into()), "required"))?;
    if from > to {
        return Err(ApiError::bad_request(Some("from".into()), format!("{from} is larger than to = {to}")));
    }
    let proof = app
        .read(move |tx| {
            let size = audit::state(tx)?.0;
            if to > size {
                return Err(StoreError::Invalid(format!("to = {to}: the log holds {size} entries")));
            }
            audit::consistency(tx, from, to)
        })
        .await
        .map_err(|e| {
            if e.status.as_u16() == 422 {
                ApiError { status: axum::http::StatusCode::BAD_REQUEST, field: Some("to".into()), ..e }
            } else {
                e
            }
        })?;
    Ok(Json(proof))
}

/// The log's public keys (signed-note vkeys), oldest first.
#[utoipa::path(
    get, path = "/v1/audit/keys", tag = "audit",
    responses((status = 200, description = "vkeys of every signing key the log has used", body = Vec<String>))
)]
pub async fn keys(State(app): State<App>) -> ApiResult<Json<Vec<String>>> {
    Ok(Json(app.read(audit::vkeys).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EntryOut {
    pub index: u64,
    /// The entry's exact bytes (canonical JSON).
    pub entry: String,
    #[schema(value_type = Option<Object>)]
    pub inclusion: Option<InclusionProof>,
    #[schema(value_type = Option<Object>)]
    pub head: Option<SignedTreeHeadJson>,
}

/// One audit entry with its inclusion proof against the latest head.
#[utoipa::path(
    get, path = "/v1/audit/entries/{index}", tag = "audit",
    params(("index" = u64, Path, description = "Leaf index")),
    responses(
        (status = 200, description = "The entry and its proof (no proof until a head covers it)", body = EntryOut),
        (status = 404, description = "No such entry", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn entry(State(app): State<App>, caller: Caller, Path(index): Path<u64>) -> ApiResult<Json<EntryOut>> {
    caller.require(&[Role::Auditor, Role::Reviewer])?;
    let out = app
        .read(move |tx| {
            let body = audit::entry(tx, index)?;
            let head = audit::latest_head(tx)?.filter(|h| h.size > index);
            let inclusion = head.as_ref().map(|h| audit::inclusion(tx, index, h.size)).transpose()?;
            Ok(EntryOut {
                index,
                entry: String::from_utf8_lossy(&body).into_owned(),
                inclusion,
                head: head.map(|h| h.signed.to_json()),
            })
        })
        .await?;
    Ok(Json(out))
}
