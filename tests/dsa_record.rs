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
use support::{get, post, rempart, Db, Server};

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
    let summary = report_all_time(db.db(), &dir, &[]);
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
    for section in ["Art. 10", "Art. 21", "Art. 24(2)"] {
        assert!(unavailable.iter().any(|r| r["section"].contains(section)), "{section} is named as unavailable");
    }
    // No notice, order, complaint or suspension was recorded: the templates
    // say so with zero rows or zero counts, each the record's own.
    assert!(csv_rows(&dir, "4_notices.csv").is_empty() && csv_rows(&dir, "3_member_states_orders.csv").is_empty());
    let part7 = csv_rows(&dir, "7_appeals_and_recidivism.csv");
    assert!(part7.iter().any(|r| r["Scope"] == "Total number" && r["Value"] == "0"));
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

/// The median of `values` as the templates print it: hours, three decimals
/// (the mean of the middle two for an even count), empty when none.
fn median_hours(mut values: Vec<i64>) -> String {
    if values.is_empty() {
        return String::new();
    }
    values.sort_unstable();
    let n = values.len();
    let m = if n % 2 == 1 { values[n / 2] as f64 } else { (values[n / 2 - 1] + values[n / 2]) as f64 / 2.0 };
    format!("{:.3}", m / 3_600_000.0)
}

