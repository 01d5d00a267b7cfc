//! Time series data streams (TSDS): a data-stream type with dimensions is
//! stored with `index.mode: time_series`, where Elasticsearch groups the
//! documents by their dimensions, sorts them by time and compresses the
//! metrics.
//!
//! - `#[record(dimension)]` marks what identifies a series: a keyword, ip,
//!   integer or boolean field, or a map of strings (every key a dimension:
//!   in a TSDS template the map is an object whose keys are mapped as
//!   `keyword` dimensions, in place of the one `flattened` field it is
//!   elsewhere). The dimensions are the template's `index.routing_path`.
//! - `#[record(time_series_metric = "gauge" | "counter")]` marks a numeric
//!   field as a metric.
//!
//! **Downsampling** (`downsample_after` and `downsample_interval` in
//! `[backends.NAME.data_streams]`) replaces a backing index's points by
//! one document per series and interval: a gauge becomes Elasticsearch's
//! `aggregate_metric_double` (`{"min", "max", "sum", "value_count"}`), a
//! counter and every other field keep their last value, and the document
//! counts the points it stands for. What that changes for a typed search:
//!
//! - hits: a gauge read from a downsampled document is the interval's mean
//!   (`sum / value_count`), so the record type reads unchanged;
//! - `avg`, `min`, `max`, `sum` and `value_count` aggregations over a gauge
//!   stay exact (Elasticsearch computes them from the stored summaries), and
//!   so do document counts (`date_histogram`, `terms` buckets);
//! - `percentiles`, `cardinality` and `terms` over a gauge see one value
//!   per interval (Elasticsearch's `default_metric`, `max`), not the raw
//!   points: ask for them over ranges not yet downsampled;
//! - a counter's `max` stays exact; its `sum` and `avg` are over the kept
//!   last values, one per interval.
//!
//! What TSDS refuses is dealt with before or after sending, never lost in
//! silence:
//!
//! - a custom `_id`: Elasticsearch makes a point's id from its dimensions
//!   and timestamp, so the bulk encoder sends TSDS records without one. A
//!   second record with the same dimensions and timestamp is the same point
//!   to Elasticsearch (a 409, which the writer counts as written, as it
//!   counts a retried record);
//! - a timestamp outside the time bounds of the stream's writable backing
//!   indexes (by default from two hours before the stream's creation or
//!   last rollover until 30 minutes ahead of now): Elasticsearch rejects
//!   the item, and the writer hands it to the dead-letter hook with the
//!   reason and what to do (`look_back_time` and `look_ahead_time`).

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::mapping::DynamicTemplates;
use crate::record_type::RecordType;

/// The mapping types a dimension can have.
const DIMENSION_TYPES: [&str; 8] = [
    "keyword",
    "ip",
    "byte",
    "short",
    "integer",
    "long",
    "unsigned_long",
    "boolean",
];

/// The mapping types a metric can have.
const METRIC_TYPES: [&str; 9] = [
    "byte",
    "short",
    "integer",
    "long",
    "unsigned_long",
    "float",
    "half_float",
    "double",
    "scaled_float",
];

/// Marks the dimensions and metrics of `record_type` in its mapping's
/// `properties` (a map of strings becomes an object of keyword dimensions,
/// through `templates`), and returns the routing path: the dimensions'
/// paths, `tags.*` for a map.
pub(crate) fn mark_fields(
    record_type: &RecordType,
    properties: &mut Map<String, Value>,
    templates: &mut DynamicTemplates,
) -> Result<Vec<String>> {
    let mut routing_path = Vec::new();
    for &dimension in record_type.dimensions() {
        let mapping = field_mapping(record_type, properties, dimension)?;
        match mapping_type(mapping) {
            "flattened" => {
                *mapping = json!({"type": "object", "dynamic": true});
                templates.add_path_match(
                    dimension,
                    json!({"type": "keyword", "time_series_dimension": true}),
                );
                routing_path.push(format!("{dimension}.*"));
            }
            ty if DIMENSION_TYPES.contains(&ty) => {
                mapping["time_series_dimension"] = json!(true);
                routing_path.push(dimension.to_owned());
            }
            ty => {
                return Err(unsuitable(
                    record_type,
                    dimension,
                    ty,
                    "a dimension is a keyword, ip, integer or boolean field, or a map of strings",
                ));
            }
        }
    }
    for &(metric, kind) in record_type.time_series_metrics() {
        let mapping = field_mapping(record_type, properties, metric)?;
        let ty = mapping_type(mapping);
        if !METRIC_TYPES.contains(&ty) {
            return Err(unsuitable(
                record_type,
                metric,
                ty,
                "a time_series_metric is a numeric field",
            ));
        }
        mapping["time_series_metric"] = json!(kind.as_str());
    }
    Ok(routing_path)
}

fn field_mapping<'m>(
    record_type: &RecordType,
    properties: &'m mut Map<String, Value>,
    field: &str,
) -> Result<&'m mut Value> {
    properties.get_mut(field).ok_or_else(|| {
        Error::Config(format!(
            "{}: the time series field {field:?} is not in the mapping",
            record_type.rust_path()
        ))
    })
}

fn mapping_type(mapping: &Value) -> &str {
    mapping
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("object")
}

fn unsuitable(record_type: &RecordType, field: &str, ty: &str, rule: &str) -> Error {
    Error::Config(format!(
        "{}: field {field:?} is mapped as {ty:?}, and {rule}; change the field's type or remove its attribute",
        record_type.rust_path()
    ))
}

/// Reads a document of a downsampled backing index as the record type
/// stores it: every gauge held as a summary (`{"min", "max", "sum",
/// "value_count"}`) becomes the interval's mean. Returns whether anything
/// changed, so a document that does not read for another reason keeps its
/// error.
pub(crate) fn read_downsampled(record_type: &RecordType, source: &mut Value) -> bool {
    let mut changed = false;
    for &(metric, kind) in record_type.time_series_metrics() {
        if kind != crate::TimeSeriesMetric::Gauge {
            continue;
        }
        let Some(value) = source.get_mut(metric) else {
            continue;
        };
        let summary = (
            value.get("sum").and_then(Value::as_f64),
            value.get("value_count").and_then(Value::as_f64),
        );
        if let (Some(sum), Some(count)) = summary {
            *value = if count > 0.0 {
                json!(sum / count)
            } else {
                Value::Null
            };
            changed = true;
        }
    }
    changed
}

/// The reason Elasticsearch gives for a document outside a time series
/// stream's writable time bounds, with what to do about it; `None` for any
/// other reason.
pub(crate) fn explain_rejection(reason: &str) -> Option<String> {
    reason
        .contains("is outside of ranges of currently writable indices")
        .then(|| {
            format!(
                "{reason} (a time series data stream accepts only points from index.look_back_time (2h by default) before its creation or last rollover until index.look_ahead_time (30m by default) after now; record points as they happen, or widen the bounds with #[record(settings(look_back_time = \"1d\"))])"
            )
        })
}
