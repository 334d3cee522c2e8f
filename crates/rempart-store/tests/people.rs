//! People in the loop, on every backend: claims and leases (raced from
//! threads), four-eyes, outcomes as decisions, notices and orders,
//! webhook deliveries, appeals, strikes and suspensions, trader records,
//! statements of reasons, accuracy figures.

mod common;

use std::sync::{Arc, Barrier};

use common::*;
use rempart_core::policy::procedures::RepeatOffenders;
use rempart_core::{Action, Condition, Gate, RuleMatch};
use rempart_store::notices::{self, Attempt, Kind, NewNotice, Order};
use rempart_store::outcomes::{self, Decided, Input};
use rempart_store::records::{self, Origin, Recorded};
use rempart_store::reviews::{self, Filter, Seed, Source};
use rempart_store::traders::{self, Address, IdentityDocument, PaymentAccount, TradeRegister, TraderRecord};
use rempart_store::{appeals, audit, sellers, statements, time, OpenOptions, Store, StoreError};

const MINUTE: i64 = 60_000;

fn rules() -> RepeatOffenders {
    RepeatOffenders { window_days: 365, warning_at: 2, suspend_at: 3, suspension_days: 90 }
}

/// Records `title` as listing `id` of seller `S-1`; returns the review
/// item it opened, if any.
fn listed(store: &Store, g: &Gate, id: &str, title: &str) -> Option<String> {
    let s = submission(g, id, title);
    let Recorded::New(d) = store.write(|tx| records::record_submission(tx, s)).expect("record") else {
        panic!("new listing")
    };
    store
        .read(|tx| {
            reviews::list(
                tx,
                &Filter { listing_id: Some(id.into()), status: Some("pending".into()), limit: 5, ..Filter::default() },
            )
        })
        .expect("list")
        .into_iter()
        .find(|i| i.decision_id == d.record.decision_id)
        .map(|i| i.review_id)
}

/// The ground of an outcome in policy `policy` of the default pack.
fn ground(g: &Gate, policy: &str, reason: &str, outcome: Action) -> RuleMatch {
    let p = g.pack().policy(policy).expect("policy");
    RuleMatch {
        policy: p.id.clone(),
        rule: reason.into(),
        action: outcome,
        condition: None,
        legal_basis: p.legal_basis.clone(),
        scope: p.scope.clone(),
        dsa_category: p.dsa_category.clone(),
        dsa_ground: p.dsa_ground,
        dsa_keywords: p.dsa_keywords.clone(),
        explain: None,
        evidence: Vec::new(),
        evidence_omitted: 0,
        missing: Vec::new(),
        downgraded: None,
    }
}

fn input(g: &Gate, review_id: &str, reviewer: &str, outcome: Action, reason: &str, four_eyes: bool) -> Input {
    Input {
        review_id: review_id.into(),
        reviewer: reviewer.into(),
        outcome,
        condition: (outcome == Action::Restrict).then_some(Condition::AdultsOnly),
        reason_code: reason.into(),
        reason_label: format!("label of {reason}"),
        note: Some("checked the photos".into()),
        ground: Some(ground(g, "child_like_sex_doll", reason, outcome)),
        four_eyes,
        pack_version: g.pack().version.clone(),
        repeat_offenders: rules(),
        webhook: None,
    }
}

fn claim(store: &Store, review_id: &str, reviewer: &str) -> Result<reviews::Lease, StoreError> {
    store.write(|tx| reviews::claim(tx, review_id, reviewer, 15 * MINUTE))
}

fn decide(store: &Store, i: Input) -> Decided {
    store.write(|tx| outcomes::decide(tx, i)).expect("decide")
}

fn final_of(d: Decided) -> outcomes::Final {
    match d {
        Decided::Final(f) => *f,
        other => panic!("expected a final outcome, got {other:?}"),
    }
}

#[test]
fn two_reviewers_never_hold_the_same_item_even_racing_from_many_connections() {
    let g = gate();
    each(|store| {
        let items: Vec<String> =
            (0..8).map(|i| listed(store, &g, &format!("C-{i}"), REVIEWED).expect("review item")).collect();
        // Eight reviewers, each on its own connection, race for the same item.
        let barrier = Arc::new(Barrier::new(8));
        let target = items[0].clone();
        let outcomes: Vec<Result<reviews::Lease, StoreError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|r| {
                    let (barrier, target) = (barrier.clone(), target.clone());
                    let own = Store::open(store.location(), &OpenOptions::default()).expect("second handle");
                    scope.spawn(move || {
                        barrier.wait();
                        own.write(|tx| reviews::claim(tx, &target, &format!("rev{r}"), 15 * MINUTE))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("thread")).collect()
        });
        let won: Vec<&reviews::Lease> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
        assert_eq!(won.len(), 1, "exactly one claim wins: {outcomes:?}");
        let holder = won[0].claimed_by.clone();
        for lost in outcomes.iter().filter_map(|o| o.as_ref().err()) {
            assert!(
                matches!(lost, StoreError::Conflict(m) if m.contains(&holder)),
                "a lost claim names the holder: {lost:?}"
            );
        }
        // Claim-next from eight reviewers at once: eight different items.
        let barrier = Arc::new(Barrier::new(8));
        let got: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|r| {
                    let barrier = barrier.clone();
                    let own = Store::open(store.location(), &OpenOptions::default()).expect("handle");
                    scope.spawn(move || {
                        barrier.wait();
                        own.write(|tx| reviews::claim_next(tx, &Filter::default(), &format!("next{r}"), 15 * MINUTE))
                            .expect("claim next")
                            .map(|l| l.review_id)
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().expect("thread")).collect()
        });
        let mut distinct = got.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), got.len(), "no item handed to two reviewers: {got:?}");
        assert_eq!(got.len(), 7, "seven items were free");
        assert!(!got.contains(&target));
        let held = store.read(reviews::queue_counts).expect("counts").pending_claimed;
        assert_eq!(held, 8);
    });
}

