//! What a firing rule reports: the rule, the level, where (type, field,
//! group, window), what was seen and what it was compared with, and a
//! message that says it all.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use super::condition::{Threshold, number};
use super::rule::{Level, Summary};

/// One firing of one rule for one field and group, at one evaluation.
///
/// ```
/// # use esrecord::rules::{Rules, Violation};
/// fn page(violations: &[Violation]) {
///     for v in violations {
///         println!("[{}] {}", v.level, v.message);
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// The rule's name.
    pub rule: String,
    /// How serious it is.
    pub level: Level,
    /// The record type (`shop.pageview`).
    pub record_type: String,
    /// The field summarized (`latency.p99_ms`), or `None` for counts of
    /// records and for absence.
    pub field: Option<String>,
    /// The summary over the window.
    pub summary: Summary,
    /// The group's field values (`path=/cart`); empty without `group_by`.
    pub group: BTreeMap<String, String>,
    /// The newest window the rule looked at (for absence: `absent_for`
    /// before the evaluation time until it).
    pub window_start: DateTime<Utc>,
    /// The end of that window: the evaluation time.
    pub window_end: DateTime<Utc>,
    /// What was compared: the window's summary, its change (delta), or,
    /// for absence, the seconds since the newest record. `None` when the
    /// window had no data (a rule with `missing: fire`) or, for absence,
    /// no record was seen at all.
    pub observed: Option<f64>,
    /// The summary of every window the decision used, oldest first (for
    /// `for`: each sub-window; for a delta: the previous window too; for a
    /// baseline: the baseline's windows too); `None` for a window without
    /// data.
    pub values: Vec<Option<f64>>,
    /// What `observed` was compared with; `None` for absence.
    pub threshold: Option<Threshold>,
    /// For absence: the newest record's time, if any was seen.
    pub last_seen: Option<DateTime<Utc>>,
    /// The unit of the values, when known (`ms`).
    pub unit: Option<String>,
    /// `shop.pageview latency.p99_ms p99 over 5m = 312.4 ms > 250
    /// (path=/cart)`.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.level, self.rule, self.message)
    }
}

/// A window length as rules files write it: `5m`, `1h`, `90s`, `2d`.
pub(super) fn span(seconds: u64) -> String {
    match seconds {
        0 => "0s".to_owned(),
        s if s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        s if s.is_multiple_of(3_600) => format!("{}h", s / 3_600),
        s if s.is_multiple_of(60) => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// `312.4 ms`, `12`, `NaN`, `no data`.
pub(super) fn with_unit(value: Option<f64>, unit: Option<&str>) -> String {
    match (value, unit) {
        (None, _) => "no data".to_owned(),
        (Some(v), Some("%")) => format!("{}%", number(v)),
        (Some(v), Some(unit)) if v.is_finite() => format!("{} {unit}", number(v)),
        (Some(v), _) => number(v),
    }
}

/// ` (host=a, path=/cart)`, or nothing for no group.
pub(super) fn group_suffix(group: &BTreeMap<String, String>) -> String {
    if group.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = group.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(" ({})", pairs.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_units_and_groups() {
        assert_eq!(span(300), "5m");
        assert_eq!(span(3_600), "1h");
        assert_eq!(span(86_400), "1d");
        assert_eq!(span(90), "90s");
        assert_eq!(with_unit(Some(312.4), Some("ms")), "312.4 ms");
        assert_eq!(with_unit(Some(12.5), Some("%")), "12.5%");
        assert_eq!(with_unit(Some(f64::NAN), Some("ms")), "NaN");
        assert_eq!(with_unit(None, None), "no data");
        let group = BTreeMap::from([("path".to_owned(), "/cart".to_owned())]);
        assert_eq!(group_suffix(&group), " (path=/cart)");
        assert_eq!(group_suffix(&BTreeMap::new()), "");
    }
}
