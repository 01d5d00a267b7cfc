//! Which series a store holds: every metric name and label set in a time
//! range, with its point count and newest value (the binary's `metrics`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::point::Metric;
use super::series::MetricValue;
use crate::error::Result;
use crate::{Record as _, Store, TimeBound};

/// One series of [`list`]: a metric name and a label set.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSummary {
    /// The metric's name.
    pub name: String,
    /// `counter`, `gauge` or `histogram` (of the newest point).
    pub kind: String,
    /// The label set.
    pub tags: BTreeMap<String, String>,
    /// The unit, if the metric was described with one.
    pub unit: Option<String>,
    /// How many points it has in the range.
    pub points: u64,
    /// The newest point's timestamp.
    pub last_timestamp: DateTime<Utc>,
    /// The newest point's value, by kind ([`MetricValue::default_for`]).
    pub last_value: Option<f64>,
}

/// Names matched with `*` (any run of characters, dots included) and `?`
/// (one character): `orders`, `http.*`, `*.seconds`, `esrecord.store.*`.
///
/// ```
/// use esrecord::metrics::NamePattern;
///
/// let pattern = NamePattern::new("http.*.seconds");
/// assert!(pattern.matches("http.checkout.seconds"));
/// assert!(!pattern.matches("http.checkout.bytes"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePattern {
    pattern: Vec<char>,
}

impl NamePattern {
    /// The pattern `text`.
    pub fn new(text: &str) -> NamePattern {
        NamePattern {
            pattern: text.chars().collect(),
        }
    }

    /// The name itself when the pattern has no wildcard.
    pub fn exact(&self) -> Option<String> {
        let wild = self.pattern.iter().any(|c| matches!(c, '*' | '?'));
        (!wild).then(|| self.pattern.iter().collect())
    }

    /// Whether `name` matches the whole pattern.
    pub fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        // The classic greedy glob match: on a mismatch, let the last `*`
        // swallow one more character and try again.
        let (mut p, mut n) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while n < name.len() {
            match self.pattern.get(p) {
                Some('*') => {
                    star = Some((p, n));
                    p += 1;
                }
                Some(&c) if c == '?' || c == name[n] => {
                    p += 1;
                    n += 1;
                }
                _ => match star {
                    Some((star_p, star_n)) => {
                        p = star_p + 1;
                        n = star_n + 1;
                        star = Some((star_p, star_n + 1));
                    }
                    None => return false,
                },
            }
        }
        self.pattern[p..].iter().all(|&c| c == '*')
    }
}

/// Every series with points in `range` (all time when `None`) whose name
/// matches `pattern` (every name when `None`), ordered by name and tags.
///
/// Reads every matching point once and keeps one summary per series, so
/// memory grows with the series, not the points.
///
/// ```no_run
/// # async fn run(store: esrecord::Store) -> esrecord::Result<()> {
/// use esrecord::metrics::{self, NamePattern};
///
/// let pattern = NamePattern::new("http.*");
/// for series in metrics::list(&store, None, Some(&pattern)).await? {
///     println!("{} {:?}: {} points", series.name, series.tags, series.points);
/// }
/// # Ok(()) }
/// ```
pub async fn list(
    store: &Store,
    range: Option<(TimeBound, TimeBound)>,
    pattern: Option<&NamePattern>,
) -> Result<Vec<SeriesSummary>> {
    let fields = Metric::fields();
    let mut search = Metric::search().oldest_first().size(10_000);
    if let Some(name) = pattern.and_then(NamePattern::exact) {
        search = search.filter(fields.name.eq(name.as_str()));
    }
    if let Some((from, until)) = range {
        search = search.range(from, until);
    }
    let mut found: BTreeMap<(String, BTreeMap<String, String>), SeriesSummary> = BTreeMap::new();
    let mut pages = search.stream(store).await?;
    while let Some(page) = pages.next_page().await? {
        for point in page.into_iter().map(|hit| hit.record) {
            if pattern.is_some_and(|p| !p.matches(&point.name)) {
                continue;
            }
            add(&mut found, point);
        }
    }
    Ok(found.into_values().collect())
}

/// Counts `point` into its series' summary (points come oldest first, so
/// the last one seen is the newest).
fn add(found: &mut BTreeMap<(String, BTreeMap<String, String>), SeriesSummary>, point: Metric) {
    let value = MetricValue::default_for(&point.kind).of(&point);
    let key = (point.name.clone(), point.tags.clone());
    let summary = found.entry(key).or_insert_with(|| SeriesSummary {
        name: point.name.clone(),
        kind: point.kind.clone(),
        tags: point.tags.clone(),
        unit: None,
        points: 0,
        last_timestamp: point.timestamp,
        last_value: None,
    });
    summary.points += 1;
    if point.timestamp >= summary.last_timestamp {
        summary.last_timestamp = point.timestamp;
        summary.kind = point.kind;
        if value.is_some() {
            summary.last_value = value;
        }
    }
    if point.unit.is_some() {
        summary.unit = point.unit;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MetricKind;

    #[test]
    fn patterns_match_whole_names_with_stars_and_question_marks() {
        let cases = [
            ("orders", "orders", true),
            ("orders", "orders.total", false),
            ("orders*", "orders.total", true),
            ("*", "", true),
            ("*.seconds", "http.checkout.seconds", true),
            ("*.seconds", "seconds", false),
            ("http.*.seconds", "http.a.b.seconds", true),
            ("http.?", "http.a", true),
            ("http.?", "http.ab", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("é*", "équipe", true),
        ];
        for (pattern, name, expected) in cases {
            assert_eq!(
                NamePattern::new(pattern).matches(name),
                expected,
                "{pattern} ~ {name}"
            );
        }
        assert_eq!(
            NamePattern::new("orders").exact().as_deref(),
            Some("orders")
        );
        assert_eq!(NamePattern::new("orders*").exact(), None);
    }

    #[test]
    fn summaries_count_points_and_keep_the_newest_value() {
        let at = |s| DateTime::from_timestamp(s, 0).unwrap_or_default();
        let gauge = |s, last| {
            let mut point = Metric::new(at(s), "queue", MetricKind::Gauge);
            point.last = Some(last);
            point
        };
        let mut found = BTreeMap::new();
        add(&mut found, gauge(10, 1.0));
        add(&mut found, gauge(20, 3.0));
        let mut other = gauge(20, 7.0);
        other.tags.insert("city".into(), "blr".into());
        add(&mut found, other);
        let summaries: Vec<SeriesSummary> = found.into_values().collect();
        assert_eq!(summaries.len(), 2);
        assert_eq!(summaries[0].points, 2);
        assert_eq!(summaries[0].last_value, Some(3.0));
        assert_eq!(summaries[0].last_timestamp, at(20));
        assert_eq!(
            summaries[1].tags.get("city").map(String::as_str),
            Some("blr")
        );
        assert_eq!(summaries[1].last_value, Some(7.0));
    }
}
