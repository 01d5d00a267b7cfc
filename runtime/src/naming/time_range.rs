//! Time ranges: the bounds a search is given (`(2024, 3)`, a date, an
//! instant) and the resolved range `from <= t < until`.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::error::{Error, Result};

/// One end of a time range: `(Y,)`, `(Y, M)`, `(Y, M, D)`, `(Y, M, D, H)`, a
/// `NaiveDate` (midnight UTC), a `NaiveDateTime` (taken as UTC) or any
/// `DateTime<Tz>` (converted to UTC).
///
/// ```
/// use esrecord::TimeBound;
/// let bound = TimeBound::from((1999,));
/// assert_eq!(bound.resolve().unwrap().to_rfc3339(), "1999-01-01T00:00:00+00:00");
/// assert!(TimeBound::from((2024, 13)).resolve().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBound {
    /// A calendar prefix: the start of that year, month, day or hour, UTC.
    Parts {
        /// The year.
        year: i32,
        /// The month, 1 to 12, if given.
        month: Option<u32>,
        /// The day of the month, if given.
        day: Option<u32>,
        /// The hour, 0 to 23, if given.
        hour: Option<u32>,
    },
    /// An exact instant.
    Instant(DateTime<Utc>),
}

impl TimeBound {
    /// The instant this bound names.
    pub fn resolve(&self) -> Result<DateTime<Utc>> {
        let (year, month, day, hour) = match *self {
            TimeBound::Instant(t) => return Ok(t),
            TimeBound::Parts {
                year,
                month,
                day,
                hour,
            } => (
                year,
                month.unwrap_or(1),
                day.unwrap_or(1),
                hour.unwrap_or(0),
            ),
        };
        let invalid = |reason| Error::InvalidTimeBound {
            bound: self.to_string(),
            reason,
        };
        if !(1..=12).contains(&month) {
            return Err(invalid("the month must be 1 to 12"));
        }
        if hour > 23 {
            return Err(invalid("the hour must be 0 to 23"));
        }
        let date = NaiveDate::from_ymd_opt(year, month, day)
            .ok_or_else(|| invalid("that day does not exist in that month"))?;
        date.and_hms_opt(hour, 0, 0)
            .map(|t| t.and_utc())
            .ok_or_else(|| invalid("that hour does not exist"))
    }
}

impl fmt::Display for TimeBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TimeBound::Instant(t) => write!(f, "{}", t.to_rfc3339()),
            TimeBound::Parts {
                year,
                month,
                day,
                hour,
            } => {
                write!(f, "({year},")?;
                for part in [month, day, hour].into_iter().flatten() {
                    write!(f, " {part},")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl From<(i32,)> for TimeBound {
    fn from((year,): (i32,)) -> Self {
        TimeBound::Parts {
            year,
            month: None,
            day: None,
            hour: None,
        }
    }
}

impl From<(i32, u32)> for TimeBound {
    fn from((year, month): (i32, u32)) -> Self {
        TimeBound::Parts {
            year,
            month: Some(month),
            day: None,
            hour: None,
        }
    }
}

impl From<(i32, u32, u32)> for TimeBound {
    fn from((year, month, day): (i32, u32, u32)) -> Self {
        TimeBound::Parts {
            year,
            month: Some(month),
            day: Some(day),
            hour: None,
        }
    }
}

impl From<(i32, u32, u32, u32)> for TimeBound {
    fn from((year, month, day, hour): (i32, u32, u32, u32)) -> Self {
        TimeBound::Parts {
            year,
            month: Some(month),
            day: Some(day),
            hour: Some(hour),
        }
    }
}

impl From<NaiveDate> for TimeBound {
    fn from(date: NaiveDate) -> Self {
        TimeBound::Instant(date.and_time(chrono::NaiveTime::MIN).and_utc())
    }
}

impl From<NaiveDateTime> for TimeBound {
    fn from(t: NaiveDateTime) -> Self {
        TimeBound::Instant(t.and_utc())
    }
}

impl<Tz: TimeZone> From<DateTime<Tz>> for TimeBound {
    fn from(t: DateTime<Tz>) -> Self {
        TimeBound::Instant(t.with_timezone(&Utc))
    }
}

impl<Tz: TimeZone> From<&DateTime<Tz>> for TimeBound {
    fn from(t: &DateTime<Tz>) -> Self {
        TimeBound::Instant(t.with_timezone(&Utc))
    }
}

/// A resolved, non-empty time range: `from <= t < until`.
///
/// ```
/// use esrecord::TimeRange;
/// let range = TimeRange::new((2024, 3), (2024, 4)).unwrap();
/// assert_eq!(range.from.to_rfc3339(), "2024-03-01T00:00:00+00:00");
/// assert!(TimeRange::new((2024, 4), (2024, 3)).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// The first instant in the range.
    pub from: DateTime<Utc>,
    /// The first instant after the range.
    pub until: DateTime<Utc>,
}

impl TimeRange {
    /// Resolves both bounds; `from >= until` is an error, not an empty range.
    pub fn new(from: impl Into<TimeBound>, until: impl Into<TimeBound>) -> Result<Self> {
        let from = from.into().resolve()?;
        let until = until.into().resolve()?;
        if from >= until {
            return Err(Error::EmptyRange {
                from: from.to_rfc3339(),
                until: until.to_rfc3339(),
            });
        }
        Ok(TimeRange { from, until })
    }

    /// Whether `t` falls within the range.
    pub fn contains(&self, t: &DateTime<Utc>) -> bool {
        self.from <= *t && *t < self.until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leap_day_bound() {
        assert!(TimeRange::new((2024, 2, 29), (2024, 3)).is_ok());
        assert!(TimeBound::from((2023, 2, 29)).resolve().is_err());
        assert!(TimeBound::from((2023, 2, 28, 24)).resolve().is_err());
    }
}
