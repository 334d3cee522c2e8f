//! Screening inside the service: the same pure gate as the CLI, on
//! blocking threads, failing closed.
//!
//! A listing whose screening panics, or a request whose screening outlives
//! its deadline, is decided `review` with the reason in `signal_errors`:
//! recorded, never dropped and never allowed (DESIGN.md, "The record").

use std::panic::{catch_unwind, AssertUnwindSafe};

use rempart_core::{Action, Decision, Gate, Listing, SignalError};
use rempart_signals::{Images, Removal, Signals};
use rempart_store::reviews::{Seed, Source};

use crate::people::SellerFacts;
use crate::state::App;

/// One listing screened.
pub struct Screened {
    pub listing: Listing,
    pub decision: Decision,
    /// What the shadow pack would have decided, when one runs.
    pub shadow: Option<Decision>,
    /// Its entry for the removed-listings index, when it is blocked.
    pub removal: Option<Removal>,
    /// Its images, still downloading at the deadline: decided without
    /// them, to be decided again when they arrive.
    pub arriving: Option<crate::images::Arriving>,
}

/// Where a listing's images come from when it is screened.
pub enum ImageSource {
    /// Downloaded now, on this thread (rescans).
    Fetch,
    /// Acquired beforehand: arrived in time, or left pending.
    Given(Images),
}

/// A decision made without the gate's verdict: `review`, with the reason.
pub fn fail_closed(gate: &Gate, listing_id: &str, code: &str, message: String) -> Decision {
    Decision {
        id: listing_id.to_string(),
        verdict: Action::Review,
        matches: Vec::new(),
        policy_version: gate.pack().version.clone(),
        engine_version: rempart_core::ENGINE_VERSION.to_string(),
        schema_version: rempart_core::DECISION_SCHEMA_VERSION,
        signal_errors: vec![SignalError { source: "screening".into(), code: code.into(), message }],
    }
}

/// Some block rests on the listing itself, not only on the seller's
/// standing.
fn blocked_for_content(decision: &Decision) -> bool {
    decision
        .matches
        .iter()
        .filter(|m| m.action == Action::Block)
        .any(|m| m.evidence.is_empty() || m.evidence.iter().any(|e| !e.signal.starts_with("seller_")))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

pub fn screen_one(
    gate: &Gate,
    shadow: Option<&Gate>,
    signals: Option<&Signals>,
    people: Option<&SellerFacts>,
    semantic: Option<&rempart_semantic::SemanticStage>,
    listing: Listing,
    images: ImageSource,
) -> Screened {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let computed = signals.map(|s| match &images {
            ImageSource::Fetch => s.compute(&listing),
            ImageSource::Given(images) => s.compute_from(&listing, images),
        });
        let mut external = computed.as_ref().map(|c| c.external.clone()).unwrap_or_default();
        if let Some(p) = people {
            p.fire(&listing, &mut external);
        }
        let mut decision = match semantic {
            Some(stage) => stage.screen(gate, &listing, &external).decision,
            None => gate.screen_with(&listing, &external),
        };
        // A borderline listing (publishable under a condition) of a seller
        // with strikes: screened again with that fact.
        if decision.verdict == Action::Restrict && people.is_some_and(|p| p.fire_prior_strikes(&listing, &mut external))
        {
            decision = gate.screen_with(&listing, &external);
        }
        let shadow = shadow.map(|g| g.screen_with(&listing, &external));
        let removal = match (&computed, decision.verdict) {
            // A block for the seller's standing alone says nothing about
            // the listing's content: not a removal to watch for.
            (Some(c), Action::Block)
                if signals.is_some_and(Signals::checks_relisting) && blocked_for_content(&decision) =>
            {
                let by = decision
                    .matches
                    .first()
                    .map(|m| format!("rempart {}/{} ({})", m.policy, m.rule, decision.policy_version))
                    .unwrap_or_default();
                Some(Removal::of(&listing, &by, c.image_hashes.clone()))
            }
            _ => None,
        };
        (decision, shadow, removal)
    }));
    match outcome {
        Ok((decision, shadow, removal)) => Screened { listing, decision, shadow, removal, arriving: None },
        Err(payload) => {
            let message = format!("screening panicked: {}", panic_message(payload.as_ref()));
            tracing::error!(listing_id = %listing.id, "{message}");
            let decision = fail_closed(gate, &listing.id, "screening_panicked", message);
            Screened { listing, decision, shadow: None, removal: None, arriving: None }
        }
    }
}

/// Listings per blocking task: enough to amortise the hand-off, few
/// enough that a batch spreads over the cores.
const CHUNK: usize = 64;

