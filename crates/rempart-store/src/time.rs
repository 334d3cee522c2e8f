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
    let mut out = String::with_capacity(24);
    write_rfc3339(ms, &mut out);
    out
}

/// Appends `ms` as RFC 3339 to `out`. Written digit by digit rather than
/// with `format!`: the writer thread formats two times per recorded
/// listing, and the formatting machinery was a visible share of its time.
pub fn write_rfc3339(ms: i64, out: &mut String) {
    // The range `time` accepts (years ±9999); beyond it, the epoch, as before.
    const MIN_MS: i64 = -377_705_116_800_000; // -9999-01-01T00:00:00Z
    const MAX_MS: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
    let ms = if (MIN_MS..=MAX_MS).contains(&ms) { ms } else { 0 };
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    // As `format!("{:04}", year)` did: the sign counts in the width.
    if year < 0 {
        out.push('-');
        push_digits(out, year.unsigned_abs(), 3);
    } else {
        push_digits(out, year.unsigned_abs(), 4);
    }
    out.push('-');
    push_digits(out, u64::from(month), 2);
    out.push('-');
    push_digits(out, u64::from(day), 2);
    out.push('T');
    let in_day = in_day.unsigned_abs();
    push_digits(out, in_day / 3_600_000, 2);
    out.push(':');
    push_digits(out, in_day / 60_000 % 60, 2);
    out.push(':');
    push_digits(out, in_day / 1_000 % 60, 2);
    out.push('.');
    push_digits(out, in_day % 1_000, 3);
    out.push('Z');
}

/// `value` in decimal, zero-padded to `width` digits.
fn push_digits(out: &mut String, value: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    let mut v = value;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let start = i.min(buf.len() - width.min(buf.len()));
    for &b in &buf[start..] {
        out.push(char::from(b));
    }
}

/// Year, month, day of the proleptic Gregorian calendar for `days` since
/// 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both fit: day in [1, 31], month in [1, 12].
    (year, u32::try_from(month).unwrap_or(1), u32::try_from(day).unwrap_or(1))
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

    /// The digit-by-digit formatting against the `time` crate's calendar.
    #[test]
    fn formats_as_the_time_crate() {
        let reference = |ms: i64| {
            let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
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
        };
        let mut cases = vec![
            0,
            -1,
            1,
            951_782_400_000,     // 2000-02-29
            4_107_542_399_999,   // 2100-02-28T23:59:59.999
            -62_135_596_800_000, // 0001-01-01
            -62_135_596_800_001,
            253_402_300_799_999,
            253_402_300_800_000,
            -377_705_116_800_000,
            -377_705_116_800_001,
            -62_198_755_200_000, // year -1
            i64::MAX,
            i64::MIN,
        ];
        // A walk over four centuries in steps that land on every field.
        let mut ms: i64 = -6_000_000_000_000;
        while ms < 7_000_000_000_000 {
            cases.push(ms);
            ms += 3_999_999_937;
        }
        for ms in cases {
            assert_eq!(rfc3339(ms), reference(ms), "{ms}");
        }
    }
}
