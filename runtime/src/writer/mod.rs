//! The background writer of one backend.
//!
//! `Store::record` validates the record and hands it to its type's bounded
//! queue (`queue.rs`; through the spool, when there is one, `spool.rs`)
//! without blocking, unless the overflow policy (`overflow.rs`) is `block`
//! and the queue is full. A thread of the store's takes queued records into
//! batches (by count and interval) and hands each batch to the writer's
//! runtime, which gives each record its id, encodes the batch into bulk
//! requests (split by bytes) and writes them, several batches at once
//! (`Slots`). What fails for a reason that may pass is resent, only that,
//! with capped, jittered backoff (`retry`). The thread asks the backend for
//! a refresh every refresh interval after it wrote (which the embedded
//! engine puts off while nobody searches). Counters are in `stats.rs`.

mod overflow;
mod queue;
pub(crate) mod spool;
mod stats;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use rustc_hash::FxHashMap;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot, watch};
use uuid::Uuid;

use crate::backend::{Backend, ItemResult};
use crate::bulk::{BulkAction, BulkBody, BulkBuilder};
use crate::config::{Overflow, WriterConfig};
use crate::dead_letter::DeadLetter;
use crate::error::{Error, Result};
use crate::hooks::{BulkError, Hooks, SaveEvent, TemplateEvent};
use crate::record::Record;
use crate::record_type::RecordType;
use crate::retry::{self, Backoff, ItemOutcome};

use self::queue::{Drain, Queue, Queues, Wake};
use self::spool::{Spool, SpooledRecord};
pub(crate) use self::stats::Counters;
pub use self::stats::{SendLatency, Stats};

/// A queued record of any type, encoded on the writer's runtime.
pub(crate) trait Pending: Send {
    /// The record's type (unprefixed).
    fn record_type(&self) -> &'static RecordType;
    /// Adds the record to `batch`, its names from `named` (the type as the
    /// backend names it).
    fn encode(&self, named: &RecordType, batch: &mut BulkBuilder) -> Result<()>;
    /// The spool segment that keeps it, if it is spooled.
    fn spool_segment(&self) -> Option<u64> {
        None
    }
}

/// A record waiting in its type's queue. Its id is made when it is
/// encoded, once, before its first attempt: every resend carries the same
/// id (see [`new_id`]).
struct PendingRecord<R> {
    record: R,
}

impl<R: Record> Pending for PendingRecord<R> {
    fn record_type(&self) -> &'static RecordType {
        R::record_type()
    }

    fn encode(&self, named: &RecordType, batch: &mut BulkBuilder) -> Result<()> {
        encode(named, &self.record, batch)
    }
}

impl Pending for SpooledRecord {
    fn record_type(&self) -> &'static RecordType {
        self.record_type
    }

    fn encode(&self, named: &RecordType, batch: &mut BulkBuilder) -> Result<()> {
        let mut index = Vec::with_capacity(64);
        named.write_index_for(&self.timestamp.unwrap_or_default(), &mut index);
        batch.push(
            BulkAction::for_type(named),
            &String::from_utf8_lossy(&index),
            self.id(),
            self.source(),
        )
    }

    fn spool_segment(&self) -> Option<u64> {
        Some(self.segment)
    }
}

/// The id of a record: a UUIDv7 (`Uuid::now_v7`: the time it is made,
/// then a counter and random bits, so ids made in one process increase).
/// It is made once per record, before the record's first attempt (when its
/// batch is encoded, off the recording thread, or when it is spooled), and
/// every resend carries it, so that `create` can never store a record
/// twice. Ids made close in time share a prefix: the id terms of a
/// partition compress well and are looked up fast.
fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// Adds `record` to `batch` under its `unique_together` id, else a new id
/// (see [`new_id`]).
pub(crate) fn encode<R: Record>(
    named: &RecordType,
    record: &R,
    batch: &mut BulkBuilder,
) -> Result<()> {
    let mut buffer = Uuid::encode_buffer();
    match record.unique_id()? {
        Some(unique) => batch.push_record(named, record, &unique),
        None => {
            let id = new_id();
            batch.push_record(named, record, id.hyphenated().encode_lower(&mut buffer))
        }
    }
}

