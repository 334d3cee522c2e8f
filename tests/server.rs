//! `rempart serve`, the real binary on 127.0.0.1: the API contract, the
//! record it keeps, and what happens when it is attacked or killed.

mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use support::{call, get, post, rempart, Db, Server};

const BLOCKED: &str = r#"{"id":"L-1","title":"Sex doll silicone 100 cm","seller":{"id":"S-1"}}"#;
const REVIEWED: &str = r#"{"id":"L-2","title":"Sex doll silicone","seller":{"id":"S-2"}}"#;
const ALLOWED: &str = r#"{"id":"L-3","title":"Tasse à café 350 ml"}"#;

#[test]
fn the_service_screens_records_answers_idempotently_and_proves_its_decisions() {
    let db = Db::new();
    let server = Server::start(&db, &[]);
    let submitter = db.key("submitter");
    let auditor = db.key("auditor");
    let reviewer = db.key("reviewer");

    // One listing.
    let a = post(&server.url("/v1/listings"), &submitter, BLOCKED);
    assert_eq!(a.status, 200, "{}", a.body);
    let first = a.json();
    assert_eq!(first["decision"]["verdict"], "block");
    assert_eq!(first["version"], 1);
    assert_eq!(first["recorded"], true);
    assert!(first["decision"]["engine_version"].as_str().is_some_and(|v| v.starts_with("0.1.0+")));

    // The same listing again (other key order and spacing): nothing new.
    let again = post(
        &server.url("/v1/listings"),
        &submitter,
        r#"{ "title":"Sex doll silicone 100 cm", "seller":{"id":"S-1"}, "id":"L-1" }"#,
    );
    assert_eq!(again.json()["decision_id"], first["decision_id"]);
    assert_eq!(again.json()["recorded"], false);

    // A batch: a changed version, a new listing to review, one invalid.
    let batch = json!({"listings": [
        {"id": "L-1", "title": "Tasse à café 350 ml", "seller": {"id": "S-1"}},
        serde_json::from_str::<Value>(REVIEWED).unwrap(),
        {"id": "L-9"},
        serde_json::from_str::<Value>(ALLOWED).unwrap(),
    ]});
    let b = post(&server.url("/v1/listings"), &submitter, &batch.to_string());
    assert_eq!(b.status, 200, "{}", b.body);
    let results = b.json()["results"].as_array().expect("results").clone();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["version"], 2);
    assert_eq!(results[0]["decision"]["verdict"], "allow");
    assert_eq!(results[1]["decision"]["verdict"], "review");
    assert_eq!(results[2]["index"], 2);
    assert_eq!(results[2]["error"]["field"], "listings[2].title", "{}", results[2]);
    assert_eq!(results[3]["decision"]["verdict"], "allow");

    // Idempotency-Key: the same request replays the first answer; another request with it is refused.
    let headers = [("content-type", "application/json"), ("idempotency-key", "order-42")];
    let k1 = call(
        "POST",
        &server.url("/v1/listings"),
        Some(&submitter),
        Some(r#"{"id":"I-1","title":"Gants de jardin"}"#),
        &headers,
    );
    let k2 = call(
        "POST",
        &server.url("/v1/listings"),
        Some(&submitter),
        Some(r#"{"id":"I-1","title":"Gants de jardin"}"#),
        &headers,
    );
    assert_eq!(k1.body, k2.body);
    assert_eq!(k2.header("idempotent-replayed"), Some("true"));
    let k3 = call("POST", &server.url("/v1/listings"), Some(&submitter), Some(r#"{"id":"I-2","title":"x"}"#), &headers);
    assert_eq!(k3.status, 422, "{}", k3.body);

    // History, decision, review queue.
    let h = get(&server.url("/v1/listings/L-1"), Some(&submitter)).json();
    assert_eq!(h["versions"].as_array().map(Vec::len), Some(2));
    assert_eq!(h["versions"][1]["decisions"][0]["supersedes"], first["decision_id"]);
    let d = get(&server.url(&format!("/v1/decisions/{}", first["decision_id"].as_str().unwrap())), Some(&auditor));
    assert_eq!(d.json()["decision"]["verdict"], "block");
    assert_eq!(get(&server.url("/v1/decisions/nope"), Some(&auditor)).status, 404);
    assert_eq!(get(&server.url("/v1/listings/nope"), Some(&auditor)).status, 404);
    let pending = get(&server.url("/v1/reviews?status=pending"), Some(&reviewer)).json();
    let items = pending["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["listing_id"], "L-2");
    assert!(items[0]["review_id"].is_string());

    // Roles: a submitter cannot read the queue or manage keys; no key at all is 401.
    assert_eq!(get(&server.url("/v1/reviews"), Some(&submitter)).status, 403);
    assert_eq!(post(&server.url("/v1/keys"), &submitter, r#"{"role":"admin","label":"x"}"#).status, 403);
    assert_eq!(call("POST", &server.url("/v1/listings"), None, Some(ALLOWED), &[]).status, 401);
    assert_eq!(get(&server.url("/v1/listings/L-1"), Some("rk_000000000000_wrong")).status, 401);

    // The published log needs no key; a decision's proof checks offline against the init key.
    std::thread::sleep(std::time::Duration::from_millis(600)); // a head is signed every 0.2 s
    let head = get(&server.url("/v1/audit/head"), None);
    assert_eq!(head.status, 200);
    let size = head.json()["tree_size"].as_u64().expect("size");
    assert!(size >= 6, "{size}");
    let proof =
        get(&server.url(&format!("/v1/decisions/{}/proof", first["decision_id"].as_str().unwrap())), Some(&auditor));
    assert_eq!(proof.status, 200, "{}", proof.body);
    let file = db.dir.path().join("proof.json");
    std::fs::write(&file, &proof.body).expect("write proof");
    let check = rempart(&["audit", "check-proof", file.to_str().unwrap(), "--vkey", &db.vkey]);
    assert_eq!(check.status.code(), Some(0), "{}", String::from_utf8_lossy(&check.stderr));
    let mut forged: Value = proof.json();
    forged["entry"] = Value::String(forged["entry"].as_str().unwrap().replace("\"block\"", "\"allow\""));
    std::fs::write(&file, forged.to_string()).expect("write");
    assert_eq!(rempart(&["audit", "check-proof", file.to_str().unwrap(), "--vkey", &db.vkey]).status.code(), Some(5));
    let c = get(&server.url(&format!("/v1/audit/consistency?from=1&to={size}")), None);
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(get(&server.url("/v1/audit/consistency?from=5&to=1"), None).status, 400);
    assert_eq!(get(&server.url("/v1/audit/consistency?from=1&to=99999"), None).status, 400);
    assert_eq!(get(&server.url("/v1/audit/keys"), None).json()[0], db.vkey.as_str());

    // Metrics count what happened.
    let m = get(&server.url("/metrics"), Some(&auditor));
    assert_eq!(m.status, 200);
    assert!(m.body.contains("rempart_decisions_total{origin=\"screening\",verdict=\"block\"} 1"), "{}", m.body);
    assert!(m.body.contains("rempart_store_rows{kind=\"pending_reviews\"} 1"));
    assert!(m.body.contains("rempart_store_rows{kind=\"decisions\"} 5"), "{}", m.body);
    assert!(m.body.contains("rempart_http_request_duration_seconds_bucket"));
    // The part of the heap SQLite holds, a positive figure below the whole.
    let heap = |kind: &str| -> u64 {
        let prefix = format!("rempart_heap_bytes{{kind=\"{kind}\"}} ");
        m.body.lines().find_map(|l| l.strip_prefix(prefix.as_str())).and_then(|v| v.parse().ok()).unwrap_or(0)
    };
    assert!(heap("sqlite") > 0 && heap("sqlite") < heap("in_use"), "{}", m.body);

    drop(server);
    let (code, report, stderr) = db.verify();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["decisions_checked"], 5, "L-1 twice, L-2, L-3, I-1: {report}");
}

#[test]
fn every_route_in_the_openapi_document_exists_and_nothing_else_answers() {
    let db = Db::new();
    let server = Server::start(&db, &[]);
    let admin = db.key("admin");
    let doc = get(&server.url("/openapi.json"), Some(&admin));
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    let paths = doc["paths"].as_object().expect("paths");
    let expected = [
        "/v1/listings",
        "/v1/listings/{id}",
        "/v1/decisions/{id}",
        "/v1/decisions/{id}/proof",
        "/v1/reviews",
        "/v1/reviews/{id}",
        "/v1/reviews/{id}/claim",
        "/v1/reviews/{id}/decision",
        "/v1/reviews/{id}/release",
        "/v1/reviews/claim-next",
        "/v1/reviews/counts",
        "/v1/reviews/stats",
        "/v1/notices",
        "/v1/notices/{id}",
        "/v1/flaggers",
        "/v1/appeals",
        "/v1/appeals/{id}",
        "/v1/sellers/{id}",
        "/v1/sellers/{id}/statements",
        "/v1/sellers/{id}/trader",
        "/v1/sellers/{id}/trader/verify",
        "/v1/audit/head",
        "/v1/audit/heads",
        "/v1/audit/consistency",
        "/v1/audit/keys",
        "/v1/audit/entries/{index}",
        "/v1/keys",
        "/v1/keys/{id}",
        "/v1/packs",
        "/v1/packs/{version}/activate",
        "/v1/packs/{version}/shadow",
        "/v1/shadow",
        "/v1/shadow/report",
        "/v1/rescans",
        "/healthz",
        "/metrics",
        "/openapi.json",
    ];
    for p in expected {
        assert!(paths.contains_key(p), "{p} is not in the OpenAPI document");
    }
    // Every documented operation is routed: never 404 for an unknown route nor 405.
    for (path, ops) in paths {
        let concrete = path.replace("{id}", "x").replace("{index}", "0").replace("{version}", "sha256:x");
        for method in ops.as_object().expect("operations").keys() {
            let a = call(
                &method.to_uppercase(),
                &server.url(&concrete),
                Some(&admin),
                Some("{}"),
                &[("content-type", "application/json")],
            );
            assert_ne!(a.status, 405, "{method} {path}");
            let unknown_route = a.status == 404 && a.body.is_empty();
            assert!(!unknown_route, "{method} {path} is documented but not routed");
        }
    }
    // And a route that is not documented does not exist.
    assert_eq!(get(&server.url("/v1/nothing"), Some(&admin)).status, 404);
    assert_eq!(call("PUT", &server.url("/v1/listings"), Some(&admin), Some("{}"), &[]).status, 405);
}

/// Requests a hostile client or a broken integration sends.
fn hostile_bodies() -> Vec<String> {
    let mut bodies: Vec<String> = vec![
        "".into(),
        "{".into(),
        "}".into(),
        "[".into(),
        "null".into(),
        "true".into(),
        "1".into(),
        "\"x\"".into(),
        "[]".into(),
        "{}".into(),
        "[[]]".into(),
        "[1,2]".into(),
        "{\"listings\":{}}".into(),
        "{\"listings\":[]}".into(),
        "{\"listings\":null}".into(),
        "{\"id\":1e999,\"title\":\"x\"}".into(),
        "{\"id\":\"a\",\"title\":\"x\"".into(),
        "{\"id\":\"a\",\"title\":\"x\"}}".into(),
        "{\"id\":\"a\",\"title\":\"x\"} trailing".into(),
        "{\"id\":\"a\",\"title\":\"\\ud800\"}".into(),
        "{\"id\":\"a\",\"title\":\"\\u0000\"}".into(),
        "\u{feff}{\"id\":\"a\",\"title\":\"x\"}".into(),
        format!("{}{}", "[".repeat(5000), "]".repeat(5000)),
        format!(
            "{{\"id\":\"a\",\"title\":\"x\",\"d\":{}{}}}",
            "{\"a\":".repeat(3000),
            format!("1{}", "}".repeat(3000))
        ),
        "{\"id\":\"' OR 1=1 --\",\"title\":\"'; DROP TABLE decisions; --\"}".into(),
        "{\"id\":\"../../etc/passwd\",\"title\":\"x\"}".into(),
        "{\"id\":\"%00\",\"title\":\"x\"}".into(),
        "{\"id\":\"\",\"title\":\"x\"}".into(),
        "{\"id\":\"a\",\"title\":\"\"}".into(),
        format!("{{\"id\":\"a\",\"title\":\"{}\"}}", "x".repeat(100_000)),
        format!("{{\"id\":\"{}\",\"title\":\"x\"}}", "i".repeat(10_000)),
        format!("[{}]", vec!["{\"id\":\"b\",\"title\":\"x\"}"; 1001].join(",")),
    ];
    // Every field with every wrong type.
    let fields =
        ["id", "title", "description", "category", "attributes", "price", "images", "seller", "language", "ship_to"];
    let wrong = [
        "null",
        "true",
        "12",
        "-1.5",
        "\"s\"",
        "[]",
        "[1]",
        "{}",
        "{\"a\":[]}",
        "[{\"url\":1}]",
        "1e400",
        "-0",
        "\"\\u0000\"",
        "\"<script>alert(1)</script>\"",
        "\"\\u202e\\u2066\"",
        "{\"amount\":\"NaN\"}",
        "[{\"pdq\":\"zz\"}]",
        "{\"id\":{\"x\":1}}",
    ];
    for f in fields {
        for w in wrong {
            // Written as text: some are not valid JSON numbers, and for id
            // and title the key comes twice.
            bodies.push(format!("{{\"id\":\"h\",\"title\":\"t\",\"{f}\":{w}}}"));
        }
    }
    bodies
}

#[test]
fn hostile_requests_never_get_a_5xx_and_the_server_keeps_answering() {
    let db = Db::new();
    let server = Server::start(&db, &["--max-body-mib", "2"]);
    let key = db.key("admin");
    let mut count = 0;
    let mut check = |what: &str, status: u16| {
        count += 1;
        assert!(status != 0 && status < 500, "{what}: got {status}\n{}", server.log_text());
    };
    for body in hostile_bodies() {
        let a = post(&server.url("/v1/listings"), &key, &body);
        check(&format!("POST {}", body.chars().take(80).collect::<String>()), a.status);
        if a.status >= 400 {
            assert!(a.json()["error"]["code"].is_string(), "{}", a.body);
        }
    }
    // Bad bytes, huge and slow bodies, header abuse, paths, methods.
    let addr = server.addr.clone();
    let auth = format!("Authorization: Bearer {key}\r\n");
    let raws: Vec<Vec<u8>> = vec![
        [format!("POST /v1/listings HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 21\r\n\r\n").into_bytes(), b"{\"id\":\"a\",\"title\":\"\xff\"}".to_vec()].concat(),
        [format!("POST /v1/listings HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 24\r\n\r\n").into_bytes(), b"{\"id\":\"a\",\"title\":\"\xc3\x28\"}".to_vec()].concat(),
        format!("POST /v1/listings HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 3000000\r\n\r\n{}", "x".repeat(3_000_000)).into_bytes(),
        format!("POST /v1/listings HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 100\r\n\r\n{{\"id\":").into_bytes(),
        format!("POST /v1/listings HTTP/1.1\r\nHost: x\r\n{auth}Transfer-Encoding: chunked\r\n\r\nzz\r\n").into_bytes(),
        format!("GET /v1/listings/..%2F..%2Fetc%2Fpasswd HTTP/1.1\r\nHost: x\r\n{auth}\r\n").into_bytes(),
        format!("GET /v1/listings/%ff%fe HTTP/1.1\r\nHost: x\r\n{auth}\r\n").into_bytes(),
        format!("GET /v1/decisions/'%20OR%201=1 HTTP/1.1\r\nHost: x\r\n{auth}\r\n").into_bytes(),
        format!("GET /v1/reviews?limit=-1&status=%00 HTTP/1.1\r\nHost: x\r\n{auth}\r\n").into_bytes(),
        format!("GET /v1/reviews?limit=99999999999999999999 HTTP/1.1\r\nHost: x\r\n{auth}\r\n").into_bytes(),
        b"GET /v1/audit/consistency?from=a&to=b HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        format!("GET /v1/audit/entries/18446744073709551615 HTTP/1.1\r\nHost: x\r\n{auth}\r\n").into_bytes(),
        format!("GET /v1/audit/entries/-1 HTTP/1.1\r\nHost: x\r\n{auth}\r\n").into_bytes(),
        format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: {}\r\n\r\n", "a".repeat(200_000)).into_bytes(),
        format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{}\r\n", "X-Many: 1\r\n".repeat(500)).into_bytes(),
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n\r\n".to_vec(),
        format!("GET /v1/listings/x HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {key}\r\n\r\n").into_bytes(),
        format!("GET /v1/listings/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n", "rk_".repeat(3000)).into_bytes(),
        b"BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(),
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03".to_vec(),
        b"GET\r\n\r\n".to_vec(),
        format!("DELETE /v1/keys/{} HTTP/1.1\r\nHost: x\r\n{auth}\r\n", "x".repeat(5000)).into_bytes(),
        format!("POST /v1/packs HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 42\r\n\r\n{{\"files\":{{\"../../etc/x.toml\":\"[pack]\"}}}}").into_bytes(),
        format!("POST /v1/packs HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 35\r\n\r\n{{\"files\":{{\"p.toml\":\"not toml [\"}}}}").into_bytes(),
        format!("POST /v1/keys HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 31\r\n\r\n{{\"role\":\"god\",\"label\":\"x\"}}   ").into_bytes(),
        format!("POST /v1/packs/sha256:nope/activate HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 0\r\n\r\n").into_bytes(),
    ];
    for r in &raws {
        let status = support::raw(&addr, r);
        // 0: the server closed a connection that was not HTTP; never a 5xx.
        count += 1;
        assert!(status < 500, "{}: got {status}", String::from_utf8_lossy(&r[..r.len().min(80)]));
    }
    assert!(count >= 200, "only {count} hostile requests");
    assert_eq!(get(&server.url("/healthz"), None).status, 200, "still answering");
    // Bodies over the cap are refused before being read whole.
    let big = format!(
        "POST /v1/listings HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: {n}\r\n\r\n{}",
        "x".repeat(3 << 20),
        n = 3 << 20
    );
    assert_eq!(support::raw(&addr, big.as_bytes()), 413);
}

#[test]
fn audit_verify_names_the_row_edited_behind_the_servers_back() {
    let db = Db::new();
    let server = Server::start(&db, &[]);
    let key = db.key("submitter");
    for i in 0..5 {
        let a =
            post(&server.url("/v1/listings"), &key, &format!(r#"{{"id":"E-{i}","title":"Sex doll silicone 100 cm"}}"#));
        assert_eq!(a.status, 200);
    }
    let victim = post(&server.url("/v1/listings"), &key, r#"{"id":"E-2","title":"Sex doll silicone 100 cm"}"#).json();
    let index = victim["audit_index"].as_u64().expect("index");
    server.stop();
    assert_eq!(db.verify().0, 0, "clean before tampering");
    // Rewrite history the way an insider would: the verdict of one decision.
    db.sql(&format!("UPDATE audit_entries SET body = CAST(replace(CAST(body AS TEXT), '\"block\"', '\"allow\"') AS BLOB) WHERE idx = {index}"));
    let (code, report, stderr) = db.verify();
    assert_eq!(code, 5, "{stderr}");
    assert!(stderr.contains(&format!("first entry at fault: {index}")), "{stderr}");
    assert_eq!(report["findings"][0]["problem"], "entry_changed");
    assert_eq!(report["findings"][0]["index"], index);
    // The decision index alone, edited.
    let db2 = Db::new();
    let s2 = Server::start(&db2, &[]);
    let k2 = db2.key("submitter");
    post(&s2.url("/v1/listings"), &k2, BLOCKED);
    s2.stop();
    db2.sql("UPDATE decisions SET verdict = 'allow'");
    let (code, report, _) = db2.verify();
    assert_eq!(code, 5);
    assert_eq!(report["findings"][0]["problem"], "decision_mismatch", "{report}");
}

#[test]
fn an_outside_witness_accepts_growth_and_refuses_a_rewritten_history() {
    let db = Db::new();
    let state = db.dir.path().join("witness.json");
    let state = state.to_str().unwrap();
    let server = Server::start(&db, &[]);
    let key = db.key("submitter");
    let watch = |url: &str| rempart(&["audit", "watch", url, "--state", state, "--vkey", &db.vkey, "--once"]);
    for i in 0..3 {
        post(&server.url("/v1/listings"), &key, &format!(r#"{{"id":"W-{i}","title":"Gants {i}"}}"#));
    }
    std::thread::sleep(std::time::Duration::from_millis(600));
    let first = watch(&server.url(""));
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    let seen: Value = serde_json::from_slice(&first.stdout).expect("event");
    let seen_size = seen["size"].as_u64().expect("size");
    for i in 3..8 {
        post(&server.url("/v1/listings"), &key, &format!(r#"{{"id":"W-{i}","title":"Gants {i}"}}"#));
    }
    std::thread::sleep(std::time::Duration::from_millis(600));
    let grown = watch(&server.url(""));
    assert_eq!(grown.status.code(), Some(0), "{}", String::from_utf8_lossy(&grown.stdout));
    assert!(String::from_utf8_lossy(&grown.stdout).contains(&format!("consistent with the head of size {seen_size}")));
    server.stop();

    // The platform rewrites history: back to an older signed state, then
    // different entries, all signed with its real key.
    let rewind = format!(
        "import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
size, root = c.execute('SELECT tree_size, root_hash FROM audit_heads WHERE tree_size < {seen_size} ORDER BY tree_size DESC LIMIT 1').fetchone()
c.execute('DELETE FROM audit_entries WHERE idx >= ?', (size,))
c.execute('DELETE FROM audit_nodes WHERE ((idx + 1) << level) > ?', (size,))
c.execute('DELETE FROM decisions WHERE audit_index >= ?', (size,))
c.execute('DELETE FROM audit_heads WHERE tree_size > ?', (size,))
c.execute('UPDATE audit_state SET tree_size = ?, root_hash = ?', (size, root))
c.commit()"
    );
    let out = std::process::Command::new("python3").args(["-c", &rewind, db.db()]).output().expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let server = Server::start(&db, &[]);
    for i in 0..12 {
        post(&server.url("/v1/listings"), &key, &format!(r#"{{"id":"X-{i}","title":"Bougie {i}"}}"#));
    }
    std::thread::sleep(std::time::Duration::from_millis(600));
    let forked = watch(&server.url(""));
    assert_eq!(forked.status.code(), Some(5), "{}", String::from_utf8_lossy(&forked.stdout));
    assert!(String::from_utf8_lossy(&forked.stdout).contains("HISTORY REWRITTEN"));
}

#[test]
fn a_kill_9_loses_no_acknowledged_decision_and_leaves_no_half_written_one() {
    let db = Db::new();
    let key = db.key("submitter");
    let server = Server::start(&db, &[]);
    let url = server.url("/v1/listings");
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (url, key, acked, stop) = (url.clone(), key.clone(), acknowledged.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let body = json!({"listings": (0..5).map(|j| json!({"id": format!("K-{w}-{i}-{j}"), "title": format!("Lampe {i} {j}")})).collect::<Vec<_>>()});
                    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
                    let Ok(mut r) = agent.post(&url).header("authorization", format!("Bearer {key}")).send(body.to_string()) else { break };
                    if r.status() != 200 {
                        break;
                    }
                    let Ok(text) = r.body_mut().read_to_string() else { break };
                    let v: Value = serde_json::from_str(&text).expect("JSON");
                    let ids: Vec<String> = v["results"].as_array().expect("results").iter().map(|x| x["decision_id"].as_str().expect("id").to_string()).collect();
                    acked.lock().unwrap().extend(ids);
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    server.kill9();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    let acked = acknowledged.lock().unwrap().clone();
    assert!(acked.len() >= 20, "traffic flowed before the kill: {}", acked.len());
    let (code, report, stderr) = db.verify();
    assert_eq!(code, 0, "the log verifies after a kill -9: {stderr}");
    let server = Server::start(&db, &[]);
    let auditor = db.key("auditor");
    let unique: HashSet<&String> = acked.iter().collect();
    assert_eq!(unique.len(), acked.len(), "every acknowledged decision has its own id");
    for id in &acked {
        let a = get(&server.url(&format!("/v1/decisions/{id}")), Some(&auditor));
        assert_eq!(a.status, 200, "acknowledged decision {id} is recorded");
    }
    // Recorded but unacknowledged (answer lost in the kill) is allowed; half-written is not.
    assert!(report["decisions_checked"].as_u64().unwrap() >= acked.len() as u64);
}

#[test]
fn concurrent_identical_submissions_record_one_decision() {
    let db = Db::new();
    let key = db.key("submitter");
    let server = Server::start(&db, &[]);
    let url = server.url("/v1/listings");
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (url, key) = (url.clone(), key.clone());
            std::thread::spawn(move || {
                post(&url, &key, BLOCKED).json()["decision_id"].as_str().expect("id").to_string()
            })
        })
        .collect();
    let ids: HashSet<String> = threads.into_iter().map(|t| t.join().expect("thread")).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let auditor = db.key("auditor");
    let h = get(&server.url("/v1/listings/L-1"), Some(&auditor)).json();
    assert_eq!(h["versions"].as_array().map(Vec::len), Some(1));
    assert_eq!(h["versions"][0]["decisions"].as_array().map(Vec::len), Some(1));
}

/// The blocking pool is bounded (`rempart_server::App::blocking_threads`):
/// under many concurrent submissions and reads the server's thread count
/// stays within it, where an unbounded pool grows with the concurrency and
/// keeps what it grew (each thread with its stack and allocator cache).
#[cfg(target_os = "linux")]
#[test]
fn the_thread_count_stays_bounded_under_many_concurrent_requests() {
    let db = Db::new();
    let key = db.key("submitter");
    let server = Server::start(&db, &["--screening-threads", "1", "--no-semantic"]);
    let threads_now = || -> usize {
        let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).expect("server status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("a Threads line")
    };
    let clients: Vec<_> = (0..64)
        .map(|c| {
            let (submit, key) = (server.url("/v1/listings"), key.clone());
            let read = server.url("/v1/listings/T-");
            std::thread::spawn(move || {
                for i in 0..8 {
                    let body =
                        format!(r#"{{"id":"T-{c}-{i}","title":"Tasse à café {i}0 cl","seller":{{"id":"S-{c}"}}}}"#);
                    assert_eq!(post(&submit, &key, &body).status, 200);
                    assert_eq!(get(&format!("{read}{c}-{i}"), Some(&key)).status, 200);
                }
            })
        })
        .collect();
    let mut most = 0;
    while clients.iter().any(|c| !c.is_finished()) {
        most = most.max(threads_now());
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    for c in clients {
        c.join().expect("client");
    }
    most = most.max(threads_now());
    // 1 screening slot + 16 read slots + 8 for rare work, no downloads;
    // then the runtime's workers (one per core), the writer, its
    // checkpointer and main.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let bound = 1 + 16 + 8 + cores + 3;
    assert!(most <= bound, "{most} threads at most, more than the {bound} the pool allows");
}

#[test]
fn rate_limits_answer_429_with_retry_after() {
    let db = Db::new();
    let limited = db.key_with("submitter", &["--rate-per-minute", "60"]);
    let server = Server::start(&db, &[]);
    let statuses: Vec<u16> = (0..30)
        .map(|i| post(&server.url("/v1/listings"), &limited, &format!(r#"{{"id":"R{i}","title":"Vase"}}"#)).status)
        .collect();
    assert!(statuses.iter().take(10).all(|s| *s == 200), "{statuses:?}");
    let refused = post(&server.url("/v1/listings"), &limited, r#"{"id":"R","title":"Vase"}"#);
    assert_eq!(refused.status, 429, "{statuses:?}");
    assert!(refused.header("retry-after").and_then(|v| v.parse::<u64>().ok()).is_some_and(|s| s >= 1));
}

#[test]
fn a_full_disk_and_a_read_only_database_refuse_clearly_and_harm_nothing() {
    let db = Db::new();
    let key = db.key("submitter");
    let server = Server::start(&db, &["--max-db-mib", "2"]);
    let mut statuses = Vec::new();
    for i in 0..200 {
        let description = format!("Vase en grès {i} {{j}} ").repeat(1_000);
        let body = json!({"listings": (0..10).map(|j| json!({"id": format!("F-{i}-{j}"), "title": "Vase", "description": description.replace("{j}", &j.to_string())})).collect::<Vec<_>>()});
        let a = post(&server.url("/v1/listings"), &key, &body.to_string());
        statuses.push(a.status);
        if a.status != 200 {
            assert_eq!(a.status, 507, "{}", a.body);
            assert_eq!(a.json()["error"]["code"], "disk_full");
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&507), "the cap was reached: {statuses:?}");
    assert_eq!(get(&server.url("/healthz"), None).status, 200, "reads still work");
    server.stop();
    let (code, _, stderr) = db.verify();
    assert_eq!(code, 0, "no corrupt log: {stderr}");

    let ro = Server::start(&db, &["--read-only"]);
    let a = post(&ro.url("/v1/listings"), &key, ALLOWED);
    assert_eq!(a.status, 503, "{}", a.body);
    assert_eq!(a.json()["error"]["code"], "read_only");
    assert_eq!(get(&ro.url("/v1/audit/head"), None).status, 200);
}

#[test]
fn a_pack_runs_in_shadow_then_goes_live_and_stored_listings_are_rescanned() {
    let db = Db::new();
    let admin = db.key("admin");
    let submitter = db.key("submitter");
    let server = Server::start(&db, &[]);
    post(
        &server.url("/v1/listings"),
        &submitter,
        r#"{"id":"T-1","title":"Cartouche de cigarettes Marlboro","ship_to":["FR"]}"#,
    );
    post(&server.url("/v1/listings"), &submitter, ALLOWED);
    // The candidate: the embedded pack without its tobacco policy.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut files = serde_json::Map::new();
    for entry in walk(&dir) {
        let rel = entry.strip_prefix(&dir).unwrap().to_str().unwrap().to_string();
        if rel.ends_with(".toml") && rel != "tobacco.toml" {
            let mut text = std::fs::read_to_string(&entry).unwrap();
            // A pack refuses texts for a policy it does not have.
            if let Some(start) = text.find("[seller_text.tobacco]") {
                let end = text[start..].find("\n\n").map_or(text.len(), |e| start + e + 2);
                text.replace_range(start..end, "");
            }
            files.insert(rel, Value::String(text));
        }
    }
    let up = post(&server.url("/v1/packs"), &admin, &json!({"files": files}).to_string());
    assert_eq!(up.status, 201, "{}", up.body);
    let version = up.json()["pack_version"].as_str().unwrap().to_string();
    assert_eq!(up.json()["tests_failed"], 0);
    let broken = post(&server.url("/v1/packs"), &admin, r#"{"files":{"p.toml":"[policy]\nid = 1"}}"#);
    assert_eq!(broken.status, 422);

    let sh = post(&server.url(&format!("/v1/packs/{version}/shadow")), &admin, "");
    assert_eq!(sh.status, 200, "{}", sh.body);
    post(
        &server.url("/v1/listings"),
        &submitter,
        r#"{"id":"T-2","title":"Cartouche de cigarettes Camel","ship_to":["FR"]}"#,
    );
    let report = get(&server.url("/v1/shadow/report"), Some(&admin)).json();
    assert_eq!(report["disagreements"], 1, "{report}");
    assert_eq!(report["policies"][0]["policy"], "tobacco");
    let cli = rempart(&["shadow", "report", "--db", db.db()]);
    assert!(cli.status.success());
    assert!(String::from_utf8_lossy(&cli.stdout).contains("tobacco"));

    let act = post(&server.url(&format!("/v1/packs/{version}/activate")), &admin, "");
    assert_eq!(act.status, 200, "{}", act.body);
    let mut rescans = Value::Null;
    for _ in 0..100 {
        rescans = get(&server.url("/v1/rescans"), Some(&admin)).json();
        if rescans[0]["status"] == "finished" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(rescans[0]["status"], "finished", "{rescans}");
    assert_eq!(rescans[0]["changed"], 2, "both tobacco listings change: {rescans}");
    let h = get(&server.url("/v1/listings/T-1"), Some(&admin)).json();
    let decisions = h["versions"][0]["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 2);
    assert_eq!(decisions[1]["origin"], "rescan");
    assert_eq!(decisions[1]["decision"]["policy_version"], version.as_str());
    assert_eq!(get(&server.url("/healthz"), None).json()["live_pack"], version.as_str());
}

#[test]
fn a_pack_activated_by_another_process_is_swapped_into_the_running_server() {
    let db = Db::new();
    let server = Server::start(&db, &[]);
    let before = get(&server.url("/healthz"), None).json()["live_pack"].as_str().unwrap().to_string();
    // The embedded pack with one comment more: the same rules, another version.
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let copy = db.dir.path().join("candidate");
    for entry in walk(&source) {
        let target = copy.join(entry.strip_prefix(&source).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &target).unwrap();
    }
    let first = walk(&copy).into_iter().filter(|p| p.extension().is_some_and(|e| e == "toml")).min().unwrap();
    let mut text = std::fs::read_to_string(&first).unwrap();
    text.push_str("\n# a later revision\n");
    std::fs::write(&first, text).unwrap();

    let up = rempart(&["pack", "upload", "--db", db.db(), copy.to_str().unwrap()]);
    assert!(up.status.success(), "{}", String::from_utf8_lossy(&up.stderr));
    let version = serde_json::from_slice::<Value>(&up.stdout).unwrap()["pack_version"].as_str().unwrap().to_string();
    assert_ne!(version, before);
    let act = rempart(&["pack", "activate", "--db", db.db(), &version, "--no-rescan"]);
    assert!(act.status.success(), "{}", String::from_utf8_lossy(&act.stderr));
    // The server looks every 5 s.
    let mut live = before.clone();
    for _ in 0..200 {
        live = get(&server.url("/healthz"), None).json()["live_pack"].as_str().unwrap().to_string();
        if live == version {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(live, version, "the running server took the pack another process activated");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("policies folder").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
