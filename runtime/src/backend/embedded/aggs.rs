//! Aggregations on the embedded engine: Elasticsearch aggregation requests
//! run by tantivy and answered in Elasticsearch's response shape.
//!
//! A search hands the `aggs` (or `aggregations`) object of its body to
//! [`parse`], which checks it against the supported subset and rewrites it
//! into tantivy's request. [`AggRequest::resolve_fields`] then looks the
//! aggregated fields up in a partition's schema (optional, but without it
//! date fields and double-valued terms keys come back as tantivy gives
//! them, see below). Every partition searcher runs its own [`collector`];
//! [`finalize`] merges their results and reshapes them into the JSON
//! Elasticsearch returns under `aggregations`.
//!
//! # Supported
//!
//! - `date_histogram`: `field`, `fixed_interval` (whole `ms`, `s`, `m`, `h`
//!   or `d`), `calendar_interval` for units of fixed length in UTC
//!   (`second`/`1s`, `minute`/`1m`, `hour`/`1h`, `day`/`1d`, `week`/`1w`,
//!   weeks starting on Monday as in Elasticsearch), `time_zone` only when it
//!   names UTC, `format` only when it is the default, `offset`,
//!   `min_doc_count`, `extended_bounds`, `hard_bounds`, `keyed`, and `order`
//!   only as `{"_key": "asc"}`.
//! - `histogram`: `field`, `interval`, `offset`, `min_doc_count`,
//!   `extended_bounds`, `hard_bounds`, `keyed`, `order` as `{"_key": "asc"}`.
//! - `terms`: `field`, `size`, `shard_size`, `min_doc_count`, `order` by
//!   `_count` or `_key` (an object, or an array of one, or `_count` then
//!   `{"_key": "asc"}`), `missing` (not on dates),
//!   `show_term_doc_count_error: false`, and the execution hints
//!   `execution_hint` and `collect_mode`.
//! - `avg`, `min`, `max`, `sum`, `stats`: `field`, `missing` (a number).
//! - `value_count`: `field`. `cardinality`: `field`, `precision_threshold`.
//! - `percentiles`: `field`, `percents`, `keyed`, `missing`, `tdigest`.
//! - `meta` on any aggregation, and sub-aggregations (`aggs` or
//!   `aggregations`) under the bucket aggregations.
//!
//! Everything else is [`Error::Unsupported`] naming the aggregation type or
//! the parameter and the aggregation's name: no key of the request is ever
//! ignored. The only keys accepted without effect are the hints that tune
//! how Elasticsearch computes an approximation or executes the aggregation
//! (`precision_threshold`, `tdigest`, `execution_hint`, `collect_mode`):
//! the engine's own approximations are used whatever they say.
//!
//! # Differences from Elasticsearch that remain
//!
//! - `percentiles` come from a DDSketch (relative error about 1%), where
//!   Elasticsearch uses a t-digest; for the same data the two differ in the
//!   last digits, and neither interpolates the way the other does.
//! - `cardinality` is a HyperLogLog estimate; Elasticsearch is exact below
//!   `precision_threshold` (default 3000), the engine only nearly so.
//! - `terms` cuts each segment at `shard_size` (default `10 * size`, where
//!   Elasticsearch uses `1.5 * size + 10` per shard), so approximate counts,
//!   `doc_count_error_upper_bound` and `sum_other_doc_count` can differ from
//!   Elasticsearch's on data with more distinct terms than that.
//! - On a `double` field, which buckets a `terms` aggregation keeps when it
//!   cuts at `size` can differ from Elasticsearch when keys with and without
//!   a fractional part mix and the order is `_key` (or counts tie at the
//!   cut): tantivy sorts whole-number keys apart from the others. The
//!   buckets returned are re-sorted into Elasticsearch's order.
//! - Date values are formatted as `strict_date_optional_time`
//!   (`2024-03-05T07:00:00.000Z`) whatever `format` the field's mapping
//!   declares.
//! - `avg`, `sum` and `percentiles` of a date field are computed on
//!   nanoseconds and converted to milliseconds, so their last digits can
//!   differ; `min` and `max` are exact.
//! - `doc_count_error_upper_bound` is 0 for `_key` order and tantivy's
//!   per-segment bound for `_count` order; Elasticsearch computes it per
//!   shard (and reports -1 for `_count` ascending when shards were cut).
//! - `terms` with `min_doc_count: 0` adds zero-count terms of keyword
//!   fields only.
//! - `extended_bounds` combined with a non-zero `offset` is applied to the
//!   offset bucket grid; Elasticsearch rounds the bounds without the offset
//!   first, which can add or drop one empty bucket at either end.
//! - A histogram over a date field, nested under `terms`, across
//!   partitions of which one does not map the field (an older template),
//!   can fail with "more than 65000 buckets": tantivy then takes the
//!   unmapped partition's result as one over numbers. At the top level and
//!   under histograms this is repaired when [`AggRequest::resolve_fields`]
//!   knows the field is a date.
//! - More than 65,000 buckets in one response, or more than 500 MB of
//!   aggregation state per partition, is an error (Elasticsearch's
//!   `search.max_buckets` defaults to 65,536).

use std::cmp::Ordering;
use std::fmt::Display;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Number, Value, json};
use tantivy::TantivyError;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::{
    AggregationResult, AggregationResults, BucketEntries, BucketEntry, BucketResult, MetricResult,
};
use tantivy::aggregation::intermediate_agg_result::{
    IntermediateAggregationResult, IntermediateAggregationResults, IntermediateBucketResult,
};
use tantivy::aggregation::metric::{PercentileValues, Stats};
use tantivy::aggregation::{
    AggContextParams, AggregationError, AggregationLimitsGuard, DEFAULT_BUCKET_LIMIT,
    DistributedAggregationCollector, Key,
};
use tantivy::tokenizer::TokenizerManager;

use super::schema::{FieldKind, LeafKind, PartitionSchema};
use super::values::json_type;
use crate::error::{Error, Result};

const SECOND_MS: i64 = 1_000;
const MINUTE_MS: i64 = 60 * SECOND_MS;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
const WEEK_MS: i64 = 7 * DAY_MS;
/// 1970-01-05T00:00:00Z, the first Monday after the epoch. Elasticsearch's
/// calendar weeks start on Mondays, so weekly buckets are the fixed 7-day
/// grid shifted by this much.
const FIRST_MONDAY_MS: i64 = 4 * DAY_MS;
/// The longest interval or offset tantivy accepts: it works in nanoseconds.
const MAX_SPAN_MS: i64 = i64::MAX / 1_000_000;
/// The most buckets one histogram may fill in; tantivy's limit for a response.
const BUCKET_LIMIT: f64 = DEFAULT_BUCKET_LIMIT as f64;
/// How many intervals from the origin a bucket may be (2^53: beyond it,
/// positions are no longer whole numbers in a double).
const MAX_BUCKET_POSITION: f64 = 9_007_199_254_740_992.0;
/// Elasticsearch's percents when a request gives none.
const DEFAULT_PERCENTS: [f64; 7] = [1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0];
/// Time zones that are UTC under another name.
const UTC_NAMES: [&str; 15] = [
    "UTC",
    "Z",
    "+00:00",
    "-00:00",
    "+00",
    "+0000",
    "Etc/UTC",
    "GMT",
    "Etc/GMT",
    "UCT",
    "Etc/UCT",
    "Universal",
    "Etc/Universal",
    "Zulu",
    "Etc/Zulu",
];
/// Date formats whose output is the default, `strict_date_optional_time`.
const DEFAULT_DATE_FORMATS: [&str; 4] = [
    "strict_date_optional_time",
    "strict_date_optional_time||epoch_millis",
    "date_optional_time",
    "date_optional_time||epoch_millis",
];

const HINT_TYPES: &str = "the embedded engine runs date_histogram, histogram, terms, avg, min, max, sum, value_count, stats, percentiles and cardinality; rewrite the aggregation with those, or run this search on Elasticsearch";
const HINT_CALENDAR: &str = "months, quarters and years have no fixed length; use fixed_interval (e.g. \"30d\") or calendar_interval up to \"week\", or run this search on Elasticsearch";
const HINT_TIME_ZONE: &str = "the embedded engine buckets dates in UTC only; leave time_zone out (or give \"UTC\") and shift the bucket keys on the client, or run this search on Elasticsearch";
const HINT_FORMAT: &str = "dates are formatted as strict_date_optional_time (2024-03-05T07:00:00.000Z); leave `format` out and format `key` (epoch milliseconds) on the client";
const HINT_SCRIPT: &str = "scripts do not run on the embedded engine; aggregate on a mapped field, or run this search on Elasticsearch";
const HINT_MISSING: &str = "`missing` is supported on terms, avg, min, max, sum, stats and percentiles of numeric fields; leave it out and count the documents without the field with a query";
const HINT_INTERVAL: &str = "`interval` is deprecated in Elasticsearch; use fixed_interval (e.g. \"1h\") or calendar_interval (e.g. \"hour\")";
const HINT_HISTOGRAM_ORDER: &str =
    "histogram buckets come in ascending key order; sort them on the client";
const HINT_TERMS_ORDER: &str = "order terms by `_count` or `_key`; sort by sub-aggregation values on the client, or run this search on Elasticsearch";
const HINT_INCLUDE: &str = "filter the terms with the query instead (a `terms` query on the field)";
const HINT_DOC_COUNT_ERROR: &str = "per-bucket doc count errors are not computed; leave show_term_doc_count_error out (the aggregation-level doc_count_error_upper_bound is returned)";
const HINT_HDR: &str = "percentiles are computed with a DDSketch; leave `hdr` out, or run this search on Elasticsearch";
const HINT_DATE_MATH: &str = "give bounds as epoch milliseconds or ISO-8601 dates (2024-03-05T07:00:00Z); date math such as now-1d is not evaluated";
const HINT_INTERVAL_UNIT: &str =
    "intervals are whole numbers of ms, s, m, h or d on the embedded engine";
const HINT_FLATTENED_ROOT: &str = "aggregate on one key below the field (e.g. `tags.platform`), or run this search on Elasticsearch";
const HINT_DATE_MISSING: &str = "`missing` is supported for numeric fields only; leave it out and count the documents without the field with a query";

/// A parsed aggregation request: tantivy's request, and the tree of
/// aggregations that [`finalize`] walks to give the response
/// Elasticsearch's shape.
#[derive(Debug, Clone)]
pub(crate) struct AggRequest {
    /// What tantivy runs.
    tantivy: Aggregations,
    /// The aggregations at the top level, in the order of the request.
    nodes: Vec<Node>,
}

/// One aggregation of the request.
#[derive(Debug, Clone)]
struct Node {
    /// Its name, the key of its result.
    name: String,
    /// Its names from the top level joined with `>`, for messages.
    path: String,
    /// The field it aggregates.
    field: String,
    kind: Kind,
    /// What the field holds, once [`AggRequest::resolve_fields`] knows.
    values: Values,
    /// Whether the request gives `missing`.
    missing: bool,
    /// `meta`, returned as given.
    meta: Option<Value>,
    /// Its sub-aggregations.
    subs: Vec<Node>,
}

#[derive(Debug, Clone)]
enum Kind {
    DateHistogram { keyed: bool, grid: Grid },
    Histogram { keyed: bool, grid: Grid },
    Terms { order: TermsOrder },
    Avg,
    Min,
    Max,
    Sum,
    ValueCount,
    Stats,
    Cardinality,
    Percentiles { keyed: bool },
}

impl Kind {
    fn is_bucket(&self) -> bool {
        matches!(
            self,
            Kind::DateHistogram { .. } | Kind::Histogram { .. } | Kind::Terms { .. }
        )
    }

    /// Whether the aggregation takes numbers (and dates, which are numbers
    /// of milliseconds).
    fn is_numeric(&self) -> bool {
        matches!(
            self,
            Kind::Histogram { .. }
                | Kind::Avg
                | Kind::Min
                | Kind::Max
                | Kind::Sum
                | Kind::Stats
                | Kind::Percentiles { .. }
        )
    }
}

/// What decides how many buckets a histogram fills in.
#[derive(Debug, Clone, Copy)]
struct Grid {
    /// The width of the buckets (milliseconds for dates).
    interval: f64,
    /// The offset of the bucket grid (milliseconds for dates).
    offset: f64,
    /// The extended bounds given to tantivy (milliseconds for dates).
    extended_min: Option<f64>,
    extended_max: Option<f64>,
    /// Whether empty buckets are filled in (`min_doc_count` 0).
    fills: bool,
}

impl Grid {
    /// An error when the buckets between `min` and `max` are more than a
    /// response may hold: tantivy would build them all before saying so.
    fn check_span(&self, ctx_path: &str, min: f64, max: f64, unit: f64) -> Result<()> {
        if !self.fills || min > max {
            return Ok(());
        }
        let buckets = (max - min) / (self.interval * unit);
        if buckets <= BUCKET_LIMIT {
            Ok(())
        } else {
            Err(Error::BadRequest(format!(
                "histogram `{ctx_path}` would return more than {BUCKET_LIMIT} buckets; use a wider interval, narrower bounds or a narrower time range, or set min_doc_count to 1"
            )))
        }
    }