#[test]
fn a_lease_is_extended_by_its_holder_released_and_expires() {
    let g = gate();
    each(|store| {
        let id = listed(store, &g, "L-1", REVIEWED).expect("item");
        let first = claim(store, &id, "alice").expect("claim");
        assert!(!first.extended);
        let again = claim(store, &id, "alice").expect("extend");
        assert!(again.extended && again.claimed_at == first.claimed_at && again.lease_until >= first.lease_until);
        assert!(matches!(claim(store, &id, "bob"), Err(StoreError::Conflict(_))));
        // Only the holder releases.
        assert!(matches!(store.write(|tx| reviews::release(tx, &id, "bob")), Err(StoreError::Conflict(_))));
        store.write(|tx| reviews::release(tx, &id, "alice")).expect("release");
        claim(store, &id, "bob").expect("bob after the release");
        // A lease of 1 ms runs out: another reviewer takes the item.
        store.write(|tx| reviews::claim(tx, &id, "bob", 1)).expect("short lease");
        std::thread::sleep(std::time::Duration::from_millis(20));
        let carol = claim(store, &id, "carol").expect("after expiry");
        assert!(!carol.extended);
        assert!(matches!(claim(store, "no-such-review", "carol"), Err(StoreError::NotFound(_))));
        // Every claim, extension and release is in the item's history.
        let actions: Vec<String> = store
            .read(|tx| {
                let mut out = Vec::new();
                for i in reviews::events(tx, &id)? {
                    out.push(audit::entry_json(tx, i)?["data"]["action"].as_str().unwrap_or_default().to_string());
                }
                Ok(out)
            })
            .expect("events");
        assert_eq!(actions, ["claimed", "extended", "released", "claimed", "extended", "claimed"]);
    });
}

#[test]
fn an_outcome_is_a_new_decision_linked_to_the_automated_one_and_needs_a_claim() {
    let g = gate();
    each(|store| {
        let id = listed(store, &g, "L-1", REVIEWED).expect("item");
        let automated = store.read(|tx| reviews::get(tx, &id)).expect("item").decision_id;
        let e = store
            .write(|tx| outcomes::decide(tx, input(&g, &id, "alice", Action::Block, "child_like_appearance", false)));
        assert!(matches!(e, Err(StoreError::Conflict(m)) if m.contains("claim")), "decisions need a claim");
        claim(store, &id, "alice").expect("claim");
        let mut restrict = input(&g, &id, "alice", Action::Restrict, "adult_doll_adults_only", false);
        restrict.condition = None;
        assert!(matches!(store.write(|tx| outcomes::decide(tx, restrict)), Err(StoreError::Invalid(_))));
        let f = final_of(decide(store, input(&g, &id, "alice", Action::Block, "child_like_appearance", false)));
        let d = f.decision.expect("a decision");
        assert_eq!(d.record.origin, Origin::Review);
        assert_eq!(d.record.decided_by, "alice");
        assert_eq!(d.record.supersedes.as_deref(), Some(automated.as_str()));
        assert_eq!(d.record.decision.verdict, Action::Block);
        assert_eq!(d.record.reason.as_ref().expect("reason")["code"], "child_like_appearance");
        let m = &d.record.decision.matches[0];
        assert_eq!((m.policy.as_str(), m.action), ("child_like_sex_doll", Action::Block));
        assert!(!m.evidence.is_empty(), "the gate's evidence stays with the person's decision");
        // In force, in the log, closed, and struck.
        let history = store.read(|tx| records::history(tx, "L-1")).expect("history");
        assert_eq!(history.current_decision, d.record.decision_id);
        assert_eq!(store.read(|tx| reviews::get(tx, &id)).expect("item").status, "closed");
        assert!(matches!(claim(store, &id, "bob"), Err(StoreError::Conflict(_))));
        assert_eq!(f.seller.strike.as_ref().map(|s| s.listing_id.as_str()), Some("L-1"));
        let entry = store.read(|tx| audit::entry_json(tx, d.audit_index)).expect("entry");
        assert_eq!(entry["kind"], "decision");
    });
}

