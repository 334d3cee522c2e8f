//! Proof for regulators, from the record the service keeps:
//! `rempart dsa export` (statements of reasons printed in batches, and
//! posted to a mock of the Transparency Database on 127.0.0.1 that answers
//! as its API documentation says: 201, 422 keyed `statement_<n>`,
//! existing-puid 302/404, 401, 503, a lost answer), `rempart dsa report`
//! (the transparency report's tables against an independent count), and
//! `rempart evidence` (a bundle verified offline, and each kind of
//! tampering named).

mod support;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use support::{post, rempart, Db, Server};

const TOKEN: &str = "X|ybqkCFX7ZkIFoLxtI0VAk1JBzMR9jVk4c4EU";

fn dsa_data() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/dsa_transparency_db");
    assert!(dir.is_dir(), "{} is missing: the test needs the shared data", dir.display());
    dir
}

/// A database holding the decisions on examples/listings.jsonl, recorded by
/// the real service, plus one review outcome: a person blocks the listing
/// the gate sent to review.
fn recorded_examples() -> (Db, Vec<Value>) {
    let db = Db::new();
    let server = Server::start(&db, &[]);
    let submitter = db.key("submitter");
    let text = std::fs::read_to_string("examples/listings.jsonl").expect("examples");
    let listings: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    let answer = post(&server.url("/v1/listings"), &submitter, &json!({ "listings": listings }).to_string());
    assert_eq!(answer.status, 200, "{}", answer.body);
    let results = answer.json()["results"].as_array().expect("results").clone();
    server.stop();

    // The review outcome, recorded as the review workflow records one.
    let store =
        rempart_store::Store::open(&rempart_store::Location::parse(db.db()), &Default::default()).expect("open store");
    store
        .write(|tx| {
            let history = rempart_store::records::history(tx, "EX-26")?;
            let automated = history.versions[0].decisions[0].clone();
            assert_eq!(automated.record.decision.verdict, rempart_core::Action::Review);
            let mut decision = automated.record.decision.clone();
            decision.verdict = rempart_core::Action::Block;
            for m in &mut decision.matches {
                m.action = rempart_core::Action::Block;
            }
            let record = rempart_store::records::DecisionRecord {
                decision_id: String::new(),
                decided_at: String::new(),
                origin: rempart_store::records::Origin::Review,
                decided_by: "reviewer-1".into(),
                supersedes: Some(automated.record.decision_id.clone()),
                reason: Some(json!({"code": "counterfeit_confirmed", "text": "Brand owner's list"})),
                decision,
                ..automated.record
            };
            rempart_store::records::insert_decision(tx, record, None)?;
            Ok(())
        })
        .expect("review outcome");
    (db, results)
}

fn restrictive_ids(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .filter(|r| matches!(r["decision"]["verdict"].as_str(), Some("block" | "restrict")))
        .map(|r| r["decision_id"].as_str().expect("decision id").to_string())
        .collect()
}

/// The enumerations of the Commission's own fixture, independent of
/// rempart's tables.
fn allowed_values() -> HashMap<String, HashSet<String>> {
    let text = std::fs::read_to_string(dsa_data().join("fixtures/statements.json")).expect("statements.json");
    let lists: Value = serde_json::from_str(&text).expect("json");
    let names = |v: &Value| -> HashSet<String> {
        match v {
            Value::Object(m) => m.keys().cloned().collect(),
            Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            _ => HashSet::new(),
        }
    };
    let mut out = HashMap::new();
    for (field, list) in [
        ("decision_visibility", "decision_visibility"),
        ("decision_ground", "decision_ground"),
        ("content_type", "content_type"),
        ("category", "categories"),
        ("category_addition", "categories"),
        ("category_specification", "category_specification"),
        ("territorial_scope", "territorial_scope"),
        ("account_type", "account_type"),
    ] {
        out.insert(field.to_string(), names(&lists[list]));
    }
    out
}

