//! Measures the hash-bank index at scale against a linear scan.
//!
//! ```text
//! cargo run --release -p rempart-hash --example bank_bench -- [N] [SUBSTRINGS]
//! ```
//!
//! Builds an index of N seeded random hashes (default 1,000,000), a tenth of
//! a percent of them planted near-duplicates of others, then times 10,000
//! queries at radius 31: half a few bits from a bank entry, half random.
//! Then compares with a linear scan, and sweeps the radius to show where
//! the index hands over to scanning. Prints one JSON object per line.
//! SUBSTRINGS overrides the layout.

use std::time::Instant;

use rempart_hash::index::{brute_force, HashIndex, Strategy};
use rempart_hash::synthetic::HashGenerator;
use rempart_hash::Hash256;

const RADIUS: u32 = 31;
const QUERY_COUNT: usize = 10_000;
const SCAN_QUERY_COUNT: usize = 200;
const SWEEP_QUERY_COUNT: usize = 30;

fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn percentile(sorted_micros: &[f64], fraction: f64) -> f64 {
    let rank = ((sorted_micros.len() as f64 - 1.0) * fraction).round() as usize;
    sorted_micros[rank]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let entry_count: usize = args.next().map_or(1_000_000, |arg| arg.parse().expect("N must be a number"));
    let substring_count: Option<usize> = args.next().map(|arg| arg.parse().expect("SUBSTRINGS must be a number"));

    let mut rng = HashGenerator::new(0x0ba2_b0c4);
    let planted_count = entry_count / 1000;
    let mut hashes = Vec::with_capacity(entry_count);
    hashes.extend((0..entry_count - planted_count).map(|_| rng.hash()));
    for _ in 0..planted_count {
        let origin = hashes[rng.below(hashes.len())];
        let flips = rng.below(41) as u32;
        hashes.push(rng.flip_bits(&origin, flips));
    }
    let queries: Vec<Hash256> = (0..QUERY_COUNT)
        .map(|i| {
            if i % 2 == 0 {
                let origin = hashes[rng.below(hashes.len())];
                let flips = rng.below(RADIUS as usize + 1) as u32;
                rng.flip_bits(&origin, flips)
            } else {
                rng.hash()
            }
        })
        .collect();

    let started = Instant::now();
    let index = match substring_count {
        Some(count) => HashIndex::with_substring_count(hashes, count),
        None => HashIndex::new(hashes),
    };
    let build_seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"n\": {}, \"substrings\": {}, \"build_seconds\": {build_seconds:.2}, \"index_bytes\": {}, \"bytes_per_hash\": {:.1}}}",
        index.len(),
        index.substring_count(),
        index.memory_bytes(),
        index.memory_bytes() as f64 / index.len().max(1) as f64
    );

    let mut latencies = Vec::with_capacity(queries.len());
    let mut match_count = 0;
    for query in &queries {
        let started = Instant::now();
        let matches = index.query(query, RADIUS);
        latencies.push(started.elapsed().as_secs_f64() * 1e6);
        match_count += matches.len();
    }
    latencies.sort_by(f64::total_cmp);
    let index_p50 = percentile(&latencies, 0.5);
    println!(
        "{{\"queries\": {}, \"radius\": {RADIUS}, \"matches\": {match_count}, \"p50_us\": {index_p50:.1}, \"p99_us\": {:.1}, \"max_us\": {:.1}}}",
        queries.len(),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1],
    );

    let mut nearest_latencies = Vec::with_capacity(queries.len());
    for query in &queries {
        let started = Instant::now();
        std::hint::black_box(index.nearest(query, RADIUS));
        nearest_latencies.push(started.elapsed().as_secs_f64() * 1e6);
    }
    nearest_latencies.sort_by(f64::total_cmp);
    println!(
        "{{\"nearest_p50_us\": {:.1}, \"nearest_p99_us\": {:.1}}}",
        percentile(&nearest_latencies, 0.5),
        percentile(&nearest_latencies, 0.99)
    );

    let mut scan_latencies = Vec::with_capacity(SCAN_QUERY_COUNT);
    for query in queries.iter().take(SCAN_QUERY_COUNT) {
        let started = Instant::now();
        let expected = brute_force(index.hashes(), query, RADIUS);
        scan_latencies.push(started.elapsed().as_secs_f64() * 1e6);
        assert_eq!(index.query_with(query, RADIUS, Strategy::MultiIndex), expected, "index disagrees with the scan");
    }
    scan_latencies.sort_by(f64::total_cmp);
    let scan_p50 = percentile(&scan_latencies, 0.5);
    println!(
        "{{\"scan_queries\": {SCAN_QUERY_COUNT}, \"scan_p50_us\": {scan_p50:.1}, \"speedup_p50\": {:.1}}}",
        scan_p50 / index_p50
    );
    // Where probing stops paying: both strategies at radii around and past
    // the match threshold. Each measurement gets near-duplicate queries of
    // its own, so none finds the bank's lines already cached by another.
    let mut near_queries = queries.iter().step_by(2);
    let mut p50_of = |radius: u32, strategy: Strategy| {
        let mut micros: Vec<f64> = near_queries
            .by_ref()
            .take(SWEEP_QUERY_COUNT)
            .map(|query| {
                let started = Instant::now();
                std::hint::black_box(index.query_with(query, radius, strategy));
                started.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        micros.sort_by(f64::total_cmp);
        percentile(&micros, 0.5)
    };
    for radius in [0, 16, 31, 40, 48, 56, 64] {
        let auto = p50_of(radius, Strategy::Auto);
        let multi_index = p50_of(radius, Strategy::MultiIndex);
        let scan = p50_of(radius, Strategy::Scan);
        println!(
            "{{\"radius\": {radius}, \"auto_p50_us\": {auto:.1}, \"multi_index_p50_us\": {multi_index:.1}, \"scan_p50_us\": {scan:.1}}}"
        );
    }
    if let Some(peak) = peak_rss_bytes() {
        println!("{{\"peak_rss_bytes\": {peak}}}");
    }
}
