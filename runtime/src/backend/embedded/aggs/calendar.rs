//! Where the buckets of a date histogram start, in a time zone: calendar
//! units from a second to a year and fixed intervals, rounded as
//! Elasticsearch rounds them, for every date the engine stores (the years
//! 0000 to 9999, before 1970 included).
//!
//! A bucket's key is the UTC instant (epoch milliseconds) at which it starts
//! in local time: the calendar month of 1970-01 in `+05:30` starts at
//! 1969-12-31T18:30:00Z, a negative key. Days, weeks, months, quarters and
//! years start at local midnight (the first instant after it where a
//! daylight-saving change skips midnight); shorter units and fixed
//! intervals are counted on the local clock. An `offset` shifts every
//! bucket by that much, as in Elasticsearch.
//!
//! Tantivy's histograms have buckets of one width in UTC, so the engine
//! asks it for a `range` aggregation over these starts instead (see
//! `date_histogram.rs`).

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset,
    TimeZone, Utc,
};
use chrono_tz::Tz;

/// Milliseconds in a second, minute, hour and day.
const SECOND_MS: i64 = 1_000;
const MINUTE_MS: i64 = 60 * SECOND_MS;
const HOUR_MS: i64 = 60 * MINUTE_MS;

/// The time zone of a date histogram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Zone {
    /// A fixed offset from UTC (`+05:30`, `-08:00`, `UTC`).
    Fixed(FixedOffset),
    /// An IANA zone with its daylight-saving rules (`America/New_York`).
    Named(Tz),
}

impl Zone {
    /// UTC.
    pub(crate) fn utc() -> Self {
        Zone::Fixed(Utc.fix())
    }

