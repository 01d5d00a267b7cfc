//! Times on the command line: `--from` and `--until`, and time values in
//! `--where`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};

use super::{Failure, RangeArgs};
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
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    calendar_prefix(text)
        .ok_or_else(problem)?
        .resolve()
        .map_err(|e| e.to_string())
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
            ("2024-03-05 10:30:00", at(2024, 3, 5, 10, 30)),
            ("2024-03-05T10:30:00+02:00", at(2024, 3, 5, 8, 30)),
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
    }
}
