//! From a restrictive decision to its statement of reasons.
//!
//! A decision says what was decided and why (rule, legal basis, evidence);
//! a statement also needs facts the gate does not know: when the listing
//! was received and when the restriction applies, who decided (the gate
//! alone, or a person after it), what led to the check, the platform's
//! terms. The store supplies them ([`Facts`]); this module only maps.
//!
//! | decision | statement |
//! | --- | --- |
//! | `block` | `DECISION_VISIBILITY_CONTENT_REMOVED` |
//! | `restrict` + `adults_only` | `DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED` |
//! | `restrict` + documents, licence or information required | `DECISION_VISIBILITY_OTHER`: publication withheld until the seller supplies what is named |
//! | `review`, `allow` | no statement: nothing is restricted yet (a review's outcome is mapped when a person decides) |
//!
//! The match that set the verdict gives the ground, category and legal
//! basis; the other restricting matches add their categories
//! (`category_addition`) and keywords. Territorial scope is the union of
//! the restricting matches' scopes, expanded to member states, narrowed to
//! where the listing ships. Every text is cut to its limit at a word
//! boundary, with an ellipsis, so the statement always validates.

use rempart_core::policy::territory;
use rempart_core::{Action, Condition, Decision, DsaGround, Evidence, Listing, Pack, RuleMatch};
use sha2::{Digest, Sha256};
use time::Date;

use crate::enums::{
    AccountType, AutomatedDecision, ContentType, DecisionGround, DecisionVisibility, SourceType, YesNo,
    CONTENT_LANGUAGES, TERRITORIAL_SCOPE,
};
use crate::statement::Statement;
use crate::validate::{LIMIT_DECISION_FACTS, LIMIT_EXPLANATION, LIMIT_PUID, LIMIT_TEXT};

/// Who decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decider {
    /// The gate alone, before publication.
    Automated,
    /// A person, on a listing the gate flagged (a review outcome).
    PersonAfterAutomatedFlag,
    /// A person, on a listing found by other means (a notice).
    Person,
}

/// What the statement needs beyond the decision.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    /// A unique reference of this decision on the platform (the store's
    /// decision id); becomes the `puid`.
    pub decision_ref: &'a str,
    /// When the platform received the listing (`content_date`).
    pub received: Date,
    /// When the restriction applies (`application_date`).
    pub decided: Date,
    pub decider: Decider,
    /// What led to the check; own-initiative screening is `Voluntary`.
    pub source: SourceType,
    /// The notifier, when the source is a notice and naming it is needed.
    pub source_identity: Option<&'a str>,
    /// URL of the terms and conditions (incompatible-content grounds) —
    /// `decision_ground_reference_url`.
    pub terms_url: Option<&'a str>,
    /// The pack that decided: gives the clause of the terms a policy on
    /// incompatible-content ground applies (`terms_reference`).
    pub pack: Option<&'a Pack>,
    /// The seller's account: business or private, when known.
    pub account_type: Option<AccountType>,
    /// Where the listing ships (empty: everywhere the pack covers).
    pub ship_to: &'a [String],
    /// The listing's language (`fr`, `EN`…).
    pub language: Option<&'a str>,
    /// A GTIN/EAN-13 the listing states, for `content_id`.
    pub ean13: Option<&'a str>,
}

impl<'a> Facts<'a> {
    /// Facts read off the listing itself (language, shipping, seller
    /// account, EAN-13), with the dates and the decider given.
    pub fn of_listing(
        listing: &'a Listing,
        decision_ref: &'a str,
        received: Date,
        decided: Date,
        decider: Decider,
        pack: Option<&'a Pack>,
    ) -> Facts<'a> {
        let account_type = listing.seller.as_ref().and_then(|s| {
            let declared = ["type", "account_type"].iter().find_map(|k| s.extra.get(*k)?.as_str())?;
            match declared.to_ascii_lowercase().as_str() {
                "business" | "trader" | "professional" | "pro" | "company" | "account_type_business" => {
                    Some(AccountType::Business)
                }
                "private" | "consumer" | "individual" | "account_type_private" => Some(AccountType::Private),
                _ => None,
            }
        });
        let ean13 = listing
            .attributes
            .iter()
            .filter(|(k, _)| matches!(k.to_ascii_lowercase().as_str(), "ean" | "ean13" | "ean-13" | "gtin" | "gtin13"))
            .map(|(_, v)| v.trim())
            .find(|v| v.len() == 13 && v.bytes().all(|b| b.is_ascii_digit()));
        Facts {
            decision_ref,
            received,
            decided,
            decider,
            source: SourceType::Voluntary,
            source_identity: None,
            terms_url: None,
            pack,
            account_type,
            ship_to: &listing.ship_to,
            language: listing.language.as_deref(),
            ean13,
        }
    }
}

