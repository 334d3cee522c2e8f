//! A catalogue sweep's report: what a regulator (or the platform itself)
//! gets from screening a whole catalogue dump in one pass.
//!
//! [`Sweep`] owns a report folder. Screened listings come in in input
//! order ([`Sweep::record`]); counts are kept in memory (bounded by the
//! number of policies, territories and sellers, not by rows) and every
//! flagged listing is streamed to `flagged.jsonl` and `flagged.csv` as it
//! is met. [`Sweep::checkpoint`] saves the counts and the files' lengths
//! atomically, so an interrupted sweep resumes where the last checkpoint
//! was taken, truncating rows written after it: no gap, no duplicate.
//! [`Sweep::finish`] writes the count tables (CSV), `summary.json` and
//! the HTML report.
//!
//! | file | content |
//! | --- | --- |
//! | `index.html` (+ `flagged-N.html`) | the report: counts, charts (inline SVG), top sellers, every flagged listing with its evidence highlighted |
//! | `flagged.csv` | one row per flagged listing: verdict, policies, rules, legal basis, evidence |
//! | `flagged.jsonl` | the same with the full matches, one JSON object per line |
//! | `by_policy.csv`, `by_verdict.csv`, `by_territory.csv`, `sellers.csv` | the counts |
//! | `invalid.csv` | every row that could not be read, with line, field and reason |
//! | `summary.json` | the counts, the pack and engine versions, the input |
//! | `checkpoint.json` | progress of a run (kept when done, marked `done`) |

pub mod html;
pub mod svg;
mod tally;

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rempart_core::{Action, Decision, Listing, RuleMatch};
use serde::{Deserialize, Serialize};

pub use tally::{PolicyCounts, SellerCounts, Tally, VerdictCounts};

/// Where the listings came from, to refuse resuming a different file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputIdentity {
    pub path: String,
    pub bytes: u64,
    /// Modification time, seconds since the epoch.
    pub modified: u64,
}

impl InputIdentity {
    /// The identity of a file on disk (`-` for standard input).
    pub fn of(path: &str) -> std::io::Result<InputIdentity> {
        if path == "-" {
            return Ok(InputIdentity { path: "-".into(), bytes: 0, modified: 0 });
        }
        let meta = std::fs::metadata(path)?;
        let modified =
            meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs());
        Ok(InputIdentity { path: path.to_string(), bytes: meta.len(), modified })
    }
}

/// What the report says about the run itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    pub input: InputIdentity,
    pub pack_name: String,
    pub pack_version: String,
    pub engine_version: String,
    /// The command that reproduces the sweep.
    pub command: String,
    /// RFC 3339 time the sweep started (first run, when resumed).
    pub started_at: String,
}

/// The saved state of a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Checkpoint {
    format: u32,
    run: RunInfo,
    /// Source units (JSONL lines, CSV records) consumed.
    position: u64,
    tally: Tally,
    /// Lengths of the streamed files at the checkpoint.
    flagged_jsonl: u64,
    flagged_csv: u64,
    invalid_csv: u64,
    done: bool,
    updated_at: String,
}

const CHECKPOINT_FORMAT: u32 = 1;

/// What one screened listing contributes, computed on the worker thread
/// so the in-order part of the sweep stays cheap.
#[derive(Clone, Debug)]
pub struct Screened {
    pub seller: Option<String>,
    pub ship_to: Vec<String>,
    pub verdict: Action,
    pub signal_errors: usize,
    /// Set when the verdict is not `allow`.
    pub flagged: Option<Flagged>,
}

/// A flagged listing as `flagged.jsonl` keeps it: the decision's matches
/// and the text of every field its evidence points into.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flagged {
    pub line: u64,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller: Option<String>,
    pub verdict: Action,
    pub title: String,
    pub matches: Vec<RuleMatch>,
    /// Field name → original text, for the fields evidence points into
    /// (capped at [`FIELD_TEXT_CAP`] bytes).
    pub fields: Vec<(String, String)>,
}

/// Bytes of a field's text kept for highlighting evidence in context.
pub const FIELD_TEXT_CAP: usize = 16 * 1024;

