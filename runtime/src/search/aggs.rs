//! Typed aggregations: each one is built from a field handle, asked for by
//! [`Search::aggregate`](crate::search::Search::aggregate), and read back through
//! the same handle, which knows the result's type: no string keys, no JSON
//! digging.
//!
//! ```
//! use esrecord::search::aggs::{self, Aggregation, Interval};
//! # use esrecord::Record;
//! # #[derive(esrecord::Composite, serde::Serialize, serde::Deserialize)]
//! # struct Latency { p99_ms: f64 }
//! # #[derive(Record, serde::Serialize, serde::Deserialize)]
//! # #[record(app_label = "shop")]
//! # struct PageView { timestamp: chrono::DateTime<chrono::Utc>, path: String, latency: Latency }
//! let f = PageView::fields();
//! let p99 = aggs::avg(&f.latency.p99_ms);
//! let daily = aggs::date_histogram(&f.timestamp, Interval::calendar("day")).with(&p99);
//! let top_paths = aggs::terms(&f.path, 3);
//! let search = PageView::search().aggregate(&daily).aggregate(&top_paths);
//! let body = search.to_json().unwrap();
//! let daily_body = &body["aggs"][daily.name()];
//! assert_eq!(daily_body["date_histogram"]["calendar_interval"], "day");
//! assert_eq!(daily_body["aggs"][p99.name()]["avg"]["field"], "latency.p99_ms");
//! // Once fetched: `for day in results.read(&daily)? { day.key, day.doc_count, day.read(&p99)? }`
//! ```

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::fields::Field;

/// An aggregation a search can ask for, and how to read its result.
pub trait Aggregation {
    /// What its result reads as.
    type Output;
    /// Its name in the request and the response (unique, made when it is
    /// built).
    fn name(&self) -> &str;
    /// Its request body, sub-aggregations included.
    fn body(&self) -> Value;
    /// Reads its result (its entry in the response's `aggregations`).
    fn read_result(&self, result: &Value) -> Result<Self::Output>;
}

/// A field whose values are numbers (what `avg`, `sum`, `histogram`... take).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a number, so this aggregation cannot read it",
    label = "not a numeric field",
    note = "avg, min, max, sum, stats, percentiles and histogram take integer or float fields; count values with value_count or cardinality, group by them with terms"
)]
pub trait Numeric {}

macro_rules! numeric {
    ($($ty:ty),*) => {$(impl Numeric for $ty {})*};
}
numeric!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64);

fn unique_name(kind: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{kind}_{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A metric aggregation: one value (or a few) over the records, or over
/// the records of a bucket.
#[derive(Debug, Clone)]
pub struct Metric<O> {
    name: String,
    body: Value,
    read: fn(&Value) -> Result<O>,
}

impl<O> Aggregation for Metric<O> {
    type Output = O;

    fn name(&self) -> &str {
        &self.name
    }

    fn body(&self) -> Value {
        self.body.clone()
    }

    fn read_result(&self, result: &Value) -> Result<O> {
        (self.read)(result)
    }
}

fn metric<O>(kind: &str, field: &str, extra: Value, read: fn(&Value) -> Result<O>) -> Metric<O> {
    let mut parameters = json!({ "field": field });
    if let (Some(parameters), Value::Object(extra)) = (parameters.as_object_mut(), extra) {
        parameters.extend(extra);
    }
    Metric {
        name: unique_name(kind),
        body: json!({ kind: parameters }),
        read,
    }
}

fn malformed(what: &str, result: &Value) -> Error {
    Error::BadRequest(format!(
        "the backend answered an aggregation with a {what} result that does not read as one: {result}"
    ))
}

fn optional_value(result: &Value) -> Result<Option<f64>> {
    match result.get("value") {
        Some(Value::Null) | None => Ok(None),
        Some(value) => value
            .as_f64()
            .map(Some)
            .ok_or_else(|| malformed("metric", result)),
    }
}

fn count_value(result: &Value) -> Result<u64> {
    result
        .get("value")
        .and_then(Value::as_f64)
        .map(|count| count as u64)
        .ok_or_else(|| malformed("count", result))
}

/// The mean of a numeric field (`None` over no values).
pub fn avg<T: Numeric>(field: &Field<T>) -> Metric<Option<f64>> {
    metric("avg", field.path(), json!({}), optional_value)
}

/// The smallest value of a numeric field.
pub fn min<T: Numeric>(field: &Field<T>) -> Metric<Option<f64>> {
    metric("min", field.path(), json!({}), optional_value)
}

/// The largest value of a numeric field.
pub fn max<T: Numeric>(field: &Field<T>) -> Metric<Option<f64>> {
    metric("max", field.path(), json!({}), optional_value)
}

/// The sum of a numeric field (0 over no values, as Elasticsearch says).
pub fn sum<T: Numeric>(field: &Field<T>) -> Metric<Option<f64>> {
    metric("sum", field.path(), json!({}), optional_value)
}

/// How many values the field has.
pub fn value_count<T>(field: &Field<T>) -> Metric<u64> {
    metric("value_count", field.path(), json!({}), count_value)
}

/// How many distinct values the field has (approximate past a few
/// thousand, as Elasticsearch's HyperLogLog++ is).
pub fn cardinality<T>(field: &Field<T>) -> Metric<u64> {
    metric("cardinality", field.path(), json!({}), count_value)
}

/// Count, min, max, mean and sum of a numeric field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatsResult {
    /// How many values.
    pub count: u64,
    /// The smallest (`None` over no values).
    pub min: Option<f64>,
    /// The largest.
    pub max: Option<f64>,
    /// The mean.
    pub avg: Option<f64>,
    /// The sum.
    pub sum: f64,
}

/// Count, min, max, mean and sum of a numeric field in one aggregation.
pub fn stats<T: Numeric>(field: &Field<T>) -> Metric<StatsResult> {
    metric("stats", field.path(), json!({}), |result| {
        let number = |key: &str| result.get(key).and_then(Value::as_f64);
        Ok(StatsResult {
            count: number("count").ok_or_else(|| malformed("stats", result))? as u64,
            min: number("min"),
            max: number("max"),
            avg: number("avg"),
            sum: number("sum").unwrap_or(0.0),
        })
    })
}

/// One percentile: the percent asked for and the value there (`None` over
/// no values).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentile {
    /// The percent, e.g. 99.0.
    pub percent: f64,
    /// The field's value at that percent (within the engines' documented
    /// t-digest error).
    pub value: Option<f64>,
}

