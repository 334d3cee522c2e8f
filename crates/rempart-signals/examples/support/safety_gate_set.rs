//! The Safety Gate evaluation set, built from the alerts' own product
//! descriptions with seeded seller rewording (shared by the
//! `safety_gate_eval` example and the signals tests).
//!
//! - **Positives**: for every alert, listings a seller might write for
//!   that product: the alert's words reordered, re-cased, padded with
//!   marketing filler, the product type reworded or translated, the brand
//!   moved to an attribute, or only the barcode given.
//! - **Near misses**: the same brand with another model (model words
//!   replaced, model numbers changed), checked not to be another alert's
//!   model of that brand.
//! - **Benign**: real listings of the shared corpora, none of which is a
//!   recalled product unless the evaluation finds and shows it.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rempart_core::normalize::Folded;
use rempart_core::Listing;
use rempart_signals::safety_gate::{self, Alert, SafetyGate};

/// The Safety Gate data folder, or `None` when `../shared/data` is absent.
pub fn data_dir() -> Option<PathBuf> {
    let base = std::env::var_os("REMPART_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let dir = base.join("eu_safety_gate");
    dir.is_dir().then_some(dir)
}

/// Every alert of the three shipped lists.
pub fn load_alerts(dir: &Path) -> Vec<Alert> {
    let mut all = Vec::new();
    for name in ["safety_gate_alerts_a.csv", "safety_gate_alerts_b.csv", "soi_sk_dangerous_products.csv"] {
        let (alerts, _) = safety_gate::load(&dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
        all.extend(alerts);
    }
    all
}

/// What a case is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A listing of the alert's product; `style` says how it was written.
    Positive(&'static str),
    /// The same brand, another model.
    NearMiss,
    /// A real listing of the benign corpora.
    Benign,
}

#[derive(Clone, Debug)]
pub struct Case {
    pub listing: Listing,
    pub kind: Kind,
    /// The alert a positive or near miss was made from.
    pub alert: Option<String>,
    /// The model a positive offers (one of the alert's, when it lists several).
    pub model: Option<String>,
}

/// The models an alert lists (`Corsa, Mokka`; `Range Rover; Range Rover Sport`).
pub fn model_alternatives(alert: &Alert) -> Vec<String> {
    let source = if alert.model.is_empty() { &alert.name } else { &alert.model };
    source
        .split([',', ';'])
        .flat_map(|p| p.split(" and "))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Words a seller adds around a product name.
const FILLER: &[&str] = &[
    "NEW",
    "2024",
    "Top quality",
    "Free shipping",
    "Promo",
    "-50%",
    "Original",
    "Best price",
    "fast delivery",
    "nouveau",
    "Neu",
    "oferta",
    "genuine",
    "in stock",
    "hot sale",
    "gift",
];

/// Plausible model words for near misses.
const OTHER_MODELS: &[&str] = &[
    "Astra", "Nova", "Classic", "Prime", "Urban", "Elite", "Comfort", "Junior", "Royal", "Horizon", "Vista", "Orion",
    "Zenith", "Aurora", "Falcon", "Lotus", "Summit", "Breeze", "Titan", "Pulse",
];

/// Product types as sellers write them (English alert wording → seller words).
const PRODUCT_WORDS: &[(&str, &[&str])] = &[
    ("car", &["car", "voiture", "Auto", "vehicle", "coche"]),
    ("motorcycle", &["motorbike", "moto", "Motorrad"]),
    ("perfume", &["eau de parfum", "parfum", "fragrance", "EDP"]),
    ("shampoo", &["shampooing", "Shampoo", "hair shampoo"]),
    ("toy", &["toy", "jouet", "Spielzeug", "kids toy"]),
    ("helmet", &["helmet", "casque", "Helm"]),
    ("soap", &["soap bar", "savon", "Seife"]),
    ("stroller", &["pushchair", "buggy", "poussette"]),
    ("hair dye", &["hair colour", "coloration", "Haarfarbe"]),
    ("charger", &["charger", "chargeur", "Ladegerät"]),
    ("lamp", &["lamp", "lampe", "light"]),
    ("cream", &["cream", "crème", "Creme"]),
];

fn seller_product(rng: &mut fastrand::Rng, product: &str) -> String {
    let lower = product.to_lowercase();
    for (key, words) in PRODUCT_WORDS {
        if lower.contains(key) {
            return words[rng.usize(..words.len())].to_string();
        }
    }
    match rng.u8(..3) {
        0 => lower,
        1 => product.split_whitespace().last().unwrap_or(product).to_string(),
        _ => product.to_string(),
    }
}

fn recase(rng: &mut fastrand::Rng, text: &str) -> String {
    match rng.u8(..4) {
        0 => text.to_lowercase(),
        1 => text.to_uppercase(),
        _ => text.to_string(),
    }
}

fn filler(rng: &mut fastrand::Rng) -> String {
    let n = rng.usize(0..3);
    (0..n).map(|_| FILLER[rng.usize(..FILLER.len())]).collect::<Vec<_>>().join(" ")
}

fn join(parts: &[String]) -> String {
    parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The first brand of an alert's brand field.
fn first_brand(alert: &Alert) -> Option<String> {
    alert.brand.split([',', '/', '&', ';', '+']).map(str::trim).find(|b| !b.is_empty()).map(str::to_string)
}

fn folded_words(text: &str) -> Vec<String> {
    Folded::term(text).split(' ').filter(|w| !w.is_empty()).map(str::to_string).collect()
}

/// Listings of each alert's product, as sellers would word them.
pub fn positives(alerts: &[Alert], seed: u64) -> Vec<Case> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut cases = Vec::new();
    let mut seen = HashSet::new();
    for (n, a) in alerts.iter().enumerate() {
        if !seen.insert(a.number.clone()) {
            continue;
        }
        let id = |style: &str| format!("pos-{n}-{style}");
        let product = seller_product(&mut rng, &a.product);
        let is_list_entry = a.number.contains(" row ");
        // A seller offers one model of an alert that lists several.
        let models = model_alternatives(a);
        let chosen =
            if is_list_entry || models.is_empty() { None } else { Some(models[rng.usize(..models.len())].clone()) };
        let name = match &chosen {
            Some(m) if a.model.is_empty() => m.clone(),
            _ => a.name.clone(),
        };
        let model = match &chosen {
            Some(m) if !a.model.is_empty() => m.clone(),
            _ if is_list_entry => a.model.clone(),
            _ => String::new(),
        };
        let brand = first_brand(a).unwrap_or_default();
        let mut push = |listing: Listing, style: &'static str| {
            cases.push(Case {
                listing,
                kind: Kind::Positive(style),
                alert: Some(a.number.clone()),
                model: chosen.clone(),
            });
        };
        if is_list_entry {
            // A national list gives a name only: sellers keep the product
            // name and write the product type their way.
            let title = join(&[recase(&mut rng, &name), product.clone(), filler(&mut rng)]);
            push(Listing::new(id("name"), title), "name");
            if !model.is_empty() {
                push(Listing::new(id("item"), join(&[product, model, filler(&mut rng)])), "item number");
            }
            continue;
        }
        // The alert's words in the seller's order and case.
        let mut parts = vec![recase(&mut rng, &brand), recase(&mut rng, &name), model.clone(), product.clone()];
        if rng.bool() {
            parts.swap(0, 1);
        }
        parts.push(filler(&mut rng));
        if rng.bool() {
            parts.insert(0, filler(&mut rng));
        }
        push(Listing::new(id("reworded"), join(&parts)), "reworded");
        // The brand in an attribute, not in the title.
        if !brand.is_empty() {
            let mut l =
                Listing::new(id("attribute"), join(&[product.clone(), name.clone(), model.clone(), filler(&mut rng)]));
            l.attributes.push(("brand".into(), brand.clone()));
            push(l, "brand attribute");
        }
        // Only the barcode identifies it.
        if let Some(code) = a.barcodes.get(rng.usize(..a.barcodes.len().max(1))) {
            let mut l = Listing::new(id("barcode"), join(&[product.clone(), filler(&mut rng)]));
            let key = ["ean", "gtin", "EAN-13", "barcode"][rng.usize(..4)];
            l.attributes.push((key.into(), code.clone()));
            push(l, "barcode");
        }
    }
    cases
}

/// The same brand with another model, for every alert with a brand and
/// model words of its own: one of its models with the model words
/// replaced and the model numbers changed, never a model (or word) of
/// another alert of that brand.
pub fn near_misses(alerts: &[Alert], seed: u64) -> Vec<Case> {
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x9e37_79b9_7f4a_7c15);
    // Every word of every alert of each brand: a near miss uses none.
    let mut brand_words: HashMap<String, HashSet<String>> = HashMap::new();
    for a in alerts {
        if let Some(b) = first_brand(a) {
            let words = brand_words.entry(Folded::term(&b)).or_default();
            for text in [&a.name, &a.model, &a.product] {
                words.extend(folded_words(text));
            }
        }
    }
    let mut cases = Vec::new();
    let mut seen = HashSet::new();
    for (n, a) in alerts.iter().enumerate() {
        let Some(brand) = first_brand(a) else { continue };
        let models = model_alternatives(a);
        if !seen.insert(a.number.clone()) || models.is_empty() {
            continue;
        }
        let model = &models[rng.usize(..models.len())];
        let taken = &brand_words[&Folded::term(&brand)];
        let brand_folded: HashSet<String> = folded_words(&brand).into_iter().collect();
        let product_folded: HashSet<String> = folded_words(&a.product).into_iter().collect();
        let mut changed = false;
        let mut words: Vec<String> = Vec::new();
        for w in model.split_whitespace() {
            let folded = folded_words(w);
            if folded.iter().all(|f| brand_folded.contains(f) || product_folded.contains(f)) {
                words.push(w.to_string());
                continue;
            }
            // Another model number (every digit moved) or another model
            // word, neither used by any alert of the brand.
            let replacement = (0..50).find_map(|_| {
                let candidate: String = if w.chars().any(|c| c.is_ascii_digit()) {
                    w.chars()
                        .map(|c| {
                            c.to_digit(10).map_or(c, |d| char::from_digit((d + 1 + rng.u32(..8)) % 10, 10).unwrap_or(c))
                        })
                        .collect()
                } else {
                    OTHER_MODELS[rng.usize(..OTHER_MODELS.len())].to_string()
                };
                folded_words(&candidate).iter().all(|f| !taken.contains(f)).then_some(candidate)
            });
            match replacement {
                Some(r) => {
                    changed = true;
                    words.push(r);
                }
                None => words.push(w.to_string()),
            }
        }
        // Only the product type is left of the model: no model to miss.
        if !changed {
            continue;
        }
        let title = join(&[brand.clone(), words.join(" "), seller_product(&mut rng, &a.product), filler(&mut rng)]);
        cases.push(Case {
            listing: Listing::new(format!("near-{n}"), title),
            kind: Kind::NearMiss,
            alert: Some(a.number.clone()),
            model: None,
        });
    }
    cases
}

/// Real listings of the benign corpora (JSONL files of `bench/corpus.py benign`).
pub fn benign(dir: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for line in text.lines() {
            if let Ok(listing) = Listing::from_json(line.as_bytes()) {
                cases.push(Case { listing, kind: Kind::Benign, alert: None, model: None });
            }
        }
    }
    cases
}

