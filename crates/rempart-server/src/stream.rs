//! The stream worker: listings from NATS JetStream, screened and recorded
//! exactly as `POST /v1/listings` does them ([`crate::intake`]), their
//! decisions published back to JetStream.
//!
//! This is the scale-out of DESIGN.md: any number of workers share one
//! durable pull consumer on a work-queue stream (each listing goes to one
//! of them) and one PostgreSQL store (the audit log's state row serialises
//! their appends).
//!
//! Delivery is at least once and nothing is lost:
//! * a listing message is acknowledged only after its decision is
//!   committed to the store *and* published (the publication
//!   acknowledged by JetStream);
//! * a worker that dies before acknowledging leaves the message to be
//!   delivered again (after the consumer's `ack_wait`); screening it again
//!   finds the same bytes recorded, records nothing and publishes the
//!   same decision id, which the decisions stream drops as a duplicate
//!   (`Nats-Msg-Id` is the decision id);
//! * a message that is not a listing (bad JSON, a field out of bounds) is
//!   answered on `<decisions>.refused` with the field at fault and
//!   terminated: sending it again would not make it valid;
//! * when the store cannot record (down, full), the batch is handed back
//!   (`nak` with a delay) to be tried again, not dropped.

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream, AckKind};
use async_nats::HeaderMap;
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::error::ErrorDetail;
use crate::intake;
use crate::routes::listings::DecisionOut;
use crate::state::App;
use crate::{Config, ServerError};

/// Where the worker reads and writes on NATS.
#[derive(Clone, Debug)]
pub struct StreamConfig {
    /// Server address(es), e.g. `nats://127.0.0.1:4222`.
    pub url: String,
    /// The work-queue stream that holds submitted listings.
    pub stream: String,
    /// The subject listings are published on (one listing, JSON, per message).
    pub subject: String,
    /// The durable pull consumer the workers share.
    pub consumer: String,
    /// Decisions go to `<prefix>.<verdict>`, refusals to `<prefix>.refused`.
    pub decisions: String,
    /// The stream that keeps the decisions (deduplicated by decision id).
    pub decisions_stream: String,
    /// Listings screened and committed together at most.
    pub batch: usize,
    /// How long a listing may stay unacknowledged before it is delivered
    /// to another worker.
    pub ack_wait: Duration,
    /// Recorded as who submitted the listings (`submitted_by`).
    pub submitter: String,
}

impl StreamConfig {
    /// The defaults for a deployment's names.
    pub fn new(url: impl Into<String>) -> StreamConfig {
        StreamConfig {
            url: url.into(),
            stream: "REMPART_LISTINGS".into(),
            subject: "rempart.listings".into(),
            consumer: "rempart-workers".into(),
            decisions: "rempart.decisions".into(),
            decisions_stream: "REMPART_DECISIONS".into(),
            batch: 100,
            ack_wait: Duration::from_secs(60),
            submitter: "nats".into(),
        }
    }
}

fn nats_err(what: &str, e: impl std::fmt::Display) -> ServerError {
    ServerError::Other(format!("NATS: {what}: {e}"))
}

/// A refused message, as published on `<decisions>.refused`.
#[derive(Serialize)]
struct Refusal<'a> {
    stream: &'a str,
    stream_sequence: u64,
    error: &'a ErrorDetail,
}

/// What the worker did with a batch, for its log and the tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub decided: usize,
    pub refused: usize,
    pub retried: usize,
}

