//! The map from a derived text (canonical words, the plain view) back to
//! the original text: for each byte of the derived text, the byte span of
//! the original it stands for.
//!
//! Kept as runs rather than two offsets per byte: product text is nearly
//! all ASCII copied one for one, where a run of any length is one
//! segment, so the fold writes one entry per stretch of text instead of
//! eight bytes per byte, and a span is looked up (once per hit, rarely)
//! by a binary search. Two kinds of segment give every byte its span:
//!
//! * *copied*: byte `k` stands for the one original byte at
//!   `from + (k - at)`;
//! * *two-byte*: byte `k` stands for the two original bytes at
//!   `from + 2 (k - at)`: a word of Cyrillic, Greek or accented Latin
//!   letters, each two bytes of UTF-8 folded to one ASCII letter, which
//!   took a segment per letter as spanning ones (BENCHMARKS.md, issue 14,
//!   sixteenth step);
//! * *spanning*: every byte stands for the whole `from..to` (a folded
//!   character, `ß` → `ss`; an inserted space, `from == to`).
//!
//! The form is canonical (a byte with a one-byte span is always copied,
//! one with a two-byte span always two-byte; neighbours merge whenever
//! they can), so two maps are equal exactly when they give every byte the
//! same span, and derived `PartialEq` means what it says.

/// `Segment::to` of a copied segment.
const COPIED: u32 = u32::MAX;
/// `Segment::to` of a two-byte segment.
const TWO_BYTE: u32 = u32::MAX - 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    /// Offset in the derived text of the first byte.
    at: u32,
    len: u32,
    from: u32,
    /// End of the span of each byte, or [`COPIED`] or [`TWO_BYTE`].
    to: u32,
}

impl Segment {
    fn span_of(&self, k: u32) -> (u32, u32) {
        match self.to {
            COPIED => {
                let start = self.from + (k - self.at);
                (start, start + 1)
            }
            TWO_BYTE => {
                let start = self.from + 2 * (k - self.at);
                (start, start + 2)
            }
            to => (self.from, to),
        }
    }
}

/// Byte spans in the original of each byte of a derived text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct OffsetMap {
    segments: Vec<Segment>,
    /// Bytes mapped.
    len: u32,
}

impl OffsetMap {
    pub(crate) fn clear(&mut self) {
        self.segments.clear();
        self.len = 0;
    }

    /// Maps the next `n` bytes to the original bytes `from..from + n`,
    /// one for one.
    #[inline]
    pub(crate) fn push_copied(&mut self, from: u32, n: u32) {
        // The fold's hot path (a word, or a space, continuing the run
        // before it): kept small enough to inline.
        match self.segments.last_mut() {
            Some(last) if last.to == COPIED && last.from + last.len == from => {
                last.len += n;
                self.len += n;
            }
            _ => self.push_segment(from, COPIED, n),
        }
    }

    /// Maps the next `n` bytes each to the whole original span `from..to`.
    #[inline]
    pub(crate) fn push_spanning(&mut self, from: u32, to: u32, n: u32) {
        if to == from + 1 {
            // A one-byte span is a copied byte (the canonical form).
            if n == 1 {
                self.push_copied(from, 1);
            } else {
                self.push_copied_each(from, n);
            }
            return;
        }
        if to == from + 2 {
            for _ in 0..n {
                self.push_two_byte(from);
            }
            return;
        }
        match self.segments.last_mut() {
            Some(last) if last.to == to && last.from == from => {
                last.len += n;
                self.len += n;
            }
            _ => self.push_segment(from, to, n),
        }
    }

    /// One byte standing for the original bytes `from..from + 2`.
    #[inline]
    fn push_two_byte(&mut self, from: u32) {
        self.push_two_byte_run(from, 1);
    }

    /// `n` bytes standing for two original bytes each, from `from` on.
    #[inline]
    pub(crate) fn push_two_byte_run(&mut self, from: u32, n: u32) {
        match self.segments.last_mut() {
            Some(last) if last.to == TWO_BYTE && last.from + 2 * last.len == from => {
                last.len += n;
                self.len += n;
            }
            _ => self.push_segment(from, TWO_BYTE, n),
        }
    }

