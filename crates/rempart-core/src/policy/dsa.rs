//! The DSA Transparency Database's category and keyword enumerations
//! (submission schema of 1 July 2025), which a policy's `dsa_category`
//! and `dsa_keywords` must come from. They live here, not in `rempart-dsa`,
//! because the pack compiler checks them; `rempart-dsa` validates
//! statements of reasons against the same lists.
//!
//! Source: the Commission's `statements.json` fixture and API
//! documentation (`../shared/data/dsa_transparency_db`); `KEYWORD_OTHER`
//! is in the documentation's list though not in the fixture.

/// Values of `category` (and `category_addition`).
pub const DSA_CATEGORIES: [&str; 16] = [
    "STATEMENT_CATEGORY_ANIMAL_WELFARE",
    "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "STATEMENT_CATEGORY_SELF_HARM",
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
    "STATEMENT_CATEGORY_VIOLENCE",
];

/// Values of `category_specification` (a policy's `dsa_keywords`).
pub const DSA_KEYWORDS: [&str; 69] = [
    "KEYWORD_ANIMAL_HARM",
    "KEYWORD_ADULT_SEXUAL_MATERIAL",
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS",
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",
    "KEYWORD_BIOMETRIC_DATA_BREACH",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
    "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS",
    "KEYWORD_COORDINATED_HARM",
    "KEYWORD_COPYRIGHT_INFRINGEMENT",
    "KEYWORD_DATA_FALSIFICATION",
    "KEYWORD_DEFAMATION",
    "KEYWORD_DESIGN_INFRINGEMENT",
    "KEYWORD_DISCRIMINATION",
    "KEYWORD_MISINFORMATION_DISINFORMATION",
    "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
    "KEYWORD_GEOGRAPHICAL_REQUIREMENTS",
    "KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
    "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
    "KEYWORD_HATE_SPEECH",
    "KEYWORD_HUMAN_EXPLOITATION",
    "KEYWORD_HUMAN_TRAFFICKING",
    "KEYWORD_ILLEGAL_ORGANIZATIONS",
    "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING",
    "KEYWORD_INAUTHENTIC_ACCOUNTS",
    "KEYWORD_INAUTHENTIC_LISTINGS",
    "KEYWORD_INAUTHENTIC_USER_REVIEWS",
    "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
    "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
    "KEYWORD_LANGUAGE_REQUIREMENTS",
    "KEYWORD_MISSING_PROCESSING_GROUND",
    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE",
    "KEYWORD_NUDITY",
    "KEYWORD_CYBER_BULLYING_INTIMIDATION",
    "KEYWORD_PATENT_INFRINGEMENT",
    "KEYWORD_PHISHING",
    "KEYWORD_PYRAMID_SCHEMES",
    "KEYWORD_RIGHT_TO_BE_FORGOTTEN",
    "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE",
    "KEYWORD_RISK_PUBLIC_HEALTH",
    "KEYWORD_SELF_MUTILATION",
    "KEYWORD_STALKING",
    "KEYWORD_SUICIDE",
    "KEYWORD_TERRORIST_CONTENT",
    "KEYWORD_TRADE_SECRET_INFRINGEMENT",
    "KEYWORD_TRADEMARK_INFRINGEMENT",
    "KEYWORD_UNLAWFUL_SALE_ANIMALS",
    "KEYWORD_UNSAFE_CHALLENGES",
    "KEYWORD_CYBER_HARASSMENT",
    "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN",
    "KEYWORD_CYBER_INCITEMENT",
    "KEYWORD_CYBER_STALKING",
    "KEYWORD_CYBER_STALKING_AGAINST_WOMEN",
    "KEYWORD_FEMALE_GENDERED_DISINFORMATION",
    "KEYWORD_HIDDEN_ADVERTISEMENT",
    "KEYWORD_INCITEMENT_AGAINST_WOMEN",
    "KEYWORD_BULLYING_AGAINST_GIRLS",
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
    "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS",
    "KEYWORD_MISLEADING_INFO_GOODS_SERVICES",
    "KEYWORD_NONCOMPLIANCE_PRICING",
    "KEYWORD_PROHIBITED_PRODUCTS",
    "KEYWORD_TRAFFICKING_WOMEN_GIRLS",
    "KEYWORD_UNSAFE_PRODUCTS",
    "KEYWORD_VIOLATION_EU_LAW",
    "KEYWORD_VIOLATION_NATIONAL_LAW",
    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN",
    "KEYWORD_OTHER",
];

