//! `rempart serve`: the HTTP service.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use rempart_store::writer::HeadPolicy;
use rempart_store::Durability;

use super::store_args::StoreArgs;

/// What every process that screens and records takes: the store, the
/// log's signing cadence, the signals, the screening deadlines.
#[derive(clap::Args)]
pub struct ServiceArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Commit durability: `full` (fsync before answering; survives power loss) or `normal`
    /// (survives a crash of the process; WAL synced at checkpoints).
    #[arg(long, default_value = "full")]
    pub durability: Durability,
    /// Sign a tree head at least this often (seconds) while the log grows.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub head_interval: f64,
    /// …or after this many new entries.
    #[arg(long, default_value_t = 10_000)]
    pub head_entries: u64,
    /// Signals configuration (hash banks, image fetching, relisting thresholds).
    #[arg(long, value_name = "FILE")]
    pub signals: Option<PathBuf>,
    /// Fetch `images[].url` (needs a `[fetch]` table in the signals config).
    #[arg(long, requires = "signals")]
    pub fetch_images: bool,
    #[command(flatten)]
    pub semantic: super::SemanticArgs,
    /// Seconds a listing waits for its images; a listing whose images have not arrived is
    /// decided without them (`image_pending` in its signal errors) and decided again, and
    /// recorded, when they arrive.
    #[arg(long, default_value_t = 0.3, value_name = "SECONDS")]
    pub image_deadline: f64,
    /// Listings downloading or waiting to download images, at most; beyond it images are not
    /// fetched and the decision says so (`image_queue_full`).
    #[arg(long, default_value_t = 10_000, value_name = "LISTINGS")]
    pub max_image_queue: usize,
    /// Seconds of screening allowed per request or batch before its listings are recorded as
    /// `review`.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub screen_timeout: f64,
    /// Cap the SQLite database at this size: past it, submissions answer 507 disk_full and
    /// nothing recorded is harmed.
    #[arg(long, value_name = "MIB")]
    pub max_db_mib: Option<u64>,
    /// Chunks of listings screened at once, at most (default: one per core). More only adds
    /// threads: screening is CPU work.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub screening_threads: Option<u32>,
}

impl ServiceArgs {
    /// The service's configuration; a SQLite database that does not exist
    /// yet is created first (unless `read_only`), as `rempart init` would.
    pub fn config(&self, read_only: bool) -> Result<rempart_server::Config> {
        let location = self.store.location();
        let key_file = self.store.key_file()?;
        if let rempart_store::Location::Sqlite(path) = &location {
            if !path.exists() && !read_only {
                let report = rempart_server::init(&location, &key_file, "rempart.local/log")?;
                eprintln!(
                    "rempart: created {} (live pack {}); the log's public key is {}",
                    path.display(),
                    report.pack_version,
                    report.vkey
                );
            }
        }
        if self.head_entries == 0 {
            anyhow::bail!("--head-entries must be at least 1");
        }
        let defaults = rempart_server::Limits::default();
        let limits = rempart_server::Limits {
            screen_timeout: seconds("screen-timeout", self.screen_timeout)?,
            image_deadline: seconds("image-deadline", self.image_deadline)?,
            max_image_queue: self.max_image_queue,
            screening_threads: self.screening_threads.map_or(defaults.screening_threads, |n| n as usize),
            ..defaults
        };
        Ok(rempart_server::Config {
            db: location,
            key_file,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            durability: self.durability,
            heads: HeadPolicy { every: seconds("head-interval", self.head_interval)?, entries: self.head_entries },
            limits,
            signals: self.signals.clone(),
            fetch_images: self.fetch_images,
            people: rempart_server::People::default(),
            read_only,
            max_db_bytes: self.max_db_mib.map(|m| m << 20),
            semantic_model: super::load_semantic_model(&self.semantic),
        })
    }
}

