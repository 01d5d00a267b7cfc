//! One partition: a tantivy index created from the mapping of the template
//! that matched its name, with its writer (in the writing process) and
//! reader. A partition that is no longer written is merged into one
//! segment.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use rustc_hash::FxHashSet;
use serde_json::{Value, json};
use tantivy::indexer::UserOperation;
use tantivy::schema::{Schema, Term};
use tantivy::{FutureResult, Index, IndexReader, IndexWriter, ReloadPolicy, SegmentMeta};

use super::document::{DocumentParser, ItemError};
use super::schema::PartitionSchema;
use crate::backend::ItemResult;
use crate::bulk::{BulkAction, BulkBody};
use crate::error::{Error, Result};

/// The file beside a partition's segments that keeps the mapping it was
/// created with (templates may change later; an index keeps its mapping).
const MAPPING_FILE: &str = "esrecord-mapping.json";

/// Checks that the index on disk was laid out as this version lays out an
/// index of its mapping. An index written by an earlier version (dates as
/// tantivy `DateTime`, before they were epoch milliseconds) would be misread,
/// so it is refused, naming the field and what to do.
fn check_layout(name: &str, dir: &Path, on_disk: &Schema, expected: &Schema) -> Result<()> {
    if on_disk == expected {
        return Ok(());
    }
    let differing = expected
        .fields()
        .map(|(_, entry)| entry)
        .find(|entry| {
            on_disk
                .get_field(entry.name())
                .map_or(true, |field| on_disk.get_field_entry(field) != *entry)
        })
        .map_or_else(
            || "the set of fields".to_owned(),
            |entry| format!("the field `{}`", entry.name()),
        );
    Err(Error::IncompatibleIndex {
        index: name.to_owned(),
        dir: dir.to_owned(),
        reason: format!("{differing} is stored as another version of esrecord stored it"),
    })
}

/// Memory for one partition's writer before it flushes a segment. Several
/// partitions are written at once (a backfill over 30 days), so each gets
/// tantivy's minimum budget.
const WRITER_MEMORY: usize = 15_000_000;

pub(crate) struct Partition {
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
    pub(crate) index: Index,
    pub(crate) schema: PartitionSchema,
    pub(crate) reader: IndexReader,
    writer: Mutex<WriterState>,
}

impl std::fmt::Debug for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Partition")
            .field("name", &self.name)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// The writing side: open while the partition is being written.
#[derive(Default)]
struct WriterState {
    writer: Option<IndexWriter>,
    /// Ids added since the last commit, which the reader cannot see yet
    /// (hashed with FxHash: the set is probed once per document written).
    pending_ids: FxHashSet<String>,
    /// Whether anything was written since the last commit.
    dirty: bool,
    /// Whether anything was written since the refresh before the last:
    /// a writer idle for a whole refresh interval merges the partition's
    /// segments into one, then closes.
    recently_written: bool,
    /// That merge, while it runs.
    compaction: Option<Pin<Box<FutureResult<Option<SegmentMeta>>>>>,
    /// Whether the partition was deleted: it takes no more writes.
    retired: bool,
}

