//! The Amazon-Google entity-matching benchmark as a relisting test: the
//! Amazon table plays the removed listings, every Google product a new
//! listing, and the gold pairs say which new listing is "the same product"
//! as which removed one. Shared by `examples/relist_eval.rs` and
//! `tests/relist.rs` through `#[path]`, so both score the same way.

use std::collections::{HashMap, HashSet};
use std::error::Error;
use std::path::{Path, PathBuf};

use rempart_relist::{ListingText, Near, RemovedEntry, RemovedIndex, TextFingerprint};

/// One product row of amazon.csv or google.csv.
pub struct Product {
    pub id: String,
    pub title: String,
    pub description: String,
    pub manufacturer: String,
}

impl Product {
    pub fn text(&self) -> ListingText<'_> {
        ListingText { title: &self.title, description: present(&self.description), other: present(&self.manufacturer) }
    }
}

fn present(text: &str) -> Option<&str> {
    Some(text).filter(|t| !t.trim().is_empty())
}

pub struct Benchmark {
    /// Table A (Amazon): the removed listings.
    pub removed: Vec<Product>,
    /// Table B (Google): the new listings.
    pub new: Vec<Product>,
    /// Gold pairs as (Amazon id, Google id).
    pub gold: HashSet<(String, String)>,
}

/// `$REMPART_DATA/product_listings_en/amazon_google`, or the copy in the
/// `shared/` folder beside the repository; `None` when neither exists.
pub fn data_dir() -> Option<PathBuf> {
    let root = std::env::var_os("REMPART_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let dir = root.join("product_listings_en/amazon_google");
    dir.join("gold_matches.csv").is_file().then_some(dir)
}

pub fn load(dir: &Path) -> Result<Benchmark, Box<dyn Error>> {
    let removed = read_products(&dir.join("amazon.csv"))?;
    let new = read_products(&dir.join("google.csv"))?;
    let mut gold = HashSet::new();
    let mut reader = csv::Reader::from_path(dir.join("gold_matches.csv"))?;
    let columns = column_positions(reader.headers()?, &["tableA_id", "tableB_id"])?;
    for record in reader.records() {
        let record = record?;
        gold.insert((field(&record, columns[0]), field(&record, columns[1])));
    }
    Ok(Benchmark { removed, new, gold })
}

fn read_products(path: &Path) -> Result<Vec<Product>, Box<dyn Error>> {
    let mut reader = csv::Reader::from_path(path)?;
    let columns = column_positions(reader.headers()?, &["id", "title", "description", "manufacturer"])?;
    let mut products = Vec::new();
    for record in reader.records() {
        let record = record?;
        products.push(Product {
            id: field(&record, columns[0]),
            title: field(&record, columns[1]),
            description: field(&record, columns[2]),
            manufacturer: field(&record, columns[3]),
        });
    }
    Ok(products)
}

fn column_positions(headers: &csv::StringRecord, names: &[&str]) -> Result<Vec<usize>, Box<dyn Error>> {
    names
        .iter()
        .map(|name| headers.iter().position(|h| h == *name).ok_or_else(|| format!("no column {name:?}").into()))
        .collect()
}

fn field(record: &csv::StringRecord, column: usize) -> String {
    record.get(column).unwrap_or_default().to_string()
}

/// The Amazon table as a removed-listings index.
pub fn removed_index(bench: &Benchmark) -> RemovedIndex {
    let mut index = RemovedIndex::new();
    index.extend(bench.removed.iter().map(|p| RemovedEntry {
        listing_id: p.id.clone(),
        decided_by: "benchmark".to_string(),
        seller_id: None,
        fingerprint: TextFingerprint::new(&p.text()),
        // This benchmark measures the fingerprint; attributes are measured
        // by `relist_edits`.
        attributes: Default::default(),
    }));
    index
}

/// Every Google product queried against `index` at `floor`: (Google id,
/// matches best first).
pub fn query_all(index: &RemovedIndex, bench: &Benchmark, floor: f64) -> Vec<(String, Vec<Near>)> {
    bench.new.iter().map(|p| (p.id.clone(), index.query(&TextFingerprint::new(&p.text()), floor))).collect()
}

/// Precision, recall and F1 of flagging at one threshold.
#[derive(Clone, Copy, Debug)]
pub struct Score {
    pub threshold: f64,
    pub true_positives: usize,
    pub false_positives: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Score {
    fn new(threshold: f64, true_positives: usize, false_positives: usize, gold: usize) -> Score {
        let flagged = true_positives + false_positives;
        let precision = if flagged == 0 { 0.0 } else { true_positives as f64 / flagged as f64 };
        let recall = if gold == 0 { 0.0 } else { true_positives as f64 / gold as f64 };
        let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
        Score { threshold, true_positives, false_positives, precision, recall, f1 }
    }
}

/// Scores the matches at or above `threshold`: every returned pair counts,
/// as a true positive when it is a gold pair, else a false positive.
/// Recall is over all gold pairs.
pub fn score_all(results: &[(String, Vec<Near>)], gold: &HashSet<(String, String)>, threshold: f64) -> Score {
    let (mut tp, mut fp) = (0, 0);
    for (new_id, matches) in results {
        for near in matches.iter().filter(|n| n.similarity >= threshold) {
            if gold.contains(&(near.listing_id.clone(), new_id.clone())) {
                tp += 1;
            } else {
                fp += 1;
            }
        }
    }
    Score::new(threshold, tp, fp, gold.len())
}

/// As [`score_all`], taking only the best match of each query. A Google
/// product with two gold partners can find only one, so recall tops out at
/// (products with a partner) / (gold pairs).
pub fn score_top1(results: &[(String, Vec<Near>)], gold: &HashSet<(String, String)>, threshold: f64) -> Score {
    let (mut tp, mut fp) = (0, 0);
    for (new_id, matches) in results {
        if let Some(best) = matches.first().filter(|n| n.similarity >= threshold) {
            if gold.contains(&(best.listing_id.clone(), new_id.clone())) {
                tp += 1;
            } else {
                fp += 1;
            }
        }
    }
    Score::new(threshold, tp, fp, gold.len())
}

/// How many gold pairs a top-1 rule could find at most.
pub fn top1_ceiling(gold: &HashSet<(String, String)>) -> usize {
    let mut partners: HashMap<&str, usize> = HashMap::new();
    for (_, new_id) in gold {
        *partners.entry(new_id).or_default() += 1;
    }
    partners.len()
}
