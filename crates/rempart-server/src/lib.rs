//! `rempart serve`: the HTTP service a marketplace's listing service calls
//! before publication. Handlers read input, call the pure gate and the
//! store, and answer; no business rule lives here (DESIGN.md).
//!
//! ```text
//! POST /v1/listings ─► auth, limits ─► screening (blocking pool, fail closed)
//!                       ─► writer (group commit: version, decision = audit leaf,
//!                          review, removal) ─► answer with decision id
//! ```

pub mod auth;
pub mod console;
pub mod delivery;
pub mod error;
pub mod evidence;
pub mod heap;
pub mod images;
pub mod intake;
pub mod metrics;
pub mod people;
pub mod rescan;
pub mod routes;
pub mod screening;
pub mod state;
#[cfg(feature = "nats")]
pub mod stream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use rempart_core::policy::lint;
use rempart_core::{Gate, Pack};
use rempart_store::keyfile::KeyFile;
use rempart_store::packs::{self, PackRole};
use rempart_store::writer::{HeadPolicy, Writer};
use rempart_store::{audit, keys, removed, Durability, Location, OpenOptions, Store, StoreError};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use state::{App, Limits, People, Retries, Webhook};

/// Why the service could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("policy pack {version}: {message}")]
    Pack { version: String, message: String },
    #[error("signals: {0}")]
    Signals(String),
    #[error("cannot listen on {addr}: {message}")]
    Listen { addr: String, message: String },
    #[error("{0}")]
    Other(String),
}

/// How to run the service.
#[derive(Clone, Debug)]
pub struct Config {
    pub db: Location,
    pub key_file: PathBuf,
    pub listen: SocketAddr,
    pub durability: Durability,
    pub heads: HeadPolicy,
    pub limits: Limits,
    /// Signals configuration (hash banks, fetching, relisting thresholds).
    pub signals: Option<PathBuf>,
    pub fetch_images: bool,
    /// Notice outcome webhook and its retries.
    pub people: People,
    /// Serve reads only (a replica for the log and proofs): writes answer 503.
    pub read_only: bool,
    /// Cap on the SQLite file's size: past it, submissions answer 507 and
    /// nothing already recorded is harmed.
    pub max_db_bytes: Option<u64>,
    /// The semantic stage's model, when it runs: its exemplars are embedded
    /// for the live pack, and again when another pack becomes live.
    pub semantic_model: Option<Arc<rempart_semantic::Model>>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "rempart",
        description = "Pre-publication compliance gate: screen listings, record decisions in a tamper-evident log, manage keys and policy packs."
    ),
    modifiers(&SecurityAddon),
    tags(
        (name = "listings", description = "Screen and record listings"),
        (name = "decisions", description = "Recorded decisions and their proofs"),
        (name = "reviews", description = "The review queue: claims with leases, outcomes, four-eyes, accuracy and throughput"),
        (name = "notices", description = "Notices (DSA Art. 16), trusted flaggers (Art. 22), authority orders (Art. 9)"),
        (name = "appeals", description = "The seller's complaints (DSA Art. 20)"),
        (name = "sellers", description = "Statements of reasons (Art. 17), strikes and suspensions (Art. 23), trader records (Art. 30)"),
        (name = "audit", description = "The published audit log"),
        (name = "keys", description = "API keys"),
        (name = "packs", description = "Policy pack lifecycle"),
        (name = "system", description = "Health, metrics, this document"),
    )
)]
struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "api_key",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("rk_…").build()),
            );
        }
    }
}

