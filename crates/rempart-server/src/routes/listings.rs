//! `POST /v1/listings` (screen and record) and `GET /v1/listings/{id}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rempart_core::{InputError, Listing};
use rempart_store::keys::Role;
use rempart_store::records::{self, Recorded, StoredDecision, Submission};
use rempart_store::{idempotency, packs, time};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value as Json;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::screening::{self, Screened};
use crate::state::App;

/// The answer for one listing.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DecisionOut {
    pub decision_id: String,
    pub listing_id: String,
    pub version: u64,
    /// Its leaf in the audit log.
    pub audit_index: u64,
    /// `false` when the listing is byte-for-byte the latest version
    /// already recorded: nothing new was recorded.
    pub recorded: bool,
    pub decided_at: String,
    /// The decision (verdict, matches, evidence, versions).
    #[schema(value_type = Object)]
    pub decision: rempart_core::Decision,
}

impl DecisionOut {
    fn of(r: &Recorded) -> DecisionOut {
        let (d, recorded) = match r {
            Recorded::New(d) => (d, true),
            Recorded::Unchanged(d) => (d, false),
        };
        DecisionOut::from_stored(d, recorded)
    }

    pub fn from_stored(d: &StoredDecision, recorded: bool) -> DecisionOut {
        DecisionOut {
            decision_id: d.record.decision_id.clone(),
            listing_id: d.record.listing_id.clone(),
            version: d.record.listing_version,
            audit_index: d.audit_index,
            recorded,
            decided_at: d.record.decided_at.clone(),
            decision: d.record.decision.clone(),
        }
    }
}

/// One item of a batch answer: a decision, or why the listing was refused.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum BatchItem {
    Decided(DecisionOut),
    Refused { index: usize, error: crate::error::ErrorDetail },
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchOut {
    pub results: Vec<BatchItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wrapper<'a> {
    #[serde(borrow)]
    listings: Vec<&'a RawValue>,
}

/// The body's listings (as raw JSON) and whether it was a batch.
fn split_body(body: &[u8], max_batch: usize) -> ApiResult<(Vec<&RawValue>, bool)> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request(None, format!("the body is not UTF-8 (byte {})", e.valid_up_to())))?;
    let first = text.trim_start().as_bytes().first().copied();
    let (items, batch) = match first {
        Some(b'[') => (serde_json::from_str::<Vec<&RawValue>>(text).map_err(json_error)?, true),
        Some(b'{') => match serde_json::from_str::<Wrapper<'_>>(text) {
            Ok(w) => (w.listings, true),
            Err(_) => (vec![serde_json::from_str::<&RawValue>(text).map_err(json_error)?], false),
        },
        _ => {
            return Err(ApiError::bad_request(
                None,
                "the body must be a listing (JSON object), an array of listings, or {\"listings\": [...]}",
            ))
        }
    };
    if batch && items.is_empty() {
        return Err(ApiError::bad_request(Some("listings".into()), "the batch is empty"));
    }
    if items.len() > max_batch {
        return Err(ApiError::bad_request(
            Some("listings".into()),
            format!("{} listings in one request; at most {max_batch}", items.len()),
        ));
    }
    Ok((items, batch))
}

fn json_error(e: serde_json::Error) -> ApiError {
    ApiError::bad_request(None, format!("the body is not valid JSON: {e}"))
}

fn input_error(e: &InputError, prefix: &str) -> crate::error::ErrorDetail {
    let field = e.field_name().map(|f| format!("{prefix}{f}"));
    crate::error::ErrorDetail { code: "invalid_listing", message: e.to_string(), field }
}

/// `sha256:` of the listing's canonical JSON: key order and spacing do
/// not make a new version. A listing JCS cannot represent exactly (an
/// integer beyond 2^53) is identified by its bytes instead.
fn digest(raw: &RawValue) -> String {
    serde_json::from_str::<Json>(raw.get())
        .ok()
        .and_then(|v| rempart_audit::canonical_digest(&v).ok())
        .unwrap_or_else(|| format!("raw-{}", rempart_audit::sha256_digest(raw.get().as_bytes())))
}

/// A listing as it came: its place in the request, its bytes, its digest.
struct Received {
    index: usize,
    body: Vec<u8>,
    digest: String,
}

const IDEMPOTENCY_HEADER: &str = "idempotency-key";

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get(IDEMPOTENCY_HEADER) else { return Ok(None) };
    let field = Some("Idempotency-Key".to_string());
    let v = v.to_str().map_err(|_| ApiError::bad_request(field.clone(), "must be printable ASCII"))?;
    let v = v.trim().trim_matches('"');
    if v.is_empty() || v.len() > 255 || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(field, "must be 1 to 255 printable ASCII characters"));
    }
    Ok(Some(v.to_string()))
}

