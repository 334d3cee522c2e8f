//! A statement of reasons exactly as the Transparency Database API takes
//! it (`POST /api/v1/statement`, or one element of `statements` for the
//! batch endpoint): the same field names, the same value strings, dates as
//! `YYYY-MM-DD`, absent optional fields left out.
//!
//! The type says what a well-formed statement *is*; whether one satisfies
//! the database's rules (limits, conditional requirements) is
//! [`mod@crate::validate`]'s job, which works on raw JSON so it can also judge
//! statements this type could not represent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::Date;

use crate::enums::{
    AccountType, AutomatedDecision, ContentType, DecisionAccount, DecisionGround, DecisionMonetary, DecisionProvision,
    DecisionVisibility, SourceType, YesNo,
};

time::serde::format_description!(api_date, Date, "[year]-[month]-[day]");

/// `Option<Date>` in the API's `YYYY-MM-DD` form.
mod api_date_option {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    pub fn serialize<S: Serializer>(date: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(d) => super::api_date::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "super::api_date")] Date);
        Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(date)| date))
    }
}

/// One statement of reasons (DSA Art. 17 and 24(5)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_visibility: Option<Vec<DecisionVisibility>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_visibility_other: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_monetary: Option<DecisionMonetary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_monetary_other: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_provision: Option<DecisionProvision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_account: Option<DecisionAccount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<AccountType>,
    pub decision_ground: DecisionGround,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_ground_reference_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub illegal_content_legal_ground: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub illegal_content_explanation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incompatible_content_ground: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incompatible_content_explanation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incompatible_content_illegal: Option<YesNo>,
    pub content_type: Vec<ContentType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type_other: Option<String>,
    /// A `STATEMENT_CATEGORY_*` value ([`rempart_core::policy::DSA_CATEGORIES`]).
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_addition: Option<Vec<String>>,
    /// `KEYWORD_*` values ([`rempart_core::policy::DSA_KEYWORDS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_specification: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_specification_other: Option<String>,
    /// ISO 3166-1 alpha-2 codes of EU/EEA countries ([`crate::enums::TERRITORIAL_SCOPE`]).
    #[serde(default)]
    pub territorial_scope: Vec<String>,
    /// Upper-case ISO 639-1 code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    /// When the platform started hosting the content.
    #[serde(with = "api_date")]
    pub content_date: Date,
    /// When the restriction starts.
    #[serde(with = "api_date")]
    pub application_date: Date,
    #[serde(default, with = "api_date_option", skip_serializing_if = "Option::is_none")]
    pub end_date_account_restriction: Option<Date>,
    #[serde(default, with = "api_date_option", skip_serializing_if = "Option::is_none")]
    pub end_date_monetary_restriction: Option<Date>,
    #[serde(default, with = "api_date_option", skip_serializing_if = "Option::is_none")]
    pub end_date_service_restriction: Option<Date>,
    #[serde(default, with = "api_date_option", skip_serializing_if = "Option::is_none")]
    pub end_date_visibility_restriction: Option<Date>,
    pub decision_facts: String,
    pub source_type: SourceType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    pub automated_detection: YesNo,
    pub automated_decision: AutomatedDecision,
    /// The platform's unique id of this statement: `[A-Za-z0-9_-]`, ≤ 500.
    pub puid: String,
    /// Product identifiers, `{"EAN-13": "…"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_id: Option<BTreeMap<String, String>>,
    /// Anything else (the database's own fields in its responses: `uuid`,
    /// `created_at`, `permalink`…), kept so a statement read back from the
    /// database round-trips.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The batch endpoint's body: at most [`crate::validate::MAX_BATCH`]
/// statements.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatementBatch {
    pub statements: Vec<Statement>,
}

impl Statement {
    /// The statement as the API's JSON.
    pub fn to_value(&self) -> Value {
        // Every field is a string, a list of strings or a map of strings:
        // serialisation cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
