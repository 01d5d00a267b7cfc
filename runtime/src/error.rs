//! The one error type of the runtime crate.

use std::fmt;

/// Everything that can go wrong in esrecord, with a message that says what to do next.
///
/// ```
/// use esrecord::naming::validate_index_name;
/// let err = validate_index_name("Shop").unwrap_err();
/// assert!(err.to_string().contains("lowercase"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A name built at run time breaks Elasticsearch's index-name rules.
    #[error(
        "invalid {what} {name:?}: {reason}; choose a name of lowercase letters, digits, `_`, `-` and `.`"
    )]
    InvalidName {
        /// What the name was for: "index name", "template name", "prefix", ...
        what: &'static str,
        /// The offending name.
        name: String,
        /// Which rule it breaks.
        reason: String,
    },

    /// A time bound such as `(2024, 13)` that names no instant.
    #[error("invalid time bound {bound}: {reason}")]
    InvalidTimeBound {
        /// The bound as the caller wrote it.
        bound: String,
        /// Why it names no instant.
        reason: &'static str,
    },

    /// A time range whose start is not before its end.
    #[error(
        "empty time range: from {from} is not before until {until}; a range selects from <= timestamp < until, so put the earlier bound first"
    )]
    EmptyRange {
        /// The start of the range, RFC 3339.
        from: String,
        /// The end of the range, RFC 3339.
        until: String,
    },

    /// A timestamp that cannot be placed in a partition.
    #[error("timestamp {timestamp} is out of range: {reason}")]
    TimestampOutOfRange {
        /// The timestamp, RFC 3339.
        timestamp: String,
        /// Why it cannot be used.
        reason: &'static str,
    },

    /// A record with a value Elasticsearch cannot store, refused before it
    /// is queued (see [`Record::validate`](crate::Record::validate)).
    #[error("{record_type}: field {field} {reason}")]
    InvalidRecord {
        /// The record type, as `app_label.name` (`shop.pageview`).
        record_type: String,
        /// The stored path of the field, dotted, with element indexes and
        /// map keys: `latency.p99_ms`, `samples[3]`, `load.cpu`.
        field: String,
        /// What is wrong with the value.
        reason: crate::mapping::InvalidReason,
    },

    /// An annotation that cannot be stored (see
    /// [`Annotation::check`](crate::annotations::Annotation::check)).
    #[error("invalid annotation: {field} {reason}")]
    InvalidAnnotation {
        /// The field at fault: `stream`, `title`, `end`, `source`, `link`.
        field: &'static str,
        /// What is wrong, and what to give instead.
        reason: String,
    },

    /// JSON given for a record type does not read as that type (a line of
    /// an import, a stored document of another shape).
    #[error(
        "does not read as a {record_type}: {reason}; give the fields the type has, with values of their types"
    )]
    InvalidJson {
        /// The Rust path of the record type.
        record_type: &'static str,
        /// What serde said.
        reason: String,
    },

    /// Two registered record types would share templates or indexes.
    #[error("{0}")]
    Collision(Collisions),

    /// No registered record type has that name.
    #[error(
        "no record type named {name:?}; known types: {known}. Check the name, or make sure the crate that declares it is linked into this binary"
    )]
    UnknownType {
        /// The name that was asked for.
        name: String,
        /// The names that exist, comma-separated.
        known: String,
    },

    /// Something the engine or backend does not implement.
    #[error("{what} is not supported: {hint}")]
    Unsupported {
        /// What was asked for, e.g. "query clause `geo_distance`".
        what: String,
        /// What to do instead.
        hint: &'static str,
    },

    /// A request body (query, aggregation, bulk item) that is malformed.
    #[error("bad request: {0}")]
    BadRequest(String),

    /// An index that no template matches was written to.
    #[error(
        "no index template matches index {index:?}: run setup (`store.setup()` or the `setup` command) before recording, or leave autosetup on"
    )]
    NoTemplate {
        /// The index that was written.
        index: String,
    },

    /// Another process holds the data directory for writing.
    #[error(
        "the data directory {path} is being written by {holder}; only one process may write it. Stop that process, or open the store read-only to search it"
    )]
    Locked {
        /// The data directory.
        path: String,
        /// Who holds it, e.g. "process 1234".
        holder: String,
    },

    /// A type's template does not exist and autosetup is off.
    #[error(
        "the template {template:?} is not set up: run setup (`store.setup()` or the `setup` command), or turn autosetup on"
    )]
    NotSetUp {
        /// The template name.
        template: String,
    },

    /// The backend rejected a record.
    #[error("record {id} was rejected: {error_type}: {reason}")]
    Rejected {
        /// The record's id.
        id: String,
        /// The backend's error type, e.g. `mapper_parsing_exception`.
        error_type: String,
        /// Why.
        reason: String,
    },

    /// The store was closed.
    #[error("the store is closed: open a new one to record again")]
    Closed,

    /// The writer's queue was full and the overflow policy is `error`.
    #[error(
        "the record was not queued: the queue of backend {backend:?} holds {capacity} records waiting to be written (the backend is slow or down). Record it again later, raise `queue_capacity`, or choose another `overflow` policy (block, drop_oldest, drop_newest) or a `spool_dir`"
    )]
    QueueFull {
        /// The backend whose queue is full.
        backend: String,
        /// The queue's capacity.
        capacity: usize,
    },

    /// The configuration is wrong.
    #[error("configuration: {0}")]
    Config(String),

    /// A file or directory operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done, e.g. "create the data directory".
        action: &'static str,
        /// The path it was done to.
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// Elasticsearch answered a request with an error, or could not be
    /// reached (`status` is then `None`).
    #[error("{}", elasticsearch_message(request, *status, error_type, reason))]
    Elasticsearch {
        /// The request, e.g. `PUT _index_template/shop_pageview`.
        request: String,
        /// The HTTP status of the answer.
        status: Option<u16>,
        /// Elasticsearch's `error.type`, e.g. `mapper_parsing_exception`.
        error_type: Option<String>,
        /// Elasticsearch's `error.reason`, or what went wrong on the way.
        reason: String,
    },

    /// The embedded engine (tantivy) failed.
    #[error("embedded engine: {0}")]
    Engine(String),

    /// A partition of the embedded store was written in a layout this
    /// version does not read (for example dates stored as tantivy
    /// `DateTime`, before they were epoch milliseconds).
    #[error(
        "the index {index} in {} cannot be read by this version of esrecord: {reason}. Export its records with the version that wrote it (`records export TYPE`), delete the index directory, and import them with this version (`records import TYPE FILE`)",
        dir.display()
    )]
    IncompatibleIndex {
        /// The index's name.
        index: String,
        /// Its directory.
        dir: std::path::PathBuf,
        /// What differs.
        reason: String,
    },

    /// A rules file that cannot be used: every problem, each with its rule
    /// and line.
    #[error("{0}")]
    InvalidRules(crate::rules::RuleProblems),

    /// A rule that loaded could not be evaluated against the store.
    #[error("rule `{rule}`: {reason}")]
    RuleEvaluation {
        /// The rule's name.
        rule: String,
        /// What went wrong, and what to change.
        reason: String,
    },

    /// Records that could not be laid out as Arrow columns: a field of no
    /// known layout, or a stored value that does not fit its column.
    #[error("cannot make Arrow columns of {what}: {reason}")]
    Arrow {
        /// The records or the field.
        what: String,
        /// Why, and what to do.
        reason: String,
    },

    /// A record or one of its fields could not be turned into JSON.
    #[error("cannot serialize {what}: {source}")]
    Serialize {
        /// What was being serialized.
        what: String,
        /// The serializer's own error.
        #[source]
        source: serde_json::Error,
    },
}

