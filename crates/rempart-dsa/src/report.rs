//! The quantitative part of a DSA transparency report (Art. 15 and 24(1),
//! templates of Implementing Regulation (EU) 2024/2835), computed from the
//! statements of reasons of a period — the same statements the
//! Transparency Database receives, so the report and the database agree —
//! and from review outcomes.
//!
//! Each table is a [`Table`] (CSV with a header line). What the record
//! cannot support is listed in [`Report::unavailable`] with the reason,
//! never reported as zero.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::statement::Statement;
use crate::sweep::html::escape;
use crate::sweep::svg::{horizontal_bars, thousands, Bar, Series};
use crate::template::{self, Templates};

/// One table of the report.
#[derive(Clone, Debug, Serialize)]
pub struct Table {
    /// File name without `.csv`.
    pub name: &'static str,
    /// Template section it belongs to.
    pub section: &'static str,
    pub title: &'static str,
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

pub use crate::template::Accuracy;

/// One file of the Annex I templates (see [`crate::template`]).
#[derive(Clone, Debug, Serialize)]
pub struct TemplateTable {
    /// File name without `.csv`, as the Commission names the part.
    pub name: &'static str,
    pub part: &'static str,
    pub title: &'static str,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// The report of one period.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub since: String,
    pub until: String,
    pub measures: u64,
    /// (source_type, decision_ground, category) → measures.
    by_category: BTreeMap<(String, String, String), u64>,
    by_keyword: BTreeMap<String, u64>,
    by_territory: BTreeMap<String, u64>,
    /// (source_type, automated_detection, automated_decision) → measures.
    by_detection: BTreeMap<(String, String, String), u64>,
    by_restriction: BTreeMap<String, u64>,
    /// source_type → times from receipt to decision, in ms.
    times: BTreeMap<String, Vec<i64>>,
    /// The Annex I templates' figures (orders, notices, own initiative,
    /// complaints, suspensions, automated means, accuracy).
    #[serde(skip)]
    pub templates: Templates,
    /// The service's name, as the templates' `Service` column shows it.
    pub service: String,
    /// (section, why it is not reported).
    pub unavailable: Vec<(String, String)>,
}

fn name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// The median of `values` (the mean of the two middle values for an even
/// count), or `None` when empty.
pub fn median(values: &mut [i64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 { values[n / 2] as f64 } else { (values[n / 2 - 1] as f64 + values[n / 2] as f64) / 2.0 })
}

impl Report {
    pub fn new(since: String, until: String) -> Report {
        Report { since, until, ..Default::default() }
    }

    /// Counts one measure: its statement, and the time from receipt of the
    /// listing to the decision.
    pub fn add(&mut self, s: &Statement, received_ms: i64, decided_ms: i64) {
        self.measures += 1;
        let source = name(&s.source_type);
        *self.by_category.entry((source.clone(), name(&s.decision_ground), s.category.clone())).or_default() += 1;
        for k in s.category_specification.iter().flatten() {
            *self.by_keyword.entry(k.clone()).or_default() += 1;
        }
        for t in &s.territorial_scope {
            *self.by_territory.entry(t.clone()).or_default() += 1;
        }
        *self
            .by_detection
            .entry((source.clone(), name(&s.automated_detection), name(&s.automated_decision)))
            .or_default() += 1;
        for v in s.decision_visibility.iter().flatten() {
            *self.by_restriction.entry(name(v)).or_default() += 1;
        }
        self.times.entry(source).or_default().push(decided_ms.saturating_sub(received_ms).max(0));
        self.templates.add_statement(s);
    }

    /// The reporting period as the templates write it (inclusive days).
    pub fn period_label(&self) -> String {
        template::period_label(&self.since, &self.until)
    }

