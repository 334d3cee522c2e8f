//! An evidence bundle as a readable, printable HTML file for a court file:
//! the result of the offline check first, then a timeline of everything
//! logged about the listing, each version as received, each decision with
//! its rule, legal basis and the words that triggered it marked in the
//! seller's text, the review, notice and appeal history, and in
//! appendices the policy text that decided and the inclusion proofs.
//!
//! One self-contained file (no script, no font, no image, nothing
//! fetched), with a print style sheet (A4, page breaks before appendices,
//! rows never split). Everything from the bundle is escaped: a seller's
//! text can neither inject markup nor hide part of the record.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::evidence::{describe, listing_digest, Bundle, Verdict};
use crate::sweep::html::escape;

const STYLE: &str = "body{font-family:Georgia,'Times New Roman',serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111;line-height:1.4}\
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:1px solid #444;margin-top:2rem}h3{font-size:1rem;margin-bottom:.3rem}\
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.85rem}td,th{border:1px solid #999;padding:.2rem .4rem;text-align:left;vertical-align:top}\
th{background:#eee}td{overflow-wrap:anywhere}code,pre{font-family:'DejaVu Sans Mono',monospace;font-size:.78rem}\
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f6f6;border:1px solid #ddd;padding:.4rem}\
mark{background:#ffe066;border-bottom:2px solid #c90;padding:0 1px}\
.ok,.bad{border:2px solid;padding:.6rem 1rem;margin:1rem 0}.ok{border-color:#1b7f3b;background:#eaf7ee}.bad{border-color:#b00020;background:#fdecee}\
.ok strong{color:#1b7f3b}.bad strong{color:#b00020}.muted{color:#555}.k{white-space:nowrap}\
@page{size:A4;margin:16mm 14mm}\
@media print{body{max-width:none;margin:0;font-size:10pt}h2{break-after:avoid}tr,pre,.ok,.bad{break-inside:avoid}.appendix{break-before:page}a{color:inherit;text-decoration:none}}";