#[derive(clap::Args)]
#[command(after_help = "Serves the API (see GET /openapi.json) until SIGINT or SIGTERM, then finishes \
requests in flight and signs a final tree head. A SQLite database that does not exist yet is created \
first, as `rempart init` would. Every route but /healthz and the published audit log \
(/v1/audit/head, /v1/audit/heads, /v1/audit/consistency, /v1/audit/keys) needs an API key: create one \
with `rempart keys create`.\n\n\
The review console is at /console on the same address (log in with a reviewer key).\n\n\
Exit status: 0 stopped cleanly; 1 could not start (database, key file, pack, address).")]
pub struct Args {
    #[command(flatten)]
    pub service: ServiceArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Largest request body, in MiB.
    #[arg(long, default_value_t = 16, value_name = "MIB")]
    pub max_body_mib: usize,
    /// Requests per minute per key, unless the key sets its own (0: unlimited).
    #[arg(long, default_value_t = 600_000)]
    pub rate_per_minute: u32,
    /// Where the outcomes of notices and orders are POSTed (JSON, signed with
    /// `Rempart-Signature: t=…,v1=<HMAC-SHA256>`), retried with backoff.
    #[arg(long, value_name = "URL", requires = "notice_webhook_secret_file")]
    pub notice_webhook: Option<String>,
    /// File holding the webhook's HMAC secret (its bytes, trailing newline removed).
    #[arg(long, value_name = "FILE", requires = "notice_webhook")]
    pub notice_webhook_secret_file: Option<PathBuf>,
    /// First retry of a failed delivery after this many seconds; each next one twice as late (at most an hour).
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub webhook_retry: f64,
    /// Attempts per delivery before it is marked failed.
    #[arg(long, default_value_t = 10)]
    pub webhook_attempts: u32,
    /// Serve reads only (a replica publishing the log and proofs); writes answer 503 read_only.
    #[arg(long)]
    pub read_only: bool,
}

pub fn seconds(name: &str, v: f64) -> Result<Duration> {
    if !(v.is_finite() && v > 0.0 && v <= 86_400.0) {
        anyhow::bail!("--{name}: {v} is not a number of seconds between 0 and 86400");
    }
    Ok(Duration::from_secs_f64(v))
}

pub fn run(args: Args) -> Result<u8> {
    crate::logging::init();
    let mut config = args.service.config(args.read_only)?;
    if args.max_body_mib == 0 || args.max_body_mib > 1024 {
        anyhow::bail!("--max-body-mib: {} is not between 1 and 1024", args.max_body_mib);
    }
    config.listen = args.listen;
    config.limits.max_body_bytes = args.max_body_mib << 20;
    config.limits.default_rate_per_minute = args.rate_per_minute;
    let webhook = match (&args.notice_webhook, &args.notice_webhook_secret_file) {
        (Some(url), Some(file)) => {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                anyhow::bail!("--notice-webhook: `{url}` is not an http(s) URL");
            }
            let secret =
                std::fs::read(file).with_context(|| format!("--notice-webhook-secret-file {}", file.display()))?;
            let secret = secret.strip_suffix(b"\n").unwrap_or(&secret).to_vec();
            if secret.len() < 16 {
                anyhow::bail!("--notice-webhook-secret-file {}: at least 16 bytes of secret", file.display());
            }
            Some(rempart_server::Webhook { url: url.clone(), secret })
        }
        _ => None,
    };
    if args.webhook_attempts == 0 || args.webhook_attempts > 100 {
        anyhow::bail!("--webhook-attempts: {} is not between 1 and 100", args.webhook_attempts);
    }
    let retries = rempart_server::Retries {
        first_retry: seconds("webhook-retry", args.webhook_retry)?,
        max_attempts: args.webhook_attempts,
        ..rempart_server::Retries::default()
    };
    config.people = rempart_server::People { webhook, retries };
    rempart_server::run(config)?;
    Ok(crate::EXIT_OK)
}
