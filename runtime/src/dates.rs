//! Dates: the one reader of the text forms a date takes, and how the
//! embedded engine stores dates.
//!
//! The reader takes the forms of Elasticsearch's default date format,
//! `strict_date_optional_time||epoch_millis` ([`read_text`]): the embedded
//! engine reads documents, queries, sorts and aggregations with it, and the
//! command line reads its absolute times (`--from`, `--until`, time values
//! in `--where`) with the date-time half of it ([`read_date_time`]).
//!
//! Elasticsearch keeps a `date` as milliseconds since the epoch in a long,
//! and so does the engine: a `date` field is an `i64` column of epoch
//! milliseconds, which holds every date of the years 0000 to 9999 (and far
//! beyond), negative before 1970. A `date_nanos` field is an `i64` column of
//! nanoseconds, as in Elasticsearch, which holds 1677-09-21 to 2262-04-11.
//!
//! Instants are read at nanosecond precision (an `i128`, which no date
//! overflows) and stored floored to the field's unit, as Java's
//! `Instant.toEpochMilli` floors: 1969-12-31T23:59:59.9995Z is stored as
//! -1 ms, not 0.
//!
//! ```ignore
//! let nanos = dates::read_text("1969-12-31T23:59:59.9995Z").unwrap();
//! assert_eq!(DateUnit::Millis.stored(nanos), Some(-1));
//! assert_eq!(dates::format_millis(-1), "1969-12-31T23:59:59.999Z");
//! ```

// The command line reads only date-times; the rest is the engine's.
#![cfg_attr(not(feature = "embedded"), allow(dead_code))]

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use crate::naming::{push_two_digits, push_year};

/// Nanoseconds in one millisecond.
pub(crate) const NANOS_PER_MILLI: i128 = 1_000_000;

/// The unit a date field's column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateUnit {
    /// `date`: epoch milliseconds.
    Millis,
    /// `date_nanos`: epoch nanoseconds.
    Nanos,
}

impl DateUnit {
    /// Nanoseconds in one stored unit.
    pub(crate) const fn nanos(self) -> i128 {
        match self {
            DateUnit::Millis => NANOS_PER_MILLI,
            DateUnit::Nanos => 1,
        }
    }

    /// The stored value of an instant given in nanoseconds: floored to the
    /// unit; `None` when it does not fit the column.
    pub(crate) fn stored(self, nanos: i128) -> Option<i64> {
        i64::try_from(nanos.div_euclid(self.nanos())).ok()
    }

    /// A stored value (or an aggregate of stored values) as epoch
    /// milliseconds.
    pub(crate) fn to_millis(self, stored: f64) -> f64 {
        match self {
            DateUnit::Millis => stored,
            DateUnit::Nanos => stored / NANOS_PER_MILLI as f64,
        }
    }

    /// The dates a column of this unit holds, for error messages.
    pub(crate) const fn span(self) -> &'static str {
        match self {
            DateUnit::Millis => "the years 0000 to 9999 and beyond",
            DateUnit::Nanos => "1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z",
        }
    }
}

/// Epoch milliseconds (a whole number) as nanoseconds.
pub(crate) fn millis_to_nanos(millis: i128) -> i128 {
    millis.saturating_mul(NANOS_PER_MILLI)
}

/// Epoch milliseconds with a fraction as nanoseconds (toward zero below a
/// nanosecond).
pub(crate) fn fractional_millis_to_nanos(millis: f64) -> i128 {
    (millis * NANOS_PER_MILLI as f64) as i128
}

/// Reads a date written as text, as Elasticsearch's default format
/// (`strict_date_optional_time||epoch_millis`) reads it, in nanoseconds
/// since the epoch; `None` when no form fits: the forms of
/// [`read_date_time`], or any other string of digits, with an optional `-`:
/// epoch milliseconds.
///
/// Date math (`now-1d`, `2024-05-01||+1M`) is the caller's to refuse.
pub(crate) fn read_text(text: &str) -> Option<i128> {
    if digits(text.strip_prefix('-').unwrap_or(text)) && !is_year(text) {
        return text.parse::<i128>().ok().map(millis_to_nanos);
    }
    read_date_time(text)
}

