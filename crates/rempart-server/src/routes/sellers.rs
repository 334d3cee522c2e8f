//! Sellers: statements of reasons (DSA Art. 17), strikes and suspensions
//! (Art. 23), trader records (Art. 30).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use rempart_store::keys::Role;
use rempart_store::sellers::{self, Measure, Strike};
use rempart_store::statements::{self, Statement};
use rempart_store::traders::{self, Trader, TraderRecord};
use rempart_store::{appeals, StoreError, Tx};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::App;

fn check_id(id: &str) -> ApiResult<()> {
    if id.is_empty() || id.len() > 256 || id.chars().any(char::is_control) {
        return Err(ApiError::bad_request(Some("id".into()), "1 to 256 printable characters"));
    }
    Ok(())
}

/// A seller rempart knows: it has listings, a trader record or a measure.
fn known(tx: &mut Tx<'_>, seller_id: &str) -> Result<(), StoreError> {
    let found = tx
        .query_opt(
            "SELECT 1 FROM listings WHERE seller_id = ?1 UNION ALL SELECT 1 FROM traders WHERE seller_id = ?1 \
             UNION ALL SELECT 1 FROM seller_measures WHERE seller_id = ?1 LIMIT 1",
            &[seller_id.into()],
        )?
        .is_some();
    if found {
        Ok(())
    } else {
        Err(StoreError::NotFound(format!("seller {seller_id}")))
    }
}

/// A seller's standing.
#[derive(Serialize)]
pub struct SellerView {
    pub seller_id: String,
    /// Listings by the verdict in force.
    pub listings: Vec<(String, u64)>,
    pub strikes: Vec<Strike>,
    /// Warnings and suspensions.
    pub measures: Vec<Measure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspension: Option<Measure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trader: Option<Trader>,
    pub appeals: Vec<appeals::Appeal>,
}

