//! The background writer: `record` hands a record to a bounded queue; a
//! thread of the store's takes queued records into batches (by count and
//! interval) and hands each batch to the writer's runtime, which encodes it
//! into bulk requests (split by bytes) and writes them, several batches at
//! once on as many threads as `WriterConfig::concurrency` allows. The
//! thread asks the backend for a refresh every refresh interval after it
//! wrote (which the embedded engine puts off while nobody searches).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use rustc_hash::FxHashMap;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::backend::Backend;
use crate::backend::ItemResult;
use crate::bulk::{BulkAction, BulkBody, BulkBuilder};
use crate::config::WriterConfig;
use crate::dead_letter::{DeadLetter, DeadLetterHook};
use crate::error::{Error, Result};
use crate::record::Record;
use crate::record_type::RecordType;
use crate::retry::{self, Backoff, ItemOutcome};

/// A queued record of any type, encoded on the writer's runtime.
pub(crate) trait Pending: Send {
    /// The record's type (unprefixed).
    fn record_type(&self) -> &'static RecordType;
    /// Adds the record to `batch`, its names from `named` (the type as the
    /// backend names it).
    fn encode(&self, named: &RecordType, batch: &mut BulkBuilder) -> Result<()>;
}

/// A record and the id it was given when recorded (none for
/// `unique_together` types, whose ids come from their fields).
pub(crate) struct PendingRecord<R> {
    pub(crate) record: R,
    pub(crate) id: Option<Uuid>,
}

impl<R: Record> Pending for PendingRecord<R> {
    fn record_type(&self) -> &'static RecordType {
        R::record_type()
    }

    fn encode(&self, named: &RecordType, batch: &mut BulkBuilder) -> Result<()> {
        encode(named, &self.record, self.id, batch)
    }
}

/// Adds `record` to `batch` under its `unique_together` id, else `id`, else
/// a new UUIDv7.
pub(crate) fn encode<R: Record>(
    named: &RecordType,
    record: &R,
    id: Option<Uuid>,
    batch: &mut BulkBuilder,
) -> Result<()> {
    let mut buffer = Uuid::encode_buffer();
    match record.unique_id()? {
        Some(unique) => batch.push_record(named, record, &unique),
        None => {
            let id = id.unwrap_or_else(Uuid::now_v7);
            batch.push_record(named, record, id.hyphenated().encode_lower(&mut buffer))
        }
    }
}

/// What a flush found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// Records written since the store opened.
    pub sent: u64,
    /// Records rejected or lost since the store opened.
    pub failed: u64,
    /// Documents sent again after a failure that could pass (each attempt
    /// counts).
    pub retried: u64,
    /// The last error, if any record failed.
    pub last_error: Option<String>,
}

/// Counters shared by the store and its writer.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) queued: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) last_error: Mutex<Option<String>>,
}

impl Stats {
    fn fail(&self, count: u64, error: String) {
        self.failed.fetch_add(count, Ordering::Relaxed);
        tracing::warn!(count, %error, "esrecord: records not written");
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(error);
        }
    }

    pub(crate) fn report(&self) -> FlushReport {
        FlushReport {
            sent: self.sent.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            last_error: self.last_error.lock().ok().and_then(|last| last.clone()),
        }
    }
}

/// A batch being encoded and written on the runtime.
struct InFlight {
    task: tokio::task::JoinHandle<()>,
    count: u64,
    /// Whether it holds records that overwrite (`unique_together` types).
    overwrites: bool,
}

/// Record types (by address) as the backend names them, for types whose
/// template is known to exist. Shared with the batches being written.
type NamedTypes = FxHashMap<usize, RecordType>;

fn type_key(record_type: &'static RecordType) -> usize {
    std::ptr::from_ref(record_type) as usize
}

/// How many queued messages the writer takes between looks at the clock.
const BURST: usize = 256;

pub(crate) enum Message {
    Record(Box<dyn Pending>),
    /// Write everything queued before, refresh, and answer.
    Flush(oneshot::Sender<FlushReport>),
}

/// The writing side of one backend.
#[derive(Debug)]
pub(crate) struct Writer {
    sender: Mutex<Option<Sender<Message>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    pub(crate) stats: Arc<Stats>,
}

/// What the writer thread needs to know about its backend.
pub(crate) struct Target {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) name_type: Box<dyn Fn(&RecordType) -> RecordType + Send>,
    pub(crate) autosetup: bool,
    pub(crate) config: WriterConfig,
    pub(crate) dead_letters: Option<DeadLetterHook>,
}