/// Reads a date written in one of the forms of Elasticsearch's
/// `strict_date_optional_time`, in nanoseconds since the epoch; `None` when
/// no form fits:
///
/// - RFC 3339 with any offset (`2024-05-01T12:00:00.250+02:00`);
/// - `YYYY-MM-DDTHH:MM[:SS[.f]]` in UTC;
/// - `YYYY-MM-DD`, `YYYY-MM` and `YYYY`: midnight UTC of the first day (a
///   lone four-digit string is a year, as in Elasticsearch; other strings
///   of digits are not dates here).
pub(crate) fn read_date_time(text: &str) -> Option<i128> {
    if is_year(text) {
        return midnight(&format!("{text}-01-01"));
    }
    if digits(text) {
        return None;
    }
    if let Ok(zoned) = DateTime::parse_from_rfc3339(text) {
        return Some(seconds_and_nanos(
            zoned.timestamp(),
            zoned.timestamp_subsec_nanos(),
        ));
    }
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok());
    match naive {
        Some(naive) => {
            let utc = naive.and_utc();
            Some(seconds_and_nanos(
                utc.timestamp(),
                utc.timestamp_subsec_nanos(),
            ))
        }
        // `YYYY-MM-DD`, or `YYYY-MM` (the first of the month).
        None => midnight(text).or_else(|| midnight(&format!("{text}-01"))),
    }
}

/// Whether `text` is a non-empty string of ASCII digits.
fn digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// Whether `text` is a year: four digits.
fn is_year(text: &str) -> bool {
    text.len() == 4 && digits(text)
}

/// Whether `text` is date math, which the engine does not evaluate.
pub(crate) fn is_date_math(text: &str) -> bool {
    text.starts_with("now") || text.contains("||")
}

/// Epoch milliseconds as Elasticsearch's `strict_date_optional_time`
/// prints them: `2024-03-05T07:00:00.000Z`, `0001-01-01T00:00:00.000Z`.
pub(crate) fn format_millis(ms: i64) -> String {
    match DateTime::from_timestamp_millis(ms) {
        Some(date) => date.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => ms.to_string(),
    }
}