    /// Reads a `time_zone` as Elasticsearch takes it: an offset (`+05:30`,
    /// `-0800`, `+05`, `Z`), `UTC` or another name of UTC, or an IANA zone
    /// name. `None` when it is none of these.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        if let Some(offset) = parse_offset(text) {
            return Some(Zone::Fixed(offset));
        }
        match text {
            "UTC" | "Z" | "GMT" | "UCT" | "Universal" | "Zulu" => return Some(Zone::utc()),
            _ => {}
        }
        text.parse::<Tz>().ok().map(Zone::Named)
    }

    /// Whether the zone is UTC at every instant.
    pub(crate) fn is_utc(&self) -> bool {
        match self {
            Zone::Fixed(offset) => offset.local_minus_utc() == 0,
            Zone::Named(tz) => matches!(
                tz.name(),
                "UTC"
                    | "Etc/UTC"
                    | "Etc/UCT"
                    | "Etc/Universal"
                    | "Etc/Zulu"
                    | "Etc/GMT"
                    | "GMT"
                    | "UCT"
                    | "Universal"
                    | "Zulu"
            ),
        }
    }

    /// The zone's offset from UTC at the instant `utc_ms`, in milliseconds.
    fn offset_ms(&self, utc_ms: i64) -> i64 {
        let Some(utc) = DateTime::<Utc>::from_timestamp_millis(utc_ms) else {
            return 0;
        };
        let seconds = match self {
            Zone::Fixed(offset) => offset.local_minus_utc(),
            Zone::Named(tz) => tz
                .offset_from_utc_datetime(&utc.naive_utc())
                .fix()
                .local_minus_utc(),
        };
        i64::from(seconds) * SECOND_MS
    }

    /// The UTC instant of a local wall-clock time: the earlier one when the
    /// clock shows it twice, the first instant after a gap that skips it.
    fn utc_of_local(&self, local: NaiveDateTime) -> i64 {
        let resolve = |local: NaiveDateTime| -> Option<i64> {
            match self {
                Zone::Fixed(offset) => earliest(offset.from_local_datetime(&local)),
                Zone::Named(tz) => earliest(tz.from_local_datetime(&local)),
            }
        };
        if let Some(ms) = resolve(local) {
            return ms;
        }
        // In a gap (the clock jumped over `local`): the gap ends at the
        // first quarter hour that exists, as every zone's gaps end on one.
        let mut later = local;
        for _ in 0..(4 * 24) {
            later += Duration::minutes(15);
            if let Some(ms) = resolve(later) {
                return ms;
            }
        }
        local.and_utc().timestamp_millis()
    }

    /// The local wall-clock time of `utc_ms`.
    fn local(&self, utc_ms: i64) -> Option<NaiveDateTime> {
        DateTime::<Utc>::from_timestamp_millis(utc_ms.checked_add(self.offset_ms(utc_ms))?)
            .map(|local| local.naive_utc())
    }

    /// An instant as `strict_date_optional_time` prints it in this zone
    /// (`1970-01-01T00:00:00.000+05:30`; `Z` where the offset is zero), as
    /// Elasticsearch prints a bucket's `key_as_string`.
    pub(crate) fn format(&self, utc_ms: i64) -> String {
        let offset = self.offset_ms(utc_ms);
        let Some(local) = self.local(utc_ms) else {
            return utc_ms.to_string();
        };
        let clock = local.format("%Y-%m-%dT%H:%M:%S%.3f");
        if offset == 0 {
            return format!("{clock}Z");
        }
        let sign = if offset < 0 { '-' } else { '+' };
        let minutes = offset.abs() / MINUTE_MS;
        format!("{clock}{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    }
}

fn earliest<T: TimeZone>(result: LocalResult<DateTime<T>>) -> Option<i64> {
    match result {
        LocalResult::Single(time) | LocalResult::Ambiguous(time, _) => {
            Some(time.timestamp_millis())
        }
        LocalResult::None => None,
    }
}

/// An offset written `+05:30`, `-0800`, `+05` (hours at most 18).
fn parse_offset(text: &str) -> Option<FixedOffset> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || rest.len() > 5 {
        return None;
    }
    let (hours, minutes) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    if hours > 18 || minutes > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// A calendar unit of `calendar_interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    /// Reads a `calendar_interval`: `month` or `1M`, and so on.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "second" | "1s" => Unit::Second,
            "minute" | "1m" => Unit::Minute,
            "hour" | "1h" => Unit::Hour,
            "day" | "1d" => Unit::Day,
            "week" | "1w" => Unit::Week,
            "month" | "1M" => Unit::Month,
            "quarter" | "1q" => Unit::Quarter,
            "year" | "1y" => Unit::Year,
            _ => return None,
        })
    }

    /// The unit's length when it is counted on the local clock.
    fn clock_ms(self) -> Option<i64> {
        match self {
            Unit::Second => Some(SECOND_MS),
            Unit::Minute => Some(MINUTE_MS),
            Unit::Hour => Some(HOUR_MS),
            _ => None,
        }
    }
}

/// How bucket starts are rounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Rounding {
    /// A calendar unit.
    Calendar(Unit),
    /// A fixed interval, in milliseconds (more than zero).
    Fixed(i64),
}

/// The bucket grid of one date histogram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Calendar {
    pub(crate) rounding: Rounding,
    pub(crate) zone: Zone,
    /// Milliseconds every bucket is shifted by.
    pub(crate) offset: i64,
}

impl Calendar {
    /// The start of the bucket that holds the instant `ms`.
    pub(crate) fn floor(&self, ms: i64) -> i64 {
        self.round(ms.saturating_sub(self.offset))
            .saturating_add(self.offset)
    }

    /// The start of the bucket after the one that starts at `start`.
    pub(crate) fn next(&self, start: i64) -> i64 {
        let unshifted = start.saturating_sub(self.offset);
        self.next_unshifted(unshifted).saturating_add(self.offset)
    }

    /// The starts of every bucket from the one holding `min` to the one
    /// holding `max`, and the end of the last; `None` when there would be
    /// more than `limit`.
    pub(crate) fn starts(&self, min: i64, max: i64, limit: usize) -> Option<Vec<i64>> {
        let mut starts = vec![self.floor(min)];
        loop {
            let last = *starts.last()?;
            let next = self.next(last);
            starts.push(next);
            if next > max || next <= last {
                return Some(starts);
            }
            if starts.len() > limit {
                return None;
            }
        }
    }