fn ms(rfc3339: &Value) -> i64 {
    let text = rfc3339.as_str().expect("time");
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).expect("rfc3339");
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The Annex I templates, filled from a store the real service populated:
/// notices from the public, a trusted flagger and two authorities decided
/// by reviewers, a pending one, repeat offences leading to a suspension,
/// appeals upheld, reversed and pending. Every cell is checked against a
/// tally the test keeps of what it did, with times read back from the API.
#[test]
fn the_transparency_templates_count_orders_notices_complaints_and_suspensions_cell_for_cell() {
    let db = Db::new();
    // Keys first: the service knows them from its start (a flagger is
    // registered for a key before that key has called).
    let submitter = db.key("submitter");
    let (alice, bob) = (db.key("reviewer"), db.key("reviewer"));
    let regulator = db.key("regulator");
    let flagger = db.key("notifier");
    let auditor = db.key("auditor");
    let admin = db.key("admin");
    let server = Server::start(&db, &[]);
    let url = |p: &str| server.url(p);
    let ok = |a: support::Answer, what: &str| -> Value {
        assert!((200..300).contains(&a.status), "{what}: {} {}", a.status, a.body);
        a.json()
    };

    let submit = |id: &str, title: &str, seller: &str| -> Value {
        let body = json!({"listings": [{"id": id, "title": title, "seller": {"id": seller}, "ship_to": ["FR"]}]});
        ok(post(&url("/v1/listings"), &submitter, &body.to_string()), id)["results"][0]["decision"].clone()
    };
    for (i, id) in ["H-1", "H-2", "H-3", "H-4", "H-5", "H-6", "H-7"].iter().enumerate() {
        let d = submit(id, &format!("Garden hose {} m", 20 + 5 * i), &format!("S-1{i}"));
        assert_eq!(d["verdict"], "allow", "{id}: {d}");
    }
    for i in 0..3 {
        let d = submit(&format!("C-{i}"), "Replica watch 1:1 AAA quality", "S-1");
        assert_eq!(d["verdict"], "review", "{d}");
    }
    // Two automated blocks: one a reviewer will overturn on appeal, one kept.
    let a1 = submit("A-1", "Poing américain 4 doigts acier", "S-20");
    assert_eq!(a1["verdict"], "block", "{a1}");
    assert!(a1["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .any(|m| m["policy"] == "weapons_category_a_b" && m["action"] == "block"));
    let a2 = submit("A-2", "Feux d'artifice catégorie F4 mortier 100 mm", "S-21");
    assert_eq!(a2["verdict"], "block", "{a2}");
    let a2_policy = a2["matches"].as_array().expect("matches").iter().find(|m| m["action"] == "block").expect("block")
        ["policy"]
        .as_str()
        .expect("policy")
        .to_string();

    // A trusted flagger (Art. 22) registered for the notifier's key.
    let flagger_key = flagger.split('_').nth(1).expect("key id");
    ok(
        post(
            &url("/v1/flaggers"),
            &admin,
            &json!({"flagger_id": "TF-1", "name": "Consumer safety NGO", "expertise": "product safety",
                    "awarded_by": "Arcom", "key_id": flagger_key})
            .to_string(),
        ),
        "flagger",
    );
    let notice = |key: &str, listing: &str, category: &str| -> String {
        let body = json!({"listing_id": listing, "category": category, "explanation": "Reported by a buyer",
                          "notifier": {"name": "A. Person", "email": "a@example.org"}, "good_faith": true});
        ok(post(&url("/v1/notices"), key, &body.to_string()), listing)["receipt_id"].as_str().expect("id").to_string()
    };
    let order = |listing: &str, scope: &[&str]| -> String {
        let body = json!({"listing_id": listing, "category": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
                          "explanation": "Dangerous product", "order": {"authority": "Préfecture", "reference": listing,
                          "legal_basis": "CSI R311-2", "territorial_scope": scope}});
        ok(post(&url("/v1/notices"), &regulator, &body.to_string()), listing)["receipt_id"]
            .as_str()
            .expect("id")
            .to_string()
    };
    const UNSAFE: &str = "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS";
    const SPEECH: &str = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH";
    const SECURITY: &str = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY";
    let n1 = notice(&submitter, "H-1", UNSAFE);
    let n2 = notice(&submitter, "H-2", SPEECH);
    let n3 = notice(&submitter, "H-2", SPEECH); // a duplicate, merged into n2
    let n4 = notice(&submitter, "H-3", UNSAFE);
    let n5 = notice(&flagger, "H-4", UNSAFE);
    let n6 = notice(&submitter, "H-5", UNSAFE); // never decided
    let o1 = order("H-6", &["FR"]);
    let o2 = order("H-7", &["DE", "AT"]);

    let decide = |who: &str, listing: &str, body: Value| -> Value {
        let q = ok(get(&url(&format!("/v1/reviews?listing_id={listing}")), Some(who)), "queue");
        let item =
            q["items"][0]["review_id"].as_str().unwrap_or_else(|| panic!("no item for {listing}: {q}")).to_string();
        ok(post(&url(&format!("/v1/reviews/{item}/claim")), who, "{}"), "claim");
        ok(post(&url(&format!("/v1/reviews/{item}/decision")), who, &body.to_string()), "decision")
    };
    // Ground per policy: fireworks and explosives_precursors are illegal
    // content, nazi_memorabilia a terms-and-conditions ground.
    decide(&alice, "H-1", json!({"outcome": "block", "reason": "violation_confirmed", "policy": "fireworks"}));
    decide(&alice, "H-2", json!({"outcome": "block", "reason": "violation_confirmed", "policy": "nazi_memorabilia"}));
    decide(&alice, "H-3", json!({"outcome": "allow", "reason": "no_violation"}));
    decide(&alice, "H-4", json!({"outcome": "block", "reason": "violation_confirmed", "policy": "fireworks"}));
    decide(
        &alice,
        "H-6",
        json!({"outcome": "block", "reason": "violation_confirmed", "policy": "explosives_precursors"}),
    );
    decide(&alice, "H-7", json!({"outcome": "allow", "reason": "no_violation"}));
    let mut suspended = 0;
    for i in 0..3 {
        let v = decide(&alice, &format!("C-{i}"), json!({"outcome": "block", "reason": "violation_confirmed"}));
        suspended += u64::from(v["seller"]["suspension"].is_object());
    }
    assert_eq!(suspended, 1, "the third strike suspends the seller");

    // Appeals: reversed, upheld, pending; two on automated blocks.
    let current = |listing: &str| -> String {
        ok(get(&url(&format!("/v1/listings/{listing}")), Some(&alice)), listing)["current_decision"]
            .as_str()
            .expect("decision")
            .to_string()
    };
    let appeal = |listing: &str, seller: &str| -> String {
        let body = json!({"decision_id": current(listing), "seller_id": seller, "explanation": "Please look again"});
        ok(post(&url("/v1/appeals"), &submitter, &body.to_string()), listing)["review_id"]
            .as_str()
            .expect("item")
            .to_string()
    };
    let decide_item = |item: &str, body: Value| -> Value {
        ok(post(&url(&format!("/v1/reviews/{item}/claim")), &bob, "{}"), "claim");
        ok(post(&url(&format!("/v1/reviews/{item}/decision")), &bob, &body.to_string()), "decision")
    };
    let v = decide_item(&appeal("C-0", "S-1"), json!({"outcome": "allow", "reason": "no_violation"}));
    assert_eq!(v["appeal"]["outcome"], "reversed");
    let v = decide_item(&appeal("C-1", "S-1"), json!({"outcome": "block", "reason": "violation_confirmed"}));
    assert_eq!(v["appeal"]["outcome"], "confirmed", "{v}");
    appeal("C-2", "S-1");
    let v = decide_item(&appeal("A-1", "S-20"), json!({"outcome": "allow", "reason": "not_a_prohibited_weapon"}));
    assert_eq!(v["appeal"]["outcome"], "reversed");
    let v = decide_item(&appeal("A-2", "S-21"), json!({"outcome": "block", "reason": "violation_confirmed"}));
    assert_eq!(v["appeal"]["outcome"], "confirmed", "{v}");
    server.stop();

    // The tally, from what this test did and the times the API gives back.
    let store_notices = {
        let server = Server::start(&db, &[]);
        let page = ok(get(&server.url("/v1/notices?limit=1000"), Some(&auditor)), "notices");
        let appeals = ok(get(&server.url("/v1/appeals?limit=1000"), Some(&auditor)), "appeals");
        server.stop();
        (page["notices"].as_array().expect("notices").clone(), appeals["appeals"].as_array().expect("appeals").clone())
    };
    let (listed, appeals) = store_notices;
    let by_id: HashMap<String, Value> =
        listed.iter().map(|n| (n["notice_id"].as_str().expect("id").to_string(), n.clone())).collect();
    assert_eq!(by_id.len(), 8);
    let time_to_act = |ids: &[&String]| -> String {
        median_hours(
            ids.iter()
                .map(|id| &by_id[*id])
                .filter(|n| n["decided_at"].is_string())
                .map(|n| ms(&n["decided_at"]) - ms(&n["received_at"]))
                .collect(),
        )
    };
    assert!(by_id[&n6]["decided_at"].is_null() && by_id[&n3]["merged_into"].as_str() == Some(n2.as_str()));
    assert_eq!((by_id[&o2]["outcome"].as_str(), by_id[&n4]["outcome"].as_str()), (Some("allow"), Some("allow")));

    let dir = db.dir.path().join("templates");
    let summary = report_all_time(db.db(), &dir, &["--service", "Example marketplace"]);
    assert_eq!(
        (&summary["orders"], &summary["notices"], &summary["complaints"], &summary["suspensions"]),
        (&json!(2), &json!(6), &json!(5), &json!(1))
    );
    let period = "2000-01-01/2099-12-31";
    let header = |name: &str| -> Vec<String> {
        csv::Reader::from_path(dir.join(name))
            .expect(name)
            .headers()
            .expect("header")
            .iter()
            .map(str::to_string)
            .collect()
    };

    // Part 4: notices, per category.
    assert_eq!(header("4_notices.csv").len(), 25);
    assert_eq!(header("4_notices.csv")[5], "Number of notices received ", "the template's header, trailing space kept");
    let notices = csv_rows(&dir, "4_notices.csv");
    assert_eq!(notices.len(), 2, "one row per category");
    let row = |rows: &[HashMap<String, String>], category: &str| -> HashMap<String, String> {
        rows.iter()
            .find(|r| r["Category of illegal content"] == category)
            .cloned()
            .unwrap_or_else(|| panic!("{category}"))
    };
    let unsafe_row = row(&notices, UNSAFE);
    let expect = [
        ("Applicability", "Only for providers of hosting services, including online platforms".to_string()),
        ("Service", "Example marketplace".to_string()),
        ("Reporting period", period.to_string()),
        ("Number of notices received ", "4".to_string()),
        ("Number of notices received from Trusted flaggers", "1".to_string()),
        ("Number of specific items of information included in the total number of notices", "4".to_string()),
        ("Number of specific items of information included in the total number of notices by Trusted Flaggers (Trusted Flagger notices)", "1".to_string()),
        ("Median time to take action", time_to_act(&[&n1, &n4, &n5, &n6])),
        ("Median time to take action (Trusted Flagger notices)", time_to_act(&[&n5])),
        ("Number of actions taken on the basis of the law", "2".to_string()),
        ("Number of actions taken on the basis of the law (Trusted Flagger notices)", "1".to_string()),
        ("Number of actions taken on the basis of the terms and conditions of the service", "0".to_string()),
        ("Number of actions taken on the basis of the terms and conditions of the service (Trusted Flagger notices)", "0".to_string()),
    ];
    for (column, value) in &expect {
        assert_eq!(&unsafe_row[*column], value, "4_notices.csv, {UNSAFE}, {column}");
    }
    let speech = row(&notices, SPEECH);
    for (column, value) in [
        ("Number of notices received ", "2"),
        ("Number of notices received from Trusted flaggers", "0"),
        ("Number of specific items of information included in the total number of notices", "1"),
        ("Number of actions taken on the basis of the law", "0"),
        ("Number of actions taken on the basis of the terms and conditions of the service", "2"),
        ("Median time to take action (Trusted Flagger notices)", ""),
    ] {
        assert_eq!(speech[column], value, "4_notices.csv, {SPEECH}, {column}");
    }
    assert_eq!(speech["Median time to take action"], time_to_act(&[&n2, &n3]));
    assert!(speech["Contextual information on Median time to take action"].contains("hours"));

    // Part 3: orders, per category and member state, and the category total.
    assert_eq!(header("3_member_states_orders.csv").len(), 20);
    let orders = csv_rows(&dir, "3_member_states_orders.csv");
    let scopes: Vec<&str> = orders.iter().map(|r| r["Scope"].as_str()).collect();
    assert_eq!(scopes, ["AT", "DE", "FR", "Total number"]);
    let total = orders.iter().find(|r| r["Scope"] == "Total number").expect("total");
    assert_eq!(total["Category of illegal content"], SECURITY);
    assert_eq!(total["Number of orders to act against illegal content received"], "2");
    assert_eq!(total["Number of specific items of information included in the total number of orders to act against illegal content"], "2");
    assert_eq!(
        total["Median time to give effect to the order to act against illegal content"],
        time_to_act(&[&o1]),
        "only the order given effect"
    );
    assert_eq!(total["Number of orders to provide information"], "", "not recorded: empty, not zero");
    let fr = orders.iter().find(|r| r["Scope"] == "FR").expect("FR");
    assert_eq!(fr["Number of orders to act against illegal content received"], "1");
    let de = orders.iter().find(|r| r["Scope"] == "DE").expect("DE");
    assert_eq!(de["Median time to give effect to the order to act against illegal content"], "", "not given effect");

    // Part 7: complaints and suspensions.
    let decided_appeals: Vec<i64> = appeals
        .iter()
        .filter(|a| a["decided_at"].is_string())
        .map(|a| ms(&a["decided_at"]) - ms(&a["received_at"]))
        .collect();
    assert_eq!(decided_appeals.len(), 4);
    let part7 = csv_rows(&dir, "7_appeals_and_recidivism.csv");
    let cell = |indicator: &str, scope: &str| -> String {
        part7
            .iter()
            .find(|r| r["Indicator"] == indicator && r["Scope"] == scope)
            .map(|r| r["Value"].clone())
            .unwrap_or_else(|| panic!("{indicator} / {scope}"))
    };
    let submitted = "Number of complaints submitted to the internal-complaints mechanism";
    assert_eq!(cell(submitted, "Total number"), "5");
    assert_eq!(cell(submitted, "Decisions upheld"), "2");
    assert_eq!(cell(submitted, "Decisions reversed"), "2");
    assert_eq!(cell(submitted, "Median time"), median_hours(decided_appeals));
    let on_restrictions =
        "Complaint regarding a decision to remove or disable access to or restrict visibility of information";
    assert_eq!(cell(on_restrictions, "Total number"), "5", "every appeal here is against a restriction of a listing");
    assert_eq!(cell(on_restrictions, "Decisions reversed"), "2");
    assert_eq!(
        cell("Number of suspensions enacted for the provision of manifestly illegal content", "Total number"),
        "1"
    );
    assert_eq!(
        cell("Number of suspensions enacted for the provision of manifestly unfounded notices", "Total number"),
        ""
    );
    assert!(part7
        .iter()
        .all(|r| r["Applicability"] == "Only for providers of online platforms" && r["Reporting period"] == period));

    // Part 8: automated means, and accuracy from the two appealed automated blocks.
    let part8 = csv_rows(&dir, "8_automated_means.csv");
    let value = |indicator: &str, scope: &str, context: &str| -> String {
        part8
            .iter()
            .find(|r| {
                r["Indicator"] == indicator && r["Scope"] == scope && r["Contextual Information"].contains(context)
            })
            .map(|r| r["Value"].clone())
            .unwrap_or_else(|| panic!("{indicator} / {scope} / {context}"))
    };
    assert_eq!(value("Number of notices solely processed by automated means", "NAM Total", ""), "0");
    assert_eq!(value("Number of notices not processed by automated means", "NAM Total", ""), "5", "n1–n5 decided");
    assert_eq!(value("Number of notices not processed by automated means", "NAM Trusted Flagger", ""), "1");
    assert_eq!(
        value("Accuracy of the automated means - Precision", "Own-initiative", "policy weapons_category_a_b"),
        "0.0000"
    );
    assert_eq!(
        value("Accuracy of the automated means - Precision", "Own-initiative", &format!("policy {a2_policy}")),
        "1.0000"
    );
    assert_eq!(value("Accuracy of the automated means - Recall", "Own-initiative", "policy weapons_category_a_b"), "");
    // Every restrictive measure is counted once, automated or not, and the
    // own-initiative measures of Parts 5 and 6 add up to Part 8's.
    let measures = summary["measures"].as_u64().expect("measures");
    let n = |s: String| s.parse::<u64>().expect("number");
    assert_eq!(
        n(value("Number of measures solely taken by automated means", "Total number", ""))
            + n(value("Number of measures not taken by automated means", "Total number", "")),
        measures
    );
    let own: u64 = ["5_own_initiative_illegal.csv", "6_own_initiative_TC.csv"]
        .iter()
        .flat_map(|f| csv_rows(&dir, f))
        .filter(|r| !r.values().any(|v| v.starts_with("KEYWORD_")))
        .map(|r| n(r["Number of measures taken at the provider's own initiative "].clone()))
        .sum();
    assert_eq!(
        own,
        n(value("Number of measures solely taken by automated means", "Own-initiative", ""))
            + n(value("Number of measures not taken by automated means", "Own-initiative", ""))
    );
    assert_eq!(header("5_own_initiative_illegal.csv").len(), 37);
    let accuracy = csv_rows(&dir, "automated_accuracy.csv");
    let weapons = accuracy.iter().find(|r| r["policy"] == "weapons_category_a_b").expect("weapons");
    assert_eq!((weapons["restrictions_reviewed"].as_str(), weapons["overturn_rate"].as_str()), ("1", "1.0000"));
    let html = std::fs::read_to_string(dir.join("index.html")).expect("html");
    assert!(html.contains("Complaints and their outcomes") && html.contains("<svg") && !html.contains("<script"));
    // Kept for a look in a browser (the note describes the rendering).
    let keep = artifacts("dsa-report");
    for f in std::fs::read_dir(&dir).expect("report dir") {
        let f = f.expect("entry").path();
        std::fs::copy(&f, keep.join(f.file_name().expect("name"))).expect("copy");
    }
}

/// Where the tests leave what a person looks at (rendered pages).
fn artifacts(name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// A listing's bundle carries its review, notice and appeal history; each
/// history entry verifies, an altered or foreign one is named, and the
/// bundle renders as a printable HTML page that says whether it verifies.
#[test]
fn an_evidence_bundle_carries_the_listing_history_and_renders_for_a_court_file() {
    let db = Db::new();
    let server = Server::start(&db, &[]);
    let (submitter, alice, bob) = (db.key("submitter"), db.key("reviewer"), db.key("reviewer"));
    let ok = |a: support::Answer, what: &str| -> Value {
        assert!((200..300).contains(&a.status), "{what}: {} {}", a.status, a.body);
        a.json()
    };
    for (id, title) in [("W-1", "Replica watch 1:1 AAA quality"), ("W-2", "Garden hose 20 m")] {
        let body = json!({"listings": [{"id": id, "title": title, "seller": {"id": "S-9"}}]});
        ok(post(&server.url("/v1/listings"), &submitter, &body.to_string()), id);
    }
    let body = json!({"listing_id": "W-1", "category": "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
                      "explanation": "Counterfeit of our watch", "notifier": {"name": "Brand", "email": "legal@brand.example"},
                      "good_faith": true});
    ok(post(&server.url("/v1/notices"), &submitter, &body.to_string()), "notice");
    let decide = |who: &str, item: &str, body: Value| -> Value {
        ok(post(&server.url(&format!("/v1/reviews/{item}/claim")), who, "{}"), "claim");
        ok(post(&server.url(&format!("/v1/reviews/{item}/decision")), who, &body.to_string()), "decision")
    };
    let q = ok(get(&server.url("/v1/reviews?listing_id=W-1"), Some(&alice)), "queue");
    let item = q["items"][0]["review_id"].as_str().expect("item").to_string();
    let v = decide(&alice, &item, json!({"outcome": "block", "reason": "violation_confirmed"}));
    assert_eq!(v["notices"].as_array().map(Vec::len), Some(1), "{v}");
    let blocked = v["decision"]["decision_id"].as_str().expect("decision").to_string();
    let body = json!({"decision_id": blocked, "seller_id": "S-9", "explanation": "It is a genuine watch"});
    let appeal = ok(post(&server.url("/v1/appeals"), &submitter, &body.to_string()), "appeal");
    let v = decide(
        &bob,
        appeal["review_id"].as_str().expect("item"),
        json!({"outcome": "allow", "reason": "no_violation"}),
    );
    assert_eq!(v["appeal"]["outcome"], "reversed");
    // Another listing's notice, to slip into the bundle later.
    let other = json!({"listing_id": "W-2", "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
                       "explanation": "Never shipped", "notifier": {"name": "B", "email": "b@example.org"}, "good_faith": true});
    ok(post(&server.url("/v1/notices"), &submitter, &other.to_string()), "notice on W-2");
    server.stop();

    let export = |listing: &str| -> Value {
        let file = db.dir.path().join(format!("{listing}.json"));
        let out = rempart(&[
            "evidence",
            "export",
            "--db",
            db.db(),
            "--listing",
            listing,
            "--out",
            file.to_str().expect("utf-8"),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_str(&std::fs::read_to_string(&file).expect("bundle")).expect("json")
    };
    let bundle = export("W-1");
    assert_eq!(bundle["entries"].as_array().map(Vec::len), Some(3), "hold, block, reversal");
    let history: Vec<Value> = bundle["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|e| serde_json::from_str(e["entry"].as_str().expect("entry")).expect("json"))
        .collect();
    let what: Vec<String> = history
        .iter()
        .map(|e| format!("{} {}", e["kind"].as_str().unwrap_or(""), e["data"]["action"].as_str().unwrap_or("")))
        .collect();
    for expected in ["notice received", "notice answered", "appeal received", "appeal decided", "suspension strike"] {
        assert!(what.iter().any(|w| w == expected), "{expected} is in the history: {what:?}");
    }
    assert!(what.iter().any(|w| w.starts_with("review_action")), "review actions: {what:?}");
    let indices: Vec<u64> = history.iter().map(|e| e["index"].as_u64().expect("index")).collect();
    assert!(indices.windows(2).all(|w| w[0] < w[1]), "in log order: {indices:?}");

    let run = |args: &[&str], bundle: &Value| -> (i32, Value, String) {
        let path = db.dir.path().join("check.json");
        std::fs::write(&path, bundle.to_string()).expect("write");
        let mut full = args.to_vec();
        full.insert(2, path.to_str().expect("utf-8"));
        let out = rempart(&full);
        (
            out.status.code().unwrap_or(-1),
            serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let verify = |b: &Value| run(&["evidence", "verify", "--vkey", &db.vkey], b);
    let (code, report, stderr) = verify(&bundle);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["history_verified"].as_u64(), Some(history.len() as u64));

    // A history entry altered: the notice's outcome.
    let k = history.iter().position(|e| e["data"]["action"] == "answered").expect("answered");
    let mut t = bundle.clone();
    let text =
        t["history"][k]["entry"].as_str().expect("entry").replacen("\"outcome\":\"block\"", "\"outcome\":\"allow\"", 1);
    assert_ne!(text, bundle["history"][k]["entry"].as_str().expect("entry"));
    t["history"][k]["entry"] = json!(text);
    let (code, report, _) = verify(&t);
    assert_eq!(code, 5);
    let f = report["findings"][0].as_str().unwrap_or_default().to_string();
    assert!(f.starts_with(&format!("history[{k}] (audit entry {}", indices[k])) && f.contains("altered"), "{f}");
    // Another listing's notice slipped in: in the log, but not about W-1.
    let foreign = export("W-2")["history"]
        .as_array()
        .expect("history")
        .iter()
        .find(|e| e["entry"].as_str().is_some_and(|x| x.contains("\"received\"")))
        .expect("W-2's notice")
        .clone();
    let mut t = bundle.clone();
    t["history"].as_array_mut().expect("history").push(foreign);
    let (code, report, _) = verify(&t);
    assert_eq!(code, 5);
    let f = report["findings"][0].as_str().unwrap_or_default().to_string();
    assert!(f.contains("notice received: about listing W-2, not W-1"), "{f}");

    // The court file: self-contained, printable, the verdict first.
    let render = |b: &Value| -> (i32, String) {
        let html = db.dir.path().join("court.html");
        let (code, _, stderr) =
            run(&["evidence", "render", "--out", html.to_str().expect("utf-8"), "--vkey", &db.vkey], b);
        assert!(code == 0 || code == 5, "{stderr}");
        (code, std::fs::read_to_string(&html).expect("html"))
    };
    let (code, html) = render(&bundle);
    assert_eq!(code, 0);
    std::fs::write(artifacts("dsa-evidence").join("court.html"), &html).expect("keep");
    assert!(html.contains("<strong>VERIFIED.</strong>") && html.contains("@media print") && html.contains("@page"));
    assert!(html.contains("<mark>"), "the triggering words are marked");
    assert!(html.contains("appeal decided") && html.contains("notice answered"));
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("url("), "nothing loaded");
    assert!(!html.contains("legal@brand.example"), "the notifier's address is not in the log, nor in the page");
    let (code, html) = render(&t);
    assert_eq!(code, 5);
    std::fs::write(artifacts("dsa-evidence").join("court-tampered.html"), &html).expect("keep");
    assert!(html.contains("THE EVIDENCE DOES NOT VERIFY") && html.contains("about listing W-2, not W-1"));
}

/// `rempart dsa report` over every recorded date into `dir`, which must
/// succeed; its summary (stdout).
fn report_all_time(db: &str, dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["dsa", "report", "--db", db, "--since", "2000-01-01", "--until", "2100-01-01"];
    args.extend_from_slice(extra);
    args.extend(["--out", dir.to_str().expect("utf-8")]);
    let out = rempart(&args);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("summary")
}
