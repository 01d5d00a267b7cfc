//! Store configuration: `esrecord.toml`, the environment, or code.
//!
//! ```toml
//! [store]
//! default_timedepth = "day"     # for types without a timedepth attribute
//! pattern_limit = 32            # range searches name at most this many patterns
//! autosetup = true              # create a type's template before its first write
//! queue_capacity = 100000       # records of one type waiting to be written
//! batch_size = 1000             # documents per bulk request (default: 1,000 on Elasticsearch, 10,000 embedded)
//! batch_bytes = 5242880         # bytes per bulk request
//! batch_interval_ms = 1000      # how long a record may wait for its batch
//! concurrency = 2               # batches written at once (default: one per core)
//! retry_backoff_ms = 100        # first wait before resending what may pass (429, 5xx, unreachable)
//! retry_max_backoff_ms = 30000  # longest wait between attempts (jittered)
//! retry_for_ms = 300000         # then the documents count as failed
//! refresh_interval_ms = 1000    # how often written records become searchable (while searched)
//! overflow = "block"            # when the queue is full: block, drop_oldest, drop_newest, error
//! spool_dir = "./esrecord-spool" # keep recorded records on disk until written (off by default)
//! spool_sync_ms = 5             # how often spooled records are synced to disk at most
//! flush_timeout_ms = 30000      # how long flush, close and dropping the store wait
//!
//! [metrics]                     # the metrics reporter: see esrecord::metrics::MetricsConfig
//! interval_ms = 10000
//!
//! [backends.default]
//! kind = "embedded"
//! path = "./esrecord-data"
//! index_prefix = ""
//! # max_docs_per_second = 500      # write at most this many documents a second
//!
//! [backends.cluster]                 # an Elasticsearch backend
//! kind = "elasticsearch"
//! urls = ["https://es1:9200", "https://es2:9200"]   # or url = "..."
//! username = "esrecord"              # basic auth, with the password from
//! password_env = "ESRECORD_PASSWORD" # an environment variable, or
//! # password_file = "/run/secrets/es-password"
//! # api_key_env / api_key_file       # or an API key (base64 id:key)
//! # bearer_token_env / bearer_token_file
//! ca_certificate = "/etc/esrecord/ca.pem"
//! timeout_ms = 30000
//! gzip = true
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::Timedepth;
use crate::data_stream::{DataStream, DataStreamConfig, DataStreamSection};
use crate::error::{Error, Result};
use crate::metrics::MetricsConfig;
use crate::metrics::settings::MetricsSection;
use crate::naming::validate_prefix;
use crate::record_type::RecordType;
use crate::secret::Secret;

mod credentials;
mod serve;

pub use self::credentials::CredentialKeys;
pub use self::serve::{ServeConfig, TlsFiles};

/// Where the embedded store lives when nothing else is configured.
pub const DEFAULT_DATA_DIR: &str = "./esrecord-data";

/// The whole configuration of a [`Store`](crate::Store).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The named backends; record types use `default` unless they name another.
    pub backends: BTreeMap<String, BackendConfig>,
    /// The timedepth of types without a `timedepth` attribute.
    pub default_timedepth: Timedepth,
    /// How many patterns a range search may name before using the full pattern.
    pub pattern_limit: usize,
    /// Whether the store creates a type's template before its first write.
    pub autosetup: bool,
    /// How the background writer batches.
    pub writer: WriterConfig,
    /// How the metrics reporter reports (`[metrics]`).
    pub metrics: MetricsConfig,
    /// Whether the store deletes expired partitions itself.
    pub retention: RetentionConfig,
    /// Other template names for the built-in types (`[builtin_templates]`).
    pub builtin_templates: BuiltinTemplates,
    /// How `records serve` answers (`[serve]`).
    pub serve: ServeConfig,
}

