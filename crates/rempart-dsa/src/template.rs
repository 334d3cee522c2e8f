//! The quantitative templates of Implementing Regulation (EU) 2024/2835,
//! Annex I, in the structure of the Commission's CSV files (one file per
//! part, the header line as the Commission's template spells it, trailing
//! spaces included, so a report produced here can be pasted into, or
//! compared with, the official workbook cell for cell):
//!
//! | file | Annex I part | counted from |
//! | --- | --- | --- |
//! | `3_member_states_orders.csv` | orders (DSA Art. 9, 10) | authority orders received |
//! | `4_notices.csv` | notices (Art. 16, 22) | notices received, their outcome and the decision's ground |
//! | `5_own_initiative_illegal.csv` | own-initiative measures, illegal content (Art. 15(1)(c)) | statements of reasons, `SOURCE_VOLUNTARY`, illegal-content ground |
//! | `6_own_initiative_TC.csv` | own-initiative measures, terms and conditions | statements, incompatible-content ground |
//! | `7_appeals_and_recidivism.csv` | complaints (Art. 20), suspensions (Art. 23) | appeals and seller suspensions |
//! | `8_automated_means.csv` | use of automated means and accuracy (Art. 15(1)(e)) | statements, notices, review outcomes |
//!
//! Times are medians in hours (the unit is stated in each row's contextual
//! information). A cell the record cannot support stays empty and its
//! contextual information says why: empty is "not reported", never zero.
//! Parts 1–2 (identification, category names), 9–11 (human resources,
//! recipients, qualitative) are the provider's own text or figures.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::enums::{AutomatedDecision, DecisionGround, DecisionVisibility, SourceType, YesNo};
use crate::report::median;
use crate::statement::Statement;

/// The header of Part 3 (orders), as in the Commission's template.
pub const ORDERS_HEADER: [&str; 20] = [
    "Applicability",
    "Service",
    "Reporting period",
    "Category of illegal content",
    "Description of the sub-category \"Other\"",
    "Scope",
    "Number of orders to act against illegal content received",
    "Number of specific items of information included in the total number of orders to act against illegal content",
    "Median time to inform the authority of the receipt of the order to act against illegal content",
    "Median time to give effect to the order to act against illegal content",
    "Number of orders to provide information",
    "Median time to inform the authority of the receipt of the order to provide information",
    "Median time to give effect to the order to provide information",
    "Contextual information on number of orders to act against illegal content received",
    "Contextual information on number of specific items of information included in the total number of orders to act against illegal content",
    "Contextual information on Median time to inform the authority of the receipt of the order to act against illegal content",
    "Contextual information on Median time to give effect to the order to act against illegal content",
    "Contextual information on Number of orders to provide information",
    "Contextual information on Median time to inform the authority of the receipt of the order to provide information",
    "Contextual information on Median time to give effect to the order to provide information",
];

/// The header of Part 4 (notices).
pub const NOTICES_HEADER: [&str; 25] = [
    "Applicability",
    "Service",
    "Reporting period",
    "Category of illegal content",
    "Description of the sub-category \"Other\"",
    "Number of notices received ",
    "Number of notices received from Trusted flaggers",
    "Number of specific items of information included in the total number of notices",
    "Number of specific items of information included in the total number of notices by Trusted Flaggers (Trusted Flagger notices)",
    "Median time to take action",
    "Median time to take action (Trusted Flagger notices)",
    "Number of actions taken on the basis of the law",
    "Number of actions taken on the basis of the law (Trusted Flagger notices)",
    "Number of actions taken on the basis of the terms and conditions of the service",
    "Number of actions taken on the basis of the terms and conditions of the service (Trusted Flagger notices)",
    "Contextual information on Number of notices received ",
    "Contextual information on Number of notices received from Trusted flaggers",
    "Contextual information on Number of specific items of information included in the total number of notices",
    "Contextual information on Number of specific items of information included in the total number of notices by Trusted Flaggers (Trusted Flagger notices)",
    "Contextual information on Median time to take action",
    "Contextual information on Median time to take action (Trusted Flagger notices)",
    "Contextual information on Number of actions taken on the basis of the law",
    "Contextual information on Number of actions taken on the basis of the law (Trusted Flagger notices)",
    "Contextual information on Number of actions taken on the basis of the terms and conditions of the service",
    "Contextual information on Number of actions taken on the basis of the terms and conditions of the service (Trusted Flagger notices)",
];

