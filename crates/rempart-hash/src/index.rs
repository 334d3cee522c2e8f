//! Exact radius search over 256-bit hashes: "every bank entry within
//! Hamming distance `r` of this query", answered without scanning the bank.
//!
//! # Why multi-index hashing
//!
//! A PDQ bank holds millions of hashes and each uploaded image asks for all
//! of them within distance 31 (the PDQ match threshold). A linear scan reads
//! 32 bytes per entry: about 30 ms for ten million entries, per image. Tree
//! and LSH indexes either approximate or degrade at radius 31 out of 256.
//! Multi-index hashing (Norouzi, Punjani and Fleet, "Fast Search in Hamming
//! Space with Multi-Index Hashing", CVPR 2012) stays exact and is cheap at
//! exactly this kind of radius, which is why the PDQ reference uses it too.
//!
//! The 256 bits are cut into `m` disjoint substrings and every substring gets
//! a table from its value to the entries holding that value. The pigeonhole
//! principle makes the lookup exact: give substring `i` a search radius
//! `r_i` (or skip it) such that `sum(r_i + 1) >= r + 1`. If an entry were
//! farther than `r_i` from the query on every searched substring, its total
//! distance would be at least `r + 1`. So every entry within `r` sits in a
//! bucket within `r_i` of the query's key in at least one table; the query
//! enumerates those keys, collects the bucket members as candidates and
//! verifies each with the full 256-bit distance.
//!
//! # Why these substring widths
//!
//! The substring width `w` trades memory against work:
//!
//! * Probes: a table searched at radius `r_i` is probed with
//!   `C(w,0) + ... + C(w,r_i)` keys. Wide substrings mean many probes.
//! * Candidates: each probe returns about `N / 2^w` entries, nearly all of
//!   them false positives that cost a random 32-byte read to reject. Narrow
//!   substrings mean many candidates.
//! * Memory: every table stores one id per entry, so `m = 256 / w` tables
//!   cost `m` ids per entry, plus a bucket directory of `2^w` offsets.
//!
//! The paper's advice is `w ≈ log2 N`. We go two bits narrower, so a bucket
//! holds about four entries: that keeps the directory (one offset per bucket)
//! at a quarter of an id array, and the extra candidates are cheaper than the
//! extra probes a wider key would need. The substring count is
//! `m = round(256 / log2(N/4))`, clamped to 10..=32 so the directory stays
//! small (at most 2^26 buckets) and tiny banks do not get hundreds of tables.
//! For ten million entries that gives 12 substrings of 21 or 22 bits; at
//! `r = 31` the 32 pigeonhole units become radius 2 on eight tables and
//! radius 1 on four, about 2,000 probes and 7,300 candidates per query
//! instead of 10,000,000 distance computations.
//!
//! The textbook layout of 16 substrings of 16 bits (radius 1 each at
//! `r = 31`) needs only 272 probes but yields ~41,000 candidates at ten
//! million entries (152 per bucket), each a random read: three times slower
//! (590 µs against 200 µs median in `bank_bench`), and it stores 16 ids per
//! entry instead of 12.
//!
//! Which tables get the larger radius is decided per query by a small cost
//! model (probes and candidates weighed in rough nanoseconds), greedily: the
//! cost of raising one table's radius grows with the radius, so handing each
//! unit of `r + 1` to the currently cheapest table is optimal. The same model
//! compares the total against a linear scan, which wins for tiny banks and
//! for radii far beyond the match threshold (around 60 and up at ten
//! million entries, where the candidate lists approach the whole bank).
//! Both paths are exact.
//!
//! # Memory
//!
//! Per entry: the hash itself (32 bytes) plus one id per table. Ids and
//! bucket offsets are stored in the fewest whole bytes that can hold the
//! entry count: 3 bytes up to 16,777,215 entries, 4 beyond, 2 for banks
//! under 65,536. Bucket directories are counting-sort CSR arrays of
//! `2^w + 1` offsets, so a table is two flat arrays and a lookup is two reads.
//!
//! For ten million entries: 320 MB of hashes, 12 × 30 MB of ids and
//! 4 × 12.6 MB + 8 × 6.3 MB of offsets, about 780 MB, or 78 bytes per
//! entry. Plain `u32` ids and offsets would have cost 930 MB, and 16 tables
//! of 16 bits with `u32` ids 960 MB. The bank itself is kept in input order,
//! so ids are positions in the vector given to [`HashIndex::new`].
//!
//! # Performance
//!
//! `cargo run --release -p rempart-hash --example bank_bench -- 10000000`
//! on a two-core EPYC virtual machine, one core, random hashes, `r = 31`:
//! build 4 to 5 s, 781 MB of index (794 MB peak RSS for the whole process),
//! 190 to 200 µs median and 240 to 340 µs at the 99th percentile per query
//! (runs on a machine shared with other builds), against 23 ms for a scan.
//! At one million entries (14 substrings, 88 MB): 65 µs median, 100 µs p99,
//! against 2.3 ms.
//!
//! Nearly all of a query's time is waiting on memory, so the probe loop is
//! arranged for the CPU to overlap those waits; see `probe_tables`.
//!
//! # Duplicates across tables
//!
//! An entry close to the query usually matches in several tables. Rather
//! than remembering what was reported (a per-query bitmap, or a sort at the
//! end), a verified match is reported only by the first searched table whose
//! probe set contains it: a few popcounts on keys already at hand, paid only
//! for real matches, and the index stays free of per-query state so it can
//! be shared across threads as is.
//!
//! Bits are taken in contiguous runs (substring 0 is the lowest `w` bits of
//! the last hex digits, as [`Hash256::bit`] numbers them) rather than a
//! random permutation: PDQ bits are close to balanced, and contiguous runs
//! make key extraction two shifts.

