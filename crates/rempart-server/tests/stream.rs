//! The stream worker against a real NATS JetStream server: Debian's
//! nats-server, started on 127.0.0.1 by `.ci/setup/20-nats.sh`, which
//! exports `REMPART_TEST_NATS`. Without it the test fails: the scale-out
//! path is part of what CI proves.
//!
//! Listings go in on the work-queue stream; each comes back on the
//! decisions subject with the verdict the API would give, recorded in the
//! store with its audit entry; a message that is not a listing is refused
//! naming why, without holding up the others; a listing delivered again
//! records nothing new and answers with the same decision id; nothing is
//! left unacknowledged.
#![cfg(feature = "nats")]

use std::time::Duration;

use futures_util::StreamExt;
use rempart_server::stream::{self, StreamConfig};
use rempart_server::{Config, Limits, People};
use rempart_store::records;
use rempart_store::writer::HeadPolicy;
use rempart_store::{Durability, Location, OpenOptions, Store};
use serde_json::Value;

fn nats_url() -> String {
    std::env::var("REMPART_TEST_NATS").expect(
        "REMPART_TEST_NATS is not set: run the tests through `bash .ci/test`, which starts nats-server on 127.0.0.1",
    )
}

/// Names of its own for each run, so reruns on one server never meet.
fn names(url: String) -> StreamConfig {
    let run = format!(
        "{}{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos())
    );
    StreamConfig {
        stream: format!("T{run}_LISTINGS"),
        subject: format!("t{run}.listings"),
        consumer: format!("t{run}-workers"),
        decisions: format!("t{run}.decisions"),
        decisions_stream: format!("T{run}_DECISIONS"),
        batch: 10,
        ack_wait: Duration::from_secs(5),
        ..StreamConfig::new(url)
    }
}

/// Waits (bounded, so a broken worker fails the test instead of hanging it).
async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), f).await.unwrap_or_else(|_| panic!("{what}: no answer in 120 s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_from_the_stream_are_recorded_and_their_decisions_published() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Location::Sqlite(dir.path().join("r.db"));
    let key_file = dir.path().join("r.db.keys");
    rempart_server::init(&db, &key_file, "test.example/log").expect("init");
    let config = Config {
        db: db.clone(),
        key_file,
        listen: "127.0.0.1:0".parse().expect("addr"),
        durability: Durability::Full,
        heads: HeadPolicy::default(),
        limits: Limits::default(),
        signals: None,
        fetch_images: false,
        people: People::default(),
        read_only: false,
        max_db_bytes: None,
    };
    let cfg = names(nats_url());
    let client = within("connect", async_nats::connect(cfg.url.as_str())).await.expect("connect to NATS");
    let mut answers = client.subscribe(format!("{}.>", cfg.decisions)).await.expect("subscribe");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(stream::work(config, cfg.clone(), async {
        stopped.await.ok();
    }));

    // The worker creates the streams; publish once the listings' exists.
    let js = async_nats::jetstream::new(client.clone());
    within("stream creation", async {
        while js.get_stream(&cfg.stream).await.is_err() {
            assert!(!worker.is_finished(), "the worker stopped before creating its stream");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let inputs: [&str; 4] = [
        r#"{"id": "W-1", "title": "Sex doll silicone 100 cm", "seller": {"id": "S-1"}}"#,
        r#"{"id": "W-2", "title": "Tasse à café 350 ml"}"#,
        "{not json",
        r#"{"id": "W-4", "title": 42}"#,
    ];
    for body in inputs {
        let ack = js.publish(cfg.subject.clone(), body.as_bytes().to_vec().into()).await.expect("publish");
        ack.await.expect("stored by JetStream");
    }
    let mut by_subject: Vec<(String, Value)> = Vec::new();
    within("four answers", async {
        while by_subject.len() < 4 {
            let m = answers.next().await.expect("subscription open");
            by_subject.push((m.subject.to_string(), serde_json::from_slice(&m.payload).expect("JSON answer")));
        }
    })
    .await;
    let answer = |suffix: &str, id: &str| -> Value {
        by_subject
            .iter()
            .find(|(s, v)| s.ends_with(suffix) && (id.is_empty() || v["listing_id"] == id))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no answer on *{suffix} for {id:?}: {by_subject:?}"))
    };
    let blocked = answer(".block", "W-1");
    assert_eq!(blocked["decision"]["verdict"], "block");
    assert_eq!(blocked["recorded"], true);
    let allowed = answer(".allow", "W-2");
    assert_eq!(allowed["decision"]["verdict"], "allow");
    let refusals: Vec<&Value> = by_subject.iter().filter(|(s, _)| s.ends_with(".refused")).map(|(_, v)| v).collect();
    assert_eq!(refusals.len(), 2, "{by_subject:?}");
    assert!(refusals.iter().any(|r| r["error"]["code"] == "invalid_json"), "{refusals:?}");
    assert!(
        refusals.iter().any(|r| r["error"]["code"] == "invalid_listing" && r["error"]["field"] == "title"),
        "the refusal names the field: {refusals:?}"
    );

    // Delivered again (a producer's retry): nothing new, the same decision.
    let ack = js.publish(cfg.subject.clone(), inputs[1].as_bytes().to_vec().into()).await.expect("publish");
    ack.await.expect("stored");
    let again = within("the repeated answer", async {
        let m = answers.next().await.expect("subscription open");
        serde_json::from_slice::<Value>(&m.payload).expect("JSON")
    })
    .await;
    assert_eq!(again["recorded"], false);
    assert_eq!(again["decision_id"], allowed["decision_id"]);

    // Every listing acknowledged: the work queue is empty.
    let mut listings = js.get_stream(&cfg.stream).await.expect("stream");
    let left = within("stream info", async {
        loop {
            let info = listings.info().await.expect("info");
            if info.state.messages == 0 {
                return 0;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert_eq!(left, 0);
    stop.send(()).ok();
    within("shutdown", worker).await.expect("join").expect("the worker stopped cleanly");

    // The store holds both decisions, each in the audit log.
    let store = Store::open(&db, &OpenOptions::default()).expect("open");
    for (id, decision) in [("W-1", &blocked), ("W-2", &allowed)] {
        let history = store.read(|tx| records::history(tx, id)).expect("history");
        assert_eq!(history.versions.len(), 1, "{id}: one version, however often delivered");
        let stored = store
            .read(|tx| records::decision(tx, decision["decision_id"].as_str().unwrap_or_default()))
            .expect("decision");
        assert_eq!(stored.audit_index, decision["audit_index"].as_u64().expect("index"));
        assert_eq!(stored.record.decided_by, "rempart");
    }
    let report = store
        .read(|tx| {
            let ring = rempart_store::audit::key_ring(tx)?;
            rempart_store::verify::verify(tx, &ring, |_, _| {})
        })
        .expect("verify");
    assert!(report.ok() && report.decisions_checked == 2, "{report:?}");
}
