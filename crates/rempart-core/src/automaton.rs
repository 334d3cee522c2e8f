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
//! contiguous NFA is 2.2 MB. Measured, it screens a million listings in
//! the same time or less (within the machine's noise), compiles the pack
//! in half the time and halves peak memory (BENCHMARKS.md, issue 14,
//! ninth step).
//!
//! What the DFA does well, stepping a byte without deciding what kind of
//! row a state has and without following failure links, the search gets
//! where it spends nearly all its bytes: the states nearest the start
//! have DFA rows ([`ShallowDfa`], 1.5 MB with the embedded pack), and the
//! NFA steps only the rest. Measured, a million listings screen in 5.7 %
//! less time than on the NFA alone (BENCHMARKS.md, issue 14, twelfth
//! step).
//!
//! The matches, and their order, are those of `find_overlapping_iter`
//! (ascending end; at one end, in the order the automaton lists the
//! state's patterns); a property test holds the two equal.

mod shallow;

use aho_corasick::automaton::Automaton;
use aho_corasick::nfa::{contiguous, noncontiguous};
use aho_corasick::{Anchored, BuildError, MatchKind};
use shallow::ShallowDfa;

/// States shallower than this get a dense row in the contiguous NFA (the
/// crate's default is 2). Measured on 200,000 listings, five interleaved
/// runs each, median CPU time: depth 2 2.58 s, 3 2.48 s, 4 2.52 s, 6
/// 2.71 s; the automaton is 2.2 MB at depth 3 (6.7 MB at depth 6). Since
/// the [`ShallowDfa`] steps the shallow states, the search rarely reads
/// these rows: depth 1 screens a million listings in the same time (7.45 s
/// against 7.46 s, medians of six interleaved runs) and takes no less
/// memory (48.8 MiB against 47.6 MiB peak).
const DENSE_DEPTH: usize = 3;

/// The most bytes the [`ShallowDfa`]'s table may take. With the embedded
/// pack it holds the states up to depth 5: 11,518 rows of 64 two-byte
/// entries, 1.5 MB (the 22,155 states up to depth 6 are more than its
/// entries can number). Measured in the screen of a million listings, in
/// two rounds of six interleaved runs (medians): on the NFA alone 7.98 s
/// and 7.94 s; states up to depth 4 in four-byte entries (1 MB), 7.71 s;
/// up to depth 5 in four-byte entries (2.9 MB), 7.61 s and 7.49 s; up to
/// depth 5 in two-byte entries, 7.49 s, with 1.5 MiB less peak memory.
const SHALLOW_TABLE_BYTES: usize = 2 << 20;

/// Every spelling of every term set, compiled.
pub(crate) struct TermAutomaton {
    nfa: Nfa,
    /// The NFA's shallow states as a DFA, if their rows could be built.
    shallow: Option<ShallowDfa>,
}

enum Nfa {
    /// Transitions in one contiguous array: every pack so far.
    Contiguous(contiguous::NFA),
    /// When the contiguous NFA cannot be built (its state identifiers
    /// overflow on a very large pack): what `AhoCorasick` itself falls
    /// back to.
    Sparse(noncontiguous::NFA),
}

impl TermAutomaton {
    /// Standard (overlapping) semantics; no prefilter, which only our
    /// loop would have to consult. The first kind that builds. The
    /// patterns marked in `quiet` (missing marks are `false`) may go
    /// unreported by [`TermAutomaton::each_match`].
    pub(crate) fn build(patterns: &[String], quiet: &[bool]) -> Result<TermAutomaton, BuildError> {
        let nfa = contiguous::NFA::builder()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .dense_depth(DENSE_DEPTH)
            .build(patterns);
        let nfa = match nfa {
            Ok(nfa) => Nfa::Contiguous(nfa),
            Err(_) => Nfa::Sparse(
                noncontiguous::NFA::builder().match_kind(MatchKind::Standard).prefilter(false).build(patterns)?,
            ),
        };
        Ok(TermAutomaton::with_table(nfa, patterns, quiet, SHALLOW_TABLE_BYTES))
    }

