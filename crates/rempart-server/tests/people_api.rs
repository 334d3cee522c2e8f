//! The people-in-the-loop API end to end, through the real router and
//! store (SQLite): the review queue and its claims, four-eyes, notices and
//! orders (with their webhook delivered to a receiver on 127.0.0.1, which
//! checks the signature and fails the first attempt), appeals, strikes and
//! suspensions, trader records, statements, and the bad-input rules: 400
//! naming the field, 403 for the wrong role, 404 for unknown ids, 409 for
//! a held item, never a 5xx.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::http::{Method, Request, StatusCode};
use hmac::{Hmac, Mac};
use rempart_server::{App, Config, Limits, People, Retries, Webhook};
use rempart_store::keyfile::KeyFile;
use rempart_store::keys::{self, Role};
use rempart_store::writer::HeadPolicy;
use rempart_store::{Durability, Location, OpenOptions, Store};
use serde_json::{json, Value};
use sha2::Sha256;
use tower::ServiceExt;

const SECRET: &[u8] = b"webhook-secret-for-tests-0123456789";

/// What the webhook receiver saw.
#[derive(Default)]
struct Received {
    bodies: Vec<Value>,
    bad_signatures: u32,
    attempts: u32,
}

struct Service {
    app: App,
    router: axum::Router,
    keys: std::collections::HashMap<&'static str, String>,
    received: Arc<Mutex<Received>>,
    _dir: tempfile::TempDir,
}

/// The receiver answers 500 to its first request, then 204; it checks
/// every signature with its own HMAC.
async fn receiver(received: Arc<Mutex<Received>>) -> SocketAddr {
    let handler = move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
        let received = received.clone();
        async move {
            let mut r = received.lock().expect("lock");
            r.attempts += 1;
            let sig = headers.get("rempart-signature").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            let (t, v1) = sig.split_once(",v1=").unwrap_or_default();
            let t = t.strip_prefix("t=").unwrap_or_default();
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET).expect("hmac");
            mac.update(format!("{t}.").as_bytes());
            mac.update(&body);
            if hex::decode(v1).ok().is_none_or(|v| mac.verify_slice(&v).is_err()) {
                r.bad_signatures += 1;
            }
            if r.attempts == 1 {
                return StatusCode::INTERNAL_SERVER_ERROR;
            }
            r.bodies.push(serde_json::from_slice(&body).unwrap_or(Value::Null));
            StatusCode::NO_CONTENT
        }
    };
    let router = axum::Router::new().route("/hook", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await.ok() });
    addr
}

async fn service() -> Service {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Location::Sqlite(dir.path().join("r.db"));
    let key_file = dir.path().join("r.db.keys");
    rempart_server::init(&db, &key_file, "test.example/log").expect("init");
    let pepper = KeyFile::load(&key_file).expect("keyfile").pepper().expect("pepper");
    let store = Store::open(&db, &OpenOptions::default()).expect("open");
    let mut keys = std::collections::HashMap::new();
    for (name, role) in [
        ("admin", Role::Admin),
        ("submitter", Role::Submitter),
        ("alice", Role::Reviewer),
        ("bob", Role::Reviewer),
        ("carol", Role::Reviewer),
        ("auditor", Role::Auditor),
        ("regulator", Role::Regulator),
        ("regulator2", Role::Regulator),
        ("flagger", Role::Notifier),
    ] {
        let k = store.write(|tx| keys::create(tx, &pepper, role, name, None, "test")).expect("key");
        keys.insert(name, k.secret);
    }
    let received = Arc::new(Mutex::new(Received::default()));
    let hook = receiver(received.clone()).await;
    let config = Config {
        semantic_model: None,
        db,
        key_file,
        listen: "127.0.0.1:0".parse().expect("addr"),
        durability: Durability::Normal,
        heads: HeadPolicy::default(),
        limits: Limits::default(),
        signals: None,
        fetch_images: false,
        read_only: false,
        max_db_bytes: None,
        people: People {
            webhook: Some(Webhook { url: format!("http://{hook}/hook"), secret: SECRET.to_vec() }),
            retries: Retries {
                first_retry: Duration::from_millis(50),
                poll: Duration::from_millis(20),
                ..Retries::default()
            },
        },
    };
    let (app, _running) = rempart_server::build(&config).expect("build");
    tokio::spawn(rempart_server::delivery::run(app.clone()));
    let router = rempart_server::router(app.clone());
    Service { app, router, keys, received, _dir: dir }
}

