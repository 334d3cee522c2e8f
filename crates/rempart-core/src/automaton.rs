//! The term automaton and its overlapping search.
//!
//! `aho-corasick` builds the automaton; the search loop is ours, written
//! against the crate's [`Automaton`] trait, which exists for custom
//! searches. `AhoCorasick::find_overlapping_iter` returns to its caller at
//! every match and, at each return to the start state, runs its prefilter
//! and re-reads its saved state: in the profile it cost about 25
//! instructions per byte on product text (BENCHMARKS.md, issue 14, eighth
//! step). Our loop steps the automaton and runs the caller's code in place
//! for each match.
//!
//! The automaton is the crate's contiguous NFA, not its DFA, although the
//! DFA steps each byte with fewer instructions (one table lookup, no
//! failure transitions). With the embedded pack's 24,064 spellings the
//! DFA has 145,885 states of 64 four-byte transitions: a 38 MB table,
//! more than the rest of the process together, most of whose rows a
//! search touches rarely and then finds evicted from the cache. The
//! contiguous NFA is 2.2 MB (dense rows only for the states shallower
//! than [`DENSE_DEPTH`], where most of a search's bytes are spent).
//! Measured, it screens a million listings in the same time or less
//! (within the machine's noise), compiles the pack in half the time and
//! halves peak memory, for about 6% more instructions per listing
//! (BENCHMARKS.md, issue 14, ninth step).
//!
//! The matches, and their order, are those of `find_overlapping_iter`
//! (ascending end; at one end, in the order the automaton lists the
//! state's patterns); a property test holds the two equal.

use aho_corasick::automaton::Automaton;
use aho_corasick::nfa::{contiguous, noncontiguous};
use aho_corasick::{Anchored, BuildError, MatchKind, PatternID};

/// States shallower than this get a dense row in the contiguous NFA (the
/// crate's default is 2). Measured on 200,000 listings, five interleaved
/// runs each, median CPU time: depth 2 2.58 s, 3 2.48 s, 4 2.52 s, 6
/// 2.71 s; the automaton is 2.2 MB at depth 3 (6.7 MB at depth 6).
const DENSE_DEPTH: usize = 3;

/// Every spelling of every term set, compiled.
pub(crate) enum TermAutomaton {
    /// Transitions in one contiguous array: every pack so far.
    Nfa(contiguous::NFA),
    /// When the contiguous NFA cannot be built (its state identifiers
    /// overflow on a very large pack): what `AhoCorasick` itself falls
    /// back to.
    SparseNfa(noncontiguous::NFA),
}

impl TermAutomaton {
    /// Standard (overlapping) semantics; no prefilter, which only our
    /// loop would have to consult. The first kind that builds.
    pub(crate) fn build(patterns: &[String]) -> Result<TermAutomaton, BuildError> {
        let nfa = contiguous::NFA::builder()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .dense_depth(DENSE_DEPTH)
            .build(patterns);
        if let Ok(nfa) = nfa {
            return Ok(TermAutomaton::Nfa(nfa));
        }
        noncontiguous::NFA::builder()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(patterns)
            .map(TermAutomaton::SparseNfa)
    }

    /// The length in bytes of the longest spelling.
    pub(crate) fn max_pattern_len(&self) -> usize {
        match self {
            TermAutomaton::Nfa(nfa) => nfa.max_pattern_len(),
            TermAutomaton::SparseNfa(nfa) => nfa.max_pattern_len(),
        }
    }

    /// Calls `found(pattern, start, end)` for every occurrence of every
    /// pattern in `haystack`, overlapping ones included, in the order
    /// described in the module documentation.
    #[inline]
    pub(crate) fn each_match(&self, haystack: &[u8], found: impl FnMut(usize, usize, usize)) {
        match self {
            TermAutomaton::Nfa(nfa) => each_match(nfa, haystack, found),
            TermAutomaton::SparseNfa(nfa) => each_match(nfa, haystack, found),
        }
    }
}

#[inline]
fn each_match<A: Automaton>(automaton: &A, haystack: &[u8], mut found: impl FnMut(usize, usize, usize)) {
    // An unanchored start state always exists with the default start kind;
    // the start state is never a match state, as no spelling is empty.
    let Ok(mut state) = automaton.start_state(Anchored::No) else {
        return;
    };
    for (at, &byte) in haystack.iter().enumerate() {
        state = automaton.next_state(Anchored::No, state, byte);
        if automaton.is_special(state) {
            if automaton.is_dead(state) {
                return;
            }
            if automaton.is_match(state) {
                let end = at + 1;
                for i in 0..automaton.match_len(state) {
                    let pattern: PatternID = automaton.match_pattern(state, i);
                    found(pattern.as_usize(), end - automaton.pattern_len(pattern), end);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::AhoCorasick;
    use proptest::prelude::*;

    fn ours(automaton: &TermAutomaton, haystack: &str) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        automaton.each_match(haystack.as_bytes(), |p, s, e| out.push((p, s, e)));
        out
    }

    fn theirs(patterns: &[String], haystack: &str) -> Vec<(usize, usize, usize)> {
        let reference = AhoCorasick::builder().match_kind(MatchKind::Standard).build(patterns).expect("builds");
        reference.find_overlapping_iter(haystack).map(|m| (m.pattern().as_usize(), m.start(), m.end())).collect()
    }

    proptest! {
        /// Both NFAs, stepped by our loop, report exactly what
        /// the crate's own overlapping search reports, in its order, on
        /// short alphabets where patterns overlap and nest a lot.
        #[test]
        fn our_loop_finds_what_the_crates_search_finds(
            patterns in proptest::collection::vec("[ ab]{1,4}", 1..12),
            haystack in "[ abc]{0,60}",
        ) {
            let expected = theirs(&patterns, &haystack);
            let nfa = TermAutomaton::build(&patterns).expect("builds");
            prop_assert!(matches!(nfa, TermAutomaton::Nfa(_)));
            prop_assert_eq!(ours(&nfa, &haystack), expected.clone());
            let sparse = TermAutomaton::SparseNfa(noncontiguous::NFA::new(&patterns).expect("builds"));
            prop_assert_eq!(ours(&sparse, &haystack), expected);
        }
    }

    #[test]
    fn real_spellings_in_product_text() {
        let patterns: Vec<String> =
            [" doll", " sex doll", " sexdoll", "doll", " mini", " tpe"].map(String::from).to_vec();
        let text = " tpe mini sex doll 100cm sexdoll";
        let found = ours(&TermAutomaton::build(&patterns).expect("builds"), text);
        assert_eq!(found, theirs(&patterns, text));
        let spans: Vec<&str> = found.iter().map(|&(_, s, e)| &text[s..e]).collect();
        // At one end, the longest spelling first (the state lists its own
        // match before those of its failure chain).
        assert_eq!(spans, [" tpe", " mini", " sex doll", " doll", "doll", " sexdoll", "doll"]);
    }
}
