//! `rempart dsa export`: a statement of reasons for every restrictive
//! decision in the store, validated, in batches the Transparency Database
//! takes; printed, or posted to it with a record of every answer.

use std::collections::HashMap;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rempart_core::{Listing, Pack};
use rempart_dsa::enums::SourceType;
use rempart_dsa::mapping::{date_of_ms, statement_for, Decider, Facts};
use rempart_dsa::submit::{self, BatchAnswer, Outcome, PATH_BATCH, PATH_EXISTING_PUID};
use rempart_dsa::validate::{Validator, MAX_BATCH};
use rempart_dsa::Statement;
use rempart_store::dsa::{self, Restriction, SubmissionStatus};
use rempart_store::records::Origin;
use rempart_store::{packs, time, Store};
use serde_json::{json, Value};

use super::store_args::StoreArgs;

#[derive(clap::Args)]
#[command(after_help = "Which decisions: every `block` and `restrict` recorded from --since (inclusive) to \
--until (exclusive), automated or decided by a person (review outcomes, appeals); a decision that only \
repeats the restriction already in force on the same listing version (a rescan, an appeal upheld) owes \
no new statement. `review` and `allow` restrict nothing and have none. The puid is the decision id. \
Each statement is checked by the same rules as `rempart dsa validate` before it is written or sent; one \
that fails is reported on stderr (`decision D (listing L): field F: rule: message`) and the others go on.\n\n\
Output without --submit: one batch body per line on stdout, `{\"statements\": […]}` with at most \
--batch-size statements, exactly as POST /api/v1/statements takes it.\n\n\
With --submit URL: the batches are posted to URL/api/v1/statements with the token (environment variable \
REMPART_DSA_TOKEN, or --token-file). Answers: 201 → accepted (with the database's uuid); 422 → the \
statements named are refused (their errors are kept) and the others are sent again; a puid the database \
already has (422 \"not unique\", 409, or 302 from existing-puid) → existing; 429 and 5xx → retried with \
backoff (Retry-After honoured), and before sending again each statement is looked up with \
GET URL/api/v1/statement/existing-puid/PUID, so a batch created before its answer was lost is not sent \
twice; 401/403 stop. Every answer is recorded in the store (`dsa_submissions`, and the audit log): a \
statement accepted or existing is never sent again to that URL. stdout gets one JSON line per statement: \
{\"decision_id\", \"listing_id\", \"puid\", \"status\": accepted|existing|rejected|already_sent, \"uuid\", \
\"errors\"}.\n\n\
Exit status: 0 every restrictive decision has a valid statement (and, with --submit, the database has \
it); 2 some could not be made, were invalid or were refused (each reported), the others went through; \
1 fatal (no store, bad dates, token refused, the database unreachable after the retries).")]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// First day (YYYY-MM-DD, UTC) or RFC 3339 time of the decisions to export.
    #[arg(long, value_name = "DATE")]
    pub since: String,
    /// End (exclusive) of the period; default: now.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// URL of the terms and conditions, for decisions on incompatible-content ground
    /// (`decision_ground_reference_url`).
    #[arg(long, value_name = "URL")]
    pub terms_url: Option<String>,
    /// Statements per batch; the database takes at most 100 per call.
    #[arg(long, default_value_t = MAX_BATCH as u16, value_parser = clap::value_parser!(u16).range(1..=MAX_BATCH as i64))]
    pub batch_size: u16,
    /// Post the statements to this Transparency Database (its base URL, e.g. the sandbox's) instead of
    /// printing them.
    #[arg(long, value_name = "URL")]
    pub submit: Option<String>,
    /// File holding the API token (else the REMPART_DSA_TOKEN environment variable).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Attempts per request before giving up (429, 5xx, no answer).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
    /// First backoff delay in milliseconds (doubled at each attempt, at most 60 s).
    #[arg(long, default_value_t = 500)]
    pub retry_base_ms: u64,
}

/// A statement ready to go, with where it comes from.
struct Ready {
    decision_id: String,
    listing_id: String,
    puid: String,
    statement: Value,
    digest: String,
}

