//! Measures relisting detection on the Amazon-Google benchmark: Amazon
//! products are the removed listings, every Google product is a new
//! listing, and a flag is right when it names the gold partner.
//!
//! ```text
//! cargo run --release -p rempart-relist --example relist_eval
//! ```
//!
//! Reads `$REMPART_DATA/product_listings_en/amazon_google/` (default: the
//! `shared/data` folder beside the repository).

#[path = "support/amazon_google.rs"]
mod amazon_google;

use std::collections::{HashMap, HashSet};
use std::error::Error;
use std::time::Instant;

use amazon_google::{data_dir, load, query_all, removed_index, score_all, score_top1, top1_ceiling, Benchmark, Score};
use rempart_relist::{LshBands, RemovedEntry, RemovedIndex, TextFingerprint, DEFAULT_MIN_SIMILARITY};

/// Thresholds swept, in hundredths.
const SWEEP: std::ops::RangeInclusive<u32> = 20..=90;
const STEP: usize = 5;

fn main() -> Result<(), Box<dyn Error>> {
    let dir = data_dir().ok_or("amazon_google benchmark not found: set REMPART_DATA to the shared/data folder")?;
    let bench = load(&dir)?;
    println!(
        "Amazon-Google: {} removed (Amazon), {} new (Google), {} gold pairs; top-1 can find at most {}",
        bench.removed.len(),
        bench.new.len(),
        bench.gold.len(),
        top1_ceiling(&bench.gold)
    );

    let started = Instant::now();
    let index = removed_index(&bench);
    let built = started.elapsed();
    let started = Instant::now();
    let floor = f64::from(*SWEEP.start()) / 100.0;
    let results = query_all(&index, &bench, floor);
    let queried = started.elapsed();
    println!(
        "index built in {:.1} ms, {} queries in {:.1} ms ({:.1} µs each, fingerprinting included)\n",
        built.as_secs_f64() * 1e3,
        bench.new.len(),
        queried.as_secs_f64() * 1e3,
        queried.as_secs_f64() * 1e6 / bench.new.len() as f64
    );

    println!("MinHash + LSH ({} bands × {} rows), as the library runs:", index.bands().bands(), index.bands().rows());
    println!(
        "{:>9} | {:>8} {:>6} {:>6} {:>9} {:>7} {:>6} | {:>10} {:>8} {:>6}",
        "threshold", "flagged", "TP", "FP", "precision", "recall", "F1", "top1 prec", "top1 rec", "F1"
    );
    let mut best_all: Option<Score> = None;
    let mut best_top1: Option<Score> = None;
    for hundredths in SWEEP.step_by(STEP) {
        let threshold = f64::from(hundredths) / 100.0;
        let all = score_all(&results, &bench.gold, threshold);
        let top1 = score_top1(&results, &bench.gold, threshold);
        let marker = if (threshold - DEFAULT_MIN_SIMILARITY).abs() < 1e-9 { " <- default" } else { "" };
        println!(
            "{:>9.2} | {:>8} {:>6} {:>6} {:>9.3} {:>7.3} {:>6.3} | {:>10.3} {:>8.3} {:>6.3}{marker}",
            threshold,
            all.true_positives + all.false_positives,
            all.true_positives,
            all.false_positives,
            all.precision,
            all.recall,
            all.f1,
            top1.precision,
            top1.recall,
            top1.f1
        );
        if best_all.is_none_or(|b| all.f1 > b.f1) {
            best_all = Some(all);
        }
        if best_top1.is_none_or(|b| top1.f1 > b.f1) {
            best_top1 = Some(top1);
        }
    }
    if let (Some(all), Some(top1)) = (best_all, best_top1) {
        println!(
            "\nbest F1, all matches: {:.3} at {:.2} (P {:.3}, R {:.3})",
            all.f1, all.threshold, all.precision, all.recall
        );
        println!(
            "best F1, top-1 only:  {:.3} at {:.2} (P {:.3}, R {:.3})",
            top1.f1, top1.threshold, top1.precision, top1.recall
        );
    }

    println!("\nWhat the sketch and the banding cost (best F1 over the same sweep, all matches / top-1):");
    let (exact_all, exact_top1) = best_of(&exact_jaccard_results(&bench), &bench.gold);
    println!("  exact Jaccard of the same shingle sets: {}", describe(exact_all, exact_top1));
    let (sketch_all, sketch_top1) = best_of(&sketch_without_banding(&bench), &bench.gold);
    println!("  MinHash estimate, every pair verified:  {}", describe(sketch_all, sketch_top1));
    let (lsh_all, lsh_top1) = best_of(&results, &bench.gold);
    println!("  MinHash + LSH (the library):            {}", describe(lsh_all, lsh_top1));
    let wide = LshBands::new(64, 2)?;
    let mut wide_index = RemovedIndex::with_bands(wide);
    wide_index.extend(index.entries().iter().cloned());
    let (wide_all, wide_top1) = best_of(&query_all(&wide_index, &bench, floor), &bench.gold);
    println!("  MinHash + LSH, 64 bands × 2 rows:       {}", describe(wide_all, wide_top1));
    Ok(())
}

