//! The gate: a compiled pack plus the pure pipeline
//! normalise → extract → signals → policy → decision.

use std::borrow::Cow;
use std::sync::Arc;

use crate::decision::{Action, Decision, DecisionWriter, Downgrade, DowngradeReason, Evidence, RuleMatch, SignalError};
use crate::extract::{extract, HeightContext, Quantity, QuantityKind};
use crate::language::declared_settles;
use crate::lexicon::{Lexicon, WordList};
use crate::listing::Listing;
use crate::matcher::{Hit, SetId};
use crate::normalize::{fold_words, is_folded_name, Folded};
use crate::policy::expr::{Aggregate, FieldFilter};
use crate::policy::info::{find_one as find_info, AcceptedNames, Found as InfoFound};
use crate::policy::rule_index::{Candidates, RuleIndex};
use crate::policy::InfoItem;
use crate::policy::{territory, HitSource, Pack, PackError, Policy, Predicate, Rule, Trigger};
use crate::scratch;

mod languages;

thread_local! {
    /// Each screening thread's fold buffers, reused field after field
    /// ([`Folded::refold`], [`crate::scratch`]).
    static FOLD_BUFFERS: std::cell::Cell<Folded> = std::cell::Cell::default();
    /// The hits of one field, reused the same way.
    static FIELD_HITS: std::cell::Cell<Vec<Hit>> = std::cell::Cell::default();
    /// A listing's hits and per-set fields, reused listing after listing
    /// ([`Signals::recycle`]).
    static SIGNAL_BUFFERS: std::cell::Cell<SignalBuffers> = std::cell::Cell::default();
}

/// The buffers of [`Signals`] that every listing with a hit would
/// allocate: two allocations and a reallocation a listing, about 500
/// instructions with their frees (BENCHMARKS.md, issue 14, seventeenth
/// step).
#[derive(Default)]
struct SignalBuffers {
    hits: Vec<Found>,
    set_fields: Vec<u8>,
}

impl scratch::HeapBytes for SignalBuffers {
    fn heap_bytes(&self) -> usize {
        self.hits.heap_bytes() + self.set_fields.heap_bytes()
    }
}

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

/// The term sets found in a listing (index = position in `Pack::sets`),
/// from [`Gate::screen_traced`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SetsFound(Vec<u8>);

impl SetsFound {
    /// Whether term set `set` (an index into `Pack::sets`) was found in any field.
    pub fn contains(&self, set: usize) -> bool {
        self.0.get(set).is_some_and(|&fields| fields != 0)
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
    /// The pack's rules by what their triggers need. Built here rather
    /// than with the pack, whose fields are public: an index of rules a
    /// caller had edited since would skip rules silently.
    rules: Arc<RuleIndex>,
    /// The `[info]` items' accepted attribute names, prepared here for the
    /// same reason.
    info_names: Arc<AcceptedNames>,
    /// Writes this gate's decisions as JSON.
    writer: Arc<DecisionWriter>,
}

/// One text field of a listing, with its name for evidence.
struct Field<'a> {
    name: FieldName<'a>,
    text: Cow<'a, str>,
    filter: FieldFilter,
}

impl Field<'_> {
    /// The text quantities are read from when it is not the field's own (a
    /// bare attribute number with the key's unit), and whether its lengths
    /// are heights.
    fn quantity_reading(&self, lex: &Lexicon) -> (Option<String>, HeightContext) {
        match (&self.name, self.filter) {
            (FieldName::Attribute(key), _) => attribute_text(key, &self.text, lex),
            (_, FieldFilter::Title) => (None, HeightContext::Always),
            (_, FieldFilter::Description) => (None, HeightContext::AfterHeightWord),
            _ => (None, HeightContext::Never),
        }
    }
}

/// A field's name as evidence gives it. An attribute's is written out
/// (`attributes.KEY`) only when evidence is, not for every attribute of
/// every listing.
enum FieldName<'a> {
    Listing(&'static str),
    Attribute(&'a str),
}

impl std::fmt::Display for FieldName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldName::Listing(name) => f.write_str(name),
            FieldName::Attribute(key) => write!(f, "attributes.{key}"),
        }
    }
}

/// A term hit with where it lies.
#[derive(Clone, Copy)]
struct Found {
    field: usize,
    hit: Hit,
    /// Byte span in the original field text.
    start: usize,
    end: usize,
    /// First and last word of the hit in its field (canonical text), for
    /// `near` and `without` distances.
    words: (u32, u32),
    /// A false friend in a field whose language could not be told: a rule
    /// that needs it decides at most `review`.
    uncertain: bool,
}

