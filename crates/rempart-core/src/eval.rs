//! Measuring a pack on labelled listings, so a compliance team knows its
//! precision and recall before deploying it (and can report accuracy
//! indicators under DSA Art. 15(1)(e)).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::decision::{Action, Decision};

/// What a labelled listing is expected to get.
#[derive(Clone, Debug)]
pub struct Expectation {
    pub verdict: Action,
    /// Policies expected to match; `None` when the label names none
    /// (per-policy figures then only count this listing if it is `allow`).
    pub policies: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
}

impl Counts {
    fn finish(&mut self) {
        let (tp, fp, fnn) = (self.true_positives as f64, self.false_positives as f64, self.false_negatives as f64);
        self.precision = (tp + fp > 0.0).then(|| tp / (tp + fp));
        self.recall = (tp + fnn > 0.0).then(|| tp / (tp + fnn));
    }
}

/// A listing the pack got wrong.
#[derive(Clone, Debug, Serialize)]
pub struct Miss {
    pub id: String,
    pub expected: Action,
    pub got: Action,
    pub rules: Vec<String>,
}

/// The evaluation report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub listings: usize,
    /// Share of listings whose verdict is exactly the expected one.
    pub verdict_accuracy: Option<f64>,
    /// Flagged (anything but allow) against expected flagged.
    pub flagged: Counts,
    /// `confusion[expected][got]`.
    pub confusion: BTreeMap<Action, BTreeMap<Action, usize>>,
    pub per_policy: BTreeMap<String, Counts>,
    pub misses: Vec<Miss>,
}

/// Accumulates decisions against expectations.
#[derive(Default)]
pub struct Evaluator {
    report: Report,
    exact: usize,
}

impl Evaluator {
    pub fn add(&mut self, decision: &Decision, expected: &Expectation) {
        let r = &mut self.report;
        r.listings += 1;
        *r.confusion.entry(expected.verdict).or_default().entry(decision.verdict).or_default() += 1;
        if decision.verdict == expected.verdict {
            self.exact += 1;
        } else {
            r.misses.push(Miss {
                id: decision.id.clone(),
                expected: expected.verdict,
                got: decision.verdict,
                rules: decision.matches.iter().map(|m| format!("{}/{}", m.policy, m.rule)).collect(),
            });
        }
        let (want, got) = (expected.verdict != Action::Allow, decision.verdict != Action::Allow);
        match (want, got) {
            (true, true) => r.flagged.true_positives += 1,
            (false, true) => r.flagged.false_positives += 1,
            (true, false) => r.flagged.false_negatives += 1,
            (false, false) => {}
        }
        let expected_policies: Option<Vec<&str>> = match (&expected.policies, expected.verdict) {
            (Some(p), _) => Some(p.iter().map(String::as_str).collect()),
            (None, Action::Allow) => Some(Vec::new()),
            (None, _) => None,
        };
        let Some(expected_policies) = expected_policies else {
            return;
        };
        let mut matched: Vec<&str> = decision.matches.iter().map(|m| m.policy.as_str()).collect();
        matched.sort_unstable();
        matched.dedup();
        for p in &matched {
            let c = r.per_policy.entry(p.to_string()).or_default();
            if expected_policies.contains(p) {
                c.true_positives += 1;
            } else {
                c.false_positives += 1;
            }
        }
        for p in expected_policies.iter().filter(|p| !matched.contains(p)) {
            r.per_policy.entry(p.to_string()).or_default().false_negatives += 1;
        }
    }

    pub fn finish(mut self) -> Report {
        let r = &mut self.report;
        r.verdict_accuracy = (r.listings > 0).then(|| self.exact as f64 / r.listings as f64);
        r.flagged.finish();
        r.per_policy.values_mut().for_each(Counts::finish);
        self.report
    }
}
