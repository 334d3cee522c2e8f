//! `rempart dsa report`: the quantitative tables of a transparency report
//! for a period, from the store.

use std::path::PathBuf;

use anyhow::{bail, Result};
use rempart_core::{Action, DsaGround};
use rempart_dsa::enums::DecisionGround;
use rempart_dsa::report::{self, Report};
use rempart_dsa::template::{ComplaintFact, NoticeFact, NoticeKind};
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
on automated decisions (overturn rates with the number of reviews behind each). Orders (Art. 9) and \
notices (Art. 16, 22) received, their outcome and median time to act; complaints (Art. 20), their \
outcomes and median time; suspensions of sellers (Art. 23). Figures the record cannot support are left \
empty with the reason in the row's contextual information, and whole sections (out-of-court disputes, \
recipients, human resources, the provider's own texts) are listed in `unavailable.csv`: never zero.\n\n\
Output: the Annex I template files of Implementing Regulation (EU) 2024/2835 with the Commission's \
header lines (DIR/3_member_states_orders.csv, 4_notices.csv, 5_own_initiative_illegal.csv, \
6_own_initiative_TC.csv, 7_appeals_and_recidivism.csv, 8_automated_means.csv; RFC 4180, UTF-8; \
medians in hours), rempart's supplementary tables (DIR/<table>.csv), DIR/report.json, DIR/index.html \
(tables and bar charts as inline SVG; no script, no network; printable). A JSON summary goes to stdout.\n\n\
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
    /// The service's name, as the templates' `Service` column shows it.
    #[arg(long, value_name = "NAME", default_value = "")]
    pub service: String,
}

/// The ground of the restriction a notice's outcome recorded: the one of
/// the match that set the verdict (as the statement of reasons takes it).
fn action_ground(d: &rempart_store::records::StoredDecision) -> Option<DecisionGround> {
    let decision = &d.record.decision;
    if !matches!(decision.verdict, Action::Block | Action::Restrict) {
        return None;
    }
    let main = decision.matches.iter().find(|m| m.action == decision.verdict)?;
    Some(match main.dsa_ground {
        DsaGround::IllegalContent => DecisionGround::IllegalContent,
        DsaGround::IncompatibleContent => DecisionGround::IncompatibleContent,
    })
}

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
    out.service = args.service.clone();
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
    let restrictive = |v: &str| matches!(v, "block" | "restrict");
    for o in &outcomes {
        // A person's decision on a listing the gate allowed (after a notice)
        // says nothing about the gate's accuracy on a policy: no row.
        if !restrictive(&o.automated_verdict) && o.automated_verdict != "review" {
            continue;
        }
        let a = out.templates.accuracy.entry(o.policy.clone().unwrap_or_else(|| "(no policy)".into())).or_default();
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
    // Orders and notices, complaints, suspensions (the review workflow's
    // records, migration 2).
    let notices = store.read(|tx| dsa::notices_received(tx, since, until))?;
    for n in &notices {
        let kind = match n.kind.as_str() {
            "order" => NoticeKind::Order,
            "trusted_flagger" => NoticeKind::TrustedFlagger,
            _ => NoticeKind::Notice,
        };
        out.templates.add_notice(NoticeFact {
            kind,
            listing_id: n.listing_id.clone(),
            category: n.category.clone(),
            territorial_scope: n.territorial_scope.clone(),
            received_ms: n.received_at,
            decided_ms: n.decided_at,
            action: n.outcome_decision.as_ref().and_then(action_ground),
        });
    }
    let complaints = store.read(|tx| dsa::complaints_received(tx, since, until))?;
    for c in complaints {
        out.templates.add_complaint(ComplaintFact {
            subject: c.subject,
            received_ms: c.received_at,
            decided_ms: c.decided_at,
            outcome: c.outcome,
        });
    }
    for _ in store.read(|tx| dsa::suspensions_enacted(tx, since, until))? {
        out.templates.add_suspension();
    }
    for (section, why) in [
        (
            "Orders to provide information (Art. 10)",
            "not received through rempart: its orders are orders to act against a listing (Art. 9)",
        ),
        (
            "Report identification and category names (Annex I, Parts 1-2); qualitative information (Part 11)",
            "the provider's own text",
        ),
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
            "review_outcomes": outcomes.len(), "orders": out.templates.orders(), "notices": out.templates.notices(),
            "complaints": out.templates.complaints(), "suspensions": out.templates.suspensions(),
            "templates": out.template_tables().iter().map(|t| t.name).collect::<Vec<_>>(), "tables": tables,
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
