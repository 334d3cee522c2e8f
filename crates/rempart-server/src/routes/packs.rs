//! Policy lifecycle: upload a pack version (compiled and tested before it
//! is stored), activate it (audited, swapped in atomically, then stored
//! listings are re-screened in the background), or run it in shadow beside
//! the live pack and read where they disagree.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use rempart_core::policy::lint;
use rempart_core::{Gate, Pack};
use rempart_store::keys::Role;
use rempart_store::packs::{self, PackRole, StoredPack};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::App;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackUpload {
    /// The pack's files: relative path → TOML text.
    pub files: BTreeMap<String, String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UploadOut {
    pub pack_version: String,
    pub name: String,
    pub tests_passed: u64,
    pub tests_failed: u64,
    /// The failing test cases, as `file: test N: expected …, got …`.
    pub failures: Vec<String>,
    /// `false` when this exact pack was already stored.
    pub new: bool,
}

/// Compiles and tests a pack: what every upload goes through.
pub fn check(files: &BTreeMap<String, String>) -> Result<(Gate, Vec<String>, u64), ApiError> {
    let pack = Pack::from_sources(files.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).map_err(|e| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_pack", format!("the pack does not compile: {e}"))
    })?;
    let gate = Gate::new(pack);
    let outcomes = lint::run_tests(&gate);
    let passed = outcomes.iter().filter(|o| o.passed).count() as u64;
    let failures = outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| format!("{}: test {}: expected {}, got {} ({})", o.file, o.number, o.expected, o.got, o.title))
        .collect();
    Ok((gate, failures, passed))
}

/// Uploads a pack version. It is compiled and its test cases run; a pack
/// that does not compile is refused, one whose tests fail is stored but
/// cannot be activated.
#[utoipa::path(
    post, path = "/v1/packs", tag = "packs", request_body = PackUpload,
    responses(
        (status = 201, description = "Stored (see tests_failed)", body = UploadOut),
        (status = 400, description = "Malformed body", body = crate::error::ErrorBody),
        (status = 422, description = "The pack does not compile", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn upload(
    State(app): State<App>,
    caller: Caller,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<UploadOut>)> {
    caller.require(&[Role::Admin])?;
    let req: PackUpload = super::parse_json(&body)?;
    if req.files.is_empty() {
        return Err(ApiError::bad_request(Some("files".into()), "no files"));
    }
    if let Some(bad) =
        req.files.keys().find(|p| !p.ends_with(".toml") || p.starts_with('/') || p.split('/').any(|s| s == ".."))
    {
        return Err(ApiError::bad_request(Some(format!("files.{bad}")), "a relative path to a .toml file"));
    }
    let files = req.files;
    let (files, gate, failures, passed) = tokio::task::spawn_blocking(move || {
        check(&files).map(|(gate, failures, passed)| (files, gate, failures, passed))
    })
    .await
    .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "pack check failed"))??;
    let pack = gate.pack();
    let (version, name) = (pack.version.clone(), pack.name.clone());
    let failed = failures.len() as u64;
    let (v, n, by) = (version.clone(), name.clone(), caller.key_id.clone());
    let new = app
        .write(move |tx| {
            packs::upload(
                tx,
                packs::Upload {
                    pack_version: &v,
                    name: &n,
                    files: &files,
                    tests_passed: passed,
                    tests_failed: failed,
                    engine_version: rempart_core::ENGINE_VERSION,
                    by: &by,
                },
            )
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(UploadOut { pack_version: version, name, tests_passed: passed, tests_failed: failed, failures, new }),
    ))
}

/// Every stored pack version, with its role.
#[utoipa::path(
    get, path = "/v1/packs", tag = "packs",
    responses((status = 200, description = "Stored packs", body = Vec<Object>)),
    security(("api_key" = []))
)]
pub async fn list(State(app): State<App>, caller: Caller) -> ApiResult<Json<Vec<StoredPack>>> {
    caller.require(&[Role::Admin, Role::Auditor])?;
    Ok(Json(app.read(packs::list).await?))
}