    fn clock_interval(&self) -> Option<i64> {
        match self.rounding {
            Rounding::Fixed(interval) => Some(interval),
            Rounding::Calendar(unit) => unit.clock_ms(),
        }
    }

    fn round(&self, ms: i64) -> i64 {
        if let Some(interval) = self.clock_interval() {
            // Counted on the local clock with the offset in force at `ms`,
            // so the hour the clock repeats in autumn is two buckets.
            let offset = self.zone.offset_ms(ms);
            let local = ms.saturating_add(offset);
            return (local.div_euclid(interval) * interval).saturating_sub(offset);
        }
        let Some(local) = self.zone.local(ms) else {
            return ms;
        };
        let date = local.date();
        let first = match self.rounding {
            Rounding::Calendar(Unit::Week) => {
                date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
            }
            Rounding::Calendar(Unit::Month) => date.with_day(1).unwrap_or(date),
            Rounding::Calendar(Unit::Quarter) => {
                let month = (date.month0() / 3) * 3 + 1;
                NaiveDate::from_ymd_opt(date.year(), month, 1).unwrap_or(date)
            }
            Rounding::Calendar(Unit::Year) => {
                NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date)
            }
            _ => date,
        };
        self.midnight(first)
    }

    fn next_unshifted(&self, start: i64) -> i64 {
        if let Some(interval) = self.clock_interval() {
            let next = self.round(start.saturating_add(interval));
            return if next > start {
                next
            } else {
                start.saturating_add(interval)
            };
        }
        let Some(local) = self.zone.local(start) else {
            return start.saturating_add(HOUR_MS);
        };
        let date = local.date();
        let next = match self.rounding {
            Rounding::Calendar(Unit::Week) => date.checked_add_signed(Duration::days(7)),
            Rounding::Calendar(Unit::Month) => date.checked_add_months(chrono::Months::new(1)),
            Rounding::Calendar(Unit::Quarter) => date.checked_add_months(chrono::Months::new(3)),
            Rounding::Calendar(Unit::Year) => date.checked_add_months(chrono::Months::new(12)),
            _ => date.succ_opt(),
        };
        match next {
            Some(next) => self.midnight(next),
            None => i64::MAX,
        }
    }

    fn midnight(&self, date: NaiveDate) -> i64 {
        self.zone
            .utc_of_local(date.and_time(chrono::NaiveTime::MIN))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_millis()
    }

    fn calendar(rounding: Rounding, zone: &str) -> Calendar {
        Calendar {
            rounding,
            zone: Zone::parse(zone).unwrap(),
            offset: 0,
        }
    }

    #[test]
    fn zones_are_read_as_elasticsearch_takes_them() {
        for utc in [
            "UTC", "Z", "+00:00", "-00:00", "+00", "+0000", "Etc/UTC", "GMT",
        ] {
            assert!(Zone::parse(utc).unwrap().is_utc(), "{utc}");
        }
        let india = Zone::parse("+05:30").unwrap();
        assert_eq!(india, Zone::parse("+0530").unwrap());
        assert_eq!(india.offset_ms(0), 5 * HOUR_MS + 30 * MINUTE_MS);
        assert!(!Zone::parse("America/New_York").unwrap().is_utc());
        for bad in ["Mars/Olympus", "+25:00", "+5:3", "", "05:30"] {
            assert_eq!(Zone::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn months_in_a_fixed_zone_start_at_local_midnight_across_1970() {
        let c = calendar(Rounding::Calendar(Unit::Month), "+05:30");
        let start = c.floor(ms("1970-01-15T00:00:00Z"));
        assert_eq!(start, ms("1969-12-31T18:30:00Z"));
        assert_eq!(
            c.floor(ms("1969-12-31T18:29:59.999Z")),
            ms("1969-11-30T18:30:00Z")
        );
        assert_eq!(c.next(start), ms("1970-01-31T18:30:00Z"));
        assert_eq!(c.zone.format(start), "1970-01-01T00:00:00.000+05:30");
        let starts = c.starts(ms("1969-10-02T00:00:00Z"), ms("1970-02-01T00:00:00Z"), 100);
        assert_eq!(
            starts.unwrap(),
            [
                ms("1969-09-30T18:30:00Z"),
                ms("1969-10-31T18:30:00Z"),
                ms("1969-11-30T18:30:00Z"),
                ms("1969-12-31T18:30:00Z"),
                ms("1970-01-31T18:30:00Z"),
                ms("1970-02-28T18:30:00Z"),
            ]
        );
    }

    #[test]
    fn named_zones_follow_daylight_saving() {
        let c = calendar(Rounding::Calendar(Unit::Day), "America/New_York");
        // 1969-10-26: summer time ended at 02:00 local; the day has 25 hours.
        let day = c.floor(ms("1969-10-26T12:00:00Z"));
        assert_eq!(day, ms("1969-10-26T04:00:00Z"));
        assert_eq!(c.next(day), ms("1969-10-27T05:00:00Z"));
        assert_eq!(c.zone.format(day), "1969-10-26T00:00:00.000-04:00");
        let month = calendar(Rounding::Calendar(Unit::Month), "America/New_York");
        // November starts at local midnight, in winter time (-05:00).
        assert_eq!(
            month.floor(ms("1969-11-01T04:59:59Z")),
            ms("1969-10-01T04:00:00Z")
        );
        assert_eq!(
            month.floor(ms("1969-11-01T05:00:00Z")),
            ms("1969-11-01T05:00:00Z")
        );
        // Hours are counted with the offset in force: on the day the clock
        // goes back, the repeated hour is two buckets.
        let hour = calendar(Rounding::Calendar(Unit::Hour), "America/New_York");
        let first = hour.floor(ms("1969-10-26T05:30:00Z"));
        assert_eq!(first, ms("1969-10-26T05:00:00Z"));
        assert_eq!(hour.next(first), ms("1969-10-26T06:00:00Z"));
        assert_eq!(
            hour.floor(ms("1969-10-26T06:30:00Z")),
            ms("1969-10-26T06:00:00Z")
        );
    }

    #[test]
    fn weeks_quarters_years_and_offsets() {
        let week = calendar(Rounding::Calendar(Unit::Week), "UTC");
        assert_eq!(
            week.floor(ms("1970-01-01T00:00:00Z")),
            ms("1969-12-29T00:00:00Z")
        );
        let quarter = calendar(Rounding::Calendar(Unit::Quarter), "-08:00");
        assert_eq!(
            quarter.floor(ms("0001-05-05T00:00:00Z")),
            ms("0001-04-01T08:00:00Z")
        );
        let year = calendar(Rounding::Calendar(Unit::Year), "UTC");
        assert_eq!(
            year.floor(ms("9999-12-31T23:59:59.999Z")),
            ms("9999-01-01T00:00:00Z")
        );
        assert_eq!(
            year.next(ms("1234-01-01T00:00:00Z")),
            ms("1235-01-01T00:00:00Z")
        );
        let shifted = Calendar {
            offset: 6 * HOUR_MS,
            ..calendar(Rounding::Calendar(Unit::Day), "UTC")
        };
        assert_eq!(
            shifted.floor(ms("1969-12-31T03:00:00Z")),
            ms("1969-12-30T06:00:00Z")
        );
        let fixed = calendar(Rounding::Fixed(3 * HOUR_MS), "+05:30");
        assert_eq!(
            fixed.floor(ms("1970-01-01T00:00:00Z")),
            ms("1969-12-31T21:30:00Z")
        );
        assert_eq!(
            fixed.next(ms("1969-12-31T21:30:00Z")),
            ms("1970-01-01T00:30:00Z")
        );
    }

    #[test]
    fn too_many_buckets_is_none() {
        let c = calendar(Rounding::Calendar(Unit::Month), "UTC");
        assert!(
            c.starts(
                ms("0001-01-01T00:00:00Z"),
                ms("9999-01-01T00:00:00Z"),
                65_000
            )
            .is_none()
        );
        assert_eq!(
            c.starts(ms("2024-03-05T00:00:00Z"), ms("2024-03-05T00:00:00Z"), 1)
                .unwrap()
                .len(),
            2
        );
    }
}
