//! Sending a batch, on the writer's runtime: its records encoded into bulk
//! requests (split by bytes), each request written and its items counted;
//! what fails for a reason that may pass resent, only that, with capped,
//! jittered backoff (`retry`); what is given up on handed to the
//! dead-letter hook, and acknowledged to the spool.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::pending::Pending;
use super::spool::Spool;
use super::stats::Counters;
use super::{NamedTypes, type_key};
use crate::backend::{Backend, ItemResult};
use crate::bulk::{BulkBody, BulkBuilder};
use crate::config::WriterConfig;
use crate::dead_letter::DeadLetter;
use crate::error::Error;
use crate::hooks::{BulkError, Hooks, SaveEvent};
use crate::record_type::RecordType;
use crate::retry::{self, Backoff, ItemOutcome};

/// The writer's slots for batches: `sending` bounds the batches being
/// encoded and written (`concurrency`); `resting` bounds the batches that
/// wait for a retry without holding a sending slot (as many again), so
/// that a batch backing off does not stop the others. A batch that fails
/// when every resting slot is taken waits in its sending slot, which is
/// how an outage fills the queue.
#[derive(Debug)]
pub(super) struct Slots {
    pub(super) sending: Arc<Semaphore>,
    resting: Arc<Semaphore>,
}

impl Slots {
    /// Slots for `concurrency` batches sending and as many resting.
    pub(super) fn new(concurrency: usize) -> Self {
        Slots {
            sending: Arc::new(Semaphore::new(concurrency)),
            resting: Arc::new(Semaphore::new(concurrency)),
        }
    }
}

/// Where each document of a bulk body came from.
#[derive(Debug, Clone, Copy)]
struct Origin {
    record_type: &'static RecordType,
    spool_segment: Option<u64>,
}

/// What a batch needs to be encoded and written on the runtime.
pub(super) struct Batch {
    pub(super) backend_name: String,
    pub(super) backend: Arc<dyn Backend>,
    pub(super) named_types: Arc<NamedTypes>,
    pub(super) counters: Arc<Counters>,
    pub(super) config: WriterConfig,
    pub(super) hooks: Hooks,
    pub(super) spool: Option<Arc<Spool>>,
    pub(super) abandoned: watch::Receiver<bool>,
    pub(super) slots: Arc<Slots>,
}

impl Batch {
    /// Encodes the records into bulk requests of at most `batch_bytes`
    /// (one more record may cross it) and writes them one after another.
    pub(super) async fn write(self, records: Vec<Box<dyn Pending>>, permit: OwnedSemaphorePermit) {
        let mut permit = Some(permit);
        let mut body = BulkBuilder::default();
        let mut origins = Vec::with_capacity(records.len());
        for pending in records {
            let record_type = pending.record_type();
            let encoded = match self.named_types.get(&type_key(record_type)) {
                Some(named) => pending.encode(named, &mut body),
                None => Err(Error::Engine(
                    "a record type vanished from the writer's table".into(),
                )),
            };
            match encoded {
                Ok(()) => origins.push(Origin {
                    record_type,
                    spool_segment: pending.spool_segment(),
                }),
                Err(error) => {
                    self.counters.fail(1, error.to_string());
                    self.acknowledge(pending.spool_segment());
                }
            }
            if body.byte_len() >= self.config.batch_bytes {
                self.send(body.finish(), std::mem::take(&mut origins), &mut permit)
                    .await;
            }
        }
        if !body.is_empty() {
            self.send(body.finish(), origins, &mut permit).await;
        }
    }

    fn acknowledge(&self, segment: Option<u64>) {
        if let (Some(spool), Some(segment)) = (&self.spool, segment) {
            spool.acknowledge(segment);
        }
    }

