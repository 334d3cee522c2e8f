//! Policy pack versions: uploaded (with the result of their own tests),
//! activated as `live`, or run in `shadow` beside the live one. Each
//! upload and each activation is an audit entry; a decision names the
//! pack version it was made with, and this table keeps that pack's text.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{self, EntryKind};
use crate::backend::Value;
use crate::{time, StoreError, Tx};

/// A pack as stored: its files by relative path.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredPack {
    pub pack_version: String,
    pub name: String,
    #[serde(skip_serializing)]
    pub files: BTreeMap<String, String>,
    pub uploaded_at: String,
    pub uploaded_by: String,
    pub tests_passed: u64,
    pub tests_failed: u64,
    pub engine_version: String,
    /// `live`, `shadow`, or none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// The two roles a pack can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackRole {
    Live,
    Shadow,
}

impl PackRole {
    pub fn as_str(self) -> &'static str {
        match self {
            PackRole::Live => "live",
            PackRole::Shadow => "shadow",
        }
    }
}

/// What an upload carries.
pub struct Upload<'a> {
    pub pack_version: &'a str,
    pub name: &'a str,
    pub files: &'a BTreeMap<String, String>,
    pub tests_passed: u64,
    pub tests_failed: u64,
    pub engine_version: &'a str,
    pub by: &'a str,
}

/// Stores a pack version; uploading the same version again is a no-op.
/// Returns whether it was new.
pub fn upload(tx: &mut Tx<'_>, u: Upload<'_>) -> Result<bool, StoreError> {
    if tx.query_opt("SELECT 1 FROM packs WHERE pack_version = ?1", &[u.pack_version.into()])?.is_some() {
        return Ok(false);
    }
    let files = serde_json::to_vec(u.files).map_err(|e| StoreError::Invalid(e.to_string()))?;
    tx.exec(
        "INSERT INTO packs (pack_version, name, files, uploaded_at, uploaded_by, tests_passed, tests_failed, engine_version) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &[
            u.pack_version.into(),
            u.name.into(),
            files.into(),
            Value::Int(time::now_ms()),
            u.by.into(),
            Value::from(u.tests_passed),
            Value::from(u.tests_failed),
            u.engine_version.into(),
        ],
    )?;
    audit::append(
        tx,
        &[(
            EntryKind::PolicyUpload,
            json!({
                "pack_version": u.pack_version, "name": u.name, "files": u.files.keys().collect::<Vec<_>>(),
                "tests_passed": u.tests_passed, "tests_failed": u.tests_failed,
                "engine_version": u.engine_version, "by": u.by,
            }),
        )],
    )?;
    Ok(true)
}

fn from_row(r: &crate::Row) -> Result<StoredPack, StoreError> {
    let files: BTreeMap<String, String> =
        serde_json::from_slice(&r.blob(2)?).map_err(|e| StoreError::Schema(format!("stored pack files: {e}")))?;
    Ok(StoredPack {
        pack_version: r.text(0)?,
        name: r.text(1)?,
        files,
        uploaded_at: time::rfc3339(r.int(3)?),
        uploaded_by: r.text(4)?,
        tests_passed: r.uint(5)?,
        tests_failed: r.uint(6)?,
        engine_version: r.text(7)?,
        role: r.opt_text(8)?,
    })
}

const SELECT: &str = "SELECT p.pack_version, p.name, p.files, p.uploaded_at, p.uploaded_by, p.tests_passed, \
                      p.tests_failed, p.engine_version, r.role FROM packs p \
                      LEFT JOIN pack_roles r ON r.pack_version = p.pack_version";

pub fn get(tx: &mut Tx<'_>, version: &str) -> Result<StoredPack, StoreError> {
    let r =
        tx.query_one(&format!("{SELECT} WHERE p.pack_version = ?1"), &[version.into()], &format!("pack {version}"))?;
    from_row(&r)
}

pub fn list(tx: &mut Tx<'_>) -> Result<Vec<StoredPack>, StoreError> {
    tx.query(&format!("{SELECT} ORDER BY p.uploaded_at"), &[])?.iter().map(from_row).collect()
}

