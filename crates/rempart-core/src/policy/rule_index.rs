//! Which rules of a pack a listing's signals can make hold.
//!
//! Every rule with a [`Trigger`] needs one of the signals it names; testing
//! each rule's trigger for each listing costs a pass over every rule of
//! every policy, although a listing fires few term sets. The index turns
//! the question around: from each term set, quantity kind and the external
//! signals to the rules whose trigger names it, so a listing visits only
//! the rules of what it holds, plus the rules without a trigger, which can
//! hold on what is absent (`!set`, `[info]` items) and are always visited.

use crate::extract::QuantityKind;
use crate::matcher::SetId;

use super::{Policy, Trigger};

/// A rule's place in its pack: (policy index, rule index in the policy).
pub(crate) type RuleAt = (u32, u32);

/// The rules a listing may hold, on the stack while they are as few as
/// most listings' (a few dozen).
pub(crate) type Candidates = smallvec::SmallVec<[RuleAt; 32]>;

/// Packs of up to 64 times this many rules mark their candidates in a
/// stack array instead of a heap one allocated per listing; the shipped
/// pack has about 140 rules.
pub(crate) const STACK_WORDS: usize = 4;

/// The rules of a pack by what their trigger needs. Rules are numbered in
/// pack order (policies in order, then their rules), so visiting the
/// candidates by number visits them as the pack lists them.
#[derive(Clone, Default)]
pub(crate) struct RuleIndex {
    /// Each rule's place, by number.
    places: Vec<RuleAt>,
    /// The rules without a trigger, as bits over rule numbers.
    untriggered: Vec<u64>,
    /// Per term set, the rules whose trigger names it.
    by_set: Vec<Vec<u32>>,
    /// Per quantity kind, the rules whose trigger names it.
    by_kind: [Vec<u32>; QuantityKind::ALL.len()],
    /// The rules whose trigger is satisfied by any external signal.
    by_external: Vec<u32>,
}

impl std::fmt::Debug for RuleIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleIndex").field("rules", &self.places.len()).finish_non_exhaustive()
    }
}

impl RuleIndex {
    pub(crate) fn new(policies: &[Policy]) -> RuleIndex {
        let mut index = RuleIndex::default();
        let rules = policies.iter().enumerate().flat_map(|(p, policy)| {
            policy.rules.iter().enumerate().map(move |(r, rule)| ((p as u32, r as u32), rule.trigger.as_ref()))
        });
        for (number, (place, trigger)) in rules.enumerate() {
            index.places.push(place);
            let number = number as u32;
            match trigger {
                None => index.untriggered_mut(number),
                Some(Trigger { sets, kinds, external }) => {
                    for &set in sets {
                        if index.by_set.len() <= set {
                            index.by_set.resize_with(set + 1, Vec::new);
                        }
                        index.by_set[set].push(number);
                    }
                    for &kind in kinds {
                        index.by_kind[kind as usize].push(number);
                    }
                    if *external {
                        index.by_external.push(number);
                    }
                }
            }
        }
        index
    }

    fn untriggered_mut(&mut self, number: u32) {
        let word = number as usize / 64;
        if self.untriggered.len() <= word {
            self.untriggered.resize(word + 1, 0);
        }
        self.untriggered[word] |= 1 << (number % 64);
    }

    /// Whether some rule's trigger names a quantity kind: only then do
    /// the candidates depend on the kinds a listing holds.
    pub(crate) fn has_kind_triggers(&self) -> bool {
        self.by_kind.iter().any(|rules| !rules.is_empty())
    }

    /// The rules that may hold given the term sets found (repeats allowed),
    /// the quantity kinds found and whether any external signal fired: each
    /// rule without a trigger, and each rule whose trigger names one of
    /// them. In pack order, each once.
    pub(crate) fn candidates(
        &self,
        sets: impl IntoIterator<Item = SetId>,
        kinds: impl IntoIterator<Item = QuantityKind>,
        any_external: bool,
    ) -> Candidates {
        let words = self.places.len().div_ceil(64);
        if words <= STACK_WORDS {
            let mut bits = [0u64; STACK_WORDS];
            self.candidates_in(&mut bits[..words], sets, kinds, any_external)
        } else {
            self.candidates_in(&mut vec![0u64; words], sets, kinds, any_external)
        }
    }

    /// [`RuleIndex::candidates`], marking them in `bits`: zeroed, a bit
    /// per rule.
    fn candidates_in(
        &self,
        bits: &mut [u64],
        sets: impl IntoIterator<Item = SetId>,
        kinds: impl IntoIterator<Item = QuantityKind>,
        any_external: bool,
    ) -> Candidates {
        bits[..self.untriggered.len()].copy_from_slice(&self.untriggered);
        let mut mark = |numbers: &[u32]| {
            for &n in numbers {
                bits[n as usize / 64] |= 1 << (n % 64);
            }
        };
        for set in sets {
            if let Some(numbers) = self.by_set.get(set) {
                mark(numbers);
            }
        }
        for kind in kinds {
            mark(&self.by_kind[kind as usize]);
        }
        if any_external {
            mark(&self.by_external);
        }
        // Counted first so the list is allocated once, not regrown as it fills.
        let mut places = Candidates::with_capacity(bits.iter().map(|word| word.count_ones() as usize).sum());
        for (word, &set_bits) in bits.iter().enumerate() {
            let mut rest = set_bits;
            while rest != 0 {
                places.push(self.places[word * 64 + rest.trailing_zeros() as usize]);
                rest &= rest - 1;
            }
        }
        places
    }
}
