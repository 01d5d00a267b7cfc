//! Data streams: a time-series type stored in Elasticsearch as one data
//! stream, whose backing indexes Elasticsearch rolls over and its index
//! lifecycle management (ILM) deletes, in place of esrecord's own
//! time-partitioned indexes.
//!
//! A type is a data stream when it says so (`#[record(data_stream)]`) and
//! its backend allows it (`[backends.NAME.data_streams]` in
//! `esrecord.toml`, on an Elasticsearch backend). Everywhere else (the
//! embedded engine, a backend without the section) the same type keeps its
//! usual partitions, so code does not change between backends.
//!
//! **Names.** `#[record(data_stream)]` writes to the stream named like the
//! type's template, `{prefix}{app_label}_{name}` (`shop_pageview`).
//! `#[record(data_stream(type = "logs"))]` follows Elastic's convention,
//! `{type}-{dataset}-{namespace}`: the dataset is `{app_label}.{name}`
//! unless given (`dataset = "shop.views"`), the namespace is the backend's
//! (`namespace = "production"`, default `default`), and the backend's
//! `index_prefix` does not apply (the namespace is what tells environments
//! apart). The index template keeps the type's template name either way.
//!
//! **Documents.** Elasticsearch requires `@timestamp` in every document of
//! a data stream: when the type's timestamp is stored under another name,
//! the bulk encoder adds `@timestamp` (the same instant) to the document,
//! and the template maps it as a date. Typed reads ignore it. Writes are
//! bulk `create` only (a data stream never replaces a document), so a
//! `unique_together` type cannot be a data stream: the derive refuses it.
//!
//! **Time series (TSDS).** A data-stream type with `#[record(dimension)]`
//! fields is a time series data stream (`index.mode: time_series`); see
//! [`time_series`](crate::time_series).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::lifecycle::{self, Lifecycle, LifecycleSection};
use crate::mapping::DynamicTemplates;
use crate::naming;
use crate::record_type::RecordType;
use crate::time_series;

/// The template priority of a data stream's index template: above 200, so
/// that it wins over Elasticsearch's built-in `logs-*-*` and `metrics-*-*`
/// templates (priority 100) and the range Elastic reserves for its own.
pub const TEMPLATE_PRIORITY: u32 = 250;

/// `#[record(data_stream(...))]`, as the derive writes it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataStreamSpec {
    /// Elastic's `type` part (`logs`, `metrics`...), when the stream
    /// follows Elastic's naming.
    pub kind: Option<&'static str>,
    /// Elastic's `dataset` part, when given.
    pub dataset: Option<&'static str>,
}

/// How a backend stores the types that declare `data_stream`
/// (`[backends.NAME.data_streams]`).
///
/// ```
/// let config = esrecord::config::Config::from_toml(r#"
/// [backends.default]
/// kind = "elasticsearch"
/// url = "http://127.0.0.1:9200"
/// [backends.default.data_streams]
/// namespace = "production"
/// rollover_max_age = "1d"
/// "#).unwrap();
/// let streams = config.backends["default"].data_streams.as_ref().unwrap();
/// assert_eq!(streams.namespace, "production");
/// assert_eq!(streams.lifecycle.as_ref().unwrap().rollover_max_age.to_string(), "1d");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataStreamConfig {
    /// The namespace of streams named by Elastic's convention.
    pub namespace: String,
    /// The ILM policy settings; `None` when `ilm = false` (the cluster's
    /// own policies, or none, apply).
    pub lifecycle: Option<Lifecycle>,
}

impl Default for DataStreamConfig {
    fn default() -> Self {
        DataStreamConfig {
            namespace: "default".to_owned(),
            lifecycle: Some(Lifecycle::default()),
        }
    }
}

/// `[backends.NAME.data_streams]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct DataStreamSection {
    namespace: Option<String>,
    ilm: Option<bool>,
    #[serde(flatten)]
    lifecycle: LifecycleSection,
}

impl DataStreamSection {
    /// The configuration the section describes, checked.
    pub(crate) fn resolve(self, backend: &str) -> Result<DataStreamConfig> {
        let in_section =
            |message: String| Error::Config(format!("[backends.{backend}.data_streams] {message}"));
        let namespace = self.namespace.unwrap_or_else(|| "default".to_owned());
        check_part(&namespace)
            .map_err(|problem| in_section(format!("namespace {namespace:?}: {problem}")))?;
        let lifecycle = self.lifecycle.resolve().map_err(in_section)?;
        Ok(DataStreamConfig {
            namespace,
            lifecycle: self.ilm.unwrap_or(true).then_some(lifecycle),
        })
    }
}

