//! The store's test suite, run against every backend: SQLite always;
//! PostgreSQL at `REMPART_TEST_POSTGRES` (an admin URL; each test gets a
//! fresh database). `bash .ci/test` starts PostgreSQL on 127.0.0.1 and
//! sets it; without it the PostgreSQL test fails and says how to run it.

use std::collections::BTreeMap;

use rempart_audit::{verify_entry, verify_head_consistency, KeyRing};
use rempart_core::{Action, Decision};
use rempart_store::keys::{self, Role};
use rempart_store::packs::{self, PackRole};
use rempart_store::records::{self, Recorded};
use rempart_store::reviews::{self, Filter, Seed, Source};
use rempart_store::verify::{self, Finding};
use rempart_store::writer::{HeadPolicy, Writer};
use rempart_store::{audit, idempotency, removed, Location, OpenOptions, Store, StoreError, Value};

mod common;

use common::*;

#[test]
fn a_submission_is_recorded_once_and_a_change_is_a_new_version() {
    let g = gate();
    each(|store| {
        let first = store.write(|tx| records::record_submission(tx, submission(&g, "L-1", BLOCKED))).expect("record");
        let Recorded::New(first) = first else { panic!("a new listing is recorded") };
        assert_eq!(first.record.listing_version, 1);
        assert_eq!(first.record.decision.verdict, Action::Block);

        let again = store.write(|tx| records::record_submission(tx, submission(&g, "L-1", BLOCKED))).expect("again");
        let Recorded::Unchanged(again) = again else { panic!("the same bytes record nothing") };
        assert_eq!(again.record.decision_id, first.record.decision_id);

        let changed =
            store.write(|tx| records::record_submission(tx, submission(&g, "L-1", ALLOWED))).expect("changed");
        let Recorded::New(changed) = changed else { panic!("a change is a new version") };
        assert_eq!(changed.record.listing_version, 2);
        assert_eq!(changed.record.supersedes.as_deref(), Some(first.record.decision_id.as_str()));

        let history = store.read(|tx| records::history(tx, "L-1")).expect("history");
        assert_eq!(history.versions.len(), 2);
        assert_eq!(history.current_decision, changed.record.decision_id);
        assert_eq!(history.verdict, "allow");
        let fetched = store.read(|tx| records::decision(tx, &first.record.decision_id)).expect("decision");
        assert_eq!(fetched.record, first.record);
        assert!(matches!(store.read(|tx| records::decision(tx, "nope")), Err(StoreError::NotFound(_))));
        // The block joined the removed-listings index in the same transaction.
        let removals = store.read(|tx| removed::since(tx, 0, 10)).expect("removed");
        assert_eq!(removals.len(), 1);

        // The figures on /metrics, checked against counting every row, also
        // after a write that was rolled back and a second listing.
        let failed = store.write(|tx| {
            records::record_submission(tx, submission(&g, "L-2", BLOCKED))?;
            Err::<(), _>(StoreError::Backend("abandoned".into()))
        });
        assert!(failed.is_err());
        store.write(|tx| records::record_submission(tx, submission(&g, "L-3", ALLOWED))).expect("another");
        let counts = store.read(records::counts).expect("counts");
        let counted = |table: &str| {
            store
                .read(|tx| tx.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[], "count")?.uint(0))
                .expect("count")
        };
        assert_eq!((counts.listings, counts.decisions), (counted("listings"), counted("decisions")));
        assert_eq!((counts.listings, counts.decisions), (2, 3));
    });
}

