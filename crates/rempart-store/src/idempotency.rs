//! `Idempotency-Key` replays (draft-ietf-httpapi-idempotency-key-header):
//! the first response to a key is kept and returned again for the same
//! request; the same key with a different request is refused.

use crate::backend::Value;
use crate::{time, StoreError, Tx};

/// A kept response.
pub struct Kept {
    pub request_digest: String,
    pub status: u16,
    pub response: Vec<u8>,
}

pub fn get(tx: &mut Tx<'_>, key_id: &str, idem_key: &str) -> Result<Option<Kept>, StoreError> {
    tx.query_opt(
        "SELECT request_digest, status, response FROM idempotency_keys WHERE key_id = ?1 AND idem_key = ?2",
        &[key_id.into(), idem_key.into()],
    )?
    .map(|r| {
        Ok(Kept { request_digest: r.text(0)?, status: u16::try_from(r.int(1)?).unwrap_or(200), response: r.blob(2)? })
    })
    .transpose()
}

/// Keeps a response; the first one for a key wins.
pub fn put(tx: &mut Tx<'_>, key_id: &str, idem_key: &str, kept: &Kept) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO idempotency_keys (key_id, idem_key, request_digest, status, response, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (key_id, idem_key) DO NOTHING",
        &[
            key_id.into(),
            idem_key.into(),
            kept.request_digest.clone().into(),
            Value::Int(i64::from(kept.status)),
            kept.response.clone().into(),
            Value::Int(time::now_ms()),
        ],
    )?;
    Ok(())
}

/// Forgets kept responses older than `max_age_ms` (run now and then).
pub fn expire(tx: &mut Tx<'_>, max_age_ms: i64) -> Result<u64, StoreError> {
    tx.exec("DELETE FROM idempotency_keys WHERE created_at < ?1", &[Value::Int(time::now_ms() - max_age_ms)])
}