/// Every route, with its OpenAPI description: one registration for both.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::listings::submit))
        .routes(routes!(routes::listings::history))
        .routes(routes!(routes::decisions::get))
        .routes(routes!(routes::decisions::proof))
        .routes(routes!(routes::reviews::list))
        .routes(routes!(routes::reviews::counts))
        .routes(routes!(routes::reviews::stats))
        .routes(routes!(routes::reviews::claim_next))
        .routes(routes!(routes::reviews::item))
        .routes(routes!(routes::reviews::claim))
        .routes(routes!(routes::reviews::release))
        .routes(routes!(routes::reviews::decide))
        .routes(routes!(routes::notices::submit, routes::notices::list))
        .routes(routes!(routes::notices::get))
        .routes(routes!(routes::notices::register_flagger, routes::notices::flaggers))
        .routes(routes!(routes::notices::revoke_flagger))
        .routes(routes!(routes::appeals::submit, routes::appeals::list))
        .routes(routes!(routes::appeals::get))
        .routes(routes!(routes::sellers::get))
        .routes(routes!(routes::sellers::put_trader, routes::sellers::erase_trader))
        .routes(routes!(routes::sellers::verify_trader))
        .routes(routes!(routes::sellers::statements))
        .routes(routes!(routes::system::whoami))
        .routes(routes!(routes::audit::head))
        .routes(routes!(routes::audit::heads))
        .routes(routes!(routes::audit::consistency))
        .routes(routes!(routes::audit::keys))
        .routes(routes!(routes::audit::entry))
        .routes(routes!(routes::keys::create, routes::keys::list))
        .routes(routes!(routes::keys::revoke))
        .routes(routes!(routes::packs::upload, routes::packs::list))
        .routes(routes!(routes::packs::activate))
        .routes(routes!(routes::packs::shadow))
        .routes(routes!(routes::packs::stop_shadow))
        .routes(routes!(routes::packs::shadow_report))
        .routes(routes!(routes::packs::rescans))
        .routes(routes!(routes::system::healthz))
        .routes(routes!(routes::system::metrics))
        .routes(routes!(openapi_json))
}

/// This document, generated from the routes.
#[utoipa::path(
    get, path = "/openapi.json", tag = "system",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object)),
    security(("api_key" = []))
)]
async fn openapi_json(_caller: auth::Caller) -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(api().into_openapi())
}

/// Counts requests and their latency by route template (never by raw
/// path: ids would explode the label set).
async fn observe(State(app): State<App>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    app.metrics.request_seconds.with_label_values(&[&route]).observe(started.elapsed().as_secs_f64());
    app.metrics.requests.with_label_values(&[&route, response.status().as_str()]).inc();
    response
}

/// The router with its layers, over a built state.
pub fn router(app: App) -> axum::Router {
    let limits = app.limits.clone();
    let (router, _doc) = api().split_for_parts();
    router
        .merge(console::routes())
        .layer(axum::middleware::from_fn_with_state(app.clone(), observe))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .with_state(app)
}

/// Reloads the API keys from the store.
pub async fn reload_keys(app: &App) {
    match app.read(keys::list).await {
        Ok(all) => app.keys.replace(all),
        Err(e) => tracing::warn!("reloading keys: {}", e.message),
    }
}