/// Template names for esrecord's built-in record types in place of
/// `esrecord_metric`, `esrecord_alert` and `esrecord_annotation`
/// (`[builtin_templates]`: `metric = "ops_metric"`...); a backend's
/// `index_prefix` still goes before them, and index names follow them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuiltinTemplates {
    /// For `esrecord.metric`, the metrics reporter's points.
    pub metric: Option<String>,
    /// For `esrecord.alert`, the rules watcher's alerts.
    pub alert: Option<String>,
    /// For `esrecord.annotation`.
    pub annotation: Option<String>,
}

impl BuiltinTemplates {
    /// The template name configured for `record_type`, when it is a
    /// built-in type given one.
    fn of(&self, record_type: &RecordType) -> Option<&str> {
        if record_type.app_label() != "esrecord" {
            return None;
        }
        match record_type.name() {
            "metric" => self.metric.as_deref(),
            "alert" => self.alert.as_deref(),
            "annotation" => self.annotation.as_deref(),
            _ => None,
        }
    }

    fn validate(&self) -> Result<()> {
        for (key, name) in [
            ("metric", &self.metric),
            ("alert", &self.alert),
            ("annotation", &self.annotation),
        ] {
            if let Some(name) = name {
                crate::naming::validate_template_name(name, true)
                    .map_err(|e| Error::Config(format!("[builtin_templates] {key}: {e}")))?;
            }
        }
        Ok(())
    }
}

/// Retention enforced by the store (`[store] enforce_retention`,
/// `retention_interval_ms`): off by default, since deleting is the one
/// thing a store cannot undo. When on, the store deletes the partitions of
/// its embedded backends whose end plus their type's `retention` has
/// passed, when it opens and every `interval` after (Elasticsearch
/// backends are left to the cluster).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Whether the store deletes expired partitions.
    pub enforce: bool,
    /// How often it looks (default: an hour).
    pub interval: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            enforce: false,
            interval: Duration::from_secs(3_600),
        }
    }
}

/// One named backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendConfig {
    /// What stores the records.
    pub kind: BackendKind,
    /// Prefixed to every template, pattern and index name.
    pub index_prefix: String,
    /// At most this many documents a second are written to the backend
    /// (a token bucket of one second's documents); records over it wait in
    /// their queue, where the overflow policy applies. `None`: no limit.
    pub max_docs_per_second: Option<u32>,
    /// `[backends.NAME.data_streams]`: the types that declare
    /// `data_stream` are written to data streams (Elasticsearch backends
    /// only). `None`: every type keeps its partitions.
    pub data_streams: Option<DataStreamConfig>,
}

/// The kinds of backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendKind {
    /// The embedded engine, in a data directory.
    Embedded {
        /// The data directory.
        path: PathBuf,
        /// Open to search only, while another process writes.
        read_only: bool,
    },
    /// An Elasticsearch cluster.
    Elasticsearch(ElasticsearchConfig),
}

/// How to reach an Elasticsearch cluster.
///
/// ```
/// use esrecord::config::{Auth, ElasticsearchConfig};
/// let mut cluster = ElasticsearchConfig::new("https://es.example:9200");
/// cluster.auth = Auth::ApiKey(esrecord::Secret::new("aWQ6a2V5"));
/// assert!(!format!("{cluster:?}").contains("aWQ6a2V5"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElasticsearchConfig {
    /// The nodes' URLs, used in turn.
    pub urls: Vec<String>,
    /// How to authenticate.
    pub auth: Auth,
    /// A PEM file with the certificate authority that signed the cluster's
    /// certificate, when it is not one the system trusts.
    pub ca_certificate: Option<PathBuf>,
    /// How long one request may take.
    pub timeout: Duration,
    /// Whether request bodies are sent gzip-compressed.
    pub gzip: bool,
}

impl ElasticsearchConfig {
    /// A cluster at `url`, without authentication, 30 s per request, gzip on.
    pub fn new(url: impl Into<String>) -> Self {
        ElasticsearchConfig {
            urls: vec![url.into()],
            auth: Auth::None,
            ca_certificate: None,
            timeout: Duration::from_secs(30),
            gzip: true,
        }
    }