/// What the matcher did on the set.
#[derive(Debug, Default)]
pub struct Scores {
    /// Per kind: (cases, cases matched to some alert, positives matched to their own alert).
    pub by_kind: std::collections::BTreeMap<Kind, (usize, usize, usize)>,
    /// Matches that are wrong: (case id, title, alert matched, how).
    pub false_matches: Vec<(String, String, String, &'static str)>,
    /// Positives not matched to their alert: (case id, title, alert).
    pub misses: Vec<(String, String, String)>,
}

impl Scores {
    pub fn positives(&self) -> (usize, usize) {
        self.by_kind
            .iter()
            .filter(|(k, _)| matches!(k, Kind::Positive(_)))
            .fold((0, 0), |(n, tp), (_, (cases, _, right))| (n + cases, tp + right))
    }

    pub fn true_positives(&self) -> usize {
        self.positives().1
    }

    pub fn recall(&self) -> f64 {
        let (n, tp) = self.positives();
        tp as f64 / n.max(1) as f64
    }

    pub fn precision(&self) -> f64 {
        let tp = self.true_positives();
        tp as f64 / (tp + self.false_matches.len()).max(1) as f64
    }

    pub fn matched(&self, kind: Kind) -> usize {
        self.by_kind.get(&kind).map_or(0, |c| c.1)
    }

