//! The process heap, where the C allocator is glibc's.
//!
//! Why a service touches its allocator at all: glibc gives each thread
//! that contends for the heap an arena of its own (up to 8 per core) and
//! gives freed memory back to the system only from the top of an arena.
//! Each thread also keeps a cache of freed blocks. So a server whose
//! thread count follows its peak concurrency sees RSS, and even the heap
//! in use, climb for minutes without keeping any more data (BENCHMARKS.md,
//! "Where the soak's memory went"). The server bounds its threads instead
//! (screening and reads take a slot, and the runtime's blocking pool is
//! capped, see `App::blocking_threads`), and reports
//! the allocator's figures on `/metrics` so that an operator can tell data
//! kept from memory held.
//! Tried and not kept: a `malloc_trim(0)` every 5 s kept RSS level, but
//! it holds each arena's lock while it walks it, and the 10-minute soak
//! with it had a p99.9 of 163 ms against 27 ms before (BENCHMARKS.md). A
//! deployment can cap the arenas with glibc's own `MALLOC_ARENA_MAX`.
//!
//! Other allocators (musl, or a `#[global_allocator]`) keep their own
//! figures; there [`stats`] is `None`.

/// What the allocator holds, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapStats {
    /// Allocated and not yet freed: the memory the process uses.
    pub in_use: u64,
    /// Freed but kept by the allocator (in the arenas' free lists).
    pub free_held: u64,
    /// Large blocks served by their own `mmap` (returned on free).
    pub mmapped: u64,
}

/// The allocator's figures, where it reports them.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn stats() -> Option<HeapStats> {
    // SAFETY: mallinfo2 (glibc ≥ 2.33) returns a plain struct by value
    // and sums over every arena under their locks.
    let info = unsafe { libc::mallinfo2() };
    let bytes = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    Some(HeapStats { in_use: bytes(info.uordblks), free_held: bytes(info.fordblks), mmapped: bytes(info.hblkhd) })
}

/// The allocator's figures, where it reports them.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn stats() -> Option<HeapStats> {
    None
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    #[test]
    fn the_figures_follow_allocations_and_frees() {
        let before = stats().expect("glibc reports its heap");
        // Many small blocks (below the mmap threshold, so they come from
        // an arena), then free every other one: the holes stay in the
        // arena's free lists, held, not returned.
        let blocks: Vec<Vec<u8>> = (0..20_000).map(|i| vec![(i % 251) as u8; 1_000]).collect();
        let held = stats().expect("glibc reports its heap");
        assert!(held.in_use >= before.in_use + 20_000 * 1_000, "{before:?} → {held:?}");
        let kept: Vec<Vec<u8>> = blocks.into_iter().step_by(2).collect();
        let after_free = stats().expect("glibc reports its heap");
        assert!(after_free.free_held >= held.free_held + 9_000 * 1_000, "{held:?} → {after_free:?}");
        assert_eq!(kept.len(), 10_000);
    }
}
