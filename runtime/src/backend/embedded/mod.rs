//! The embedded backend: a miniature Elasticsearch on tantivy.
//!
//! A data directory holds:
//!
//! ```text
//! lock                      held by the one process that writes (its pid inside)
//! templates/{name}.json     the index templates, as PUT
//! indices/{index}/          one tantivy index per partition, created on first
//!                           write from the template whose pattern matches
//! searched                  touched by read-only processes when they search
//! ```
//!
//! Written documents become searchable, and durable, at a refresh, as in
//! Elasticsearch. As there, the refresh scheduled every refresh interval is
//! skipped while nobody searches (for 30 s), and the next search refreshes
//! before it reads; a search-idle store still commits every 30 s. Other
//! processes may open the directory read-only and see each refresh; their
//! searches count too.

mod aggs;
mod document;
mod files;
mod parallel;
mod partition;
mod query;
mod schema;
mod search;
mod search_idle;
#[cfg(test)]
mod test_schema;
mod values;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde_json::Value;

use self::files::{acquire_lock, list_dir, write_atomically};
use self::parallel::on_all_cores;
use self::partition::Partition;
use self::search_idle::SearchActivity;
use super::{Backend, BulkBody, IndexInfo, ItemResult, ScheduledRefresh, SearchAnswer};
use crate::error::{Error, Result};
use crate::naming::{glob_matches, validate_index_name};

