//! Images and relisting through the `rempart` command: `rempart hash`
//! against the reference tool's output, hash banks, opt-in image fetching
//! from a local HTTP server with every refusal explained in the decision,
//! and a removed listing caught when it comes back.
//!
//! The semantic stage is off here (`--no-semantic`): these verdicts are
//! about images and relisting, and a similarity near a threshold would make
//! them depend on the CPU the engine was compiled for (`tests/semantic.rs`
//! holds the stage to its own checks).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn rempart() -> Command {
    Command::cargo_bin("rempart").expect("binary built")
}

fn suite() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/pdq")
}

fn decisions(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect()
}

const BRIDGE_PDQ: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";

#[test]
fn hash_prints_the_reference_format_and_reports_bad_files() {
    let images = suite().join("images");
    let out = rempart()
        .current_dir(&images)
        .args(["hash", "bridge-mods/aaa-orig.jpg", "misc-images/modes/L.png", "no-such-file.jpg"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "a file could not be hashed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let expected = std::fs::read_to_string(suite().join("expected/regenerated_cpp_reference/hash_quality.csv"))
        .expect("expected outputs");
    for line in stdout.lines() {
        assert!(expected.lines().any(|e| e == line), "{line} is exactly the reference's line");
    }
    assert_eq!(stdout.lines().count(), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-file.jpg: unreadable"));
}

#[test]
fn hash_dihedral_matches_the_reference_layout() {
    let out = rempart()
        .current_dir(suite().join("images"))
        .args(["hash", "--dihedral", "bridge-mods/aaa-orig.jpg"])
        .output()
        .expect("runs");
    let expected = std::fs::read_to_string(suite().join("expected/regenerated_cpp_reference/pdqdih_across.csv"))
        .expect("expected outputs");
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(expected.lines().any(|e| e == line), "{line}");
}

/// Serves files from `root` on 127.0.0.1 with a lying `Content-Type:
/// image/jpeg` on everything; returns the port.
fn serve(root: PathBuf) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let root = root.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(&stream);
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    return;
                }
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_string();
                let mut out = &stream;
                if let Some(target) = path.strip_prefix("redirect-to/") {
                    // `Connection: close` like every answer here: this thread
                    // closes the socket now, and a client that kept it for its
                    // next image would meet a reset.
                    let _ = write!(
                        out,
                        "HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    return;
                }
                if path.starts_with("slow/") {
                    // Headers, then nothing: the client's deadline ends it.
                    let _ = write!(out, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n");
                    std::thread::sleep(std::time::Duration::from_secs(3));
                    return;
                }
                match std::fs::read(root.join(&path)) {
                    Ok(body) => {
                        let _ = write!(
                            out,
                            "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = out.write_all(&body);
                    }
                    Err(_) => {
                        let _ = write!(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    }
                }
                let _ = (&stream).read(&mut [0u8; 1]);
            });
        }
    });
    port
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn banks_fetching_and_relisting_end_to_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let site = dir.path().join("site");
    std::fs::create_dir(&site).expect("site");
    let images = suite().join("images");
    std::fs::copy(images.join("reg-test-input/dih/bridge-2-rotate-90.jpg"), site.join("rotated.jpg")).expect("copy");
    std::fs::copy(images.join("misc-images/modes/CMYK.jpg"), site.join("cmyk.jpg")).expect("copy");
    std::fs::write(site.join("page.jpg"), "<!doctype html><p>not an image").expect("page");
    let port = serve(site);
    let base = format!("http://127.0.0.1:{port}");

    write(dir.path(), "bank.csv", &format!("id,pdq,quality,source\nK-1,{BRIDGE_PDQ},100,test bank\n"));
    let config = |allow: &str| {
        format!(
            "[[bank]]\nname = \"demo\"\nfile = \"bank.csv\"\nsignal = \"image_known_child_like_doll\"\n\n\
             [fetch]\nallow = [{allow}]\ntimeout_seconds = 120\nlisting_timeout_seconds = 600\n\n[removed]\nfile = \"removed.jsonl\"\n"
        )
    };
    let allowed = write(dir.path(), "signals.toml", &config("\"127.0.0.1/32\""));
    let listings = [
        format!(r#"{{"id":"A","title":"Doll 100cm","images":[{{"url":"{base}/rotated.jpg"}}]}}"#),
        format!(
            r#"{{"id":"B","title":"Garden hose 20 m","images":[{{"url":"{base}/page.jpg"}},{{"url":"{base}/missing.jpg"}},{{"url":"http://169.254.169.254/latest/meta-data/"}},{{"url":"{base}/redirect-to/http://[::1]:{port}/rotated.jpg"}},{{"url":"ftp://example.org/x.jpg"}},{{"pdq":"12ab"}},{{"url":"{base}/cmyk.jpg"}}]}}"#
        ),
        r#"{"id":"C","title":"Poing américain acier 4 doigts","seller":{"id":"S-1"}}"#.to_string(),
    ];
    let input = write(dir.path(), "listings.jsonl", &(listings.join("\n") + "\n"));
    let out = rempart()
        .args(["screen", "--no-semantic", "--signals"])
        .arg(&allowed)
        .args(["--fetch-images", "--record-removed"])
        .arg(&input)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let got = decisions(&out.stdout);

    // A: the rotated copy of the bank image is caught through its dihedral hashes.
    assert_eq!(got[0]["verdict"], "block");
    let evidence = &got[0]["matches"][0]["evidence"][0];
    assert_eq!(got[0]["matches"][0]["rule"], "known_child_like_doll_image");
    assert_eq!(evidence["field"], "images[0].url");
    let detail = evidence["detail"].as_str().expect("detail");
    assert!(detail.contains("hash bank `demo`") && detail.contains("id=K-1"), "{detail}");

    // B: every unusable image is explained, and the listing is still decided. The CMYK
    // image is hashed (the reference would refuse it) and matches the bank.
    let errors: Vec<(String, String)> = got[1]["signal_errors"]
        .as_array()
        .expect("signal_errors")
        .iter()
        .map(|e| (e["source"].as_str().unwrap_or("").to_string(), e["code"].as_str().unwrap_or("").to_string()))
        .collect();
    let expect = |source: &str, code: &str| {
        assert!(errors.contains(&(source.to_string(), code.to_string())), "{source} {code} in {errors:?}");
    };
    expect("images[0].url", "not_an_image");
    expect("images[1].url", "http_status");
    expect("images[2].url", "address_not_allowed");
    expect("images[3].url", "address_not_allowed");
    expect("images[4].url", "scheme_not_allowed");
    expect("images[5].pdq", "invalid_hash");
    assert_eq!(errors.len(), 6, "{errors:?}");
    assert_eq!(got[1]["verdict"], "block");
    assert_eq!(got[1]["matches"][0]["evidence"][0]["field"], "images[6].url");

    // Without the allow-list, loopback is refused too.
    let strict = write(dir.path(), "strict.toml", &config(""));
    let out = rempart()
        .args(["screen", "--no-semantic", "--signals"])
        .arg(&strict)
        .arg("--fetch-images")
        .arg(&input)
        .output()
        .expect("runs");
    let got = decisions(&out.stdout);
    assert_eq!(got[0]["verdict"], "allow", "generic title, image not fetched: {}", got[0]);
    assert_eq!(got[0]["signal_errors"][0]["code"], "address_not_allowed");

    // The blocked listings joined the removed index; C comes back reworded from another seller.
    let removed = std::fs::read_to_string(dir.path().join("removed.jsonl")).expect("removed index");
    assert_eq!(removed.lines().count(), 3);
    let relisted = write(
        dir.path(),
        "relisted.jsonl",
        "{\"id\":\"C2\",\"title\":\"Poing americain en acier 4 doigts\",\"seller\":{\"id\":\"S-2\"}}\n\
         {\"id\":\"D\",\"title\":\"Tasse à café 350 ml\"}\n\
         {\"id\":\"E\",\"title\":\"Doll 100cm\"}\n",
    );
    let out =
        rempart().args(["screen", "--no-semantic", "--signals"]).arg(&allowed).arg(&relisted).output().expect("runs");
    let got = decisions(&out.stdout);
    let relisting = got[0]["matches"].as_array().expect("matches").iter().find(|m| m["policy"] == "relisting");
    let relisting = relisting.expect("relisting matched");
    assert_eq!(relisting["action"], "review");
    let detail = relisting["evidence"][0]["detail"].as_str().expect("detail");
    assert!(
        detail.contains("removed listing C") && detail.contains("decided by rempart weapons_category_a_b/"),
        "{detail}"
    );
    assert!(detail.contains("seller S-1"), "{detail}");
    assert_eq!(got[1]["verdict"], "allow");
    // A generic two-word title equal to removed listing A's is not evidence on its own.
    assert!(got[2]["matches"].as_array().expect("matches").iter().all(|m| m["policy"] != "relisting"), "{}", got[2]);
}

/// Many slow images cannot hold a worker: a listing's fetches share one
/// deadline and stop at a count, each image left out reported.
#[test]
fn a_listing_has_an_image_count_and_a_total_fetch_deadline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = serve(dir.path().to_path_buf());
    let config = write(
        dir.path(),
        "signals.toml",
        "[fetch]\nallow = [\"127.0.0.1/32\"]\ntimeout_seconds = 20\nmax_images = 3\nlisting_timeout_seconds = 0.5\n",
    );
    let urls: Vec<String> = (0..12).map(|i| format!("{{\"url\":\"http://127.0.0.1:{port}/slow/{i}.png\"}}")).collect();
    let listing = format!("{{\"id\":\"many\",\"title\":\"Lamp\",\"images\":[{}]}}\n", urls.join(","));
    let out = rempart()
        .args(["screen", "--no-semantic", "--fetch-images", "--signals"])
        .arg(&config)
        .arg("-")
        .write_stdin(listing)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let got = decisions(&out.stdout);
    let errors = got[0]["signal_errors"].as_array().expect("signal errors");
    let codes: Vec<&str> = errors.iter().map(|e| e["code"].as_str().unwrap_or("")).collect();
    assert_eq!(codes.len(), 12, "every image is accounted for: {codes:?}");
    assert!(codes[..3].iter().all(|c| *c == "timeout"), "{codes:?}");
    assert!(errors[0]["message"].as_str().is_some_and(|m| m.contains("listing")), "{}", errors[0]);
    assert!(codes[3..].iter().all(|c| *c == "too_many_images"), "{codes:?}");
}

