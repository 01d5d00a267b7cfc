//! What the writer counts, and the [`Stats`] a store reports.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The writer's counters, as [`Store::stats`](crate::Store::stats),
/// [`Store::flush`](crate::Store::flush) and
/// [`Store::close`](crate::Store::close) report them, summed over the
/// store's backends since it opened.
///
/// Every record handed to `record` that passed validation is counted in
/// `queued`, and ends up in exactly one of `sent`, `failed`, `dropped` or
/// `unsent`: `queued == sent + failed + dropped + unsent`.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> esrecord::Result<()> {
/// let store = esrecord::Store::open()?;
/// let stats = store.flush().await?;
/// assert!(stats.is_complete(), "{} records still unsent: {:?}", stats.unsent, stats.last_error);
/// println!("{} sent, p99 bulk latency {:?}", stats.sent, stats.send_latency.p99);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records accepted by `record` (the ones a full queue dropped included).
    pub queued: u64,
    /// Records written (a `create` that met its own earlier attempt included).
    pub sent: u64,
    /// Records given up on: refused by the backend, still failing when
    /// `retry_for` ran out, or not encodable. Each reached the dead-letter
    /// hook when it was encoded.
    pub failed: u64,
    /// Documents sent again after a failure that could pass (each attempt
    /// counts).
    pub retried: u64,
    /// Records the overflow policy dropped, or refused with an error, while
    /// the queue was full.
    pub dropped: u64,
    /// Records neither written nor given up on yet: queued, being written,
    /// or waiting for a retry.
    pub unsent: u64,
    /// Records kept in the spool and not yet acknowledged; after
    /// [`Store::close`](crate::Store::close), what the next store opened on
    /// the spool directory sends.
    pub spooled: u64,
    /// Bulk requests made (retries not included).
    pub batches: u64,
    /// Bytes of bulk bodies made (retries not included).
    pub bytes: u64,
    /// Records that waited in their queue for a backend's
    /// `max_docs_per_second` (counted when the writer took them).
    pub rate_limited: u64,
    /// How long bulk requests took to be answered.
    pub send_latency: SendLatency,
    /// The last error, if anything failed.
    pub last_error: Option<String>,
}

impl Stats {
    /// Whether every record queued is written or given up on: nothing is
    /// waiting any more.
    pub fn is_complete(&self) -> bool {
        self.unsent == 0
    }

    /// Sums the stats of several backends.
    pub(crate) fn sum(all: impl IntoIterator<Item = Stats>) -> Stats {
        all.into_iter().fold(Stats::default(), |mut total, s| {
            total.queued += s.queued;
            total.sent += s.sent;
            total.failed += s.failed;
            total.retried += s.retried;
            total.dropped += s.dropped;
            total.unsent += s.unsent;
            total.spooled += s.spooled;
            total.batches += s.batches;
            total.bytes += s.bytes;
            total.rate_limited += s.rate_limited;
            total.send_latency = total.send_latency.worst(&s.send_latency);
            total.last_error = s.last_error.or(total.last_error);
            total
        })
    }
}

/// The distribution of bulk request latencies: from the request's start to
/// its answer, retries counted as requests of their own. Percentiles are
/// read from power-of-two buckets, so they are exact to within a factor of
/// two (reported as the bucket's upper bound).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendLatency {
    /// Requests answered (or failed).
    pub count: u64,
    /// The mean.
    pub mean: Duration,
    /// The median.
    pub p50: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// The slowest.
    pub max: Duration,
}

impl SendLatency {
    /// The larger of each figure, for sums over backends.
    fn worst(&self, other: &SendLatency) -> SendLatency {
        SendLatency {
            count: self.count + other.count,
            mean: self.mean.max(other.mean),
            p50: self.p50.max(other.p50),
            p99: self.p99.max(other.p99),
            max: self.max.max(other.max),
        }
    }
}

/// Buckets of the latency histogram: bucket `i` holds latencies below
/// `2^i` microseconds (the last one everything longer).
const BUCKETS: usize = 32;