impl Service {
    async fn call(&self, who: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(k) = self.keys.get(who) {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        let req = match body {
            Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .expect("request");
        let res = self.router.clone().oneshot(req).await.expect("response");
        let status = res.status();
        assert!(!status.is_server_error(), "{path}: {status} on client input");
        let bytes = to_bytes(res.into_body(), 1 << 24).await.expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn get(&self, who: &str, path: &str) -> (StatusCode, Value) {
        self.call(who, Method::GET, path, None).await
    }

    async fn post(&self, who: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(who, Method::POST, path, Some(body)).await
    }

    async fn submit(&self, listing: Value) -> Value {
        let (s, v) = self.post("submitter", "/v1/listings", listing).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    /// The pending item of a listing.
    async fn item_of(&self, listing: &str) -> String {
        let (s, v) = self.get("alice", &format!("/v1/reviews?listing_id={listing}")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["items"][0]["review_id"].as_str().unwrap_or_else(|| panic!("no item for {listing}: {v}")).to_string()
    }

    /// Claims and decides; returns the answer.
    async fn decide(&self, who: &str, item: &str, body: Value) -> Value {
        let (s, v) = self.post(who, &format!("/v1/reviews/{item}/claim"), json!({})).await;
        assert_eq!(s, StatusCode::OK, "claim: {v}");
        let (s, v) = self.post(who, &format!("/v1/reviews/{item}/decision"), body).await;
        assert_eq!(s, StatusCode::OK, "decision: {v}");
        v
    }
}

fn field(v: &Value) -> &str {
    v["error"]["field"].as_str().unwrap_or_default()
}

fn listing(id: &str, title: &str, seller: &str) -> Value {
    json!({"id": id, "title": title, "seller": {"id": seller}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_queue_claims_decisions_and_bad_input() {
    let s = service().await;
    s.submit(listing("L-1", "Sex doll silicone", "S-1")).await;
    s.submit(listing("L-2", "Replica watch 1:1 AAA quality", "S-2")).await;
    // Roles.
    assert_eq!(s.get("submitter", "/v1/reviews").await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.get("nobody", "/v1/reviews").await.0, StatusCode::UNAUTHORIZED);
    let (st, v) = s.post("alice", "/v1/keys", json!({"role": "admin", "label": "me"})).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "a reviewer cannot manage keys: {v}");
    // Filters name their field.
    for (q, f) in
        [("status=done", "status"), ("source=tv", "source"), ("policy=Bad-Id", "policy"), ("limit=0", "limit")]
    {
        let (st, v) = s.get("alice", &format!("/v1/reviews?{q}")).await;
        assert_eq!((st, field(&v)), (StatusCode::BAD_REQUEST, f), "{q}: {v}");
    }
    let item = s.item_of("L-1").await;
    let (st, view) = s.get("alice", &format!("/v1/reviews/{item}")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(view["fields"][0]["segments"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| !x["evidence"].as_array().is_none_or(Vec::is_empty))));
    assert!(view["reasons"].as_array().is_some_and(|r| r.iter().any(|x| x["code"] == "child_like_appearance")));
    assert_eq!(view["four_eyes"], true);
    assert_eq!(s.get("alice", "/v1/reviews/no-such-item").await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.post("alice", "/v1/reviews/no-such-item/claim", json!({})).await.0, StatusCode::NOT_FOUND);

    // Claims: 200 with the lease, 409 for another reviewer.
    let (st, lease) = s.post("alice", &format!("/v1/reviews/{item}/claim"), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{lease}");
    assert!(lease["lease_until"].is_string());
    let (st, v) = s.post("bob", &format!("/v1/reviews/{item}/claim"), json!({})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert_eq!(s.post("auditor", &format!("/v1/reviews/{item}/claim"), json!({})).await.0, StatusCode::FORBIDDEN);
    // Bad outcomes name their field.
    let on_item = format!("/v1/reviews/{item}/decision");
    let decide = |body: Value| s.post("alice", &on_item, body);
    for (body, f) in [
        (json!({"outcome": "delete", "reason": "x"}), "outcome"),
        (json!({"outcome": "block", "reason": "nope"}), "reason"),
        (json!({"outcome": "block", "reason": "no_violation"}), "reason"),
        (json!({"outcome": "allow", "reason": "no_violation", "condition": "adults_only"}), "condition"),
        (json!({"outcome": "block", "reason": "violation_confirmed", "policy": "no_such_policy"}), "policy"),
        (json!({"outcome": "block"}), "reason"),
        (json!({"outcome": "block", "reason": "child_like_appearance", "extra": 1}), "extra"),
        (json!({"outcome": 7, "reason": "x"}), "outcome"),
    ] {
        let (st, v) = decide(body.clone()).await;
        assert_eq!((st, field(&v)), (StatusCode::BAD_REQUEST, f), "{body}: {v}");
    }
    // Bob may not decide Alice's claim.
    let (st, _) = s
        .post("bob", &format!("/v1/reviews/{item}/decision"), json!({"outcome": "allow", "reason": "no_violation"}))
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    // Four-eyes: Alice proposes, Bob confirms.
    let (st, v) =
        decide(json!({"outcome": "block", "reason": "child_like_appearance", "note": "height and face"})).await;
    assert_eq!((st, v["state"].as_str()), (StatusCode::OK, Some("awaiting_second_reviewer")), "{v}");
    assert_eq!(s.post("alice", &format!("/v1/reviews/{item}/claim"), json!({})).await.0, StatusCode::FORBIDDEN);
    let v = s.decide("bob", &item, json!({"outcome": "block", "reason": "child_like_appearance"})).await;
    assert_eq!(v["state"], "final", "{v}");
    assert_eq!(v["decision"]["origin"], "review");
    assert_eq!(v["decision"]["decided_by"].as_str().map(str::len), Some(12));
    let decision_id = v["decision"]["decision_id"].as_str().expect("id").to_string();
    let (st, d) = s.get("submitter", &format!("/v1/decisions/{decision_id}")).await;
    assert_eq!((st, d["decision"]["verdict"].as_str()), (StatusCode::OK, Some("block")));
    // The item's history has the claims, the proposal and the outcome.
    let (_, view) = s.get("auditor", &format!("/v1/reviews/{item}")).await;
    let actions: Vec<&str> =
        view["audit"].as_array().expect("audit").iter().filter_map(|e| e["data"]["action"].as_str()).collect();
    assert!(actions.starts_with(&["claimed", "proposed", "claimed"]) && actions.contains(&"decided"), "{actions:?}");
    // Claim-next hands out L-2 (and 204 once nothing is left).
    let (st, v) = s.post("carol", "/v1/reviews/claim-next", json!({})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["item"]["listing_id"], "L-2");
    let (st, _) = s.post("bob", "/v1/reviews/claim-next", json!({"policy": "counterfeit_goods"})).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, v) = s.post("bob", "/v1/reviews/claim-next", json!({"source": "tv"})).await;
    assert_eq!((st, field(&v)), (StatusCode::BAD_REQUEST, "source"));
    let (st, counts) = s.get("alice", "/v1/reviews/counts").await;
    assert_eq!((st, counts["pending_claimed"].as_u64()), (StatusCode::OK, Some(1)));
    let (st, stats) = s.get("regulator", "/v1/reviews/stats?since=2020-01-01").await;
    assert_eq!(st, StatusCode::OK);
    assert!(stats["policies"].as_array().is_some_and(|p| p.iter().any(|x| x["policy"] == "child_like_sex_doll")));
    assert_eq!(s.get("alice", "/v1/reviews/stats?since=yesterday").await.0, StatusCode::BAD_REQUEST);
    // The OpenAPI document lists the new routes.
    let (_, doc) = s.get("auditor", "/openapi.json").await;
    for path in [
        "/v1/reviews/{id}/claim",
        "/v1/reviews/{id}/decision",
        "/v1/notices",
        "/v1/appeals",
        "/v1/sellers/{id}/statements",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} in openapi.json");
    }
    drop(s.app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_orders_and_their_webhook() {
    let s = service().await;
    s.submit(listing("N-1", "Brass knuckles keychain", "S-1")).await;
    s.submit(listing("N-2", "Garden hose 20 m", "S-2")).await;
    let good = json!({
        "listing_id": "N-2", "category": "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
        "explanation": "The hose is sold with a dangerous adapter", "notifier": {"name": "A. Person", "email": "a@example.org"},
        "good_faith": true
    });
    let without = |k: &str| {
        let mut b = good.clone();
        b.as_object_mut().expect("object").remove(k);
        b
    };
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    for (body, f) in [
        (without("category"), "category"),
        (with("category", json!("ILLEGAL")), "category"),
        (without("explanation"), "explanation"),
        (with("explanation", json!("  ")), "explanation"),
        (without("notifier"), "notifier.name"),
        (with("notifier", json!({"name": "A", "email": "nope"})), "notifier.email"),
        (without("good_faith"), "good_faith"),
        (with("good_faith", json!(false)), "good_faith"),
        (without("listing_id"), "listing_id"),
        (with("url", json!("ftp://x")), "url"),
        (with("child_sexual_abuse", json!(true)), "child_sexual_abuse"),
        (with("colour", json!("red")), "colour"),
    ] {
        let (st, v) = s.post("submitter", "/v1/notices", body.clone()).await;
        assert_eq!((st, field(&v)), (StatusCode::BAD_REQUEST, f), "{body}: {v}");
    }
    assert_eq!(s.post("submitter", "/v1/notices", with("listing_id", json!("nope"))).await.0, StatusCode::NOT_FOUND);
    let mut unknown_url = without("listing_id");
    unknown_url["url"] = json!("https://shop.example/item/nope");
    let (st, v) = s.post("submitter", "/v1/notices", unknown_url).await;
    assert_eq!((st, field(&v)), (StatusCode::BAD_REQUEST, "url"), "{v}");
    assert_eq!(s.post("alice", "/v1/notices", good.clone()).await.0, StatusCode::FORBIDDEN);
    // A notice by URL, a duplicate merged into it, a CSAM notice without a name.
    let by_url = json!({
        "url": "https://shop.example/item/N-2?from=search", "category": "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
        "explanation": "Dangerous", "notifier": {"name": "B", "email": "b@example.org"}, "good_faith": true
    });
    let (st, first) = s.post("submitter", "/v1/notices", by_url).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{first}");
    assert_eq!(first["listing_id"], "N-2");
    let (_, dup) = s.post("submitter", "/v1/notices", good.clone()).await;
    assert_eq!(dup["merged_into"], first["receipt_id"]);
    let anonymous = json!({
        "listing_id": "N-2", "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS", "explanation": "Looks like a child",
        "child_sexual_abuse": true, "good_faith": true
    });
    assert_eq!(s.post("submitter", "/v1/notices", anonymous).await.0, StatusCode::ACCEPTED);
    // A trusted flagger's own key, then an order.
    let flagger_key = s.keys["flagger"].split('_').nth(1).expect("key id").to_string();
    let (st, v) = s
        .post("admin", "/v1/flaggers", json!({"flagger_id": "TF-1", "name": "Child Safety NGO", "expertise": "child protection", "awarded_by": "Arcom", "key_id": flagger_key}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(
        s.post(
            "admin",
            "/v1/flaggers",
            json!({"flagger_id": "TF-1", "name": "x", "expertise": "x", "awarded_by": "x"})
        )
        .await
        .0,
        StatusCode::CONFLICT
    );
    let (st, tf) = s.post("flagger", "/v1/notices", with("listing_id", json!("N-1"))).await;
    assert_eq!((st, tf["kind"].as_str()), (StatusCode::ACCEPTED, Some("trusted_flagger")), "{tf}");
    let order = json!({
        "listing_id": "N-1", "category": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY", "explanation": "Category A weapon",
        "order": {"authority": "Préfecture de police", "reference": "2026-17", "legal_basis": "CSI R311-2", "territorial_scope": ["FR"]}
    });
    assert_eq!(s.post("submitter", "/v1/notices", order.clone()).await.0, StatusCode::FORBIDDEN);
    let mut bad_scope = order.clone();
    bad_scope["order"]["territorial_scope"] = json!(["FR", "France"]);
    let (st, v) = s.post("regulator", "/v1/notices", bad_scope).await;
    assert_eq!((st, field(&v)), (StatusCode::BAD_REQUEST, "order.territorial_scope[1]"));
    let mut past = order.clone();
    past["order"]["deadline"] = json!("2020-01-01");
    assert_eq!(field(&s.post("regulator", "/v1/notices", past).await.1), "order.deadline");
    let (st, o) = s.post("regulator", "/v1/notices", order).await;
    assert_eq!((st, o["kind"].as_str()), (StatusCode::ACCEPTED, Some("order")), "{o}");
    assert!(o["deadline"].is_string());
    // A regulator reads its own orders only.
    let own = o["receipt_id"].as_str().expect("id");
    assert_eq!(s.get("regulator", &format!("/v1/notices/{own}")).await.0, StatusCode::OK);
    assert_eq!(s.get("regulator2", &format!("/v1/notices/{own}")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        s.get("regulator", &format!("/v1/notices/{}", first["receipt_id"].as_str().expect("id"))).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, list) = s.get("regulator2", "/v1/notices").await;
    assert_eq!(list["notices"].as_array().map(Vec::len), Some(0));
    assert_eq!(s.get("alice", "/v1/notices/nope").await.0, StatusCode::NOT_FOUND);
    // The order put N-1 first, with its deadline.
    let (_, q) = s.get("alice", "/v1/reviews").await;
    assert_eq!((q["items"][0]["listing_id"].as_str(), q["items"][0]["source"].as_str()), (Some("N-1"), Some("order")));
    assert!(q["items"][0]["deadline"].is_string());

    // Deciding answers the notifiers and the webhook gets it, signed,
    // after a failed first attempt.
    let item = s.item_of("N-2").await;
    let v = s.decide("alice", &item, json!({"outcome": "allow", "reason": "no_violation"})).await;
    assert_eq!(v["notices"].as_array().map(Vec::len), Some(3));
    // Wait (bounded) for the three deliveries; the first attempt fails.
    for _ in 0..500 {
        if s.received.lock().expect("lock").bodies.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut attempts = 0;
    for receipt in [&first, &dup] {
        let (_, n) = s.get("submitter", &format!("/v1/notices/{}", receipt["receipt_id"].as_str().expect("id"))).await;
        assert_eq!((n["status"].as_str(), n["outcome"].as_str()), (Some("decided"), Some("allow")), "{n}");
        assert_eq!(n["deliveries"][0]["status"], "delivered", "{n}");
        attempts += n["deliveries"][0]["attempts"].as_u64().unwrap_or(0);
    }
    let r = s.received.lock().expect("lock");
    assert_eq!(r.bodies.len(), 3, "every notifier's outcome is delivered");
    assert_eq!(r.bad_signatures, 0, "every delivery carries a valid signature");
    assert_eq!(r.attempts, 4, "three deliveries and one retry");
    assert!(attempts >= 2);
    assert!(r.bodies.iter().all(|b| b["event"] == "notice.decided" && b["outcome"] == "allow"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appeals_statements_strikes_suspension_and_traders() {
    let s = service().await;
    // Three counterfeit listings blocked by a person: warning, then suspension.
    for i in 0..3 {
        s.submit(listing(&format!("C-{i}"), "Replica watch 1:1 AAA quality", "S-1")).await;
        let item = s.item_of(&format!("C-{i}")).await;
        let v = s.decide("alice", &item, json!({"outcome": "block", "reason": "violation_confirmed"})).await;
        assert_eq!(v["state"], "final", "{v}");
        if i == 2 {
            assert!(v["seller"]["suspension"]["ends_at"].is_string(), "{v}");
        }
    }
    // A new listing of the suspended seller is blocked, the suspension as reason.
    let d = s.submit(listing("C-9", "Garden hose 20 m", "S-1")).await;
    assert_eq!(d["decision"]["verdict"], "block", "{d}");
    let m = &d["decision"]["matches"][0];
    assert_eq!((m["policy"].as_str(), m["rule"].as_str()), (Some("repeat_offenders"), Some("seller_suspended")));
    assert!(m["evidence"][0]["detail"].as_str().is_some_and(|t| t.contains("suspension")));
    // Statements, in French, with the suspension and each block.
    let (st, page) = s.get("submitter", "/v1/sellers/S-1/statements?lang=fr").await;
    assert_eq!(st, StatusCode::OK, "{page}");
    let kinds: Vec<&str> =
        page["statements"].as_array().expect("list").iter().filter_map(|x| x["kind"].as_str()).collect();
    assert!(
        kinds.contains(&"suspension")
            && kinds.contains(&"warning")
            && kinds.iter().filter(|k| **k == "listing").count() == 4,
        "{kinds:?}"
    );
    assert!(page["statements"][0]["text"].as_str().is_some_and(|t| t.contains("Vos recours")));
    assert_eq!(field(&s.get("submitter", "/v1/sellers/S-1/statements?lang=de").await.1), "lang");
    assert_eq!(s.get("submitter", "/v1/sellers/S-404/statements").await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get("regulator", "/v1/sellers/S-1/statements").await.0, StatusCode::FORBIDDEN);
    let (_, seller) = s.get("alice", "/v1/sellers/S-1").await;
    assert_eq!(seller["strikes"].as_array().map(Vec::len), Some(3));

    // Appeals: fields, seller, unknown ids, and another reviewer decides.
    let (_, c0) = s.get("alice", "/v1/listings/C-0").await;
    let blocked = c0["current_decision"].as_str().expect("decision").to_string();
    for (body, f) in [
        (json!({"seller_id": "S-1", "explanation": "x"}), "decision_id"),
        (json!({"decision_id": blocked, "explanation": "x"}), "seller_id"),
        (json!({"decision_id": blocked, "seller_id": "S-1", "explanation": ""}), "explanation"),
    ] {
        let (st, v) = s.post("submitter", "/v1/appeals", body).await;
        assert_eq!((st, field(&v)), (StatusCode::BAD_REQUEST, f), "{v}");
    }
    assert_eq!(
        s.post("submitter", "/v1/appeals", json!({"decision_id": "nope", "seller_id": "S-1", "explanation": "x"}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.post("submitter", "/v1/appeals", json!({"decision_id": blocked, "seller_id": "S-2", "explanation": "x"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        s.post("alice", "/v1/appeals", json!({"decision_id": blocked, "seller_id": "S-1", "explanation": "x"})).await.0,
        StatusCode::FORBIDDEN
    );
    let (st, a) = s
        .post(
            "submitter",
            "/v1/appeals",
            json!({"decision_id": blocked, "seller_id": "S-1", "explanation": "A genuine watch"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert_eq!(
        s.post("submitter", "/v1/appeals", json!({"decision_id": blocked, "seller_id": "S-1", "explanation": "again"}))
            .await
            .0,
        StatusCode::CONFLICT
    );
    let item = a["review_id"].as_str().expect("item");
    assert_eq!(
        s.post("alice", &format!("/v1/reviews/{item}/claim"), json!({})).await.0,
        StatusCode::FORBIDDEN,
        "not the reviewer who decided"
    );
    let v = s.decide("bob", item, json!({"outcome": "allow", "reason": "no_violation"})).await;
    assert_eq!(v["appeal"]["outcome"], "reversed");
    assert!(v["seller"]["lifted"].is_object(), "two strikes left: the suspension is lifted: {v}");
    let (_, c0) = s.get("alice", "/v1/listings/C-0").await;
    assert_eq!(c0["verdict"], "allow");
    let d = s.submit(listing("C-10", "Garden hose 25 m", "S-1")).await;
    assert_eq!(d["decision"]["verdict"], "allow", "no longer suspended: {d}");

    // Prior strikes raise a borderline listing to review.
    let d = s.submit(listing("C-11", "Sex toy vibrator", "S-1")).await;
    let rules: Vec<&str> =
        d["decision"]["matches"].as_array().expect("m").iter().filter_map(|m| m["rule"].as_str()).collect();
    assert_eq!(d["decision"]["verdict"], "review", "{d}");
    assert!(rules.contains(&"borderline_with_prior_strikes"), "{rules:?}");

    // Traders: a declared business without a record is held, the record's
    // fields are named, a person verifies it.
    let business = json!({"id": "T-1", "title": "Garden hose 20 m", "seller": {"id": "S-7", "type": "business"}});
    let d = s.submit(business.clone()).await;
    assert_eq!(d["decision"]["verdict"], "review");
    assert_eq!(d["decision"]["matches"][0]["rule"], "trader_record_missing");
    for (body, f) in [
        (json!({"name": 7}), "name"),
        (json!({"nickname": "x"}), "nickname"),
        (json!({"address": {"town": "x"}}), "address.town"),
    ] {
        let (st, v) = s.call("submitter", Method::PUT, "/v1/sellers/S-7/trader", Some(body.clone())).await;
        assert_eq!((st, field(&v)), (StatusCode::BAD_REQUEST, f), "{body}: {v}");
    }
    let record = json!({
        "name": "Jardin SARL", "address": {"street": "1 rue X", "postcode": "69001", "city": "Lyon", "country": "FR"},
        "phone": "+33 4 72 00 00 00", "email": "pro@jardin.example",
        "identity_document": {"kind": "identity_card", "reference": "kyc/7"},
        "payment_account": {"iban": "FR14 2004 1010 0505 0001 3M02 606"},
        "trade_register": {"register": "RCS Lyon", "number": "552 100 554", "country": "FR"},
        "vat_number": "FR 13 393 892 815", "self_certification": true, "language": "fr"
    });
    let (st, t) =
        s.call("submitter", Method::PUT, "/v1/sellers/S-7/trader", Some(json!({"name": "Jardin SARL"}))).await;
    assert_eq!((st, t["status"].as_str()), (StatusCode::OK, Some("incomplete")));
    assert!(t["missing"].as_array().is_some_and(|m| m.iter().any(|x| x == "address.street")));
    let (st, t) = s.call("submitter", Method::PUT, "/v1/sellers/S-7/trader", Some(record)).await;
    assert_eq!((st, t["status"].as_str()), (StatusCode::OK, Some("unverified")), "{t}");
    let d = s.submit(json!({"id": "T-2", "title": "Garden hose 30 m", "seller": {"id": "S-7"}})).await;
    assert_eq!(d["decision"]["matches"][0]["rule"], "trader_record_unverified");
    assert_eq!(s.post("submitter", "/v1/sellers/S-7/trader/verify", json!({})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.post("alice", "/v1/sellers/S-404/trader/verify", json!({})).await.0, StatusCode::NOT_FOUND);
    let (st, t) = s.post("alice", "/v1/sellers/S-7/trader/verify", json!({"note": "ID and SIRENE checked"})).await;
    assert_eq!((st, t["status"].as_str()), (StatusCode::OK, Some("verified")));
    let d = s.submit(json!({"id": "T-3", "title": "Garden hose 40 m", "seller": {"id": "S-7"}})).await;
    assert_eq!(d["decision"]["verdict"], "allow", "{d}");
    // The console is served with a strict policy.
    let res = s.router.clone().oneshot(Request::get("/console").body(Body::empty()).expect("req")).await.expect("res");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-security-policy"].to_str().is_ok_and(|c| c.contains("script-src 'self'")));
}
