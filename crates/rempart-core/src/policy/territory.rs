//! Territorial scope: which countries a policy covers, and whether a
//! listing's `ship_to` reaches them.

use std::collections::BTreeSet;

/// The 27 EU member states (ISO 3166-1 alpha-2; Greece is `GR`, and the
/// EU's own `EL` is accepted too).
pub const EU_MEMBERS: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV",
    "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Why `code` names no territory, or `None` when it names one: an
/// ISO 3166-1 alpha-2 code assigned to a country (upper case; the table
/// is the `celes` crate's, which includes Kosovo's `XK`), `EU`, or `EL`
/// (the EU's code for Greece, `GR`).
///
/// Unknown codes are errors rather than "no territory": a listing that
/// ships to `ZZ` would otherwise reach no national policy and be allowed.
pub fn unknown_code(code: &str) -> Option<String> {
    let two_letters = code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase());
    if two_letters && (code == "EU" || code == "EL" || celes::Country::from_alpha2(code).is_ok()) {
        return None;
    }
    Some(match code {
        "UK" => "`UK` is not an ISO 3166-1 alpha-2 code (the United Kingdom is `GB`)".to_string(),
        _ if two_letters => format!("`{code}` is not an assigned ISO 3166-1 alpha-2 country code"),
        _ => format!("`{code}` is not an ISO 3166-1 alpha-2 country code (two letters, or `EU`)"),
    })
}

/// Expands a scope (`["EU"]`, `["FR"]`, `["FR", "BE"]`) to countries.
/// Returns the codes that name no territory (see [`unknown_code`]).
pub fn expand(scope: &[String]) -> (BTreeSet<String>, Vec<String>) {
    let mut countries = BTreeSet::new();
    let mut invalid = Vec::new();
    for code in scope {
        match code.as_str() {
            "EU" => countries.extend(EU_MEMBERS.iter().map(|c| c.to_string())),
            "EL" => {
                countries.insert("GR".to_string());
            }
            c if unknown_code(c).is_none() => {
                countries.insert(c.to_string());
            }
            other => invalid.push(other.to_string()),
        }
    }
    (countries, invalid)
}

/// Whether a listing shipping to `ship_to` reaches a policy covering
/// `countries`. No `ship_to` means the listing reaches everywhere.
pub fn reaches(ship_to: &[String], countries: &BTreeSet<String>) -> bool {
    ship_to.is_empty()
        || ship_to.iter().any(|code| match code.as_str() {
            "EU" => EU_MEMBERS.iter().any(|c| countries.contains(*c)),
            "EL" => countries.contains("GR"),
            c => countries.contains(c),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_rules_stay_national() {
        let (fr, bad) = expand(&["FR".to_string()]);
        assert!(bad.is_empty());
        assert!(reaches(&["FR".into()], &fr));
        assert!(!reaches(&["DE".into(), "US".into()], &fr));
        assert!(reaches(&[], &fr));
        assert!(reaches(&["EU".into()], &fr));
        let (eu, _) = expand(&["EU".to_string()]);
        assert!(reaches(&["DE".into()], &eu));
        assert!(!reaches(&["US".into()], &eu));
        assert_eq!(expand(&["France".to_string()]).1, vec!["France"]);
        assert_eq!(expand(&["ZZ".to_string(), "XK".to_string(), "UK".to_string()]).1, vec!["ZZ", "UK"]);
    }

    #[test]
    fn codes_are_checked_against_iso_3166() {
        for known in ["FR", "DE", "GR", "EL", "EU", "GB", "XK", "US", "CN", "AX"] {
            assert_eq!(unknown_code(known), None, "{known}");
        }
        for unknown in ["ZZ", "UK", "XX", "AA", "fr", "FRA", "", "F"] {
            assert!(unknown_code(unknown).is_some(), "{unknown}");
        }
        assert!(unknown_code("UK").is_some_and(|m| m.contains("GB")));
    }
}