use std::fmt;
use std::ops::Range;

use crate::hash256::Hash256;

const HASH_BITS: u32 = 256;
const MIN_SUBSTRINGS: usize = 10;
const MAX_SUBSTRINGS: usize = 32;

/// Rough costs, in nanoseconds on a current x86 core with the bank out of
/// cache, used only to choose radii and between probing and scanning. Exact
/// values matter little: the choices they drive differ by large factors.
/// A probe reads two offsets from a directory that does not fit in cache,
/// then the start of the bucket they point at.
const PROBE_COST: f64 = 50.0;
/// A candidate is an id read from a bucket (sequential) and a random
/// read of its hash.
const CANDIDATE_COST: f64 = 15.0;
/// A scan streams hashes at memory bandwidth, about 2.3 ns each. Rounded
/// down because at radii near the crossover (around 60 for ten million
/// entries) probing costs more than modelled: its candidate lists outgrow
/// the cache.
const SCAN_COST_PER_ENTRY: f64 = 2.0;

/// How [`HashIndex::query_with`] finds its matches. Every strategy returns
/// the same, exact result; they differ only in speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Probe the substring tables or scan, whichever the cost model expects
    /// to be faster.
    #[default]
    Auto,
    /// Always probe the substring tables, however large the radius.
    MultiIndex,
    /// Always compare the query with every entry.
    Scan,
}

/// An immutable index of 256-bit hashes answering exact Hamming-radius
/// queries. Entries are identified by their position (`u32`) in the vector
/// the index was built from. See the [module documentation](self) for the
/// design.
///
/// ```
/// use rempart_hash::index::HashIndex;
/// use rempart_hash::Hash256;
///
/// let bank: Vec<Hash256> = [
///     "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22",
///     "0000000000000000000000000000000000000000000000000000000000000000",
/// ]
/// .iter()
/// .map(|hex| hex.parse().unwrap())
/// .collect();
/// let index = HashIndex::new(bank);
/// let upload: Hash256 = "d8f8f0cee0f4a84f0637022a038f67f0b36e2ed596631e1d33e6339c4e9c9b22".parse().unwrap();
/// assert_eq!(index.query(&upload, 31), vec![(0, 2)]);
/// assert_eq!(index.nearest(&upload, 31), Some((0, 2)));
/// ```
#[derive(Clone)]
pub struct HashIndex {
    hashes: Vec<Hash256>,
    tables: Vec<SubstringTable>,
}

impl HashIndex {
    /// Builds the index with a substring layout suited to the number of
    /// hashes.
    ///
    /// # Panics
    ///
    /// If there are more than `u32::MAX` hashes: ids are `u32`.
    pub fn new(hashes: Vec<Hash256>) -> HashIndex {
        let substring_count = default_substring_count(hashes.len());
        HashIndex::with_substring_count(hashes, substring_count)
    }