impl Partition {
    /// Creates the partition `name` in `dir` from a template's `mappings`.
    pub(crate) fn create(name: &str, dir: &Path, mappings: &Value) -> Result<Self> {
        let schema = PartitionSchema::from_mappings(mappings)?;
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io("create the index directory", dir, e))?;
        let mapping_path = dir.join(MAPPING_FILE);
        let mapping = json!({ "mappings": mappings });
        std::fs::write(&mapping_path, mapping.to_string())
            .map_err(|e| Error::io("write the index mapping", &mapping_path, e))?;
        let index = Index::create_in_dir(dir, schema.schema.clone())?;
        Self::with_index(name, dir, index, schema)
    }

    /// Opens an existing partition; `None` when `dir` holds no complete
    /// index (a creation interrupted by a crash).
    pub(crate) fn open(name: &str, dir: &Path) -> Result<Option<Self>> {
        let mapping_path = dir.join(MAPPING_FILE);
        let Ok(text) = std::fs::read_to_string(&mapping_path) else {
            return Ok(None);
        };
        if !dir.join("meta.json").exists() {
            return Ok(None);
        }
        let stored: Value = serde_json::from_str(&text).map_err(|e| {
            Error::Engine(format!("the mapping file {} is damaged ({e}); delete the index directory to drop the partition", mapping_path.display()))
        })?;
        let schema = PartitionSchema::from_mappings(&stored["mappings"])?;
        let index = Index::open_in_dir(dir)?;
        check_layout(name, dir, &index.schema(), &schema.schema)?;
        Self::with_index(name, dir, index, schema).map(Some)
    }

    fn with_index(name: &str, dir: &Path, index: Index, schema: PartitionSchema) -> Result<Self> {
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Partition {
            name: name.to_owned(),
            dir: dir.to_owned(),
            index,
            schema,
            reader,
            writer: Mutex::new(WriterState::default()),
        })
    }

    /// Adds the items of `body` at `positions` (all for this partition),
    /// returning one result each; `None` when the partition was deleted
    /// ([`retire`](Self::retire)) since the caller looked it up, so that
    /// the caller writes to the index created anew. The documents go to
    /// tantivy as one group, which its indexing thread takes in one go.
    pub(crate) fn write(
        &self,
        body: &BulkBody,
        positions: &[usize],
    ) -> Result<Option<Vec<ItemResult>>> {
        let mut state = self.lock_writer()?;
        if state.retired {
            return Ok(None);
        }
        let searcher = self.reader.searcher();
        let mut operations = Vec::with_capacity(positions.len());
        let mut results = Vec::with_capacity(positions.len());
        let mut parser = DocumentParser::default();
        state.pending_ids.reserve(positions.len());
        let mut id_term = Term::from_field_text(self.schema.id, "");
        for item in positions.iter().filter_map(|&position| body.get(position)) {
            id_term.set_bytes(item.id.as_bytes());
            let exists = state.pending_ids.contains(item.id) || searcher.doc_freq(&id_term)? > 0;
            let doc = match parser.parse(&self.schema, item.id, item.source) {
                Ok(doc) => doc,
                Err(ItemError { error_type, reason }) => {
                    results.push(ItemResult::failed(400, error_type, reason));
                    continue;
                }
            };
            let status = match (item.action, exists) {
                (BulkAction::Create | BulkAction::Append, true) => {
                    results.push(ItemResult::failed(
                        409,
                        "version_conflict_engine_exception",
                        format!("[{}]: version conflict, document already exists", item.id),
                    ));
                    continue;
                }
                (BulkAction::Create | BulkAction::Append | BulkAction::Index, false) => 201,
                (BulkAction::Index, true) => 200,
            };
            if exists {
                operations.push(UserOperation::Delete(id_term.clone()));
            }
            operations.push(UserOperation::Add(doc));
            state.pending_ids.insert(item.id.to_owned());
            results.push(ItemResult::ok(status));
        }
        if !operations.is_empty() {
            let writer = match &mut state.writer {
                Some(writer) => writer,
                empty => empty.insert(self.index.writer_with_num_threads(1, WRITER_MEMORY)?),
            };
            writer.run(operations)?;
            state.dirty = true;
            state.recently_written = true;
        }
        Ok(Some(results))
    }

    /// Stops the partition before its directory is deleted: waits for a
    /// write in progress, drops what was not committed, and refuses later
    /// writes (they go to the index created anew).
    pub(crate) fn retire(&self) -> Result<()> {
        let mut state = self.lock_writer()?;
        state.retired = true;
        state.compaction = None;
        state.dirty = false;
        state.pending_ids.clear();
        if let Some(writer) = state.writer.take() {
            writer.wait_merging_threads()?;
        }
        Ok(())
    }

    /// Commits what was written and makes it searchable; closes a writer
    /// that was idle since the previous refresh.
    pub(crate) fn refresh(&self) -> Result<()> {
        let mut state = self.lock_writer()?;
        self.commit(&mut state)?;
        if std::mem::take(&mut state.recently_written) {
            return Ok(());
        }
        self.compact_and_close(&mut state)
    }

    /// Commits what was written since the last commit and makes it
    /// searchable.
    fn commit(&self, state: &mut WriterState) -> Result<()> {
        if state.dirty
            && let Some(writer) = state.writer.as_mut()
        {
            writer.commit()?;
            state.dirty = false;
            state.pending_ids.clear();
            self.reader.reload()?;
        }
        Ok(())
    }

    /// For a writer idle since the previous refresh: starts merging the
    /// partition into one segment (a partition no longer written is read
    /// faster so), and at a later refresh, once the merge is done, closes
    /// the writer. Writes in between keep it open.
    fn compact_and_close(&self, state: &mut WriterState) -> Result<()> {
        let Some(writer) = state.writer.as_mut() else {
            return Ok(());
        };
        let merged = match state.compaction.as_mut() {
            Some(compaction) => {
                let mut context = Context::from_waker(Waker::noop());
                let Poll::Ready(outcome) = compaction.as_mut().poll(&mut context) else {
                    return Ok(());
                };
                state.compaction = None;
                if let Err(error) = outcome {
                    tracing::warn!(partition = %self.name, %error, "merging the partition into one segment failed; it stays as it is");
                }
                true
            }
            None => false,
        };
        let segments = self.index.searchable_segment_ids()?;
        if !merged && segments.len() > 1 {
            state.compaction = Some(Box::pin(writer.merge(&segments)));
            return Ok(());
        }
        if let Some(writer) = state.writer.take() {
            writer.wait_merging_threads()?;
        }
        Ok(self.reader.reload()?)
    }

    /// Commits what was written and closes the writer once its segment
    /// merges are done (a merge cut short is work lost and files left).
    pub(crate) fn close_writer(&self) -> Result<()> {
        let mut state = self.lock_writer()?;
        self.commit(&mut state)?;
        state.compaction = None;
        if let Some(writer) = state.writer.take() {
            writer.wait_merging_threads()?;
            self.reader.reload()?;
        }
        Ok(())
    }

    /// Whether the partition's writer is open (it closes once idle and
    /// merged, over the next refreshes).
    pub(crate) fn is_writing(&self) -> bool {
        self.lock_writer().is_ok_and(|state| state.writer.is_some())
    }

    /// Picks up commits made by another process.
    pub(crate) fn reload(&self) -> Result<()> {
        Ok(self.reader.reload()?)
    }

    /// Documents searchable now.
    pub(crate) fn doc_count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Bytes of the partition's files.
    pub(crate) fn disk_bytes(&self) -> u64 {
        directory_bytes(&self.dir)
    }

    fn lock_writer(&self) -> Result<std::sync::MutexGuard<'_, WriterState>> {
        self.writer.lock().map_err(|_| {
            Error::Engine(format!(
                "a writer of {} panicked; reopen the store",
                self.name
            ))
        })
    }
}

