//! The queues between `record` and the writer thread: one per record type
//! (and one for spooled records), each holding the records themselves, so
//! that recording allocates nothing (the writer boxes each record when it
//! takes it into a batch).
//!
//! A queue is a `VecDeque` behind a mutex that recording threads hold for
//! a push and the writer for a swap: the writer takes the whole deque and
//! leaves its spare (emptied, with its capacity) in its place, so in steady
//! state nothing is allocated on either side. While the writer is busy it
//! polls the queues; before it waits, it says so (`Wake::idle`), and the
//! first recording thread that sees that wakes it through its control
//! channel.
//!
//! A recording thread finds the queue of a type through a small
//! thread-local cache; on a miss it takes the writer's lock once, creating
//! the queue if the writer has none for that type yet. Each queue holds at
//! most `queue_capacity` records; the overflow policy decides what happens
//! beyond (see `overflow.rs`).

use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crossbeam_channel::Sender;
use rustc_hash::FxHashMap;

use super::pending::Pending;
use super::thread::Control;

/// How a recording thread wakes a writer that waits.
#[derive(Debug)]
pub(crate) struct Wake {
    /// The writer is about to wait, or waits, for records.
    idle: AtomicBool,
    control: Sender<Control>,
}

impl Wake {
    pub(crate) fn new(control: Sender<Control>) -> Self {
        Wake {
            idle: AtomicBool::new(false),
            control,
        }
    }

    /// After a push: wakes the writer if it waits.
    #[inline]
    fn pushed(&self) {
        if self.idle.load(Ordering::SeqCst) && self.idle.swap(false, Ordering::SeqCst) {
            let _ = self.control.send(Control::Wake);
        }
    }

    /// The writer says it is about to wait (it then looks at the queues
    /// once more before it does).
    pub(crate) fn going_idle(&self) {
        self.idle.store(true, Ordering::SeqCst);
    }

    /// The writer says it is busy again.
    pub(crate) fn busy(&self) {
        self.idle.store(false, Ordering::SeqCst);
    }
}

/// The records of one type waiting for the writer, in order.
#[derive(Debug)]
pub(crate) struct Queue<T> {
    items: Mutex<VecDeque<T>>,
    /// The writer's deque, swapped with `items` when it takes records.
    spare: Mutex<VecDeque<T>>,
    pub(crate) capacity: usize,
    wake: Arc<Wake>,
}

impl<T> Queue<T> {
    pub(crate) fn new(capacity: usize, wake: Arc<Wake>) -> Self {
        Queue {
            items: Mutex::new(VecDeque::new()),
            spare: Mutex::new(VecDeque::new()),
            capacity,
            wake,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, VecDeque<T>> {
        self.items
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds `item` to a queue locked as `items`, and wakes the writer if
    /// it waits.
    #[inline]
    pub(crate) fn push(&self, mut items: MutexGuard<'_, VecDeque<T>>, item: T) {
        items.push_back(item);
        drop(items);
        self.wake.pushed();
    }
}

/// What the writer thread sees of a queue, whatever its record type.
pub(crate) trait Drain: Send + Sync {
    /// Records waiting.
    fn len(&self) -> usize;
    /// Takes up to `max` records, oldest first, counts them in `taken`
    /// (all of them first: `take` may wait), and hands each to `take`;
    /// returns how many.
    fn drain(&self, max: usize, taken: &AtomicU64, take: &mut dyn FnMut(Box<dyn Pending>))
    -> usize;
}

impl<T: Pending + 'static> Drain for Queue<T> {
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn drain(
        &self,
        max: usize,
        taken: &AtomicU64,
        take: &mut dyn FnMut(Box<dyn Pending>),
    ) -> usize {
        let mut spare = self
            .spare
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        {
            let mut items = self.lock();
            if items.len() <= max {
                std::mem::swap(&mut *items, &mut *spare);
            } else {
                spare.extend(items.drain(..max));
            }
        }
        let count = spare.len();
        taken.fetch_add(count as u64, Ordering::Relaxed);
        for pending in spare.drain(..) {
            take(Box::new(pending));
        }
        // Give back what a burst made the deque grow to.
        if spare.capacity() > 16 * 1024 && count < spare.capacity() / 8 {
            spare.shrink_to(count.max(1024));
        }
        count
    }
}

/// Every queue of one writer.
#[derive(Default)]
pub(crate) struct Queues {
    /// Changes whenever a queue is added, for the writer to look again.
    generation: AtomicU64,
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    /// By key (the record type's address): a `Queue<T>`.
    by_key: FxHashMap<usize, Arc<dyn Any + Send + Sync>>,
    all: Vec<Arc<dyn Drain>>,
}

impl std::fmt::Debug for Queues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queues")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Queues {
    /// The queue under `key`, created with `capacity` if there is none.
    pub(crate) fn get_or_create<T: Pending + 'static>(
        &self,
        key: usize,
        capacity: usize,
        wake: &Arc<Wake>,
    ) -> Arc<dyn Any + Send + Sync> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(queue) = state.by_key.get(&key) {
            return Arc::clone(queue);
        }
        let queue = Arc::new(Queue::<T>::new(capacity, Arc::clone(wake)));
        state.all.push(Arc::clone(&queue) as Arc<dyn Drain>);
        state
            .by_key
            .insert(key, Arc::clone(&queue) as Arc<dyn Any + Send + Sync>);
        self.generation.fetch_add(1, Ordering::Release);
        queue
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Every queue, in the order they were made.
    pub(crate) fn all(&self) -> Vec<Arc<dyn Drain>> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .all
            .clone()
    }

    /// Records waiting in every queue.
    pub(crate) fn len(&self) -> usize {
        self.all().iter().map(|q| q.len()).sum()
    }
}

/// A queue a thread used lately: whose writer, which type, the queue.
struct Cached {
    writer: u64,
    key: usize,
    queue: Arc<dyn Any + Send + Sync>,
}

/// How many queues a thread remembers.
const CACHED: usize = 16;

thread_local! {
    static CACHE: RefCell<Vec<Cached>> = const { RefCell::new(Vec::new()) };
}

/// Runs `with` on the queue of `T` under `key` of the writer `writer`,
/// found in this thread's cache or else (through `find`) in the writer's.
#[inline]
pub(crate) fn with_queue<T: Pending + 'static, O>(
    writer: u64,
    key: usize,
    find: impl FnOnce() -> Arc<dyn Any + Send + Sync>,
    with: impl FnOnce(&Queue<T>) -> O,
) -> Option<O> {
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let position = cache
            .iter()
            .position(|c| c.writer == writer && c.key == key);
        let position = match position {
            Some(position) => position,
            None => {
                if cache.len() == CACHED {
                    cache.remove(0);
                }
                cache.push(Cached {
                    writer,
                    key,
                    queue: find(),
                });
                cache.len() - 1
            }
        };
        let queue = cache.get(position)?.queue.downcast_ref::<Queue<T>>()?;
        Some(with(queue))
    })
}

/// A number for each writer, so that cached queues are never mistaken for
/// another store's.
pub(crate) fn next_writer_number() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
