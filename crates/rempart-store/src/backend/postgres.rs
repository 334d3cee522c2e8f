//! PostgreSQL, for scale-out: several rempart processes share one
//! database. Writers take one transaction-scoped advisory lock, so write
//! transactions are serialised exactly as SQLite's `BEGIN IMMEDIATE`
//! serialises them, and the same code is correct on both.

use std::collections::HashMap;

use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls, Statement};

use super::{numbered_placeholders, Backend, Dialect, Row, Value};
use crate::StoreError;

/// The advisory lock key every writer takes (`"rempart"` in ASCII).
const WRITE_LOCK: i64 = 0x0072_656d_7061_7274;

pub struct Postgres {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl Postgres {
    pub fn connect(url: &str, read_only: bool) -> Result<Postgres, StoreError> {
        let mut client =
            Client::connect(url, NoTls).map_err(|e| StoreError::Backend(format!("connecting to PostgreSQL: {e}")))?;
        if read_only {
            client.batch_execute("SET default_transaction_read_only = on")?;
        }
        Ok(Postgres { client, statements: HashMap::new() })
    }

    fn prepare(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let statement = self.client.prepare(&numbered_placeholders(sql))?;
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

fn mismatch(v: &Value, ty: &Type) -> StoreError {
    StoreError::Schema(format!("cannot bind {v:?} to a PostgreSQL {ty}"))
}

/// Binds a value as the type PostgreSQL inferred for the parameter
/// (`$4 = 1` makes `$4` an int4, a column comparison an int8).
fn bind(v: &Value, ty: &Type) -> Result<Box<dyn ToSql + Sync>, StoreError> {
    let int = |i: i64| -> Result<Box<dyn ToSql + Sync>, StoreError> {
        Ok(match *ty {
            Type::INT8 => Box::new(i),
            Type::INT4 => Box::new(i32::try_from(i).map_err(|_| mismatch(v, ty))?),
            Type::INT2 => Box::new(i16::try_from(i).map_err(|_| mismatch(v, ty))?),
            #[allow(clippy::cast_precision_loss)]
            Type::FLOAT8 => Box::new(i as f64),
            Type::BOOL => Box::new(i != 0),
            Type::TEXT | Type::VARCHAR => Box::new(i.to_string()),
            _ => return Err(mismatch(v, ty)),
        })
    };
    Ok(match v {
        Value::Null => match *ty {
            Type::INT8 => Box::new(None::<i64>),
            Type::INT4 => Box::new(None::<i32>),
            Type::INT2 => Box::new(None::<i16>),
            Type::FLOAT8 => Box::new(None::<f64>),
            Type::BOOL => Box::new(None::<bool>),
            Type::BYTEA => Box::new(None::<Vec<u8>>),
            _ => Box::new(None::<String>),
        },
        Value::Int(i) => int(*i)?,
        Value::Real(r) => match *ty {
            Type::FLOAT8 => Box::new(*r),
            #[allow(clippy::cast_possible_truncation)]
            Type::FLOAT4 => Box::new(*r as f32),
            _ => return Err(mismatch(v, ty)),
        },
        Value::Text(t) => Box::new(t.to_string()),
        Value::Blob(b) => match *ty {
            Type::BYTEA => Box::new(b.to_vec()),
            _ => return Err(mismatch(v, ty)),
        },
    })
}

fn read(row: &postgres::Row) -> Result<Row, StoreError> {
    let mut out = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = match *ty {
            Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
            Type::INT4 => row.try_get::<_, Option<i32>>(i)?.map(|v| Value::Int(i64::from(v))),
            Type::INT2 => row.try_get::<_, Option<i16>>(i)?.map(|v| Value::Int(i64::from(v))),
            Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(|v| Value::Int(i64::from(v))),
            Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Value::Real),
            Type::FLOAT4 => row.try_get::<_, Option<f32>>(i)?.map(|v| Value::Real(f64::from(v))),
            Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::from),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                row.try_get::<_, Option<String>>(i)?.map(Value::from)
            }
            _ => return Err(StoreError::Schema(format!("column {}: unsupported PostgreSQL type {ty}", column.name()))),
        };
        out.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(out))
}

impl Postgres {
    fn params(&mut self, sql: &str, params: &[Value]) -> Result<(Statement, Vec<Box<dyn ToSql + Sync>>), StoreError> {
        let statement = self.prepare(sql)?;
        let types = statement.params();
        if types.len() != params.len() {
            return Err(StoreError::Schema(format!("{} parameters for {} placeholders", params.len(), types.len())));
        }
        let bound = params.iter().zip(types).map(|(v, t)| bind(v, t)).collect::<Result<Vec<_>, _>>()?;
        Ok((statement, bound))
    }
}

impl Backend for Postgres {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.client.batch_execute(sql)?)
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let (statement, bound) = self.params(sql, params)?;
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(AsRef::as_ref).collect();
        Ok(self.client.execute(&statement, &refs)?)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let (statement, bound) = self.params(sql, params)?;
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(AsRef::as_ref).collect();
        self.client.query(&statement, &refs)?.iter().map(read).collect()
    }

    fn begin_write(&mut self) -> Result<(), StoreError> {
        self.client.batch_execute(&format!("BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"))?;
        Ok(())
    }

    fn begin_read(&mut self) -> Result<(), StoreError> {
        Ok(self.client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?)
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        Ok(self.client.batch_execute("COMMIT")?)
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        Ok(self.client.batch_execute("ROLLBACK")?)
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> StoreError {
        use postgres::error::SqlState;
        let message = e.as_db_error().map_or_else(|| e.to_string(), |d| format!("{}: {}", d.severity(), d.message()));
        match e.code() {
            Some(c) if *c == SqlState::UNIQUE_VIOLATION => StoreError::Conflict(message),
            Some(c) if *c == SqlState::DISK_FULL => StoreError::DiskFull(message),
            Some(c) if *c == SqlState::READ_ONLY_SQL_TRANSACTION => StoreError::ReadOnly(message),
            Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED => {
                StoreError::Busy(message)
            }
            Some(c) if *c == SqlState::DATA_CORRUPTED || *c == SqlState::INDEX_CORRUPTED => {
                StoreError::Corrupt(message)
            }
            _ if e.is_closed() => StoreError::Backend(format!("the PostgreSQL connection closed: {message}")),
            _ => StoreError::Backend(message),
        }
    }
}
