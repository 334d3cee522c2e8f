//! The `rempart` command as users run it: contracts, exit codes, bad input.

use std::io::Write;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn rempart() -> Command {
    Command::cargo_bin("rempart").expect("binary built")
}

fn decisions(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect()
}

#[test]
fn screens_the_shipped_example_in_order_with_evidence_into_the_original() {
    let out = rempart().args(["screen", "examples/listings.jsonl"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let input: Vec<Value> = std::fs::read_to_string("examples/listings.jsonl")
        .expect("example file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let got = decisions(&out.stdout);
    assert_eq!(got.len(), input.len());
    for (listing, decision) in input.iter().zip(&got) {
        assert_eq!(listing["id"], decision["id"], "order is kept");
        assert!(decision["policy_version"].as_str().is_some_and(|v| v.starts_with("sha256:")));
        for m in decision["matches"].as_array().expect("matches") {
            for e in m["evidence"].as_array().expect("evidence") {
                let field = e["field"].as_str().expect("field");
                let text = match field.strip_prefix("attributes.") {
                    Some(key) => listing["attributes"][key].as_str().expect("attribute").to_string(),
                    None => listing[field].as_str().expect("field text").to_string(),
                };
                let (s, end) = (e["start"].as_u64().expect("start") as usize, e["end"].as_u64().expect("end") as usize);
                assert_eq!(text.get(s..end), e["text"].as_str(), "evidence points into the original {field}");
            }
        }
    }
    let verdict =
        |id: &str| got.iter().find(|d| d["id"] == id).map(|d| d["verdict"].as_str().unwrap_or("").to_string());
    assert_eq!(verdict("EX-01").as_deref(), Some("allow"));
    assert_eq!(verdict("EX-02").as_deref(), Some("block"));
    assert_eq!(verdict("EX-03").as_deref(), Some("block"));
    assert_eq!(verdict("EX-04").as_deref(), Some("block"));
    assert_eq!(verdict("EX-06").as_deref(), Some("allow"));
    assert_eq!(verdict("EX-07").as_deref(), Some("block"));
    assert_eq!(verdict("EX-09").as_deref(), Some("allow"));
    assert_eq!(verdict("EX-17").as_deref(), Some("allow"));
    assert_eq!(verdict("EX-20").as_deref(), Some("allow"));
    assert_eq!(verdict("EX-29").as_deref(), Some("allow"));
}

#[test]
fn bad_records_are_reported_by_line_and_field_and_the_others_still_decided() {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(b"\xEF\xBB\xBF{\"id\":\"a\",\"title\":\"Tasse \xC3\xA0 caf\xC3\xA9\"}\r\n").expect("write");
    file.write_all(b"{\"id\":\"b\",\"title\": oops\n").expect("write");
    file.write_all(b"\n   \n").expect("write");
    file.write_all(b"{\"id\":\"c\",\"title\":42}\n").expect("write");
    file.write_all(b"{\"id\":\"d\",\"title\":\"\xFF\xFE bad utf8\"}\n").expect("write");
    file.write_all(b"{\"title\":\"no id\"}\n").expect("write");
    let deep = format!("{{\"id\":\"e\",\"title\":\"t\",\"x\":{}{}}}\n", "[".repeat(5000), "]".repeat(5000));
    file.write_all(deep.as_bytes()).expect("write");
    let long = format!("{{\"id\":\"f\",\"title\":\"{}\"}}\n", "a".repeat(100_000));
    file.write_all(long.as_bytes()).expect("write");
    file.write_all(b"{\"id\":\"g\",\"title\":\"Gants de jardin\",\"unknown\":{\"kept\":1}}\n").expect("write");
    let out = rempart().arg("screen").arg(file.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "line 2: invalid JSON",
        "line 5: field title: expected a string",
        "line 6: invalid JSON",
        "line 7: field id: missing",
        "line 8: ",
        "line 9: field title: 100000 bytes, over the 8192-byte cap",
    ] {
        assert!(stderr.contains(expected), "stderr lacks {expected:?}:\n{stderr}");
    }
    let ids: Vec<String> = decisions(&out.stdout).iter().map(|d| d["id"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(ids, vec!["a", "g"]);
}

#[test]
fn csv_input_and_only_flagged() {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    writeln!(file, "id,title,description,height,ship_to").expect("write");
    writeln!(file, "1,Mug,\"a mug, white\",,FR").expect("write");
    writeln!(file, "2,Love doll TPE,,100 cm,FR").expect("write");
    writeln!(file, "3,,missing title,,").expect("write");
    writeln!(file, "4,Poing américain,,,\"FR,BE\"").expect("write");
    let out =
        rempart().args(["screen", "--input-format", "csv", "--only-flagged"]).arg(file.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 4: field title: missing"));
    let got = decisions(&out.stdout);
    let ids: Vec<&str> = got.iter().map(|d| d["id"].as_str().unwrap_or("")).collect();
    assert_eq!(ids, vec!["2", "4"]);
    assert_eq!(got[0]["verdict"], "block");
    assert_eq!(got[0]["matches"][0]["evidence"][1]["field"], "attributes.height");
}

#[test]
fn territorial_scope_follows_ship_to() {
    let input = "{\"id\":\"fr\",\"title\":\"PUFF jetable 9000 taffes\",\"ship_to\":[\"FR\"]}\n\
                 {\"id\":\"de\",\"title\":\"PUFF jetable 9000 taffes\",\"ship_to\":[\"DE\"]}\n\
                 {\"id\":\"any\",\"title\":\"PUFF jetable 9000 taffes\"}\n";
    let out = rempart().args(["screen", "-"]).write_stdin(input).output().expect("runs");
    let got = decisions(&out.stdout);
    let verdicts: Vec<&str> = got.iter().map(|d| d["verdict"].as_str().unwrap_or("")).collect();
    assert_eq!(verdicts[0], "block");
    assert_ne!(verdicts[1], "block", "a French ban does not reach a listing shipped only to Germany");
    assert_eq!(verdicts[2], "block", "no ship_to: reaches every territory of the pack");
    for m in got[0]["matches"].as_array().expect("matches") {
        assert!(m["scope"].as_array().is_some_and(|s| !s.is_empty()));
    }
}

#[test]
fn explain_marks_the_evidence_for_people() {
    rempart()
        .args(["explain", "-"])
        .write_stdin("{\"id\":\"x\",\"title\":\"Lot: Poing américain acier\"}\n")
        .assert()
        .success()
        .stdout(
            predicate::str::contains("BLOCK")
                .and(predicate::str::contains("«Poing américain»"))
                .and(predicate::str::contains("legal basis")),
        );
}

#[test]
fn the_default_pack_passes_its_own_tests_and_lint_has_no_errors() {
    rempart().args(["policy", "test"]).assert().success().stdout(predicate::str::contains(" 0 failed"));
    rempart().args(["policy", "lint"]).assert().success();
    rempart().args(["policy", "test", "policies"]).assert().success();
}

#[test]
fn lint_fails_on_findings_unless_told_to_warn_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let head = "[policy]\nid = \"p\"\ntitle = \"t\"\nlegal_basis = \"b\"\nscope = [\"FR\"]\n\
                dsa_category = \"STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS\"\n";
    // An unused set, a rule no test fires, a failing test and a pattern
    // whose word boundary has no letter of its own beside it: four findings.
    let body = "[terms.a]\nen = [\"alpha\"]\npatterns = ['[0-9]+ ?\\b']\n[terms.unused]\nen = [\"beta\"]\n\
                [[rule]]\nid = \"r\"\naction = \"block\"\nwhen = \"a\"\n\
                [[test]]\ntitle = \"gamma\"\nexpect = \"block\"\n";
    std::fs::write(dir.path().join("p.toml"), format!("{head}{body}")).expect("write");
    let out = rempart().args(["policy", "lint"]).arg(dir.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(4));
    let text = String::from_utf8_lossy(&out.stdout);
    for finding in [
        "`unused` is not used",
        "`r` is fired by none",
        "fails: expected block, got allow",
        "pattern \"[0-9]+ ?\\\\b\" has a word boundary with no letter or digit of its own",
    ] {
        assert!(text.contains(finding), "{finding} in {text}");
    }
    rempart().args(["policy", "lint", "--warn-only"]).arg(dir.path()).assert().success();
}

#[test]
fn an_invalid_pack_is_fatal_and_says_why() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("p.toml"),
        "[policy]\nid = \"p\"\ntitle = \"t\"\nscope = [\"France\"]\ndsa_category = \"X\"\n[[rule]]\nid = \"r\"\naction = \"block\"\nwhen = \"nowhere & (\"\n",
    )
    .expect("write");
    rempart()
        .args(["screen", "--policy"])
        .arg(dir.path())
        .write_stdin("{\"id\":\"a\",\"title\":\"t\"}\n")
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("no legal_basis")
                .and(predicate::str::contains("scope `France`"))
                .and(predicate::str::contains("dsa_category `X`"))
                .and(predicate::str::contains("rule `r`")),
        );
    rempart()
        .args(["screen", "/nonexistent/file.jsonl"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot open"));
}

#[test]
fn eval_reports_precision_recall_and_confusion() {
    let input = "{\"id\":\"1\",\"title\":\"Poing américain\",\"expected\":\"block\",\"expected_policies\":[\"weapons_category_a_b\"]}\n\
                 {\"id\":\"2\",\"title\":\"Tasse\",\"expected\":\"allow\"}\n\
                 {\"id\":\"3\",\"title\":\"Tasse\",\"expected\":\"block\"}\n\
                 {\"id\":\"4\",\"title\":\"Tasse\"}\n";
    let out = rempart().args(["eval", "-"]).write_stdin(input).output().expect("runs");
    assert_eq!(out.status.code(), Some(2), "an unlabelled record is reported");
    let report: Value = serde_json::from_slice(&out.stdout).expect("one JSON report");
    assert_eq!(report["listings"], 3);
    assert_eq!(report["flagged"]["true_positives"], 1);
    assert_eq!(report["flagged"]["false_negatives"], 1);
    assert_eq!(report["confusion"]["block"]["allow"], 1);
    assert_eq!(report["per_policy"]["weapons_category_a_b"]["true_positives"], 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("field expected: missing"));
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["screen", "--help"],
        vec!["explain", "--help"],
        vec!["eval", "--help"],
        vec!["policy", "--help"],
        vec!["policy", "test", "--help"],
        vec!["policy", "lint", "--help"],
        vec!["policy", "terms", "--help"],
        vec!["policy", "show", "--help"],
    ] {
        rempart().args(&args).assert().success().stdout(predicate::str::contains("Usage"));
    }
}

#[test]
fn labelled_examples_are_decided_as_expected() {
    // examples/labelled.jsonl: the shipped examples; examples/probe_multilingual.jsonl:
    // evasions and look-alikes in de/es/it/nl/pl/fr/en, each verdict reviewed by hand;
    // examples/sellers_words.jsonl: what sellers of illegal goods write (makers and
    // models, calibres, doses, documents by country, strains…) and their look-alikes.
    for file in ["examples/labelled.jsonl", "examples/probe_multilingual.jsonl", "examples/sellers_words.jsonl"] {
        let out = rempart().args(["eval", file]).output().expect("runs");
        assert_eq!(out.status.code(), Some(0), "{file}: {}", String::from_utf8_lossy(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).expect("report");
        assert_eq!(report["verdict_accuracy"], 1.0, "{file}: misses {}", report["misses"]);
    }
}
