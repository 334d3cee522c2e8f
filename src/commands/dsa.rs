//! `rempart dsa …`: statements of reasons for the Transparency Database.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};

use anyhow::{Context, Result};
use rempart_dsa::validate::{Report, Severity, Validator, Violation};
use serde_json::{json, Value};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check statements of reasons against the Transparency Database's rules before sending them.
    Validate(ValidateArgs),
    /// Statements of reasons for the restrictive decisions in the store, in batches of at most 100;
    /// printed, or posted to the Transparency Database with a record of what it accepted.
    Export(super::dsa_export::ExportArgs),
    /// The quantitative tables of a transparency report (Implementing Regulation (EU) 2024/2835) for a
    /// period, from the store: CSV, JSON and HTML.
    Report(super::dsa_report::ReportArgs),
}

#[derive(clap::Args)]
#[command(after_help = "Input: one statement (a JSON object, as for POST /api/v1/statement), a batch \
({\"statements\": […]}, as for POST /api/v1/statements, at most 100), or JSONL (one statement or batch per \
line). Each violation names the field and the rule, in the database's own wording.\n\n\
Output: one JSON object per statement on stdout: {\"statement\", \"line\", \"puid\", \"valid\", \"errors\": \
[{\"field\", \"rule\", \"message\"}], \"warnings\": […]}; with --api-errors, the 422 body the database would \
answer instead. A summary goes to stderr.\n\n\
Exit status: 0 every statement is valid (warnings allowed); 2 some statements would be refused (each \
reported on stderr as `statement N: field F: rule: message`) and the others were checked; 1 the input \
could not be read.")]
pub struct ValidateArgs {
    /// Statements file, or `-` for standard input.
    #[arg(default_value = "-", value_name = "FILE")]
    pub file: String,
    /// Print the body of the HTTP 422 the database would answer (errors keyed `statement_<n>` for a batch)
    /// instead of one line per statement.
    #[arg(long)]
    pub api_errors: bool,
}

pub fn run(command: Command) -> Result<u8> {
    match command {
        Command::Validate(args) => validate(args),
        Command::Export(args) => super::dsa_export::run(args),
        Command::Report(args) => super::dsa_report::run(args),
    }
}

/// One statement's place in the input, for messages.
struct Place {
    /// 1-based position across the input.
    number: usize,
    /// Line of JSONL input, when the input is JSONL.
    line: Option<usize>,
    /// Index within a batch body.
    batch_index: Option<usize>,
}

impl Place {
    fn describe(&self) -> String {
        let mut s = format!("statement {}", self.number);
        if let Some(line) = self.line {
            s.push_str(&format!(" (line {line}"));
            if let Some(i) = self.batch_index {
                s.push_str(&format!(", statements[{i}]"));
            }
            s.push(')');
        } else if let Some(i) = self.batch_index {
            s.push_str(&format!(" (statements[{i}])"));
        }
        s
    }
}

#[derive(Default)]
struct Tally {
    statements: usize,
    invalid: usize,
    unreadable: usize,
}

fn validate(args: ValidateArgs) -> Result<u8> {
    let reader: Box<dyn Read> = if args.file == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(&args.file).with_context(|| format!("cannot open {}", args.file))?)
    };
    let mut reader = BufReader::new(reader);
    let mut out = BufWriter::new(io::stdout().lock());
    let mut validator = Validator::default();
    let mut tally = Tally::default();
    let mut api_body = serde_json::Map::new();

    // A first line that is a complete JSON value means JSONL (a compact
    // single statement is JSONL of one line); otherwise the input is one
    // pretty-printed document.
    let mut first = String::new();
    reader.read_line(&mut first).context("reading input")?;
    let first_is_value = serde_json::from_str::<Value>(first.trim()).is_ok();
    let mut emit = |place: Place, statement: Option<&Value>, report: &Report, batch_errors: &[Violation]| {
        emit_one(&mut out, &mut tally, &mut api_body, args.api_errors, place, statement, report, batch_errors)
    };
    if first_is_value {
        let mut line_no = 0usize;
        let mut line = first;
        loop {
            line_no += 1;
            if !line.trim().is_empty() {
                match serde_json::from_str::<Value>(line.trim()) {
                    Ok(value) => document(&mut validator, value, Some(line_no), &mut emit)?,
                    Err(e) => {
                        let place = Place { number: 0, line: Some(line_no), batch_index: None };
                        unreadable(&mut emit, place, &format!("not JSON: {e}"))?;
                    }
                }
            }
            line.clear();
            if reader.read_line(&mut line).context("reading input")? == 0 {
                break;
            }
        }
    } else {
        let mut text = first;
        reader.read_to_string(&mut text).context("reading input")?;
        let value: Value = serde_json::from_str(&text).context("the input is neither JSON nor JSONL")?;
        document(&mut validator, value, None, &mut emit)?;
    }
    if args.api_errors {
        let body = if api_body.is_empty() { json!({}) } else { json!({ "errors": api_body }) };
        writeln!(out, "{body}")?;
    }
    out.flush()?;
    eprintln!(
        "rempart: {} of {} statement(s) valid{}",
        tally.statements - tally.invalid,
        tally.statements,
        if tally.unreadable > 0 { format!("; {} unreadable line(s)", tally.unreadable) } else { String::new() }
    );
    Ok(if tally.invalid > 0 || tally.unreadable > 0 { crate::EXIT_INVALID_RECORDS } else { crate::EXIT_OK })
}

