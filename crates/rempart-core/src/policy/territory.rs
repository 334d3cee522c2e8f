//! Territorial scope: which countries a policy covers, and whether a
//! listing's `ship_to` reaches them.

use std::collections::BTreeSet;

/// The 27 EU member states (ISO 3166-1 alpha-2; Greece is `GR`, and the
/// EU's own `EL` is accepted too).
pub const EU_MEMBERS: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV",
    "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Expands a scope (`["EU"]`, `["FR"]`, `["FR", "BE"]`) to countries.
/// Returns the codes that are neither `EU` nor two upper-case letters.
pub fn expand(scope: &[String]) -> (BTreeSet<String>, Vec<String>) {
    let mut countries = BTreeSet::new();
    let mut invalid = Vec::new();
    for code in scope {
        match code.as_str() {
            "EU" => countries.extend(EU_MEMBERS.iter().map(|c| c.to_string())),
            "EL" => {
                countries.insert("GR".to_string());
            }
            c if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) => {
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
    }
}