    /// A cluster at `url`, whose user and password, when it has them
    /// (`https://user:password@host:9200`), become basic authentication.
    ///
    /// ```
    /// use esrecord::config::{Auth, ElasticsearchConfig};
    /// let cluster = ElasticsearchConfig::from_url("https://app:s3cret@es.example:9200").unwrap();
    /// assert_eq!(cluster.urls, ["https://es.example:9200/"]);
    /// assert!(matches!(cluster.auth, Auth::Basic { ref username, .. } if username == "app"));
    /// ```
    pub fn from_url(url: &str) -> Result<Self> {
        let mut parsed = url::Url::parse(url).map_err(|e| {
            Error::Config(format!(
                "the Elasticsearch URL {:?} is not a URL ({e}); write it as https://host:9200",
                redact_url(url)
            ))
        })?;
        let auth = if parsed.username().is_empty() {
            Auth::None
        } else {
            let decode = |text: &str| {
                percent_encoding::percent_decode_str(text)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            Auth::Basic {
                username: decode(parsed.username()),
                password: Secret::new(decode(parsed.password().unwrap_or(""))),
            }
        };
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        let mut config = Self::new(parsed.to_string());
        config.auth = auth;
        Ok(config)
    }
}

/// How esrecord authenticates to Elasticsearch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No credentials.
    None,
    /// Basic authentication.
    Basic {
        /// The user.
        username: String,
        /// The password.
        password: Secret,
    },
    /// An API key, as Elasticsearch returns it encoded (base64 of `id:key`).
    ApiKey(Secret),
    /// A bearer token.
    Bearer(Secret),
}

/// `url` with any password replaced by `***`, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}***@{}", &url[..scheme_end + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// How the background writer batches and refreshes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterConfig {
    /// Records of one type that may wait to be written (each record type
    /// has a queue of its own; memory grows with what waits, not with the
    /// capacity). Past it, the `overflow` policy applies (or, with a spool,
    /// records wait on disk).
    pub queue_capacity: usize,
    /// Documents per bulk request (small documents; `batch_bytes` bounds
    /// the request first when they are larger). `None`: the backend's
    /// choice, 1,000 for Elasticsearch (the clients' bulk processors flush
    /// at about 1,000 actions) and 10,000 for the embedded engine (whose
    /// per-request cost is fixed: 10-15% of ingest time at 1,000).
    pub batch_size: Option<usize>,
    /// Bytes of sources per bulk request (5 MiB, as the Go client's bulk
    /// indexer flushes).
    pub batch_bytes: usize,
    /// How long a record may wait for its batch to fill.
    pub batch_interval: Duration,
    /// How many batches may be encoded and written at once (by default one
    /// per core, as the Go client's bulk indexer runs a worker per core,
    /// and at least two, so that one batch is encoded while another is
    /// sent).
    /// Batches of `unique_together` types, which overwrite, still go one
    /// after another, so the last record recorded under an id stays.
    pub concurrency: usize,
    /// Resending what failed for a reason that may pass (429, 502, 503,
    /// 504, an unreachable or timed-out cluster): how long the first wait
    /// may be; each further wait may be twice as long, up to
    /// `retry_max_backoff`, and is drawn at random below that (full jitter).
    pub retry_backoff: Duration,
    /// The longest wait between two attempts (30 s, as Vector's sink).
    pub retry_max_backoff: Duration,
    /// How long a request is retried before its documents count as failed.
    pub retry_for: Duration,
    /// How often written records are made searchable while someone
    /// searches the store (the embedded engine refreshes a store nobody
    /// searched for 30 s only every 30 s, and at its next search).
    pub refresh_interval: Duration,
    /// What `record` does while the queue is full (without a spool).
    pub overflow: Overflow,
    /// A directory where recorded records are kept until they are written
    /// (a subdirectory per backend), so that none is lost when the process
    /// crashes or the backend is down for longer than the queue can hold.
    /// With a spool, a full queue never drops or blocks: records wait on
    /// disk.
    pub spool_dir: Option<PathBuf>,
    /// How often the spool syncs what was appended to disk, at most (group
    /// commit). A crash of the process loses nothing either way; this
    /// bounds what a crash of the machine may lose.
    pub spool_sync_interval: Duration,
    /// How long [`Store::flush`](crate::Store::flush) and
    /// [`Store::close`](crate::Store::close) wait by default, and how long
    /// dropping a store waits for its records to be written.
    pub flush_timeout: Duration,
}

