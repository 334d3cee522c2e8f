//! The automaton's shallow states as a DFA: one table row per state near
//! the start, with every failure transition already followed.
//!
//! Why: the contiguous NFA spends most of a search's instructions and
//! branch mispredictions deciding, at each byte, what kind of row the
//! state has and whether to follow its failure link (BENCHMARKS.md, issue
//! 14, twelfth step). A DFA steps each byte with one table lookup, but the
//! whole pack as a DFA is a 36 MB table. A search spends nearly all its
//! bytes in a few thousand states near the start (with the embedded pack,
//! 91 % of the bytes of product text in the 11,518 states up to depth 5),
//! so those get DFA rows (1.5 MB) and the search falls back to the NFA in
//! the deeper states, returning to the table as soon as the NFA leads
//! back to a shallow state. This is the idea of `regex-automata`'s lazy DFA, with the rows
//! chosen ahead of time by depth instead of cached as a search meets them.
//!
//! Each row is computed from the NFA's own transitions, so the table
//! leads to the state the NFA would be in after every byte, and the
//! search reports that state's matches, read from the NFA: the matches,
//! and their order, are the NFA's.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::Anchored;
use std::collections::hash_map::{Entry, HashMap};

/// An entry leads to a state without a row; its index is that state's in
/// `deep_states`.
const DEEP: u16 = 1 << 15;
/// An entry leads to a row whose state ends a pattern that is not quiet.
const MATCH: u16 = 1 << 14;
/// The index an entry holds beside its flags: a row number or a place in
/// `deep_states`. Two-byte entries keep the table at half the size of
/// four-byte ones, and a search's time goes into waiting for its rows.
const INDEX: u16 = MATCH - 1;
/// `row_of` for a state without a row.
const NO_ROW: u16 = u16::MAX;

/// Rows for the NFA's states nearest the start, as many whole depths as
/// fit a byte budget.
pub(crate) struct ShallowDfa {
    /// The class of each byte: the bytes no spelling uses share class 0,
    /// every byte a spelling uses has a class of its own.
    classes: [u8; 256],
    /// Rows are `1 << stride_shift` entries apart (classes, rounded up to
    /// a power of two).
    stride_shift: u32,
    /// Row after row: an entry is the next state's row number, with
    /// [`MATCH`] when that state is a match state, or [`DEEP`] and its
    /// index in `deep_states`.
    table: Vec<u16>,
    /// The NFA state of each row, by row number.
    row_states: Vec<StateID>,
    /// The states without a row that rows lead to (the depth after the
    /// last in the table).
    deep_states: Vec<StateID>,
    /// Each NFA state's row number, [`NO_ROW`] for a state without one;
    /// a state past its end has none.
    row_of: Vec<u16>,
}

impl ShallowDfa {
    /// Rows for the states of `nfa`, built from `patterns`, depth by depth
    /// from the unanchored start state, while the table fits `budget`
    /// bytes and entries can number its rows and the states after them.
    /// `None` when not even the start state's row fits, or when the states
    /// one byte from it are more than entries can number.
    ///
    /// A state whose patterns are all `quiet` (missing marks are `false`)
    /// gets no [`MATCH`] flag: a search through the table does not report
    /// those patterns where it steps to that state's row.
    pub(crate) fn new<A: Automaton>(nfa: &A, patterns: &[String], quiet: &[bool], budget: usize) -> Option<ShallowDfa> {
        let start = nfa.start_state(Anchored::No).ok()?;
        let (classes, representatives) = byte_classes(patterns);
        let stride = representatives.len().next_power_of_two();
        let max_rows = (budget / (stride * size_of::<u16>())).min(usize::from(INDEX) + 1);
        if max_rows == 0 {
            return None;
        }
        // Breadth first: a state's depth is the number of bytes on its
        // shortest path from the start, and every state of one depth is
        // found from the states of the depth before.
        let mut rows = vec![start];
        let mut row_numbers = HashMap::from([(start, 0usize)]);
        let mut depth_start = 0;
        loop {
            let depth_end = rows.len();
            let mut next_depth = Vec::new();
            for &state in &rows[depth_start..depth_end] {
                for &byte in &representatives {
                    let next = nfa.next_state(Anchored::No, state, byte);
                    if let Entry::Vacant(vacant) = row_numbers.entry(next) {
                        vacant.insert(depth_end + next_depth.len());
                        next_depth.push(next);
                    }
                }
            }
            if next_depth.is_empty() {
                break;
            }
            if depth_end + next_depth.len() <= max_rows {
                rows.extend(next_depth);
                depth_start = depth_end;
                continue;
            }
            for state in &next_depth {
                row_numbers.remove(state);
            }
            // The states of the next depth are the deep ones; when there
            // are more than entries can number, the last depth in the
            // table becomes the deep one.
            if next_depth.len() > usize::from(INDEX) + 1 {
                if depth_start == 0 {
                    return None;
                }
                for state in rows.drain(depth_start..) {
                    row_numbers.remove(&state);
                }
            }
            break;
        }
        let mut deep_states = Vec::new();
        let mut deep_numbers = HashMap::new();
        let mut table = vec![0u16; rows.len() * stride];
        for (row, &state) in rows.iter().enumerate() {
            for (class, &byte) in representatives.iter().enumerate() {
                let next = nfa.next_state(Anchored::No, state, byte);
                table[row * stride + class] = match row_numbers.get(&next) {
                    Some(&next_row) => next_row as u16 | if reported(nfa, next, quiet) { MATCH } else { 0 },
                    None => {
                        let index = *deep_numbers.entry(next).or_insert_with(|| {
                            deep_states.push(next);
                            deep_states.len() - 1
                        });
                        if index > usize::from(INDEX) {
                            return None;
                        }
                        DEEP | index as u16
                    }
                };
            }
        }
        let max_state = rows.iter().map(|s| s.as_usize()).max().unwrap_or(0);
        let mut row_of = vec![NO_ROW; max_state + 1];
        for (row, state) in rows.iter().enumerate() {
            row_of[state.as_usize()] = row as u16;
        }
        Some(ShallowDfa {
            classes,
            stride_shift: stride.trailing_zeros(),
            table,
            row_states: rows,
            deep_states,
            row_of,
        })
    }