    /// `nfa`, built from `patterns`, with a [`ShallowDfa`] of at most
    /// `table_bytes` that leaves out the `quiet` patterns where it can.
    fn with_table(nfa: Nfa, patterns: &[String], quiet: &[bool], table_bytes: usize) -> TermAutomaton {
        let shallow = match &nfa {
            Nfa::Contiguous(nfa) => ShallowDfa::new(nfa, patterns, quiet, table_bytes),
            Nfa::Sparse(nfa) => ShallowDfa::new(nfa, patterns, quiet, table_bytes),
        };
        TermAutomaton { nfa, shallow }
    }

    /// The length in bytes of the longest spelling.
    pub(crate) fn max_pattern_len(&self) -> usize {
        match &self.nfa {
            Nfa::Contiguous(nfa) => nfa.max_pattern_len(),
            Nfa::Sparse(nfa) => nfa.max_pattern_len(),
        }
    }

    /// Calls `found(pattern, start, end)` for every occurrence of every
    /// pattern in `haystack` that is not quiet, overlapping ones included,
    /// in the order described in the module documentation, with some
    /// occurrences of quiet patterns among them (those of a state that
    /// also ends a pattern that is not).
    #[inline]
    pub(crate) fn each_match(&self, haystack: &[u8], found: impl FnMut(usize, usize, usize)) {
        match (&self.nfa, &self.shallow) {
            (Nfa::Contiguous(nfa), Some(shallow)) => shallow.each_match(nfa, haystack, found),
            (Nfa::Sparse(nfa), Some(shallow)) => shallow.each_match(nfa, haystack, found),
            (_, None) => self.each_match_on_nfa(haystack, found),
        }
    }

    /// [`TermAutomaton::each_match`] on the NFA alone, without the table:
    /// the reference path's search ([`crate::matcher::Matcher::find_reference`]),
    /// which the table's is tested against.
    pub(crate) fn each_match_on_nfa(&self, haystack: &[u8], found: impl FnMut(usize, usize, usize)) {
        match &self.nfa {
            Nfa::Contiguous(nfa) => each_match(nfa, haystack, found),
            Nfa::Sparse(nfa) => each_match(nfa, haystack, found),
        }
    }
}

