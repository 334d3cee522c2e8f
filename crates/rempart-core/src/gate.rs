//! The gate: a compiled pack plus the pure pipeline
//! normalise → extract → signals → policy → decision.

use std::sync::Arc;

use crate::decision::{Decision, Evidence, RuleMatch, SignalError};
use crate::extract::{extract, HeightContext, Quantity, QuantityKind};
use crate::listing::Listing;
use crate::matcher::{Hit, SetId};
use crate::normalize::{fold_word, Folded};
use crate::policy::expr::{Aggregate, FieldFilter};
use crate::policy::info::Found;
use crate::policy::{territory, Pack, PackError, Predicate, Trigger};

/// Signals the text pipeline itself fires, usable in `when` expressions
/// like external signals without being declared: `bidi_control` holds
/// when a text field contains a bidirectional control character
/// (`Bidi_Control`), which reorders what a buyer sees; its evidence is
/// each control's span. Policy decides what it is worth.
pub const TEXT_SIGNALS: [&str; 1] = [BIDI_CONTROL];

/// See [`TEXT_SIGNALS`].
pub const BIDI_CONTROL: &str = "bidi_control";

/// Evidence spans kept per signal in one match; the rest are counted in
/// [`RuleMatch::evidence_omitted`]. A description repeating a term ten
/// thousand times proves no more than sixteen of them do, and must not
/// cost megabytes of output.
pub const MAX_EVIDENCE_PER_SIGNAL: usize = 16;

/// Signals computed outside the text pipeline (an image found in a hash
/// bank, a near-duplicate of a removed listing), by name, with the
/// evidence to show for them. Names must be declared in the pack's
/// `external_signals`.
#[derive(Clone, Debug, Default)]
pub struct ExternalSignals {
    fired: Vec<(String, Vec<Evidence>)>,
    errors: Vec<SignalError>,
}

impl ExternalSignals {
    /// Records that signal `name` fired, with its evidence. Firing the same
    /// name again adds evidence to it.
    pub fn fire(&mut self, name: impl Into<String>, evidence: Vec<Evidence>) {
        let name = name.into();
        match self.fired.iter_mut().find(|(n, _)| *n == name) {
            Some((_, existing)) => existing.extend(evidence),
            None => self.fired.push((name, evidence)),
        }
    }

    /// Records that an input to the signals could not be used; the
    /// decision carries it in `signal_errors`.
    pub fn error(&mut self, error: SignalError) {
        self.errors.push(error);
    }

    fn get(&self, name: &str) -> Option<&[Evidence]> {
        self.fired.iter().find(|(n, _)| n == name).map(|(_, e)| e.as_slice())
    }
}

/// A compiled policy pack ready to screen listings.
///
/// `Gate` is immutable, `Send + Sync`, and cheap to share: screen from
/// many threads through a reference or an [`Arc`], and swap in a new one
/// atomically when a new pack is activated.
///
/// ```
/// use rempart_core::{Gate, Listing, Action};
///
/// let gate = Gate::with_default_pack().expect("the embedded pack compiles");
/// let decision = gate.screen(&Listing::new("L-1", "Tasse à café 350 ml"));
/// assert_eq!(decision.verdict, Action::Allow);
///
/// let decision = gate.screen(&Listing::new("L-2", "Poing américain 4 doigts acier"));
/// assert_eq!(decision.verdict, Action::Block);
/// let evidence = &decision.matches[0].evidence[0];
/// assert_eq!(evidence.text, "Poing américain");
/// ```
#[derive(Clone, Debug)]
pub struct Gate {
    pack: Arc<Pack>,
}

/// One text field of a listing, with its name for evidence.
struct Field<'a> {
    name: std::borrow::Cow<'a, str>,
    text: std::borrow::Cow<'a, str>,
    filter: FieldFilter,
}

