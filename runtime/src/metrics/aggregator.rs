//! Client-side aggregation for code that reports batches itself.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::point::{Metric, MetricKind};
use crate::Store;
use crate::error::{Error, Result};

/// Accumulates values per name into count, sum, min, max and mean, and
/// submits them as [`Metric`] points (kind `gauge`), as librato's
/// `Aggregator` does.
///
/// The timestamp is `measure_time` if given, else the time of
/// submission, floored to `period` seconds if given.
///
/// ```
/// use esrecord::metrics::Aggregator;
///
/// let mut aggregator = Aggregator::new().period(60).measure_time(1418838418);
/// aggregator.add("foo", 42.0);
/// aggregator.add("foo", 5.0);
/// let points = aggregator.points().unwrap();
/// assert_eq!(points[0].timestamp.timestamp(), 1418838360);
/// assert_eq!((points[0].count, points[0].sum), (Some(2), Some(47.0)));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Aggregator {
    period: Option<i64>,
    measure_time: Option<i64>,
    tags: BTreeMap<String, String>,
    values: BTreeMap<String, Aggregate>,
}

#[derive(Debug, Clone, Copy)]
struct Aggregate {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new() -> Aggregator {
        Aggregator::default()
    }

    /// Floors the timestamp to a multiple of `seconds`.
    pub fn period(mut self, seconds: i64) -> Self {
        self.period = Some(seconds);
        self
    }

    /// The timestamp, in seconds since the epoch, in place of now.
    pub fn measure_time(mut self, seconds: i64) -> Self {
        self.measure_time = Some(seconds);
        self
    }

    /// A tag on every point (librato's `source`).
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Adds one value to `name`'s aggregate. Values that are not finite
    /// are left out (no stored number can hold them).
    pub fn add(&mut self, name: &str, value: f64) {
        if !value.is_finite() {
            return;
        }
        self.values
            .entry(name.to_owned())
            .and_modify(|a| {
                a.count += 1;
                a.sum += value;
                a.min = a.min.min(value);
                a.max = a.max.max(value);
            })
            .or_insert(Aggregate {
                count: 1,
                sum: value,
                min: value,
                max: value,
            });
    }

    /// The points, one per name, at the aggregator's timestamp.
    pub fn points(&self) -> Result<Vec<Metric>> {
        let timestamp = self.timestamp()?;
        Ok(self
            .values
            .iter()
            .map(|(name, a)| {
                let mut point = Metric::new(timestamp, name, MetricKind::Gauge);
                point.tags = self.tags.clone();
                point.interval = self.period.filter(|p| *p > 0).map(|p| p as f64);
                point.count = Some(a.count);
                point.sum = Some(a.sum);
                point.min = Some(a.min);
                point.max = Some(a.max);
                point.mean = Some(a.sum / a.count as f64);
                point
            })
            .collect())
    }

    /// Records the points in `store` and starts over; returns how many.
    pub fn submit(&mut self, store: &Store) -> Result<usize> {
        let points = self.points()?;
        let count = points.len();
        for point in points {
            store.record(point)?;
        }
        self.values.clear();
        Ok(count)
    }

    fn timestamp(&self) -> Result<DateTime<Utc>> {
        let seconds = self.measure_time.unwrap_or_else(|| Utc::now().timestamp());
        let seconds = match self.period {
            Some(period) if period > 0 => seconds - seconds.rem_euclid(period),
            Some(period) => {
                return Err(Error::Config(format!(
                    "aggregator period {period} s: give a positive number of seconds"
                )));
            }
            None => seconds,
        };
        DateTime::from_timestamp(seconds, 0).ok_or_else(|| {
            Error::Config(format!(
                "aggregator measure_time {seconds} s is out of range"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn librato_example() {
        let mut aggregator = Aggregator::new();
        aggregator.add("foo", 42.0);
        aggregator.add("foo", 5.0);
        let point = &aggregator.points().unwrap()[0];
        assert_eq!(point.count, Some(2));
        assert_eq!(point.sum, Some(47.0));
        assert_eq!(
            (point.min, point.max, point.mean),
            (Some(5.0), Some(42.0), Some(23.5))
        );
    }

    #[test]
    fn measure_time_is_floored_to_the_period_or_kept() {
        let floored = Aggregator::new().period(60).measure_time(1418838418);
        assert_eq!(floored.timestamp().unwrap().timestamp(), 1418838360);
        let kept = Aggregator::new().measure_time(1419302671);
        assert_eq!(kept.timestamp().unwrap().timestamp(), 1419302671);
        assert!(Aggregator::new().period(0).timestamp().is_err());
    }
}
