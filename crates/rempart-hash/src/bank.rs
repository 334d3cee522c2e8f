//! Hash banks: named lists of PDQ hashes shared between platforms, NGOs and
//! authorities, loaded from the plain formats hash-sharing tools exchange,
//! indexed for radius queries.
//!
//! Formats read (detected per file):
//! - **plain**: one 64-hex hash per line, optionally followed by
//!   `,metadata` (the rest of the line, kept verbatim) — the format of
//!   ThreatExchange's `pdq-photo-hasher` output and of HMA exports;
//!   blank lines and `#` comments are skipped;
//! - **CSV with a header** naming a hash column (`hash`, `pdq`, `pdq_hash`,
//!   `signal_value`, `hash_value`, `signal`, `indicator`), an optional
//!   `quality` column, and any
//!   other columns, kept as metadata (`name=value;…`).
//!
//! A bad line is reported with its number and skipped; it never loses the
//! others. Entries whose stated quality is below the bank's `min_quality`
//! are dropped at load, like low-quality query hashes at lookup: both come
//! from near-uniform images and would match too much.

use std::path::Path;

use crate::index::HashIndex;
use crate::Hash256;

/// Hash-sharing practice: PDQ hashes within 31 bits are the same image.
pub const DEFAULT_MAX_DISTANCE: u32 = 31;
/// Hash-sharing practice: hashes of quality below 50 are not compared.
pub const DEFAULT_MIN_QUALITY: u8 = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatchRule {
    pub max_distance: u32,
    pub min_quality: u8,
}

impl Default for MatchRule {
    fn default() -> Self {
        MatchRule { max_distance: DEFAULT_MAX_DISTANCE, min_quality: DEFAULT_MIN_QUALITY }
    }
}

/// A loaded, indexed bank. Immutable and `Send + Sync`.
pub struct Bank {
    pub name: String,
    pub rule: MatchRule,
    metadata: Metadata,
    index: HashIndex,
}

/// Every entry's metadata in one buffer: a `String` per entry would cost
/// 24 bytes each before any text (240 MB for a 10M-hash bank).
#[derive(Default)]
struct Metadata {
    text: String,
    /// End of entry `i`'s text in `text`; entry `i` starts where `i - 1` ends.
    ends: Vec<u32>,
}

impl Metadata {
    fn push(&mut self, meta: &str) {
        // Over 4 GiB of metadata in one bank: keep the hashes, drop the text.
        if self.text.len() + meta.len() <= u32::MAX as usize {
            self.text.push_str(meta);
        }
        self.ends.push(self.text.len() as u32);
    }

    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends.get(i - 1).map_or(0, |&e| e as usize) };
        let end = self.ends.get(i).map_or(start, |&e| e as usize);
        self.text.get(start..end).unwrap_or("")
    }

    fn memory_bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * 4
    }
}

/// One hash of a listing found in a bank.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankMatch {
    pub entry: Hash256,
    pub metadata: String,
    pub distance: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum BankError {
    #[error("bank `{bank}`: cannot read {path}: {source}")]
    Read { bank: String, path: String, source: std::io::Error },
    #[error("bank `{bank}`: CSV header names no hash column (hash, pdq, pdq_hash, signal_value, hash_value, signal, indicator)")]
    NoHashColumn { bank: String },
}

/// A line the loader skipped, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedLine {
    pub line: usize,
    pub reason: String,
}

/// What loading a bank read.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub loaded: usize,
    pub low_quality: usize,
    pub skipped: Vec<SkippedLine>,
}

/// Names the hash column goes by in hash-sharing exports (ThreatExchange
/// indicators, HMA signal exports, plain `hash`/`pdq` tables).
const HASH_COLUMNS: [&str; 7] = ["hash", "pdq", "pdq_hash", "signal_value", "hash_value", "signal", "indicator"];