    /// An error when a bucket key is further from the grid's origin than
    /// tantivy can count in intervals (it then puts values in wrong buckets).
    fn check_key(&self, ctx_path: &str, key: f64, unit: f64) -> Result<()> {
        let position = (key - self.offset * unit) / (self.interval * unit);
        if position.abs() < MAX_BUCKET_POSITION {
            Ok(())
        } else {
            Err(Error::BadRequest(format!(
                "the interval of histogram `{ctx_path}` is too small for the values aggregated; use a wider interval"
            )))
        }
    }
}

/// What a field holds, as far as the response depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Values {
    /// Not looked up, or not mapped in the partitions seen.
    Unknown,
    Date,
    Float,
    Integer,
    Boolean,
    Keyword,
    Ip,
    Text,
}

impl Values {
    fn of(kind: FieldKind) -> Self {
        match kind {
            FieldKind::Date => Values::Date,
            FieldKind::F64 | FieldKind::DynamicObject(LeafKind::F64) => Values::Float,
            FieldKind::I64
            | FieldKind::U64
            | FieldKind::DynamicObject(LeafKind::I64 | LeafKind::U64) => Values::Integer,
            FieldKind::Bool => Values::Boolean,
            FieldKind::Keyword
            | FieldKind::Flattened
            | FieldKind::DynamicObject(LeafKind::Keyword) => Values::Keyword,
            FieldKind::Ip => Values::Ip,
            FieldKind::Text => Values::Text,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Values::Unknown => "unknown",
            Values::Date => "date",
            Values::Float => "double",
            Values::Integer => "long",
            Values::Boolean => "boolean",
            Values::Keyword => "keyword",
            Values::Ip => "ip",
            Values::Text => "text",
        }
    }
}

/// The order of terms buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TermsOrder {
    by_key: bool,
    ascending: bool,
}

impl AggRequest {
    /// Looks the aggregated fields up in a partition's schema. Call it with
    /// the schema of each partition searched (or at least one that maps the
    /// fields): it rejects aggregations Elasticsearch rejects for the
    /// field's type (any aggregation on `text`, a numeric aggregation on a
    /// keyword, the root of a flattened field), and records the types the
    /// response depends on. Without it, dates in `avg`/`min`/`max`/`sum`/
    /// `stats`/`percentiles` come back as tantivy's nanoseconds without
    /// `value_as_string`, `terms` on a date field has tantivy's RFC 3339
    /// string keys, and `terms` on a `double` field has whole-number keys
    /// as integers (`2` where Elasticsearch says `2.0`). It also lets
    /// [`finalize`] repair date histograms over partitions that do not map
    /// the field. The first schema that maps a field decides its type.
    pub(crate) fn resolve_fields(&mut self, schema: &PartitionSchema) -> Result<()> {
        resolve_nodes(&mut self.nodes, schema)
    }
}

fn resolve_nodes(nodes: &mut [Node], schema: &PartitionSchema) -> Result<()> {
    for node in nodes.iter_mut() {
        if let Some(resolved) = schema.resolve(&node.field) {
            let json_root = matches!(
                resolved.kind,
                FieldKind::Flattened | FieldKind::DynamicObject(_)
            ) && resolved.json_path.is_empty();
            if json_root {
                return Err(Error::Unsupported {
                    what: format!(
                        "aggregating on `{}`, an object of keys (in `{}`)",
                        node.field, node.path
                    ),
                    hint: HINT_FLATTENED_ROOT,
                });
            }
            let values = Values::of(resolved.kind);
            check_field_type(node, values)?;
            if node.values == Values::Unknown {
                node.values = values;
            }
        }
        resolve_nodes(&mut node.subs, schema)?;
    }
    Ok(())
}

fn check_field_type(node: &Node, values: Values) -> Result<()> {
    if values == Values::Text {
        return Err(Error::BadRequest(format!(
            "aggregation `{}` is on `{}`, a text field: text fields are analysed and cannot be aggregated; aggregate on a keyword field instead",
            node.path, node.field
        )));
    }
    let numeric = matches!(
        values,
        Values::Date | Values::Float | Values::Integer | Values::Boolean
    );
    let accepted = match node.kind {
        Kind::DateHistogram { .. } => {
            matches!(values, Values::Date | Values::Float | Values::Integer)
        }
        _ if node.kind.is_numeric() => numeric,
        _ => true,
    };
    if !accepted {
        return Err(Error::BadRequest(format!(
            "field `{}` of type `{}` cannot be aggregated by `{}` (in `{}`); use a terms, cardinality or value_count aggregation on it, or aggregate a numeric field",
            node.field,
            values.name(),
            type_name(&node.kind),
            node.path
        )));
    }
    if values == Values::Date && node.missing {
        return Err(Error::Unsupported {
            what: format!(
                "`missing` on the date field `{}` (in `{}`)",
                node.field, node.path
            ),
            hint: HINT_DATE_MISSING,
        });
    }
    Ok(())
}

fn type_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::DateHistogram { .. } => "date_histogram",
        Kind::Histogram { .. } => "histogram",
        Kind::Terms { .. } => "terms",
        Kind::Avg => "avg",
        Kind::Min => "min",
        Kind::Max => "max",
        Kind::Sum => "sum",
        Kind::ValueCount => "value_count",
        Kind::Stats => "stats",
        Kind::Cardinality => "cardinality",
        Kind::Percentiles { .. } => "percentiles",
    }
}

/// Reads the `aggs` object of a search body: checks every aggregation
/// against the supported subset (see the module documentation) and
/// rewrites it into tantivy's request. Anything outside the subset is
/// [`Error::Unsupported`] naming it; a malformed body is
/// [`Error::BadRequest`].
pub(crate) fn parse(aggs: &Value) -> Result<AggRequest> {
    let (nodes, tantivy_json) = parse_level(aggs, "")?;
    let tantivy: Aggregations =
        serde_json::from_value(Value::Object(tantivy_json)).map_err(|error| {
            Error::BadRequest(format!(
                "the aggregations could not be read by the embedded engine: {error}"
            ))
        })?;
    Ok(AggRequest { tantivy, nodes })
}

/// A collector for one partition's searcher; its fruit goes to
/// [`finalize`]. `tokenizers` is the partition index's tokenizer manager
/// (`index.tokenizers()`). Limits are tantivy's defaults: 65,000 buckets
/// and 500 MB.
pub(crate) fn collector(
    request: &AggRequest,
    tokenizers: &TokenizerManager,
) -> DistributedAggregationCollector {
    let context = AggContextParams::new(AggregationLimitsGuard::default(), tokenizers.clone());
    DistributedAggregationCollector::from_aggs(request.tantivy.clone(), context)
}

/// Merges the per-partition results of `request` and returns what
/// Elasticsearch returns under `aggregations`. With no partials (no
/// partition searched) every aggregation is empty, as Elasticsearch
/// answers a search that matches nothing. The partials must come from
/// [`collector`]s of this same request.
pub(crate) fn finalize(
    request: &AggRequest,
    partials: Vec<IntermediateAggregationResults>,
) -> Result<Value> {
    let mut merged = IntermediateAggregationResults::default();
    for partial in partials {
        merged.merge_fruits(partial).map_err(engine_error)?;
    }
    mark_date_histograms(&request.nodes, &mut merged)?;
    check_bucket_spans(&request.nodes, &merged)?;
    let results = merged
        .into_final_result(request.tantivy.clone(), AggregationLimitsGuard::default())
        .map_err(engine_error)?;
    Ok(Value::Object(reshape_level(&request.nodes, results)?))
}

/// Marks the histograms over date fields as such. Tantivy marks a partial
/// histogram as one over dates when its segment's column holds dates, and
/// merging keeps the first partial's mark: a partition whose schema lacks
/// the field (an older template) has no column and says "not dates", and
/// if it comes first the keys stay in nanoseconds. Only histograms at the
/// top level or under histograms can be reached; see the module
/// documentation for those under terms.
fn mark_date_histograms(
    nodes: &[Node],
    results: &mut IntermediateAggregationResults,
) -> Result<()> {
    for node in nodes {
        if !matches!(
            node.kind,
            Kind::DateHistogram { .. } | Kind::Histogram { .. }
        ) {
            continue;
        }
        let Some(result) = results.remove(&node.name) else {
            continue;
        };
        let result = match result {
            IntermediateAggregationResult::Bucket(IntermediateBucketResult::Histogram {
                is_date_agg,
                mut buckets,
            }) => {
                for bucket in &mut buckets {
                    mark_date_histograms(&node.subs, &mut bucket.sub_aggregation)?;
                }
                IntermediateAggregationResult::Bucket(IntermediateBucketResult::Histogram {
                    is_date_agg: is_date_agg || node.values == Values::Date,
                    buckets,
                })
            }
            other => other,
        };
        results
            .push(node.name.clone(), result)
            .map_err(engine_error)?;
    }
    Ok(())
}

