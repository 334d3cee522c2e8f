//! What every request handler shares: the store, the write path, the live
//! and shadow gates (swapped atomically on activation), the signals, the
//! keys and the metrics.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};
use rempart_core::Gate;
use rempart_signals::Signals;
use rempart_store::writer::Writer;
use rempart_store::Store;

use crate::auth::KeyCache;
use crate::metrics::Metrics;

/// Limits and deadlines of the service.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body (413 above).
    pub max_body_bytes: usize,
    /// Most listings in one `POST /v1/listings` (400 above).
    pub max_batch: usize,
    /// Screening time allowed for one request before its listings are
    /// recorded as `review` (fail closed).
    pub screen_timeout: Duration,
    /// Whole-request deadline, body included (408 after it).
    pub request_timeout: Duration,
    /// Requests per minute per key unless the key says otherwise (0: none).
    pub default_rate_per_minute: u32,
    /// How long a request waits for its listings' images before deciding
    /// without the missing ones (re-decided when they arrive).
    pub image_deadline: Duration,
    /// Listings downloading or waiting to download images, at most;
    /// beyond it images are not fetched (the decision says so).
    pub max_image_queue: usize,
    /// Chunks of listings screened at once, at most (the rest wait their
    /// turn). Screening is CPU work: more at once than cores only adds
    /// threads, each with its own stack and allocator caches, and a
    /// server's memory then grows with its peak concurrency.
    pub screening_threads: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body_bytes: 16 * 1024 * 1024,
            max_batch: 1_000,
            screen_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            default_rate_per_minute: 600_000,
            image_deadline: Duration::from_millis(300),
            max_image_queue: 10_000,
            screening_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// Where the outcomes of notices go: one webhook, signed with HMAC-SHA256.
#[derive(Clone)]
pub struct Webhook {
    pub url: String,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook").field("url", &self.url).field("secret", &"…").finish()
    }
}

/// How webhook deliveries are retried: the first retry after
/// `first_retry`, each next one twice as late (at most `max_delay`), for
/// `max_attempts` attempts in all.
#[derive(Clone, Debug)]
pub struct Retries {
    pub first_retry: Duration,
    pub max_delay: Duration,
    pub max_attempts: u32,
    /// One attempt's deadline.
    pub timeout: Duration,
    /// How often due deliveries are looked for.
    pub poll: Duration,
}

impl Default for Retries {
    fn default() -> Retries {
        Retries {
            first_retry: Duration::from_secs(30),
            max_delay: Duration::from_secs(3600),
            max_attempts: 10,
            timeout: Duration::from_secs(10),
            poll: Duration::from_secs(1),
        }
    }
}

/// The people-in-the-loop settings of a deployment (the procedures
/// themselves are the pack's).
#[derive(Clone, Debug, Default)]
pub struct People {
    pub webhook: Option<Webhook>,
    pub retries: Retries,
}

/// The application state (cheap to clone: one `Arc`).
#[derive(Clone)]
pub struct App(pub Arc<Shared>);

pub struct Shared {
    pub store: Store,
    pub writer: Writer,
    pub live: ArcSwap<Gate>,
    pub shadow: ArcSwapOption<Gate>,
    pub signals: Option<Arc<Signals>>,
    /// Image downloads ahead of screening (see [`crate::images`]).
    pub images: crate::images::ImageFetching,
    pub keys: KeyCache,
    pub metrics: Metrics,
    pub limits: Limits,
    /// The log's origin (its name in signed heads).
    pub origin: String,
    /// The last removal this process has added to its relisting index.
    pub removed_seq: std::sync::atomic::AtomicU64,
    pub people: People,
    /// The semantic stage for the live pack (see [`App::semantic_for`]).
    pub semantic: ArcSwapOption<rempart_semantic::SemanticStage>,
    pub semantic_model: Option<Arc<rempart_semantic::Model>>,
    /// One permit per chunk being screened (see [`Limits::screening_threads`]).
    pub screening_slots: Arc<tokio::sync::Semaphore>,
    /// One permit per read transaction running ([`Store::POOLED_CONNECTIONS`]).
    pub read_slots: Arc<tokio::sync::Semaphore>,
}