type Results = Vec<(String, Vec<rempart_relist::Near>)>;

fn best_of(results: &Results, gold: &HashSet<(String, String)>) -> (Score, Score) {
    let sweep = || SWEEP.step_by(STEP).map(|h| f64::from(h) / 100.0);
    let pick = |scores: Vec<Score>| scores.into_iter().reduce(|a, b| if b.f1 > a.f1 { b } else { a });
    let all = pick(sweep().map(|t| score_all(results, gold, t)).collect());
    let top1 = pick(sweep().map(|t| score_top1(results, gold, t)).collect());
    let zero = Score { threshold: 0.0, true_positives: 0, false_positives: 0, precision: 0.0, recall: 0.0, f1: 0.0 };
    (all.unwrap_or(zero), top1.unwrap_or(zero))
}

fn describe(all: Score, top1: Score) -> String {
    format!(
        "F1 {:.3} at {:.2} (P {:.3} R {:.3}) / F1 {:.3} at {:.2} (P {:.3} R {:.3})",
        all.f1, all.threshold, all.precision, all.recall, top1.f1, top1.threshold, top1.precision, top1.recall
    )
}

fn near(listing_id: &str, similarity: f64) -> rempart_relist::Near {
    rempart_relist::Near {
        listing_id: listing_id.to_string(),
        decided_by: String::new(),
        seller_id: None,
        similarity,
        score: similarity,
        attributes: Default::default(),
    }
}

fn sort_best_first(matches: &mut [rempart_relist::Near]) {
    matches.sort_by(|a, b| b.similarity.total_cmp(&a.similarity).then_with(|| a.listing_id.cmp(&b.listing_id)));
}

/// Exact Jaccard of every (removed, new) pair sharing a shingle, through
/// an inverted index.
fn exact_jaccard_results(bench: &Benchmark) -> Results {
    let removed: Vec<Vec<u64>> = bench.removed.iter().map(|p| p.text().shingle_set()).collect();
    let mut postings: HashMap<u64, Vec<usize>> = HashMap::new();
    for (position, set) in removed.iter().enumerate() {
        for &shingle in set {
            postings.entry(shingle).or_default().push(position);
        }
    }
    let floor = f64::from(*SWEEP.start()) / 100.0;
    let mut shared = vec![0usize; removed.len()];
    bench
        .new
        .iter()
        .map(|product| {
            let set = product.text().shingle_set();
            let mut touched = Vec::new();
            for shingle in &set {
                for &position in postings.get(shingle).into_iter().flatten() {
                    if shared[position] == 0 {
                        touched.push(position);
                    }
                    shared[position] += 1;
                }
            }
            let mut matches = Vec::new();
            for position in touched {
                let common = std::mem::take(&mut shared[position]);
                let jaccard = common as f64 / (removed[position].len() + set.len() - common) as f64;
                if jaccard >= floor {
                    matches.push(near(&bench.removed[position].id, jaccard));
                }
            }
            sort_best_first(&mut matches);
            (product.id.clone(), matches)
        })
        .collect()
}

/// The sketch's estimate for every pair, no banding.
fn sketch_without_banding(bench: &Benchmark) -> Results {
    let removed: Vec<RemovedEntry> = bench
        .removed
        .iter()
        .map(|p| RemovedEntry {
            listing_id: p.id.clone(),
            decided_by: String::new(),
            seller_id: None,
            fingerprint: TextFingerprint::new(&p.text()),
            attributes: Default::default(),
        })
        .collect();
    let floor = f64::from(*SWEEP.start()) / 100.0;
    bench
        .new
        .iter()
        .map(|product| {
            let fingerprint = TextFingerprint::new(&product.text());
            let mut matches: Vec<_> = removed
                .iter()
                .map(|entry| near(&entry.listing_id, fingerprint.similarity(&entry.fingerprint)))
                .filter(|n| n.similarity >= floor)
                .collect();
            sort_best_first(&mut matches);
            (product.id.clone(), matches)
        })
        .collect()
}