/// What the pipeline found in one listing, before policies are applied.
struct Signals<'a> {
    fields: Vec<Field<'a>>,
    hits: Vec<(usize, Hit, usize, usize)>, // field index, hit, original start, original end
    /// Word index of each hit in its field, for `near`.
    hit_words: Vec<u32>,
    /// Per term set, a bit per field kind it was found in: rules whose
    /// sets did not fire are rejected without looking at the hits.
    set_fields: Vec<u8>,
    /// Per quantity kind, its range in `quantities` (sorted by kind).
    kind_ranges: [(u32, u32); QuantityKind::ALL.len()],
    quantities: Vec<(usize, Quantity)>,
    /// Per `[info]` item of the pack, where the listing carries it.
    infos: Vec<Option<Found<'a>>>,
    /// Each bidirectional control in any field, as evidence.
    bidi: Vec<Evidence>,
}

/// A piece of evidence before it is turned into strings.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Ref {
    Hit(usize),
    Quantity(usize),
    External(usize, usize),
    Info(usize),
}

impl Gate {
    /// A gate over a compiled pack.
    pub fn new(pack: Pack) -> Gate {
        Gate { pack: Arc::new(pack) }
    }

    /// A gate over the default FR/EU pack embedded in the library.
    #[cfg(feature = "default-pack")]
    pub fn with_default_pack() -> Result<Gate, PackError> {
        Pack::embedded().map(Gate::new)
    }

    /// The pack this gate screens with.
    pub fn pack(&self) -> &Pack {
        &self.pack
    }

    /// Screens one listing.
    pub fn screen(&self, listing: &Listing) -> Decision {
        self.screen_with(listing, &ExternalSignals::default())
    }

    /// Screens one listing with signals computed elsewhere.
    pub fn screen_with(&self, listing: &Listing, external: &ExternalSignals) -> Decision {
        let signals = self.signals(listing);
        // Text signals travel with the external ones (copied only when
        // one fired, which is rare).
        let with_text;
        let external = if signals.bidi.is_empty() {
            external
        } else {
            let mut all = external.clone();
            all.fire(BIDI_CONTROL, signals.bidi.clone());
            with_text = all;
            &with_text
        };
        let mut matches = Vec::new();
        for policy in &self.pack.policies {
            if !territory::reaches(&listing.ship_to, &policy.countries) {
                continue;
            }
            for rule in &policy.rules {
                // A cheap yes/no first; evidence only for rules that fire.
                if rule.trigger.as_ref().is_some_and(|t| !signals.may_hold(t, external))
                    || !holds(&rule.test, &signals, external)
                {
                    continue;
                }
                let mut refs = Vec::new();
                self.eval(&rule.test, &signals, external, &mut refs);
                let evidence_omitted = cap_evidence(&mut refs, &signals);
                let evidence = refs.iter().flat_map(|r| signals.evidence(*r, &self.pack, external)).collect();
                let missing = rule
                    .requires
                    .iter()
                    .filter(|&&i| signals.infos[i].is_none())
                    .map(|&i| self.pack.infos[i].name.clone())
                    .collect();
                matches.push(RuleMatch {
                    policy: policy.id.clone(),
                    rule: rule.id.clone(),
                    action: rule.action,
                    condition: rule.condition,
                    legal_basis: rule.legal_basis.as_ref().unwrap_or(&policy.legal_basis).clone(),
                    scope: policy.scope.clone(),
                    dsa_category: policy.dsa_category.clone(),
                    dsa_ground: policy.dsa_ground,
                    dsa_keywords: policy.dsa_keywords.clone(),
                    explain: rule.explain.clone(),
                    evidence,
                    missing,
                    evidence_omitted,
                });
            }
        }
        // Strictest first; stable, so pack order breaks ties.
        matches.sort_by_key(|m| std::cmp::Reverse(m.action));
        Decision {
            id: listing.id.clone(),
            verdict: Decision::verdict_of(&matches),
            matches,
            policy_version: self.pack.version.clone(),
            engine_version: crate::ENGINE_VERSION.to_string(),
            schema_version: crate::DECISION_SCHEMA_VERSION,
            signal_errors: external.errors.clone(),
        }
    }

