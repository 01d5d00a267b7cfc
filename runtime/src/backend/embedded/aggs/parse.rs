use std::fmt::Display;

use serde_json::{Map, Value, json};

use super::date_histogram::parse_date_histogram;
use super::histogram::parse_histogram;
use super::metrics::{parse_counting_metric, parse_percentiles, parse_simple_metric};
use super::terms::parse_terms;
use super::{Grid, HINT_FORMAT, Kind, Node, Values};
use crate::backend::embedded::values::json_type;
use crate::error::{Error, Result};

const HINT_TYPES: &str = "the embedded engine runs date_histogram, histogram, terms, avg, min, max, sum, value_count, stats, percentiles and cardinality; rewrite the aggregation with those, or run this search on Elasticsearch";
const HINT_SCRIPT: &str = "scripts do not run on the embedded engine; aggregate on a mapped field, or run this search on Elasticsearch";
const HINT_MISSING: &str = "`missing` is supported on terms, avg, min, max, sum, stats and percentiles of numeric fields; leave it out and count the documents without the field with a query";
const HINT_HISTOGRAM_ORDER: &str =
    "histogram buckets come in ascending key order; sort them on the client";

/// Parses one level of named aggregations into nodes and tantivy's JSON.
pub(super) fn parse_level(aggs: &Value, parent: &str) -> Result<(Vec<Node>, Map<String, Value>)> {
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
pub(super) struct Parsed {
    pub(super) kind: Kind,
    pub(super) field: String,
    pub(super) missing: bool,
    /// The parameters as tantivy reads them.
    pub(super) tantivy: Value,
    /// The aggregation tantivy runs, where it is not the one asked for
    /// (a date histogram is a histogram over epoch milliseconds).
    pub(super) tantivy_type: Option<&'static str>,
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
    tantivy.insert(parsed.tantivy_type.unwrap_or(ty).to_owned(), parsed.tantivy);
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
pub(super) struct Ctx<'a> {
    pub(super) ty: &'a str,
    path: &'a str,
}

impl Ctx<'_> {
    pub(super) fn bad(&self, message: impl Display) -> Error {
        Error::BadRequest(format!(
            "aggregation `{}` ({}): {message}",
            self.path, self.ty
        ))
    }

    pub(super) fn unsupported(&self, what: impl Display, hint: &'static str) -> Error {
        Error::Unsupported {
            what: format!("{what} in aggregation `{}` (in `{}`)", self.ty, self.path),
            hint,
        }
    }

    /// A key this aggregation does not take.
    pub(super) fn unknown(&self, key: &str) -> Error {
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
    pub(super) fn common_unsupported(&self, key: &str) -> Error {
        match key {
            "script" => self.unsupported("`script`", HINT_SCRIPT),
            "format" => self.unsupported("`format`", HINT_FORMAT),
            "missing" => self.unsupported("`missing`", HINT_MISSING),
            _ => self.unknown(key),
        }
    }

    pub(super) fn string<'v>(&self, key: &str, value: &'v Value) -> Result<&'v str> {
        value.as_str().ok_or_else(|| {
            self.bad(format!(
                "`{key}` must be a string, not {}",
                json_type(value)
            ))
        })
    }

    pub(super) fn field(&self, field: Option<&str>) -> Result<String> {
        match field {
            Some(field) if !field.is_empty() => Ok(field.to_owned()),
            Some(_) => Err(self.bad("`field` is empty; name the field to aggregate")),
            None => Err(self.bad("`field` is required; name the field to aggregate")),
        }
    }

    pub(super) fn boolean(&self, key: &str, value: &Value) -> Result<bool> {
        match value {
            Value::Bool(b) => Ok(*b),
            Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
            _ => Err(self.bad(format!("`{key}` must be true or false, not {value}"))),
        }
    }

    pub(super) fn count(&self, key: &str, value: &Value) -> Result<u64> {
        json_count(value)
            .ok_or_else(|| self.bad(format!("`{key}` must be a whole number >= 0, not {value}")))
    }

    pub(super) fn positive_u32(&self, key: &str, value: &Value) -> Result<u32> {
        json_count(value)
            .filter(|n| *n > 0)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| self.bad(format!("`{key}` must be a whole number > 0, not {value}")))
    }

    pub(super) fn number(&self, key: &str, value: &Value) -> Result<f64> {
        json_f64(value).ok_or_else(|| self.bad(format!("`{key}` must be a number, not {value}")))
    }

    /// `order` on a histogram: only the default, ascending keys.
    pub(super) fn key_ascending_order(&self, value: &Value) -> Result<()> {
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
pub(super) fn json_f64(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|f| f.is_finite())
}