/// The pack holding `role`, if any.
pub fn holder(tx: &mut Tx<'_>, role: PackRole) -> Result<Option<StoredPack>, StoreError> {
    match holder_version(tx, role)? {
        Some(version) => get(tx, &version).map(Some),
        None => Ok(None),
    }
}

/// The version of the pack holding `role`, without its files: what a
/// server polls to learn that another process activated a pack.
pub fn holder_version(tx: &mut Tx<'_>, role: PackRole) -> Result<Option<String>, StoreError> {
    tx.query_opt("SELECT pack_version FROM pack_roles WHERE role = ?1", &[role.as_str().into()])?
        .map(|r| r.text(0))
        .transpose()
}

/// Gives `role` to a stored pack (audited). A pack whose tests failed is
/// refused as live.
pub fn assign(tx: &mut Tx<'_>, role: PackRole, version: &str, by: &str) -> Result<u64, StoreError> {
    let pack = get(tx, version)?;
    if role == PackRole::Live && pack.tests_failed > 0 {
        return Err(StoreError::Invalid(format!(
            "pack {version} failed {} of its test cases: it cannot be activated",
            pack.tests_failed
        )));
    }
    let previous = tx
        .query_opt("SELECT pack_version FROM pack_roles WHERE role = ?1", &[role.as_str().into()])?
        .map(|r| r.text(0))
        .transpose()?;
    let entry = audit::append(
        tx,
        &[(
            EntryKind::PolicyActivation,
            json!({"role": role.as_str(), "pack_version": version, "name": pack.name, "previous": previous, "by": by}),
        )],
    )?;
    let index = entry[0].index;
    // A pack is live or shadow, not both.
    tx.exec("DELETE FROM pack_roles WHERE pack_version = ?1", &[version.into()])?;
    tx.exec(
        "INSERT INTO pack_roles (role, pack_version, since, audit_index) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (role) DO UPDATE SET pack_version = excluded.pack_version, since = excluded.since, \
         audit_index = excluded.audit_index",
        &[role.as_str().into(), version.into(), Value::Int(time::now_ms()), Value::from(index)],
    )?;
    Ok(index)
}

/// Stops the shadow run (audited).
pub fn clear_shadow(tx: &mut Tx<'_>, by: &str) -> Result<(), StoreError> {
    if let Some(p) = holder(tx, PackRole::Shadow)? {
        audit::append(
            tx,
            &[(
                EntryKind::PolicyActivation,
                json!({"role": "shadow", "pack_version": null, "previous": p.pack_version, "by": by}),
            )],
        )?;
        tx.exec("DELETE FROM pack_roles WHERE role = 'shadow'", &[])?;
    }
    Ok(())
}

/// A listing on which the shadow pack would have decided otherwise.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Disagreement {
    pub listing_id: String,
    pub version: u64,
    pub live_version: String,
    pub shadow_version: String,
    pub live_verdict: String,
    pub shadow_verdict: String,
    /// `policy/rule` of each match.
    pub live_rules: Vec<String>,
    pub shadow_rules: Vec<String>,
    pub shadow_decision: serde_json::Value,
    pub recorded_at: String,
}

pub fn record_disagreement(tx: &mut Tx<'_>, d: &Disagreement) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO shadow_disagreements (disagreement_id, shadow_version, live_version, listing_id, version, \
         live_verdict, shadow_verdict, live_rules, shadow_rules, shadow_decision, recorded_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        &[
            uuid::Uuid::now_v7().to_string().into(),
            d.shadow_version.clone().into(),
            d.live_version.clone().into(),
            d.listing_id.clone().into(),
            Value::from(d.version),
            d.live_verdict.clone().into(),
            d.shadow_verdict.clone().into(),
            d.live_rules.join(" ").into(),
            d.shadow_rules.join(" ").into(),
            serde_json::to_vec(&d.shadow_decision).unwrap_or_default().into(),
            Value::Int(time::now_ms()),
        ],
    )?;
    Ok(())
}

