//! Aggregations on the embedded engine: Elasticsearch aggregation requests
//! run by tantivy and answered in Elasticsearch's response shape.
//!
//! A search hands the `aggs` (or `aggregations`) object of its body to
//! [`parse()`], which checks it against the supported subset and rewrites it
//! into tantivy's request. [`AggRequest::resolve_fields`] then looks the
//! aggregated fields up in a partition's schema (optional, but without it
//! date fields and double-valued terms keys come back as tantivy gives
//! them). Every partition searcher runs its own [`collector`];
//! [`finalize`] merges their results and reshapes them into the JSON
//! Elasticsearch returns under `aggregations`.
//!
//! What is supported, and how it differs from Elasticsearch, is documented
//! on the public [`EmbeddedBackend`](super::EmbeddedBackend) ("Supported
//! queries and aggregations", "Differences from Elasticsearch"): keep it
//! there when an aggregation or parameter is added. Calendar intervals are
//! bucketed in `calendar.rs`, for every year 0000-9999.

use serde_json::{Map, Value, json};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::intermediate_agg_result::{
    IntermediateAggregationResult, IntermediateAggregationResults, IntermediateBucketResult,
};
use tantivy::aggregation::{
    AggContextParams, AggregationError, AggregationLimitsGuard, DEFAULT_BUCKET_LIMIT,
    DistributedAggregationCollector,
};
use tantivy::tokenizer::TokenizerManager;
use tantivy::{Searcher, TantivyError};

use self::calendar::Calendar;
use self::parse::parse_level;
use self::reshape::reshape_level;
use super::schema::{FieldKind, LeafKind, PartitionSchema};
use crate::dates::DateUnit;
use crate::error::{Error, Result};

mod calendar;
mod date_histogram;
mod histogram;
mod metrics;
mod parse;
mod reshape;
mod terms;
#[cfg(test)]
mod tests;

/// The most buckets one histogram may fill in; tantivy's limit for a response.
const BUCKET_LIMIT: f64 = DEFAULT_BUCKET_LIMIT as f64;
/// How many intervals from the origin a bucket may be (2^53: beyond it,
/// positions are no longer whole numbers in a double).
const MAX_BUCKET_POSITION: f64 = 9_007_199_254_740_992.0;

const HINT_FORMAT: &str = "dates are formatted as strict_date_optional_time (2024-03-05T07:00:00.000Z); leave `format` out and format `key` (epoch milliseconds) on the client";
const HINT_FLATTENED_ROOT: &str = "aggregate on one key below the field (e.g. `tags.platform`), or run this search on Elasticsearch";
const HINT_DATE_MISSING: &str = "`missing` is supported for numeric fields only; leave it out and count the documents without the field with a query";

/// A parsed aggregation request: tantivy's request, and the tree of
/// aggregations that [`finalize`] walks to give the response
/// Elasticsearch's shape.
#[derive(Debug, Clone)]
pub(crate) struct AggRequest {
    /// What tantivy runs.
    tantivy: Aggregations,
    /// The same as JSON, where [`AggRequest::bind_calendars`] writes the
    /// bucket starts of calendar histograms.
    tantivy_json: Map<String, Value>,
    /// Whether a calendar histogram waits for its bucket starts.
    has_calendars: bool,
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
    DateHistogram {
        keyed: bool,
        grid: Grid,
    },
    /// A date histogram whose buckets differ in length (calendar months,
    /// quarters, years, or any interval in a time zone other than UTC):
    /// tantivy runs a `range` aggregation over the bucket starts.
    CalendarHistogram {
        keyed: bool,
        grid: Box<CalendarGrid>,
    },
    Histogram {
        keyed: bool,
        grid: Grid,
    },
    Terms {
        order: TermsOrder,
    },
    Avg,
    Min,
    Max,
    Sum,
    ValueCount,
    Stats,
    Cardinality,
    Percentiles {
        keyed: bool,
    },
}

