//! Per-thread buffers kept from one field or listing to the next.
//!
//! The gate is shared by every screening thread (`&Gate`, `Send + Sync`),
//! so buffers it reuses cannot live in it without a lock; each thread
//! keeps its own in a `thread_local!` slot instead. A slot holds a
//! buffer only between two uses: [`take`] empties it (a fresh default if
//! a caller further up the stack has it, so re-entry is safe, just not
//! faster), [`put_back`] refills it.

use std::cell::Cell;
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
