//! EU Safety Gate alerts as a bank: a listing that offers a product an
//! alert names — by barcode, by brand and model, or by a near-identical
//! name — fires a signal whose evidence carries the alert number, the
//! risk and the measures taken.
//!
//! # Files
//!
//! Alerts are read from the formats they are published or passed around
//! in, recognised by their column (or element) names:
//!
//! - the Safety Gate portal's **"Export to XML"** (the weekly alert list:
//!   one `<notifications>` element per alert with `caseNumber`, `product`,
//!   `name`, `brand`, `category`, `typeNumberModel`, `barcode`,
//!   `batchNumber`, `riskType`, `compulsoryMeasures`, `voluntaryMeasures`,
//!   `countryOfOrigin`…);
//! - CSV exports of it, with either the portal's field names in snake case
//!   (`alert_number`, `product_name`, `product_description`, `brand`,
//!   `model_type_number`, `barcode`, `risk_type`, `compulsory_measures`…)
//!   or the shorter alert-list shape (`measures_authorities`);
//! - national recall lists that give only a product name (the Slovak
//!   SOI list): the quoted name („Lionelo Elia“) and any `Item No` are
//!   the identity.
//!
//! # Matching
//!
//! Only what identifies a product counts: an alert's **distinctive**
//! tokens are its brand and model words minus the words of product types
//! and categories (gathered from all alerts) and common words. A listing
//! matches an alert when
//!
//! 1. it states one of the alert's barcodes (EAN-8/UPC/EAN-13/GTIN-14 in
//!    any field); or
//! 2. its title or brand/model attributes name one of the alert's brands
//!    (not as "for Opel…", "compatible with…": accessories name the
//!    products they fit) **and** its model: every model token, or two
//!    thirds of them including a distinctive one; or
//! 3. its title contains at least 85 % of the alert's identity tokens,
//!    with at least two distinctive ones (lists without a brand).
//!
//! The same brand with another model does not match (the model is
//! missing); a generic alert ("Earrings", no brand, "Earring 100% Metal")
//! has no distinctive token and can only match by barcode.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rempart_core::normalize::Folded;
use rempart_core::{Evidence, Listing};

/// One Safety Gate alert (or national recall-list entry).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Alert {
    /// `A12/00328/22`; for lists without numbers, a reference built from
    /// the list's name and the row.
    pub number: String,
    /// The kind of product (`Passenger car`, `Soap bubble toy`).
    pub product: String,
    /// The product's name or model as notified (`Insignia`).
    pub name: String,
    /// Brand(s), possibly several (`Schwarzkopf, schauma`).
    pub brand: String,
    pub category: String,
    /// Type or model number, when given apart from the name.
    pub model: String,
    pub barcodes: Vec<String>,
    pub batch: String,
    pub risk_type: String,
    pub measures: String,
    pub country_of_origin: String,
}

/// A row or element that could not be used, with why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedAlert {
    pub position: usize,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AlertFileError {
    #[error("{path}: {message}")]
    Unreadable { path: String, message: String },
}

/// Reads alerts from a CSV or XML file (see the module documentation).
pub fn load(path: &Path) -> Result<(Vec<Alert>, Vec<SkippedAlert>), AlertFileError> {
    let unreadable = |message: String| AlertFileError::Unreadable { path: path.display().to_string(), message };
    let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| unreadable(format!("not UTF-8: {e}")))?;
    let list_name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if text.trim_start().starts_with('<') {
        from_xml(&text).map_err(unreadable)
    } else {
        from_csv(&text, &list_name).map_err(unreadable)
    }
}

/// Which alert field a column or element name fills.
fn field_of(name: &str) -> Option<&'static str> {
    let key: String = name.trim().trim_start_matches('\u{feff}').to_ascii_lowercase().replace([' ', '-'], "_");
    Some(match key.as_str() {
        "alert_number" | "casenumber" | "case_number" | "reference" => "number",
        "product_name" | "product" => "product",
        "product_description" | "name" => "name",
        "brand" => "brand",
        "product_category" | "category" => "category",
        "model_type_number" | "typenumbermodel" | "type_number_model" | "model" => "model",
        "barcode" | "barcodes" | "ean" | "gtin" => "barcode",
        "batch_number" | "batchnumber" => "batch",
        "risk_type" | "risktype" => "risk_type",
        "measures_authorities"
        | "compulsory_measures"
        | "compulsorymeasures"
        | "voluntary_measures"
        | "voluntarymeasures" => "measures",
        "country_of_origin" | "countryoforigin" => "country_of_origin",
        _ => return None,
    })
}

