//! `rempart keys`: API keys for the service.

use anyhow::Result;
use rempart_store::keys::{self, Role};

use super::store_args::StoreArgs;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a key; prints it as JSON, with its secret (shown this once).
    #[command(after_help = "Roles: submitter (POST listings, read decisions), reviewer (the review \
queue), auditor (reads everything, changes nothing), regulator (its own orders and the reports), notifier \
(notices: a trusted flagger's or a rights holder's tool), admin (keys and policy packs). The secret is stored only as an HMAC keyed with the key file's pepper.\n\n\
Exit status: 0 created; 1 nothing could be done.")]
    Create {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        role: Role,
        /// Who or what holds the key.
        #[arg(long, default_value = "cli")]
        label: String,
        /// Requests per minute for this key (default: the server's).
        #[arg(long)]
        rate_per_minute: Option<u32>,
        /// Print only the secret (for scripts: `KEY=$(rempart keys create … --secret-only)`).
        #[arg(long)]
        secret_only: bool,
    },
    /// List keys as JSONL (no secrets).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a key (audited); a running server refuses it within seconds.
    Revoke {
        #[command(flatten)]
        store: StoreArgs,
        key_id: String,
    },
}

pub fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Create { store, role, label, rate_per_minute, secret_only } => {
            let pepper = store.keyfile()?.pepper()?;
            let created = store.open()?.write(|tx| keys::create(tx, &pepper, role, &label, rate_per_minute, "cli"))?;
            if secret_only {
                println!("{}", created.secret);
            } else {
                println!("{}", serde_json::to_string(&created)?);
            }
            eprintln!(
                "rempart: key {} ({}) created; keep its secret, it is not shown again",
                created.key.key_id,
                role.as_str()
            );
        }
        Command::List { store } => {
            for k in store.open()?.read(keys::list)? {
                println!("{}", serde_json::to_string(&k)?);
            }
        }
        Command::Revoke { store, key_id } => {
            let k = store.open()?.write(|tx| keys::revoke(tx, &key_id, "cli"))?;
            println!("{}", serde_json::to_string(&k)?);
        }
    }
    Ok(crate::EXIT_OK)
}
