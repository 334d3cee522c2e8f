//! Notices (DSA Art. 16) and authority orders (Art. 9): receive them with
//! a receipt, read them back with their outcome and webhook deliveries;
//! the registry of trusted flaggers (Art. 22).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use rempart_core::policy::{territory, DSA_CATEGORIES};
use rempart_store::keys::Role;
use rempart_store::notices::{self, Flagger, Kind, NewNotice, Notice, Order, Receipt};
use rempart_store::traders::formats;
use rempart_store::{records, time, StoreError};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::App;

/// Who sent the notice (Art. 16(2)(c)).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Notifier {
    pub name: Option<String>,
    pub email: Option<String>,
}

/// An authority's order (Art. 9(2)).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderIn {
    /// The issuing authority.
    pub authority: String,
    /// The order's own reference.
    pub reference: Option<String>,
    /// The legal basis of the order.
    pub legal_basis: String,
    /// Where it applies: ISO 3166-1 alpha-2 codes or `EU`.
    pub territorial_scope: Vec<String>,
    /// When it must be acted on (RFC 3339); default: the pack's
    /// `order_deadline_hours` from now.
    pub deadline: Option<String>,
}

/// A notice.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeIn {
    /// The marketplace's listing id (or give `url`).
    pub listing_id: Option<String>,
    /// The exact electronic location of the listing (Art. 16(2)(b)).
    pub url: Option<String>,
    /// A DSA category (`STATEMENT_CATEGORY_…`) of the alleged illegality.
    pub category: String,
    /// Why the notifier holds the content illegal (Art. 16(2)(a)).
    pub explanation: String,
    /// Name and e-mail; not required when the notice concerns child
    /// sexual abuse material.
    pub notifier: Option<Notifier>,
    /// The notice concerns child sexual abuse material (Art. 16(2)(c)).
    #[serde(default)]
    pub child_sexual_abuse: bool,
    /// The notifier's statement that the notice is accurate and complete,
    /// in good faith (Art. 16(2)(d)).
    #[serde(default)]
    pub good_faith: Option<bool>,
    /// A registered trusted flagger on whose behalf the caller forwards.
    pub trusted_flagger: Option<String>,
    /// An order from an authority (regulator keys).
    pub order: Option<OrderIn>,
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

/// Listing ids a URL may carry: its path segments and query values, last
/// first (`…/item/L-1?ref=x` tries `x`, `L-1`, `item`).
fn url_candidates(url: &str) -> Vec<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let query = query.split('#').next().unwrap_or("");
    let mut out: Vec<String> = path.split('/').skip(1).filter(|s| !s.is_empty()).map(String::from).collect();
    out.extend(query.split('&').filter_map(|kv| kv.split_once('=').map(|(_, v)| v.to_string())));
    out.reverse();
    out.retain(|s| !s.is_empty() && s.len() <= 256);
    out
}