/// The measure columns of Parts 5 and 6, after the five label columns.
pub const OWN_INITIATIVE_MEASURES: [&str; 16] = [
    "Number of measures taken at the provider's own initiative ",
    "Number of measures taken after detection with solely automated means ",
    "Visibility restriction Removal",
    "Visibility restriction Disable",
    "Visibility restriction Demoted",
    "Visibility restriction Age restricted",
    "Visibility restriction Interaction restricted",
    "Visibility restriction Labelled ",
    "Visibility restriction Other",
    "Monetary restriction Suspension",
    "Monetary restriction Termination",
    "Monetary restriction Other",
    "Provision of the service Suspension",
    "Provision of the service Termination",
    "Account restriction Suspension",
    "Account restriction Termination",
];

/// The header of Parts 7 and 8 (one indicator a row).
pub const INDICATOR_HEADER: [&str; 8] = [
    "Applicability",
    "Service",
    "Reporting period",
    "Section",
    "Indicator",
    "Scope",
    "Value",
    "Contextual Information",
];

/// The header of Part 5 (illegal content) or 6 (terms and conditions).
pub fn own_initiative_header(ground: DecisionGround) -> Vec<String> {
    let category = match ground {
        DecisionGround::IllegalContent => "Category of illegal content",
        DecisionGround::IncompatibleContent => "Category of incompatibility with the provider's terms and conditions",
    };
    let mut h: Vec<String> =
        ["Applicability", "Service", "Reporting period", category, "Description of the sub-category \"Other\""]
            .iter()
            .map(|s| s.to_string())
            .collect();
    h.extend(OWN_INITIATIVE_MEASURES.iter().map(|s| s.to_string()));
    h.extend(OWN_INITIATIVE_MEASURES.iter().map(|s| format!("Contextual Information on {s}")));
    h
}

pub const APPLICABILITY_ALL: &str = "All";
pub const APPLICABILITY_HOSTING: &str = "Only for providers of hosting services, including online platforms";
pub const APPLICABILITY_PLATFORMS: &str = "Only for providers of online platforms";

pub const SECTION_COMPLAINTS: &str = "Internal complaints mechanism";
pub const SECTION_SUSPENSIONS: &str = "Suspensions imposed on repeated offenders";
pub const SECTION_AUTOMATED: &str = "Use of automated means for content moderation";
pub const COMPLAINTS_SUBMITTED: &str = "Number of complaints submitted to the internal-complaints mechanism";
pub const COMPLAINTS_ON_RESTRICTIONS: &str =
    "Complaint regarding a decision to remove or disable access to or restrict visibility of information";
pub const SUSPENSIONS_ILLEGAL: &str = "Number of suspensions enacted for the provision of manifestly illegal content";
pub const SUSPENSIONS_NOTICES: &str = "Number of suspensions enacted for the provision of manifestly unfounded notices";
pub const SUSPENSIONS_COMPLAINTS: &str =
    "Number of suspensions enacted for the provision of manifestly unfounded complaints";
pub const MEASURES_AUTOMATED: &str = "Number of measures solely taken by automated means";
pub const MEASURES_NOT_AUTOMATED: &str = "Number of measures not taken by automated means";
pub const NOTICES_AUTOMATED: &str = "Number of notices solely processed by automated means";
pub const NOTICES_NOT_AUTOMATED: &str = "Number of notices not processed by automated means";
pub const ACCURACY: &str = "Accuracy of the automated means - Accuracy";
pub const PRECISION: &str = "Accuracy of the automated means - Precision";
pub const RECALL: &str = "Accuracy of the automated means - Recall";

