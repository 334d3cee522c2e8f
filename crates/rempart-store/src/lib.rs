//! The record stage of rempart: where decisions become durable,
//! attributable and verifiable (DESIGN.md, "The record").
//!
//! One [`Store`] over one [`Backend`] trait: SQLite embedded by default,
//! PostgreSQL for scale-out, the same SQL and the same test suite for both.
//! Every decision, review action, policy activation and key change is a
//! leaf of an append-only Merkle log ([`audit`]); the decision record *is*
//! its audit entry, so rewriting a decision breaks the tree.
//!
//! The store makes no decisions: it is handed decisions made by the pure
//! pipeline and records them. Writers are serialised by the database
//! (SQLite's write lock, a row lock on `audit_state` in PostgreSQL), so
//! several processes may share one PostgreSQL database.

pub mod appeals;
pub mod audit;
pub mod backend;
pub mod dsa;
pub mod idempotency;
pub mod keyfile;
pub mod keys;
pub mod notices;
pub mod outcomes;
pub mod packs;
pub mod records;
pub mod removed;
pub mod reviews;
pub mod sellers;
pub mod statements;
pub mod time;
pub mod traders;
pub mod verify;
pub mod writer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub use backend::sqlite::{memory_in_use as sqlite_memory_in_use, Durability};
pub use backend::{Backend, Dialect, Row, Value};

/// What can go wrong in the store. Variants the operator must act on
/// (disk full, read-only, not initialised) are distinct.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database not initialised: {0}")]
    NotInitialised(String),
    #[error("the disk is full: {0}")]
    DiskFull(String),
    #[error("the database is read-only: {0}")]
    ReadOnly(String),
    #[error("the database is corrupt: {0}")]
    Corrupt(String),
    #[error("the database is busy: {0}")]
    Busy(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller may not do this to this item (not a role question: a
    /// reviewer who decided an item cannot also confirm it).
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("database schema: {0}")]
    Schema(String),
    #[error("audit log: {0}")]
    Audit(String),
    #[error("key file {path}: {message}")]
    KeyFile { path: String, message: String },
    #[error("database: {0}")]
    Backend(String),
}

/// Where the database is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
}

impl Location {
    /// `postgres://…` / `postgresql://…` is PostgreSQL; anything else
    /// (optionally `sqlite:`-prefixed) is a SQLite file path.
    pub fn parse(s: &str) -> Location {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Location::Postgres(s.to_string())
        } else {
            Location::Sqlite(PathBuf::from(s.strip_prefix("sqlite:").unwrap_or(s)))
        }
    }

    /// The key file beside a SQLite database (`<db>.keys`); PostgreSQL
    /// needs one named explicitly.
    pub fn default_key_file(&self) -> Option<PathBuf> {
        match self {
            Location::Sqlite(p) => {
                let mut s = p.clone().into_os_string();
                s.push(".keys");
                Some(PathBuf::from(s))
            }
            Location::Postgres(_) => None,
        }
    }

    /// For messages: never prints a password.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(url) => match url.split_once('@') {
                Some((head, tail)) => {
                    let scheme_end = head.find("://").map_or(0, |i| i + 3);
                    let user = head[scheme_end..].split(':').next().unwrap_or("");
                    format!("{}{user}@{tail}", &head[..scheme_end])
                }
                None => url.clone(),
            },
        }
    }
}

/// Options for opening a store.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    pub durability: Durability,
    /// Create the database file if missing (`init` only).
    pub create: bool,
    /// Refuse every write (a read-only replica serving the log and
    /// proofs): writes fail with [`StoreError::ReadOnly`].
    pub read_only: bool,
    /// Cap the SQLite file at this many bytes: past it, writes fail with
    /// [`StoreError::DiskFull`] exactly as on a full disk, and nothing
    /// already written is harmed.
    pub max_bytes: Option<u64>,
}

type Connector = dyn Fn() -> Result<Box<dyn Backend>, StoreError> + Send + Sync;

