//! Times are stored as milliseconds since the Unix epoch (UTC) and shown
//! as RFC 3339 with milliseconds (`2026-12-02T06:00:00.123Z`).

use std::time::{SystemTime, UNIX_EPOCH};

use ::time::format_description::well_known::Rfc3339;
use ::time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

/// Now, in ms since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `2026-12-02T06:00:00.123Z`.
pub fn rfc3339(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Parses an RFC 3339 time or a plain `YYYY-MM-DD` date (midnight UTC)
/// into ms since the epoch.
pub fn parse(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let t = OffsetDateTime::parse(text, &Rfc3339).or_else(|_| {
        let date = Date::parse(text, ::time::macros::format_description!("[year]-[month]-[day]"))
            .map_err(|_| format!("`{text}` is not a date (YYYY-MM-DD) or an RFC 3339 time"))?;
        Ok::<_, String>(PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc())
    })?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).map_err(|_| format!("`{text}` is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let ms = 1_764_655_200_123;
        assert_eq!(rfc3339(ms), "2025-12-02T06:00:00.123Z");
        assert_eq!(parse(&rfc3339(ms)), Ok(ms));
        assert_eq!(parse("2025-12-02"), Ok(1_764_633_600_000));
        assert!(parse("2025-13-02").is_err());
    }
}