#[test]
fn a_four_eyes_block_waits_for_a_second_reviewer_and_a_disagreement_for_a_third() {
    let g = gate();
    each(|store| {
        let id = listed(store, &g, "F-1", REVIEWED).expect("item");
        claim(store, &id, "alice").expect("claim");
        let d = decide(store, input(&g, &id, "alice", Action::Block, "child_like_appearance", true));
        assert!(matches!(d, Decided::AwaitingSecondReviewer { .. }), "{d:?}");
        let item = store.read(|tx| reviews::get(tx, &id)).expect("item");
        assert_eq!((item.status.as_str(), item.stage.as_str()), ("pending", "second"));
        assert_eq!(store.read(|tx| records::history(tx, "F-1")).expect("h").verdict, "review", "nothing took effect");
        assert!(matches!(claim(store, &id, "alice"), Err(StoreError::Forbidden(_))), "not the same reviewer twice");
        claim(store, &id, "bob").expect("second reviewer");
        let f = final_of(decide(store, input(&g, &id, "bob", Action::Block, "child_like_appearance", true)));
        let d = f.decision.expect("decision");
        assert_eq!(d.record.decided_by, "bob");
        assert_eq!(d.record.reason.as_ref().expect("reason")["reviewers"], serde_json::json!(["alice", "bob"]));

        // Alice proposes, Bob disagrees, Carol decides.
        let id = listed(store, &g, "F-2", REVIEWED).expect("item");
        claim(store, &id, "alice").expect("claim");
        decide(store, input(&g, &id, "alice", Action::Block, "child_like_appearance", true));
        claim(store, &id, "bob").expect("claim");
        let d = decide(store, input(&g, &id, "bob", Action::Allow, "not_a_sex_doll", true));
        assert!(matches!(d, Decided::AwaitingTiebreak { .. }), "{d:?}");
        for who in ["alice", "bob"] {
            assert!(matches!(claim(store, &id, who), Err(StoreError::Forbidden(_))));
        }
        claim(store, &id, "carol").expect("third reviewer");
        let f = final_of(decide(store, input(&g, &id, "carol", Action::Allow, "not_a_sex_doll", true)));
        assert_eq!(f.decision.expect("decision").record.decision.verdict, Action::Allow);
        assert!(f.seller.strike.is_none());
        // Proposals count for throughput, only final outcomes for accuracy.
        let stats = store.read(|tx| outcomes::stats(tx, 0)).expect("stats");
        let p = stats.policies.iter().find(|p| p.policy == "child_like_sex_doll").expect("policy");
        assert_eq!((p.decided, p.blocked, p.allowed, p.overturned), (2, 1, 1, 1));
        assert!((p.overturn_rate - 0.5).abs() < 1e-9);
        let alice = stats.reviewers.iter().find(|r| r.reviewer == "alice").expect("alice");
        assert_eq!((alice.outcomes, alice.closed), (2, 0));
    });
}

fn notice(kind: Kind, listing: &str, deadline: Option<i64>) -> NewNotice {
    NewNotice {
        kind,
        listing_id: listing.into(),
        url: None,
        category: "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS".into(),
        explanation: "Sold as a toy but is a weapon".into(),
        notifier_name: Some("A. Notifier".into()),
        notifier_email: Some("notifier@example.org".into()),
        csam: false,
        good_faith: true,
        flagger_id: None,
        order: deadline.map(|d| Order {
            authority: "DGCCRF".into(),
            reference: Some("2026-42".into()),
            legal_basis: "Code de la consommation L521-3-1".into(),
            territorial_scope: vec!["FR".into()],
            deadline: d,
        }),
        submitted_by: "k-notices".into(),
        severity: 30,
        policies: vec![],
    }
}