/// What the mock refuses, in the database's words, for one statement.
fn mock_errors(
    s: &Value,
    allowed: &HashMap<String, HashSet<String>>,
    refuse_category: &str,
) -> serde_json::Map<String, Value> {
    let mut errors = serde_json::Map::new();
    for field in [
        "decision_ground",
        "content_type",
        "category",
        "application_date",
        "decision_facts",
        "source_type",
        "automated_detection",
        "automated_decision",
        "puid",
    ] {
        if s.get(field).is_none() {
            errors.insert(field.into(), json!([format!("The {} field is required.", field.replace('_', " "))]));
        }
    }
    for (field, values) in allowed {
        let given: Vec<&str> = match s.get(field) {
            Some(Value::String(v)) => vec![v.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if given.iter().any(|v| !values.contains(*v)) {
            errors.insert(field.clone(), json!([format!("The selected {} is invalid.", field.replace('_', " "))]));
        }
    }
    if s["category"] == refuse_category {
        errors.insert("category".into(), json!(["The selected category is invalid."]));
    }
    errors
}

#[derive(Default)]
struct MockState {
    /// puid → uuid of every statement created.
    created: HashMap<String, String>,
    /// Statements the mock was asked to create although it had them.
    duplicates: u64,
    posts: u64,
    lookups: u64,
    /// Answers to the next POSTs, in order: "503", "lose" (create, then
    /// close without answering); then normal answers.
    script: Vec<&'static str>,
    refuse_category: String,
}

struct Mock {
    url: String,
    state: Arc<Mutex<MockState>>,
}

impl Mock {
    fn start(script: Vec<&'static str>, refuse_category: &str) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(MockState {
            script,
            refuse_category: refuse_category.to_string(),
            ..Default::default()
        }));
        let shared = state.clone();
        let allowed = allowed_values();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                serve(stream, &shared, &allowed);
            }
        });
        Mock { url, state }
    }
}

fn serve(mut stream: TcpStream, state: &Mutex<MockState>, allowed: &HashMap<String, HashSet<String>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0usize;
    let mut authorization = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((&line, ""));
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "authorization" => authorization = value.trim().to_string(),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, answer) = {
        let mut st = state.lock().expect("state");
        if authorization != format!("Bearer {TOKEN}") {
            (401, json!({"message": "Unauthenticated."}))
        } else if let (Some(puid), "GET") = (path.strip_prefix("/api/v1/statement/existing-puid/"), method) {
            st.lookups += 1;
            if st.created.contains_key(puid) {
                (302, json!({"message": "statement of reason found", "puid": puid}))
            } else {
                (404, json!({"message": "statement of reason not found", "puid": puid}))
            }
        } else if (method, path) == ("POST", "/api/v1/statements") {
            st.posts += 1;
            let step = if st.script.is_empty() { "normal" } else { st.script.remove(0) };
            let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let statements = payload["statements"].as_array().cloned().unwrap_or_default();
            if step == "503" {
                (503, json!({"message": "Service Unavailable"}))
            } else if statements.is_empty() || statements.len() > 100 {
                (
                    422,
                    json!({"message": "The statements field must have between 1 and 100 items.",
                    "errors": {"statements": ["The statements field must have between 1 and 100 items."]}}),
                )
            } else {
                let mut errors = serde_json::Map::new();
                for (i, s) in statements.iter().enumerate() {
                    let mut e = mock_errors(s, allowed, &st.refuse_category);
                    if s["puid"].as_str().is_some_and(|p| st.created.contains_key(p)) {
                        st.duplicates += 1;
                        e.insert("puid".into(), json!(["The identifier given is not unique within this platform."]));
                    }
                    if !e.is_empty() {
                        errors.insert(format!("statement_{i}"), Value::Object(e));
                    }
                }
                if !errors.is_empty() {
                    (422, json!({ "errors": errors }))
                } else {
                    let mut out = Vec::new();
                    for s in &statements {
                        let puid = s["puid"].as_str().unwrap_or_default().to_string();
                        let uuid = format!("uuid-{}", st.created.len() + 1);
                        st.created.insert(puid.clone(), uuid.clone());
                        let mut created = s.clone();
                        created["uuid"] = json!(uuid);
                        created["platform_name"] = json!("The Platform");
                        out.push(created);
                    }
                    if step == "lose" {
                        // Created, but the answer never arrives.
                        return;
                    }
                    (201, json!({ "statements": out }))
                }
            }
        } else {
            (404, json!({"message": "not found"}))
        }
    };
    let text = answer.to_string();
    let reason = match status {
        201 => "Created",
        302 => "Found",
        401 => "Unauthorized",
        404 => "Not Found",
        422 => "Unprocessable Content",
        _ => "Service Unavailable",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

fn export(db: &Db, extra: &[&str], token: Option<&str>) -> std::process::Output {
    let mut command = Command::new(support::bin());
    command.args(["dsa", "export", "--db", db.db(), "--since", "2000-01-01"]).args(extra);
    command.env_remove("REMPART_DSA_TOKEN");
    if let Some(t) = token {
        command.env("REMPART_DSA_TOKEN", t);
    }
    command.output().expect("rempart runs")
}

fn lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect()
}

