//! What the registry holds per metric: the counter's running total, the
//! gauge's last value with the interval's min/max/mean, the histogram's
//! samples of the interval.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use ::metrics::{GaugeFn, Key};
use metrics_util::registry::{GenerationalStorage, Registry, Storage};
use metrics_util::storage::AtomicBucket;

/// The registry of the reporter: generational, so idle expiry
/// ([`metrics_util::registry::Recency`]) never drops a handle that was
/// updated since it was last read.
pub(crate) type MetricRegistry = Registry<Key, GenerationalStorage<IntervalStorage>>;

/// A new, empty registry.
pub(crate) fn new_registry() -> MetricRegistry {
    Registry::new(GenerationalStorage::new(IntervalStorage))
}

/// Creates each metric's storage.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IntervalStorage;

impl Storage<Key> for IntervalStorage {
    type Counter = Arc<AtomicU64>;
    type Gauge = Arc<IntervalGauge>;
    type Histogram = Arc<AtomicBucket<f64>>;

    fn counter(&self, _: &Key) -> Self::Counter {
        Arc::new(AtomicU64::new(0))
    }

    fn gauge(&self, _: &Key) -> Self::Gauge {
        Arc::new(IntervalGauge::default())
    }

    fn histogram(&self, _: &Key) -> Self::Histogram {
        Arc::new(AtomicBucket::new())
    }
}

/// A gauge's value, and what it was set to during the current interval.
#[derive(Debug, Default)]
pub(crate) struct IntervalGauge {
    state: Mutex<GaugeState>,
}

/// The values a gauge took in one interval.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct GaugeState {
    /// The current value (kept across intervals).
    pub(crate) last: f64,
    /// Values set during the interval.
    pub(crate) count: u64,
    pub(crate) sum: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl IntervalGauge {
    fn update(&self, change: impl FnOnce(f64) -> f64) {
        let mut state = self.lock();
        let value = change(state.last);
        state.last = value;
        if state.count == 0 {
            state.min = value;
            state.max = value;
        } else {
            state.min = state.min.min(value);
            state.max = state.max.max(value);
        }
        state.count += 1;
        state.sum += value;
    }

    /// The interval's values; the next interval starts from the last value.
    pub(crate) fn take_interval(&self) -> GaugeState {
        let mut state = self.lock();
        let taken = *state;
        *state = GaugeState {
            last: taken.last,
            ..GaugeState::default()
        };
        taken
    }

    fn lock(&self) -> MutexGuard<'_, GaugeState> {
        // A panic while holding the lock leaves plain numbers behind: still
        // usable, so a poisoned lock is taken as it is.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl GaugeFn for IntervalGauge {
    fn increment(&self, value: f64) {
        self.update(|last| last + value);
    }

    fn decrement(&self, value: f64) {
        self.update(|last| last - value);
    }

    fn set(&self, value: f64) {
        self.update(|_| value);
    }
}

/// A counter's running total.
pub(crate) fn counter_total(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Acquire)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gauge_keeps_its_last_value_and_restarts_its_interval() {
        let gauge = IntervalGauge::default();
        gauge.set(4.0);
        gauge.increment(2.0);
        gauge.decrement(5.0);
        let first = gauge.take_interval();
        assert_eq!(
            (first.last, first.count, first.min, first.max),
            (1.0, 3, 1.0, 6.0)
        );
        assert_eq!(first.sum, 11.0);
        let idle = gauge.take_interval();
        assert_eq!((idle.last, idle.count), (1.0, 0));
    }
}