/// Compiles a stored pack version.
async fn stored_gate(app: &App, version: &str) -> ApiResult<Gate> {
    let v = version.to_string();
    let stored = app.read(move |tx| packs::get(tx, &v)).await?;
    tokio::task::spawn_blocking(move || check(&stored.files).map(|(g, _, _)| g))
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "pack compile failed"))?
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Activated {
    pub pack_version: String,
    pub role: String,
    pub audit_index: u64,
    /// The background re-screening of stored listings, for `live`.
    pub rescan_id: Option<String>,
}

/// Makes a stored pack live: audited, swapped in without dropping
/// requests, then every stored listing is re-screened in the background
/// (changed decisions are recorded as new decisions).
#[utoipa::path(
    post, path = "/v1/packs/{version}/activate", tag = "packs",
    params(("version" = String, Path, description = "Pack version (sha256:…)")),
    responses(
        (status = 200, description = "Live", body = Activated),
        (status = 404, description = "Unknown pack version", body = crate::error::ErrorBody),
        (status = 422, description = "Its tests fail", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn activate(
    State(app): State<App>,
    caller: Caller,
    Path(version): Path<String>,
) -> ApiResult<Json<Activated>> {
    caller.require(&[Role::Admin])?;
    let gate = std::sync::Arc::new(stored_gate(&app, &version).await?);
    let (v, by) = (version.clone(), caller.key_id.clone());
    let index = app.write(move |tx| packs::assign(tx, PackRole::Live, &v, &by)).await?;
    if app.shadow.load().as_ref().is_some_and(|s| s.pack().version == version) {
        app.shadow.store(None);
    }
    app.live.store(gate.clone());
    tracing::info!(pack_version = %version, by = %caller.key_id, "pack activated");
    let rescan_id = crate::rescan::start(&app, gate).await?;
    Ok(Json(Activated { pack_version: version, role: "live".into(), audit_index: index, rescan_id: Some(rescan_id) }))
}

/// Runs a stored pack in shadow: every submission is also screened with
/// it and disagreements are recorded, never enforced.
#[utoipa::path(
    post, path = "/v1/packs/{version}/shadow", tag = "packs",
    params(("version" = String, Path, description = "Pack version (sha256:…)")),
    responses(
        (status = 200, description = "Running in shadow", body = Activated),
        (status = 404, description = "Unknown pack version", body = crate::error::ErrorBody),
        (status = 409, description = "It is the live pack", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn shadow(State(app): State<App>, caller: Caller, Path(version): Path<String>) -> ApiResult<Json<Activated>> {
    caller.require(&[Role::Admin])?;
    if app.live.load().pack().version == version {
        return Err(ApiError::conflict("this pack is live; shadow a candidate"));
    }
    let gate = stored_gate(&app, &version).await?;
    let (v, by) = (version.clone(), caller.key_id.clone());
    let index = app.write(move |tx| packs::assign(tx, PackRole::Shadow, &v, &by)).await?;
    app.shadow.store(Some(std::sync::Arc::new(gate)));
    Ok(Json(Activated { pack_version: version, role: "shadow".into(), audit_index: index, rescan_id: None }))
}

/// Stops the shadow run.
#[utoipa::path(
    delete, path = "/v1/shadow", tag = "packs",
    responses((status = 204, description = "No pack runs in shadow")),
    security(("api_key" = []))
)]
pub async fn stop_shadow(State(app): State<App>, caller: Caller) -> ApiResult<StatusCode> {
    caller.require(&[Role::Admin])?;
    let by = caller.key_id.clone();
    app.write(move |tx| packs::clear_shadow(tx, &by)).await?;
    app.shadow.store(None);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ReportQuery {
    /// Shadow pack version (default: the one running, else the latest).
    pub version: Option<String>,
    /// Examples per policy (default 5).
    pub examples: Option<usize>,
}

/// Disagreements of one policy.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PolicyDisagreements {
    pub policy: String,
    /// Listings the shadow pack matches under this policy and the live one does not.
    pub only_shadow: u64,
    /// Listings the live pack matches under this policy and the shadow one does not.
    pub only_live: u64,
    /// Listings whose verdict changes, by `live→shadow`.
    pub verdict_changes: BTreeMap<String, u64>,
    #[schema(value_type = Vec<Object>)]
    pub examples: Vec<packs::Disagreement>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ShadowReport {
    pub shadow_version: Option<String>,
    pub disagreements: u64,
    pub by_verdict: BTreeMap<String, u64>,
    pub policies: Vec<PolicyDisagreements>,
}

fn policies_of(rules: &[String]) -> BTreeSet<String> {
    rules.iter().filter_map(|r| r.split('/').next()).map(String::from).collect()
}

/// Builds the report from disagreements.
pub fn report(version: Option<String>, all: Vec<packs::Disagreement>, examples: usize) -> ShadowReport {
    let mut by_verdict = BTreeMap::new();
    let mut policies: BTreeMap<String, PolicyDisagreements> = BTreeMap::new();
    for d in &all {
        let change = format!("{}→{}", d.live_verdict, d.shadow_verdict);
        if d.live_verdict != d.shadow_verdict {
            *by_verdict.entry(change.clone()).or_insert(0) += 1;
        }
        let (live, shadow) = (policies_of(&d.live_rules), policies_of(&d.shadow_rules));
        let live_rules: BTreeSet<&String> = d.live_rules.iter().collect();
        let shadow_rules: BTreeSet<&String> = d.shadow_rules.iter().collect();
        for p in live.union(&shadow) {
            let in_live: BTreeSet<_> =
                live_rules.iter().filter(|r| policies_of(&[(**r).clone()]).contains(p)).collect();
            let in_shadow: BTreeSet<_> =
                shadow_rules.iter().filter(|r| policies_of(&[(**r).clone()]).contains(p)).collect();
            if in_live == in_shadow {
                continue;
            }
            let e = policies.entry(p.clone()).or_insert_with(|| PolicyDisagreements {
                policy: p.clone(),
                only_shadow: 0,
                only_live: 0,
                verdict_changes: BTreeMap::new(),
                examples: Vec::new(),
            });
            e.only_shadow += u64::from(!live.contains(p));
            e.only_live += u64::from(!shadow.contains(p));
            if d.live_verdict != d.shadow_verdict {
                *e.verdict_changes.entry(change.clone()).or_insert(0) += 1;
            }
            if e.examples.len() < examples {
                e.examples.push(d.clone());
            }
        }
    }
    let mut policies: Vec<_> = policies.into_values().collect();
    policies.sort_by_key(|p| std::cmp::Reverse(p.only_shadow + p.only_live));
    ShadowReport { shadow_version: version, disagreements: all.len() as u64, by_verdict, policies }
}

/// Where the shadow pack disagrees with the live one, by policy, with examples.
#[utoipa::path(
    get, path = "/v1/shadow/report", tag = "packs", params(ReportQuery),
    responses((status = 200, description = "Disagreements by policy", body = ShadowReport)),
    security(("api_key" = []))
)]
pub async fn shadow_report(
    State(app): State<App>,
    caller: Caller,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Json<ShadowReport>> {
    caller.require(&[Role::Admin, Role::Auditor])?;
    let running = app.shadow.load().as_ref().map(|g| g.pack().version.clone());
    let wanted = q.version.or(running);
    let examples = q.examples.unwrap_or(5).min(100);
    let (version, all) = app
        .read(move |tx| {
            let version = match wanted {
                Some(v) => Some(v),
                None => packs::shadow_versions(tx)?.into_iter().next(),
            };
            let all = match &version {
                Some(v) => packs::disagreements(tx, v, 1_000_000)?,
                None => Vec::new(),
            };
            Ok((version, all))
        })
        .await?;
    Ok(Json(report(version, all, examples)))
}

/// Background re-screenings, most recent first.
#[utoipa::path(
    get, path = "/v1/rescans", tag = "packs",
    responses((status = 200, description = "Rescans with progress", body = Vec<Object>)),
    security(("api_key" = []))
)]
pub async fn rescans(State(app): State<App>, caller: Caller) -> ApiResult<Json<Vec<packs::Rescan>>> {
    caller.require(&[Role::Admin, Role::Auditor])?;
    Ok(Json(app.read(|tx| packs::rescans(tx, 50)).await?))
}
