//! SQLite, the embedded default: one file, WAL journal, no server.

use std::path::Path;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};

use super::{Backend, Dialect, Row, Value};
use crate::StoreError;

/// How hard a commit waits for the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous = FULL`: a commit is on disk before it is
    /// acknowledged, across power loss. The default.
    #[default]
    Full,
    /// `synchronous = NORMAL` in WAL mode: survives a crash of the process
    /// (the OS has the pages), may lose the last commits on power loss.
    Normal,
}

impl Durability {
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Full => "full",
            Durability::Normal => "normal",
        }
    }
}

impl std::str::FromStr for Durability {
    type Err = String;
    fn from_str(s: &str) -> Result<Durability, String> {
        match s {
            "full" => Ok(Durability::Full),
            "normal" => Ok(Durability::Normal),
            other => Err(format!("durability `{other}`: expected `full` or `normal`")),
        }
    }
}

pub struct Sqlite {
    conn: Connection,
    background_checkpoints: bool,
}

/// A checkpoint every 8192 pages (32 MiB with 4 KiB pages) rather than
/// SQLite's 1000: a connection that checkpoints as it commits does so
/// eight times less often, each time copying pages many commits rewrote.
const CHECKPOINT_PAGES: u32 = 8192;
/// When a checkpointer thread takes them, the committing connection still
/// checkpoints past this many pages (64 MiB). Under steady load that
/// thread rarely catches the log's very end between two commits, and only
/// a checkpoint that did lets the next commit start the log afresh: the
/// committing connection's checkpoint then copies just that end. It also
/// bounds the log if the thread falls behind or fails.
const SAFETY_NET_CHECKPOINT_PAGES: u32 = 16_384;

impl Sqlite {
    /// Opens (creating when `options.create`) the database file at `path`.
    pub fn open(path: &Path, options: &crate::OpenOptions) -> Result<Sqlite, StoreError> {
        let create = options.create;
        let mut flags =
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags).map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::CannotOpen) if !create => StoreError::NotInitialised(format!(
                "{}: no database here (run `rempart init --db {0}`)",
                path.display()
            )),
            _ => StoreError::from(e),
        })?;
        conn.busy_timeout(Duration::from_secs(30))?;
        // WAL: readers never block the writer nor each other.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if mode != "wal" {
            return Err(StoreError::Backend(format!("{}: cannot use WAL journaling (got `{mode}`)", path.display())));
        }
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {}; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
            options.durability.as_str().to_uppercase()
        ))?;
        if let Some(bytes) = options.max_bytes {
            let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            let pages = (bytes / u64::try_from(page.max(1)).unwrap_or(4096)).max(1);
            let _: i64 = conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| r.get(0))?;
        }
        let _: i64 = conn.query_row(&format!("PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES}"), [], |r| r.get(0))?;
        // The record path alone runs about twenty distinct statements (more
        // with reviews, notices, reads): rusqlite's default cache of 16
        // evicted and re-prepared some of them on every listing.
        conn.set_prepared_statement_cache_capacity(256);
        if options.read_only {
            conn.execute_batch("PRAGMA query_only = ON")?;
        }
        Ok(Sqlite { conn, background_checkpoints: false })
    }
}

struct Param<'a>(&'a Value<'a>);

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Blob(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v.as_ref())),
        })
    }
}

fn read_row(row: &rusqlite::Row<'_>, columns: usize) -> rusqlite::Result<Row> {
    let mut out = Vec::with_capacity(columns);
    for i in 0..columns {
        out.push(match row.get_ref(i)? {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(v) => Value::Int(v),
            ValueRef::Real(v) => Value::Real(v),
            ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::from(b.to_vec()),
        });
    }
    Ok(Row(out))
}

impl Backend for Sqlite {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.conn.execute_batch(sql)?)
    }

    fn savepoint_statement(&mut self, sql: &'static str) -> Result<(), StoreError> {
        self.conn.prepare_cached(sql)?.execute([])?;
        Ok(())
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let n = stmt.execute(rusqlite::params_from_iter(params.iter().map(Param)))?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let columns = stmt.column_count();
        let rows = stmt.query_map(rusqlite::params_from_iter(params.iter().map(Param)), |r| read_row(r, columns))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn begin_write(&mut self) -> Result<(), StoreError> {
        Ok(self.conn.execute_batch("BEGIN IMMEDIATE")?)
    }

    fn begin_read(&mut self) -> Result<(), StoreError> {
        Ok(self.conn.execute_batch("BEGIN DEFERRED")?)
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        Ok(self.conn.execute_batch("COMMIT")?)
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        Ok(self.conn.execute_batch("ROLLBACK")?)
    }

    fn checkpoint(&mut self) -> Result<(), StoreError> {
        // (busy, frames in the log, frames copied): PASSIVE gives up on
        // what a reader still needs; the next checkpoint copies it.
        let _: (i64, i64, i64) =
            self.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(())
    }

    fn set_background_checkpoints(&mut self, on: bool) -> Result<(), StoreError> {
        if on != self.background_checkpoints {
            let pages = if on { SAFETY_NET_CHECKPOINT_PAGES } else { CHECKPOINT_PAGES };
            let _: i64 = self.conn.query_row(&format!("PRAGMA wal_autocheckpoint = {pages}"), [], |r| r.get(0))?;
            self.background_checkpoints = on;
        }
        Ok(())
    }
    fn release_memory(&mut self) {
        // Best effort: a connection that cannot free its cache keeps it.
        let _ = self.conn.release_memory();
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode as C;
        match e.sqlite_error_code() {
            Some(C::DiskFull) => StoreError::DiskFull(e.to_string()),
            Some(C::ReadOnly) => StoreError::ReadOnly(e.to_string()),
            Some(C::DatabaseCorrupt | C::NotADatabase) => StoreError::Corrupt(e.to_string()),
            Some(C::ConstraintViolation) => StoreError::Conflict(e.to_string()),
            Some(C::DatabaseBusy | C::DatabaseLocked) => StoreError::Busy(e.to_string()),
            _ => StoreError::Backend(e.to_string()),
        }
    }
}

/// The bytes SQLite holds from the heap, over every connection of the
/// process: page caches, prepared statements, schema. Part of the
/// allocator's "in use" figure, reported beside it so that an operator can
/// tell the database's caches (each connection's is bounded by its
/// `cache_size`, and fills as the database grows) from data the server
/// keeps. `None` where SQLite does not count (built without memory
/// statistics).
pub fn memory_in_use() -> Option<u64> {
    let (mut current, mut highwater) = (0i64, 0i64);
    // SAFETY: sqlite3_status64 writes the two integers it is given and
    // reads nothing else; SQLITE_STATUS_MEMORY_USED is a valid operation.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_status64(rusqlite::ffi::SQLITE_STATUS_MEMORY_USED, &mut current, &mut highwater, 0)
    };
    if rc != rusqlite::ffi::SQLITE_OK || current <= 0 {
        return None;
    }
    u64::try_from(current).ok()
}
