//! Re-screening stored listings after a pack is activated: every live
//! listing's latest version is screened with the new gate, and each
//! decision that changes (verdict or rules) is recorded as a new decision
//! superseding the old one. Progress is kept in the store (`GET
//! /v1/rescans`); the server runs it in the background, `rempart policy
//! activate` in the foreground with a progress bar.

use std::sync::Arc;

use rempart_core::{Action, Decision, Gate, Listing};
use rempart_signals::Signals;
use rempart_store::records::{self, DecisionRecord, Origin, StoredDecision};
use rempart_store::{packs, removed, reviews, Store, StoreError};

use crate::error::ApiResult;
use crate::screening::ImageSource;
use crate::state::App;

const PAGE: u64 = 500;

fn same(a: &Decision, b: &Decision) -> bool {
    let rules =
        |d: &Decision| d.matches.iter().map(|m| (m.policy.clone(), m.rule.clone(), m.action)).collect::<Vec<_>>();
    a.verdict == b.verdict && rules(a) == rules(b)
}

/// One listing whose decision changes.
pub(crate) struct Change {
    pub origin: Origin,
    pub listing_id: String,
    pub version: u64,
    pub supersedes: String,
    pub digest: String,
    pub received_at: String,
    pub decision: Decision,
    pub removal: Option<rempart_signals::Removal>,
}

/// Registers a rescan of every live listing with `gate`; returns its id.
pub fn begin(store: &Store, gate: &Gate) -> Result<String, StoreError> {
    store.write(|tx| {
        let total = records::counts(tx)?.listings;
        packs::start_rescan(tx, &gate.pack().version, total)
    })
}

/// What a rescan did.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Outcome {
    pub listings: u64,
    pub changed: u64,
}

/// Runs rescan `id`: pages through live listings, records changed
/// decisions page by page (each page one transaction), and stops early
/// when `cancelled()` says so. `semantic`, when given, is the semantic
/// stage for `gate`'s pack (as on submission). `on_decision` sees each recorded decision
/// (metrics); `progress(done, changed)` after each page.
// The stages (signals, semantic) are separate optional inputs, as in
// `screening::screen_one`; bundling them would only rename the arguments.
#[allow(clippy::too_many_arguments)]
pub fn run(
    store: &Store,
    gate: &Gate,
    signals: Option<&Signals>,
    semantic: Option<&rempart_semantic::SemanticStage>,
    id: &str,
    cancelled: impl Fn() -> bool,
    mut on_decision: impl FnMut(&StoredDecision),
    mut progress: impl FnMut(u64, u64),
) -> Result<Outcome, StoreError> {
    let mut after = String::new();
    let mut out = Outcome::default();
    while !cancelled() {
        let (page, changes) = store.read(|tx| {
            let page = records::live_page(tx, &after, PAGE)?;
            // Stored bodies were accepted once; one that no longer parses
            // (a newer engine is stricter) keeps its decision.
            let parsed: Vec<(usize, Listing)> =
                page.iter().enumerate().filter_map(|(i, l)| Listing::from_json(&l.body).ok().map(|x| (i, x))).collect();
            let people = if crate::people::wanted(gate) {
                let listings: Vec<Listing> = parsed.iter().map(|(_, l)| l.clone()).collect();
                Some(crate::people::read(tx, gate, &listings)?)
            } else {
                None
            };
            let mut changes = Vec::new();
            for (i, listing) in parsed {
                let live = &page[i];
                let old = records::decision(tx, &live.current_decision)?;
                // A person's decision on this version stands: a new pack
                // does not overturn what a reviewer or an appeal decided.
                if matches!(old.record.origin, Origin::Review | Origin::Appeal) {
                    continue;
                }
                let screened = crate::screening::screen_one(
                    gate,
                    None,
                    signals,
                    people.as_ref(),
                    semantic,
                    listing,
                    ImageSource::Fetch,
                );
                if !same(&old.record.decision, &screened.decision) {
                    changes.push(Change {
                        origin: Origin::Rescan,
                        listing_id: live.listing_id.clone(),
                        version: live.version,
                        supersedes: live.current_decision.clone(),
                        digest: old.record.listing_digest.clone(),
                        received_at: old.record.received_at.clone(),
                        decision: screened.decision,
                        removal: screened.removal,
                    });
                }
            }
            Ok((page.into_iter().map(|p| p.listing_id).collect::<Vec<_>>(), changes))
        })?;
        let Some(last) = page.last() else { break };
        after = last.clone();
        out.listings += page.len() as u64;
        let (recorded, removals) = store.write(|tx| record_changes(tx, gate, changes))?;
        out.changed += recorded.len() as u64;
        store.write(|tx| packs::rescan_progress(tx, id, out.listings, out.changed, false))?;
        for s in &recorded {
            on_decision(s);
        }
        if let Some(signals) = signals {
            for r in removals {
                let _ = signals.add_removed(r);
            }
        }
        progress(out.listings, out.changed);
    }
    store.write(|tx| packs::rescan_progress(tx, id, out.listings, out.changed, !cancelled()))?;
    Ok(out)
}