impl Alert {
    fn set(&mut self, field: &str, value: &str) {
        let value = value.trim();
        if value.is_empty() || value.eq_ignore_ascii_case("none") {
            return;
        }
        match field {
            "number" => self.number = value.to_string(),
            "product" => self.product = value.to_string(),
            "name" => self.name = value.to_string(),
            "brand" => self.brand = value.to_string(),
            "category" => self.category = value.to_string(),
            "model" => self.model = value.to_string(),
            "barcode" => self.barcodes.extend(
                value
                    .split(|c: char| !c.is_ascii_digit())
                    .filter(|d| matches!(d.len(), 8 | 12 | 13 | 14))
                    .map(normalise_barcode),
            ),
            "batch" => self.batch = value.to_string(),
            "risk_type" => self.risk_type = value.to_string(),
            "measures" => {
                if !self.measures.is_empty() {
                    self.measures.push_str("; ");
                }
                self.measures.push_str(value);
            }
            "country_of_origin" => self.country_of_origin = value.to_string(),
            _ => {}
        }
    }

    /// A list entry without alert fields: its name carries the identity,
    /// the quoted product name („Lionelo Elia“) or else the words written
    /// in capitals (a brand: `Predlžovací prívod PLASTROL`), and a model
    /// or item number (`model/typ DN-72`, `ITEM NO: A864`).
    fn from_name_only(list: &str, row: usize, name: &str) -> Alert {
        let item = item_number(name);
        let quoted = quoted_part(name).map(str::to_string).or_else(|| capitals(name, item));
        Alert {
            number: format!("{list} row {row}"),
            product: name.to_string(),
            name: quoted.unwrap_or_default(),
            model: item.unwrap_or_default().to_string(),
            ..Alert::default()
        }
    }

    /// What the evidence says about the alert.
    fn describe(&self) -> String {
        let mut s = format!("Safety Gate alert {}", self.number);
        let identity: Vec<&str> = [self.brand.as_str(), self.name.as_str(), self.model.as_str()]
            .into_iter()
            .filter(|x| !x.is_empty())
            .collect();
        if !identity.is_empty() {
            s.push_str(&format!(": {}", identity.join(" ")));
        }
        if !self.product.is_empty() && self.product != self.name {
            s.push_str(&format!(" ({})", self.product));
        }
        if !self.risk_type.is_empty() {
            s.push_str(&format!("; risk: {}", self.risk_type));
        }
        let measures = self.measures_summary();
        if !measures.is_empty() {
            s.push_str(&format!("; measures: {measures}"));
        }
        s
    }

    /// The measures in one line: the "Category of measure(s)" lines of
    /// the portal's text when present, the text otherwise.
    fn measures_summary(&self) -> String {
        let categories: Vec<&str> = self
            .measures
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Category of measure(s):"))
            .map(str::trim)
            .collect();
        let mut unique: Vec<&str> = Vec::new();
        for c in categories {
            if !unique.contains(&c) {
                unique.push(c);
            }
        }
        if unique.is_empty() {
            self.measures.split_whitespace().collect::<Vec<_>>().join(" ")
        } else {
            unique.join("; ")
        }
    }
}

fn quoted_part(name: &str) -> Option<&str> {
    for (open, close) in [('„', '“'), ('“', '”'), ('"', '"'), ('«', '»')] {
        if let Some(start) = name.find(open) {
            let rest = &name[start + open.len_utf8()..];
            if let Some(end) = rest.find(close) {
                let inner = rest[..end].trim();
                if !inner.is_empty() {
                    return Some(inner);
                }
            }
        }
    }
    None
}

fn item_number(name: &str) -> Option<&str> {
    let lower = name.to_lowercase();
    let markers = ["item no", "art no", "art. no", "model/typ", "modeltyp", "model", "typ"];
    let (at, len) = markers.iter().find_map(|m| lower.find(m).map(|i| (i, m.len())))?;
    // `lower` has the same byte length as `name` for the ASCII markers
    // and what precedes them here only when `name` is ASCII up to them.
    let rest = name.get(at + len..)?;
    let rest = rest.trim_start_matches(['.', ':', ' ', '/']);
    let code: &str = rest.split(|c: char| c.is_whitespace() || c == ',').next()?;
    (code.chars().any(|c| c.is_ascii_digit()) && code.len() >= 3).then_some(code)
}

