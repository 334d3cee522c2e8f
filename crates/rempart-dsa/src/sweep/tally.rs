//! The counts of a sweep. Memory is bounded by the number of policies,
//! rules, territories and distinct sellers, never by the number of rows.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rempart_core::Action;
use serde::{Deserialize, Serialize};

use super::{Screened, SweepError};

/// Listings by verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictCounts {
    pub listings: u64,
    pub restrict: u64,
    pub review: u64,
    pub block: u64,
}

impl VerdictCounts {
    fn add(&mut self, verdict: Action) {
        self.listings += 1;
        match verdict {
            Action::Allow => {}
            Action::Restrict => self.restrict += 1,
            Action::Review => self.review += 1,
            Action::Block => self.block += 1,
        }
    }

    pub fn flagged(&self) -> u64 {
        self.restrict + self.review + self.block
    }
}

/// Matches of one policy, by the action of the matching rule; `listings`
/// counts listings with at least one match of the policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyCounts {
    pub listings: u64,
    pub restrict: u64,
    pub review: u64,
    pub block: u64,
    /// Matches per rule id.
    pub rules: BTreeMap<String, u64>,
}

/// A seller's listings by verdict (same shape as [`VerdictCounts`]).
pub type SellerCounts = VerdictCounts;

/// Everything a sweep counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// Listings screened (valid rows).
    pub listings: u64,
    /// Rows that could not be read as listings.
    pub invalid: u64,
    pub by_verdict: BTreeMap<String, u64>,
    pub by_policy: BTreeMap<String, PolicyCounts>,
    /// Listings by destination (`ship_to` code; `(not stated)` when the
    /// listing gives none).
    pub by_territory: BTreeMap<String, VerdictCounts>,
    /// Listings by seller id (`(unknown)` when none is given).
    pub sellers: HashMap<String, SellerCounts>,
    /// Listings decided with an external signal missing (an image that
    /// would not download…).
    pub signal_errors: u64,
}

/// Label for listings without `ship_to`.
pub const NOT_STATED: &str = "(not stated)";
/// Label for listings without a seller id.
pub const UNKNOWN_SELLER: &str = "(unknown)";

impl Tally {
    pub fn add(&mut self, item: &Screened) {
        self.listings += 1;
        *self.by_verdict.entry(item.verdict.to_string()).or_default() += 1;
        if item.signal_errors > 0 {
            self.signal_errors += 1;
        }
        if item.ship_to.is_empty() {
            self.by_territory.entry(NOT_STATED.to_string()).or_default().add(item.verdict);
        }
        for code in &item.ship_to {
            self.by_territory.entry(code.clone()).or_default().add(item.verdict);
        }
        let seller = item.seller.as_deref().unwrap_or(UNKNOWN_SELLER);
        match self.sellers.get_mut(seller) {
            Some(counts) => counts.add(item.verdict),
            None => {
                let mut counts = SellerCounts::default();
                counts.add(item.verdict);
                self.sellers.insert(seller.to_string(), counts);
            }
        }
        if let Some(flagged) = &item.flagged {
            let mut seen: Vec<&str> = Vec::new();
            for m in &flagged.matches {
                let counts = self.by_policy.entry(m.policy.clone()).or_default();
                if !seen.contains(&m.policy.as_str()) {
                    counts.listings += 1;
                    seen.push(&m.policy);
                }
                match m.action {
                    Action::Allow => {}
                    Action::Restrict => counts.restrict += 1,
                    Action::Review => counts.review += 1,
                    Action::Block => counts.block += 1,
                }
                *counts.rules.entry(m.rule.clone()).or_default() += 1;
            }
        }
    }

    /// Listings whose verdict is not `allow`.
    pub fn flagged(&self) -> u64 {
        self.by_verdict.iter().filter(|(v, _)| v.as_str() != "allow").map(|(_, n)| n).sum()
    }

    pub fn verdict(&self, action: Action) -> u64 {
        self.by_verdict.get(action.as_str()).copied().unwrap_or(0)
    }