/// The embedded backend over one data directory.
///
/// Templates, bulk writes and searches take Elasticsearch's JSON, and
/// searches answer in Elasticsearch's shape, so that a search written once
/// runs on either backend. The engine runs the subset of Elasticsearch
/// listed below; anything else, a query clause, an option, a key of the
/// body or of an aggregation, is an [`Error::Unsupported`] that names it
/// and says what to do: a query is never silently widened and no key of a
/// request is ignored.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> esrecord::Result<()> {
/// use esrecord::backend::{Backend, embedded::EmbeddedBackend};
/// let dir = std::env::temp_dir().join(format!("esrecord-doc-{}", std::process::id()));
/// let backend = EmbeddedBackend::open(&dir)?;
/// assert!(backend.indices("*").await?.is_empty());
/// # drop(backend); std::fs::remove_dir_all(&dir).ok();
/// # Ok(()) }
/// ```
///
/// # Supported queries and aggregations
///
/// ## Mappings
///
/// An index takes its mapping from the template whose pattern matches its
/// name, when it is created. Field types: `keyword` (and
/// `constant_keyword`, `wildcard`), `text` (and `match_only_text`),
/// `long`, `integer`, `short`, `byte`, `unsigned_long`, `double`, `float`,
/// `half_float`, `scaled_float`, `boolean`, `date`, `date_nanos`, `ip`,
/// `flattened`, and objects, with dynamic templates whose `path_match` is
/// `object.*` mapping numbers or keywords (maps). `dynamic: "strict"`
/// rejects documents with unmapped fields; otherwise those fields are kept
/// in `_source` only. Any other type is refused when the index is created.
/// Dates are read as Elasticsearch's default format
/// (`strict_date_optional_time||epoch_millis`) reads them.
///
/// ## Search body
///
/// `query`, `size` (default 10), `from`, `sort`, `search_after`,
/// `track_total_hits`, `aggs` (or `aggregations`), `_source` (`true` or
/// `false`) and `timeout` (accepted, without effect). `sort` takes fields
/// with fast values (keyword, numeric, date, boolean and ip fields),
/// `_id`, `_doc`, and `_score` descending on its own, with the options
/// `order`, `unmapped_type` and `missing` (`_last` only).
///
/// ## Queries
///
/// `match_all`, `match_none`, `bool` (`must`, `filter`, `should`,
/// `must_not`, `minimum_should_match` as an integer or one percentage),
/// `term`, `terms` (values as an array), `range` (`gt`, `gte`, `lt`, `lte`,
/// `format` among `strict_date_optional_time`, `date_optional_time` and
/// `epoch_millis`, `time_zone` UTC), `exists`, `match` (`query`,
/// `operator`, `minimum_should_match`; analysed with the field's tokenizer
/// on text fields, a `term` on others) and `ids`, each with an optional
/// `boost`. A field a partition does not map matches nothing there, as an
/// unmapped field does in Elasticsearch.
///
/// ## Aggregations
///
/// - `date_histogram`: `field`, `fixed_interval` (whole `ms`, `s`, `m`, `h`
///   or `d`), `calendar_interval` (`second`/`1s`, `minute`/`1m`, `hour`/`1h`,
///   `day`/`1d`, `week`/`1w` starting on Monday as in Elasticsearch,
///   `month`/`1M`, `quarter`/`1q`, `year`/`1y`), `time_zone` (an offset such
///   as `+05:30`, or an IANA name such as `America/New_York`, with its
///   daylight-saving rules; `key_as_string` then carries the local offset),
///   `format` only when it is the default, `offset`, `min_doc_count`,
///   `extended_bounds`, `hard_bounds`, `keyed`, and `order` only as
///   `{"_key": "asc"}`. Dates of every year 0000-9999 are bucketed,
///   negative epoch milliseconds before 1970 included.
/// - `histogram`: `field`, `interval`, `offset`, `min_doc_count`,
///   `extended_bounds`, `hard_bounds`, `keyed`, `order` as `{"_key": "asc"}`.
/// - `terms`: `field`, `size`, `shard_size`, `min_doc_count`, `order` by
///   `_count` or `_key` (an object, or an array of one, or `_count` then
///   `{"_key": "asc"}`), `missing` (not on dates),
///   `show_term_doc_count_error: false`, and the execution hints
///   `execution_hint` and `collect_mode`.
/// - `avg`, `min`, `max`, `sum`, `stats`: `field`, `missing` (a number).
/// - `value_count`: `field`. `cardinality`: `field`, `precision_threshold`.
/// - `percentiles`: `field`, `percents`, `keyed`, `missing`, `tdigest`.
/// - `meta` on any aggregation, and sub-aggregations (`aggs` or
///   `aggregations`) under the bucket aggregations.
///
/// Everything else is [`Error::Unsupported`] naming the aggregation type or
/// the parameter and the aggregation's name. The only keys accepted without
/// effect are the hints that tune how Elasticsearch computes an
/// approximation or executes the aggregation (`precision_threshold`,
/// `tdigest`, `execution_hint`, `collect_mode`): the engine's own
/// approximations are used whatever they say.
///
/// # Differences from Elasticsearch
///
/// - Date math (`now-1d`, `2024-05-01||+1M`) is refused in queries; give
///   absolute dates.
/// - Documents without a sort field sort last in either order (`missing`
///   other than `_last` is refused).
/// - `percentiles` come from a DDSketch (relative error about 1%), where
///   Elasticsearch uses a t-digest; for the same data the two differ in the
///   last digits, and neither interpolates the way the other does.
/// - `cardinality` is a HyperLogLog estimate; Elasticsearch is exact below
///   `precision_threshold` (default 3000), the engine only nearly so.
/// - `terms` cuts each segment at `shard_size` (default `10 * size`, where
///   Elasticsearch uses `1.5 * size + 10` per shard), so approximate counts,
///   `doc_count_error_upper_bound` and `sum_other_doc_count` can differ from
///   Elasticsearch's on data with more distinct terms than that.
/// - On a `double` field, which buckets a `terms` aggregation keeps when it
///   cuts at `size` can differ from Elasticsearch when keys with and without
///   a fractional part mix and the order is `_key` (or counts tie at the
///   cut): tantivy sorts whole-number keys apart from the others. The
///   buckets returned are re-sorted into Elasticsearch's order.
/// - Date values are formatted as `strict_date_optional_time`
///   (`2024-03-05T07:00:00.000Z`) whatever `format` the field's mapping
///   declares.
/// - `avg`, `sum` and `percentiles` of a `date_nanos` field are computed
///   on nanoseconds and converted to milliseconds, so their last digits can
///   differ; `date_histogram` on a `date_nanos` field is refused (map the
///   field as `date`).
/// - A `date_histogram` with calendar months, quarters or years, or in a
///   time zone other than UTC, finds its buckets between the least and
///   greatest value of the field in the partitions searched: when those
///   are far apart (years 0001 and 9999 in one search, by month) it can
///   exceed the bucket limit where Elasticsearch, which looks only at the
///   matching documents, would not. Narrow the time range.
/// - `doc_count_error_upper_bound` is 0 for `_key` order and tantivy's
///   per-segment bound for `_count` order; Elasticsearch computes it per
///   shard (and reports -1 for `_count` ascending when shards were cut).
/// - `terms` with `min_doc_count: 0` adds zero-count terms of keyword
///   fields only.
/// - `extended_bounds` combined with a non-zero `offset` is applied to the
///   offset bucket grid; Elasticsearch rounds the bounds without the offset
///   first, which can add or drop one empty bucket at either end.
/// - More than 65,000 buckets in one response, or more than 500 MB of
///   aggregation state per partition, is an error (Elasticsearch's
///   `search.max_buckets` defaults to 65,536).
#[derive(Debug, Clone)]
pub struct EmbeddedBackend {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    /// The lock file, held for as long as this backend writes.
    lock: Option<File>,
    partitions: RwLock<BTreeMap<String, Arc<Partition>>>,
    activity: SearchActivity,
}

