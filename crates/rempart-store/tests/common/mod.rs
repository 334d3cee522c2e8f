//! What every store test file shares: a fresh, migrated store on each
//! backend (SQLite always; PostgreSQL at `REMPART_TEST_POSTGRES`, an admin
//! URL — each test gets a fresh database), and listings to record.
#![allow(dead_code)]

use rempart_audit::NoteSigner;
use rempart_core::{Action, Gate, Listing};
use rempart_store::records::{CanonicalDecision, Submission};
use rempart_store::reviews::{Seed, Source};
use rempart_store::{Location, OpenOptions, Store};

/// A fresh, migrated store on one backend, and what to drop afterwards.
pub struct Fixture {
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
    /// PostgreSQL: the admin URL and the throw-away database to drop.
    drop_database: Option<(String, String)>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        #[cfg(feature = "postgres")]
        if let Some((admin, name)) = self.drop_database.take() {
            if let Ok(mut client) = postgres::Client::connect(&admin, postgres::NoTls) {
                let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

pub fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let location = Location::Sqlite(dir.path().join("r.db"));
    let store = Store::open(&location, &OpenOptions { create: true, ..OpenOptions::default() }).expect("open");
    store.migrate().expect("migrate");
    Fixture { store, _dir: Some(dir), drop_database: None }
}

#[cfg(feature = "postgres")]
pub fn postgres() -> Fixture {
    let admin = std::env::var("REMPART_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "REMPART_TEST_POSTGRES is not set: run the tests with `bash .ci/test`, which starts PostgreSQL on \
             127.0.0.1 and sets it (or point it at a server where the user may CREATE DATABASE)"
        )
    });
    let name = format!("rempart_test_{}", uuid_like());
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("connect to REMPART_TEST_POSTGRES");
    client.batch_execute(&format!("CREATE DATABASE {name}")).expect("create database");
    let (base, _) = admin.rsplit_once('/').expect("URL with a database");
    let location = Location::Postgres(format!("{base}/{name}"));
    let store = Store::open(&location, &OpenOptions::default()).expect("open");
    store.migrate().expect("migrate");
    Fixture { store, _dir: None, drop_database: Some((admin, name)) }
}

#[cfg(feature = "postgres")]
pub fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{:x}_{:x}", nanos, std::process::id())
}

/// Runs `check` on every backend.
/// Runs `check` on every backend, then checks that the review queue's
/// kept counts still equal the counts of the items themselves, whatever
/// the test did to the queue.
pub fn each(check: impl Fn(&Store)) {
    let run = |store: &Store| {
        check(store);
        assert_counts_kept(store);
    };
    run(&sqlite().store);
    #[cfg(feature = "postgres")]
    {
        let f = postgres();
        run(&f.store);
    }
}

pub fn assert_counts_kept(store: &Store) {
    let kept = store.read(rempart_store::reviews::queue_counts).expect("kept counts");
    let exact = store.read(rempart_store::reviews::exact_counts).expect("exact counts");
    assert_eq!(
        (kept.by_status, kept.pending_by_source, kept.pending_by_policy),
        (exact.by_status, exact.pending_by_source, exact.pending_by_policy),
        "the kept review counts drifted from the queue"
    );
}

pub fn signer() -> NoteSigner {
    NoteSigner::from_seed("test.example/log", [7; 32]).expect("signer")
}

/// The test signer, registered in `store`'s key ring (as `rempart init` does).
pub fn registered_signer(store: &Store) -> NoteSigner {
    let s = signer();
    store.write(|tx| rempart_store::audit::register_signing_key(tx, &s)).expect("key");
    s
}

pub fn gate() -> Gate {
    Gate::with_default_pack().expect("pack")
}

pub fn submission(gate: &Gate, id: &str, title: &str) -> Submission {
    let listing = Listing::new(id, title);
    let body = serde_json::to_vec(&serde_json::json!({"id": id, "title": title})).expect("json");
    let value: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let decision = gate.screen(&listing);
    Submission {
        listing_id: id.into(),
        seller_id: Some("S-1".into()),
        digest: rempart_audit::canonical_digest(&value).expect("digest"),
        body,
        received_at: rempart_store::time::now_ms(),
        submitted_by: "k1".into(),
        review: (decision.verdict == Action::Review).then(|| Seed {
            source: Source::Detection,
            severity: 30,
            policies: decision.matches.iter().map(|m| m.policy.clone()).collect(),
        }),
        removal: (decision.verdict == Action::Block).then(|| serde_json::json!({"listing_id": id})),
        canonical_decision: CanonicalDecision::of(&decision).expect("canonical decision"),
        decision,
    }
}

pub const BLOCKED: &str = "Sex doll silicone 100 cm";
pub const REVIEWED: &str = "Sex doll silicone";
pub const ALLOWED: &str = "Tasse à café 350 ml";
