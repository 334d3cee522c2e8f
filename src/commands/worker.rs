//! `rempart worker`: the scale-out intake, listings from NATS JetStream.

use std::time::Duration;

use anyhow::Result;

use super::serve::{seconds, ServiceArgs};

#[derive(clap::Args)]
#[command(after_help = "Takes listings (one JSON listing per message) from a NATS JetStream \
work-queue stream through a durable pull consumer that any number of workers share, screens and \
records them exactly as `POST /v1/listings` does, and publishes each decision (the same JSON as the \
API's answer) on `<decisions>.<verdict>`, deduplicated by decision id; a message that is not a \
listing is answered on `<decisions>.refused` naming the field at fault. A listing is acknowledged \
only once its decision is committed and published: a worker that stops or dies leaves it to \
another. The streams and the consumer are created if they do not exist. Several workers share \
one PostgreSQL store (`--db postgres://…`); SQLite suits a single worker.\n\n\
Runs until SIGINT or SIGTERM, then lets the store commit what is queued and signs a final tree head.\n\n\
Exit status: 0 stopped cleanly; 1 could not start (database, key file, pack, NATS).")]
pub struct Args {
    #[command(flatten)]
    pub service: ServiceArgs,
    /// NATS server address.
    #[arg(long, default_value = "nats://127.0.0.1:4222", value_name = "URL")]
    pub nats: String,
    /// The work-queue stream that holds submitted listings.
    #[arg(long, default_value = "REMPART_LISTINGS")]
    pub stream: String,
    /// The subject listings are published on.
    #[arg(long, default_value = "rempart.listings")]
    pub subject: String,
    /// The durable consumer the workers share.
    #[arg(long, default_value = "rempart-workers")]
    pub consumer: String,
    /// Subject prefix of the decisions (`<prefix>.<verdict>`, `<prefix>.refused`).
    #[arg(long, default_value = "rempart.decisions", value_name = "PREFIX")]
    pub decisions: String,
    /// The stream that keeps the decisions.
    #[arg(long, default_value = "REMPART_DECISIONS")]
    pub decisions_stream: String,
    /// Listings screened and committed together, at most (1 to 1000).
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Seconds a listing may stay unacknowledged before another worker gets it.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub ack_wait: f64,
}

pub fn run(args: Args) -> Result<u8> {
    crate::logging::init();
    let config = args.service.config(false)?;
    let stream = rempart_server::stream::StreamConfig {
        url: args.nats,
        stream: args.stream,
        subject: args.subject,
        consumer: args.consumer,
        decisions: args.decisions,
        decisions_stream: args.decisions_stream,
        batch: args.batch,
        ack_wait: seconds("ack-wait", args.ack_wait)?.max(Duration::from_secs(1)),
        submitter: "nats".into(),
    };
    eprintln!("rempart: worker on {} (stream {}, consumer {})", stream.url, stream.stream, stream.consumer);
    rempart_server::stream::run(config, stream)?;
    Ok(crate::EXIT_OK)
}
