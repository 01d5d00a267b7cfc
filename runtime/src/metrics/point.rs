//! The built-in record type every reporting interval is stored as.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Record;

/// What a metric measures, as the `metrics` facade defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// A monotonic count (`counter!`).
    Counter,
    /// A value that goes up and down (`gauge!`, and callback gauges).
    Gauge,
    /// A distribution of samples (`histogram!`, and so timers).
    Histogram,
}

impl MetricKind {
    /// The name stored in [`Metric::kind`].
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// One metric and label set over one reporting interval: the record the
/// reporter stores (template `esrecord_metric`, one index a day), declared
/// with `#[derive(Record)]` like any application type, so setup, check,
/// search, plot and export work on it unchanged.
///
/// Fields that do not apply to the kind are `None` and left out of the
/// stored document.
///
/// On an Elasticsearch backend with `[backends.NAME.data_streams]`, it is
/// a time series data stream named like its template: `name`, `kind` and
/// `tags` are its dimensions, `total` a counter metric and the other
/// values gauges (`interval`, `unit` and `description` are labels).
///
/// ```
/// use esrecord::Record;
/// use esrecord::metrics::Metric;
///
/// assert_eq!(Metric::record_type().template_name(), "esrecord_metric");
/// assert_eq!(Metric::fields().p99.path(), "p99");
/// ```
#[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[record(
    app_label = "esrecord",
    timedepth = "day",
    retention = "90d",
    data_stream
)]
pub struct Metric {
    /// The start of the interval, floored to the interval.
    pub timestamp: DateTime<Utc>,
    /// The metric's name, sanitized.
    #[record(dimension)]
    pub name: String,
    /// `counter`, `gauge` or `histogram`.
    #[record(dimension)]
    pub kind: String,
    /// Global, reporter and metric tags, merged (metric wins).
    #[record(dimension)]
    pub tags: BTreeMap<String, String>,
    /// The seconds the point covers: the reporting interval (or the
    /// aggregator's period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<f64>,
    /// The unit given to `describe_*`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The description given to `describe_*`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Counter: the increase during the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(time_series_metric = "gauge")]
    pub increase: Option<f64>,
    /// Counter: the running total at the end of the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(time_series_metric = "counter")]
    pub total: Option<f64>,
    /// Gauge: the value at the end of the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(time_series_metric = "gauge")]
    pub last: Option<f64>,
    /// Gauge and histogram: samples set or recorded during the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(time_series_metric = "gauge")]
    pub count: Option<u64>,
    /// Histogram: the sum of the interval's samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(time_series_metric = "gauge")]
    pub sum: Option<f64>,
    /// Gauge and histogram: the smallest value of the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(time_series_metric = "gauge")]
    pub min: Option<f64>,
    /// Gauge and histogram: the largest value of the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(time_series_metric = "gauge")]
    pub max: Option<f64>,
    /// Gauge and histogram: the mean of the interval's values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(time_series_metric = "gauge")]
    pub mean: Option<f64>,
    /// Histogram: the median of the interval's samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(time_series_metric = "gauge")]
    pub p50: Option<f64>,
    /// Histogram: the 75th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(time_series_metric = "gauge")]
    pub p75: Option<f64>,
    /// Histogram: the 90th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(time_series_metric = "gauge")]
    pub p90: Option<f64>,
    /// Histogram: the 95th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(time_series_metric = "gauge")]
    pub p95: Option<f64>,
    /// Histogram: the 99th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(time_series_metric = "gauge")]
    pub p99: Option<f64>,
    /// Histogram: the 99.9th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(time_series_metric = "gauge")]
    pub p999: Option<f64>,
    /// Metered counter: increases per second since the reporter started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(time_series_metric = "gauge")]
    pub rate_mean: Option<f64>,
    /// Metered counter: the one-minute moving rate, per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(time_series_metric = "gauge")]
    pub rate_m1: Option<f64>,
    /// Metered counter: the five-minute moving rate, per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(time_series_metric = "gauge")]
    pub rate_m5: Option<f64>,
    /// Metered counter: the fifteen-minute moving rate, per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(time_series_metric = "gauge")]
    pub rate_m15: Option<f64>,
}

impl Metric {
    /// An empty point of `kind`, to fill in: every value `None`.
    pub fn new(timestamp: DateTime<Utc>, name: &str, kind: MetricKind) -> Metric {
        Metric {
            timestamp,
            name: name.to_owned(),
            kind: kind.as_str().to_owned(),
            tags: BTreeMap::new(),
            interval: None,
            unit: None,
            description: None,
            increase: None,
            total: None,
            last: None,
            count: None,
            sum: None,
            min: None,
            max: None,
            mean: None,
            p50: None,
            p75: None,
            p90: None,
            p95: None,
            p99: None,
            p999: None,
            rate_mean: None,
            rate_m1: None,
            rate_m5: None,
            rate_m15: None,
        }
    }

    /// A counter point from a running total: `total`, and its increase
    /// since `before` (the total one interval ago).
    pub(crate) fn from_total(
        start: DateTime<Utc>,
        name: &str,
        tags: &BTreeMap<String, String>,
        total: f64,
        before: f64,
    ) -> Metric {
        let mut point = Metric::new(start, name, MetricKind::Counter);
        point.tags = tags.clone();
        point.total = Some(total);
        point.increase = Some((total - before).max(0.0));
        point
    }

    /// A gauge point of one value.
    pub(crate) fn from_value(
        start: DateTime<Utc>,
        name: &str,
        tags: &BTreeMap<String, String>,
        value: f64,
    ) -> Metric {
        let mut point = Metric::new(start, name, MetricKind::Gauge);
        point.tags = tags.clone();
        point.last = Some(value);
        point
    }
}
