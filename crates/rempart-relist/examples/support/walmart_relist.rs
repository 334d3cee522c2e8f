//! The self-relisting benchmark over real Walmart titles, shared by the
//! `relist_edits` example (which prints it) and `tests/relist.rs` (which
//! holds its figures): every product is removed and comes back under
//! seeded edits; then 2 % of the catalogue is removed and every other
//! product is a new listing that should *not* be flagged.

use std::error::Error;
use std::path::PathBuf;

use rempart_relist::{Attributes, ListingText, RemovedEntry, RemovedIndex, TextFingerprint};

/// xorshift64*: seeded so every run makes the same edits.
pub struct Rng(pub u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

pub type Edit = fn(&str, &mut Rng) -> String;

fn words(title: &str) -> Vec<String> {
    title.split_whitespace().map(str::to_string).collect()
}

fn swap_two_words(title: &str, rng: &mut Rng) -> String {
    let mut w = words(title);
    if w.len() >= 2 {
        let i = rng.below(w.len() - 1);
        w.swap(i, i + 1);
    }
    w.join(" ")
}

fn add_marketing_word(title: &str, rng: &mut Rng) -> String {
    let extra = ["NEW", "Hot Sale", "2026", "Free Shipping", "Best Quality", "Original"];
    format!("{} {}", extra[rng.below(extra.len())], title)
}

fn drop_a_word(title: &str, rng: &mut Rng) -> String {
    let mut w = words(title);
    if w.len() >= 4 {
        w.remove(rng.below(w.len()));
    }
    w.join(" ")
}

fn typo(title: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = title.chars().collect();
    let letters: Vec<usize> = (0..chars.len()).filter(|&i| chars[i].is_ascii_alphabetic()).collect();
    if !letters.is_empty() {
        let i = letters[rng.below(letters.len())];
        chars[i] = if chars[i] == 'e' { 'a' } else { 'e' };
    }
    chars.into_iter().collect()
}

fn homoglyphs_and_zero_width(title: &str, _: &mut Rng) -> String {
    title.replace('o', "\u{043e}").replace('a', "\u{0430}").replacen(' ', " \u{200b}", 2)
}

fn uppercase_and_punctuation(title: &str, _: &mut Rng) -> String {
    format!("{}!!", title.to_uppercase().replace(' ', " - "))
}

pub fn three_edits(title: &str, rng: &mut Rng) -> String {
    let once = swap_two_words(title, rng);
    let twice = add_marketing_word(&once, rng);
    typo(&twice, rng)
}

pub const EDITS: [(&str, Edit); 7] = [
    ("two words swapped", swap_two_words),
    ("marketing word added", add_marketing_word),
    ("a word dropped", drop_a_word),
    ("one-letter typo", typo),
    ("homoglyphs + zero-width", homoglyphs_and_zero_width),
    ("upper case + dashes", uppercase_and_punctuation),
    ("swap + added word + typo", three_edits),
];

pub fn data_file() -> PathBuf {
    let base = std::env::var_os("REMPART_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    base.join("product_listings_en/walmart_amazon/walmart.csv")
}

/// The seed of every run.
pub const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// One catalogue product: title and brand.
pub type Product = (String, String);

/// The Walmart products with a title of four words or more (shorter ones
/// match only for the same seller in the gate).
pub fn products() -> Result<Vec<Product>, Box<dyn Error>> {
    let path = data_file();
    let mut reader = csv::Reader::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| headers.iter().position(|h| h == name).ok_or(format!("no `{name}` column"));
    let (title_at, brand_at) = (column("title")?, column("brand")?);
    let mut products = Vec::new();
    for record in reader.records() {
        let record = record?;
        let title = record.get(title_at).unwrap_or("").trim().to_string();
        if title.split_whitespace().count() >= 4 {
            products.push((title, record.get(brand_at).unwrap_or("").to_string()));
        }
    }
    Ok(products)
}

pub fn listing_text<'a>((title, brand): &'a Product) -> ListingText<'a> {
    ListingText { title, description: None, other: (!brand.is_empty()).then_some(brand.as_str()) }
}

/// The removed entry of product `i`.
pub fn entry(i: usize, product: &Product) -> RemovedEntry {
    let text = listing_text(product);
    RemovedEntry {
        listing_id: i.to_string(),
        decided_by: "bench".into(),
        seller_id: None,
        fingerprint: TextFingerprint::new(&text),
        attributes: Attributes::of_listing(&text),
    }
}

/// Whether a match is acted on: its score (attributes compared) or its
/// bare similarity (before attributes) at or above the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    Similarity,
    Attributes,
}

/// The matches of `product` at `threshold` under `rule`, best first.
pub fn flagged(index: &RemovedIndex, product: &Product, rule: Rule, threshold: f64) -> Vec<rempart_relist::Near> {
    let text = listing_text(product);
    let fingerprint = TextFingerprint::new(&text);
    match rule {
        Rule::Similarity => index.query(&fingerprint, threshold),
        Rule::Attributes => {
            let mut near = index.query_with_attributes(&fingerprint, &Attributes::of_listing(&text), threshold);
            near.retain(|n| n.score >= threshold);
            near
        }
    }
}

/// Every product removed.
pub fn full_index(products: &[Product]) -> RemovedIndex {
    let mut index = RemovedIndex::new();
    index.extend(products.iter().enumerate().map(|(i, p)| entry(i, p)));
    index
}

/// Every 50th product removed: 2 % of the catalogue.
pub fn sample_index(products: &[Product]) -> RemovedIndex {
    let mut index = RemovedIndex::new();
    index.extend(products.iter().enumerate().filter(|(i, _)| i % 50 == 0).map(|(i, p)| entry(i, p)));
    index
}

/// The benchmark's two figures at one threshold.
#[derive(Clone, Copy, Debug)]
pub struct Figures {
    /// Products relisted with three edits (swap, added word, typo) found.
    pub found: usize,
    pub products: usize,
    /// Other products flagged as near one of the 2 % removed.
    pub false_alarms: usize,
    pub others: usize,
}

impl Figures {
    pub fn recall(&self) -> f64 {
        self.found as f64 / self.products as f64
    }
    pub fn false_alarm_rate(&self) -> f64 {
        self.false_alarms as f64 / self.others as f64
    }
}

/// Recall of three-edit relists and the false-alarm rate at `threshold`.
pub fn figures(
    products: &[Product],
    full: &RemovedIndex,
    sample: &RemovedIndex,
    rule: Rule,
    threshold: f64,
) -> Figures {
    let mut rng = Rng(SEED);
    let (mut found, mut false_alarms, mut others) = (0, 0, 0);
    for (i, product) in products.iter().enumerate() {
        let edited = (three_edits(&product.0, &mut rng), product.1.clone());
        found += usize::from(flagged(full, &edited, rule, threshold).iter().any(|n| n.listing_id == i.to_string()));
        if i % 50 != 0 {
            others += 1;
            false_alarms += usize::from(!flagged(sample, product, rule, threshold).is_empty());
        }
    }
    Figures { found, products: products.len(), false_alarms, others }
}