/// Who sent a notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// Art. 16, anyone.
    Notice,
    /// Art. 22, a trusted flagger.
    TrustedFlagger,
    /// Art. 9, an order to act from a member state's authority.
    Order,
}

/// One notice or order received in the period, with what became of it by
/// the end of the period.
#[derive(Clone, Debug)]
pub struct NoticeFact {
    pub kind: NoticeKind,
    /// The listing it names (an item of information).
    pub listing_id: String,
    /// The category the notifier gave (`STATEMENT_CATEGORY_…`).
    pub category: String,
    /// An order's territorial scope (member state codes).
    pub territorial_scope: Vec<String>,
    pub received_ms: i64,
    /// When it was decided, if before the end of the period.
    pub decided_ms: Option<i64>,
    /// The ground of the restriction it led to (`None`: decided without
    /// a restriction, or undecided).
    pub action: Option<DecisionGround>,
}

/// One complaint (appeal, Art. 20) received in the period.
#[derive(Clone, Debug)]
pub struct ComplaintFact {
    /// `decision` (a decision on a listing) or `suspension` (of the seller).
    pub subject: String,
    pub received_ms: i64,
    /// When it was decided, if before the end of the period.
    pub decided_ms: Option<i64>,
    /// `confirmed` (the decision upheld) or `reversed`, once decided.
    pub outcome: Option<String>,
}

/// Review outcomes of one policy's automated decisions.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Accuracy {
    /// Automated restrictions a person reviewed (a review or an appeal).
    pub restrictions_reviewed: u64,
    /// … and kept restrictive.
    pub restrictions_confirmed: u64,
    /// … and lifted: the gate was wrong.
    pub restrictions_overturned: u64,
    /// Listings the gate held for review that a person decided.
    pub holds_decided: u64,
    /// … by restricting them.
    pub holds_restricted: u64,
}

/// Own-initiative counts of one category (or keyword) row of Part 5 or 6.
#[derive(Clone, Debug, Default)]
struct OwnInitiative {
    measures: u64,
    automated_detection: u64,
    visibility: [u64; 7],
    monetary: [u64; 3],
    provision: [u64; 2],
    account: [u64; 2],
}

/// The figures of the templates for one period, counted as facts arrive.
#[derive(Clone, Debug, Default)]
pub struct Templates {
    /// (ground, category or keyword) → counts. Keywords sort after their
    /// categories (`KEYWORD_` > `STATEMENT_`), as sub-rows.
    own_initiative: BTreeMap<(bool, String), OwnInitiative>,
    /// (own initiative?, solely automated?) → measures.
    measures_automation: BTreeMap<(bool, bool), u64>,
    notices: Vec<NoticeFact>,
    complaints: Vec<ComplaintFact>,
    suspensions: u64,
    /// policy → review outcomes.
    pub accuracy: BTreeMap<String, Accuracy>,
}

fn visibility_column(v: DecisionVisibility) -> usize {
    match v {
        DecisionVisibility::ContentRemoved => 0,
        DecisionVisibility::ContentDisabled => 1,
        DecisionVisibility::ContentDemoted => 2,
        DecisionVisibility::ContentAgeRestricted => 3,
        DecisionVisibility::ContentInteractionRestricted => 4,
        DecisionVisibility::ContentLabelled => 5,
        DecisionVisibility::Other => 6,
    }
}

fn hours(ms: f64) -> String {
    format!("{:.3}", ms / 3_600_000.0)
}

fn median_hours(mut times: Vec<i64>) -> String {
    median(&mut times).map_or(String::new(), hours)
}

const HOURS: &str = "hours, from receipt to the decision";

