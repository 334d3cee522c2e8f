//! API keys and their roles.
//!
//! A key is `rk_<key id>_<secret>`: the id finds the row, the secret is
//! compared as an HMAC-SHA256 (keyed with the deployment's pepper) in
//! constant time. Only the HMAC is stored; the secret is shown once, when
//! the key is created. Every creation and revocation is an audit entry.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::audit::{self, EntryKind};
use crate::backend::Value;
use crate::{time, StoreError, Tx};

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The marketplace's listing service: submits listings, reads decisions.
    Submitter,
    /// A person deciding review items.
    Reviewer,
    /// Reads everything, changes nothing.
    Auditor,
    /// An authority: reads its own orders and the reports.
    Regulator,
    /// Submits notices (a trusted flagger, a rights holder's tool) and
    /// reads its own.
    Notifier,
    /// Manages keys and policy packs.
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] =
        [Role::Submitter, Role::Reviewer, Role::Auditor, Role::Regulator, Role::Notifier, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Submitter => "submitter",
            Role::Reviewer => "reviewer",
            Role::Auditor => "auditor",
            Role::Regulator => "regulator",
            Role::Notifier => "notifier",
            Role::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a role (submitter, reviewer, auditor, regulator, notifier, admin)"))
    }
}

/// A key as stored (without its secret).
#[derive(Clone, Debug, Serialize)]
pub struct ApiKey {
    pub key_id: String,
    pub role: Role,
    pub label: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Requests per minute allowed; `None`: the server's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_per_minute: Option<u32>,
    #[serde(skip)]
    pub secret_hash: Vec<u8>,
}

/// A key just created: the only time its secret exists outside the client.
#[derive(Clone, Debug, Serialize)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub key: ApiKey,
    pub secret: String,
}

fn mac(pepper: &[u8; 32], secret: &str) -> Vec<u8> {
    // HMAC accepts keys of any length; 32 bytes cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(pepper).expect("HMAC takes any key length");
    m.update(secret.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// The key id inside a presented secret, if it has our shape.
pub fn key_id_of(secret: &str) -> Option<&str> {
    let rest = secret.strip_prefix("rk_")?;
    let (id, tail) = rest.split_once('_')?;
    (id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()) && !tail.is_empty()).then_some(id)
}

/// Does `presented` match `key`? Constant time in the secret.
pub fn matches(key: &ApiKey, presented: &str, pepper: &[u8; 32]) -> bool {
    key.revoked_at.is_none() && bool::from(mac(pepper, presented).ct_eq(&key.secret_hash))
}

fn from_row(r: &crate::Row) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        key_id: r.text(0)?,
        role: r.text(1)?.parse().map_err(StoreError::Schema)?,
        label: r.text(2)?,
        created_at: time::rfc3339(r.int(3)?),
        revoked_at: r.opt_int(4)?.map(time::rfc3339),
        rate_per_minute: r.opt_int(5)?.and_then(|v| u32::try_from(v).ok()),
        secret_hash: r.blob(6)?,
    })
}

const COLUMNS: &str = "key_id, role, label, created_at, revoked_at, rate_per_minute, secret_hash";

/// Creates a key; `by` names who asked (a key id or `cli`).
pub fn create(
    tx: &mut Tx<'_>,
    pepper: &[u8; 32],
    role: Role,
    label: &str,
    rate_per_minute: Option<u32>,
    by: &str,
) -> Result<CreatedKey, StoreError> {
    let id_bytes = crate::keyfile::random_bytes()?;
    let key_id = hex::encode(&id_bytes[..6]);
    let secret_bytes = crate::keyfile::random_bytes()?;
    let secret = format!("rk_{key_id}_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret_bytes));
    let now = time::now_ms();
    tx.exec(
        &format!("INSERT INTO api_keys ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6)"),
        &[
            key_id.clone().into(),
            role.as_str().into(),
            label.into(),
            Value::Int(now),
            rate_per_minute.into(),
            mac(pepper, &secret).into(),
        ],
    )?;
    audit::append(
        tx,
        &[(
            EntryKind::KeyChange,
            json!({"action": "api_key_created", "key_id": key_id, "role": role.as_str(), "label": label, "by": by}),
        )],
    )?;
    let key = get(tx, &key_id)?;
    Ok(CreatedKey { key, secret })
}

pub fn get(tx: &mut Tx<'_>, key_id: &str) -> Result<ApiKey, StoreError> {
    let r = tx.query_one(
        &format!("SELECT {COLUMNS} FROM api_keys WHERE key_id = ?1"),
        &[key_id.into()],
        &format!("key {key_id}"),
    )?;
    from_row(&r)
}

pub fn list(tx: &mut Tx<'_>) -> Result<Vec<ApiKey>, StoreError> {
    tx.query(&format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at, key_id"), &[])?
        .iter()
        .map(from_row)
        .collect()
}

/// Revokes a key (it stays listed, for the record).
pub fn revoke(tx: &mut Tx<'_>, key_id: &str, by: &str) -> Result<ApiKey, StoreError> {
    let key = get(tx, key_id)?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    tx.exec("UPDATE api_keys SET revoked_at = ?2 WHERE key_id = ?1", &[key_id.into(), Value::Int(time::now_ms())])?;
    audit::append(
        tx,
        &[(
            EntryKind::KeyChange,
            json!({"action": "api_key_revoked", "key_id": key_id, "role": key.role.as_str(), "by": by}),
        )],
    )?;
    get(tx, key_id)
}
