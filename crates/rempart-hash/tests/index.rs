//! The index must agree exactly with a linear scan: same ids, same
//! distances, same order.

use rempart_hash::index::{brute_force, HashIndex, Strategy};
use rempart_hash::synthetic::HashGenerator;
use rempart_hash::Hash256;

const HASH_LISTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/pdq/hash_lists");

fn read_hash_list(name: &str) -> Vec<Hash256> {
    let path = format!("{HASH_LISTS}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("reading {path}: {err}"));
    text.lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(|field| field.parse().unwrap_or_else(|err| panic!("{path}: `{field}`: {err}")))
        .collect()
}

/// Checks every strategy, and `nearest`, against the brute-force oracle.
fn assert_matches_brute_force(index: &HashIndex, query: &Hash256, max_distance: u32) -> usize {
    let expected = brute_force(index.hashes(), query, max_distance);
    for strategy in [Strategy::Auto, Strategy::MultiIndex, Strategy::Scan] {
        assert_eq!(
            index.query_with(query, max_distance, strategy),
            expected,
            "query {query} at radius {max_distance} with {strategy:?} ({index:?})"
        );
    }
    assert_eq!(
        index.nearest(query, max_distance),
        expected.first().copied(),
        "nearest to {query} within {max_distance}"
    );
    expected.len()
}

#[test]
fn shared_pdq_lists_match_brute_force_at_every_radius() {
    let haystack = read_hash_list("haystack.txt");
    let needles = read_hash_list("needles.txt");
    assert_eq!((haystack.len(), needles.len()), (1350, 100));
    // Haystack entries as queries too: the needles alone rarely come close.
    let queries: Vec<Hash256> = needles.iter().chain(haystack.iter().step_by(27)).copied().collect();
    // The default layout for 1,350 hashes, and the classic 16 × 16 bits.
    for index in [HashIndex::new(haystack.clone()), HashIndex::with_substring_count(haystack, 16)] {
        let mut matches_at_31 = 0;
        for query in &queries {
            for max_distance in [0, 8, 16, 31, 32, 48, 64] {
                let found = assert_matches_brute_force(&index, query, max_distance);
                if max_distance == 31 {
                    matches_at_31 += found;
                }
            }
        }
        // Guards against a vacuous pass on lists that never match.
        assert!(matches_at_31 > queries.len(), "only {matches_at_31} matches at radius 31");
    }
}

#[test]
fn random_bank_with_planted_near_duplicates_matches_brute_force() {
    let mut rng = HashGenerator::new(0x5eed_0001);
    // Past 65,536 entries, so ids and offsets are stored in 3 bytes.
    let mut hashes: Vec<Hash256> = (0..70_000).map(|_| rng.hash()).collect();
    // Clusters around some entries, at every distance either side of 31.
    for _ in 0..400 {
        let origin = hashes[rng.below(hashes.len())];
        let flips = rng.below(41) as u32;
        hashes.push(rng.flip_bits(&origin, flips));
    }
    let mut queries = Vec::new();
    for _ in 0..150 {
        let origin = hashes[rng.below(hashes.len())];
        let flips = rng.below(41) as u32;
        queries.push(rng.flip_bits(&origin, flips));
    }
    queries.extend((0..50).map(|_| rng.hash()));
    let index = HashIndex::new(hashes);
    let found: usize = queries.iter().map(|query| assert_matches_brute_force(&index, query, 31)).sum();
    assert!(found > 100, "only {found} matches");
}

#[test]
fn every_layout_matches_brute_force() {
    let mut rng = HashGenerator::new(0x5eed_0002);
    let mut hashes: Vec<Hash256> = (0..2_000).map(|_| rng.hash()).collect();
    for i in 0..200 {
        let flips = (i % 40) as u32;
        let near = rng.flip_bits(&hashes[i], flips);
        hashes.push(near);
    }
    let queries: Vec<Hash256> = (0..40).map(|i| rng.flip_bits(&hashes[i * 5], (i % 20) as u32)).collect();
    // 16 substrings and more: fewer means directories of millions of
    // buckets, slow to build in a debug test.
    for substring_count in 16..=32 {
        let index = HashIndex::with_substring_count(hashes.clone(), substring_count);
        for query in &queries {
            for max_distance in [0, 5, 31, 40] {
                assert_matches_brute_force(&index, query, max_distance);
            }
        }
    }
}

#[test]
fn empty_index_finds_nothing() {
    let index = HashIndex::new(Vec::new());
    assert!(index.is_empty());
    assert_eq!(index.len(), 0);
    assert_eq!(index.get(0), None);
    let query = Hash256([1, 2, 3, 4]);
    for max_distance in [0, 31, 256, u32::MAX] {
        assert_matches_brute_force(&index, &query, max_distance);
        assert!(index.query(&query, max_distance).is_empty());
    }
}

#[test]
fn duplicate_hashes_are_each_reported_once() {
    let mut rng = HashGenerator::new(0x5eed_0003);
    let hash = rng.hash();
    let near = rng.flip_bits(&hash, 3);
    let mut hashes: Vec<Hash256> = (0..300).map(|_| rng.hash()).collect();
    hashes.extend([hash, near, hash, hash, near]);
    let index = HashIndex::new(hashes);
    assert_eq!(index.query(&hash, 0), vec![(300, 0), (302, 0), (303, 0)]);
    assert_eq!(index.query(&hash, 3), vec![(300, 0), (302, 0), (303, 0), (301, 3), (304, 3)]);
    assert_eq!(index.nearest(&near, 31), Some((301, 0)));
    assert_eq!(index.get(301), Some(&near));
    assert_matches_brute_force(&index, &hash, 31);
}

#[test]
fn radius_zero_finds_exact_copies_only() {
    let mut rng = HashGenerator::new(0x5eed_0004);
    let hashes: Vec<Hash256> = (0..1_000).map(|_| rng.hash()).collect();
    let index = HashIndex::new(hashes.clone());
    for (id, hash) in (0u32..).zip(&hashes).step_by(37) {
        assert_eq!(index.query(hash, 0), vec![(id, 0)]);
        let one_bit_away = rng.flip_bits(hash, 1);
        assert_eq!(index.query(&one_bit_away, 0), vec![]);
        assert_eq!(index.query_with(&one_bit_away, 0, Strategy::MultiIndex), vec![]);
    }
}

#[test]
fn radius_256_and_beyond_return_every_entry() {
    let mut rng = HashGenerator::new(0x5eed_0005);
    let mut hashes: Vec<Hash256> = (0..500).map(|_| rng.hash()).collect();
    let query = rng.hash();
    hashes.push(Hash256(query.0.map(|word| !word)));
    let index = HashIndex::new(hashes);
    for max_distance in [255, 256, 1_000, u32::MAX] {
        let found = assert_matches_brute_force(&index, &query, max_distance);
        assert_eq!(found, if max_distance == 255 { 500 } else { 501 });
    }
}

#[test]
fn index_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<HashIndex>();
}