#[test]
fn every_decision_is_in_the_signed_log_with_proofs_an_auditor_can_check_offline() {
    let g = gate();
    each(|store| {
        let s = registered_signer(store);
        let mut decisions = Vec::new();
        for i in 0..5 {
            let r = store.write(|tx| records::record_submission(tx, submission(&g, &format!("L-{i}"), ALLOWED)));
            decisions.push(r.expect("record").decision().clone());
        }
        let head1 = store.write(|tx| audit::sign_head(tx, &s, false)).expect("sign").expect("a new head");
        assert!(store.write(|tx| audit::sign_head(tx, &s, false)).expect("sign").is_none(), "no growth, no head");
        for i in 5..9 {
            store
                .write(|tx| records::record_submission(tx, submission(&g, &format!("L-{i}"), REVIEWED)))
                .expect("record");
        }
        let head2 = store.write(|tx| audit::sign_head(tx, &s, false)).expect("sign").expect("head");
        let trusted: KeyRing = store.read(audit::key_ring).expect("ring");

        for d in &decisions {
            let (entry, proof) = store
                .read(|tx| Ok((audit::entry(tx, d.audit_index)?, audit::inclusion(tx, d.audit_index, head2.size)?)))
                .expect("proof");
            verify_entry(&entry, &proof, &head2.signed, &trusted).expect("the entry is in the signed log");
            let body: serde_json::Value = serde_json::from_slice(&entry).expect("entry json");
            assert_eq!(body["data"]["decision_id"], d.record.decision_id.as_str());
        }
        let consistency = store.read(|tx| audit::consistency(tx, head1.size, head2.size)).expect("consistency");
        verify_head_consistency(head1.signed.head(), head2.signed.head(), &consistency).expect("the log only grew");
        let report = store.read(|tx| verify::verify(tx, &trusted, |_, _| {})).expect("verify");
        assert!(report.ok(), "{:?}", report.findings);
        assert_eq!(report.heads_checked, 2);
        assert_eq!(report.decisions_checked, 9);
    });
}

/// A store with 6 decisions under a signed head, for tampering.
fn signed_log(store: &Store) -> KeyRing {
    let g = gate();
    let s = registered_signer(store);
    for i in 0..6 {
        store.write(|tx| records::record_submission(tx, submission(&g, &format!("T-{i}"), BLOCKED))).expect("record");
    }
    store.write(|tx| audit::sign_head(tx, &s, false)).expect("sign");
    store.read(audit::key_ring).expect("ring")
}

fn findings(store: &Store, trusted: &KeyRing) -> Vec<Finding> {
    store.read(|tx| verify::verify(tx, trusted, |_, _| {})).expect("verify").findings
}

#[test]
fn verify_names_the_entry_that_was_changed_removed_reordered_or_inserted() {
    each(|store| {
        let trusted = signed_log(store);
        // Entry 0 registers the signing key; decisions start at 1.
        let body = |tx: &mut rempart_store::Tx<'_>, i: i64| -> Vec<u8> {
            tx.query_one("SELECT body FROM audit_entries WHERE idx = ?1", &[Value::Int(i)], "entry")
                .unwrap()
                .blob(0)
                .unwrap()
        };

        // Changed: the verdict in one decision's entry.
        store
            .write(|tx| {
                let b = String::from_utf8(body(tx, 3)).unwrap().replace("\"block\"", "\"allow\"");
                tx.exec("UPDATE audit_entries SET body = ?1 WHERE idx = 3", &[b.into_bytes().into()])
            })
            .expect("tamper");
        let f = findings(store, &trusted);
        assert_eq!(f.first(), Some(&Finding::EntryChanged { index: 3 }), "{f:?}");

        // Changed with its leaf hash: the tree and the signed head still say otherwise.
        store
            .write(|tx| {
                let b = body(tx, 3);
                tx.exec(
                    "UPDATE audit_entries SET leaf_hash = ?1 WHERE idx = 3",
                    &[rempart_audit::leaf_hash(&b).0.to_vec().into()],
                )
            })
            .expect("tamper");
        let f = findings(store, &trusted);
        assert_eq!(f.first(), Some(&Finding::LeafRewritten { index: 3 }), "{f:?}");
        assert!(f.iter().any(|x| matches!(x, Finding::HeadMismatch { .. })), "{f:?}");
    });
    each(|store| {
        let trusted = signed_log(store);
        store.write(|tx| tx.exec("DELETE FROM audit_entries WHERE idx = 4", &[])).expect("delete");
        let f = findings(store, &trusted);
        assert_eq!(f.first(), Some(&Finding::EntryMissing { index: 4 }), "{f:?}");
    });
    each(|store| {
        let trusted = signed_log(store);
        // Reordered: entries 2 and 5 swap places (bodies and hashes).
        store
            .write(|tx| {
                let rows =
                    tx.query("SELECT idx, body, leaf_hash FROM audit_entries WHERE idx IN (2, 5) ORDER BY idx", &[])?;
                for (row, other) in [(&rows[0], &rows[1]), (&rows[1], &rows[0])] {
                    tx.exec(
                        "UPDATE audit_entries SET body = ?1, leaf_hash = ?2 WHERE idx = ?3",
                        &[other.blob(1)?.into(), other.blob(2)?.into(), Value::Int(row.int(0)?)],
                    )?;
                }
                Ok(())
            })
            .expect("swap");
        let f = findings(store, &trusted);
        assert_eq!(f.first(), Some(&Finding::EntryMisplaced { index: 2, claims: Some(5) }), "{f:?}");
    });
    each(|store| {
        let trusted = signed_log(store);
        // Inserted after the end, without going through the log.
        store
            .write(|tx| {
                tx.exec(
                    "INSERT INTO audit_entries (idx, kind, recorded_at, body, leaf_hash) VALUES (7, 'decision', 0, ?1, ?2)",
                    &[b"{}".to_vec().into(), vec![0u8; 32].into()],
                )
            })
            .expect("insert");
        let f = findings(store, &trusted);
        assert!(f.contains(&Finding::EntryBeyondSize { index: 7, size: 7 }), "{f:?}");
    });
    each(|store| {
        let trusted = signed_log(store);
        // The decision index says allow where the record says block.
        store
            .write(|tx| tx.exec("UPDATE decisions SET verdict = 'allow' WHERE listing_id = 'T-2'", &[]))
            .expect("edit");
        let f = findings(store, &trusted);
        assert!(
            matches!(f.first(), Some(Finding::DecisionMismatch { index: 3, reason, .. }) if reason.contains("verdict")),
            "{f:?}"
        );
    });
}