impl std::ops::Deref for App {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl App {
    /// How many threads the runtime may start for blocking work: one per
    /// screening slot and per read slot, two per image download (the
    /// download and the re-decision it leads to), and a few for the rest
    /// (rescans, pack compiles, webhook sends, the shutdown's join).
    ///
    /// Why bound it when the slots bound the work: a slot is released
    /// inside the blocking task, before the thread that ran it is idle
    /// again, so the next waiter's task often finds no idle thread and
    /// tokio starts another, which it then keeps while it gets work every
    /// 10 s. Over a 10-minute soak the pool crept from 39 to 69 threads,
    /// each with its stack and allocator cache (BENCHMARKS.md). With a
    /// bound, a task that finds every thread busy waits for one instead.
    /// No blocking task here waits for another, so waiting cannot
    /// deadlock.
    pub fn blocking_threads(&self) -> usize {
        /// Rescans (one per activation), pack compiles, webhook sends, the
        /// writer's join at shutdown: rare, short or few.
        const OTHER_BLOCKING_WORK: usize = 8;
        let downloads = self.signals.as_ref().and_then(|s| s.fetch_concurrency()).unwrap_or(0);
        self.limits.screening_threads.max(1) + Store::POOLED_CONNECTIONS + 2 * downloads + OTHER_BLOCKING_WORK
    }

    /// The semantic stage for `gate`'s pack: the one built for it, or one
    /// built now when another pack became live (its exemplars embedded
    /// once, a fraction of a second).
    pub fn semantic_for(&self, gate: &rempart_core::Gate) -> Option<Arc<rempart_semantic::SemanticStage>> {
        let model = self.semantic_model.as_ref()?;
        if let Some(stage) = self.semantic.load_full().filter(|s| s.pack_version() == gate.pack().version) {
            return Some(stage);
        }
        match rempart_semantic::SemanticStage::new(model.clone(), gate.pack()) {
            Ok(stage) => {
                let stage = Arc::new(stage);
                self.semantic.store(Some(stage.clone()));
                Some(stage)
            }
            Err(e) => {
                tracing::error!("semantic stage off for pack {}: {e}", gate.pack().version);
                None
            }
        }
    }

    /// Runs a read transaction on a blocking thread.
    pub async fn read<T, F>(&self, f: F) -> Result<T, crate::error::ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut rempart_store::Tx<'_>) -> Result<T, rempart_store::StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        let slot = self.read_slots.clone().acquire_owned().await;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            store.read(f)
        })
        .await
        .map_err(|e| {
            tracing::error!("read task failed: {e}");
            crate::error::ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", "the read failed")
        })?
        .map_err(Into::into)
    }

    /// Runs `f` in the next group commit and waits for it to be durable.
    pub async fn write<T, F>(&self, f: F) -> Result<T, crate::error::ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut rempart_store::Tx<'_>) -> Result<T, rempart_store::StoreError> + Send + 'static,
    {
        Self::written(self.writer.submit(f)).await
    }

    /// [`App::write`] for a job that puts each of its parts in a savepoint
    /// of its own ([`rempart_store::writer::Writer::submit_in_parts`]).
    pub async fn write_in_parts<T, F>(&self, f: F) -> Result<T, crate::error::ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut rempart_store::Tx<'_>) -> Result<T, rempart_store::StoreError> + Send + 'static,
    {
        Self::written(self.writer.submit_in_parts(f)).await
    }

    async fn written<T>(
        reply: tokio::sync::oneshot::Receiver<Result<T, rempart_store::StoreError>>,
    ) -> Result<T, crate::error::ApiError> {
        reply
            .await
            .map_err(|_| {
                crate::error::ApiError::new(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "writer_stopped",
                    "the store's writer stopped; nothing was recorded",
                )
            })?
            .map_err(Into::into)
    }
}