pub(super) enum OrderSpec {
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
pub(super) fn parse_order(value: &Value) -> Option<OrderSpec> {
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
pub(super) struct Bounds<T> {
    pub(super) min: Option<T>,
    pub(super) max: Option<T>,
}

pub(super) fn parse_bounds<T: PartialOrd + Display + Copy>(
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
pub(super) fn write_bounds(
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
        grid.check_span(ctx.path, min, max)?;
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{Expect, Stage, case, check, fixture};

    #[test]
    fn unsupported_requests_name_what_and_where() {
        // Calendar months, quarters and years and time zones are supported
        // (see `date_histogram.rs`); a zone that does not exist is a bad request.
        check(
            &fixture(),
            Stage::Parse,
            vec![
                case(
                    "calendar months",
                    json!({"per_month": {"date_histogram": {"field": "timestamp", "calendar_interval": "1M"}}}),
                    Expect::Accepted,
                ),
                case(
                    "calendar quarters",
                    json!({"q": {"date_histogram": {"field": "timestamp", "calendar_interval": "quarter"}}}),
                    Expect::Accepted,
                ),
                case(
                    "a named time zone",
                    json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h", "time_zone": "Europe/Amsterdam"}}}),
                    Expect::Accepted,
                ),
                case(
                    "a time zone that does not exist",
                    json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h", "time_zone": "Mars/Olympus"}}}),
                    Expect::BadRequest(&["Mars/Olympus", "`h`"]),
                ),
                case(
                    "an aggregation type, named with where it is",
                    json!({"errors": {"filter": {"term": {"status": 500}}}}),
                    Expect::Unsupported(&["aggregation `filter` (in `errors`)"]),
                ),
                case(
                    "a parameter, named with its aggregation",
                    json!({"lat": {"avg": {"field": "latency.p99_ms", "colour": "red"}}}),
                    Expect::Unsupported(&["`colour`", "avg", "lat"]),
                ),
                case(
                    "a sub-aggregation type, named with its path",
                    json!({"h": {"terms": {"field": "path"}, "aggs": {"top": {"top_hits": {}}}}}),
                    Expect::Unsupported(&["aggregation `top_hits` (in `h>top`)"]),
                ),
                case(
                    "date_histogram with format",
                    json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h", "format": "yyyy-MM-dd"}}}),
                    Expect::Unsupported(&[
                        "format `yyyy-MM-dd` in aggregation `date_histogram` (in `h`)",
                    ]),
                ),
                case(
                    "date_histogram with missing",
                    json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h", "missing": "2024-01-01"}}}),
                    Expect::Unsupported(&["`missing` in aggregation `date_histogram` (in `h`)"]),
                ),
                case(
                    "terms ordered by a sub-aggregation",
                    json!({"t": {"terms": {"field": "path", "order": {"latency": "desc"}}}}),
                    Expect::Unsupported(&[
                        "`order` {\"latency\":\"desc\"} in aggregation `terms` (in `t`)",
                    ]),
                ),
                case(
                    "terms with include",
                    json!({"t": {"terms": {"field": "path", "include": ["/a"]}}}),
                    Expect::Unsupported(&["`include` in aggregation `terms` (in `t`)"]),
                ),
                case(
                    "a script",
                    json!({"a": {"avg": {"script": "doc['x'].value"}}}),
                    Expect::Unsupported(&["`script` in aggregation `avg` (in `a`)"]),
                ),
                case(
                    "value_count with missing",
                    json!({"c": {"value_count": {"field": "x", "missing": 0}}}),
                    Expect::Unsupported(&["`missing` in aggregation `value_count` (in `c`)"]),
                ),
                case(
                    "percentiles with hdr",
                    json!({"p": {"percentiles": {"field": "x", "hdr": {}}}}),
                    Expect::Unsupported(&["`hdr` in aggregation `percentiles` (in `p`)"]),
                ),
                case(
                    "geo_bounds",
                    json!({"b": {"geo_bounds": {"field": "where"}}}),
                    Expect::Unsupported(&["aggregation `geo_bounds` (in `b`)"]),
                ),
            ],
        );
    }

    #[test]
    fn malformed_requests_are_bad_requests() {
        check(
            &fixture(),
            Stage::Parse,
            vec![
                case(
                    "not an object",
                    json!([]),
                    Expect::BadRequest(&[
                        "`aggs` must be an object of named aggregations, like {\"per_hour\": {\"date_histogram\": ...}}, not an array",
                    ]),
                ),
                case(
                    "two types in one aggregation",
                    json!({"a": {"avg": {"field": "x"}, "max": {"field": "x"}}}),
                    Expect::BadRequest(&[
                        "aggregation `a` has two types, `avg` and `max`; give each aggregation its own name",
                    ]),
                ),
                case(
                    "sub-aggregations under a metric",
                    json!({"a": {"avg": {"field": "x"}, "aggs": {"b": {"max": {"field": "x"}}}}}),
                    Expect::BadRequest(&[
                        "aggregation `a` (avg): `avg` computes a value and cannot hold `aggs`; put the sub-aggregations under a bucket aggregation",
                    ]),
                ),
                case(
                    "aggs and aggregations together",
                    json!({"a": {"terms": {"field": "x"}, "aggs": {}, "aggregations": {}}}),
                    Expect::BadRequest(&[
                        "aggregation `a` has both `aggregations` and `aggs`; give its sub-aggregations once",
                    ]),
                ),
                case(
                    "meta without a type",
                    json!({"a": {"meta": {}}}),
                    Expect::BadRequest(&[
                        "aggregation `a` has no type; give one, like {\"avg\": {\"field\": \"...\"}}",
                    ]),
                ),
                case(
                    "a name with >",
                    json!({"a>b": {"avg": {"field": "x"}}}),
                    Expect::BadRequest(&[
                        "invalid aggregation name \"a>b\": a name must be non-empty and contain no `[`, `]` or `>`",
                    ]),
                ),
                case(
                    "a metric without a field",
                    json!({"a": {"avg": {}}}),
                    Expect::BadRequest(&[
                        "aggregation `a` (avg): `field` is required; name the field to aggregate",
                    ]),
                ),
                case(
                    "date_histogram without an interval",
                    json!({"h": {"date_histogram": {"field": "t"}}}),
                    Expect::BadRequest(&[
                        "aggregation `h` (date_histogram): fixed_interval (e.g. \"1h\") or calendar_interval (e.g. \"hour\") is required",
                    ]),
                ),
                case(
                    "date_histogram with two intervals",
                    json!({"h": {"date_histogram": {"field": "t", "fixed_interval": "1h", "calendar_interval": "1h"}}}),
                    Expect::BadRequest(&[
                        "aggregation `h` (date_histogram): give either fixed_interval or calendar_interval, not both",
                    ]),
                ),
                case(
                    "a zero fixed interval",
                    json!({"h": {"date_histogram": {"field": "t", "fixed_interval": "0m"}}}),
                    Expect::BadRequest(&[
                        "aggregation `h` (date_histogram): fixed_interval `0m` must be longer than zero",
                    ]),
                ),
                case(
                    "weeks as a fixed interval",
                    json!({"h": {"date_histogram": {"field": "t", "fixed_interval": "1w"}}}),
                    Expect::BadRequest(&[
                        "aggregation `h` (date_histogram): fixed_interval `1w` is not a whole number of ms, s, m, h or d (e.g. \"90m\"); for calendar units use calendar_interval",
                    ]),
                ),
                case(
                    "two days as a calendar interval",
                    json!({"h": {"date_histogram": {"field": "t", "calendar_interval": "2d"}}}),
                    Expect::BadRequest(&[
                        "aggregation `h` (date_histogram): calendar_interval `2d` is not a calendar unit; use minute, hour, day, week, month, quarter or year (or 1m, 1h, 1d, 1w, 1M, 1q, 1y), or a fixed_interval such as \"2d\"",
                    ]),
                ),
                case(
                    "extended bounds that cross",
                    json!({"h": {"date_histogram": {"field": "t", "fixed_interval": "1h", "extended_bounds": {"min": 10, "max": 1}}}}),
                    Expect::BadRequest(&[
                        "aggregation `h` (date_histogram): `extended_bounds.min` (10) is greater than `extended_bounds.max` (1)",
                    ]),
                ),
                case(
                    "a zero histogram interval",
                    json!({"h": {"histogram": {"field": "t", "interval": 0}}}),
                    Expect::BadRequest(&[
                        "aggregation `h` (histogram): `interval` must be greater than zero, not 0",
                    ]),
                ),
                case(
                    "terms of size 0",
                    json!({"t": {"terms": {"field": "x", "size": 0}}}),
                    Expect::BadRequest(&[
                        "aggregation `t` (terms): `size` must be a whole number > 0, not 0",
                    ]),
                ),
                case(
                    "a percent above 100",
                    json!({"p": {"percentiles": {"field": "x", "percents": [101]}}}),
                    Expect::BadRequest(&[
                        "aggregation `p` (percentiles): each of `percents` must be a number from 0 to 100, not 101",
                    ]),
                ),
            ],
        );
    }
}