impl Bank {
    /// Loads a bank file.
    pub fn load(name: &str, path: &Path, rule: MatchRule) -> Result<(Bank, LoadReport), BankError> {
        let entries = {
            let text = std::fs::read_to_string(path).map_err(|source| BankError::Read {
                bank: name.to_string(),
                path: path.display().to_string(),
                source,
            })?;
            parse_entries(name, &text, rule)?
        };
        // The file's text is freed before the index is built: at 10M hashes
        // the two together would double the peak memory.
        Ok(Bank::from_entries(name, rule, entries))
    }

    /// Parses a bank from text in either format.
    pub fn parse(name: &str, text: &str, rule: MatchRule) -> Result<(Bank, LoadReport), BankError> {
        Ok(Bank::from_entries(name, rule, parse_entries(name, text, rule)?))
    }

    fn from_entries(name: &str, rule: MatchRule, (mut hashes, mut metadata, report): Entries) -> (Bank, LoadReport) {
        // Loading grew these by doubling; a bank lives for the whole run.
        hashes.shrink_to_fit();
        metadata.text.shrink_to_fit();
        metadata.ends.shrink_to_fit();
        (Bank { name: name.to_string(), rule, metadata, index: HashIndex::new(hashes) }, report)
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Approximate heap size of the bank.
    pub fn memory_bytes(&self) -> usize {
        self.index.memory_bytes() + self.metadata.memory_bytes()
    }

    /// The closest bank entry within the bank's distance, or `None`; a
    /// query below the bank's minimum quality never matches.
    pub fn lookup(&self, hash: &Hash256, quality: u8) -> Option<BankMatch> {
        if quality < self.rule.min_quality {
            return None;
        }
        let (id, distance) = self.index.nearest(hash, self.rule.max_distance)?;
        Some(BankMatch { entry: *self.index.get(id)?, metadata: self.metadata.get(id as usize).to_string(), distance })
    }
}

type Entries = (Vec<Hash256>, Metadata, LoadReport);

fn parse_entries(name: &str, text: &str, rule: MatchRule) -> Result<Entries, BankError> {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).unwrap_or("");
    let first_field = first.split(',').next().unwrap_or("").trim().to_ascii_lowercase();
    let mut report = LoadReport::default();
    let mut hashes = Vec::new();
    let mut metadata = Metadata::default();
    let mut keep = |hash: Hash256, quality: Option<u8>, meta: &str, report: &mut LoadReport| {
        if quality.is_some_and(|q| q < rule.min_quality) {
            report.low_quality += 1;
        } else {
            hashes.push(hash);
            metadata.push(meta);
            report.loaded += 1;
        }
    };
    if first_field.parse::<Hash256>().is_err() && !first.is_empty() {
        parse_csv(name, text, &mut report, &mut keep)?;
    } else {
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (hex, meta) = line.split_once(',').unwrap_or((line, ""));
            match hex.trim().parse::<Hash256>() {
                Ok(hash) => {
                    // The reference tool writes `hash,quality,path`.
                    let quality = meta.split(',').next().and_then(|q| q.trim().parse::<u8>().ok());
                    keep(hash, quality, meta.trim(), &mut report)
                }
                Err(e) => report.skipped.push(SkippedLine { line: number + 1, reason: format!("hash: {e}") }),
            }
        }
    }
    Ok((hashes, metadata, report))
}