/// A handle on the database: a small pool of connections, shareable
/// across threads (`Clone` is cheap).
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    location: Location,
    dialect: Dialect,
    connect: Box<Connector>,
    idle: Mutex<Vec<Box<dyn Backend>>>,
    /// The connection writes go through, kept apart from the readers'.
    /// Why: an SQLite connection drops its whole page cache when it begins
    /// a transaction on a database another connection changed. A writer
    /// that took whichever pooled connection a reader had just returned
    /// started every transaction cold and read back the pages of the
    /// indexes it was about to extend (`pread` was a sixth of the writer
    /// thread's time under load). Writing through one connection, which
    /// only it changes, keeps its cache warm from one commit to the next.
    writing: Mutex<Option<Box<dyn Backend>>>,
    /// A checkpointer thread copies the write-ahead log into the database
    /// ([`Store::checkpoint`]), so that committing does not.
    background_checkpoints: AtomicBool,
    audit_cache: Mutex<Option<audit::Cache>>,
}

/// A transaction: portable SQL with `?N` placeholders.
pub struct Tx<'a> {
    conn: &'a mut dyn Backend,
    audit_cache: &'a Mutex<Option<audit::Cache>>,
    /// Set when the database rolled the whole transaction back on its own
    /// (SQLite does on a full disk): nothing of it may be committed.
    aborted: Option<StoreError>,
    /// The tree as this transaction moved it, read at its first append and
    /// written to `audit_state` once, before the commit: a group commit of
    /// n listings reads and writes the state row once, not n times.
    audit: Option<audit::Pending>,
}

impl Tx<'_> {
    pub fn dialect(&self) -> Dialect {
        self.conn.dialect()
    }

    /// Fails once the database has abandoned the transaction: a statement
    /// run now would start a new one behind the caller's back.
    fn live(&self) -> Result<(), StoreError> {
        self.aborted.clone().map_or(Ok(()), Err)
    }

    pub fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        self.live()?;
        self.conn.execute(sql, params)
    }

    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        self.live()?;
        self.conn.query(sql, params)
    }

    /// The first row, if any.
    pub fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, StoreError> {
        Ok(self.conn.query(sql, params)?.into_iter().next())
    }

    /// Exactly one row, or `NotFound(what)`.
    pub fn query_one(&mut self, sql: &str, params: &[Value], what: &str) -> Result<Row, StoreError> {
        self.query_opt(sql, params)?.ok_or_else(|| StoreError::NotFound(what.to_string()))
    }

    /// Runs `f` inside a savepoint: its writes are undone if it fails,
    /// the transaction's other work stands (group commit of unrelated jobs).
    pub fn savepoint<T>(&mut self, f: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.live()?;
        self.conn.savepoint_statement("SAVEPOINT job")?;
        // The tree lives in memory until the commit: the undone appends
        // must leave it too, so it is put back as it was.
        let tree_before = self.audit.clone();
        match f(self) {
            Ok(v) => {
                self.live()?;
                self.conn.savepoint_statement("RELEASE SAVEPOINT job")?;
                Ok(v)
            }
            Err(e) => {
                self.audit = tree_before;
                let undone = self
                    .conn
                    .savepoint_statement("ROLLBACK TO SAVEPOINT job")
                    .and_then(|()| self.conn.savepoint_statement("RELEASE SAVEPOINT job"));
                if undone.is_err() && self.aborted.is_none() {
                    // The savepoint is gone: the database abandoned the
                    // whole transaction (disk full, I/O error).
                    self.aborted = Some(e.clone());
                }
                Err(e)
            }
        }
    }

    pub(crate) fn audit_cache(&self) -> &Mutex<Option<audit::Cache>> {
        self.audit_cache
    }

    pub(crate) fn audit_pending(&mut self) -> &mut Option<audit::Pending> {
        &mut self.audit
    }
}

/// The migrations this build knows, in order. They are applied by number,
/// each one the database lacks (not only those above its highest): work
/// on separate branches numbers its migrations ahead of time, and a
/// database migrated by a build with 1 and 3 still gets 2 later.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "record", include_str!("../migrations/0001_record.sql")),
    (2, "people", include_str!("../migrations/0002_people.sql")),
    (3, "dsa", include_str!("../migrations/0003_dsa.sql")),
    (4, "review_counts", include_str!("../migrations/0004_review_counts.sql")),
];