    /// Builds the index with `substring_count` tables, each over
    /// `256 / substring_count` bits (some one bit wider, so the widths add up
    /// to 256). Meant for measuring layouts; [`HashIndex::new`] chooses well.
    ///
    /// # Panics
    ///
    /// If `substring_count` is outside 10..=32 (wider substrings would need
    /// directories of billions of buckets, narrower ones more tables than
    /// bits worth indexing), or if there are more than `u32::MAX` hashes.
    pub fn with_substring_count(hashes: Vec<Hash256>, substring_count: usize) -> HashIndex {
        assert!(
            (MIN_SUBSTRINGS..=MAX_SUBSTRINGS).contains(&substring_count),
            "substring count {substring_count} is outside {MIN_SUBSTRINGS}..={MAX_SUBSTRINGS}"
        );
        let entry_count = u32::try_from(hashes.len()).expect("a hash index holds at most u32::MAX entries");
        let value_bytes = bytes_to_hold(entry_count);
        let tables = substring_layout(substring_count)
            .into_iter()
            .map(|substring| SubstringTable::build(&hashes, substring, value_bytes))
            .collect();
        HashIndex { hashes, tables }
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The hash stored under `id`.
    pub fn get(&self, id: u32) -> Option<&Hash256> {
        self.hashes.get(id as usize)
    }

    /// All hashes, indexed by id.
    pub fn hashes(&self) -> &[Hash256] {
        &self.hashes
    }

    /// The number of substring tables.
    pub fn substring_count(&self) -> usize {
        self.tables.len()
    }

    /// Heap bytes held by the index, hashes included, counted from the
    /// allocations' capacities.
    pub fn memory_bytes(&self) -> usize {
        self.hashes.capacity() * std::mem::size_of::<Hash256>()
            + self.tables.capacity() * std::mem::size_of::<SubstringTable>()
            + self.tables.iter().map(SubstringTable::memory_bytes).sum::<usize>()
    }

    /// Every entry within Hamming distance `max_distance` of `query`, as
    /// `(id, distance)` sorted by distance, then id.
    pub fn query(&self, query: &Hash256, max_distance: u32) -> Vec<(u32, u32)> {
        self.query_with(query, max_distance, Strategy::Auto)
    }

    /// [`HashIndex::query`] with an explicit search strategy.
    pub fn query_with(&self, query: &Hash256, max_distance: u32, strategy: Strategy) -> Vec<(u32, u32)> {
        let mut matches = Vec::new();
        let plan = self.plan(max_distance);
        let use_tables = match strategy {
            Strategy::Auto => plan.is_cheaper_than_scan(self.len()),
            Strategy::MultiIndex => true,
            Strategy::Scan => false,
        };
        if use_tables {
            self.probe_tables(query, max_distance, &plan, &mut matches);
            sort_by_distance(&mut matches);
        } else {
            matches = brute_force(&self.hashes, query, max_distance);
        }
        matches
    }

    /// The closest entry within `max_distance` of `query` as `(id,
    /// distance)`, the lowest id among equally close ones.
    ///
    /// Searches outwards: a bank usually holds either a near-copy of the
    /// query or nothing close, and a small radius that finds something
    /// settles the answer for a fraction of the full query's cost.
    pub fn nearest(&self, query: &Hash256, max_distance: u32) -> Option<(u32, u32)> {
        // No two hashes are farther apart, and it bounds the loop below.
        let max_distance = max_distance.min(HASH_BITS);
        let closest = |matches: Vec<(u32, u32)>| matches.into_iter().min_by_key(|&(id, distance)| (distance, id));
        // Radii at which every table's own radius goes up by one, the
        // natural steps of the probe cost.
        let step = self.tables.len().max(1) as u32;
        let mut radius = step - 1;
        loop {
            let radius_now = radius.min(max_distance);
            let plan = self.plan(radius_now);
            if !plan.is_cheaper_than_scan(self.len()) {
                // A scan costs the same at any radius: do the full one.
                return closest(brute_force(&self.hashes, query, max_distance));
            }
            let mut matches = Vec::new();
            self.probe_tables(query, radius_now, &plan, &mut matches);
            if !matches.is_empty() || radius_now == max_distance {
                return closest(matches);
            }
            radius = radius.saturating_add(step);
        }
    }

    /// Hands out the `max_distance + 1` pigeonhole units one at a time to
    /// whichever table is cheapest to widen by one more bit of radius.
    fn plan(&self, max_distance: u32) -> QueryPlan {
        let units = max_distance.min(HASH_BITS) + 1;
        let entry_count = self.len() as f64;
        let mut allotted = [0u32; MAX_SUBSTRINGS];
        // Keys at exactly the next radius, C(width, allotted), per table.
        let mut next_ring_size = [1.0f64; MAX_SUBSTRINGS];
        let mut plan = QueryPlan { radii: [None; MAX_SUBSTRINGS], probes: 0.0, candidates: 0.0 };
        let ring_cost = |table: &SubstringTable, ring_size: f64| {
            ring_size * (PROBE_COST + CANDIDATE_COST * entry_count / table.bucket_count() as f64)
        };
        for _ in 0..units {
            let cheapest =
                (0..self.tables.len()).filter(|&i| allotted[i] <= self.tables[i].substring.width).min_by(|&a, &b| {
                    ring_cost(&self.tables[a], next_ring_size[a])
                        .total_cmp(&ring_cost(&self.tables[b], next_ring_size[b]))
                });
            let Some(i) = cheapest else { break };
            let table = &self.tables[i];
            let ring_size = next_ring_size[i];
            plan.probes += ring_size;
            plan.candidates += ring_size * entry_count / table.bucket_count() as f64;
            plan.radii[i] = Some(allotted[i]);
            let width = table.substring.width;
            next_ring_size[i] = ring_size * f64::from(width - allotted[i]) / f64::from(allotted[i] + 1);
            allotted[i] += 1;
            if allotted[i] == width + 1 {
                // This table now enumerates every key, so it alone finds
                // every entry within any radius.
                break;
            }
        }
        plan
    }

    /// Probes table by table in passes, each a tight loop of reads that do
    /// not depend on each other: bucket bounds for every probe key, then the
    /// first ids of every bucket, then half of every candidate hash. Chasing
    /// each probe through to its hashes instead leaves the CPU waiting on
    /// one cache miss at a time; on a bank that does not fit in cache the
    /// passes make queries about 2.5 times faster.
    fn probe_tables(&self, query: &Hash256, max_distance: u32, plan: &QueryPlan, matches: &mut Vec<(u32, u32)>) {
        let mut query_keys = [0u32; MAX_SUBSTRINGS];
        for (key, table) in query_keys.iter_mut().zip(&self.tables) {
            *key = table.substring.key(query);
        }
        let mut probe_keys = Vec::new();
        let mut bucket_slots = Vec::new();
        let mut bucket_heads = Vec::new();
        let mut candidates = Vec::new();
        let mut candidate_halves = Vec::new();
        for (table_index, table) in self.tables.iter().enumerate() {
            let Some(radius) = plan.radii[table_index] else { continue };
            let query_key = query_keys[table_index];
            probe_keys.clear();
            for flipped_bits in 0..=radius {
                let flips = BitCombinations::new(table.substring.width, flipped_bits);
                probe_keys.extend(flips.map(|flip| query_key ^ flip));
            }

            bucket_slots.clear();
            bucket_slots.extend(probe_keys.iter().map(|&key| table.bucket_slots(key)));

            // Most buckets hold a handful of ids, all within their first
            // 16 bytes; longer ones are finished from the array.
            bucket_heads.clear();
            bucket_heads.extend(bucket_slots.iter().map(|slots| table.ids.chunk_at(slots.start)));
            candidates.clear();
            for (slots, &head) in bucket_slots.iter().zip(&bucket_heads) {
                let in_head = slots.len().min(table.ids.values_per_chunk());
                candidates.extend((0..in_head).map(|position| table.ids.unpack(head, position)));
                candidates.extend((slots.start + in_head..slots.end).map(|slot| table.ids.get(slot)));
            }

            // Half a hash already rules out nearly every candidate (a random
            // one differs from the query in ~64 of those 128 bits), and
            // halving the popcounts matters: the baseline x86-64 target has
            // no popcount instruction, so each costs a dozen operations.
            candidate_halves.clear();
            candidate_halves.extend(candidates.iter().map(|&id| {
                let words = &self.hashes[id as usize].0;
                [words[0] ^ query.0[0], words[1] ^ query.0[1]]
            }));
            let found_by_earlier_table = |hash: &Hash256| {
                self.tables[..table_index].iter().zip(&plan.radii).zip(&query_keys).any(|((earlier, radius), key)| {
                    radius.is_some_and(|radius| (earlier.substring.key(hash) ^ key).count_ones() <= radius)
                })
            };
            for (&id, half) in candidates.iter().zip(&candidate_halves) {
                if half[0].count_ones() + half[1].count_ones() > max_distance {
                    continue;
                }
                let hash = &self.hashes[id as usize];
                let distance = hash.distance(query);
                if distance <= max_distance && !found_by_earlier_table(hash) {
                    matches.push((id, distance));
                }
            }
        }
    }
}

impl fmt::Debug for HashIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths: Vec<u32> = self.tables.iter().map(|table| table.substring.width).collect();
        f.debug_struct("HashIndex")
            .field("len", &self.len())
            .field("substring_widths", &widths)
            .field("memory_bytes", &self.memory_bytes())
            .finish()
    }
}

