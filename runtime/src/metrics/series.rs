//! Reading metrics back: one metric's points over a time range, grouped
//! by label set, on one time axis (daktylos' "fields by date").

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::point::Metric;
use crate::error::{Error, Result};
use crate::{Record as _, Store, TimeBound};

/// The most points one [`SeriesQuery::fetch`] reads before asking for a
/// narrower range.
pub const MAX_SERIES_POINTS: usize = 1_000_000;

/// Which number of a [`Metric`] point a series holds.
///
/// ```
/// use esrecord::metrics::MetricValue;
///
/// assert_eq!("p99".parse::<MetricValue>().unwrap(), MetricValue::P99);
/// assert!("p42".parse::<MetricValue>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricValue {
    /// Counter: the increase in the interval.
    Increase,
    /// Counter: the running total.
    Total,
    /// Gauge: the last value.
    Last,
    /// Histogram: samples; aggregator: values added.
    Count,
    /// Histogram, aggregator: the sum.
    Sum,
    /// The smallest value (histogram, gauge, aggregator).
    Min,
    /// The largest value (histogram, gauge, aggregator).
    Max,
    /// The mean (histogram, gauge, aggregator).
    Mean,
    /// Histogram: the median.
    P50,
    /// Histogram: the 75th percentile.
    P75,
    /// Histogram: the 90th percentile.
    P90,
    /// Histogram: the 95th percentile.
    P95,
    /// Histogram: the 99th percentile.
    P99,
    /// Histogram: the 99.9th percentile.
    P999,
    /// Per second over the interval: a counter's increase, or a
    /// histogram's count, divided by the interval.
    Rate,
    /// Metered counter: the mean rate since the reporter started.
    RateMean,
    /// Metered counter: the one-minute moving rate.
    RateM1,
    /// Metered counter: the five-minute moving rate.
    RateM5,
    /// Metered counter: the fifteen-minute moving rate.
    RateM15,
}

const NAMES: [(&str, MetricValue); 19] = [
    ("increase", MetricValue::Increase),
    ("total", MetricValue::Total),
    ("last", MetricValue::Last),
    ("count", MetricValue::Count),
    ("sum", MetricValue::Sum),
    ("min", MetricValue::Min),
    ("max", MetricValue::Max),
    ("mean", MetricValue::Mean),
    ("p50", MetricValue::P50),
    ("p75", MetricValue::P75),
    ("p90", MetricValue::P90),
    ("p95", MetricValue::P95),
    ("p99", MetricValue::P99),
    ("p999", MetricValue::P999),
    ("rate", MetricValue::Rate),
    ("rate_mean", MetricValue::RateMean),
    ("rate_m1", MetricValue::RateM1),
    ("rate_m5", MetricValue::RateM5),
    ("rate_m15", MetricValue::RateM15),
];

impl MetricValue {
    /// What a series of `kind` shows unless told otherwise: a counter's
    /// increase, a gauge's last value, a histogram's mean.
    pub fn default_for(kind: &str) -> MetricValue {
        match kind {
            "counter" => MetricValue::Increase,
            "histogram" => MetricValue::Mean,
            _ => MetricValue::Last,
        }
    }