/// Appends `t` as a JSON string exactly as serde serializes a
/// `DateTime<Utc>` (RFC 3339, `Z`, fractions of 0, 3, 6 or 9 digits):
/// `"2024-03-05T07:08:09Z"`, `"2024-03-05T07:08:09.120Z"`. Several times
/// cheaper than chrono's formatter; the bulk encoder writes it for every
/// record of a data stream.
pub(crate) fn write_json_rfc3339(out: &mut Vec<u8>, t: &DateTime<chrono::Utc>) {
    use chrono::{Datelike, Timelike};
    let naive = t.naive_utc();
    let nanos = naive.nanosecond();
    if !(0..=9999).contains(&naive.year()) || nanos >= 1_000_000_000 {
        // Years chrono signs and leap seconds: its own formatter.
        out.extend_from_slice(
            format!(
                "\"{}\"",
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            )
            .as_bytes(),
        );
        return;
    }
    out.push(b'"');
    push_year(out, naive.year());
    for (separator, part) in [
        (b'-', naive.month()),
        (b'-', naive.day()),
        (b'T', naive.hour()),
        (b':', naive.minute()),
        (b':', naive.second()),
    ] {
        out.push(separator);
        push_two_digits(out, part);
    }
    let (fraction, digits) = match nanos {
        0 => (0, 0),
        n if n % 1_000_000 == 0 => (n / 1_000_000, 3),
        n if n % 1_000 == 0 => (n / 1_000, 6),
        n => (n, 9),
    };
    if digits > 0 {
        out.push(b'.');
        let start = out.len();
        out.resize(start + digits, b'0');
        let mut rest = fraction;
        for at in (start..start + digits).rev() {
            out[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
    }
    out.extend_from_slice(b"Z\"");
}

/// Midnight UTC of a `YYYY-MM-DD` date, in nanoseconds.
fn midnight(text: &str) -> Option<i128> {
    let utc = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)?
        .and_utc();
    Some(seconds_and_nanos(utc.timestamp(), 0))
}

/// Seconds plus sub-second nanoseconds, as nanoseconds.
fn seconds_and_nanos(seconds: i64, nanos: u32) -> i128 {
    i128::from(seconds) * 1_000_000_000 + i128::from(nanos)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// 2024-05-01T00:00:00Z in nanoseconds.
    const MIDNIGHT: i128 = 1_714_521_600_000_000_000;

    fn nanos(text: &str) -> i128 {
        read_text(text).unwrap()
    }

    #[test]
    fn rfc3339_is_written_as_serde_writes_it() {
        let cases = [
            "2024-03-05T07:08:09Z",
            "2024-03-05T07:08:09.120Z",
            "2024-03-05T07:08:09.000120Z",
            "2024-03-05T07:08:09.000000120Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "+10000-01-01T00:00:00Z",
        ];
        for text in cases {
            let t: DateTime<chrono::Utc> = text.parse().unwrap();
            let mut out = Vec::new();
            write_json_rfc3339(&mut out, &t);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&t).unwrap(),
                "{text}"
            );
        }
    }

    #[test]
    fn every_text_form_reads_to_its_instant() {
        // (form, text, nanoseconds): each form of the reader once.
        let date_times = [
            ("RFC 3339, UTC", "2024-05-01T00:00:00Z", MIDNIGHT),
            (
                "RFC 3339, east of UTC",
                "2024-05-01T02:00:00+02:00",
                MIDNIGHT,
            ),
            (
                "RFC 3339, west of UTC",
                "2024-04-30T19:00:00-05:00",
                MIDNIGHT,
            ),
            (
                "RFC 3339, nanoseconds",
                "2024-05-01T00:00:00.000000001Z",
                MIDNIGHT + 1,
            ),
            ("date-time without zone", "2024-05-01T00:00:00", MIDNIGHT),
            (
                "date-time without zone, fraction",
                "2024-05-01T00:00:00.250",
                MIDNIGHT + 250_000_000,
            ),
            (
                "date-time without zone, minutes",
                "2024-05-01T00:00",
                MIDNIGHT,
            ),
            ("date", "2024-05-01", MIDNIGHT),
            ("year and month", "2024-05", MIDNIGHT),
            ("year", "2024", 1_704_067_200_000_000_000), // 2024-01-01
        ];
        for (form, text, expected) in date_times {
            assert_eq!(read_date_time(text), Some(expected), "{form}: {text}");
            assert_eq!(read_text(text), Some(expected), "{form}: {text}");
        }
        let epoch_millis = [
            ("epoch milliseconds", "1714521600000", MIDNIGHT),
            ("negative epoch milliseconds", "-1000", -1_000_000_000),
            ("five digits: epoch milliseconds", "20240", 20_240_000_000),
        ];
        for (form, text, expected) in epoch_millis {
            assert_eq!(read_text(text), Some(expected), "{form}: {text}");
            assert_eq!(read_date_time(text), None, "{form}: {text}");
        }
        for bad in ["yesterday", "2024-13-01", "", "2024-05-01T25:00"] {
            assert_eq!(read_text(bad), None, "{bad}");
        }
        assert!(is_date_math("now-1d") && is_date_math("2024-05-01||+1M"));
        assert!(!is_date_math("2024-05-01"));
    }

    #[test]
    fn dates_across_the_whole_range_are_stored_and_printed_in_milliseconds() {
        for (text, ms) in [
            ("0000-01-01T00:00:00Z", -62_167_219_200_000_i64),
            ("0001-01-01T00:00:00Z", -62_135_596_800_000),
            ("1677-09-21T00:12:43.145Z", -9_223_372_036_855),
            ("1969-12-31T23:59:59.999Z", -1),
            ("1970-01-01T00:00:00.000Z", 0),
            ("2263-01-01T00:00:00.000Z", 9_246_182_400_000),
            ("9999-12-31T23:59:59.999Z", 253_402_300_799_999),
        ] {
            let stored = DateUnit::Millis.stored(nanos(text));
            assert_eq!(stored, Some(ms), "{text}");
            assert_eq!(
                read_text(&format_millis(ms)).and_then(|n| DateUnit::Millis.stored(n)),
                Some(ms)
            );
        }
        assert_eq!(format_millis(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            format_millis(-62_135_596_800_000),
            "0001-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn sub_unit_digits_floor_also_before_1970() {
        assert_eq!(
            DateUnit::Millis.stored(nanos("1969-12-31T23:59:59.9995Z")),
            Some(-1)
        );
        assert_eq!(
            DateUnit::Millis.stored(nanos("1970-01-01T00:00:00.0005Z")),
            Some(0)
        );
        assert_eq!(
            DateUnit::Millis.stored(nanos("2024-05-01T00:00:00.123999Z")),
            Some(1_714_521_600_123)
        );
        // date_nanos holds what fits an i64 of nanoseconds only.
        assert_eq!(
            DateUnit::Nanos.stored(nanos("2262-04-11T23:47:16.854775807Z")),
            Some(i64::MAX)
        );
        assert_eq!(DateUnit::Nanos.stored(nanos("2263-01-01")), None);
        assert_eq!(DateUnit::Nanos.to_millis(1.5e6), 1.5);
    }
}