/// Records each change whose listing still has the version and decision
/// it was made from (a change made from an outdated state is dropped: what
/// replaced that state was decided on its own), with its review and its
/// removal.
pub(crate) fn record_changes(
    tx: &mut rempart_store::Tx<'_>,
    gate: &Gate,
    changes: Vec<Change>,
) -> Result<(Vec<StoredDecision>, Vec<rempart_signals::Removal>), StoreError> {
    let mut stored = Vec::new();
    let mut removals = Vec::new();
    for c in changes {
        // Skip a listing changed since it was read: its new version was
        // screened by the new pack on submission.
        let still = records::current(tx, &c.listing_id)?
            .is_some_and(|(v, _, decision)| v == c.version && decision == c.supersedes);
        if !still {
            continue;
        }
        let seed = crate::screening::review_seed(gate, &c.decision);
        let record = DecisionRecord {
            decision_id: String::new(),
            listing_id: c.listing_id,
            listing_version: c.version,
            listing_digest: c.digest,
            received_at: c.received_at,
            decided_at: String::new(),
            origin: c.origin,
            decided_by: "rempart".into(),
            supersedes: Some(c.supersedes),
            reason: None,
            decision: c.decision,
        };
        let s = records::insert_decision(tx, record, None)?;
        reviews::supersede_for_listing(tx, &s.record.listing_id)?;
        if let Some(seed) = seed {
            reviews::open(tx, &s, seed)?;
        }
        if let (Action::Block, Some(r)) = (s.record.decision.verdict, c.removal) {
            let entry = serde_json::to_value(&r).map_err(|e| StoreError::Invalid(e.to_string()))?;
            removed::insert(tx, &s.record.listing_id, &s.record.decision_id, &entry)?;
            removals.push(r);
        }
        stored.push(s);
    }
    Ok((stored, removals))
}

/// Starts a rescan in the background of the server; returns its id. It
/// stops when another pack is activated.
pub async fn start(app: &App, gate: Arc<Gate>) -> ApiResult<String> {
    let (store, g) = (app.store.clone(), gate.clone());
    let id = tokio::task::spawn_blocking(move || begin(&store, &g)).await.map_err(|_| {
        crate::error::ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", "rescan")
    })??;
    let (app2, id2) = (app.clone(), id.clone());
    tokio::task::spawn_blocking(move || {
        let cancelled = || !Arc::ptr_eq(&app2.live.load_full(), &gate);
        let semantic = app2.semantic_for(&gate);
        let result = run(
            &app2.store,
            &gate,
            app2.signals.as_deref(),
            semantic.as_deref(),
            &id2,
            cancelled,
            |s| app2.metrics.record_decision(&s.record.decision, "rescan"),
            |_, _| {},
        );
        match result {
            Ok(o) => tracing::info!(rescan_id = %id2, listings = o.listings, changed = o.changed, "rescan finished"),
            Err(e) => tracing::error!(rescan_id = %id2, "rescan stopped: {e}"),
        }
    });
    Ok(id)
}