#[test]
fn keys_are_kept_as_hmacs_and_revocation_is_immediate() {
    each(|store| {
        let pepper = [9u8; 32];
        let created = store.write(|tx| keys::create(tx, &pepper, Role::Reviewer, "ana", None, "test")).expect("create");
        assert!(created.secret.starts_with(&format!("rk_{}_", created.key.key_id)));
        let stored = store.read(|tx| keys::get(tx, &created.key.key_id)).expect("get");
        assert!(!stored.secret_hash.windows(8).any(|w| created.secret.as_bytes().windows(8).any(|s| s == w)));
        assert!(keys::matches(&stored, &created.secret, &pepper));
        assert!(!keys::matches(&stored, &format!("{}x", created.secret), &pepper));
        assert!(!keys::matches(&stored, &created.secret, &[8u8; 32]), "another pepper");
        let revoked = store.write(|tx| keys::revoke(tx, &created.key.key_id, "test")).expect("revoke");
        assert!(!keys::matches(&revoked, &created.secret, &pepper));
        // Both changes are audit entries.
        let kinds = store
            .read(|tx| tx.query("SELECT kind FROM audit_entries ORDER BY idx", &[]))
            .expect("entries")
            .iter()
            .map(|r| r.text(0).unwrap())
            .collect::<Vec<_>>();
        assert_eq!(kinds, ["key_change", "key_change"]);
    });
}