#[test]
fn every_signals_config_value_is_checked_with_its_key_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bank = "[[bank]]\nname = \"b\"\nfile = \"x\"\nsignal = \"image_known_prohibited_product\"\n";
    for (body, key) in [
        ("[fetch]\ntimeout_seconds = 0\n", "fetch.timeout_seconds"),
        ("[fetch]\ntimeout_seconds = -1\n", "fetch.timeout_seconds"),
        ("[fetch]\ntimeout_seconds = nan\n", "fetch.timeout_seconds"),
        ("[fetch]\ntimeout_seconds = inf\n", "fetch.timeout_seconds"),
        ("[fetch]\ntimeout_seconds = 1e300\n", "fetch.timeout_seconds"),
        ("[fetch]\nmax_bytes = 0\n", "fetch.max_bytes"),
        ("[fetch]\nmax_bytes = -5\n", "fetch.max_bytes"),
        ("[fetch]\nconcurrency = 100000000\n", "fetch.concurrency"),
        ("[fetch]\nconcurrency = 0\n", "fetch.concurrency"),
        ("[fetch]\nmax_redirects = 1000\n", "fetch.max_redirects"),
        ("[fetch]\nmax_pixels = 0\n", "fetch.max_pixels"),
        ("[fetch]\nmax_pixels = 100\nmax_pixels_in_flight = 50\n", "fetch.max_pixels_in_flight"),
        ("[fetch]\nmax_images = 0\n", "fetch.max_images"),
        ("[fetch]\nlisting_timeout_seconds = nan\n", "fetch.listing_timeout_seconds"),
        ("[fetch]\nallow = [\"10.0.0.1/8\"]\n", "fetch.allow[0]"),
        ("[fetch]\nallow = [\"127.0.0.1\", \"nonsense\"]\n", "fetch.allow[1]"),
        ("[fetch]\nmax_byte = 5\n", "max_byte"),
        (&format!("{bank}max_distance = 300\n"), "bank[0].max_distance"),
        (&format!("{bank}min_quality = 300\n"), "bank.min_quality"),
        (&format!("{bank}min_quality = 101\n"), "bank[0].min_quality"),
        ("[[bank]]\nname = \" \"\nfile = \"x\"\nsignal = \"s\"\n", "bank[0].name"),
        ("[removed]\nfile = \"r\"\nmin_similarity = 1.5\n", "removed.min_similarity"),
        ("[removed]\nfile = \"r\"\nmin_similarity_other_seller = nan\n", "removed.min_similarity_other_seller"),
        ("[removed]\nfile = \"r\"\nimage_max_distance = -1\n", "removed.image_max_distance"),
    ] {
        let config = write(dir.path(), "s.toml", body);
        let out = rempart()
            .args(["screen", "--no-semantic", "--signals"])
            .arg(&config)
            .arg("-")
            .write_stdin("")
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{body}: {stderr}");
        assert!(stderr.contains(key), "{body}: the error names {key}: {stderr}");
        assert!(!stderr.contains("panicked"), "{body}: {stderr}");
    }
}