    pub fn cases(&self, kind: Kind) -> usize {
        self.by_kind.get(&kind).map_or(0, |c| c.0)
    }
}

/// Runs the matcher on every case.
pub fn evaluate(gate: &SafetyGate, cases: &[Case], alerts: &[Alert]) -> Scores {
    let by_number: HashMap<&str, &Alert> = alerts.iter().map(|a| (a.number.as_str(), a)).collect();
    let mut scores = Scores::default();
    for case in cases {
        let matches = gate.matches(&case.listing);
        let entry = scores.by_kind.entry(case.kind).or_default();
        entry.0 += 1;
        if !matches.is_empty() {
            entry.1 += 1;
        }
        match case.kind {
            Kind::Positive(_) => {
                let own = case.alert.as_deref();
                let own_alert = own.and_then(|n| by_number.get(n));
                // Right: the alert itself, or another alert on the same
                // product (a model recalled twice; only the strongest
                // matches are kept per listing).
                let right = |m: &safety_gate::AlertMatch| {
                    Some(m.alert.number.as_str()) == own
                        || own_alert.is_some_and(|o| same_product(o, case.model.as_deref(), m.alert))
                };
                if matches.iter().any(right) {
                    entry.2 += 1;
                } else {
                    scores.misses.push((
                        case.listing.id.clone(),
                        case.listing.title.clone(),
                        own.unwrap_or_default().to_string(),
                    ));
                }
                for m in &matches {
                    if !right(m) {
                        scores.false_matches.push((
                            case.listing.id.clone(),
                            case.listing.title.clone(),
                            m.alert.number.clone(),
                            m.by,
                        ));
                    }
                }
            }
            Kind::NearMiss | Kind::Benign => {
                for m in &matches {
                    scores.false_matches.push((
                        case.listing.id.clone(),
                        case.listing.title.clone(),
                        m.alert.number.clone(),
                        m.by,
                    ));
                }
            }
        }
    }
    scores
}

/// Whether `other` alerts the product a positive of `own` offers: the same
/// brand and, among its models, the model offered.
fn same_product(own: &Alert, offered: Option<&str>, other: &Alert) -> bool {
    // A national list repeats a product under several rows (one per
    // model or batch): the same name is the same product.
    let list_entry = |x: &Alert| x.number.contains(" row ");
    if list_entry(own) && list_entry(other) {
        let same = |a: &str, b: &str| !a.is_empty() && Folded::term(a) == Folded::term(b);
        return same(&own.name, &other.name) || same(&own.model, &other.model);
    }
    let brand = |x: &Alert| first_brand(x).map(|b| Folded::term(&b)).unwrap_or_default();
    let Some(offered) = offered else { return false };
    // One model's words containing the other's: "3 Series" is among
    // "3 Series - M3".
    let offered: HashSet<String> = folded_words(offered).into_iter().collect();
    !brand(own).is_empty()
        && brand(own) == brand(other)
        && model_alternatives(other).iter().any(|m| {
            let m: HashSet<String> = folded_words(m).into_iter().collect();
            m.is_subset(&offered) || offered.is_subset(&m)
        })
}
