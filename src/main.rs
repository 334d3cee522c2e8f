//! `rempart`: the command-line shell over `rempart-core`. No business rule
//! lives here: commands read input, call the gate, and write output.

mod commands;
mod input;
mod logging;
mod progress;
mod stdio;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status when every record was processed.
pub const EXIT_OK: u8 = 0;
/// Exit status when nothing could be done (unreadable input, invalid pack).
pub const EXIT_FATAL: u8 = 1;
/// Exit status when some input records were invalid (each reported on
/// stderr) but every valid record was processed.
pub const EXIT_INVALID_RECORDS: u8 = 2;
/// Exit status when policy test cases fail or lint finds problems.
pub const EXIT_CHECKS_FAILED: u8 = 4;
/// Exit status when the command line is wrong (unknown flag, bad value,
/// extra argument): BSD `sysexits.h` EX_USAGE, distinct from 2 so that a
/// typo is never read as "some records were invalid".
pub const EXIT_USAGE: u8 = 64;

#[derive(Parser)]
#[command(
    name = "rempart",
    version,
    about = "Pre-publication compliance gate for online marketplaces",
    long_about = "Screens product listings against a policy pack (the embedded FR/EU pack by default) \
and answers allow / restrict / review / block with the rule, the legal basis and the exact evidence.",
    after_help = "Exit status: 0 every record was decided; 2 some input records were invalid (each reported \
on stderr as `line N: field F: what is wrong`) but every valid record was decided; 1 nothing could be done \
or the output could not be written (unreadable or closed input, closed or full output, invalid policy \
pack, invalid signals config); 4 policy test cases failed; 5 an audit log or proof does not verify \
(`audit verify`, `audit check-proof`, `audit watch`); 64 the command line is wrong (unknown flag, bad \
value, extra argument). For `hash` and `bank check`, 2 means some images or bank lines could not be used \
(each reported) and the others were."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Screen listings: one JSON decision per listing on stdout, in input order.
    Screen(commands::screen::Args),
    /// Screen listings and explain each decision for a person.
    Explain(commands::explain::Args),
    /// Check a policy pack: run its test cases, lint it, list its terms.
    #[command(subcommand)]
    Policy(commands::policy::Command),
    /// Measure a pack on labelled listings: precision, recall, confusion matrix.
    Eval(commands::eval::Args),
    /// PDQ perceptual hashes of image files, in the reference tool's format.
    Hash(commands::hash::Args),
    /// Check PDQ hash-bank files before using them.
    #[command(subcommand)]
    Bank(commands::bank::Command),
    /// Manage the removed-listings index (relisting detection).
    #[command(subcommand)]
    Removed(commands::removed::Command),
    /// Screen a whole catalogue dump and write a report (HTML + CSV); resumable.
    Sweep(commands::sweep::Args),
    /// DSA statements of reasons: check them against the Transparency Database's rules, export and send them.
    #[command(subcommand)]
    Dsa(commands::dsa::Command),
    /// Evidence bundles for a court file: one listing's record, verifiable offline.
    #[command(subcommand)]
    Evidence(commands::evidence::Command),
    /// Create the database, the audit log's signing key and the live pack.
    Init(commands::init::Args),
    /// Run the HTTP service: screen and record listings, publish the audit log.
    Serve(commands::serve::Args),
    /// Scale-out intake: screen and record listings from NATS JetStream, publish the decisions.
    Worker(commands::worker::Args),
    /// Manage API keys for the service.
    #[command(subcommand)]
    Keys(commands::keys::Command),
    /// Check the tamper-evident audit log: verify it, prove an entry, watch it from outside.
    #[command(subcommand)]
    Audit(commands::audit::Command),
    /// Policy lifecycle on the database: upload, activate, shadow.
    #[command(subcommand)]
    Pack(commands::pack::Command),
    /// Reports on a pack running in shadow.
    #[command(subcommand)]
    Shadow(commands::shadow::Command),
}

/// Options shared by every command that needs a policy pack.
#[derive(clap::Args, Clone, Debug)]
pub struct PackArgs {
    /// Policy pack folder to use instead of the embedded FR/EU pack.
    #[arg(long, value_name = "DIR")]
    pub policy: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout and succeed; anything else is
            // a usage error.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    if stdio::stdout_was_closed() {
        eprintln!("rempart: standard output is closed: every result would be lost");
        return ExitCode::from(EXIT_FATAL);
    }
    let result = match cli.command {
        Command::Screen(args) => commands::screen::run(args),
        Command::Explain(args) => commands::explain::run(args),
        Command::Policy(cmd) => commands::policy::run(cmd),
        Command::Eval(args) => commands::eval::run(args),
        Command::Hash(args) => commands::hash::run(args),
        Command::Bank(cmd) => commands::bank::run(cmd),
        Command::Removed(cmd) => commands::removed::run(cmd),
        Command::Sweep(args) => commands::sweep::run(args),
        Command::Dsa(cmd) => commands::dsa::run(cmd),
        Command::Evidence(cmd) => commands::evidence::run(cmd),
        Command::Init(args) => commands::init::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Worker(args) => commands::worker::run(args),
        Command::Keys(cmd) => commands::keys::run(cmd),
        Command::Audit(cmd) => commands::audit::run(cmd),
        Command::Pack(cmd) => commands::pack::run(cmd),
        Command::Shadow(cmd) => commands::shadow::run(cmd),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("rempart: {e:#}");
            ExitCode::from(EXIT_FATAL)
        }
    }
}
