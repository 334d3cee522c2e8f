//! Trader records (DSA Art. 30): who a professional seller is, before
//! their listings go live.
//!
//! The marketplace sends the Art. 30(1) fields; rempart stores them, names
//! what is missing, checks the formats that are public ([`formats`]), and
//! keeps a person's verification (of the identity document, against the
//! registers). A record is `incomplete` (a field missing or failing a
//! check), `unverified` (complete, awaiting a person) or `verified`.
//! Changing a record sends it back to `unverified`. Listings of a trader
//! whose record is not `verified` are held for review at screening
//! (`trader_record_missing` / `trader_record_unverified` signals).
//!
//! The audit log gets the record's digest, its status and the names of
//! missing fields, never the personal data itself: Art. 30(5) asks to
//! delete the record six months after the relationship ends, and an
//! append-only log cannot forget ([`erase`] deletes the row).

pub mod formats;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{self, EntryKind};
use crate::backend::Value;
use crate::{time, StoreError, Tx};

/// A postal address.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub street: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
}

/// Art. 30(1)(b): a copy of an identity document or an electronic
/// identification; rempart keeps the reference to it, not the copy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityDocument {
    /// `passport`, `identity_card`, `residence_permit`, `eidas` (an
    /// electronic identification under Reg. 910/2014) or `other`.
    pub kind: Option<String>,
    /// Where the marketplace keeps the copy, or the eIDAS identifier.
    pub reference: Option<String>,
    pub issuing_country: Option<String>,
}

/// Art. 30(1)(c): the payment account.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentAccount {
    pub iban: Option<String>,
    /// Another account reference where there is no IBAN.
    pub other: Option<String>,
    pub holder: Option<String>,
}

/// Art. 30(1)(d): the trade register and the number in it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradeRegister {
    /// The register (`RCS Paris`, `Handelsregister B Berlin`…).
    pub register: Option<String>,
    pub number: Option<String>,
    /// ISO 3166-1 alpha-2; for `FR` the number must contain a valid SIREN.
    pub country: Option<String>,
}

/// What the marketplace sends for a trader (every field optional here:
/// what is missing is named in the answer, not refused).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraderRecord {
    pub name: Option<String>,
    pub address: Option<Address>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub identity_document: Option<IdentityDocument>,
    pub payment_account: Option<PaymentAccount>,
    pub trade_register: Option<TradeRegister>,
    /// The trader is in no trade register (30(1)(d) applies "where the
    /// trader is registered").
    #[serde(default)]
    pub not_in_trade_register: bool,
    pub vat_number: Option<String>,
    /// Art. 30(1)(e): the trader commits to offer only products that
    /// comply with Union law.
    pub self_certification: Option<bool>,
    /// The language the trader reads statements in (`fr`, `en`…).
    pub language: Option<String>,
}

/// A problem with one field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub field: String,
    pub message: String,
}

/// What the checks found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Checked {
    /// Art. 30(1) fields absent or empty, as JSON paths.
    pub missing: Vec<String>,
    /// Fields present but in an impossible format.
    pub findings: Vec<Finding>,
}

impl Checked {
    pub fn complete(&self) -> bool {
        self.missing.is_empty() && self.findings.is_empty()
    }
}

fn blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| s.trim().is_empty())
}

