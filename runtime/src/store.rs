//! `Store`: the handle an application keeps to record and search.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use uuid::Uuid;

use crate::backend::Backend;
use crate::backend::elasticsearch::ElasticsearchBackend;
use crate::backend::embedded::EmbeddedBackend;
use crate::bulk::BulkBuilder;
use crate::config::{BackendKind, Config};
use crate::dead_letter::{DeadLetter, DeadLetterHook};
use crate::error::{Error, Result};
use crate::record::Record;
use crate::record_type::RecordType;
use crate::registry;
use crate::template::TemplateDiff;
use crate::writer::{self, FlushReport, PendingRecord, Target, Writer};

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
}

struct NamedBackend {
    backend: Arc<dyn Backend>,
    prefix: String,
    writer: Writer,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Store`] in code.
///
/// ```no_run
/// let store = esrecord::Store::builder().embedded("./records").open()?;
/// # Ok::<(), esrecord::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct StoreBuilder {
    config: Result<Config, String>,
    dead_letters: Option<DeadLetterHook>,
}

impl StoreBuilder {
    /// Starts from `config`.
    pub fn config(mut self, config: Config) -> Self {
        self.config = Ok(config);
        self
    }

    /// Uses an embedded store in `path` as the default backend.
    pub fn embedded(self, path: impl Into<std::path::PathBuf>) -> Self {
        self.config(Config::embedded(path))
    }

    /// Changes the configuration in place.
    pub fn configure(mut self, change: impl FnOnce(&mut Config)) -> Self {
        if let Ok(config) = &mut self.config {
            change(config);
        }
        self
    }

    /// Calls `hook` with every document the store gives up on (see
    /// [`DeadLetter`]), besides counting it.
    pub fn on_dead_letter(mut self, hook: impl Fn(&DeadLetter) + Send + Sync + 'static) -> Self {
        self.dead_letters = Some(DeadLetterHook(Arc::new(hook)));
        self
    }

    /// Opens the store.
    pub fn open(self) -> Result<Store> {
        let config = self.config.map_err(Error::Config)?;
        Store::open_with(config, self.dead_letters)
    }
}

impl Store {
    /// Opens the store `ESRECORD_CONFIG`, `./esrecord.toml`, `ESRECORD_URL`
    /// or `ESRECORD_DATA` describe (in that order), else an embedded store
    /// at `./esrecord-data`.
    pub fn open() -> Result<Store> {
        Store::with_config(Config::from_environment()?)
    }

    /// A builder that starts from the same configuration as [`Store::open`].
    pub fn builder() -> StoreBuilder {
        StoreBuilder {
            config: Config::from_environment().map_err(|e| e.to_string()),
            dead_letters: None,
        }
    }

    /// Opens a store with `config`.
    pub fn with_config(config: Config) -> Result<Store> {
        Store::open_with(config, None)
    }

