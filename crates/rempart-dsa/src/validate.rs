//! The Transparency Database's validation rules, applied before a
//! statement is sent, so that a refusal is found here with the field and
//! the rule rather than as an HTTP 422 for a whole batch of 100.
//!
//! The rules are those of the API documentation
//! (`../shared/data/dsa_transparency_db/docs/api-documentation.md`) and
//! its 422 examples, which match the database's request validation
//! (Laravel rules per field). The messages are the database's own
//! wording, so a report reads like the 422 it prevents. Input is treated
//! as the API's middleware does: strings are trimmed and an empty string
//! counts as absent.
//!
//! Errors are what the database refuses. Warnings are what it accepts
//! but ignores (an `illegal_content_*` field on an incompatible-content
//! statement, a field the database sets itself, an unknown field) and two
//! rules its documentation states but its validation does not enforce —
//! `territorial_scope` is "required" (and Art. 17(3)(a) DSA asks for the
//! territorial scope), end dates "must be after or equal to the
//! application date" — which the Commission's own fixtures break.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};
use time::macros::{date, format_description};
use time::Date;

use crate::enums::{
    AccountType, AutomatedDecision, ContentType, DecisionAccount, DecisionGround, DecisionMonetary, DecisionProvision,
    DecisionVisibility, SourceType, YesNo, CONTENT_ID_KEYS, CONTENT_LANGUAGES, SERVER_FIELDS, TERRITORIAL_SCOPE,
};
use rempart_core::policy::dsa::{unknown_value_hint, DSA_CATEGORIES, DSA_KEYWORDS};

/// Statements per call of the batch endpoint.
pub const MAX_BATCH: usize = 100;

/// Character limits of the free-text fields.
pub const LIMIT_DECISION_FACTS: usize = 5000;
pub const LIMIT_EXPLANATION: usize = 2000;
pub const LIMIT_TEXT: usize = 500;
pub const LIMIT_PUID: usize = 500;

/// Whether the database would refuse the statement (`Error`) or accept it
/// while ignoring or doubting something (`Warning`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// One broken rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The API field (`decision_facts`, `content_id.EAN-13`, `statements`).
    pub field: String,
    /// The rule, named as the database names it: `required`,
    /// `required_without_all`, `required_if`, `in`, `array`, `string`,
    /// `max`, `regex`, `date_format`, `after_or_equal`, `before_or_equal`,
    /// `url`, `distinct`, `between`; warnings: `excluded`, `ignored`,
    /// `unknown_field`, `check_digit`.
    pub rule: &'static str,
    pub message: String,
    pub severity: Severity,
}

/// The verdict on one statement.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub violations: Vec<Violation>,
}

impl Report {
    /// Whether the database would accept the statement.
    pub fn is_valid(&self) -> bool {
        self.errors().next().is_none()
    }

    pub fn errors(&self) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(|v| v.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(|v| v.severity == Severity::Warning)
    }

    /// The errors in the shape of the API's 422 body: field → messages.
    pub fn api_errors(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for v in self.errors() {
            let list = out.entry(v.field.clone()).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = list {
                items.push(Value::String(v.message.clone()));
            }
        }
        out
    }
}

/// Validates one statement given as JSON.
pub fn validate(statement: &Value) -> Report {
    let Some(object) = statement.as_object() else {
        return Report {
            violations: vec![Violation {
                field: "statement".into(),
                rule: "array",
                message: "A statement must be a JSON object.".into(),
                severity: Severity::Error,
            }],
        };
    };
    let mut check = Checker { fields: object, out: Vec::new() };
    check.all();
    Report { violations: check.out }
}

/// Validates statements sent together (a batch body, or a file of them):
/// each on its own, plus the rules across statements — no `puid` twice,
/// and for a batch body at most [`MAX_BATCH`] statements.
pub fn validate_many(statements: &[Value], as_batch: bool) -> (Vec<Report>, Vec<Violation>) {
    let mut validator = Validator::default();
    if as_batch {
        validator.batch(statements)
    } else {
        (statements.iter().map(|s| validator.statement(s)).collect(), Vec::new())
    }
}

/// Validates a stream of statements (a file of many), remembering every
/// `puid` seen so that a repeated one is refused as the database would.
#[derive(Debug, Default)]
pub struct Validator {
    /// `puid` → the position (0-based, across the stream) that first used it.
    seen: HashMap<String, usize>,
    count: usize,
}