/// Counters shared by a backend's writer and the store's threads.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Records accepted, counted when accepted (with a spool only; without,
    /// `queued` is worked out from `taken`, the queues and `dropped`, which
    /// keeps an atomic update off `record`).
    pub(crate) queued: AtomicU64,
    /// Records the writer took from its queues.
    pub(crate) taken: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS],
    latency_total_us: AtomicU64,
    latency_max_us: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    /// Counts `count` records given up on, for `error`.
    pub(crate) fn fail(&self, count: u64, error: String) {
        self.failed.fetch_add(count, Ordering::Relaxed);
        tracing::warn!(count, %error, "esrecord: records not written");
        self.set_error(error);
    }

    /// Notes `error` as the last one, without counting records.
    pub(crate) fn set_error(&self, error: String) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(error);
        }
    }

    /// Notes how long one bulk request took.
    pub(crate) fn observe_latency(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let bucket = (u64::BITS - micros.leading_zeros()) as usize;
        self.latency_buckets[bucket.min(BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
        self.latency_total_us.fetch_add(micros, Ordering::Relaxed);
        self.latency_max_us.fetch_max(micros, Ordering::Relaxed);
    }

    fn latency(&self) -> SendLatency {
        let counts: Vec<u64> = self
            .latency_buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let count: u64 = counts.iter().sum();
        if count == 0 {
            return SendLatency::default();
        }
        let max = Duration::from_micros(self.latency_max_us.load(Ordering::Relaxed));
        let percentile = |share: f64| {
            let rank = ((count as f64) * share).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (bucket, n) in counts.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return Duration::from_micros(1u64 << bucket).min(max);
                }
            }
            max
        };
        SendLatency {
            count,
            mean: Duration::from_micros(self.latency_total_us.load(Ordering::Relaxed) / count),
            p50: percentile(0.5),
            p99: percentile(0.99),
            max,
        }
    }

    /// The counters now; `spooled` comes from the spool, if there is one,
    /// and `waiting` from the queues, when there is no spool.
    pub(crate) fn snapshot(&self, spooled: u64, waiting: Option<u64>) -> Stats {
        let sent = self.sent.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        let dropped = self.dropped.load(Ordering::Relaxed);
        let queued = match waiting {
            Some(waiting) => self.taken.load(Ordering::Relaxed) + waiting + dropped,
            None => self.queued.load(Ordering::Relaxed),
        };
        Stats {
            queued,
            sent,
            failed,
            retried: self.retried.load(Ordering::Relaxed),
            dropped,
            unsent: queued.saturating_sub(sent + failed + dropped),
            spooled,
            batches: self.batches.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            send_latency: self.latency(),
            last_error: self.last_error.lock().ok().and_then(|last| last.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_percentiles_come_from_the_buckets() {
        let counters = Counters::default();
        for _ in 0..97 {
            counters.observe_latency(Duration::from_micros(300));
        }
        counters.observe_latency(Duration::from_millis(40));
        counters.observe_latency(Duration::from_millis(40));
        counters.observe_latency(Duration::from_millis(100));
        let latency = counters.snapshot(0, None).send_latency;
        assert_eq!(latency.count, 100);
        // 300 us lies in the bucket below 512 us.
        assert_eq!(latency.p50, Duration::from_micros(512));
        assert_eq!(latency.p99, Duration::from_micros(1 << 16));
        assert_eq!(latency.max, Duration::from_millis(100));
    }

    #[test]
    fn every_queued_record_is_accounted_for() {
        let counters = Counters::default();
        counters.queued.store(10, Ordering::Relaxed);
        counters.sent.store(5, Ordering::Relaxed);
        counters.dropped.store(2, Ordering::Relaxed);
        counters.fail(1, "refused".into());
        let stats = counters.snapshot(0, None);
        assert_eq!(stats.unsent, 2);
        assert!(!stats.is_complete());
        assert_eq!(stats.last_error.as_deref(), Some("refused"));
    }
}
