//! `rempart dsa validate` and `rempart sweep` as users run them.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{json, Value};

fn rempart() -> Command {
    Command::cargo_bin("rempart").expect("binary built")
}

fn fixtures() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/dsa_transparency_db/fixtures");
    assert!(dir.is_dir(), "{} is needed by this test", dir.display());
    dir
}

fn lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect()
}

#[test]
fn shipped_statements_validate_single_and_batch() {
    for file in ["example_statement.json", "example_multi_statements.json"] {
        let out = rempart().args(["dsa", "validate"]).arg(fixtures().join(file)).output().expect("runs");
        assert_eq!(out.status.code(), Some(0), "{file}: {}", String::from_utf8_lossy(&out.stderr));
        let reports = lines(&out.stdout);
        assert!(!reports.is_empty());
        assert!(reports.iter().all(|r| r["valid"] == json!(true)), "{file}");
    }
}

#[test]
fn a_broken_statement_is_refused_naming_field_and_rule() {
    let text = std::fs::read_to_string(fixtures().join("example_statement.json")).expect("fixture");
    let mut statement: Value = serde_json::from_str(&text).expect("json");
    statement["puid"] = json!("not a valid puid!");
    statement["decision_facts"] = json!("x".repeat(5001));
    let out = rempart().args(["dsa", "validate", "-"]).write_stdin(statement.to_string()).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("statement 1 (line 1): field puid: regex: The puid format is invalid."), "{stderr}");
    assert!(stderr.contains("field decision_facts: max:"), "{stderr}");
    let report = &lines(&out.stdout)[0];
    assert_eq!(report["valid"], json!(false));
    let fields: Vec<&str> =
        report["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["puid", "decision_facts"]);
}

#[test]
fn jsonl_goes_on_after_a_bad_line_and_answers_like_the_api() {
    let text = std::fs::read_to_string(fixtures().join("example_statement.json")).expect("fixture");
    let good: Value = serde_json::from_str(&text).expect("json");
    let mut bad = good.clone();
    bad["puid"] = json!("other");
    bad["automated_decision"] = json!("maybe");
    let input = format!("{good}\nnot json at all\n{bad}\n");
    let out = rempart().args(["dsa", "validate", "-"]).write_stdin(input.clone()).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let reports = lines(&out.stdout);
    assert_eq!(reports.len(), 3);
    assert_eq!((reports[0]["valid"].clone(), reports[0]["line"].clone()), (json!(true), json!(1)));
    assert_eq!(reports[1]["errors"][0]["rule"], json!("json"));
    assert_eq!((reports[2]["valid"].clone(), reports[2]["line"].clone()), (json!(false), json!(3)));
    // The same as the database's 422 body.
    let out = rempart().args(["dsa", "validate", "--api-errors", "-"]).write_stdin(input).output().expect("runs");
    let body: Value = serde_json::from_slice(&out.stdout).expect("one JSON body");
    assert_eq!(
        body["errors"]["statement_1"]["automated_decision"],
        json!(["The selected automated decision is invalid."])
    );
}

#[test]
fn an_oversize_batch_is_refused_as_a_whole() {
    let text = std::fs::read_to_string(fixtures().join("example_statement.json")).expect("fixture");
    let one: Value = serde_json::from_str(&text).expect("json");
    let statements: Vec<Value> = (0..101)
        .map(|i| {
            let mut s = one.clone();
            s["puid"] = json!(format!("p-{i}"));
            s
        })
        .collect();
    let out = rempart()
        .args(["dsa", "validate", "-"])
        .write_stdin(json!({ "statements": statements }).to_string())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("field statements: between:"));
}