/// The words of a list entry written in capitals (two letters or more),
/// other than its item number: the brand or product name.
fn capitals(name: &str, item: Option<&str>) -> Option<String> {
    let words: Vec<&str> = name
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| Some(*w) != item)
        .filter(|w| {
            let letters: Vec<char> = w.chars().filter(|c| c.is_alphabetic()).collect();
            letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase())
        })
        .filter(|w| !["ITEM", "NO", "ART", "LED", "RGB"].contains(w))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

fn from_csv(text: &str, list: &str) -> Result<(Vec<Alert>, Vec<SkippedAlert>), String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| format!("CSV header: {e}"))?.clone();
    let fields: Vec<Option<&str>> = headers.iter().map(field_of).collect();
    let name_only = !fields.contains(&Some("number"));
    if name_only && !fields.contains(&Some("product")) {
        return Err("neither an alert_number nor a product_name column: not an alert list".into());
    }
    let (mut alerts, mut skipped) = (Vec::new(), Vec::new());
    for (i, row) in reader.records().enumerate() {
        let position = i + 2;
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                skipped.push(SkippedAlert { position, reason: e.to_string() });
                continue;
            }
        };
        let alert = if name_only {
            let name = fields.iter().zip(row.iter()).find(|(f, _)| **f == Some("product")).map(|(_, v)| v);
            Alert::from_name_only(list, position, name.unwrap_or_default())
        } else {
            let mut alert = Alert::default();
            for (field, value) in fields.iter().zip(row.iter()) {
                if let Some(field) = field {
                    alert.set(field, value);
                }
            }
            alert
        };
        match usable(&alert) {
            Ok(()) => alerts.push(alert),
            Err(reason) => skipped.push(SkippedAlert { position, reason }),
        }
    }
    Ok((alerts, skipped))
}

fn from_xml(text: &str) -> Result<(Vec<Alert>, Vec<SkippedAlert>), String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let (mut alerts, mut skipped) = (Vec::new(), Vec::new());
    // An alert is an element whose children carry alert fields; `current`
    // holds the one being read and the depth it started at.
    let mut stack: Vec<String> = Vec::new();
    let mut current: Option<(usize, Alert, bool)> = None;
    let mut text_buf = String::new();
    let mut count = 0usize;
    loop {
        match reader.read_event().map_err(|e| format!("XML at byte {}: {e}", reader.error_position()))? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if current.is_none() && name == "notifications" {
                    current = Some((stack.len(), Alert::default(), true));
                }
                stack.push(name);
                text_buf.clear();
            }
            Event::Text(t) => {
                text_buf.push_str(&t.unescape().map_err(|e| format!("XML text: {e}"))?);
            }
            Event::CData(t) => text_buf.push_str(&String::from_utf8_lossy(&t.into_inner())),
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                if let Some((depth, alert, _)) = current.as_mut() {
                    if stack.len() == *depth {
                        count += 1;
                        let (_, alert, _) = current.take().unwrap_or_default();
                        match usable(&alert) {
                            Ok(()) => alerts.push(alert),
                            Err(reason) => skipped.push(SkippedAlert { position: count, reason }),
                        }
                    } else if let Some(field) = field_of(&name) {
                        alert.set(field, &text_buf);
                    }
                }
                text_buf.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if alerts.is_empty() && skipped.is_empty() {
        return Err("no <notifications> element: not a Safety Gate export".into());
    }
    Ok((alerts, skipped))
}

/// Whether an alert can identify anything.
fn usable(alert: &Alert) -> Result<(), String> {
    if alert.number.is_empty() {
        return Err("no alert number".into());
    }
    if alert.brand.is_empty() && alert.name.is_empty() && alert.model.is_empty() && alert.barcodes.is_empty() {
        return Err(format!("alert {}: no brand, name, model or barcode", alert.number));
    }
    Ok(())
}

/// EAN-13 form: UPC-A gains its leading 0, GTIN-14 loses a leading 0.
fn normalise_barcode(digits: &str) -> String {
    match digits.len() {
        12 => format!("0{digits}"),
        14 if digits.starts_with('0') => digits[1..].to_string(),
        _ => digits.to_string(),
    }
}