#[cfg(feature = "embedded")]
impl From<tantivy::TantivyError> for Error {
    fn from(error: tantivy::TantivyError) -> Self {
        Error::Engine(error.to_string())
    }
}

impl Error {
    /// Whether trying the same request again later may succeed: Elasticsearch
    /// was unreachable, too busy (429) or between nodes (502, 503, 504).
    ///
    /// ```
    /// let busy = esrecord::Error::Elasticsearch {
    ///     request: "POST _bulk".into(), status: Some(429),
    ///     error_type: Some("es_rejected_execution_exception".into()), reason: "queue full".into(),
    /// };
    /// assert!(busy.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Elasticsearch {
                status: None | Some(429 | 502 | 503 | 504),
                ..
            }
        )
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl AsRef<std::path::Path>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    pub(crate) fn invalid_name(what: &'static str, name: &str, reason: impl Into<String>) -> Self {
        Error::InvalidName {
            what,
            name: name.to_owned(),
            reason: reason.into(),
        }
    }
}

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every pair of registered record types whose names collide, as reported by
/// [`registry::check_collisions`](crate::registry::check_collisions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collisions(pub Vec<Collision>);

/// Two record types that would share a template name or whose index patterns overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    /// The Rust path of the first type.
    pub first: &'static str,
    /// The Rust path of the second type.
    pub second: &'static str,
    /// What they share, e.g. `template name "shop_pageview"`.
    pub what: String,
}

impl fmt::Display for Collisions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} record type name collision(s):", self.0.len())?;
        for c in &self.0 {
            writeln!(f, "  {} and {} share {}", c.first, c.second, c.what)?;
        }
        write!(
            f,
            "give one of each pair another `name`, `app_label`, `template_name` or `template` in #[record(...)]"
        )
    }
}

fn elasticsearch_message(
    request: &str,
    status: Option<u16>,
    error_type: &Option<String>,
    reason: &str,
) -> String {
    let hint = match status {
        None => {
            "Elasticsearch could not be reached: check the URL and that the cluster is up; the writer tries again"
        }
        Some(401) => {
            "the credentials were refused: check username and password_env/password_file, api_key_env or bearer_token_env"
        }
        Some(403) => {
            "the user may not do this: grant it the index and template privileges esrecord needs"
        }
        Some(404) => "it does not exist: run setup for templates, or check the index name",
        Some(429) => "the cluster is too busy; the writer tries again",
        Some(502..=504) => "the cluster is unavailable for now; the writer tries again",
        Some(400) => {
            "Elasticsearch refused the request as it is (a mapping conflict or a malformed body); run check"
        }
        Some(_) => "see Elasticsearch's logs",
    };
    let status = status.map_or_else(|| "no answer".to_owned(), |s| s.to_string());
    let error_type = error_type.as_deref().unwrap_or("error");
    format!("Elasticsearch {request}: {status} {error_type}: {reason}; {hint}")
}