    fn signals<'a>(&self, listing: &'a Listing) -> Signals<'a> {
        let mut fields = Vec::with_capacity(3 + listing.attributes.len());
        let mut contexts = Vec::with_capacity(fields.capacity());
        let mut push = |name: std::borrow::Cow<'a, str>, text: std::borrow::Cow<'a, str>, filter, context| {
            fields.push(Field { name, text, filter });
            contexts.push(context);
        };
        push("title".into(), listing.title.as_str().into(), FieldFilter::Title, HeightContext::Always);
        if let Some(d) = &listing.description {
            push("description".into(), d.as_str().into(), FieldFilter::Description, HeightContext::AfterHeightWord);
        }
        if let Some(c) = &listing.category {
            push("category".into(), c.as_str().into(), FieldFilter::Category, HeightContext::Never);
        }
        for (key, value) in &listing.attributes {
            let (text, context) = attribute_text(key, value);
            push(format!("attributes.{key}").into(), text, FieldFilter::Attributes, context);
        }
        let mut hits = Vec::new();
        let mut hit_words = Vec::new();
        let mut quantities = Vec::new();
        let mut bidi = Vec::new();
        for (i, field) in fields.iter().enumerate() {
            let folded = Folded::new(&field.text);
            bidi.extend(folded.bidi_controls().map(|(s, e)| bidi_evidence(field, s, e)));
            let found = self.pack.matcher.find(&folded);
            hit_words.extend(word_indices(folded.as_str().as_bytes(), &found));
            for hit in found {
                let (s, e) = folded.original_span(hit.start, hit.end);
                hits.push((i, hit, s, e));
            }
            quantities.extend(extract(&field.text, contexts[i]).into_iter().map(|q| (i, q)));
        }
        let mut set_fields = vec![0u8; self.pack.sets.len()];
        for (f, hit, _, _) in &hits {
            set_fields[hit.set] |= field_bit(fields[*f].filter);
        }
        // Grouped by kind so a comparison looks only at its own kind.
        quantities.sort_by_key(|(_, q)| q.kind);
        let mut kind_ranges = [(0u32, 0u32); QuantityKind::ALL.len()];
        for (i, (_, q)) in quantities.iter().enumerate() {
            let range = &mut kind_ranges[q.kind as usize];
            if range.0 == range.1 {
                *range = (i as u32, i as u32);
            }
            range.1 = i as u32 + 1;
        }
        let infos = if self.pack.infos.is_empty() {
            Vec::new()
        } else {
            let keys = crate::policy::info::attribute_keys(listing);
            self.pack.infos.iter().map(|item| item.find_with_keys(listing, &keys)).collect()
        };
        Signals { fields, hits, hit_words, set_fields, kind_ranges, quantities, infos, bidi }
    }

    fn eval(&self, test: &Predicate, s: &Signals, external: &ExternalSignals, out: &mut Vec<Ref>) -> bool {
        match test {
            Predicate::Set { set, field } => {
                let wanted = field.map_or(u8::MAX, field_bit);
                if s.set_fields[*set] & wanted == 0 {
                    return false;
                }
                let before = out.len();
                out.extend(
                    s.hits
                        .iter()
                        .enumerate()
                        .filter(|(_, (f, h, _, _))| {
                            h.set == *set && field.is_none_or(|want| s.fields[*f].filter == want)
                        })
                        .map(|(i, _)| Ref::Hit(i)),
                );
                out.len() > before
            }
            Predicate::Near { a, b, words } => {
                if s.set_fields[*a] == 0 || s.set_fields[*b] == 0 {
                    return false;
                }
                let of = |set: SetId| s.hits.iter().enumerate().filter(move |(_, (_, h, _, _))| h.set == set);
                let before = out.len();
                for (ia, (fa, _, _, _)) in of(*a) {
                    for (ib, (fb, _, _, _)) in of(*b) {
                        if fa == fb && s.hit_words[ia].abs_diff(s.hit_words[ib]) <= *words {
                            out.push(Ref::Hit(ia));
                            out.push(Ref::Hit(ib));
                        }
                    }
                }
                out.len() > before
            }
            Predicate::External(name) => match external.get(name) {
                Some(evidence) => {
                    let idx = external.fired.iter().position(|(n, _)| n == name).unwrap_or(0);
                    out.extend((0..evidence.len()).map(|e| Ref::External(idx, e)));
                    true
                }
                None => false,
            },
            Predicate::Info(id) => {
                let present = s.infos[*id].is_some();
                if present {
                    out.push(Ref::Info(*id));
                }
                present
            }
            Predicate::Has(kind) => {
                let before = out.len();
                out.extend(s.of_kind(*kind).map(Ref::Quantity));
                out.len() > before
            }
            Predicate::Compare { kind, aggregate, op, value } => {
                let mut candidates = s.of_kind(*kind).map(|i| (i, s.quantities[i].1.value));
                let chosen: Vec<usize> = match aggregate {
                    Aggregate::Any => candidates.filter(|(_, v)| op.holds(*v, *value)).map(|(i, _)| i).collect(),
                    Aggregate::Max | Aggregate::Min => {
                        let first = candidates.next();
                        let best = candidates.fold(first, |best, c| match (best, aggregate) {
                            (Some(b), Aggregate::Max) if c.1 > b.1 => Some(c),
                            (Some(b), Aggregate::Min) if c.1 < b.1 => Some(c),
                            (b, _) => b,
                        });
                        best.filter(|(_, v)| op.holds(*v, *value)).map(|(i, _)| vec![i]).unwrap_or_default()
                    }
                };
                out.extend(chosen.iter().map(|&i| Ref::Quantity(i)));
                !chosen.is_empty()
            }
            Predicate::Not(inner) => !self.eval(inner, s, external, &mut Vec::new()),
            Predicate::All(items) => {
                let mut scratch = Vec::new();
                for item in items {
                    if !self.eval(item, s, external, &mut scratch) {
                        return false;
                    }
                }
                out.extend(scratch);
                true
            }
            Predicate::Any(items) => {
                let mut any = false;
                for item in items {
                    any |= self.eval(item, s, external, out);
                }
                any
            }
        }
    }
}