    fn open_with(config: Config, dead_letters: Option<DeadLetterHook>) -> Result<Store> {
        let mut backends = BTreeMap::new();
        for (name, backend_config) in &config.backends {
            let backend: Arc<dyn Backend> = match &backend_config.kind {
                BackendKind::Embedded {
                    path,
                    read_only: false,
                } => Arc::new(EmbeddedBackend::open(path)?),
                BackendKind::Embedded {
                    path,
                    read_only: true,
                } => Arc::new(EmbeddedBackend::open_read_only(path)?),
                BackendKind::Elasticsearch(cluster) => {
                    Arc::new(ElasticsearchBackend::connect(cluster)?)
                }
            };
            let prefix = backend_config.index_prefix.clone();
            let naming = Naming::new(&config, &prefix);
            let writer = Writer::start(
                name,
                Target {
                    backend: Arc::clone(&backend),
                    name_type: Box::new(move |t| naming.apply(t)),
                    autosetup: config.autosetup,
                    config: config.writer.clone(),
                    dead_letters: dead_letters.clone(),
                },
            )?;
            backends.insert(
                name.clone(),
                NamedBackend {
                    backend,
                    prefix,
                    writer,
                },
            );
        }
        Ok(Store {
            inner: Arc::new(Inner { config, backends }),
        })
    }

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
        let named = self.named(record_type.backend())?;
        Ok(Naming::new(&self.inner.config, &named.prefix).apply(record_type))
    }

    /// The backend `R` is stored in, and `R` as that backend names it.
    pub fn backend_for<R: Record>(&self) -> Result<(&Arc<dyn Backend>, RecordType)> {
        let record_type = R::record_type();
        Ok((
            self.backend(record_type.backend())?,
            self.named_type(record_type)?,
        ))
    }

    /// Hands `record` to the background writer and returns at once. It is
    /// written with the next batch and searchable after the next refresh;
    /// [`flush`](Self::flush) waits for both. While the queue is full, this
    /// waits for room.
    pub fn record<R: Record>(&self, record: R) -> Result<()> {
        let named = self.named(R::record_type().backend())?;
        let id = R::record_type()
            .unique_together()
            .is_empty()
            .then(Uuid::now_v7);
        named.writer.send(Box::new(PendingRecord { record, id }))
    }

    /// Writes one record now and returns its id. The record is durable and
    /// searchable after the next refresh (or [`refresh`](Self::refresh)).
    pub async fn save<R: Record>(&self, record: &R) -> Result<String> {
        let (backend, named) = self.backend_for::<R>()?;
        writer::ensure_template(backend.as_ref(), &named, self.inner.config.autosetup).await?;
        let mut batch = BulkBuilder::default();
        writer::encode(&named, record, None, &mut batch)?;
        let body = batch.finish();
        let id = body
            .get(0)
            .map(|item| item.id.to_owned())
            .unwrap_or_default();
        let results = backend.bulk(body).await?;
        match results.first() {
            Some(result) if !result.is_failure() => Ok(id),
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
    /// and reports the counts (records rejected by the backend included).
    pub async fn flush(&self) -> Result<FlushReport> {
        let mut reports = Vec::new();
        for named in self.inner.backends.values() {
            let answer = named.writer.request_flush()?;
            reports.push(answer.await.map_err(|_| Error::Closed)?);
            // The writer refreshed what it wrote; this covers `save`d records.
            named.backend.refresh().await?;
        }
        Ok(sum(reports))
    }

    /// Makes everything written so far searchable.
    pub async fn refresh(&self) -> Result<()> {
        for named in self.inner.backends.values() {
            named.backend.refresh().await?;
        }
        Ok(())
    }

    /// Writes everything queued, stops the writers and reports what was
    /// lost. Recording afterwards is an error.
    pub async fn close(&self) -> Result<FlushReport> {
        let report = self.flush().await?;
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.stop_writers())
            .await
            .map_err(|e| Error::Engine(format!("closing the writers failed: {e}")))?;
        Ok(report)
    }

    /// Creates or updates the template of every registered type, and
    /// reports what it did.
    pub async fn setup(&self) -> Result<SetupReport> {
        self.setup_types(&registry::types()).await
    }

    /// [`setup`](Self::setup) for the given types only.
    pub async fn setup_types(&self, types: &[&RecordType]) -> Result<SetupReport> {
        let mut report = SetupReport::default();
        for (record_type, named) in self.named_types(types)? {
            let backend = self.backend(record_type.backend())?;
            named.validate()?;
            let name = named.template_name();
            let stored = backend.get_template(&name).await?;
            let outcome = match compare_template(&named, stored.as_ref()) {
                None => SetupOutcome::Created,
                Some(diff) if diff.is_in_sync() => SetupOutcome::Unchanged,
                Some(diff) => SetupOutcome::Updated(diff),
            };
            if outcome != SetupOutcome::Unchanged {
                backend.put_template(&name, &named.template_body()).await?;
            }
            report.entries.push((name, outcome));
        }
        Ok(report)
    }

    /// Compares the template of every registered type with what its backend
    /// holds.
    pub async fn check(&self) -> Result<CheckReport> {
        self.check_types(&registry::types()).await
    }

    /// [`check`](Self::check) for the given types only.
    pub async fn check_types(&self, types: &[&RecordType]) -> Result<CheckReport> {
        let mut report = CheckReport::default();
        for (record_type, named) in self.named_types(types)? {
            let backend = self.backend(record_type.backend())?;
            let name = named.template_name();
            let stored = backend.get_template(&name).await?;
            let status = match compare_template(&named, stored.as_ref()) {
                None => CheckStatus::Missing,
                Some(diff) if diff.is_in_sync() => CheckStatus::InSync,
                Some(diff) => CheckStatus::Drifted(diff),
            };
            report.entries.push((name, status));
        }
        Ok(report)
    }

    /// The types as their backends name them, after checking that every
    /// backend exists and no two types on one backend collide.
    fn named_types<'a>(
        &self,
        types: &[&'a RecordType],
    ) -> Result<Vec<(&'a RecordType, RecordType)>> {
        let named: Vec<(&RecordType, RecordType)> = types
            .iter()
            .map(|t| Ok((*t, self.named_type(t)?)))
            .collect::<Result<_>>()?;
        for backend in self.inner.backends.keys() {
            let on_backend = named
                .iter()
                .filter(|(t, _)| t.backend() == backend)
                .map(|(_, n)| n);
            registry::check_collisions(on_backend)?;
        }
        Ok(named)
    }

    /// The writer counters of every backend, summed.
    pub fn stats(&self) -> FlushReport {
        sum(self
            .inner
            .backends
            .values()
            .map(|n| n.writer.stats.report())
            .collect())
    }
}

