//! Canonical JSON (RFC 8785, JCS) and the `sha256:` digests of records.
//!
//! A decision is hashed and signed as bytes, so the same decision must
//! always serialise to the same bytes, whichever program wrote it: JCS
//! sorts object members by their UTF-16 code units, writes strings with the
//! minimal escapes, and numbers as ECMAScript's `Number.prototype.toString`
//! does (shortest round-trip form, `1e+21` style exponents). Scalars are
//! written by the `serde_json_canonicalizer` crate (objects and arrays are
//! walked here, see [`canonical_json`]'s writer); the whole passes the published
//! vectors (cyberphone/json-canonicalization `testdata/`, and the first
//! 100,000 lines of its ES6 number test file; see `tests/canonical.rs`).
//!
//! One rule is added on top. JCS treats every number as an IEEE-754 double,
//! so an integer beyond ±(2^53 − 1) is silently rounded: `9007199254740993`
//! canonicalises to `9007199254740992`. Two records differing only in such
//! a number would then hash alike, which a tamper-evident log cannot
//! accept; [`canonical_json`] refuses them (I-JSON, RFC 7493 §2.2, says the
//! same). Put large identifiers in strings.
//!
//! ```
//! use rempart_audit::{canonical_digest, canonical_json};
//! use serde_json::json;
//!
//! let record = json!({"verdict": "block", "score": 1.50, "id": "d-1"});
//! assert_eq!(canonical_json(&record)?, br#"{"id":"d-1","score":1.5,"verdict":"block"}"#);
//! assert!(canonical_digest(&record)?.starts_with("sha256:"));
//! assert!(canonical_json(&json!({"n": 9007199254740993u64})).is_err());
//! # Ok::<(), rempart_audit::CanonicalError>(())
//! ```

use serde_json::Value;

use crate::hash::{sha256, Hash, HashParseError};

/// Largest integer JCS (an IEEE-754 double) represents exactly, 2^53 − 1.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

const DIGEST_PREFIX: &str = "sha256:";

/// A value that has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// An integer JCS would round (see the module docs).
    #[error("at {path}: integer {value} is beyond ±(2^53 - 1) and would be rounded by canonicalisation; store it as a string")]
    UnsafeInteger {
        /// JSON path of the number, e.g. `$.matches[0].count`.
        path: String,
        /// The integer.
        value: String,
    },
    /// The canonicaliser refused the value.
    #[error("not serialisable as canonical JSON: {0}")]
    Serialize(String),
}

/// A text that is not a `sha256:<64 hex digits>` digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// Another algorithm or no prefix.
    #[error("a digest starts with 'sha256:', got {0:?}")]
    Prefix(String),
    /// Bad hex.
    #[error(transparent)]
    Hash(#[from] HashParseError),
}

/// The RFC 8785 canonical bytes of `value`.
///
/// Build the `Value` with `serde_json::to_value` or `json!`. Beware that
/// serde_json turns NaN and infinities into `null` on the way (and so do
/// both JCS crates when given a struct directly, which is why this takes a
/// `Value`): reject non-finite floats in a record before hashing it.
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    check_safe_integers(value)?;
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out)?;
    Ok(out)
}

/// Writes the canonical form of `value` after `out`'s bytes.
///
/// Why the structure is walked here and not by `serde_json_canonicalizer`
/// alone: its serialiser writes every object member into buffers of its
/// own and sorts them in a set, several allocations per member; on the
/// service's record path (a listing's digest, a decision with its
/// evidence) that was about a third of all allocations per listing
/// (BENCHMARKS.md). Here an object costs one vector of references sorted
/// in place. Every scalar — strings with JCS's escapes, numbers in
/// ECMAScript's form — is still written by the crate, straight into `out`;
/// the published vectors in `tests/canonical.rs` and a property test
/// against the crate's own output check the whole.
fn write_canonical(value: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(members) => {
            // RFC 8785 §3.2.3: members in the order of their names' UTF-16
            // code units (which is not UTF-8 byte order past U+E000).
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (name, member)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(&name.as_str(), out)?;
                out.push(b':');
                write_canonical(member, out)?;
            }
            out.push(b'}');
        }
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => write_scalar(value, out)?,
    }
    Ok(())
}

/// A string or number in its canonical form, written by the crate.
fn write_scalar<T: serde::Serialize>(value: &T, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    serde_json_canonicalizer::to_writer(value, out).map_err(|e| CanonicalError::Serialize(e.to_string()))
}

