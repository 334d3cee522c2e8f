//! Measures relisting detection the way it happens on a marketplace: a
//! seller re-posts their own removed listing with the title edited. Real
//! titles (the 2,554 Walmart products of `product_listings_en/walmart_amazon`)
//! are removed; each comes back under one of several seeded edits, and must
//! be found at the default threshold. The same index is then queried with
//! every *other* title, to show how often distinct products are flagged.
//!
//! ```text
//! cargo run --release -p rempart-relist --example relist_edits
//! ```

use std::error::Error;
use std::path::PathBuf;

use rempart_relist::{ListingText, RemovedEntry, RemovedIndex, TextFingerprint, DEFAULT_MIN_SIMILARITY};

/// xorshift64*: seeded so every run makes the same edits.
struct Rng(u64);

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

type Edit = fn(&str, &mut Rng) -> String;

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

fn three_edits(title: &str, rng: &mut Rng) -> String {
    let once = swap_two_words(title, rng);
    let twice = add_marketing_word(&once, rng);
    typo(&twice, rng)
}

const EDITS: [(&str, Edit); 7] = [
    ("two words swapped", swap_two_words),
    ("marketing word added", add_marketing_word),
    ("a word dropped", drop_a_word),
    ("one-letter typo", typo),
    ("homoglyphs + zero-width", homoglyphs_and_zero_width),
    ("upper case + dashes", uppercase_and_punctuation),
    ("swap + added word + typo", three_edits),
];

fn data_file() -> PathBuf {
    let base = std::env::var_os("REMPART_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    base.join("product_listings_en/walmart_amazon/walmart.csv")
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut reader = csv::Reader::from_path(data_file())?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| headers.iter().position(|h| h == name).ok_or(format!("no `{name}` column"));
    let (title_at, brand_at) = (column("title")?, column("brand")?);
    let mut products: Vec<(String, String)> = Vec::new();
    for record in reader.records() {
        let record = record?;
        let title = record.get(title_at).unwrap_or("").trim().to_string();
        if title.split_whitespace().count() >= 4 {
            products.push((title, record.get(brand_at).unwrap_or("").to_string()));
        }
    }
    let text = |(title, brand): &(String, String)| {
        TextFingerprint::new(&ListingText { title, description: None, other: (!brand.is_empty()).then_some(brand) })
    };
    let mut index = RemovedIndex::new();
    for (i, product) in products.iter().enumerate() {
        index.insert(RemovedEntry {
            listing_id: i.to_string(),
            decided_by: "bench".into(),
            seller_id: None,
            fingerprint: text(product),
        })?;
    }
    println!(
        "{} Walmart titles (≥ 4 words) removed; each relisted under every edit; threshold {DEFAULT_MIN_SIMILARITY}",
        products.len()
    );
    println!("{:<28} {:>8} {:>10}", "edit", "recall", "top-1 ok");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (name, edit) in EDITS {
        let (mut found, mut top1) = (0usize, 0usize);
        for (i, (title, brand)) in products.iter().enumerate() {
            let edited = (edit(title, &mut rng), brand.clone());
            let near = index.query(&text(&edited), DEFAULT_MIN_SIMILARITY);
            found += usize::from(near.iter().any(|n| n.listing_id == i.to_string()));
            top1 += usize::from(near.first().is_some_and(|n| n.listing_id == i.to_string()));
        }
        let n = products.len() as f64;
        println!("{name:<28} {:>8.3} {:>10.3}", found as f64 / n, top1 as f64 / n);
    }
    // Distinct products. A catalogue holds many variants of one product
    // line (cartridge 45 / 56, screen 119 / 161 inch), which the text
    // fingerprint cannot tell from a relisting. What matters is how often
    // a new listing lands near *a removed one*: remove every 50th product
    // (2% of the catalogue) and count how many of the others are flagged.
    let mut removed_sample = RemovedIndex::new();
    for (i, product) in products.iter().enumerate().filter(|(i, _)| i % 50 == 0) {
        removed_sample.insert(RemovedEntry {
            listing_id: i.to_string(),
            decided_by: "bench".into(),
            seller_id: None,
            fingerprint: text(product),
        })?;
    }
    let others = products.iter().enumerate().filter(|(i, _)| i % 50 != 0).count();
    println!(
        "\n{:>9} {:>18} {:>30} {:>36}",
        "threshold", "recall (3 edits)", "any product near another", "others near the 2% removed"
    );
    for threshold in [0.55, 0.60, 0.65, 0.70, 0.75, 0.80] {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut found, mut near_any, mut near_removed) = (0usize, 0usize, 0usize);
        for (i, product) in products.iter().enumerate() {
            let edited = (three_edits(&product.0, &mut rng), product.1.clone());
            found += usize::from(index.query(&text(&edited), threshold).iter().any(|n| n.listing_id == i.to_string()));
            let near = index.query(&text(product), threshold);
            near_any += usize::from(near.iter().any(|n| n.listing_id != i.to_string()));
            if i % 50 != 0 {
                near_removed += usize::from(!removed_sample.query(&text(product), threshold).is_empty());
            }
        }
        let n = products.len() as f64;
        println!(
            "{threshold:>9.2} {:>18.3} {:>22} ({:>4.1}%) {:>28} ({:.2}%)",
            found as f64 / n,
            near_any,
            100.0 * near_any as f64 / n,
            near_removed,
            100.0 * near_removed as f64 / others as f64
        );
    }
    Ok(())
}
