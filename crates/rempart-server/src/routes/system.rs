//! Health, metrics, the OpenAPI document.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use rempart_store::keys::Role;
use rempart_store::{audit, records};
use serde::Serialize;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::App;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub engine_version: &'static str,
    pub live_pack: String,
    pub shadow_pack: Option<String>,
}

/// Liveness and readiness: answers once the store is readable.
#[utoipa::path(
    get, path = "/healthz", tag = "system",
    responses((status = 200, description = "Serving", body = Health), (status = 503, description = "The store is unreachable"))
)]
pub async fn healthz(State(app): State<App>) -> ApiResult<Json<Health>> {
    app.read(|tx| audit::state(tx).map(|_| ())).await?;
    Ok(Json(Health {
        status: "ok",
        engine_version: rempart_core::ENGINE_VERSION,
        live_pack: app.live.load().pack().version.clone(),
        shadow_pack: app.shadow.load().as_ref().map(|g| g.pack().version.clone()),
    }))
}

/// Sets one labelled gauge to a count (Prometheus gauges are `i64`).
fn set_gauge(gauges: &prometheus::IntGaugeVec, label: &str, v: u64) {
    gauges.with_label_values(&[label]).set(i64::try_from(v).unwrap_or(i64::MAX));
}

/// Prometheus metrics (text format 0.0.4).
#[utoipa::path(
    get, path = "/metrics", tag = "system",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")),
    security(("api_key" = []))
)]
pub async fn metrics(State(app): State<App>, caller: Caller) -> ApiResult<impl IntoResponse> {
    caller.require(&[Role::Auditor])?;
    let (counts, head) = app.read(|tx| Ok((records::counts(tx)?, audit::latest_head(tx)?.map(|h| h.size)))).await?;
    let m = &app.metrics;
    for (kind, v) in [
        ("listings", counts.listings),
        ("decisions", counts.decisions),
        ("pending_reviews", counts.pending_reviews),
        ("audit_entries", counts.audit_entries),
    ] {
        set_gauge(&m.store, kind, v);
    }
    m.audit_head_size.set(i64::try_from(head.unwrap_or(0)).unwrap_or(i64::MAX));
    m.images_queued.set(i64::try_from(app.images.queued()).unwrap_or(i64::MAX));
    if let Some(h) = crate::heap::stats() {
        for (kind, v) in [("in_use", h.in_use), ("free_held", h.free_held), ("mmapped", h.mmapped)] {
            set_gauge(&m.heap, kind, v);
        }
    }
    if let Some(bytes) = rempart_store::sqlite_memory_in_use() {
        set_gauge(&m.heap, "sqlite", bytes);
    }
    let w = app.writer.stats();
    for (name, v) in
        [("commits", w.commits), ("jobs", w.jobs), ("heads", w.heads), ("failed_commits", w.failed_commits)]
    {
        set_gauge(&m.writer, name, v);
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], m.render()))
}

/// The caller's key: who the console is logged in as.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WhoAmI {
    pub key_id: String,
    pub role: String,
    pub label: String,
    /// The live pack's version, for the console's footer.
    pub live_pack: String,
}

/// Who the API key belongs to (any role).
#[utoipa::path(
    get, path = "/v1/me", tag = "system",
    responses((status = 200, description = "The caller", body = WhoAmI), (status = 401, description = "No or a wrong key", body = crate::error::ErrorBody)),
    security(("api_key" = []))
)]
pub async fn whoami(State(app): State<App>, caller: Caller) -> ApiResult<Json<WhoAmI>> {
    let label = app.keys.get(&caller.key_id).map(|k| k.label).unwrap_or_default();
    Ok(Json(WhoAmI {
        key_id: caller.key_id,
        role: caller.role.as_str().into(),
        label,
        live_pack: app.live.load().pack().version.clone(),
    }))
}