/// Compiles a stored pack version.
fn compile(files: &std::collections::BTreeMap<String, String>, version: &str) -> Result<Gate, ServerError> {
    let pack = Pack::from_sources(files.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .map_err(|e| ServerError::Pack { version: version.into(), message: e.to_string() })?;
    if pack.version != version {
        return Err(ServerError::Pack {
            version: version.into(),
            message: format!("stored files hash to {}: the stored pack was altered", pack.version),
        });
    }
    Ok(Gate::new(pack))
}

/// What `rempart init` does: creates the database and its schema, the key
/// file with the log's signing key, stores the embedded pack as the live
/// one (after running its tests) and signs the first head.
pub fn init(db: &Location, key_file: &std::path::Path, origin: &str) -> Result<InitReport, ServerError> {
    let store = Store::open(db, &OpenOptions { create: true, ..OpenOptions::default() })?;
    let schema = store.migrate()?;
    let keyfile = if key_file.exists() { KeyFile::load(key_file)? } else { KeyFile::create(key_file, origin)? };
    let signer = keyfile.signer()?;
    let files: std::collections::BTreeMap<String, String> = Pack::embedded_sources().into_iter().collect();
    let gate = compile(
        &files,
        &Pack::from_sources(files.clone().into_iter().collect())
            .map_err(|e| ServerError::Pack { version: "embedded".into(), message: e.to_string() })?
            .version,
    )?;
    let outcomes = lint::run_tests(&gate);
    let failed = outcomes.iter().filter(|o| !o.passed).count() as u64;
    let passed = outcomes.len() as u64 - failed;
    let version = gate.pack().version.clone();
    let name = gate.pack().name.clone();
    let activated = store.write(|tx| {
        audit::register_signing_key(tx, &signer)?;
        packs::upload(
            tx,
            packs::Upload {
                pack_version: &version,
                name: &name,
                files: &files,
                tests_passed: passed,
                tests_failed: failed,
                engine_version: rempart_core::ENGINE_VERSION,
                by: "init",
            },
        )?;
        let live = packs::holder(tx, PackRole::Live)?;
        let activated = live.is_none();
        if activated {
            packs::assign(tx, PackRole::Live, &version, "init")?;
        }
        audit::sign_head(tx, &signer, false)?;
        Ok(activated)
    })?;
    Ok(InitReport { schema, pack_version: version, pack_activated: activated, vkey: signer.verifier().to_vkey() })
}

/// What `init` did.
#[derive(Debug, serde::Serialize)]
pub struct InitReport {
    pub schema: i64,
    pub pack_version: String,
    pub pack_activated: bool,
    /// The log's public key: give it to whoever will verify the log.
    pub vkey: String,
}

/// Builds the state: opens the store, loads keys, packs and signals, and
/// starts the writer.
pub fn build(config: &Config) -> Result<(App, rempart_store::writer::Running), ServerError> {
    let store = Store::open(
        &config.db,
        &OpenOptions {
            durability: config.durability,
            create: false,
            read_only: config.read_only,
            max_bytes: config.max_db_bytes,
        },
    )?;
    store.check_schema()?;
    let keyfile = KeyFile::load(&config.key_file)?;
    let signer = keyfile.signer()?;
    let (live, shadow, all_keys, removals) = store.read(|tx| {
        let live = packs::holder(tx, PackRole::Live)?
            .ok_or_else(|| StoreError::NotInitialised("no live policy pack (run `rempart init`)".into()))?;
        let shadow = packs::holder(tx, PackRole::Shadow)?;
        let all_keys = keys::list(tx)?;
        let removals = removed::since(tx, 0, u64::MAX >> 1)?;
        Ok((live, shadow, all_keys, removals))
    })?;
    if !config.read_only {
        store.write(|tx| audit::register_signing_key(tx, &signer))?;
    }
    let live_gate = compile(&live.files, &live.pack_version)?;
    let shadow_gate = shadow.map(|p| compile(&p.files, &p.pack_version)).transpose()?;
    let removed_seq = removals.last().map_or(0, |(seq, _)| *seq);
    let signals = match &config.signals {
        Some(path) => {
            let sc = rempart_signals::SignalsConfig::load(path).map_err(|e| ServerError::Signals(e.to_string()))?;
            let removals: Vec<rempart_signals::Removal> =
                removals.into_iter().filter_map(|(_, v)| serde_json::from_value(v).ok()).collect();
            let (signals, notes) =
                rempart_signals::Signals::load_with_removals(&sc, live_gate.pack(), config.fetch_images, removals)
                    .map_err(|e| ServerError::Signals(e.to_string()))?;
            for line in notes.lines {
                tracing::info!("signals: {line}");
            }
            Some(Arc::new(signals))
        }
        None => None,
    };
    let semantic = config.semantic_model.as_ref().and_then(|model| {
        match rempart_semantic::SemanticStage::new(model.clone(), live_gate.pack()) {
            Ok(stage) => Some(Arc::new(stage)),
            Err(e) => {
                tracing::error!("semantic stage off: {e}");
                None
            }
        }
    });
    let running = Writer::start(store.clone(), signer, config.heads)?;
    let key_cache = auth::KeyCache::new(keyfile.pepper()?, config.limits.default_rate_per_minute);
    key_cache.replace(all_keys);
    let app = App(Arc::new(state::Shared {
        store,
        writer: running.writer.clone(),
        live: ArcSwap::from_pointee(live_gate),
        shadow: ArcSwapOption::from(shadow_gate.map(Arc::new)),
        images: crate::images::ImageFetching::new(
            signals.as_ref().and_then(|s| s.fetch_concurrency()).unwrap_or(1),
            config.limits.max_image_queue,
        ),
        signals,
        keys: key_cache,
        metrics: metrics::Metrics::new(),
        limits: config.limits.clone(),
        origin: keyfile.origin().to_string(),
        removed_seq: std::sync::atomic::AtomicU64::new(removed_seq),
        people: config.people.clone(),
        semantic: ArcSwapOption::from(semantic),
        semantic_model: config.semantic_model.clone(),
        screening_slots: Arc::new(tokio::sync::Semaphore::new(config.limits.screening_threads.max(1))),
        read_slots: Arc::new(tokio::sync::Semaphore::new(Store::POOLED_CONNECTIONS)),
    }));
    Ok((app, running))
}

/// Swaps in the packs the database says are live and in shadow, when
/// another process (`rempart pack activate`, another server) changed them.
async fn follow_packs(app: &App) {
    // Polled every few seconds: the versions alone are read, and a pack's
    // files (1.5 MB for the default pack) only when it changed.
    let roles = app
        .read(|tx| Ok((packs::holder_version(tx, PackRole::Live)?, packs::holder_version(tx, PackRole::Shadow)?)))
        .await;
    let Ok((live, shadow)) = roles else { return };
    if let Some(version) = live.filter(|v| *v != app.live.load().pack().version) {
        if let Some(gate) = compile_stored(app, version).await {
            tracing::info!(pack_version = %gate.pack().version, "live pack changed in the database: swapped in");
            app.live.store(Arc::new(gate));
        }
    }
    let running = app.shadow.load().as_ref().map(|g| g.pack().version.clone());
    match shadow {
        None if running.is_some() => app.shadow.store(None),
        Some(version) if running.as_deref() != Some(version.as_str()) => {
            if let Some(gate) = compile_stored(app, version).await {
                app.shadow.store(Some(Arc::new(gate)));
            }
        }
        _ => {}
    }
}

/// The stored pack `version`, compiled; `None` (logged) when it cannot be
/// read or does not compile with this build.
async fn compile_stored(app: &App, version: String) -> Option<Gate> {
    let pack = match app.read(move |tx| packs::get(tx, &version)).await {
        Ok(pack) => pack,
        Err(e) => {
            tracing::error!("reading a pack the database names: {}", e.message);
            return None;
        }
    };
    match tokio::task::spawn_blocking(move || compile(&pack.files, &pack.pack_version)).await {
        Ok(Ok(gate)) => Some(gate),
        Ok(Err(e)) => {
            tracing::error!("the database's pack does not compile here: {e}");
            None
        }
        Err(_) => None,
    }
}

/// Follows what other processes sharing the database changed: keys
/// created or revoked, packs activated, removals recorded (relisting).
pub(crate) async fn follow(app: App) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        reload_keys(&app).await;
        follow_packs(&app).await;
        let Some(signals) = app.signals.clone() else { continue };
        let after = app.removed_seq.load(std::sync::atomic::Ordering::Relaxed);
        match app.read(move |tx| removed::since(tx, after, 10_000)).await {
            Ok(rows) => {
                for (seq, entry) in rows {
                    if let Ok(r) = serde_json::from_value::<rempart_signals::Removal>(entry) {
                        // Ours were added at commit; adding again is harmless
                        // for text (same id) but would duplicate images.
                        if !signals.knows_removed(&r.entry.listing_id) {
                            let _ = signals.add_removed(r);
                        }
                    }
                    app.removed_seq.store(seq, std::sync::atomic::Ordering::Relaxed);
                }
            }
            Err(e) => tracing::warn!("following removals: {}", e.message),
        }
    }
}