/// The total size of the files below `dir`.
pub(crate) fn directory_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|entry| entry.ok())
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => directory_bytes(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn body(ids: std::ops::Range<usize>) -> BulkBody {
        let mut builder = crate::bulk::BulkBuilder::default();
        for id in ids {
            let source = format!(r#"{{"n": {id}}}"#);
            builder
                .push(
                    BulkAction::Create,
                    "events",
                    &format!("id-{id}"),
                    source.as_bytes(),
                )
                .unwrap();
        }
        builder.finish()
    }

    #[test]
    fn a_retired_partition_takes_no_more_writes() {
        let dir = std::env::temp_dir().join(format!("esrecord-retired-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mappings = json!({"properties": {"n": {"type": "long"}}});
        let partition = Partition::create("events", &dir, &mappings).unwrap();
        assert!(partition.write(&body(0..2), &[0, 1]).unwrap().is_some());
        partition.retire().unwrap();
        assert!(!partition.is_writing());
        assert_eq!(partition.write(&body(2..3), &[0]).unwrap(), None);
        partition.refresh().unwrap();
        assert_eq!(partition.doc_count(), 0, "uncommitted writes are dropped");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_idle_partition_is_merged_into_one_segment_then_closed() {
        let dir = std::env::temp_dir().join(format!("esrecord-partition-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mappings = json!({"properties": {"n": {"type": "long"}}});
        let partition = Partition::create("events", &dir, &mappings).unwrap();
        for batch in 0..3 {
            let body = body(batch * 10..batch * 10 + 10);
            let positions: Vec<usize> = (0..body.len()).collect();
            let results = partition.write(&body, &positions).unwrap().unwrap();
            assert!(results.iter().all(|r| !r.is_failure()));
            partition.refresh().unwrap();
        }
        assert_eq!(partition.reader.searcher().segment_readers().len(), 3);
        // Idle refreshes: the first starts the merge, a later one closes.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while partition.lock_writer().unwrap().writer.is_some()
            && std::time::Instant::now() < deadline
        {
            partition.refresh().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(partition.lock_writer().unwrap().writer.is_none());
        assert_eq!(partition.reader.searcher().segment_readers().len(), 1);
        assert_eq!(partition.doc_count(), 30);
        // Written again, it opens a writer again and keeps every document.
        partition.write(&body(30..31), &[0]).unwrap();
        partition.refresh().unwrap();
        assert_eq!(partition.doc_count(), 31);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_partition_with_dates_laid_out_by_an_earlier_version_is_refused_at_open() {
        let dir = std::env::temp_dir().join(format!("esrecord-old-layout-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mappings = json!({"properties": {"timestamp": {"type": "date"}}});
        let partition = Partition::create("events_2024.03.05", &dir, &mappings).unwrap();
        drop(partition);
        assert!(
            Partition::open("events_2024.03.05", &dir)
                .unwrap()
                .is_some()
        );
        // The same index as the previous version created it: the date as a
        // tantivy DateTime column, not epoch milliseconds.
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        let mut builder = Schema::builder();
        builder.add_text_field(
            "_id",
            tantivy::schema::STRING | tantivy::schema::STORED | tantivy::schema::FAST,
        );
        builder.add_bytes_field("_source", tantivy::schema::STORED);
        builder.add_date_field("timestamp", tantivy::schema::FAST);
        Index::create_in_dir(&dir, builder.build()).unwrap();
        let mapping = json!({ "mappings": mappings }).to_string();
        std::fs::write(dir.join(MAPPING_FILE), mapping).unwrap();
        let error = Partition::open("events_2024.03.05", &dir).unwrap_err();
        assert!(matches!(error, Error::IncompatibleIndex { .. }), "{error}");
        let message = error.to_string();
        assert!(
            message.contains("events_2024.03.05")
                && message.contains("`timestamp`")
                && message.contains("records export"),
            "{message}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
