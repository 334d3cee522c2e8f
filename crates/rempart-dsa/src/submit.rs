//! What the Transparency Database's answers mean, without doing any I/O.
//!
//! The exporter posts batches to `POST /api/v1/statements` and, when an
//! earlier attempt ended without a definite answer, asks
//! `GET /api/v1/statement/existing-puid/{puid}` before sending again. This
//! module turns each HTTP answer into what to do with each statement,
//! following the API documentation (`../shared/data/dsa_transparency_db`):
//!
//! | answer | meaning |
//! | --- | --- |
//! | 201 | every statement of the batch was created; the body lists them with their `uuid` |
//! | 422, errors keyed `statement_<n>` | **none** was created; statement *n* is refused for the reasons given — unless its only error is a `puid` "not unique", which means the database already has it |
//! | 409 | a `puid` already exists (some deployments answer a conflict instead of a 422): which ones is asked one by one |
//! | 401, 403 | the token is wrong: stop |
//! | 429, 5xx, no answer | try again later (with backoff; `Retry-After` honoured) — the batch may or may not have been created |
//! | other 4xx | the request is wrong: stop, naming the status and message |
//!
//! `existing-puid` answers 302 (found) or 404 (not found).

use std::time::Duration;

use serde_json::{Map, Value};

/// The API's paths below the configured base URL.
pub const PATH_BATCH: &str = "/api/v1/statements";
/// `GET` with the puid appended (percent-encoding not needed: a puid is
/// `[A-Za-z0-9_-]`).
pub const PATH_EXISTING_PUID: &str = "/api/v1/statement/existing-puid/";

/// What became of one statement of a batch.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Created; the database's `uuid` when the answer gave it.
    Accepted { uuid: Option<String> },
    /// The database already had this `puid`.
    Existing,
    /// Refused, with the database's errors for it (`{field: [messages]}`).
    Rejected { errors: Map<String, Value> },
    /// Not created, for no fault of its own (another statement of the batch
    /// was refused): send it again without the refused ones.
    Resend,
}

/// What to do after posting one batch.
#[derive(Clone, Debug, PartialEq)]
pub enum BatchAnswer {
    /// A definite outcome per statement, in the batch's order.
    Outcomes(Vec<Outcome>),
    /// Ask `existing-puid` for each statement, then send those not found.
    CheckEach,
    /// Try again later; the batch may have been created (so check each
    /// statement before sending it again).
    Retry { after: Option<Duration>, reason: String },
    /// Stop: the request or the credentials are wrong.
    Fatal(String),
}

/// The database's message for a duplicate `puid` (single and batch).
const NOT_UNIQUE: &str = "not unique";

/// Reads the answer to a batch of statements with these `puids`.
pub fn batch_answer(status: u16, retry_after: Option<&str>, body: &str, puids: &[&str]) -> BatchAnswer {
    let json: Option<Value> = serde_json::from_str(body).ok();
    let message = || {
        json.as_ref()
            .and_then(|j| j.get("message"))
            .and_then(Value::as_str)
            .map_or_else(|| body.chars().take(300).collect::<String>(), str::to_string)
    };
    match status {
        200 | 201 => {
            // The body lists the statements created, with their puid and uuid.
            let created = json.as_ref().and_then(|j| j.get("statements")).and_then(Value::as_array);
            let uuid_of = |puid: &str| -> Option<String> {
                created?
                    .iter()
                    .find(|s| s.get("puid").and_then(Value::as_str) == Some(puid))
                    .and_then(|s| s.get("uuid"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            BatchAnswer::Outcomes(puids.iter().map(|p| Outcome::Accepted { uuid: uuid_of(p) }).collect())
        }
        422 => {
            let Some(errors) = json.as_ref().and_then(|j| j.get("errors")).and_then(Value::as_object) else {
                return BatchAnswer::Fatal(format!("HTTP 422 without errors: {}", message()));
            };
            let keyed: Vec<(usize, &Map<String, Value>)> = errors
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("statement_")?.parse().ok()?, v.as_object()?)))
                .collect();
            if keyed.is_empty() || keyed.len() != errors.len() {
                // Not about particular statements (e.g. the batch itself).
                return BatchAnswer::Fatal(format!("HTTP 422: {}", compact(errors)));
            }
            let outcomes = (0..puids.len())
                .map(|i| match keyed.iter().find(|(n, _)| *n == i) {
                    None => Outcome::Resend,
                    Some((_, fields)) if only_puid_not_unique(fields) => Outcome::Existing,
                    Some((_, fields)) => Outcome::Rejected { errors: (*fields).clone() },
                })
                .collect();
            BatchAnswer::Outcomes(outcomes)
        }
        409 => BatchAnswer::CheckEach,
        401 | 403 => BatchAnswer::Fatal(format!(
            "HTTP {status}: the API token was refused ({}); generate a new one in the database's user profile",
            message()
        )),
        408 | 429 | 500..=599 => BatchAnswer::Retry {
            after: retry_after.and_then(parse_retry_after),
            reason: format!("HTTP {status}: {}", message()),
        },
        _ => BatchAnswer::Fatal(format!("HTTP {status}: {}", message())),
    }
}