/// The values of a numeric field at `percents` (e.g. `&[50.0, 99.0]`).
pub fn percentiles<T: Numeric>(field: &Field<T>, percents: &[f64]) -> Metric<Vec<Percentile>> {
    metric(
        "percentiles",
        field.path(),
        json!({ "percents": percents, "keyed": false }),
        |result| {
            let values = result
                .get("values")
                .and_then(Value::as_array)
                .ok_or_else(|| malformed("percentiles", result))?;
            values
                .iter()
                .map(|entry| {
                    Ok(Percentile {
                        percent: entry
                            .get("key")
                            .and_then(Value::as_f64)
                            .ok_or_else(|| malformed("percentiles", result))?,
                        value: entry.get("value").and_then(Value::as_f64),
                    })
                })
                .collect()
        },
    )
}

/// A bucket aggregation: records grouped by key, each group with its
/// count and the results of the sub-aggregations asked for with
/// [`with`](Self::with).
#[derive(Debug, Clone)]
pub struct Buckets<K> {
    name: String,
    kind: &'static str,
    parameters: Map<String, Value>,
    subs: Map<String, Value>,
    key: PhantomData<fn() -> K>,
}

/// One bucket of a [`Buckets`] result.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket<K> {
    /// The bucket's key: a term, the start of an interval.
    pub key: K,
    /// How many records it holds.
    pub doc_count: u64,
    raw: Value,
}

impl<K> Bucket<K> {
    /// The result of a sub-aggregation of this bucket, read through the
    /// handle that asked for it.
    pub fn read<A: Aggregation>(&self, aggregation: &A) -> Result<A::Output> {
        let result = self
            .raw
            .get(aggregation.name())
            .ok_or_else(|| not_asked(aggregation.name()))?;
        aggregation.read_result(result)
    }
}

fn not_asked(name: &str) -> Error {
    Error::BadRequest(format!(
        "aggregation {name} was not asked for here: add it with `.aggregate(...)` to the search, or with `.with(...)` to the bucket aggregation it belongs to"
    ))
}

impl<K> Buckets<K> {
    fn new(kind: &'static str, parameters: Value) -> Self {
        Buckets {
            name: unique_name(kind),
            kind,
            parameters: match parameters {
                Value::Object(map) => map,
                _ => Map::new(),
            },
            subs: Map::new(),
            key: PhantomData,
        }
    }

    /// Computes `sub` in every bucket too.
    pub fn with(mut self, sub: &impl Aggregation) -> Self {
        self.subs.insert(sub.name().to_owned(), sub.body());
        self
    }

    fn set(mut self, key: &str, value: Value) -> Self {
        self.parameters.insert(key.to_owned(), value);
        self
    }
}

/// Records grouped by the values of `field`: the `size` most frequent,
/// most frequent first.
pub fn terms<K: DeserializeOwned>(field: &Field<K>, size: usize) -> Buckets<K> {
    Buckets::new("terms", json!({ "field": field.path(), "size": size }))
}

impl<K: DeserializeOwned> Buckets<K> {
    /// Terms in the order of their keys instead of their counts.
    pub fn order_by_key(self) -> Self {
        self.set("order", json!({ "_key": "asc" }))
    }
}

