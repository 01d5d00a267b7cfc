//! The writer thread of one backend: it takes queued (and spooled) records
//! into batches by count and interval, hands each batch to the writer's
//! runtime to be sent (`send.rs`), several at once, asks the backend for a
//! refresh every refresh interval after it wrote, and answers flushes.

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use tokio::sync::{oneshot, watch};

use super::pending::Pending;
use super::queue::{Drain, Queues, Wake};
use super::rate_limit::RateLimit;
use super::send::{Batch, Slots};
use super::spool::Spool;
use super::stats::Counters;
use super::templates::ensure_template;
use super::{NamedTypes, type_key};
use crate::backend::Backend;
use crate::bulk::BulkAction;
use crate::config::WriterConfig;
use crate::error::{Error, Result};
use crate::hooks::Hooks;
use crate::record_type::RecordType;
use crate::retry::Backoff;

/// What the writer thread is asked to do, besides writing records.
pub(crate) enum Control {
    /// Write everything queued before, refresh, and answer.
    Flush(oneshot::Sender<()>),
    /// Write everything queued (unless abandoned), then stop.
    Stop,
    /// Records were queued while the writer waited (or a queue was added).
    Wake,
}

/// A batch being encoded and written on the runtime.
struct InFlight {
    task: tokio::task::JoinHandle<()>,
    count: u64,
    /// Whether it holds records that overwrite (`unique_together` types).
    overwrites: bool,
}

/// How many queued records the writer takes between looks at the clock.
const BURST: usize = 256;

/// How many queued records the writer takes before it looks at its control
/// messages and refreshes again.
const MAX_TAKEN: usize = 64 * BURST;

/// How often the writer looks at the queue while records arrive.
const POLL: Duration = Duration::from_millis(1);

/// What the writer thread needs to know about its backend.
pub(crate) struct Target {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) name_type: Box<dyn Fn(&RecordType) -> RecordType + Send>,
    pub(crate) autosetup: bool,
    pub(crate) config: WriterConfig,
    pub(crate) hooks: Hooks,
    /// The backend's `max_docs_per_second`, if it has one.
    pub(crate) max_docs_per_second: Option<u32>,
}

/// What the thread shares with the writer's handle.
pub(super) struct Shared {
    pub(super) queues: Arc<Queues>,
    pub(super) wake: Arc<Wake>,
    pub(super) control: Receiver<Control>,
    pub(super) counters: Arc<Counters>,
    pub(super) spool: Option<Arc<Spool>>,
    /// Set when the store stops waiting.
    pub(super) abandoned: watch::Receiver<bool>,
}

/// Starts the writer thread of the backend `backend_name`, with its
/// runtime.
pub(super) fn spawn(backend_name: &str, target: Target, shared: Shared) -> Result<JoinHandle<()>> {
    let concurrency = target.config.concurrency.max(1);
    // A worker per batch that may be in flight: each encodes its batch
    // and then waits on its bulk request.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(concurrency)
        .thread_name(format!("esrecord-bulk-{backend_name}"))
        .enable_all()
        .build()
        .map_err(|e| Error::Engine(format!("cannot start the writer's runtime: {e}")))?;
    let rate_limit = target
        .max_docs_per_second
        .map(|rate| RateLimit::new(rate, Instant::now()));
    let configured_batch_size = target
        .config
        .batch_size
        .unwrap_or_else(|| target.backend.default_batch_size());
    let mut state = WriterLoop {
        backend_name: backend_name.to_owned(),
        queues: shared.queues,
        wake: shared.wake,
        watched: Vec::new(),
        watched_generation: u64::MAX,
        // Under a rate limit, a bulk request holds at most one burst.
        batch_size: rate_limit
            .as_ref()
            .map_or(configured_batch_size, |limit| {
                configured_batch_size.min(limit.burst())
            })
            .max(1),
        rate_limit,
        rate_waited: false,
        control: shared.control,
        target,
        runtime,
        counters: shared.counters,
        spool: shared.spool,
        abandoned: shared.abandoned,
        batch: Vec::new(),
        batch_overwrites: false,
        batch_started: None,
        in_flight: VecDeque::new(),
        slots: Arc::new(Slots::new(concurrency)),
        unrefreshed: false,
        last_refresh: Instant::now(),
        named_types: Arc::default(),
    };
    std::thread::Builder::new()
        .name(format!("esrecord-writer-{backend_name}"))
        .spawn(move || state.run())
        .map_err(|e| Error::Engine(format!("cannot start the writer thread: {e}")))
}