impl Templates {
    /// Counts one restrictive measure from its statement of reasons.
    pub fn add_statement(&mut self, s: &Statement) {
        let own = s.source_type == SourceType::Voluntary;
        let solely_automated = s.automated_decision == AutomatedDecision::Fully;
        *self.measures_automation.entry((own, solely_automated)).or_default() += 1;
        if !own {
            // Measures on notices and orders are counted in Parts 3 and 4.
            return;
        }
        let illegal = s.decision_ground == DecisionGround::IllegalContent;
        let mut rows = vec![s.category.clone()];
        rows.extend(s.category_specification.iter().flatten().cloned());
        for label in rows {
            let row = self.own_initiative.entry((illegal, label)).or_default();
            row.measures += 1;
            row.automated_detection += u64::from(s.automated_detection == YesNo::Yes);
            for v in s.decision_visibility.iter().flatten() {
                row.visibility[visibility_column(*v)] += 1;
            }
            if let Some(m) = s.decision_monetary {
                use crate::enums::DecisionMonetary as M;
                row.monetary[match m {
                    M::Suspension => 0,
                    M::Termination => 1,
                    M::Other => 2,
                }] += 1;
            }
            if let Some(p) = s.decision_provision {
                use crate::enums::DecisionProvision as P;
                row.provision[match p {
                    P::PartialSuspension | P::TotalSuspension => 0,
                    P::PartialTermination | P::TotalTermination => 1,
                }] += 1;
            }
            if let Some(a) = s.decision_account {
                use crate::enums::DecisionAccount as A;
                row.account[match a {
                    A::Suspended => 0,
                    A::Terminated => 1,
                }] += 1;
            }
        }
    }

    pub fn add_notice(&mut self, n: NoticeFact) {
        self.notices.push(n);
    }

    pub fn add_complaint(&mut self, c: ComplaintFact) {
        self.complaints.push(c);
    }

    /// Counts a suspension of a seller (Art. 23) enacted in the period.
    pub fn add_suspension(&mut self) {
        self.suspensions += 1;
    }

    /// Orders received.
    pub fn orders(&self) -> usize {
        self.notices.iter().filter(|n| n.kind == NoticeKind::Order).count()
    }

    /// Notices (Art. 16 and trusted flaggers) received.
    pub fn notices(&self) -> usize {
        self.notices.iter().filter(|n| n.kind != NoticeKind::Order).count()
    }

    /// Complaints received.
    pub fn complaints(&self) -> usize {
        self.complaints.len()
    }

    pub fn suspensions(&self) -> u64 {
        self.suspensions
    }

    /// Part 3: one row per category and member state of the orders'
    /// territorial scope, then one per category over all member states
    /// (scope `Total number`).
    pub fn orders_rows(&self, service: &str, period: &str) -> Vec<Vec<String>> {
        // (category, scope) → orders; "~" sorts the total after the codes.
        let mut groups: BTreeMap<(String, String), Vec<&NoticeFact>> = BTreeMap::new();
        for o in self.notices.iter().filter(|n| n.kind == NoticeKind::Order) {
            for code in &o.territorial_scope {
                groups.entry((o.category.clone(), code.clone())).or_default().push(o);
            }
            groups.entry((o.category.clone(), "~".into())).or_default().push(o);
        }
        groups
            .into_iter()
            .map(|((category, scope), orders)| {
                let items = orders.iter().map(|o| o.listing_id.as_str()).collect::<std::collections::BTreeSet<_>>();
                let effected: Vec<i64> = orders
                    .iter()
                    .filter(|o| o.action.is_some())
                    .filter_map(|o| o.decided_ms.map(|d| d - o.received_ms))
                    .collect();
                let decided = orders.iter().filter(|o| o.decided_ms.is_some()).count();
                let scope_label = if scope == "~" { "Total number".to_string() } else { scope };
                let mut row = vec![
                    APPLICABILITY_ALL.to_string(),
                    service.to_string(),
                    period.to_string(),
                    category,
                    String::new(),
                    scope_label.clone(),
                    orders.len().to_string(),
                    items.len().to_string(),
                    "0".to_string(),
                    median_hours(effected.clone()),
                    String::new(),
                    String::new(),
                    String::new(),
                ];
                row.extend([
                    if scope_label == "Total number" {
                        "orders to act received through the API in the period, over all member states".to_string()
                    } else {
                        format!("orders whose territorial scope includes {scope_label}")
                    },
                    "listings named by the orders".to_string(),
                    "hours: the receipt is the answer to the API call that submits the order".to_string(),
                    format!(
                        "{HOURS}, over the {} order(s) given effect by a restriction before the end of the period ({} decided, {} pending)",
                        effected.len(),
                        decided,
                        orders.len() - decided
                    ),
                    "orders to provide information (Art. 10) are not received through rempart".to_string(),
                    "not received through rempart".to_string(),
                    "not received through rempart".to_string(),
                ]);
                row
            })
            .collect()
    }