impl EmbeddedBackend {
    /// Opens (creating if needed) the data directory `dir` for writing. A
    /// second writer, in this process or another, gets [`Error::Locked`].
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_owned();
        for sub in ["templates", "indices"] {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path)
                .map_err(|e| Error::io("create the data directory", &path, e))?;
        }
        let lock = acquire_lock(&dir)?;
        Ok(Self::with(dir, Some(lock)))
    }

    /// Opens the data directory `dir` to search it while another process
    /// may be writing it. Writes are refused.
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_owned();
        if !dir.join("indices").is_dir() {
            return Err(Error::io(
                "open the data directory",
                &dir,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no esrecord data directory there",
                ),
            ));
        }
        Ok(Self::with(dir, None))
    }

    fn with(dir: PathBuf, lock: Option<File>) -> Self {
        EmbeddedBackend {
            inner: Arc::new(Inner {
                activity: SearchActivity::new(&dir),
                dir,
                lock,
                partitions: RwLock::new(BTreeMap::new()),
            }),
        }
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Whether this backend may write.
    pub fn is_writer(&self) -> bool {
        self.inner.lock.is_some()
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(|e| Error::Engine(format!("an embedded engine task failed: {e}")))?
    }
}

#[async_trait::async_trait]
impl Backend for EmbeddedBackend {
    async fn put_template(&self, name: &str, body: &Value) -> Result<()> {
        let (name, body) = (name.to_owned(), body.clone());
        self.blocking(move |inner| inner.put_template(&name, &body))
            .await
    }

    async fn get_template(&self, name: &str) -> Result<Option<Value>> {
        let name = name.to_owned();
        self.blocking(move |inner| inner.get_template(&name)).await
    }

    async fn bulk(&self, body: BulkBody) -> Result<Vec<ItemResult>> {
        self.blocking(move |inner| inner.bulk(&body)).await
    }

    async fn search(&self, patterns: &[String], body: &Value) -> Result<SearchAnswer> {
        let (patterns, body) = (patterns.to_vec(), body.clone());
        self.blocking(move |inner| {
            inner.note_search()?;
            let partitions = inner.matching_partitions(&patterns)?;
            search::search(&partitions, &body).map(SearchAnswer::Parsed)
        })
        .await
    }

    async fn indices(&self, pattern: &str) -> Result<Vec<IndexInfo>> {
        let pattern = pattern.to_owned();
        self.blocking(move |inner| {
            let partitions = inner.matching_partitions(std::slice::from_ref(&pattern))?;
            Ok(partitions
                .iter()
                .map(|p| IndexInfo {
                    name: p.name.clone(),
                    docs: p.doc_count(),
                    bytes: p.disk_bytes(),
                })
                .collect())
        })
        .await
    }

    async fn delete_index(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.blocking(move |inner| inner.delete_index(&name)).await
    }

    async fn refresh(&self) -> Result<()> {
        self.blocking(|inner| inner.refresh()).await
    }

    async fn close(&self) -> Result<()> {
        self.blocking(|inner| {
            let partitions: Vec<Arc<Partition>> =
                inner.read_partitions()?.values().cloned().collect();
            on_all_cores(&partitions, |p| p.close_writer())?
                .into_iter()
                .collect()
        })
        .await
    }

    async fn scheduled_refresh(&self) -> Result<ScheduledRefresh> {
        self.blocking(|inner| {
            if !inner.activity.scheduled_refresh_due() {
                return Ok(ScheduledRefresh {
                    committed: false,
                    again: true,
                });
            }
            inner.refresh()?;
            // Open writers close over the next refreshes, once idle and merged.
            Ok(ScheduledRefresh {
                committed: true,
                again: inner.read_partitions()?.values().any(|p| p.is_writing()),
            })
        })
        .await
    }