/// What `record` does when the queue of records waiting to be written is
/// full (the backend is slow or down), without a spool.
///
/// ```
/// let policy: esrecord::config::Overflow = "drop_oldest".parse().unwrap();
/// assert_eq!(policy, esrecord::config::Overflow::DropOldest);
/// assert!("drop_some".parse::<esrecord::config::Overflow>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Wait for room (the default: nothing is lost, the caller slows down).
    #[default]
    Block,
    /// Drop the oldest queued record to make room.
    DropOldest,
    /// Drop the record being recorded.
    DropNewest,
    /// Refuse the record: `record` returns [`Error::QueueFull`].
    Error,
}

impl Overflow {
    /// The policy's name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Overflow::Block => "block",
            Overflow::DropOldest => "drop_oldest",
            Overflow::DropNewest => "drop_newest",
            Overflow::Error => "error",
        }
    }
}

impl std::str::FromStr for Overflow {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        [
            Overflow::Block,
            Overflow::DropOldest,
            Overflow::DropNewest,
            Overflow::Error,
        ]
        .into_iter()
        .find(|policy| policy.as_str() == text)
        .ok_or_else(|| {
            Error::Config(format!(
                "overflow = {text:?} is not a policy; use \"block\", \"drop_oldest\", \"drop_newest\" or \"error\""
            ))
        })
    }
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            queue_capacity: 100_000,
            batch_size: None,
            batch_bytes: 5 * 1024 * 1024,
            batch_interval: Duration::from_secs(1),
            concurrency: std::thread::available_parallelism().map_or(2, |n| n.get().max(2)),
            retry_backoff: Duration::from_millis(100),
            retry_max_backoff: Duration::from_secs(30),
            retry_for: Duration::from_secs(300),
            refresh_interval: Duration::from_secs(1),
            overflow: Overflow::Block,
            spool_dir: None,
            spool_sync_interval: Duration::from_millis(5),
            flush_timeout: Duration::from_secs(30),
        }
    }
}

impl Config {
    /// An embedded store in `path`, with every other setting at its default.
    ///
    /// ```
    /// let config = esrecord::config::Config::embedded("/tmp/records");
    /// assert!(config.backends.contains_key("default"));
    /// ```
    pub fn embedded(path: impl Into<PathBuf>) -> Self {
        let backend = BackendConfig {
            kind: BackendKind::Embedded {
                path: path.into(),
                read_only: false,
            },
            index_prefix: String::new(),
            max_docs_per_second: None,
            data_streams: None,
        };
        Config {
            backends: BTreeMap::from([("default".to_owned(), backend)]),
            default_timedepth: Timedepth::Day,
            pattern_limit: crate::DEFAULT_PATTERN_LIMIT,
            autosetup: true,
            writer: WriterConfig::default(),
            metrics: MetricsConfig::default(),
            retention: RetentionConfig::default(),
            builtin_templates: BuiltinTemplates::default(),
            serve: ServeConfig::default(),
        }
    }

    /// `record_type` as this configuration names it: with its backend's
    /// `index_prefix` (none when the backend is not configured), the
    /// default timedepth and the pattern limit.
    ///
    /// ```
    /// # use esrecord::Record;
    /// # #[derive(Record, serde::Serialize, serde::Deserialize)]
    /// # #[record(app_label = "shop")]
    /// # struct PageView { timestamp: chrono::DateTime<chrono::Utc> }
    /// let mut config = esrecord::config::Config::embedded("/tmp/records");
    /// config.backends.get_mut("default").unwrap().index_prefix = "dev-".into();
    /// assert_eq!(config.named_type(PageView::record_type()).template_name(), "dev-shop_pageview");
    /// ```
    pub fn named_type(&self, record_type: &RecordType) -> RecordType {
        let backend = self.backends.get(record_type.backend());
        let prefix = backend.map_or("", |backend| backend.index_prefix.as_str());
        let named = match self.builtin_templates.of(record_type) {
            Some(template) => record_type.with_template_name(template.to_owned()),
            None => record_type.clone(),
        };
        let named = named
            .with_prefix(prefix.to_owned())
            .with_default_timedepth(self.default_timedepth)
            .with_pattern_limit(self.pattern_limit);
        let stream = backend
            .and_then(|backend| backend.data_streams.as_ref())
            .and_then(|streams| DataStream::for_type(&named, streams));
        match stream {
            Some(stream) => named.with_data_stream(stream),
            None => named,
        }
    }

