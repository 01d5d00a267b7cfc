//! The background writer: `record` hands a record to a bounded queue; a
//! thread of the store's encodes queued records, batches them by count,
//! bytes and interval, writes each batch with one bulk request, and asks the
//! backend for a refresh every refresh interval after it wrote (which the
//! embedded engine puts off while nobody searches).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::backend::Backend;
use crate::bulk::BulkBuilder;
use crate::config::WriterConfig;
use crate::error::{Error, Result};
use crate::record::Record;
use crate::record_type::RecordType;

/// A queued record of any type, encoded on the writer's thread.
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
    /// The last error, if any record failed.
    pub last_error: Option<String>,
}

/// Counters shared by the store and its writer.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) queued: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) failed: AtomicU64,
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
            last_error: self.last_error.lock().ok().and_then(|last| last.clone()),
        }
    }
}

/// A bulk request being written.
struct InFlight {
    task: tokio::task::JoinHandle<Result<Vec<crate::backend::ItemResult>>>,
    count: u64,
    bytes: u64,
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
}

impl Writer {
    /// Starts the writer thread for `target`.
    pub(crate) fn start(backend_name: &str, target: Target) -> Result<Self> {
        let (sender, receiver) = crossbeam_channel::bounded(target.config.queue_capacity);
        let stats = Arc::new(Stats::default());
        // One worker: it runs the bulk request in flight while this
        // thread encodes the next batch.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(format!("esrecord-bulk-{backend_name}"))
            .enable_all()
            .build()
            .map_err(|e| Error::Engine(format!("cannot start the writer's runtime: {e}")))?;
        let mut state = WriterLoop {
            receiver,
            target,
            runtime,
            stats: Arc::clone(&stats),
            batch: BulkBuilder::default(),
            batch_started: None,
            in_flight: None,
            unrefreshed: false,
            last_refresh: Instant::now(),
            named_types: HashMap::new(),
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
        let sender = self.sender()?;
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
    batch: BulkBuilder,
    batch_started: Option<Instant>,
    /// The bulk request being written while the next batch fills.
    in_flight: Option<InFlight>,
    /// Something was written since the last refresh.
    unrefreshed: bool,
    last_refresh: Instant,
    /// Record types (by address) as the backend names them, for types
    /// whose template is known to exist.
    named_types: HashMap<usize, RecordType>,
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
            Message::Record(pending) => self.add(pending.as_ref()),
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

    fn add(&mut self, pending: &dyn Pending) {
        let encoded = self.name_type(pending.record_type()).and_then(|key| {
            match self.named_types.get(&key) {
                Some(named) => pending.encode(named, &mut self.batch),
                None => Err(Error::Engine(
                    "a record type vanished from the writer's table".into(),
                )),
            }
        });
        match encoded {
            Ok(()) => {
                self.batch_started.get_or_insert_with(Instant::now);
            }
            Err(error) => self.stats.fail(1, error.to_string()),
        }
        let config = &self.target.config;
        if self.batch.len() >= config.batch_size || self.batch.byte_len() >= config.batch_bytes {
            self.send_batch();
        }
    }

    /// Works out how the backend names the type, and makes sure its
    /// template exists, on a type's first record; returns the key (the
    /// type's address) of its entry in `named_types`.
    fn name_type(&mut self, record_type: &'static RecordType) -> Result<usize> {
        let key = std::ptr::from_ref(record_type) as usize;
        if !self.named_types.contains_key(&key) {
            let named = (self.target.name_type)(record_type);
            let backend = Arc::clone(&self.target.backend);
            self.runtime.block_on(ensure_template(
                backend.as_ref(),
                &named,
                self.target.autosetup,
            ))?;
            self.named_types.insert(key, named);
        }
        Ok(key)
    }

    /// Starts writing the batch, after the one before it has finished.
    fn send_batch(&mut self) {
        self.batch_started = None;
        if self.batch.is_empty() {
            return;
        }
        self.finish_in_flight();
        let body = self.batch.finish();
        let count = body.len() as u64;
        let bytes = body.bytes().len() as u64;
        let backend = Arc::clone(&self.target.backend);
        let task = self.runtime.spawn(async move { backend.bulk(body).await });
        self.in_flight = Some(InFlight { task, count, bytes });
    }

    /// Waits for the bulk request in flight and counts its outcome.
    fn finish_in_flight(&mut self) {
        let Some(InFlight { task, count, bytes }) = self.in_flight.take() else {
            return;
        };
        let outcome = self
            .runtime
            .block_on(task)
            .unwrap_or_else(|e| Err(Error::Engine(format!("a bulk request failed: {e}"))));
        match outcome {
            Ok(results) => {
                let failures: Vec<_> = results.iter().filter(|r| r.is_failure()).collect();
                let written = count - failures.len() as u64;
                self.stats.sent.fetch_add(written, Ordering::Relaxed);
                if let Some(first) = failures.first() {
                    let error = format!(
                        "{} of {count} records rejected; first: {} {}",
                        failures.len(),
                        first.error_type.as_deref().unwrap_or("error"),
                        first.reason.as_deref().unwrap_or("")
                    );
                    self.stats.fail(failures.len() as u64, error);
                }
            }
            Err(error) => self.stats.fail(count, error.to_string()),
        }
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        self.stats.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.unrefreshed = true;
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

    /// The refresh due every refresh interval, which the backend may put off.
    fn scheduled_refresh(&mut self) {
        self.finish_in_flight();
        self.last_refresh = Instant::now();
        let backend = Arc::clone(&self.target.backend);
        self.unrefreshed = match self.runtime.block_on(backend.scheduled_refresh()) {
            Ok(still_waiting) => still_waiting,
            Err(error) => {
                self.stats.fail(0, format!("refresh failed: {error}"));
                false
            }
        };
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