/// Every entry of `hashes` within `max_distance` of `query`, as `(id,
/// distance)` sorted by distance, then id, found by comparing with each.
/// The reference the index is tested against. Ids are positions, so only
/// the first `u32::MAX` hashes are considered.
pub fn brute_force(hashes: &[Hash256], query: &Hash256, max_distance: u32) -> Vec<(u32, u32)> {
    let mut matches: Vec<(u32, u32)> = (0u32..)
        .zip(hashes)
        .filter_map(|(id, hash)| {
            let distance = hash.distance(query);
            (distance <= max_distance).then_some((id, distance))
        })
        .collect();
    sort_by_distance(&mut matches);
    matches
}

fn sort_by_distance(matches: &mut [(u32, u32)]) {
    matches.sort_unstable_by_key(|&(id, distance)| (distance, id));
}

/// `round(256 / log2(N / 4))`: substrings about two bits narrower than
/// `log2 N`, so buckets hold about four entries (see the module docs).
fn default_substring_count(entry_count: usize) -> usize {
    let target_width = (entry_count as f64 / 4.0).log2();
    // Also catches an empty bank, where the logarithm is -inf.
    if target_width.is_nan() || target_width < f64::from(HASH_BITS) / MAX_SUBSTRINGS as f64 {
        return MAX_SUBSTRINGS;
    }
    ((f64::from(HASH_BITS) / target_width).round() as usize).clamp(MIN_SUBSTRINGS, MAX_SUBSTRINGS)
}

