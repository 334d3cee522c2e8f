//! Per-thread buffers kept from one field or listing to the next.
//!
//! The gate is shared by every screening thread (`&Gate`, `Send + Sync`),
//! so buffers it reuses cannot live in it without a lock; each thread
//! keeps its own in a `thread_local!` slot instead. A slot holds a
//! buffer only between two uses: [`take`] empties it (a fresh default if
//! a caller further up the stack has it, so re-entry is safe, just not
//! faster), [`put_back`] refills it.

use std::cell::{Cell, RefCell};
use std::thread::LocalKey;

/// Above this many heap bytes a buffer is dropped rather than kept: one
/// listing with a megabyte description must not pin a megabyte per
/// thread for the rest of the run. Ordinary fields need a few KiB.
pub(crate) const KEPT_BYTES: usize = 128 * 1024;

/// The thread's buffer from `slot`, leaving the slot empty.
pub(crate) fn take<T: Default>(slot: &'static LocalKey<Cell<T>>) -> T {
    slot.take()
}

/// What a buffer holds on the heap, to decide whether to keep it.
pub(crate) trait HeapBytes {
    fn heap_bytes(&self) -> usize;
}

impl HeapBytes for String {
    fn heap_bytes(&self) -> usize {
        self.capacity()
    }
}

impl<T> HeapBytes for Vec<T> {
    fn heap_bytes(&self) -> usize {
        self.capacity() * size_of::<T>()
    }
}

impl HeapBytes for Option<regex_automata::PatternSet> {
    fn heap_bytes(&self) -> usize {
        self.as_ref().map_or(0, regex_automata::PatternSet::capacity)
    }
}

/// Gives `buffer` back to `slot` for the next [`take`] on this thread,
/// unless it has grown too big to keep.
pub(crate) fn put_back<T: HeapBytes>(slot: &'static LocalKey<Cell<T>>, buffer: T) {
    if buffer.heap_bytes() <= KEPT_BYTES {
        slot.set(buffer);
    }
}

thread_local! {
    /// The strings of the listings this thread gave back
    /// ([`crate::Listing::recycle`]).
    static SPARE_STRINGS: RefCell<SpareStrings> = RefCell::default();
}

/// Runs `f` with this thread's spare strings, or with none if a caller
/// further up the stack has them. Borrowed in place rather than taken
/// and put back as the other buffers are: moving the pool out and back
/// and summing its strings' sizes each time cost about a third of the
/// allocations it saves (BENCHMARKS.md, issue 14, seventeenth step).
pub(crate) fn with_spare_strings<R>(f: impl FnOnce(&mut SpareStrings) -> R) -> R {
    SPARE_STRINGS.with(|spare| match spare.try_borrow_mut() {
        Ok(mut spare) => f(&mut spare),
        Err(_) => f(&mut SpareStrings::default()),
    })
}

/// Strings, and an attribute list, to copy a record's text into rather
/// than allocate: a string given back by the listing before is most
/// often the right size already.
#[derive(Default)]
pub(crate) struct SpareStrings {
    strings: Vec<String>,
    /// The strings' heap bytes.
    held: usize,
    attributes: Vec<(String, String)>,
}

/// More strings than a typical listing holds (title, description and a
/// dozen attributes); a listing with hundreds of attributes gives back
/// only this many.
const SPARE_STRINGS_KEPT: usize = 64;

impl SpareStrings {
    /// `text` in a string of its own, a spare one if there is one.
    pub(crate) fn text(&mut self, text: &str) -> String {
        match self.strings.pop() {
            Some(mut spare) => {
                self.held -= spare.capacity();
                spare.clear();
                spare.push_str(text);
                spare
            }
            None => text.to_owned(),
        }
    }

    /// Keeps the `given` strings of `strings`, the last one to be handed
    /// out first; past the room, the first ones are dropped, and past
    /// [`KEPT_BYTES`] all of them.
    pub(crate) fn keep(&mut self, strings: impl Iterator<Item = String>, given: usize) {
        let dropped = (self.strings.len() + given).saturating_sub(SPARE_STRINGS_KEPT);
        for string in strings.skip(dropped) {
            self.held += string.capacity();
            self.strings.push(string);
        }
        if self.held > KEPT_BYTES {
            *self = SpareStrings { attributes: std::mem::take(&mut self.attributes), ..SpareStrings::default() };
        }
    }

    /// An empty attribute list, the one given back if there is one.
    pub(crate) fn attributes(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.attributes)
    }

    /// Keeps `attributes` (emptied) unless the one kept is larger.
    pub(crate) fn keep_attributes(&mut self, mut attributes: Vec<(String, String)>) {
        attributes.clear();
        if attributes.capacity() > self.attributes.capacity() && attributes.heap_bytes() <= KEPT_BYTES {
            self.attributes = attributes;
        }
    }
}