/// Why no statement could be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("decision {0}: the restricting match is on incompatible-content ground but its policy `{1}` has no terms_reference")]
    NoTermsReference(String, String),
    #[error("decision {0}: no territory of the EU/EEA is within the restriction's scope ({1})")]
    NoTerritory(String, String),
}

/// The statement of reasons for `decision`, or `None` when the decision
/// restricts nothing (allow, or review pending a person).
pub fn statement_for(decision: &Decision, facts: &Facts) -> Result<Option<Statement>, MappingError> {
    if !matches!(decision.verdict, Action::Block | Action::Restrict) {
        return Ok(None);
    }
    // The matches that impose the verdict; the first is the main one
    // (matches come strictest first).
    let restricting: Vec<&RuleMatch> = decision.matches.iter().filter(|m| m.action == decision.verdict).collect();
    let Some(main) = restricting.first().copied() else { return Ok(None) };

    let (visibility, visibility_other) = match (decision.verdict, main.condition) {
        (Action::Block, _) => (DecisionVisibility::ContentRemoved, None),
        (_, Some(Condition::AdultsOnly)) => (DecisionVisibility::ContentAgeRestricted, None),
        (_, condition) => (DecisionVisibility::Other, Some(withheld_until(condition, &restricting))),
    };

    let mut statement = Statement {
        decision_visibility: Some(vec![visibility]),
        decision_visibility_other: visibility_other.map(|t| clip(&t, LIMIT_TEXT)),
        decision_monetary: None,
        decision_monetary_other: None,
        decision_provision: None,
        decision_account: None,
        account_type: facts.account_type,
        decision_ground: DecisionGround::IllegalContent,
        decision_ground_reference_url: None,
        illegal_content_legal_ground: None,
        illegal_content_explanation: None,
        incompatible_content_ground: None,
        incompatible_content_explanation: None,
        incompatible_content_illegal: None,
        content_type: content_types(&restricting),
        content_type_other: None,
        category: main.dsa_category.clone(),
        category_addition: None,
        category_specification: None,
        category_specification_other: None,
        territorial_scope: Vec::new(),
        content_language: facts
            .language
            .map(|l| l.trim().to_ascii_uppercase())
            .filter(|l| CONTENT_LANGUAGES.contains(&l.as_str())),
        content_date: facts.received,
        application_date: facts.decided,
        end_date_account_restriction: None,
        end_date_monetary_restriction: None,
        end_date_service_restriction: None,
        end_date_visibility_restriction: None,
        decision_facts: clip(&decision_facts(decision, &restricting), LIMIT_DECISION_FACTS),
        source_type: facts.source,
        source_identity: facts.source_identity.map(|s| clip(s, LIMIT_TEXT)),
        automated_detection: YesNo::from(facts.decider != Decider::Person),
        automated_decision: match facts.decider {
            Decider::Automated => AutomatedDecision::Fully,
            Decider::PersonAfterAutomatedFlag => AutomatedDecision::Partially,
            Decider::Person => AutomatedDecision::NotAutomated,
        },
        puid: puid(facts.decision_ref),
        content_id: facts.ean13.map(|e| [("EAN-13".to_string(), e.to_string())].into_iter().collect()),
        extra: Default::default(),
    };

    let explanation = explanation(&restricting);
    match main.dsa_ground {
        DsaGround::IllegalContent => {
            statement.decision_ground = DecisionGround::IllegalContent;
            statement.illegal_content_legal_ground = Some(clip(&legal_grounds(&restricting), LIMIT_TEXT));
            statement.illegal_content_explanation = Some(clip(&explanation, LIMIT_EXPLANATION));
        }
        DsaGround::IncompatibleContent => {
            let clause = facts
                .pack
                .and_then(|p| p.policy(&main.policy))
                .and_then(|p| p.terms_reference.clone())
                .ok_or_else(|| MappingError::NoTermsReference(decision.id.clone(), main.policy.clone()))?;
            statement.decision_ground = DecisionGround::IncompatibleContent;
            statement.incompatible_content_ground = Some(clip(&clause, LIMIT_TEXT));
            statement.incompatible_content_explanation = Some(clip(&explanation, LIMIT_EXPLANATION));
            // A legal basis beside the terms means the platform holds the
            // content illegal too.
            statement.incompatible_content_illegal =
                Some(YesNo::from(restricting.iter().any(|m| m.dsa_ground == DsaGround::IllegalContent)));
            statement.decision_ground_reference_url = facts.terms_url.map(str::to_string);
        }
    }

    let mut additions: Vec<String> = Vec::new();
    let mut keywords: Vec<String> = Vec::new();
    for m in &restricting {
        if m.dsa_category != main.dsa_category && !additions.contains(&m.dsa_category) {
            additions.push(m.dsa_category.clone());
        }
        for k in &m.dsa_keywords {
            if !keywords.contains(k) {
                keywords.push(k.clone());
            }
        }
    }
    statement.category_addition = (!additions.is_empty()).then_some(additions);
    statement.category_specification = (!keywords.is_empty()).then_some(keywords);

    let scopes: Vec<String> = restricting.iter().flat_map(|m| m.scope.iter().cloned()).collect();
    let (countries, _) = territory::expand(&scopes);
    let (shipped, _) = territory::expand(facts.ship_to);
    statement.territorial_scope = countries
        .into_iter()
        .filter(|c| TERRITORIAL_SCOPE.contains(&c.as_str()))
        .filter(|c| facts.ship_to.is_empty() || shipped.contains(c))
        .collect();
    if statement.territorial_scope.is_empty() {
        return Err(MappingError::NoTerritory(decision.id.clone(), scopes.join(", ")));
    }
    Ok(Some(statement))
}