#[test]
fn the_review_queue_orders_by_severity_priority_age_and_pages_stably() {
    let g = gate();
    each(|store| {
        let mut ids = Vec::new();
        for (i, (severity, source)) in
            [(10, Source::Detection), (30, Source::Detection), (30, Source::Order), (10, Source::TrustedFlagger)]
                .into_iter()
                .enumerate()
        {
            let mut s = submission(&g, &format!("R-{i}"), REVIEWED);
            s.review = Some(Seed { source, severity, policies: vec![format!("p{i}")] });
            store.write(|tx| records::record_submission(tx, s)).expect("record");
            ids.push(format!("R-{i}"));
        }
        let page = |after: Option<String>| {
            store
                .read(|tx| {
                    reviews::list(tx, &Filter { status: Some("pending".into()), limit: 2, after, ..Filter::default() })
                })
                .expect("list")
        };
        let first = page(None);
        let second = page(first.last().map(|i| i.review_id.clone()));
        let order: Vec<&str> = first.iter().chain(&second).map(|i| i.listing_id.as_str()).collect();
        assert_eq!(order, ["R-2", "R-1", "R-3", "R-0"]);
        let only = store
            .read(|tx| reviews::list(tx, &Filter { policy: Some("p3".into()), limit: 10, ..Filter::default() }))
            .expect("filter");
        assert_eq!(only.len(), 1);
        // A new version closes the pending review of the old one.
        store.write(|tx| records::record_submission(tx, submission(&g, "R-0", ALLOWED))).expect("record");
        let pending = store
            .read(|tx| reviews::list(tx, &Filter { status: Some("pending".into()), limit: 10, ..Filter::default() }))
            .expect("list");
        assert_eq!(pending.len(), 3);
        assert!(store.read(reviews::counts).expect("counts").contains(&("superseded".into(), 1)));
    });
}

#[test]
fn packs_are_stored_activated_and_shadowed_with_audit_entries() {
    each(|store| {
        let files: BTreeMap<String, String> = BTreeMap::from([("pack.toml".into(), "[pack]\nname = \"x\"\n".into())]);
        fn upload<'a>(version: &'a str, files: &'a BTreeMap<String, String>, failed: u64) -> packs::Upload<'a> {
            packs::Upload {
                pack_version: version,
                name: "x",
                files,
                tests_passed: 3,
                tests_failed: failed,
                engine_version: "e",
                by: "test",
            }
        }
        assert!(store.write(|tx| packs::upload(tx, upload("sha256:a", &files, 0))).expect("upload"));
        assert!(!store.write(|tx| packs::upload(tx, upload("sha256:a", &files, 0))).expect("again"), "idempotent");
        store.write(|tx| packs::upload(tx, upload("sha256:bad", &files, 2))).expect("upload");
        assert!(matches!(
            store.write(|tx| packs::assign(tx, PackRole::Live, "sha256:bad", "t")),
            Err(StoreError::Invalid(_))
        ));
        store.write(|tx| packs::assign(tx, PackRole::Live, "sha256:a", "t")).expect("live");
        store.write(|tx| packs::assign(tx, PackRole::Shadow, "sha256:bad", "t")).expect("shadow");
        let live = store.read(|tx| packs::holder(tx, PackRole::Live)).expect("live").expect("a live pack");
        assert_eq!(live.pack_version, "sha256:a");
        assert_eq!(live.files, files);
        let d = packs::Disagreement {
            listing_id: "L".into(),
            version: 1,
            live_version: "sha256:a".into(),
            shadow_version: "sha256:bad".into(),
            live_verdict: "allow".into(),
            shadow_verdict: "block".into(),
            live_rules: vec![],
            shadow_rules: vec!["p/r".into()],
            shadow_decision: serde_json::json!({}),
            recorded_at: String::new(),
        };
        store.write(|tx| packs::record_disagreement(tx, &d)).expect("disagreement");
        let all = store.read(|tx| packs::disagreements(tx, "sha256:bad", 10)).expect("read");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].shadow_rules, ["p/r"]);
        store.write(|tx| packs::clear_shadow(tx, "t")).expect("clear");
        assert!(store.read(|tx| packs::holder(tx, PackRole::Shadow)).expect("shadow").is_none());
        let kinds: Vec<String> = store
            .read(|tx| tx.query("SELECT kind FROM audit_entries ORDER BY idx", &[]))
            .expect("entries")
            .iter()
            .map(|r| r.text(0).unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["policy_upload", "policy_upload", "policy_activation", "policy_activation", "policy_activation"]
        );
    });
}