#[test]
fn notices_are_merged_per_listing_orders_jump_the_queue_and_notifiers_are_answered() {
    let g = gate();
    each(|store| {
        for i in 0..3 {
            listed(store, &g, &format!("N-{i}"), ALLOWED);
        }
        let first = store.write(|tx| notices::receive(tx, notice(Kind::Notice, "N-0", None))).expect("notice");
        assert!(first.merged_into.is_none());
        let dup = store.write(|tx| notices::receive(tx, notice(Kind::Notice, "N-0", None))).expect("duplicate");
        assert_eq!(dup.merged_into.as_deref(), Some(first.receipt_id.as_str()));
        assert_eq!(dup.review_id, first.review_id, "a duplicate joins the same item");
        store.write(|tx| notices::receive(tx, notice(Kind::TrustedFlagger, "N-1", None))).expect("flagger");
        let deadline = time::now_ms() + 48 * 60 * MINUTE;
        let order = store.write(|tx| notices::receive(tx, notice(Kind::Order, "N-0", Some(deadline)))).expect("order");
        assert_eq!(order.review_id, first.review_id);
        assert!(matches!(
            store.write(|tx| notices::receive(tx, notice(Kind::Notice, "nope", None))),
            Err(StoreError::NotFound(_))
        ));
        // The order raised N-0's item above the trusted flagger's.
        let queue = store
            .read(|tx| reviews::list(tx, &Filter { status: Some("pending".into()), limit: 10, ..Filter::default() }))
            .expect("queue");
        let order_of: Vec<(&str, &str)> = queue.iter().map(|i| (i.listing_id.as_str(), i.source.as_str())).collect();
        assert_eq!(order_of, [("N-0", "order"), ("N-1", "trusted_flagger")]);
        assert_eq!(queue[0].deadline.as_deref(), Some(time::rfc3339(deadline).as_str()));
        let by_source = store
            .read(|tx| {
                reviews::list(
                    tx,
                    &Filter {
                        source: Some("order".into()),
                        status: Some("pending".into()),
                        limit: 10,
                        ..Filter::default()
                    },
                )
            })
            .expect("filter");
        assert_eq!(by_source.len(), 1);

        // Deciding the item answers all three notices and queues deliveries.
        claim(store, &first.review_id, "alice").expect("claim");
        let mut i = input(&g, &first.review_id, "alice", Action::Block, "violation_confirmed", false);
        i.ground = Some(ground(&g, "weapons_category_a_b", "violation_confirmed", Action::Block));
        i.webhook = Some("http://127.0.0.1:9/hook".into());
        let f = final_of(decide(store, i));
        assert_eq!(f.notices.len(), 3);
        let n = store.read(|tx| notices::get(tx, &dup.receipt_id)).expect("notice");
        assert_eq!((n.status.as_str(), n.outcome.as_deref()), ("decided", Some("block")));
        assert_eq!(n.deliveries.len(), 1);
        let due = store.read(|tx| notices::due(tx, time::now_ms() + 1, 10)).expect("due");
        assert_eq!(due.len(), 3);
        let payload: serde_json::Value = serde_json::from_slice(&due[0].payload).expect("json");
        assert_eq!(payload["event"], "notice.decided");
        assert_eq!(payload["outcome"], "block");
        // A failed attempt is retried later; a delivered one is done.
        let later = time::now_ms() + 10 * MINUTE;
        store
            .write(|tx| {
                notices::attempted(
                    tx,
                    &due[0].delivery_id,
                    &Attempt::Failed { status: Some(503), error: "HTTP 503".into(), retry_at: Some(later) },
                )?;
                notices::attempted(tx, &due[1].delivery_id, &Attempt::Delivered { status: 204 })?;
                notices::attempted(
                    tx,
                    &due[2].delivery_id,
                    &Attempt::Failed { status: None, error: "refused".into(), retry_at: None },
                )
            })
            .expect("attempts");
        assert!(store.read(|tx| notices::due(tx, time::now_ms() + 1, 10)).expect("due").is_empty());
        let again = store.read(|tx| notices::due(tx, later + 1, 10)).expect("due later");
        assert_eq!(again.len(), 1);
        assert_eq!((again[0].attempts, again[0].last_status), (1, Some(503)));
        let states: Vec<String> = store
            .read(|tx| tx.query("SELECT status FROM deliveries ORDER BY status", &[]))
            .expect("states")
            .iter()
            .map(|r| r.text(0).unwrap_or_default())
            .collect();
        assert_eq!(states, ["delivered", "failed", "pending"]);
        // The log has each notice and answer, without the notifier's name.
        let entries =
            store.read(|tx| tx.query("SELECT body FROM audit_entries WHERE kind = 'notice'", &[])).expect("log");
        assert_eq!(entries.len(), 7, "four received, three answered (the flagger's item is still open)");
        for e in entries {
            let text = String::from_utf8(e.blob(0).expect("body")).expect("utf-8");
            assert!(!text.contains("notifier@example.org") && !text.contains("A. Notifier"), "{text}");
        }
    });
}