#[test]
fn every_restrictive_decision_becomes_a_valid_statement_in_batches_of_at_most_the_limit() {
    let (db, results) = recorded_examples();
    let expected = restrictive_ids(&results);
    assert!(expected.len() >= 20, "the examples hold blocks and restrictions: {}", expected.len());

    let out = export(&db, &["--batch-size", "7"], None);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let batches = lines(&out.stdout);
    let statements: Vec<Value> =
        batches.iter().flat_map(|b| b["statements"].as_array().expect("statements").clone()).collect();
    assert!(batches.iter().all(|b| b["statements"].as_array().is_some_and(|s| (1..=7).contains(&s.len()))));
    // One statement per restrictive decision (the puid is the decision id),
    // plus the review outcome, which is partially automated.
    let puids: HashSet<&str> = statements.iter().filter_map(|s| s["puid"].as_str()).collect();
    assert_eq!(puids.len(), statements.len(), "puids are distinct");
    assert_eq!(statements.len(), expected.len() + 1);
    for id in &expected {
        assert!(puids.contains(id.as_str()), "decision {id} has no statement");
    }
    let reviewed: Vec<&Value> =
        statements.iter().filter(|s| !expected.contains(&s["puid"].as_str().unwrap_or("").to_string())).collect();
    assert_eq!(reviewed.len(), 1);
    assert_eq!(reviewed[0]["automated_decision"], "AUTOMATED_DECISION_PARTIALLY");
    assert_eq!(reviewed[0]["automated_detection"], "Yes");
    assert_eq!(reviewed[0]["category"], "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS");

    // Same keys and value kinds as the API documentation's request, values
    // from the Commission's enumerations.
    let request: Value = serde_json::from_str(
        &std::fs::read_to_string(dsa_data().join("api_doc_examples/create_request.json")).expect("request"),
    )
    .expect("json");
    let allowed = allowed_values();
    for s in &statements {
        for (key, value) in s.as_object().expect("object") {
            if let Some(doc) = request.get(key) {
                assert_eq!(
                    std::mem::discriminant(doc),
                    std::mem::discriminant(value),
                    "{key} has another JSON type than in the API documentation"
                );
            }
        }
        assert!(mock_errors(s, &allowed, "").is_empty(), "{s}");
    }

    // The validator agrees, batch by batch.
    let file = db.dir.path().join("batches.jsonl");
    std::fs::write(&file, &out.stdout).expect("write");
    let check = rempart(&["dsa", "validate", file.to_str().expect("utf-8")]);
    assert_eq!(check.status.code(), Some(0), "{}", String::from_utf8_lossy(&check.stderr));

    // A period without decisions: nothing, and a clear refusal of a bad period.
    let none = export(&db, &["--until", "2000-01-02"], None);
    assert_eq!(none.status.code(), Some(0));
    assert!(none.stdout.is_empty());
    let bad = export(&db, &["--until", "1999-01-01"], None);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--until"));
    let too_big = export(&db, &["--batch-size", "101"], None);
    assert_eq!(too_big.status.code(), Some(64), "a batch over 100 is a usage error");
}