    fn default_batch_size(&self) -> usize {
        // A bulk request costs the engine a fixed amount (a batch per
        // partition, a pass over pending ids): 10-15% of ingest at 1,000.
        10_000
    }

    fn durable_on_ack(&self) -> bool {
        // Documents are durable once a refresh committed them.
        false
    }
}

impl Inner {
    fn templates_dir(&self) -> PathBuf {
        self.dir.join("templates")
    }

    fn indices_dir(&self) -> PathBuf {
        self.dir.join("indices")
    }

    fn check_writer(&self) -> Result<()> {
        if self.lock.is_some() {
            Ok(())
        } else {
            Err(Error::Unsupported {
                what: "writing through a read-only store".into(),
                hint: "open the store for writing in the one process that writes this data directory",
            })
        }
    }

    fn put_template(&self, name: &str, body: &Value) -> Result<()> {
        self.check_writer()?;
        validate_index_name(name)?;
        if !body.get("index_patterns").is_some_and(Value::is_array) {
            return Err(Error::BadRequest(format!(
                "template {name} has no index_patterns array"
            )));
        }
        let path = self.templates_dir().join(format!("{name}.json"));
        write_atomically(&path, body.to_string().as_bytes())
    }

    fn get_template(&self, name: &str) -> Result<Option<Value>> {
        validate_index_name(name)?;
        let path = self.templates_dir().join(format!("{name}.json"));
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                Error::Engine(format!(
                    "the template file {} is damaged ({e}); run setup to write it again",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read the template", &path, e)),
        }
    }

    /// Every template, by name.
    fn templates(&self) -> Result<BTreeMap<String, Value>> {
        let dir = self.templates_dir();
        let mut templates = BTreeMap::new();
        for name in list_dir(&dir)? {
            if let Some(name) = name.strip_suffix(".json")
                && let Some(body) = self.get_template(name)?
            {
                templates.insert(name.to_owned(), body);
            }
        }
        Ok(templates)
    }

    fn bulk(&self, body: &BulkBody) -> Result<Vec<ItemResult>> {
        self.check_writer()?;
        // Group by index, keeping each item's position for the results.
        let mut by_index: Vec<Vec<usize>> = vec![Vec::new(); body.indexes().len()];
        for (position, item) in body.entries().enumerate() {
            if let Some(group) = by_index.get_mut(item.index_number) {
                group.push(position);
            }
        }
        let mut results: Vec<Option<ItemResult>> = vec![None; body.len()];
        let mut templates = None;
        let mut groups = Vec::with_capacity(by_index.len());
        for (index, positions) in body.indexes().iter().zip(by_index) {
            match self.partition_for_write(index, &mut templates) {
                Ok(partition) => groups.push((partition, positions)),
                Err(error) => {
                    let (status, error_type) = match &error {
                        Error::NoTemplate { .. } => (404, "index_not_found_exception"),
                        Error::InvalidName { .. } => (400, "invalid_index_name_exception"),
                        _ => return Err(error),
                    };
                    for position in positions {
                        results[position] =
                            Some(ItemResult::failed(status, error_type, error.to_string()));
                    }
                }
            }
        }
        // Turning sources into documents is the costly part, and each
        // partition has its own writer: spread the partitions over the cores.
        let written = on_all_cores(&groups, |(partition, positions)| {
            partition.write(body, positions)
        })?;
        for ((partition, positions), outcome) in groups.iter().zip(written) {
            let outcome = match outcome? {
                Some(outcome) => outcome,
                // Deleted while this bulk was on its way: into the index
                // created anew, as Elasticsearch would.
                None => self
                    .partition_for_write(&partition.name, &mut templates)?
                    .write(body, positions)?
                    .ok_or_else(|| {
                        Error::Engine(format!(
                            "the index {} was deleted again while being written; send the records again",
                            partition.name
                        ))
                    })?,
            };
            for (position, result) in positions.iter().zip(outcome) {
                results[*position] = Some(result);
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| ItemResult::failed(500, "internal", "item not processed")))
            .collect())
    }