fn json_response(status: StatusCode, body: Vec<u8>, replayed: bool) -> Response {
    let mut r = (status, [(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body)
        .into_response();
    if replayed {
        r.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    r
}

/// Screen and record listings.
///
/// One listing (a JSON object), or up to 1,000 (`[...]` or
/// `{"listings": [...]}`). Each is screened by the live pack and recorded
/// with its decision before the answer is sent. Re-submitting the same
/// bytes as a listing's latest version records nothing and returns the
/// decision in force (`recorded: false`). An `Idempotency-Key` header
/// replays the first answer for the same request.
#[utoipa::path(
    post, path = "/v1/listings", tag = "listings",
    request_body(content = Object, description = "A listing, an array of listings, or {\"listings\": [...]}"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer to this key")),
    responses(
        (status = 200, description = "Decided and recorded (a batch answers per listing)", body = DecisionOut),
        (status = 400, description = "Not JSON, not a listing, or a field is invalid", body = crate::error::ErrorBody),
        (status = 401, description = "No or a wrong API key", body = crate::error::ErrorBody),
        (status = 403, description = "The key's role cannot submit", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large"),
        (status = 422, description = "Idempotency-Key reused for another request", body = crate::error::ErrorBody),
        (status = 429, description = "Rate limited (see Retry-After)", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn submit(State(app): State<App>, caller: Caller, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    caller.require(&[Role::Submitter])?;
    let idem = idempotency_key(&headers)?;
    let request_digest = rempart_audit::sha256_digest(&body);
    if let Some(key) = &idem {
        let (k, key_id) = (key.clone(), caller.key_id.clone());
        if let Some(kept) = app.read(move |tx| idempotency::get(tx, &key_id, &k)).await? {
            if kept.request_digest != request_digest {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used for a different request",
                ));
            }
            let status = StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK);
            return Ok(json_response(status, kept.response, true));
        }
    }

    let (raws, batch) = split_body(&body, app.limits.max_batch)?;
    let received_at = time::now_ms();
    let mut refused: Vec<(usize, crate::error::ErrorDetail)> = Vec::new();
    let mut listings = Vec::new();
    let mut received: Vec<Received> = Vec::new();
    for (i, raw) in raws.iter().enumerate() {
        let prefix = if batch { format!("listings[{i}].") } else { String::new() };
        match Listing::from_json(raw.get().as_bytes()) {
            Ok(l) => {
                listings.push(l);
                received.push(Received { index: i, body: raw.get().as_bytes().to_vec(), digest: digest(raw) });
            }
            Err(e) => refused.push((i, input_error(&e, &prefix))),
        }
    }
    if !batch {
        if let Some((_, e)) = refused.pop() {
            return Err(ApiError { field: e.field, ..ApiError::bad_request(None, e.message) });
        }
    }

    let started = std::time::Instant::now();
    let screened = screening::screen(&app, listings).await;
    app.metrics.screening_seconds.with_label_values(&["live"]).observe(started.elapsed().as_secs_f64());

    let gate = app.live.load_full();
    let shadow_version = app.shadow.load().as_ref().map(|g| g.pack().version.clone());
    let mut submissions = Vec::with_capacity(screened.len());
    let mut removals = Vec::new();
    let mut arrivals = Vec::new();
    let mut disagreements = Vec::new();
    for (s, Received { index, body, digest }) in screened.into_iter().zip(received) {
        let Screened { listing, decision, shadow, removal, arriving } = s;
        if let (Some(shadow), Some(version)) = (shadow, &shadow_version) {
            if let Some(d) = disagreement(&decision, &shadow, version) {
                disagreements.push(d);
            }
        }
        let removal_json = removal.as_ref().and_then(|r| serde_json::to_value(r).ok());
        removals.push(removal);
        let listing_id = listing.id.clone();
        let seller_id = listing.seller.as_ref().and_then(|s| s.id.clone());
        arrivals.push(arriving.map(|a| (listing, a)));
        submissions.push((
            index,
            Submission {
                listing_id,
                seller_id,
                body,
                digest,
                received_at,
                submitted_by: caller.key_id.clone(),
                review: screening::review_seed(&gate, &decision),
                decision,
                removal: removal_json,
            },
        ));
    }

    let key_id = caller.key_id.clone();
    let results = app
        .write(move |tx| {
            let mut out: Vec<(usize, Result<Recorded, rempart_store::StoreError>)> = Vec::new();
            for (index, s) in submissions {
                let listing_id = s.listing_id.clone();
                let recorded = tx.savepoint(|tx| records::record_submission(tx, s));
                match &recorded {
                    Ok(Recorded::New(stored)) => {
                        for d in disagreements.iter_mut().filter(|d| d.listing_id == listing_id) {
                            d.version = stored.record.listing_version;
                        }
                    }
                    // Seen before: its disagreement, if any, is on record.
                    _ => disagreements.retain(|d| d.listing_id != listing_id),
                }
                out.push((index, recorded));
            }
            for d in &disagreements {
                packs::record_disagreement(tx, d)?;
            }
            let body = render(&out, &refused, batch);
            if let (Some(key), Ok(body)) = (&idem, &body) {
                let kept = idempotency::Kept { request_digest, status: 200, response: body.clone() };
                idempotency::put(tx, &key_id, key, &kept)?;
            }
            Ok((out.into_iter().map(|(_, r)| r.ok()).collect::<Vec<_>>(), body))
        })
        .await?;
    let (recorded, body) = results;
    for ((r, removal), arrival) in recorded.iter().zip(removals).zip(arrivals) {
        // Images still on their way re-decide the listing when they
        // arrive, whether this request recorded its decision or found it
        // recorded by an identical submission.
        if let (Some(r), Some((listing, arriving))) = (r, arrival) {
            let pending = &r.decision().record.decision.signal_errors;
            if !pending.iter().any(|e| e.code == rempart_signals::IMAGE_PENDING) {
                continue;
            }
            tokio::spawn(crate::images::redecide(app.clone(), r.decision().clone(), listing, arriving));
        }
        let Some(Recorded::New(stored)) = r else { continue };
        app.metrics.record_decision(&stored.record.decision, "screening");
        if let (Some(removal), Some(signals)) = (removal, &app.signals) {
            if let Err(e) = signals.add_removed(removal) {
                tracing::warn!(listing_id = %stored.record.listing_id, "removed index: {e}");
            }
        }
    }
    let body = body.map_err(|(status, e)| ApiError { field: e.field, ..ApiError::new(status, e.code, e.message) })?;
    Ok(json_response(StatusCode::OK, body, false))
}

type RenderError = (StatusCode, crate::error::ErrorDetail);

/// The answer's bytes, built inside the recording transaction so an
/// `Idempotency-Key` keeps exactly what was sent.
fn render(
    out: &[(usize, Result<Recorded, rempart_store::StoreError>)],
    refused: &[(usize, crate::error::ErrorDetail)],
    batch: bool,
) -> Result<Vec<u8>, RenderError> {
    let store_error = |e: &rempart_store::StoreError| {
        let api = ApiError::from(e.clone());
        (api.status, crate::error::ErrorDetail { code: api.code, message: api.message, field: None })
    };
    if !batch {
        return match out.first() {
            Some((_, Ok(r))) => Ok(serde_json::to_vec(&DecisionOut::of(r)).unwrap_or_default()),
            Some((_, Err(e))) => Err(store_error(e)),
            None => Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                crate::error::ErrorDetail { code: "internal", message: "no result".into(), field: None },
            )),
        };
    }
    let mut items: Vec<(usize, BatchItem)> = out
        .iter()
        .map(|(i, r)| {
            let item = match r {
                Ok(r) => BatchItem::Decided(DecisionOut::of(r)),
                Err(e) => BatchItem::Refused { index: *i, error: store_error(e).1 },
            };
            (*i, item)
        })
        .collect();
    items.extend(refused.iter().map(|(i, e)| {
        (
            *i,
            BatchItem::Refused {
                index: *i,
                error: crate::error::ErrorDetail { code: e.code, message: e.message.clone(), field: e.field.clone() },
            },
        )
    }));
    items.sort_by_key(|(i, _)| *i);
    Ok(serde_json::to_vec(&BatchOut { results: items.into_iter().map(|(_, it)| it).collect() }).unwrap_or_default())
}

fn rules(d: &rempart_core::Decision) -> Vec<String> {
    d.matches.iter().map(|m| format!("{}/{}", m.policy, m.rule)).collect()
}

fn disagreement(
    live: &rempart_core::Decision,
    shadow: &rempart_core::Decision,
    version: &str,
) -> Option<packs::Disagreement> {
    let (lr, sr) = (rules(live), rules(shadow));
    if live.verdict == shadow.verdict && lr == sr {
        return None;
    }
    Some(packs::Disagreement {
        listing_id: live.id.clone(),
        version: 0,
        live_version: live.policy_version.clone(),
        shadow_version: version.to_string(),
        live_verdict: live.verdict.to_string(),
        shadow_verdict: shadow.verdict.to_string(),
        live_rules: lr,
        shadow_rules: sr,
        shadow_decision: serde_json::to_value(shadow).unwrap_or_default(),
        recorded_at: String::new(),
    })
}

/// A listing's history: every version as received and every decision.
#[utoipa::path(
    get, path = "/v1/listings/{id}", tag = "listings",
    params(("id" = String, Path, description = "The marketplace's listing id")),
    responses(
        (status = 200, description = "Versions and decisions", body = Object),
        (status = 404, description = "Unknown listing", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn history(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    caller.require(&[Role::Submitter, Role::Reviewer, Role::Auditor])?;
    let h = app.read(move |tx| records::history(tx, &id)).await?;
    Ok(axum::Json(h).into_response())
}
