//! `Store`: the handle an application keeps to record and search.
//!
//! Opening a store (its configuration and backends, `StoreBuilder`) is in
//! `builder.rs`; `setup` and `check` of the types' templates, and their
//! reports, in `setup.rs`; `annotate`, in `annotate.rs`.

mod annotate;
mod builder;
mod retention;
mod setup;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::bulk::BulkBuilder;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::hooks::{Hooks, SaveEvent};
use crate::record::Record;
use crate::record_type::RecordType;
use crate::writer::{self, Stats, Writer};

pub use self::builder::StoreBuilder;
pub use self::retention::{Partition, RetentionReport, StreamPlace};
pub use self::setup::{CheckReport, CheckStatus, SetupOutcome, SetupReport};

/// The handle an application keeps: cheap to clone, shared by threads.
///
/// ```no_run
/// # use esrecord::{Record, Store};
/// # #[derive(Record, serde::Serialize, serde::Deserialize)]
/// # #[record(app_label = "shop")]
/// # struct PageView { timestamp: chrono::DateTime<chrono::Utc>, path: String }
/// # #[tokio::main] async fn main() -> esrecord::Result<()> {
/// let store = Store::open()?; // esrecord.toml, else the environment, else ./esrecord-data
/// store.record(PageView { timestamp: chrono::Utc::now(), path: "/".into() })?;
/// store.flush().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    backends: BTreeMap<String, NamedBackend>,
    hooks: Hooks,
    /// The thread deleting expired partitions, when retention is enforced.
    retention: std::sync::Mutex<Option<retention::Enforcer>>,
}

struct NamedBackend {
    backend: Arc<dyn Backend>,
    writer: Writer,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The configuration the store was opened with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The backend called `name`.
    pub fn backend(&self, name: &str) -> Result<&Arc<dyn Backend>> {
        self.named(name).map(|named| &named.backend)
    }