#[derive(Default)]
struct Tally {
    decisions: u64,
    statements: u64,
    unmapped: u64,
    invalid: u64,
    accepted: u64,
    existing: u64,
    rejected: u64,
    already_sent: u64,
    batches: u64,
}

pub fn run(args: ExportArgs) -> Result<u8> {
    let store = args.store.open()?;
    let since = time::parse(&args.since).map_err(|e| anyhow::anyhow!("--since: {e}"))?;
    let until = match &args.until {
        Some(u) => time::parse(u).map_err(|e| anyhow::anyhow!("--until: {e}"))?,
        None => time::now_ms() + 1,
    };
    if until <= since {
        bail!("--until ({}) is not after --since ({})", time::rfc3339(until), time::rfc3339(since));
    }
    let mut sender = match &args.submit {
        Some(url) => Some(Sender::new(url, &read_token(args.token_file.as_deref())?, &args)?),
        None => None,
    };
    let mut mapper = Mapper::new(args.terms_url.clone());
    let mut validator = Validator::default();
    let mut tally = Tally::default();
    let mut out = BufWriter::new(io::stdout().lock());
    let bar = crate::progress::items(0, "export");
    let mut batch: Vec<Ready> = Vec::new();
    let mut after = None;
    loop {
        let page = store.read(|tx| dsa::restrictions(tx, since, until, after, 500))?;
        let Some(last) = page.last() else { break };
        after = Some(last.decision.audit_index);
        for restriction in &page {
            tally.decisions += 1;
            bar.inc(1);
            let Some(ready) = mapper.ready(&store, restriction, &mut validator, &mut tally)? else { continue };
            batch.push(ready);
            if batch.len() == usize::from(args.batch_size) {
                flush(&store, &mut batch, sender.as_mut(), &mut out, &mut tally)?;
            }
        }
    }
    flush(&store, &mut batch, sender.as_mut(), &mut out, &mut tally)?;
    out.flush()?;
    bar.finish_and_clear();
    let mut summary = format!(
        "rempart: {} restrictive decision(s) from {} to {}: {} statement(s) in {} batch(es)",
        tally.decisions,
        time::rfc3339(since),
        time::rfc3339(until),
        tally.statements,
        tally.batches
    );
    if tally.unmapped + tally.invalid > 0 {
        summary.push_str(&format!("; {} without a statement, {} invalid", tally.unmapped, tally.invalid));
    }
    if let Some(s) = &sender {
        summary.push_str(&format!(
            "; sent to {}: {} accepted, {} already there, {} refused, {} sent before",
            s.base, tally.accepted, tally.existing, tally.rejected, tally.already_sent
        ));
    }
    eprintln!("{summary}");
    Ok(if tally.unmapped + tally.invalid + tally.rejected > 0 { crate::EXIT_INVALID_RECORDS } else { crate::EXIT_OK })
}

fn read_token(file: Option<&std::path::Path>) -> Result<String> {
    let token = match file {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("--token-file {}", path.display()))?,
        None => std::env::var("REMPART_DSA_TOKEN")
            .context("--submit needs the API token: set REMPART_DSA_TOKEN or pass --token-file")?,
    };
    let token = token.trim().to_string();
    if token.is_empty() || token.contains(['\r', '\n']) {
        bail!("the API token is empty or spans several lines");
    }
    Ok(token)
}

/// Decisions → validated statements; packs are read once per version.
pub(super) struct Mapper {
    packs: HashMap<String, Option<Arc<Pack>>>,
    terms_url: Option<String>,
}

impl Mapper {
    pub(super) fn new(terms_url: Option<String>) -> Mapper {
        Mapper { packs: HashMap::new(), terms_url }
    }