    fn save_event<'a>(
        &'a self,
        body: &'a BulkBody,
        position: usize,
        origin: Origin,
    ) -> Option<SaveEvent<'a>> {
        let entry = body.get(position)?;
        Some(SaveEvent {
            record_type: origin.record_type,
            backend: &self.backend_name,
            index: entry.index,
            id: entry.id,
            source: entry.source,
        })
    }

    /// Writes one bulk request and counts its outcome. What fails for a
    /// reason that may pass (the whole request: 429, 5xx, unreachable,
    /// timed out; or single items answered 429 or 5xx) is sent again, only
    /// that, after a jittered, growing wait, for as long as `retry_for`
    /// allows. Ids are made before the first attempt, so a resent record
    /// is never stored twice. When the store abandons the writer, what is
    /// not written yet stays unsent (and in the spool, if there is one).
    async fn send(
        &self,
        body: BulkBody,
        origins: Vec<Origin>,
        permit: &mut Option<OwnedSemaphorePermit>,
    ) {
        self.counters.batches.fetch_add(1, Ordering::Relaxed);
        self.counters
            .bytes
            .fetch_add(body.bytes().len() as u64, Ordering::Relaxed);
        if self.hooks.pre_save.is_some() {
            for (position, origin) in origins.iter().enumerate() {
                if let Some(event) = self.save_event(&body, position, *origin) {
                    self.hooks.pre_save(&event);
                }
            }
        }
        let mut backoff = Backoff::new(&self.config);
        let mut unsent = body;
        let mut origins = origins;
        let mut abandoned = self.abandoned.clone();
        loop {
            let started = Instant::now();
            let answer = tokio::select! {
                answer = self.backend.bulk(unsent.clone()) => answer,
                _ = abandoned.wait_for(|abandoned| *abandoned) => return,
            };
            self.counters.observe_latency(started.elapsed());
            let last_error = match answer {
                Ok(results) => match self.count_items(&unsent, &origins, &results) {
                    Some((again, error)) => {
                        origins = again
                            .iter()
                            .filter_map(|&p| origins.get(p).copied())
                            .collect();
                        unsent = unsent.select(&again);
                        error
                    }
                    None => return,
                },
                Err(error) => {
                    let (status, error_type) = match &error {
                        Error::Elasticsearch {
                            status, error_type, ..
                        } => (*status, error_type.clone()),
                        _ => (None, None),
                    };
                    self.hooks.error(&BulkError {
                        backend: self.backend_name.clone(),
                        status,
                        succeeded: 0,
                        failed: unsent.len(),
                        errors: vec![error.to_string()],
                    });
                    if !error.is_retryable() {
                        self.give_up(
                            &unsent,
                            &origins,
                            status,
                            error_type.as_deref(),
                            &error.to_string(),
                        );
                        return;
                    }
                    error.to_string()
                }
            };
            let Some(wait) = backoff.next_wait() else {
                let error = format!(
                    "still failing after retrying for {:?}: {last_error}",
                    self.config.retry_for
                );
                self.give_up(&unsent, &origins, None, None, &error);
                return;
            };
            self.counters
                .retried
                .fetch_add(unsent.len() as u64, Ordering::Relaxed);
            self.counters.set_error(format!("retrying: {last_error}"));
            tracing::debug!(documents = unsent.len(), ?wait, error = %last_error, "esrecord: retrying");
            // Rest without the sending slot, if a resting one is free.
            let resting = Arc::clone(&self.slots.resting).try_acquire_owned().ok();
            if resting.is_some() {
                permit.take();
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = abandoned.wait_for(|abandoned| *abandoned) => return,
            }
            if resting.is_some() {
                let sending = Arc::clone(&self.slots.sending);
                tokio::select! {
                    acquired = sending.acquire_owned() => *permit = acquired.ok(),
                    _ = abandoned.wait_for(|abandoned| *abandoned) => return,
                }
            }
        }
    }

    /// Counts every document of `body` as failed with `reason`, and hands
    /// each to the dead-letter hook.
    fn give_up(
        &self,
        body: &BulkBody,
        origins: &[Origin],
        status: Option<u16>,
        error_type: Option<&str>,
        reason: &str,
    ) {
        self.counters.fail(body.len() as u64, reason.to_owned());
        for (item, origin) in body.entries().zip(origins) {
            self.hooks
                .dead_letter(&DeadLetter::new(&item, status, error_type, reason));
            self.acknowledge(origin.spool_segment);
        }
    }

    /// Counts the items written and rejected; returns the positions to
    /// send again, with the first of their errors, if any.
    fn count_items(
        &self,
        body: &BulkBody,
        origins: &[Origin],
        results: &[ItemResult],
    ) -> Option<(Vec<usize>, String)> {
        let mut again = Vec::new();
        let mut written = 0;
        let mut rejected: Vec<&ItemResult> = Vec::new();
        for (position, (item, result)) in body.entries().zip(results).enumerate() {
            let origin = origins.get(position).copied();
            match retry::outcome(item.action, result) {
                ItemOutcome::Written => {
                    written += 1;
                    if let Some(origin) = origin {
                        if self.hooks.post_save.is_some()
                            && let Some(event) = self.save_event(body, position, origin)
                        {
                            self.hooks.post_save(&event);
                        }
                        self.acknowledge(origin.spool_segment);
                    }
                }
                ItemOutcome::Retry => again.push(position),
                ItemOutcome::Rejected => {
                    rejected.push(result);
                    self.hooks.dead_letter(&DeadLetter::new(
                        &item,
                        Some(result.status),
                        result.error_type.as_deref(),
                        result.reason.as_deref().unwrap_or_default(),
                    ));
                    self.acknowledge(origin.and_then(|o| o.spool_segment));
                }
            }
        }
        self.counters.sent.fetch_add(written, Ordering::Relaxed);
        if let Some(first) = rejected.first() {
            let error = format!(
                "{} of {} records rejected; first: {} {}",
                rejected.len(),
                body.len(),
                first.error_type.as_deref().unwrap_or("error"),
                first.reason.as_deref().unwrap_or("")
            );
            self.counters.fail(rejected.len() as u64, error);
        }
        let failed = rejected.len() + again.len();
        if failed > 0 && self.hooks.error.is_some() {
            let mut errors: Vec<String> = Vec::new();
            for result in results.iter().filter(|r| r.is_failure()) {
                let error = format!(
                    "{} {}: {}",
                    result.status,
                    result.error_type.as_deref().unwrap_or("error"),
                    result.reason.as_deref().unwrap_or("")
                );
                if errors.len() < 5 && !errors.contains(&error) {
                    errors.push(error);
                }
            }
            self.hooks.error(&BulkError {
                backend: self.backend_name.clone(),
                status: Some(200),
                succeeded: written as usize,
                failed,
                errors,
            });
        }
        let first_retry = again.first().and_then(|&p| results.get(p))?;
        let error = format!(
            "{} {} {}",
            first_retry.status,
            first_retry.error_type.as_deref().unwrap_or("error"),
            first_retry.reason.as_deref().unwrap_or("")
        );
        Some((again, error))
    }
}
