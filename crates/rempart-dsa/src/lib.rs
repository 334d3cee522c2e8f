//! What the Digital Services Act asks a marketplace to prove, built from
//! rempart's decisions:
//!
//! - [`statement`]: a statement of reasons (Art. 17, 24(5)) in the exact
//!   schema of the Commission's Transparency Database API, with its
//!   enumerations in [`enums`];
//! - [`mapping`]: every restrictive decision → its statement (ground,
//!   category and keywords from the policy, territory, dates, automation,
//!   facts built from the rule and the evidence);
//! - [`mod@validate`]: the database's validation rules, each violation named
//!   by field and rule, so nothing is refused at submission;
//! - [`sweep`]: the report of a catalogue sweep (counts, charts, every
//!   flagged listing with its evidence), resumable after an interruption.
//!
//! This crate never changes a decision: it reads decisions and the facts
//! around them and writes proof.
//!
//! ```
//! use rempart_dsa::validate::validate;
//!
//! let statement = serde_json::json!({"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT", "puid": "a b"});
//! let report = validate(&statement);
//! assert!(!report.is_valid());
//! let puid = report.errors().find(|v| v.field == "puid").expect("puid is refused");
//! assert_eq!((puid.rule, puid.message.as_str()), ("regex", "The puid format is invalid."));
//! ```

pub mod enums;
pub mod mapping;
pub mod statement;
pub mod sweep;
pub mod validate;

pub use statement::{Statement, StatementBatch};
pub use validate::{validate, Report, Severity, Validator, Violation};