#[test]
fn idempotency_keys_keep_the_first_answer() {
    each(|store| {
        let kept = idempotency::Kept { request_digest: "sha256:1".into(), status: 200, response: b"first".to_vec() };
        store.write(|tx| idempotency::put(tx, "k", "key-1", &kept)).expect("put");
        let other = idempotency::Kept { request_digest: "sha256:2".into(), status: 200, response: b"second".to_vec() };
        store.write(|tx| idempotency::put(tx, "k", "key-1", &other)).expect("put again");
        let got = store.read(|tx| idempotency::get(tx, "k", "key-1")).expect("get").expect("kept");
        assert_eq!(got.response, b"first");
        assert!(store.read(|tx| idempotency::get(tx, "other", "key-1")).expect("get").is_none(), "per client");
    });
}

#[test]
fn group_commit_isolates_a_failing_job_and_signs_heads() {
    let g = gate();
    each(|store| {
        let s = registered_signer(store);
        let running =
            Writer::start(store.clone(), s, HeadPolicy { every: std::time::Duration::from_secs(3600), entries: 10 })
                .expect("writer");
        let writer = running.writer.clone();
        // One at a time first: a transaction each, so heads follow the entry count.
        for i in 0..15 {
            let sub = submission(&g, &format!("H-{i}"), ALLOWED);
            writer.run_blocking(move |tx| records::record_submission(tx, sub)).expect("recorded");
        }
        let mut receivers = Vec::new();
        for i in 0..40 {
            let sub = submission(&g, &format!("G-{i}"), ALLOWED);
            receivers.push(writer.submit(move |tx| records::record_submission(tx, sub)));
            if i == 20 {
                receivers.push(writer.submit(|tx| {
                    tx.exec("INSERT INTO listings (listing_id) VALUES ('broken')", &[])?;
                    Ok(Recorded::Unchanged(unreachable_decision()))
                }));
            }
        }
        let results: Vec<_> = receivers.into_iter().map(|r| r.blocking_recv().expect("answered")).collect();
        assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1, "only the broken job fails");
        drop(writer);
        drop(running.writer);
        running.thread.join().expect("writer thread");
        let (size, heads) = store.read(|tx| Ok((audit::state(tx)?.0, audit::heads(tx, 0, 100)?))).expect("state");
        assert_eq!(size, 56);
        assert_eq!(heads.last().map(|h| h.size), Some(56), "a final head covers every entry");
        assert!(heads.len() >= 2, "heads every 10 entries");
    });
}

/// The writer's commits leave the write-ahead log to a thread of its own,
/// which copies it into the database file: a few hundred listings are far
/// below the size at which a committing connection checkpoints (its
/// safety net), so only that thread can have grown the file.
#[test]
fn the_writer_checkpoints_on_a_thread_of_its_own() {
    let f = sqlite();
    let Location::Sqlite(path) = f.store.location().clone() else { unreachable!("a SQLite fixture") };
    let file_size = || std::fs::metadata(&path).expect("database file").len();
    let before = file_size();
    let running = Writer::start(f.store.clone(), registered_signer(&f.store), HeadPolicy::default()).expect("writer");
    let g = gate();
    let receivers: Vec<_> = (0..300)
        .map(|i| {
            let sub = submission(&g, &format!("C-{i}"), BLOCKED);
            running.writer.submit(move |tx| records::record_submission(tx, sub))
        })
        .collect();
    for r in receivers {
        r.blocking_recv().expect("answered").expect("recorded");
    }
    // A liveness wait, not a timing: the checkpointer runs at most every
    // 200 ms, and a minute is far beyond any machine's pause.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while file_size() <= before && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(file_size() > before, "the database file grew from {before} bytes: the log was checkpointed");
    drop(running.writer);
    running.thread.join().expect("the writer and its checkpointer stop");
}