#[test]
fn submission_retries_resolves_lost_answers_records_refusals_and_never_sends_twice() {
    let (db, results) = recorded_examples();
    let total = restrictive_ids(&results).len() + 1;
    // EX-21 (protected species) is the one statement the database refuses.
    let mock = Mock::start(vec!["503", "normal", "normal", "lose"], "STATEMENT_CATEGORY_ANIMAL_WELFARE");
    let args = ["--submit", mock.url.as_str(), "--batch-size", "10", "--retry-base-ms", "5"];

    let out = export(&db, &args, Some(TOKEN));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "one statement is refused: {stderr}");
    let answers = lines(&out.stdout);
    assert_eq!(answers.len(), total, "one line per statement");
    let count = |status: &str| answers.iter().filter(|a| a["status"] == status).count();
    assert_eq!(count("rejected"), 1, "{answers:?}");
    assert_eq!(count("accepted") + count("existing"), total - 1);
    assert!(count("existing") >= 1, "the batch whose answer was lost is found by lookup, not sent again");
    let rejected = answers.iter().find(|a| a["status"] == "rejected").expect("rejected");
    assert_eq!(rejected["listing_id"], "EX-21");
    assert_eq!(rejected["errors"]["category"][0], "The selected category is invalid.");
    assert!(stderr.contains("EX-21") && stderr.contains("field category"), "{stderr}");
    assert!(stderr.contains("HTTP 503"), "the retry is reported: {stderr}");
    {
        let st = mock.state.lock().expect("state");
        assert_eq!(st.created.len(), total - 1);
        assert_eq!(st.duplicates, 0, "nothing was sent twice");
    }
    for a in answers.iter().filter(|a| a["status"] == "accepted") {
        assert!(a["uuid"].as_str().is_some_and(|u| u.starts_with("uuid-")), "{a}");
    }

    // Again: only the refused statement is sent (and refused again).
    let posts_before = mock.state.lock().expect("state").posts;
    let again = export(&db, &args, Some(TOKEN));
    assert_eq!(again.status.code(), Some(2));
    let answers = lines(&again.stdout);
    assert_eq!(answers.iter().filter(|a| a["status"] == "already_sent").count(), total - 1);
    assert_eq!(answers.iter().filter(|a| a["status"] == "rejected").count(), 1);
    {
        let st = mock.state.lock().expect("state");
        assert_eq!(st.posts, posts_before + 1);
        assert_eq!(st.duplicates, 0);
    }

    // Every answer is in the audit log, and the log verifies.
    let (code, report, stderr) = db.verify();
    assert_eq!(code, 0, "{stderr}");
    assert!(report["entries"].as_u64().unwrap_or(0) > total as u64);
    let store =
        rempart_store::Store::open(&rempart_store::Location::parse(db.db()), &Default::default()).expect("open store");
    let counts = store.read(|tx| rempart_store::dsa::submission_counts(tx, &mock.url)).expect("counts");
    let n = |s: &str| counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
    assert_eq!(n("accepted") + n("existing"), total as u64 - 1);
    assert_eq!(n("rejected"), 1);
    assert_eq!(n("sending"), 0);

    // A wrong token stops at once, naming the token.
    let refused = export(&db, &args, Some("wrong"));
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("token"));
    let no_token = export(&db, &args, None);
    assert_eq!(no_token.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_token.stderr).contains("REMPART_DSA_TOKEN"));
}

fn csv_rows(dir: &Path, name: &str) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let header = reader.headers().expect("header").clone();
    reader
        .records()
        .map(|r| header.iter().zip(r.expect("row").iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect())
        .collect()
}

