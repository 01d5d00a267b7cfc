//! What `record` does when its type's queue is full, as the overflow
//! policy says.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::Counters;
use super::queue::Queue;
use crate::config::Overflow;

/// Why a record was not queued.
pub(super) enum Refused {
    /// The queue is full and the policy is `error`.
    Full,
    /// The store is closing.
    Closed,
}

/// Queues `pending` unless the queue is full; then as `policy` says: waits
/// for room (`block`), makes room by dropping the oldest queued record
/// (`drop_oldest`), drops it (`drop_newest`) or refuses it (`error`). Every
/// record dropped or refused is counted.
#[inline]
pub(super) fn push<T>(
    queue: &Queue<T>,
    pending: T,
    policy: Overflow,
    closed: &AtomicBool,
    counters: &Counters,
) -> Result<(), Refused> {
    let mut items = queue.lock();
    if items.len() >= queue.capacity {
        match policy {
            Overflow::Block => {
                drop(items);
                items = wait_for_room(queue, closed)?;
            }
            Overflow::DropNewest => {
                dropped(counters, policy);
                return Ok(());
            }
            Overflow::Error => {
                dropped(counters, policy);
                return Err(Refused::Full);
            }
            Overflow::DropOldest => {
                if items.pop_front().is_some() {
                    dropped(counters, policy);
                }
            }
        }
    }
    queue.push(items, pending);
    Ok(())
}

/// Waits until the queue has room, and returns it locked. It first waits
/// for the writer to drain half of it, rather than waking for every record
/// it takes, then for any room; it gives up only when the store closes.
fn wait_for_room<'q, T>(
    queue: &'q Queue<T>,
    closed: &AtomicBool,
) -> Result<std::sync::MutexGuard<'q, VecDeque<T>>, Refused> {
    let half = queue.capacity / 2;
    let deadline = Instant::now() + Duration::from_millis(100);
    while queue.lock().len() > half && Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(500));
    }
    loop {
        let items = queue.lock();
        if items.len() < queue.capacity {
            return Ok(items);
        }
        drop(items);
        if closed.load(Ordering::Relaxed) {
            return Err(Refused::Closed);
        }
        std::thread::sleep(Duration::from_micros(500));
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