/// The schema version this build writes (its highest migration).
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Numbers of the migrations this build knows that are not in `applied`.
fn missing_migrations(applied: &[i64]) -> Vec<i64> {
    MIGRATIONS.iter().map(|(v, _, _)| *v).filter(|v| !applied.contains(v)).collect()
}

impl Store {
    /// Opens the database at `location`. Fails with `NotInitialised` when
    /// it has no schema (see [`Store::migrate`]).
    pub fn open(location: &Location, options: &OpenOptions) -> Result<Store, StoreError> {
        let (dialect, connect): (Dialect, Box<Connector>) = match location {
            Location::Sqlite(path) => {
                if !options.create && !path.exists() {
                    return Err(StoreError::NotInitialised(format!(
                        "{}: no database here (run `rempart init --db {}`)",
                        path.display(),
                        path.display()
                    )));
                }
                let path = path.clone();
                let options = options.clone();
                (
                    Dialect::Sqlite,
                    Box::new(move || Ok(Box::new(backend::sqlite::Sqlite::open(&path, &options)?) as Box<dyn Backend>)),
                )
            }
            #[cfg(feature = "postgres")]
            Location::Postgres(url) => {
                let url = url.clone();
                let read_only = options.read_only;
                (
                    Dialect::Postgres,
                    Box::new(move || {
                        Ok(Box::new(backend::postgres::Postgres::connect(&url, read_only)?) as Box<dyn Backend>)
                    }),
                )
            }
            #[cfg(not(feature = "postgres"))]
            Location::Postgres(_) => {
                return Err(StoreError::Backend(
                    "this build has no PostgreSQL support (build with --features postgres)".into(),
                ))
            }
        };
        let first = connect()?;
        let store = Store {
            inner: Arc::new(Inner {
                location: location.clone(),
                dialect,
                connect,
                idle: Mutex::new(vec![first]),
                writing: Mutex::new(None),
                background_checkpoints: AtomicBool::new(false),
                audit_cache: Mutex::new(None),
            }),
        };
        Ok(store)
    }

    /// Idle connections kept for reuse: enough for the readers of a busy
    /// server. More at once are opened and then closed, each paying the
    /// connection's set-up and losing its prepared statements, so a
    /// server bounds its concurrent reads to this.
    pub const POOLED_CONNECTIONS: usize = 16;

    pub fn location(&self) -> &Location {
        &self.inner.location
    }

    pub fn dialect(&self) -> Dialect {
        self.inner.dialect
    }

    fn take(&self, write: bool) -> Result<Box<dyn Backend>, StoreError> {
        if write {
            if let Some(c) = self.inner.writing.lock().ok().and_then(|mut w| w.take()) {
                return Ok(c);
            }
        }
        let idle = self.inner.idle.lock().ok().and_then(|mut idle| idle.pop());
        match idle {
            Some(c) => Ok(c),
            None => (self.inner.connect)(),
        }
    }

    fn give_back(&self, conn: Box<dyn Backend>, write: bool) {
        // A second writer at once (a CLI command beside the writer thread)
        // used a pooled connection; it goes back to the pool.
        let mut conn = match (write, self.inner.writing.lock()) {
            (true, Ok(mut slot)) if slot.is_none() => {
                *slot = Some(conn);
                return;
            }
            _ => conn,
        };
        // An idle connection would keep the pages of its last transaction
        // for nothing: the next one, after any commit, starts cold anyway.
        conn.release_memory();
        if let Ok(mut idle) = self.inner.idle.lock() {
            if idle.len() < Store::POOLED_CONNECTIONS {
                idle.push(conn);
            }
        }
    }

    fn run<T>(&self, write: bool, f: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut conn = self.take(write)?;
        let result = (|| {
            if write {
                conn.set_background_checkpoints(self.inner.background_checkpoints.load(Ordering::Relaxed))?;
                conn.begin_write()?;
            } else {
                conn.begin_read()?;
            }
            let mut tx = Tx { conn: conn.as_mut(), audit_cache: &self.inner.audit_cache, aborted: None, audit: None };
            // The tree's state row is written once, after the last append.
            let result = f(&mut tx).and_then(|v| audit::flush(&mut tx).map(|()| v));
            let aborted = tx.aborted.take();
            match (result, aborted) {
                (_, Some(e)) | (Err(e), None) => Err(e),
                (Ok(v), None) => {
                    conn.commit()?;
                    Ok(v)
                }
            }
        })();
        if result.is_err() {
            // A failed write leaves the frontier cache ahead of the database.
            if write {
                if let Ok(mut c) = self.inner.audit_cache.lock() {
                    *c = None;
                }
            }
            if conn.rollback().is_err() {
                return result; // a broken connection is dropped, not pooled
            }
        }
        self.give_back(conn, write);
        result
    }