    fn pack(&mut self, store: &Store, version: &str) -> Result<Option<Arc<Pack>>> {
        if let Some(p) = self.packs.get(version) {
            return Ok(p.clone());
        }
        let stored = match store.read(|tx| packs::get(tx, version)) {
            Ok(s) => Some(s),
            Err(rempart_store::StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let pack = match stored {
            Some(s) => Some(Arc::new(
                Pack::from_sources(s.files.into_iter().collect())
                    .with_context(|| format!("the stored pack {version} no longer compiles"))?,
            )),
            None => Pack::embedded().ok().filter(|p| p.version == version).map(Arc::new),
        };
        self.packs.insert(version.to_string(), pack.clone());
        Ok(pack)
    }

    /// The statement of one restriction, or why there is none (the
    /// decision restricts nothing: `Ok(None)`).
    pub(super) fn statement(&mut self, store: &Store, r: &Restriction) -> Result<Result<Option<Statement>, String>> {
        let record = &r.decision.record;
        let listing = match Listing::from_json(&r.listing) {
            Ok(l) => l,
            Err(e) => return Ok(Err(format!("the stored listing cannot be read: {e}"))),
        };
        let pack = self.pack(store, &record.decision.policy_version)?;
        let (decider, source) = who_and_why(r);
        let mut facts = Facts::of_listing(
            &listing,
            &record.decision_id,
            date_of_ms(r.received_at),
            date_of_ms(r.decided_at),
            decider,
            pack.as_deref(),
        );
        facts.source = source;
        facts.terms_url = self.terms_url.as_deref();
        Ok(statement_for(&record.decision, &facts).map_err(|e| format!("no statement: {e}")))
    }

    /// The statement of one restriction, validated; `None` (reported) when
    /// it cannot be made or would be refused.
    fn ready(
        &mut self,
        store: &Store,
        r: &Restriction,
        validator: &mut Validator,
        tally: &mut Tally,
    ) -> Result<Option<Ready>> {
        let record = &r.decision.record;
        let place = format!("decision {} (listing {})", record.decision_id, record.listing_id);
        let statement = match self.statement(store, r)? {
            Ok(Some(s)) => s,
            Ok(None) => return Ok(None),
            Err(why) => {
                eprintln!("{place}: {why}");
                tally.unmapped += 1;
                return Ok(None);
            }
        };
        let value = statement.to_value();
        let report = validator.statement(&value);
        if !report.is_valid() {
            for v in report.errors() {
                eprintln!("{place}: field {}: {}: {}", v.field, v.rule, v.message);
            }
            tally.invalid += 1;
            return Ok(None);
        }
        tally.statements += 1;
        let digest = rempart_audit::canonical_digest(&value).context("digest of a statement")?;
        Ok(Some(Ready {
            decision_id: record.decision_id.clone(),
            listing_id: record.listing_id.clone(),
            puid: statement.puid,
            statement: value,
            digest,
        }))
    }
}

/// Who decided and what led to the check, from the decision's origin and
/// the review item it closed.
fn who_and_why(r: &Restriction) -> (Decider, SourceType) {
    match r.decision.record.origin {
        Origin::Screening | Origin::Rescan | Origin::ImagesArrived => (Decider::Automated, SourceType::Voluntary),
        Origin::Review | Origin::Appeal | Origin::Suspension => {
            let source = match r.review_source.as_deref() {
                Some("notice") => SourceType::Article16,
                Some("trusted_flagger") => SourceType::TrustedFlagger,
                Some("order") => SourceType::OtherNotification,
                _ => SourceType::Voluntary,
            };
            let flagged_by_the_gate = match r.review_source.as_deref() {
                Some("detection" | "relisting") => true,
                Some("notice" | "trusted_flagger" | "order") => false,
                _ => r.superseded_by_whom.as_deref() == Some("rempart"),
            };
            (if flagged_by_the_gate { Decider::PersonAfterAutomatedFlag } else { Decider::Person }, source)
        }
    }
}

fn flush(
    store: &Store,
    batch: &mut Vec<Ready>,
    sender: Option<&mut Sender>,
    out: &mut impl Write,
    tally: &mut Tally,
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    tally.batches += 1;
    let ready = std::mem::take(batch);
    match sender {
        None => {
            let statements: Vec<&Value> = ready.iter().map(|r| &r.statement).collect();
            writeln!(out, "{}", json!({ "statements": statements }))?;
        }
        Some(sender) => sender.send(store, ready, out, tally)?,
    }
    Ok(())
}

/// Posts batches to one Transparency Database and records its answers.
struct Sender {
    base: String,
    token: String,
    agent: ureq::Agent,
    max_attempts: u32,
    retry_base: Duration,
}

/// An HTTP answer: status, `Retry-After`, body.
type Answer = (u16, Option<String>, String);

impl Sender {
    fn new(url: &str, token: &str, args: &ExportArgs) -> Result<Sender> {
        let base = url.trim_end_matches('/').to_string();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            bail!("--submit {url}: not an http(s) URL");
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // existing-puid answers 302 for "found": read it, do not follow it.
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Ok(Sender {
            base,
            token: token.to_string(),
            agent,
            max_attempts: args.max_attempts,
            retry_base: Duration::from_millis(args.retry_base_ms),
        })
    }

    fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Answer, String> {
        let mut response = response.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = response.body_mut().read_to_string().map_err(|e| e.to_string())?;
        Ok((status, retry_after, body))
    }

    fn post(&self, body: &Value) -> Result<Answer, String> {
        Self::answer(
            self.agent
                .post(format!("{}{PATH_BATCH}", self.base))
                .header("Authorization", format!("Bearer {}", self.token))
                .header("Accept", "application/json")
                .content_type("application/json")
                .send(body.to_string()),
        )
    }

    /// Whether the database already has `puid` (retried like a post).
    fn exists(&self, puid: &str) -> Result<bool> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let answer = Self::answer(
                self.agent
                    .get(format!("{}{PATH_EXISTING_PUID}{puid}", self.base))
                    .header("Authorization", format!("Bearer {}", self.token))
                    .header("Accept", "application/json")
                    .call(),
            );
            let (failure, asked) = match answer {
                Ok((status, retry_after, body)) => match status {
                    401 | 403 => bail!("existing-puid: HTTP {status}: the API token was refused"),
                    408 | 429 | 500..=599 => (format!("HTTP {status}"), retry_after),
                    _ => return submit::existing_answer(status, &body).map_err(anyhow::Error::msg),
                },
                Err(e) => (e, None),
            };
            if attempt >= self.max_attempts {
                bail!("existing-puid for {puid}: gave up after {attempt} attempts ({failure})");
            }
            std::thread::sleep(submit::backoff(attempt, asked.as_deref().and_then(seconds), self.retry_base));
        }
    }