fn sweep(args: &[&str]) -> std::process::Output {
    rempart().arg("sweep").args(args).output().expect("runs")
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn sweeping_the_example_catalogue_writes_the_report() {
    let dir = tempfile::tempdir().expect("dir");
    let report = dir.path().join("report");
    let out = sweep(&["examples/catalogue.csv", "--report", report.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "two rows of the example are broken on purpose");
    let summary: Value = serde_json::from_slice(&out.stdout).expect("summary on stdout");
    assert_eq!(summary["invalid"], json!(2));
    let listings = summary["listings"].as_u64().expect("listings");
    assert_eq!(listings + 2, 87);
    // The counts agree with `screen` on the same rows.
    let screened =
        rempart().args(["screen", "--input-format", "csv", "examples/catalogue.csv"]).output().expect("runs");
    let decisions = lines(&screened.stdout);
    assert_eq!(decisions.len() as u64, listings);
    let flagged = decisions.iter().filter(|d| d["verdict"] != json!("allow")).count();
    assert_eq!(summary["flagged"], json!(flagged));
    let blocked = decisions.iter().filter(|d| d["verdict"] == json!("block")).count();
    assert_eq!(summary["by_verdict"]["block"], json!(blocked));

    let flagged_csv = read(&report, "flagged.csv");
    let mut rows = csv::Reader::from_reader(flagged_csv.as_bytes());
    let header: Vec<String> = rows.headers().expect("header").iter().map(str::to_string).collect();
    assert_eq!(
        header,
        [
            "line",
            "id",
            "seller",
            "verdict",
            "policy",
            "rule",
            "action",
            "condition",
            "legal_basis",
            "scope",
            "missing",
            "evidence"
        ]
    );
    assert_eq!(rows.records().count(), flagged);
    assert!(read(&report, "invalid.csv").contains("ship_to[0]"));
    let html = read(&report, "index.html");
    assert!(html.contains("<svg") && html.contains("<mark>"));
    // Self-contained: nothing to fetch (the SVG namespace URI is a name, not a link).
    for reference in ["<script", "<link", "src=", "url(", "href=\"http"] {
        assert!(!html.contains(reference), "{reference}");
    }
    for table in ["by_policy.csv", "by_verdict.csv", "by_territory.csv", "sellers.csv", "summary.json"] {
        assert!(report.join(table).is_file(), "{table}");
    }
    // A finished sweep is not redone by accident; --restart redoes it.
    let again = sweep(&["examples/catalogue.csv", "--report", report.to_str().expect("utf-8")]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--restart"));
    let restart = sweep(&["examples/catalogue.csv", "--report", report.to_str().expect("utf-8"), "--restart"]);
    assert_eq!(restart.status.code(), Some(2));
    assert_eq!(read(&report, "flagged.csv"), flagged_csv);
}

#[test]
fn seller_text_is_escaped_in_the_report() {
    let dir = tempfile::tempdir().expect("dir");
    let input = dir.path().join("hostile.jsonl");
    let mut f = std::fs::File::create(&input).expect("file");
    writeln!(f, r#"{{"id":"<img src=x onerror=alert(1)>","title":"Poing américain <script>alert(1)</script>","seller":{{"id":"\"><svg onload=x>"}}}}"#).expect("write");
    let report = dir.path().join("r");
    let out = sweep(&[input.to_str().expect("utf-8"), "--report", report.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let html = read(&report, "index.html");
    assert!(!html.contains("<script>alert") && !html.contains("<img src=x") && !html.contains("<svg onload"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("<mark>Poing américain</mark>"));
}

#[test]
fn compressed_catalogues_give_the_same_report() {
    let dir = tempfile::tempdir().expect("dir");
    let plain = std::fs::read("examples/listings.jsonl").expect("examples");
    let gz = dir.path().join("c.jsonl.gz");
    let mut enc =
        flate2::write::GzEncoder::new(std::fs::File::create(&gz).expect("gz"), flate2::Compression::default());
    enc.write_all(&plain).expect("gzip");
    enc.finish().expect("gzip");
    let zst = dir.path().join("c.jsonl.zst");
    std::fs::write(&zst, zstd::encode_all(plain.as_slice(), 3).expect("zstd")).expect("zst");
    let mut flagged = Vec::new();
    for input in [Path::new("examples/listings.jsonl"), gz.as_path(), zst.as_path()] {
        let report = dir.path().join(format!("r-{}", flagged.len()));
        let out = sweep(&[input.to_str().expect("utf-8"), "--report", report.to_str().expect("utf-8")]);
        assert_eq!(out.status.code(), Some(0), "{}: {}", input.display(), String::from_utf8_lossy(&out.stderr));
        flagged.push(read(&report, "flagged.csv"));
    }
    assert!(flagged[0].lines().count() > 20);
    assert_eq!(flagged[0], flagged[1]);
    assert_eq!(flagged[0], flagged[2]);
}

/// A sweep killed part-way resumes from its checkpoint and ends with the
/// same report as an uninterrupted one: no row lost or counted twice.
#[test]
fn an_interrupted_sweep_resumes_without_gaps_or_duplicates() {
    let dir = tempfile::tempdir().expect("dir");
    let examples = std::fs::read_to_string("examples/listings.jsonl").expect("examples");
    let input = dir.path().join("big.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&input).expect("file"));
    for i in 0..50_000 {
        let line = examples.lines().nth(i % 40).expect("line");
        let mut v: Value = serde_json::from_str(line).expect("json");
        v["id"] = json!(format!("L-{i}"));
        v["seller"] = json!({"id": format!("S-{}", i % 97)});
        writeln!(f, "{v}").expect("write");
    }
    drop(f);
    let input = input.to_str().expect("utf-8").to_string();
    let whole = dir.path().join("whole");
    let out = sweep(&[&input, "--report", whole.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0));

    let cut = dir.path().join("cut");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("rempart"))
        .args(["sweep", &input, "--report", cut.to_str().expect("utf-8"), "--checkpoint-seconds", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawns");
    // Wait for a first checkpoint, then kill the sweep mid-run.
    let mut interrupted = false;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if let Ok(text) = std::fs::read_to_string(cut.join("checkpoint.json")) {
            let cp: Value = serde_json::from_str(&text).expect("checkpoint");
            if cp["position"].as_u64().unwrap_or(0) > 0 && cp["done"] == json!(false) {
                child.kill().expect("kill");
                let _ = child.wait();
                interrupted = true;
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = sweep(&[&input, "--report", cut.to_str().expect("utf-8")]);
    if interrupted {
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("resuming the sweep"));
    }
    for name in ["flagged.csv", "flagged.jsonl", "by_policy.csv", "by_verdict.csv", "by_territory.csv", "sellers.csv"] {
        assert_eq!(read(&cut, name), read(&whole, name), "{name}");
    }
    let summary = |d: &Path| -> Value { serde_json::from_str(&read(d, "summary.json")).expect("summary") };
    assert_eq!(summary(&cut)["listings"], json!(50_000));
    assert_eq!(summary(&cut)["by_verdict"], summary(&whole)["by_verdict"]);
}

#[test]
fn a_report_folder_of_another_catalogue_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let report = dir.path().join("r");
    let cp = json!({"format": 1, "run": {"input": {"path": "other.jsonl", "bytes": 1, "modified": 1}, "pack_name": "p",
        "pack_version": "v", "engine_version": "e", "command": "c", "started_at": "t"}, "position": 5,
        "tally": {"listings": 5, "invalid": 0, "by_verdict": {}, "by_policy": {}, "by_territory": {}, "sellers": {}, "signal_errors": 0},
        "flagged_jsonl": 0, "flagged_csv": 0, "invalid_csv": 0, "done": false, "updated_at": "t"});
    std::fs::create_dir_all(&report).expect("dir");
    std::fs::write(report.join("checkpoint.json"), cp.to_string()).expect("write");
    let out = sweep(&["examples/listings.jsonl", "--report", report.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds a sweep of other.jsonl"));
    // Standard input cannot be read twice: an interrupted sweep of it is not resumed.
    let mut cp = cp;
    cp["run"]["input"] = json!({"path": "-", "bytes": 0, "modified": 0});
    std::fs::write(report.join("checkpoint.json"), cp.to_string()).expect("write");
    let out = rempart()
        .args(["sweep", "-", "--report", report.to_str().expect("utf-8")])
        .write_stdin("{\"id\":\"1\",\"title\":\"Mug\"}\n")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard input"));
}