/// Checks that no histogram would fill in more buckets than a response may
/// hold, before tantivy builds them (it would overflow or exhaust memory on
/// bounds or values far apart).
fn check_bucket_spans(nodes: &[Node], results: &IntermediateAggregationResults) -> Result<()> {
    for node in nodes {
        let Some(IntermediateAggregationResult::Bucket(result)) = results.get(&node.name) else {
            continue;
        };
        match result {
            IntermediateBucketResult::Histogram {
                is_date_agg,
                buckets,
            } => {
                if let Kind::DateHistogram { grid, .. } | Kind::Histogram { grid, .. } = &node.kind
                {
                    // Tantivy's keys over a date column are nanoseconds.
                    let unit = if *is_date_agg { 1_000_000.0 } else { 1.0 };
                    let mut min = grid.extended_min.map_or(f64::INFINITY, |m| m * unit);
                    let mut max = grid.extended_max.map_or(f64::NEG_INFINITY, |m| m * unit);
                    for bucket in buckets {
                        grid.check_key(&node.path, bucket.key, unit)?;
                        min = min.min(bucket.key);
                        max = max.max(bucket.key);
                    }
                    grid.check_span(&node.path, min, max, unit)?;
                }
                for bucket in buckets {
                    check_bucket_spans(&node.subs, &bucket.sub_aggregation)?;
                }
            }
            IntermediateBucketResult::Terms { buckets } => {
                for (_, bucket) in buckets.entries() {
                    check_bucket_spans(&node.subs, &bucket.sub_aggregation)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Turns tantivy's limit errors into a request error that says what to do.
fn engine_error(error: TantivyError) -> Error {
    match error {
        TantivyError::AggregationError(AggregationError::BucketLimitExceeded {
            limit,
            current,
        }) => Error::BadRequest(format!(
            "the aggregations would return {current} buckets, more than the limit of {limit}; use a wider interval, a smaller size or a narrower time range"
        )),
        TantivyError::AggregationError(AggregationError::MemoryExceeded { limit, current }) => {
            Error::BadRequest(format!(
                "the aggregations need {current} of memory, more than the limit of {limit}; use a wider interval, a smaller size or a narrower time range"
            ))
        }
        other => Error::from(other),
    }
}

// ---------------------------------------------------------------------------
// Parsing

/// Parses one level of named aggregations into nodes and tantivy's JSON.
fn parse_level(aggs: &Value, parent: &str) -> Result<(Vec<Node>, Map<String, Value>)> {
    let Some(aggs) = aggs.as_object() else {
        let place = if parent.is_empty() {
            String::from("`aggs`")
        } else {
            format!("the sub-aggregations of `{parent}`")
        };
        return Err(Error::BadRequest(format!(
            "{place} must be an object of named aggregations, like {{\"per_hour\": {{\"date_histogram\": ...}}}}, not {}",
            json_type(aggs)
        )));
    };
    let mut nodes = Vec::with_capacity(aggs.len());
    let mut tantivy = Map::new();
    for (name, body) in aggs {
        if name.is_empty() || name.contains(['[', ']', '>']) {
            return Err(Error::BadRequest(format!(
                "invalid aggregation name {name:?}: a name must be non-empty and contain no `[`, `]` or `>`"
            )));
        }
        let path = if parent.is_empty() {
            name.clone()
        } else {
            format!("{parent}>{name}")
        };
        let (node, json) = parse_aggregation(name, path, body)?;
        nodes.push(node);
        tantivy.insert(name.clone(), json);
    }
    Ok((nodes, tantivy))
}

/// What one aggregation's parameters parse into.
struct Parsed {
    kind: Kind,
    field: String,
    missing: bool,
    /// The parameters as tantivy reads them.
    tantivy: Value,
}

fn parse_aggregation(name: &str, path: String, body: &Value) -> Result<(Node, Value)> {
    let Some(body) = body.as_object() else {
        return Err(Error::BadRequest(format!(
            "aggregation `{path}` must be an object like {{\"avg\": {{\"field\": \"...\"}}}}, not {}",
            json_type(body)
        )));
    };
    let mut definition: Option<(&str, &Value)> = None;
    let mut subs: Option<(&str, &Value)> = None;
    let mut meta = None;
    for (key, value) in body {
        match key.as_str() {
            "aggs" | "aggregations" => {
                if let Some((first, _)) = subs {
                    return Err(Error::BadRequest(format!(
                        "aggregation `{path}` has both `{first}` and `{key}`; give its sub-aggregations once"
                    )));
                }
                subs = Some((key, value));
            }
            "meta" => {
                if !value.is_object() {
                    return Err(Error::BadRequest(format!(
                        "the `meta` of aggregation `{path}` must be an object, not {}",
                        json_type(value)
                    )));
                }
                meta = Some(value.clone());
            }
            _ => {
                if let Some((first, _)) = definition {
                    return Err(Error::BadRequest(format!(
                        "aggregation `{path}` has two types, `{first}` and `{key}`; give each aggregation its own name"
                    )));
                }
                definition = Some((key, value));
            }
        }
    }
    let Some((ty, params)) = definition else {
        return Err(Error::BadRequest(format!(
            "aggregation `{path}` has no type; give one, like {{\"avg\": {{\"field\": \"...\"}}}}"
        )));
    };
    let ctx = Ctx { ty, path: &path };
    let parse_params: fn(&Ctx<'_>, &Map<String, Value>) -> Result<Parsed> = match ty {
        "date_histogram" => parse_date_histogram,
        "histogram" => parse_histogram,
        "terms" => parse_terms,
        "avg" | "min" | "max" | "sum" | "stats" => parse_simple_metric,
        "value_count" | "cardinality" => parse_counting_metric,
        "percentiles" => parse_percentiles,
        other => {
            return Err(Error::Unsupported {
                what: format!("aggregation `{other}` (in `{path}`)"),
                hint: HINT_TYPES,
            });
        }
    };
    let Some(params) = params.as_object() else {
        return Err(ctx.bad(format!(
            "its parameters must be an object, not {}",
            json_type(params)
        )));
    };
    let parsed = parse_params(&ctx, params)?;
    let mut tantivy = Map::new();
    tantivy.insert(ty.to_owned(), parsed.tantivy);
    let sub_nodes = match subs {
        None => Vec::new(),
        Some((key, subs)) => {
            if !parsed.kind.is_bucket() {
                return Err(ctx.bad(format!(
                    "`{ty}` computes a value and cannot hold `{key}`; put the sub-aggregations under a bucket aggregation"
                )));
            }
            let (nodes, json) = parse_level(subs, &path)?;
            if !json.is_empty() {
                tantivy.insert(String::from("aggs"), Value::Object(json));
            }
            nodes
        }
    };
    let node = Node {
        name: name.to_owned(),
        path,
        field: parsed.field,
        kind: parsed.kind,
        values: Values::Unknown,
        missing: parsed.missing,
        meta,
        subs: sub_nodes,
    };
    Ok((node, Value::Object(tantivy)))
}

/// The aggregation being parsed, for messages.
struct Ctx<'a> {
    ty: &'a str,
    path: &'a str,
}

impl Ctx<'_> {
    fn bad(&self, message: impl Display) -> Error {
        Error::BadRequest(format!(
            "aggregation `{}` ({}): {message}",
            self.path, self.ty
        ))
    }

    fn unsupported(&self, what: impl Display, hint: &'static str) -> Error {
        Error::Unsupported {
            what: format!("{what} in aggregation `{}` (in `{}`)", self.ty, self.path),
            hint,
        }
    }

    /// A key this aggregation does not take.
    fn unknown(&self, key: &str) -> Error {
        let hint = match self.ty {
            "date_histogram" => {
                "date_histogram takes field, fixed_interval, calendar_interval, time_zone (UTC), format (default), offset, min_doc_count, extended_bounds, hard_bounds, keyed and order (_key asc); remove the others, or run this search on Elasticsearch"
            }
            "histogram" => {
                "histogram takes field, interval, offset, min_doc_count, extended_bounds, hard_bounds, keyed and order (_key asc); remove the others, or run this search on Elasticsearch"
            }
            "terms" => {
                "terms takes field, size, shard_size, min_doc_count, order (_count or _key), missing, execution_hint and collect_mode; remove the others, or run this search on Elasticsearch"
            }
            "percentiles" => {
                "percentiles takes field, percents, keyed, missing and tdigest; remove the others, or run this search on Elasticsearch"
            }
            "value_count" => {
                "value_count takes field; remove the others, or run this search on Elasticsearch"
            }
            "cardinality" => {
                "cardinality takes field and precision_threshold; remove the others, or run this search on Elasticsearch"
            }
            _ => {
                "avg, min, max, sum and stats take field and missing; remove the others, or run this search on Elasticsearch"
            }
        };
        self.unsupported(format_args!("parameter `{key}`"), hint)
    }

    /// Keys that are Elasticsearch's but not the engine's: an error saying so.
    fn common_unsupported(&self, key: &str) -> Error {
        match key {
            "script" => self.unsupported("`script`", HINT_SCRIPT),
            "format" => self.unsupported("`format`", HINT_FORMAT),
            "missing" => self.unsupported("`missing`", HINT_MISSING),
            _ => self.unknown(key),
        }
    }

    fn string<'v>(&self, key: &str, value: &'v Value) -> Result<&'v str> {
        value.as_str().ok_or_else(|| {
            self.bad(format!(
                "`{key}` must be a string, not {}",
                json_type(value)
            ))
        })
    }

    fn field(&self, field: Option<&str>) -> Result<String> {
        match field {
            Some(field) if !field.is_empty() => Ok(field.to_owned()),
            Some(_) => Err(self.bad("`field` is empty; name the field to aggregate")),
            None => Err(self.bad("`field` is required; name the field to aggregate")),
        }
    }

    fn boolean(&self, key: &str, value: &Value) -> Result<bool> {
        match value {
            Value::Bool(b) => Ok(*b),
            Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
            _ => Err(self.bad(format!("`{key}` must be true or false, not {value}"))),
        }
    }

    fn count(&self, key: &str, value: &Value) -> Result<u64> {
        json_count(value)
            .ok_or_else(|| self.bad(format!("`{key}` must be a whole number >= 0, not {value}")))
    }

    fn positive_u32(&self, key: &str, value: &Value) -> Result<u32> {
        json_count(value)
            .filter(|n| *n > 0)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| self.bad(format!("`{key}` must be a whole number > 0, not {value}")))
    }

    fn number(&self, key: &str, value: &Value) -> Result<f64> {
        json_f64(value).ok_or_else(|| self.bad(format!("`{key}` must be a number, not {value}")))
    }

    /// `order` on a histogram: only the default, ascending keys.
    fn key_ascending_order(&self, value: &Value) -> Result<()> {
        match parse_order(value) {
            Some(OrderSpec::Key(true)) => Ok(()),
            Some(_) => Err(self.unsupported(format_args!("`order` {value}"), HINT_HISTOGRAM_ORDER)),
            None => Err(self.bad(format!(
                "`order` must be like {{\"_key\": \"asc\"}}, not {value}"
            ))),
        }
    }
}

/// A whole number >= 0 given as a number or a string.
fn json_count(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A finite number given as a number or a string.
fn json_f64(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|f| f.is_finite())
}

enum OrderSpec {
    /// `_key`, ascending or not.
    Key(bool),
    /// `_count`, ascending or not.
    Count(bool),
    /// Anything else Elasticsearch knows (a sub-aggregation's value).
    Other,
}

/// An order as Elasticsearch takes it: `{"_count": "desc"}`, or an array of
/// such objects; `None` when malformed. `[{"_count": ..}, {"_key": "asc"}]`
/// is the `_count` order, as Elasticsearch breaks count ties by ascending key.
fn parse_order(value: &Value) -> Option<OrderSpec> {
    fn one(value: &Value) -> Option<OrderSpec> {
        let object = value.as_object()?;
        if object.len() != 1 {
            return None;
        }
        let (target, direction) = object.iter().next()?;
        let ascending = match direction.as_str()?.to_ascii_lowercase().as_str() {
            "asc" => true,
            "desc" => false,
            _ => return None,
        };
        Some(match target.as_str() {
            "_key" => OrderSpec::Key(ascending),
            "_count" => OrderSpec::Count(ascending),
            _ => OrderSpec::Other,
        })
    }
    match value {
        Value::Array(items) => match items.as_slice() {
            [single] => one(single),
            [first, second] => match (one(first)?, one(second)?) {
                (OrderSpec::Count(ascending), OrderSpec::Key(true)) => {
                    Some(OrderSpec::Count(ascending))
                }
                _ => Some(OrderSpec::Other),
            },
            [] => None,
            _ => items
                .iter()
                .try_for_each(|item| one(item).map(drop))
                .map(|()| OrderSpec::Other),
        },
        _ => one(value),
    }
}

/// A bound as the request gives it: either side may be missing.
#[derive(Debug, Clone, Copy)]
struct Bounds<T> {
    min: Option<T>,
    max: Option<T>,
}

fn parse_bounds<T: PartialOrd + Display + Copy>(
    ctx: &Ctx<'_>,
    key: &str,
    value: &Value,
    mut read: impl FnMut(&str, &Value) -> Result<T>,
) -> Result<Bounds<T>> {
    let Some(object) = value.as_object() else {
        return Err(ctx.bad(format!(
            "`{key}` must be an object like {{\"min\": ..., \"max\": ...}}, not {value}"
        )));
    };
    let mut bounds = Bounds {
        min: None,
        max: None,
    };
    for (side, bound) in object {
        let parsed = if bound.is_null() {
            None
        } else {
            Some(read(&format!("{key}.{side}"), bound)?)
        };
        match side.as_str() {
            "min" => bounds.min = parsed,
            "max" => bounds.max = parsed,
            other => return Err(ctx.bad(format!("`{key}` takes min and max, not `{other}`"))),
        }
    }
    if let (Some(min), Some(max)) = (bounds.min, bounds.max)
        && min > max
    {
        return Err(ctx.bad(format!(
            "`{key}.min` ({min}) is greater than `{key}.max` ({max})"
        )));
    }
    Ok(bounds)
}

/// Tantivy's bounds: both sides, `f64::MIN`/`f64::MAX` for an open side of
/// hard bounds, and the reverse for extended bounds (which then extend
/// nothing on that side).
fn tantivy_bounds(min: f64, max: f64) -> Value {
    json!({"min": min, "max": max})
}

/// Writes `extended_bounds` and `hard_bounds` into tantivy's parameters.
///
/// `hard` is already in tantivy's terms (bounds on values, both
/// inclusive). Extended bounds are dropped when `min_doc_count > 0`, where
/// they have no effect in Elasticsearch (tantivy rejects the combination),
/// and clipped to the hard bounds, as tantivy requires. Returns the grid
/// of the buckets, or an error when the extended bounds alone span more
/// buckets than a response may hold.
fn write_bounds(
    ctx: &Ctx<'_>,
    out: &mut Map<String, Value>,
    (interval, offset): (f64, f64),
    min_doc_count: u64,
    extended: Option<Bounds<f64>>,
    hard: Option<(f64, f64)>,
) -> Result<Grid> {
    let mut grid = Grid {
        interval,
        offset,
        extended_min: None,
        extended_max: None,
        fills: min_doc_count == 0,
    };
    if let Some((lo, hi)) = hard {
        out.insert(String::from("hard_bounds"), tantivy_bounds(lo, hi));
    }
    let Some(extended) = extended.filter(|_| grid.fills) else {
        return Ok(grid);
    };
    let (lo, hi) = hard.unwrap_or((f64::MIN, f64::MAX));
    let min = extended.min.map(|m| m.max(lo));
    let max = extended.max.map(|m| m.min(hi));
    if let (Some(min), Some(max)) = (min, max) {
        if min > max {
            return Ok(grid);
        }
        grid.check_span(ctx.path, min, max, 1.0)?;
    }
    if min.is_none() && max.is_none() {
        return Ok(grid);
    }
    out.insert(
        String::from("extended_bounds"),
        tantivy_bounds(min.unwrap_or(f64::MAX), max.unwrap_or(f64::MIN)),
    );
    grid.extended_min = min;
    grid.extended_max = max;
    Ok(grid)
}

