//! `rempart dsa report`: the quantitative tables of a transparency report
//! for a period, from the store.

use std::path::PathBuf;

use anyhow::{bail, Result};
use rempart_dsa::report::{self, Report};
use rempart_store::{dsa, time};
use serde_json::json;

use super::dsa_export::Mapper;
use super::store_args::StoreArgs;

#[derive(clap::Args)]
#[command(after_help = "Counts every restrictive measure decided in the period from its statement of \
reasons (the same mapping as `rempart dsa export`, so the report and the Transparency Database agree): \
by source (own initiative, Art. 16 notice, trusted flagger, other notification), ground and category, \
keyword, member state, type of restriction, automation of detection and decision, with the median time \
from receipt of the listing to the decision. Indicators of accuracy come from review and appeal outcomes \
on automated decisions (overturn rates with the number of reviews behind each). Sections the record \
cannot support (orders, notices received, complaints, out-of-court disputes, suspensions, recipients, \
human resources) are listed in `unavailable.csv` with the reason, never reported as zero.\n\n\
Output: DIR/<table>.csv (header line, RFC 4180), DIR/report.json, DIR/index.html (tables and bar charts \
as inline SVG; no script, no network). A JSON summary goes to stdout.\n\n\
Exit status: 0 written; 2 some measures had no statement (reported on stderr) and were left out; 1 fatal.")]
pub struct ReportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The reporting period: YYYY (annual), YYYY-H1 or YYYY-H2 (half-yearly).
    #[arg(long, conflicts_with_all = ["since", "until"], required_unless_present = "since")]
    pub period: Option<String>,
    /// Start of a custom period (YYYY-MM-DD or RFC 3339), with --until.
    #[arg(long, requires = "until")]
    pub since: Option<String>,
    /// End (exclusive) of a custom period.
    #[arg(long)]
    pub until: Option<String>,
    /// Folder to write the report to.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// URL of the terms and conditions (as for `dsa export`).
    #[arg(long, value_name = "URL")]
    pub terms_url: Option<String>,
}

/// Sections of the templates whose records live in tables of the review
/// workflow (migration 2): the table, the section, what is missing without it.
const NOT_RECORDED: &[(&str, &str, &str)] = &[
    ("notices", "Orders from Member States' authorities (Art. 9, 10)", "no orders are recorded in this store"),
    (
        "notices",
        "Notices received (Art. 16), by type and from trusted flaggers",
        "no notices are recorded in this store",
    ),
    (
        "appeals",
        "Complaints (Art. 20): number, basis, outcomes, median time",
        "no complaints are recorded in this store",
    ),
    ("seller_measures", "Suspensions (Art. 23)", "no suspensions are recorded in this store"),
];

pub fn run(args: ReportArgs) -> Result<u8> {
    let (since_text, until_text) = match (&args.period, &args.since, &args.until) {
        (Some(p), _, _) => report::period(p).map_err(anyhow::Error::msg)?,
        (None, Some(s), Some(u)) => (s.clone(), u.clone()),
        _ => bail!("give --period, or --since and --until"),
    };
    let since = time::parse(&since_text).map_err(|e| anyhow::anyhow!("since: {e}"))?;
    let until = time::parse(&until_text).map_err(|e| anyhow::anyhow!("until: {e}"))?;
    if until <= since {
        bail!("the period ends ({until_text}) before it starts ({since_text})");
    }
    let store = args.store.open()?;
    let mut mapper = Mapper::new(args.terms_url.clone());
    let mut out = Report::new(time::rfc3339(since), time::rfc3339(until));
    let mut without_statement = 0u64;
    let mut after = None;
    loop {
        let page = store.read(|tx| dsa::restrictions(tx, since, until, after, 500))?;
        let Some(last) = page.last() else { break };
        after = Some(last.decision.audit_index);
        for r in &page {
            match mapper.statement(&store, r)? {
                Ok(Some(s)) => out.add(&s, r.received_at, r.decided_at),
                Ok(None) => {}
                Err(why) => {
                    without_statement += 1;
                    eprintln!(
                        "decision {} (listing {}): {why}",
                        r.decision.record.decision_id, r.decision.record.listing_id
                    );
                }
            }
        }
    }

    let outcomes = store.read(|tx| dsa::review_outcomes(tx, since, until))?;
    for o in &outcomes {
        let a = out.accuracy.entry(o.policy.clone().unwrap_or_else(|| "(no policy)".into())).or_default();
        let restrictive = |v: &str| matches!(v, "block" | "restrict");
        if restrictive(&o.automated_verdict) {
            a.restrictions_reviewed += 1;
            if restrictive(&o.outcome_verdict) {
                a.restrictions_confirmed += 1;
            } else {
                a.restrictions_overturned += 1;
            }
        } else if o.automated_verdict == "review" {
            a.holds_decided += 1;
            a.holds_restricted += u64::from(restrictive(&o.outcome_verdict));
        }
    }
    if outcomes.is_empty() {
        out.unavailable.push((
            "Use of automated means: indicators of accuracy (overturn rates)".into(),
            "no review or appeal outcome on an automated decision was recorded in the period".into(),
        ));
    }
    for (table, section, reason) in NOT_RECORDED {
        let present = store.read(|tx| dsa::table_exists(tx, table))?;
        let why = if present {
            format!(
                "recorded (table `{table}`), but this report does not count them yet: not reported rather than guessed"
            )
        } else {
            format!("{reason} (the review workflow adds them)")
        };
        out.unavailable.push(((*section).to_string(), why));
    }
    for (section, why) in [
        ("Out-of-court dispute settlement (Art. 21)", "outside rempart: disputes are handled by certified bodies"),
        ("Average monthly active recipients (Art. 24(2))", "outside rempart: the marketplace's audience figures"),
        ("Human resources for content moderation (Art. 42)", "outside rempart: the marketplace's staffing"),
    ] {
        out.unavailable.push((section.into(), why.into()));
    }
    if without_statement > 0 {
        out.unavailable.push((
            "Measures without a statement".into(),
            format!("{without_statement} restrictive decision(s) could not be mapped to a statement (see stderr) and are not counted"),
        ));
    }
    out.write(&args.out)?;
    let tables: Vec<&str> = out.tables().iter().map(|t| t.name).collect();
    println!(
        "{}",
        json!({"out": args.out, "since": out.since, "until": out.until, "measures": out.measures,
            "review_outcomes": outcomes.len(), "tables": tables,
            "unavailable": out.unavailable.iter().map(|(s, _)| s).collect::<Vec<_>>()})
    );
    eprintln!(
        "rempart: {} measures from {} to {}; {} review outcome(s); report in {}",
        out.measures,
        out.since,
        out.until,
        outcomes.len(),
        args.out.display()
    );
    Ok(if without_statement > 0 { crate::EXIT_INVALID_RECORDS } else { crate::EXIT_OK })
}
