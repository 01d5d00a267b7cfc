//! Meta metrics: the store's [`Stats`] and the reporter's own counts,
//! reported beside the application's metrics.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};

use super::point::{Metric, MetricKind};
use super::recorder::Shared;
use crate::Stats;

/// Remembers the last figures, to report each counter's increase.
#[derive(Debug, Default)]
pub(crate) struct SelfMetrics {
    last: Option<Stats>,
    last_refused: u64,
}

impl SelfMetrics {
    /// The points for this interval: `esrecord.store.{queued, sent,
    /// failed, retried, dropped, batches, bytes, rate_limited}` as counters (total since
    /// the store opened, increase in the interval), `esrecord.store.{unsent,
    /// spooled}` as gauges, `esrecord.store.send_latency` (seconds: count,
    /// mean, p50, p99, max), and `esrecord.reporter.{points, series,
    /// refused}`: points this interval, series kept, registrations refused.
    pub(crate) fn points(
        &mut self,
        shared: &Shared,
        stats: &Stats,
        start: DateTime<Utc>,
        points: usize,
    ) -> Vec<Metric> {
        let previous = self.last.take().unwrap_or_default();
        let tags = &shared.base_tags;
        let counter = |name: &str, total: u64, before: u64| {
            Metric::from_total(start, name, tags, total as f64, before as f64)
        };
        let gauge = |name: &str, value: f64| Metric::from_value(start, name, tags, value);
        let refused = shared.refused.load(Ordering::Relaxed);
        let latency = &stats.send_latency;
        let mut send_latency =
            Metric::new(start, "esrecord.store.send_latency", MetricKind::Histogram);
        send_latency.tags = tags.clone();
        send_latency.unit = Some("seconds".to_owned());
        send_latency.count = Some(latency.count);
        if latency.count > 0 {
            send_latency.mean = Some(latency.mean.as_secs_f64());
            send_latency.p50 = Some(latency.p50.as_secs_f64());
            send_latency.p99 = Some(latency.p99.as_secs_f64());
            send_latency.max = Some(latency.max.as_secs_f64());
        }
        let all = vec![
            counter("esrecord.store.queued", stats.queued, previous.queued),
            counter("esrecord.store.sent", stats.sent, previous.sent),
            counter("esrecord.store.failed", stats.failed, previous.failed),
            counter("esrecord.store.retried", stats.retried, previous.retried),
            counter("esrecord.store.dropped", stats.dropped, previous.dropped),
            counter("esrecord.store.batches", stats.batches, previous.batches),
            counter("esrecord.store.bytes", stats.bytes, previous.bytes),
            counter(
                "esrecord.store.rate_limited",
                stats.rate_limited,
                previous.rate_limited,
            ),
            gauge("esrecord.store.unsent", stats.unsent as f64),
            gauge("esrecord.store.spooled", stats.spooled as f64),
            send_latency,
            gauge("esrecord.reporter.points", points as f64),
            gauge(
                "esrecord.reporter.series",
                shared.series.load(Ordering::Relaxed) as f64,
            ),
            counter("esrecord.reporter.refused", refused, self.last_refused),
        ];
        self.last = Some(stats.clone());
        self.last_refused = refused;
        all
    }
}