impl Writer {
    /// Starts the writer thread for `target`.
    pub(crate) fn start(backend_name: &str, target: Target) -> Result<Self> {
        let (sender, receiver) = crossbeam_channel::bounded(target.config.queue_capacity);
        let stats = Arc::new(Stats::default());
        // A worker per batch that may be in flight: each encodes its batch
        // and then waits on its bulk request.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(target.config.concurrency.max(1))
            .thread_name(format!("esrecord-bulk-{backend_name}"))
            .enable_all()
            .build()
            .map_err(|e| Error::Engine(format!("cannot start the writer's runtime: {e}")))?;
        let mut state = WriterLoop {
            receiver,
            target,
            runtime,
            stats: Arc::clone(&stats),
            batch: Vec::new(),
            batch_overwrites: false,
            batch_started: None,
            in_flight: VecDeque::new(),
            unrefreshed: false,
            last_refresh: Instant::now(),
            named_types: Arc::default(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("esrecord-writer-{backend_name}"))
            .spawn(move || state.run())
            .map_err(|e| Error::Engine(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
            stats,
        })
    }

    /// Queues a record; waits for room when the queue is full.
    pub(crate) fn send(&self, pending: Box<dyn Pending>) -> Result<()> {
        // Used under the lock rather than cloned: a clone per record costs
        // two more atomic updates of the channel's sender count.
        let guard = self.sender.lock().map_err(|_| closed())?;
        let sender = guard.as_ref().ok_or_else(closed)?;
        match sender.try_send(Message::Record(pending)) {
            Ok(()) => {}
            Err(TrySendError::Full(message)) => {
                // Wait until the writer has drained half the queue, rather
                // than waking this thread for every record it takes.
                // Bounded, so a writer that stopped taking records ends in
                // the blocking send below, which fails once it is gone.
                let capacity = sender.capacity().unwrap_or(1);
                let deadline = Instant::now() + Duration::from_millis(100);
                while sender.len() > capacity / 2 && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_micros(500));
                }
                sender.send(message).map_err(|_| closed())?;
            }
            Err(TrySendError::Disconnected(_)) => return Err(closed()),
        }
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Asks the thread to write and refresh everything queued so far.
    pub(crate) fn request_flush(&self) -> Result<oneshot::Receiver<FlushReport>> {
        let (answer, receiver) = oneshot::channel();
        self.sender()?
            .send(Message::Flush(answer))
            .map_err(|_| closed())?;
        Ok(receiver)
    }

    /// Stops the thread after it has written everything queued.
    pub(crate) fn stop(&self) -> FlushReport {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut thread| thread.take());
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            self.stats.fail(0, "the writer thread panicked".into());
        }
        self.stats.report()
    }

    fn sender(&self) -> Result<Sender<Message>> {
        self.sender
            .lock()
            .ok()
            .and_then(|sender| sender.clone())
            .ok_or_else(closed)
    }
}

fn closed() -> Error {
    Error::Closed
}

struct WriterLoop {
    receiver: Receiver<Message>,
    target: Target,
    runtime: tokio::runtime::Runtime,
    stats: Arc<Stats>,
    /// The records of the batch being filled, in order.
    batch: Vec<Box<dyn Pending>>,
    /// Whether `batch` holds records that overwrite.
    batch_overwrites: bool,
    batch_started: Option<Instant>,
    /// The batches being written, oldest first.
    in_flight: VecDeque<InFlight>,
    /// Something was written since the last refresh.
    unrefreshed: bool,
    last_refresh: Instant,
    named_types: Arc<NamedTypes>,
}

