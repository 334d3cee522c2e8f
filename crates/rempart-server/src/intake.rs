//! From a listing's bytes to its recorded decision: the one path that
//! `POST /v1/listings` and the stream worker ([`crate::stream`]) share.
//!
//! Parse each listing (a bad one is refused with its field, the others go
//! on), screen them all with the live and shadow packs, then record them
//! in one group-committed transaction, each in its own savepoint. After
//! the commit — never before — the removed-listings index learns the new
//! blocks and listings whose images were late are queued to be decided
//! again.

use rempart_core::{InputError, Listing};
use rempart_store::records::{self, Recorded, Submission};
use rempart_store::{packs, time, StoreError, Tx};
use serde_json::value::RawValue;
use serde_json::Value as Json;

use crate::error::{ApiError, ErrorDetail};
use crate::screening::{self, Screened};
use crate::state::App;

/// A listing as it came: its place in the request, its bytes, its digest.
struct Received {
    index: usize,
    body: Vec<u8>,
    digest: String,
}

/// Listings parsed from a request or a stream batch.
pub struct Parsed {
    listings: Vec<Listing>,
    received: Vec<Received>,
    /// Listings that are not valid, by their place, with the field at fault.
    pub refused: Vec<(usize, ErrorDetail)>,
}

/// What recording one listing gave, by its place in the input.
pub type Outcomes = Vec<(usize, Result<Recorded, StoreError>)>;

fn input_error(e: &InputError, prefix: &str) -> ErrorDetail {
    let field = e.field_name().map(|f| format!("{prefix}{f}"));
    ErrorDetail { code: "invalid_listing", message: e.to_string(), field }
}

/// `sha256:` of the listing's canonical JSON: key order and spacing do
/// not make a new version. A listing JCS cannot represent exactly (an
/// integer beyond 2^53) is identified by its bytes instead.
fn digest(raw: &RawValue) -> String {
    serde_json::from_str::<Json>(raw.get())
        .ok()
        .and_then(|v| rempart_audit::canonical_digest(&v).ok())
        .unwrap_or_else(|| format!("raw-{}", rempart_audit::sha256_digest(raw.get().as_bytes())))
}

/// Parses each listing; `prefix` names a listing's place in field paths
/// (`listings[3].` in a batch, nothing for a single listing).
pub fn parse(raws: &[&RawValue], prefix: impl Fn(usize) -> String) -> Parsed {
    let mut parsed = Parsed { listings: Vec::new(), received: Vec::new(), refused: Vec::new() };
    for (index, raw) in raws.iter().enumerate() {
        match Listing::from_json(raw.get().as_bytes()) {
            Ok(l) => {
                parsed.listings.push(l);
                parsed.received.push(Received { index, body: raw.get().as_bytes().to_vec(), digest: digest(raw) });
            }
            Err(e) => parsed.refused.push((index, input_error(&e, &prefix(index)))),
        }
    }
    parsed
}

fn rules(d: &rempart_core::Decision) -> Vec<String> {
    d.matches.iter().map(|m| format!("{}/{}", m.policy, m.rule)).collect()
}

fn disagreement(
    live: &rempart_core::Decision,
    shadow: &rempart_core::Decision,
    version: &str,
) -> Option<packs::Disagreement> {
    let (lr, sr) = (rules(live), rules(shadow));
    if live.verdict == shadow.verdict && lr == sr {
        return None;
    }
    Some(packs::Disagreement {
        listing_id: live.id.clone(),
        version: 0,
        live_version: live.policy_version.clone(),
        shadow_version: version.to_string(),
        live_verdict: live.verdict.to_string(),
        shadow_verdict: shadow.verdict.to_string(),
        live_rules: lr,
        shadow_rules: sr,
        shadow_decision: serde_json::to_value(shadow).unwrap_or_default(),
        recorded_at: String::new(),
    })
}