/// A batch of listings in which one fails after its audit entry was
/// appended: the request's savepoint is rolled back, each listing is
/// recorded again in its own, and the failing one's entry leaves both the
/// database and the in-memory tree (the next listing takes its index).
#[test]
fn one_listing_failing_in_a_batch_loses_none_of_the_others() {
    let g = gate();
    each(|store| {
        let s = registered_signer(store);
        let mut taken = submission(&g, "B-earlier", ALLOWED);
        taken.seller_id = Some("taken".into());
        store.write(|tx| records::record_submission(tx, taken)).expect("record");
        // One listing per seller from now on: a listing of seller `taken`
        // fails at the listings row, after its version, its decision
        // entry and the entry's tree nodes were written.
        store
            .write(|tx| tx.exec("CREATE UNIQUE INDEX one_listing_per_seller ON listings (seller_id)", &[]))
            .expect("index");
        let (before, _) = store.read(audit::state).expect("state");

        let titles = [ALLOWED, REVIEWED, BLOCKED, ALLOWED, REVIEWED, BLOCKED, ALLOWED];
        let batch = |prefix: &str, bad: Option<usize>| -> Vec<Result<records::Submission, StoreError>> {
            let mut out = Vec::new();
            for (i, title) in titles.iter().enumerate() {
                let mut sub = submission(&g, &format!("{prefix}-{i}"), title);
                sub.seller_id = Some(if bad == Some(i) { "taken".into() } else { format!("{prefix}-seller-{i}") });
                out.push(Ok(sub));
            }
            // A listing that could not be prepared is answered with its error.
            out.push(Err(StoreError::Invalid("not canonical".into())));
            out
        };
        let (first, second, inside) = store
            .write(|tx| {
                let first = records::record_batch(tx, &batch("B", Some(3)));
                let inside = audit::state(tx)?.0;
                // The transaction goes on after the fallback: the next
                // request of the group commit starts where the tree is.
                let second = records::record_batch(tx, &batch("C", None));
                Ok((first, second, inside))
            })
            .expect("the group commits");

        assert_eq!(first.len(), 8);
        assert!(matches!(first[3], Err(StoreError::Conflict(_))), "{:?}", first[3]);
        assert!(matches!(first[7], Err(StoreError::Invalid(_))));
        let indexes: Vec<u64> = first
            .iter()
            .chain(&second)
            .filter_map(|r| match r {
                Ok(Recorded::New(d)) => Some(d.audit_index),
                _ => None,
            })
            .collect();
        assert_eq!(indexes, (before..before + 13).collect::<Vec<_>>(), "no index lost or reused");
        assert_eq!(inside, before + 6, "the failed listing's leaf left the in-memory tree");
        assert!(second[..7].iter().all(|r| matches!(r, Ok(Recorded::New(_)))));

        let (size, _) = store.read(audit::state).expect("state");
        assert_eq!(size, before + 13);
        assert!(store.read(|tx| records::history(tx, "B-3")).is_err(), "nothing of the failed listing stays");
        for id in ["B-0", "B-2", "B-6", "C-3"] {
            store.read(|tx| records::history(tx, id)).expect("recorded");
        }
        store.write(|tx| audit::sign_head(tx, &s, false)).expect("sign").expect("head");
        let trusted = store.read(audit::key_ring).expect("ring");
        let report = store.read(|tx| verify::verify(tx, &trusted, |_, _| {})).expect("verify");
        assert!(report.ok(), "{:?}", report.findings);
        assert_eq!(report.decisions_checked, 14);
    });
}

/// The tree's state is written once per transaction, at its end: a caller
/// that swallows a failed append outside any savepoint cannot commit a
/// tree that disagrees with its entries.
#[test]
fn a_failed_append_outside_a_savepoint_cannot_be_committed() {
    each(|store| {
        registered_signer(store);
        let (before, root) = store.read(audit::state).expect("state");
        let committed = store.write(|tx| {
            // The entry's index is taken, so its insert fails.
            tx.exec(
                "INSERT INTO audit_entries (idx, kind, recorded_at, body, leaf_hash) VALUES (?1, 'decision', 0, ?2, ?2)",
                &[Value::from(before), Value::from(vec![0u8; 32])],
            )?;
            let failed = audit::append(tx, &[(audit::EntryKind::Notice, serde_json::json!({"n": 1}))]);
            assert!(failed.is_err());
            Ok(())
        });
        assert!(matches!(committed, Err(StoreError::Audit(_))), "{committed:?}");
        assert_eq!(store.read(audit::state).expect("state"), (before, root));
        // The next transaction appends where the log really is.
        let appended = store
            .write(|tx| audit::append(tx, &[(audit::EntryKind::Notice, serde_json::json!({"n": 2}))]))
            .expect("append");
        assert_eq!(appended[0].index, before);
    });
}

