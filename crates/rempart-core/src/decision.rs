//! The decision contract (DESIGN.md): a verdict, every rule that matched
//! with its legal basis and scope, and evidence spans into the original
//! text — enough to re-explain the decision years later.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a rule asks for. Ordered from most lenient to strictest, so the
/// verdict is the maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Allow,
    Restrict,
    Review,
    Block,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Allow, Action::Restrict, Action::Review, Action::Block];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Restrict => "restrict",
            Action::Review => "review",
            Action::Block => "block",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Action, String> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a verdict (allow, restrict, review, block)"))
    }
}

/// The condition a `restrict` puts on publication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    AdultsOnly,
    DocumentsRequired,
    LicenceRequired,
    /// Held until the seller supplies the information the match names in
    /// `missing` (e.g. the manufacturer's address, GPSR Art. 19): the
    /// seller can fix it without a person in the loop.
    InformationRequired,
}

/// Where the evidence was found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// `title`, `description`, `category` or `attributes.<name>`.
    pub field: String,
    /// Byte offsets into the original field text.
    pub start: usize,
    pub end: usize,
    /// The original text at those offsets.
    pub text: String,
    /// The term set, quantity or external signal that produced it.
    pub signal: String,
    /// For external signals: what the text alone cannot say (the bank
    /// entry and Hamming distance an image matched, the removed listing a
    /// near-duplicate copies and who removed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One rule that matched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleMatch {
    pub policy: String,
    pub rule: String,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    pub legal_basis: String,
    pub scope: Vec<String>,
    pub dsa_category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explain: Option<String>,
    pub evidence: Vec<Evidence>,
    /// The pack's `[info]` items the rule requires and the listing lacks
    /// (what the seller must supply), by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// The gate's answer for one listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub id: String,
    pub verdict: Action,
    pub matches: Vec<RuleMatch>,
    pub policy_version: String,
    /// Signals that could not be computed (an image that would not
    /// download or decode): the listing was decided on the others, and
    /// the reason is kept with the decision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signal_errors: Vec<SignalError>,
}

/// Why one external signal input was not used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalError {
    /// What failed, as a path into the listing: `images[2].url`.
    pub source: String,
    /// A stable snake_case reason code (`address_not_allowed`, `corrupt`…).
    pub code: String,
    pub message: String,
}

impl Decision {
    /// The strictest action among `matches`, `allow` when empty.
    pub fn verdict_of(matches: &[RuleMatch]) -> Action {
        matches.iter().map(|m| m.action).max().unwrap_or(Action::Allow)
    }
}