/// Words that never identify a product: function words in the languages
/// of the alerts and listings, units, and marketing filler.
const COMMON: &[&str] = &[
    "a", "an", "the", "and", "or", "of", "for", "with", "in", "on", "to", "by", "from", "new", "set", "pcs", "pc",
    "piece", "pieces", "pack", "kit", "x", "de", "du", "des", "la", "le", "les", "et", "pour", "avec", "en", "un",
    "une", "der", "die", "das", "und", "mit", "fur", "von", "el", "los", "las", "y", "con", "para", "il", "di", "e",
    "per", "het", "een", "en", "voor", "met", "na", "s", "z", "i", "w", "cm", "mm", "ml", "l", "g", "kg", "v", "w",
    "mah", "color", "colour", "black", "white", "red", "blue", "green", "pink", "yellow", "grey", "gray", "silver",
    "gold", "small", "large", "mini", "big", "kids", "children", "child", "baby", "adult", "model", "type", "item",
    "no", "nr", "ref", "art", "version", "edition", "original", "style",
];

/// Words that precede the product an accessory fits.
const COMPATIBILITY: &[&str] =
    &["for", "fits", "fit", "compatible", "pour", "fur", "passend", "para", "per", "voor", "do", "replacement"];

/// A match of a listing against an alert.
#[derive(Clone, Debug)]
pub struct AlertMatch<'a> {
    pub alert: &'a Alert,
    /// How it matched: `barcode`, `brand + model`, `name`.
    pub by: &'static str,
    pub evidence: Vec<Evidence>,
}

/// What identifies an alert's product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Identity {
    /// A brand, with or without models.
    Branded,
    /// A national list's product name (no alert fields).
    NameOnly,
    /// No brand: the name is a description ("Earring 100% Metal"), so only
    /// a barcode identifies the product.
    Unbranded,
}

/// An alert prepared for matching.
struct Prepared {
    identity: Identity,
    /// Each brand alternative (`Schwarzkopf, schauma`) as words.
    brands: Vec<Vec<String>>,
    /// Whether a brand alternative has a word that is not common.
    brand_distinctive: bool,
    /// Each model alternative (`Corsa, Mokka` are two) as words, brand
    /// and common words removed; only alternatives with a distinctive word.
    models: Vec<Vec<String>>,
    /// For alerts that name a brand but no model: the words of their name
    /// ("Travel Charger"), all needed, or else of their product type
    /// ("Stroller"), one needed.
    name_words: Vec<String>,
    product: Vec<String>,
    /// Words of brand, name and model (numbers and single letters too:
    /// "16 Her" is not "14 Her"), for name matching…
    names: Vec<String>,
    /// …of which this many are distinctive.
    names_distinctive: usize,
}

/// Alerts indexed for matching, loaded once and shared across workers.
pub struct SafetyGate {
    alerts: Vec<Alert>,
    prepared: Vec<Prepared>,
    by_barcode: HashMap<String, Vec<usize>>,
    by_token: HashMap<String, Vec<usize>>,
    generic: HashSet<String>,
    /// Matches kept per listing, best first.
    max_matches: usize,
}

/// Words as matching sees them: the same normalisation as listing text
/// (so `III` and `iii` meet), split on spaces.
fn words(text: &str) -> Vec<String> {
    Folded::new(text).as_str().split(' ').filter(|w| !w.is_empty()).map(str::to_string).collect()
}

fn is_number(w: &str) -> bool {
    w.bytes().all(|b| b.is_ascii_digit())
}

/// Splits a list of models: `Corsa, Mokka`, `Range Rover; Range Rover
/// Sport`, `Renegade PHEV and MHEV` (a `/` stays: `CBR600RA/RR` is one).
fn alternatives(text: &str) -> Vec<&str> {
    text.split([',', ';']).flat_map(|part| part.split(" and ")).map(str::trim).filter(|p| !p.is_empty()).collect()
}