    /// `n` bytes that each stand for the one original byte `from`.
    #[inline(never)]
    fn push_copied_each(&mut self, from: u32, n: u32) {
        for _ in 0..n {
            self.push_copied(from, 1);
        }
    }

    #[inline(never)]
    fn push_segment(&mut self, from: u32, to: u32, n: u32) {
        // An empty segment would break `pop`.
        if n > 0 {
            self.segments.push(Segment { at: self.len, len: n, from, to });
            self.len += n;
        }
    }

    /// Forgets the last byte's span.
    pub(crate) fn pop(&mut self) {
        if let Some(last) = self.segments.last_mut() {
            last.len -= 1;
            self.len -= 1;
            if last.len == 0 {
                self.segments.pop();
            }
        }
    }

    /// Makes the last byte's span end at `to` (an invisible character or
    /// a collapsed letter after it joins its evidence).
    pub(crate) fn set_last_end(&mut self, to: u32) {
        if self.len == 0 {
            return;
        }
        let (start, _) = self.span(self.len as usize - 1);
        self.pop();
        self.push_spanning(start, to, 1);
    }

    /// The original span of byte `k` (which must be mapped).
    pub(crate) fn span(&self, k: usize) -> (u32, u32) {
        let k = k as u32;
        let i = self.segments.partition_point(|s| s.at + s.len <= k);
        self.segments[i].span_of(k)
    }

    /// The span of each byte, in order.
    pub(crate) fn spans(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.segments.iter().flat_map(|s| (s.at..s.at + s.len).map(move |k| s.span_of(k)))
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.segments.capacity() * size_of::<Segment>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One operation on a map, applied alike to the per-byte oracle.
    #[derive(Clone, Debug)]
    enum Op {
        Copied(u32, u32),
        Spanning(u32, u32, u32),
        /// `n` two-byte letters in a row, pushed one at a time.
        Letters(u32, u32),
        Pop,
        SetLastEnd(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u32..40, 0u32..6).prop_map(|(f, n)| Op::Copied(f, n)),
            (0u32..40, 0u32..4, 0u32..4).prop_map(|(f, w, n)| Op::Spanning(f, f + w, n)),
            (0u32..40, 0u32..5).prop_map(|(f, n)| Op::Letters(f, n)),
            Just(Op::Pop),
            (0u32..50).prop_map(Op::SetLastEnd),
        ]
    }

    proptest! {
        /// The runs give every byte the span two per-byte vectors give it
        /// (the map the fold kept before), whatever the operations; and
        /// equal spans mean equal maps.
        #[test]
        fn runs_map_each_byte_as_per_byte_vectors_do(ops in proptest::collection::vec(op(), 0..40)) {
            let mut map = OffsetMap::default();
            let mut oracle: Vec<(u32, u32)> = Vec::new();
            for op in ops {
                match op {
                    Op::Copied(from, n) => {
                        map.push_copied(from, n);
                        oracle.extend((from..from + n).map(|s| (s, s + 1)));
                    }
                    Op::Spanning(from, to, n) => {
                        map.push_spanning(from, to, n);
                        oracle.extend(std::iter::repeat_n((from, to), n as usize));
                    }
                    Op::Letters(from, n) => {
                        // Half of them one at a time, the rest as a run.
                        let (single, run) = (n / 2, n - n / 2);
                        for at in (from..from + 2 * single).step_by(2) {
                            map.push_spanning(at, at + 2, 1);
                        }
                        map.push_two_byte_run(from + 2 * single, run);
                        oracle.extend((from..from + 2 * n).step_by(2).map(|at| (at, at + 2)));
                    }
                    Op::Pop => {
                        map.pop();
                        oracle.pop();
                    }
                    Op::SetLastEnd(to) => {
                        map.set_last_end(to);
                        if let Some(last) = oracle.last_mut() {
                            last.1 = to;
                        }
                    }
                }
            }
            prop_assert_eq!(map.spans().collect::<Vec<_>>(), oracle.clone());
            for (k, &span) in oracle.iter().enumerate() {
                prop_assert_eq!(map.span(k), span);
            }
            let mut rebuilt = OffsetMap::default();
            for &(from, to) in &oracle {
                rebuilt.push_spanning(from, to, 1);
            }
            prop_assert_eq!(rebuilt, map);
        }
    }
}
