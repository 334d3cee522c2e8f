//! The removed-listings index behind the store: a block recorded now is
//! seen by the relisting check of the next submission, in this process
//! (which adds it to its in-memory index after the commit) and in every
//! other worker (which reads what was added since its last sequence).

use serde_json::Value as Json;

use crate::backend::Value;
use crate::{time, StoreError, Tx};

/// Adds one removal (the JSON the relisting index reads).
pub fn insert(tx: &mut Tx<'_>, listing_id: &str, decision_id: &str, entry: &Json) -> Result<u64, StoreError> {
    let seq = tx.query_one("SELECT COALESCE(MAX(seq), 0) + 1 FROM removed_listings", &[], "removed seq")?.uint(0)?;
    let bytes = serde_json::to_vec(entry).map_err(|e| StoreError::Invalid(e.to_string()))?;
    tx.exec(
        "INSERT INTO removed_listings (seq, listing_id, decision_id, entry, removed_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        &[Value::from(seq), listing_id.into(), decision_id.into(), bytes.into(), Value::Int(time::now_ms())],
    )?;
    Ok(seq)
}

/// Removals with a sequence number above `after`, in order.
pub fn since(tx: &mut Tx<'_>, after: u64, limit: u64) -> Result<Vec<(u64, Json)>, StoreError> {
    tx.query(
        "SELECT seq, entry FROM removed_listings WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        &[Value::from(after), Value::from(limit)],
    )?
    .into_iter()
    .map(|r| {
        let seq = r.uint(0)?;
        let entry = serde_json::from_slice(&r.blob(1)?)
            .map_err(|e| StoreError::Schema(format!("removed listing {seq} is not JSON: {e}")))?;
        Ok((seq, entry))
    })
    .collect()
}