/// Checks a record: what is missing, what is malformed.
pub fn check(r: &TraderRecord) -> Checked {
    let mut c = Checked::default();
    let mut need = |present: bool, field: &str| {
        if !present {
            c.missing.push(field.to_string());
        }
    };
    need(!blank(&r.name), "name");
    let a = r.address.clone().unwrap_or_default();
    need(!blank(&a.street), "address.street");
    need(!blank(&a.postcode), "address.postcode");
    need(!blank(&a.city), "address.city");
    need(!blank(&a.country), "address.country");
    need(!blank(&r.phone), "phone");
    need(!blank(&r.email), "email");
    let id = r.identity_document.clone().unwrap_or_default();
    need(!blank(&id.kind), "identity_document.kind");
    need(!blank(&id.reference), "identity_document.reference");
    let pay = r.payment_account.clone().unwrap_or_default();
    need(!blank(&pay.iban) || !blank(&pay.other), "payment_account.iban");
    let reg = r.trade_register.clone().unwrap_or_default();
    if !r.not_in_trade_register {
        need(!blank(&reg.register), "trade_register.register");
        need(!blank(&reg.number), "trade_register.number");
    }
    need(r.self_certification == Some(true), "self_certification");

    let mut finding = |field: &str, result: Result<String, formats::Refusal>| {
        if let Err(e) = result {
            c.findings.push(Finding { field: field.to_string(), message: e.to_string() });
        }
    };
    if let Some(v) = a.country.as_deref().filter(|s| !s.trim().is_empty()) {
        finding("address.country", formats::country(v));
    }
    if let Some(v) = r.phone.as_deref().filter(|s| !s.trim().is_empty()) {
        finding("phone", formats::phone(v));
    }
    if let Some(v) = r.email.as_deref().filter(|s| !s.trim().is_empty()) {
        finding("email", formats::email(v));
    }
    if let Some(v) = id.kind.as_deref().filter(|s| !s.trim().is_empty()) {
        const KINDS: [&str; 5] = ["passport", "identity_card", "residence_permit", "eidas", "other"];
        if !KINDS.contains(&v) {
            finding(
                "identity_document.kind",
                Err(formats::Refusal::Format(format!("`{v}`: expected one of {}", KINDS.join(", ")))),
            );
        }
    }
    if let Some(v) = pay.iban.as_deref().filter(|s| !s.trim().is_empty()) {
        finding("payment_account.iban", formats::iban(v));
    }
    if let Some(v) = r.vat_number.as_deref().filter(|s| !s.trim().is_empty()) {
        finding("vat_number", formats::vat(v));
    }
    if let (Some(n), Some("FR")) = (reg.number.as_deref().filter(|s| !s.trim().is_empty()), reg.country.as_deref()) {
        finding("trade_register.number", formats::french_register(n));
    }
    if let Some(v) = r.language.as_deref() {
        if !(v.len() == 2 && v.bytes().all(|b| b.is_ascii_lowercase())) {
            finding("language", Err(formats::Refusal::Format(format!("`{v}` is not a language code (fr, en…)"))));
        }
    }
    c
}

/// A trader's record as stored.
#[derive(Clone, Debug, Serialize)]
pub struct Trader {
    pub seller_id: String,
    pub record: TraderRecord,
    /// `incomplete`, `unverified` or `verified`.
    pub status: String,
    #[serde(flatten)]
    pub checked: Checked,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<String>,
    pub audit_index: u64,
}

/// What screening needs of a trader record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub status: String,
    /// Missing fields, then fields failing a check, then `verification`
    /// when only a person's check is lacking.
    pub lacking: Vec<String>,
}