/// A seller: listings by verdict, strikes, warnings and suspensions, the
/// trader record, appeals.
#[utoipa::path(
    get, path = "/v1/sellers/{id}", tag = "sellers",
    params(("id" = String, Path, description = "The marketplace's seller id")),
    responses(
        (status = 200, description = "The seller", body = Object),
        (status = 404, description = "Unknown seller", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<SellerView>> {
    caller.require(&[Role::Submitter, Role::Reviewer, Role::Auditor])?;
    check_id(&id)?;
    let view = app
        .read(move |tx| {
            known(tx, &id)?;
            let listings = tx
                .query(
                    "SELECT verdict, COUNT(*) FROM listings WHERE seller_id = ?1 GROUP BY verdict ORDER BY verdict",
                    &[id.clone().into()],
                )?
                .iter()
                .map(|r| Ok((r.text(0)?, r.uint(1)?)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok(SellerView {
                listings,
                strikes: sellers::strikes(tx, &id)?,
                measures: sellers::measures(tx, &id)?,
                suspension: sellers::suspension_in_force(tx, &id)?,
                trader: traders::get(tx, &id)?,
                appeals: appeals::list(
                    tx,
                    &appeals::Filter { seller_id: Some(id.clone()), limit: 100, ..appeals::Filter::default() },
                )?,
                seller_id: id,
            })
        })
        .await?;
    Ok(Json(view))
}

/// Records a trader's Art. 30(1) information. Accepted even when
/// incomplete: the answer names what is missing and what fails a format
/// check, and the trader's listings are held until the record is complete
/// and a person verified it. A changed record must be verified again.
#[utoipa::path(
    put, path = "/v1/sellers/{id}/trader", tag = "sellers",
    params(("id" = String, Path, description = "The marketplace's seller id")),
    request_body(content = Object, description = "name, address{street,postcode,city,country}, phone, email, identity_document{kind,reference,issuing_country}, payment_account{iban,other,holder}, trade_register{register,number,country} or not_in_trade_register, vat_number, self_certification, language"),
    responses(
        (status = 200, description = "Stored, with its status, missing fields and findings", body = Object),
        (status = 400, description = "Not a trader record (a field has the wrong type or is unknown)", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn put_trader(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Trader>> {
    caller.require(&[Role::Submitter])?;
    check_id(&id)?;
    let record: TraderRecord = crate::routes::parse_json(&body)?;
    let by = caller.key_id.clone();
    Ok(Json(app.write(move |tx| traders::put(tx, &id, record, &by)).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyIn {
    /// What the person checked (the document, the register consulted).
    pub note: Option<String>,
}

/// A person verified the trader's record (identity document, registers).
#[utoipa::path(
    post, path = "/v1/sellers/{id}/trader/verify", tag = "sellers",
    params(("id" = String, Path, description = "The marketplace's seller id")),
    request_body(content = VerifyIn, description = "Optional note"),
    responses(
        (status = 200, description = "Verified", body = Object),
        (status = 404, description = "No trader record", body = crate::error::ErrorBody),
        (status = 409, description = "The record is incomplete", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn verify_trader(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Trader>> {
    caller.require(&[Role::Reviewer])?;
    check_id(&id)?;
    let req: VerifyIn =
        if body.iter().all(u8::is_ascii_whitespace) { VerifyIn::default() } else { crate::routes::parse_json(&body)? };
    if req.note.as_deref().is_some_and(|n| n.len() > 2000) {
        return Err(ApiError::bad_request(Some("note".into()), "at most 2000 bytes"));
    }
    let by = caller.key_id.clone();
    Ok(Json(app.write(move |tx| traders::verify(tx, &id, &by, req.note.as_deref())).await?))
}

/// Deletes a trader record (DSA Art. 30(5): six months after the end of
/// the relationship). The audit log keeps its digest only.
#[utoipa::path(
    delete, path = "/v1/sellers/{id}/trader", tag = "sellers",
    params(("id" = String, Path, description = "The marketplace's seller id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No trader record", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn erase_trader(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    caller.require(&[Role::Admin])?;
    check_id(&id)?;
    let by = caller.key_id.clone();
    app.write(move |tx| traders::erase(tx, &id, &by)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct StatementQuery {
    /// `en` or `fr` (default: the trader record's language, else English).
    pub lang: Option<String>,
    /// 1 to 500 (default 50).
    pub limit: Option<u64>,
    /// Continue before this audit index (the previous page's `next`).
    pub before: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StatementPage {
    pub seller_id: String,
    pub language: String,
    #[schema(value_type = Vec<Object>)]
    pub statements: Vec<Statement>,
    pub next: Option<u64>,
}

/// The seller's statements of reasons (DSA Art. 17), newest first: every
/// restrictive decision on their listings, automated or by a person, and
/// their suspensions and warnings, in the seller's language where the
/// pack has it.
#[utoipa::path(
    get, path = "/v1/sellers/{id}/statements", tag = "sellers",
    params(("id" = String, Path, description = "The marketplace's seller id"), StatementQuery),
    responses(
        (status = 200, description = "A page of statements", body = StatementPage),
        (status = 400, description = "Invalid language or paging", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown seller", body = crate::error::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn statements(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<StatementQuery>,
) -> ApiResult<Json<StatementPage>> {
    caller.require(&[Role::Submitter, Role::Reviewer, Role::Auditor])?;
    check_id(&id)?;
    if let Some(l) = q.lang.as_deref().filter(|l| !statements::LANGUAGES.contains(l)) {
        return Err(ApiError::bad_request(
            Some("lang".into()),
            format!("`{l}`: statements exist in {}", statements::LANGUAGES.join(", ")),
        ));
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(Some("limit".into()), "between 1 and 500"));
    }
    let gate = app.live.load_full();
    let page = app
        .read(move |tx| {
            known(tx, &id)?;
            let lang = statements::language_of(tx, &id, q.lang.as_deref())?;
            let (statements, next) = statements::for_seller(tx, &id, gate.pack(), &lang, limit, q.before)?;
            Ok(StatementPage { seller_id: id, language: lang, statements, next })
        })
        .await?;
    Ok(Json(page))
}