    /// The configuration `Store::open()` uses: the file named by
    /// `ESRECORD_CONFIG`, else `./esrecord.toml`, else `ESRECORD_URL` (an
    /// Elasticsearch URL), else an embedded store at `ESRECORD_DATA` or
    /// `./esrecord-data`.
    pub fn from_environment() -> Result<Self> {
        if let Some(path) = std::env::var_os("ESRECORD_CONFIG") {
            return Self::from_file(Path::new(&path));
        }
        let local = Path::new("esrecord.toml");
        if local.exists() {
            return Self::from_file(local);
        }
        if let Ok(url) = std::env::var("ESRECORD_URL") {
            let mut config = Self::embedded(DEFAULT_DATA_DIR);
            let backend = BackendConfig {
                kind: BackendKind::Elasticsearch(ElasticsearchConfig::from_url(&url)?),
                index_prefix: String::new(),
                max_docs_per_second: None,
                data_streams: None,
            };
            config.backends.insert("default".to_owned(), backend);
            return Ok(config);
        }
        let data = std::env::var_os("ESRECORD_DATA")
            .map_or_else(|| PathBuf::from(DEFAULT_DATA_DIR), PathBuf::from);
        Ok(Self::embedded(data))
    }

    /// Reads a TOML configuration file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("read the configuration", path, e))?;
        Self::from_toml(&text).map_err(|error| match error {
            Error::Config(message) => Error::Config(format!("{}: {message}", path.display())),
            other => other,
        })
    }

    /// Parses a TOML configuration.
    ///
    /// ```
    /// let config = esrecord::config::Config::from_toml(r#"
    ///     [store]
    ///     default_timedepth = "month"
    ///     batch_size = 500
    ///     concurrency = 3
    ///     retry_for_ms = 60000
    ///     overflow = "drop_oldest"
    ///     spool_dir = "spool"
    ///     [backends.default]
    ///     kind = "embedded"
    ///     path = "data"
    ///     index_prefix = "dev-"
    /// "#).unwrap();
    /// assert_eq!(config.default_timedepth, esrecord::Timedepth::Month);
    /// assert_eq!((config.writer.batch_size, config.writer.concurrency), (Some(500), 3));
    /// assert_eq!(config.writer.retry_for, std::time::Duration::from_secs(60));
    /// assert_eq!(config.writer.overflow, esrecord::config::Overflow::DropOldest);
    /// assert_eq!(config.writer.spool_dir.as_deref(), Some(std::path::Path::new("spool")));
    /// assert!(esrecord::config::Config::from_toml("[store]\nbatch_sise = 3").is_err());
    /// assert!(esrecord::config::Config::from_toml("[store]\nconcurrency = 0").is_err());
    /// let enforcing = esrecord::config::Config::from_toml("[store]\nenforce_retention = true").unwrap();
    /// assert!(enforcing.retention.enforce && !config.retention.enforce);
    /// assert!(esrecord::config::Config::from_toml("[store]\nretention_interval_ms = 0").is_err());
    /// let renamed = esrecord::config::Config::from_toml("[builtin_templates]\nmetric = \"ops_metric\"").unwrap();
    /// assert_eq!(renamed.builtin_templates.metric.as_deref(), Some("ops_metric"));
    /// assert!(esrecord::config::Config::from_toml("[builtin_templates]\nalert = \"Alerts\"").is_err());
    /// ```
    pub fn from_toml(text: &str) -> Result<Self> {
        let file: FileConfig =
            toml::from_str(text).map_err(|e| Error::Config(e.message().to_owned()))?;
        let mut config = Self::embedded(DEFAULT_DATA_DIR);
        let store = file.store.unwrap_or_default();
        if let Some(depth) = store.default_timedepth {
            config.default_timedepth = depth.parse().map_err(Error::Config)?;
        }
        let writer = &mut config.writer;
        set(
            &mut config.pattern_limit,
            store.pattern_limit,
            "pattern_limit",
        )?;
        set(
            &mut writer.queue_capacity,
            store.queue_capacity,
            "queue_capacity",
        )?;
        if let Some(size) = store.batch_size {
            let mut checked = size;
            set(&mut checked, Some(size), "batch_size")?;
            writer.batch_size = Some(checked);
        }
        set(&mut writer.batch_bytes, store.batch_bytes, "batch_bytes")?;
        set(&mut writer.concurrency, store.concurrency, "concurrency")?;
        if let Some(ms) = store.batch_interval_ms {
            writer.batch_interval = Duration::from_millis(ms);
        }
        if let Some(ms) = store.retry_backoff_ms {
            writer.retry_backoff = Duration::from_millis(ms.max(1));
        }
        if let Some(ms) = store.retry_max_backoff_ms {
            writer.retry_max_backoff = Duration::from_millis(ms.max(1));
        }
        if let Some(ms) = store.retry_for_ms {
            writer.retry_for = Duration::from_millis(ms);
        }
        if let Some(ms) = store.refresh_interval_ms {
            writer.refresh_interval = Duration::from_millis(ms.max(1));
        }
        if let Some(policy) = &store.overflow {
            writer.overflow = policy.parse()?;
        }
        writer.spool_dir = store.spool_dir;
        if let Some(ms) = store.spool_sync_ms {
            writer.spool_sync_interval = Duration::from_millis(ms);
        }
        if let Some(ms) = store.flush_timeout_ms {
            writer.flush_timeout = Duration::from_millis(ms);
        }
        config.autosetup = store.autosetup.unwrap_or(true);
        config.retention.enforce = store.enforce_retention.unwrap_or(false);
        match store.retention_interval_ms {
            Some(0) => {
                return Err(Error::Config(
                    "`retention_interval_ms` must be at least 1 (3600000 is an hour)".into(),
                ));
            }
            Some(ms) => config.retention.interval = Duration::from_millis(ms),
            None => {}
        }
        config.metrics = file.metrics.unwrap_or_default().resolve()?;
        config.builtin_templates = file.builtin_templates.unwrap_or_default();
        config.builtin_templates.validate()?;
        config.serve = file.serve.unwrap_or_default().resolve()?;
        if !file.backends.is_empty() {
            config.backends = file
                .backends
                .into_iter()
                .map(|(name, backend)| Ok((name.clone(), backend.resolve(&name)?)))
                .collect::<Result<_>>()?;
        }
        if !config.backends.contains_key("default") {
            return Err(Error::Config(
                "no backend named \"default\"; add [backends.default], which record types without a `backend` attribute use".into(),
            ));
        }
        Ok(config)
    }
}

