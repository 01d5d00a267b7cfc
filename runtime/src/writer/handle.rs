//! The handle of a backend's writer: what `Store` calls to queue records
//! (through the spool, when there is one), to flush, to read the counters
//! and to stop the writer thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use super::pending::{PendingRecord, new_id};
use super::queue::{self, Queue, Queues, Wake};
use super::spool::{Spool, SpooledRecord};
use super::stats::{Counters, Stats};
use super::thread::{self, Control, Shared, Target};
use super::{overflow, type_key};
use crate::config::Overflow;
use crate::error::{Error, Result};
use crate::record::Record;

/// How long a stopping writer may take once abandoned (closing the backend:
/// the embedded engine finishes its merges) before it is left to finish.
pub(crate) const ABANDON_GRACE: Duration = Duration::from_secs(10);

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
        let thread = thread::spawn(
            backend_name,
            target,
            Shared {
                queues: Arc::clone(&queues),
                wake: Arc::clone(&wake),
                control: control_receiver,
                counters: Arc::clone(&counters),
                spool: spool.clone(),
                abandoned,
            },
        )?;
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
        self.record_as(record, None)
    }

    /// Queues `record` under `id` when given (else its `unique_together`
    /// id, else a new one), spooling it first when there is a spool.
    #[inline]
    pub(crate) fn record_as<R: Record>(&self, record: R, id: Option<String>) -> Result<()> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(Error::Closed);
        }
        match &self.spool {
            None => self.enqueue(PendingRecord { record, id }),
            Some(spool) => self.record_spooled(spool, &record, id.as_deref()),
        }
    }

    /// Appends `record` to the spool, which queues it unless the queue is
    /// full: then it waits on disk for the writer to read it back.
    fn record_spooled<R: Record>(
        &self,
        spool: &Spool,
        record: &R,
        given: Option<&str>,
    ) -> Result<()> {
        let record_type = R::record_type();
        let mut buffer = Uuid::encode_buffer();
        let unique = record.unique_id()?;
        let id = match (&unique, given) {
            (Some(unique), _) => unique.as_str(),
            (None, Some(given)) => given,
            (None, None) => new_id().hyphenated().encode_lower(&mut buffer),
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
