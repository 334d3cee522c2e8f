//! The one storage trait: a connection that runs portable SQL.
//!
//! Everything the store knows (decisions, the audit log, keys, packs,
//! reviews) is written once, in [`crate::Store`] and its modules, as SQL in
//! the subset SQLite and PostgreSQL share: `?N` placeholders, `INSERT … ON
//! CONFLICT`, `RETURNING`, integers for times (ms since the epoch) and
//! blobs for hashes. A backend only moves values in and out and says how to
//! take the write lock, so a second backend cannot drift from the first:
//! the same test suite runs against both (`tests/store.rs`).

#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sqlite;

use std::borrow::Cow;

use crate::StoreError;

/// Which SQL dialect a backend speaks, for the few places they differ
/// (DDL types, placeholders, locking).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A value bound to or read from SQL. Text and bytes are borrowed when
/// bound (the record path binds a listing's body and a dozen ids per
/// listing: copying each was most of the writer's allocations) and owned
/// when read.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(Cow<'a, str>),
    Blob(Cow<'a, [u8]>),
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<u64> for Value<'_> {
    fn from(v: u64) -> Self {
        // Sizes and indexes stay far below 2^63; saturate rather than wrap.
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<u32> for Value<'_> {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<f64> for Value<'_> {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(Cow::Borrowed(v))
    }
}
impl From<String> for Value<'_> {
    fn from(v: String) -> Self {
        Value::Text(Cow::Owned(v))
    }
}
impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Text(Cow::Borrowed(v))
    }
}
impl From<Vec<u8>> for Value<'_> {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(Cow::Owned(v))
    }
}
impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(v: &'a [u8]) -> Self {
        Value::Blob(Cow::Borrowed(v))
    }
}
impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One result row; columns by position, typed getters that name the
/// column on a mismatch (a schema drift, never client input).
#[derive(Clone, Debug, Default)]
pub struct Row(pub Vec<Value<'static>>);

impl Row {
    fn at(&self, i: usize) -> Result<&Value<'static>, StoreError> {
        self.0.get(i).ok_or_else(|| StoreError::Schema(format!("column {i} missing from a result row")))
    }

    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        match self.at(i)? {
            Value::Int(v) => Ok(*v),
            other => Err(StoreError::Schema(format!("column {i}: expected an integer, found {other:?}"))),
        }
    }

    pub fn uint(&self, i: usize) -> Result<u64, StoreError> {
        let v = self.int(i)?;
        u64::try_from(v).map_err(|_| StoreError::Schema(format!("column {i}: negative value {v}")))
    }

    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }

    pub fn real(&self, i: usize) -> Result<f64, StoreError> {
        match self.at(i)? {
            Value::Real(v) => Ok(*v),
            #[allow(clippy::cast_precision_loss)]
            Value::Int(v) => Ok(*v as f64),
            other => Err(StoreError::Schema(format!("column {i}: expected a number, found {other:?}"))),
        }
    }

    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        match self.at(i)? {
            Value::Text(v) => Ok(v.to_string()),
            other => Err(StoreError::Schema(format!("column {i}: expected text, found {other:?}"))),
        }
    }

    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }

    pub fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        match self.at(i)? {
            Value::Blob(v) => Ok(v.to_vec()),
            other => Err(StoreError::Schema(format!("column {i}: expected bytes, found {other:?}"))),
        }
    }

    pub fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            _ => self.blob(i).map(Some),
        }
    }

    /// A 32-byte hash column.
    pub fn hash(&self, i: usize) -> Result<[u8; 32], StoreError> {
        let b = self.blob(i)?;
        b.as_slice().try_into().map_err(|_| StoreError::Schema(format!("column {i}: a hash of {} bytes", b.len())))
    }
}

/// A connection to one database. Methods run one statement each; the
/// [`crate::Store`] wraps them in transactions.
pub trait Backend: Send {
    fn dialect(&self) -> Dialect;
    /// Runs several `;`-separated statements (migrations).
    fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError>;
    /// Runs one statement; returns the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError>;
    /// Runs a savepoint statement (`SAVEPOINT`, `RELEASE`, `ROLLBACK TO`).
    /// The record path issues two per listing, so a backend that can keep
    /// them prepared should.
    fn savepoint_statement(&mut self, sql: &'static str) -> Result<(), StoreError> {
        self.execute_batch(sql)
    }
    /// Runs one query; returns every row.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError>;
    /// Starts a transaction that will write: takes the database's write
    /// lock now (SQLite `BEGIN IMMEDIATE`), so concurrent writers queue
    /// instead of failing at commit.
    fn begin_write(&mut self) -> Result<(), StoreError>;
    /// Starts a read-only transaction (one consistent snapshot).
    fn begin_read(&mut self) -> Result<(), StoreError>;
    fn commit(&mut self) -> Result<(), StoreError>;
    fn rollback(&mut self) -> Result<(), StoreError>;
    /// Copies what committed transactions wrote to the write-ahead log
    /// into the database, without waiting for readers or the writer
    /// (SQLite's PASSIVE checkpoint). Nothing to do where the database
    /// manages its own log.
    fn checkpoint(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// `true` when another connection takes the checkpoints (see
    /// `writer.rs`): committing on this one then checkpoints only as a
    /// safety net, when that other falls far behind.
    fn set_background_checkpoints(&mut self, _on: bool) -> Result<(), StoreError> {
        Ok(())
    }
    /// Frees what the connection caches and does not need between
    /// transactions (SQLite's page cache), as it goes back to the pool.
    fn release_memory(&mut self) {}
}

/// Rewrites `?N` placeholders as `$N` for PostgreSQL, leaving string
/// literals and quoted identifiers alone.
pub fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            None => out.push(c),
        }
    }
    out
}

/// Migrations are written once, in SQLite's type names; PostgreSQL gets
/// its own spelling of the three types that differ.
pub fn ddl_for(dialect: Dialect, sql: &str) -> String {
    match dialect {
        Dialect::Sqlite => sql.to_string(),
        Dialect::Postgres => {
            let re = |word: &str, by: &str, s: &str| -> String {
                let mut out = String::with_capacity(s.len());
                let mut rest = s;
                while let Some(pos) = rest.find(word) {
                    let before = rest[..pos].chars().next_back();
                    let after = rest[pos + word.len()..].chars().next();
                    let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
                    out.push_str(&rest[..pos]);
                    out.push_str(if boundary(before) && boundary(after) { by } else { word });
                    rest = &rest[pos + word.len()..];
                }
                out.push_str(rest);
                out
            };
            let s = re("BLOB", "BYTEA", sql);
            let s = re("INTEGER", "BIGINT", &s);
            re("REAL", "DOUBLE PRECISION", &s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_renumbered_outside_literals() {
        assert_eq!(
            numbered_placeholders("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND d = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND d = $12"
        );
    }

    #[test]
    fn ddl_types_are_translated_as_whole_words() {
        assert_eq!(
            ddl_for(Dialect::Postgres, "x INTEGER, y BLOB, z REAL, blobby TEXT, INTEGERS"),
            "x BIGINT, y BYTEA, z DOUBLE PRECISION, blobby TEXT, INTEGERS"
        );
    }
}