impl SafetyGate {
    /// Indexes `alerts`, keeping the `max_matches` best matches per listing.
    pub fn new(mut alerts: Vec<Alert>, max_matches: usize) -> SafetyGate {
        // One alert per number (lists overlap): the fuller record wins.
        alerts.sort_by(|a, b| a.number.cmp(&b.number).then(richness(b).cmp(&richness(a))));
        alerts.dedup_by(|a, b| a.number == b.number);
        let mut generic: HashSet<String> = COMMON.iter().map(|w| w.to_string()).collect();
        for a in alerts.iter().filter(|a| !a.number.contains(" row ")) {
            generic.extend(words(&a.product));
            generic.extend(words(&a.category));
        }
        let distinctive = |w: &String| w.len() > 1 && !generic.contains(w) && !(is_number(w) && w.len() <= 2);
        let mut prepared = Vec::with_capacity(alerts.len());
        for a in &alerts {
            let brands: Vec<Vec<String>> =
                a.brand.split([',', '/', '&', ';', '+']).map(words).filter(|w| !w.is_empty()).collect();
            let brand_words: HashSet<&String> = brands.iter().flatten().collect();
            let model_source = if a.model.is_empty() { &a.name } else { &a.model };
            let models: Vec<Vec<String>> = alternatives(model_source)
                .into_iter()
                .map(|alt| {
                    // Single letters stay: `E-Class` and `S-Class` differ by one.
                    words(alt)
                        .into_iter()
                        .filter(|w| !brand_words.contains(w) && (w.len() == 1 || !COMMON.contains(&w.as_str())))
                        .collect()
                })
                .filter(|alt: &Vec<String>| alt.iter().any(distinctive))
                .collect();
            let identity = if a.number.contains(" row ") {
                Identity::NameOnly
            } else if brands.is_empty() {
                Identity::Unbranded
            } else {
                Identity::Branded
            };
            let mut names: Vec<String> = Vec::new();
            for w in brands.iter().flatten().chain(words(&a.name).iter()).chain(words(&a.model).iter()) {
                if (w.len() == 1 || !COMMON.contains(&w.as_str())) && !names.contains(w) {
                    names.push(w.clone());
                }
            }
            let content = |text: &str| -> Vec<String> {
                words(text)
                    .into_iter()
                    .filter(|w| !COMMON.contains(&w.as_str()) && w.len() > 2 && !brand_words.contains(w))
                    .collect()
            };
            let (name_words, product) = (content(&a.name), content(&a.product));
            prepared.push(Prepared {
                identity,
                brand_distinctive: brands.iter().any(|b| b.iter().any(distinctive)),
                brands,
                models,
                name_words,
                product,
                names_distinctive: names.iter().filter(|w| distinctive(w)).count(),
                names,
            });
        }
        let mut by_barcode: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_token: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, (a, p)) in alerts.iter().zip(&prepared).enumerate() {
            for b in &a.barcodes {
                by_barcode.entry(b.clone()).or_default().push(i);
            }
            if p.identity == Identity::Unbranded {
                continue;
            }
            let keys: HashSet<&String> =
                p.brands.iter().flatten().chain(p.names.iter().filter(|w| w.len() > 2)).collect();
            for k in keys {
                by_token.entry(k.clone()).or_default().push(i);
            }
        }
        SafetyGate { alerts, prepared, by_barcode, by_token, generic, max_matches: max_matches.max(1) }
    }

    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }

    /// The alerts, one per number.
    pub fn alerts(&self) -> &[Alert] {
        &self.alerts
    }

    /// The alerts a listing matches, strongest first.
    pub fn matches<'a>(&'a self, listing: &Listing) -> Vec<AlertMatch<'a>> {
        let mut found: Vec<AlertMatch<'a>> = Vec::new();
        let mut seen: HashSet<usize> = HashSet::new();

        // 1. Barcodes anywhere.
        for field in &all_fields(listing) {
            for (start, end) in digit_runs(&field.text) {
                let code = normalise_barcode(&field.text[start..end]);
                for &i in self.by_barcode.get(&code).into_iter().flatten() {
                    if seen.insert(i) {
                        let evidence = vec![field.evidence(start, end)];
                        found.push(AlertMatch { alert: &self.alerts[i], by: "barcode", evidence });
                    }
                }
            }
        }

        // 2 and 3. Words of the title and brand/model attributes.
        let fields = identity_fields(listing);
        let tokens: Vec<Tokens> = fields.iter().map(Tokens::new).collect();
        let declared_brands: Vec<usize> = (1..fields.len()).filter(|&f| is_brand_attribute(&fields[f].name)).collect();
        let mut candidates: Vec<usize> = tokens
            .iter()
            .flat_map(|t| t.words.iter())
            .filter_map(|(w, _, _)| self.by_token.get(w))
            .flatten()
            .copied()
            .filter(|i| !seen.contains(i))
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let mut scored: Vec<(f64, AlertMatch<'a>)> =
            candidates.into_iter().filter_map(|i| self.match_words(i, &fields, &tokens, &declared_brands)).collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        found.extend(scored.into_iter().map(|(_, m)| m));
        found.truncate(self.max_matches);
        found
    }

    /// Where a brand of alert `p` is named: in the title (not as what an
    /// accessory fits) or in a brand attribute. When the listing declares
    /// its brand, a brand named only in the title is another product's.
    fn brand_at(&self, p: &Prepared, tokens: &[Tokens], declared: &[usize]) -> Option<(usize, usize, usize)> {
        for brand in &p.brands {
            if let Some(&f) = declared.iter().find(|&&f| tokens[f].phrase(brand).is_some()) {
                let (s, e, _) = tokens[f].phrase(brand)?;
                return Some((f, s, e));
            }
            if declared.is_empty() {
                if let Some((s, e, first)) = tokens[0].phrase(brand) {
                    if !tokens[0].preceded_by(first, COMPATIBILITY, 3) {
                        return Some((0, s, e));
                    }
                }
            }
        }
        None
    }

    fn match_words<'a>(
        &'a self,
        i: usize,
        fields: &[FieldText],
        tokens: &[Tokens],
        declared: &[usize],
    ) -> Option<(f64, AlertMatch<'a>)> {
        let p = &self.prepared[i];
        let alert = &self.alerts[i];
        let find = |w: &String| tokens.iter().enumerate().find_map(|(f, t)| t.find(w).map(|(s, e)| (f, s, e)));
        if p.identity == Identity::Branded {
            if let Some((bf, bs, be)) = self.brand_at(p, tokens, declared) {
                let brand_evidence = fields[bf].evidence(bs, be);
                // 2. Brand and one of its models.
                let best = p
                    .models
                    .iter()
                    .filter_map(|model| {
                        let present: Vec<(usize, usize, usize)> = model.iter().filter_map(find).collect();
                        let distinctive = model.iter().any(|w| !self.generic.contains(w) && find(w).is_some());
                        (present.len() >= (model.len() * 2).div_ceil(3) && distinctive)
                            .then(|| (present.len() as f64 / model.len() as f64, present))
                    })
                    .max_by(|a, b| a.0.total_cmp(&b.0));
                if let Some((share, present)) = best {
                    let mut evidence = vec![brand_evidence];
                    evidence.extend(present.iter().map(|&(f, s, e)| fields[f].evidence(s, e)));
                    return Some((2.0 + share, AlertMatch { alert, by: "brand + model", evidence }));
                }
                // 2b. An alert naming a brand but no model: the brand and
                // every word of its name, or one of its product type.
                if p.models.is_empty() && p.brand_distinctive {
                    let found: Vec<(usize, usize)> = if p.name_words.is_empty() {
                        p.product.iter().find_map(|w| tokens[0].find(w)).into_iter().collect()
                    } else {
                        let all: Vec<(usize, usize)> = p.name_words.iter().filter_map(|w| tokens[0].find(w)).collect();
                        if all.len() == p.name_words.len() {
                            all
                        } else {
                            Vec::new()
                        }
                    };
                    if !found.is_empty() {
                        let mut evidence = vec![brand_evidence];
                        evidence.extend(found.iter().map(|&(s, e)| fields[0].evidence(s, e)));
                        return Some((1.5, AlertMatch { alert, by: "brand + product type", evidence }));
                    }
                }
            }
        }
        // 3. Near-identical name, in the title: national lists' product
        // names, and branded alerts written another way.
        let code_like = |w: &String| {
            w.len() >= 4 && w.bytes().any(|b| b.is_ascii_digit()) && w.bytes().any(|b| b.is_ascii_alphabetic())
        };
        let enough = p.names_distinctive >= 2 || (p.identity == Identity::NameOnly && p.names.iter().any(code_like));
        if p.identity != Identity::Unbranded && enough {
            let title = &tokens[0];
            let present: Vec<(usize, usize)> = p.names.iter().filter_map(|w| title.find(w)).collect();
            let share = present.len() as f64 / p.names.len() as f64;
            let first = title.first_index_of(&p.names);
            let brand_ok =
                declared.is_empty() || p.identity == Identity::NameOnly || self.brand_at(p, tokens, declared).is_some();
            let needed = if p.names_distinctive >= 2 { 0.85 } else { 1.0 };
            if share >= needed && !present.is_empty() && brand_ok && !title.preceded_by(first, COMPATIBILITY, 3) {
                let evidence = present.iter().map(|&(s, e)| fields[0].evidence(s, e)).collect();
                return Some((1.0 + share, AlertMatch { alert, by: "name", evidence }));
            }
        }
        None
    }
}