/// A member of an object given to [`canonical_object`].
#[derive(Clone, Copy, Debug)]
pub enum Member<'a> {
    /// A value, canonicalised here.
    Value(&'a Value),
    /// Bytes that are already the canonical JSON of a value (from
    /// [`canonical_json`]): copied as they are.
    Canonical(&'a [u8]),
}

/// The canonical bytes of the object with these members, any of them
/// already canonical.
///
/// Why: a record's bulk (a decision with its evidence) can be
/// canonicalised where CPU is plentiful — the request's own task — and
/// only its small envelope (index, time, the decision it supersedes) where
/// it is known, in the single thread that appends to the log. Members are
/// sorted by the UTF-16 code units of their names, as RFC 8785 §3.2.3 says;
/// a name given twice is refused.
///
/// ```
/// use rempart_audit::{canonical_json, canonical_object, Member};
/// use serde_json::json;
///
/// let inner = canonical_json(&json!({"b": 1, "a": [2.0]}))?;
/// let spliced = canonical_object(&[("z", Member::Value(&json!("end"))), ("data", Member::Canonical(&inner))])?;
/// let whole = canonical_json(&json!({"z": "end", "data": {"a": [2.0], "b": 1}}))?;
/// assert_eq!(spliced, whole);
/// # Ok::<(), rempart_audit::CanonicalError>(())
/// ```
pub fn canonical_object(members: &[(&str, Member<'_>)]) -> Result<Vec<u8>, CanonicalError> {
    let mut order: Vec<&(&str, Member<'_>)> = members.iter().collect();
    order.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    if let Some(pair) = order.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(CanonicalError::Serialize(format!("member {:?} given twice", pair[0].0)));
    }
    let mut out = Vec::with_capacity(
        members.iter().map(|(k, m)| k.len() + 4 + if let Member::Canonical(c) = m { c.len() } else { 16 }).sum(),
    );
    out.push(b'{');
    for (i, (name, member)) in order.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_scalar(name, &mut out)?;
        out.push(b':');
        match member {
            Member::Value(v) => {
                check_safe_integers(v)?;
                write_canonical(v, &mut out)?;
            }
            Member::Canonical(bytes) => out.extend_from_slice(bytes),
        }
    }
    out.push(b'}');
    Ok(out)
}

/// `sha256:` followed by the lowercase hex SHA-256 of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("{DIGEST_PREFIX}{}", sha256(bytes).to_hex())
}

/// The `sha256:` digest of the canonical form of `value`.
pub fn canonical_digest(value: &Value) -> Result<String, CanonicalError> {
    canonical_json(value).map(|bytes| sha256_digest(&bytes))
}

/// Parses a `sha256:<hex>` digest back into its hash.
pub fn parse_sha256_digest(text: &str) -> Result<Hash, DigestError> {
    let hex = text.strip_prefix(DIGEST_PREFIX).ok_or_else(|| DigestError::Prefix(text.chars().take(16).collect()))?;
    Ok(Hash::from_hex(hex)?)
}

/// Finds the first integer beyond ±(2^53 − 1). The path is built only on
/// the way back from a failure, so clean records cost one walk.
fn check_safe_integers(value: &Value) -> Result<(), CanonicalError> {
    fn find(value: &Value) -> Option<(Vec<String>, String)> {
        match value {
            Value::Number(n) => {
                let unsafe_integer = match (n.as_u64(), n.as_i64()) {
                    (Some(u), _) => u > MAX_SAFE_INTEGER,
                    (None, Some(i)) => i.unsigned_abs() > MAX_SAFE_INTEGER,
                    (None, None) => false,
                };
                unsafe_integer.then(|| (Vec::new(), n.to_string()))
            }
            Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                find(item).map(|(mut path, n)| {
                    path.push(format!("[{i}]"));
                    (path, n)
                })
            }),
            Value::Object(members) => members.iter().find_map(|(key, item)| {
                find(item).map(|(mut path, n)| {
                    path.push(format!(".{key}"));
                    (path, n)
                })
            }),
            Value::Null | Value::Bool(_) | Value::String(_) => None,
        }
    }
    match find(value) {
        None => Ok(()),
        Some((reversed, value)) => {
            let path = std::iter::once("$".to_owned()).chain(reversed.into_iter().rev()).collect();
            Err(CanonicalError::UnsafeInteger { path, value })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn safe_integer_bounds() {
        assert!(canonical_json(&json!(MAX_SAFE_INTEGER)).is_ok());
        assert!(canonical_json(&json!(-(MAX_SAFE_INTEGER as i64))).is_ok());
        let err = canonical_json(&json!({"a": [1, {"b": MAX_SAFE_INTEGER + 1}]})).unwrap_err();
        assert_eq!(err, CanonicalError::UnsafeInteger { path: "$.a[1].b".into(), value: "9007199254740992".into() });
        assert!(canonical_json(&json!(-(MAX_SAFE_INTEGER as i64) - 1)).is_err());
    }

    #[test]
    fn digests_round_trip() {
        let d = sha256_digest(b"");
        assert_eq!(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(parse_sha256_digest(&d).unwrap(), sha256(b""));
        assert!(matches!(parse_sha256_digest("md5:00"), Err(DigestError::Prefix(_))));
    }
}