/// The `decision_visibility_other` text of a conditional hold.
fn withheld_until(condition: Option<Condition>, restricting: &[&RuleMatch]) -> String {
    let what = match condition {
        Some(Condition::DocumentsRequired) => "the seller provides the required compliance documents".to_string(),
        Some(Condition::LicenceRequired) => "the seller proves the required licence or authorisation".to_string(),
        Some(Condition::InformationRequired) => {
            let mut missing: Vec<&str> = Vec::new();
            for m in restricting {
                for item in &m.missing {
                    if !missing.contains(&item.as_str()) {
                        missing.push(item);
                    }
                }
            }
            format!("the seller supplies the missing information: {}", missing.join(", ").replace('_', " "))
        }
        _ => "the conditions of the rule are met".to_string(),
    };
    format!("Publication withheld until {what}.")
}

/// Product always; text and image according to where the evidence is.
fn content_types(restricting: &[&RuleMatch]) -> Vec<ContentType> {
    let evidence: Vec<&Evidence> = restricting.iter().flat_map(|m| &m.evidence).collect();
    let mut types = vec![ContentType::Product];
    if evidence.iter().any(|e| !e.field.starts_with("images")) {
        types.push(ContentType::Text);
    }
    if evidence.iter().any(|e| e.field.starts_with("images")) {
        types.push(ContentType::Image);
    }
    types
}

fn legal_grounds(restricting: &[&RuleMatch]) -> String {
    let mut grounds: Vec<&str> = Vec::new();
    for m in restricting.iter().filter(|m| m.dsa_ground == DsaGround::IllegalContent) {
        if !grounds.contains(&m.legal_basis.as_str()) {
            grounds.push(&m.legal_basis);
        }
    }
    grounds.join("; ")
}

fn explanation(restricting: &[&RuleMatch]) -> String {
    let parts: Vec<String> = restricting
        .iter()
        .map(|m| {
            let why = m.explain.as_deref().unwrap_or("The listing meets the rule's conditions.");
            format!("{why} (policy {}, rule {}.) ", m.policy, m.rule)
        })
        .collect();
    format!("{}See the facts and circumstances for the evidence.", parts.concat())
}