    /// The open partition `name`, created from its template if it does not
    /// exist yet. `templates` caches the template files for one bulk call.
    fn partition_for_write(
        &self,
        name: &str,
        templates: &mut Option<BTreeMap<String, Value>>,
    ) -> Result<Arc<Partition>> {
        if let Some(partition) = self.open_partition(name)? {
            return Ok(partition);
        }
        validate_index_name(name)?;
        if templates.is_none() {
            *templates = Some(self.templates()?);
        }
        let template = templates
            .iter()
            .flatten()
            .filter(|(_, body)| patterns_of(body).any(|p| glob_matches(p, name)))
            .max_by_key(|(_, body)| body.get("priority").and_then(Value::as_i64).unwrap_or(0))
            .map(|(_, body)| body)
            .ok_or_else(|| Error::NoTemplate {
                index: name.to_owned(),
            })?;
        let empty = Value::Object(Default::default());
        let mappings = template.pointer("/template/mappings").unwrap_or(&empty);
        let mut partitions = self.write_partitions()?;
        if let Some(partition) = partitions.get(name) {
            return Ok(Arc::clone(partition));
        }
        let dir = self.indices_dir().join(name);
        if dir.exists() {
            // A creation interrupted by a crash left an incomplete directory.
            std::fs::remove_dir_all(&dir)
                .map_err(|e| Error::io("clear an incomplete index", &dir, e))?;
        }
        let partition = Arc::new(Partition::create(name, &dir, mappings)?);
        partitions.insert(name.to_owned(), Arc::clone(&partition));
        Ok(partition)
    }

    /// The partition `name` if it exists on disk, opened once.
    fn open_partition(&self, name: &str) -> Result<Option<Arc<Partition>>> {
        if let Some(partition) = self.read_partitions()?.get(name) {
            return Ok(Some(Arc::clone(partition)));
        }
        let dir = self.indices_dir().join(name);
        if !dir.is_dir() {
            return Ok(None);
        }
        let mut partitions = self.write_partitions()?;
        if let Some(partition) = partitions.get(name) {
            return Ok(Some(Arc::clone(partition)));
        }
        let Some(partition) = Partition::open(name, &dir)? else {
            return Ok(None);
        };
        let partition = Arc::new(partition);
        partitions.insert(name.to_owned(), Arc::clone(&partition));
        Ok(Some(partition))
    }

    /// The partitions whose names match any of `patterns`, sorted by name;
    /// a read-only backend first picks up the writer's latest refresh.
    fn matching_partitions(&self, patterns: &[String]) -> Result<Vec<Arc<Partition>>> {
        let mut matching = Vec::new();
        for name in list_dir(&self.indices_dir())? {
            if patterns.iter().any(|p| glob_matches(p, &name))
                && let Some(partition) = self.open_partition(&name)?
            {
                if self.lock.is_none() {
                    partition.reload()?;
                }
                matching.push(partition);
            }
        }
        Ok(matching)
    }

    fn delete_index(&self, name: &str) -> Result<()> {
        self.check_writer()?;
        validate_index_name(name)?;
        // Holding the partitions, so that no write opens the directory
        // while it goes; a write already holding the partition waits, or
        // finds it retired and goes to the index created anew.
        let mut partitions = self.write_partitions()?;
        if let Some(partition) = partitions.remove(name) {
            partition.retire()?;
        }
        let dir = self.indices_dir().join(name);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(Error::BadRequest(format!("no index named {name}")))
            }
            Err(e) => Err(Error::io("delete the index", &dir, e)),
        }
    }

    /// Notes a search: a writer refreshes first when the store was
    /// search-idle (so the search sees what was written), a reader lets the
    /// writer know.
    fn note_search(&self) -> Result<()> {
        if self.lock.is_none() {
            self.activity.searched_elsewhere();
            return Ok(());
        }
        if self.activity.searched() {
            self.refresh()?;
        }
        Ok(())
    }

    /// Commits every partition written since the last refresh, in parallel.
    fn refresh(&self) -> Result<()> {
        let partitions: Vec<Arc<Partition>> = self.read_partitions()?.values().cloned().collect();
        if self.lock.is_none() {
            return partitions.iter().try_for_each(|p| p.reload());
        }
        on_all_cores(&partitions, |p| p.refresh())?
            .into_iter()
            .collect()
    }

    fn read_partitions(
        &self,
    ) -> Result<std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Partition>>>> {
        self.partitions.read().map_err(|_| poisoned())
    }

    fn write_partitions(
        &self,
    ) -> Result<std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<Partition>>>> {
        self.partitions.write().map_err(|_| poisoned())
    }
}

fn poisoned() -> Error {
    Error::Engine("the partition table was left inconsistent by a panic; reopen the store".into())
}

fn patterns_of(template: &Value) -> impl Iterator<Item = &str> {
    template
        .get("index_patterns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}
