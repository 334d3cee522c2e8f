//! Measures relisting detection the way it happens on a marketplace: a
//! seller re-posts their own removed listing with the title edited. Real
//! titles (the Walmart products of `product_listings_en/walmart_amazon`
//! with four words or more) are removed; each comes back under one of
//! several seeded edits, and must be found. Then 2 % of the catalogue is
//! removed and every other product is queried, to show how often distinct
//! products (variants of one product line) are flagged. Both are measured
//! on the bare text similarity ("before") and on the score once what the
//! titles state against a match is taken into account ("after",
//! `rempart_relist::attributes`).
//!
//! ```text
//! cargo run --release -p rempart-relist --example relist_edits [-- --pairs THRESHOLD]
//! ```
//!
//! `--pairs T` also prints, for each other product flagged at score T, the
//! removed title it was flagged against and the attribute evidence.

#[path = "support/walmart_relist.rs"]
mod walmart_relist;

use std::error::Error;
use std::time::Instant;

use rempart_relist::{Attributes, TextFingerprint, DEFAULT_MIN_SIMILARITY};
use walmart_relist::{figures, flagged, full_index, listing_text, products, sample_index, Rng, Rule, EDITS, SEED};

fn main() -> Result<(), Box<dyn Error>> {
    let products = products()?;
    // What attributes cost per listing, beside the fingerprint (the
    // default vocabulary is built before the clock starts).
    let _ = Attributes::of_texts(["warm-up"]);
    let started = Instant::now();
    let fingerprints: usize =
        products.iter().map(|p| usize::from(TextFingerprint::new(&listing_text(p)).is_empty())).sum();
    let fingerprint_time = started.elapsed();
    let started = Instant::now();
    let stated: usize = products.iter().map(|p| Attributes::of_listing(&listing_text(p)).iter().count()).sum();
    let attribute_time = started.elapsed();
    println!(
        "per listing: fingerprint {:.1} µs, attributes {:.1} µs ({stated} attributes in {} titles; {fingerprints} empty fingerprints)",
        fingerprint_time.as_secs_f64() * 1e6 / products.len() as f64,
        attribute_time.as_secs_f64() * 1e6 / products.len() as f64,
        products.len()
    );
    let full = full_index(&products);
    println!(
        "{} Walmart titles (>= 4 words) removed; each relisted under every edit; threshold {DEFAULT_MIN_SIMILARITY}",
        products.len()
    );
    println!("{:<28} {:>8} {:>10}", "edit", "recall", "top-1 ok");
    let mut rng = Rng(SEED);
    for (name, edit) in EDITS {
        let (mut found, mut top1) = (0usize, 0usize);
        for (i, (title, brand)) in products.iter().enumerate() {
            let edited = (edit(title, &mut rng), brand.clone());
            let near = flagged(&full, &edited, Rule::Attributes, DEFAULT_MIN_SIMILARITY);
            found += usize::from(near.iter().any(|n| n.listing_id == i.to_string()));
            top1 += usize::from(near.first().is_some_and(|n| n.listing_id == i.to_string()));
        }
        let n = products.len() as f64;
        println!("{name:<28} {:>8.3} {:>10.3}", found as f64 / n, top1 as f64 / n);
    }
    // A catalogue holds many variants of one product line (cartridge 45 /
    // 56, screen 119 / 161 inch) whose text is nearly the same. What
    // matters is how often a new listing lands near *a removed one*:
    // remove every 50th product and count how many of the others are
    // flagged.
    let sample = sample_index(&products);
    println!(
        "\n{:>9} | {:>16} {:>22} | {:>16} {:>22}",
        "threshold", "recall before", "false alarms before", "recall after", "false alarms after"
    );
    for threshold in [0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80] {
        let before = figures(&products, &full, &sample, Rule::Similarity, threshold);
        let after = figures(&products, &full, &sample, Rule::Attributes, threshold);
        println!(
            "{threshold:>9.2} | {:>16.3} {:>13} ({:>5.2}%) | {:>16.3} {:>13} ({:>5.2}%)",
            before.recall(),
            before.false_alarms,
            100.0 * before.false_alarm_rate(),
            after.recall(),
            after.false_alarms,
            100.0 * after.false_alarm_rate(),
        );
    }
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--pairs") {
        let threshold: f64 = args.get(at + 1).ok_or("--pairs needs a threshold")?.parse()?;
        println!("\nother products flagged at score {threshold}:");
        for (_, product) in products.iter().enumerate().filter(|(i, _)| i % 50 != 0) {
            for near in flagged(&sample, product, Rule::Attributes, threshold) {
                let removed = near.listing_id.parse::<usize>().ok().and_then(|j| products.get(j));
                println!(
                    "{:.2} (similarity {:.2})  {}  ||  {}  [{}]",
                    near.score,
                    near.similarity,
                    product.0,
                    removed.map_or("?", |p| p.0.as_str()),
                    near.attributes.describe()
                );
            }
        }
    }
    Ok(())
}