impl WriterLoop {
    fn run(&mut self) {
        let receiver = self.receiver.clone();
        loop {
            match receiver.recv_timeout(self.next_wakeup()) {
                Ok(message) => {
                    self.handle(message);
                    // Take what else is queued without reading the clock for each.
                    for message in receiver.try_iter().take(BURST) {
                        self.handle(message);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.reap_finished();
            let now = Instant::now();
            if self
                .batch_started
                .is_some_and(|t| now - t >= self.target.config.batch_interval)
            {
                self.send_batch();
            }
            if self.unrefreshed && now - self.last_refresh >= self.target.config.refresh_interval {
                self.scheduled_refresh();
            }
        }
        self.send_batch();
        self.refresh();
        let backend = Arc::clone(&self.target.backend);
        if let Err(error) = self.runtime.block_on(backend.close()) {
            self.stats
                .fail(0, format!("closing the backend failed: {error}"));
        }
    }

    fn handle(&mut self, message: Message) {
        match message {
            Message::Record(pending) => self.add(pending),
            Message::Flush(answer) => {
                self.send_batch();
                self.refresh();
                let _ = answer.send(self.stats.report());
            }
        }
    }

    fn next_wakeup(&self) -> Duration {
        let config = &self.target.config;
        let batch_due = self
            .batch_started
            .map(|t| config.batch_interval.saturating_sub(t.elapsed()));
        let refresh_due = self.unrefreshed.then(|| {
            config
                .refresh_interval
                .saturating_sub(self.last_refresh.elapsed())
        });
        [batch_due, refresh_due]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(Duration::from_secs(3600))
            .max(Duration::from_millis(1))
    }

    fn add(&mut self, pending: Box<dyn Pending>) {
        let record_type = pending.record_type();
        if let Err(error) = self.name_type(record_type) {
            self.stats.fail(1, error.to_string());
            return;
        }
        self.batch_overwrites |= BulkAction::for_type(record_type) == BulkAction::Index;
        self.batch.push(pending);
        self.batch_started.get_or_insert_with(Instant::now);
        if self.batch.len() >= self.target.config.batch_size {
            self.send_batch();
        }
    }

    /// Works out how the backend names the type, and makes sure its
    /// template exists, on a type's first record.
    fn name_type(&mut self, record_type: &'static RecordType) -> Result<()> {
        let key = type_key(record_type);
        if !self.named_types.contains_key(&key) {
            let named = (self.target.name_type)(record_type);
            let backend = Arc::clone(&self.target.backend);
            self.runtime.block_on(ensure_template(
                backend.as_ref(),
                &named,
                self.target.autosetup,
            ))?;
            Arc::make_mut(&mut self.named_types).insert(key, named);
        }
        Ok(())
    }

    /// Hands the batch to the runtime to be encoded and written, once
    /// there is room: at most `concurrency` batches are in flight, and a
    /// batch that overwrites waits for the batches before it, so that the
    /// last record recorded under an id is the one that stays.
    fn send_batch(&mut self) {
        self.batch_started = None;
        if self.batch.is_empty() {
            return;
        }
        let overwrites = std::mem::take(&mut self.batch_overwrites);
        if overwrites {
            self.finish_in_flight();
        }
        while self.in_flight.len() >= self.target.config.concurrency.max(1) {
            self.finish_oldest();
        }
        let records = std::mem::take(&mut self.batch);
        let count = records.len() as u64;
        let batch = Batch {
            backend: Arc::clone(&self.target.backend),
            named_types: Arc::clone(&self.named_types),
            stats: Arc::clone(&self.stats),
            config: self.target.config.clone(),
            dead_letters: self.target.dead_letters.clone(),
        };
        let task = self.runtime.spawn(batch.write(records));
        self.in_flight.push_back(InFlight {
            task,
            count,
            overwrites,
        });
        self.unrefreshed = true;
    }

    /// Takes note of the batches that are done, oldest first.
    fn reap_finished(&mut self) {
        while self
            .in_flight
            .front()
            .is_some_and(|in_flight| in_flight.task.is_finished())
        {
            self.finish_oldest();
        }
    }

    /// Waits for every batch in flight.
    fn finish_in_flight(&mut self) {
        while !self.in_flight.is_empty() {
            self.finish_oldest();
        }
    }

    /// Waits for the oldest batch in flight (its counts are in the stats).
    fn finish_oldest(&mut self) {
        let Some(in_flight) = self.in_flight.pop_front() else {
            return;
        };
        if let Err(error) = self.runtime.block_on(in_flight.task) {
            let kind = if in_flight.overwrites {
                "overwriting "
            } else {
                ""
            };
            self.stats.fail(
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
        let backend = Arc::clone(&self.target.backend);
        if let Err(error) = self.runtime.block_on(backend.refresh()) {
            self.stats.fail(0, format!("refresh failed: {error}"));
        }
    }

    /// The refresh due every refresh interval, which the backend may put
    /// off. Batches still in flight are covered by the next one.
    fn scheduled_refresh(&mut self) {
        self.last_refresh = Instant::now();
        let backend = Arc::clone(&self.target.backend);
        let still_waiting = match self.runtime.block_on(backend.scheduled_refresh()) {
            Ok(still_waiting) => still_waiting,
            Err(error) => {
                self.stats.fail(0, format!("refresh failed: {error}"));
                false
            }
        };
        self.unrefreshed = still_waiting || !self.in_flight.is_empty();
    }
}

/// What a batch needs to be encoded and written on the runtime.
struct Batch {
    backend: Arc<dyn Backend>,
    named_types: Arc<NamedTypes>,
    stats: Arc<Stats>,
    config: WriterConfig,
    dead_letters: Option<DeadLetterHook>,
}

impl Batch {
    /// Encodes the records into bulk requests of at most `batch_bytes`
    /// (one more record may cross it) and writes them one after another.
    async fn write(self, records: Vec<Box<dyn Pending>>) {
        let mut body = BulkBuilder::default();
        for pending in records {
            let encoded = match self.named_types.get(&type_key(pending.record_type())) {
                Some(named) => pending.encode(named, &mut body),
                None => Err(Error::Engine(
                    "a record type vanished from the writer's table".into(),
                )),
            };
            if let Err(error) = encoded {
                self.stats.fail(1, error.to_string());
            }
            if body.byte_len() >= self.config.batch_bytes {
                self.send(body.finish()).await;
            }
        }
        if !body.is_empty() {
            self.send(body.finish()).await;
        }
    }

    /// Writes one bulk request and counts its outcome. What fails for a
    /// reason that may pass (the whole request: 429, 5xx, unreachable,
    /// timed out; or single items answered 429 or 5xx) is sent again, only
    /// that, after a jittered, growing wait, for as long as `retry_for`
    /// allows. Ids are made before the first attempt, so a resent record
    /// is never stored twice.
    async fn send(&self, body: BulkBody) {
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        self.stats
            .bytes
            .fetch_add(body.bytes().len() as u64, Ordering::Relaxed);
        let mut backoff = Backoff::new(&self.config);
        let mut unsent = body;
        loop {
            let last_error = match self.backend.bulk(unsent.clone()).await {
                Ok(results) => match self.count_items(&unsent, &results) {
                    Some((again, error)) => {
                        unsent = unsent.select(&again);
                        error
                    }
                    None => return,
                },
                Err(error) if error.is_retryable() => error.to_string(),
                Err(error) => {
                    let (status, error_type) = match &error {
                        Error::Elasticsearch {
                            status, error_type, ..
                        } => (*status, error_type.as_deref()),
                        _ => (None, None),
                    };
                    self.give_up(&unsent, status, error_type, &error.to_string());
                    return;
                }
            };
            let Some(wait) = backoff.next_wait() else {
                let error = format!(
                    "still failing after retrying for {:?}: {last_error}",
                    self.config.retry_for
                );
                self.give_up(&unsent, None, None, &error);
                return;
            };
            self.stats
                .retried
                .fetch_add(unsent.len() as u64, Ordering::Relaxed);
            tracing::debug!(documents = unsent.len(), ?wait, error = %last_error, "esrecord: retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// Counts every document of `body` as failed with `reason`, and hands
    /// each to the dead-letter hook.
    fn give_up(
        &self,
        body: &BulkBody,
        status: Option<u16>,
        error_type: Option<&str>,
        reason: &str,
    ) {
        self.stats.fail(body.len() as u64, reason.to_owned());
        if let Some(hook) = &self.dead_letters {
            for item in body.entries() {
                (hook.0)(&DeadLetter::new(&item, status, error_type, reason));
            }
        }
    }

    /// Counts the items written and rejected; returns the positions to
    /// send again, with the first of their errors, if any.
    fn count_items(&self, body: &BulkBody, results: &[ItemResult]) -> Option<(Vec<usize>, String)> {
        let mut again = Vec::new();
        let mut written = 0;
        let mut rejected: Vec<&ItemResult> = Vec::new();
        for (position, (item, result)) in body.entries().zip(results).enumerate() {
            match retry::outcome(item.action, result) {
                ItemOutcome::Written => written += 1,
                ItemOutcome::Retry => again.push(position),
                ItemOutcome::Rejected => {
                    rejected.push(result);
                    if let Some(hook) = &self.dead_letters {
                        (hook.0)(&DeadLetter::new(
                            &item,
                            Some(result.status),
                            result.error_type.as_deref(),
                            result.reason.as_deref().unwrap_or_default(),
                        ));
                    }
                }
            }
        }
        self.stats.sent.fetch_add(written, Ordering::Relaxed);
        if let Some(first) = rejected.first() {
            let error = format!(
                "{} of {} records rejected; first: {} {}",
                rejected.len(),
                body.len(),
                first.error_type.as_deref().unwrap_or("error"),
                first.reason.as_deref().unwrap_or("")
            );
            self.stats.fail(rejected.len() as u64, error);
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

/// Creates the template of `named` if the backend has none (with
/// `autosetup`), or says to run setup.
pub(crate) async fn ensure_template(
    backend: &dyn Backend,
    named: &RecordType,
    autosetup: bool,
) -> Result<()> {
    let name = named.template_name();
    if backend.get_template(&name).await?.is_some() {
        return Ok(());
    }
    if !autosetup {
        return Err(Error::NotSetUp { template: name });
    }
    named.validate()?;
    backend.put_template(&name, &named.template_body()).await
}