/// The search on the NFA alone, a byte at a time.
#[inline]
fn each_match<A: Automaton>(automaton: &A, haystack: &[u8], mut found: impl FnMut(usize, usize, usize)) {
    // An unanchored start state always exists with the default start kind;
    // the start state is never a match state, as no spelling is empty.
    let Ok(mut state) = automaton.start_state(Anchored::No) else {
        return;
    };
    for (at, &byte) in haystack.iter().enumerate() {
        state = automaton.next_state(Anchored::No, state, byte);
        // Standard semantics and an unanchored search: no dead state.
        shallow::report(automaton, state, at + 1, &mut found);
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

    /// Every way the automaton can be built for `patterns`: each NFA, with
    /// no table and with tables of `table_bytes` and of the default size.
    fn every_kind(patterns: &[String], table_bytes: usize) -> Vec<TermAutomaton> {
        let contiguous = || Nfa::Contiguous(contiguous::NFA::new(patterns).expect("builds"));
        let sparse = || Nfa::Sparse(noncontiguous::NFA::new(patterns).expect("builds"));
        let mut kinds = Vec::new();
        let builders: [&dyn Fn() -> Nfa; 2] = [&contiguous, &sparse];
        for nfa in builders {
            kinds.push(TermAutomaton { nfa: nfa(), shallow: None });
            kinds.push(TermAutomaton::with_table(nfa(), patterns, &[], table_bytes));
            kinds.push(TermAutomaton::with_table(nfa(), patterns, &[], SHALLOW_TABLE_BYTES));
        }
        kinds
    }

    proptest! {
        /// Both NFAs, stepped by our loop alone or through tables of every
        /// size (from none to the whole automaton, so that searches leave
        /// the table and come back at every depth), report exactly what
        /// the crate's own overlapping search reports, in its order, on
        /// short alphabets where patterns overlap and nest a lot.
        #[test]
        fn our_loop_finds_what_the_crates_search_finds(
            patterns in proptest::collection::vec("[ ab]{1,4}", 1..12),
            haystack in "[ abc]{0,60}",
            table_bytes in 0usize..400,
        ) {
            let expected = theirs(&patterns, &haystack);
            let built = TermAutomaton::build(&patterns, &[]).expect("builds");
            prop_assert!(matches!(built.nfa, Nfa::Contiguous(_)) && built.shallow.is_some());
            prop_assert_eq!(ours(&built, &haystack), expected.clone());
            for automaton in every_kind(&patterns, table_bytes) {
                prop_assert_eq!(ours(&automaton, &haystack), expected.clone());
            }
        }
    }

    #[test]
    fn the_table_holds_whole_depths_within_its_budget() {
        // Spellings over 3 bytes, plus one unused class: 4 entries a row.
        let patterns: Vec<String> = [" ab", " ba", "ab"].map(String::from).to_vec();
        let row = 4 * size_of::<u16>();
        let rows = |budget| {
            let Nfa::Contiguous(nfa) = TermAutomaton::build(&patterns, &[]).expect("builds").nfa else {
                panic!("a contiguous NFA");
            };
            ShallowDfa::new(&nfa, &patterns, &[], budget).map(|t| t.rows())
        };
        assert_eq!(rows(row - 1), None, "not even the start state's row");
        // Depth 0: the start; 1: ` `, `a`; 2: ` a`, ` b`, `ab`; 3: ` ab`, ` ba`.
        assert_eq!(rows(row), Some(1));
        assert_eq!(rows(3 * row - 1), Some(1), "depth 1 whole or not at all");
        assert_eq!(rows(3 * row), Some(3));
        assert_eq!(rows(6 * row), Some(6));
        assert_eq!(rows(1 << 20), Some(8), "every state");
    }

    #[test]
    fn a_depth_too_wide_to_number_stays_out_of_the_table_with_the_one_before() {
        // Every three letters of thirty: 30 states at depth 1, 900 at
        // depth 2, 27,000 at depth 3, more than an entry can number. Depth
        // 3 cannot be the deep states, so depth 2 is, and the table holds
        // the start and depth 1.
        let letters: Vec<char> = ('a'..='z').chain(['0', '1', '2', '3']).collect();
        let mut patterns = Vec::new();
        for &x in &letters {
            for &y in &letters {
                for &z in &letters {
                    patterns.push(format!("{x}{y}{z}"));
                }
            }
        }
        let automaton = TermAutomaton::build(&patterns, &[]).expect("builds");
        assert_eq!(automaton.shallow.as_ref().map(ShallowDfa::rows), Some(31));
        let text = "the 3 dogs ran 2 miles; zzz 0a1b2c3d";
        assert_eq!(ours(&automaton, text), theirs(&patterns, text));
    }

    #[test]
    fn real_spellings_in_product_text() {
        let patterns: Vec<String> =
            [" doll", " sex doll", " sexdoll", "doll", " mini", " tpe"].map(String::from).to_vec();
        let text = " tpe mini sex doll 100cm sexdoll";
        let found = ours(&TermAutomaton::build(&patterns, &[]).expect("builds"), text);
        assert_eq!(found, theirs(&patterns, text));
        let spans: Vec<&str> = found.iter().map(|&(_, s, e)| &text[s..e]).collect();
        // At one end, the longest spelling first (the state lists its own
        // match before those of its failure chain).
        assert_eq!(spans, [" tpe", " mini", " sex doll", " doll", "doll", " sexdoll", "doll"]);
    }

    /// A state whose patterns are all quiet gets no match flag in the
    /// table: its patterns go unreported there, every other pattern is
    /// reported as on the NFA.
    #[test]
    fn quiet_patterns_are_left_out_of_the_table() {
        let patterns = [" s".to_string(), " sun".to_string()];
        let automaton = TermAutomaton::build(&patterns, &[true, false]).expect("builds");
        let haystack = b" sea sun s";
        let (mut table, mut nfa) = (Vec::new(), Vec::new());
        automaton.each_match(haystack, |p, s, e| table.push((p, s, e)));
        automaton.each_match_on_nfa(haystack, |p, s, e| nfa.push((p, s, e)));
        assert_eq!(nfa, [(0, 0, 2), (0, 4, 6), (1, 4, 8), (0, 8, 10)]);
        assert_eq!(table, [(1, 4, 8)]);
    }
}