impl Validator {
    /// Validates the next statement of the stream.
    pub fn statement(&mut self, statement: &Value) -> Report {
        let mut report = validate(statement);
        let position = self.count;
        self.count += 1;
        if let Some(puid) = statement.get("puid").and_then(Value::as_str).map(str::trim).filter(|p| !p.is_empty()) {
            match self.seen.get(puid) {
                Some(first) => report.violations.push(Violation {
                    field: "puid".into(),
                    rule: "distinct",
                    message: format!(
                        "The identifier given is not unique within this platform (statement {} has it too).",
                        first + 1
                    ),
                    severity: Severity::Error,
                }),
                None => {
                    self.seen.insert(puid.to_string(), position);
                }
            }
        }
        report
    }

    /// Validates the statements of one call to the batch endpoint.
    pub fn batch(&mut self, statements: &[Value]) -> (Vec<Report>, Vec<Violation>) {
        let reports = statements.iter().map(|s| self.statement(s)).collect();
        let mut batch = Vec::new();
        if !(1..=MAX_BATCH).contains(&statements.len()) {
            batch.push(Violation {
                field: "statements".into(),
                rule: "between",
                message: format!(
                    "The statements field must have between 1 and {MAX_BATCH} items ({} given).",
                    statements.len()
                ),
                severity: Severity::Error,
            });
        }
        (reports, batch)
    }
}

/// A field as the API's middleware leaves it: trimmed strings, empty
/// strings and nulls as absent.
enum Field<'a> {
    Absent,
    Text(&'a str),
    Other(&'a Value),
}

struct Checker<'a> {
    fields: &'a Map<String, Value>,
    out: Vec<Violation>,
}

/// The field's name as the database's messages write it.
fn label(field: &str) -> String {
    field.replace('_', " ")
}

const DATE_MIN_CONTENT: Date = date!(2000 - 01 - 01);
const DATE_MIN_APPLICATION: Date = date!(2020 - 01 - 01);
const DATE_MAX: Date = date!(2038 - 01 - 01);

/// Fields that take a text, with their character limits.
const TEXT_LIMITS: [(&str, usize); 11] = [
    ("decision_visibility_other", LIMIT_TEXT),
    ("decision_monetary_other", LIMIT_TEXT),
    ("category_specification_other", LIMIT_TEXT),
    ("decision_ground_reference_url", LIMIT_TEXT),
    ("illegal_content_legal_ground", LIMIT_TEXT),
    ("illegal_content_explanation", LIMIT_EXPLANATION),
    ("incompatible_content_ground", LIMIT_TEXT),
    ("incompatible_content_explanation", LIMIT_EXPLANATION),
    ("content_type_other", LIMIT_TEXT),
    ("decision_facts", LIMIT_DECISION_FACTS),
    ("source_identity", LIMIT_TEXT),
];

/// Every field a submission may carry.
const KNOWN_FIELDS: [&str; 35] = [
    "decision_visibility",
    "decision_visibility_other",
    "decision_monetary",
    "decision_monetary_other",
    "decision_provision",
    "decision_account",
    "account_type",
    "decision_ground",
    "decision_ground_reference_url",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "incompatible_content_illegal",
    "content_type",
    "content_type_other",
    "category",
    "category_addition",
    "category_specification",
    "category_specification_other",
    "territorial_scope",
    "content_language",
    "content_date",
    "application_date",
    "end_date_account_restriction",
    "end_date_monetary_restriction",
    "end_date_service_restriction",
    "end_date_visibility_restriction",
    "decision_facts",
    "source_type",
    "source_identity",
    "automated_detection",
    "automated_decision",
    "puid",
    "content_id",
];

