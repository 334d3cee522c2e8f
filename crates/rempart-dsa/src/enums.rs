//! The closed value lists of the Transparency Database API, as Rust enums
//! that serialise to the exact API strings, plus the country and language
//! code lists the database accepts.
//!
//! Sources (`../shared/data/dsa_transparency_db`): `fixtures/statements.json`
//! and `docs/api-documentation.md`. The `*_OTHER` values, the source types
//! and the automated-decision values are not in the fixture's lists but are
//! documented attributes of the API (`decision_visibility_other` "is
//! required if DECISION_VISIBILITY_OTHER was the decision_visibility"…).
//! Categories and keywords are shared with the pack compiler and live in
//! [`rempart_core::policy::dsa`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares an enum whose variants serialise as the given API strings, with
/// its list of values (`ALL_VALUES`) for the validator.
macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value the API accepts, as it is written on the wire.
            pub const ALL_VALUES: &'static [&'static str] = &[$($text),+];

            /// The value as the API writes it.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<$name, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!("`{other}` is not one of {}", $name::ALL_VALUES.join(", "))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

api_enum! {
    /// Restriction of the visibility of the content (DSA Art. 17(1)(a)).
    DecisionVisibility {
        ContentRemoved => "DECISION_VISIBILITY_CONTENT_REMOVED",
        ContentDisabled => "DECISION_VISIBILITY_CONTENT_DISABLED",
        ContentDemoted => "DECISION_VISIBILITY_CONTENT_DEMOTED",
        ContentAgeRestricted => "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
        ContentInteractionRestricted => "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
        ContentLabelled => "DECISION_VISIBILITY_CONTENT_LABELLED",
        /// Needs `decision_visibility_other`.
        Other => "DECISION_VISIBILITY_OTHER",
    }
}

api_enum! {
    /// Restriction of monetary payments (Art. 17(1)(b)).
    DecisionMonetary {
        Suspension => "DECISION_MONETARY_SUSPENSION",
        Termination => "DECISION_MONETARY_TERMINATION",
        /// Needs `decision_monetary_other`.
        Other => "DECISION_MONETARY_OTHER",
    }
}

api_enum! {
    /// Suspension or termination of the provision of the service (Art. 17(1)(c)).
    DecisionProvision {
        PartialSuspension => "DECISION_PROVISION_PARTIAL_SUSPENSION",
        TotalSuspension => "DECISION_PROVISION_TOTAL_SUSPENSION",
        PartialTermination => "DECISION_PROVISION_PARTIAL_TERMINATION",
        TotalTermination => "DECISION_PROVISION_TOTAL_TERMINATION",
    }
}

api_enum! {
    /// Suspension or termination of the account (Art. 17(1)(d)).
    DecisionAccount {
        Suspended => "DECISION_ACCOUNT_SUSPENDED",
        Terminated => "DECISION_ACCOUNT_TERMINATED",
    }
}

api_enum! {
    /// A business account (Reg. (EU) 2019/1150) or a private one.
    AccountType {
        Business => "ACCOUNT_TYPE_BUSINESS",
        Private => "ACCOUNT_TYPE_PRIVATE",
    }
}

api_enum! {
    /// Illegal content (Art. 17(3)(d)) or incompatible with the terms (Art. 17(3)(e)).
    DecisionGround {
        IllegalContent => "DECISION_GROUND_ILLEGAL_CONTENT",
        IncompatibleContent => "DECISION_GROUND_INCOMPATIBLE_CONTENT",
    }
}

api_enum! {
    /// What the restricted content is.
    ContentType {
        App => "CONTENT_TYPE_APP",
        Audio => "CONTENT_TYPE_AUDIO",
        Image => "CONTENT_TYPE_IMAGE",
        Product => "CONTENT_TYPE_PRODUCT",
        SyntheticMedia => "CONTENT_TYPE_SYNTHETIC_MEDIA",
        Text => "CONTENT_TYPE_TEXT",
        Video => "CONTENT_TYPE_VIDEO",
        /// Needs `content_type_other`.
        Other => "CONTENT_TYPE_OTHER",
    }
}