/// Records grouped into intervals of `interval` of a numeric field.
pub fn histogram<T: Numeric>(field: &Field<T>, interval: f64) -> Buckets<f64> {
    Buckets::new(
        "histogram",
        json!({ "field": field.path(), "interval": interval }),
    )
}

impl Buckets<f64> {
    /// Buckets for every interval from `min` to `max`, empty ones included.
    pub fn fill_empty(self, min: f64, max: f64) -> Self {
        self.set("min_doc_count", json!(0))
            .set("extended_bounds", json!({ "min": min, "max": max }))
    }
}

/// The width of a date histogram's buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interval {
    /// A fixed length: `"90s"`, `"15m"`, `"1h"`, `"7d"`.
    Fixed(String),
    /// A calendar unit: `"minute"`, `"hour"`, `"day"`, `"week"`, `"month"`,
    /// `"quarter"`, `"year"` (the embedded engine: up to weeks).
    Calendar(String),
}

impl Interval {
    /// A fixed length, as Elasticsearch writes it (`"1h"`).
    pub fn fixed(length: &str) -> Self {
        Interval::Fixed(length.to_owned())
    }

    /// A calendar unit (`"day"`).
    pub fn calendar(unit: &str) -> Self {
        Interval::Calendar(unit.to_owned())
    }
}

/// Records grouped into intervals of their `field` (usually the
/// timestamp); bucket keys are the intervals' starts.
pub fn date_histogram(field: &Field<DateTime<Utc>>, interval: Interval) -> Buckets<DateTime<Utc>> {
    let (key, value) = match interval {
        Interval::Fixed(length) => ("fixed_interval", length),
        Interval::Calendar(unit) => ("calendar_interval", unit),
    };
    Buckets::new(
        "date_histogram",
        json!({ "field": field.path(), key: value }),
    )
}

impl Buckets<DateTime<Utc>> {
    /// Buckets for every interval from `from` to `until`, empty ones
    /// included.
    pub fn fill_empty(self, from: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        let last = until - chrono::Duration::milliseconds(1);
        self.set("min_doc_count", json!(0)).set(
            "extended_bounds",
            json!({ "min": from.timestamp_millis(), "max": last.timestamp_millis() }),
        )
    }

    /// Intervals in the time zone `zone` (`"Europe/Paris"`, `"+02:00"`)
    /// instead of UTC (Elasticsearch only; the embedded engine buckets in
    /// UTC and says so).
    pub fn time_zone(self, zone: &str) -> Self {
        self.set("time_zone", json!(zone))
    }
}

/// How a bucket key is read for each kind of key.
pub trait BucketKey: Sized {
    /// Reads a bucket's key from the bucket's JSON.
    fn read_key(bucket: &Value) -> Option<Self>;
}

impl<K: DeserializeOwned> BucketKey for K {
    fn read_key(bucket: &Value) -> Option<Self> {
        let key = bucket.get("key")?;
        K::deserialize(key).ok().or_else(|| {
            // Dates come as epoch milliseconds and booleans as 0/1, with
            // the value as text beside them.
            let text = bucket.get("key_as_string")?;
            K::deserialize(text).ok().or_else(|| {
                let millis = key.as_i64()?;
                let date = DateTime::<Utc>::from_timestamp_millis(millis)?;
                K::deserialize(json!(date)).ok()
            })
        })
    }
}

impl<K: BucketKey> Aggregation for Buckets<K> {
    type Output = Vec<Bucket<K>>;

    fn name(&self) -> &str {
        &self.name
    }

    fn body(&self) -> Value {
        let mut body = json!({ self.kind: Value::Object(self.parameters.clone()) });
        if !self.subs.is_empty() {
            body["aggs"] = Value::Object(self.subs.clone());
        }
        body
    }

    fn read_result(&self, result: &Value) -> Result<Vec<Bucket<K>>> {
        let buckets = result
            .get("buckets")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed(self.kind, result))?;
        buckets
            .iter()
            .map(|bucket| {
                Ok(Bucket {
                    key: K::read_key(bucket).ok_or_else(|| malformed(self.kind, bucket))?,
                    doc_count: bucket
                        .get("doc_count")
                        .and_then(Value::as_u64)
                        .ok_or_else(|| malformed(self.kind, bucket))?,
                    raw: bucket.clone(),
                })
            })
            .collect()
    }
}

/// Reads `aggregation` from a response's `aggregations` object.
pub(crate) fn read<A: Aggregation>(
    aggregations: Option<&Value>,
    aggregation: &A,
) -> Result<A::Output> {
    let result = aggregations
        .and_then(|all| all.get(aggregation.name()))
        .ok_or_else(|| not_asked(aggregation.name()))?;
    aggregation.read_result(result)
}