#[test]
fn appeals_go_to_another_reviewer_and_a_reversal_restores_the_listing_and_removes_the_strike() {
    let g = gate();
    each(|store| {
        let id = listed(store, &g, "A-1", REVIEWED).expect("item");
        claim(store, &id, "alice").expect("claim");
        let blocked = final_of(decide(store, input(&g, &id, "alice", Action::Block, "child_like_appearance", false)));
        let decision = blocked.decision.expect("decision").record.decision_id;
        assert!(blocked.seller.strike.is_some());
        let appeal = |seller: &str, months: u32| appeals::NewAppeal {
            decision_id: decision.clone(),
            seller_id: seller.into(),
            explanation: "It is an adult doll, 165 cm".into(),
            submitted_by: "k-market".into(),
            appeal_months: months,
            severity: 30,
        };
        assert!(matches!(store.write(|tx| appeals::receive(tx, appeal("S-2", 6))), Err(StoreError::Forbidden(_))));
        assert!(
            matches!(store.write(|tx| appeals::receive(tx, appeal("S-1", 0))), Err(StoreError::Invalid(m)) if m.contains("ended"))
        );
        let a = store.write(|tx| appeals::receive(tx, appeal("S-1", 6))).expect("appeal");
        assert!(matches!(store.write(|tx| appeals::receive(tx, appeal("S-1", 6))), Err(StoreError::Conflict(_))));
        let item = store.read(|tx| reviews::get(tx, &a.review_id)).expect("item");
        assert_eq!((item.source.as_str(), item.excluded.clone()), ("appeal", vec!["alice".to_string()]));
        assert!(matches!(claim(store, &a.review_id, "alice"), Err(StoreError::Forbidden(_))));
        claim(store, &a.review_id, "bob").expect("another reviewer");
        let f = final_of(decide(store, input(&g, &a.review_id, "bob", Action::Allow, "not_a_sex_doll", false)));
        let restored = f.decision.expect("decision");
        assert_eq!((restored.record.origin, restored.record.decision.verdict), (Origin::Appeal, Action::Allow));
        assert_eq!(restored.record.supersedes.as_deref(), Some(decision.as_str()));
        let a = f.appeal.expect("appeal");
        assert_eq!(
            (a.status.as_str(), a.outcome.as_deref(), a.decided_by.as_deref()),
            ("decided", Some("reversed"), Some("bob"))
        );
        assert!(f.seller.strike.as_ref().is_some_and(|s| s.removed_at.is_some()), "the strike is removed");
        assert_eq!(store.read(|tx| records::history(tx, "A-1")).expect("h").verdict, "allow");
        // Nothing restrictive left to appeal.
        let allow = appeals::NewAppeal { decision_id: restored.record.decision_id.clone(), ..appeal("S-1", 6) };
        assert!(matches!(store.write(|tx| appeals::receive(tx, allow)), Err(StoreError::Invalid(_))));
        let stats = store.read(|tx| outcomes::stats(tx, 0)).expect("stats");
        assert_eq!((stats.appeals.decided, stats.appeals.reversed), (1, 1));
    });
}

#[test]
fn confirmed_blocks_warn_then_suspend_and_the_suspension_is_appealable() {
    let g = gate();
    each(|store| {
        let mut effects = Vec::new();
        for i in 0..3 {
            let id = listed(store, &g, &format!("R-{i}"), REVIEWED).expect("item");
            claim(store, &id, "alice").expect("claim");
            effects.push(
                final_of(decide(store, input(&g, &id, "alice", Action::Block, "child_like_appearance", false))).seller,
            );
        }
        assert!(effects[0].warning.is_none() && effects[0].suspension.is_none());
        assert!(effects[1].warning.is_some(), "warned at the second strike");
        let suspension = effects[2].suspension.clone().expect("suspended at the third, after the warning");
        assert!(suspension.in_force);
        let standing = store.read(|tx| sellers::standings(tx, &["S-1".into(), "S-9".into()], 365)).expect("standing");
        assert_eq!(standing["S-1"].strikes_in_window, 3);
        assert!(standing["S-1"].suspension.is_some());
        assert!(!standing.contains_key("S-9"));
        // The seller appeals the suspension; another reviewer lifts it.
        let a = store
            .write(|tx| {
                appeals::receive(
                    tx,
                    appeals::NewAppeal {
                        decision_id: suspension.measure_id.clone(),
                        seller_id: "S-1".into(),
                        explanation: "Two of these were adult dolls".into(),
                        submitted_by: "k".into(),
                        appeal_months: 6,
                        severity: 30,
                    },
                )
            })
            .expect("appeal");
        assert_eq!(a.subject, "suspension");
        claim(store, &a.review_id, "bob").expect("claim");
        let mut lift = input(&g, &a.review_id, "bob", Action::Allow, "suspension_lifted", false);
        lift.ground = Some(ground(&g, "repeat_offenders", "suspension_lifted", Action::Allow));
        let f = final_of(decide(store, lift));
        assert!(f.decision.is_none(), "a suspension appeal decides no listing");
        assert!(f.seller.lifted.as_ref().is_some_and(|m| m.lifted_at.is_some()));
        assert!(store.read(|tx| sellers::suspension_in_force(tx, "S-1")).expect("read").is_none());

        // A reversed block lifts a suspension that no longer has its strikes.
        let id = listed(store, &g, "R-3", REVIEWED).expect("item");
        claim(store, &id, "alice").expect("claim");
        let f = final_of(decide(store, input(&g, &id, "alice", Action::Block, "child_like_appearance", false)));
        assert!(f.seller.suspension.is_some(), "a fourth strike after the warning suspends again");
        let removed = store
            .write(|tx| sellers::remove_strike(tx, "S-1", "R-3", "appeal reversed the block", &rules()))
            .expect("remove");
        assert!(removed.lifted.is_none(), "three strikes remain: the suspension stands");
        let removed = store
            .write(|tx| sellers::remove_strike(tx, "S-1", "R-2", "appeal reversed the block", &rules()))
            .expect("remove");
        assert!(removed.lifted.is_some(), "two strikes left: lifted");
    });
}