fn parse_date_histogram(ctx: &Ctx<'_>, params: &Map<String, Value>) -> Result<Parsed> {
    let mut field = None;
    let mut fixed = None;
    let mut calendar = None;
    let mut offset: i64 = 0;
    let mut min_doc_count = 0;
    let mut extended = None;
    let mut hard = None;
    let mut keyed = false;
    for (key, value) in params {
        match key.as_str() {
            "field" => field = Some(ctx.string(key, value)?),
            "fixed_interval" => fixed = Some(ctx.string(key, value)?),
            "calendar_interval" => calendar = Some(ctx.string(key, value)?),
            "interval" => return Err(ctx.unsupported("`interval`", HINT_INTERVAL)),
            "time_zone" => {
                let zone = ctx.string(key, value)?;
                if !UTC_NAMES.contains(&zone) {
                    return Err(ctx.unsupported(format_args!("time_zone `{zone}`"), HINT_TIME_ZONE));
                }
            }
            "format" => {
                let format = ctx.string(key, value)?;
                if !DEFAULT_DATE_FORMATS.contains(&format) {
                    return Err(ctx.unsupported(format_args!("format `{format}`"), HINT_FORMAT));
                }
            }
            "offset" => offset = parse_date_offset(ctx, value)?,
            "min_doc_count" => min_doc_count = ctx.count(key, value)?,
            "extended_bounds" => {
                extended = Some(parse_bounds(ctx, key, value, |k, v| date_bound(ctx, k, v))?)
            }
            "hard_bounds" => {
                hard = Some(parse_bounds(ctx, key, value, |k, v| date_bound(ctx, k, v))?)
            }
            "keyed" => keyed = ctx.boolean(key, value)?,
            "order" => ctx.key_ascending_order(value)?,
            other => return Err(ctx.common_unsupported(other)),
        }
    }
    let field = ctx.field(field)?;
    let (interval, grid_offset) = match (fixed, calendar) {
        (Some(_), Some(_)) => {
            return Err(ctx.bad("give either fixed_interval or calendar_interval, not both"));
        }
        (None, None) => {
            return Err(ctx.bad(
                "fixed_interval (e.g. \"1h\") or calendar_interval (e.g. \"hour\") is required",
            ));
        }
        (Some(fixed), None) => (parse_fixed_interval(ctx, fixed)?, 0),
        (None, Some(calendar)) => parse_calendar_interval(ctx, calendar)?,
    };
    let offset = offset
        .checked_add(grid_offset)
        .filter(|o| o.unsigned_abs() <= MAX_SPAN_MS.unsigned_abs())
        .ok_or_else(|| ctx.bad("`offset` is too large"))?;

    let mut out = Map::new();
    out.insert(String::from("field"), Value::from(field.as_str()));
    out.insert(
        String::from("fixed_interval"),
        Value::from(format!("{interval}ms")),
    );
    if offset != 0 {
        out.insert(String::from("offset"), Value::from(format!("{offset}ms")));
    }
    out.insert(String::from("min_doc_count"), Value::from(min_doc_count));
    // Elasticsearch keeps a bucket when its key k has min <= k < max; tantivy
    // keeps a value v when min <= v <= max. With values in whole
    // milliseconds these are the same documents when the value bounds are
    // the first grid point at or after `min`, and one millisecond before the
    // first grid point at or after `max`.
    let hard = hard.map(|Bounds { min, max }| {
        let lo = min.map_or(f64::MIN, |m| grid_ceil(m, interval, offset) as f64);
        let hi = max.map_or(f64::MAX, |m| (grid_ceil(m, interval, offset) - 1) as f64);
        (lo, hi)
    });
    let extended = extended.map(|Bounds { min, max }| Bounds {
        min: min.map(|m| m as f64),
        max: max.map(|m| m as f64),
    });
    let grid = write_bounds(
        ctx,
        &mut out,
        (interval as f64, offset as f64),
        min_doc_count,
        extended,
        hard,
    )?;
    Ok(Parsed {
        kind: Kind::DateHistogram { keyed, grid },
        field,
        missing: false,
        tantivy: Value::Object(out),
    })
}

/// The first point of the grid `offset + k * interval` at or after `x`.
fn grid_ceil(x: i64, interval: i64, offset: i64) -> i128 {
    let (x, interval, offset) = (i128::from(x), i128::from(interval), i128::from(offset));
    let steps = (x - offset).div_euclid(interval);
    let floor = offset + steps * interval;
    if floor == x { floor } else { floor + interval }
}

/// Why a duration could not be read.
enum DurationError {
    /// Not a whole number followed by a unit.
    Malformed,
    /// A unit Elasticsearch knows and the engine does not (`nanos`, `micros`).
    Unit,
    /// More than tantivy can hold.
    TooLong,
}

/// A duration as Elasticsearch writes it: a whole number of ms, s, m, h or
/// d (`"90m"`), in milliseconds.
fn duration_ms(text: &str) -> std::result::Result<i64, DurationError> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let unit_ms = match unit {
        "ms" => 1,
        "s" => SECOND_MS,
        "m" => MINUTE_MS,
        "h" => HOUR_MS,
        "d" => DAY_MS,
        "nanos" | "micros" => return Err(DurationError::Unit),
        _ => return Err(DurationError::Malformed),
    };
    let count: i64 = number.parse().map_err(|_| DurationError::Malformed)?;
    count
        .checked_mul(unit_ms)
        .filter(|ms| *ms <= MAX_SPAN_MS)
        .ok_or(DurationError::TooLong)
}

/// A `fixed_interval`, in milliseconds.
fn parse_fixed_interval(ctx: &Ctx<'_>, interval: &str) -> Result<i64> {
    match duration_ms(interval) {
        Ok(0) => Err(ctx.bad(format!("fixed_interval `{interval}` must be longer than zero"))),
        Ok(ms) => Ok(ms),
        Err(DurationError::Unit) => {
            Err(ctx.unsupported(format_args!("fixed_interval `{interval}`"), HINT_INTERVAL_UNIT))
        }
        Err(DurationError::TooLong) => Err(ctx.bad(format!("fixed_interval `{interval}` is too long"))),
        Err(DurationError::Malformed) => Err(ctx.bad(format!(
            "fixed_interval `{interval}` is not a whole number of ms, s, m, h or d (e.g. \"90m\"); for calendar units use calendar_interval"
        ))),
    }
}

/// A `calendar_interval` with a fixed length in UTC, as the equal fixed
/// interval and the offset of its grid.
fn parse_calendar_interval(ctx: &Ctx<'_>, interval: &str) -> Result<(i64, i64)> {
    match interval {
        "second" | "1s" => Ok((SECOND_MS, 0)),
        "minute" | "1m" => Ok((MINUTE_MS, 0)),
        "hour" | "1h" => Ok((HOUR_MS, 0)),
        "day" | "1d" => Ok((DAY_MS, 0)),
        "week" | "1w" => Ok((WEEK_MS, FIRST_MONDAY_MS)),
        "month" | "1M" | "quarter" | "1q" | "year" | "1y" => {
            Err(ctx.unsupported(format_args!("calendar_interval `{interval}`"), HINT_CALENDAR))
        }
        _ => Err(ctx.bad(format!(
            "calendar_interval `{interval}` is not a calendar unit; use minute, hour, day or week (or 1m, 1h, 1d, 1w), or a fixed_interval such as \"2d\""
        ))),
    }
}

/// A date histogram's `offset`: milliseconds, or a duration with an
/// optional sign (`"+6h"`, `"-30m"`).
fn parse_date_offset(ctx: &Ctx<'_>, value: &Value) -> Result<i64> {
    if let Value::Number(n) = value {
        return n
            .as_i64()
            .filter(|ms| ms.unsigned_abs() <= MAX_SPAN_MS.unsigned_abs())
            .ok_or_else(|| {
                ctx.bad(format!(
                    "`offset` must be whole milliseconds or a duration like \"+6h\", not {value}"
                ))
            });
    }
    let text = ctx.string("offset", value)?;
    let (negative, duration) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let ms = match duration_ms(duration) {
        Ok(ms) => ms,
        Err(DurationError::Unit) => {
            return Err(ctx.unsupported(format_args!("offset `{text}`"), HINT_INTERVAL_UNIT));
        }
        Err(_) => {
            return Err(ctx.bad(format!(
                "`offset` {text:?} is not a duration like \"+6h\" or \"-30m\""
            )));
        }
    };
    Ok(if negative { -ms } else { ms })
}

/// One side of a date histogram's bounds, in epoch milliseconds.
fn date_bound(ctx: &Ctx<'_>, key: &str, value: &Value) -> Result<i64> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
            .ok_or_else(|| {
                ctx.bad(format!(
                    "`{key}` must be epoch milliseconds or a date, not {value}"
                ))
            }),
        Value::String(text) => {
            if let Some(ms) = parse_date_ms(text) {
                Ok(ms)
            } else if text.starts_with("now") || text.contains("||") {
                Err(ctx.unsupported(
                    format_args!("date math `{text}` in `{key}`"),
                    HINT_DATE_MATH,
                ))
            } else {
                Err(ctx.bad(format!(
                    "`{key}` {text:?} is not a date; give epoch milliseconds or an ISO-8601 date such as 2024-03-05T07:00:00Z"
                )))
            }
        }
        _ => Err(ctx.bad(format!(
            "`{key}` must be epoch milliseconds or a date, not {value}"
        ))),
    }
}

