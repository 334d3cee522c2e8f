//! What the Digital Services Act asks a marketplace to prove, built from
//! rempart's decisions:
//!
//! - [`statement`]: a statement of reasons (Art. 17, 24(5)) in the exact
//!   schema of the Commission's Transparency Database API, with its
//!   enumerations in [`enums`];
//! - [`evidence`]: one listing's record as a bundle a court checks offline
//!   (versions as received, decisions as audit entries with inclusion
//!   proofs against a signed head, the policy text), and that check;
//! - [`mapping`]: every restrictive decision → its statement (ground,
//!   category and keywords from the policy, territory, dates, automation,
//!   facts built from the rule and the evidence);
//! - [`mod@validate`]: the database's validation rules, each violation named
//!   by field and rule, so nothing is refused at submission;
//! - [`report`]: the quantitative tables of a transparency report
//!   (templates of Implementing Regulation (EU) 2024/2835) from a period's
//!   statements and review outcomes, as CSV, JSON and HTML;
//! - [`template`]: the Annex I template files (orders, notices, own
//!   initiative, complaints and suspensions, automated means), cell for cell;
//! - [`submit`]: what the Transparency Database's answers mean (created,
//!   refused per statement, already there, try again), without I/O;
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
pub mod evidence;
pub mod evidence_html;
pub mod mapping;
pub mod report;
pub mod statement;
pub mod submit;
pub mod sweep;
pub mod template;
pub mod validate;

pub use statement::{Statement, StatementBatch};
pub use validate::{validate, Report, Severity, Validator, Violation};