fn complete_record() -> TraderRecord {
    TraderRecord {
        name: Some("Boutique Exemple SARL".into()),
        address: Some(Address {
            street: Some("1 rue de l'Exemple".into()),
            postcode: Some("75001".into()),
            city: Some("Paris".into()),
            country: Some("FR".into()),
        }),
        phone: Some("+33 1 23 45 67 89".into()),
        email: Some("contact@boutique.example".into()),
        identity_document: Some(IdentityDocument {
            kind: Some("identity_card".into()),
            reference: Some("kyc/2026/0042".into()),
            issuing_country: Some("FR".into()),
        }),
        payment_account: Some(PaymentAccount {
            iban: Some("FR14 2004 1010 0505 0001 3M02 606".into()),
            ..PaymentAccount::default()
        }),
        trade_register: Some(TradeRegister {
            register: Some("RCS Paris".into()),
            number: Some("404 833 048".into()),
            country: Some("FR".into()),
        }),
        not_in_trade_register: false,
        vat_number: Some("FR 83 404 833 048".into()),
        self_certification: Some(true),
        language: Some("fr".into()),
    }
}

#[test]
fn trader_records_name_what_is_missing_and_need_a_person_to_verify_them() {
    each(|store| {
        let partial =
            TraderRecord { name: Some("X".into()), email: Some("not-an-email".into()), ..TraderRecord::default() };
        let t = store.write(|tx| traders::put(tx, "S-1", partial, "k")).expect("put");
        assert_eq!(t.status, "incomplete");
        assert!(
            t.checked.missing.contains(&"address.street".to_string())
                && t.checked.missing.contains(&"self_certification".to_string())
        );
        assert_eq!(t.checked.findings.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), ["email"]);
        assert!(matches!(store.write(|tx| traders::verify(tx, "S-1", "rev", None)), Err(StoreError::Conflict(_))));

        let mut bad_vat = complete_record();
        bad_vat.vat_number = Some("FR 84 404 833 048".into());
        let t = store.write(|tx| traders::put(tx, "S-1", bad_vat, "k")).expect("put");
        assert_eq!((t.status.as_str(), t.checked.findings[0].field.as_str()), ("incomplete", "vat_number"));

        let t = store.write(|tx| traders::put(tx, "S-1", complete_record(), "k")).expect("put");
        assert_eq!(t.status, "unverified");
        let status = store.read(|tx| traders::statuses(tx, &["S-1".into()])).expect("status");
        assert_eq!(status[0].1.lacking, ["verification"]);
        let t = store.write(|tx| traders::verify(tx, "S-1", "rev", Some("ID card checked; SIRENE"))).expect("verify");
        assert_eq!((t.status.as_str(), t.verified_by.as_deref()), ("verified", Some("rev")));
        // The same record again keeps the verification; a changed one loses it.
        assert_eq!(store.write(|tx| traders::put(tx, "S-1", complete_record(), "k")).expect("put").status, "verified");
        let mut moved = complete_record();
        moved.address.as_mut().expect("address").city = Some("Lyon".into());
        assert_eq!(store.write(|tx| traders::put(tx, "S-1", moved, "k")).expect("put").status, "unverified");
        // No personal data in the log.
        let bodies =
            store.read(|tx| tx.query("SELECT body FROM audit_entries WHERE kind = 'trader'", &[])).expect("log");
        assert!(bodies.len() >= 5);
        for b in bodies {
            let text = String::from_utf8(b.blob(0).expect("b")).expect("utf-8");
            assert!(!text.contains("Boutique") && !text.contains("contact@") && !text.contains("FR14"), "{text}");
        }
        store.write(|tx| traders::erase(tx, "S-1", "admin")).expect("erase");
        assert!(store.read(|tx| traders::get(tx, "S-1")).expect("get").is_none());
    });
}

