//! False friends judged by their field's language, detected only when the
//! decision depends on it.
//!
//! A false friend (Dutch `pop`, a doll; Estonian `võlts`, fake) counts
//! only in text of its language, and telling a field's language costs
//! `whatlang` 60 to 100 µs, nearly whatever the text's length: it scores every
//! language's trigram profile on each call. English listings are full of
//! `pop socket`s and `volts`, and in the benchmark corpus the 0.6 % of
//! listings that hold one took 7 % of the screening time in detection
//! (BENCHMARKS.md, issue 14, nineteenth step). For nearly all of them the
//! false friend changes nothing (no doll rule can hold for a phone grip),
//! so the fast path first decides the listing under every outcome
//! detection could have, and detects only when two outcomes decide
//! differently.
//!
//! Invariant: the decision (and what the caller reads from the signals)
//! is the one the detected language gives, because every outcome that
//! could be detected is among those tried ([`Detected::every_outcome`],
//! tested in `language.rs`); the reference path detects up front, as
//! before, and decides identically (the differential tests).

use super::{field_bit, Decision, ExternalSignals, Found, Gate, Listing, Signals};
use crate::language::{verdict, Detected, Language, Languages, Verdict};
use crate::policy::expr::FieldFilter;
use std::borrow::Cow;

/// The most outcomes tried before detecting: three per field with a false
/// friend of one language, so up to two such fields. More (rare) are
/// detected at once.
const MOST_OUTCOMES: usize = 9;

impl Gate {
    /// Decides `listing` and reads `what` from its signals, whose false
    /// friends are not judged yet: under each outcome detection could
    /// have in each field with one, and with detection only if two
    /// outcomes disagree.
    pub(super) fn read_whatever_the_language<T: PartialEq>(
        &self,
        listing: &Listing,
        external: &ExternalSignals,
        signals: &mut Signals,
        what: &impl Fn(&Signals) -> T,
    ) -> (Decision, T) {
        let raw = signals.hits.clone();
        let fields = fields_to_judge(&raw);
        let outcomes: Vec<Vec<Detected>> =
            fields.iter().map(|&(_, bound)| Detected::every_outcome(bound).collect()).collect();
        let combinations = outcomes.iter().try_fold(1usize, |n, o| n.checked_mul(o.len())).unwrap_or(usize::MAX);
        let declared = declared(listing);
        if combinations <= MOST_OUTCOMES {
            let mut read_under = |combination: usize| {
                signals.settle(&raw, declared, |field| {
                    // The combination's digit for this field, in mixed radix.
                    let mut rest = combination;
                    for ((f, _), tried) in fields.iter().zip(&outcomes) {
                        if *f == field {
                            return tried[rest % tried.len()];
                        }
                        rest /= tried.len();
                    }
                    Detected::Unsure
                });
                (self.decide(listing, external, signals), what(signals))
            };
            let first = read_under(0);
            // Stops at the first outcome that reads differently.
            if (1..combinations).all(|combination| read_under(combination) == first) {
                return first;
            }
        }
        signals.settle_by_detection(&raw);
        (self.decide(listing, external, signals), what(signals))
    }
}

impl Signals<'_> {
    /// Whether a false friend waits for its field's language.
    pub(super) fn languages_pending(&self) -> bool {
        self.hits.iter().any(|found| found.hit.language.is_some())
    }

    /// Makes `raw` the signals' hits, each false friend judged by its
    /// field's language, detected once per field that holds one.
    pub(super) fn settle_by_detection(&mut self, raw: &[Found]) {
        let listing = self.info_source.2;
        let detected: Vec<(usize, Detected)> = fields_to_judge(raw)
            .into_iter()
            .map(|(field, _)| {
                (field, Detected::of(&detection_text(&self.fields[field].text, self.fields[field].filter, listing)))
            })
            .collect();
        self.settle(raw, declared(listing), |field| {
            detected.iter().find(|(f, _)| *f == field).map_or(Detected::Unsure, |&(_, d)| d)
        });
    }

    /// Makes `raw` (the hits as found, false friends not yet judged) the
    /// signals' hits, each false friend judged by what `detected_in` says
    /// of its field: kept where valid, dropped where foreign, kept as
    /// uncertain where unsure; then counts the sets found.
    pub(super) fn settle(
        &mut self,
        raw: &[Found],
        declared: Option<Language>,
        mut detected_in: impl FnMut(usize) -> Detected,
    ) {
        self.hits.clear();
        for found in raw {
            let mut found = *found;
            if let Some(bound) = found.hit.language.take() {
                match verdict(declared, bound, || detected_in(found.field)) {
                    Verdict::Valid => {}
                    Verdict::Foreign => continue,
                    Verdict::Unsure => found.uncertain = true,
                }
            }
            self.hits.push(found);
        }
        self.count_sets();
    }

    /// Per term set, the fields it was found in, and the same without the
    /// hits of unsure language (present only when one is).
    pub(super) fn count_sets(&mut self) {
        self.set_fields.iter_mut().for_each(|bits| *bits = 0);
        for found in &self.hits {
            self.set_fields[found.hit.set] |= field_bit(self.fields[found.field].filter);
        }
        self.certain_set_fields = self.hits.iter().any(|f| f.uncertain).then(|| {
            let mut mask = vec![0u8; self.set_fields.len()];
            for found in self.hits.iter().filter(|f| !f.uncertain) {
                mask[found.hit.set] |= field_bit(self.fields[found.field].filter);
            }
            mask
        });
    }
}