impl Screened {
    /// Summarises one decision; `line` is where the listing was read.
    pub fn new(line: u64, listing: &Listing, decision: &Decision) -> Screened {
        let seller = listing.seller.as_ref().and_then(|s| s.id.clone());
        let flagged = (decision.verdict != Action::Allow).then(|| Flagged {
            line,
            id: decision.id.clone(),
            seller: seller.clone(),
            verdict: decision.verdict,
            title: listing.title.clone(),
            matches: decision.matches.clone(),
            fields: evidence_fields(listing, &decision.matches),
        });
        Screened {
            seller,
            ship_to: listing.ship_to.clone(),
            verdict: decision.verdict,
            signal_errors: decision.signal_errors.len(),
            flagged,
        }
    }
}

/// The text of each listing field that evidence points into.
fn evidence_fields(listing: &Listing, matches: &[RuleMatch]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for e in matches.iter().flat_map(|m| &m.evidence) {
        if out.iter().any(|(f, _)| *f == e.field) {
            continue;
        }
        let text = match e.field.as_str() {
            "title" => Some(listing.title.as_str()),
            "description" => listing.description.as_deref(),
            "category" => listing.category.as_deref(),
            other => other
                .strip_prefix("attributes.")
                .and_then(|key| listing.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())),
        };
        if let Some(text) = text {
            out.push((e.field.clone(), cap(text, FIELD_TEXT_CAP).to_string()));
        }
    }
    out
}

/// `text` cut to at most `max` bytes on a character boundary.
pub fn cap(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{0}")]
    Resume(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SweepError + '_ {
    move |source| SweepError::Io { path: path.display().to_string(), source }
}

/// How a sweep starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Continue from the folder's checkpoint if there is one.
    Resume,
    /// Discard any earlier state in the folder.
    Fresh,
}

/// A sweep in progress, owning its report folder.
pub struct Sweep {
    dir: PathBuf,
    run: RunInfo,
    tally: Tally,
    position: u64,
    flagged_jsonl: BufWriter<File>,
    flagged_csv: csv::Writer<BufWriter<File>>,
    invalid_csv: csv::Writer<BufWriter<File>>,
    resumed_from: Option<u64>,
}

const FLAGGED_JSONL: &str = "flagged.jsonl";
const FLAGGED_CSV: &str = "flagged.csv";
const INVALID_CSV: &str = "invalid.csv";
const CHECKPOINT: &str = "checkpoint.json";