    /// The Annex I template files, Parts 3 to 8.
    pub fn template_tables(&self) -> Vec<TemplateTable> {
        let (service, period) = (self.service.as_str(), self.period_label());
        let t = &self.templates;
        let strings = |h: &[&str]| h.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        vec![
            TemplateTable {
                name: "3_member_states_orders",
                part: "Annex I, Part 3 (DSA Art. 9, 10, 15(1)(a))",
                title: "Orders from member states' authorities",
                header: strings(&template::ORDERS_HEADER),
                rows: t.orders_rows(service, &period),
            },
            TemplateTable {
                name: "4_notices",
                part: "Annex I, Part 4 (DSA Art. 15(1)(b), 16, 22)",
                title: "Notices received, action taken and median time to act",
                header: strings(&template::NOTICES_HEADER),
                rows: t.notices_rows(service, &period),
            },
            TemplateTable {
                name: "5_own_initiative_illegal",
                part: "Annex I, Part 5 (DSA Art. 15(1)(c))",
                title: "Own-initiative measures against illegal content",
                header: template::own_initiative_header(crate::enums::DecisionGround::IllegalContent),
                rows: t.own_initiative_rows(true, service, &period),
            },
            TemplateTable {
                name: "6_own_initiative_TC",
                part: "Annex I, Part 6 (DSA Art. 15(1)(c))",
                title: "Own-initiative measures on terms-and-conditions grounds",
                header: template::own_initiative_header(crate::enums::DecisionGround::IncompatibleContent),
                rows: t.own_initiative_rows(false, service, &period),
            },
            TemplateTable {
                name: "7_appeals_and_recidivism",
                part: "Annex I, Part 7 (DSA Art. 15(1)(d), 20, 23, 24(1))",
                title: "Complaints and suspensions",
                header: strings(&template::INDICATOR_HEADER),
                rows: t.appeals_rows(service, &period),
            },
            TemplateTable {
                name: "8_automated_means",
                part: "Annex I, Part 8 (DSA Art. 15(1)(e))",
                title: "Use of automated means and indicators of accuracy",
                header: strings(&template::INDICATOR_HEADER),
                rows: t.automated_rows(service, &period),
            },
        ]
    }

    /// The report's tables, in the order of the template's sections.
    pub fn tables(&self) -> Vec<Table> {
        let count = |n: u64| n.to_string();
        let share =
            |n: u64| if self.measures == 0 { String::new() } else { format!("{:.4}", n as f64 / self.measures as f64) };
        let mut tables = vec![
            Table {
                name: "measures_by_category",
                section: "Own-initiative moderation and actions on notices",
                title: "Measures by source, ground and category",
                header: vec!["source_type", "decision_ground", "category", "measures"],
                rows: self
                    .by_category
                    .iter()
                    .map(|((a, b, c), n)| vec![a.clone(), b.clone(), c.clone(), count(*n)])
                    .collect(),
            },
            Table {
                name: "measures_by_keyword",
                section: "Own-initiative moderation and actions on notices",
                title: "Measures by keyword (category specification)",
                header: vec!["keyword", "measures"],
                rows: self.by_keyword.iter().map(|(k, n)| vec![k.clone(), count(*n)]).collect(),
            },
            Table {
                name: "measures_by_territory",
                section: "Own-initiative moderation and actions on notices",
                title: "Measures by member state of the territorial scope",
                header: vec!["territory", "measures"],
                rows: self.by_territory.iter().map(|(k, n)| vec![k.clone(), count(*n)]).collect(),
            },
            Table {
                name: "measures_by_restriction",
                section: "Own-initiative moderation and actions on notices",
                title: "Measures by type of restriction",
                header: vec!["decision_visibility", "measures"],
                rows: self.by_restriction.iter().map(|(k, n)| vec![k.clone(), count(*n)]).collect(),
            },
            Table {
                name: "use_of_automated_means",
                section: "Use of automated means",
                title: "Measures by source and by automation of detection and decision",
                header: vec!["source_type", "automated_detection", "automated_decision", "measures", "share"],
                rows: self
                    .by_detection
                    .iter()
                    .map(|((a, b, c), n)| vec![a.clone(), b.clone(), c.clone(), count(*n), share(*n)])
                    .collect(),
            },
            Table {
                name: "median_time_to_act",
                section: "Own-initiative moderation and actions on notices",
                title: "Median time from receipt of the listing to the decision",
                header: vec!["source_type", "measures", "median_hours"],
                rows: self
                    .times
                    .iter()
                    .map(|(k, v)| {
                        let mut v = v.clone();
                        let hours = median(&mut v).map_or(String::new(), |m| format!("{:.3}", m / 3_600_000.0));
                        vec![k.clone(), count(v.len() as u64), hours]
                    })
                    .collect(),
            },
        ];
        if !self.templates.accuracy.is_empty() {
            tables.push(Table {
                name: "automated_accuracy",
                section: "Use of automated means: indicators of accuracy",
                title: "Review outcomes of automated decisions, by policy",
                header: vec![
                    "policy",
                    "restrictions_reviewed",
                    "restrictions_confirmed",
                    "restrictions_overturned",
                    "overturn_rate",
                    "holds_decided",
                    "holds_restricted",
                    "hold_restriction_rate",
                ],
                rows: self.templates.accuracy_rows(),
            });
        }
        tables.push(Table {
            name: "unavailable",
            section: "Not reported",
            title: "Sections this record cannot support, and why",
            header: vec!["section", "reason"],
            rows: self.unavailable.iter().map(|(a, b)| vec![a.clone(), b.clone()]).collect(),
        });
        tables
    }