/// How much an alert record says, to keep the fuller of two copies.
fn richness(a: &Alert) -> usize {
    [&a.product, &a.name, &a.brand, &a.model, &a.risk_type, &a.measures].iter().filter(|s| !s.is_empty()).count()
        + a.barcodes.len()
}

/// A listing field: its name for evidence and its text.
struct FieldText {
    name: String,
    text: String,
}

impl FieldText {
    fn evidence(&self, start: usize, end: usize) -> Evidence {
        Evidence {
            field: self.name.clone(),
            start,
            end,
            text: self.text.get(start..end).unwrap_or_default().to_string(),
            signal: String::new(),
            detail: None,
        }
    }
}

fn attribute_name(field: &str) -> String {
    field.strip_prefix("attributes.").unwrap_or(field).to_lowercase().replace(['_', '-'], " ")
}

/// Attributes that declare the product's brand.
fn is_brand_attribute(field: &str) -> bool {
    field.starts_with("attributes.")
        && ["brand", "marque", "marke", "marca", "merk", "manufacturer"].contains(&attribute_name(field).as_str())
}

/// Attributes that name the product itself.
fn is_identity_attribute(key: &str) -> bool {
    let k = key.to_lowercase();
    [
        "brand",
        "marque",
        "marke",
        "marca",
        "merk",
        "manufacturer",
        "model",
        "modèle",
        "modell",
        "modelo",
        "modello",
        "name",
        "product name",
        "type",
        "mpn",
    ]
    .iter()
    .any(|w| k == *w || k.replace(['_', '-'], " ") == *w)
}