/// Sends a notice or an order. Acknowledged at once with a receipt id
/// (Art. 16(4)); the outcome is recorded on the notice and delivered to
/// the configured webhook. A notice on a listing already in the queue
/// joins its item (duplicates are merged); trusted flaggers and orders
/// are placed ahead (Art. 22, Art. 9).
#[utoipa::path(
    post, path = "/v1/notices", tag = "notices", request_body = NoticeIn,
    responses(
        (status = 202, description = "Received: the receipt", body = Object),
        (status = 400, description = "A field is missing or invalid", body = crate::error::ErrorBody),
        (status = 403, description = "Orders need a regulator key", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown listing or trusted flagger", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn submit(
    State(app): State<App>,
    caller: Caller,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<Receipt>)> {
    caller.require(&[Role::Submitter, Role::Notifier, Role::Regulator])?;
    let req: NoticeIn = crate::routes::parse_json(&body)?;
    let gate = app.live.load_full();
    let pack = gate.pack();
    if !DSA_CATEGORIES.contains(&req.category.as_str()) {
        return Err(bad("category", format!("`{}` is not a DSA category (STATEMENT_CATEGORY_…)", req.category)));
    }
    let explanation = text("explanation", &req.explanation, 10_000)?;
    if req.child_sexual_abuse && req.category != "STATEMENT_CATEGORY_PROTECTION_OF_MINORS" {
        return Err(bad("child_sexual_abuse", "goes with category STATEMENT_CATEGORY_PROTECTION_OF_MINORS"));
    }
    let url = match &req.url {
        Some(u) => {
            let u = text("url", u, 2048)?;
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                return Err(bad("url", "an http(s) URL"));
            }
            Some(u)
        }
        None => None,
    };
    let listing_id = match &req.listing_id {
        Some(l) => Some(text("listing_id", l, 256)?),
        None => None,
    };
    if listing_id.is_none() && url.is_none() {
        return Err(bad("listing_id", "give the listing's id or its url"));
    }
    let order = match (&req.order, caller.role) {
        (Some(_), r) if r != Role::Regulator && r != Role::Admin => {
            return Err(ApiError::forbidden("an order (Art. 9) comes from a regulator key"));
        }
        (None, Role::Regulator) => return Err(bad("order", "a regulator key sends orders: give `order`")),
        (Some(o), _) => {
            let authority = text("order.authority", &o.authority, 300)?;
            let legal_basis = text("order.legal_basis", &o.legal_basis, 2000)?;
            let reference = o.reference.as_deref().map(|r| text("order.reference", r, 300)).transpose()?;
            if o.territorial_scope.is_empty() {
                return Err(bad(
                    "order.territorial_scope",
                    "at least one territory (EU or an ISO 3166-1 alpha-2 code)",
                ));
            }
            let (_, invalid) = territory::expand(&o.territorial_scope);
            if let Some(first) = invalid.first() {
                let i = o.territorial_scope.iter().position(|t| t == first).unwrap_or(0);
                return Err(bad(
                    &format!("order.territorial_scope[{i}]"),
                    format!("`{first}` is not EU or an ISO 3166-1 alpha-2 code"),
                ));
            }
            let now = time::now_ms();
            let deadline = match &o.deadline {
                Some(d) => {
                    let t = time::parse(d).map_err(|e| bad("order.deadline", e))?;
                    if t <= now {
                        return Err(bad("order.deadline", "the deadline is in the past"));
                    }
                    t
                }
                None => now + i64::from(pack.procedures.order_deadline_hours) * 3_600_000,
            };
            Some(Order { authority, reference, legal_basis, territorial_scope: o.territorial_scope.clone(), deadline })
        }
        (None, _) => None,
    };
    if order.is_none() && req.good_faith != Some(true) {
        return Err(bad(
            "good_faith",
            "the notifier must state that the notice is accurate and complete, in good faith (Art. 16(2)(d)): true",
        ));
    }
    let (mut notifier_name, mut notifier_email) = (None, None);
    if let Some(n) = &req.notifier {
        notifier_name = n.name.as_deref().map(|v| text("notifier.name", v, 300)).transpose()?;
        notifier_email = n
            .email
            .as_deref()
            .map(|v| formats::email(v).map_err(|e| bad("notifier.email", e.to_string())))
            .transpose()?;
    }
    if order.is_none() && !req.child_sexual_abuse {
        if notifier_name.is_none() {
            return Err(bad(
                "notifier.name",
                "the notifier's name is required (unless the notice concerns child sexual abuse material)",
            ));
        }
        if notifier_email.is_none() {
            return Err(bad(
                "notifier.email",
                "the notifier's e-mail is required (unless the notice concerns child sexual abuse material)",
            ));
        }
    }
    if let Some(f) = &req.trusted_flagger {
        if !matches!(caller.role, Role::Submitter | Role::Admin) {
            return Err(bad("trusted_flagger", "only the marketplace's own service forwards on a flagger's behalf"));
        }
        text("trusted_flagger", f, 256)?;
    }

    let key_id = caller.key_id.clone();
    let category = req.category.clone();
    let category_severity =
        pack.policies.iter().filter(|p| p.dsa_category == category).map(|p| i64::from(p.severity)).max().unwrap_or(0);
    let severities: std::collections::HashMap<String, i64> =
        pack.policies.iter().map(|p| (p.id.clone(), i64::from(p.severity))).collect();
    let forwarded_flagger = req.trusted_flagger.clone();
    let csam = req.child_sexual_abuse;
    let good_faith = req.good_faith.unwrap_or(true);
    let receipt = app
        .write(move |tx| {
            let listing_id = match (listing_id, &url) {
                (Some(l), _) => l,
                (None, Some(u)) => {
                    let mut found = None;
                    for c in url_candidates(u) {
                        if records::current(tx, &c)?.is_some() {
                            found = Some(c);
                            break;
                        }
                    }
                    found.ok_or_else(|| {
                        StoreError::Invalid(format!("url: `{u}` names no listing rempart knows; give listing_id"))
                    })?
                }
                (None, None) => unreachable!("checked above"),
            };
            let flagger = match &forwarded_flagger {
                Some(f) => {
                    let flagger = notices::flagger_by_id(tx, f)?;
                    if flagger.revoked_at.is_some() {
                        return Err(StoreError::Invalid(format!("trusted_flagger: `{f}` no longer has the status")));
                    }
                    Some(flagger)
                }
                None => notices::flagger_by_key(tx, &key_id)?,
            };
            let (_, _, current) = records::current(tx, &listing_id)?
                .ok_or_else(|| StoreError::NotFound(format!("listing {listing_id}")))?;
            let decision = records::decision(tx, &current)?;
            let mut policies: Vec<String> = decision.record.decision.matches.iter().map(|m| m.policy.clone()).collect();
            policies.dedup();
            let severity =
                policies.iter().filter_map(|p| severities.get(p)).copied().max().unwrap_or(0).max(category_severity);
            let kind = match (&order, &flagger) {
                (Some(_), _) => Kind::Order,
                (None, Some(_)) => Kind::TrustedFlagger,
                (None, None) => Kind::Notice,
            };
            notices::receive(
                tx,
                NewNotice {
                    kind,
                    listing_id,
                    url,
                    category,
                    explanation,
                    notifier_name,
                    notifier_email,
                    csam,
                    good_faith,
                    flagger_id: flagger.map(|f| f.flagger_id),
                    order,
                    submitted_by: key_id,
                    severity,
                    policies,
                },
            )
        })
        .await
        .map_err(|e| {
            // The URL and flagger checks run inside the transaction; name their field.
            match e.message.split_once(": ") {
                Some((field @ ("url" | "trusted_flagger"), rest)) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
                    bad(field, rest)
                }
                _ => e,
            }
        })?;
    Ok((StatusCode::ACCEPTED, Json(receipt)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct NoticeQuery {
    /// `notice`, `trusted_flagger` or `order`.
    pub kind: Option<String>,
    /// `open` or `decided`.
    pub status: Option<String>,
    pub listing_id: Option<String>,
    pub review_id: Option<String>,
    /// 1 to 1000 (default 100).
    pub limit: Option<u64>,
    /// Continue after this notice id.
    pub after: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NoticePage {
    #[schema(value_type = Vec<Object>)]
    pub notices: Vec<Notice>,
    pub next: Option<String>,
}

/// Whom a caller may read: everything for reviewers, auditors and admins;
/// their own notices for the others (a regulator its own orders).
fn own_only(caller: &Caller) -> Option<String> {
    (!matches!(caller.role, Role::Reviewer | Role::Auditor | Role::Admin)).then(|| caller.key_id.clone())
}

/// Notices and orders, newest first, with their outcome.
#[utoipa::path(
    get, path = "/v1/notices", tag = "notices", params(NoticeQuery),
    responses(
        (status = 200, description = "A page of notices", body = NoticePage),
        (status = 400, description = "Invalid filter", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list(State(app): State<App>, caller: Caller, Query(q): Query<NoticeQuery>) -> ApiResult<Json<NoticePage>> {
    caller.require(&[Role::Reviewer, Role::Auditor, Role::Regulator, Role::Submitter, Role::Notifier])?;
    if let Some(k) = q.kind.as_deref().filter(|k| !["notice", "trusted_flagger", "order"].contains(k)) {
        return Err(bad("kind", format!("`{k}`: expected notice, trusted_flagger or order")));
    }
    if let Some(s) = q.status.as_deref().filter(|s| !["open", "decided"].contains(s)) {
        return Err(bad("status", format!("`{s}`: expected open or decided")));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(bad("limit", "between 1 and 1000"));
    }
    let filter = notices::Filter {
        kind: q.kind,
        status: q.status,
        listing_id: q.listing_id,
        review_id: q.review_id,
        submitted_by: own_only(&caller),
        limit,
        after: q.after,
    };
    let notices = app.read(move |tx| notices::list(tx, &filter)).await?;
    let next = (notices.len() as u64 == limit).then(|| notices.last().map(|n| n.notice_id.clone())).flatten();
    Ok(Json(NoticePage { notices, next }))
}

/// One notice with its outcome and the state of its webhook deliveries.
#[utoipa::path(
    get, path = "/v1/notices/{id}", tag = "notices",
    params(("id" = String, Path, description = "Notice (receipt) id")),
    responses(
        (status = 200, description = "The notice", body = Object),
        (status = 403, description = "Not the caller's own notice (regulators read their own orders)", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown notice", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Notice>> {
    caller.require(&[Role::Reviewer, Role::Auditor, Role::Regulator, Role::Submitter, Role::Notifier])?;
    let n = app.read(move |tx| notices::get(tx, &id)).await?;
    if let Some(own) = own_only(&caller) {
        if n.submitted_by != own {
            return Err(ApiError::forbidden(format!("notice {} was not sent with this key", n.notice_id)));
        }
    }
    Ok(Json(n))
}

/// A trusted flagger to register.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlaggerIn {
    pub flagger_id: String,
    pub name: String,
    /// Its field of expertise (child protection, intellectual property…).
    pub expertise: String,
    /// The Digital Services Coordinator that awarded the status.
    pub awarded_by: String,
    /// The API key it sends notices with (role `notifier`), if any.
    pub key_id: Option<String>,
}

/// Registers a trusted flagger (DSA Art. 22): its notices go ahead of
/// others in the queue.
#[utoipa::path(
    post, path = "/v1/flaggers", tag = "notices", request_body = FlaggerIn,
    responses(
        (status = 201, description = "Registered", body = Object),
        (status = 400, description = "A field is invalid", body = crate::error::ErrorBody),
        (status = 409, description = "Already registered", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn register_flagger(
    State(app): State<App>,
    caller: Caller,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<Flagger>)> {
    caller.require(&[Role::Admin])?;
    let req: FlaggerIn = crate::routes::parse_json(&body)?;
    let id = text("flagger_id", &req.flagger_id, 100)?;
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.') {
        return Err(bad("flagger_id", "letters, digits, `-`, `_` and `.`"));
    }
    let flagger = Flagger {
        flagger_id: id,
        name: text("name", &req.name, 300)?,
        expertise: text("expertise", &req.expertise, 300)?,
        awarded_by: text("awarded_by", &req.awarded_by, 300)?,
        key_id: req.key_id.as_deref().map(|k| text("key_id", k, 64)).transpose()?,
        registered_at: String::new(),
        revoked_at: None,
    };
    if let Some(k) = &flagger.key_id {
        let key = app.keys.get(k).ok_or_else(|| bad("key_id", format!("`{k}` is not a key of this service")))?;
        if key.role != Role::Notifier && key.role != Role::Submitter {
            return Err(bad("key_id", format!("key {k} is a {} key; a flagger sends with a notifier key", key.role)));
        }
    }
    let by = caller.key_id.clone();
    let f = app.write(move |tx| notices::register_flagger(tx, &flagger, &by)).await?;
    Ok((StatusCode::CREATED, Json(f)))
}

/// The registry of trusted flaggers.
#[utoipa::path(
    get, path = "/v1/flaggers", tag = "notices",
    responses((status = 200, description = "Flaggers", body = Vec<Object>)),
    security(("api_key" = []))
)]
pub async fn flaggers(State(app): State<App>, caller: Caller) -> ApiResult<Json<Vec<Flagger>>> {
    caller.require(&[Role::Reviewer, Role::Auditor])?;
    Ok(Json(app.read(notices::flaggers).await?))
}

/// Ends a flagger's status (its coordinator revoked or suspended it).
#[utoipa::path(
    delete, path = "/v1/flaggers/{id}", tag = "notices",
    params(("id" = String, Path, description = "Flagger id")),
    responses(
        (status = 200, description = "Revoked", body = Object),
        (status = 404, description = "Unknown flagger", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn revoke_flagger(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Flagger>> {
    caller.require(&[Role::Admin])?;
    let by = caller.key_id.clone();
    Ok(Json(app.write(move |tx| notices::revoke_flagger(tx, &id, &by)).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_ids_are_looked_for_in_the_url_last_part_first() {
        assert_eq!(url_candidates("https://shop.example/item/L-1?ref=mail#x"), ["mail", "L-1", "item"]);
        assert_eq!(url_candidates("https://shop.example/"), Vec::<String>::new());
    }
}