#[test]
fn the_transparency_report_counts_measures_from_the_record_and_names_what_it_cannot_report() {
    let (db, results) = recorded_examples();
    // Independent count: the main match (first with the verdict's action) of
    // each restrictive decision the service returned, plus the review outcome.
    let mut expected: HashMap<String, u64> = HashMap::new();
    for r in &results {
        let d = &r["decision"];
        if matches!(d["verdict"].as_str(), Some("block" | "restrict")) {
            let main =
                d["matches"].as_array().expect("matches").iter().find(|m| m["action"] == d["verdict"]).expect("main");
            *expected.entry(main["dsa_category"].as_str().expect("category").to_string()).or_default() += 1;
        }
    }
    *expected.entry("STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS".into()).or_default() += 1;
    let total: u64 = expected.values().sum();

    let dir = db.dir.path().join("report");
    let out = rempart(&[
        "dsa",
        "report",
        "--db",
        db.db(),
        "--since",
        "2000-01-01",
        "--until",
        "2100-01-01",
        "--out",
        dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(summary["measures"], json!(total));

    let mut by_category: HashMap<String, u64> = HashMap::new();
    for row in csv_rows(&dir, "measures_by_category.csv") {
        assert_eq!(row["source_type"], "SOURCE_VOLUNTARY");
        *by_category.entry(row["category"].clone()).or_default() += row["measures"].parse::<u64>().expect("n");
    }
    assert_eq!(by_category, expected);
    let automation = csv_rows(&dir, "use_of_automated_means.csv");
    let n = |decision: &str| -> u64 {
        automation
            .iter()
            .filter(|r| r["automated_decision"] == decision)
            .map(|r| r["measures"].parse::<u64>().expect("n"))
            .sum()
    };
    assert_eq!(n("AUTOMATED_DECISION_FULLY"), total - 1);
    assert_eq!(n("AUTOMATED_DECISION_PARTIALLY"), 1);
    let times = csv_rows(&dir, "median_time_to_act.csv");
    assert_eq!(times.len(), 1);
    assert!(times[0]["median_hours"].parse::<f64>().is_ok_and(|h| h >= 0.0));
    // The person's decision on the held counterfeit listing.
    let accuracy = csv_rows(&dir, "automated_accuracy.csv");
    assert_eq!(accuracy.len(), 1);
    assert_eq!(accuracy[0]["policy"], "counterfeit_goods");
    assert_eq!((accuracy[0]["holds_decided"].as_str(), accuracy[0]["holds_restricted"].as_str()), ("1", "1"));
    assert_eq!(accuracy[0]["restrictions_reviewed"], "0");
    assert_eq!(accuracy[0]["overturn_rate"], "", "no rate without reviews behind it");
    let unavailable = csv_rows(&dir, "unavailable.csv");
    for section in ["Art. 9, 10", "Art. 16", "Art. 20", "Art. 23"] {
        assert!(unavailable.iter().any(|r| r["section"].contains(section)), "{section} is named as unavailable");
    }
    let html = std::fs::read_to_string(dir.join("index.html")).expect("html");
    // Charts inline, nothing fetched (the SVG namespace URI is a name, not a fetch).
    assert!(html.contains("<svg") && !html.contains("<script"));
    assert!(
        !html.contains("src=") && !html.contains("href=") && !html.contains("url("),
        "nothing loaded from elsewhere"
    );

    // A period with nothing: zero measures, and accuracy said to be unavailable, not zero.
    let empty = db.dir.path().join("empty");
    let out = rempart(&["dsa", "report", "--db", db.db(), "--period", "2001", "--out", empty.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!empty.join("automated_accuracy.csv").exists());
    assert!(csv_rows(&empty, "unavailable.csv").iter().any(|r| r["section"].contains("indicators of accuracy")));
    let bad =
        rempart(&["dsa", "report", "--db", db.db(), "--period", "2001-Q3", "--out", empty.to_str().expect("utf-8")]);
    assert_eq!(bad.status.code(), Some(1));
}

#[test]
fn an_evidence_bundle_verifies_offline_and_names_what_was_altered() {
    let (db, _) = recorded_examples();
    let other = Db::new();
    let file = db.dir.path().join("EX-26.json");
    let out =
        rempart(&["evidence", "export", "--db", db.db(), "--listing", "EX-26", "--out", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("bundle")).expect("json");
    assert_eq!(bundle["versions"].as_array().map(Vec::len), Some(1));
    assert_eq!(bundle["entries"].as_array().map(Vec::len), Some(2), "the automated hold and the person's block");
    assert_eq!(bundle["packs"].as_object().map(|p| p.len()), Some(1), "the policy text that decided");

    let verify = |bundle: &Value, vkey: &str| -> (i32, Value, String) {
        let path = db.dir.path().join("check.json");
        std::fs::write(&path, bundle.to_string()).expect("write");
        let out = rempart(&["evidence", "verify", path.to_str().expect("utf-8"), "--vkey", vkey]);
        let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code().unwrap_or(-1), report, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, report, stderr) = verify(&bundle, &db.vkey);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["verified"], true);
    assert_eq!((report["entries_verified"].as_u64(), report["versions_verified"].as_u64()), (Some(2), Some(1)));
    assert_eq!(report["trusted"], "the keys given with --vkey");
    // No database is needed: the check runs with the store gone.
    std::fs::rename(db.db(), db.dir.path().join("moved.db")).expect("move the database away");
    let (code, _, _) = verify(&bundle, &db.vkey);
    assert_eq!(code, 0);

    let findings = |tampered: &Value, vkey: &str| -> Vec<String> {
        let (code, report, stderr) = verify(tampered, vkey);
        assert_eq!(code, 5, "tampering must be found: {stderr}");
        assert_eq!(report["verified"], false);
        report["findings"].as_array().expect("findings").iter().map(|f| f.as_str().unwrap_or("").to_string()).collect()
    };
    let first = |f: Vec<String>| f.into_iter().next().unwrap_or_default();

    // The listing as received, edited.
    let mut t = bundle.clone();
    t["versions"][0]["listing"] =
        json!(t["versions"][0]["listing"].as_str().expect("text").replace("Sac à main", "Sac a main"));
    assert_ne!(t, bundle);
    let f = first(findings(&t, &db.vkey));
    assert!(f.starts_with("versions[0] (version 1): the listing was altered"), "{f}");
    // A decision entry, edited (the verdict).
    let mut t = bundle.clone();
    t["entries"][1]["entry"] =
        json!(t["entries"][1]["entry"].as_str().expect("entry").replacen("\"block\"", "\"allow\"", 1));
    let f = first(findings(&t, &db.vkey));
    assert!(f.starts_with("entries[1] (audit entry") && f.contains("altered"), "{f}");
    // The policy text, edited.
    let mut t = bundle.clone();
    let pack = t["packs"].as_object_mut().expect("packs").values_mut().next().expect("pack");
    let name =
        pack.as_object().expect("files").keys().find(|k| k.contains("counterfeit")).expect("policy file").clone();
    pack[&name] =
        json!(format!("{}\n# edited\n[terms.extra]\nen = [\"added\"]\n", pack[&name].as_str().expect("text")));
    let f = first(findings(&t, &db.vkey));
    assert!(f.starts_with("packs[") && f.contains("the policy text was altered"), "{f}");
    // A version slipped in that no logged decision covers.
    let mut t = bundle.clone();
    let mut extra = t["versions"][0].clone();
    extra["version"] = json!(2);
    t["versions"].as_array_mut().expect("versions").push(extra);
    let f = first(findings(&t, &db.vkey));
    assert!(f.starts_with("versions[1] (version 2): no logged decision"), "{f}");
    // The head, edited; and a head checked against another platform's key.
    let mut t = bundle.clone();
    t["head"]["tree_size"] = json!(bundle["head"]["tree_size"].as_u64().expect("size") + 1);
    assert!(first(findings(&t, &db.vkey)).starts_with("head:"));
    assert!(first(findings(&bundle, &other.vkey)).starts_with("head: the signature does not verify"));
}
