//! What people do after the gate, as pack data: the reasons a reviewer
//! may give for an outcome, the plain-language texts a seller reads in a
//! statement of reasons, and the settings of the procedures around them
//! (review leases, the appeal period, repeat offenders, traders).
//!
//! These are policy knowledge a compliance officer owns, like the rules:
//! a change is a new pack version, and every review outcome names the pack
//! that offered its reason. Documented for authors in `policies/README.md`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::decision::{Action, Condition};

/// A reason a reviewer may give for an outcome (`[[reason]]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Reason {
    /// Stable `snake_case` code, unique in the pack; recorded with the outcome.
    pub code: String,
    /// The policy it belongs to; `None`: offered for every policy (and for
    /// notices on listings no rule matched).
    pub policy: Option<String>,
    /// The outcomes it may justify (`allow`, `restrict`, `block`).
    pub outcomes: Vec<Action>,
    /// With a `restrict` outcome: the condition of publication it means.
    pub condition: Option<Condition>,
    /// The paragraph the outcome applies, when more precise than the
    /// policy's legal basis.
    pub legal_basis: Option<String>,
    /// Language code → the sentence the seller reads.
    pub text: BTreeMap<String, String>,
    pub file: String,
}

impl Reason {
    /// The text in `lang`, else English, else any.
    pub fn text_in(&self, lang: &str) -> &str {
        localized(&self.text, lang).unwrap_or(&self.code)
    }

    /// Offered for an item involving `policies`?
    pub fn offered_for(&self, policies: &[String]) -> bool {
        self.policy.as_ref().is_none_or(|p| policies.contains(p))
    }
}

/// The text of `texts` in `lang`, else English, else the first one.
pub fn localized<'a>(texts: &'a BTreeMap<String, String>, lang: &str) -> Option<&'a str> {
    texts.get(lang).or_else(|| texts.get("en")).or_else(|| texts.values().next()).map(String::as_str)
}

/// Settings of the procedures (`[procedures]`), with the defaults a pack
/// gets when it says nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Procedures {
    /// How long a reviewer's claim on a queue item lasts before another
    /// reviewer may take it (renewed by claiming again).
    pub lease_minutes: u32,
    /// How long after a decision the seller may appeal (DSA Art. 20(1): at
    /// least six months).
    pub appeal_months: u32,
    /// The deadline of an authority order that states none.
    pub order_deadline_hours: u32,
    /// Every seller is a trader (a B2C marketplace): listings of a seller
    /// without a complete, verified Art. 30 record are held for review.
    /// Otherwise only sellers that declare themselves traders (the
    /// listing's `seller.type`) or have a record are held.
    pub all_sellers_are_traders: bool,
    pub repeat_offenders: RepeatOffenders,
}

/// DSA Art. 23: strikes from blocks a person confirmed, a warning, then a
/// suspension for a set period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepeatOffenders {
    /// Strikes older than this do not count.
    pub window_days: u32,
    /// Strikes in the window at which the seller is warned.
    pub warning_at: u32,
    /// Strikes in the window at which a warned seller is suspended.
    pub suspend_at: u32,
    pub suspension_days: u32,
}