/// Drops repeated evidence and keeps at most [`MAX_EVIDENCE_PER_SIGNAL`]
/// pieces per signal (term set, quantity kind, external signal), in
/// order. Returns how many were left out.
fn cap_evidence(refs: &mut Vec<Ref>, s: &Signals) -> usize {
    #[derive(PartialEq, Eq, Hash)]
    enum Source {
        Set(SetId),
        Kind(QuantityKind),
        External(usize),
        Info(usize),
    }
    let mut seen = std::collections::HashSet::new();
    let mut per_source: std::collections::HashMap<Source, usize> = std::collections::HashMap::new();
    let mut omitted = 0;
    refs.retain(|r| {
        if !seen.insert(*r) {
            return false;
        }
        let source = match *r {
            Ref::Hit(i) => Source::Set(s.hits[i].1.set),
            Ref::Quantity(i) => Source::Kind(s.quantities[i].1.kind),
            Ref::External(n, _) => Source::External(n),
            Ref::Info(i) => Source::Info(i),
        };
        let count = per_source.entry(source).or_insert(0);
        *count += 1;
        let keep = *count <= MAX_EVIDENCE_PER_SIGNAL;
        omitted += usize::from(!keep);
        keep
    });
    omitted
}

/// The evidence for one bidirectional control at `start..end` of a field.
fn bidi_evidence(field: &Field, start: usize, end: usize) -> Evidence {
    let text = field.text.get(start..end).unwrap_or_default().to_string();
    let code = text.chars().next().map_or(0, |c| c as u32);
    Evidence {
        field: field.name.to_string(),
        start,
        end,
        text,
        signal: BIDI_CONTROL.to_string(),
        detail: Some(format!(
            "bidirectional control U+{code:04X}: the text around it is displayed in another order than it is written"
        )),
    }
}