#[test]
fn statements_explain_each_restriction_in_the_sellers_language() {
    let g = gate();
    each(|store| {
        listed(store, &g, "B-1", BLOCKED);
        let id = listed(store, &g, "B-2", REVIEWED).expect("item");
        claim(store, &id, "alice").expect("claim");
        decide(store, input(&g, &id, "alice", Action::Block, "child_like_appearance", false));
        listed(store, &g, "B-3", ALLOWED);
        let (en, next) = store.read(|tx| statements::for_seller(tx, "S-1", g.pack(), "en", 50, None)).expect("en");
        assert!(next.is_none());
        let listing_statements: Vec<_> = en.iter().filter(|s| s.kind == "listing").collect();
        assert_eq!(listing_statements.len(), 2, "the two blocks, not the allowed listing nor the review verdict");
        let auto = listing_statements.iter().find(|s| s.listing_id.as_deref() == Some("B-1")).expect("automated");
        assert_eq!((auto.automated_decision.as_str(), auto.automated_detection), ("fully", true));
        assert_eq!(auto.source, "own_initiative");
        assert_eq!(auto.territorial_scope, ["EU"]);
        assert!(auto.ground.reference.contains("227-23"));
        assert!(auto.evidence.iter().any(|e| e.field == "title"), "the seller's own words");
        assert!(auto.text.contains("Your listing B-1 was not published"));
        assert!(auto.redress.appeal.contains("until"));
        let person = listing_statements.iter().find(|s| s.listing_id.as_deref() == Some("B-2")).expect("review");
        assert_eq!(person.automated_decision, "partially");
        assert!(person.text.contains("Reason given: The product is a sex doll"));
        let (fr, _) = store.read(|tx| statements::for_seller(tx, "S-1", g.pack(), "fr", 50, None)).expect("fr");
        let person_fr = fr.iter().find(|s| s.listing_id.as_deref() == Some("B-2")).expect("fr");
        assert_eq!(person_fr.language, "fr");
        assert!(person_fr.text.contains("Votre annonce B-2 n'a pas été publiée"), "{}", person_fr.text);
        assert!(person_fr.text.contains("Motif : Le produit est une poupée sexuelle"), "{}", person_fr.text);
        assert!(person_fr.ground.explanation.contains("apparence d'un enfant"));
        // The seller's record chooses the language when the caller does not.
        store.write(|tx| traders::put(tx, "S-1", complete_record(), "k")).expect("put");
        assert_eq!(store.read(|tx| statements::language_of(tx, "S-1", None)).expect("lang"), "fr");
        // Paging by audit index.
        let (page1, next) = store.read(|tx| statements::for_seller(tx, "S-1", g.pack(), "en", 1, None)).expect("p1");
        assert_eq!(page1.len(), 1);
        let (page2, _) = store.read(|tx| statements::for_seller(tx, "S-1", g.pack(), "en", 1, next)).expect("p2");
        assert_eq!(page2.len(), 1);
        assert_ne!(page1[0].statement_id, page2[0].statement_id);
    });
}

#[test]
fn the_queue_filters_by_policy_from_its_index_and_pages_without_gaps() {
    let g = gate();
    each(|store| {
        for i in 0..12 {
            let mut s = submission(&g, &format!("Q-{i:02}"), REVIEWED);
            s.review = Some(Seed {
                source: if i % 3 == 0 { Source::Relisting } else { Source::Detection },
                severity: [10, 20, 30][i % 3],
                policies: vec![if i % 2 == 0 { "even".into() } else { "odd".into() }, "all".into()],
            });
            store.write(|tx| records::record_submission(tx, s)).expect("record");
        }
        let all = |f: Filter| -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            let mut after = None;
            loop {
                let page = store
                    .read(|tx| reviews::list(tx, &Filter { after: after.clone(), limit: 5, ..f.clone() }))
                    .expect("page");
                if page.is_empty() {
                    break;
                }
                after = page.last().map(|i| i.review_id.clone());
                out.extend(page.into_iter().map(|i| i.listing_id));
            }
            out
        };
        let pending = Filter { status: Some("pending".into()), ..Filter::default() };
        let everything = all(pending.clone());
        assert_eq!(everything.len(), 12);
        let even = all(Filter { policy: Some("even".into()), ..pending.clone() });
        // The index path gives the same items in the same order as a scan.
        let scanned: Vec<String> =
            everything.iter().filter(|l| l[2..].parse::<u32>().unwrap_or(1) % 2 == 0).cloned().collect();
        assert_eq!(even, scanned);
        let counts = store.read(reviews::queue_counts).expect("counts");
        assert!(counts.pending_by_policy.contains(&("all".into(), 12)));
        assert!(counts.pending_by_source.contains(&("relisting".into(), 4)));
        // Closing an item takes it out of the policy index.
        let first = store.read(|tx| reviews::list(tx, &Filter { limit: 1, ..pending.clone() })).expect("first")[0]
            .review_id
            .clone();
        store.write(|tx| reviews::close(tx, &first, "allow", None)).expect("close");
        assert_eq!(all(Filter { policy: Some("all".into()), ..pending }).len(), 11);
    });
}

