//! A backend's rate limit (`max_docs_per_second`): a token bucket the
//! writer thread takes records from its queues by, so that records over
//! the rate wait in their queue (where the overflow policy applies) rather
//! than in memory beside it.

use std::time::{Duration, Instant};

/// A token bucket of one second's documents, full at the start.
///
/// ```text
/// rate 100/s: 100 documents at once, then one every 10 ms
/// ```
#[derive(Debug)]
pub(crate) struct RateLimit {
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    /// A bucket for `per_second` documents a second (at least one).
    pub(crate) fn new(per_second: u32, now: Instant) -> RateLimit {
        let per_second = f64::from(per_second.max(1));
        RateLimit {
            per_second,
            tokens: per_second,
            last: now,
        }
    }

    /// The most documents one burst (and so one bulk request) may hold.
    pub(crate) fn burst(&self) -> usize {
        self.per_second as usize
    }

    /// How many documents may be taken now.
    pub(crate) fn available(&mut self, now: Instant) -> usize {
        self.refill(now);
        self.tokens as usize
    }

    /// Takes `count` documents' tokens (after [`RateLimit::available`]).
    pub(crate) fn take(&mut self, count: usize) {
        self.tokens = (self.tokens - count as f64).max(0.0);
    }

    /// How long until `count` documents (at most a burst) may be taken:
    /// zero if they may now.
    pub(crate) fn wait(&mut self, now: Instant, count: usize) -> Duration {
        self.refill(now);
        let wanted = (count as f64).clamp(1.0, self.per_second);
        if self.tokens >= wanted {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((wanted - self.tokens) / self.per_second)
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.per_second);
        self.last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_then_the_rate() {
        let start = Instant::now();
        let mut limit = RateLimit::new(100, start);
        assert_eq!(limit.available(start), 100);
        limit.take(100);
        assert_eq!(limit.available(start), 0);
        assert_eq!(limit.wait(start, 1), Duration::from_millis(10));
        assert_eq!(limit.wait(start, 50), Duration::from_millis(500));
        assert_eq!(
            limit.wait(start, 1000),
            Duration::from_secs(1),
            "a burst at most"
        );
        assert_eq!(limit.available(start + Duration::from_millis(250)), 25);
        // Never more than one second's worth, however long it rested.
        assert_eq!(limit.available(start + Duration::from_secs(60)), 100);
        assert_eq!(limit.burst(), 100);
    }

    #[test]
    fn a_rate_under_one_is_one() {
        let start = Instant::now();
        let mut limit = RateLimit::new(0, start);
        let all = limit.available(start);
        limit.take(all);
        assert_eq!(limit.wait(start, 1), Duration::from_secs(1));
    }
}
