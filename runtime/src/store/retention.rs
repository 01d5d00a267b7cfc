//! Retention: the partitions of a type with their expiry (the end of the
//! partition plus the type's `retention`), and the deletion of the expired
//! ones, by hand ([`Store::delete_expired`], the binary's `indexes
//! --delete-expired`) or on a schedule for embedded backends (`[store]
//! enforce_retention = true`, off by default: deleting is the one thing a
//! store cannot undo, so it is asked for, not assumed).
//!
//! Only indexes whose names parse as one of the type's partitions are ever
//! deleted: a restored copy (`shop_pageview_2024.03.05-restored`) under the
//! same pattern is listed, and kept.

use std::sync::Weak;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Inner, Store};
use crate::backend::IndexInfo;
use crate::config::BackendKind;
use crate::error::{Error, Result};
use crate::record_type::RecordType;
use crate::registry;

/// One index under a type's pattern.
#[derive(Debug, Clone)]
pub struct Partition {
    /// The type whose pattern it is under.
    pub record_type: &'static RecordType,
    /// Its name, documents and size.
    pub info: IndexInfo,
    /// Its start, when the name parses as one of the type's partitions.
    pub start: Option<DateTime<Utc>>,
    /// When it expires: when it is a partition and the type has a
    /// retention.
    pub expires: Option<DateTime<Utc>>,
    /// For a backing index of the type's data stream: where it is in the
    /// stream (its ILM policy, not esrecord, deletes it).
    pub stream: Option<StreamPlace>,
}

/// Where a backing index is in its data stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPlace {
    /// The rollover generation the index was made at (`000002` in
    /// `.ds-shop_checkout-2099.03.08-000002`: the first rollover's), or the
    /// stream's generation when the name does not say.
    pub generation: u64,
    /// Whether it is the write index (the newest).
    pub write_index: bool,
    /// Its ILM phase, where the cluster reports one.
    pub phase: Option<String>,
}

/// The generation a backing index's name ends with (`-000002`).
fn backing_generation(name: &str) -> Option<u64> {
    let (_, digits) = name.rsplit_once('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl Partition {
    /// Whether it is a partition of its type whose retention has passed at
    /// `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.start.is_some() && self.expires.is_some_and(|t| t <= now)
    }
}

/// What [`Store::delete_expired`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// The indexes deleted.
    pub deleted: Vec<String>,
    /// The indexes that could not be deleted, with the reason.
    pub failed: Vec<(String, String)>,
}