fn unreachable_decision() -> records::StoredDecision {
    unreachable!("the insert fails first")
}

#[test]
fn two_submissions_of_the_same_listing_at_once_record_one_decision() {
    let g = gate();
    let f = sqlite();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let store = f.store.clone();
            let sub = submission(&g, "same", BLOCKED);
            std::thread::spawn(move || store.write(|tx| records::record_submission(tx, sub)).expect("record"))
        })
        .collect();
    let outcomes: Vec<Recorded> = threads.into_iter().map(|t| t.join().expect("thread")).collect();
    assert_eq!(outcomes.iter().filter(|o| matches!(o, Recorded::New(_))).count(), 1);
    let ids: std::collections::HashSet<_> = outcomes.iter().map(|o| o.decision().record.decision_id.clone()).collect();
    assert_eq!(ids.len(), 1, "everyone gets the same decision id");
}

#[test]
fn a_newer_schema_is_refused_and_a_missing_database_says_how_to_create_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = Location::Sqlite(dir.path().join("none.db"));
    let e = Store::open(&missing, &OpenOptions::default()).err().expect("refused");
    assert!(e.to_string().contains("rempart init"), "{e}");
    let f = sqlite();
    f.store
        .write(|tx| tx.exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)", &[]))
        .expect("bump");
    let e = f.store.check_schema().expect_err("newer");
    assert!(e.to_string().contains("upgrade rempart"), "{e}");
}

#[test]
fn decisions_keep_the_engine_and_pack_versions() {
    let g = gate();
    each(|store| {
        let r = store.write(|tx| records::record_submission(tx, submission(&g, "V", BLOCKED))).expect("record");
        let d: &Decision = &r.decision().record.decision;
        assert_eq!(d.engine_version, rempart_core::ENGINE_VERSION);
        assert_eq!(d.policy_version, g.pack().version);
        let row = store
            .read(|tx| tx.query_one("SELECT pack_version, engine_version FROM decisions", &[], "decision"))
            .expect("row");
        assert_eq!(row.text(0).unwrap(), g.pack().version);
        assert_eq!(row.text(1).unwrap(), rempart_core::ENGINE_VERSION);
    });
}