/// A time in ms since the epoch as RFC 3339 (UTC).
fn utc(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `text` with the byte range `[start, end)` marked, when it is one.
fn marked(text: &str, start: usize, end: usize) -> String {
    if start < end && end <= text.len() && text.is_char_boundary(start) && text.is_char_boundary(end) {
        format!("{}<mark>{}</mark>{}", escape(&text[..start]), escape(&text[start..end]), escape(&text[end..]))
    } else {
        escape(text)
    }
}

/// The field's text in the listing (`title`, `description`, `category`,
/// `attributes.<name>`), if the listing carries it as a string or number.
fn field_text(listing: &Value, field: &str) -> Option<String> {
    let v = match field.split_once('.') {
        Some(("attributes", name)) => &listing["attributes"][name],
        _ => &listing[field],
    };
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Renders the bundle and the verdict of its check.
pub fn render(bundle: &Bundle, verdict: &Verdict, trusting: &str) -> String {
    let mut h = String::new();
    h.push_str(&format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Evidence file — listing {}</title><style>{STYLE}</style></head><body>",
        escape(&bundle.listing_id)
    ));
    h.push_str(&format!(
        "<h1>Evidence file — listing <code>{}</code></h1><p class=\"muted\">Exported from the platform's record on {} \
         (bundle format <code>{}</code>). Every part below is checked against the platform's signed audit log; \
         the check can be repeated on any computer with <code>rempart evidence verify</code>.</p>",
        escape(&bundle.listing_id),
        escape(&bundle.exported_at),
        escape(&bundle.format)
    ));

    // The verdict.
    if verdict.ok() {
        h.push_str(&format!(
            "<div class=\"ok\"><strong>VERIFIED.</strong> {} version(s) of the listing, {} decision(s) and {} history entries \
             are in the platform's audit log of {} entries, whose head is signed by key <code>{}</code>. Trust basis: {}.</div>",
            verdict.versions_verified,
            verdict.entries_verified,
            verdict.history_verified,
            verdict.tree_size,
            escape(verdict.signed_by.as_deref().unwrap_or("-")),
            escape(trusting)
        ));
    } else {
        h.push_str(&format!(
            "<div class=\"bad\"><strong>THE EVIDENCE DOES NOT VERIFY.</strong> Trust basis: {}. What was altered:<ul>",
            escape(trusting)
        ));
        for f in &verdict.findings {
            h.push_str(&format!("<li>{}</li>", escape(f)));
        }
        h.push_str("</ul></div>");
    }
    if !verdict.notes.is_empty() {
        h.push_str("<p>Notes:</p><ul>");
        for n in &verdict.notes {
            h.push_str(&format!("<li class=\"muted\">{}</li>", escape(n)));
        }
        h.push_str("</ul>");
    }
    let head = &bundle.head;
    h.push_str(&format!(
        "<table><tr><th>Signed tree head</th><td>{} entries, root <code>{}</code>, signed at {} (ms since 1970: {}) \
         by key <code>{}</code> ({})</td></tr></table>",
        head.tree_size,
        escape(&head.root_hash.to_string()),
        escape(&utc(head.timestamp_ms)),
        head.timestamp_ms,
        escape(&head.key_id),
        escape(&head.key_name)
    ));

    // Timeline of every entry, in log order.
    let mut all: Vec<(u64, Value, bool)> = bundle
        .entries
        .iter()
        .map(|e| (e.proof.leaf_index, parse(&e.entry), true))
        .chain(bundle.history.iter().map(|e| (e.proof.leaf_index, parse(&e.entry), false)))
        .collect();
    all.sort_by_key(|(i, _, _)| *i);
    h.push_str(
        "<h2>1. Timeline</h2><table><tr><th>Log entry</th><th>Recorded at</th><th>What</th><th>Details</th></tr>",
    );
    for (index, e, is_decision) in &all {
        let d = &e["data"];
        let details = if *is_decision {
            format!(
                "decision <code>{}</code> on version {}: <strong>{}</strong> by {} ({})",
                escape(&text_of(&d["decision_id"])),
                escape(&text_of(&d["listing_version"])),
                escape(&text_of(&d["decision"]["verdict"])),
                escape(&text_of(&d["decided_by"])),
                escape(&text_of(&d["origin"]))
            )
        } else {
            summary(d)
        };
        h.push_str(&format!(
            "<tr><td class=\"k\">{index}</td><td class=\"k\">{}</td><td>{}</td><td>{details}</td></tr>",
            escape(&text_of(&e["recorded_at"])),
            escape(&if *is_decision { "decision".to_string() } else { describe(e) })
        ));
    }
    h.push_str("</table>");

    // Versions.
    h.push_str("<h2>2. The listing as received</h2>");
    for v in &bundle.versions {
        let pretty = serde_json::from_str::<Value>(&v.listing)
            .ok()
            .and_then(|j| serde_json::to_string_pretty(&j).ok())
            .unwrap_or_else(|| v.listing.clone());
        h.push_str(&format!(
            "<h3>Version {} — received {}</h3><p class=\"muted\">Digest of the text as received (RFC 8785 canonical JSON): <code>{}</code></p><pre>{}</pre>",
            v.version,
            escape(&v.received_at),
            escape(&listing_digest(&v.listing)),
            escape(&pretty)
        ));
    }

    // Decisions.
    h.push_str("<h2>3. Decisions</h2>");
    let mut decided_policies: BTreeSet<String> = BTreeSet::new();
    for e in &bundle.entries {
        let entry = parse(&e.entry);
        let d = &entry["data"];
        if entry["kind"] != "decision" {
            continue;
        }
        let listing = bundle
            .versions
            .iter()
            .find(|v| Some(v.version) == d["listing_version"].as_u64())
            .map(|v| parse(&v.listing))
            .unwrap_or(Value::Null);
        let decision = &d["decision"];
        h.push_str(&format!(
            "<h3>Decision <code>{}</code> (log entry {})</h3><table>\
             <tr><th>Verdict</th><td><strong>{}</strong></td></tr>\
             <tr><th>Decided</th><td>{} by {} (origin: {}){}</td></tr>\
             <tr><th>On</th><td>version {} of the listing</td></tr>\
             <tr><th>Policy text</th><td>pack <code>{}</code> (Appendix A)</td></tr>",
            escape(&text_of(&d["decision_id"])),
            e.proof.leaf_index,
            escape(&text_of(&decision["verdict"])),
            escape(&text_of(&d["decided_at"])),
            escape(&text_of(&d["decided_by"])),
            escape(&text_of(&d["origin"])),
            match d["supersedes"].as_str() {
                Some(s) => format!("; replaces decision <code>{}</code>", escape(s)),
                None => String::new(),
            },
            escape(&text_of(&d["listing_version"])),
            escape(&text_of(&decision["policy_version"]))
        ));
        if !d["reason"].is_null() {
            h.push_str(&format!(
                "<tr><th>Reason given</th><td>{} — {}</td></tr>",
                escape(&text_of(&d["reason"]["code"])),
                escape(&text_of(&d["reason"]["text"]))
            ));
        }
        h.push_str("</table>");
        let matches = decision["matches"].as_array().cloned().unwrap_or_default();
        if matches.is_empty() {
            h.push_str("<p class=\"muted\">No rule matched.</p>");
        }
        for m in &matches {
            let policy = text_of(&m["policy"]);
            decided_policies.insert(policy.clone());
            h.push_str(&format!(
                "<table><tr><th>Rule</th><td><code>{}</code> / <code>{}</code> → {}</td></tr>\
                 <tr><th>Legal basis</th><td>{}</td></tr><tr><th>DSA</th><td>{} — {}</td></tr>",
                escape(&policy),
                escape(&text_of(&m["rule"])),
                escape(&text_of(&m["action"])),
                escape(&text_of(&m["legal_basis"])),
                escape(&text_of(&m["dsa_ground"])),
                escape(&text_of(&m["dsa_category"]))
            ));
            if let Some(explain) = m["explain"].as_str() {
                h.push_str(&format!("<tr><th>Explanation</th><td>{}</td></tr>", escape(explain)));
            }
            for ev in m["evidence"].as_array().into_iter().flatten() {
                let field = text_of(&ev["field"]);
                let (start, end) =
                    (ev["start"].as_u64().unwrap_or(0) as usize, ev["end"].as_u64().unwrap_or(0) as usize);
                let shown = match field_text(&listing, &field) {
                    Some(t) => marked(&t, start, end),
                    None => format!("<mark>{}</mark>", escape(&text_of(&ev["text"]))),
                };
                h.push_str(&format!(
                    "<tr><th>Evidence</th><td><span class=\"muted\">{} [{}–{}], {}{}</span><br>{shown}</td></tr>",
                    escape(&field),
                    start,
                    end,
                    escape(&text_of(&ev["signal"])),
                    match ev["detail"].as_str() {
                        Some(x) => format!(": {}", escape(x)),
                        None => String::new(),
                    }
                ));
            }
            h.push_str("</table>");
        }
    }

    // History.
    h.push_str("<h2>4. Reviews, notices, orders and appeals</h2>");
    if bundle.history.is_empty() {
        h.push_str("<p class=\"muted\">No review action, notice, order or appeal is logged about this listing.</p>");
    } else {
        h.push_str("<table><tr><th>Log entry</th><th>Recorded at</th><th>What</th><th>Recorded fields</th></tr>");
        for e in &bundle.history {
            let entry = parse(&e.entry);
            h.push_str(&format!(
                "<tr><td class=\"k\">{}</td><td class=\"k\">{}</td><td>{}</td><td>{}</td></tr>",
                e.proof.leaf_index,
                escape(&text_of(&entry["recorded_at"])),
                escape(&describe(&entry)),
                fields(&entry["data"])
            ));
        }
        h.push_str("</table><p class=\"muted\">Names, e-mail addresses and free text of notifiers and appellants are kept \
                    out of the log; it holds their SHA-256 digests, which the platform's copy can be checked against.</p>");
    }

    // Appendix A: the policy text.
    h.push_str("<h2 class=\"appendix\">Appendix A. Policy text that decided</h2>");
    for (version, files) in &bundle.packs {
        h.push_str(&format!(
            "<h3>Pack <code>{}</code></h3><p class=\"muted\">{} file(s); the hash above is computed over all of them. \
             Shown in full: the files of the policies named in the decisions.</p><ul>",
            escape(version),
            files.len()
        ));
        for (path, text) in files {
            h.push_str(&format!("<li><code>{}</code> ({} bytes)</li>", escape(path), text.len()));
        }
        h.push_str("</ul>");
        for (path, text) in files {
            let relevant = decided_policies.iter().any(|p| {
                let stem = path.rsplit('/').next().unwrap_or(path);
                stem.strip_suffix(".toml") == Some(p.as_str())
            });
            if relevant || path.ends_with("pack.toml") {
                h.push_str(&format!("<h3><code>{}</code></h3><pre>{}</pre>", escape(path), escape(text)));
            }
        }
    }

    // Appendix B: proofs.
    h.push_str(
        "<h2 class=\"appendix\">Appendix B. Inclusion proofs</h2><p class=\"muted\">Each entry's leaf hash is \
         SHA-256(0x00 ‖ entry); with the listed sibling hashes it recomputes the signed root (RFC 9162).</p>\
         <table><tr><th>Log entry</th><th>Tree size</th><th>Leaf hash</th><th>Sibling hashes</th></tr>",
    );
    let mut proofs: Vec<&crate::evidence::BundleEntry> = bundle.entries.iter().chain(&bundle.history).collect();
    proofs.sort_by_key(|e| e.proof.leaf_index);
    for e in proofs {
        h.push_str(&format!(
            "<tr><td class=\"k\">{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            e.proof.leaf_index,
            e.proof.tree_size,
            escape(&e.proof.leaf_hash.to_string()),
            e.proof.hashes.iter().map(|x| escape(&x.to_string())).collect::<Vec<_>>().join("<br>")
        ));
    }
    h.push_str("</table><p class=\"muted\">Public keys published by the platform (trust only a key obtained independently):</p><pre>");
    for k in &bundle.vkeys {
        h.push_str(&escape(k));
        h.push('\n');
    }
    h.push_str("</pre></body></html>\n");
    h
}

/// A history entry's data as a short sentence.
fn summary(d: &Value) -> String {
    let mut parts = Vec::new();
    for key in
        ["outcome", "kind", "category", "authority", "order_reference", "reviewer", "decided_by", "subject", "reason"]
    {
        if let Some(v) = d[key].as_str() {
            parts.push(format!("{key}: <strong>{}</strong>", escape(v)));
        }
    }
    parts.join("; ")
}

/// A history entry's data as `key: value` lines.
fn fields(d: &Value) -> String {
    let Some(map) = d.as_object() else { return escape(&text_of(d)) };
    map.iter()
        .filter(|(k, v)| *k != "action" && !v.is_null())
        .map(|(k, v)| format!("<span class=\"muted\">{}</span>: {}", escape(k), escape(&text_of(v))))
        .collect::<Vec<_>>()
        .join("<br>")
}
