//! Retrying a bulk request: which failures may pass, and how long to wait
//! before the next attempt (exponential backoff with full jitter, capped).

use std::time::{Duration, Instant};

use crate::backend::ItemResult;
use crate::bulk::BulkAction;
use crate::config::WriterConfig;

/// What one item's result means for the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemOutcome {
    /// The document is stored.
    Written,
    /// It failed for a reason that may pass (the cluster was busy or
    /// unavailable): send it again.
    Retry,
    /// It was refused for good (a mapping error, a bad index...).
    Rejected,
}

/// Classifies the result of an item written with `action`. A `create`
/// answered with a version conflict is written: a record's id is made once,
/// before its first attempt, so the document there is this record, stored
/// by an earlier attempt whose answer was lost.
pub(crate) fn outcome(action: BulkAction, result: &ItemResult) -> ItemOutcome {
    match result.status {
        status if status < 300 => ItemOutcome::Written,
        409 if action.conflict_is_written() => ItemOutcome::Written,
        429 | 502 | 503 | 504 => ItemOutcome::Retry,
        _ => ItemOutcome::Rejected,
    }
}

/// The waits between the attempts of one request.
#[derive(Debug)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    give_up_at: Instant,
    attempts: u32,
}

impl Backoff {
    /// Backoff for a request first sent now, under `config`'s retry settings.
    pub(crate) fn new(config: &WriterConfig) -> Self {
        Backoff {
            initial: config.retry_backoff,
            max: config.retry_max_backoff,
            give_up_at: Instant::now() + config.retry_for,
            attempts: 0,
        }
    }

    /// The wait before the next attempt, or `None` when the request has
    /// been retried for long enough (a wait would end past that).
    pub(crate) fn next_wait(&mut self) -> Option<Duration> {
        let ceiling = self
            .initial
            .saturating_mul(2u32.saturating_pow(self.attempts))
            .min(self.max);
        self.attempts = self.attempts.saturating_add(1);
        // Full jitter: anywhere from nothing to the ceiling, so that many
        // writers that failed together do not come back together.
        let wait = ceiling.mul_f64(fastrand::f64());
        (Instant::now() + wait <= self.give_up_at).then_some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_to_the_cap_and_stop_at_the_deadline() {
        let mut config = WriterConfig {
            retry_backoff: Duration::from_millis(100),
            retry_max_backoff: Duration::from_millis(400),
            retry_for: Duration::from_secs(3600),
            ..WriterConfig::default()
        };
        let mut backoff = Backoff::new(&config);
        let ceilings = [100, 200, 400, 400, 400];
        for ceiling in ceilings {
            let wait = backoff.next_wait().unwrap_or_default();
            assert!(
                wait <= Duration::from_millis(ceiling),
                "{wait:?} > {ceiling} ms"
            );
        }
        config.retry_for = Duration::ZERO;
        let mut expired = Backoff::new(&config);
        // Only a wait of exactly nothing fits in no time at all.
        let waits: Vec<_> = (0..20).map(|_| expired.next_wait()).collect();
        assert!(waits.iter().all(|w| w.is_none_or(|w| w.is_zero())));
    }

    #[test]
    fn conflicts_on_create_count_as_written_and_busy_items_are_retried() {
        let conflict = ItemResult::failed(409, "version_conflict_engine_exception", "exists");
        assert_eq!(outcome(BulkAction::Create, &conflict), ItemOutcome::Written);
        assert_eq!(outcome(BulkAction::Index, &conflict), ItemOutcome::Rejected);
        let busy = ItemResult::failed(429, "es_rejected_execution_exception", "queue full");
        assert_eq!(outcome(BulkAction::Create, &busy), ItemOutcome::Retry);
        let mapping = ItemResult::failed(400, "mapper_parsing_exception", "bad");
        assert_eq!(outcome(BulkAction::Create, &mapping), ItemOutcome::Rejected);
        assert_eq!(
            outcome(BulkAction::Index, &ItemResult::ok(200)),
            ItemOutcome::Written
        );
    }
}