#[test]
fn restrictions_owe_one_statement_and_submissions_are_recorded_and_audited() {
    use rempart_store::dsa::{self, SubmissionStatus};
    use rempart_store::records::{DecisionRecord, Origin};
    let g = gate();
    each(|store| {
        let rec = |id: &str, title: &str| match store
            .write(|tx| records::record_submission(tx, submission(&g, id, title)))
            .expect("record")
        {
            Recorded::New(d) => d,
            Recorded::Unchanged(d) => d,
        };
        let blocked = rec("L-1", BLOCKED);
        let held = rec("L-2", REVIEWED);
        rec("L-3", ALLOWED);
        // A rescan repeating the block on the same version owes nothing new;
        // a person's block of the held listing does.
        let again = |origin: Origin, of: &records::StoredDecision, verdict: Action, by: &str| {
            let mut decision = of.record.decision.clone();
            decision.verdict = verdict;
            for m in &mut decision.matches {
                m.action = verdict;
            }
            let record = DecisionRecord {
                decision_id: String::new(),
                decided_at: String::new(),
                origin,
                decided_by: by.into(),
                supersedes: Some(of.record.decision_id.clone()),
                reason: None,
                decision,
                ..of.record.clone()
            };
            store.write(|tx| records::insert_decision(tx, record, None)).expect("insert")
        };
        again(Origin::Rescan, &blocked, Action::Block, "rempart");
        let person = again(Origin::Review, &held, Action::Block, "reviewer-1");

        let owed = store.read(|tx| dsa::restrictions(tx, 0, i64::MAX, None, 100)).expect("restrictions");
        let ids: Vec<&str> = owed.iter().map(|r| r.decision.record.decision_id.as_str()).collect();
        assert_eq!(ids, vec![blocked.record.decision_id.as_str(), person.record.decision_id.as_str()]);
        assert_eq!(owed[1].review_source.as_deref(), Some("detection"));
        assert_eq!(owed[1].superseded_by_whom.as_deref(), Some("rempart"));
        assert_eq!(
            owed[0].listing,
            serde_json::to_vec(&serde_json::json!({"id": "L-1", "title": BLOCKED})).expect("json")
        );
        // Paging in log order, and the period bounds.
        let first = store.read(|tx| dsa::restrictions(tx, 0, i64::MAX, None, 1)).expect("page");
        let next =
            store.read(|tx| dsa::restrictions(tx, 0, i64::MAX, Some(first[0].decision.audit_index), 1)).expect("page");
        assert_eq!(next[0].decision.record.decision_id, person.record.decision_id);
        assert!(store.read(|tx| dsa::restrictions(tx, 0, 1, None, 100)).expect("empty").is_empty());

        let outcomes = store.read(|tx| dsa::review_outcomes(tx, 0, i64::MAX)).expect("outcomes");
        assert_eq!(outcomes.len(), 1);
        assert_eq!((outcomes[0].automated_verdict.as_str(), outcomes[0].outcome_verdict.as_str()), ("review", "block"));

        let (size_before, _) = store.read(audit::state).expect("state");
        let endpoint = "https://sandbox.example";
        let puid = blocked.record.decision_id.clone();
        store.write(|tx| dsa::mark_sending(tx, endpoint, &puid, &puid, "sha256:00")).expect("mark");
        let s = store.read(|tx| dsa::submission(tx, endpoint, &puid)).expect("read").expect("row");
        assert_eq!((s.status, s.attempts), (SubmissionStatus::Sending, 1));
        store.write(|tx| dsa::mark_sending(tx, endpoint, &puid, &puid, "sha256:00")).expect("mark again");
        let s = store
            .write(|tx| dsa::record_answer(tx, endpoint, &puid, SubmissionStatus::Accepted, Some("u-1"), None))
            .expect("answer");
        assert_eq!((s.status, s.uuid.as_deref(), s.attempts), (SubmissionStatus::Accepted, Some("u-1"), 2));
        assert!(s.status.is_final());
        let (size_after, _) = store.read(audit::state).expect("state");
        assert_eq!(size_after, size_before + 1, "the answer is an audit entry");
        let entry = store.read(|tx| audit::entry_json(tx, size_before)).expect("entry");
        assert_eq!(entry["kind"], "statement_of_reasons");
        assert_eq!(entry["data"]["uuid"], "u-1");
        // Another endpoint (the production database after the sandbox) is separate.
        assert!(store.read(|tx| dsa::submission(tx, "https://prod.example", &puid)).expect("read").is_none());
        let missing =
            store.write(|tx| dsa::record_answer(tx, endpoint, "nope", SubmissionStatus::Existing, None, None));
        assert!(matches!(missing, Err(StoreError::NotFound(_))));
        assert!(store.read(|tx| dsa::table_exists(tx, "dsa_submissions")).expect("exists"));
        assert!(!store.read(|tx| dsa::table_exists(tx, "no_such_table")).expect("exists"));
    });
}

#[test]
fn migrations_are_applied_by_number_not_only_above_the_highest() {
    let f = sqlite();
    // A database that has migration 1 only, as one migrated by a build
    // that knew 1 and 2 would have 1 and 2 without 3.
    f.store
        .write(|tx| {
            tx.exec("DROP TABLE dsa_submissions", &[])?;
            tx.exec("DELETE FROM schema_migrations WHERE version = 3", &[])
        })
        .expect("roll back migration 3");
    let e = f.store.check_schema().expect_err("lacks 3");
    assert!(e.to_string().contains("lacks migration(s) [3]"), "{e}");
    f.store.migrate().expect("migrate");
    f.store.check_schema().expect("complete");
    assert!(f.store.read(|tx| rempart_store::dsa::table_exists(tx, "dsa_submissions")).expect("exists"));
}