    /// The name used by `--value` and in [`FromStr`].
    pub fn as_str(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, value)| *value == self)
            .map_or("?", |(name, _)| name)
    }

    /// This number of `point`, if it has it.
    pub fn of(self, point: &Metric) -> Option<f64> {
        match self {
            MetricValue::Increase => point.increase,
            MetricValue::Total => point.total,
            MetricValue::Last => point.last,
            MetricValue::Count => point.count.map(|n| n as f64),
            MetricValue::Sum => point.sum,
            MetricValue::Min => point.min,
            MetricValue::Max => point.max,
            MetricValue::Mean => point.mean,
            MetricValue::P50 => point.p50,
            MetricValue::P75 => point.p75,
            MetricValue::P90 => point.p90,
            MetricValue::P95 => point.p95,
            MetricValue::P99 => point.p99,
            MetricValue::P999 => point.p999,
            MetricValue::Rate => {
                let per = point.interval.filter(|seconds| *seconds > 0.0)?;
                let amount = point.increase.or(point.count.map(|n| n as f64))?;
                Some(amount / per)
            }
            MetricValue::RateMean => point.rate_mean,
            MetricValue::RateM1 => point.rate_m1,
            MetricValue::RateM5 => point.rate_m5,
            MetricValue::RateM15 => point.rate_m15,
        }
    }

    /// Two values of one series at one timestamp (a point reported at a
    /// flush, then the rest of its interval): amounts add up, extremes
    /// combine, anything else is the later one.
    fn merge(self, earlier: f64, later: f64) -> f64 {
        match self {
            MetricValue::Increase | MetricValue::Count | MetricValue::Sum | MetricValue::Rate => {
                earlier + later
            }
            MetricValue::Min => earlier.min(later),
            MetricValue::Max | MetricValue::Total => earlier.max(later),
            _ => later,
        }
    }
}