#[test]
fn signals_config_errors_are_clear() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write(dir.path(), "s.toml", "[[bank]]\nname = \"x\"\nfile = \"b.txt\"\nsignal = \"not_declared\"\n");
    write(dir.path(), "b.txt", &format!("{BRIDGE_PDQ}\n"));
    let out = rempart()
        .args(["screen", "--no-semantic", "--signals"])
        .arg(&config)
        .arg("examples/listings.jsonl")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signal `not_declared` is not declared"));
    let no_fetch = write(dir.path(), "n.toml", "");
    let out = rempart()
        .args(["screen", "--no-semantic", "--fetch-images", "--signals"])
        .arg(&no_fetch)
        .arg("examples/listings.jsonl")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no [fetch] table"));
}

#[test]
fn bank_check_reports_loaded_and_skipped_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bank = write(dir.path(), "bank.csv", &format!("id,pdq,quality\n1,{BRIDGE_PDQ},100\n2,zz,90\n"));
    let out = rempart().args(["bank", "check"]).arg(&bank).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let lines = decisions(&out.stdout);
    assert_eq!(lines[0]["loaded"], 1);
    assert_eq!(lines[1]["line"], 3);
}

#[test]
fn listings_removed_after_a_notice_are_caught_when_they_come_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write(dir.path(), "signals.toml", "[removed]\nfile = \"removed.jsonl\"\n");
    let removed = write(
        dir.path(),
        "removed-by-notice.jsonl",
        &format!(
            "{{\"id\":\"R-1\",\"title\":\"Lampe torche\",\"seller\":{{\"id\":\"S-7\"}},\"images\":[{{\"pdq\":\"{BRIDGE_PDQ}\"}}]}}\n"
        ),
    );
    let out = rempart()
        .args(["removed", "add", "--decided-by", "notice N-118", "--signals"])
        .arg(&config)
        .arg(&removed)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(decisions(&out.stdout)[0]["images"][0], BRIDGE_PDQ);
    let back = write(
        dir.path(),
        "back.jsonl",
        &format!("{{\"id\":\"R-2\",\"title\":\"Chaussettes\",\"images\":[{{\"pdq\":\"{BRIDGE_PDQ}\"}}]}}\n"),
    );
    let out = rempart().args(["screen", "--no-semantic", "--signals"]).arg(&config).arg(&back).output().expect("runs");
    let got = decisions(&out.stdout);
    assert_eq!(got[0]["verdict"], "review");
    let detail = got[0]["matches"][0]["evidence"][0]["detail"].as_str().expect("detail");
    assert!(detail.contains("removed listing R-1") && detail.contains("notice N-118"), "{detail}");
}