/// A date as `strict_date_optional_time||epoch_millis` reads it (dates
/// without a zone are UTC).
fn parse_date_ms(text: &str) -> Option<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms);
    }
    if let Ok(date) = DateTime::parse_from_rfc3339(text) {
        return Some(date.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(date) = NaiveDateTime::parse_from_str(text, format) {
            return Some(date.and_utc().timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|date| date.and_utc().timestamp_millis())
}

fn parse_histogram(ctx: &Ctx<'_>, params: &Map<String, Value>) -> Result<Parsed> {
    let mut field = None;
    let mut interval = None;
    let mut offset = 0.0;
    let mut min_doc_count = 0;
    let mut extended = None;
    let mut hard = None;
    let mut keyed = false;
    for (key, value) in params {
        match key.as_str() {
            "field" => field = Some(ctx.string(key, value)?),
            "interval" => interval = Some(ctx.number(key, value)?),
            "offset" => offset = ctx.number(key, value)?,
            "min_doc_count" => min_doc_count = ctx.count(key, value)?,
            "extended_bounds" => {
                extended = Some(parse_bounds(ctx, key, value, |k, v| ctx.number(k, v))?)
            }
            "hard_bounds" => hard = Some(parse_bounds(ctx, key, value, |k, v| ctx.number(k, v))?),
            "keyed" => keyed = ctx.boolean(key, value)?,
            "order" => ctx.key_ascending_order(value)?,
            other => return Err(ctx.common_unsupported(other)),
        }
    }
    let field = ctx.field(field)?;
    let interval =
        interval.ok_or_else(|| ctx.bad("`interval` is required (the width of the buckets)"))?;
    if interval <= 0.0 {
        return Err(ctx.bad(format!(
            "`interval` must be greater than zero, not {interval}"
        )));
    }
    let mut out = Map::new();
    out.insert(String::from("field"), Value::from(field.as_str()));
    out.insert(String::from("interval"), Value::from(interval));
    if offset != 0.0 {
        out.insert(String::from("offset"), Value::from(offset));
    }
    out.insert(String::from("min_doc_count"), Value::from(min_doc_count));
    // Elasticsearch keeps a value v in bucket n = floor((v - offset) /
    // interval) when min <= n * interval <= max (the offset left out);
    // tantivy keeps v when min <= v <= max.
    let hard = hard.map(|Bounds { min, max }| {
        let lo = min.map_or(f64::MIN, |m| offset + (m / interval).ceil() * interval);
        let hi = max.map_or(f64::MAX, |m| {
            (offset + ((m / interval).floor() + 1.0) * interval).next_down()
        });
        (lo, hi)
    });
    let grid = write_bounds(
        ctx,
        &mut out,
        (interval, offset),
        min_doc_count,
        extended,
        hard,
    )?;
    Ok(Parsed {
        kind: Kind::Histogram { keyed, grid },
        field,
        missing: false,
        tantivy: Value::Object(out),
    })
}

fn parse_terms(ctx: &Ctx<'_>, params: &Map<String, Value>) -> Result<Parsed> {
    let mut field = None;
    let mut size: u32 = 10;
    let mut shard_size = None;
    let mut min_doc_count = None;
    let mut order = TermsOrder {
        by_key: false,
        ascending: false,
    };
    let mut missing = None;
    for (key, value) in params {
        match key.as_str() {
            "field" => field = Some(ctx.string(key, value)?),
            "size" => size = ctx.positive_u32(key, value)?,
            "shard_size" => shard_size = Some(ctx.positive_u32(key, value)?),
            "min_doc_count" => min_doc_count = Some(ctx.count(key, value)?),
            "order" => {
                order = match parse_order(value) {
                    Some(OrderSpec::Count(ascending)) => TermsOrder {
                        by_key: false,
                        ascending,
                    },
                    Some(OrderSpec::Key(ascending)) => TermsOrder {
                        by_key: true,
                        ascending,
                    },
                    Some(OrderSpec::Other) => {
                        return Err(
                            ctx.unsupported(format_args!("`order` {value}"), HINT_TERMS_ORDER)
                        );
                    }
                    None => {
                        return Err(ctx.bad(format!(
                            "`order` must be like {{\"_count\": \"desc\"}} or {{\"_key\": \"asc\"}}, not {value}"
                        )));
                    }
                }
            }
            "missing" => match value {
                Value::String(_) | Value::Number(_) => missing = Some(value.clone()),
                _ => {
                    return Err(ctx.bad(format!(
                        "`missing` must be a string or a number, not {value}"
                    )));
                }
            },
            "show_term_doc_count_error" => {
                if ctx.boolean(key, value)? {
                    return Err(
                        ctx.unsupported("`show_term_doc_count_error`", HINT_DOC_COUNT_ERROR)
                    );
                }
            }
            "execution_hint" => {
                ctx.string(key, value)?;
            }
            "collect_mode" => {
                let mode = ctx.string(key, value)?;
                if mode != "depth_first" && mode != "breadth_first" {
                    return Err(ctx.bad(format!(
                        "`collect_mode` is depth_first or breadth_first, not {mode:?}"
                    )));
                }
            }
            "include" | "exclude" => {
                return Err(ctx.unsupported(format_args!("`{key}`"), HINT_INCLUDE));
            }
            other => return Err(ctx.common_unsupported(other)),
        }
    }
    let field = ctx.field(field)?;
    let mut out = Map::new();
    out.insert(String::from("field"), Value::from(field.as_str()));
    out.insert(String::from("size"), Value::from(size));
    // Set explicitly: tantivy's default (10 * size) overflows for large sizes.
    let segment_size = shard_size.unwrap_or(size.saturating_mul(10)).max(size);
    out.insert(String::from("segment_size"), Value::from(segment_size));
    if let Some(min_doc_count) = min_doc_count {
        out.insert(String::from("min_doc_count"), Value::from(min_doc_count));
    }
    let target = if order.by_key { "_key" } else { "_count" };
    let direction = if order.ascending { "asc" } else { "desc" };
    let mut tantivy_order = Map::new();
    tantivy_order.insert(target.to_owned(), Value::from(direction));
    out.insert(String::from("order"), Value::Object(tantivy_order));
    let has_missing = missing.is_some();
    if let Some(missing) = missing {
        out.insert(String::from("missing"), missing);
    }
    Ok(Parsed {
        kind: Kind::Terms { order },
        field,
        missing: has_missing,
        tantivy: Value::Object(out),
    })
}

/// `avg`, `min`, `max`, `sum` and `stats`.
fn parse_simple_metric(ctx: &Ctx<'_>, params: &Map<String, Value>) -> Result<Parsed> {
    let mut field = None;
    let mut missing = None;
    for (key, value) in params {
        match key.as_str() {
            "field" => field = Some(ctx.string(key, value)?),
            "missing" => {
                missing = Some(json_f64(value).ok_or_else(|| {
                    ctx.unsupported(format_args!("`missing` {value}"), HINT_DATE_MISSING)
                })?);
            }
            other => return Err(ctx.common_unsupported(other)),
        }
    }
    let field = ctx.field(field)?;
    let kind = match ctx.ty {
        "avg" => Kind::Avg,
        "min" => Kind::Min,
        "max" => Kind::Max,
        "sum" => Kind::Sum,
        _ => Kind::Stats,
    };
    let mut out = Map::new();
    out.insert(String::from("field"), Value::from(field.as_str()));
    if let Some(missing) = missing {
        out.insert(String::from("missing"), Value::from(missing));
    }
    Ok(Parsed {
        kind,
        field,
        missing: missing.is_some(),
        tantivy: Value::Object(out),
    })
}

/// `value_count` and `cardinality`.
fn parse_counting_metric(ctx: &Ctx<'_>, params: &Map<String, Value>) -> Result<Parsed> {
    let cardinality = ctx.ty == "cardinality";
    let mut field = None;
    for (key, value) in params {
        match key.as_str() {
            "field" => field = Some(ctx.string(key, value)?),
            "precision_threshold" if cardinality => {
                ctx.count(key, value)?;
            }
            other => return Err(ctx.common_unsupported(other)),
        }
    }
    let field = ctx.field(field)?;
    Ok(Parsed {
        kind: if cardinality {
            Kind::Cardinality
        } else {
            Kind::ValueCount
        },
        tantivy: json!({ "field": field }),
        field,
        missing: false,
    })
}

fn parse_percentiles(ctx: &Ctx<'_>, params: &Map<String, Value>) -> Result<Parsed> {
    let mut field = None;
    let mut percents = DEFAULT_PERCENTS.to_vec();
    let mut keyed = true;
    let mut missing = None;
    for (key, value) in params {
        match key.as_str() {
            "field" => field = Some(ctx.string(key, value)?),
            "percents" => {
                let items = value
                    .as_array()
                    .filter(|items| !items.is_empty())
                    .ok_or_else(|| {
                        ctx.bad(format!(
                            "`percents` must be a non-empty array of numbers, not {value}"
                        ))
                    })?;
                percents = items
                    .iter()
                    .map(|item| {
                        json_f64(item)
                            .filter(|p| (0.0..=100.0).contains(p))
                            .ok_or_else(|| {
                                ctx.bad(format!(
                                    "each of `percents` must be a number from 0 to 100, not {item}"
                                ))
                            })
                    })
                    .collect::<Result<_>>()?;
            }
            "keyed" => keyed = ctx.boolean(key, value)?,
            "missing" => {
                missing = Some(json_f64(value).ok_or_else(|| {
                    ctx.unsupported(format_args!("`missing` {value}"), HINT_DATE_MISSING)
                })?);
            }
            "tdigest" => {
                let tuning = value
                    .as_object()
                    .ok_or_else(|| ctx.bad("`tdigest` must be an object"))?;
                for (option, setting) in tuning {
                    match option.as_str() {
                        "compression" => {
                            ctx.number("tdigest.compression", setting)?;
                        }
                        "execution_hint" => {
                            ctx.string("tdigest.execution_hint", setting)?;
                        }
                        other => return Err(ctx.unknown(&format!("tdigest.{other}"))),
                    }
                }
            }
            "hdr" => return Err(ctx.unsupported("`hdr`", HINT_HDR)),
            other => return Err(ctx.common_unsupported(other)),
        }
    }
    let field = ctx.field(field)?;
    let mut out = Map::new();
    out.insert(String::from("field"), Value::from(field.as_str()));
    out.insert(String::from("percents"), Value::from(percents));
    // Always a list, so values come back in the order asked for.
    out.insert(String::from("keyed"), Value::from(false));
    if let Some(missing) = missing {
        out.insert(String::from("missing"), Value::from(missing));
    }
    Ok(Parsed {
        kind: Kind::Percentiles { keyed },
        field,
        missing: missing.is_some(),
        tantivy: Value::Object(out),
    })
}

// ---------------------------------------------------------------------------
// Reshaping results

fn reshape_level(nodes: &[Node], mut results: AggregationResults) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for node in nodes {
        let result = results
            .0
            .remove(&node.name)
            .ok_or_else(|| shape_error(node, "no result"))?;
        let mut value = reshape(node, result)?;
        if let (Some(meta), Value::Object(object)) = (&node.meta, &mut value) {
            object.insert(String::from("meta"), meta.clone());
        }
        out.insert(node.name.clone(), value);
    }
    Ok(out)
}

fn shape_error(node: &Node, what: &str) -> Error {
    Error::Engine(format!(
        "aggregation `{}` ({}): unexpected result from the engine: {what}",
        node.path,
        type_name(&node.kind)
    ))
}

fn reshape(node: &Node, result: AggregationResult) -> Result<Value> {
    use AggregationResult::{BucketResult as B, MetricResult as M};
    let date = node.values == Values::Date;
    Ok(match (&node.kind, result) {
        (Kind::Avg, M(MetricResult::Average(r))) => single_value(r.value, date, false),
        (Kind::Min, M(MetricResult::Min(r))) | (Kind::Max, M(MetricResult::Max(r))) => {
            single_value(r.value, date, true)
        }
        (Kind::Sum, M(MetricResult::Sum(r))) => {
            single_value(Some(r.value.unwrap_or(0.0)), date, false)
        }
        (Kind::ValueCount, M(MetricResult::Count(r)))
        | (Kind::Cardinality, M(MetricResult::Cardinality(r))) => {
            json!({ "value": whole(r.value) })
        }
        (Kind::Stats, M(MetricResult::Stats(stats))) => reshape_stats(&stats, date),
        (Kind::Percentiles { keyed }, M(MetricResult::Percentiles(result))) => {
            let PercentileValues::Vec(entries) = result.values else {
                return Err(shape_error(node, "percentiles as a map"));
            };
            let values = entries.into_iter().map(|entry| (entry.key, entry.value));
            reshape_percentiles(values, *keyed, date)
        }
        (
            Kind::Terms { order },
            B(BucketResult::Terms {
                buckets,
                sum_other_doc_count,
                doc_count_error_upper_bound,
            }),
        ) => {
            let error_bound = if order.by_key {
                0
            } else {
                doc_count_error_upper_bound.unwrap_or(0)
            };
            json!({
                "doc_count_error_upper_bound": error_bound,
                "sum_other_doc_count": sum_other_doc_count,
                "buckets": reshape_terms(node, *order, buckets)?,
            })
        }
        (Kind::DateHistogram { keyed, .. }, B(BucketResult::Histogram { buckets })) => {
            let buckets = histogram_entries(node, buckets)?
                .into_iter()
                .map(|entry| {
                    let ms = key_f64(&entry.key).round() as i64;
                    let key_as_string = format_millis(ms);
                    let mut bucket = reshape_level(&node.subs, entry.sub_aggregation)?;
                    bucket.insert(
                        String::from("key_as_string"),
                        Value::from(key_as_string.as_str()),
                    );
                    bucket.insert(String::from("key"), Value::from(ms));
                    bucket.insert(String::from("doc_count"), Value::from(entry.doc_count));
                    Ok((key_as_string, bucket))
                })
                .collect::<Result<Vec<_>>>()?;
            json!({ "buckets": keyed_or_list(buckets, *keyed) })
        }
        (Kind::Histogram { keyed, .. }, B(BucketResult::Histogram { buckets })) => {
            let buckets = histogram_entries(node, buckets)?
                .into_iter()
                .map(|entry| {
                    let key = key_f64(&entry.key);
                    let mut bucket = reshape_level(&node.subs, entry.sub_aggregation)?;
                    if date {
                        bucket.insert(
                            String::from("key_as_string"),
                            Value::from(format_millis(key as i64)),
                        );
                    }
                    bucket.insert(String::from("key"), float(key));
                    bucket.insert(String::from("doc_count"), Value::from(entry.doc_count));
                    Ok((java_double(key), bucket))
                })
                .collect::<Result<Vec<_>>>()?;
            json!({ "buckets": keyed_or_list(buckets, *keyed) })
        }
        _ => return Err(shape_error(node, "a result of another aggregation type")),
    })
}

/// `{"value": ...}` of avg, min, max and sum; dates (nanoseconds in
/// tantivy) become epoch milliseconds with `value_as_string`.
fn single_value(value: Option<f64>, date: bool, exact: bool) -> Value {
    let value = value.filter(|v| v.is_finite());
    if !date {
        return json!({ "value": value.map_or(Value::Null, float) });
    }
    match value.map(|ns| millis(ns, exact)) {
        Some(ms) => json!({ "value": float(ms), "value_as_string": format_millis(ms as i64) }),
        None => json!({ "value": null }),
    }
}

fn reshape_stats(stats: &Stats, date: bool) -> Value {
    let convert = |value: f64, exact: bool| if date { millis(value, exact) } else { value };
    let min = stats
        .min
        .filter(|v| v.is_finite())
        .map(|v| convert(v, true));
    let max = stats
        .max
        .filter(|v| v.is_finite())
        .map(|v| convert(v, true));
    let avg = stats
        .avg
        .filter(|v| v.is_finite())
        .map(|v| convert(v, false));
    let sum = convert(stats.sum, false);
    let mut out = json!({
        "count": stats.count,
        "min": min.map_or(Value::Null, float),
        "max": max.map_or(Value::Null, float),
        "avg": avg.map_or(Value::Null, float),
        "sum": float(sum),
    });
    if date
        && stats.count > 0
        && let (Value::Object(object), Some(min), Some(max), Some(avg)) = (&mut out, min, max, avg)
    {
        object.insert(
            String::from("min_as_string"),
            Value::from(format_millis(min as i64)),
        );
        object.insert(
            String::from("max_as_string"),
            Value::from(format_millis(max as i64)),
        );
        object.insert(
            String::from("avg_as_string"),
            Value::from(format_millis(avg as i64)),
        );
        object.insert(
            String::from("sum_as_string"),
            Value::from(format_millis(sum as i64)),
        );
    }
    out
}

fn reshape_percentiles(values: impl Iterator<Item = (f64, f64)>, keyed: bool, date: bool) -> Value {
    let values = values.map(|(percent, value)| {
        let value = Some(value)
            .filter(|v| v.is_finite())
            .map(|v| if date { millis(v, false) } else { v });
        (percent, value)
    });
    if keyed {
        let mut out = Map::new();
        for (percent, value) in values {
            let key = java_double(percent);
            if date && let Some(ms) = value {
                out.insert(
                    format!("{key}_as_string"),
                    Value::from(format_millis(ms as i64)),
                );
            }
            out.insert(key, value.map_or(Value::Null, float));
        }
        json!({ "values": out })
    } else {
        let list: Vec<Value> = values
            .map(|(percent, value)| {
                let mut entry =
                    json!({ "key": float(percent), "value": value.map_or(Value::Null, float) });
                if date && let (Some(ms), Value::Object(object)) = (value, &mut entry) {
                    object.insert(
                        String::from("value_as_string"),
                        Value::from(format_millis(ms as i64)),
                    );
                }
                entry
            })
            .collect();
        json!({ "values": list })
    }
}

/// A terms key, for sorting the way Elasticsearch does.
#[derive(Debug, Clone, PartialEq)]
enum SortKey {
    Int(i128),
    Float(f64),
    Text(String),
}

impl SortKey {
    fn compare(&self, other: &Self) -> Ordering {
        match (self, other) {
            (SortKey::Int(a), SortKey::Int(b)) => a.cmp(b),
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            (SortKey::Text(_), _) => Ordering::Greater,
            (_, SortKey::Text(_)) => Ordering::Less,
            (a, b) => a.as_f64().total_cmp(&b.as_f64()),
        }
    }

    fn as_f64(&self) -> f64 {
        match self {
            SortKey::Int(i) => *i as f64,
            SortKey::Float(f) => *f,
            SortKey::Text(_) => f64::NAN,
        }
    }
}

fn reshape_terms(node: &Node, order: TermsOrder, buckets: Vec<BucketEntry>) -> Result<Vec<Value>> {
    let mut reshaped = Vec::with_capacity(buckets.len());
    for entry in buckets {
        let mut bucket = reshape_level(&node.subs, entry.sub_aggregation)?;
        let (key, key_as_string, sort_key) = match entry.key {
            Key::Str(text) => match (node.values, DateTime::parse_from_rfc3339(&text)) {
                (Values::Date, Ok(date)) => {
                    let ms = date.timestamp_millis();
                    (
                        Value::from(ms),
                        Some(format_millis(ms)),
                        SortKey::Int(i128::from(ms)),
                    )
                }
                _ => (Value::from(text.as_str()), None, SortKey::Text(text)),
            },
            Key::I64(i) if node.values == Values::Float => {
                (float(i as f64), None, SortKey::Int(i128::from(i)))
            }
            Key::U64(u) if node.values == Values::Float => {
                (float(u as f64), None, SortKey::Int(i128::from(u)))
            }
            Key::I64(i) => (Value::from(i), None, SortKey::Int(i128::from(i))),
            Key::U64(u) => (Value::from(u), None, SortKey::Int(i128::from(u))),
            Key::F64(f) => (float(f), None, SortKey::Float(f)),
        };
        if let Some(text) = key_as_string.or(entry.key_as_string) {
            bucket.insert(String::from("key_as_string"), Value::from(text));
        }
        bucket.insert(String::from("key"), key);
        bucket.insert(String::from("doc_count"), Value::from(entry.doc_count));
        reshaped.push((sort_key, entry.doc_count, bucket));
    }
    reshaped.sort_by(|(key_a, count_a, _), (key_b, count_b, _)| {
        let by_key = key_a.compare(key_b);
        match (order.by_key, order.ascending) {
            (true, true) => by_key,
            (true, false) => by_key.reverse(),
            (false, true) => count_a.cmp(count_b).then(by_key),
            (false, false) => count_b.cmp(count_a).then(by_key),
        }
    });
    Ok(reshaped
        .into_iter()
        .map(|(_, _, bucket)| Value::Object(bucket))
        .collect())
}

fn histogram_entries(node: &Node, buckets: BucketEntries<BucketEntry>) -> Result<Vec<BucketEntry>> {
    match buckets {
        BucketEntries::Vec(entries) => Ok(entries),
        BucketEntries::HashMap(_) => Err(shape_error(node, "histogram buckets as a map")),
    }
}

/// Buckets as a list, or for `keyed` as an object by their key strings.
fn keyed_or_list(buckets: Vec<(String, Map<String, Value>)>, keyed: bool) -> Value {
    if keyed {
        Value::Object(
            buckets
                .into_iter()
                .map(|(key, bucket)| (key, Value::Object(bucket)))
                .collect(),
        )
    } else {
        Value::Array(
            buckets
                .into_iter()
                .map(|(_, bucket)| Value::Object(bucket))
                .collect(),
        )
    }
}

fn key_f64(key: &Key) -> f64 {
    match key {
        Key::F64(f) => *f,
        Key::I64(i) => *i as f64,
        Key::U64(u) => *u as f64,
        Key::Str(text) => text.parse().unwrap_or(f64::NAN),
    }
}

/// A JSON number, or null for what JSON cannot hold.
fn float(value: f64) -> Value {
    Number::from_f64(value).map_or(Value::Null, Value::Number)
}

/// A count that tantivy gives as a float, as the integer it is.
fn whole(value: Option<f64>) -> u64 {
    value
        .filter(|v| v.is_finite() && *v > 0.0)
        .map_or(0, |v| v.round() as u64)
}

/// Tantivy's date values (nanoseconds) in milliseconds; `exact` rounds to
/// the whole millisecond a stored date always is.
fn millis(nanos: f64, exact: bool) -> f64 {
    let ms = nanos / 1_000_000.0;
    if exact { ms.round() } else { ms }
}

/// Epoch milliseconds as `strict_date_optional_time` prints them.
fn format_millis(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(date) => date.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => ms.to_string(),
    }
}