/// Creates (or checks) the streams and the shared consumer.
async fn connect(cfg: &StreamConfig) -> Result<(jetstream::Context, consumer::PullConsumer), ServerError> {
    let client = async_nats::ConnectOptions::new()
        .name("rempart worker")
        .connect(cfg.url.as_str())
        .await
        .map_err(|e| nats_err(&format!("connecting to {}", cfg.url), e))?;
    let js = jetstream::new(client);
    let listings = js
        .get_or_create_stream(stream::Config {
            name: cfg.stream.clone(),
            subjects: vec![cfg.subject.clone()],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| nats_err(&format!("stream {}", cfg.stream), e))?;
    js.get_or_create_stream(stream::Config {
        name: cfg.decisions_stream.clone(),
        subjects: vec![format!("{}.>", cfg.decisions)],
        storage: stream::StorageType::File,
        duplicate_window: Duration::from_secs(600),
        ..Default::default()
    })
    .await
    .map_err(|e| nats_err(&format!("stream {}", cfg.decisions_stream), e))?;
    let consumer = listings
        .get_or_create_consumer(
            &cfg.consumer,
            consumer::pull::Config {
                durable_name: Some(cfg.consumer.clone()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: cfg.ack_wait,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| nats_err(&format!("consumer {}", cfg.consumer), e))?;
    Ok((js, consumer))
}

async fn publish(js: &jetstream::Context, subject: String, msg_id: &str, body: Vec<u8>) -> Result<(), String> {
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", msg_id);
    let ack = js.publish_with_headers(subject, headers, body.into()).await.map_err(|e| e.to_string())?;
    ack.await.map(|_| ()).map_err(|e| e.to_string())
}

/// Screens, records and answers one batch of messages.
pub async fn handle(
    app: &App,
    js: &jetstream::Context,
    cfg: &StreamConfig,
    messages: Vec<jetstream::Message>,
) -> BatchReport {
    let mut report = BatchReport::default();
    let sequence = |m: &jetstream::Message| m.info().map(|i| i.stream_sequence).unwrap_or(0);
    // Messages that are JSON go to intake, by their place among those.
    let mut raws: Vec<&RawValue> = Vec::new();
    let mut of_raw: Vec<usize> = Vec::new();
    let mut refused: Vec<(usize, ErrorDetail)> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        match std::str::from_utf8(&m.payload).map_err(|e| e.to_string()).and_then(|t| {
            serde_json::from_str::<&RawValue>(t).map_err(|e| format!("the message is not valid JSON: {e}"))
        }) {
            Ok(raw) => {
                raws.push(raw);
                of_raw.push(i);
            }
            Err(message) => refused.push((i, ErrorDetail { code: "invalid_json", message, field: None })),
        }
    }
    let parsed = intake::parse(&raws, |_| String::new());
    refused.extend(parsed.refused.iter().map(|(r, e)| (of_raw[*r], e.clone())));
    let outcomes = match intake::screen_and_record(app, &cfg.submitter, parsed, |_, _| Ok(())).await {
        Ok((outcomes, ())) => outcomes,
        Err(e) => {
            tracing::error!("recording a batch of {} listing(s) failed: {}; handed back", messages.len(), e.message);
            for (i, m) in messages.iter().enumerate() {
                if refused.iter().all(|(r, _)| *r != i) {
                    let _ = m.ack_with(AckKind::Nak(Some(Duration::from_secs(5)))).await;
                    report.retried += 1;
                }
            }
            Vec::new()
        }
    };
    for (index, outcome) in outcomes {
        let m = &messages[of_raw[index]];
        let published = match &outcome {
            Ok(r) => {
                let stored = r.decision();
                let out = DecisionOut::of(r);
                let subject = format!("{}.{}", cfg.decisions, stored.record.decision.verdict);
                let body = serde_json::to_vec(&out).unwrap_or_default();
                publish(js, subject, &stored.record.decision_id, body).await
            }
            Err(e) => Err(e.to_string()),
        };
        match published {
            Ok(()) => {
                let _ = m.ack().await;
                report.decided += 1;
            }
            Err(why) => {
                tracing::warn!(stream_sequence = sequence(m), "not answered ({why}); handed back");
                let _ = m.ack_with(AckKind::Nak(Some(Duration::from_secs(5)))).await;
                report.retried += 1;
            }
        }
    }
    for (i, error) in refused {
        let m = &messages[i];
        let seq = sequence(m);
        let body = serde_json::to_vec(&Refusal { stream: &cfg.stream, stream_sequence: seq, error: &error })
            .unwrap_or_default();
        let id = format!("refused-{}-{seq}", cfg.stream);
        match publish(js, format!("{}.refused", cfg.decisions), &id, body).await {
            Ok(()) => {
                let _ = m.ack_with(AckKind::Term).await;
                report.refused += 1;
            }
            Err(why) => {
                tracing::warn!(stream_sequence = seq, "refusal not published ({why}); handed back");
                let _ = m.ack_with(AckKind::Nak(Some(Duration::from_secs(5)))).await;
                report.retried += 1;
            }
        }
    }
    report
}

/// Runs a worker until `shutdown` completes: takes batches from the
/// shared consumer, screens and records them, publishes the decisions;
/// then lets the writer commit what is queued and signs a final head.
pub async fn work(config: Config, cfg: StreamConfig, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
    check(&cfg)?;
    let (app, running) = crate::build(&config)?;
    work_built(&config, cfg, app, running, shutdown).await
}

/// [`work`] on a runtime of its own, its blocking pool bounded as
/// `rempart serve`'s is ([`crate::run`]): what `rempart worker` calls.
pub fn run(config: Config, cfg: StreamConfig) -> Result<(), ServerError> {
    check(&cfg)?;
    let (app, running) = crate::build(&config)?;
    crate::bounded_runtime(&app)?.block_on(work_built(&config, cfg, app, running, crate::shutdown_signal()))
}

fn check(cfg: &StreamConfig) -> Result<(), ServerError> {
    if cfg.batch == 0 || cfg.batch > 1_000 {
        return Err(ServerError::Other(format!("batch of {} listings: between 1 and 1000", cfg.batch)));
    }
    Ok(())
}

async fn work_built(
    config: &Config,
    cfg: StreamConfig,
    app: App,
    running: rempart_store::writer::Running,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let (js, consumer) = connect(&cfg).await?;
    tracing::info!(
        "rempart worker on {} (stream {}, consumer {}), database {}, pack {}",
        cfg.url,
        cfg.stream,
        cfg.consumer,
        config.db.display(),
        app.live.load().pack().version
    );
    let follower = tokio::spawn(crate::follow(app.clone()));
    let consume = async {
        loop {
            let batch = consumer.batch().max_messages(cfg.batch).expires(Duration::from_secs(1)).messages().await;
            let mut batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!("NATS: fetching a batch: {e}; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let mut messages = Vec::new();
            while let Some(m) = batch.next().await {
                match m {
                    Ok(m) => messages.push(m),
                    Err(e) => tracing::warn!("NATS: {e}"),
                }
            }
            if !messages.is_empty() {
                let r = handle(&app, &js, &cfg, messages).await;
                tracing::debug!(decided = r.decided, refused = r.refused, retried = r.retried, "batch");
            }
        }
    };
    tokio::select! {
        () = consume => {},
        () = shutdown => {},
    }
    follower.abort();
    crate::finish(app, running).await;
    Ok(())
}
