//! The trader-record format checks against published number lists
//! (python-stdnum's test data: numbers found online and the IBAN
//! registry's samples; see the header of `tests/data/trader_formats.txt`).

use std::collections::BTreeMap;

use rempart_store::traders::formats::{self, Refusal};

fn sections() -> BTreeMap<String, Vec<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/trader_formats.txt");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.to_string());
            continue;
        }
        let section = current.clone().unwrap_or_else(|| panic!("{path}: `{line}` before any [section]"));
        out.entry(section).or_default().push(line.to_string());
    }
    out
}

fn section(all: &BTreeMap<String, Vec<String>>, name: &str, at_least: usize) -> Vec<String> {
    let v = all.get(name).cloned().unwrap_or_default();
    assert!(v.len() >= at_least, "section [{name}] has {} numbers; expected at least {at_least}", v.len());
    v
}

/// Member states whose check digits are verified (the others: the format).
const CHECKED: [&str; 20] = [
    "AT", "BE", "CZ", "DE", "DK", "EE", "EL", "FI", "FR", "HR", "HU", "IT", "LU", "MT", "NL", "PL", "PT", "RO", "SE",
    "SI",
];

#[test]
fn published_vat_numbers_pass_and_mangled_ones_fail() {
    let all = sections();
    let valid = section(&all, "vat valid", 500);
    let failed: Vec<(String, String)> =
        valid.iter().filter_map(|n| formats::vat(n).err().map(|e| (n.clone(), e.to_string()))).collect();
    assert!(failed.is_empty(), "valid numbers refused: {failed:#?}");
    let prefixes: std::collections::BTreeSet<String> =
        valid.iter().map(|n| formats::compact(n)[..2].to_string()).collect();
    assert!(prefixes.len() >= 26, "numbers of every member state: {prefixes:?}");

    for n in section(&all, "vat bad checksum", 30) {
        let prefix = formats::compact(&n)[..2].to_string();
        assert!(CHECKED.contains(&prefix.as_str()) || prefix == "SK", "{n}: a checksum case of an unchecked country");
        assert!(matches!(formats::vat(&n), Err(Refusal::Checksum(_))), "{n}: {:?}", formats::vat(&n));
    }
    for n in section(&all, "vat bad format", 20) {
        assert!(matches!(formats::vat(&n), Err(Refusal::Format(_))), "{n}: {:?}", formats::vat(&n));
    }
}

#[test]
fn siren_siret_and_ibans() {
    let all = sections();
    for n in section(&all, "siren valid", 10) {
        assert!(formats::siren(&n).is_ok(), "{n}");
        assert!(formats::french_register(&format!("RCS Paris B {n}")).is_ok(), "{n} in a register line");
    }
    for n in section(&all, "siret valid", 40) {
        assert!(formats::siret(&n).is_ok(), "{n}");
        assert!(formats::french_register(&n).is_ok(), "{n}");
    }
    for n in section(&all, "siret invalid", 1) {
        assert!(matches!(formats::siret(&n), Err(Refusal::Checksum(_))), "{n}");
    }
    assert!(formats::siren("404833049").is_err());
    for n in section(&all, "iban valid", 60) {
        assert!(formats::iban(&n).is_ok(), "{n}: {:?}", formats::iban(&n));
    }
    for n in section(&all, "iban invalid", 15) {
        assert!(formats::iban(&n).is_err(), "{n} accepted");
    }
}

#[test]
fn a_single_changed_digit_is_caught_where_check_digits_exist() {
    // Brute force: every one-digit change of every checked valid number
    // must fail (the algorithms detect all single-digit errors, except
    // Luhn-style ones on 0<->9 swaps of doubled positions and mod 11
    // schemes with a collision; count and bound them instead of hiding them).
    let all = sections();
    let (mut tried, mut missed) = (0u32, 0u32);
    let mut missed_by_country: BTreeMap<String, u32> = BTreeMap::new();
    for n in section(&all, "vat valid", 500) {
        let c = formats::compact(&n);
        // Czech nine-digit numbers have no published check digit.
        if !CHECKED.contains(&&c[..2]) || (c.starts_with("CZ") && c.len() == 11) {
            continue;
        }
        for (i, ch) in c.char_indices().skip(2) {
            let Some(d) = ch.to_digit(10) else { continue };
            for other in (0..10).filter(|x| *x != d) {
                let mut changed = c.clone();
                changed.replace_range(i..i + 1, &other.to_string());
                tried += 1;
                if formats::vat(&changed).is_ok() {
                    missed += 1;
                    *missed_by_country.entry(c[..2].to_string()).or_default() += 1;
                }
            }
        }
    }
    assert!(tried > 20_000, "{tried}");
    // NL accepts either of two check schemes (mod 11, or mod 97 for the
    // numbers issued since 2020), EL/RO/PT/CZ write a remainder of 10 as 0
    // and French numbers with a letter key are checked for format only: a
    // few changes pass; anything above 3 % would mean a broken check.
    assert!(
        f64::from(missed) / f64::from(tried) < 0.03,
        "{missed} of {tried} single-digit changes accepted: {missed_by_country:?}"
    );
}
