//! Images in the service: downloaded ahead of screening, off the
//! request's path beyond a deadline, and re-decided when they arrive.
//!
//! A listing with image URLs (and fetching on) starts its downloads as
//! soon as it is parsed, bounded by a fixed number of slots. The request
//! waits for them until `Limits::image_deadline`; a listing whose images
//! have not all arrived by then is decided on its other signals, each
//! missing image named in `signal_errors` with
//! [`rempart_signals::IMAGE_PENDING`], and recorded. When the images
//! arrive, the listing is screened again with them and the new decision
//! is recorded with origin `images_arrived`, superseding the first,
//! unless a newer version or decision replaced it meanwhile.
//!
//! The downloads themselves are blocking (`rempart-fetch` on `ureq`):
//! each runs whole on one thread of tokio's blocking pool, which is also
//! why the fetcher's per-request peer record (a thread-local set and read
//! inside one call) is sound here. The slots bound how many of those
//! threads images can hold; `max_waiting` bounds the listings queued for
//! a slot, beyond which images are not fetched and the decision says so
//! (`image_queue_full`) rather than letting memory grow without limit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rempart_core::Listing;
use rempart_signals::{Images, Signals};
use rempart_store::records::{Origin, StoredDecision};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::screening::{screen_one, ImageSource};
use crate::state::App;

/// The code of the signal error when images are not fetched because too
/// many listings already wait for a download slot.
pub const IMAGE_QUEUE_FULL: &str = "image_queue_full";

/// Download slots and the count of listings holding or awaiting one.
pub struct ImageFetching {
    slots: Arc<Semaphore>,
    queued: Arc<AtomicUsize>,
    max_queued: usize,
}

/// A listing's images on their way.
pub type Arriving = JoinHandle<Option<Images>>;

impl ImageFetching {
    /// `concurrency` downloads at once (the signals config's), at most
    /// `max_queued` listings holding or waiting for a slot.
    pub fn new(concurrency: usize, max_queued: usize) -> ImageFetching {
        ImageFetching {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            queued: Arc::new(AtomicUsize::new(0)),
            max_queued,
        }
    }

    /// Listings holding or waiting for a download slot.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Starts downloading `listing`'s images; `None` when the queue is
    /// full. The task answers `None` only if the download panicked.
    pub fn start(&self, signals: Arc<Signals>, listing: Listing) -> Option<Arriving> {
        let queued = self.queued.fetch_add(1, Ordering::AcqRel);
        if queued >= self.max_queued {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let (slots, count) = (self.slots.clone(), self.queued.clone());
        Some(tokio::spawn(async move {
            // The semaphore is never closed, so acquiring only waits.
            let permit = slots.acquire_owned().await.ok();
            let images = tokio::task::spawn_blocking(move || signals.images(&listing)).await.ok();
            drop(permit);
            count.fetch_sub(1, Ordering::AcqRel);
            images
        }))
    }
}

/// Waits for `listing`'s images and records the decision they lead to,
/// superseding `decided` (the decision made without them). Runs detached
/// from the request that recorded `decided`.
pub async fn redecide(app: App, decided: StoredDecision, listing: Listing, arriving: Arriving) {
    let listing_id = listing.id.clone();
    let Ok(Some(images)) = arriving.await else {
        tracing::error!(listing_id = %listing_id, "image download task failed; the decision stays without images");
        return;
    };
    let gate = app.live.load_full();
    // The seller's standing applies as at the first screening (a
    // suspension must not be lost when the images arrive).
    let people = if crate::people::wanted(&gate) {
        let (g, batch) = (gate.clone(), vec![listing.clone()]);
        match app.read(move |tx| crate::people::read(tx, &g, &batch)).await {
            Ok(facts) => Some(facts),
            Err(e) => {
                return tracing::error!(
                    listing_id = %listing_id,
                    "the seller's standing could not be read ({}); the decision stays without images",
                    e.message
                );
            }
        }
    } else {
        None
    };
    let (g, signals, semantic) = (gate.clone(), app.signals.clone(), app.semantic_for(&gate));
    let screened = tokio::task::spawn_blocking(move || {
        screen_one(
            &g,
            None,
            signals.as_deref(),
            people.as_ref(),
            semantic.as_deref(),
            listing,
            ImageSource::Given(images),
        )
    })
    .await;
    let Ok(screened) = screened else {
        tracing::error!(listing_id = %listing_id, "re-screening with images failed");
        return;
    };
    let change = crate::rescan::Change {
        origin: Origin::ImagesArrived,
        listing_id: decided.record.listing_id.clone(),
        version: decided.record.listing_version,
        supersedes: decided.record.decision_id.clone(),
        digest: decided.record.listing_digest.clone(),
        received_at: decided.record.received_at.clone(),
        decision: screened.decision,
        removal: screened.removal,
    };
    match app.write(move |tx| crate::rescan::record_changes(tx, &gate, vec![change])).await {
        Ok((recorded, removals)) => {
            for s in &recorded {
                app.metrics.record_decision(&s.record.decision, "images_arrived");
            }
            if let Some(signals) = &app.signals {
                for r in removals {
                    if let Err(e) = signals.add_removed(r) {
                        tracing::warn!(listing_id = %listing_id, "removed index: {e}");
                    }
                }
            }
        }
        Err(e) => tracing::error!(listing_id = %listing_id, "recording the decision with images failed: {}", e.message),
    }
}