    /// How many states have a row.
    #[cfg(test)]
    pub(crate) fn rows(&self) -> usize {
        self.row_states.len()
    }

    /// Calls `found(pattern, start, end)` for every match of `nfa` (the
    /// automaton this table was built from) in `haystack`, as
    /// [`super::each_match`] does.
    #[inline]
    pub(crate) fn each_match<A: Automaton>(
        &self,
        nfa: &A,
        haystack: &[u8],
        mut found: impl FnMut(usize, usize, usize),
    ) {
        // The start state's row is the first.
        let mut row = 0usize;
        let mut at = 0;
        while let Some(&byte) = haystack.get(at) {
            let entry = self.table[(row << self.stride_shift) + usize::from(self.classes[usize::from(byte)])];
            at += 1;
            if entry & (DEEP | MATCH) == 0 {
                row = usize::from(entry);
                continue;
            }
            let index = usize::from(entry & INDEX);
            if entry & DEEP == 0 {
                row = index;
                report(nfa, self.row_states[row], at, &mut found);
                continue;
            }
            // The NFA takes over until it leads back to a state with a row.
            let mut state = self.deep_states[index];
            loop {
                report(nfa, state, at, &mut found);
                let Some(&byte) = haystack.get(at) else {
                    return;
                };
                state = nfa.next_state(Anchored::No, state, byte);
                at += 1;
                if let Some(&next_row) = self.row_of.get(state.as_usize()).filter(|&&r| r != NO_ROW) {
                    row = usize::from(next_row);
                    report(nfa, state, at, &mut found);
                    break;
                }
            }
        }
    }
}

/// Whether `state` ends a pattern that is not quiet.
fn reported<A: Automaton>(nfa: &A, state: StateID, quiet: &[bool]) -> bool {
    nfa.is_match(state)
        && (0..nfa.match_len(state))
            .any(|i| !quiet.get(nfa.match_pattern(state, i).as_usize()).copied().unwrap_or(false))
}

/// Reports the matches of `state`, reached at `end`.
#[inline(always)]
pub(super) fn report<A: Automaton>(nfa: &A, state: StateID, end: usize, found: &mut impl FnMut(usize, usize, usize)) {
    if nfa.is_special(state) && nfa.is_match(state) {
        for i in 0..nfa.match_len(state) {
            let pattern = nfa.match_pattern(state, i);
            found(pattern.as_usize(), end - nfa.pattern_len(pattern), end);
        }
    }
}

/// Classes of bytes no state tells apart: every byte a spelling uses is
/// a class of its own, and the others (which lead every state to where
/// its failure chain ends, the start state, and the start state to
/// itself) share class 0. Returns each byte's class and one byte of each
/// class.
fn byte_classes(patterns: &[String]) -> ([u8; 256], Vec<u8>) {
    let mut used = [false; 256];
    for pattern in patterns {
        for &byte in pattern.as_bytes() {
            used[usize::from(byte)] = true;
        }
    }
    let mut classes = [0u8; 256];
    // Class 0 is the unused bytes', if a byte is unused: at most 256
    // classes either way.
    let mut representatives: Vec<u8> = used.iter().position(|&u| !u).map(|b| b as u8).into_iter().collect();
    for byte in 0..=255u8 {
        if used[usize::from(byte)] {
            classes[usize::from(byte)] = representatives.len() as u8;
            representatives.push(byte);
        }
    }
    (classes, representatives)
}
