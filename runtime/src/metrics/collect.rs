//! One interval's collection: from the registry's counters, gauges and
//! histograms (and the callback gauges) to [`Metric`] points.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ::metrics::Key;
use chrono::{DateTime, Utc};

use super::meter::Meter;
use super::point::{Metric, MetricKind};
use super::quantiles::Summary;
use super::recorder::{SeriesName, Shared};
use super::storage::counter_total;

/// What the collector remembers of a series between intervals.
#[derive(Debug)]
struct SeriesState {
    /// The counter's total at the last collection.
    last_total: u64,
    /// An idle counter or histogram is reported once with zero, then
    /// skipped until it changes.
    reported_idle: bool,
    meter: Option<Meter>,
}

/// Turns each interval's values into points; one per reporter.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    series: HashMap<(MetricKind, Key), SeriesState>,
    meters: bool,
}

impl Collector {
    /// A collector; with `meters`, counters also carry their rates.
    pub(crate) fn new(meters: bool) -> Collector {
        Collector {
            series: HashMap::new(),
            meters,
        }
    }

    /// The points of the interval that starts at `start` and lasts
    /// `interval`.
    pub(crate) fn collect(
        &mut self,
        shared: &Shared,
        start: DateTime<Utc>,
        interval: Duration,
    ) -> Vec<Metric> {
        let mut points = Vec::new();
        let registry = &shared.registry;
        for (key, handle) in registry.get_counter_handles() {
            if !shared
                .recency
                .should_store_counter(&key, handle.get_generation(), registry)
            {
                self.expire(shared, MetricKind::Counter, &key);
                continue;
            }
            let total = counter_total(handle.get_inner());
            let meters = self.meters;
            let state = self.state(MetricKind::Counter, &key, meters);
            let increase = total.saturating_sub(state.last_total);
            state.last_total = total;
            if let Some(meter) = &mut state.meter {
                meter.interval(increase, interval);
            }
            if !state.report(increase > 0) {
                continue;
            }
            let rates = state.meter.as_ref().map(Meter::rates);
            let Some(mut point) = new_point(shared, &key, start, MetricKind::Counter) else {
                continue;
            };
            point.increase = Some(increase as f64);
            point.total = Some(total as f64);
            if let Some([mean, m1, m5, m15]) = rates {
                (point.rate_mean, point.rate_m1) = (Some(mean), Some(m1));
                (point.rate_m5, point.rate_m15) = (Some(m5), Some(m15));
            }
            points.push(point);
        }
        for (key, handle) in registry.get_gauge_handles() {
            let interval = handle.get_inner().take_interval();
            let Some(mut point) = new_point(shared, &key, start, MetricKind::Gauge) else {
                continue;
            };
            point.last = finite(interval.last);
            point.count = Some(interval.count);
            if interval.count > 0 {
                point.min = finite(interval.min);
                point.max = finite(interval.max);
                point.mean = finite(interval.sum / interval.count as f64);
            }
            points.push(point);
        }
        for (key, handle) in registry.get_histogram_handles() {
            if !shared
                .recency
                .should_store_histogram(&key, handle.get_generation(), registry)
            {
                self.expire(shared, MetricKind::Histogram, &key);
                continue;
            }
            let mut samples = Vec::new();
            handle
                .get_inner()
                .clear_with(|chunk| samples.extend_from_slice(chunk));
            let summary = Summary::of(&samples);
            if !self
                .state(MetricKind::Histogram, &key, false)
                .report(summary.is_some())
            {
                continue;
            }
            let Some(mut point) = new_point(shared, &key, start, MetricKind::Histogram) else {
                continue;
            };
            fill_histogram(&mut point, summary);
            points.push(point);
        }
        shared
            .series
            .store(self.series_count(shared), Ordering::Release);
        points
    }

    fn state(&mut self, kind: MetricKind, key: &Key, meter: bool) -> &mut SeriesState {
        self.series
            .entry((kind, key.clone()))
            .or_insert_with(|| SeriesState {
                last_total: 0,
                reported_idle: false,
                meter: meter.then(Meter::new),
            })
    }

    fn expire(&mut self, shared: &Shared, kind: MetricKind, key: &Key) {
        self.series.remove(&(kind, key.clone()));
        shared.forget(key);
    }

    fn series_count(&self, shared: &Shared) -> usize {
        let registry = &shared.registry;
        let mut count = 0;
        registry.visit_counters(|_, _| count += 1);
        registry.visit_gauges(|_, _| count += 1);
        registry.visit_histograms(|_, _| count += 1);
        count
    }
}

impl SeriesState {
    /// Whether to report this interval: always when something changed,
    /// once when it first stays idle.
    fn report(&mut self, changed: bool) -> bool {
        if changed {
            self.reported_idle = false;
            true
        } else if self.reported_idle {
            false
        } else {
            self.reported_idle = true;
            true
        }
    }
}

/// The point of an admitted series, with its name, tags, unit and
/// description; `None` for a key the recorder did not admit.
fn new_point(shared: &Shared, key: &Key, start: DateTime<Utc>, kind: MetricKind) -> Option<Metric> {
    let SeriesName { name, tags } = shared.series_name(key)?;
    let mut point = Metric::new(start, &name, kind);
    point.tags = tags;
    if let Some(description) = shared.description(key.name()) {
        point.unit = description.unit.map(|unit| unit.as_str().to_owned());
        point.description = (!description.text.is_empty()).then_some(description.text);
    }
    Some(point)
}

/// A histogram point's values: a summary, or a count of 0.
pub(crate) fn fill_histogram(point: &mut Metric, summary: Option<Summary>) {
    let Some(summary) = summary else {
        point.count = Some(0);
        point.sum = Some(0.0);
        return;
    };
    point.count = Some(summary.count);
    point.sum = finite(summary.sum);
    point.min = Some(summary.min);
    point.max = Some(summary.max);
    point.mean = finite(summary.mean);
    let [p50, p75, p90, p95, p99, p999] = summary.quantiles.map(Some);
    (point.p50, point.p75, point.p90) = (p50, p75, p90);
    (point.p95, point.p99, point.p999) = (p95, p99, p999);
}

/// `value` if a stored number can hold it.
pub(crate) fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}