/// Screens and records the parsed listings for `submitted_by` (a key id).
/// `finish` runs inside the recording transaction, after every listing,
/// with their outcomes: what it writes (an idempotency record, say) is
/// committed with them. Returns the outcomes and what `finish` returned.
pub async fn screen_and_record<R, F>(
    app: &App,
    submitted_by: &str,
    parsed: Parsed,
    finish: F,
) -> Result<(Outcomes, R), ApiError>
where
    R: Send + 'static,
    F: FnOnce(&mut Tx<'_>, &Outcomes) -> Result<R, StoreError> + Send + 'static,
{
    let Parsed { listings, received, .. } = parsed;
    let received_at = time::now_ms();
    let started = std::time::Instant::now();
    let screened = screening::screen(app, listings).await;
    app.metrics.screening_seconds.with_label_values(&["live"]).observe(started.elapsed().as_secs_f64());

    let gate = app.live.load_full();
    let shadow_version = app.shadow.load().as_ref().map(|g| g.pack().version.clone());
    let mut submissions = Vec::with_capacity(screened.len());
    let mut removals = Vec::new();
    let mut arrivals = Vec::new();
    let mut disagreements = Vec::new();
    for (s, Received { index, body, digest }) in screened.into_iter().zip(received) {
        let Screened { listing, decision, shadow, removal, arriving } = s;
        if let (Some(shadow), Some(version)) = (shadow, &shadow_version) {
            if let Some(d) = disagreement(&decision, &shadow, version) {
                disagreements.push(d);
            }
        }
        let removal_json = removal.as_ref().and_then(|r| serde_json::to_value(r).ok());
        removals.push(removal);
        let listing_id = listing.id.clone();
        let seller_id = listing.seller.as_ref().and_then(|s| s.id.clone());
        arrivals.push(arriving.map(|a| (listing, a)));
        // Canonicalised here, in parallel across requests, not in the
        // single writer thread.
        let submission = records::CanonicalDecision::of(&decision).map(|canonical_decision| Submission {
            listing_id: listing_id.clone(),
            seller_id,
            body,
            digest,
            received_at,
            submitted_by: submitted_by.to_string(),
            review: screening::review_seed(&gate, &decision),
            decision,
            canonical_decision,
            removal: removal_json,
        });
        submissions.push((index, listing_id, submission));
    }

    // The request's listings in one savepoint, or each in its own if one
    // fails (`records::record_batch`); what follows them in one more.
    let (outcomes, finished) = app
        .write_in_parts(move |tx| {
            let (keys, submissions): (Vec<_>, Vec<_>) =
                submissions.into_iter().map(|(index, listing_id, s)| ((index, listing_id), s)).unzip();
            let recorded = records::record_batch(tx, &submissions);
            let mut out: Outcomes = Vec::with_capacity(recorded.len());
            for ((index, listing_id), recorded) in keys.into_iter().zip(recorded) {
                match &recorded {
                    Ok(Recorded::New(stored)) => {
                        for d in disagreements.iter_mut().filter(|d| d.listing_id == listing_id) {
                            d.version = stored.record.listing_version;
                        }
                    }
                    // Seen before: its disagreement, if any, is on record.
                    _ => disagreements.retain(|d| d.listing_id != listing_id),
                }
                out.push((index, recorded));
            }
            let finished = tx.savepoint(|tx| {
                for d in &disagreements {
                    packs::record_disagreement(tx, d)?;
                }
                finish(tx, &out)
            })?;
            Ok((out, finished))
        })
        .await?;
    after_commit(app, &outcomes, removals, arrivals);
    Ok((outcomes, finished))
}

/// What follows a commit: late images re-decide their listing, the
/// metrics and the removed-listings index learn the new decisions.
fn after_commit(
    app: &App,
    outcomes: &Outcomes,
    removals: Vec<Option<rempart_signals::Removal>>,
    arrivals: Vec<Option<(Listing, crate::images::Arriving)>>,
) {
    for (((_, r), removal), arrival) in outcomes.iter().zip(removals).zip(arrivals) {
        let r = r.as_ref().ok();
        // Images still on their way re-decide the listing when they
        // arrive, whether this request recorded its decision or found it
        // recorded by an identical submission.
        if let (Some(r), Some((listing, arriving))) = (r, arrival) {
            let pending = &r.decision().record.decision.signal_errors;
            if pending.iter().any(|e| e.code == rempart_signals::IMAGE_PENDING) {
                tokio::spawn(crate::images::redecide(app.clone(), r.decision().clone(), listing, arriving));
            }
        }
        let Some(Recorded::New(stored)) = r else { continue };
        app.metrics.record_decision(&stored.record.decision, "screening");
        if let (Some(removal), Some(signals)) = (removal, &app.signals) {
            if let Err(e) = signals.add_removed(removal) {
                tracing::warn!(listing_id = %stored.record.listing_id, "removed index: {e}");
            }
        }
    }
}