fn set(target: &mut usize, value: Option<usize>, key: &str) -> Result<()> {
    match value {
        Some(0) => Err(Error::Config(format!("`{key}` must be at least 1"))),
        Some(value) => {
            *target = value;
            Ok(())
        }
        None => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    store: Option<StoreSection>,
    metrics: Option<MetricsSection>,
    builtin_templates: Option<BuiltinTemplates>,
    serve: Option<serve::ServeSection>,
    #[serde(default)]
    backends: BTreeMap<String, BackendSection>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StoreSection {
    default_timedepth: Option<String>,
    pattern_limit: Option<usize>,
    autosetup: Option<bool>,
    queue_capacity: Option<usize>,
    batch_size: Option<usize>,
    batch_bytes: Option<usize>,
    batch_interval_ms: Option<u64>,
    concurrency: Option<usize>,
    retry_backoff_ms: Option<u64>,
    retry_max_backoff_ms: Option<u64>,
    retry_for_ms: Option<u64>,
    refresh_interval_ms: Option<u64>,
    overflow: Option<String>,
    spool_dir: Option<PathBuf>,
    spool_sync_ms: Option<u64>,
    flush_timeout_ms: Option<u64>,
    enforce_retention: Option<bool>,
    retention_interval_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BackendSection {
    kind: String,
    path: Option<PathBuf>,
    #[serde(default)]
    read_only: bool,
    #[serde(default)]
    index_prefix: String,
    max_docs_per_second: Option<u32>,
    data_streams: Option<DataStreamSection>,
    url: Option<String>,
    urls: Option<Vec<String>>,
    username: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    api_key_env: Option<String>,
    api_key_file: Option<PathBuf>,
    bearer_token_env: Option<String>,
    bearer_token_file: Option<PathBuf>,
    ca_certificate: Option<PathBuf>,
    timeout_ms: Option<u64>,
    gzip: Option<bool>,
}

impl BackendSection {
    fn resolve(self, name: &str) -> Result<BackendConfig> {
        validate_prefix(&self.index_prefix)
            .map_err(|e| Error::Config(format!("backend {name:?}: {e}")))?;
        let kind = match self.kind.as_str() {
            "embedded" => BackendKind::Embedded {
                path: self.path.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
                read_only: self.read_only,
            },
            "elasticsearch" => BackendKind::Elasticsearch(self.elasticsearch(name)?),
            other => {
                return Err(Error::Config(format!(
                    "backend {name:?} has kind {other:?}; use \"embedded\" or \"elasticsearch\""
                )));
            }
        };
        if self.max_docs_per_second == Some(0) {
            return Err(Error::Config(format!(
                "backend {name:?}: max_docs_per_second must be at least 1 (leave it out for no limit)"
            )));
        }
        let data_streams = match self.data_streams {
            Some(_) if matches!(kind, BackendKind::Embedded { .. }) => {
                return Err(Error::Config(format!(
                    "backend {name:?}: [backends.{name}.data_streams] applies to Elasticsearch backends; the embedded engine keeps every type in its partitions (and enforces retention with [store] enforce_retention), so remove the section"
                )));
            }
            Some(section) => Some(section.resolve(name)?),
            None => None,
        };
        Ok(BackendConfig {
            kind,
            index_prefix: self.index_prefix,
            max_docs_per_second: self.max_docs_per_second,
            data_streams,
        })
    }

    fn elasticsearch(&self, name: &str) -> Result<ElasticsearchConfig> {
        let in_backend = |message: String| Error::Config(format!("backend {name:?}: {message}"));
        let mut urls = self.urls.clone().unwrap_or_default();
        urls.extend(self.url.clone());
        let Some(first) = urls.first() else {
            return Err(in_backend(
                "an elasticsearch backend needs `url` or `urls`, e.g. url = \"https://localhost:9200\"".into(),
            ));
        };
        let mut config = ElasticsearchConfig::new(first.clone());
        config.urls = urls
            .iter()
            .map(|url| {
                let mut parsed = ElasticsearchConfig::from_url(url)?;
                if parsed.auth != Auth::None {
                    return Err(in_backend(
                        "put credentials in username with password_env or password_file, not in a URL of the configuration file".into(),
                    ));
                }
                Ok(parsed.urls.remove(0))
            })
            .collect::<Result<_>>()?;
        let keys = CredentialKeys {
            username: self.username.clone(),
            password_env: self.password_env.clone(),
            password_file: self.password_file.clone(),
            api_key_env: self.api_key_env.clone(),
            api_key_file: self.api_key_file.clone(),
            bearer_token_env: self.bearer_token_env.clone(),
            bearer_token_file: self.bearer_token_file.clone(),
        };
        config.auth = keys.resolve(&format!("backend {name:?}"))?;
        config.ca_certificate = self.ca_certificate.clone();
        if let Some(ms) = self.timeout_ms {
            config.timeout = Duration::from_millis(ms.max(1));
        }
        config.gzip = self.gzip.unwrap_or(true);
        Ok(config)
    }
}