struct WriterLoop {
    backend_name: String,
    queues: Arc<Queues>,
    wake: Arc<Wake>,
    /// The queues this thread takes records from, as of `watched_generation`.
    watched: Vec<Arc<dyn Drain>>,
    watched_generation: u64,
    /// Documents per batch: the configured number or the backend's (at
    /// most the rate limit's burst).
    batch_size: usize,
    /// The backend's rate limit: records are taken from their queues by it.
    rate_limit: Option<RateLimit>,
    /// Records stayed queued for the rate limit since the last take.
    rate_waited: bool,
    control: Receiver<Control>,
    target: Target,
    runtime: tokio::runtime::Runtime,
    counters: Arc<Counters>,
    spool: Option<Arc<Spool>>,
    abandoned: watch::Receiver<bool>,
    /// The records of the batch being filled, in order.
    batch: Vec<Box<dyn Pending>>,
    /// Whether `batch` holds records that overwrite.
    batch_overwrites: bool,
    batch_started: Option<Instant>,
    /// The batches being written, oldest first.
    in_flight: VecDeque<InFlight>,
    slots: Arc<Slots>,
    /// Something was written since the last refresh.
    unrefreshed: bool,
    last_refresh: Instant,
    named_types: Arc<NamedTypes>,
}

impl WriterLoop {
    fn run(&mut self) {
        let control = self.control.clone();
        // While records arrive, the thread polls the queues every `POLL`
        // instead of waiting on them, so that recording threads never have
        // to wake it (a wake-up is a system call on the recording thread);
        // once the queues stay empty it waits on them again.
        let mut busy = false;
        loop {
            if self.is_abandoned() {
                break;
            }
            self.watch_new_queues();
            let backlog = self.spool.as_ref().is_some_and(|s| s.has_backlog());
            if backlog && self.queues_are_empty() {
                self.read_backlog();
            }
            let wait = if backlog && !self.is_throttled() {
                Duration::ZERO
            } else {
                self.next_wakeup()
            };
            let message = if busy {
                control.recv_timeout(wait.min(POLL))
            } else {
                // Say so before the last look: a record queued after it
                // sees the flag and wakes this thread.
                self.wake.going_idle();
                self.watch_new_queues();
                if self.queues_are_empty() || self.is_throttled() {
                    control.recv_timeout(wait)
                } else {
                    Err(RecvTimeoutError::Timeout)
                }
            };
            self.wake.busy();
            match message {
                Ok(Control::Flush(answer)) => {
                    self.flush();
                    let _ = answer.send(());
                }
                Ok(Control::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Ok(Control::Wake) | Err(RecvTimeoutError::Timeout) => {}
            }
            busy = self.take_queued(MAX_TAKEN) > 0;
            self.reap_finished();
            let now = Instant::now();
            self.send_batch_if_due(now);
            if self.unrefreshed && now - self.last_refresh >= self.target.config.refresh_interval {
                self.scheduled_refresh();
            }
        }
        // Records that passed `record`'s check just before the store closed
        // may arrive after the first drain: drain again (bounded).
        for _ in 0..3 {
            if self.is_abandoned() {
                break;
            }
            self.flush();
            self.watch_new_queues();
            let backlog = self.spool.as_ref().is_some_and(|s| s.has_backlog());
            if self.queues_are_empty() && !backlog {
                break;
            }
        }
        self.finish_in_flight();
        let backend = Arc::clone(&self.target.backend);
        if let Err(error) = self.runtime.block_on(backend.close()) {
            self.counters
                .set_error(format!("closing the backend failed: {error}"));
        }
        if let Some(spool) = &self.spool {
            spool.close();
        }
    }

    /// Looks at the queues added since it last looked.
    fn watch_new_queues(&mut self) {
        let generation = self.queues.generation();
        if generation != self.watched_generation {
            self.watched = self.queues.all();
            self.watched_generation = generation;
        }
    }

    fn queues_are_empty(&self) -> bool {
        self.watched.iter().all(|queue| queue.len() == 0)
    }

    /// Takes up to `max` queued records into batches, in bursts from each
    /// queue in turn, looking at the clock between bursts; returns how many.
    fn take_queued(&mut self, max: usize) -> usize {
        let queues = self.watched.clone();
        let counters = Arc::clone(&self.counters);
        let allowed = self.allowed(max);
        let mut taken = 0;
        while taken < allowed {
            let before = taken;
            for queue in &queues {
                let burst = BURST.min(allowed - taken);
                taken += queue.drain(burst, &counters.taken, &mut |pending| self.add(pending));
            }
            if taken == before {
                break;
            }
            self.send_batch_if_due(Instant::now());
        }
        self.took(taken);
        if allowed < max && taken == allowed && !self.queues_are_empty() {
            self.rate_waited = true;
        }
        taken
    }

    /// How many of `wanted` records the rate limit lets the writer take now.
    fn allowed(&mut self, wanted: usize) -> usize {
        match &mut self.rate_limit {
            Some(limit) => wanted.min(limit.available(Instant::now())),
            None => wanted,
        }
    }

    /// Counts `count` records taken against the rate limit (and, if they
    /// waited for it, in the stats).
    fn took(&mut self, count: usize) {
        let Some(limit) = &mut self.rate_limit else {
            return;
        };
        limit.take(count);
        if count > 0 && std::mem::take(&mut self.rate_waited) {
            self.counters
                .rate_limited
                .fetch_add(count as u64, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Whether the rate limit lets no record be taken now.
    fn is_throttled(&mut self) -> bool {
        self.allowed(1) == 0
    }

    /// Waits until the rate limit lets `count` records (at most a burst)
    /// be taken, sending a batch whose interval is up meanwhile.
    fn wait_for_rate_limit(&mut self, count: usize) {
        let Some(limit) = &mut self.rate_limit else {
            return;
        };
        let wait = limit.wait(Instant::now(), count);
        if !wait.is_zero() {
            self.rate_waited = true;
            self.send_batch_if_due(Instant::now());
            self.block_on(async move { tokio::time::sleep(wait).await });
        }
    }

    fn send_batch_if_due(&mut self, now: Instant) {
        if self
            .batch_started
            .is_some_and(|t| now - t >= self.target.config.batch_interval)
        {
            self.send_batch();
        }
    }

    fn is_abandoned(&self) -> bool {
        *self.abandoned.borrow()
    }

    /// Runs `work` on the writer's runtime, unless (and until) the store
    /// abandons the writer.
    fn block_on<T>(&self, work: impl std::future::Future<Output = T>) -> Option<T> {
        let mut abandoned = self.abandoned.clone();
        self.runtime.block_on(async move {
            tokio::select! {
                done = work => Some(done),
                _ = abandoned.wait_for(|abandoned| *abandoned) => None,
            }
        })
    }

    /// Writes every record queued (and spooled) so far, and refreshes.
    fn flush(&mut self) {
        // Everything queued before the flush was asked for is among the
        // records queued now.
        self.watch_new_queues();
        let counters = Arc::clone(&self.counters);
        for queue in self.watched.clone() {
            let mut left = queue.len();
            while left > 0 && !self.is_abandoned() {
                let chunk = left.min(self.batch_size);
                self.wait_for_rate_limit(chunk);
                let taken = queue.drain(self.allowed(chunk), &counters.taken, &mut |pending| {
                    self.add(pending)
                });
                self.took(taken);
                if taken == 0 {
                    break;
                }
                left = left.saturating_sub(taken);
            }
        }
        // What was spooled before, in as many reads as it takes (bounded,
        // should records keep coming).
        let spooled = self.spool.as_ref().map_or(0, |s| s.spooled());
        let mut reads = spooled / self.batch_size as u64 + 2;
        while reads > 0
            && self.spool.as_ref().is_some_and(|s| s.has_backlog())
            && !self.is_abandoned()
        {
            self.wait_for_rate_limit(self.batch_size);
            self.read_backlog();
            reads -= 1;
        }
        self.send_batch();
        self.refresh();
    }

    /// Takes a batch of the records the spool kept on disk.
    fn read_backlog(&mut self) {
        let Some(spool) = self.spool.clone() else {
            return;
        };
        let allowed = self.allowed(self.batch_size);
        if allowed == 0 {
            return;
        }
        let records = spool.read_backlog(allowed);
        self.took(records.len());
        for record in records {
            self.add(Box::new(record));
        }
    }

    fn next_wakeup(&mut self) -> Duration {
        let config = &self.target.config;
        let batch_due = self
            .batch_started
            .map(|t| config.batch_interval.saturating_sub(t.elapsed()));
        let refresh_due = self.unrefreshed.then(|| {
            config
                .refresh_interval
                .saturating_sub(self.last_refresh.elapsed())
        });
        let tokens_due = self
            .rate_limit
            .as_mut()
            .map(|limit| limit.wait(Instant::now(), 1))
            .filter(|wait| !wait.is_zero());
        [batch_due, refresh_due, tokens_due]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(Duration::from_secs(3600))
            .max(Duration::from_millis(1))
    }

    fn add(&mut self, pending: Box<dyn Pending>) {
        if self.is_abandoned() {
            return;
        }
        let record_type = pending.record_type();
        if let Err(error) = self.name_type(record_type) {
            if matches!(error, Error::Closed) {
                // Abandoned: the record stays unsent (and in the spool).
                return;
            }
            self.counters.fail(1, error.to_string());
            if let (Some(spool), Some(segment)) = (&self.spool, pending.spool_segment()) {
                spool.acknowledge(segment);
            }
            return;
        }
        self.batch_overwrites |= BulkAction::for_type(record_type) == BulkAction::Index;
        self.batch.push(pending);
        self.batch_started.get_or_insert_with(Instant::now);
        if self.batch.len() >= self.batch_size {
            self.send_batch();
        }
    }

    /// Works out how the backend names the type, and makes sure its
    /// template exists, on a type's first record. A backend that cannot be
    /// reached is retried as bulk requests are (the writer waits meanwhile).
    fn name_type(&mut self, record_type: &'static RecordType) -> Result<()> {
        let key = type_key(record_type);
        if self.named_types.contains_key(&key) {
            return Ok(());
        }
        let named = (self.target.name_type)(record_type);
        let backend = Arc::clone(&self.target.backend);
        let mut backoff = Backoff::new(&self.target.config);
        loop {
            let ensured = self.block_on(ensure_template(
                backend.as_ref(),
                &self.backend_name,
                &named,
                self.target.autosetup,
                &self.target.hooks,
            ));
            match ensured {
                None => return Err(Error::Closed),
                Some(Ok(())) => break,
                Some(Err(error)) if error.is_retryable() => {
                    let Some(wait) = backoff.next_wait() else {
                        return Err(error);
                    };
                    tracing::debug!(?wait, %error, "esrecord: retrying the template check");
                    self.counters.set_error(format!("retrying: {error}"));
                    if self
                        .block_on(async move { tokio::time::sleep(wait).await })
                        .is_none()
                    {
                        return Err(Error::Closed);
                    }
                }
                Some(Err(error)) => return Err(error),
            }
        }
        Arc::make_mut(&mut self.named_types).insert(key, named);
        Ok(())
    }

    /// Hands the batch to the runtime to be encoded and written, once
    /// there is a sending slot (see [`Slots`]); a batch that overwrites
    /// waits for the batches before it, so that the last record recorded
    /// under an id is the one that stays.
    fn send_batch(&mut self) {
        self.batch_started = None;
        if self.batch.is_empty() {
            return;
        }
        let overwrites = std::mem::take(&mut self.batch_overwrites);
        if overwrites {
            self.finish_in_flight();
        }
        let sending = Arc::clone(&self.slots.sending);
        let permit = self.block_on(sending.acquire_owned());
        self.reap_finished();
        let records = std::mem::take(&mut self.batch);
        let Some(Ok(permit)) = permit else {
            // Abandoned: the records stay unsent (and in the spool).
            return;
        };
        let count = records.len() as u64;
        let batch = Batch {
            backend_name: self.backend_name.clone(),
            backend: Arc::clone(&self.target.backend),
            named_types: Arc::clone(&self.named_types),
            counters: Arc::clone(&self.counters),
            config: self.target.config.clone(),
            hooks: self.target.hooks.clone(),
            spool: self.spool.clone(),
            abandoned: self.abandoned.clone(),
            slots: Arc::clone(&self.slots),
        };
        let task = self.runtime.spawn(batch.write(records, permit));
        self.in_flight.push_back(InFlight {
            task,
            count,
            overwrites,
        });
        self.unrefreshed = true;
    }

    /// Takes note of the batches that are done.
    fn reap_finished(&mut self) {
        let mut position = 0;
        while position < self.in_flight.len() {
            let done = self
                .in_flight
                .get(position)
                .is_some_and(|in_flight| in_flight.task.is_finished());
            match self.in_flight.remove(position) {
                Some(in_flight) if done => self.finish(in_flight),
                Some(in_flight) => {
                    self.in_flight.insert(position, in_flight);
                    position += 1;
                }
                None => break,
            }
        }
    }

    /// Waits for every batch in flight.
    fn finish_in_flight(&mut self) {
        while !self.in_flight.is_empty() {
            self.finish_oldest();
        }
    }

    /// Waits for the oldest batch in flight.
    fn finish_oldest(&mut self) {
        if let Some(in_flight) = self.in_flight.pop_front() {
            self.finish(in_flight);
        }
    }

    /// Waits for a batch (its counts are in the stats; this notes a panic).
    fn finish(&mut self, in_flight: InFlight) {
        if let Err(error) = self.runtime.block_on(in_flight.task) {
            let kind = if in_flight.overwrites {
                "overwriting "
            } else {
                ""
            };
            self.counters.fail(
                in_flight.count,
                format!("writing a {kind}batch of records failed: {error}"),
            );
        }
    }

    /// Makes everything written searchable and durable (a flush, closing).
    fn refresh(&mut self) {
        self.finish_in_flight();
        self.last_refresh = Instant::now();
        if !std::mem::take(&mut self.unrefreshed) {
            return;
        }
        let covered = self.spool.as_ref().map(|s| s.before_commit());
        let backend = Arc::clone(&self.target.backend);
        let refreshed = self.block_on(backend.refresh());
        self.after_commit(covered, matches!(refreshed, Some(Ok(()))));
        if let Some(Err(error)) = refreshed {
            self.counters.set_error(format!("refresh failed: {error}"));
        }
    }

    /// The refresh due every refresh interval, which the backend may put
    /// off. Batches still in flight are covered by the next one.
    fn scheduled_refresh(&mut self) {
        self.last_refresh = Instant::now();
        let covered = self.spool.as_ref().map(|s| s.before_commit());
        let backend = Arc::clone(&self.target.backend);
        let outcome = self.block_on(backend.scheduled_refresh());
        let (committed, again) = match &outcome {
            Some(Ok(outcome)) => (outcome.committed, outcome.again),
            Some(Err(error)) => {
                self.counters.set_error(format!("refresh failed: {error}"));
                (false, false)
            }
            None => (false, false),
        };
        self.after_commit(covered, committed);
        self.unrefreshed = again || !self.in_flight.is_empty();
    }

    /// Releases the spooled records a commit covered, or keeps them for the
    /// next one.
    fn after_commit(&self, covered: Option<Vec<u64>>, committed: bool) {
        if let (Some(spool), Some(covered)) = (&self.spool, covered) {
            if committed {
                spool.committed(covered);
            } else {
                spool.commit_failed(covered);
            }
        }
    }
}