/// Screens listings with the live gate (and the shadow one), in order.
/// Images to download are started first and waited for until the image
/// deadline (see [`crate::images`]); screening itself never touches the
/// network.
pub async fn screen(app: &App, listings: Vec<Listing>) -> Vec<Screened> {
    let gate = app.live.load_full();
    let shadow = app.shadow.load_full();
    let signals = app.signals.clone();
    let semantic = app.semantic_for(&gate);
    // The sellers' standing, read once for the batch. Unreadable, it
    // cannot be assumed clean: every listing goes to a person.
    let people = if crate::people::wanted(&gate) && !listings.is_empty() {
        let (g, batch) = (gate.clone(), listings.clone());
        match app.read(move |tx| crate::people::read(tx, &g, &batch)).await {
            Ok(facts) => Some(std::sync::Arc::new(facts)),
            Err(e) => {
                tracing::error!("reading the sellers' standing: {}; the batch goes to review", e.message);
                let why = format!("the sellers' standing could not be read: {}", e.message);
                return listings
                    .into_iter()
                    .map(|l| Screened {
                        decision: fail_closed(&gate, &l.id, "seller_standing_unavailable", why.clone()),
                        listing: l,
                        shadow: None,
                        removal: None,
                        arriving: None,
                    })
                    .collect();
            }
        }
    } else {
        None
    };
    let (sources, mut arriving) = acquire_images(app, &listings).await;
    let mut tasks = Vec::new();
    let mut rest: Vec<(Listing, ImageSource)> = listings.into_iter().zip(sources).collect();
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(CHUNK));
        let chunk = std::mem::replace(&mut rest, tail);
        let ids: Vec<String> = chunk.iter().map(|(l, _)| l.id.clone()).collect();
        let (gate, shadow, signals, people, semantic) =
            (gate.clone(), shadow.clone(), signals.clone(), people.clone(), semantic.clone());
        let slots = app.screening_slots.clone();
        let task = tokio::spawn(async move {
            // Waiting for a slot counts against the deadline like the work.
            let _slot = slots.acquire_owned().await.map_err(|e| e.to_string())?;
            tokio::task::spawn_blocking(move || {
                chunk
                    .into_iter()
                    .map(|(l, images)| {
                        screen_one(
                            &gate,
                            shadow.as_deref(),
                            signals.as_deref(),
                            people.as_deref(),
                            semantic.as_deref(),
                            l,
                            images,
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|e| e.to_string())
        });
        tasks.push((ids, task));
    }
    let deadline = tokio::time::Instant::now() + app.limits.screen_timeout;
    let mut out = Vec::new();
    for (ids, task) in tasks {
        let joined =
            tokio::time::timeout_at(deadline, task).await.map(|j| j.map_err(|e| e.to_string()).and_then(|r| r));
        let (code, why) = match joined {
            Ok(Ok(screened)) => {
                out.extend(screened);
                continue;
            }
            Ok(Err(e)) => ("screening_panicked", format!("screening task failed: {e}")),
            Err(_) => ("screening_timed_out", format!("screening took longer than {:?}", app.limits.screen_timeout)),
        };
        tracing::error!("{why}; {} listing(s) recorded as review", ids.len());
        out.extend(ids.into_iter().map(|id| Screened {
            listing: Listing::new(id.clone(), String::new()),
            decision: fail_closed(&gate, &id, code, why.clone()),
            shadow: None,
            removal: None,
            arriving: None,
        }));
    }
    for (screened, arriving) in out.iter_mut().zip(arriving.iter_mut()) {
        screened.arriving = arriving.take();
    }
    out
}

/// Each listing's images: those that arrive by the image deadline, the
/// others pending (their downloads, still running, returned beside them).
async fn acquire_images(app: &App, listings: &[Listing]) -> (Vec<ImageSource>, Vec<Option<crate::images::Arriving>>) {
    let Some(signals) = app.signals.clone().filter(|s| s.fetch_concurrency().is_some()) else {
        let sources = listings.iter().map(|_| ImageSource::Given(Images::default())).collect();
        return (sources, listings.iter().map(|_| None).collect());
    };
    let started: Vec<_> = listings
        .iter()
        .map(|l| signals.fetches_images_of(l).then(|| app.images.start(signals.clone(), l.clone())))
        .collect();
    let deadline = tokio::time::Instant::now() + app.limits.image_deadline;
    let mut sources = Vec::with_capacity(listings.len());
    let mut arriving = Vec::with_capacity(listings.len());
    for (listing, started) in listings.iter().zip(started) {
        let not_fetched = |code: &str, why: &str| ImageSource::Given(signals.images_not_fetched(listing, code, why));
        let (source, later) = match started {
            None => (ImageSource::Given(signals.images_pending(listing)), None),
            Some(None) => {
                let why = "not fetched: too many listings are waiting for their images (resubmit to try again)";
                (not_fetched(crate::images::IMAGE_QUEUE_FULL, why), None)
            }
            Some(Some(mut handle)) => match tokio::time::timeout_at(deadline, &mut handle).await {
                Ok(Ok(Some(images))) => (ImageSource::Given(images), None),
                Ok(_) => {
                    tracing::error!(listing_id = %listing.id, "image download task failed");
                    (not_fetched("image_fetch_failed", "not fetched: the download task failed"), None)
                }
                Err(_) => (ImageSource::Given(signals.images_pending(listing)), Some(handle)),
            },
        };
        sources.push(source);
        arriving.push(later);
    }
    (sources, arriving)
}

/// Where a `review` verdict goes in the queue.
pub fn review_seed(gate: &Gate, decision: &Decision) -> Option<Seed> {
    if decision.verdict != Action::Review {
        return None;
    }
    let pack = gate.pack();
    let reviewing: Vec<_> = decision.matches.iter().filter(|m| m.action == Action::Review).collect();
    let relisting = !reviewing.is_empty()
        && reviewing.iter().all(|m| m.evidence.iter().any(|e| e.signal.starts_with("near_duplicate")));
    let mut policies: Vec<String> = decision.matches.iter().map(|m| m.policy.clone()).collect();
    policies.dedup();
    // Failing closed with no match: the most severe, a person must look now.
    let severity = if decision.matches.is_empty() {
        i64::from(u32::MAX >> 1)
    } else {
        decision.matches.iter().filter_map(|m| pack.policy(&m.policy)).map(|p| i64::from(p.severity)).max().unwrap_or(0)
    };
    Some(Seed { source: if relisting { Source::Relisting } else { Source::Detection }, severity, policies })
}