/// Contiguous substrings covering all 256 bits, widths differing by at most
/// one.
fn substring_layout(substring_count: usize) -> Vec<Substring> {
    let count = substring_count as u32;
    let narrow_width = HASH_BITS / count;
    let wide_count = HASH_BITS % count;
    let mut first_bit = 0;
    (0..count)
        .map(|i| {
            let width = if i < wide_count { narrow_width + 1 } else { narrow_width };
            let substring = Substring { first_bit, width };
            first_bit += width;
            substring
        })
        .collect()
}

/// Bits `first_bit..first_bit + width` of a hash, numbered as
/// [`Hash256::bit`] numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Substring {
    first_bit: u32,
    width: u32,
}

impl Substring {
    #[inline]
    fn key(self, hash: &Hash256) -> u32 {
        let word = (self.first_bit / 64) as usize;
        let shift = self.first_bit % 64;
        let mut bits = hash.0[3 - word] >> shift;
        if shift + self.width > 64 {
            // Straddles two words; `shift > 0` here since width <= 32.
            bits |= hash.0[2 - word] << (64 - shift);
        }
        (bits & ((1u64 << self.width) - 1)) as u32
    }
}

/// One substring's table in CSR form: the ids of entries whose key is `k`
/// are `ids[offsets[k]..offsets[k + 1]]`, in ascending order.
#[derive(Clone)]
struct SubstringTable {
    substring: Substring,
    offsets: PackedUints,
    ids: PackedUints,
}

impl SubstringTable {
    /// Counting sort: one pass to size the buckets, one to fill them.
    fn build(hashes: &[Hash256], substring: Substring, value_bytes: usize) -> SubstringTable {
        let bucket_count = 1usize << substring.width;
        // Plain u32 while building: the counts are bumped in random order,
        // and packed reads and writes would cost more than this temporary.
        let mut bucket_starts = vec![0u32; bucket_count + 1];
        for hash in hashes {
            bucket_starts[substring.key(hash) as usize + 1] += 1;
        }
        let mut running_total = 0;
        for start in bucket_starts.iter_mut() {
            running_total += *start;
            *start = running_total;
        }
        let mut offsets = PackedUints::zeroed(bucket_count + 1, value_bytes);
        for (bucket, &start) in bucket_starts.iter().enumerate() {
            offsets.set(bucket, start);
        }
        let mut ids = PackedUints::zeroed(hashes.len(), value_bytes);
        for (id, hash) in (0u32..).zip(hashes) {
            let next_slot = &mut bucket_starts[substring.key(hash) as usize];
            ids.set(*next_slot as usize, id);
            *next_slot += 1;
        }
        SubstringTable { substring, offsets, ids }
    }