impl Sweep {
    /// Opens (or creates) the report folder. With [`Start::Resume`] and a
    /// checkpoint of the same input and pack, counts and files continue
    /// from it; a checkpoint of another input or pack is an error.
    pub fn open(dir: &Path, run: RunInfo, start: Start) -> Result<Sweep, SweepError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let checkpoint_path = dir.join(CHECKPOINT);
        let previous = match (start, checkpoint_path.exists()) {
            (Start::Resume, true) => Some(read_checkpoint(&checkpoint_path)?),
            _ => None,
        };
        if let Some(cp) = &previous {
            if cp.run.input.path == "-" && !cp.done {
                return Err(SweepError::Resume(format!(
                    "{} holds an interrupted sweep of standard input, which cannot be read again: use --restart",
                    dir.display()
                )));
            }
            if cp.run.input != run.input {
                return Err(SweepError::Resume(format!(
                    "{} holds a sweep of {} ({} bytes); this input is {} ({} bytes): use another folder or --restart",
                    dir.display(),
                    cp.run.input.path,
                    cp.run.input.bytes,
                    run.input.path,
                    run.input.bytes
                )));
            }
            if cp.run.pack_version != run.pack_version {
                return Err(SweepError::Resume(format!(
                    "{} was swept with policy pack {}; this run uses {}: use another folder or --restart",
                    dir.display(),
                    cp.run.pack_version,
                    run.pack_version
                )));
            }
            if cp.done {
                return Err(SweepError::Resume(format!(
                    "{} already holds a finished sweep of this input: use --restart to sweep again",
                    dir.display()
                )));
            }
        }
        let (tally, position, lengths, run) = match previous {
            Some(cp) => {
                let run = RunInfo { started_at: cp.run.started_at.clone(), ..run };
                (cp.tally, cp.position, Some((cp.flagged_jsonl, cp.flagged_csv, cp.invalid_csv)), run)
            }
            None => (Tally::default(), 0, None, run),
        };
        let open = |name: &str, keep: Option<u64>| -> Result<File, SweepError> {
            let path = dir.join(name);
            let file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(keep.is_none())
                .open(&path)
                .map_err(io_err(&path))?;
            if let Some(len) = keep {
                // Rows written after the checkpoint are written again.
                file.set_len(len).map_err(io_err(&path))?;
            }
            let mut file = file;
            use std::io::Seek;
            file.seek(std::io::SeekFrom::End(0)).map_err(io_err(&path))?;
            Ok(file)
        };
        let flagged_jsonl = BufWriter::new(open(FLAGGED_JSONL, lengths.map(|l| l.0))?);
        let csv_file = open(FLAGGED_CSV, lengths.map(|l| l.1))?;
        let invalid_file = open(INVALID_CSV, lengths.map(|l| l.2))?;
        let fresh = lengths.is_none();
        let mut flagged_csv = csv::Writer::from_writer(BufWriter::new(csv_file));
        let mut invalid_csv = csv::Writer::from_writer(BufWriter::new(invalid_file));
        if fresh {
            let csv_err = |e: csv::Error| SweepError::Io { path: dir.display().to_string(), source: e.into() };
            flagged_csv.write_record(FLAGGED_COLUMNS).map_err(csv_err)?;
            invalid_csv.write_record(["line", "field", "error"]).map_err(csv_err)?;
        }
        Ok(Sweep {
            dir: dir.to_path_buf(),
            run,
            tally,
            position,
            flagged_jsonl,
            flagged_csv,
            invalid_csv,
            resumed_from: (!fresh).then_some(position),
        })
    }

    /// The source position to resume from (0 for a fresh sweep).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Where an earlier run was interrupted, when this one resumes it.
    pub fn resumed_from(&self) -> Option<u64> {
        self.resumed_from
    }

    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// Counts one screened listing and streams it if flagged.
    pub fn record(&mut self, item: &Screened) -> Result<(), SweepError> {
        self.tally.add(item);
        if let Some(flagged) = &item.flagged {
            let path = self.dir.join(FLAGGED_JSONL);
            serde_json::to_writer(&mut self.flagged_jsonl, flagged)
                .map_err(|e| SweepError::Io { path: path.display().to_string(), source: e.into() })?;
            self.flagged_jsonl.write_all(b"\n").map_err(io_err(&path))?;
            self.flagged_csv.write_record(flagged_row(flagged)).map_err(|e| SweepError::Io {
                path: self.dir.join(FLAGGED_CSV).display().to_string(),
                source: e.into(),
            })?;
        }
        Ok(())
    }

    /// Counts a row that could not be read.
    pub fn invalid(&mut self, line: u64, field: Option<&str>, message: &str) -> Result<(), SweepError> {
        self.tally.invalid += 1;
        self.invalid_csv
            .write_record([line.to_string().as_str(), field.unwrap_or(""), message])
            .map_err(|e| SweepError::Io { path: self.dir.join(INVALID_CSV).display().to_string(), source: e.into() })
    }

    /// Saves progress: everything recorded so far corresponds to input
    /// position `position`.
    pub fn checkpoint(&mut self, position: u64) -> Result<(), SweepError> {
        self.position = position;
        self.save(false)
    }

    fn save(&mut self, done: bool) -> Result<(), SweepError> {
        let dir = self.dir.clone();
        let flush = |w: &mut dyn Write, name: &str| w.flush().map_err(io_err(&dir.join(name)));
        flush(&mut self.flagged_jsonl, FLAGGED_JSONL)?;
        self.flagged_csv.flush().map_err(io_err(&dir.join(FLAGGED_CSV)))?;
        self.invalid_csv.flush().map_err(io_err(&dir.join(INVALID_CSV)))?;
        let len = |name: &str| std::fs::metadata(dir.join(name)).map(|m| m.len()).map_err(io_err(&dir.join(name)));
        let checkpoint = Checkpoint {
            format: CHECKPOINT_FORMAT,
            run: self.run.clone(),
            position: self.position,
            tally: self.tally.clone(),
            flagged_jsonl: len(FLAGGED_JSONL)?,
            flagged_csv: len(FLAGGED_CSV)?,
            invalid_csv: len(INVALID_CSV)?,
            done,
            updated_at: now_rfc3339(),
        };
        write_atomically(&dir.join(CHECKPOINT), &serde_json::to_vec(&checkpoint).unwrap_or_default())
    }

    /// Writes the count tables, `summary.json` and the HTML report, and
    /// marks the checkpoint done. `flagged_per_page` sets how many
    /// flagged listings each HTML page shows.
    pub fn finish(mut self, position: u64, flagged_per_page: usize) -> Result<Summary, SweepError> {
        self.position = position;
        self.save(false)?;
        let summary = Summary { run: self.run.clone(), tally: self.tally.clone() };
        tally::write_tables(&self.dir, &self.tally)?;
        let summary_path = self.dir.join("summary.json");
        write_atomically(&summary_path, &serde_json::to_vec_pretty(&summary.to_json()).unwrap_or_default())?;
        html::write_report(&self.dir, &summary, &self.dir.join(FLAGGED_JSONL), flagged_per_page.max(1))?;
        self.save(true)?;
        Ok(summary)
    }
}

