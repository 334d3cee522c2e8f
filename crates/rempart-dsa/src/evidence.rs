//! Evidence bundles: everything the record holds about one listing, in
//! one file a court or a prosecutor can check offline, without the
//! platform's database and without trusting the platform.
//!
//! A bundle carries every version of the listing exactly as received,
//! every decision on it as its audit-log entry (the exact bytes), an
//! inclusion proof of each entry against one signed tree head, the
//! listing's history (the audit entries of its review items, notices and
//! orders, appeals and strikes, with their proofs), the policy text of
//! each pack version that decided, and the log's public keys.
//! [`verify`] checks that the head is signed by a trusted key, that each
//! entry is in the signed log, that each version is the one the logged
//! decision names (its canonical digest), and that each policy text is
//! the one whose hash the decision names, that each history entry is in
//! the log and about this listing — and says exactly what was altered
//! when something was. (An inclusion proof shows an entry is in the log;
//! it cannot show that no other entry about the listing exists: the
//! history is as complete as the platform made it.)

use std::collections::BTreeMap;

use rempart_audit::{
    canonical_digest, sha256_digest, verify_entry, InclusionProof, KeyRing, SignedTreeHead, SignedTreeHeadJson,
};
use rempart_core::Pack;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The format tag of this bundle layout.
pub const FORMAT: &str = "rempart-evidence/1";

/// One version of the listing, as received.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BundleVersion {
    pub version: u64,
    pub received_at: String,
    /// The listing's JSON exactly as the marketplace submitted it.
    pub listing: String,
}

/// One audit-log entry and its inclusion proof.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BundleEntry {
    /// The entry's exact bytes (canonical JSON, UTF-8).
    pub entry: String,
    pub proof: InclusionProof,
}

/// The bundle.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Bundle {
    pub format: String,
    pub listing_id: String,
    pub exported_at: String,
    pub versions: Vec<BundleVersion>,
    pub entries: Vec<BundleEntry>,
    /// The listing's other audit entries, in log order: review actions,
    /// notices and orders, appeals, strikes.
    #[serde(default)]
    pub history: Vec<BundleEntry>,
    /// Pack version → its files (path → text): the policy text that decided.
    pub packs: BTreeMap<String, BTreeMap<String, String>>,
    /// The signed tree head every proof leads to.
    pub head: SignedTreeHeadJson,
    /// The log's public keys as the platform published them (trust them only
    /// if obtained independently: `--vkey`).
    pub vkeys: Vec<String>,
}

/// What verification found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Verdict {
    /// Each alteration or inconsistency, naming the part of the bundle.
    pub findings: Vec<String>,
    /// What could not be checked (not an alteration).
    pub notes: Vec<String>,
    pub entries_verified: usize,
    pub history_verified: usize,
    pub versions_verified: usize,
    pub packs_verified: usize,
    pub tree_size: u64,
    pub signed_by: Option<String>,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }
}

/// The digest the record keeps of a listing version: `sha256:` of its
/// canonical JSON, or `raw-sha256:` of the bytes when they are not JSON.
pub fn listing_digest(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| canonical_digest(&v).ok())
        .unwrap_or_else(|| format!("raw-{}", sha256_digest(text.as_bytes())))
}