impl<'a> Checker<'a> {
    fn field(&self, name: &str) -> Field<'a> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Field::Absent,
            Some(Value::String(s)) if s.trim().is_empty() => Field::Absent,
            Some(Value::String(s)) => Field::Text(s.trim()),
            Some(Value::Array(items)) if items.is_empty() => Field::Absent,
            Some(other) => Field::Other(other),
        }
    }

    fn present(&self, name: &str) -> bool {
        !matches!(self.field(name), Field::Absent)
    }

    fn text(&self, name: &str) -> Option<&'a str> {
        match self.field(name) {
            Field::Text(s) => Some(s),
            _ => None,
        }
    }

    fn push(&mut self, field: &str, rule: &'static str, message: String, severity: Severity) {
        self.out.push(Violation { field: field.to_string(), rule, message, severity });
    }

    fn error(&mut self, field: &str, rule: &'static str, message: String) {
        self.push(field, rule, message, Severity::Error);
    }

    fn warn(&mut self, field: &str, rule: &'static str, message: String) {
        self.push(field, rule, message, Severity::Warning);
    }

    fn required(&mut self, field: &str) -> bool {
        if self.present(field) {
            return true;
        }
        self.error(field, "required", format!("The {} field is required.", label(field)));
        false
    }

    fn invalid(&mut self, field: &str, value: &str) {
        let hint = unknown_value_hint(value).map(|h| format!(" (`{value}` was {h})")).unwrap_or_default();
        self.error(field, "in", format!("The selected {} is invalid.{hint}", label(field)));
    }

    /// A single value from a closed list.
    fn one_of(&mut self, field: &str, allowed: &[&str]) {
        match self.field(field) {
            Field::Absent => {}
            Field::Text(v) if allowed.contains(&v) => {}
            Field::Text(v) => self.invalid(field, v),
            Field::Other(_) => self.invalid(field, ""),
        }
    }

    /// An array of values from a closed list.
    fn many_of(&mut self, field: &str, allowed: &[&str]) {
        match self.field(field) {
            Field::Absent => {}
            Field::Other(Value::Array(items)) => {
                let bad = items.iter().find(|i| !i.as_str().is_some_and(|s| allowed.contains(&s)));
                if let Some(bad) = bad {
                    self.invalid(field, bad.as_str().unwrap_or_default());
                }
            }
            Field::Text(_) | Field::Other(_) => {
                self.error(field, "array", format!("The {} field must be an array.", label(field)))
            }
        }
    }

    fn date(&mut self, field: &str, min: Option<(Date, &str)>) -> Option<Date> {
        let text = match self.field(field) {
            Field::Absent => return None,
            Field::Text(t) => t,
            Field::Other(_) => "",
        };
        let described = match field.strip_prefix("end_date_") {
            Some(what) => format!("end date of {}", label(what)),
            None => label(field),
        };
        let parsed = Date::parse(text, format_description!("[year]-[month]-[day]"))
            .ok()
            .filter(|_| text.len() == 10 && text.as_bytes()[4] == b'-');
        let Some(date) = parsed else {
            self.error(field, "date_format", format!("The {described} does not match the format YYYY-MM-DD."));
            return None;
        };
        if let Some((min, min_text)) = min {
            if date < min {
                self.error(
                    field,
                    "after_or_equal",
                    format!("The {} field must be a date after or equal to {min_text}.", label(field)),
                );
            }
        }
        if date > DATE_MAX {
            self.error(
                field,
                "before_or_equal",
                format!("The {} field must be a date before or equal to 2038-01-01.", label(field)),
            );
        }
        Some(date)
    }

    fn all(&mut self) {
        self.restrictions();
        self.ground();
        self.content();
        self.categories();
        self.territory_and_language();
        self.dates();
        self.facts_and_source();
        self.texts();
        self.content_id();
        self.unknown_fields();
    }

    /// At least one of the four restrictions (Art. 17(1)(a)–(d)).
    fn restrictions(&mut self) {
        const GROUP: [&str; 4] = ["decision_visibility", "decision_monetary", "decision_provision", "decision_account"];
        if GROUP.iter().all(|f| !self.present(f)) {
            for field in GROUP {
                let others: Vec<String> = GROUP.iter().filter(|o| **o != field).map(|o| label(o)).collect();
                self.error(
                    field,
                    "required_without_all",
                    format!("The {} field is required when none of {} are present.", label(field), others.join(" / ")),
                );
            }
        }
        self.many_of("decision_visibility", DecisionVisibility::ALL_VALUES);
        self.one_of("decision_monetary", DecisionMonetary::ALL_VALUES);
        self.one_of("decision_provision", DecisionProvision::ALL_VALUES);
        self.one_of("decision_account", DecisionAccount::ALL_VALUES);
        self.one_of("account_type", AccountType::ALL_VALUES);

        let visibility_other = self
            .fields
            .get("decision_visibility")
            .and_then(Value::as_array)
            .is_some_and(|v| v.iter().any(|x| x.as_str() == Some(DecisionVisibility::Other.as_str())));
        self.other_field("decision_visibility_other", visibility_other, "decision visibility is other");
        let monetary_other = self.text("decision_monetary") == Some(DecisionMonetary::Other.as_str());
        self.other_field("decision_monetary_other", monetary_other, "decision monetary is other");
    }

    /// A `*_other` text: required when its list says "other", ignored
    /// otherwise.
    fn other_field(&mut self, field: &str, needed: bool, when: &str) {
        match (needed, self.present(field)) {
            (true, false) => {
                self.error(field, "required_if", format!("The {} field is required when {when}.", label(field)))
            }
            (false, true) => self.warn(
                field,
                "excluded",
                format!("The {} field is ignored by the database unless {when}.", label(field)),
            ),
            _ => {}
        }
    }

    /// The legal or contractual ground (Art. 17(3)(d)/(e)).
    fn ground(&mut self) {
        if self.required("decision_ground") {
            self.one_of("decision_ground", DecisionGround::ALL_VALUES);
        }
        let ground = self.text("decision_ground");
        let illegal = ground == Some(DecisionGround::IllegalContent.as_str());
        let incompatible = ground == Some(DecisionGround::IncompatibleContent.as_str());
        for (field, needed, when) in [
            ("illegal_content_legal_ground", illegal, "decision ground is illegal content"),
            ("illegal_content_explanation", illegal, "decision ground is illegal content"),
            ("incompatible_content_ground", incompatible, "decision ground is incompatible content"),
            ("incompatible_content_explanation", incompatible, "decision ground is incompatible content"),
        ] {
            self.other_field(field, needed, when);
        }
        if self.present("incompatible_content_illegal") {
            if incompatible {
                self.one_of("incompatible_content_illegal", YesNo::ALL_VALUES);
            } else {
                self.warn(
                    "incompatible_content_illegal",
                    "excluded",
                    "The incompatible content illegal field is ignored by the database unless decision ground is \
                     incompatible content."
                        .into(),
                );
            }
        }
        if let Some(url) = self.text("decision_ground_reference_url") {
            let ok = url::Url::parse(url).is_ok_and(|u| u.has_host());
            if !ok {
                self.error(
                    "decision_ground_reference_url",
                    "url",
                    "The decision ground reference url field must be a valid URL.".into(),
                );
            }
        }
    }

    fn content(&mut self) {
        if self.required("content_type") {
            self.many_of("content_type", ContentType::ALL_VALUES);
        }
        let other = self
            .fields
            .get("content_type")
            .and_then(Value::as_array)
            .is_some_and(|v| v.iter().any(|x| x.as_str() == Some(ContentType::Other.as_str())));
        self.other_field("content_type_other", other, "content is other");
    }

    fn categories(&mut self) {
        if self.required("category") {
            self.one_of("category", &DSA_CATEGORIES);
        }
        self.many_of("category_addition", &DSA_CATEGORIES);
        self.many_of("category_specification", &DSA_KEYWORDS);
        let other = self
            .fields
            .get("category_specification")
            .and_then(Value::as_array)
            .is_some_and(|v| v.iter().any(|x| x.as_str() == Some("KEYWORD_OTHER")));
        if !other && self.present("category_specification_other") {
            self.warn(
                "category_specification_other",
                "excluded",
                "The category specification other field is ignored by the database unless category specification \
                 includes KEYWORD_OTHER."
                    .into(),
            );
        }
    }

    fn territory_and_language(&mut self) {
        if self.present("territorial_scope") {
            self.many_of("territorial_scope", &TERRITORIAL_SCOPE);
        } else {
            self.warn(
                "territorial_scope",
                "required",
                "The territorial scope field is required by the documentation (the database accepts its absence)."
                    .into(),
            );
        }
        self.one_of("content_language", &CONTENT_LANGUAGES);
    }

    fn dates(&mut self) {
        self.required("content_date");
        self.date("content_date", Some((DATE_MIN_CONTENT, "2000-01-01")));
        self.required("application_date");
        let application = self.date("application_date", Some((DATE_MIN_APPLICATION, "2020-01-01")));
        for field in [
            "end_date_account_restriction",
            "end_date_monetary_restriction",
            "end_date_service_restriction",
            "end_date_visibility_restriction",
        ] {
            let end = self.date(field, None);
            if let (Some(end), Some(start)) = (end, application) {
                if end < start {
                    self.warn(
                        field,
                        "after_or_equal",
                        format!(
                            "The {} field must be a date after or equal to application date (documented; the \
                             database does not enforce it).",
                            label(field)
                        ),
                    );
                }
            }
        }
    }

    fn facts_and_source(&mut self) {
        self.required("decision_facts");
        if self.required("source_type") {
            self.one_of("source_type", SourceType::ALL_VALUES);
        }
        if self.text("source_type") == Some(SourceType::Voluntary.as_str()) && self.present("source_identity") {
            self.warn(
                "source_identity",
                "excluded",
                "The source identity field is ignored by the database when the source type is SOURCE_VOLUNTARY.".into(),
            );
        }
        if self.required("automated_detection") {
            self.one_of("automated_detection", YesNo::ALL_VALUES);
        }
        if self.required("automated_decision") {
            self.one_of("automated_decision", AutomatedDecision::ALL_VALUES);
        }
        if self.required("puid") {
            match self.field("puid") {
                Field::Text(puid) => {
                    if !puid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                        self.error("puid", "regex", "The puid format is invalid.".into());
                    }
                }
                _ => self.error("puid", "string", "The puid field must be a string.".into()),
            }
        }
    }

    /// Character limits, counted in characters as the database does.
    fn texts(&mut self) {
        for (field, limit) in TEXT_LIMITS.into_iter().chain([("puid", LIMIT_PUID)]) {
            match self.field(field) {
                Field::Text(t) => {
                    let chars = t.chars().count();
                    if chars > limit {
                        self.error(
                            field,
                            "max",
                            format!(
                                "The {} field must not be greater than {limit} characters ({chars} given).",
                                label(field)
                            ),
                        );
                    }
                }
                Field::Other(_) if field != "puid" => {
                    self.error(field, "string", format!("The {} field must be a string.", label(field)))
                }
                _ => {}
            }
        }
    }

    fn content_id(&mut self) {
        match self.fields.get("content_id") {
            None | Some(Value::Null) => {}
            Some(Value::Object(ids)) => {
                for (key, value) in ids {
                    if !CONTENT_ID_KEYS.contains(&key.as_str()) {
                        self.warn(
                            &format!("content_id.{key}"),
                            "ignored",
                            format!("The database only takes the content id key EAN-13; `{key}` is dropped."),
                        );
                        continue;
                    }
                    let field = format!("content_id.{key}");
                    match value.as_str() {
                        Some(code) if code.len() == 13 && code.bytes().all(|b| b.is_ascii_digit()) => {
                            if !ean13_check_digit_ok(code) {
                                self.warn(
                                    &field,
                                    "check_digit",
                                    format!("{code} has a wrong EAN-13 check digit (the database does not check it)."),
                                );
                            }
                        }
                        Some(_) => {
                            self.error(&field, "regex", format!("The {} field format is invalid.", label(&field)))
                        }
                        None => self.error(&field, "string", format!("The {} field must be a string.", label(&field))),
                    }
                }
            }
            Some(_) => self.error("content_id", "array", "The content id field must be an array.".into()),
        }
    }

    fn unknown_fields(&mut self) {
        for key in self.fields.keys() {
            if KNOWN_FIELDS.contains(&key.as_str()) {
                continue;
            }
            if SERVER_FIELDS.contains(&key.as_str()) {
                self.warn(key, "ignored", format!("`{key}` is set by the database; a submitted value is ignored."));
            } else {
                self.warn(
                    key,
                    "unknown_field",
                    format!("`{key}` is not a statement attribute; the database ignores it."),
                );
            }
        }
    }
}

/// The GS1 check digit of an EAN-13 code.
pub fn ean13_check_digit_ok(code: &str) -> bool {
    let digits: Vec<u32> = code.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 13 {
        return false;
    }
    let sum: u32 = digits[..12].iter().enumerate().map(|(i, d)| if i % 2 == 0 { *d } else { d * 3 }).sum();
    (10 - sum % 10) % 10 == digits[12]
}