/// What the pipeline found in one listing, before policies are applied.
struct Signals<'a> {
    fields: Fields<'a>,
    hits: Vec<Found>,
    /// Per term set, a bit per field kind it was found in: rules whose
    /// sets did not fire are rejected without looking at the hits.
    set_fields: Vec<u8>,
    /// The same, counting only hits that are not `uncertain`; present only
    /// when some hit is.
    certain_set_fields: Option<Vec<u8>>,
    /// The fields' quantities, read when a rule first asks for one. Rules
    /// read quantities beside a term (`sex_doll & max(height) < 140 cm`),
    /// which few listings hold, and reading every field of every listing
    /// was a tenth of the screening instructions (BENCHMARKS.md, issue 14,
    /// thirteenth step).
    quantities: std::cell::OnceCell<Quantities>,
    /// What quantities are read with.
    lexicon: &'a Lexicon,
    /// Per `[info]` item of the pack, where the listing carries it:
    /// looked up when a rule first reads it. Rules read few items of most
    /// listings (`trader_offer` alone when the seller is not a trader), and
    /// looking up every item of every listing was 2 % of the screening
    /// instructions (BENCHMARKS.md, issue 14, eleventh step).
    infos: smallvec::SmallVec<[std::cell::OnceCell<Option<InfoFound<'a>>>; 16]>,
    /// What the lookup reads.
    info_source: (&'a [InfoItem], &'a AcceptedNames, &'a Listing),
    /// Each bidirectional control in any field, as evidence.
    bidi: Vec<Evidence>,
}

/// The quantities of a listing's fields, grouped by kind.
struct Quantities {
    /// Each with the index of its field, sorted by kind.
    found: Vec<(usize, Quantity)>,
    /// Per quantity kind, its range in `found`.
    kind_ranges: [(u32, u32); QuantityKind::ALL.len()],
}

impl Quantities {
    fn read(fields: &[Field], lex: &Lexicon) -> Quantities {
        let mut found = Vec::new();
        for (i, field) in fields.iter().enumerate() {
            let (quantity_text, heights) = field.quantity_reading(lex);
            let (text, synthetic) = match &quantity_text {
                Some(text) => (text.as_str(), true),
                None => (&*field.text, false),
            };
            found.extend(extract(text, heights, lex).into_iter().map(|q| (i, map_quantity(q, synthetic, &field.text))));
        }
        // Grouped by kind so a comparison looks only at its own kind.
        found.sort_by_key(|(_, q)| q.kind);
        let mut kind_ranges = [(0u32, 0u32); QuantityKind::ALL.len()];
        for (i, (_, q)) in found.iter().enumerate() {
            let range = &mut kind_ranges[q.kind as usize];
            if range.0 == range.1 {
                *range = (i as u32, i as u32);
            }
            range.1 = i as u32 + 1;
        }
        Quantities { found, kind_ranges }
    }
}

/// A listing's text fields, on the stack for most listings (title,
/// description, category and a few attributes).
type Fields<'a> = smallvec::SmallVec<[Field<'a>; 8]>;

/// A piece of evidence before it is turned into strings.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Ref {
    Hit(usize),
    Quantity(usize),
    External(usize, usize),
    Info(usize),
}

/// How a field's text is folded and matched: both give the same hits,
/// spans and word positions (see [`Gate::screen_reference`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum TextPath {
    /// The canonical text folded with two scans of each ASCII run, and
    /// every regular expression run on every field.
    Reference,
    /// One scan per ASCII run, and regular expressions only where they
    /// can match.
    Fast,
}

/// How a rule's expression is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// As written.
    Normal,
    /// Without the hits of false friends whose language is unsure: a rule
    /// that holds only with them is held to `review`.
    CertainOnly,
    /// With every exception that is not `certain` ignored: a `block` rule
    /// that holds only this way was cancelled by an unsure exception and
    /// goes to review.
    Relaxed,
}

/// Indices of hits (or quantities) a predicate reads: on the stack for
/// the few most rules see, so that reading a rule allocates nothing.
type HitList = smallvec::SmallVec<[usize; 8]>;

/// One reading of the rules over one listing's signals.
struct Reader<'s, 'a> {
    s: &'s Signals<'a>,
    external: &'s ExternalSignals,
    pack: &'s Pack,
    mode: Mode,
}