/// Checks a bundle offline. `trusted` are the platform's keys obtained
/// independently; `independent_head`, a head obtained independently (from
/// a witness, or the platform's publication at another time).
pub fn verify(bundle: &Bundle, trusted: &KeyRing, independent_head: Option<&SignedTreeHead>) -> Verdict {
    let mut v = Verdict::default();
    if bundle.format != FORMAT {
        v.findings.push(format!("format: `{}` is not {FORMAT}", bundle.format));
        return v;
    }
    let head = match bundle.head.to_signed() {
        Ok(h) => h,
        Err(e) => {
            v.findings.push(format!("head: the signed tree head is not consistent with its checkpoint text: {e}"));
            return v;
        }
    };
    match head.verify(trusted) {
        Ok(key) => v.signed_by = Some(key.id_hex()),
        Err(e) => {
            v.findings.push(format!("head: the signature does not verify with the trusted keys: {e}"));
            return v;
        }
    }
    v.tree_size = head.head().size;
    if let Some(other) = independent_head {
        match other.verify(trusted) {
            Err(e) => v.findings.push(format!("--head: the independent head does not verify: {e}")),
            Ok(_) if other.head().size == head.head().size && other.head().root != head.head().root => v.findings.push(format!(
                "head: the bundle's head and the independent head both claim {} entries with different roots: two histories were signed",
                other.head().size
            )),
            Ok(_) if other.head().size != head.head().size => v.notes.push(format!(
                "the independent head is of size {}, the bundle's of {}: comparing them needs a consistency proof (rempart audit watch)",
                other.head().size,
                head.head().size
            )),
            Ok(_) => {}
        }
    }

    // Versions by number, and which of them a logged decision covers.
    let mut covered = vec![false; bundle.versions.len()];
    for (i, e) in bundle.entries.iter().enumerate() {
        let place = format!("entries[{i}] (audit entry {})", e.proof.leaf_index);
        if let Err(err) = verify_entry(e.entry.as_bytes(), &e.proof, &head, trusted) {
            v.findings.push(format!("{place}: {err}"));
            continue;
        }
        v.entries_verified += 1;
        let Ok(entry) = serde_json::from_str::<Value>(&e.entry) else {
            v.findings.push(format!("{place}: not JSON"));
            continue;
        };
        if entry["index"].as_u64() != Some(e.proof.leaf_index) {
            v.findings.push(format!("{place}: the entry says it is entry {}", entry["index"]));
        }
        if entry["kind"] != "decision" {
            continue;
        }
        let data = &entry["data"];
        if data["listing_id"].as_str() != Some(bundle.listing_id.as_str()) {
            v.findings
                .push(format!("{place}: a decision on listing {}, not {}", data["listing_id"], bundle.listing_id));
            continue;
        }
        let number = data["listing_version"].as_u64().unwrap_or(0);
        match bundle.versions.iter().position(|x| x.version == number) {
            None => v.findings.push(format!("{place}: decides version {number}, which the bundle does not hold")),
            Some(k) => {
                let recorded = data["listing_digest"].as_str().unwrap_or_default();
                let actual = listing_digest(&bundle.versions[k].listing);
                if actual == recorded {
                    covered[k] = true;
                } else {
                    v.findings.push(format!(
                        "versions[{k}] (version {number}): the listing was altered: it hashes to {actual}, the logged decision ({place}) recorded {recorded}"
                    ));
                }
            }
        }
        let pack_version = data["decision"]["policy_version"].as_str().unwrap_or_default();
        match bundle.packs.get(pack_version) {
            None => v.notes.push(format!("{place}: the policy text of pack {pack_version} is not in the bundle")),
            Some(files) => match Pack::from_sources(files.iter().map(|(a, b)| (a.clone(), b.clone())).collect()) {
                Ok(p) if p.version == pack_version => {}
                Ok(p) => v.findings.push(format!(
                    "packs[{pack_version}]: the policy text was altered: it hashes to {}, the decision ({place}) names {pack_version}",
                    p.version
                )),
                Err(err) => v.findings.push(format!("packs[{pack_version}]: the policy text was altered: it no longer compiles: {err}")),
            },
        }
    }
    verify_history(bundle, &head, trusted, &mut v);
    for (k, version) in bundle.versions.iter().enumerate() {
        if covered[k] {
            v.versions_verified += 1;
        } else if !v.findings.iter().any(|f| f.starts_with(&format!("versions[{k}]"))) {
            v.findings.push(format!(
                "versions[{k}] (version {}): no logged decision in the bundle covers it",
                version.version
            ));
        }
    }
    v.packs_verified =
        bundle.packs.keys().filter(|p| !v.findings.iter().any(|f| f.starts_with(&format!("packs[{p}]")))).count();
    v
}

/// The ids an entry's data carries that tie it to a listing's record.
const LINKS: [&str; 5] = ["decision_id", "review_id", "notice_id", "appeal_id", "strike_id"];

/// A short name for a history entry: its kind and action.
pub fn describe(entry: &Value) -> String {
    let kind = entry["kind"].as_str().unwrap_or("entry");
    match entry["data"]["action"].as_str() {
        Some(action) => format!("{kind} {action}"),
        None => kind.to_string(),
    }
}

/// Checks the history entries: each is in the signed log, where it says it
/// is, and about this listing — it names the listing, or shares a review,
/// notice, appeal, strike or decision id with an entry that does.
fn verify_history(bundle: &Bundle, head: &SignedTreeHead, trusted: &KeyRing, v: &mut Verdict) {
    let parsed: Vec<Option<Value>> =
        bundle.entries.iter().chain(&bundle.history).map(|e| serde_json::from_str::<Value>(&e.entry).ok()).collect();
    let names_listing = |e: &Value| e["data"]["listing_id"].as_str() == Some(bundle.listing_id.as_str());
    let mut linked: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    // Ties spread from the entries that name the listing: two passes reach
    // an appeal's outcome through its review item.
    for _ in 0..3 {
        for e in parsed.iter().flatten() {
            let ids: Vec<String> =
                LINKS.iter().filter_map(|k| e["data"][*k].as_str().map(|x| format!("{k}={x}"))).collect();
            if names_listing(e) || ids.iter().any(|i| linked.contains(i)) {
                linked.extend(ids);
            }
        }
    }
    let mut previous = None;
    for (i, e) in bundle.history.iter().enumerate() {
        let place = format!("history[{i}] (audit entry {})", e.proof.leaf_index);
        if let Err(err) = verify_entry(e.entry.as_bytes(), &e.proof, head, trusted) {
            v.findings.push(format!("{place}: {err}"));
            continue;
        }
        let Some(entry) = &parsed[bundle.entries.len() + i] else {
            v.findings.push(format!("{place}: not JSON"));
            continue;
        };
        let place = format!("{place}, {}", describe(entry));
        if entry["index"].as_u64() != Some(e.proof.leaf_index) {
            v.findings.push(format!("{place}: the entry says it is entry {}", entry["index"]));
            continue;
        }
        if previous.is_some_and(|p| p >= e.proof.leaf_index) {
            v.findings.push(format!("{place}: out of log order (after entry {})", previous.unwrap_or_default()));
        }
        previous = Some(e.proof.leaf_index);
        match entry["data"]["listing_id"].as_str() {
            Some(other) if other != bundle.listing_id => {
                v.findings.push(format!("{place}: about listing {other}, not {}", bundle.listing_id));
                continue;
            }
            Some(_) => {}
            None => {
                let tied = LINKS
                    .iter()
                    .any(|k| entry["data"][*k].as_str().is_some_and(|x| linked.contains(&format!("{k}={x}"))));
                if !tied {
                    v.findings.push(format!("{place}: nothing ties it to listing {}", bundle.listing_id));
                    continue;
                }
            }
        }
        v.history_verified += 1;
    }
}
