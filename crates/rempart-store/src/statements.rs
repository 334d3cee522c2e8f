//! Statements of reasons to the seller (DSA Art. 17).
//!
//! Every restrictive decision on a seller's listing, automated or by a
//! person, and every suspension, has a statement: what was restricted and
//! where, for how long; the facts and circumstances (the seller's own
//! words the rule found, whether a notice, an order or our own screening
//! led to it); whether automated means detected it and decided it; the
//! legal or contractual ground; how to appeal, and the other redress.
//!
//! Statements are built from the record when asked, never stored apart:
//! the decision entry in the audit log is the single source, so a
//! statement cannot disagree with the decision it explains. The words are
//! in the seller's language where the pack has them (each policy's and
//! reason's text, `[seller_text]` and `[[reason]]`), around a letter whose
//! fixed sentences exist in English and French ([`Letter`]).

use rempart_core::{Action, Condition, DsaGround, Pack, RuleMatch};
use serde::Serialize;

use crate::appeals::add_months;
use crate::backend::Value;
use crate::records::{self, Origin, StoredDecision};
use crate::sellers::{self, Measure};
use crate::{time, StoreError, Tx};

/// The languages the letter's fixed sentences exist in.
pub const LANGUAGES: [&str; 2] = ["en", "fr"];

/// A statement of reasons, structured and as a letter.
#[derive(Clone, Debug, Serialize)]
pub struct Statement {
    /// The decision or suspension it explains.
    pub statement_id: String,
    /// `listing`, `suspension` or `warning`.
    pub kind: String,
    pub issued_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing_id: Option<String>,
    /// Whether the measure is still in force.
    pub in_force: bool,
    pub language: String,
    /// Art. 17(3)(a): the measure, where, for how long.
    pub measure: String,
    pub territorial_scope: Vec<String>,
    pub duration: String,
    /// Art. 17(3)(b): facts and circumstances.
    pub facts: String,
    /// The seller's own words the rules found, by field.
    pub evidence: Vec<EvidenceLine>,
    /// `own_initiative`, `notice`, `trusted_flagger`, `order` or `appeal`.
    pub source: String,
    /// Art. 17(3)(c).
    pub automated_detection: bool,
    /// `fully`, `partially` or `not`.
    pub automated_decision: String,
    /// Art. 17(3)(d)-(e).
    pub ground: Ground,
    /// Art. 17(3)(f).
    pub redress: Redress,
    /// The letter, in `language`.
    pub text: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct EvidenceLine {
    pub field: String,
    pub text: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Ground {
    /// `illegal_content` or `incompatible_content`.
    pub kind: String,
    /// The law (illegal content) or the clause of the terms.
    pub reference: String,
    pub explanation: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Redress {
    /// Until when the internal complaint (appeal) is open.
    pub appeal_until: String,
    pub appeal: String,
    pub out_of_court: String,
    pub judicial: String,
}

/// The fixed sentences of a statement in one language. `{…}` are filled in.
pub struct Letter {
    pub title_listing: &'static str,
    pub title_suspension: &'static str,
    pub title_warning: &'static str,
    pub block: &'static str,
    pub adults_only: &'static str,
    pub documents: &'static str,
    pub licence: &'static str,
    pub suspension: &'static str,
    pub warning: &'static str,
    pub scope: &'static str,
    pub until_changed: &'static str,
    pub until: &'static str,
    pub own_initiative: &'static str,
    pub notice: &'static str,
    pub trusted_flagger: &'static str,
    pub order: &'static str,
    pub appeal: &'static str,
    pub evidence: &'static str,
    pub strikes: &'static str,
    pub automated_fully: &'static str,
    pub automated_partially: &'static str,
    pub automated_not: &'static str,
    pub illegal: &'static str,
    pub terms: &'static str,
    pub reason: &'static str,
    pub appeal_how: &'static str,
    pub out_of_court: &'static str,
    pub judicial: &'static str,
    pub headings: [&'static str; 5],
}

const EN: Letter = Letter {
    title_listing: "Statement of reasons: listing {listing}",
    title_suspension: "Statement of reasons: suspension of your account",
    title_warning: "Warning: repeated removals of your listings",
    block: "Your listing {listing} was not published (removed).",
    adults_only: "Your listing {listing} is published for adults only, behind age verification.",
    documents: "Publication of your listing {listing} is withheld until you supply the documents or information required.",
    licence: "Publication of your listing {listing} is withheld until you prove the required licence or authorisation.",
    suspension: "Your account may not publish new listings until {until}.",
    warning: "This is a warning: no measure is taken against your account yet.",
    scope: "Where: {scope}.",
    until_changed: "Until you change the listing and it is checked again, or the decision is reversed on appeal.",
    until: "Until {until}, unless it is lifted on appeal.",
    own_initiative: "We found this when checking your listing before publication, on our own initiative.",
    notice: "We checked your listing after a notice from a third party.",
    trusted_flagger: "We checked your listing after a notice from a trusted flagger (DSA Art. 22).",
    order: "We acted on an order from an authority: {authority}.",
    appeal: "This decision answers your appeal against an earlier decision.",
    evidence: "What we found in your listing:",
    strikes: "Blocks confirmed by a person within the period: {count}.",
    automated_fully: "Automated means detected the content and took this decision; no person was involved.",
    automated_partially: "Automated means detected the content; a person took this decision.",
    automated_not: "A person detected the content and took this decision, without automated means.",
    illegal: "Legal ground: {reference}.",
    terms: "Ground in our terms and conditions: {reference}.",
    reason: "Reason given: {reason}",
    appeal_how: "You may appeal free of charge until {until}, through the marketplace's complaint form (decision {id}). A different person than the one who decided will review it.",
    out_of_court: "You may also turn to a certified out-of-court dispute settlement body (DSA Art. 21).",
    judicial: "You may in any case bring the matter before the competent court.",
    headings: ["What was decided", "Facts and circumstances", "Automated means", "Ground", "Your options"],
};

const FR: Letter = Letter {
    title_listing: "Exposé des motifs : annonce {listing}",
    title_suspension: "Exposé des motifs : suspension de votre compte",
    title_warning: "Avertissement : retraits répétés de vos annonces",
    block: "Votre annonce {listing} n'a pas été publiée (retirée).",
    adults_only: "Votre annonce {listing} est publiée pour les adultes uniquement, derrière une vérification de l'âge.",
    documents: "La publication de votre annonce {listing} est suspendue jusqu'à ce que vous fournissiez les documents ou informations requis.",
    licence: "La publication de votre annonce {listing} est suspendue jusqu'à ce que vous justifiiez de la licence ou de l'autorisation requise.",
    suspension: "Votre compte ne peut pas publier de nouvelles annonces jusqu'au {until}.",
    warning: "Ceci est un avertissement : aucune mesure n'est encore prise contre votre compte.",
    scope: "Territoire : {scope}.",
    until_changed: "Jusqu'à ce que vous modifiiez l'annonce et qu'elle soit à nouveau contrôlée, ou que la décision soit annulée sur réclamation.",
    until: "Jusqu'au {until}, sauf levée sur réclamation.",
    own_initiative: "Nous l'avons constaté en contrôlant votre annonce avant sa publication, de notre propre initiative.",
    notice: "Nous avons contrôlé votre annonce à la suite d'un signalement d'un tiers.",
    trusted_flagger: "Nous avons contrôlé votre annonce à la suite d'un signalement d'un signaleur de confiance (DSA art. 22).",
    order: "Nous avons exécuté une injonction d'une autorité : {authority}.",
    appeal: "Cette décision répond à votre réclamation contre une décision antérieure.",
    evidence: "Ce que nous avons relevé dans votre annonce :",
    strikes: "Blocages confirmés par une personne sur la période : {count}.",
    automated_fully: "Des moyens automatisés ont détecté le contenu et pris cette décision, sans intervention humaine.",
    automated_partially: "Des moyens automatisés ont détecté le contenu ; une personne a pris cette décision.",
    automated_not: "Une personne a détecté le contenu et pris cette décision, sans moyens automatisés.",
    illegal: "Fondement juridique : {reference}.",
    terms: "Fondement dans nos conditions générales : {reference}.",
    reason: "Motif : {reason}",
    appeal_how: "Vous pouvez former une réclamation gratuitement jusqu'au {until}, via le formulaire de réclamation de la place de marché (décision {id}). Une autre personne que celle qui a décidé l'examinera.",
    out_of_court: "Vous pouvez aussi saisir un organisme certifié de règlement extrajudiciaire des litiges (DSA art. 21).",
    judicial: "Vous pouvez en tout état de cause saisir la juridiction compétente.",
    headings: ["Décision", "Faits et circonstances", "Moyens automatisés", "Fondement", "Vos recours"],
};

/// The letter in `lang` (English when the language has none).
pub fn letter(lang: &str) -> (&'static Letter, &'static str) {
    match lang {
        "fr" => (&FR, "fr"),
        _ => (&EN, "en"),
    }
}

fn fill(template: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in pairs {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

fn day(ms: i64) -> String {
    time::rfc3339(ms)[..10].to_string()
}

/// What the statement of a decision needs besides the decision.
struct Context {
    source: String,
    authority: Option<String>,
    in_force: bool,
}

fn context(tx: &mut Tx<'_>, d: &StoredDecision) -> Result<Context, StoreError> {
    let current = tx
        .query_opt(
            "SELECT current_decision FROM listings WHERE listing_id = ?1",
            &[d.record.listing_id.clone().into()],
        )?
        .map(|r| r.text(0))
        .transpose()?;
    let item = tx.query_opt(
        "SELECT review_id, source FROM reviews WHERE outcome_decision = ?1",
        &[d.record.decision_id.clone().into()],
    )?;
    let (source, authority) = match item {
        Some(r) => {
            let source = r.text(1)?;
            let authority = tx
                .query_opt(
                    "SELECT authority, order_reference FROM notices WHERE review_id = ?1 AND kind = 'order' ORDER BY received_at LIMIT 1",
                    &[r.text(0)?.into()],
                )?
                .map(|o| -> Result<String, StoreError> {
                    let a = o.opt_text(0)?.unwrap_or_default();
                    Ok(match o.opt_text(1)? {
                        Some(reference) => format!("{a} ({reference})"),
                        None => a,
                    })
                })
                .transpose()?;
            (
                if source == "detection" || source == "relisting" { "own_initiative".to_string() } else { source },
                authority,
            )
        }
        None => ("own_initiative".to_string(), None),
    };
    Ok(Context { source, authority, in_force: current.as_deref() == Some(d.record.decision_id.as_str()) })
}

/// The statement of a restrictive decision on a listing, or `None` when
/// the decision restricts nothing.
pub fn for_decision(
    tx: &mut Tx<'_>,
    d: &StoredDecision,
    pack: &Pack,
    lang: &str,
) -> Result<Option<Statement>, StoreError> {
    let decision = &d.record.decision;
    if !matches!(decision.verdict, Action::Block | Action::Restrict) {
        return Ok(None);
    }
    let restricting: Vec<&RuleMatch> = decision.matches.iter().filter(|m| m.action == decision.verdict).collect();
    let Some(main) = restricting.first().copied() else { return Ok(None) };
    let (l, lang) = letter(lang);
    let ctx = context(tx, d)?;
    let listing = d.record.listing_id.as_str();
    let decided = time::parse(&d.record.decided_at).map_err(StoreError::Schema)?;
    let measure = match (decision.verdict, main.condition) {
        (Action::Block, _) => l.block,
        (_, Some(Condition::AdultsOnly)) => l.adults_only,
        (_, Some(Condition::LicenceRequired)) => l.licence,
        _ => l.documents,
    };
    let measure = fill(measure, &[("listing", listing)]);
    let mut scope: Vec<String> = restricting.iter().flat_map(|m| m.scope.iter().cloned()).collect();
    scope.sort();
    scope.dedup();
    let facts = match ctx.source.as_str() {
        "notice" => l.notice.to_string(),
        "trusted_flagger" => l.trusted_flagger.to_string(),
        "order" => fill(l.order, &[("authority", ctx.authority.as_deref().unwrap_or("?"))]),
        "appeal" => l.appeal.to_string(),
        _ => l.own_initiative.to_string(),
    };
    let evidence: Vec<EvidenceLine> = restricting
        .iter()
        .flat_map(|m| m.evidence.iter())
        .filter(|e| !e.text.is_empty())
        .map(|e| EvidenceLine { field: e.field.clone(), text: e.text.clone() })
        .take(20)
        .collect();
    let by_person = matches!(d.record.origin, Origin::Review | Origin::Appeal);
    let detected_automatically = !by_person || ctx.source == "own_initiative";
    let automated_decision = match (by_person, detected_automatically) {
        (false, _) => "fully",
        (true, true) => "partially",
        (true, false) => "not",
    };
    let reason = d
        .record
        .reason
        .as_ref()
        .and_then(|r| r.get("code"))
        .and_then(|c| c.as_str())
        .and_then(|code| pack.reason(code))
        .map(|r| r.text_in(lang).to_string());
    let policy_text = pack.seller_text(&main.policy, lang).map(str::to_string);
    let explanation = [policy_text, reason.clone(), main.explain.clone().filter(|_| lang == "en")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let ground = match main.dsa_ground {
        DsaGround::IllegalContent => {
            Ground { kind: "illegal_content".into(), reference: main.legal_basis.clone(), explanation }
        }
        DsaGround::IncompatibleContent => Ground {
            kind: "incompatible_content".into(),
            reference: pack
                .policy(&main.policy)
                .and_then(|p| p.terms_reference.clone())
                .unwrap_or_else(|| main.legal_basis.clone()),
            explanation,
        },
    };
    let appeal_until = add_months(decided, pack.procedures.appeal_months);
    let redress = Redress {
        appeal_until: time::rfc3339(appeal_until),
        appeal: fill(l.appeal_how, &[("until", &day(appeal_until)), ("id", &d.record.decision_id)]),
        out_of_court: l.out_of_court.to_string(),
        judicial: l.judicial.to_string(),
    };
    let mut s = Statement {
        statement_id: d.record.decision_id.clone(),
        kind: "listing".into(),
        issued_at: d.record.decided_at.clone(),
        listing_id: Some(listing.to_string()),
        in_force: ctx.in_force,
        language: lang.into(),
        measure,
        territorial_scope: scope,
        duration: l.until_changed.to_string(),
        facts,
        evidence,
        source: ctx.source,
        automated_detection: detected_automatically,
        automated_decision: automated_decision.into(),
        ground,
        redress,
        text: String::new(),
    };
    s.text = render(&s, l, fill(l.title_listing, &[("listing", listing)]), reason.as_deref());
    Ok(Some(s))
}

/// The statement of a suspension or a warning.
pub fn for_measure(m: &Measure, pack: &Pack, lang: &str) -> Statement {
    let (l, lang) = letter(lang);
    let suspension = m.kind == "suspension";
    let until = m.ends_ms.map(day).unwrap_or_default();
    let policy = pack.policy("repeat_offenders");
    let reference =
        policy.and_then(|p| p.terms_reference.clone()).unwrap_or_else(|| "DSA (Reg. 2022/2065) art. 23".to_string());
    let explanation = [pack.seller_text("repeat_offenders", lang).map(str::to_string), Some(m.reason.clone())]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let appeal_until = add_months(m.starts_ms, pack.procedures.appeal_months);
    let mut s = Statement {
        statement_id: m.measure_id.clone(),
        kind: m.kind.clone(),
        issued_at: m.starts_at.clone(),
        listing_id: None,
        in_force: if suspension { m.in_force } else { m.lifted_at.is_none() },
        language: lang.into(),
        measure: if suspension { fill(l.suspension, &[("until", &until)]) } else { l.warning.to_string() },
        territorial_scope: vec!["EU".into()],
        duration: if suspension { fill(l.until, &[("until", &until)]) } else { String::new() },
        facts: fill(l.strikes, &[("count", &m.strikes.len().to_string())]),
        evidence: Vec::new(),
        source: "own_initiative".into(),
        automated_detection: false,
        automated_decision: "partially".into(),
        ground: Ground { kind: "incompatible_content".into(), reference, explanation },
        redress: Redress {
            appeal_until: time::rfc3339(appeal_until),
            appeal: fill(l.appeal_how, &[("until", &day(appeal_until)), ("id", &m.measure_id)]),
            out_of_court: l.out_of_court.to_string(),
            judicial: l.judicial.to_string(),
        },
        text: String::new(),
    };
    let title = if suspension { l.title_suspension } else { l.title_warning };
    s.text = render(&s, l, title.to_string(), None);
    s
}

fn render(s: &Statement, l: &Letter, title: String, reason: Option<&str>) -> String {
    let mut out = vec![title, String::new(), format!("{}:", l.headings[0]), s.measure.clone()];
    if !s.territorial_scope.is_empty() {
        out.push(fill(l.scope, &[("scope", &s.territorial_scope.join(", "))]));
    }
    if !s.duration.is_empty() {
        out.push(s.duration.clone());
    }
    out.extend([String::new(), format!("{}:", l.headings[1]), s.facts.clone()]);
    if !s.evidence.is_empty() {
        out.push(l.evidence.to_string());
        out.extend(s.evidence.iter().map(|e| format!("  - {}: \u{ab}{}\u{bb}", e.field, e.text)));
    }
    let automated = match s.automated_decision.as_str() {
        "fully" => l.automated_fully,
        "partially" if s.automated_detection => l.automated_partially,
        _ => l.automated_not,
    };
    out.extend([String::new(), format!("{}:", l.headings[2]), automated.to_string()]);
    let ground = if s.ground.kind == "illegal_content" { l.illegal } else { l.terms };
    out.extend([String::new(), format!("{}:", l.headings[3]), fill(ground, &[("reference", &s.ground.reference)])]);
    if !s.ground.explanation.is_empty() {
        out.push(s.ground.explanation.clone());
    }
    if let Some(r) = reason {
        out.push(fill(l.reason, &[("reason", r)]));
    }
    out.extend([
        String::new(),
        format!("{}:", l.headings[4]),
        s.redress.appeal.clone(),
        s.redress.out_of_court.clone(),
        s.redress.judicial.clone(),
    ]);
    out.join("\n")
}

/// The seller's language: asked, else their trader record's, else English.
pub fn language_of(tx: &mut Tx<'_>, seller_id: &str, asked: Option<&str>) -> Result<String, StoreError> {
    if let Some(l) = asked {
        return Ok(letter(l).1.to_string());
    }
    let recorded = crate::traders::language(tx, seller_id)?;
    Ok(letter(recorded.as_deref().unwrap_or("en")).1.to_string())
}

/// A page of a seller's statements, newest first: restrictive decisions on
/// their listings (after the audit index `before`, when paging), then —
/// on the first page — their suspensions and warnings.
pub fn for_seller(
    tx: &mut Tx<'_>,
    seller_id: &str,
    pack: &Pack,
    lang: &str,
    limit: u64,
    before: Option<u64>,
) -> Result<(Vec<Statement>, Option<u64>), StoreError> {
    let rows = tx.query(
        "SELECT d.audit_index FROM decisions d JOIN listings l ON l.listing_id = d.listing_id \
         WHERE l.seller_id = ?1 AND d.verdict IN ('block', 'restrict') AND d.audit_index < ?2 \
         ORDER BY d.audit_index DESC LIMIT ?3",
        &[seller_id.into(), Value::from(before.unwrap_or(u64::MAX >> 1)), Value::from(limit.clamp(1, 500))],
    )?;
    let mut out = Vec::new();
    if before.is_none() {
        out.extend(sellers::measures(tx, seller_id)?.iter().map(|m| for_measure(m, pack, lang)));
    }
    let mut last = None;
    for r in &rows {
        let index = r.uint(0)?;
        last = Some(index);
        let d = records::decision_at(tx, index)?;
        if let Some(s) = for_decision(tx, &d, pack, lang)? {
            out.push(s);
        }
    }
    let next = if rows.len() as u64 == limit.clamp(1, 500) { last } else { None };
    Ok((out, next))
}
