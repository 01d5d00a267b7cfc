use serde_json::{Map, Number, Value, json};
use tantivy::aggregation::Key;
use tantivy::aggregation::agg_result::{
    AggregationResult, AggregationResults, BucketEntries, BucketEntry, BucketResult, MetricResult,
    RangeBucketEntry,
};
use tantivy::aggregation::metric::{PercentileValues, Stats};

use super::terms::reshape_terms;
use super::{CalendarGrid, Kind, Node, type_name};
use crate::dates::{DateUnit, format_millis};
use crate::error::{Error, Result};

pub(super) fn reshape_level(
    nodes: &[Node],
    mut results: AggregationResults,
) -> Result<Map<String, Value>> {
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
    let date = node.values.date_unit();
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
                    date_bucket(
                        node,
                        ms,
                        format_millis(ms),
                        entry.doc_count,
                        entry.sub_aggregation,
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            json!({ "buckets": keyed_or_list(buckets, *keyed) })
        }
        (Kind::CalendarHistogram { keyed, grid }, B(BucketResult::Range { buckets })) => {
            let BucketEntries::Vec(entries) = buckets else {
                return Err(shape_error(node, "keyed ranges"));
            };
            let zone = grid.calendar.zone;
            let buckets = calendar_buckets(grid, entries)
                .into_iter()
                .map(|(ms, entry)| {
                    date_bucket(
                        node,
                        ms,
                        zone.format(ms),
                        entry.doc_count,
                        entry.sub_aggregation,
                    )
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
                    if date.is_some() {
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

/// One bucket of a date histogram, with its `key_as_string` (also its name
/// when the buckets are keyed).
fn date_bucket(
    node: &Node,
    ms: i64,
    key_as_string: String,
    doc_count: u64,
    subs: AggregationResults,
) -> Result<(String, Map<String, Value>)> {
    let mut bucket = reshape_level(&node.subs, subs)?;
    bucket.insert(
        String::from("key_as_string"),
        Value::from(key_as_string.as_str()),
    );
    bucket.insert(String::from("key"), Value::from(ms));
    bucket.insert(String::from("doc_count"), Value::from(doc_count));
    Ok((key_as_string, bucket))
}

/// The buckets a calendar histogram returns, with their keys: those of
/// `min_doc_count` documents or more; with `min_doc_count` 0, every bucket
/// from the first to the last holding a document, widened to the extended
/// bounds, as Elasticsearch fills in empty buckets.
fn calendar_buckets(
    grid: &CalendarGrid,
    entries: Vec<RangeBucketEntry>,
) -> Vec<(i64, RangeBucketEntry)> {
    // Tantivy adds ranges below the first start and above the last end.
    let buckets: Vec<(i64, RangeBucketEntry)> = entries
        .into_iter()
        .filter(|entry| entry.to.is_some())
        .filter_map(|entry| Some((entry.from? as i64, entry)))
        .collect();
    if grid.min_doc_count > 0 {
        return buckets
            .into_iter()
            .filter(|(_, entry)| entry.doc_count >= grid.min_doc_count)
            .collect();
    }
    let held = |(_, entry): &&(i64, RangeBucketEntry)| entry.doc_count > 0;
    let first_held = buckets.iter().find(held).map(|(ms, _)| *ms);
    let last_held = buckets.iter().rev().find(held).map(|(ms, _)| *ms);
    let (ext_min, ext_max) = grid.extended.unwrap_or((None, None));
    let floor = |ms: i64| grid.calendar.floor(ms);
    let first = [first_held, ext_min.map(floor)].into_iter().flatten().min();
    let last = [last_held, ext_max.map(floor)].into_iter().flatten().max();
    let (Some(first), Some(last)) = (first, last) else {
        return Vec::new();
    };
    buckets
        .into_iter()
        .filter(|(ms, _)| (first..=last).contains(ms))
        .collect()
}

/// `{"value": ...}` of avg, min, max and sum; dates (nanoseconds in
/// tantivy) become epoch milliseconds with `value_as_string`.
fn single_value(value: Option<f64>, date: Option<DateUnit>, exact: bool) -> Value {
    let value = value.filter(|v| v.is_finite());
    let Some(unit) = date else {
        return json!({ "value": value.map_or(Value::Null, float) });
    };
    match value.map(|stored| millis(unit, stored, exact)) {
        Some(ms) => json!({ "value": float(ms), "value_as_string": format_millis(ms as i64) }),
        None => json!({ "value": null }),
    }
}

fn reshape_stats(stats: &Stats, date: Option<DateUnit>) -> Value {
    let convert = |value: f64, exact: bool| match date {
        Some(unit) => millis(unit, value, exact),
        None => value,
    };
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
    if date.is_some()
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

fn reshape_percentiles(
    values: impl Iterator<Item = (f64, f64)>,
    keyed: bool,
    date: Option<DateUnit>,
) -> Value {
    let values = values.map(|(percent, value)| {
        let value = Some(value).filter(|v| v.is_finite()).map(|v| match date {
            Some(unit) => millis(unit, v, false),
            None => v,
        });
        (percent, value)
    });
    if keyed {
        let mut out = Map::new();
        for (percent, value) in values {
            let key = java_double(percent);
            if date.is_some()
                && let Some(ms) = value
            {
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
                if date.is_some()
                    && let (Some(ms), Value::Object(object)) = (value, &mut entry)
                {
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
pub(super) fn float(value: f64) -> Value {
    Number::from_f64(value).map_or(Value::Null, Value::Number)
}

/// A count that tantivy gives as a float, as the integer it is.
fn whole(value: Option<f64>) -> u64 {
    value
        .filter(|v| v.is_finite() && *v > 0.0)
        .map_or(0, |v| v.round() as u64)
}

/// A date field's stored values (milliseconds, or nanoseconds for
/// `date_nanos`) in milliseconds; `exact` rounds to the whole millisecond
/// that a minimum or maximum of a `date` always is.
fn millis(unit: DateUnit, stored: f64, exact: bool) -> f64 {
    let ms = unit.to_millis(stored);
    if exact { ms.round() } else { ms }
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
    use serde_json::json;

    use super::super::tests::{Expect, Stage, case, check, fixture};
    use super::*;

    #[test]
    fn responses_have_elasticsearch_shape() {
        check(
            &fixture(),
            Stage::Search,
            vec![
                case(
                    "keyed buckets and meta",
                    json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h", "keyed": true, "format": "strict_date_optional_time"}, "meta": {"panel": 3}}}),
                    Expect::Response(json!({
                        "h": {
                            "buckets": {
                                "2024-03-05T07:00:00.000Z": {
                                    "doc_count": 4,
                                    "key": 1_709_622_000_000_i64,
                                    "key_as_string": "2024-03-05T07:00:00.000Z"
                                },
                                "2024-03-05T08:00:00.000Z": {
                                    "doc_count": 3,
                                    "key": 1_709_625_600_000_i64,
                                    "key_as_string": "2024-03-05T08:00:00.000Z"
                                },
                                "2024-03-05T09:00:00.000Z": {
                                    "doc_count": 2,
                                    "key": 1_709_629_200_000_i64,
                                    "key_as_string": "2024-03-05T09:00:00.000Z"
                                },
                                "2024-03-05T10:00:00.000Z": {
                                    "doc_count": 0,
                                    "key": 1_709_632_800_000_i64,
                                    "key_as_string": "2024-03-05T10:00:00.000Z"
                                },
                                "2024-03-05T11:00:00.000Z": {
                                    "doc_count": 2,
                                    "key": 1_709_636_400_000_i64,
                                    "key_as_string": "2024-03-05T11:00:00.000Z"
                                }
                            },
                            "meta": {"panel": 3}
                        }
                    })),
                ),
                case(
                    "date fields come back in milliseconds, with strings",
                    json!({
                        "first": {"min": {"field": "timestamp"}},
                        "last": {"max": {"field": "timestamp"}},
                        "span": {"stats": {"field": "timestamp"}},
                        "when": {"terms": {"field": "timestamp", "size": 1, "order": {"_key": "asc"}}}
                    }),
                    Expect::Response(json!({
                        "first": {"value": 1709622000000.0, "value_as_string": "2024-03-05T07:00:00.000Z"},
                        "last": {"value": 1709637000000.0, "value_as_string": "2024-03-05T11:10:00.000Z"},
                        "span": {
                            "avg": 1709627552727.2727,
                            "avg_as_string": "2024-03-05T08:32:32.727Z",
                            "count": 11,
                            "max": 1709637000000.0,
                            "max_as_string": "2024-03-05T11:10:00.000Z",
                            "min": 1709622000000.0,
                            "min_as_string": "2024-03-05T07:00:00.000Z",
                            "sum": 18805903080000.0,
                            "sum_as_string": "2565-12-07T21:58:00.000Z"
                        },
                        "when": {
                            "buckets": [
                                {
                                    "doc_count": 1,
                                    "key": 1_709_622_000_000_i64,
                                    "key_as_string": "2024-03-05T07:00:00.000Z"
                                }
                            ],
                            "doc_count_error_upper_bound": 0,
                            "sum_other_doc_count": 10
                        }
                    })),
                ),
            ],
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