impl Default for Procedures {
    fn default() -> Procedures {
        Procedures {
            lease_minutes: 15,
            appeal_months: 6,
            order_deadline_hours: 48,
            all_sellers_are_traders: false,
            repeat_offenders: RepeatOffenders { window_days: 365, warning_at: 2, suspend_at: 3, suspension_days: 90 },
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProceduresDef {
    pub lease_minutes: Option<u32>,
    pub appeal_months: Option<u32>,
    pub order_deadline_hours: Option<u32>,
    pub all_sellers_are_traders: Option<bool>,
    pub repeat_offenders: Option<RepeatOffendersDef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RepeatOffendersDef {
    pub window_days: Option<u32>,
    pub warning_at: Option<u32>,
    pub suspend_at: Option<u32>,
    pub suspension_days: Option<u32>,
}

/// `[[reason]]` as written: its texts sit beside its keys, one per
/// language code.
#[derive(Debug, Deserialize)]
pub(crate) struct ReasonDef {
    pub code: String,
    #[serde(default)]
    pub policy: Option<String>,
    pub outcomes: Vec<Action>,
    #[serde(default)]
    pub condition: Option<Condition>,
    #[serde(default)]
    pub legal_basis: Option<String>,
    #[serde(flatten)]
    pub text: BTreeMap<String, toml::Value>,
}

/// A two-letter lowercase language code (ISO 639-1 shape).
pub(crate) fn is_language(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase())
}

/// Checks `[procedures]`; problems are messages for the file.
pub(crate) fn procedures(def: &ProceduresDef) -> (Procedures, Vec<String>) {
    let d = Procedures::default();
    let r = def.repeat_offenders.as_ref();
    let p = Procedures {
        lease_minutes: def.lease_minutes.unwrap_or(d.lease_minutes),
        appeal_months: def.appeal_months.unwrap_or(d.appeal_months),
        order_deadline_hours: def.order_deadline_hours.unwrap_or(d.order_deadline_hours),
        all_sellers_are_traders: def.all_sellers_are_traders.unwrap_or(d.all_sellers_are_traders),
        repeat_offenders: RepeatOffenders {
            window_days: r.and_then(|r| r.window_days).unwrap_or(d.repeat_offenders.window_days),
            warning_at: r.and_then(|r| r.warning_at).unwrap_or(d.repeat_offenders.warning_at),
            suspend_at: r.and_then(|r| r.suspend_at).unwrap_or(d.repeat_offenders.suspend_at),
            suspension_days: r.and_then(|r| r.suspension_days).unwrap_or(d.repeat_offenders.suspension_days),
        },
    };
    let mut errors = Vec::new();
    if !(1..=480).contains(&p.lease_minutes) {
        errors.push(format!("[procedures] lease_minutes = {}: between 1 and 480", p.lease_minutes));
    }
    if !(6..=120).contains(&p.appeal_months) {
        errors.push(format!(
            "[procedures] appeal_months = {}: DSA Art. 20(1) gives at least six months (6 to 120)",
            p.appeal_months
        ));
    }
    if !(1..=24 * 90).contains(&p.order_deadline_hours) {
        errors.push(format!("[procedures] order_deadline_hours = {}: between 1 and 2160", p.order_deadline_hours));
    }
    let ro = &p.repeat_offenders;
    if ro.window_days == 0 || ro.suspension_days == 0 {
        errors.push("[procedures.repeat_offenders] window_days and suspension_days must be at least 1".into());
    }
    if ro.warning_at == 0 || ro.warning_at >= ro.suspend_at {
        errors.push(format!(
            "[procedures.repeat_offenders] warning_at = {} must be at least 1 and below suspend_at = {} \
             (DSA Art. 23(1): a suspension comes after a warning)",
            ro.warning_at, ro.suspend_at
        ));
    }
    (p, errors)
}

/// Checks one `[[reason]]`; `policies` are the pack's policy ids.
pub(crate) fn reason(def: ReasonDef, file: &str, policies: &[&str]) -> Result<Reason, Vec<String>> {
    let mut errors = Vec::new();
    let code = &def.code;
    if !super::is_snake_case(code) {
        errors.push(format!("reason `{code}`: the code must be snake_case"));
    }
    if let Some(p) = &def.policy {
        if !policies.contains(&p.as_str()) {
            errors.push(format!("reason `{code}`: policy `{p}` is not a policy of this pack"));
        }
    }
    if def.outcomes.is_empty() {
        errors.push(format!("reason `{code}`: outcomes is empty (allow, restrict, block)"));
    }
    if def.outcomes.contains(&Action::Review) {
        errors.push(format!("reason `{code}`: `review` is not an outcome a person gives (allow, restrict, block)"));
    }
    if def.condition.is_some() && !def.outcomes.contains(&Action::Restrict) {
        errors.push(format!("reason `{code}`: a condition only goes with the `restrict` outcome"));
    }
    let mut text = BTreeMap::new();
    for (key, value) in def.text {
        match value {
            toml::Value::String(s) if is_language(&key) && !s.trim().is_empty() => {
                text.insert(key, s.trim().to_string());
            }
            _ if is_language(&key) => errors.push(format!("reason `{code}`: `{key}` must be a non-empty string")),
            _ => errors.push(format!(
                "reason `{code}`: unknown key `{key}` (code, policy, outcomes, condition, legal_basis, or a language code)"
            )),
        }
    }
    if !text.contains_key("en") {
        errors.push(format!("reason `{code}`: needs an English text (`en = \"…\"`), the fall-back for every seller"));
    }
    if errors.is_empty() {
        Ok(Reason {
            code: def.code,
            policy: def.policy,
            outcomes: def.outcomes,
            condition: def.condition,
            legal_basis: def.legal_basis.filter(|b| !b.trim().is_empty()),
            text,
            file: file.to_string(),
        })
    } else {
        Err(errors)
    }
}

/// Checks one `[seller_text.POLICY]` table.
pub(crate) fn seller_text(
    policy: &str,
    texts: BTreeMap<String, String>,
    policies: &[&str],
) -> Result<BTreeMap<String, String>, Vec<String>> {
    let mut errors = Vec::new();
    if !policies.contains(&policy) {
        errors.push(format!("[seller_text.{policy}]: `{policy}` is not a policy of this pack"));
    }
    for (key, value) in &texts {
        if !is_language(key) {
            errors.push(format!("[seller_text.{policy}]: `{key}` is not a language code"));
        } else if value.trim().is_empty() {
            errors.push(format!("[seller_text.{policy}]: `{key}` is empty"));
        }
    }
    if !texts.contains_key("en") {
        errors.push(format!("[seller_text.{policy}]: needs an English text (`en`)"));
    }
    if errors.is_empty() {
        Ok(texts.into_iter().map(|(k, v)| (k, v.trim().to_string())).collect())
    } else {
        Err(errors)
    }
}
