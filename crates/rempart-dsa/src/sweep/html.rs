//! The sweep's HTML report: one self-contained page (inline CSS and SVG,
//! no script, nothing fetched) with the counts, the charts and the first
//! flagged listings, and further pages of flagged listings. Every piece of
//! seller text is escaped; evidence is marked in the seller's own words.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use rempart_core::decision::context_window;
use rempart_core::{Action, Evidence};

use super::svg::{horizontal_bars, thousands, Bar, Series};
use super::tally::Tally;
use super::{condition_name, Flagged, Summary, SweepError};

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { --block:#c0392b; --review:#d35400; --restrict:#2471a3; --allow:#7b8a8b; --ink:#1c2833; --muted:#5d6d7e; --line:#d5dbdb; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); margin: 0; background: #f4f6f7; }
header { background: #1b2631; color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 6px; font-size: 24px; }
header p { margin: 2px 0; color: #d6dbdf; font-size: 13px; }
main { max-width: 1100px; margin: 0 auto; padding: 20px 32px 40px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 16px 20px; margin: 18px 0; }
h2 { font-size: 18px; margin: 0 0 12px; }
.kpis { display: grid; grid-template-columns: repeat(6, 1fr); gap: 12px; }
.kpi { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px; }
.kpi b { display: block; font-size: 24px; }
.kpi span { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.kpi.block b { color: var(--block); } .kpi.review b { color: var(--review); } .kpi.restrict b { color: var(--restrict); }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f2f4f4; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.chart { max-width: 100%; height: auto; font-size: 12px; }
.chart .label { fill: var(--ink); } .chart .value, .chart .tick, .chart .legend { fill: var(--muted); }
.chart .grid { stroke: #e5e8e8; }
.badge { display: inline-block; border-radius: 3px; padding: 1px 7px; color: #fff; font-size: 12px; font-weight: 600; text-transform: uppercase; }
.badge.block { background: var(--block); } .badge.review { background: var(--review); } .badge.restrict { background: var(--restrict); } .badge.allow { background: var(--allow); }
.listing { border-top: 1px solid var(--line); padding: 12px 0; }
.listing h3 { font-size: 15px; margin: 0 0 4px; }
.listing .meta { color: var(--muted); font-size: 12px; margin-bottom: 6px; }
.match { margin: 6px 0 0 14px; font-size: 13px; }
.match .basis { color: var(--muted); }
.evidence { margin: 4px 0 0 14px; font-size: 13px; }
.evidence .field { color: var(--muted); font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; }
.evidence .text { white-space: pre-wrap; word-break: break-word; }
mark { background: #f9e79f; border-bottom: 2px solid #b7950b; padding: 0 1px; }
.detail { color: var(--muted); font-size: 12px; margin-left: 14px; }
.missing { color: var(--restrict); }
nav.pages { margin: 12px 0; font-size: 13px; }
nav.pages a, nav.pages span { margin-right: 8px; }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 12px; }
code { font-size: 12px; }
"#;

fn page_head(out: &mut String, title: &str, summary: &Summary) {
    let run = &summary.run;
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    out.push_str(&format!("<title>{}</title><style>{STYLE}</style></head><body>", escape(title)));
    out.push_str(&format!(
        "<header><h1>{}</h1><p>Catalogue <code>{}</code> ({} bytes) · swept from {}</p>\
         <p>Policy pack <b>{}</b> <code>{}</code> · engine {}</p></header><main>",
        escape(title),
        escape(&run.input.path),
        thousands(run.input.bytes),
        escape(&run.started_at),
        escape(&run.pack_name),
        escape(&run.pack_version),
        escape(&run.engine_version)
    ));
}

fn page_foot(out: &mut String, summary: &Summary) {
    out.push_str(&format!(
        "</main><footer>Reproduce: <code>{}</code> · rempart · every count is in the CSV files beside this page</footer></body></html>\n",
        escape(&summary.run.command)
    ));
}

const VERDICT_SERIES: [Series<'static>; 3] = [
    Series { name: "block", colour: "#c0392b" },
    Series { name: "review", colour: "#d35400" },
    Series { name: "restrict", colour: "#2471a3" },
];

fn kpis(out: &mut String, t: &Tally) {
    let pct = |n: u64| format!("{:.2} %", 100.0 * n as f64 / t.listings.max(1) as f64);
    out.push_str("<div class=\"kpis\">");
    for (class, label, value, sub) in [
        ("", "listings screened", t.listings, String::new()),
        ("", "flagged", t.flagged(), pct(t.flagged())),
        ("block", "block", t.verdict(Action::Block), pct(t.verdict(Action::Block))),
        ("review", "review", t.verdict(Action::Review), pct(t.verdict(Action::Review))),
        ("restrict", "restrict", t.verdict(Action::Restrict), pct(t.verdict(Action::Restrict))),
        ("", "unreadable rows", t.invalid, "see invalid.csv".to_string()),
    ] {
        out.push_str(&format!(
            "<div class=\"kpi {class}\"><span>{label}</span><b>{}</b><span>{}</span></div>",
            thousands(value),
            escape(&sub)
        ));
    }
    out.push_str("</div>");
}

fn counts_cells(c: &super::VerdictCounts) -> String {
    format!(
        "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
        thousands(c.listings),
        thousands(c.flagged()),
        thousands(c.block),
        thousands(c.review),
        thousands(c.restrict)
    )
}

fn summary_sections(out: &mut String, t: &Tally) {
    kpis(out, t);

    // Policies.
    let mut policies: Vec<(&String, &super::PolicyCounts)> = t.by_policy.iter().collect();
    policies.sort_by_key(|(_, c)| std::cmp::Reverse((c.block, c.review, c.restrict)));
    let bars: Vec<Bar> = policies
        .iter()
        .map(|(p, c)| Bar { label: (*p).clone(), values: vec![c.block, c.review, c.restrict] })
        .collect();
    out.push_str("<section><h2>Matches per policy</h2>");
    out.push_str(&horizontal_bars("Matches per policy, by action", &VERDICT_SERIES, &bars));
    out.push_str("<table><tr><th>policy</th><th>rules that matched</th><th class=\"n\">listings</th><th class=\"n\">block</th><th class=\"n\">review</th><th class=\"n\">restrict</th></tr>");
    for (p, c) in &policies {
        let rules: Vec<String> = c.rules.iter().map(|(r, n)| format!("{} ({})", escape(r), thousands(*n))).collect();
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(p),
            rules.join(", "),
            thousands(c.listings),
            thousands(c.block),
            thousands(c.review),
            thousands(c.restrict)
        ));
    }
    out.push_str("</table></section>");

    // Sellers and territories.
    let top = t.top_sellers(20);
    let bars: Vec<Bar> =
        top.iter().map(|(s, c)| Bar { label: (*s).to_string(), values: vec![c.block, c.review, c.restrict] }).collect();
    out.push_str("<section><h2>Sellers with the most blocked listings</h2>");
    out.push_str(&horizontal_bars("Top sellers by blocked listings", &VERDICT_SERIES, &bars));
    out.push_str(
        "<table><tr><th>seller</th><th class=\"n\">listings</th><th class=\"n\">flagged</th><th class=\"n\">block</th><th class=\"n\">review</th><th class=\"n\">restrict</th><th class=\"n\">flagged share</th></tr>",
    );
    for (s, c) in &top {
        out.push_str(&format!(
            "<tr><td>{}</td>{}<td class=\"n\">{:.1} %</td></tr>",
            escape(s),
            counts_cells(c),
            100.0 * c.flagged() as f64 / c.listings.max(1) as f64
        ));
    }
    out.push_str(&format!(
        "</table><p>{} sellers in the catalogue, {} with at least one flagged listing (all in <code>sellers.csv</code>).</p></section>",
        thousands(t.sellers.len() as u64),
        thousands(t.sellers.values().filter(|c| c.flagged() > 0).count() as u64)
    ));

    let territories = t.territories();
    let bars: Vec<Bar> = territories
        .iter()
        .filter(|(_, c)| c.flagged() > 0)
        .take(20)
        .map(|(s, c)| Bar { label: (*s).to_string(), values: vec![c.block, c.review, c.restrict] })
        .collect();
    out.push_str("<section><h2>Flagged listings by destination</h2>");
    out.push_str(&horizontal_bars("Flagged listings by destination country", &VERDICT_SERIES, &bars));
    out.push_str("<table><tr><th>destination (ship_to)</th><th class=\"n\">listings</th><th class=\"n\">flagged</th><th class=\"n\">block</th><th class=\"n\">review</th><th class=\"n\">restrict</th></tr>");
    for (s, c) in territories.iter().take(40) {
        out.push_str(&format!("<tr><td>{}</td>{}</tr>", escape(s), counts_cells(c)));
    }
    out.push_str("</table><p>A listing shipping to several countries counts once in each. All rows in <code>by_territory.csv</code>.</p></section>");
    if t.signal_errors > 0 {
        out.push_str(&format!(
            "<section><h2>Signals not available</h2><p>{} listings were decided without one of their external signals (an image that could not be fetched or decoded, see <code>signal_errors</code> in <code>flagged.jsonl</code>).</p></section>",
            thousands(t.signal_errors)
        ));
    }
}

/// The listing's evidence in one field, marked in its text: windows of
/// context around each span, joined by ellipses.
fn marked(text: &str, spans: &[(usize, usize)]) -> String {
    let mut spans: Vec<(usize, usize)> = spans
        .iter()
        .filter(|(s, e)| s < e && *e <= text.len() && text.is_char_boundary(*s) && text.is_char_boundary(*e))
        .copied()
        .collect();
    spans.sort_unstable();
    // Merge overlapping spans.
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    const CONTEXT: usize = 80;
    let mut out = String::new();
    let mut at = 0usize;
    for (i, &(s, e)) in merged.iter().enumerate() {
        let (from, _) = context_window(text, s, e, CONTEXT);
        let from = from.max(at);
        if from > at || (i == 0 && from > 0) {
            out.push('…');
        }
        out.push_str(&escape(&text[from..s]));
        out.push_str(&format!("<mark>{}</mark>", escape(&text[s..e])));
        let next_start = merged.get(i + 1).map_or(text.len(), |n| n.0);
        let (_, to) = context_window(text, s, e, CONTEXT);
        let to = to.min(next_start);
        out.push_str(&escape(&text[e..to]));
        at = to;
    }
    if at < text.len() && !merged.is_empty() {
        out.push('…');
    }
    out
}

fn listing_html(out: &mut String, f: &Flagged) {
    let verdict = f.verdict.as_str();
    out.push_str(&format!(
        "<div class=\"listing\" id=\"l{}\"><h3><span class=\"badge {verdict}\">{verdict}</span> {}</h3>\
         <div class=\"meta\">id <code>{}</code> · line {} · seller {}</div>",
        f.line,
        escape(&f.title),
        escape(&f.id),
        f.line,
        escape(f.seller.as_deref().unwrap_or("(unknown)"))
    ));
    for m in &f.matches {
        let condition = m.condition.map(|c| format!(" ({})", condition_name(c))).unwrap_or_default();
        out.push_str(&format!(
            "<div class=\"match\"><span class=\"badge {}\">{}</span>{} <b>{}</b> / {} <span class=\"basis\">— {} · scope {}</span>",
            m.action.as_str(),
            m.action.as_str(),
            escape(&condition),
            escape(&m.policy),
            escape(&m.rule),
            escape(&m.legal_basis),
            escape(&m.scope.join(", "))
        ));
        if let Some(why) = &m.explain {
            out.push_str(&format!("<div class=\"detail\">{}</div>", escape(why)));
        }
        if !m.missing.is_empty() {
            out.push_str(&format!("<div class=\"detail missing\">missing: {}</div>", escape(&m.missing.join(", "))));
        }
        // Evidence grouped by field, marked in the field's text.
        let mut fields: Vec<&str> = Vec::new();
        for e in &m.evidence {
            if !fields.contains(&e.field.as_str()) {
                fields.push(&e.field);
            }
        }
        for field in fields {
            let items: Vec<&Evidence> = m.evidence.iter().filter(|e| e.field == field).collect();
            let signals: Vec<&str> = {
                let mut v: Vec<&str> = items.iter().map(|e| e.signal.as_str()).collect();
                v.dedup();
                v
            };
            let text = f.fields.iter().find(|(name, _)| name == field).map(|(_, t)| t.as_str());
            let shown = match text {
                Some(text) => {
                    let spans: Vec<(usize, usize)> = items.iter().map(|e| (e.start, e.end)).collect();
                    let m = marked(text, &spans);
                    if m.is_empty() {
                        items.iter().map(|e| format!("<mark>{}</mark>", escape(&e.text))).collect::<Vec<_>>().join(" ")
                    } else {
                        m
                    }
                }
                None => items.iter().map(|e| format!("<mark>{}</mark>", escape(&e.text))).collect::<Vec<_>>().join(" "),
            };
            out.push_str(&format!(
                "<div class=\"evidence\"><span class=\"field\">{} [{}]</span> <span class=\"text\">{}</span></div>",
                escape(field),
                escape(&signals.join(", ")),
                shown
            ));
            let mut details: Vec<&str> = items.iter().filter_map(|e| e.detail.as_deref()).collect();
            details.dedup();
            for d in details {
                out.push_str(&format!("<div class=\"detail\">{}</div>", escape(d)));
            }
        }
        out.push_str("</div>");
    }
    out.push_str("</div>");
}

fn page_name(page: usize) -> String {
    if page == 1 {
        "index.html".into()
    } else {
        format!("flagged-{page}.html")
    }
}

fn nav(out: &mut String, page: usize, pages: usize) {
    if pages <= 1 {
        return;
    }
    out.push_str("<nav class=\"pages\">Pages of flagged listings: ");
    for p in 1..=pages {
        if p == page {
            out.push_str(&format!("<span><b>{p}</b></span>"));
        } else if p <= 3 || p + 2 >= pages || p.abs_diff(page) <= 2 {
            out.push_str(&format!("<a href=\"{}\">{p}</a>", page_name(p)));
        } else if p == 4 || p + 3 == pages {
            out.push_str("<span>…</span>");
        }
    }
    out.push_str("</nav>");
}

/// Writes `index.html` (summary, charts, first page of flagged listings)
/// and `flagged-N.html` for the rest, reading the flagged listings back
/// from `flagged_jsonl` (strictest verdict first, then input order) a
/// page at a time.
pub fn write_report(dir: &Path, summary: &Summary, flagged_jsonl: &Path, per_page: usize) -> Result<(), SweepError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source: std::io::Error| SweepError::Io { path: path.clone(), source }
    };
    // Stale pages of an earlier run of this folder.
    for entry in std::fs::read_dir(dir).map_err(io(dir))?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("flagged-") && name.ends_with(".html") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let flagged = summary.tally.flagged() as usize;
    let pages = flagged.div_ceil(per_page).max(1);
    let title = "Catalogue sweep report";
    let mut page = 1usize;
    let mut on_page = 0usize;
    let mut out = String::new();
    page_head(&mut out, title, summary);
    summary_sections(&mut out, &summary.tally);
    out.push_str(&format!(
        "<section><h2>Flagged listings ({})</h2><p>Strictest verdict first; the words, attributes or images that triggered \
         each rule are <mark>marked</mark> in the seller's own text. One row per listing in <code>flagged.csv</code>.</p>",
        thousands(flagged as u64)
    ));
    nav(&mut out, 1, pages);
    // One pass over the file per verdict keeps memory flat whatever the
    // number of flagged listings.
    for verdict in [Action::Block, Action::Review, Action::Restrict] {
        let file = File::open(flagged_jsonl).map_err(io(flagged_jsonl))?;
        for line in BufReader::new(file).lines() {
            let line = line.map_err(io(flagged_jsonl))?;
            let Ok(item) = serde_json::from_str::<Flagged>(&line) else { continue };
            if item.verdict != verdict {
                continue;
            }
            if on_page == per_page {
                nav(&mut out, page, pages);
                out.push_str("</section>");
                page_foot(&mut out, summary);
                write_page(dir, page, &out)?;
                page += 1;
                on_page = 0;
                out.clear();
                page_head(&mut out, &format!("{title}: flagged listings, page {page}"), summary);
                out.push_str(&format!("<section><h2>Flagged listings, page {page} of {pages}</h2>"));
                nav(&mut out, page, pages);
            }
            listing_html(&mut out, &item);
            on_page += 1;
        }
    }
    if flagged == 0 {
        out.push_str("<p>No listing was flagged.</p>");
    }
    nav(&mut out, page, pages);
    out.push_str("</section>");
    page_foot(&mut out, summary);
    write_page(dir, page, &out)
}

fn write_page(dir: &Path, page: usize, html: &str) -> Result<(), SweepError> {
    let path = dir.join(page_name(page));
    let file = File::create(&path).map_err(|source| SweepError::Io { path: path.display().to_string(), source })?;
    let mut w = BufWriter::new(file);
    w.write_all(html.as_bytes())
        .and_then(|_| w.flush())
        .map_err(|source| SweepError::Io { path: path.display().to_string(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_attributes() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn evidence_is_marked_in_context_and_escaped() {
        let text = "Poupée <b>sexuelle</b> 100cm réaliste";
        let s = text.find("sexuelle").expect("word");
        let out = marked(
            text,
            &[(s, s + "sexuelle".len()), (text.find("100cm").expect("h"), text.find("100cm").expect("h") + 5)],
        );
        assert_eq!(out, "Poupée &lt;b&gt;<mark>sexuelle</mark>&lt;/b&gt; <mark>100cm</mark> réaliste");
        let long = format!("{}needle{}", "a".repeat(300), "b".repeat(300));
        let out = marked(&long, &[(300, 306)]);
        assert!(out.starts_with('…') && out.ends_with('…') && out.contains("<mark>needle</mark>"));
        assert!(out.len() < 200);
        // Spans outside the text or off character boundaries are ignored, not a panic.
        assert_eq!(marked("é", &[(1, 2), (0, 9)]), "");
    }
}