/// Values the 1 July 2025 schema renamed: (old, new).
pub const RENAMED: [(&str, &str); 6] = [
    ("STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS", "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS"),
    ("STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE", "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"),
    ("KEYWORD_ONLINE_BULLYING_INTIMIDATION", "KEYWORD_CYBER_BULLYING_INTIMIDATION"),
    ("KEYWORD_INSUFFICIENT_INFORMATION_TRADERS", "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS"),
    ("KEYWORD_DISINFORMATION", "KEYWORD_MISINFORMATION_DISINFORMATION"),
    ("KEYWORD_NON_CONSENSUAL_ITEMS_DEEPFAKE", "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE"),
];

/// Values the 1 July 2025 schema deleted without a replacement.
pub const DELETED: [&str; 8] = [
    "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR",
    "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT",
    "KEYWORD_MISINFORMATION",
    "KEYWORD_FOREIGN_INFORMATION_MANIPULATION",
    "KEYWORD_REGULATED_GOODS_SERVICES",
    "KEYWORD_DANGEROUS_TOYS",
    "KEYWORD_GENDER_BASED_VIOLENCE",
    "KEYWORD_IMAGE_BASED_SEXUAL_ABUSE",
];

/// What became of a value the 2025 schema no longer has (its new name, or
/// that it was deleted), to say alongside "not a DSA category/keyword".
pub fn unknown_value_hint(value: &str) -> Option<String> {
    if let Some((_, new)) = RENAMED.iter().find(|(old, _)| *old == value) {
        return Some(format!("renamed {new} in the schema of 1 July 2025"));
    }
    DELETED.contains(&value).then(|| "deleted from the schema on 1 July 2025".to_string())
}

#[cfg(test)]
mod tests {
    use crate::policy::Pack;

    fn policy_with(keywords: &str) -> String {
        format!(
            "[policy]\nid = \"p\"\ntitle = \"t\"\nlegal_basis = \"b\"\nscope = [\"EU\"]\n\
             dsa_category = \"STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS\"\ndsa_keywords = {keywords}\n\
             [terms.a]\nen = [\"alpha\"]\n[[rule]]\nid = \"r\"\naction = \"block\"\nwhen = \"a\"\n"
        )
    }

    #[test]
    fn keywords_outside_the_enumeration_stop_the_pack() {
        let ok = Pack::from_sources(vec![("p.toml".into(), policy_with("[\"KEYWORD_UNSAFE_PRODUCTS\"]"))]);
        assert!(ok.is_ok());
        let err = Pack::from_sources(vec![(
            "p.toml".into(),
            policy_with("[\"KEYWORD_UNSAFE_PRODUCTS\", \"KEYWORD_DANGEROUS_TOYS\", \"KEYWORD_INSUFFICIENT_INFORMATION_TRADERS\"]"),
        )])
        .expect_err("unknown keywords")
        .to_string();
        assert!(err.contains("p.toml: policy `p`: dsa_keywords[1] `KEYWORD_DANGEROUS_TOYS` is not a DSA"), "{err}");
        assert!(err.contains("deleted from the schema on 1 July 2025"), "{err}");
        assert!(err.contains("dsa_keywords[2]") && err.contains("renamed KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS"));
    }

    #[test]
    fn the_default_pack_uses_current_values_only() {
        let pack = Pack::embedded().expect("pack");
        for p in &pack.policies {
            assert!(super::DSA_CATEGORIES.contains(&p.dsa_category.as_str()), "{}", p.id);
            for k in &p.dsa_keywords {
                assert!(super::DSA_KEYWORDS.contains(&k.as_str()), "{}: {k}", p.id);
            }
        }
    }
}
