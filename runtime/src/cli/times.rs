//! Times on the command line: `--from` and `--until`, and time values in
//! `--where`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};

use super::{Failure, RangeArgs};
use crate::dates;
use crate::naming::{TimeBound, TimeRange};

/// What a time may be written as, for error messages.
const FORMS: &str = "2024, 2024-03, 2024-03-05, 2024-03-05T10, 2024-03-05T10:30, an RFC 3339 time (2024-03-05T10:30:00Z), `now`, or a time ago (90m, 12h, 7d, 2w)";

/// The instant `text` names (UTC), relative to `now` for `now` and times
/// ago.
///
/// `2024-03` is the start of March 2024; `7d` is a week before `now`.
pub(crate) fn instant(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    let problem = || format!("{text:?} is not a time; write {FORMS}");
    if text == "now" {
        return Ok(now);
    }
    if let Some(ago) = time_ago(text) {
        return now.checked_sub_signed(ago).ok_or_else(problem);
    }
    if let Some(t) = shared_form(text) {
        return Ok(t);
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc());
        }
    }
    calendar_prefix(text)
        .ok_or_else(problem)?
        .resolve()
        .map_err(|e| e.to_string())
}

/// The forms shared with Elasticsearch's `strict_date_optional_time`,
/// read by the one date reader ([`dates::read_date_time`]): an RFC 3339
/// time, a date (`2024-03-05`), and a date and time without zone, in UTC
/// (`2024-03-05T10:30`, `2024-03-05T10:30:00`).
///
/// The reader's other forms are left to the rest of [`instant`], so that
/// the command line takes what it always took: years and months (`2024`,
/// `2024-03`) are calendar parts, of any year, and a fraction of a second
/// needs an offset (`2024-03-05T10:30:00.5Z`, not `2024-03-05T10:30:00.5`).
fn shared_form(text: &str) -> Option<DateTime<Utc>> {
    let date = text.split('T').next().unwrap_or(text);
    let has_day = date.trim_start_matches(['+', '-']).split('-').count() >= 3;
    let local_fraction = text
        .rsplit_once('.')
        .is_some_and(|(_, fraction)| fraction.bytes().all(|byte| byte.is_ascii_digit()));
    if !has_day || local_fraction {
        return None;
    }
    let nanos = dates::read_date_time(text)?;
    let seconds = i64::try_from(nanos.div_euclid(1_000_000_000)).ok()?;
    let subsec = u32::try_from(nanos.rem_euclid(1_000_000_000)).ok()?;
    DateTime::from_timestamp(seconds, subsec)
}

/// `2024`, `2024-03`, `2024-03-05T10`: the start of that year, month or hour.
fn calendar_prefix(text: &str) -> Option<TimeBound> {
    let (date, hour) = match text.split_once('T') {
        Some((date, hour)) => (date, Some(hour.parse().ok()?)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let year = parts.next()?.parse().ok()?;
    let month = parts.next().map(str::parse).transpose().ok()?;
    let day = parts.next().map(str::parse).transpose().ok()?;
    if parts.next().is_some() || (hour.is_some() && day.is_none()) {
        return None;
    }
    Some(TimeBound::Parts {
        year,
        month,
        day,
        hour,
    })
}

/// `90m`, `-12h`, `7d ago`, `2w`: a length of time back from now.
fn time_ago(text: &str) -> Option<TimeDelta> {
    let text = text.strip_suffix(" ago").unwrap_or(text);
    let text = text.strip_prefix('-').unwrap_or(text);
    let unit = text.chars().last()?;
    let count: i64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    match unit {
        's' => TimeDelta::try_seconds(count),
        'm' => TimeDelta::try_minutes(count),
        'h' => TimeDelta::try_hours(count),
        'd' => TimeDelta::try_days(count),
        'w' => TimeDelta::try_weeks(count),
        _ => None,
    }
}

/// The range `--from`/`--until` give: `None` without either (every
/// partition); `--until` alone is from the earliest time; `--from` alone
/// is until now.
pub(crate) fn range(args: &RangeArgs) -> Result<Option<TimeRange>, Failure> {
    let now = Utc::now();
    let bound = |flag: &str, text: &str| {
        instant(text, now).map_err(|problem| Failure::usage(format!("--{flag}: {problem}")))
    };
    let (from, until) = match (&args.from, &args.until) {
        (None, None) => return Ok(None),
        (Some(from), None) => (bound("from", from)?, now),
        (None, Some(until)) => (earliest(), bound("until", until)?),
        (Some(from), Some(until)) => (bound("from", from)?, bound("until", until)?),
    };
    TimeRange::new(from, until)
        .map(Some)
        .map_err(|e| Failure::usage(format!("{e}; give a --from before the --until")))
}

/// The earliest time a record may have (year 0).
fn earliest() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(0, 1, 1)
        .unwrap_or(NaiveDate::MIN)
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn every_written_form_names_its_instant() {
        let now = at(2024, 3, 10, 12, 0);
        let cases = [
            ("2024", at(2024, 1, 1, 0, 0)),
            ("2024-03", at(2024, 3, 1, 0, 0)),
            ("2024-03-05", at(2024, 3, 5, 0, 0)),
            ("2024-03-05T10", at(2024, 3, 5, 10, 0)),
            ("2024-03-05T10:30", at(2024, 3, 5, 10, 30)),
            ("2024-03-05T10:30:00", at(2024, 3, 5, 10, 30)),
            ("2024-03-05 10:30:00", at(2024, 3, 5, 10, 30)),
            ("2024-03-05 10:30", at(2024, 3, 5, 10, 30)),
            ("2024-03-05T10:30:00+02:00", at(2024, 3, 5, 8, 30)),
            (
                "2024-03-05T10:30:00.250Z",
                at(2024, 3, 5, 10, 30) + TimeDelta::milliseconds(250),
            ),
            ("now", now),
            ("90m", at(2024, 3, 10, 10, 30)),
            ("-12h", at(2024, 3, 10, 0, 0)),
            ("7d ago", at(2024, 3, 3, 12, 0)),
            ("1w", at(2024, 3, 3, 12, 0)),
        ];
        for (text, expected) in cases {
            assert_eq!(instant(text, now), Ok(expected), "{text}");
        }
    }

    #[test]
    fn what_is_not_a_time_says_how_to_write_one() {
        let now = at(2024, 3, 10, 12, 0);
        for text in [
            "yesterday",
            "2024-13",
            "2024-03-05T25",
            "7y",
            "",
            "2024-02-30",
            // Forms of the date reader that are not times here: epoch
            // milliseconds, and a fraction of a second without an offset.
            "1714521600000",
            "2024-03-05T10:30:00.5",
        ] {
            let error = instant(text, now).err().unwrap_or_default();
            assert!(!error.is_empty(), "{text:?} was read as a time");
        }
        assert!(
            instant("soon", now)
                .err()
                .unwrap_or_default()
                .contains("RFC 3339")
        );
        assert_eq!(
            instant("soon", now),
            Err(format!("\"soon\" is not a time; write {FORMS}"))
        );
        assert_eq!(
            instant("2024-02-30", now),
            Err("invalid time bound (2024, 2, 30,): that day does not exist in that month".into())
        );
        assert_eq!(
            instant("2024-13", now),
            Err("invalid time bound (2024, 13,): the month must be 1 to 12".into())
        );
    }
}
