//! The process heap, where the C allocator is glibc's.
//!
//! Why a service touches its allocator at all: glibc gives each thread
//! that contends for the heap an arena of its own (up to 8 per core) and
//! gives freed memory back to the system only from the top of an arena.
//! Under tokio's worker and blocking threads a server that allocates per
//! request (bodies, decisions, canonical JSON) leaves many arenas, each
//! holding free chunks it never returns: RSS climbs for minutes while the
//! memory in use does not (BENCHMARKS.md, "The service under load").
//! The server bounds its threads (screening and reads take a slot, see
//! `state::Shared`) and calls `malloc_trim(0)` every few seconds, which
//! returns free pages in the middle of every arena too
//! (`madvise(MADV_DONTNEED)`), not only at their tops. A deployment can
//! also cap the arenas with glibc's own `MALLOC_ARENA_MAX`.
//!
//! Other allocators (musl, or a `#[global_allocator]`) manage this
//! themselves; there these functions do nothing and [`stats`] is `None`.

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

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use super::HeapStats;

    pub fn release_free() {
        // SAFETY: malloc_trim takes the arenas' locks itself; no pointer
        // is passed.
        unsafe {
            libc::malloc_trim(0);
        }
    }

    pub fn stats() -> Option<HeapStats> {
        // SAFETY: mallinfo2 (glibc ≥ 2.33) returns a plain struct by value
        // and sums over every arena under their locks.
        let info = unsafe { libc::mallinfo2() };
        let bytes = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        Some(HeapStats { in_use: bytes(info.uordblks), free_held: bytes(info.fordblks), mmapped: bytes(info.hblkhd) })
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod glibc {
    use super::HeapStats;

    pub fn release_free() {}

    pub fn stats() -> Option<HeapStats> {
        None
    }
}

/// Returns the allocator's free pages to the system (a few milliseconds
/// on a heap of a few hundred MiB: run it off the request path).
pub fn release_free() {
    glibc::release_free()
}

/// The allocator's figures, where it reports them.
pub fn stats() -> Option<HeapStats> {
    glibc::stats()
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    #[test]
    fn the_figures_follow_allocations_and_frees_and_trimming_keeps_live_blocks() {
        let before = stats().expect("glibc reports its heap");
        // Many small blocks (below the mmap threshold, so they come from
        // an arena), then free every other one: the holes cannot be
        // returned from the top, only by trimming inside the arena.
        let blocks: Vec<Vec<u8>> = (0..20_000).map(|i| vec![(i % 251) as u8; 1_000]).collect();
        let held = stats().expect("glibc reports its heap");
        assert!(held.in_use >= before.in_use + 20_000 * 1_000, "{before:?} → {held:?}");
        let kept: Vec<Vec<u8>> = blocks.into_iter().step_by(2).collect();
        let after_free = stats().expect("glibc reports its heap");
        assert!(after_free.free_held >= held.free_held + 9_000 * 1_000, "{held:?} → {after_free:?}");
        release_free();
        assert_eq!(kept.len(), 10_000);
        assert!(kept.iter().enumerate().all(|(i, b)| b.len() == 1_000 && b[0] == ((2 * i) % 251) as u8));
    }
}
