//! `POST /v1/listings` (screen and record) and `GET /v1/listings/{id}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rempart_store::idempotency;
use rempart_store::keys::Role;
use rempart_store::records::{self, Recorded, StoredDecision};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::intake;
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
    /// The answer for a recording's outcome (`recorded: false` when the
    /// bytes were already the latest version).
    pub fn of(r: &Recorded) -> DecisionOut {
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
    let parsed = intake::parse(&raws, |i| if batch { format!("listings[{i}].") } else { String::new() });
    if !batch {
        if let Some((_, e)) = parsed.refused.first() {
            return Err(ApiError { field: e.field.clone(), ..ApiError::bad_request(None, e.message.clone()) });
        }
    }
    let refused = parsed.refused.clone();
    let refused_in_tx = if idem.is_some() { refused.clone() } else { Vec::new() };
    let key_id = caller.key_id.clone();
    let (outcomes, kept) = intake::screen_and_record(&app, &caller.key_id, parsed, move |tx, out| {
        // With an Idempotency-Key the answer is rendered inside the
        // transaction, so that the key keeps exactly what is sent; without
        // one, after the commit, off the writer thread (the record path's
        // one serial stage).
        let Some(key) = &idem else { return Ok(None) };
        let body = render(out, &refused_in_tx, batch);
        if let Ok(body) = &body {
            let kept = idempotency::Kept { request_digest, status: 200, response: body.clone() };
            idempotency::put(tx, &key_id, key, &kept)?;
        }
        Ok(Some(body))
    })
    .await?;
    let body = kept.unwrap_or_else(|| render(&outcomes, &refused, batch));
    let body = body.map_err(|(status, e)| ApiError { field: e.field, ..ApiError::new(status, e.code, e.message) })?;
    Ok(json_response(StatusCode::OK, body, false))
}

type RenderError = (StatusCode, crate::error::ErrorDetail);

/// The answer's bytes (built inside the recording transaction when an
/// `Idempotency-Key` must keep exactly what is sent).
fn render(
    out: &intake::Outcomes,
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
    items.extend(refused.iter().map(|(i, e)| (*i, BatchItem::Refused { index: *i, error: e.clone() })));
    items.sort_by_key(|(i, _)| *i);
    Ok(serde_json::to_vec(&BatchOut { results: items.into_iter().map(|(_, it)| it).collect() }).unwrap_or_default())
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