    fn named(&self, name: &str) -> Result<&NamedBackend> {
        self.inner.backends.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.inner.backends.keys().map(String::as_str).collect();
            Error::Config(format!(
                "no backend named {name:?} (configured: {}); add [backends.{name}] to the configuration or change the type's `backend` attribute",
                known.join(", ")
            ))
        })
    }

    /// `record_type` as this store names it: its backend's prefix, the
    /// store's default timedepth and pattern limit.
    pub fn named_type(&self, record_type: &RecordType) -> Result<RecordType> {
        // An unconfigured backend is an error that says how to add it.
        self.named(record_type.backend())?;
        Ok(self.inner.config.named_type(record_type))
    }

    /// The backend `R` is stored in, and `R` as that backend names it.
    pub fn backend_for<R: Record>(&self) -> Result<(&Arc<dyn Backend>, RecordType)> {
        let record_type = R::record_type();
        Ok((
            self.backend(record_type.backend())?,
            self.named_type(record_type)?,
        ))
    }

    /// Hands `record` to the background writer and returns at once: it
    /// does no I/O on this thread (except the spool's append, with a
    /// `spool_dir`). The record is written with the next batch and
    /// searchable after the next refresh; [`flush`](Self::flush) waits for
    /// both. A record that cannot be stored (a NaN, a timestamp out of
    /// range) is refused here with an error, and nothing else is affected.
    /// While the queue is full, the `overflow` policy applies (the default
    /// waits for room; with a spool, records wait on disk instead).
    #[inline]
    pub fn record<R: Record>(&self, record: R) -> Result<()> {
        let named = self.named(R::record_type().backend())?;
        record.validate()?;
        named.writer.record(record)
    }

    /// [`record`](Self::record) under `id`, unless the type's
    /// `unique_together` makes the id (the serve endpoint's `_bulk`, whose
    /// clients name their documents).
    pub(crate) fn record_as<R: Record>(&self, record: R, id: String) -> Result<()> {
        let named = self.named(R::record_type().backend())?;
        record.validate()?;
        named.writer.record_as(record, Some(id))
    }

    /// Writes one record now and returns its id. The record is durable and
    /// searchable after the next refresh (or [`refresh`](Self::refresh)).
    pub async fn save<R: Record>(&self, record: &R) -> Result<String> {
        record.validate()?;
        let (backend, named) = self.backend_for::<R>()?;
        let backend_name = R::record_type().backend();
        let hooks = &self.inner.hooks;
        writer::ensure_template(
            backend.as_ref(),
            backend_name,
            &named,
            self.inner.config.autosetup,
            hooks,
        )
        .await?;
        let mut batch = BulkBuilder::default();
        writer::encode(&named, record, &mut batch)?;
        let body = batch.finish();
        let event = |item: crate::bulk::BulkEntry<'_>| {
            (
                item.id.to_owned(),
                item.index.to_owned(),
                item.source.to_vec(),
            )
        };
        let (id, index, source) = body.get(0).map(event).unwrap_or_default();
        let event = SaveEvent {
            record_type: R::record_type(),
            backend: backend_name,
            index: &index,
            id: &id,
            source: &source,
        };
        hooks.pre_save(&event);
        let results = backend.bulk(body).await?;
        match results.first() {
            Some(result) if !result.is_failure() => {
                hooks.post_save(&event);
                Ok(id)
            }
            Some(result) => Err(Error::Rejected {
                id,
                error_type: result.error_type.clone().unwrap_or_default(),
                reason: result.reason.clone().unwrap_or_default(),
            }),
            None => Err(Error::Engine(
                "the backend answered a bulk request with no result".into(),
            )),
        }
    }

    /// Waits until every record recorded so far is written and searchable,
    /// for at most the configured `flush_timeout` (30 s by default), and
    /// reports the counts; see [`flush_within`](Self::flush_within).
    pub async fn flush(&self) -> Result<Stats> {
        self.flush_within(self.inner.config.writer.flush_timeout)
            .await
    }

    /// Waits until every record recorded so far is written (or given up
    /// on) and searchable, or until `timeout` has passed, and reports the
    /// counts. When the deadline passes first (the backend is slow or
    /// down), the records still waiting are counted in
    /// [`Stats::unsent`]; the writer goes on with them.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> esrecord::Result<()> {
    /// let store = esrecord::Store::open()?;
    /// let stats = store.flush_within(std::time::Duration::from_secs(5)).await?;
    /// if !stats.is_complete() {
    ///     eprintln!("{} records not written yet: {:?}", stats.unsent, stats.last_error);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn flush_within(&self, timeout: Duration) -> Result<Stats> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut in_time = true;
        for named in self.inner.backends.values() {
            let answer = named.writer.request_flush()?;
            match tokio::time::timeout_at(deadline, answer).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(Error::Closed),
                Err(_) => in_time = false,
            }
        }
        if in_time {
            for named in self.inner.backends.values() {
                // The writer refreshed what it wrote; this covers `save`d records.
                if let Ok(refreshed) =
                    tokio::time::timeout_at(deadline, named.backend.refresh()).await
                {
                    refreshed?;
                }
            }
        }
        let stats = self.stats();
        if !stats.is_complete() {
            tracing::warn!(unsent = stats.unsent, last_error = ?stats.last_error, "esrecord: flush ended at its deadline with records not written");
        }
        Ok(stats)
    }

    /// [`save`](Self::save), for programs without an async runtime (see
    /// [`flush_blocking`](Self::flush_blocking)).
    pub fn save_blocking<R: Record>(&self, record: &R) -> Result<String> {
        crate::blocking::run("save", self.save(record))
    }

    /// [`flush`](Self::flush), for programs without an async runtime: runs
    /// on the calling thread. Inside an async runtime it is an error that
    /// says to `.await` `flush()` instead.
    ///
    /// ```no_run
    /// let store = esrecord::Store::open()?;
    /// let stats = store.flush_blocking()?;
    /// assert!(stats.is_complete());
    /// # Ok::<(), esrecord::Error>(())
    /// ```
    pub fn flush_blocking(&self) -> Result<Stats> {
        crate::blocking::run("flush", self.flush())
    }

    /// [`close`](Self::close), for programs without an async runtime (see
    /// [`flush_blocking`](Self::flush_blocking)).
    pub fn close_blocking(&self) -> Result<Stats> {
        crate::blocking::run("close", self.close())
    }

    /// Makes everything written so far searchable.
    pub async fn refresh(&self) -> Result<()> {
        for named in self.inner.backends.values() {
            named.backend.refresh().await?;
        }
        Ok(())
    }

    /// Writes everything queued and stops the writers, waiting at most the
    /// configured `flush_timeout`; see [`close_within`](Self::close_within).
    pub async fn close(&self) -> Result<Stats> {
        self.close_within(self.inner.config.writer.flush_timeout)
            .await
    }

    /// Writes everything queued, stops the writers and reports what was
    /// lost. At `timeout` the writers give up: records not written by then
    /// stay counted in [`Stats::unsent`] (and, with a spool, are kept in
    /// it for the next store: [`Stats::spooled`]). Recording afterwards is
    /// an error.
    pub async fn close_within(&self, timeout: Duration) -> Result<Stats> {
        let deadline = Instant::now() + timeout;
        let enforcer = self.inner.retention.lock().ok().and_then(|mut e| e.take());
        if let Some(enforcer) = enforcer {
            enforcer.stop();
        }
        let writers: Vec<&Writer> = self.inner.backends.values().map(|n| &n.writer).collect();
        for writer in &writers {
            writer.begin_stop();
        }
        let mut abandoned = false;
        while !writers.iter().all(|w| w.is_stopped()) {
            let now = Instant::now();
            if !abandoned && now >= deadline {
                writers.iter().for_each(|w| w.abandon());
                abandoned = true;
            }
            if now >= deadline + writer::ABANDON_GRACE {
                tracing::warn!(
                    "esrecord: a writer did not stop after it was abandoned; it is left to finish"
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        writers
            .iter()
            .filter(|w| w.is_stopped())
            .for_each(|w| w.join());
        let stats = self.stats();
        if !stats.is_complete() {
            tracing::warn!(unsent = stats.unsent, spooled = stats.spooled, last_error = ?stats.last_error, "esrecord: store closed with records not written");
        }
        Ok(stats)
    }

    /// The writer counters of every backend, summed.
    pub fn stats(&self) -> Stats {
        Stats::sum(self.inner.backends.values().map(|n| n.writer.stats()))
    }
}

impl Drop for Inner {
    /// A store dropped without [`Store::close`] writes what is queued for
    /// up to `flush_timeout`, then gives up, and logs what was lost.
    fn drop(&mut self) {
        let grace = self.config.writer.flush_timeout;
        for named in self.backends.values() {
            named.writer.stop_within(grace);
        }
        let stats = Stats::sum(self.backends.values().map(|n| n.writer.stats()));
        if stats.unsent + stats.failed + stats.dropped > 0 {
            tracing::warn!(
                unsent = stats.unsent,
                failed = stats.failed,
                dropped = stats.dropped,
                spooled = stats.spooled,
                last_error = ?stats.last_error,
                "esrecord: store dropped without close, with records not written (the spooled ones are sent by the next store on the spool)"
            );
        }
    }
}