fn parse_csv(
    name: &str,
    text: &str,
    report: &mut LoadReport,
    keep: &mut impl FnMut(Hash256, Option<u8>, &str, &mut LoadReport),
) -> Result<(), BankError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).comment(Some(b'#')).from_reader(text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_ascii_lowercase()).collect(),
        Err(_) => return Err(BankError::NoHashColumn { bank: name.to_string() }),
    };
    let hash_column = headers
        .iter()
        .position(|h| HASH_COLUMNS.contains(&h.as_str()))
        .ok_or_else(|| BankError::NoHashColumn { bank: name.to_string() })?;
    let quality_column = headers.iter().position(|h| h == "quality");
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                report.skipped.push(SkippedLine { line, reason: e.to_string() });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        let Some(hex) = record.get(hash_column) else {
            report.skipped.push(SkippedLine { line, reason: format!("no `{}` value", headers[hash_column]) });
            continue;
        };
        let hash = match hex.trim().parse::<Hash256>() {
            Ok(h) => h,
            Err(e) => {
                report.skipped.push(SkippedLine { line, reason: format!("{}: {e}", headers[hash_column]) });
                continue;
            }
        };
        let quality = match quality_column.and_then(|c| record.get(c)).map(str::trim) {
            None | Some("") => None,
            Some(q) => match q.parse::<u8>() {
                Ok(q) => Some(q),
                Err(_) => {
                    report.skipped.push(SkippedLine { line, reason: format!("quality: `{q}` is not 0-100") });
                    continue;
                }
            },
        };
        let meta: Vec<String> = headers
            .iter()
            .zip(record.iter())
            .enumerate()
            .filter(|(i, (_, v))| *i != hash_column && Some(*i) != quality_column && !v.is_empty())
            .map(|(_, (h, v))| format!("{h}={v}"))
            .collect();
        keep(hash, quality, &meta.join(";"), report);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BRIDGE: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";

    fn flip(hash: &str, bits: usize) -> Hash256 {
        let mut h: Hash256 = hash.parse().unwrap();
        for i in 0..bits {
            h.0[i % 4] ^= 1 << (i * 7 % 64);
        }
        h
    }

    #[test]
    fn plain_format_with_metadata_comments_and_a_bad_line() {
        let text = format!("# bank\n{BRIDGE},case-17 seized 2026\n\nnot-a-hash\n{},\n", flip(BRIDGE, 40));
        let (bank, report) = Bank::parse("b", &text, MatchRule::default()).unwrap();
        assert_eq!(report.loaded, 2);
        assert_eq!(
            report.skipped,
            vec![SkippedLine { line: 4, reason: "hash: expected 64 hex digits, found 10 characters".into() }]
        );
        let hit = bank.lookup(&flip(BRIDGE, 12), 100).unwrap();
        assert_eq!((hit.distance, hit.metadata.as_str()), (12, "case-17 seized 2026"));
        assert_eq!(bank.lookup(&flip(BRIDGE, 12), 49), None, "low-quality queries never match");
    }

    #[test]
    fn reference_tool_output_drops_low_quality_entries() {
        let text = format!("{BRIDGE},100,a.jpg\n{},12,flat.jpg\n", flip(BRIDGE, 100));
        let (bank, report) = Bank::parse("b", &text, MatchRule::default()).unwrap();
        assert_eq!((report.loaded, report.low_quality, bank.len()), (1, 1, 1));
    }

    #[test]
    fn csv_with_header_keeps_other_columns_as_metadata() {
        let text =
            format!("id,PDQ,quality,source\n7,{BRIDGE},90,ngo-x\n8,zz,90,ngo-x\n9,{},20,ngo-y\n", flip(BRIDGE, 80));
        let (bank, report) = Bank::parse("b", &text, MatchRule::default()).unwrap();
        assert_eq!((report.loaded, report.low_quality, report.skipped.len()), (1, 1, 1));
        assert_eq!(report.skipped[0].line, 3);
        let hit = bank.lookup(&BRIDGE.parse().unwrap(), 100).unwrap();
        assert_eq!(hit.metadata, "id=7;source=ngo-x");
        assert!(matches!(Bank::parse("b", "a,b\n1,2\n", MatchRule::default()), Err(BankError::NoHashColumn { .. })));
    }

    #[test]
    fn distance_threshold_is_configurable() {
        let rule = MatchRule { max_distance: 10, min_quality: 0 };
        let (bank, _) = Bank::parse("b", BRIDGE, rule).unwrap();
        assert!(bank.lookup(&flip(BRIDGE, 10), 0).is_some());
        assert!(bank.lookup(&flip(BRIDGE, 11), 0).is_none());
    }
}