    fn bucket_count(&self) -> usize {
        1 << self.substring.width
    }

    /// Where the ids of entries with this key sit in `ids`.
    #[inline]
    fn bucket_slots(&self, key: u32) -> Range<usize> {
        let (start, end) = self.offsets.get_pair(key as usize);
        start as usize..end as usize
    }

    fn memory_bytes(&self) -> usize {
        self.offsets.memory_bytes() + self.ids.memory_bytes()
    }
}

/// Unsigned integers stored in `value_bytes` little-endian bytes each:
/// ids and offsets never exceed the entry count, and 3 bytes instead of 4
/// save about 150 MB per ten million entries.
#[derive(Clone)]
struct PackedUints {
    bytes: Vec<u8>,
    value_bytes: usize,
    mask: u32,
}

/// Reads are wider than a value (up to a 16-byte chunk starting at the
/// position one past the last value), so the array carries slack after it.
const PACKED_SLACK: usize = 16;

impl PackedUints {
    fn zeroed(len: usize, value_bytes: usize) -> PackedUints {
        debug_assert!((1..=4).contains(&value_bytes));
        let mask = if value_bytes == 4 { u32::MAX } else { (1 << (8 * value_bytes)) - 1 };
        PackedUints { bytes: vec![0; len * value_bytes + PACKED_SLACK], value_bytes, mask }
    }

    #[inline]
    fn read<const N: usize>(&self, index: usize) -> [u8; N] {
        let at = index * self.value_bytes;
        let mut buffer = [0; N];
        buffer.copy_from_slice(&self.bytes[at..at + N]);
        buffer
    }

    #[inline]
    fn get(&self, index: usize) -> u32 {
        u32::from_le_bytes(self.read(index)) & self.mask
    }

    /// Values `index` and `index + 1`, in one read.
    #[inline]
    fn get_pair(&self, index: usize) -> (u32, u32) {
        let both = u64::from_le_bytes(self.read(index));
        (both as u32 & self.mask, (both >> (8 * self.value_bytes)) as u32 & self.mask)
    }

    /// The 16 bytes from value `index` on, for [`PackedUints::unpack`].
    #[inline]
    fn chunk_at(&self, index: usize) -> u128 {
        u128::from_le_bytes(self.read(index))
    }

    fn values_per_chunk(&self) -> usize {
        16 / self.value_bytes
    }

    /// Value `index + position` from the chunk read at `index`, for
    /// `position < values_per_chunk()`.
    #[inline]
    fn unpack(&self, chunk: u128, position: usize) -> u32 {
        (chunk >> (8 * self.value_bytes * position)) as u32 & self.mask
    }

    #[inline]
    fn set(&mut self, index: usize, value: u32) {
        let at = index * self.value_bytes;
        self.bytes[at..at + self.value_bytes].copy_from_slice(&value.to_le_bytes()[..self.value_bytes]);
    }

    fn memory_bytes(&self) -> usize {
        self.bytes.capacity()
    }
}

/// The fewest bytes that hold every value up to `max_value`.
fn bytes_to_hold(max_value: u32) -> usize {
    let bits = u32::BITS - max_value.leading_zeros();
    bits.div_ceil(8).max(1) as usize
}

/// Per table, the radius to probe (None: skip the table), with the
/// expected work for the cost model.
struct QueryPlan {
    radii: [Option<u32>; MAX_SUBSTRINGS],
    probes: f64,
    candidates: f64,
}

impl QueryPlan {
    fn is_cheaper_than_scan(&self, entry_count: usize) -> bool {
        self.probes * PROBE_COST + self.candidates * CANDIDATE_COST < entry_count as f64 * SCAN_COST_PER_ENTRY
    }
}

/// Every `width`-bit mask with exactly `ones` bits set, in increasing order
/// (Gosper's hack).
struct BitCombinations {
    next: Option<u64>,
    limit: u64,
}

impl BitCombinations {
    fn new(width: u32, ones: u32) -> BitCombinations {
        let next = (ones <= width).then(|| (1u64 << ones) - 1);
        BitCombinations { next, limit: 1u64 << width }
    }
}