impl Gate {
    /// A gate over a compiled pack.
    pub fn new(pack: Pack) -> Gate {
        let rules = Arc::new(RuleIndex::new(&pack.policies));
        let info_names = Arc::new(AcceptedNames::new(&pack.infos));
        let writer = Arc::new(DecisionWriter::new(&pack.version));
        Gate { pack: Arc::new(pack), rules, info_names, writer }
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

    /// Appends `decision`'s JSON to `out`, byte for byte as
    /// `serde_json::to_writer` writes it, faster for the decisions of this
    /// gate's pack that found nothing ([`DecisionWriter`]).
    pub fn write_json(&self, decision: &Decision, out: &mut Vec<u8>) -> serde_json::Result<()> {
        self.writer.write(decision, out)
    }

    /// Screens one listing.
    pub fn screen(&self, listing: &Listing) -> Decision {
        self.screen_with(listing, &ExternalSignals::default())
    }

    /// Screens one listing with signals computed elsewhere.
    pub fn screen_with(&self, listing: &Listing, external: &ExternalSignals) -> Decision {
        self.screen_and_read(listing, external, |_| ()).0
    }

    /// Screens one listing and also says which term sets were found in it,
    /// found or not by a rule that fired: what a stage outside the core
    /// (the semantic cascade) uses to pick the listings worth more work,
    /// without matching the text a second time.
    pub fn screen_traced(&self, listing: &Listing, external: &ExternalSignals) -> (Decision, SetsFound) {
        self.screen_and_read(listing, external, |signals| SetsFound(signals.set_fields.clone()))
    }

    /// Screens one listing on the fast text path and reads `what` from its
    /// signals before their buffers go back for the next listing.
    fn screen_and_read<T: PartialEq>(
        &self,
        listing: &Listing,
        external: &ExternalSignals,
        what: impl Fn(&Signals) -> T,
    ) -> (Decision, T) {
        let mut signals = self.signals(listing, TextPath::Fast);
        let read = if signals.languages_pending() {
            self.read_whatever_the_language(listing, external, &mut signals, &what)
        } else {
            (self.decide(listing, external, &signals), what(&signals))
        };
        signals.recycle();
        read
    }

    /// Screens one listing through the reference text path: every field
    /// folded into a canonical string, then matched, as before issue 14
    /// (the offset map is shared: its runs are held to per-byte vectors
    /// by their own property test). Kept as the oracle the fast
    /// path is tested against: its decisions must be identical to
    /// [`Gate::screen_with`]'s, byte for byte once serialised.
    #[doc(hidden)]
    pub fn screen_reference(&self, listing: &Listing, external: &ExternalSignals) -> Decision {
        let signals = self.signals(listing, TextPath::Reference);
        self.decide(listing, external, &signals)
    }

    fn decide(&self, listing: &Listing, external: &ExternalSignals, signals: &Signals) -> Decision {
        debug_assert!(!signals.languages_pending(), "false friends judged before the rules read them");
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
        let read = |mode| Reader { s: signals, external, pack: &self.pack, mode };
        let (normal, certain_only, relaxed) = (read(Mode::Normal), read(Mode::CertainOnly), read(Mode::Relaxed));
        let mut matches = Vec::new();
        // A policy none of whose rules may hold adds nothing.
        for policy_rules in self.candidate_rules(signals, external).chunk_by(|a, b| a.0 == b.0) {
            let policy = &self.pack.policies[policy_rules[0].0 as usize];
            if !territory::reaches(&listing.ship_to, &policy.countries) {
                continue;
            }
            let first = matches.len();
            let mut fallbacks = Vec::new();
            for &(_, r) in policy_rules {
                let rule = &policy.rules[r as usize];
                debug_assert!(rule.trigger.as_ref().is_none_or(|t| signals.may_hold(t, external)), "{}", rule.id);
                // A cheap yes/no first; evidence only for rules that fire.
                if !normal.eval(&rule.test, false, None) {
                    let cancelled = rule.action == Action::Block
                        && !rule.uncertain_exceptions.is_empty()
                        && relaxed.eval(&rule.test, false, None);
                    if cancelled {
                        fallbacks.push(rule);
                    }
                    continue;
                }
                // A block that holds only thanks to a false friend of unsure
                // language is a review.
                let unsure_language = rule.action == Action::Block
                    && signals.certain_set_fields.is_some()
                    && !certain_only.eval(&rule.test, false, None);
                let downgraded = unsure_language
                    .then_some(Downgrade { from: rule.action, reason: DowngradeReason::UncertainLanguage });
                matches.push(self.rule_match(policy, rule, &normal, &[], downgraded));
            }
            // A block an unsure exception cancelled goes to review, unless
            // the policy already holds the listing for review or blocks it.
            let policy_holds = matches[first..].iter().any(|m| m.action >= Action::Review);
            if !policy_holds {
                for rule in fallbacks {
                    let downgraded = Downgrade { from: rule.action, reason: DowngradeReason::UncertainException };
                    matches.push(self.rule_match(policy, rule, &relaxed, &rule.uncertain_exceptions, Some(downgraded)));
                }
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

    /// The rules whose trigger the signals satisfy, and those without one,
    /// in pack order: the only rules that may hold.
    fn candidate_rules(&self, signals: &Signals, external: &ExternalSignals) -> Candidates {
        // Quantities are read for this only when some rule needs one of a
        // kind to hold and has no term that it needs as well.
        let kinds = self.rules.has_kind_triggers().then_some(QuantityKind::ALL);
        self.rules.candidates(
            signals.hits.iter().map(|found| found.hit.set),
            kinds.into_iter().flatten().filter(|&kind| !signals.of_kind(kind).is_empty()),
            !external.fired.is_empty(),
        )
    }

    /// The match of a rule that holds under `reader`, with its evidence
    /// (plus the hits of `exceptions`, marked as such).
    fn rule_match(
        &self,
        policy: &Policy,
        rule: &Rule,
        reader: &Reader,
        exceptions: &[SetId],
        downgraded: Option<Downgrade>,
    ) -> RuleMatch {
        let mut refs = Vec::new();
        reader.eval(&rule.test, false, Some(&mut refs));
        let s = reader.s;
        let evidence_omitted = cap_evidence(&mut refs, s);
        let mut evidence: Vec<Evidence> =
            refs.iter().flat_map(|r| s.evidence(*r, &self.pack, reader.external)).collect();
        for (i, found) in s.hits.iter().enumerate() {
            if exceptions.contains(&found.hit.set) {
                if let Some(mut e) = s.evidence(Ref::Hit(i), &self.pack, reader.external) {
                    e.detail = Some("exception".into());
                    evidence.push(e);
                }
            }
        }
        let missing =
            rule.requires.iter().filter(|&&i| s.info(i).is_none()).map(|&i| self.pack.infos[i].name.clone()).collect();
        RuleMatch {
            policy: policy.id.clone(),
            rule: rule.id.clone(),
            action: downgraded.map_or(rule.action, |_| Action::Review),
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
            downgraded,
        }
    }

    fn signals<'a>(&'a self, listing: &'a Listing, path: TextPath) -> Signals<'a> {
        let mut fields = Fields::new();
        let mut push = |name: FieldName<'a>, text: &'a str, filter| {
            fields.push(Field { name, text: text.into(), filter });
        };
        push(FieldName::Listing("title"), &listing.title, FieldFilter::Title);
        if let Some(d) = &listing.description {
            push(FieldName::Listing("description"), d, FieldFilter::Description);
        }
        if let Some(c) = &listing.category {
            push(FieldName::Listing("category"), c, FieldFilter::Category);
        }
        for (key, value) in &listing.attributes {
            push(FieldName::Attribute(key), value, FieldFilter::Attributes);
        }
        let declared = languages::declared(listing);
        let SignalBuffers { mut hits, mut set_fields } = scratch::take(&SIGNAL_BUFFERS);
        hits.clear();
        let mut bidi = Vec::new();
        let mut folded = scratch::take(&FOLD_BUFFERS);
        let mut field_hits = scratch::take(&FIELD_HITS);
        for (i, field) in fields.iter().enumerate() {
            // The offset map is built for every field: a lean fold with the
            // map rebuilt for fields with a hit was measured and lost, as
            // more than half of the fields of real listings hold a hit of
            // some set (BENCHMARKS.md).
            match path {
                TextPath::Reference => folded = Folded::new_reference(&field.text),
                TextPath::Fast => folded.refold(&field.text),
            }
            self.pack.matcher.find_into(&folded, path == TextPath::Reference, &mut field_hits);
            bidi.extend(folded.bidi_controls().map(|(s, e)| bidi_evidence(field, s, e)));
            if !field_hits.is_empty() {
                hits.reserve(field_hits.len());
                let first = hits.len();
                for mut hit in field_hits.iter().copied() {
                    // A false friend of the declared language is valid; the
                    // others keep their languages until the field's is
                    // known (`languages.rs`).
                    if hit.language.is_some_and(|bound| declared_settles(declared, bound)) {
                        hit.language = None;
                    }
                    let (start, end) = folded.original_span(hit.start, hit.end);
                    hits.push(Found { field: i, hit, start, end, words: (0, 0), uncertain: false });
                }
                number_words(folded.as_str().as_bytes(), &mut hits[first..]);
            }
        }
        scratch::put_back(&FOLD_BUFFERS, folded);
        scratch::put_back(&FIELD_HITS, field_hits);
        set_fields.clear();
        set_fields.resize(self.pack.sets.len(), 0);
        let info_source = (self.pack.infos.as_slice(), &*self.info_names, listing);
        let infos = std::iter::repeat_with(std::cell::OnceCell::new).take(self.pack.infos.len()).collect();
        let quantities = std::cell::OnceCell::new();
        if path == TextPath::Reference {
            // The reference reads them up front, as before they were read
            // on demand.
            let _ = quantities.set(Quantities::read(&fields, &self.pack.lexicon));
        }
        let lexicon = &self.pack.lexicon;
        let certain_set_fields = None;
        let mut signals =
            Signals { fields, hits, set_fields, certain_set_fields, quantities, lexicon, infos, info_source, bidi };
        match (signals.languages_pending(), path) {
            (false, _) => signals.count_sets(),
            // The reference detects as before: every field with a false
            // friend the declared language does not settle.
            (true, TextPath::Reference) => {
                let raw = signals.hits.clone();
                signals.settle_by_detection(&raw);
            }
            // The fast path settles them once it knows whether the
            // decision depends on them (`Gate::read_whatever_the_language`).
            (true, TextPath::Fast) => {}
        }
        signals
    }
}

/// Sets the first and last word of each hit of `found` (all of one
/// field): the index of the word a byte of the canonical text lies in is
/// the number of spaces before it.
///
/// The spaces are counted between the hits' ends, taken in order, and
/// only up to the last: a count the compiler turns into vector compares
/// of 16 or 32 bytes at a time. Finding every space of the field first
/// (`memchr` a space at a time, for a binary search after) cost a call
/// per word, 1,185 instructions per listing (BENCHMARKS.md, issue 14,
/// fifteenth step); a count from the field's start for each hit would be
/// quadratic in a long description full of hits.
fn number_words(canonical: &[u8], found: &mut [Found]) {
    // Each hit's first and last byte: (byte, hit, whether it is the last).
    // Filled and read in place: collecting into it and iterating it by
    // value each moved its 400 bytes with a `memcpy` call.
    let mut ends: smallvec::SmallVec<[(usize, usize, bool); 16]> = smallvec::SmallVec::new();
    ends.extend(found.iter().enumerate().flat_map(|(i, f)| [(f.hit.start, i, false), (f.hit.end - 1, i, true)]));
    ends.sort_unstable();
    let (mut counted_to, mut spaces) = (0, 0u32);
    for &(byte, i, last) in &ends {
        spaces += canonical[counted_to..byte].iter().filter(|&&b| b == b' ').count() as u32;
        counted_to = byte;
        match last {
            false => found[i].words.0 = spaces,
            true => found[i].words.1 = spaces,
        }
    }
}

/// Words between two hits of one field: 0 when they overlap, 1 when they
/// are next to each other.
fn word_gap(a: (u32, u32), b: (u32, u32)) -> u32 {
    if a.1 < b.0 {
        b.0 - a.1
    } else {
        // `b` before `a`, or overlapping (0).
        a.0.saturating_sub(b.1)
    }
}

/// Drops repeated evidence and keeps at most [`MAX_EVIDENCE_PER_SIGNAL`]
/// pieces per signal (term set, quantity kind, external signal), in
/// order. Returns how many were left out.
fn cap_evidence(refs: &mut Vec<Ref>, s: &Signals) -> usize {
    if refs.len() <= STACKED_REFS {
        cap_evidence_stacked(refs, s)
    } else {
        cap_evidence_hashed(refs, s)
    }
}

/// Up to this many refs, [`cap_evidence`] remembers the refs it met in a
/// stack array: a rule's evidence is nearly always this short, and
/// scanning so few costs less than hashing into two heap tables, which
/// were allocated for every rule that held.
const STACKED_REFS: usize = 64;

/// What a piece of evidence is counted against for the cap.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Source {
    Set(SetId),
    Kind(QuantityKind),
    External(usize),
    Info(usize),
}

impl Source {
    fn of(r: Ref, s: &Signals) -> Source {
        match r {
            Ref::Hit(i) => Source::Set(s.hits[i].hit.set),
            Ref::Quantity(i) => Source::Kind(s.quantity(i).kind),
            Ref::External(n, _) => Source::External(n),
            Ref::Info(i) => Source::Info(i),
        }
    }
}

/// [`cap_evidence`] of at most [`STACKED_REFS`] refs, without allocating.
fn cap_evidence_stacked(refs: &mut Vec<Ref>, s: &Signals) -> usize {
    let mut met = [(Ref::Info(0), Source::Info(0)); STACKED_REFS];
    let mut len = 0;
    retain_capped(refs, |r| {
        // `len` grows only through `get_mut`, so it never passes the array.
        let earlier = &met[..len];
        if earlier.iter().any(|&(m, _)| m == r) {
            return None;
        }
        let source = Source::of(r, s);
        let count = 1 + earlier.iter().filter(|&&(_, m)| m == source).count();
        if let Some(slot) = met.get_mut(len) {
            *slot = (r, source);
            len += 1;
        }
        Some(count)
    })
}

/// [`cap_evidence`] of any number of refs.
fn cap_evidence_hashed(refs: &mut Vec<Ref>, s: &Signals) -> usize {
    let mut seen = std::collections::HashSet::new();
    let mut per_source: std::collections::HashMap<Source, usize> = std::collections::HashMap::new();
    retain_capped(refs, |r| {
        if !seen.insert(r) {
            return None;
        }
        let count = per_source.entry(Source::of(r, s)).or_insert(0);
        *count += 1;
        Some(*count)
    })
}

/// Keeps the refs `tally` meets for the first time, at most
/// [`MAX_EVIDENCE_PER_SIGNAL`] per source, and returns how many it left
/// out for the cap. `tally` gives `None` for a ref met before, else how
/// many distinct refs of its source it has met, this one included.
fn retain_capped(refs: &mut Vec<Ref>, mut tally: impl FnMut(Ref) -> Option<usize>) -> usize {
    let mut omitted = 0;
    refs.retain(|&r| {
        let Some(count) = tally(r) else {
            return false;
        };
        let keep = count <= MAX_EVIDENCE_PER_SIGNAL;
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

impl Reader<'_, '_> {
    /// Whether `test` holds; with `out`, also collects its evidence.
    /// `negated` says the predicate sits under an odd number of `!`: in
    /// [`Mode::Relaxed`] what is found there is read as absent, since it
    /// acts as an exception — unless it is a `certain` set restricted to a
    /// field.
    fn eval(&self, test: &Predicate, negated: bool, mut out: Option<&mut Vec<Ref>>) -> bool {
        let s = self.s;
        match test {
            Predicate::Set { set, field } => {
                let wanted = field.map_or(u8::MAX, field_bit);
                if self.ignored(*set, negated && field.is_none(), negated) || self.mask()[*set] & wanted == 0 {
                    return false;
                }
                if let Some(out) = out {
                    let selected = self
                        .hits_of(*set, false)
                        .filter(|&i| field.is_none_or(|want| s.fields[s.hits[i].field].filter == want));
                    out.extend(selected.map(Ref::Hit));
                }
                true
            }
            Predicate::Hits(source) => {
                if negated && self.mode == Mode::Relaxed {
                    return false;
                }
                let found = self.source(source);
                if let Some(out) = out {
                    out.extend(found.iter().map(|&i| Ref::Hit(i)));
                }
                !found.is_empty()
            }
            Predicate::Near { a, b, words } => {
                let relaxed_away = negated && self.mode == Mode::Relaxed;
                let present = |h: &HitSource| h.any_base(&mut |set| self.mask()[set] != 0);
                if relaxed_away || !present(a) || !present(b) {
                    return false;
                }
                let (a, b) = (self.source(a), self.source(b));
                let mut any = false;
                for &ia in &a {
                    for &ib in &b {
                        let (ha, hb) = (&s.hits[ia], &s.hits[ib]);
                        if ha.field == hb.field && word_gap(ha.words, hb.words) <= *words {
                            any = true;
                            match out.as_deref_mut() {
                                Some(out) => out.extend([Ref::Hit(ia), Ref::Hit(ib)]),
                                None => return true,
                            }
                        }
                    }
                }
                any
            }
            Predicate::External(name) => match self.external.get(name) {
                Some(evidence) => {
                    if let Some(out) = out {
                        let idx = self.external.fired.iter().position(|(n, _)| n == name).unwrap_or(0);
                        out.extend((0..evidence.len()).map(|e| Ref::External(idx, e)));
                    }
                    true
                }
                None => false,
            },
            Predicate::Info(id) => {
                let present = s.info(*id).is_some();
                if present {
                    if let Some(out) = out {
                        out.push(Ref::Info(*id));
                    }
                }
                present
            }
            Predicate::Has(kind) => {
                let range = s.of_kind(*kind);
                let any = !range.is_empty();
                if let Some(out) = out {
                    out.extend(range.map(Ref::Quantity));
                }
                any
            }
            Predicate::Compare { kind, aggregate, op, value } => {
                let mut candidates = s.of_kind(*kind).map(|i| (i, s.quantity(i).value));
                let chosen: HitList = match aggregate {
                    Aggregate::Any => candidates.filter(|(_, v)| op.holds(*v, *value)).map(|(i, _)| i).collect(),
                    Aggregate::Max | Aggregate::Min => {
                        let first = candidates.next();
                        let best = candidates.fold(first, |best, c| match (best, aggregate) {
                            (Some(b), Aggregate::Max) if c.1 > b.1 => Some(c),
                            (Some(b), Aggregate::Min) if c.1 < b.1 => Some(c),
                            (b, _) => b,
                        });
                        best.filter(|(_, v)| op.holds(*v, *value))
                            .map(|(i, _)| HitList::from_elem(i, 1))
                            .unwrap_or_default()
                    }
                };
                if let Some(out) = out {
                    out.extend(chosen.iter().map(|&i| Ref::Quantity(i)));
                }
                !chosen.is_empty()
            }
            Predicate::Not(inner) => !self.eval(inner, !negated, None),
            Predicate::All(items) => match out {
                None => items.iter().all(|i| self.eval(i, negated, None)),
                Some(out) => {
                    let mut scratch = Vec::new();
                    for item in items {
                        if !self.eval(item, negated, Some(&mut scratch)) {
                            return false;
                        }
                    }
                    out.extend(scratch);
                    true
                }
            },
            Predicate::Any(items) => match out {
                None => items.iter().any(|i| self.eval(i, negated, None)),
                Some(out) => {
                    let mut any = false;
                    for item in items {
                        any |= self.eval(item, negated, Some(out));
                    }
                    any
                }
            },
        }
    }

    /// The per-set field mask this reading counts hits by.
    fn mask(&self) -> &[u8] {
        match (self.mode, &self.s.certain_set_fields) {
            (Mode::CertainOnly, Some(mask)) => mask,
            _ => &self.s.set_fields,
        }
    }

    /// Whether a set under `!` is read as absent (see [`Mode::Relaxed`]):
    /// over the whole listing always (one word anywhere never switches a
    /// block off for certain), within a field unless the set is `certain`.
    fn ignored(&self, set: SetId, whole_listing: bool, negated: bool) -> bool {
        negated && self.mode == Mode::Relaxed && (whole_listing || !self.pack.sets[set].certain)
    }

    /// Indices of the hits of `set` this reading counts.
    fn hits_of(&self, set: SetId, ignored: bool) -> impl Iterator<Item = usize> + '_ {
        let certain_only = self.mode == Mode::CertainOnly;
        self.s
            .hits
            .iter()
            .enumerate()
            .filter(move |(_, f)| !ignored && f.hit.set == set && !(certain_only && f.uncertain))
            .map(|(i, _)| i)
    }

    /// The hits of a source: a set's, minus those an exception sits next to.
    fn source(&self, source: &HitSource) -> HitList {
        let mut found = HitList::new();
        self.add_source(source, &mut found);
        found
    }

    /// Appends the hits of `source` to `out`: nested sources fill one
    /// list in place instead of each returning its own.
    fn add_source(&self, source: &HitSource, out: &mut HitList) {
        let from = out.len();
        match source {
            HitSource::Set(set) => out.extend(self.hits_of(*set, false)),
            HitSource::InField(source, field) => {
                self.add_source(source, out);
                retain_from(out, from, |i| self.s.fields[self.s.hits[i].field].filter == *field);
            }
            HitSource::Any(items) => {
                for item in items {
                    self.add_source(item, out);
                }
                out[from..].sort_unstable();
                let mut previous = None;
                retain_from(out, from, |i| previous.replace(i) != Some(i));
            }
            HitSource::Without { source, exception, words } => {
                self.add_source(source, out);
                if out.len() == from || (self.mode == Mode::Relaxed && !self.pack.sets[*exception].certain) {
                    return;
                }
                let hits = &self.s.hits;
                let cancelling: smallvec::SmallVec<[&Found; 8]> =
                    hits.iter().filter(|f| f.hit.set == *exception).collect();
                retain_from(out, from, |i| {
                    let h = &hits[i];
                    !cancelling.iter().any(|x| x.field == h.field && word_gap(x.words, h.words) <= *words)
                });
            }
        }
    }
}

/// Keeps, of the items of `list` from `from` on, those `keep` accepts (in
/// order, each asked once); the items before `from` stay as they are.
fn retain_from(list: &mut HitList, from: usize, mut keep: impl FnMut(usize) -> bool) {
    let mut kept = from;
    for read in from..list.len() {
        let item = list[read];
        if keep(item) {
            list[kept] = item;
            kept += 1;
        }
    }
    list.truncate(kept);
}

impl<'a> Signals<'a> {
    /// Gives the buffers back to this thread for its next listing.
    fn recycle(self) {
        scratch::put_back(&SIGNAL_BUFFERS, SignalBuffers { hits: self.hits, set_fields: self.set_fields });
    }

    /// Where the listing carries `[info]` item `id` of the pack.
    fn info(&self, id: usize) -> Option<&InfoFound<'a>> {
        let (items, names, listing) = self.info_source;
        self.infos.get(id)?.get_or_init(|| find_info(items, names, id, listing)).as_ref()
    }

    fn may_hold(&self, trigger: &Trigger, external: &ExternalSignals) -> bool {
        trigger.sets.iter().any(|&set| self.set_fields[set] != 0)
            || trigger.kinds.iter().any(|&kind| !self.of_kind(kind).is_empty())
            || (trigger.external && !external.fired.is_empty())
    }

    fn quantities(&self) -> &Quantities {
        self.quantities.get_or_init(|| Quantities::read(&self.fields, self.lexicon))
    }

    /// The indices of the quantities of `kind`.
    fn of_kind(&self, kind: QuantityKind) -> std::ops::Range<usize> {
        let (start, end) = self.quantities().kind_ranges[kind as usize];
        start as usize..end as usize
    }

    fn quantity(&self, i: usize) -> &Quantity {
        &self.quantities().found[i].1
    }

    fn evidence(&self, r: Ref, pack: &Pack, external: &ExternalSignals) -> Option<Evidence> {
        match r {
            Ref::Hit(i) => {
                let found = &self.hits[i];
                let field = &self.fields[found.field];
                Some(Evidence {
                    field: field.name.to_string(),
                    start: found.start,
                    end: found.end,
                    text: field.text.get(found.start..found.end).unwrap_or_default().to_string(),
                    signal: pack.sets[found.hit.set].name.clone(),
                    detail: None,
                })
            }
            Ref::Quantity(i) => {
                let (f, q) = &self.quantities().found[i];
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
            Ref::Info(id) => self.info(id).map(|found| Evidence {
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

/// What to read an attribute's quantities from, and whether its lengths
/// are heights. A bare number under a key naming its unit
/// (`height_cm: 100`) is read as `100 cm`; [`map_quantity`] brings its
/// span back to the seller's `100`.
fn attribute_text(key: &str, value: &str, lex: &Lexicon) -> (Option<String>, HeightContext) {
    // Most keys are written folded already (`manufacturer`, `height_cm`):
    // their words are read in place rather than copied, for every
    // attribute of every listing.
    if is_folded_name(key) {
        let joined = if key.contains('_') { Cow::Owned(key.replace('_', " ")) } else { Cow::Borrowed(key) };
        read_attribute(key.split('_'), &joined, value, lex)
    } else {
        let words: Vec<String> = fold_words(key).collect();
        read_attribute(words.iter().map(String::as_str), &words.join(" "), value, lex)
    }
}

/// [`attribute_text`] given the key's folded words and the same words
/// joined by spaces.
fn read_attribute<'w>(
    mut words: impl DoubleEndedIterator<Item = &'w str> + Clone,
    joined: &str,
    value: &str,
    lex: &Lexicon,
) -> (Option<String>, HeightContext) {
    let is_height =
        lex.has(WordList::HeightAttribute, joined) || words.clone().any(|w| lex.has(WordList::HeightAttribute, w));
    let context = if is_height { HeightContext::Always } else { HeightContext::Never };
    let trimmed = value.trim();
    let bare_number = !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b',');
    if bare_number {
        if let Some(unit) = words.rfind(|w| lex.unit(w).is_some()) {
            // Same bytes before the number as in the value, so spans agree.
            let lead = value.len() - value.trim_start().len();
            return (Some(format!("{}{trimmed} {unit}", &value[..lead])), context);
        }
    }
    (None, context)
}

/// A quantity read from a field's extraction text, with its span in the
/// seller's original value: in `100 cm` made from `100`, the unit is ours
/// and the evidence is the number.
fn map_quantity(mut q: Quantity, synthetic: bool, original: &str) -> Quantity {
    if synthetic {
        let number_end = original.trim_end().len();
        q.start = q.start.min(number_end);
        q.end = q.end.min(number_end);
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Each hit's words are the spaces before its first and last byte,
        /// counted from the field's start, whatever the hits' order,
        /// overlaps and repeats.
        #[test]
        fn hits_are_numbered_by_the_spaces_before_them(
            text in "[ab ]{1,60}",
            spans in proptest::collection::vec((0usize..60, 1usize..8), 0..12),
        ) {
            let mut found: Vec<Found> = spans
                .iter()
                .map(|&(start, len)| {
                    let start = start % text.len();
                    let end = (start + len).min(text.len());
                    let hit = Hit { set: 0, start, end, language: None };
                    Found { field: 0, hit, start, end, words: (u32::MAX, u32::MAX), uncertain: false }
                })
                .collect();
            number_words(text.as_bytes(), &mut found);
            let spaces_before = |byte: usize| text.as_bytes()[..byte].iter().filter(|&&b| b == b' ').count() as u32;
            for f in &found {
                proptest::prop_assert_eq!(f.words, (spaces_before(f.hit.start), spaces_before(f.hit.end - 1)));
            }
        }
    }

    /// The fast path's signals with every false friend judged by detection,
    /// as the rules read them.
    fn judged_signals<'a>(gate: &'a Gate, listing: &'a Listing) -> Signals<'a> {
        let mut signals = gate.signals(listing, TextPath::Fast);
        if signals.languages_pending() {
            let raw = signals.hits.clone();
            signals.settle_by_detection(&raw);
        }
        signals
    }

    /// The default pack's gate, with its test cases' listings and the
    /// shipped example listings.
    fn default_gate_with_its_cases() -> (Gate, Vec<Listing>) {
        let gate = Gate::with_default_pack().expect("pack");
        let examples = include_str!("../../../examples/listings.jsonl");
        let mut listings: Vec<Listing> = gate.pack.tests.iter().map(|t| t.listing.clone()).collect();
        listings.extend(examples.lines().filter_map(|l| Listing::from_json(l.as_bytes()).ok()));
        (gate, listings)
    }

    /// The gate writes each decision's JSON as `serde_json` writes it (the
    /// oracle): the pack's own cases and the examples, which hold blocks,
    /// reviews and plain allows, and plain allows whose ids need escaping
    /// or belong to another pack or engine, or that carry a signal error.
    #[test]
    fn decisions_are_written_as_serde_json_writes_them() {
        let (gate, listings) = default_gate_with_its_cases();
        let mut decisions: Vec<Decision> = listings.iter().map(|l| gate.screen(l)).collect();
        assert!(decisions.iter().any(|d| d.matches.is_empty()) && decisions.iter().any(|d| !d.matches.is_empty()));
        let plain = decisions.iter().find(|d| d.matches.is_empty()).cloned().expect("an allowed listing");
        let ids = ["", "\"quoted\"", "back\\slash", "line\nbreak\t\u{1}\u{1f}", "é😀\u{2028}", "</script>"];
        for (i, id) in ids.iter().enumerate() {
            let mut d = Decision { id: (*id).to_owned(), ..plain.clone() };
            decisions.push(d.clone());
            match i % 4 {
                0 => d.policy_version.push('x'),
                1 => {
                    d.engine_version.pop();
                }
                2 => d.schema_version += 1,
                _ => d.signal_errors.push(SignalError {
                    source: "images[0].url".into(),
                    code: "corrupt".into(),
                    message: "m".into(),
                }),
            }
            decisions.push(d);
        }
        for decision in &decisions {
            let mut written = b"kept ".to_vec();
            gate.write_json(decision, &mut written).expect("writes");
            let expected = [b"kept ".as_slice(), &serde_json::to_vec(decision).expect("serialises")].concat();
            assert_eq!(String::from_utf8_lossy(&written), String::from_utf8_lossy(&expected));
        }
    }

    /// A key read in place reads as its folded words do: height or not,
    /// and the unit a bare number takes.
    #[test]
    fn attribute_keys_read_in_place_as_folded() {
        let lex = &Gate::with_default_pack().expect("pack").pack.lexicon;
        let keys =
            ["height", "height_cm", "body_height", "size_in", "hauteur", "Height_CM", "body height", "höhe", "a__cm"];
        let mut in_place = 0;
        for key in keys {
            in_place += usize::from(is_folded_name(key));
            for value in ["120", " 120", "120 cm", ""] {
                let words: Vec<String> = fold_words(key).collect();
                let folded = read_attribute(words.iter().map(String::as_str), &words.join(" "), value, lex);
                assert_eq!(attribute_text(key, value, lex), folded, "{key:?} {value:?}");
            }
        }
        assert_eq!(in_place, 5);
        assert_eq!(attribute_text("body_height", "120", lex).1, HeightContext::Always);
    }

    /// Both ways of capping evidence keep the same refs in the same order
    /// and count the same left out, on evidence with repeats and more
    /// than [`MAX_EVIDENCE_PER_SIGNAL`] pieces of a signal.
    #[test]
    fn stacked_and_hashed_evidence_caps_agree() {
        let (gate, listings) = default_gate_with_its_cases();
        let mut capped = 0;
        for listing in &listings {
            let signals = judged_signals(&gate, listing);
            let all: Vec<Ref> = (0..signals.hits.len())
                .map(Ref::Hit)
                .chain((0..MAX_EVIDENCE_PER_SIGNAL + 4).map(|e| Ref::External(0, e)))
                .chain((0..signals.quantities().found.len()).map(Ref::Quantity))
                .chain([Ref::External(1, 0), Ref::Info(0)])
                .collect();
            // Each ref twice, the repeats interleaved at varying distances.
            let mut refs = Vec::new();
            for (i, &r) in all.iter().enumerate() {
                refs.push(r);
                refs.extend(all.get(i / 2).copied());
            }
            for len in 0..=refs.len().min(STACKED_REFS) {
                let (mut stacked, mut hashed) = (refs[..len].to_vec(), refs[..len].to_vec());
                let omitted = cap_evidence_stacked(&mut stacked, &signals);
                assert_eq!(omitted, cap_evidence_hashed(&mut hashed, &signals), "{}", listing.id);
                assert!(stacked == hashed, "{}", listing.id);
                capped += usize::from(omitted > 0);
            }
        }
        assert!(capped > 0, "no case reached the cap");
    }

    /// A rule's trigger is a necessary condition: whenever the rule holds,
    /// its trigger says it may. Checked on every test case of the default
    /// pack and the shipped example listings, with and without external
    /// signals.
    #[test]
    fn triggers_never_reject_a_rule_that_holds() {
        let (gate, listings) = default_gate_with_its_cases();
        let mut all_fired = ExternalSignals::default();
        for name in &gate.pack.external_signals {
            all_fired.fire(name.clone(), Vec::new());
        }
        let mut held = 0;
        for external in [ExternalSignals::default(), all_fired] {
            for listing in &listings {
                let signals = judged_signals(&gate, listing);
                for rule in gate.pack.policies.iter().flat_map(|p| &p.rules) {
                    let holds = [Mode::Normal, Mode::CertainOnly, Mode::Relaxed].into_iter().any(|mode| {
                        let reader = Reader { s: &signals, external: &external, pack: &gate.pack, mode };
                        reader.eval(&rule.test, false, None)
                    });
                    if holds {
                        held += 1;
                        let trigger = rule.trigger.as_ref();
                        assert!(trigger.is_none_or(|t| signals.may_hold(t, &external)), "{}", rule.id);
                    }
                }
            }
        }
        assert!(held > 500, "the check exercised {held} holding rules");
    }

    /// The default pack's rules read quantities beside a term, so a
    /// listing's quantities are read only when its terms lead to such a
    /// rule; the decisions are the reference's, which reads them up front.
    #[test]
    fn quantities_are_read_only_when_a_rule_asks() {
        let (gate, listings) = default_gate_with_its_cases();
        let none = ExternalSignals::default();
        let (mut read, mut unread) = (0, 0);
        for listing in &listings {
            let signals = judged_signals(&gate, listing);
            let decision = serde_json::to_string(&gate.decide(listing, &none, &signals)).expect("json");
            let reference = serde_json::to_string(&gate.screen_reference(listing, &none)).expect("json");
            assert_eq!(decision, reference, "{}", listing.id);
            match signals.quantities.get() {
                Some(_) => read += 1,
                None => unread += 1,
            }
        }
        // A rule whose trigger names a quantity kind would have every
        // listing's quantities read.
        assert!(read > 0 && unread > read, "quantities read for {read} listings, not for {unread}");
    }

    /// The rule index visits exactly the rules whose trigger may hold, and
    /// those without one, in pack order: what testing every rule's
    /// trigger visited. Also with the pack's policies listed three times,
    /// past the rule count whose candidates are marked on the stack.
    #[test]
    fn the_rule_index_visits_the_rules_whose_trigger_may_hold() {
        let (gate, listings) = default_gate_with_its_cases();
        let mut tripled = Pack::embedded().expect("pack");
        let policies = tripled.policies.clone();
        tripled.policies.extend(policies.iter().cloned().chain(policies.iter().cloned()));
        let tripled = Gate::new(tripled);
        let rules = tripled.pack.policies.iter().map(|p| p.rules.len()).sum::<usize>();
        assert!(rules > 64 * crate::policy::rule_index::STACK_WORDS);
        let mut one_fired = ExternalSignals::default();
        one_fired.fire(BIDI_CONTROL, Vec::new());
        let (mut untriggered, mut visited) = (0, 0);
        for (gate, external) in [(&gate, ExternalSignals::default()), (&gate, one_fired.clone()), (&tripled, one_fired)]
        {
            for listing in &listings {
                let signals = judged_signals(gate, listing);
                let mut expected = Vec::new();
                for (p, policy) in gate.pack.policies.iter().enumerate() {
                    for (r, rule) in policy.rules.iter().enumerate() {
                        untriggered += usize::from(rule.trigger.is_none());
                        if rule.trigger.as_ref().is_none_or(|t| signals.may_hold(t, &external)) {
                            expected.push((p as u32, r as u32));
                        }
                    }
                }
                let candidates = gate.candidate_rules(&signals, &external);
                assert_eq!(candidates.as_slice(), expected.as_slice(), "{}", listing.id);
                visited += candidates.len();
            }
        }
        assert!(untriggered > 0 && visited > untriggered, "{untriggered} untriggered, {visited} visited");
    }
}