impl Kind {
    fn is_bucket(&self) -> bool {
        matches!(
            self,
            Kind::DateHistogram { .. }
                | Kind::CalendarHistogram { .. }
                | Kind::Histogram { .. }
                | Kind::Terms { .. }
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

/// The buckets of a calendar histogram: where they start, and which are
/// returned.
#[derive(Debug, Clone)]
struct CalendarGrid {
    calendar: Calendar,
    min_doc_count: u64,
    /// `extended_bounds` and `hard_bounds`, in epoch milliseconds.
    extended: Option<(Option<i64>, Option<i64>)>,
    hard: Option<(Option<i64>, Option<i64>)>,
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
    fn check_span(&self, ctx_path: &str, min: f64, max: f64) -> Result<()> {
        if !self.fills || min > max {
            return Ok(());
        }
        let buckets = (max - min) / self.interval;
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
    fn check_key(&self, ctx_path: &str, key: f64) -> Result<()> {
        let position = (key - self.offset) / self.interval;
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
    /// Dates stored in this unit.
    Date(DateUnit),
    Float,
    Integer,
    Boolean,
    Keyword,
    Ip,
    Text,
}

impl Values {
    /// The unit of a date field's values; `None` for other fields.
    fn date_unit(self) -> Option<DateUnit> {
        match self {
            Values::Date(unit) => Some(unit),
            _ => None,
        }
    }

    fn of(kind: FieldKind) -> Self {
        match kind {
            FieldKind::Date(unit) => Values::Date(unit),
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
            Values::Date(DateUnit::Millis) => "date",
            Values::Date(DateUnit::Nanos) => "date_nanos",
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
    /// `stats`/`percentiles` and `terms` keys on a date field come back as
    /// bare epoch milliseconds without `value_as_string`/`key_as_string`,
    /// and `terms` on a `double` field has whole-number keys as integers
    /// (`2` where Elasticsearch says `2.0`). The first schema that maps a
    /// field decides its type.
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
    let date_histogram = matches!(
        node.kind,
        Kind::DateHistogram { .. } | Kind::CalendarHistogram { .. }
    );
    if date_histogram && values == Values::Date(DateUnit::Nanos) {
        return Err(Error::Unsupported {
            what: format!(
                "date_histogram on the date_nanos field `{}` (in `{}`)",
                node.field, node.path
            ),
            hint: "map the field as `date` (milliseconds), or run this search on Elasticsearch",
        });
    }
    let numeric = matches!(
        values,
        Values::Date(_) | Values::Float | Values::Integer | Values::Boolean
    );
    let accepted = match node.kind {
        Kind::DateHistogram { .. } | Kind::CalendarHistogram { .. } => {
            matches!(
                values,
                Values::Date(DateUnit::Millis) | Values::Float | Values::Integer
            )
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
    if matches!(values, Values::Date(_)) && node.missing {
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
        Kind::DateHistogram { .. } | Kind::CalendarHistogram { .. } => "date_histogram",
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
/// against the supported subset (see
/// [`EmbeddedBackend`](super::EmbeddedBackend)) and rewrites it into
/// tantivy's request. Anything outside the subset is
/// [`Error::Unsupported`] naming it; a malformed body is
/// [`Error::BadRequest`].
pub(crate) fn parse(aggs: &Value) -> Result<AggRequest> {
    let (nodes, tantivy_json) = parse_level(aggs, "")?;
    let tantivy = tantivy_request(&tantivy_json)?;
    let has_calendars = any_calendar(&nodes);
    Ok(AggRequest {
        tantivy,
        tantivy_json,
        has_calendars,
        nodes,
    })
}

fn tantivy_request(json: &Map<String, Value>) -> Result<Aggregations> {
    serde_json::from_value(Value::Object(json.clone())).map_err(|error| {
        Error::BadRequest(format!(
            "the aggregations could not be read by the embedded engine: {error}"
        ))
    })
}

fn any_calendar(nodes: &[Node]) -> bool {
    nodes
        .iter()
        .any(|node| matches!(node.kind, Kind::CalendarHistogram { .. }) || any_calendar(&node.subs))
}

impl AggRequest {
    /// Gives every calendar histogram its bucket starts, from the least to
    /// the greatest value of its field in `searchers` (widened to
    /// `extended_bounds`, narrowed to `hard_bounds`). Call it once, with
    /// every searcher the search will run, before [`collector`]; buckets
    /// outside the matching documents are dropped again by [`finalize`].
    pub(crate) fn bind_calendars(&mut self, searchers: &[Searcher]) -> Result<()> {
        if !self.has_calendars {
            return Ok(());
        }
        bind_level(&self.nodes, &mut self.tantivy_json, searchers)?;
        self.tantivy = tantivy_request(&self.tantivy_json)?;
        Ok(())
    }
}

fn bind_level(nodes: &[Node], json: &mut Map<String, Value>, searchers: &[Searcher]) -> Result<()> {
    for node in nodes {
        let Some(Value::Object(entry)) = json.get_mut(&node.name) else {
            continue;
        };
        if let Kind::CalendarHistogram { grid, .. } = &node.kind {
            let ranges = bucket_ranges(node, grid, searchers)?;
            if let Some(Value::Object(range)) = entry.get_mut("range") {
                range.insert(String::from("ranges"), Value::Array(ranges));
            }
        }
        if let Some(Value::Object(subs)) = entry.get_mut("aggs") {
            bind_level(&node.subs, subs, searchers)?;
        }
    }
    Ok(())
}

/// The `ranges` of a calendar histogram's range aggregation: one per
/// bucket, `from` its start `to` the next start.
fn bucket_ranges(node: &Node, grid: &CalendarGrid, searchers: &[Searcher]) -> Result<Vec<Value>> {
    let mut span = value_span(&node.field, searchers)?;
    if grid.min_doc_count == 0
        && let Some((min, max)) = grid.extended
    {
        let (lo, hi) = span.unwrap_or((i64::MAX, i64::MIN));
        let lo = min.map_or(lo, |m| lo.min(m));
        let hi = max.map_or(hi, |m| hi.max(m));
        span = (lo <= hi).then_some((lo, hi));
    }
    if let (Some((lo, hi)), Some((min, max))) = (span, grid.hard) {
        let lo = min.map_or(lo, |m| lo.max(m));
        let hi = max.map_or(hi, |m| hi.min(m.saturating_sub(1)));
        span = (lo <= hi).then_some((lo, hi));
    }
    let Some((lo, hi)) = span else {
        // Nothing to bucket: a range no value reaches, dropped by `finalize`.
        return Ok(vec![json!({ "to": f64::MIN })]);
    };
    let starts = grid
        .calendar
        .starts(lo, hi, DEFAULT_BUCKET_LIMIT as usize)
        .ok_or_else(|| {
            Error::BadRequest(format!(
                "date histogram `{}` would return more than {DEFAULT_BUCKET_LIMIT} buckets; use a longer interval, bounds or a narrower time range",
                node.path
            ))
        })?;
    Ok(starts
        .windows(2)
        .map(|pair| json!({ "from": pair[0] as f64, "to": pair[1] as f64 }))
        .collect())
}

/// The least and greatest value of the `i64` column `field` in every
/// segment of `searchers`; `None` when none holds a value.
fn value_span(field: &str, searchers: &[Searcher]) -> Result<Option<(i64, i64)>> {
    let mut span: Option<(i64, i64)> = None;
    for searcher in searchers {
        for segment in searcher.segment_readers() {
            let Some(column) = segment.fast_fields().column_opt::<i64>(field)? else {
                continue;
            };
            if column.values.num_vals() == 0 {
                continue;
            }
            let (min, max) = (column.min_value(), column.max_value());
            span = Some(span.map_or((min, max), |(lo, hi)| (lo.min(min), hi.max(max))));
        }
    }
    Ok(span)
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
    check_bucket_spans(&request.nodes, &merged)?;
    let results = merged
        .into_final_result(request.tantivy.clone(), AggregationLimitsGuard::default())
        .map_err(engine_error)?;
    Ok(Value::Object(reshape_level(&request.nodes, results)?))
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
            IntermediateBucketResult::Histogram { buckets, .. } => {
                if let Kind::DateHistogram { grid, .. } | Kind::Histogram { grid, .. } = &node.kind
                {
                    let mut min = grid.extended_min.unwrap_or(f64::INFINITY);
                    let mut max = grid.extended_max.unwrap_or(f64::NEG_INFINITY);
                    for bucket in buckets {
                        grid.check_key(&node.path, bucket.key)?;
                        min = min.min(bucket.key);
                        max = max.max(bucket.key);
                    }
                    grid.check_span(&node.path, min, max)?;
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