impl Iterator for BitCombinations {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        let mask = self.next?;
        self.next = if mask == 0 {
            None
        } else {
            let lowest = mask & mask.wrapping_neg();
            let carried = mask + lowest;
            // `lowest` is a power of two: shift rather than divide.
            let following = (((carried ^ mask) >> 2) >> lowest.trailing_zeros()) | carried;
            (following < self.limit).then_some(following)
        };
        Some(mask as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bit_substrings_are_the_reference_words() {
        let hash: Hash256 = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22".parse().unwrap();
        for (i, substring) in substring_layout(16).into_iter().enumerate() {
            assert_eq!(substring.key(&hash), u32::from(hash.word16(i)));
        }
    }

    #[test]
    fn substrings_tile_the_hash_and_straddle_words_correctly() {
        let hash: Hash256 = "0123456789abcdeffedcba9876543210f0e1d2c3b4a5968778695a4b3c2d1e0f".parse().unwrap();
        for count in MIN_SUBSTRINGS..=MAX_SUBSTRINGS {
            let layout = substring_layout(count);
            assert_eq!(layout.iter().map(|s| s.width).sum::<u32>(), HASH_BITS);
            for substring in layout {
                let expected = (0..substring.width)
                    .filter(|&bit| hash.bit((substring.first_bit + bit) as usize))
                    .fold(0u32, |key, bit| key | 1 << bit);
                assert_eq!(substring.key(&hash), expected, "{substring:?}");
            }
        }
    }

    #[test]
    fn bit_combinations_enumerate_each_mask_once() {
        for width in [1, 5, 12] {
            for ones in 0..=width + 1 {
                let masks: Vec<u32> = BitCombinations::new(width, ones).collect();
                let expected: Vec<u32> = (0..1u32 << width).filter(|mask| mask.count_ones() == ones).collect();
                assert_eq!(masks, expected, "width {width}, ones {ones}");
            }
        }
    }

    #[test]
    fn packed_values_round_trip_at_every_width() {
        for value_bytes in 1..=4 {
            let max = if value_bytes == 4 { u32::MAX } else { (1 << (8 * value_bytes)) - 1 };
            let values = [0, 1, max / 3, max - 1, max];
            let mut packed = PackedUints::zeroed(values.len(), value_bytes);
            for (i, &value) in values.iter().enumerate() {
                packed.set(i, value);
            }
            let read: Vec<u32> = (0..values.len()).map(|i| packed.get(i)).collect();
            assert_eq!(read, values);
            let pairs: Vec<(u32, u32)> = (0..values.len() - 1).map(|i| packed.get_pair(i)).collect();
            assert_eq!(pairs, values.windows(2).map(|pair| (pair[0], pair[1])).collect::<Vec<_>>());
            for start in 0..=values.len() {
                let chunk = packed.chunk_at(start);
                let in_chunk = (values.len() - start).min(packed.values_per_chunk());
                let unpacked: Vec<u32> = (0..in_chunk).map(|position| packed.unpack(chunk, position)).collect();
                assert_eq!(unpacked, values[start..start + in_chunk]);
            }
        }
        assert_eq!([0, 255, 256, 65_535, 65_536, 10_000_000, u32::MAX].map(bytes_to_hold), [1, 1, 2, 2, 3, 3, 4]);
    }

    #[test]
    fn plans_satisfy_the_pigeonhole_bound() {
        let hashes = vec![Hash256::default(); 1000];
        let index = HashIndex::with_substring_count(hashes, 16);
        for max_distance in [0, 1, 15, 31, 32, 100, 255, 256, 1000] {
            let plan = index.plan(max_distance);
            let covers_everything =
                index.tables.iter().zip(&plan.radii).any(|(table, radius)| *radius == Some(table.substring.width));
            let units: u32 = plan.radii.iter().flatten().map(|radius| radius + 1).sum();
            assert!(covers_everything || units > max_distance.min(HASH_BITS), "r = {max_distance}");
        }
    }

    #[test]
    fn default_layout_follows_bank_size() {
        assert_eq!(default_substring_count(0), MAX_SUBSTRINGS);
        assert_eq!(default_substring_count(1_350), 30);
        assert_eq!(default_substring_count(1_000_000), 14);
        assert_eq!(default_substring_count(10_000_000), 12);
        assert_eq!(default_substring_count(usize::MAX), MIN_SUBSTRINGS);
    }
}
