//! API keys, for admins: create (the secret is shown once), list, revoke.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rempart_store::keys::{self, ApiKey, CreatedKey, Role};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::App;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// submitter, reviewer, auditor, regulator, notifier or admin.
    pub role: String,
    /// Who or what holds the key (a service, a person's name).
    pub label: String,
    /// Requests per minute (default: the server's).
    pub rate_per_minute: Option<u32>,
}

/// Creates a key. Its secret is in this answer and nowhere else.
#[utoipa::path(
    post, path = "/v1/keys", tag = "keys", request_body = NewKey,
    responses(
        (status = 201, description = "Created; `secret` is shown once", body = Object),
        (status = 400, description = "Invalid role or label", body = crate::error::ErrorBody),
        (status = 403, description = "Not an admin key", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<CreatedKey>)> {
    caller.require(&[Role::Admin])?;
    let req: NewKey = crate::routes::parse_json(&body)?;
    let role: Role = req.role.parse().map_err(|e: String| ApiError::bad_request(Some("role".into()), e))?;
    let label = req.label.trim().to_string();
    if label.is_empty() || label.len() > 200 || label.chars().any(char::is_control) {
        return Err(ApiError::bad_request(Some("label".into()), "1 to 200 printable characters"));
    }
    let pepper = *app.keys.pepper();
    let by = caller.key_id.clone();
    let created = app.write(move |tx| keys::create(tx, &pepper, role, &label, req.rate_per_minute, &by)).await?;
    crate::reload_keys(&app).await;
    tracing::info!(key_id = %created.key.key_id, role = role.as_str(), by = %caller.key_id, "API key created");
    Ok((StatusCode::CREATED, Json(created)))
}

/// Every key (without secrets).
#[utoipa::path(
    get, path = "/v1/keys", tag = "keys",
    responses((status = 200, description = "Keys", body = Vec<Object>), (status = 403, description = "Not an admin key", body = crate::error::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn list(State(app): State<App>, caller: Caller) -> ApiResult<Json<Vec<ApiKey>>> {
    caller.require(&[Role::Admin])?;
    Ok(Json(app.read(keys::list).await?))
}

/// Revokes a key at once.
#[utoipa::path(
    delete, path = "/v1/keys/{id}", tag = "keys",
    params(("id" = String, Path, description = "Key id")),
    responses(
        (status = 200, description = "Revoked", body = Object),
        (status = 404, description = "Unknown key", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn revoke(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<ApiKey>> {
    caller.require(&[Role::Admin])?;
    let by = caller.key_id.clone();
    let key = app.write(move |tx| keys::revoke(tx, &id, &by)).await?;
    crate::reload_keys(&app).await;
    tracing::info!(key_id = %key.key_id, by = %caller.key_id, "API key revoked");
    Ok(Json(key))
}