/// The data stream a type writes to on one backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataStream {
    name: String,
    time_series: bool,
    lifecycle: Option<Lifecycle>,
}

impl DataStream {
    /// The stream `record_type` (as its backend names it, prefix included)
    /// writes to under `config`; `None` when the type does not declare
    /// `data_stream`.
    pub fn for_type(record_type: &RecordType, config: &DataStreamConfig) -> Option<DataStream> {
        let spec = record_type.data_stream_spec()?;
        let name = match spec.kind {
            Some(kind) => {
                let dataset = match spec.dataset {
                    Some(dataset) => dataset.to_owned(),
                    None => format!("{}.{}", record_type.app_label(), record_type.name()),
                };
                format!("{kind}-{dataset}-{}", config.namespace)
            }
            None => record_type.template_name(),
        };
        Some(DataStream {
            name,
            time_series: !record_type.dimensions().is_empty(),
            lifecycle: config.lifecycle.clone(),
        })
    }

    /// The stream's name, which every write and search names.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it is a time series data stream (`index.mode: time_series`):
    /// the type has dimensions.
    pub fn is_time_series(&self) -> bool {
        self.time_series
    }

    /// The ILM settings its policy is made from; `None` when esrecord does
    /// not manage the stream's policy.
    pub fn lifecycle(&self) -> Option<&Lifecycle> {
        self.lifecycle.as_ref()
    }

    /// The pattern of the stream's backing indexes, `.ds-{name}-*`.
    pub fn backing_pattern(&self) -> String {
        format!(".ds-{}-*", self.name)
    }

    /// Checks the name against Elasticsearch's rules for data streams: an
    /// index name (lowercase, no `*`...) that does not start with `.ds-`.
    pub fn validate(&self) -> Result<()> {
        naming::validate_index_name(&self.name)?;
        if self.name.starts_with(".ds-") {
            return Err(Error::invalid_name(
                "data stream name",
                &self.name,
                "it starts with `.ds-`, which Elasticsearch keeps for backing indexes",
            ));
        }
        Ok(())
    }
}

/// A part of a data stream name by Elastic's convention: an index name's
/// characters, and no `-`, which separates the parts.
fn check_part(part: &str) -> std::result::Result<(), String> {
    naming::validate_index_name(part).map_err(|e| e.to_string())?;
    if part.contains('-') {
        return Err(
            "it contains `-`, which separates the parts of `{type}-{dataset}-{namespace}`".into(),
        );
    }
    Ok(())
}

/// Adds to a data-stream type's template what the stream needs: the
/// `@timestamp` date (when the type stores its time under another name),
/// the ILM policy's name, and for a time series the TSDS settings and the
/// dimension and metric marks.
pub(crate) fn shape_template(
    record_type: &RecordType,
    stream: &DataStream,
    settings: &mut Map<String, Value>,
    properties: &mut Map<String, Value>,
    templates: &mut DynamicTemplates,
) -> Result<()> {
    if record_type.timestamp_field() != Some(TIMESTAMP) {
        properties.insert(TIMESTAMP.to_owned(), json!({"type": "date"}));
    }
    if stream.lifecycle().is_some() {
        settings.insert(
            "index.lifecycle.name".to_owned(),
            json!(record_type.template_name()),
        );
    }
    if stream.is_time_series() {
        let routing_path = time_series::mark_fields(record_type, properties, templates)?;
        settings.insert("index.mode".to_owned(), json!("time_series"));
        settings.insert("index.routing_path".to_owned(), json!(routing_path));
    }
    Ok(())
}

/// Checks what a data-stream type's backend will be sent: the stream's
/// name, its dimensions and metrics, and its ILM policy.
pub(crate) fn validate(record_type: &RecordType, stream: &DataStream) -> Result<()> {
    stream.validate()?;
    let mut templates = DynamicTemplates::default();
    let mut properties = (record_type.properties_fn())(&mut templates);
    shape_template(
        record_type,
        stream,
        &mut Map::new(),
        &mut properties,
        &mut templates,
    )?;
    if let Some(lifecycle) = stream.lifecycle() {
        lifecycle::policy_body(record_type, lifecycle).map_err(Error::Config)?;
    }
    Ok(())
}

/// The field every document of a data stream has.
pub const TIMESTAMP: &str = "@timestamp";