/// The index of the word each hit starts in (for `near`), in one pass over
/// the canonical text: hits come sorted by set, not position, and counting
/// from the start for each would be quadratic on long descriptions.
fn word_indices(canonical: &[u8], hits: &[Hit]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..hits.len()).collect();
    order.sort_unstable_by_key(|&k| hits[k].start);
    let mut words = vec![0u32; hits.len()];
    let (mut at, mut count) = (0usize, 0u32);
    for k in order {
        let start = hits[k].start.min(canonical.len());
        count += canonical[at..start].iter().filter(|&&b| b == b' ').count() as u32;
        at = start;
        words[k] = count;
    }
    words
}

/// Whether a predicate is true, without collecting evidence.
fn holds(test: &Predicate, s: &Signals, external: &ExternalSignals) -> bool {
    match test {
        Predicate::Set { set, field } => s.set_fields[*set] & field.map_or(u8::MAX, field_bit) != 0,
        Predicate::Near { a, b, words } => {
            s.set_fields[*a] != 0
                && s.set_fields[*b] != 0
                && s.hits.iter().enumerate().any(|(ia, (fa, ha, _, _))| {
                    ha.set == *a
                        && s.hits.iter().enumerate().any(|(ib, (fb, hb, _, _))| {
                            hb.set == *b && fa == fb && s.hit_words[ia].abs_diff(s.hit_words[ib]) <= *words
                        })
                })
        }
        Predicate::External(name) => external.get(name).is_some(),
        Predicate::Info(id) => s.infos[*id].is_some(),
        Predicate::Has(kind) => s.of_kind(*kind).next().is_some(),
        Predicate::Compare { kind, aggregate, op, value } => {
            let mut values = s.of_kind(*kind).map(|i| s.quantities[i].1.value);
            match aggregate {
                Aggregate::Any => values.any(|v| op.holds(v, *value)),
                Aggregate::Max => values.reduce(f64::max).is_some_and(|v| op.holds(v, *value)),
                Aggregate::Min => values.reduce(f64::min).is_some_and(|v| op.holds(v, *value)),
            }
        }
        Predicate::Not(inner) => !holds(inner, s, external),
        Predicate::All(items) => items.iter().all(|i| holds(i, s, external)),
        Predicate::Any(items) => items.iter().any(|i| holds(i, s, external)),
    }
}

impl Signals<'_> {
    fn may_hold(&self, trigger: &Trigger, external: &ExternalSignals) -> bool {
        trigger.sets.iter().any(|&set| self.set_fields[set] != 0)
            || trigger.kinds.iter().any(|&kind| !self.of_kind(kind).is_empty())
            || (trigger.external && !external.fired.is_empty())
    }

    fn of_kind(&self, kind: QuantityKind) -> std::ops::Range<usize> {
        let (start, end) = self.kind_ranges[kind as usize];
        start as usize..end as usize
    }

    fn evidence(&self, r: Ref, pack: &Pack, external: &ExternalSignals) -> Option<Evidence> {
        match r {
            Ref::Hit(i) => {
                let (f, hit, s, e) = self.hits[i];
                let set: SetId = hit.set;
                let field = &self.fields[f];
                Some(Evidence {
                    field: field.name.to_string(),
                    start: s,
                    end: e,
                    text: field.text.get(s..e).unwrap_or_default().to_string(),
                    signal: pack.sets[set].name.clone(),
                    detail: None,
                })
            }
            Ref::Quantity(i) => {
                let (f, q) = &self.quantities[i];
                let field = &self.fields[*f];
                Some(Evidence {
                    field: field.name.to_string(),
                    start: q.start,
                    end: q.end,
                    text: field.text.get(q.start..q.end).unwrap_or_default().to_string(),
                    signal: format!("{}={}{}", q.kind.name(), round(q.value), q.kind.canonical_unit()),
                    detail: None,
                })
            }
            Ref::External(n, e) => external.fired.get(n).and_then(|(_, ev)| ev.get(e)).cloned(),
            Ref::Info(id) => self.infos[id].as_ref().map(|found| Evidence {
                field: found.field.to_string(),
                start: 0,
                end: found.text.len(),
                text: found.text.to_string(),
                signal: pack.infos[id].name.clone(),
                detail: None,
            }),
        }
    }
}