    /// Part 4: one row per category of the notices (orders excluded).
    pub fn notices_rows(&self, service: &str, period: &str) -> Vec<Vec<String>> {
        let mut groups: BTreeMap<&str, Vec<&NoticeFact>> = BTreeMap::new();
        for n in self.notices.iter().filter(|n| n.kind != NoticeKind::Order) {
            groups.entry(n.category.as_str()).or_default().push(n);
        }
        groups
            .into_iter()
            .map(|(category, all)| {
                let tf: Vec<&NoticeFact> =
                    all.iter().copied().filter(|n| n.kind == NoticeKind::TrustedFlagger).collect();
                let items = |ns: &[&NoticeFact]| {
                    ns.iter()
                        .map(|n| n.listing_id.as_str())
                        .collect::<std::collections::BTreeSet<_>>()
                        .len()
                        .to_string()
                };
                let times = |ns: &[&NoticeFact]| -> Vec<i64> {
                    ns.iter().filter_map(|n| n.decided_ms.map(|d| d - n.received_ms)).collect()
                };
                let acted = |ns: &[&NoticeFact], g: DecisionGround| {
                    ns.iter().filter(|n| n.action == Some(g)).count().to_string()
                };
                let decided = |ns: &[&NoticeFact]| ns.iter().filter(|n| n.decided_ms.is_some()).count();
                vec![
                    APPLICABILITY_HOSTING.to_string(),
                    service.to_string(),
                    period.to_string(),
                    category.to_string(),
                    String::new(),
                    all.len().to_string(),
                    tf.len().to_string(),
                    items(&all),
                    items(&tf),
                    median_hours(times(&all)),
                    median_hours(times(&tf)),
                    acted(&all, DecisionGround::IllegalContent),
                    acted(&tf, DecisionGround::IllegalContent),
                    acted(&all, DecisionGround::IncompatibleContent),
                    acted(&tf, DecisionGround::IncompatibleContent),
                    "Art. 16 notices and trusted flaggers' notices received in the period, duplicates included".into(),
                    "notices sent with the key of a trusted flagger registered in rempart (Art. 22)".into(),
                    "listings named by the notices".into(),
                    "listings named by trusted flaggers' notices".into(),
                    format!(
                        "{HOURS} on the notice, over the {} notice(s) decided before the end of the period",
                        decided(&all)
                    ),
                    format!("{HOURS}, over the {} trusted flaggers' notice(s) decided", decided(&tf)),
                    "notices whose outcome is a restriction on an illegal-content ground".into(),
                    "trusted flaggers' notices whose outcome is a restriction on an illegal-content ground".into(),
                    "notices whose outcome is a restriction on a terms-and-conditions ground".into(),
                    "trusted flaggers' notices whose outcome is a restriction on a terms-and-conditions ground".into(),
                ]
            })
            .collect()
    }