impl fmt::Display for MetricValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MetricValue {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        NAMES
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, value)| *value)
            .ok_or_else(|| {
                let names: Vec<&str> = NAMES.iter().map(|(name, _)| *name).collect();
                Error::Config(format!(
                    "{text:?} is not a metric value; use one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// One metric's points, from [`series`]: which metric, which labels,
/// which time range, which value.
#[derive(Debug, Clone)]
#[must_use]
pub struct SeriesQuery {
    name: String,
    tags: BTreeMap<String, String>,
    range: Option<(TimeBound, TimeBound)>,
    value: Option<MetricValue>,
}

/// The points of the metric `name`, one series per label set, read with
/// [`SeriesQuery::fetch`].
///
/// ```no_run
/// # async fn run(store: esrecord::Store) -> esrecord::Result<()> {
/// use esrecord::metrics::{self, MetricValue};
///
/// let orders = metrics::series("orders")
///     .tag("city", "blr")
///     .range((2024, 3, 5), (2024, 3, 6))
///     .fetch(&store)
///     .await?;
/// for series in &orders.series {
///     println!("{:?}: {:?}", series.tags, series.values);
/// }
/// let p99 = metrics::series("checkout.seconds").value(MetricValue::P99).fetch(&store).await?;
/// # Ok(()) }
/// ```
pub fn series(name: &str) -> SeriesQuery {
    SeriesQuery {
        name: name.to_owned(),
        tags: BTreeMap::new(),
        range: None,
        value: None,
    }
}

impl SeriesQuery {
    /// Only the label sets with `key` = `value`.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Points with `from <= timestamp < until` (default: every point).
    pub fn range(mut self, from: impl Into<TimeBound>, until: impl Into<TimeBound>) -> Self {
        self.range = Some((from.into(), until.into()));
        self
    }

    /// Which number of each point (default: by kind, see
    /// [`MetricValue::default_for`]).
    pub fn value(mut self, value: MetricValue) -> Self {
        self.value = Some(value);
        self
    }

    /// Reads the points, oldest first, and lines them up: one time axis
    /// for every series, `None` where a series has no point.
    pub async fn fetch(&self, store: &Store) -> Result<SeriesSet> {
        let fields = Metric::fields();
        let mut search = Metric::search()
            .filter(fields.name.eq(self.name.as_str()))
            .oldest_first()
            .size(10_000);
        for (key, value) in &self.tags {
            search = search.filter(fields.tags.key(key).eq(value.as_str()));
        }
        if let Some((from, until)) = self.range {
            search = search.range(from, until);
        }
        let mut pages = search.stream(store).await?;
        let mut points = Vec::new();
        while let Some(page) = pages.next_page().await? {
            points.extend(page.into_iter().map(|hit| hit.record));
            if points.len() > MAX_SERIES_POINTS {
                pages.close().await?;
                return Err(Error::Config(format!(
                    "metric {:?} has more than {MAX_SERIES_POINTS} points in this range; give a narrower range or more tags",
                    self.name
                )));
            }
        }
        Ok(SeriesSet::from_points(points, self.value))
    }
}

/// One metric's series on one time axis, from [`SeriesQuery::fetch`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesSet {
    /// Every timestamp any series has a point at, oldest first.
    pub timestamps: Vec<DateTime<Utc>>,
    /// One per label set, ordered by tags.
    pub series: Vec<Series>,
}

/// One label set's values, aligned with [`SeriesSet::timestamps`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The metric's name.
    pub name: String,
    /// `counter`, `gauge` or `histogram` (of the newest point).
    pub kind: String,
    /// The label set (global and reporter tags included).
    pub tags: BTreeMap<String, String>,
    /// The unit, if the metric was described with one.
    pub unit: Option<String>,
    /// Which number of the points `values` holds.
    pub value: MetricValue,
    /// One per timestamp of the set: `None` where there is no point, or
    /// the point lacks the value.
    pub values: Vec<Option<f64>>,
}

impl SeriesSet {
    /// Groups `points` (of one metric) by label set onto one time axis;
    /// `value` as [`SeriesQuery::value`].
    pub fn from_points(points: Vec<Metric>, value: Option<MetricValue>) -> SeriesSet {
        let timestamps: Vec<DateTime<Utc>> = points
            .iter()
            .map(|p| p.timestamp)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut grouped: BTreeMap<BTreeMap<String, String>, Series> = BTreeMap::new();
        for point in points {
            let slot = timestamps.binary_search(&point.timestamp).unwrap_or(0);
            let series = grouped.entry(point.tags.clone()).or_insert_with(|| Series {
                name: point.name.clone(),
                kind: point.kind.clone(),
                tags: point.tags.clone(),
                unit: None,
                value: value.unwrap_or_else(|| MetricValue::default_for(&point.kind)),
                values: vec![None; timestamps.len()],
            });
            series.kind.clone_from(&point.kind);
            if point.unit.is_some() {
                series.unit.clone_from(&point.unit);
            }
            let chosen = series.value;
            if let Some(new) = chosen.of(&point) {
                let merged = match series.values[slot] {
                    Some(old) => chosen.merge(old, new),
                    None => new,
                };
                series.values[slot] = Some(merged);
            }
        }
        SeriesSet {
            timestamps,
            series: grouped.into_values().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MetricKind;
    use chrono::TimeZone;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 5, 12, 0, second).unwrap()
    }

    fn counter(second: u32, city: &str, increase: f64) -> Metric {
        let mut point = Metric::new(at(second), "orders", MetricKind::Counter);
        point.tags.insert("city".into(), city.into());
        point.increase = Some(increase);
        point.interval = Some(10.0);
        point
    }

    #[test]
    fn label_sets_share_one_time_axis_with_gaps_as_none() {
        let set = SeriesSet::from_points(
            vec![
                counter(0, "blr", 2.0),
                counter(0, "bom", 1.0),
                counter(10, "blr", 5.0),
                counter(20, "bom", 4.0),
            ],
            None,
        );
        assert_eq!(set.timestamps, [at(0), at(10), at(20)]);
        let values: Vec<(&str, &[Option<f64>])> = set
            .series
            .iter()
            .map(|s| (s.tags["city"].as_str(), s.values.as_slice()))
            .collect();
        assert_eq!(
            values,
            [
                ("blr", &[Some(2.0), Some(5.0), None][..]),
                ("bom", &[Some(1.0), None, Some(4.0)][..]),
            ]
        );
        assert_eq!(set.series[0].value, MetricValue::Increase);
    }

    #[test]
    fn rate_is_per_second_and_a_split_interval_adds_up() {
        let set = SeriesSet::from_points(
            vec![counter(0, "blr", 20.0), counter(0, "blr", 30.0)],
            Some(MetricValue::Rate),
        );
        assert_eq!(set.series[0].values, [Some(5.0)]);
    }

    #[test]
    fn every_value_name_reads_back() {
        for (name, value) in NAMES {
            assert_eq!(name.parse::<MetricValue>().unwrap(), value);
            assert_eq!(value.to_string(), name);
        }
        let error = "p42".parse::<MetricValue>().unwrap_err().to_string();
        assert!(error.contains("p999"), "{error}");
    }
}
