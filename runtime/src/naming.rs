//! Index names, time partitions and the patterns that cover a time range.
//!
//! A time-partitioned record type writes to one index per partition:
//! `{prefix}{app}_{type}_{timeparts}`, where the time parts are UTC and
//! zero-padded: `2024` (year), `2024.03` (month), `2024.03.05` (day),
//! `2024.03.05.07` (hour).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};

use crate::error::{Error, Result};

/// How finely a record type's indexes are partitioned in time.
///
/// ```
/// use esrecord::Timedepth;
/// let depth: Timedepth = "month".parse().unwrap();
/// assert_eq!(depth, Timedepth::Month);
/// assert_eq!(depth.to_string(), "month");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Timedepth {
    /// One index per year: `_2024`.
    Year,
    /// One index per month: `_2024.03`.
    Month,
    /// One index per day (the default): `_2024.03.05`.
    #[default]
    Day,
    /// One index per hour: `_2024.03.05.07`.
    Hour,
}

impl Timedepth {
    /// Every timedepth, coarsest first.
    pub const ALL: [Timedepth; 4] = [
        Timedepth::Year,
        Timedepth::Month,
        Timedepth::Day,
        Timedepth::Hour,
    ];

    /// The lowercase name used in attributes and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Timedepth::Year => "year",
            Timedepth::Month => "month",
            Timedepth::Day => "day",
            Timedepth::Hour => "hour",
        }
    }

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

impl fmt::Display for Timedepth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Timedepth {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Timedepth::ALL
            .into_iter()
            .find(|depth| depth.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown timedepth {s:?}; use one of year, month, day, hour"))
    }
}

fn push_year(out: &mut Vec<u8>, year: i32) {
    if (0..=9999).contains(&year) {
        let year = year as u32;
        push_two_digits(out, year / 100);
        push_two_digits(out, year % 100);
    } else {
        // Outside what `check_timestamp` accepts; still a distinct, valid name.
        out.extend_from_slice(format!("{year:04}").as_bytes());
    }
}

fn push_two_digits(out: &mut Vec<u8>, n: u32) {
    out.push(b'0' + (n / 10 % 10) as u8);
    out.push(b'0' + (n % 10) as u8);
}

/// Index names are built from ASCII digits and validated names only.
pub(crate) fn ascii_to_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
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

/// Checks a name against Elasticsearch's index-name rules: lowercase; none of
/// `\ / * ? " < > | , #`, space or control characters; not starting with `-`,
/// `_` or `+`; not `.` or `..`; at most 255 bytes.
///
/// ```
/// use esrecord::naming::validate_index_name;
/// assert!(validate_index_name("shop_pageview_2024.03.05").is_ok());
/// assert!(validate_index_name("_shop").is_err());
/// ```
pub fn validate_index_name(name: &str) -> Result<()> {
    check_name(name, false).map_err(|reason| Error::invalid_name("index name", name, reason))
}

/// Checks an index pattern: the index-name rules, with `*` allowed.
///
/// ```
/// use esrecord::naming::validate_pattern;
/// assert!(validate_pattern("shop_pageview_*").is_ok());
/// assert!(validate_pattern("shop pageview_*").is_err());
/// ```
pub fn validate_pattern(pattern: &str) -> Result<()> {
    check_name(pattern, true)
        .map_err(|reason| Error::invalid_name("index pattern", pattern, reason))
}

/// Checks an index prefix (which may be empty, or end in any allowed character).
///
/// ```
/// use esrecord::naming::validate_prefix;
/// assert!(validate_prefix("prod-").is_ok());
/// assert!(validate_prefix("Prod-").is_err());
/// ```
pub fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Ok(());
    }
    check_name(prefix, false).map_err(|reason| Error::invalid_name("index prefix", prefix, reason))
}

/// The rule itself. `esrecord-derive` applies the same rule to attribute
/// literals at compile time (`derive/src/attr.rs`, `index_name_problem`).
fn check_name(name: &str, allow_star: bool) -> Result<(), String> {
    const FORBIDDEN: &[char] = &['\\', '/', '*', '?', '"', '<', '>', '|', ',', '#', ' ', ':'];
    if name.is_empty() {
        return Err("it is empty".into());
    }
    if name == "." || name == ".." {
        return Err("`.` and `..` are reserved".into());
    }
    if name.len() > 255 {
        return Err(format!("it is {} bytes long; the limit is 255", name.len()));
    }
    if let Some(first) = name.chars().next().filter(|c| matches!(c, '-' | '_' | '+')) {
        return Err(format!("it starts with `{first}`"));
    }
    if let Some(c) = name.chars().find(|c| c.is_uppercase()) {
        return Err(format!(
            "it contains the uppercase `{c}`; names must be lowercase"
        ));
    }
    let bad = |c: &char| c.is_control() || (FORBIDDEN.contains(c) && !(allow_star && *c == '*'));
    if let Some(c) = name.chars().find(bad) {
        return Err(format!("it contains the forbidden character {c:?}"));
    }
    Ok(())
}

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
/// use esrecord::naming::TimeRange;
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