/// The title first, then brand/model attributes.
fn identity_fields(listing: &Listing) -> Vec<FieldText> {
    let mut fields = vec![FieldText { name: "title".into(), text: listing.title.clone() }];
    for (k, v) in &listing.attributes {
        if is_identity_attribute(k) {
            fields.push(FieldText { name: format!("attributes.{k}"), text: v.clone() });
        }
    }
    fields
}

fn all_fields(listing: &Listing) -> Vec<FieldText> {
    let mut fields = vec![FieldText { name: "title".into(), text: listing.title.clone() }];
    if let Some(d) = &listing.description {
        fields.push(FieldText { name: "description".into(), text: d.clone() });
    }
    for (k, v) in &listing.attributes {
        fields.push(FieldText { name: format!("attributes.{k}"), text: v.clone() });
    }
    fields
}

/// Runs of 8, 12, 13 or 14 digits not inside a longer run.
fn digit_runs(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if matches!(i - start, 8 | 12 | 13 | 14) {
                out.push((start, i));
            }
        } else {
            i += 1;
        }
    }
    out
}

/// A field's folded words with their spans in the original text.
struct Tokens {
    /// (word, original start, original end)
    words: Vec<(String, usize, usize)>,
}

impl Tokens {
    fn new(field: &FieldText) -> Tokens {
        let folded = Folded::new(&field.text);
        let canonical = folded.as_str();
        let mut words = Vec::new();
        let mut at = 0;
        for w in canonical.split(' ') {
            let (s, e) = (at, at + w.len());
            at = e + 1;
            if !w.is_empty() {
                let (os, oe) = folded.original_span(s, e);
                words.push((w.to_string(), os, oe));
            }
        }
        Tokens { words }
    }

    fn find(&self, word: &str) -> Option<(usize, usize)> {
        self.words.iter().find(|(w, _, _)| w == word).map(|(_, s, e)| (*s, *e))
    }

    /// A phrase as consecutive words: its span and first word's index.
    fn phrase(&self, phrase: &[String]) -> Option<(usize, usize, usize)> {
        if phrase.is_empty() || phrase.len() > self.words.len() {
            return None;
        }
        (0..=self.words.len() - phrase.len()).find_map(|i| {
            let window = &self.words[i..i + phrase.len()];
            window.iter().zip(phrase).all(|((w, _, _), p)| w == p).then(|| (window[0].1, window[window.len() - 1].2, i))
        })
    }

    fn first_index_of(&self, words: &[String]) -> usize {
        self.words.iter().position(|(w, _, _)| words.contains(w)).unwrap_or(0)
    }

    /// Whether one of `markers` occurs within `within` words before word `index`.
    fn preceded_by(&self, index: usize, markers: &[&str], within: usize) -> bool {
        let from = index.saturating_sub(within);
        self.words[from..index.min(self.words.len())].iter().any(|(w, _, _)| markers.contains(&w.as_str()))
    }
}