    /// Sends one batch until every statement has a definite answer.
    fn send(&mut self, store: &Store, ready: Vec<Ready>, out: &mut impl Write, tally: &mut Tally) -> Result<()> {
        let endpoint = self.base.clone();
        let mut pending: Vec<Ready> = Vec::new();
        for r in ready {
            match store.read(|tx| dsa::submission(tx, &endpoint, &r.puid))? {
                Some(s) if s.status.is_final() => {
                    tally.already_sent += 1;
                    line(out, &r, "already_sent", s.uuid.as_deref(), None)?;
                }
                // An earlier run posted it and never heard back: ask.
                Some(s) if s.status == SubmissionStatus::Sending && self.exists(&r.puid)? => {
                    self.settle(store, out, tally, &r, &Outcome::Existing)?;
                }
                _ => pending.push(r),
            }
        }
        let mut attempt = 0u32;
        while !pending.is_empty() {
            store.write(|tx| {
                for r in &pending {
                    dsa::mark_sending(tx, &endpoint, &r.puid, &r.decision_id, &r.digest)?;
                }
                Ok(())
            })?;
            let body = json!({ "statements": pending.iter().map(|r| &r.statement).collect::<Vec<_>>() });
            let answer = {
                let puids: Vec<&str> = pending.iter().map(|r| r.puid.as_str()).collect();
                match self.post(&body) {
                    Ok((status, retry_after, text)) => {
                        submit::batch_answer(status, retry_after.as_deref(), &text, &puids)
                    }
                    Err(e) => BatchAnswer::Retry { after: None, reason: format!("no answer: {e}") },
                }
            };
            let sent = pending.len();
            match answer {
                BatchAnswer::Outcomes(outcomes) => {
                    if outcomes.iter().all(|o| *o == Outcome::Resend) {
                        bail!("{endpoint} refused a batch without naming any statement of it");
                    }
                    let mut again = Vec::new();
                    for (r, outcome) in pending.into_iter().zip(outcomes) {
                        if outcome == Outcome::Resend {
                            again.push(r);
                        } else {
                            self.settle(store, out, tally, &r, &outcome)?;
                        }
                    }
                    pending = again;
                    attempt = 0;
                }
                BatchAnswer::CheckEach => {
                    let again = self.drop_existing(store, out, tally, pending)?;
                    if again.len() == sent {
                        bail!("{endpoint} answered 409 (conflict) but none of the batch's puids exists there");
                    }
                    pending = again;
                }
                BatchAnswer::Retry { after, reason } => {
                    attempt += 1;
                    if attempt >= self.max_attempts {
                        bail!(
                            "{endpoint}: gave up after {attempt} attempts ({reason}); the {} statement(s) of this \
                             batch stay `sending` and are looked up before the next run sends them",
                            pending.len()
                        );
                    }
                    eprintln!("rempart: {endpoint}: {reason}; trying again (attempt {})", attempt + 1);
                    std::thread::sleep(submit::backoff(attempt, after, self.retry_base));
                    // The lost answer may have been a 201: keep only those not there.
                    pending = self.drop_existing(store, out, tally, pending)?;
                }
                BatchAnswer::Fatal(message) => bail!("{endpoint}: {message}"),
            }
        }
        Ok(())
    }