/// Facts and circumstances: what was screened, each rule and its evidence
/// quoted from the seller's text, the versions that decided. No personal
/// data: no seller identity, only the product text. Evidence is quoted
/// until the 5 000-character limit is near ("and N more"), so the versions
/// are always stated.
fn decision_facts(decision: &Decision, restricting: &[&RuleMatch]) -> String {
    let tail = format!("Decided by policy pack {} and engine {}.", decision.policy_version, decision.engine_version);
    let budget = LIMIT_DECISION_FACTS.saturating_sub(tail.chars().count() + 40);
    let mut s = format!("The product listing {} was screened before publication. ", clip(&decision.id, 100));
    for m in restricting {
        let mut head = format!("Rule {}/{} ({}", m.policy, m.rule, m.action);
        if let Some(c) = m.condition {
            let name = serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            head.push_str(&format!(", {}", name.replace('_', " ")));
        }
        head.push_str(") matched on: ");
        s.push_str(&head);
        if m.evidence.is_empty() {
            s.push_str("the listing as a whole");
        }
        // Evidence the gate itself left out (past its cap per signal) is
        // counted with what the length limit leaves out here.
        let mut not_quoted = m.evidence_omitted;
        for (i, e) in m.evidence.iter().enumerate() {
            let mut q = format!("{} \u{201c}{}\u{201d}", e.field, clip(&e.text, 120));
            if let Some(d) = &e.detail {
                q.push_str(&format!(" ({})", clip(d, 300)));
            }
            // Room is kept for "and N more…" and the rule's missing items.
            if s.chars().count() + q.chars().count() + 2 > budget.saturating_sub(200) {
                not_quoted += m.evidence.len() - i;
                break;
            }
            if i > 0 {
                s.push_str("; ");
            }
            s.push_str(&q);
        }
        if not_quoted > 0 {
            let sep = if s.ends_with(": ") { "" } else { "; " };
            s.push_str(&format!("{sep}and {not_quoted} more pieces of evidence"));
        }
        if !m.missing.is_empty() {
            s.push_str(&format!("; missing: {}", m.missing.join(", ").replace('_', " ")));
        }
        s.push_str(". ");
    }
    // Many rules at once can still pass the budget: shorten, keep the tail.
    let mut s = clip(&s, budget);
    s.push(' ');
    s.push_str(&tail);
    s
}

/// The UTC date of a time in milliseconds since the epoch (how the store
/// keeps times): `content_date`, `application_date`.
pub fn date_of_ms(ms: i64) -> Date {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_or(time::OffsetDateTime::UNIX_EPOCH.date(), |t| t.date())
}

/// `text` in at most `limit` characters: cut at a word boundary with an
/// ellipsis when too long.
pub fn clip(text: &str, limit: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let cut: String = text.chars().take(limit.saturating_sub(1)).collect();
    let at_word = cut.rfind(char::is_whitespace).filter(|&i| i > cut.len() / 2).unwrap_or(cut.len());
    format!("{}…", cut[..at_word].trim_end())
}

/// A `puid` from the platform's reference: letters, digits and `-` kept,
/// anything else written `_XX` (hex of its bytes), so two references never
/// give the same `puid`; a reference too long for 500 characters keeps its
/// start and a SHA-256 of the whole.
pub fn puid(reference: &str) -> String {
    let mut out = String::with_capacity(reference.len());
    for b in reference.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("_{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push('_');
    }
    if out.len() > LIMIT_PUID {
        let digest = Sha256::digest(reference.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        out.truncate(LIMIT_PUID - hex.len() - 1);
        out.push('-');
        out.push_str(&hex);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn puids_are_valid_and_distinct() {
        assert_eq!(puid("L-1"), "L-1");
        assert_eq!(puid("a/b"), "a_2Fb");
        assert_eq!(puid("a_b"), "a_5Fb");
        assert_ne!(puid("a/b"), puid("a.b"));
        assert_eq!(puid("é"), "_C3_A9");
        let long = "x".repeat(600);
        let p = puid(&long);
        assert_eq!(p.len(), 500);
        assert_ne!(p, puid(&"x".repeat(601)));
        assert!(p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn clipping_keeps_limits_in_characters() {
        assert_eq!(clip("short", 10), "short");
        let c = clip(&"mot ".repeat(200), 50);
        assert!(c.chars().count() <= 50 && c.ends_with('…'));
        let c = clip(&"é".repeat(600), 500);
        assert_eq!(c.chars().count(), 500);
    }
}