    /// Part 5 (`illegal`) or 6: one row per category, keywords as their own
    /// rows after the categories.
    pub fn own_initiative_rows(&self, illegal: bool, service: &str, period: &str) -> Vec<Vec<String>> {
        let mut rows: Vec<(&String, &OwnInitiative)> =
            self.own_initiative.iter().filter(|((i, _), _)| *i == illegal).map(|((_, l), c)| (l, c)).collect();
        rows.sort_by_key(|(l, _)| (l.starts_with("KEYWORD_"), (*l).clone()));
        rows.into_iter()
            .map(|(label, c)| {
                let mut row = vec![
                    APPLICABILITY_ALL.to_string(),
                    service.to_string(),
                    period.to_string(),
                    label.clone(),
                    String::new(),
                ];
                row.push(c.measures.to_string());
                row.push(c.automated_detection.to_string());
                row.extend(c.visibility.iter().map(u64::to_string));
                row.extend(c.monetary.iter().map(u64::to_string));
                row.extend(c.provision.iter().map(u64::to_string));
                row.extend(c.account.iter().map(u64::to_string));
                let mut context = vec![String::new(); OWN_INITIATIVE_MEASURES.len()];
                context[0] =
                    "restrictive decisions at the provider's own initiative (statements with source SOURCE_VOLUNTARY)"
                        .into();
                context[1] = "statements with automated_detection = Yes".into();
                if label.starts_with("KEYWORD_") {
                    context[0].push_str("; a keyword row counts the measures of its category that carry the keyword");
                }
                row.extend(context);
                row
            })
            .collect()
    }

    /// Part 7: complaints and suspensions.
    pub fn appeals_rows(&self, service: &str, period: &str) -> Vec<Vec<String>> {
        let row = |section: &str, indicator: &str, scope: &str, value: String, context: String| {
            vec![
                APPLICABILITY_PLATFORMS.to_string(),
                service.to_string(),
                period.to_string(),
                section.to_string(),
                indicator.to_string(),
                scope.to_string(),
                value,
                context,
            ]
        };
        let mut rows = Vec::new();
        let on_listings: Vec<&ComplaintFact> = self.complaints.iter().filter(|c| c.subject != "suspension").collect();
        let all: Vec<&ComplaintFact> = self.complaints.iter().collect();
        let on_suspensions = all.len() - on_listings.len();
        for (indicator, set) in [(COMPLAINTS_SUBMITTED, &all), (COMPLAINTS_ON_RESTRICTIONS, &on_listings)] {
            let outcome = |o: &str| set.iter().filter(|c| c.outcome.as_deref() == Some(o)).count().to_string();
            let times: Vec<i64> = set.iter().filter_map(|c| c.decided_ms.map(|d| d - c.received_ms)).collect();
            let decided = times.len();
            let pending = set.len() - decided;
            let total_context = if indicator == COMPLAINTS_SUBMITTED {
                format!(
                    "appeals received in the period: {} against a decision on a listing, {on_suspensions} against a suspension of the seller; {pending} not decided by the end of the period",
                    on_listings.len()
                )
            } else {
                format!("appeals against a decision on a listing; {pending} not decided by the end of the period")
            };
            rows.push(row(SECTION_COMPLAINTS, indicator, "Total number", set.len().to_string(), total_context));
            rows.push(row(
                SECTION_COMPLAINTS,
                indicator,
                "Decisions upheld",
                outcome("confirmed"),
                "a person other than the first decider kept the decision".into(),
            ));
            rows.push(row(
                SECTION_COMPLAINTS,
                indicator,
                "Decisions partially reversed",
                "0".into(),
                "rempart records an appeal as upheld or reversed; a restriction replaced by a lighter one is recorded as reversed".into(),
            ));
            rows.push(row(
                SECTION_COMPLAINTS,
                indicator,
                "Decisions reversed",
                outcome("reversed"),
                "the decision under appeal was replaced".into(),
            ));
            rows.push(row(
                SECTION_COMPLAINTS,
                indicator,
                "Median time",
                median_hours(times),
                format!("hours, from receipt of the appeal to its decision, over the {decided} appeal(s) decided"),
            ));
        }
        rows.push(row(
            SECTION_SUSPENSIONS,
            SUSPENSIONS_ILLEGAL,
            "Total number",
            self.suspensions.to_string(),
            "suspensions of sellers that began in the period, after strikes (blocks a person confirmed) and a prior warning (Art. 23(1))".into(),
        ));
        for indicator in [SUSPENSIONS_NOTICES, SUSPENSIONS_COMPLAINTS] {
            rows.push(row(
                SECTION_SUSPENSIONS,
                indicator,
                "Total number",
                String::new(),
                "not recorded by rempart: it does not suspend the processing of notices or complaints (Art. 23(2))"
                    .into(),
            ));
        }
        rows
    }