/// Each field holding a false friend not yet judged, with every language
/// its false friends are bound to, in field order.
fn fields_to_judge(hits: &[Found]) -> Vec<(usize, Languages)> {
    let mut fields: Vec<(usize, Languages)> = Vec::new();
    for found in hits {
        let Some(bound) = found.hit.language else { continue };
        match fields.iter_mut().find(|(field, _)| *field == found.field) {
            Some((_, languages)) => *languages = languages.union(bound),
            None => fields.push((found.field, bound)),
        }
    }
    fields
}

/// The language `listing` declares, if it is one a pack may key terms by.
pub(super) fn declared(listing: &Listing) -> Option<Language> {
    listing.language.as_deref().and_then(Language::from_code)
}

/// The text a field's language is detected on: a short title says little
/// about its language, the description beside it says more.
fn detection_text<'t>(text: &'t str, filter: FieldFilter, listing: &Listing) -> Cow<'t, str> {
    match (filter, &listing.description) {
        (FieldFilter::Title, Some(description)) => Cow::Owned(format!("{text} {description}")),
        _ => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::{SetsFound, TextPath};

    fn listing(title: &str) -> Listing {
        let json = serde_json::json!({ "id": title, "title": title });
        Listing::from_json(json.to_string().as_bytes()).expect("a listing")
    }

    /// The decision of `listing` under each outcome detection could have in
    /// its one field with a false friend, as JSON.
    fn decisions_under_every_outcome(gate: &Gate, listing: &Listing) -> Vec<String> {
        let none = ExternalSignals::default();
        let mut signals = gate.signals(listing, TextPath::Fast);
        assert!(signals.languages_pending(), "{}: a false friend to judge", listing.id);
        let raw = signals.hits.clone();
        let fields = fields_to_judge(&raw);
        assert_eq!(fields.len(), 1, "{}", listing.id);
        let decisions = Detected::every_outcome(fields[0].1)
            .map(|outcome| {
                signals.settle(&raw, declared(listing), |_| outcome);
                serde_json::to_string(&gate.decide(listing, &none, &signals)).expect("json")
            })
            .collect();
        signals.recycle();
        decisions
    }

    /// A false friend that changes nothing is decided without detection;
    /// one the decision depends on is decided by detection; both as the
    /// reference, which detects up front, decides.
    #[test]
    fn the_language_is_detected_only_when_the_decision_depends_on_it() {
        let gate = Gate::with_default_pack().expect("pack");
        let none = ExternalSignals::default();
        // Dutch `pop` is a doll: in a phone grip's title no rule can hold,
        // whatever the language.
        let grip = listing("Pop socket phone grip, black");
        let grips = decisions_under_every_outcome(&gate, &grip);
        assert!(grips.windows(2).all(|pair| pair[0] == pair[1]), "{grips:?}");
        // In an erotic doll's title it is the doll word: blocked if Dutch,
        // at most reviewed if unsure, an ordinary word otherwise.
        let doll = listing("Erotische pop 90 cm");
        let dolls = decisions_under_every_outcome(&gate, &doll);
        assert!(dolls.windows(2).any(|pair| pair[0] != pair[1]), "{dolls:?}");
        for listing in [&grip, &doll] {
            let reference = serde_json::to_string(&gate.screen_reference(listing, &none)).expect("json");
            let fast = serde_json::to_string(&gate.screen(listing)).expect("json");
            assert_eq!(fast, reference, "{}", listing.id);
            // The traced path also reads the sets found, which the grip's
            // `pop` changes (the doll words' set is found or not): those
            // are the detected language's too.
            let (decision, sets) = gate.screen_traced(listing, &none);
            assert_eq!(serde_json::to_string(&decision).expect("json"), reference, "{}", listing.id);
            let mut signals = gate.signals(listing, TextPath::Fast);
            let raw = signals.hits.clone();
            signals.settle_by_detection(&raw);
            assert_eq!(sets, SetsFound(signals.set_fields.clone()), "{}", listing.id);
            signals.recycle();
        }
    }
}
