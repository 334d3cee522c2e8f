//! The review console end to end: the real `rempart serve` on 127.0.0.1,
//! driven in headless Chromium (Debian's `chromium` and `chromium-driver`,
//! installed by `.ci/setup/30-chromium.sh`). A reviewer logs in with a
//! key, sees the queue with its counts, opens an item, sees the evidence
//! highlighted in the seller's own text with the rule and legal basis,
//! claims it, blocks it with the keyboard, and sees the new decision and
//! its audit entry. The API is the oracle for what the page shows.
//!
//! Without Chromium this test fails (it never skips): the console is a
//! part of the product, and CI installs the browser.
//!
//! Screenshots are written to `$CARGO_TARGET_TMPDIR/console/` (or
//! `$REMPART_SCREENSHOTS`): queue.png, item.png, decide.png, decided.png, audit.png.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};
use support::{call, get, post, Db, Server};

/// The W3C WebDriver protocol is a handful of JSON calls over HTTP: ureq
/// (already the tests' HTTP client) speaks it here, where a WebDriver
/// crate would bring an async runtime and a TLS stack into the test build
/// for talking to 127.0.0.1.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

const KEY_CONTROL: &str = "\u{E009}";
const KEY_ENTER: &str = "\u{E007}";

fn which(var: &str, names: &[&str]) -> PathBuf {
    if let Some(p) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        for name in names {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "{} not found (set {var} or install the Debian packages `chromium` and `chromium-driver`; \
         `bash .ci/test` does both through .ci/setup/30-chromium.sh)",
        names.join(" or ")
    )
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

impl Browser {
    fn start() -> Browser {
        let chromedriver = which("REMPART_CHROMEDRIVER", &["chromedriver"]);
        let chromium = which("REMPART_CHROMIUM", &["chromium", "chromium-browser"]);
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", chromedriver.display()));
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..300 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && get(&format!("{base}/status"), None).json()["value"]["ready"] == true
            {
                ready = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(ready, "chromedriver did not become ready on {base}");
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1440,1000", "--force-device-scale-factor=1", "--no-first-run",
                         "--lang=en-GB", format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let created = post(&format!("{base}/session"), "", &caps.to_string());
        let v = created.json();
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver refused the session ({}): {}", created.status, created.body))
            .to_string();
        Browser { driver, base, session, _profile: profile }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let body = body.map(|b| b.to_string());
        let a = call(method, &url, None, body.as_deref(), &[("content-type", "application/json")]);
        let v = a.json();
        assert_eq!(a.status, 200, "{method} {path}: {v}");
        v["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }

    /// The first element matching `css`, or None.
    fn find_now(&self, css: &str) -> Option<String> {
        let url = format!("{}/session/{}/elements", self.base, self.session);
        let a = post(&url, "", &json!({"using": "css selector", "value": css}).to_string());
        a.json()["value"].as_array()?.first()?.as_object()?.values().next()?.as_str().map(String::from)
    }

    /// Waits (bounded) for an element to appear.
    fn find(&self, css: &str) -> String {
        for _ in 0..200 {
            if let Some(e) = self.find_now(css) {
                return e;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no `{css}` on the page; it shows: {}", self.body_text())
    }

    /// The rendered text of every element matching `css`, read in one
    /// script call. The console redraws on every poll, so an element found
    /// in one WebDriver call may be gone by the next ("stale element
    /// reference"); reading by selector in one step cannot go stale.
    fn texts(&self, css: &str) -> Vec<String> {
        self.script_strings("return [...document.querySelectorAll(arguments[0])].map(e => e.innerText)", &[css])
    }

    /// An attribute of the first element matching `css`.
    fn attr(&self, css: &str, name: &str) -> Option<String> {
        let script = "const e = document.querySelector(arguments[0]); \
                      return e && e.hasAttribute(arguments[1]) ? [e.getAttribute(arguments[1])] : []";
        self.script_strings(script, &[css, name]).into_iter().next()
    }

    fn script_strings(&self, script: &str, args: &[&str]) -> Vec<String> {
        let v = self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": args})));
        v.as_array().map(|a| a.iter().filter_map(|t| t.as_str().map(String::from)).collect()).unwrap_or_default()
    }

    fn body_text(&self) -> String {
        self.texts("body").into_iter().next().unwrap_or_default()
    }

    /// Waits (bounded) until the text of `css` satisfies `ok`; returns it.
    fn wait_text(&self, css: &str, ok: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        for _ in 0..200 {
            if let Some(text) = self.texts(css).into_iter().next() {
                last = text;
                if ok(&last) {
                    return last;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("`{css}` never showed what was expected; last: {last:?}; page: {}", self.body_text())
    }

    /// Sends an element command to the element matching `css`, finding it
    /// again when a redraw replaced it in between.
    fn on_element(&self, css: &str, command: &str, body: Value) {
        let mut last = String::new();
        for _ in 0..50 {
            let element = self.find(css);
            let url = format!("{}/session/{}/element/{element}/{command}", self.base, self.session);
            let a = call("POST", &url, None, Some(&body.to_string()), &[("content-type", "application/json")]);
            if a.status == 200 {
                return;
            }
            last = a.body;
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{command} on `{css}` kept failing: {last}")
    }

    fn click(&self, css: &str) {
        self.on_element(css, "click", json!({}));
    }

    fn type_into(&self, css: &str, text: &str) {
        self.on_element(css, "value", json!({"text": text}));
    }

    /// Presses keys on the page (what a reviewer's keyboard does): each
    /// chord is held together, chords one after another.
    fn press(&self, chords: &[&[&str]]) {
        let mut actions = Vec::new();
        for chord in chords {
            actions.extend(chord.iter().map(|k| json!({"type": "keyDown", "value": k})));
            actions.extend(chord.iter().rev().map(|k| json!({"type": "keyUp", "value": k})));
        }
        self.cmd("POST", "/actions", Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})));
    }

    fn screenshot(&self, path: &Path) {
        let b64 = self.cmd("GET", "/screenshot", None);
        let png =
            base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap_or_default()).expect("base64 PNG");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = call("DELETE", &format!("{}/session/{}", self.base, self.session), None, None, &[]);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn screenshots() -> PathBuf {
    let dir = std::env::var_os("REMPART_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("console"));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

fn submit(server: &Server, key: &str, listing: Value) -> Value {
    let a = post(&server.url("/v1/listings"), key, &listing.to_string());
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()
}

#[test]
fn a_reviewer_logs_in_claims_sees_the_evidence_decides_and_sees_the_audit_entry() {
    let shots = screenshots();
    let db = Db::new();
    let server = Server::start(&db, &[]);
    let submitter = db.key("submitter");
    let reviewer = db.key("reviewer");
    let regulator = db.key("regulator");

    // A queue with several sources: own detection and an authority order.
    let replica = submit(
        &server,
        &submitter,
        json!({"id": "W-17", "title": "Replica watch 1:1 AAA quality, steel 40 mm",
        "description": "Steel case, automatic movement. Gift box included.", "seller": {"id": "S-204"}}),
    );
    assert_eq!(replica["decision"]["verdict"], "review", "{replica}");
    let doll = submit(&server, &submitter, json!({"id": "D-3", "title": "Sex doll silicone", "seller": {"id": "S-9"}}));
    assert_eq!(doll["decision"]["verdict"], "review", "{doll}");
    submit(&server, &submitter, json!({"id": "K-5", "title": "Brass knuckles keychain", "seller": {"id": "S-31"}}));
    let order = json!({"listing_id": "K-5", "category": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        "explanation": "Category A weapon offered to buyers in France",
        "order": {"authority": "Préfecture de police", "reference": "2026-17", "legal_basis": "CSI art. R311-2",
                  "territorial_scope": ["FR"]}});
    let o = post(&server.url("/v1/notices"), &regulator, &order.to_string());
    assert_eq!(o.status, 202, "{}", o.body);

    let queue = get(&server.url("/v1/reviews?status=pending"), Some(&reviewer)).json();
    let items = queue["items"].as_array().expect("items").clone();
    let item_of = |listing: &str| {
        items
            .iter()
            .find(|i| i["listing_id"] == listing)
            .and_then(|i| i["review_id"].as_str())
            .expect("item")
            .to_string()
    };
    let review_id = item_of("W-17");
    let view = get(&server.url(&format!("/v1/reviews/{review_id}")), Some(&reviewer)).json();
    let evidence: Vec<String> = view["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .filter(|e| e["field"] == "title")
        .filter_map(|e| e["text"].as_str().map(String::from))
        .collect();
    assert!(!evidence.is_empty(), "the gate found evidence in the title: {view}");
    let legal_basis = view["rules"][0]["legal_basis"].as_str().expect("legal basis").to_string();

    let b = Browser::start();
    // Log in: a wrong key is refused with a message, the reviewer's is taken.
    b.goto(&server.url("/console"));
    b.type_into("#key", "rk_not_a_key");
    b.click("#login");
    b.wait_text(".login .error", |t| !t.is_empty());
    b.on_element("#key", "clear", json!({}));
    b.type_into("#key", &reviewer);
    b.click("#login");

    // The queue: every pending item, the order first with its deadline,
    // counts beside the filters.
    b.find("table#queue");
    let rows = b.texts("table#queue tbody tr");
    assert_eq!(rows.len(), items.len(), "one row per pending item");
    let first = &rows[0];
    assert!(first.contains("order") && first.contains("left"), "the order comes first with its time left: {first}");
    let pending = b.wait_text(".summary .stat", |t| t.contains("pending"));
    assert!(pending.starts_with(&items.len().to_string()), "{pending}");
    let policies = b.wait_text(".filters", |t| !t.is_empty());
    assert!(policies.contains("counterfeit"), "policy filters with counts: {policies}");
    b.screenshot(&shots.join("queue.png"));

    // Open the replica watch: the evidence is highlighted in the title as
    // the seller wrote it, with the rule and its legal basis.
    b.click(&format!("tr[data-review='{review_id}']"));
    let title = b.wait_text("#item-title", |t| t.starts_with("Replica"));
    assert_eq!(title, "Replica watch 1:1 AAA quality, steel 40 mm");
    let marks = b.texts("#field-title mark");
    assert_eq!(marks, evidence, "the highlighted words are the evidence the gate recorded, in order");
    let rules = b.wait_text("#rules", |t| !t.is_empty());
    assert!(rules.contains(&legal_basis), "the rule's legal basis is shown: {rules}");
    assert!(b.find_now("#decide-block").is_none(), "no outcome before a claim");
    b.screenshot(&shots.join("item.png"));

    // Claim with `c`, block with `b`, first reason with `1`, a note,
    // confirm with Ctrl+Enter.
    b.press(&[&["c"]]);
    b.find("#lease-left");
    let lease = get(&server.url(&format!("/v1/reviews/{review_id}")), Some(&reviewer)).json();
    let me = get(&server.url("/v1/me"), Some(&reviewer)).json();
    let key_id = me["key_id"].as_str().expect("key id").to_string();
    assert_eq!(lease["item"]["claimed_by"], key_id.as_str(), "the claim is the reviewer's, server-side");
    b.press(&[&["b"]]);
    b.find("#decide");
    b.press(&[&["1"]]);
    b.find(".reason.on");
    let reason = b.attr(".reason.on", "data-code").expect("reason code");
    b.type_into("#note", "Brand replica named in the title");
    b.screenshot(&shots.join("decide.png"));
    b.click("#note");
    b.press(&[&[KEY_CONTROL, KEY_ENTER]]);

    // The new decision and its audit entry, on the page and in the API.
    let shown = b.wait_text("#new-decision", |t| !t.is_empty());
    let decision = get(&server.url(&format!("/v1/decisions/{shown}")), Some(&submitter)).json();
    assert_eq!(decision["decision"]["verdict"], "block", "{decision}");
    assert_eq!(decision["origin"], "review");
    assert_eq!(decision["decided_by"], key_id.as_str());
    assert_eq!(decision["supersedes"], replica["decision_id"]);
    assert_eq!(decision["reason"]["code"], reason.as_str());
    assert_eq!(decision["reason"]["note"], "Brand replica named in the title");
    b.find("#audit li[data-action='decided']");
    let index = b.attr("#audit li[data-action='decided']", "data-index").expect("index");
    let after = get(&server.url(&format!("/v1/reviews/{review_id}")), Some(&reviewer)).json();
    let entry = after["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .find(|e| e["data"]["action"] == "decided")
        .cloned()
        .expect("decided entry");
    assert_eq!(entry["index"].to_string(), index, "the page shows the item's audit entry");
    assert_eq!(entry["data"]["decision_id"], shown.as_str());
    let history = b.wait_text("#history", |t| !t.is_empty());
    assert!(history.contains("review") && history.contains("in force"), "{history}");
    // The next signed head (every 0.2 s here) covers it: then it has a proof.
    let mut proof = get(&server.url(&format!("/v1/decisions/{shown}/proof")), Some(&submitter));
    for _ in 0..100 {
        if proof.status != 409 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        proof = get(&server.url(&format!("/v1/decisions/{shown}/proof")), Some(&submitter));
    }
    assert_eq!(proof.status, 200, "the decision is in the signed log: {}", proof.body);
    b.screenshot(&shots.join("decided.png"));
    b.cmd(
        "POST",
        "/execute/sync",
        Some(json!({"script": "document.getElementById('audit').scrollIntoView({block: 'end'})", "args": []})),
    );
    b.screenshot(&shots.join("audit.png"));
    eprintln!("console screenshots in {}", shots.display());
}
