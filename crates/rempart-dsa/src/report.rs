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

/// Outcomes of the reviews of one policy's automated decisions.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Accuracy {
    /// Automated restrictions a person reviewed.
    pub restrictions_reviewed: u64,
    /// … and kept restrictive.
    pub restrictions_confirmed: u64,
    /// … and lifted (allowed): the gate was wrong.
    pub restrictions_overturned: u64,
    /// Listings the gate held for review that a person decided.
    pub holds_decided: u64,
    /// … by restricting them.
    pub holds_restricted: u64,
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
    /// policy → review outcomes.
    pub accuracy: BTreeMap<String, Accuracy>,
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
        if !self.accuracy.is_empty() {
            let rate = |n: u64, d: u64| if d == 0 { String::new() } else { format!("{:.4}", n as f64 / d as f64) };
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
                rows: self
                    .accuracy
                    .iter()
                    .map(|(p, a)| {
                        vec![
                            p.clone(),
                            count(a.restrictions_reviewed),
                            count(a.restrictions_confirmed),
                            count(a.restrictions_overturned),
                            rate(a.restrictions_overturned, a.restrictions_reviewed),
                            count(a.holds_decided),
                            count(a.holds_restricted),
                            rate(a.holds_restricted, a.holds_decided),
                        ]
                    })
                    .collect(),
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

    /// Writes every table as CSV, `report.json`, and `index.html` (tables
    /// and bar charts as inline SVG: one file, no script, no network).
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let tables = self.tables();
        for t in &tables {
            let mut w = csv::Writer::from_path(dir.join(format!("{}.csv", t.name)))?;
            w.write_record(&t.header)?;
            for row in &t.rows {
                w.write_record(row)?;
            }
            w.flush()?;
        }
        let json =
            serde_json::json!({"since": self.since, "until": self.until, "measures": self.measures, "tables": tables});
        std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(&json)?)?;
        std::fs::write(dir.join("index.html"), self.html(&tables))?;
        Ok(())
    }

    fn html(&self, tables: &[Table]) -> String {
        let mut h = String::from(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Transparency report</title><style>\
             body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}\
             table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}td{overflow-wrap:anywhere}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}\
             td.n{text-align:right}.chart text{font-size:12px}.note{background:#fff6dd;padding:.5rem 1rem}</style></head><body>",
        );
        h.push_str(&format!(
            "<h1>Transparency report (DSA Art. 15, 24)</h1><p>Period: {} to {} (end exclusive). \
             {} restrictive measures, counted from their statements of reasons.</p>",
            escape(&self.since),
            escape(&self.until),
            thousands(self.measures)
        ));
        let series = [Series { name: "measures", colour: "#3b6ea5" }];
        for t in tables {
            h.push_str(&format!(
                "<h2>{}</h2><p><em>{}</em> — <code>{}.csv</code></p>",
                escape(t.title),
                escape(t.section),
                t.name
            ));
            if t.name == "unavailable" {
                h.push_str("<div class=\"note\">");
            }
            let chartable =
                ["measures_by_category", "measures_by_territory", "measures_by_restriction", "measures_by_keyword"];
            if chartable.contains(&t.name) && !t.rows.is_empty() {
                // One bar per value of the table's last label column (the
                // category, keyword, member state…), summed over the others:
                // long combined labels would be cut in the chart.
                let mut sums: BTreeMap<&str, u64> = BTreeMap::new();
                for r in &t.rows {
                    *sums.entry(r[r.len() - 2].as_str()).or_default() += r[r.len() - 1].parse::<u64>().unwrap_or(0);
                }
                let bars: Vec<Bar> = sums
                    .into_iter()
                    .map(|(label, n)| Bar {
                        label: label.strip_prefix("STATEMENT_CATEGORY_").unwrap_or(label).to_string(),
                        values: vec![n],
                    })
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
                for cell in row {
                    let numeric = !cell.is_empty() && cell.parse::<f64>().is_ok();
                    h.push_str(&format!("<td{}>{}</td>", if numeric { " class=\"n\"" } else { "" }, escape(cell)));
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