    /// Looks each statement up; records those the database has as
    /// `existing` and returns the others.
    fn drop_existing(
        &self,
        store: &Store,
        out: &mut impl Write,
        tally: &mut Tally,
        pending: Vec<Ready>,
    ) -> Result<Vec<Ready>> {
        let mut absent = Vec::new();
        for r in pending {
            if self.exists(&r.puid)? {
                self.settle(store, out, tally, &r, &Outcome::Existing)?;
            } else {
                absent.push(r);
            }
        }
        Ok(absent)
    }

    /// Records a definite answer and prints it.
    fn settle(
        &self,
        store: &Store,
        out: &mut impl Write,
        tally: &mut Tally,
        r: &Ready,
        outcome: &Outcome,
    ) -> Result<()> {
        let (status, uuid, errors) = match outcome {
            Outcome::Accepted { uuid } => (SubmissionStatus::Accepted, uuid.clone(), None),
            Outcome::Existing => (SubmissionStatus::Existing, None, None),
            Outcome::Rejected { errors } => (SubmissionStatus::Rejected, None, Some(Value::Object(errors.clone()))),
            Outcome::Resend => return Ok(()),
        };
        // A statement found by lookup was marked before; one refused or
        // created in this run was marked just before posting.
        store.write(|tx| {
            if dsa::submission(tx, &self.base, &r.puid)?.is_none() {
                dsa::mark_sending(tx, &self.base, &r.puid, &r.decision_id, &r.digest)?;
            }
            dsa::record_answer(tx, &self.base, &r.puid, status, uuid.as_deref(), errors.as_ref())
        })?;
        match status {
            SubmissionStatus::Accepted => tally.accepted += 1,
            SubmissionStatus::Existing => tally.existing += 1,
            _ => {
                tally.rejected += 1;
                if let Some(Value::Object(fields)) = &errors {
                    for (field, messages) in fields {
                        eprintln!(
                            "decision {} (listing {}): refused by the database: field {field}: {messages}",
                            r.decision_id, r.listing_id
                        );
                    }
                }
            }
        }
        line(out, r, status.as_str(), uuid.as_deref(), errors.as_ref())
    }
}

fn seconds(text: &str) -> Option<Duration> {
    text.trim().parse::<u64>().ok().map(|s| Duration::from_secs(s.min(3600)))
}

fn line(out: &mut impl Write, r: &Ready, status: &str, uuid: Option<&str>, errors: Option<&Value>) -> Result<()> {
    writeln!(
        out,
        "{}",
        json!({"decision_id": r.decision_id, "listing_id": r.listing_id, "puid": r.puid, "status": status,
            "uuid": uuid, "errors": errors})
    )?;
    Ok(())
}