type Emit<'a> = dyn FnMut(Place, Option<&Value>, &Report, &[Violation]) -> Result<()> + 'a;

/// Validates one JSON document: a batch body or a single statement.
fn document(validator: &mut Validator, value: Value, line: Option<usize>, emit: &mut Emit) -> Result<()> {
    match value.get("statements") {
        Some(Value::Array(items)) => {
            let (reports, batch_errors) = validator.batch(items);
            for (i, (item, report)) in items.iter().zip(&reports).enumerate() {
                let place = Place { number: 0, line, batch_index: Some(i) };
                emit(place, Some(item), report, if i == 0 { &batch_errors } else { &[] })?;
            }
            if items.is_empty() {
                emit(Place { number: 0, line, batch_index: None }, None, &Report::default(), &batch_errors)?;
            }
            Ok(())
        }
        Some(_) => unreadable(emit, Place { number: 0, line, batch_index: None }, "`statements` must be an array"),
        None => {
            let report = validator.statement(&value);
            emit(Place { number: 0, line, batch_index: None }, Some(&value), &report, &[])
        }
    }
}

fn unreadable(emit: &mut Emit, place: Place, message: &str) -> Result<()> {
    let report = Report {
        violations: vec![Violation {
            field: "statement".into(),
            rule: "json",
            message: message.to_string(),
            severity: Severity::Error,
        }],
    };
    emit(place, None, &report, &[])
}

#[allow(clippy::too_many_arguments)]
fn emit_one(
    out: &mut impl Write,
    tally: &mut Tally,
    api_body: &mut serde_json::Map<String, Value>,
    api_errors: bool,
    mut place: Place,
    statement: Option<&Value>,
    report: &Report,
    batch_errors: &[Violation],
) -> Result<()> {
    let is_statement = statement.is_some();
    let valid = report.is_valid() && batch_errors.is_empty();
    if is_statement {
        tally.statements += 1;
        place.number = tally.statements;
        tally.invalid += usize::from(!valid);
    } else {
        // Not JSON, or a batch with nothing in it.
        tally.unreadable += 1;
    }
    let where_ = place.describe();
    for v in batch_errors.iter().chain(report.errors()) {
        let name = if is_statement { where_.clone() } else { format!("line {}", place.line.unwrap_or(0)) };
        eprintln!("{name}: field {}: {}: {}", v.field, v.rule, v.message);
    }
    if api_errors {
        let key = format!("statement_{}", place.batch_index.unwrap_or(place.number.saturating_sub(1)));
        let mut errors = report.api_errors();
        for v in batch_errors {
            errors.insert(v.field.clone(), json!([v.message]));
        }
        if !errors.is_empty() {
            api_body.insert(key, Value::Object(errors));
        }
        return Ok(());
    }
    let list = |severity: Severity| -> Vec<Value> {
        batch_errors
            .iter()
            .chain(&report.violations)
            .filter(|v| v.severity == severity)
            .map(|v| json!({"field": v.field, "rule": v.rule, "message": v.message}))
            .collect()
    };
    let line = json!({
        "statement": if is_statement { json!(place.number) } else { Value::Null },
        "line": place.line,
        "batch_index": place.batch_index,
        "puid": statement.and_then(|s| s.get("puid")).cloned().unwrap_or(Value::Null),
        "valid": valid,
        "errors": list(Severity::Error),
        "warnings": list(Severity::Warning),
    });
    writeln!(out, "{line}")?;
    Ok(())
}