    /// Sellers ordered by blocks, then reviews, then restricts (most
    /// first), ties by id; only sellers with a flagged listing.
    pub fn top_sellers(&self, n: usize) -> Vec<(&str, &SellerCounts)> {
        let mut flagged: Vec<(&str, &SellerCounts)> =
            self.sellers.iter().filter(|(_, c)| c.flagged() > 0).map(|(s, c)| (s.as_str(), c)).collect();
        flagged.sort_by(|a, b| {
            (b.1.block, b.1.review, b.1.restrict).cmp(&(a.1.block, a.1.review, a.1.restrict)).then(a.0.cmp(b.0))
        });
        flagged.truncate(n);
        flagged
    }

    /// Territories ordered by flagged listings, then listings.
    pub fn territories(&self) -> Vec<(&str, &VerdictCounts)> {
        let mut all: Vec<(&str, &VerdictCounts)> = self.by_territory.iter().map(|(t, c)| (t.as_str(), c)).collect();
        all.sort_by(|a, b| (b.1.flagged(), b.1.listings).cmp(&(a.1.flagged(), a.1.listings)).then(a.0.cmp(b.0)));
        all
    }
}

/// Writes `by_verdict.csv`, `by_policy.csv`, `by_territory.csv` and
/// `sellers.csv`.
pub(crate) fn write_tables(dir: &Path, tally: &Tally) -> Result<(), SweepError> {
    let table = |name: &str, header: &[&str], rows: Vec<Vec<String>>| -> Result<(), SweepError> {
        let path = dir.join(name);
        let err = |e: csv::Error| SweepError::Io { path: path.display().to_string(), source: e.into() };
        let mut w = csv::Writer::from_path(&path).map_err(err)?;
        w.write_record(header).map_err(err)?;
        for row in rows {
            w.write_record(&row).map_err(err)?;
        }
        w.flush().map_err(|e| SweepError::Io { path: path.display().to_string(), source: e })
    };
    let share = |n: u64| format!("{:.4}", n as f64 / tally.listings.max(1) as f64);
    table(
        "by_verdict.csv",
        &["verdict", "listings", "share"],
        Action::ALL
            .iter()
            .map(|a| vec![a.to_string(), tally.verdict(*a).to_string(), share(tally.verdict(*a))])
            .collect(),
    )?;
    table(
        "by_policy.csv",
        &["policy", "rule", "listings", "block", "review", "restrict", "matches"],
        tally
            .by_policy
            .iter()
            .flat_map(|(p, c)| {
                let total = vec![
                    p.clone(),
                    String::new(),
                    c.listings.to_string(),
                    c.block.to_string(),
                    c.review.to_string(),
                    c.restrict.to_string(),
                    (c.block + c.review + c.restrict).to_string(),
                ];
                let rules = c.rules.iter().map(move |(r, n)| {
                    vec![
                        p.clone(),
                        r.clone(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        n.to_string(),
                    ]
                });
                std::iter::once(total).chain(rules)
            })
            .collect(),
    )?;
    let counts_row = |name: &str, c: &VerdictCounts| {
        vec![
            name.to_string(),
            c.listings.to_string(),
            c.flagged().to_string(),
            c.block.to_string(),
            c.review.to_string(),
            c.restrict.to_string(),
        ]
    };
    table(
        "by_territory.csv",
        &["territory", "listings", "flagged", "block", "review", "restrict"],
        tally.territories().into_iter().map(|(t, c)| counts_row(t, c)).collect(),
    )?;
    let mut sellers: Vec<(&String, &SellerCounts)> = tally.sellers.iter().collect();
    sellers.sort_by(|a, b| {
        (b.1.block, b.1.flagged(), b.1.listings).cmp(&(a.1.block, a.1.flagged(), a.1.listings)).then(a.0.cmp(b.0))
    });
    table(
        "sellers.csv",
        &["seller", "listings", "flagged", "block", "review", "restrict"],
        sellers.into_iter().map(|(s, c)| counts_row(s, c)).collect(),
    )
}
