//! `GET /v1/decisions/{id}` and its inclusion proof.

use axum::extract::{Path, State};
use axum::Json;
use rempart_audit::{InclusionProof, SignedTreeHeadJson};
use rempart_store::keys::Role;
use rempart_store::records::{self, StoredDecision};
use rempart_store::{audit, StoreError};
use serde::Serialize;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::App;

/// A decision as recorded.
#[utoipa::path(
    get, path = "/v1/decisions/{id}", tag = "decisions",
    params(("id" = String, Path, description = "Decision id")),
    responses(
        (status = 200, description = "The decision record and its audit index", body = Object),
        (status = 404, description = "Unknown decision", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<StoredDecision>> {
    caller.require(&[Role::Submitter, Role::Reviewer, Role::Auditor])?;
    Ok(Json(app.read(move |tx| records::decision(tx, &id)).await?))
}

/// A decision's audit entry with the proof that it is in the signed log.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DecisionProof {
    /// The entry's exact bytes (canonical JSON), as a string.
    pub entry: String,
    #[schema(value_type = Object)]
    pub inclusion: InclusionProof,
    #[schema(value_type = Object)]
    pub head: SignedTreeHeadJson,
}

/// The inclusion proof of a decision against the latest signed head that
/// covers it (verify offline with `rempart audit verify-proof`).
#[utoipa::path(
    get, path = "/v1/decisions/{id}/proof", tag = "decisions",
    params(("id" = String, Path, description = "Decision id")),
    responses(
        (status = 200, description = "Entry, inclusion proof, signed head", body = DecisionProof),
        (status = 404, description = "Unknown decision", body = crate::error::ErrorBody),
        (status = 409, description = "No signed head covers the decision yet (retry after the next head)", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn proof(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<DecisionProof>> {
    caller.require(&[Role::Submitter, Role::Reviewer, Role::Auditor, Role::Regulator])?;
    let out = app
        .read(move |tx| {
            let d = records::decision(tx, &id)?;
            let head = audit::latest_head(tx)?
                .filter(|h| h.size > d.audit_index)
                .ok_or_else(|| StoreError::Conflict("no signed head covers this decision yet".into()))?;
            let inclusion = audit::inclusion(tx, d.audit_index, head.size)?;
            let entry =
                String::from_utf8(audit::entry(tx, d.audit_index)?).map_err(|e| StoreError::Audit(e.to_string()))?;
            Ok(DecisionProof { entry, inclusion, head: head.signed.to_json() })
        })
        .await?;
    Ok(Json(out))
}

pub fn not_found(what: &str) -> ApiError {
    ApiError::not_found(format!("{what} not found"))
}