fn digest(record: &TraderRecord) -> Result<String, StoreError> {
    let v = serde_json::to_value(record).map_err(|e| StoreError::Invalid(e.to_string()))?;
    rempart_audit::canonical_digest(&v).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn from_row(r: &crate::Row) -> Result<Trader, StoreError> {
    let record: TraderRecord =
        serde_json::from_slice(&r.blob(1)?).map_err(|e| StoreError::Schema(format!("trader record: {e}")))?;
    let checked = check(&record);
    Ok(Trader {
        seller_id: r.text(0)?,
        record,
        status: r.text(2)?,
        checked,
        updated_at: time::rfc3339(r.int(3)?),
        verified_by: r.opt_text(4)?,
        verified_at: r.opt_int(5)?.map(time::rfc3339),
        audit_index: r.uint(6)?,
    })
}

const COLUMNS: &str = "seller_id, record, status, updated_at, verified_by, verified_at, audit_index";

pub fn get(tx: &mut Tx<'_>, seller_id: &str) -> Result<Option<Trader>, StoreError> {
    tx.query_opt(&format!("SELECT {COLUMNS} FROM traders WHERE seller_id = ?1"), &[seller_id.into()])?
        .map(|r| from_row(&r))
        .transpose()
}

/// Stores (or replaces) a trader's record; a changed record needs a new
/// verification.
pub fn put(tx: &mut Tx<'_>, seller_id: &str, record: TraderRecord, by: &str) -> Result<Trader, StoreError> {
    let checked = check(&record);
    let previous = get(tx, seller_id)?;
    let unchanged = previous.as_ref().is_some_and(|p| p.record == record);
    let status = match (&previous, checked.complete()) {
        (_, false) => "incomplete",
        (Some(p), true) if unchanged && p.status == "verified" => "verified",
        (_, true) => "unverified",
    };
    let record_digest = digest(&record)?;
    let appended = audit::append(
        tx,
        &[(
            EntryKind::Trader,
            json!({"action": "recorded", "seller_id": seller_id, "status": status, "missing": checked.missing,
                   "findings": checked.findings.iter().map(|f| &f.field).collect::<Vec<_>>(),
                   "record_digest": record_digest, "by": by}),
        )],
    )?;
    let body = serde_json::to_vec(&record).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let keep_verification = status == "verified";
    tx.exec(
        "INSERT INTO traders (seller_id, record, status, missing, language, updated_at, verified_by, verified_at, audit_index) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL, ?7) \
         ON CONFLICT (seller_id) DO UPDATE SET record = excluded.record, status = excluded.status, \
         missing = excluded.missing, language = excluded.language, updated_at = excluded.updated_at, \
         audit_index = excluded.audit_index, \
         verified_by = CASE WHEN ?8 = 1 THEN traders.verified_by ELSE NULL END, \
         verified_at = CASE WHEN ?8 = 1 THEN traders.verified_at ELSE NULL END",
        &[
            seller_id.into(),
            body.into(),
            status.into(),
            checked.missing.join(",").into(),
            record.language.clone().into(),
            Value::Int(time::now_ms()),
            Value::from(appended[0].index),
            Value::Int(i64::from(keep_verification)),
        ],
    )?;
    get(tx, seller_id)?.ok_or_else(|| StoreError::NotFound(format!("trader {seller_id}")))
}

/// A person verified the record (the identity document, the registers).
/// Refused while the record is incomplete.
pub fn verify(tx: &mut Tx<'_>, seller_id: &str, by: &str, note: Option<&str>) -> Result<Trader, StoreError> {
    let t = get(tx, seller_id)?.ok_or_else(|| StoreError::NotFound(format!("trader record of seller {seller_id}")))?;
    if !t.checked.complete() {
        let mut lacking = t.checked.missing.clone();
        lacking.extend(t.checked.findings.iter().map(|f| f.field.clone()));
        return Err(StoreError::Conflict(format!(
            "the trader record of {seller_id} is incomplete ({}); it cannot be verified",
            lacking.join(", ")
        )));
    }
    let appended = audit::append(
        tx,
        &[(
            EntryKind::Trader,
            json!({"action": "verified", "seller_id": seller_id, "by": by, "note": note,
                   "record_digest": digest(&t.record)?}),
        )],
    )?;
    tx.exec(
        "UPDATE traders SET status = 'verified', verified_by = ?2, verified_at = ?3, audit_index = ?4 WHERE seller_id = ?1",
        &[seller_id.into(), by.into(), Value::Int(time::now_ms()), Value::from(appended[0].index)],
    )?;
    get(tx, seller_id)?.ok_or_else(|| StoreError::NotFound(format!("trader {seller_id}")))
}

/// Deletes a record (Art. 30(5): six months after the relationship ends).
pub fn erase(tx: &mut Tx<'_>, seller_id: &str, by: &str) -> Result<(), StoreError> {
    if get(tx, seller_id)?.is_none() {
        return Err(StoreError::NotFound(format!("trader record of seller {seller_id}")));
    }
    audit::append(tx, &[(EntryKind::Trader, json!({"action": "erased", "seller_id": seller_id, "by": by}))])?;
    tx.exec("DELETE FROM traders WHERE seller_id = ?1", &[seller_id.into()])?;
    Ok(())
}

/// The status of each of `seller_ids` that has a record.
pub fn statuses(tx: &mut Tx<'_>, seller_ids: &[String]) -> Result<Vec<(String, Status)>, StoreError> {
    if seller_ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=seller_ids.len()).map(|i| format!("?{i}")).collect();
    let params: Vec<Value> = seller_ids.iter().map(|s| Value::from(s.as_str())).collect();
    let rows =
        tx.query(&format!("SELECT {COLUMNS} FROM traders WHERE seller_id IN ({})", marks.join(", ")), &params)?;
    rows.iter()
        .map(|r| {
            let t = from_row(r)?;
            let mut lacking = t.checked.missing.clone();
            lacking.extend(t.checked.findings.iter().map(|f| f.field.clone()));
            if lacking.is_empty() && t.status != "verified" {
                lacking.push("verification".into());
            }
            Ok((t.seller_id, Status { status: t.status, lacking }))
        })
        .collect()
}

/// The language a seller reads statements in, when their record says.
pub fn language(tx: &mut Tx<'_>, seller_id: &str) -> Result<Option<String>, StoreError> {
    Ok(tx
        .query_opt("SELECT language FROM traders WHERE seller_id = ?1", &[seller_id.into()])?
        .map(|r| r.opt_text(0))
        .transpose()?
        .flatten())
}