/// What the writer thread is asked to do, besides writing records.
enum Control {
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

/// The writer's slots for batches: `sending` bounds the batches being
/// encoded and written (`concurrency`); `resting` bounds the batches that
/// wait for a retry without holding a sending slot (as many again), so
/// that a batch backing off does not stop the others. A batch that fails
/// when every resting slot is taken waits in its sending slot, which is
/// how an outage fills the queue.
#[derive(Debug)]
struct Slots {
    sending: Arc<Semaphore>,
    resting: Arc<Semaphore>,
}

/// Record types (by address) as the backend names them, for types whose
/// template is known to exist. Shared with the batches being written.
type NamedTypes = FxHashMap<usize, RecordType>;

fn type_key(record_type: &'static RecordType) -> usize {
    std::ptr::from_ref(record_type) as usize
}

/// How many queued records the writer takes between looks at the clock.
const BURST: usize = 256;

/// How many queued records the writer takes before it looks at its control
/// messages and refreshes again.
const MAX_TAKEN: usize = 64 * BURST;

/// How long a stopping writer may take once abandoned (closing the backend:
/// the embedded engine finishes its merges) before it is left to finish.
pub(crate) const ABANDON_GRACE: Duration = Duration::from_secs(10);

/// How often the writer looks at the queue while records arrive.
const POLL: Duration = Duration::from_millis(1);

/// The writing side of one backend.
#[derive(Debug)]
pub(crate) struct Writer {
    backend_name: String,
    /// Tells this writer's queues from other writers' in threads' caches.
    number: u64,
    queues: Arc<Queues>,
    wake: Arc<Wake>,
    /// The queue of spooled records, with a spool.
    spooled: Option<Arc<Queue<SpooledRecord>>>,
    capacity: usize,
    control: Sender<Control>,
    overflow: Overflow,
    closed: AtomicBool,
    spool: Option<Arc<Spool>>,
    counters: Arc<Counters>,
    /// Set when the store stops waiting: batches stop retrying, and what is
    /// still queued stays unsent (or in the spool).
    abandon: watch::Sender<bool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// What the writer thread needs to know about its backend.
pub(crate) struct Target {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) name_type: Box<dyn Fn(&RecordType) -> RecordType + Send>,
    pub(crate) autosetup: bool,
    pub(crate) config: WriterConfig,
    pub(crate) hooks: Hooks,
}

impl Writer {
    /// Opens the spool (when configured) and starts the writer thread for
    /// the backend `backend_name`.
    pub(crate) fn start(backend_name: &str, target: Target) -> Result<Self> {
        let (control, control_receiver) = crossbeam_channel::unbounded();
        let queues = Arc::new(Queues::default());
        let wake = Arc::new(Wake::new(control.clone()));
        let capacity = target.config.queue_capacity;
        let counters = Arc::new(Counters::default());
        let spool = match &target.config.spool_dir {
            Some(dir) => Some(Spool::open(
                &dir.join(backend_name),
                target.config.spool_sync_interval,
                target.backend.durable_on_ack(),
            )?),
            None => None,
        };
        // What earlier stores left in the spool is this store's to send.
        if let Some(spool) = &spool {
            counters
                .queued
                .fetch_add(spool.spooled(), Ordering::Relaxed);
        }
        // Spooled records of every type share one queue.
        let spooled = spool.as_ref().and_then(|_| {
            let queue = queues.get_or_create::<SpooledRecord>(0, capacity, &wake);
            queue.downcast::<Queue<SpooledRecord>>().ok()
        });
        let (abandon, abandoned) = watch::channel(false);
        let overflow = target.config.overflow;
        let concurrency = target.config.concurrency.max(1);
        // A worker per batch that may be in flight: each encodes its batch
        // and then waits on its bulk request.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(target.config.concurrency.max(1))
            .thread_name(format!("esrecord-bulk-{backend_name}"))
            .enable_all()
            .build()
            .map_err(|e| Error::Engine(format!("cannot start the writer's runtime: {e}")))?;
        let mut state = WriterLoop {
            backend_name: backend_name.to_owned(),
            queues: Arc::clone(&queues),
            wake: Arc::clone(&wake),
            watched: Vec::new(),
            watched_generation: u64::MAX,
            batch_size: target
                .config
                .batch_size
                .unwrap_or_else(|| target.backend.default_batch_size())
                .max(1),
            control: control_receiver,
            target,
            runtime,
            counters: Arc::clone(&counters),
            spool: spool.clone(),
            abandoned,
            batch: Vec::new(),
            batch_overwrites: false,
            batch_started: None,
            in_flight: VecDeque::new(),
            slots: Arc::new(Slots {
                sending: Arc::new(Semaphore::new(concurrency)),
                resting: Arc::new(Semaphore::new(concurrency)),
            }),
            unrefreshed: false,
            last_refresh: Instant::now(),
            named_types: Arc::default(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("esrecord-writer-{backend_name}"))
            .spawn(move || state.run())
            .map_err(|e| Error::Engine(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer {
            backend_name: backend_name.to_owned(),
            number: queue::next_writer_number(),
            queues,
            wake,
            spooled,
            capacity,
            control,
            overflow,
            closed: AtomicBool::new(false),
            spool,
            counters,
            abandon,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues `record` (spooling it first, when there is a spool).
    #[inline]
    pub(crate) fn record<R: Record>(&self, record: R) -> Result<()> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(Error::Closed);
        }
        match &self.spool {
            None => self.enqueue(PendingRecord { record }),
            Some(spool) => self.record_spooled(spool, &record),
        }
    }

    /// Appends `record` to the spool, which queues it unless the queue is
    /// full: then it waits on disk for the writer to read it back.
    fn record_spooled<R: Record>(&self, spool: &Spool, record: &R) -> Result<()> {
        let record_type = R::record_type();
        let mut buffer = Uuid::encode_buffer();
        let unique = record.unique_id()?;
        let id = match &unique {
            Some(unique) => unique.as_str(),
            None => new_id().hyphenated().encode_lower(&mut buffer),
        };
        let spooled = SpooledRecord::new(record_type, record.timestamp(), id, |out| {
            serde_json::to_writer(out, record).map_err(|source| Error::Serialize {
                what: format!("a {} record", record_type.rust_path()),
                source,
            })
        })?;
        let queue = self.spooled.as_deref().ok_or(Error::Closed)?;
        spool.append(spooled, |spooled| {
            let items = queue.lock();
            let room = items.len() < queue.capacity;
            if room {
                queue.push(items, spooled);
            }
            room
        })?;
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Hands the writer a record through its type's queue, as the overflow
    /// policy says when the queue is full.
    #[inline]
    fn enqueue<R: Record>(&self, pending: PendingRecord<R>) -> Result<()> {
        let key = type_key(R::record_type());
        let find = || {
            self.queues
                .get_or_create::<PendingRecord<R>>(key, self.capacity, &self.wake)
        };
        let pushed = queue::with_queue(self.number, key, find, |queue| {
            overflow::push(queue, pending, self.overflow, &self.closed, &self.counters)
        });
        match pushed {
            Some(Ok(())) => Ok(()),
            Some(Err(overflow::Refused::Closed)) => Err(Error::Closed),
            Some(Err(overflow::Refused::Full)) => Err(Error::QueueFull {
                backend: self.backend_name.clone(),
                capacity: self.capacity,
            }),
            None => Err(Error::Engine(
                "a record type's queue holds another type".into(),
            )),
        }
    }

    /// Asks the thread to write and refresh everything queued so far; the
    /// answer comes once it has.
    pub(crate) fn request_flush(&self) -> Result<oneshot::Receiver<()>> {
        let (answer, receiver) = oneshot::channel();
        self.control
            .send(Control::Flush(answer))
            .map_err(|_| Error::Closed)?;
        Ok(receiver)
    }

    /// The counters now.
    pub(crate) fn stats(&self) -> Stats {
        match &self.spool {
            Some(spool) => self.counters.snapshot(spool.spooled(), None),
            None => self.counters.snapshot(0, Some(self.queues.len() as u64)),
        }
    }

    /// Refuses new records and asks the thread to write what is queued and
    /// stop.
    pub(crate) fn begin_stop(&self) {
        if !self.closed.swap(true, Ordering::Relaxed) {
            let _ = self.control.send(Control::Stop);
        }
    }

    /// Whether the thread has stopped.
    pub(crate) fn is_stopped(&self) -> bool {
        self.thread
            .lock()
            .ok()
            .is_none_or(|thread| thread.as_ref().is_none_or(JoinHandle::is_finished))
    }

    /// Makes the thread give up on what it has not written: batches stop
    /// retrying, queued records stay unsent (or in the spool).
    pub(crate) fn abandon(&self) {
        let _ = self.abandon.send(true);
    }

    /// Waits for the stopped thread.
    pub(crate) fn join(&self) {
        let thread = self.thread.lock().ok().and_then(|mut thread| thread.take());
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            self.counters
                .set_error("the writer thread panicked".to_owned());
        }
    }

    /// Stops the thread within `grace`: what it has not written by then is
    /// abandoned (and a thread that does not stop even then is left to
    /// finish). Blocks the calling thread.
    pub(crate) fn stop_within(&self, grace: Duration) {
        self.begin_stop();
        let deadline = Instant::now() + grace;
        while !self.is_stopped() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        if !self.is_stopped() {
            self.abandon();
        }
        let deadline = Instant::now() + ABANDON_GRACE;
        while !self.is_stopped() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        if self.is_stopped() {
            self.join();
        } else {
            tracing::warn!(
                "esrecord: a writer did not stop after it was abandoned; it is left to finish"
            );
        }
    }
}

struct WriterLoop {
    backend_name: String,
    queues: Arc<Queues>,
    wake: Arc<Wake>,
    /// The queues this thread takes records from, as of `watched_generation`.
    watched: Vec<Arc<dyn Drain>>,
    watched_generation: u64,
    /// Documents per batch: the configured number or the backend's.
    batch_size: usize,
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
            let wait = if backlog {
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
                if self.queues_are_empty() {
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
        let mut taken = 0;
        while taken < max {
            let before = taken;
            for queue in &queues {
                taken += queue.drain(BURST, &counters.taken, &mut |pending| self.add(pending));
            }
            if taken == before {
                break;
            }
            self.send_batch_if_due(Instant::now());
        }
        taken
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
            let queued = queue.len();
            queue.drain(queued, &counters.taken, &mut |pending| self.add(pending));
        }
        // What was spooled before, in as many reads as it takes (bounded,
        // should records keep coming).
        let spooled = self.spool.as_ref().map_or(0, |s| s.spooled());
        let mut reads = spooled / self.batch_size as u64 + 2;
        while reads > 0
            && self.spool.as_ref().is_some_and(|s| s.has_backlog())
            && !self.is_abandoned()
        {
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
        for record in spool.read_backlog(self.batch_size) {
            self.add(Box::new(record));
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
                    if self.block_on(tokio::time::sleep(wait)).is_none() {
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

/// Where each document of a bulk body came from.
#[derive(Debug, Clone, Copy)]
struct Origin {
    record_type: &'static RecordType,
    spool_segment: Option<u64>,
}

/// What a batch needs to be encoded and written on the runtime.
struct Batch {
    backend_name: String,
    backend: Arc<dyn Backend>,
    named_types: Arc<NamedTypes>,
    counters: Arc<Counters>,
    config: WriterConfig,
    hooks: Hooks,
    spool: Option<Arc<Spool>>,
    abandoned: watch::Receiver<bool>,
    slots: Arc<Slots>,
}

impl Batch {
    /// Encodes the records into bulk requests of at most `batch_bytes`
    /// (one more record may cross it) and writes them one after another.
    async fn write(self, records: Vec<Box<dyn Pending>>, permit: OwnedSemaphorePermit) {
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

/// Creates the template of `named` if the backend has none (with
/// `autosetup`), or says to run setup.
pub(crate) async fn ensure_template(
    backend: &dyn Backend,
    backend_name: &str,
    named: &RecordType,
    autosetup: bool,
    hooks: &Hooks,
) -> Result<()> {
    let name = named.template_name();
    if backend.get_template(&name).await?.is_some() {
        return Ok(());
    }
    if !autosetup {
        return Err(Error::NotSetUp { template: name });
    }
    named.validate()?;
    put_template(backend, backend_name, named, hooks).await
}

/// Puts the template of `named`, between the template hooks.
pub(crate) async fn put_template(
    backend: &dyn Backend,
    backend_name: &str,
    named: &RecordType,
    hooks: &Hooks,
) -> Result<()> {
    let name = named.template_name();
    let body = named.template_body();
    let event = TemplateEvent {
        record_type: named,
        backend: backend_name,
        name: &name,
        body: &body,
    };
    hooks.pre_template_create(&event);
    backend.put_template(&name, &body).await?;
    hooks.post_template_create(&event);
    Ok(())
}