fn field_bit(filter: FieldFilter) -> u8 {
    match filter {
        FieldFilter::Title => 1,
        FieldFilter::Description => 2,
        FieldFilter::Category => 4,
        FieldFilter::Attributes => 8,
    }
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Attribute keys whose lengths state how tall the product is.
const HEIGHT_KEYS: &[&str] = &[
    "height",
    "size",
    "taille",
    "hauteur",
    "grosse",
    "hohe",
    "altura",
    "altezza",
    "hoogte",
    "wzrost",
    "wysokosc",
    "body height",
    "body size",
    "tall",
];

/// The text to scan for an attribute, and whether its lengths are
/// heights. A bare number under a key naming its unit (`height_cm: 100`)
/// is read with that unit.
fn attribute_text<'a>(key: &str, value: &'a str) -> (std::borrow::Cow<'a, str>, HeightContext) {
    let key_words: Vec<String> =
        key.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(fold_word).collect();
    let joined = key_words.join(" ");
    let is_height = HEIGHT_KEYS.iter().any(|h| joined == *h || key_words.iter().any(|w| w == h));
    let context = if is_height { HeightContext::Always } else { HeightContext::Never };
    let trimmed = value.trim();
    let bare_number = !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b',');
    if bare_number {
        if let Some(unit) = key_words.iter().rev().find(|w| KEY_UNITS.contains(&w.as_ref())) {
            return (format!("{trimmed} {unit}").into(), context);
        }
    }
    (value.into(), context)
}

const KEY_UNITS: &[&str] = &["mm", "cm", "m", "in", "ml", "l", "mw", "w", "v", "kv", "j", "g", "kg", "lbs", "lb"];

#[cfg(test)]
mod tests {
    use super::*;

    /// A rule's trigger is a necessary condition: whenever the rule holds,
    /// its trigger says it may. Checked on every test case of the default
    /// pack and the shipped example listings, with and without external
    /// signals.
    #[test]
    fn triggers_never_reject_a_rule_that_holds() {
        let gate = Gate::with_default_pack().expect("pack");
        let examples = include_str!("../../../examples/listings.jsonl");
        let mut listings: Vec<Listing> = gate.pack.tests.iter().map(|t| t.listing.clone()).collect();
        listings.extend(examples.lines().filter_map(|l| Listing::from_json(l.as_bytes()).ok()));
        let mut all_fired = ExternalSignals::default();
        for name in &gate.pack.external_signals {
            all_fired.fire(name.clone(), Vec::new());
        }
        let mut held = 0;
        for external in [ExternalSignals::default(), all_fired] {
            for listing in &listings {
                let signals = gate.signals(listing);
                for rule in gate.pack.policies.iter().flat_map(|p| &p.rules) {
                    if holds(&rule.test, &signals, &external) {
                        held += 1;
                        let trigger = rule.trigger.as_ref();
                        assert!(trigger.is_none_or(|t| signals.may_hold(t, &external)), "{}", rule.id);
                    }
                }
            }
        }
        assert!(held > 500, "the check exercised {held} holding rules");
    }
}
