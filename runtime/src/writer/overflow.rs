//! What `record` does when the queue is full, as the overflow policy says.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, SendTimeoutError, Sender, TrySendError};

use super::{Counters, Pending};
use crate::config::Overflow;

/// Why a record was not queued.
pub(super) enum Refused {
    /// The queue is full and the policy is `error`.
    Full,
    /// The store is closing.
    Closed,
}

/// Queues `pending`, which did not fit in `queue`, as `policy` says: waits
/// for room (`block`), makes room by dropping the oldest queued record
/// (`drop_oldest`), drops it (`drop_newest`) or refuses it (`error`). Every
/// record dropped or refused is counted.
pub(super) fn apply(
    policy: Overflow,
    pending: Box<dyn Pending>,
    queue: &Sender<Box<dyn Pending>>,
    oldest: &Receiver<Box<dyn Pending>>,
    closed: &AtomicBool,
    counters: &Counters,
) -> Result<(), Refused> {
    match policy {
        Overflow::Block => block(pending, queue, closed),
        Overflow::DropNewest => {
            dropped(counters, policy);
            Ok(())
        }
        Overflow::Error => {
            dropped(counters, policy);
            Err(Refused::Full)
        }
        Overflow::DropOldest => {
            let mut pending = pending;
            // Other threads may fill the room first; a few rounds, then
            // this record is the one dropped.
            for _ in 0..4 {
                if oldest.try_recv().is_ok() {
                    dropped(counters, policy);
                }
                match queue.try_send(pending) {
                    Ok(()) => return Ok(()),
                    Err(TrySendError::Full(back)) => pending = back,
                    Err(TrySendError::Disconnected(_)) => return Err(Refused::Closed),
                }
            }
            dropped(counters, policy);
            Ok(())
        }
    }
}

/// Waits until there is room. It first waits for the writer to drain half
/// the queue, rather than waking for every record it takes, then sends as
/// soon as there is room; it gives up only when the store closes.
fn block(
    pending: Box<dyn Pending>,
    queue: &Sender<Box<dyn Pending>>,
    closed: &AtomicBool,
) -> Result<(), Refused> {
    let capacity = queue.capacity().unwrap_or(1);
    let deadline = Instant::now() + Duration::from_millis(100);
    while queue.len() > capacity / 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(500));
    }
    let mut pending = pending;
    loop {
        match queue.send_timeout(pending, Duration::from_millis(50)) {
            Ok(()) => return Ok(()),
            Err(SendTimeoutError::Timeout(back)) if !closed.load(Ordering::Relaxed) => {
                pending = back;
            }
            Err(_) => return Err(Refused::Closed),
        }
    }
}

/// Counts one dropped record, and says so on the first and every
/// thousandth drop.
fn dropped(counters: &Counters, policy: Overflow) {
    let before = counters.dropped.fetch_add(1, Ordering::Relaxed);
    if before.is_multiple_of(1000) {
        tracing::warn!(
            dropped = before + 1,
            policy = policy.as_str(),
            "esrecord: the queue is full (the backend is slow or down); records are dropped as the overflow policy says"
        );
    }
}