impl Store {
    /// The indexes under `record_type`'s pattern in its backend, by name,
    /// with their expiry.
    ///
    /// ```no_run
    /// # async fn run(store: esrecord::Store) -> esrecord::Result<()> {
    /// let pageview = esrecord::registry::find("shop.pageview")?;
    /// for p in store.partitions(pageview).await? {
    ///     println!("{} {} docs, expires {:?}", p.info.name, p.info.docs, p.expires);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn partitions(&self, record_type: &'static RecordType) -> Result<Vec<Partition>> {
        let named = self.named_type(record_type)?;
        let backend = self.backend(record_type.backend())?;
        let keep = record_type
            .retention()
            .and_then(|r| chrono::TimeDelta::from_std(r.duration()).ok());
        if let Some(stream) = named.data_stream() {
            let Some(info) = backend.data_stream(stream.name()).await? else {
                return Ok(Vec::new());
            };
            let sizes = backend.indices(stream.name()).await?;
            let last = info.indices.len().saturating_sub(1);
            return Ok(info
                .indices
                .into_iter()
                .enumerate()
                .map(|(i, backing)| Partition {
                    record_type,
                    info: sizes
                        .iter()
                        .find(|s| s.name == backing.name)
                        .cloned()
                        .unwrap_or(IndexInfo {
                            name: backing.name.clone(),
                            docs: 0,
                            bytes: 0,
                        }),
                    start: None,
                    expires: None,
                    stream: Some(StreamPlace {
                        generation: backing_generation(&backing.name).unwrap_or(info.generation),
                        write_index: i == last,
                        phase: backing.phase,
                    }),
                })
                .collect());
        }
        let mut found = Vec::new();
        for info in backend.indices(&named.pattern()).await? {
            let start = named.partition_start(&info.name);
            let end = start.and_then(|s| named.timedepth().next(s));
            let expires = end
                .zip(keep)
                .and_then(|(end, keep)| end.checked_add_signed(keep));
            found.push(Partition {
                record_type,
                info,
                start,
                expires,
                stream: None,
            });
        }
        found.sort_by(|a, b| a.info.name.cmp(&b.info.name));
        Ok(found)
    }

    /// Deletes the partitions of `record_types` that expired by `now`; goes
    /// on past an index it cannot delete and reports it.
    ///
    /// ```no_run
    /// # async fn run(store: esrecord::Store) -> esrecord::Result<()> {
    /// let report = store.delete_expired(&esrecord::registry::types(), chrono::Utc::now()).await?;
    /// println!("deleted {:?}", report.deleted);
    /// # Ok(()) }
    /// ```
    pub async fn delete_expired(
        &self,
        record_types: &[&'static RecordType],
        now: DateTime<Utc>,
    ) -> Result<RetentionReport> {
        let mut report = RetentionReport::default();
        for record_type in record_types {
            if record_type.retention().is_none() {
                continue;
            }
            let backend = self.backend(record_type.backend())?;
            for partition in self.partitions(record_type).await? {
                if !partition.is_expired(now) {
                    continue;
                }
                match backend.delete_index(&partition.info.name).await {
                    Ok(()) => report.deleted.push(partition.info.name),
                    Err(error) => report.failed.push((partition.info.name, error.to_string())),
                }
            }
        }
        Ok(report)
    }
}

/// The thread that deletes expired partitions of the store's embedded
/// backends every interval, until the store closes.
#[derive(Debug)]
pub(super) struct Enforcer {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl Enforcer {
    /// Starts enforcing for the store behind `inner`, at once and then
    /// every `every`. The thread holds the store only during a round, so
    /// that it never keeps a dropped store open.
    pub(super) fn start(inner: Weak<Inner>, every: Duration) -> Result<Enforcer> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("esrecord-retention".to_owned())
            .spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    tracing::error!(
                        "esrecord: retention is not enforced: cannot start its runtime"
                    );
                    return;
                };
                loop {
                    let Some(inner) = inner.upgrade() else {
                        return;
                    };
                    runtime.block_on(enforce_once(&Store { inner }));
                    match stopped.recv_timeout(every) {
                        Err(RecvTimeoutError::Timeout) => continue,
                        _ => return,
                    }
                }
            })
            .map_err(|e| Error::Engine(format!("cannot start the retention thread: {e}")))?;
        Ok(Enforcer { stop, thread })
    }

    /// Stops the thread, after the deletion it may be running.
    pub(super) fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// One round: the registered types with a retention stored in an
/// embedded backend of this store.
async fn enforce_once(store: &Store) {
    let types: Vec<&'static RecordType> = registry::types()
        .into_iter()
        .filter(|t| t.retention().is_some())
        .filter(|t| {
            store
                .inner
                .config
                .backends
                .get(t.backend())
                .is_some_and(|b| {
                    matches!(
                        b.kind,
                        BackendKind::Embedded {
                            read_only: false,
                            ..
                        }
                    )
                })
        })
        .collect();
    match store.delete_expired(&types, Utc::now()).await {
        Ok(report) => {
            if !report.deleted.is_empty() {
                tracing::info!(deleted = ?report.deleted, "esrecord: deleted expired partitions");
            }
            for (index, reason) in report.failed {
                tracing::warn!("esrecord: cannot delete the expired partition {index}: {reason}");
            }
        }
        Err(error) => tracing::warn!("esrecord: retention not enforced this round: {error}"),
    }
}