#[test]
fn the_report_reads_a_periods_notices_complaints_and_suspensions_and_a_listings_history() {
    use rempart_store::dsa;
    let g = gate();
    each(|store| {
        let start = time::now_ms();
        // A notice and an order on two listings; the notice's listing is blocked.
        listed(store, &g, "P-0", ALLOWED);
        listed(store, &g, "P-1", ALLOWED);
        let n = store.write(|tx| notices::receive(tx, notice(Kind::Notice, "P-0", None))).expect("notice");
        let mut order = notice(Kind::Order, "P-1", Some(start + 48 * 60 * MINUTE));
        order.order.as_mut().expect("order").territorial_scope = vec!["FR".into(), "BE".into()];
        store.write(|tx| notices::receive(tx, order)).expect("order");
        claim(store, &n.review_id, "alice").expect("claim");
        let blocked =
            final_of(decide(store, input(&g, &n.review_id, "alice", Action::Block, "child_like_appearance", false)));
        // Three strikes suspend the seller; one block is appealed and reversed.
        for i in 0..2 {
            let id = listed(store, &g, &format!("P-R{i}"), REVIEWED).expect("item");
            claim(store, &id, "alice").expect("claim");
            final_of(decide(store, input(&g, &id, "alice", Action::Block, "child_like_appearance", false)));
        }
        let a = store
            .write(|tx| {
                appeals::receive(
                    tx,
                    appeals::NewAppeal {
                        decision_id: blocked.decision.as_ref().expect("decision").record.decision_id.clone(),
                        seller_id: "S-1".into(),
                        explanation: "Not a doll".into(),
                        submitted_by: "k".into(),
                        appeal_months: 6,
                        severity: 30,
                    },
                )
            })
            .expect("appeal");
        claim(store, &a.review_id, "bob").expect("claim");
        final_of(decide(store, input(&g, &a.review_id, "bob", Action::Allow, "not_a_sex_doll", false)));
        let end = time::now_ms() + 1;

        let received = store.read(|tx| dsa::notices_received(tx, start, end)).expect("notices");
        assert_eq!(received.len(), 2);
        let (notice, order) = (&received[0], &received[1]);
        assert_eq!((notice.kind.as_str(), notice.outcome.as_deref()), ("notice", Some("block")));
        assert!(notice.decided_at.is_some_and(|d| d >= notice.received_at));
        assert_eq!(
            notice.outcome_decision.as_ref().map(|d| d.record.decision.verdict),
            Some(Action::Block),
            "the decision the outcome recorded"
        );
        assert_eq!(
            (order.kind.as_str(), order.territorial_scope.clone()),
            ("order", vec!["FR".to_string(), "BE".into()])
        );
        assert!(order.decided_at.is_none() && order.outcome.is_none(), "the order is pending");
        // An outcome after the period's end counts as pending.
        let cut = notice.decided_at.expect("decided");
        let early = store.read(|tx| dsa::notices_received(tx, start, cut)).expect("notices");
        assert!(early[0].decided_at.is_none() && early[0].outcome_decision.is_none());

        let complaints = store.read(|tx| dsa::complaints_received(tx, start, end)).expect("complaints");
        assert_eq!(complaints.len(), 1);
        assert_eq!((complaints[0].subject.as_str(), complaints[0].outcome.as_deref()), ("decision", Some("reversed")));
        let suspensions = store.read(|tx| dsa::suspensions_enacted(tx, start, end)).expect("suspensions");
        assert_eq!(suspensions.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["S-1"]);
        assert!(store.read(|tx| dsa::suspensions_enacted(tx, end, end + 1)).expect("none").is_empty());

        // P-0's history: the notice received and answered, the review's
        // claims and outcomes, the strike, the appeal received and decided.
        let history = store.read(|tx| dsa::listing_history(tx, "P-0")).expect("history");
        assert!(history.windows(2).all(|w| w[0] < w[1]), "log order, no repeats");
        let entries: Vec<serde_json::Value> = history
            .iter()
            .map(|i| serde_json::from_slice(&store.read(|tx| audit::entry(tx, *i)).expect("entry")).expect("json"))
            .collect();
        let what: Vec<String> = entries
            .iter()
            .map(|e| format!("{} {}", e["kind"].as_str().unwrap_or(""), e["data"]["action"].as_str().unwrap_or("")))
            .collect();
        for expected in ["notice received", "notice answered", "suspension strike", "appeal received", "appeal decided"]
        {
            assert!(what.iter().any(|w| w == expected), "{expected}: {what:?}");
        }
        assert!(
            entries.iter().all(|e| e["data"]["listing_id"].as_str().is_none_or(|l| l == "P-0")),
            "nothing about another listing"
        );
    });
}

#[test]
fn kept_queue_counts_are_repaired_by_a_recount() {
    let g = gate();
    each(|store| {
        for i in 0..3 {
            let mut s = submission(&g, &format!("C-{i}"), REVIEWED);
            s.review = Some(Seed { source: Source::Detection, severity: 10, policies: vec!["p".into()] });
            store.write(|tx| records::record_submission(tx, s)).expect("record");
        }
        store.write(|tx| tx.exec("UPDATE review_counts SET n = n + 5", &[])).expect("drift");
        assert_ne!(
            store.read(reviews::queue_counts).expect("kept").by_status,
            store.read(reviews::exact_counts).expect("exact").by_status
        );
        assert!(store.write(reviews::recount).expect("recount"), "the drift is found");
        assert!(!store.write(reviews::recount).expect("recount"), "and repaired");
        let counts = store.read(reviews::queue_counts).expect("kept");
        assert!(counts.pending_by_policy.contains(&("p".into(), 3)), "{counts:?}");
    });
}
