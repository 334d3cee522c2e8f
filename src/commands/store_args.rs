//! Where the record lives: shared by every command that opens the store.

use std::path::PathBuf;

use anyhow::{Context, Result};
use rempart_store::{Location, OpenOptions, Store};

#[derive(clap::Args, Clone, Debug)]
pub struct StoreArgs {
    /// The database: a SQLite file path, or a postgres:// URL.
    #[arg(long, value_name = "PATH|URL", env = "REMPART_DB", default_value = "rempart.db")]
    pub db: String,
    /// The key file holding the log's signing key and the API-key pepper
    /// (default: `<db>.keys` beside a SQLite file; required for PostgreSQL).
    #[arg(long, value_name = "FILE", env = "REMPART_KEY_FILE")]
    pub key_file: Option<PathBuf>,
}

impl StoreArgs {
    pub fn location(&self) -> Location {
        Location::parse(&self.db)
    }

    pub fn key_file(&self) -> Result<PathBuf> {
        match (&self.key_file, self.location().default_key_file()) {
            (Some(p), _) => Ok(p.clone()),
            (None, Some(p)) => Ok(p),
            (None, None) => anyhow::bail!("--key-file is required with a PostgreSQL database"),
        }
    }

    /// Opens an existing, migrated store.
    pub fn open(&self) -> Result<Store> {
        let location = self.location();
        let store = Store::open(&location, &OpenOptions::default())
            .with_context(|| format!("opening {}", location.display()))?;
        store.check_schema()?;
        Ok(store)
    }

    pub fn keyfile(&self) -> Result<rempart_store::keyfile::KeyFile> {
        Ok(rempart_store::keyfile::KeyFile::load(&self.key_file()?)?)
    }
}