/// Disagreements of a shadow version, oldest first.
pub fn disagreements(tx: &mut Tx<'_>, shadow_version: &str, limit: u64) -> Result<Vec<Disagreement>, StoreError> {
    tx.query(
        "SELECT listing_id, version, live_version, shadow_version, live_verdict, shadow_verdict, live_rules, \
         shadow_rules, shadow_decision, recorded_at FROM shadow_disagreements WHERE shadow_version = ?1 \
         ORDER BY recorded_at, disagreement_id LIMIT ?2",
        &[shadow_version.into(), Value::from(limit)],
    )?
    .iter()
    .map(|r| {
        let split = |s: String| s.split(' ').filter(|x| !x.is_empty()).map(String::from).collect();
        Ok(Disagreement {
            listing_id: r.text(0)?,
            version: r.uint(1)?,
            live_version: r.text(2)?,
            shadow_version: r.text(3)?,
            live_verdict: r.text(4)?,
            shadow_verdict: r.text(5)?,
            live_rules: split(r.text(6)?),
            shadow_rules: split(r.text(7)?),
            shadow_decision: serde_json::from_slice(&r.blob(8)?).unwrap_or_default(),
            recorded_at: time::rfc3339(r.int(9)?),
        })
    })
    .collect()
}

/// Shadow versions that have disagreements, most recent first.
pub fn shadow_versions(tx: &mut Tx<'_>) -> Result<Vec<String>, StoreError> {
    tx.query(
        "SELECT shadow_version FROM shadow_disagreements GROUP BY shadow_version ORDER BY MAX(recorded_at) DESC",
        &[],
    )?
    .iter()
    .map(|r| r.text(0))
    .collect()
}

/// A background re-screening of live listings.
#[derive(Clone, Debug, Serialize)]
pub struct Rescan {
    pub rescan_id: String,
    pub pack_version: String,
    pub started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    pub total: u64,
    pub done: u64,
    pub changed: u64,
    pub status: String,
}

pub fn start_rescan(tx: &mut Tx<'_>, pack_version: &str, total: u64) -> Result<String, StoreError> {
    let id = uuid::Uuid::now_v7().to_string();
    // One rescan at a time: a newer activation supersedes the old run.
    tx.exec(
        "UPDATE rescans SET status = 'superseded', finished_at = ?1 WHERE status = 'running'",
        &[Value::Int(time::now_ms())],
    )?;
    tx.exec(
        "INSERT INTO rescans (rescan_id, pack_version, started_at, total, done, changed, status) \
         VALUES (?1, ?2, ?3, ?4, 0, 0, 'running')",
        &[id.clone().into(), pack_version.into(), Value::Int(time::now_ms()), Value::from(total)],
    )?;
    Ok(id)
}

pub fn rescan_progress(tx: &mut Tx<'_>, id: &str, done: u64, changed: u64, finished: bool) -> Result<(), StoreError> {
    tx.exec(
        "UPDATE rescans SET done = ?2, changed = ?3, status = CASE WHEN ?4 = 1 THEN 'finished' ELSE status END, \
         finished_at = CASE WHEN ?4 = 1 THEN ?5 ELSE finished_at END WHERE rescan_id = ?1 AND status = 'running'",
        &[id.into(), Value::from(done), Value::from(changed), Value::from(finished), Value::Int(time::now_ms())],
    )?;
    Ok(())
}

pub fn rescans(tx: &mut Tx<'_>, limit: u64) -> Result<Vec<Rescan>, StoreError> {
    tx.query(
        "SELECT rescan_id, pack_version, started_at, finished_at, total, done, changed, status FROM rescans \
         ORDER BY started_at DESC LIMIT ?1",
        &[Value::from(limit)],
    )?
    .iter()
    .map(|r| {
        Ok(Rescan {
            rescan_id: r.text(0)?,
            pack_version: r.text(1)?,
            started_at: time::rfc3339(r.int(2)?),
            finished_at: r.opt_int(3)?.map(time::rfc3339),
            total: r.uint(4)?,
            done: r.uint(5)?,
            changed: r.uint(6)?,
            status: r.text(7)?,
        })
    })
    .collect()
}