api_enum! {
    /// What led to the investigation (Art. 17(3)(b)).
    SourceType {
        /// A notice under Art. 16.
        Article16 => "SOURCE_ARTICLE_16",
        TrustedFlagger => "SOURCE_TRUSTED_FLAGGER",
        /// Any other notification, including orders not under Art. 9.
        OtherNotification => "SOURCE_TYPE_OTHER_NOTIFICATION",
        /// The platform's own initiative: pre-publication screening.
        Voluntary => "SOURCE_VOLUNTARY",
    }
}

api_enum! {
    /// Whether the decision on the infringing nature was automated (Art. 17(3)(c)).
    AutomatedDecision {
        Fully => "AUTOMATED_DECISION_FULLY",
        Partially => "AUTOMATED_DECISION_PARTIALLY",
        NotAutomated => "AUTOMATED_DECISION_NOT_AUTOMATED",
    }
}

api_enum! {
    /// The API's `"Yes"` / `"No"` answers (`automated_detection`,
    /// `incompatible_content_illegal`).
    YesNo {
        Yes => "Yes",
        No => "No",
    }
}

impl From<bool> for YesNo {
    fn from(b: bool) -> YesNo {
        if b {
            YesNo::Yes
        } else {
            YesNo::No
        }
    }
}

/// Countries `territorial_scope` accepts: the EU 27 (Greece as `GR`) and
/// the EEA's Iceland, Liechtenstein and Norway.
pub const TERRITORIAL_SCOPE: [&str; 30] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS", "IT", "LI", "LT",
    "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Languages `content_language` accepts: the ISO 639-1 codes, upper case
/// (the 24 official EU languages are a subset).
pub const CONTENT_LANGUAGES: [&str; 184] = [
    "AB", "AA", "AF", "AK", "SQ", "AM", "AR", "AN", "HY", "AS", "AV", "AE", "AY", "AZ", "BM", "BA", "EU", "BE", "BN",
    "BH", "BI", "BS", "BR", "BG", "MY", "CA", "KM", "CH", "CE", "NY", "ZH", "CU", "CV", "KW", "CO", "CR", "HR", "CS",
    "DA", "DV", "NL", "DZ", "EN", "EO", "ET", "EE", "FO", "FJ", "FI", "FR", "FF", "GD", "GL", "LG", "KA", "DE", "KI",
    "EL", "KL", "GN", "GU", "HT", "HA", "HE", "HZ", "HI", "HO", "HU", "IS", "IO", "IG", "ID", "IA", "IE", "IU", "IK",
    "GA", "IT", "JA", "JV", "KN", "KR", "KS", "KK", "RW", "KV", "KG", "KO", "KJ", "KU", "KY", "LO", "LA", "LV", "LB",
    "LI", "LN", "LT", "LU", "MK", "MG", "MS", "ML", "MT", "GV", "MI", "MR", "MH", "RO", "MN", "NA", "NV", "ND", "NG",
    "NE", "SE", "NO", "NB", "NN", "II", "OC", "OJ", "OR", "OM", "OS", "PI", "PA", "PS", "FA", "PL", "PT", "QU", "RM",
    "RN", "RU", "SM", "SG", "SA", "SC", "SR", "SN", "SD", "SI", "SK", "SL", "SO", "ST", "NR", "ES", "SU", "SW", "SS",
    "SV", "TL", "TY", "TG", "TA", "TT", "TE", "TH", "BO", "TI", "TO", "TS", "TN", "TR", "TK", "TW", "UG", "UK", "UR",
    "UZ", "VE", "VI", "VO", "WA", "CY", "FY", "WO", "XH", "YI", "YO", "ZA", "ZU",
];

/// Keys `content_id` accepts.
pub const CONTENT_ID_KEYS: [&str; 1] = ["EAN-13"];

/// Fields the database sets itself; present in its responses (and in the
/// Commission's own fixtures) and ignored in a submission.
pub const SERVER_FIELDS: [&str; 7] = ["uuid", "id", "created_at", "platform_name", "permalink", "self", "method"];