/// Counts and run information: the content of `summary.json`.
#[derive(Clone, Debug)]
pub struct Summary {
    pub run: RunInfo,
    pub tally: Tally,
}

impl Summary {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "input": self.run.input,
            "pack": {"name": self.run.pack_name, "version": self.run.pack_version},
            "engine_version": self.run.engine_version,
            "command": self.run.command,
            "started_at": self.run.started_at,
            "listings": self.tally.listings,
            "invalid": self.tally.invalid,
            "flagged": self.tally.flagged(),
            "by_verdict": self.tally.by_verdict,
            "by_policy": self.tally.by_policy,
            "signal_errors": self.tally.signal_errors,
            "sellers": self.tally.sellers.len(),
        })
    }
}

/// Columns of `flagged.csv`.
pub const FLAGGED_COLUMNS: [&str; 12] = [
    "line",
    "id",
    "seller",
    "verdict",
    "policy",
    "rule",
    "action",
    "condition",
    "legal_basis",
    "scope",
    "missing",
    "evidence",
];

/// One `flagged.csv` row: the match that set the verdict in the
/// policy/rule/action columns, every match in `rule` and `evidence`.
fn flagged_row(f: &Flagged) -> Vec<String> {
    let main = f.matches.first();
    let rules: Vec<String> = f.matches.iter().map(|m| format!("{}/{} ({})", m.policy, m.rule, m.action)).collect();
    let evidence: Vec<String> = f
        .matches
        .iter()
        .flat_map(|m| &m.evidence)
        .map(|e| {
            let mut s = format!("{}: \"{}\" [{}]", e.field, cap(&e.text, 200), e.signal);
            if let Some(d) = &e.detail {
                s.push_str(&format!(" {d}"));
            }
            s
        })
        .collect();
    let missing: Vec<&str> = f.matches.iter().flat_map(|m| m.missing.iter().map(String::as_str)).collect();
    vec![
        f.line.to_string(),
        f.id.clone(),
        f.seller.clone().unwrap_or_default(),
        f.verdict.to_string(),
        main.map(|m| m.policy.clone()).unwrap_or_default(),
        rules.join("; "),
        main.map(|m| m.action.to_string()).unwrap_or_default(),
        main.and_then(|m| m.condition).map(|c| condition_name(c).to_string()).unwrap_or_default(),
        main.map(|m| m.legal_basis.clone()).unwrap_or_default(),
        main.map(|m| m.scope.join(" ")).unwrap_or_default(),
        missing.join(" "),
        evidence.join(" | "),
    ]
}

/// A condition as the decision JSON writes it.
pub fn condition_name(c: rempart_core::Condition) -> String {
    serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn read_checkpoint(path: &Path) -> Result<Checkpoint, SweepError> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let cp: Checkpoint = serde_json::from_slice(&bytes)
        .map_err(|e| SweepError::Resume(format!("{}: not a sweep checkpoint ({e}); use --restart", path.display())))?;
    if cp.format != CHECKPOINT_FORMAT {
        return Err(SweepError::Resume(format!(
            "{}: checkpoint format {} is not {CHECKPOINT_FORMAT}",
            path.display(),
            cp.format
        )));
    }
    Ok(cp)
}

/// Writes a file so that a crash leaves either the old or the new content.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SweepError> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// The current time, RFC 3339, UTC.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
