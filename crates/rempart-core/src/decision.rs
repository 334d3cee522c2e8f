//! The decision contract (DESIGN.md): a verdict, every rule that matched
//! with its legal basis and scope, and evidence spans into the original
//! text — enough to re-explain the decision years later.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Version of the [`Decision`] format; bumped when a field changes meaning
/// or is removed (adding an optional field does not bump it).
pub const DECISION_SCHEMA_VERSION: u32 = 1;

/// The engine that produces decisions: `<crate version>+<git commit>`,
/// with `.dirty` when built from a modified working tree.
pub const ENGINE_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+", env!("REMPART_ENGINE_COMMIT"));

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

/// The ground a statement of reasons gives for a restriction (DSA Art.
/// 17(3)(d)–(e)): the content is illegal, or it breaks the platform's
/// terms and conditions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DsaGround {
    #[default]
    IllegalContent,
    IncompatibleContent,
}

impl DsaGround {
    pub fn as_str(self) -> &'static str {
        match self {
            DsaGround::IllegalContent => "illegal_content",
            DsaGround::IncompatibleContent => "incompatible_content",
        }
    }
}

/// The bytes of `text` around `start..end`: up to `margin` bytes on each
/// side, widened to character boundaries — the context a person reads
/// evidence in.
pub fn context_window(text: &str, start: usize, end: usize, margin: usize) -> (usize, usize) {
    let mut from = start.min(text.len()).saturating_sub(margin);
    while from > 0 && !text.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = end.saturating_add(margin).min(text.len());
    while to < text.len() && !text.is_char_boundary(to) {
        to += 1;
    }
    (from, to)
}

/// One rule that matched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleMatch {
    pub policy: String,
    pub rule: String,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    /// The rule's own legal basis when it gives one (the paragraph it
    /// applies), else its policy's.
    pub legal_basis: String,
    pub scope: Vec<String>,
    pub dsa_category: String,
    /// Illegal content, or incompatible with the terms and conditions.
    pub dsa_ground: DsaGround,
    /// DSA transparency-database keywords (`KEYWORD_…`) of the policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dsa_keywords: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explain: Option<String>,
    /// At most [`crate::gate::MAX_EVIDENCE_PER_SIGNAL`] pieces per signal.
    pub evidence: Vec<Evidence>,
    /// The pack's `[info]` items the rule requires and the listing lacks
    /// (what the seller must supply), by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// Evidence found but not listed, past that cap.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub evidence_omitted: usize,
    /// Set when the rule's own action was lowered to `review` because the
    /// evidence was not certain enough to block (see [`Downgrade`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downgraded: Option<Downgrade>,
}

/// A rule that would have blocked, sent to review instead: what a wrong
/// block costs (accusing a seller of a crime) is worse than a human look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Downgrade {
    /// The rule's own action.
    pub from: Action,
    pub reason: DowngradeReason,
}

/// Why a block became a review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DowngradeReason {
    /// An exception word next to the product word ("holder" by
    /// "passport") would have allowed the listing, but that exception is
    /// not certain: a human checks it. The evidence lists the exception
    /// with `detail: "exception"`.
    UncertainException,
    /// A word the rule needs is an ordinary word in another language
    /// (a false friend) and the field's language could not be told.
    UncertainLanguage,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The gate's answer for one listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub id: String,
    pub verdict: Action,
    pub matches: Vec<RuleMatch>,
    pub policy_version: String,
    /// The engine that decided: crate version and git commit
    /// ([`ENGINE_VERSION`]). Code and dependencies change behaviour as much
    /// as the pack does.
    pub engine_version: String,
    /// Version of this decision format ([`DECISION_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Signals that could not be computed (an image that would not
    /// download or decode): the listing was decided on the others, and
    /// the reason is kept with the decision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signal_errors: Vec<SignalError>,
}

/// Writes decisions as JSON, byte for byte as `serde_json::to_writer`
/// does, with the part that every decision without matches shares (the
/// `allow` verdict, no matches, the versions) serialised once. Nearly
/// every listing of a catalogue is allowed with nothing found, and
/// writing that part field by field, for each of them, was a third of the
/// output's cost (BENCHMARKS.md, issue 14, eleventh step).
#[derive(Clone, Debug)]
pub struct DecisionWriter {
    /// The decision every such listing gets, with an empty id.
    plain: Decision,
    /// What follows the id in `plain`'s JSON; `None` if the id were ever
    /// not its first field, when every decision is written in full.
    tail: Option<Vec<u8>>,
}

impl DecisionWriter {
    /// A writer for the decisions of pack `policy_version` and this engine.
    pub fn new(policy_version: &str) -> DecisionWriter {
        let plain = Decision {
            id: String::new(),
            verdict: Decision::verdict_of(&[]),
            matches: Vec::new(),
            policy_version: policy_version.to_owned(),
            engine_version: ENGINE_VERSION.to_owned(),
            schema_version: DECISION_SCHEMA_VERSION,
            signal_errors: Vec::new(),
        };
        let json = serde_json::to_vec(&plain).unwrap_or_default();
        let tail = json.strip_prefix(PLAIN_HEAD).filter(|tail| tail.starts_with(b"\",")).map(|tail| tail[1..].to_vec());
        DecisionWriter { plain, tail }
    }

    /// Appends `decision`'s JSON to `out`.
    pub fn write(&self, decision: &Decision, out: &mut Vec<u8>) -> serde_json::Result<()> {
        match &self.tail {
            Some(tail) if self.is_plain(decision) => {
                out.extend_from_slice(&PLAIN_HEAD[..PLAIN_HEAD.len() - 1]);
                serde_json::to_writer(&mut *out, &decision.id)?;
                out.extend_from_slice(tail);
                Ok(())
            }
            _ => serde_json::to_writer(out, decision),
        }
    }

    /// Whether `decision` is the plain one but for its id.
    fn is_plain(&self, decision: &Decision) -> bool {
        let plain = &self.plain;
        decision.matches.is_empty()
            && decision.signal_errors.is_empty()
            && decision.verdict == plain.verdict
            && decision.schema_version == plain.schema_version
            && decision.policy_version == plain.policy_version
            && decision.engine_version == plain.engine_version
    }
}

/// How the JSON of a decision with an empty id starts.
const PLAIN_HEAD: &[u8] = br#"{"id":""#;

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