impl Inner {
    fn stop_writers(&self) -> FlushReport {
        sum(self
            .backends
            .values()
            .map(|named| named.writer.stop())
            .collect())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let report = self.stop_writers();
        if report.failed > 0 {
            tracing::warn!(failed = report.failed, last_error = ?report.last_error, "esrecord: store dropped with records not written");
        }
    }
}

/// How a stored template compares with the type's; `None` when there is none.
fn compare_template(
    named: &RecordType,
    stored: Option<&serde_json::Value>,
) -> Option<TemplateDiff> {
    stored.map(|stored| TemplateDiff::between(&named.template_body(), stored))
}

fn sum(reports: Vec<FlushReport>) -> FlushReport {
    reports
        .into_iter()
        .fold(FlushReport::default(), |mut total, report| {
            total.sent += report.sent;
            total.failed += report.failed;
            total.retried += report.retried;
            total.last_error = report.last_error.or(total.last_error);
            total
        })
}

/// How a store names types: prefix, default timedepth, pattern limit.
#[derive(Clone)]
struct Naming {
    prefix: String,
    default_timedepth: crate::Timedepth,
    pattern_limit: usize,
}

impl Naming {
    fn new(config: &Config, prefix: &str) -> Self {
        Naming {
            prefix: prefix.to_owned(),
            default_timedepth: config.default_timedepth,
            pattern_limit: config.pattern_limit,
        }
    }

    fn apply(&self, record_type: &RecordType) -> RecordType {
        record_type
            .with_prefix(self.prefix.clone())
            .with_default_timedepth(self.default_timedepth)
            .with_pattern_limit(self.pattern_limit)
    }
}

/// What `setup` did to each template.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetupReport {
    /// Template name and outcome, per type.
    pub entries: Vec<(String, SetupOutcome)>,
}

/// What `setup` did to one template.
#[derive(Debug, Clone, PartialEq)]
pub enum SetupOutcome {
    /// It did not exist and was created.
    Created,
    /// It differed and was replaced; the differences it had.
    Updated(TemplateDiff),
    /// It was already in sync.
    Unchanged,
}

/// What `check` found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckReport {
    /// Template name and status, per type.
    pub entries: Vec<(String, CheckStatus)>,
}

/// The state of one template.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckStatus {
    /// As the type defines it.
    InSync,
    /// Not set up.
    Missing,
    /// Different from what the type defines.
    Drifted(TemplateDiff),
}

impl CheckReport {
    /// Whether every template is in sync.
    pub fn is_in_sync(&self) -> bool {
        self.entries
            .iter()
            .all(|(_, status)| *status == CheckStatus::InSync)
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, status) in &self.entries {
            match status {
                CheckStatus::InSync => writeln!(f, "{name}: in sync")?,
                CheckStatus::Missing => writeln!(f, "{name}: missing; run setup")?,
                CheckStatus::Drifted(diff) => {
                    writeln!(f, "{name}: drifted; run setup to replace it")?;
                    for change in &diff.changes {
                        writeln!(f, "  {change}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for SetupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, outcome) in &self.entries {
            match outcome {
                SetupOutcome::Created => writeln!(f, "{name}: created")?,
                SetupOutcome::Unchanged => writeln!(f, "{name}: unchanged")?,
                SetupOutcome::Updated(diff) => {
                    writeln!(f, "{name}: updated")?;
                    for change in &diff.changes {
                        writeln!(f, "  {change}")?;
                    }
                }
            }
        }
        Ok(())
    }
}