/// A double as Java's `Double.toString` prints it, which is how
/// Elasticsearch names percentiles (`"99.0"`) and keyed histogram buckets.
fn java_double(value: f64) -> String {
    if value == 0.0 {
        return String::from(if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        });
    }
    if !value.is_finite() {
        return String::from(if value.is_nan() {
            "NaN"
        } else if value > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        });
    }
    if (1e-3..1e7).contains(&value.abs()) {
        let text = value.to_string();
        if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        }
    } else {
        let text = format!("{value:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((text.as_str(), "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_owned()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exponent}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use chrono::{SecondsFormat, TimeZone};
    use serde_json::json;
    use tantivy::query::AllQuery;
    use tantivy::schema::OwnedValue;
    use tantivy::{Index, IndexWriter, TantivyDocument};

    use super::*;

    /// One document: minutes after 2024-03-05T07:00:00Z, and its fields.
    struct Doc {
        minute: i64,
        path: &'static str,
        p99: Option<f64>,
        status: i64,
        platform: &'static str,
    }

    impl Doc {
        fn timestamp(&self) -> i64 {
            base() + self.minute * MINUTE_MS
        }
        fn hour(&self) -> i64 {
            self.timestamp().div_euclid(HOUR_MS) * HOUR_MS
        }
    }

    const fn doc(
        minute: i64,
        path: &'static str,
        p99: Option<f64>,
        status: i64,
        platform: &'static str,
    ) -> Doc {
        Doc {
            minute,
            path,
            p99,
            status,
            platform,
        }
    }

    fn base() -> i64 {
        Utc.with_ymd_and_hms(2024, 3, 5, 7, 0, 0)
            .unwrap()
            .timestamp_millis()
    }

    fn iso(ms: i64) -> String {
        DateTime::<Utc>::from_timestamp_millis(ms)
            .unwrap()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// Two partitions; the first written in two commits (two segments).
    /// Hour 10 has no document.
    fn partitions() -> Vec<Vec<Vec<Doc>>> {
        vec![
            vec![
                vec![
                    doc(0, "/a", Some(12.5), 200, "ios"),
                    doc(5, "/b", Some(40.0), 200, "android"),
                    doc(59, "/a", Some(7.25), 404, "web"),
                ],
                vec![
                    doc(61, "/c", Some(100.0), 500, "ios"),
                    doc(62, "/a", Some(3.0), 200, "ios"),
                    doc(130, "/b", None, 200, "web"),
                ],
            ],
            vec![vec![
                doc(1, "/a", Some(15.0), 200, "android"),
                doc(65, "/d", Some(55.5), 404, "web"),
                doc(140, "/a", Some(22.0), 200, "ios"),
                doc(245, "/b", Some(9.0), 500, "android"),
                doc(250, "/a", Some(31.0), 200, "web"),
            ]],
        ]
    }

    fn schema() -> PartitionSchema {
        PartitionSchema::from_mappings(&json!({
            "dynamic": "strict",
            "properties": {
                "timestamp": {"type": "date"},
                "path": {"type": "keyword"},
                "latency": {"properties": {"p99_ms": {"type": "double"}}},
                "status": {"type": "long"},
                "tags": {"type": "flattened"}
            }
        }))
        .unwrap()
    }

    struct Fixture {
        schema: PartitionSchema,
        indexes: Vec<Index>,
        docs: Vec<Doc>,
    }

    fn fixture() -> Fixture {
        let schema = schema();
        let field = |path: &str| schema.fields[path].field;
        let mut indexes = Vec::new();
        let mut docs = Vec::new();
        for partition in partitions() {
            let index = Index::create_in_ram(schema.schema.clone());
            let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
            for segment in partition {
                for d in segment {
                    let mut document = TantivyDocument::default();
                    document.add_date(
                        field("timestamp"),
                        tantivy::DateTime::from_timestamp_millis(d.timestamp()),
                    );
                    document.add_text(field("path"), d.path);
                    if let Some(p99) = d.p99 {
                        document.add_f64(field("latency.p99_ms"), p99);
                    }
                    document.add_i64(field("status"), d.status);
                    document.add_object(
                        field("tags"),
                        BTreeMap::from([(
                            String::from("platform"),
                            OwnedValue::Str(d.platform.to_owned()),
                        )]),
                    );
                    writer.add_document(document).unwrap();
                    docs.push(d);
                }
                writer.commit().unwrap();
            }
            indexes.push(index);
        }
        Fixture {
            schema,
            indexes,
            docs,
        }
    }

    fn partials(f: &Fixture, request: &AggRequest) -> Vec<IntermediateAggregationResults> {
        f.indexes
            .iter()
            .map(|index| {
                let searcher = index.reader().unwrap().searcher();
                searcher
                    .search(&AllQuery, &collector(request, index.tokenizers()))
                    .unwrap()
            })
            .collect()
    }

    /// Runs `aggs` on both partitions, with the fields resolved.
    fn run(f: &Fixture, aggs: Value) -> Value {
        let mut request = parse(&aggs).unwrap();
        request.resolve_fields(&f.schema).unwrap();
        finalize(&request, partials(f, &request)).unwrap()
    }

    fn assert_close(actual: &Value, expected: f64) {
        let actual = actual
            .as_f64()
            .unwrap_or_else(|| panic!("{actual} is not a number"));
        assert!(
            (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0),
            "{actual} != {expected}"
        );
    }

    fn latencies(docs: &[Doc]) -> Vec<f64> {
        docs.iter().filter_map(|d| d.p99).collect()
    }

    fn unsupported(aggs: Value) -> String {
        match parse(&aggs) {
            Err(Error::Unsupported { what, hint }) => {
                assert!(!hint.is_empty());
                what
            }
            other => panic!("expected Unsupported, got {other:?}"),
        }
    }

    /// Hourly buckets from the first document's hour to the last one's,
    /// empty hours included, as Elasticsearch returns them.
    fn hourly_buckets(docs: &[Doc]) -> Vec<Value> {
        let first = docs.iter().map(Doc::hour).min().unwrap();
        let last = docs.iter().map(Doc::hour).max().unwrap();
        (first..=last)
            .step_by(HOUR_MS as usize)
            .map(|key| {
                let count = docs.iter().filter(|d| d.hour() == key).count();
                json!({"key": key, "key_as_string": iso(key), "doc_count": count})
            })
            .collect()
    }

    #[test]
    fn date_histogram_hourly_buckets_fill_gaps_across_partitions() {
        let f = fixture();
        let result = run(
            &f,
            json!({"per_hour": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h"}}}),
        );
        let buckets = result["per_hour"]["buckets"].as_array().unwrap();
        assert_eq!(buckets, &hourly_buckets(&f.docs));
        assert_eq!(buckets[0]["key_as_string"], "2024-03-05T07:00:00.000Z");
        assert!(buckets[0]["key"].is_i64());
        assert!(
            buckets.iter().any(|b| b["doc_count"] == 0),
            "the empty hour is returned"
        );
        let total: u64 = buckets
            .iter()
            .map(|b| b["doc_count"].as_u64().unwrap())
            .sum();
        assert_eq!(total, f.docs.len() as u64);
    }

    #[test]
    fn a_partition_without_the_date_field_does_not_break_date_buckets() {
        let f = fixture();
        // Searched first: its (empty) histogram is not marked as one over dates.
        let undated = Index::create_in_ram(f.schema.schema.clone());
        let mut writer: IndexWriter = undated.writer_with_num_threads(1, 15_000_000).unwrap();
        let mut document = TantivyDocument::default();
        document.add_text(f.schema.fields["path"].field, "/z");
        writer.add_document(document).unwrap();
        writer.commit().unwrap();
        let mut request = parse(&json!({"per_hour": {
            "date_histogram": {"field": "timestamp", "fixed_interval": "1h"},
            "aggs": {"halves": {"date_histogram": {"field": "timestamp", "fixed_interval": "30m"}}}
        }}))
        .unwrap();
        request.resolve_fields(&f.schema).unwrap();
        let searcher = undated.reader().unwrap().searcher();
        let mut all = vec![
            searcher
                .search(&AllQuery, &collector(&request, undated.tokenizers()))
                .unwrap(),
        ];
        all.extend(partials(&f, &request));
        // And one from an older template that does not map the field at all.
        let older = Index::create_in_ram(
            PartitionSchema::from_mappings(&json!({"properties": {"path": {"type": "keyword"}}}))
                .unwrap()
                .schema,
        );
        let mut writer: IndexWriter = older.writer_with_num_threads(1, 15_000_000).unwrap();
        let mut document = TantivyDocument::default();
        document.add_text(older.schema().get_field("path").unwrap(), "/y");
        writer.add_document(document).unwrap();
        writer.commit().unwrap();
        let searcher = older.reader().unwrap().searcher();
        all.insert(
            0,
            searcher
                .search(&AllQuery, &collector(&request, older.tokenizers()))
                .unwrap(),
        );
        let result = finalize(&request, all).unwrap();
        let buckets = result["per_hour"]["buckets"].as_array().unwrap();
        let expected = hourly_buckets(&f.docs);
        assert_eq!(buckets.len(), expected.len());
        for (bucket, expected) in buckets.iter().zip(&expected) {
            assert_eq!(bucket["key_as_string"], expected["key_as_string"]);
            assert_eq!(bucket["doc_count"], expected["doc_count"]);
            let halves: u64 = bucket["halves"]["buckets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["doc_count"].as_u64().unwrap())
                .sum();
            assert_eq!(json!(halves), expected["doc_count"]);
        }
    }

    #[test]
    fn huge_bucket_ranges_are_errors_not_panics() {
        let f = fixture();
        for aggs in [
            json!({"h": {"histogram": {"field": "status", "interval": 1, "extended_bounds": {"min": -1e300, "max": 1e300}}}}),
            json!({"h": {"histogram": {"field": "latency.p99_ms", "interval": 1e-300}}}),
            json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1ms", "extended_bounds": {"min": 0}}}}),
        ] {
            let outcome = parse(&aggs).and_then(|request| {
                let partials = partials(&f, &request);
                finalize(&request, partials)
            });
            assert!(
                matches!(outcome, Err(Error::BadRequest(_))),
                "{aggs}: {outcome:?}"
            );
        }
    }

    #[test]
    fn calendar_interval_hour_equals_fixed_interval_hour() {
        let f = fixture();
        let fixed = run(
            &f,
            json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h"}}}),
        );
        for calendar in ["1h", "hour"] {
            let result = run(
                &f,
                json!({"h": {"date_histogram": {"field": "timestamp", "calendar_interval": calendar, "time_zone": "UTC"}}}),
            );
            assert_eq!(result, fixed);
        }
    }

    #[test]
    fn calendar_weeks_start_on_monday() {
        let f = fixture();
        let result = run(
            &f,
            json!({"w": {"date_histogram": {"field": "timestamp", "calendar_interval": "week"}}}),
        );
        // 2024-03-05 is a Tuesday.
        assert_eq!(
            result["w"]["buckets"],
            json!([{"key": base() - DAY_MS - 7 * HOUR_MS, "key_as_string": "2024-03-04T00:00:00.000Z", "doc_count": f.docs.len()}])
        );
    }

    #[test]
    fn date_histogram_bounds_and_min_doc_count() {
        let f = fixture();
        // Hard bounds keep the buckets whose key k has min <= k < max.
        let (min, max) = (base() + 30 * MINUTE_MS, base() + 3 * HOUR_MS);
        let result = run(
            &f,
            json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "60m",
                "hard_bounds": {"min": min, "max": iso(max)}}}}),
        );
        let kept: Vec<&Doc> = f
            .docs
            .iter()
            .filter(|d| d.hour() >= min && d.hour() < max)
            .collect();
        let expected: Vec<Value> = kept
            .iter()
            .map(|d| d.hour())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|key| json!({"key": key, "key_as_string": iso(key), "doc_count": kept.iter().filter(|d| d.hour() == key).count()}))
            .collect();
        assert_eq!(result["h"]["buckets"], json!(expected));

        // Extended bounds add empty buckets on both sides.
        let result = run(
            &f,
            json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h",
                "extended_bounds": {"min": base() - 2 * HOUR_MS, "max": "2024-03-05T13:00:00Z"}}}}),
        );
        let buckets = result["h"]["buckets"].as_array().unwrap();
        assert_eq!(buckets.len(), 9);
        assert_eq!(buckets[0]["key_as_string"], "2024-03-05T05:00:00.000Z");
        assert_eq!(buckets[8]["key_as_string"], "2024-03-05T13:00:00.000Z");

        // min_doc_count drops the empty hour.
        let result = run(
            &f,
            json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h", "min_doc_count": 1}}}),
        );
        let expected: Vec<Value> = hourly_buckets(&f.docs)
            .into_iter()
            .filter(|b| b["doc_count"] != 0)
            .collect();
        assert_eq!(result["h"]["buckets"], json!(expected));
    }

    #[test]
    fn offset_shifts_the_bucket_grid() {
        let f = fixture();
        let result = run(
            &f,
            json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h", "offset": "+30m"}}}),
        );
        let first = result["h"]["buckets"][0].clone();
        assert_eq!(first["key_as_string"], "2024-03-05T06:30:00.000Z");
        let count = f.docs.iter().filter(|d| d.minute < 30).count();
        assert_eq!(first["doc_count"], count);
    }

    #[test]
    fn single_value_metrics_and_stats() {
        let f = fixture();
        let result = run(
            &f,
            json!({
                "avg": {"avg": {"field": "latency.p99_ms"}},
                "min": {"min": {"field": "latency.p99_ms"}},
                "max": {"max": {"field": "latency.p99_ms"}},
                "sum": {"sum": {"field": "latency.p99_ms"}},
                "count": {"value_count": {"field": "latency.p99_ms"}},
                "stats": {"stats": {"field": "latency.p99_ms"}}
            }),
        );
        let values = latencies(&f.docs);
        let sum: f64 = values.iter().sum();
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let avg = sum / values.len() as f64;
        assert_close(&result["avg"]["value"], avg);
        assert_close(&result["min"]["value"], min);
        assert_close(&result["max"]["value"], max);
        assert_close(&result["sum"]["value"], sum);
        assert_eq!(result["count"], json!({"value": values.len()}));
        assert!(result["count"]["value"].is_u64());
        let stats = &result["stats"];
        assert_eq!(stats["count"], json!(values.len()));
        assert!(stats["count"].is_u64());
        assert_close(&stats["min"], min);
        assert_close(&stats["max"], max);
        assert_close(&stats["avg"], avg);
        assert_close(&stats["sum"], sum);
        assert_eq!(stats.as_object().unwrap().len(), 5, "{stats}");
    }

    #[test]
    fn missing_counts_documents_without_the_field() {
        let f = fixture();
        let result = run(
            &f,
            json!({"avg": {"avg": {"field": "latency.p99_ms", "missing": 0}}}),
        );
        let sum: f64 = latencies(&f.docs).iter().sum();
        assert_close(&result["avg"]["value"], sum / f.docs.len() as f64);
    }

    fn term_counts(docs: &[Doc], key: impl Fn(&Doc) -> String) -> Vec<(String, u64)> {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for d in docs {
            *counts.entry(key(d)).or_default() += 1;
        }
        counts.into_iter().collect()
    }

    #[test]
    fn terms_with_size_and_order() {
        let f = fixture();
        let mut by_count = term_counts(&f.docs, |d| d.path.to_owned());
        by_count.sort_by(|(ka, ca), (kb, cb)| cb.cmp(ca).then(ka.cmp(kb)));
        let by_key = term_counts(&f.docs, |d| d.path.to_owned());
        let total = f.docs.len() as u64;
        let expect = |counts: &[(String, u64)], size: usize| {
            let kept = &counts[..size];
            json!({
                "doc_count_error_upper_bound": 0,
                "sum_other_doc_count": total - kept.iter().map(|(_, c)| c).sum::<u64>(),
                "buckets": kept.iter().map(|(k, c)| json!({"key": k, "doc_count": c})).collect::<Vec<_>>(),
            })
        };
        let result = run(
            &f,
            json!({
                "top2": {"terms": {"field": "path", "size": 2}},
                // /c and /d tie at one document each: the lower key comes first.
                "top3": {"terms": {"field": "path", "size": 3, "order": {"_count": "desc"}}},
                "by_key": {"terms": {"field": "path", "size": 3, "order": [{"_key": "asc"}]}},
                "by_key_desc": {"terms": {"field": "path", "order": {"_key": "desc"}}},
                "platforms": {"terms": {"field": "tags.platform"}}
            }),
        );
        assert_eq!(result["top2"], expect(&by_count, 2));
        assert_eq!(result["top3"], expect(&by_count, 3));
        assert_eq!(result["by_key"], expect(&by_key, 3));
        let mut descending = by_key.clone();
        descending.reverse();
        assert_eq!(result["by_key_desc"], expect(&descending, descending.len()));
        let mut platforms = term_counts(&f.docs, |d| d.platform.to_owned());
        platforms.sort_by(|(ka, ca), (kb, cb)| cb.cmp(ca).then(ka.cmp(kb)));
        assert_eq!(result["platforms"], expect(&platforms, platforms.len()));
    }

    #[test]
    fn numeric_terms_keys_have_the_field_type() {
        let f = fixture();
        let result = run(
            &f,
            json!({
                "status": {"terms": {"field": "status", "order": {"_key": "asc"}}},
                "latency": {"terms": {"field": "latency.p99_ms", "size": 100, "order": {"_key": "asc"}}}
            }),
        );
        let statuses = term_counts(&f.docs, |d| format!("{:03}", d.status));
        let expected: Vec<Value> = statuses
            .iter()
            .map(|(k, c)| json!({"key": k.parse::<i64>().unwrap(), "doc_count": c}))
            .collect();
        assert_eq!(result["status"]["buckets"], json!(expected));
        let mut values = latencies(&f.docs);
        values.sort_by(f64::total_cmp);
        let keys: Vec<Value> = result["latency"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["key"].clone())
            .collect();
        // Floats in ascending order, whole numbers (40.0) included.
        assert_eq!(keys, values.iter().map(|v| json!(v)).collect::<Vec<_>>());
        assert!(keys.iter().all(Value::is_f64));
    }

    #[test]
    fn histogram_keys_are_floats_with_empty_buckets() {
        let f = fixture();
        let result = run(
            &f,
            json!({"status": {"histogram": {"field": "status", "interval": 100}}}),
        );
        let bucket_of = |d: &Doc| d.status.div_euclid(100) * 100;
        let first = f.docs.iter().map(bucket_of).min().unwrap();
        let last = f.docs.iter().map(bucket_of).max().unwrap();
        let expected: Vec<Value> = (first..=last)
            .step_by(100)
            .map(|key| json!({"key": key as f64, "doc_count": f.docs.iter().filter(|d| bucket_of(d) == key).count()}))
            .collect();
        assert_eq!(result["status"]["buckets"], json!(expected));
        assert!(result["status"]["buckets"][0]["key"].is_f64());

        let keyed = run(
            &f,
            json!({"status": {"histogram": {"field": "status", "interval": 100, "keyed": true}}}),
        );
        assert_eq!(
            keyed["status"]["buckets"]["200.0"]["doc_count"],
            expected[0]["doc_count"]
        );
    }

    #[test]
    fn percentiles_within_sketch_precision() {
        let f = fixture();
        let result = run(
            &f,
            json!({"p": {"percentiles": {"field": "latency.p99_ms", "percents": [50, 95.5]}}}),
        );
        let mut values = latencies(&f.docs);
        values.sort_by(f64::total_cmp);
        let values_out = result["p"]["values"].as_object().unwrap();
        assert_eq!(values_out.keys().collect::<Vec<_>>(), ["50.0", "95.5"]);
        for (key, percent) in [("50.0", 50.0), ("95.5", 95.5)] {
            // Between the neighbouring ranks, within the sketch's 1%, whether
            // the estimate interpolates (t-digest) or picks a rank (DDSketch).
            let rank = percent / 100.0 * (values.len() - 1) as f64;
            let low = values[rank.floor() as usize] * 0.98;
            let high = values[rank.ceil() as usize] * 1.02;
            let actual = values_out[key].as_f64().unwrap();
            assert!(
                low <= actual && actual <= high,
                "{key}: {actual} not in [{low}, {high}]"
            );
        }

        let listed = run(
            &f,
            json!({"p": {"percentiles": {"field": "latency.p99_ms", "percents": [50], "keyed": false}}}),
        );
        assert_eq!(listed["p"]["values"][0]["key"], json!(50.0));
        assert_eq!(
            listed["p"]["values"][0]["value"],
            result["p"]["values"]["50.0"]
        );
    }

    #[test]
    fn cardinality_counts_distinct_values() {
        let f = fixture();
        let result = run(
            &f,
            json!({
                "paths": {"cardinality": {"field": "path"}},
                "platforms": {"cardinality": {"field": "tags.platform", "precision_threshold": 100}}
            }),
        );
        let paths: BTreeSet<&str> = f.docs.iter().map(|d| d.path).collect();
        let platforms: BTreeSet<&str> = f.docs.iter().map(|d| d.platform).collect();
        assert_eq!(result["paths"], json!({"value": paths.len()}));
        assert_eq!(result["platforms"], json!({"value": platforms.len()}));
    }

    #[test]
    fn sub_aggregations_terms_with_avg_under_date_histogram() {
        let f = fixture();
        let result = run(
            &f,
            json!({"per_hour": {
                "date_histogram": {"field": "timestamp", "fixed_interval": "1h"},
                "aggs": {"by_path": {
                    "terms": {"field": "path"},
                    "aggregations": {"latency": {"avg": {"field": "latency.p99_ms"}}}
                }}
            }}),
        );
        let buckets = result["per_hour"]["buckets"].as_array().unwrap();
        let hourly = hourly_buckets(&f.docs);
        assert_eq!(buckets.len(), hourly.len());
        for (bucket, expected) in buckets.iter().zip(&hourly) {
            assert_eq!(bucket["key"], expected["key"]);
            assert_eq!(bucket["doc_count"], expected["doc_count"]);
            let in_hour: Vec<&Doc> = f
                .docs
                .iter()
                .filter(|d| Some(d.hour()) == expected["key"].as_i64())
                .collect();
            let mut paths = term_counts(
                &in_hour
                    .iter()
                    .map(|d| doc(d.minute, d.path, d.p99, d.status, d.platform))
                    .collect::<Vec<_>>(),
                |d| d.path.to_owned(),
            );
            paths.sort_by(|(ka, ca), (kb, cb)| cb.cmp(ca).then(ka.cmp(kb)));
            let terms = &bucket["by_path"];
            assert_eq!(terms["sum_other_doc_count"], 0);
            let got = terms["buckets"].as_array().unwrap();
            assert_eq!(got.len(), paths.len());
            for (term, (path, count)) in got.iter().zip(&paths) {
                assert_eq!(term["key"], json!(path));
                assert_eq!(term["doc_count"], json!(count));
                let values: Vec<f64> = in_hour
                    .iter()
                    .filter(|d| d.path == path)
                    .filter_map(|d| d.p99)
                    .collect();
                if values.is_empty() {
                    assert_eq!(term["latency"], json!({"value": null}));
                } else {
                    assert_close(
                        &term["latency"]["value"],
                        values.iter().sum::<f64>() / values.len() as f64,
                    );
                }
            }
        }
        assert!(
            buckets.iter().any(|b| b["by_path"]["buckets"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["latency"]["value"].is_null()))),
            "a bucket whose documents have no latency has a null average"
        );
    }

    #[test]
    fn keyed_buckets_and_meta() {
        let f = fixture();
        let result = run(
            &f,
            json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h", "keyed": true, "format": "strict_date_optional_time"}, "meta": {"panel": 3}}}),
        );
        assert_eq!(result["h"]["meta"], json!({"panel": 3}));
        let buckets = result["h"]["buckets"].as_object().unwrap();
        for expected in hourly_buckets(&f.docs) {
            let key = expected["key_as_string"].as_str().unwrap();
            assert_eq!(buckets[key], expected);
        }
    }

    #[test]
    fn date_fields_come_back_in_milliseconds() {
        let f = fixture();
        let result = run(
            &f,
            json!({
                "first": {"min": {"field": "timestamp"}},
                "last": {"max": {"field": "timestamp"}},
                "span": {"stats": {"field": "timestamp"}},
                "when": {"terms": {"field": "timestamp", "size": 1, "order": {"_key": "asc"}}}
            }),
        );
        let first = f.docs.iter().map(Doc::timestamp).min().unwrap();
        let last = f.docs.iter().map(Doc::timestamp).max().unwrap();
        assert_eq!(
            result["first"],
            json!({"value": first as f64, "value_as_string": iso(first)})
        );
        assert_eq!(
            result["last"],
            json!({"value": last as f64, "value_as_string": iso(last)})
        );
        assert_eq!(result["span"]["min"], json!(first as f64));
        assert_eq!(result["span"]["max_as_string"], json!(iso(last)));
        assert_eq!(
            result["when"]["buckets"],
            json!([{"key": first, "key_as_string": iso(first), "doc_count": 1}])
        );
    }

    #[test]
    fn resolve_fields_rejects_what_elasticsearch_rejects() {
        let schema = PartitionSchema::from_mappings(&json!({"properties": {
            "message": {"type": "text"}, "path": {"type": "keyword"}, "tags": {"type": "flattened"}
        }}))
        .unwrap();
        let resolve = |aggs: Value| parse(&aggs).unwrap().resolve_fields(&schema);
        let text = resolve(json!({"m": {"terms": {"field": "message"}}}))
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("message") && text.contains("keyword"),
            "{text}"
        );
        let keyword = resolve(json!({"a": {"avg": {"field": "path"}}})).unwrap_err();
        assert!(
            matches!(&keyword, Error::BadRequest(m) if m.contains("`path`") && m.contains("avg")),
            "{keyword}"
        );
        assert!(matches!(
            resolve(json!({"t": {"terms": {"field": "tags"}}})),
            Err(Error::Unsupported { .. })
        ));
        resolve(json!({"t": {"terms": {"field": "tags.platform"}}, "u": {"avg": {"field": "unmapped"}}})).unwrap();
    }

    #[test]
    fn zero_partials_give_empty_results() {
        let request = parse(&json!({
            "h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h"}, "aggs": {"a": {"avg": {"field": "x"}}}},
            "hist": {"histogram": {"field": "status", "interval": 10}},
            "t": {"terms": {"field": "path"}},
            "avg": {"avg": {"field": "x"}},
            "min": {"min": {"field": "x"}},
            "max": {"max": {"field": "x"}},
            "sum": {"sum": {"field": "x"}},
            "count": {"value_count": {"field": "x"}},
            "stats": {"stats": {"field": "x"}},
            "p": {"percentiles": {"field": "x", "percents": [50, 99]}},
            "card": {"cardinality": {"field": "x"}}
        }))
        .unwrap();
        let result = finalize(&request, Vec::new()).unwrap();
        assert_eq!(
            result,
            json!({
                "h": {"buckets": []},
                "hist": {"buckets": []},
                "t": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": []},
                "avg": {"value": null},
                "min": {"value": null},
                "max": {"value": null},
                "sum": {"value": 0.0},
                "count": {"value": 0},
                "stats": {"count": 0, "min": null, "max": null, "avg": null, "sum": 0.0},
                "p": {"values": {"50.0": null, "99.0": null}},
                "card": {"value": 0}
            })
        );
        // Extended bounds still give their empty buckets.
        let request = parse(
            &json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1d",
            "extended_bounds": {"min": "2024-03-01", "max": "2024-03-03"}}}}),
        )
        .unwrap();
        let result = finalize(&request, Vec::new()).unwrap();
        let keys: Vec<&Value> = result["h"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| &b["key_as_string"])
            .collect();
        assert_eq!(
            keys,
            [
                "2024-03-01T00:00:00.000Z",
                "2024-03-02T00:00:00.000Z",
                "2024-03-03T00:00:00.000Z"
            ]
        );
    }

    #[test]
    fn unsupported_requests_name_what_and_where() {
        let what = unsupported(
            json!({"per_month": {"date_histogram": {"field": "timestamp", "calendar_interval": "1M"}}}),
        );
        assert!(
            what.contains("`1M`") && what.contains("per_month"),
            "{what}"
        );
        let what = unsupported(
            json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h", "time_zone": "Europe/Amsterdam"}}}),
        );
        assert!(
            what.contains("Europe/Amsterdam") && what.contains("`h`"),
            "{what}"
        );
        let what = unsupported(json!({"errors": {"filter": {"term": {"status": 500}}}}));
        assert_eq!(what, "aggregation `filter` (in `errors`)");
        let what =
            unsupported(json!({"lat": {"avg": {"field": "latency.p99_ms", "colour": "red"}}}));
        assert!(
            what.contains("`colour`") && what.contains("avg") && what.contains("lat"),
            "{what}"
        );
        let what = unsupported(
            json!({"h": {"terms": {"field": "path"}, "aggs": {"top": {"top_hits": {}}}}}),
        );
        assert_eq!(what, "aggregation `top_hits` (in `h>top`)");
        for aggs in [
            json!({"q": {"date_histogram": {"field": "timestamp", "calendar_interval": "quarter"}}}),
            json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h", "format": "yyyy-MM-dd"}}}),
            json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h", "missing": "2024-01-01"}}}),
            json!({"t": {"terms": {"field": "path", "order": {"latency": "desc"}}}}),
            json!({"t": {"terms": {"field": "path", "include": ["/a"]}}}),
            json!({"a": {"avg": {"script": "doc['x'].value"}}}),
            json!({"c": {"value_count": {"field": "x", "missing": 0}}}),
            json!({"p": {"percentiles": {"field": "x", "hdr": {}}}}),
            json!({"b": {"geo_bounds": {"field": "where"}}}),
        ] {
            unsupported(aggs);
        }
    }

    #[test]
    fn malformed_requests_are_bad_requests() {
        for aggs in [
            json!([]),
            json!({"a": {"avg": {"field": "x"}, "max": {"field": "x"}}}),
            json!({"a": {"avg": {"field": "x"}, "aggs": {"b": {"max": {"field": "x"}}}}}),
            json!({"a": {"terms": {"field": "x"}, "aggs": {}, "aggregations": {}}}),
            json!({"a": {"meta": {}}}),
            json!({"a>b": {"avg": {"field": "x"}}}),
            json!({"a": {"avg": {}}}),
            json!({"h": {"date_histogram": {"field": "t"}}}),
            json!({"h": {"date_histogram": {"field": "t", "fixed_interval": "1h", "calendar_interval": "1h"}}}),
            json!({"h": {"date_histogram": {"field": "t", "fixed_interval": "0m"}}}),
            json!({"h": {"date_histogram": {"field": "t", "fixed_interval": "1w"}}}),
            json!({"h": {"date_histogram": {"field": "t", "calendar_interval": "2d"}}}),
            json!({"h": {"date_histogram": {"field": "t", "fixed_interval": "1h", "extended_bounds": {"min": 10, "max": 1}}}}),
            json!({"h": {"histogram": {"field": "t", "interval": 0}}}),
            json!({"t": {"terms": {"field": "x", "size": 0}}}),
            json!({"p": {"percentiles": {"field": "x", "percents": [101]}}}),
        ] {
            match parse(&aggs) {
                Err(Error::BadRequest(message)) => assert!(!message.is_empty()),
                other => panic!("{aggs}: expected BadRequest, got {other:?}"),
            }
        }
    }

    #[test]
    fn week_interval_is_rewritten_as_seven_days_from_monday() {
        let request = parse(&json!({"w": {"date_histogram": {"field": "t", "calendar_interval": "1w", "offset": "-1h"}}})).unwrap();
        let tantivy = serde_json::to_value(&request.tantivy).unwrap();
        assert_eq!(
            tantivy["w"]["date_histogram"]["fixed_interval"],
            format!("{WEEK_MS}ms")
        );
        assert_eq!(
            tantivy["w"]["date_histogram"]["offset"],
            format!("{}ms", FIRST_MONDAY_MS - HOUR_MS)
        );
    }

    #[test]
    fn doubles_print_as_java_does() {
        assert_eq!(java_double(50.0), "50.0");
        assert_eq!(java_double(99.9), "99.9");
        assert_eq!(java_double(0.5), "0.5");
        assert_eq!(java_double(0.0001), "1.0E-4");
        assert_eq!(java_double(1.5e7), "1.5E7");
    }
}