    /// Part 8: automated means, and accuracy from review outcomes.
    pub fn automated_rows(&self, service: &str, period: &str) -> Vec<Vec<String>> {
        let row = |applicability: &str, indicator: &str, scope: &str, value: String, context: String| {
            vec![
                applicability.to_string(),
                service.to_string(),
                period.to_string(),
                SECTION_AUTOMATED.to_string(),
                indicator.to_string(),
                scope.to_string(),
                value,
                context,
            ]
        };
        let m = |own: Option<bool>, automated: bool| -> u64 {
            self.measures_automation
                .iter()
                .filter(|((o, a), _)| own.is_none_or(|w| w == *o) && *a == automated)
                .map(|(_, n)| *n)
                .sum()
        };
        let mut rows = Vec::new();
        for (scope, own) in [("Total number", None), ("Own-initiative", Some(true))] {
            rows.push(row(
                APPLICABILITY_ALL,
                MEASURES_AUTOMATED,
                scope,
                m(own, true).to_string(),
                "restrictive decisions of the gate that no person took part in (automated_decision = AUTOMATED_DECISION_FULLY)".into(),
            ));
            rows.push(row(
                APPLICABILITY_ALL,
                MEASURES_NOT_AUTOMATED,
                scope,
                m(own, false).to_string(),
                "restrictive decisions a person took, including on a listing the gate held for review (partially automated)".into(),
            ));
        }
        let decided = |tf_only: bool| {
            self.notices
                .iter()
                .filter(|n| n.kind != NoticeKind::Order && (!tf_only || n.kind == NoticeKind::TrustedFlagger))
                .filter(|n| n.decided_ms.is_some())
                .count()
        };
        for (applicability, scope, tf_only) in
            [(APPLICABILITY_HOSTING, "NAM Total", false), (APPLICABILITY_PLATFORMS, "NAM Trusted Flagger", true)]
        {
            rows.push(row(
                applicability,
                NOTICES_AUTOMATED,
                scope,
                "0".into(),
                "every notice goes to the review queue; a person decides it".into(),
            ));
            rows.push(row(
                applicability,
                NOTICES_NOT_AUTOMATED,
                scope,
                decided(tf_only).to_string(),
                "notices decided by a person before the end of the period".into(),
            ));
        }
        let rate = |n: u64, d: u64| if d == 0 { String::new() } else { format!("{:.4}", n as f64 / d as f64) };
        let negatives = "not measurable from review outcomes: listings the gate allows are not reviewed, so true and false negatives are unknown";
        for (policy, a) in &self.accuracy {
            rows.push(row(
                APPLICABILITY_ALL,
                ACCURACY,
                "Own-initiative",
                String::new(),
                format!("policy {policy}: {negatives}"),
            ));
            rows.push(row(
                APPLICABILITY_ALL,
                PRECISION,
                "Own-initiative",
                rate(a.restrictions_confirmed, a.restrictions_reviewed),
                format!(
                    "policy {policy}: share of its automated restrictions a person kept, over {} review(s) and appeal(s) ({} overturned){}",
                    a.restrictions_reviewed,
                    a.restrictions_overturned,
                    if a.restrictions_reviewed == 0 { "; no review behind it, so not reported" } else { "" }
                ),
            ));
            rows.push(row(
                APPLICABILITY_ALL,
                RECALL,
                "Own-initiative",
                String::new(),
                format!("policy {policy}: {negatives}"),
            ));
        }
        rows
    }