    /// Writes the Annex I template files (`3_member_states_orders.csv` …
    /// `8_automated_means.csv`, RFC 4180, UTF-8, the Commission's header
    /// line), rempart's supplementary tables as CSV, `report.json`, and
    /// `index.html` (tables and bar charts as inline SVG: one file, no
    /// script, no network).
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let templates = self.template_tables();
        for t in &templates {
            write_csv(&dir.join(format!("{}.csv", t.name)), &t.header, &t.rows)?;
        }
        let tables = self.tables();
        for t in &tables {
            write_csv(&dir.join(format!("{}.csv", t.name)), &t.header, &t.rows)?;
        }
        let json = serde_json::json!({"since": self.since, "until": self.until, "service": self.service,
            "reporting_period": self.period_label(), "measures": self.measures,
            "templates": templates, "tables": tables});
        std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(&json)?)?;
        std::fs::write(dir.join("index.html"), self.html(&templates, &tables))?;
        Ok(())
    }

    fn html(&self, templates: &[TemplateTable], tables: &[Table]) -> String {
        let mut h = String::from(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Transparency report</title><style>\
             body{font-family:sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#222}\
             h2{margin-top:2.5rem;border-bottom:2px solid #3b6ea5;padding-bottom:.2rem}\
             table{border-collapse:collapse;margin:1rem 0;font-size:.85rem}td{overflow-wrap:anywhere}\
             td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f3f5f8}\
             td.n{text-align:right;font-variant-numeric:tabular-nums}td.ctx{color:#555;font-size:.8rem}\
             .cards{display:flex;flex-wrap:wrap;gap:.75rem;margin:1rem 0}.card{border:1px solid #ccd;border-radius:6px;padding:.5rem 1rem;min-width:8rem}\
             .card b{display:block;font-size:1.6rem}.chart text{font-size:12px}.note{background:#fff6dd;padding:.5rem 1rem}\
             .empty{color:#666;font-style:italic}details{margin:.5rem 0}summary{cursor:pointer;color:#3b6ea5}\
             @media print{h2{break-after:avoid}table,svg{break-inside:avoid}details>*{display:block}}</style></head><body>",
        );
        h.push_str(&format!(
            "<h1>Transparency report (DSA Art. 15, 24)</h1><p>Service: <strong>{}</strong>. Reporting period: <strong>{}</strong> \
             (from {} to {}, end exclusive). Figures in the structure of the templates of Implementing Regulation (EU) 2024/2835, \
             Annex I; the CSV files beside this page are the machine-readable tables.</p>",
            escape(if self.service.is_empty() { "(not named)" } else { self.service.as_str() }),
            escape(&self.period_label()),
            escape(&self.since),
            escape(&self.until),
        ));
        let t = &self.templates;
        h.push_str("<div class=\"cards\">");
        for (label, n) in [
            ("restrictive measures", self.measures),
            ("orders received", t.orders() as u64),
            ("notices received", t.notices() as u64),
            ("complaints received", t.complaints() as u64),
            ("suspensions", t.suspensions()),
        ] {
            h.push_str(&format!("<div class=\"card\"><b>{}</b>{}</div>", thousands(n), escape(label)));
        }
        h.push_str("</div>");
        for tt in templates {
            h.push_str(&format!(
                "<h2>{}</h2><p><em>{}</em> — <code>{}.csv</code></p>",
                escape(tt.title),
                escape(tt.part),
                tt.name
            ));
            if tt.rows.is_empty() {
                h.push_str("<p class=\"empty\">Nothing recorded in the period.</p>");
                continue;
            }
            if let Some(chart) = template_chart(tt) {
                h.push_str(&chart);
            }
            if tt.header.len() == template::INDICATOR_HEADER.len() {
                // Parts 7 and 8: one indicator a row; the first three
                // columns are the same on every row.
                h.push_str("<table><tr><th>Section</th><th>Indicator</th><th>Scope</th><th>Value</th><th>Contextual information</th></tr>");
                for r in &tt.rows {
                    h.push_str(&format!(
                        "<tr><td>{}</td><td>{}</td><td>{}</td>{}<td class=\"ctx\">{}</td></tr>",
                        escape(&r[3]),
                        escape(&r[4]),
                        escape(&r[5]),
                        cell(&r[6]),
                        escape(&r[7])
                    ));
                }
                h.push_str("</table>");
            } else {
                // Parts 3–6 are wide (20–37 columns): one column per row of
                // the CSV, one line per figure, contextual information folded.
                let first_figure = 5;
                let context_from = first_figure + (tt.header.len() - first_figure) / 2;
                let context_from = if tt.name == "3_member_states_orders" { 13 } else { context_from };
                h.push_str("<table><tr><th>Figure</th>");
                for r in &tt.rows {
                    let label = if tt.name == "3_member_states_orders" {
                        format!("{} · {}", short(&r[3]), r[5])
                    } else {
                        short(&r[3])
                    };
                    h.push_str(&format!("<th>{}</th>", escape(&label)));
                }
                h.push_str("</tr>");
                for (c, name) in tt.header.iter().enumerate().take(context_from).skip(first_figure) {
                    if tt.name == "3_member_states_orders" && c == 5 {
                        continue;
                    }
                    h.push_str(&format!("<tr><td>{}</td>", escape(name.trim())));
                    for r in &tt.rows {
                        h.push_str(&cell(&r[c]));
                    }
                    h.push_str("</tr>");
                }
                h.push_str("</table><details><summary>Contextual information</summary><table>");
                for (c, name) in tt.header.iter().enumerate().skip(context_from) {
                    let texts: std::collections::BTreeSet<&str> =
                        tt.rows.iter().map(|r| r[c].as_str()).filter(|x| !x.is_empty()).collect();
                    for text in texts {
                        h.push_str(&format!(
                            "<tr><td>{}</td><td class=\"ctx\">{}</td></tr>",
                            escape(
                                name.trim()
                                    .trim_start_matches("Contextual information on ")
                                    .trim_start_matches("Contextual Information on ")
                            ),
                            escape(text)
                        ));
                    }
                }
                h.push_str("</table></details>");
            }
        }
        h.push_str("<h2>Supplementary tables</h2><p>rempart's own breakdowns of the same measures, and what this record cannot report.</p>");
        let series = [Series { name: "measures", colour: "#3b6ea5" }];
        for t in tables {
            h.push_str(&format!(
                "<h3>{}</h3><p><em>{}</em> — <code>{}.csv</code></p>",
                escape(t.title),
                escape(t.section),
                t.name
            ));
            if t.name == "unavailable" {
                h.push_str("<div class=\"note\">");
            }
            let chartable = ["measures_by_territory", "measures_by_restriction"];
            if chartable.contains(&t.name) && !t.rows.is_empty() {
                let bars: Vec<Bar> = t
                    .rows
                    .iter()
                    .map(|r| Bar { label: short(&r[0]), values: vec![r[1].parse::<u64>().unwrap_or(0)] })
                    .collect();
                h.push_str(&horizontal_bars(t.title, &series, &bars));
            }
            h.push_str("<table><tr>");
            for c in &t.header {
                h.push_str(&format!("<th>{}</th>", escape(c)));
            }
            h.push_str("</tr>");
            for row in &t.rows {
                h.push_str("<tr>");
                for c in row {
                    h.push_str(&cell(c));
                }
                h.push_str("</tr>");
            }
            h.push_str("</table>");
            if t.name == "unavailable" {
                h.push_str("</div>");
            }
        }
        h.push_str("</body></html>\n");
        h
    }
}

fn write_csv<S: AsRef<str>>(path: &Path, header: &[S], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(header.iter().map(|h| h.as_ref()))?;
    for row in rows {
        w.write_record(row)?;
    }
    w.flush()
}

/// A table cell, right-aligned when it is a number.
fn cell(text: &str) -> String {
    let numeric = !text.is_empty() && text.parse::<f64>().is_ok();
    format!("<td{}>{}</td>", if numeric { " class=\"n\"" } else { "" }, escape(text))
}

/// A category or keyword without its enumeration prefix, for labels.
fn short(label: &str) -> String {
    let l = label.strip_prefix("STATEMENT_CATEGORY_").or_else(|| label.strip_prefix("KEYWORD_")).unwrap_or(label);
    l.replace('_', " ").to_lowercase()
}

/// The chart of one template file, if it has one.
fn template_chart(t: &TemplateTable) -> Option<String> {
    let n = |s: &str| s.parse::<u64>().unwrap_or(0);
    // Category rows only: keyword rows repeat their category's measures.
    let categories: Vec<&Vec<String>> = t.rows.iter().filter(|r| !r[3].starts_with("KEYWORD_")).collect();
    match t.name {
        "3_member_states_orders" => {
            let series = [Series { name: "orders", colour: "#3b6ea5" }];
            let bars = t
                .rows
                .iter()
                .filter(|r| r[5] == "Total number")
                .map(|r| Bar { label: short(&r[3]), values: vec![n(&r[6])] })
                .collect::<Vec<_>>();
            Some(horizontal_bars("Orders to act by category", &series, &bars))
        }
        "4_notices" => {
            let series = [
                Series { name: "action: law", colour: "#3b6ea5" },
                Series { name: "action: terms", colour: "#7fa7d1" },
                Series { name: "no action / pending", colour: "#c9d3e0" },
            ];
            let bars = categories
                .iter()
                .map(|r| {
                    let (law, terms) = (n(&r[11]), n(&r[13]));
                    Bar { label: short(&r[3]), values: vec![law, terms, n(&r[5]).saturating_sub(law + terms)] }
                })
                .collect::<Vec<_>>();
            Some(horizontal_bars("Notices by category and action taken", &series, &bars))
        }
        "5_own_initiative_illegal" | "6_own_initiative_TC" => {
            let series = [
                Series { name: "automated detection", colour: "#3b6ea5" },
                Series { name: "other detection", colour: "#c9d3e0" },
            ];
            let bars = categories
                .iter()
                .map(|r| {
                    let (all, auto) = (n(&r[5]), n(&r[6]));
                    Bar { label: short(&r[3]), values: vec![auto, all.saturating_sub(auto)] }
                })
                .collect::<Vec<_>>();
            Some(horizontal_bars("Own-initiative measures by category and detection", &series, &bars))
        }
        "7_appeals_and_recidivism" => {
            let series = [Series { name: "complaints", colour: "#3b6ea5" }];
            let bars = t
                .rows
                .iter()
                .filter(|r| r[4] == template::COMPLAINTS_SUBMITTED && r[5] != "Median time")
                .map(|r| Bar { label: r[5].clone(), values: vec![n(&r[6])] })
                .collect::<Vec<_>>();
            Some(horizontal_bars("Complaints and their outcomes", &series, &bars))
        }
        "8_automated_means" => {
            let series = [Series { name: "measures / notices", colour: "#3b6ea5" }];
            let bars = t
                .rows
                .iter()
                .filter(|r| !r[4].starts_with("Accuracy"))
                .map(|r| Bar {
                    label: format!("{} · {}", r[4].trim_start_matches("Number of "), r[5]),
                    values: vec![n(&r[6])],
                })
                .collect::<Vec<_>>();
            Some(horizontal_bars("Automated and human decisions", &series, &bars))
        }
        _ => None,
    }
}

/// A reporting period: `YYYY` (the annual report), `YYYY-H1` or `YYYY-H2`
/// (the half-yearly periods of very large platforms) → `[since, until)`
/// as `YYYY-MM-DD`.
pub fn period(text: &str) -> Result<(String, String), String> {
    let bad = || format!("period `{text}`: expected YYYY, YYYY-H1 or YYYY-H2");
    let (year, half) = match text.trim().split_once('-') {
        Some((y, h)) => (y, Some(h)),
        None => (text.trim(), None),
    };
    let year: i32 = year.parse().map_err(|_| bad())?;
    if !(2000..=9998).contains(&year) {
        return Err(bad());
    }
    match half {
        None => Ok((format!("{year}-01-01"), format!("{}-01-01", year + 1))),
        Some("H1" | "h1") => Ok((format!("{year}-01-01"), format!("{year}-07-01"))),
        Some("H2" | "h2") => Ok((format!("{year}-07-01"), format!("{}-01-01", year + 1))),
        Some(_) => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_periods() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5, 1, 3]), Some(3.0));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2.5));
        assert_eq!(period("2026"), Ok(("2026-01-01".into(), "2027-01-01".into())));
        assert_eq!(period("2026-H2"), Ok(("2026-07-01".into(), "2027-01-01".into())));
        assert!(period("2026-Q3").is_err());
        assert!(period("26").is_err());
    }
}
