//! Shared by the integration tests: the real `rempart serve` binary on
//! loopback, and the real corpora in ../shared/data.

#![allow(dead_code)] // each test file uses part of this

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rempart_core::Listing;
use serde_json::Value;

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rempart"))
}

/// Runs a `rempart` command to completion.
pub fn rempart(args: &[&str]) -> std::process::Output {
    Command::new(bin()).args(args).output().expect("rempart runs")
}

/// A database created by `rempart init` in a temporary folder.
pub struct Db {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    /// The log's public key (vkey), as `init` printed it.
    pub vkey: String,
}

impl Db {
    pub fn new() -> Db {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("rempart.db");
        let out = rempart(&["init", "--db", path.to_str().expect("utf-8 path")]);
        assert!(out.status.success(), "init: {}", String::from_utf8_lossy(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).expect("init prints JSON");
        Db { dir, path, vkey: report["vkey"].as_str().expect("vkey").to_string() }
    }

    pub fn db(&self) -> &str {
        self.path.to_str().expect("utf-8 path")
    }

    /// Creates an API key with `role`; returns its secret.
    pub fn key(&self, role: &str) -> String {
        self.key_with(role, &[])
    }

    pub fn key_with(&self, role: &str, extra: &[&str]) -> String {
        let mut args = vec!["keys", "create", "--db", self.db(), "--role", role, "--label", "test"];
        args.extend_from_slice(extra);
        let out = rempart(&args);
        assert!(out.status.success(), "keys create: {}", String::from_utf8_lossy(&out.stderr));
        let created: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        created["secret"].as_str().expect("secret").to_string()
    }

    /// Runs SQL on the database file behind rempart's back (Python's sqlite3).
    pub fn sql(&self, statements: &str) {
        let out = Command::new("python3")
            .args([
                "-c",
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()",
            ])
            .args([self.db(), statements])
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "sql: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Runs `rempart audit verify`; returns (exit code, report, stderr).
    pub fn verify(&self) -> (i32, Value, String) {
        let out = rempart(&["audit", "verify", "--db", self.db()]);
        let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code().unwrap_or(-1), report, String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A running server.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub log: PathBuf,
}

impl Server {
    /// Starts `rempart serve` on a free port of 127.0.0.1 and waits until
    /// it answers.
    pub fn start(db: &Db, extra: &[&str]) -> Server {
        let log = db.dir.path().join(format!(
            "serve-{}.log",
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
        ));
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut args = vec!["serve", "--db", db.db(), "--listen", "127.0.0.1:0", "--head-interval", "0.2"];
        // The 10 s default deadline is sized for a release build; a debug
        // build on a loaded 2-core CI machine (several test servers
        // embedding exemplars at once) can pass it, and every listing of
        // the batch is then recorded `review` (fail closed), which is not
        // what these tests are about. A test of the deadline sets its own.
        if !extra.contains(&"--screen-timeout") {
            args.extend_from_slice(&["--screen-timeout", "600"]);
        }
        args.extend_from_slice(extra);
        let child = Command::new(bin())
            .args(&args)
            .stdout(Stdio::null())
            .stderr(stderr)
            .env("RUST_LOG", "warn")
            .spawn()
            .expect("serve starts");
        let mut server = Server { child, addr: String::new(), log };
        for _ in 0..600 {
            let text = std::fs::read_to_string(&server.log).unwrap_or_default();
            if let Some(rest) = text.split("listening on http://").nth(1) {
                server.addr = rest.lines().next().unwrap_or_default().trim().to_string();
                break;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("serve exited with {status}: {text}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(!server.addr.is_empty(), "serve never said where it listens: {}", server.log_text());
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no clean shutdown, no final head.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait: the clean shutdown path.
    pub fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response: status, headers (lower-case names), body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// One HTTP request; `key` goes in `Authorization: Bearer`.
pub fn call(method: &str, url: &str, key: Option<&str>, body: Option<&str>, headers: &[(&str, &str)]) -> Answer {
    let agent = agent();
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    if let Some(k) = key {
        request = request.header("authorization", format!("Bearer {k}"));
    }
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let request = request.body(body.unwrap_or("").to_string()).expect("request");
    let mut response = agent.run(request).expect("the server answers");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    Answer { status, headers, body }
}

pub fn get(url: &str, key: Option<&str>) -> Answer {
    call("GET", url, key, None, &[])
}

pub fn post(url: &str, key: &str, body: &str) -> Answer {
    call("POST", url, Some(key), Some(body), &[("content-type", "application/json")])
}

/// Sends raw bytes and returns the status code of the answer (0 if the
/// server closed the connection without one).
pub fn raw(addr: &str, bytes: &[u8]) -> u16 {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).ok();
    // The server may answer (413) and close before reading everything.
    let _ = s.write_all(bytes);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut line = String::new();
    let _ = BufReader::new(&mut s).read_line(&mut line);
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    line.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

pub fn temp_path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().expect("utf-8").to_string()
}

/// `../shared/data`, when it is beside the repository.
pub fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    dir.is_dir().then_some(dir)
}

/// The 68,252 benign listings of the shared corpora, as `bench/corpus.py
/// benign` maps them to the listing contract, in file order.
pub fn benign_listings(data: &Path) -> Vec<Listing> {
    let out = tempfile::tempdir().expect("temp dir");
    let status = Command::new("python3")
        .arg("bench/corpus.py")
        .arg("benign")
        .arg(out.path())
        .env("REMPART_DATA", data)
        .status()
        .expect("python3 runs bench/corpus.py");
    assert!(status.success());
    let mut files: Vec<_> = std::fs::read_dir(out.path()).expect("dir").map(|e| e.expect("entry").path()).collect();
    files.sort();
    let mut listings = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("jsonl");
        for line in text.lines() {
            listings.push(Listing::from_json(line.as_bytes()).expect("corpus rows are valid listings"));
        }
    }
    listings
}
