//! Time partitions: the partition of an instant at a [`Timedepth`], the
//! next one, and the time parts that end its index name (`2024.03.05`).

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};

use super::ascii_to_string;
use crate::Timedepth;
use crate::error::{Error, Result};

/// The partition arithmetic and index suffixes of [`Timedepth`] (the type
/// and its names are shared with the derive, in `shared/timedepth.rs`).
///
/// ```
/// use esrecord::Timedepth;
/// let depth: Timedepth = "month".parse().unwrap();
/// assert_eq!(depth, Timedepth::Month);
/// assert_eq!(depth.to_string(), "month");
/// ```
impl Timedepth {
    /// The start of the partition that contains `t`.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use esrecord::Timedepth;
    /// let t = Utc.with_ymd_and_hms(2024, 3, 5, 7, 8, 9).unwrap();
    /// assert_eq!(Timedepth::Month.floor(t), Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap());
    /// ```
    pub fn floor(self, t: DateTime<Utc>) -> DateTime<Utc> {
        let (month, day, hour) = match self {
            Timedepth::Year => (1, 1, 0),
            Timedepth::Month => (t.month(), 1, 0),
            Timedepth::Day => (t.month(), t.day(), 0),
            Timedepth::Hour => (t.month(), t.day(), t.hour()),
        };
        // The components come from a valid instant, so they name one.
        Utc.with_ymd_and_hms(t.year(), month, day, hour, 0, 0)
            .single()
            .unwrap_or(t)
    }

    /// The start of the partition after the one that starts at `start`
    /// (`start` must be a partition start), or `None` past chrono's range.
    pub fn next(self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let (year, month) = (start.year(), start.month());
        match self {
            Timedepth::Year => Utc
                .with_ymd_and_hms(year.checked_add(1)?, 1, 1, 0, 0, 0)
                .single(),
            Timedepth::Month if month == 12 => Utc
                .with_ymd_and_hms(year.checked_add(1)?, 1, 1, 0, 0, 0)
                .single(),
            Timedepth::Month => Utc.with_ymd_and_hms(year, month + 1, 1, 0, 0, 0).single(),
            Timedepth::Day => start.checked_add_signed(chrono::TimeDelta::days(1)),
            Timedepth::Hour => start.checked_add_signed(chrono::TimeDelta::hours(1)),
        }
    }

    /// Appends the time parts of `t` at this depth (`2024.03.05` for day) to `out`.
    pub fn write_parts(self, t: &DateTime<Utc>, out: &mut Vec<u8>) {
        // The naive value's calendar fields are several times cheaper to read
        // than the zoned one's (this is on the bulk encoder's path).
        let t = t.naive_utc();
        push_year(out, t.year());
        if self >= Timedepth::Month {
            out.push(b'.');
            push_two_digits(out, t.month());
        }
        if self >= Timedepth::Day {
            out.push(b'.');
            push_two_digits(out, t.day());
        }
        if self >= Timedepth::Hour {
            out.push(b'.');
            push_two_digits(out, t.hour());
        }
    }

    /// The time parts of `t` at this depth, as a string.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use esrecord::Timedepth;
    /// let t = Utc.with_ymd_and_hms(2024, 3, 5, 7, 8, 9).unwrap();
    /// assert_eq!(Timedepth::Hour.parts(&t), "2024.03.05.07");
    /// ```
    pub fn parts(self, t: &DateTime<Utc>) -> String {
        let mut out = Vec::with_capacity(13);
        self.write_parts(t, &mut out);
        ascii_to_string(out)
    }
}

pub(crate) fn push_year(out: &mut Vec<u8>, year: i32) {
    if (0..=9999).contains(&year) {
        let year = year as u32;
        push_two_digits(out, year / 100);
        push_two_digits(out, year % 100);
    } else {
        // Outside what `check_timestamp` accepts; still a distinct, valid name.
        out.extend_from_slice(format!("{year:04}").as_bytes());
    }
}

pub(crate) fn push_two_digits(out: &mut Vec<u8>, n: u32) {
    out.push(b'0' + (n / 10 % 10) as u8);
    out.push(b'0' + (n % 10) as u8);
}

/// Checks that a timestamp can name a partition: its year must be within
/// 0000..=9999, so that partition names sort as their times do and every
/// engine parses them.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use esrecord::naming::check_timestamp;
/// assert!(check_timestamp(&Utc.with_ymd_and_hms(200, 6, 1, 0, 0, 0).unwrap()).is_ok());
/// assert!(check_timestamp(&Utc.with_ymd_and_hms(12000, 1, 1, 0, 0, 0).unwrap()).is_err());
/// ```
pub fn check_timestamp(t: &DateTime<Utc>) -> Result<()> {
    if (0..=9999).contains(&t.year()) {
        Ok(())
    } else {
        Err(Error::TimestampOutOfRange {
            timestamp: t.to_rfc3339(),
            reason: "index names hold four-digit years, so timestamps must fall within the years 0000 to 9999",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::names::PARTITION_SUFFIX_BYTES;

    #[test]
    fn floor_and_next_cross_year_ends() {
        let t = Utc.with_ymd_and_hms(2023, 12, 31, 23, 59, 59).unwrap();
        let new_year = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        for depth in Timedepth::ALL {
            assert_eq!(depth.next(depth.floor(t)), Some(new_year), "{depth}");
        }
    }

    #[test]
    fn the_longest_time_parts_fit_the_suffix_names_leave_room_for() {
        let last = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap();
        assert_eq!(Timedepth::Hour.parts(&last), "9999.12.31.23");
        // `_` and the time parts; an hour's are the longest.
        for depth in Timedepth::ALL {
            assert!(depth.parts(&last).len() < PARTITION_SUFFIX_BYTES);
        }
        assert_eq!(
            Timedepth::Hour.parts(&last).len() + 1,
            PARTITION_SUFFIX_BYTES
        );
    }
}
