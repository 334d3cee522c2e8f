//! Images in the service: downloaded ahead of screening, a listing whose
//! images miss the deadline decided without them and decided again, on
//! the record, when they arrive.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use support::{get, post, Db, Server};

/// PDQ of `bridge-1-original.jpg` in the reference suite (the bank entry);
/// the served image is its copy turned 90°, found by the dihedral hashes.
const BRIDGE_PDQ: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";

fn image() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/pdq/images/reg-test-input/dih/bridge-2-rotate-90.jpg");
    std::fs::read(&path).unwrap_or_else(|e| panic!("test image {} is missing: {e}", path.display()))
}

/// Serves the image on 127.0.0.1: at `/now.jpg` at once, at `/held.jpg`
/// only once `release` is set (the test decides when images "arrive").
fn serve(release: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("addr").port();
    let body = image();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (release, body) = (release.clone(), body.clone());
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
                if request.contains("/held.jpg") {
                    while !release.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
                let mut out = &stream;
                let _ = write!(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = out.write_all(&body);
            });
        }
    });
    port
}

fn decisions_of(server: &Server, key: &str, listing: &str) -> Vec<Value> {
    let history = get(&server.url(&format!("/v1/listings/{listing}")), Some(key)).json();
    history["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .flat_map(|v| v["decisions"].as_array().cloned().unwrap_or_default())
        .collect()
}

#[test]
fn images_late_for_the_deadline_are_decided_again_when_they_arrive() {
    let db = Db::new();
    let release = Arc::new(AtomicBool::new(false));
    let port = serve(release.clone());
    let dir = db.dir.path();
    std::fs::write(dir.join("bank.csv"), format!("id,pdq,quality,source\nK-1,{BRIDGE_PDQ},100,test bank\n"))
        .expect("bank");
    let config = dir.join("signals.toml");
    std::fs::write(
        &config,
        "[[bank]]\nname = \"demo\"\nfile = \"bank.csv\"\nsignal = \"image_known_child_like_doll\"\n\n\
         [fetch]\nallow = [\"127.0.0.1/32\"]\ntimeout_seconds = 60\n",
    )
    .expect("config");
    let config = config.to_str().expect("utf-8 path");
    let server = Server::start(&db, &["--signals", config, "--fetch-images", "--image-deadline", "1"]);
    let key = db.key("submitter");
    let auditor = db.key("auditor");
    let base = format!("http://127.0.0.1:{port}");

    // In time: the image is part of the first decision.
    let now = format!(r#"{{"id":"P-1","title":"Garden ornament 30 cm","images":[{{"url":"{base}/now.jpg"}}]}}"#);
    let answer = post(&server.url("/v1/listings"), &key, &now).json();
    assert_eq!(answer["decision"]["verdict"], "block", "{answer}");
    assert_eq!(answer["decision"]["matches"][0]["evidence"][0]["field"], "images[0].url");

    // Late: decided without it, the missing image named.
    let held =
        format!(r#"{{"id":"P-2","title":"Bird bath stone basin 40 cm","images":[{{"url":"{base}/held.jpg"}}]}}"#);
    let first = post(&server.url("/v1/listings"), &key, &held).json();
    assert_eq!(first["decision"]["verdict"], "allow", "{first}");
    let errors = &first["decision"]["signal_errors"];
    assert_eq!(errors[0]["code"], "image_pending", "{first}");
    assert_eq!(errors[0]["source"], "images[0].url");
    let first_id = first["decision_id"].as_str().expect("decision id").to_string();

    // The image arrives: a second decision, on the record, superseding the first.
    release.store(true, Ordering::SeqCst);
    let mut decisions = Vec::new();
    for _ in 0..600 {
        decisions = decisions_of(&server, &auditor, "P-2");
        if decisions.len() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(decisions.len(), 2, "no decision recorded when the image arrived: {decisions:?}");
    let second = &decisions[1];
    assert_eq!(second["origin"], "images_arrived");
    assert_eq!(second["supersedes"], first_id.as_str());
    assert_eq!(second["decision"]["verdict"], "block");
    assert!(second["decision"]["signal_errors"].as_array().is_none_or(|e| e.is_empty()), "{second}");
    let detail = second["decision"]["matches"][0]["evidence"][0]["detail"].as_str().expect("detail");
    assert!(detail.contains("hash bank `demo`"), "{detail}");

    // The same listing again: already decided with its image, nothing new.
    let again = post(&server.url("/v1/listings"), &key, &held).json();
    assert_eq!(again["recorded"], false, "{again}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(decisions_of(&server, &auditor, "P-2").len(), 2);

    server.stop();
    let (code, report, stderr) = db.verify();
    assert_eq!(code, 0, "audit verify after re-decisions: {report} {stderr}");
}