    /// The policy accuracy table (overturn rates with the reviews behind
    /// each), rempart's own supplement to Part 8.
    pub fn accuracy_rows(&self) -> Vec<Vec<String>> {
        let rate = |n: u64, d: u64| if d == 0 { String::new() } else { format!("{:.4}", n as f64 / d as f64) };
        self.accuracy
            .iter()
            .map(|(p, a)| {
                vec![
                    p.clone(),
                    a.restrictions_reviewed.to_string(),
                    a.restrictions_confirmed.to_string(),
                    a.restrictions_overturned.to_string(),
                    rate(a.restrictions_overturned, a.restrictions_reviewed),
                    a.holds_decided.to_string(),
                    a.holds_restricted.to_string(),
                    rate(a.holds_restricted, a.holds_decided),
                ]
            })
            .collect()
    }
}

/// The reporting period as the templates write it: first and last day,
/// both inclusive (`2026-01-01/2026-12-31`), from `[since, until)` dates.
pub fn period_label(since: &str, until: &str) -> String {
    let day = |s: &str| s.get(..10).unwrap_or(s).to_string();
    let last = time::Date::parse(&day(until), time::macros::format_description!("[year]-[month]-[day]"))
        .ok()
        .and_then(|d| d.previous_day())
        .map(|d| d.to_string());
    match last {
        Some(l) if until.get(10..).is_none_or(|t| t.is_empty() || t.starts_with("T00:00:00")) => {
            format!("{}/{l}", day(since))
        }
        _ => format!("{}/{}", day(since), day(until)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_have_the_templates_widths_and_periods_are_inclusive() {
        assert_eq!(own_initiative_header(DecisionGround::IllegalContent).len(), 37);
        assert_eq!(ORDERS_HEADER.len(), 20);
        assert_eq!(NOTICES_HEADER.len(), 25);
        assert_eq!(period_label("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"), "2026-01-01/2026-12-31");
        assert_eq!(period_label("2026-07-01", "2026-07-02"), "2026-07-01/2026-07-01");
    }

    #[test]
    fn medians_count_only_what_was_decided() {
        let mut t = Templates::default();
        for (kind, decided, action) in [
            (NoticeKind::Notice, Some(3_600_000), Some(DecisionGround::IllegalContent)),
            (NoticeKind::TrustedFlagger, Some(7_200_000), Some(DecisionGround::IncompatibleContent)),
            (NoticeKind::Notice, None, None),
        ] {
            t.add_notice(NoticeFact {
                kind,
                listing_id: "L".into(),
                category: "STATEMENT_CATEGORY_SCAMS_AND_FRAUD".into(),
                territorial_scope: vec![],
                received_ms: 0,
                decided_ms: decided,
                action,
            });
        }
        let rows = t.notices_rows("S", "P");
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.len(), NOTICES_HEADER.len());
        assert_eq!((r[5].as_str(), r[6].as_str(), r[7].as_str(), r[8].as_str()), ("3", "1", "1", "1"));
        assert_eq!((r[9].as_str(), r[10].as_str()), ("1.500", "2.000"));
        assert_eq!((r[11].as_str(), r[12].as_str(), r[13].as_str(), r[14].as_str()), ("1", "0", "1", "1"));
    }
}
