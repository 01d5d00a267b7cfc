//! The background writer of one backend.
//!
//! `Store::record` validates the record and hands it to the writer's
//! handle (`handle.rs`), which queues it in its type's bounded queue
//! (`queue.rs`; through the spool, when there is one, `spool/`) without
//! blocking, unless the overflow policy (`overflow.rs`) is `block` and the
//! queue is full. The writer thread (`thread.rs`) takes queued records into
//! batches (by count and interval) and hands each batch to the writer's
//! runtime, which gives each record its id (`pending.rs`), encodes the
//! batch into bulk requests (split by bytes) and sends them (`send.rs`),
//! several batches at once, taking records from the queues no faster than
//! the backend's `max_docs_per_second` (`rate_limit.rs`). What fails for a reason that may pass is
//! resent, only that, with capped, jittered backoff (`retry`). The thread
//! makes sure of a type's template before its first record
//! (`templates.rs`) and asks the backend for a refresh every refresh
//! interval after it wrote (which the embedded engine puts off while
//! nobody searches). Counters are in `stats.rs`.

mod handle;
mod overflow;
mod pending;
mod queue;
mod rate_limit;
mod send;
pub(crate) mod spool;
mod stats;
mod templates;
mod thread;

use rustc_hash::FxHashMap;

use crate::record_type::RecordType;

pub(crate) use self::handle::{ABANDON_GRACE, Writer};
pub(crate) use self::pending::{encode, new_id};
pub(crate) use self::stats::Counters;
pub use self::stats::{SendLatency, Stats};
pub(crate) use self::templates::{ensure_template, put_template};
pub(crate) use self::thread::Target;

/// Record types (by address) as the backend names them, for types whose
/// template is known to exist. Shared with the batches being written.
type NamedTypes = FxHashMap<usize, RecordType>;

fn type_key(record_type: &'static RecordType) -> usize {
    std::ptr::from_ref(record_type) as usize
}
