//! Typed time-series event records for Elasticsearch and an embedded engine.
//!
//! `#[derive(Record)]` turns a plain struct into a record type: an index
//! template (mappings and settings), time-partitioned index names, a place in
//! the process-wide [`registry`], and typed field handles for searches.
//!
//! ```
//! use chrono::{DateTime, TimeZone, Utc};
//! use esrecord::{Composite, Record};
//! use serde::{Deserialize, Serialize};
//! use std::collections::BTreeMap;
//!
//! #[derive(Composite, Serialize, Deserialize, Debug, Clone)]
//! pub struct Latency { pub p50_ms: f64, pub p99_ms: f64 }
//!
//! #[derive(Record, Serialize, Deserialize, Debug, Clone)]
//! #[record(app_label = "shop", timedepth = "month", settings(number_of_shards = 2, refresh_interval = "5s"))]
//! pub struct PageView {
//!     pub timestamp: DateTime<Utc>,
//!     pub item_id: u64,
//!     pub path: String,
//!     pub latency: Latency,
//!     pub tags: BTreeMap<String, String>,
//! }
//!
//! let t = PageView::record_type();
//! let ts = Utc.with_ymd_and_hms(2024, 3, 5, 7, 8, 9).unwrap();
//! assert_eq!(t.index_for(&ts), "shop_pageview_2024.03");
//! assert_eq!(PageView::fields().latency.p99_ms.path(), "latency.p99_ms");
//! assert_eq!(t.template_body()["template"]["mappings"]["properties"]["tags"]["type"], "flattened");
//! ```
//!
//! # Features
//!
//! - `embedded` (default): the embedded engine (tantivy), the store
//!   [`Store::open`] gives with no configuration. Without it, only
//!   Elasticsearch backends open; an embedded one is refused, naming this
//!   feature.
//! - `cli` (default): the operator binary, [`main!`].
//!
//! # Paths
//!
//! What every program names is at the crate root ([`Record`], [`Store`],
//! [`Error`], [`Timedepth`]...); the rest lives in its module
//! ([`search`], [`fields`], [`hooks`], [`bulk`], [`config`]...), and each
//! item has that one path.
//!
//! # Attributes
//!
//! On the struct, `#[record(...)]` takes: `name` (the type name; default the
//! struct name lowercased), `app_label` (default the defining crate's name),
//! `timedepth` (`year`, `month`, `day` or `hour`), `template_name`,
//! `template` (the index pattern), `settings(key = value, ...)`, `dynamic`
//! (`strict` by default, `true`, `false`, `runtime`), `backend` (a named
//! backend; default `default`), `retention` (`"90d"`, `"12h"`, `"2w"`...),
//! `unique_together(field, ...)` (a deterministic document id, so recording
//! the same key again overwrites; see [`document_id`]) and `simple` (one
//! index, not time-partitioned).
//!
//! On a field: `timestamp` (the record's time; default the field named
//! `timestamp`), `keyword`, `text`, `mapping = r#"{...}"#` (any mapping) and
//! `flatten` (a [`Composite`]'s fields at the parent's level; it goes with
//! `#[serde(flatten)]`, which alone is enough, because serde decides where
//! fields are written). serde's
//! `rename`, `rename_all`, `skip` and `flatten` are followed, so mappings
//! name what serde writes; serde attributes that change a field's shape in
//! ways the mapping cannot follow are compile errors.

extern crate self as esrecord;

pub mod alerts;
pub mod annotations;
pub mod backend;
mod blocking;
pub mod bulk;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod data_stream;
mod dates;
mod dead_letter;
pub mod document_id;
mod error;
pub mod export;
pub mod fields;
pub mod hooks;
mod leaves;
pub mod lifecycle;
pub mod mapping;
pub mod metrics;
pub mod naming;
pub mod operations;
mod record;
mod record_type;
pub mod registry;
mod retry;
pub mod rules;
pub mod search;
mod secret;
pub mod shape;
mod shared;
mod store;
mod stored_fields;
pub mod template;
pub mod time_series;
mod writer;

pub use crate::dead_letter::DeadLetter;
pub use crate::error::{Collision, Collisions, Error, Result};
pub use crate::leaves::numeric_leaves;
pub use crate::naming::time_range::{TimeBound, TimeRange};
pub use crate::record::{Composite, Record};
pub use crate::record_type::{DEFAULT_PATTERN_LIMIT, RecordType, SettingValue};
pub use crate::secret::Secret;
pub use crate::shared::{Dynamic, Retention, RetentionUnit, TimeSeriesMetric, Timedepth};
pub use crate::store::{
    CheckReport, CheckStatus, Partition, RetentionReport, SetupOutcome, SetupReport, Store,
    StoreBuilder, StreamPlace,
};
pub use crate::writer::{SendLatency, Stats};
pub use esrecord_derive::{Composite, Record};

/// The operator binary: `esrecord::main!();` in `src/bin/records.rs`
/// makes a `main` that runs `types`, `setup`, `check`, `indexes`,
/// `search`, `plot`, `import`, `export`, `metrics`, `rules`, `annotate` and
/// `annotations` over every record type linked into the program (see
/// [`cli`]). When the record types live in a library
/// crate that the binary does not otherwise use, name it, so that it is
/// linked: `esrecord::main!(my_records);`.
///
/// ```no_run
/// esrecord::main!();
/// ```
#[cfg(feature = "cli")]
#[macro_export]
macro_rules! main {
    ($($linked:ident),* $(,)?) => {
        $(use $linked as _;)*

        fn main() -> ::std::process::ExitCode {
            ::esrecord::__private::cli_main()
        }
    };
}

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// What generated code refers to. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "cli")]
    pub use crate::cli::main as cli_main;
    pub use crate::data_stream::DataStreamSpec;
    pub use crate::document_id::UniqueKey;
    pub use crate::fields::{Field, FullText, join_path};
    pub use crate::mapping::{DynamicTemplates, FieldType, object, typed};
    use crate::mapping::{KeywordField, TextField, TimestampField};
    pub use crate::operations::{OperationsRegistration, TypedOperations};
    pub use crate::record::{
        CheckByType, CheckNothing, Checked, Composite, FieldRef, Record, validated,
    };
    pub use crate::record_type::{RecordSpec, RecordType, SettingValue};
    pub use crate::registry::Registration;
    pub use crate::shape::{
        Shape, ShapeByMapping, ShapeByType, ShapeField, ShapeOf, shape_of_mapping_literal,
    };
    pub use crate::{Dynamic, Result, Retention, RetentionUnit, TimeSeriesMetric, Timedepth};
    pub use chrono::{DateTime, Utc};
    pub use inventory;
    pub use serde::{Serialize, de::DeserializeOwned};
    pub use serde_json::{Map, Value};
    pub use std::option::Option::{self, None, Some};
    pub use std::result::Result::Ok;
    pub use std::string::String;
    pub use std::sync::OnceLock;
    pub use std::vec::Vec;

    /// The timestamp of a record, from its timestamp field.
    pub fn timestamp_of<T: TimestampField>(field: &T) -> Option<DateTime<Utc>> {
        Some(field.instant())
    }

    /// Checks at compile time that `T` can be a keyword.
    pub fn assert_keyword<T: KeywordField + ?Sized>() {}

    /// Checks at compile time that `T` can be full text.
    pub fn assert_text<T: TextField + ?Sized>() {}

    /// A mapping given as a JSON literal in `#[record(mapping = ...)]`; the
    /// derive has checked that it parses as a JSON object.
    pub fn mapping_literal(json: &str) -> Value {
        serde_json::from_str(json).unwrap_or(Value::Null)
    }
}