/// The smallest list of index patterns that covers every partition of
/// `depth` intersecting `range`, where each partition's index is named
/// `{base}{timeparts}`.
///
/// Whole years, months and days inside the range become wildcards
/// (`{base}2024.*`, `{base}2024.03.*`); the partial partitions at either end
/// are named exactly. When the list would hold more than `limit` patterns the
/// answer is `[fallback]`, the type's full pattern.
///
/// ```
/// use esrecord::naming::{patterns_covering, TimeRange};
/// use esrecord::Timedepth;
/// let range = TimeRange::new((2024, 1), (2024, 4, 2)).unwrap();
/// let patterns = patterns_covering("app_t_", Timedepth::Day, &range, 32, "app_t_*");
/// assert_eq!(patterns, ["app_t_2024.01.*", "app_t_2024.02.*", "app_t_2024.03.*", "app_t_2024.04.01"]);
/// ```
pub fn patterns_covering(
    base: &str,
    depth: Timedepth,
    range: &TimeRange,
    limit: usize,
    fallback: &str,
) -> Vec<String> {
    let start = depth.floor(range.from);
    let floor_until = depth.floor(range.until);
    let end = if floor_until == range.until {
        Some(range.until)
    } else {
        depth.next(floor_until)
    };
    // `end` is None only at the very end of chrono's calendar.
    let Some(end) = end else {
        return vec![fallback.to_owned()];
    };

    let mut patterns = Vec::new();
    let mut t = start;
    while t < end {
        if patterns.len() == limit {
            return vec![fallback.to_owned()];
        }
        // The coarsest unit that starts at `t` and ends within the range.
        let unit = Timedepth::ALL
            .into_iter()
            .filter(|unit| *unit <= depth)
            .find(|unit| unit.floor(t) == t && unit.next(t).is_some_and(|n| n <= end))
            .unwrap_or(depth);
        let mut pattern = Vec::with_capacity(base.len() + 15);
        pattern.extend_from_slice(base.as_bytes());
        unit.write_parts(&t, &mut pattern);
        if unit != depth {
            pattern.extend_from_slice(b".*");
        }
        patterns.push(ascii_to_string(pattern));
        match unit.next(t) {
            Some(next) => t = next,
            None => break,
        }
    }
    patterns
}

/// Whether `name` matches an index pattern in which `*` stands for any run
/// of characters.
///
/// ```
/// use esrecord::naming::glob_matches;
/// assert!(glob_matches("shop_pageview_*", "shop_pageview_2024.03.05"));
/// assert!(!glob_matches("shop_pageview_*", "shop_pageviews"));
/// ```
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    globs_overlap(pattern, &name.replace('*', "\u{0}"))
}

/// Whether some index name matches both patterns (`*` stands for any run of
/// characters). The registry uses it to find record types whose templates
/// would claim the same indexes.
///
/// ```
/// use esrecord::naming::globs_overlap;
/// assert!(globs_overlap("shop_page_*", "shop_page_view_*"));
/// assert!(!globs_overlap("shop_page_*", "shop_pageview_*"));
/// ```
pub fn globs_overlap(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    // visited[i][j]: the suffixes a[i..] and b[j..] were already explored.
    let mut visited = vec![false; (a.len() + 1) * (b.len() + 1)];
    let mut stack = vec![(0, 0)];
    while let Some((i, j)) = stack.pop() {
        let seen = &mut visited[i * (b.len() + 1) + j];
        if *seen {
            continue;
        }
        *seen = true;
        if i == a.len() && j == b.len() {
            return true;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'*') {
            stack.push((i + 1, j)); // the star matches nothing more
            if cb.is_some() {
                stack.push((i, j + 1)); // the star absorbs b's next character
            }
        }
        if cb == Some(b'*') {
            stack.push((i, j + 1));
            if ca.is_some() {
                stack.push((i + 1, j));
            }
        }
        if ca.is_some() && ca == cb && ca != Some(b'*') {
            stack.push((i + 1, j + 1));
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules() {
        for good in ["a", "shop_pageview_2024.03.05", "prod-shop", "x.y", "café"] {
            assert!(validate_index_name(good).is_ok(), "{good}");
        }
        for bad in [
            "", ".", "..", "Shop", "-a", "_a", "+a", "a b", "a*", "a?", "a\"b", "a<", "a>", "a|",
            "a,", "a#", "a/b", "a\\b", "a:b", "a\nb",
        ] {
            assert!(validate_index_name(bad).is_err(), "{bad:?}");
        }
        assert!(validate_index_name(&"a".repeat(255)).is_ok());
        assert!(validate_index_name(&"a".repeat(256)).is_err());
        assert!(validate_pattern("a_*").is_ok());
        assert!(validate_prefix("").is_ok());
    }

    #[test]
    fn floor_and_next_cross_year_ends() {
        let t = Utc.with_ymd_and_hms(2023, 12, 31, 23, 59, 59).unwrap();
        let new_year = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        for depth in Timedepth::ALL {
            assert_eq!(depth.next(depth.floor(t)), Some(new_year), "{depth}");
        }
    }

    #[test]
    fn glob_overlap_cases() {
        let cases = [
            ("a_*", "a_*", true),
            ("a_*", "b_*", false),
            ("a_*", "a_b_*", true),
            ("a_b", "a_*", true),
            ("x*", "*y", true),
            ("ab*", "*c*d", true),
            ("a_2024", "a_2025", false),
            ("*", "", true),
            ("a*b", "a*c", false),
        ];
        for (a, b, want) in cases {
            assert_eq!(globs_overlap(a, b), want, "{a} ~ {b}");
            assert_eq!(globs_overlap(b, a), want, "{b} ~ {a}");
        }
        assert!(glob_matches("a*", "a*"));
        assert!(!glob_matches("a", "a*"));
    }

    #[test]
    fn leap_day_bound() {
        assert!(TimeRange::new((2024, 2, 29), (2024, 3)).is_ok());
        assert!(TimeBound::from((2023, 2, 29)).resolve().is_err());
        assert!(TimeBound::from((2023, 2, 28, 24)).resolve().is_err());
    }
}