/// Runs the service on a runtime of its own, whose pool of blocking
/// threads is bounded by [`App::blocking_threads`]: what `rempart serve`
/// calls. Returns as [`serve`] does.
pub fn run(config: Config) -> Result<(), ServerError> {
    let (app, running) = build(&config)?;
    bounded_runtime(&app)?.block_on(serve_built(&config, app, running))
}

/// A runtime whose pool of blocking threads is [`App::blocking_threads`].
pub(crate) fn bounded_runtime(app: &App) -> Result<tokio::runtime::Runtime, ServerError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(app.blocking_threads())
        .build()
        .map_err(|e| ServerError::Other(format!("starting the runtime: {e}")))
}

/// Runs the service until SIGINT or SIGTERM; then stops taking requests,
/// lets the writer commit what is queued, and signs a final head.
pub async fn serve(config: Config) -> Result<(), ServerError> {
    let (app, running) = build(&config)?;
    serve_built(&config, app, running).await
}

async fn serve_built(config: &Config, app: App, running: rempart_store::writer::Running) -> Result<(), ServerError> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ServerError::Listen { addr: config.listen.to_string(), message: e.to_string() })?;
    let addr = listener.local_addr().map_err(|e| ServerError::Other(e.to_string()))?;
    tracing::info!(
        "rempart serving on http://{addr} (database {}, pack {})",
        config.db.display(),
        app.live.load().pack().version
    );
    eprintln!("rempart: listening on http://{addr}");
    let follower = tokio::spawn(follow(app.clone()));
    let deliveries = tokio::spawn(delivery::run(app.clone()));
    let router = router(app.clone());
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| ServerError::Other(format!("server: {e}")))?;
    follower.abort();
    deliveries.abort();
    finish(app, running).await;
    Ok(())
}

/// Ends a process that records: once every handle on the writer is gone
/// it commits what is queued and signs a final head; this waits for that.
pub(crate) async fn finish(app: App, running: rempart_store::writer::Running) {
    drop(app);
    let rempart_store::writer::Running { writer, thread } = running;
    drop(writer);
    tokio::task::spawn_blocking(move || thread.join()).await.ok();
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