/// The answer to `existing-puid`: `Ok(true)` found (302), `Ok(false)` not
/// found (404), `Err` anything else (with the reason).
pub fn existing_answer(status: u16, body: &str) -> Result<bool, String> {
    match status {
        302 | 200 => Ok(true),
        404 => Ok(false),
        _ => Err(format!("existing-puid answered HTTP {status}: {}", body.chars().take(300).collect::<String>())),
    }
}

fn only_puid_not_unique(fields: &Map<String, Value>) -> bool {
    fields.len() == 1
        && fields.get("puid").and_then(Value::as_array).is_some_and(|messages| {
            !messages.is_empty() && messages.iter().all(|m| m.as_str().is_some_and(|s| s.contains(NOT_UNIQUE)))
        })
}

fn compact(errors: &Map<String, Value>) -> String {
    Value::Object(errors.clone()).to_string().chars().take(500).collect()
}

/// `Retry-After` in seconds (the HTTP-date form is not used by the API).
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(|s| Duration::from_secs(s.min(3600)))
}

/// Backoff before attempt `attempt` (1-based): 0.5 s doubling, at most
/// 60 s, or what the server asked for.
pub fn backoff(attempt: u32, asked: Option<Duration>, base: Duration) -> Duration {
    asked.unwrap_or_else(|| base.saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(Duration::from_secs(60)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_example(name: &str) -> String {
        let path =
            format!("{}/../../../shared/data/dsa_transparency_db/api_doc_examples/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_documented_batch_422_refuses_statements_0_and_2_and_resends_1() {
        let body = doc_example("error_422_multiple_indexed_by_statement.json");
        let BatchAnswer::Outcomes(o) = batch_answer(422, None, &body, &["a", "b", "c"]) else { panic!("outcomes") };
        assert!(matches!(&o[0], Outcome::Rejected { errors } if errors.contains_key("decision_ground")));
        assert_eq!(o[1], Outcome::Resend);
        assert!(matches!(&o[2], Outcome::Rejected { errors } if errors.contains_key("decision_provision")));
    }

    #[test]
    fn a_puid_not_unique_is_existing_not_rejected() {
        let body =
            r#"{"errors":{"statement_1":{"puid":["The identifier given is not unique within this platform."]}}}"#;
        let BatchAnswer::Outcomes(o) = batch_answer(422, None, body, &["a", "b"]) else { panic!("outcomes") };
        assert_eq!(o, vec![Outcome::Resend, Outcome::Existing]);
    }

    #[test]
    fn created_statements_take_their_uuid_by_puid() {
        let body = r#"{"statements":[{"puid":"b","uuid":"u-b"},{"puid":"a","uuid":"u-a"}]}"#;
        let answer = batch_answer(201, None, body, &["a", "b"]);
        assert_eq!(
            answer,
            BatchAnswer::Outcomes(vec![
                Outcome::Accepted { uuid: Some("u-a".into()) },
                Outcome::Accepted { uuid: Some("u-b".into()) }
            ])
        );
    }

    #[test]
    fn other_answers() {
        assert!(matches!(batch_answer(401, None, "{}", &["a"]), BatchAnswer::Fatal(m) if m.contains("token")));
        assert_eq!(batch_answer(409, None, "{}", &["a"]), BatchAnswer::CheckEach);
        assert!(matches!(
            batch_answer(429, Some("7"), "{}", &["a"]),
            BatchAnswer::Retry { after: Some(d), .. } if d == Duration::from_secs(7)
        ));
        assert!(matches!(batch_answer(503, None, "down", &["a"]), BatchAnswer::Retry { after: None, .. }));
        let single = doc_example("error_422_empty_payload.json");
        assert!(matches!(batch_answer(422, None, &single, &["a"]), BatchAnswer::Fatal(_)));
        assert_eq!(existing_answer(302, &doc_example("existing_puid_302_found.json")), Ok(true));
        assert_eq!(existing_answer(404, &doc_example("existing_puid_404_not_found.json")), Ok(false));
        assert!(existing_answer(500, "").is_err());
        assert_eq!(backoff(1, None, Duration::from_millis(500)), Duration::from_millis(500));
        assert_eq!(backoff(3, None, Duration::from_millis(500)), Duration::from_secs(2));
        assert_eq!(backoff(30, None, Duration::from_millis(500)), Duration::from_secs(60));
    }
}