/// The evidence for a match: the listing's words that matched, the first
/// with the alert's description as detail.
pub fn evidence_for(m: &AlertMatch, signal: &str) -> Vec<Evidence> {
    // The alert is described once, on the first piece of evidence.
    let detail = format!("{} (matched by {})", m.alert.describe(), m.by);
    m.evidence
        .iter()
        .enumerate()
        .map(|(i, e)| Evidence { signal: signal.to_string(), detail: (i == 0).then(|| detail.clone()), ..e.clone() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(number: &str, product: &str, brand: &str, name: &str) -> Alert {
        Alert {
            number: number.into(),
            product: product.into(),
            brand: brand.into(),
            name: name.into(),
            risk_type: "Injuries".into(),
            measures: "Category of measure(s): Recall of the product from end users".into(),
            ..Alert::default()
        }
    }

    fn gate() -> SafetyGate {
        let mut helmet = alert("A12/01135/24", "Bicycle helmet", "LIMAR", "Limar Torino");
        helmet.barcodes = vec!["8055186669918".into()];
        SafetyGate::new(
            vec![
                alert("A12/00328/22", "Passenger car", "Opel", "Insignia"),
                alert("A12/00419/24", "Soap", "FIORILLO", "FIORILLO 24K"),
                alert("A12/00359/24", "Earrings", "", "Earring 100% Metal"),
                helmet,
                Alert::from_name_only("soi_sk", 4, "Detský golfový kočík „Lionelo Elia“"),
            ],
            3,
        )
    }

    fn first(gate: &SafetyGate, title: &str) -> Option<(String, &'static str)> {
        gate.matches(&Listing::new("L", title)).first().map(|m| (m.alert.number.clone(), m.by))
    }

    #[test]
    fn brand_and_model_match_other_models_do_not() {
        let g = gate();
        assert_eq!(first(&g, "OPEL INSIGNIA 2.0 CDTI 2011 break"), Some(("A12/00328/22".into(), "brand + model")));
        assert_eq!(first(&g, "Opel Astra 1.6 2012"), None, "same brand, other model");
        assert_eq!(first(&g, "Brake pads for Opel Insignia"), None, "an accessory names what it fits");
        assert_eq!(first(&g, "Fiorillo 24k gold soap bar"), Some(("A12/00419/24".into(), "brand + model")));
        assert_eq!(first(&g, "Fiorillo olive soap"), None);
    }

    #[test]
    fn generic_alerts_never_match_by_words() {
        let g = gate();
        assert_eq!(first(&g, "Earring 100% metal gold plated"), None);
    }

    #[test]
    fn barcodes_match_anywhere_and_upc_meets_ean() {
        let g = gate();
        let mut l = Listing::new("L", "Cycling helmet adult");
        l.attributes.push(("gtin".into(), "08055186669918".into()));
        let m = g.matches(&l);
        assert_eq!((m[0].alert.number.as_str(), m[0].by), ("A12/01135/24", "barcode"));
        assert_eq!(m[0].evidence[0].field, "attributes.gtin");
        assert_eq!(m[0].evidence[0].text, "08055186669918");
    }

    #[test]
    fn name_only_lists_match_on_the_quoted_name() {
        let g = gate();
        assert_eq!(first(&g, "Lionelo Elia buggy stroller grey").map(|m| m.1), Some("name"));
        assert_eq!(first(&g, "Lionelo Alex baby stroller"), None);
        let sk = &g.alerts.iter().find(|a| a.number.starts_with("soi_sk")).expect("sk").name;
        assert_eq!(sk, "Lionelo Elia");
        assert_eq!(item_number("Detská hračka - Sliz „MAGIC CLAY“, Item No YE27273"), Some("YE27273"));
    }

    #[test]
    fn evidence_points_into_the_seller_text() {
        let g = gate();
        let l = Listing::new("L", "Voiture OPEL Insignia d'occasion");
        let m = g.matches(&l);
        let ev = evidence_for(&m[0], "safety_gate_alert");
        assert_eq!(ev[0].text, "OPEL");
        assert_eq!(&l.title[ev[0].start..ev[0].end], "OPEL");
        assert_eq!(ev[1].text, "Insignia");
        let detail = ev[0].detail.as_deref().expect("detail");
        assert!(detail.contains("A12/00328/22") && detail.contains("risk: Injuries"), "{detail}");
        assert!(detail.contains("measures: Recall of the product from end users"), "{detail}");
    }
}