    /// From now on, commits leave checkpoints to the caller, who calls
    /// [`Store::checkpoint`] from a thread of its own (the writer's
    /// checkpointer): a checkpoint copies pages and waits for the disk,
    /// which stalled every commit queued behind the one that ran it.
    pub fn checkpoint_in_background(&self) {
        self.inner.background_checkpoints.store(true, Ordering::Relaxed);
    }

    /// Copies what was committed to the write-ahead log into the database,
    /// on a pooled connection, without waiting for readers or the writer.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let mut conn = self.take(false)?;
        conn.checkpoint()?;
        self.give_back(conn, false);
        Ok(())
    }

    /// Runs `f` in a write transaction (committed when `f` succeeds).
    pub fn write<T>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.run(true, f)
    }

    /// Runs `f` in a read transaction (one consistent snapshot).
    pub fn read<T>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.run(false, f)
    }

    /// Applies the migrations this build knows and the database lacks.
    /// Refuses a database written by a newer build.
    pub fn migrate(&self) -> Result<i64, StoreError> {
        let mut conn = self.take(true)?;
        let dialect = conn.dialect();
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )?;
        conn.begin_write()?;
        let applied = (|| {
            let rows = conn.query("SELECT version FROM schema_migrations", &[])?;
            let applied = rows.iter().map(|r| r.int(0)).collect::<Result<Vec<_>, _>>()?;
            let current = applied.iter().copied().max().unwrap_or(0);
            if current > SCHEMA_VERSION {
                return Err(StoreError::Schema(format!(
                    "the database is at schema version {current}, newer than this build's {SCHEMA_VERSION}: upgrade rempart"
                )));
            }
            let missing = missing_migrations(&applied);
            for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| missing.contains(v)) {
                conn.execute_batch(&backend::ddl_for(dialect, sql))?;
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                    &[Value::Int(*version), Value::from(*name), Value::Int(time::now_ms())],
                )?;
            }
            Ok(SCHEMA_VERSION)
        })();
        match applied {
            Ok(v) => {
                conn.commit()?;
                self.give_back(conn, true);
                Ok(v)
            }
            Err(e) => {
                let _ = conn.rollback();
                Err(e)
            }
        }
    }

    /// Fails unless the database carries this build's schema: every
    /// migration it knows, and none it does not.
    pub fn check_schema(&self) -> Result<(), StoreError> {
        let applied = self.read(|tx| {
            let rows = tx
                .query("SELECT version FROM schema_migrations", &[])
                .map_err(|_| StoreError::NotInitialised(format!("{}: no rempart schema", self.location().display())))?;
            rows.iter().map(|r| r.int(0)).collect::<Result<Vec<_>, _>>()
        })?;
        let newest = applied.iter().copied().max();
        match newest {
            None => Err(StoreError::NotInitialised(format!("{}: no rempart schema", self.location().display()))),
            Some(v) if v > SCHEMA_VERSION => Err(StoreError::Schema(format!(
                "the database is at schema version {v}, newer than this build's {SCHEMA_VERSION}: upgrade rempart"
            ))),
            Some(_) if applied.iter().any(|v| !MIGRATIONS.iter().any(|(m, _, _)| m == v)) => {
                Err(StoreError::Schema(format!(
                    "the database has migrations {applied:?}, some unknown to this build (which knows {:?}): upgrade rempart",
                    MIGRATIONS.iter().map(|(m, _, _)| *m).collect::<Vec<_>>()
                )))
            }
            Some(v) => {
                let missing = missing_migrations(&applied);
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(StoreError::Schema(format!(
                        "the database is at schema version {v} and lacks migration(s) {missing:?} this build needs: \
                         run `rempart init --db …` to migrate"
                    )))
                }
            }
        }
    }
}
