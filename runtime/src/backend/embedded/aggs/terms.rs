use std::cmp::Ordering;

use serde_json::{Map, Value};
use tantivy::aggregation::Key;
use tantivy::aggregation::agg_result::BucketEntry;

use super::parse::{Ctx, OrderSpec, Parsed, parse_order};
use super::reshape::{float, reshape_level};
use super::{Kind, Node, TermsOrder, Values};
use crate::dates::format_millis;
use crate::error::Result;

const HINT_TERMS_ORDER: &str = "order terms by `_count` or `_key`; sort by sub-aggregation values on the client, or run this search on Elasticsearch";
const HINT_INCLUDE: &str = "filter the terms with the query instead (a `terms` query on the field)";
const HINT_DOC_COUNT_ERROR: &str = "per-bucket doc count errors are not computed; leave show_term_doc_count_error out (the aggregation-level doc_count_error_upper_bound is returned)";

pub(super) fn parse_terms(ctx: &Ctx<'_>, params: &Map<String, Value>) -> Result<Parsed> {
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
        tantivy_type: None,
    })
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

pub(super) fn reshape_terms(
    node: &Node,
    order: TermsOrder,
    buckets: Vec<BucketEntry>,
) -> Result<Vec<Value>> {
    let mut reshaped = Vec::with_capacity(buckets.len());
    for entry in buckets {
        let mut bucket = reshape_level(&node.subs, entry.sub_aggregation)?;
        let (key, key_as_string, sort_key) = match entry.key {
            Key::Str(text) => (Value::from(text.as_str()), None, SortKey::Text(text)),
            // A date's stored value; keys are epoch milliseconds as in
            // Elasticsearch (date_nanos keys too).
            Key::I64(stored) if let Values::Date(unit) = node.values => {
                let ms = unit.to_millis(stored as f64).floor() as i64;
                (
                    Value::from(ms),
                    Some(format_millis(ms)),
                    SortKey::Int(i128::from(stored)),
                )
            }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{Expect, Stage, case, check, fixture};

    #[test]
    fn terms() {
        check(
            &fixture(),
            Stage::Search,
            vec![
                case(
                    "size and order; /c and /d tie at one document each, the lower key first",
                    json!({
                        "top2": {"terms": {"field": "path", "size": 2}},
                        "top3": {"terms": {"field": "path", "size": 3, "order": {"_count": "desc"}}},
                        "by_key": {"terms": {"field": "path", "size": 3, "order": [{"_key": "asc"}]}},
                        "by_key_desc": {"terms": {"field": "path", "order": {"_key": "desc"}}},
                        "platforms": {"terms": {"field": "tags.platform"}}
                    }),
                    Expect::Response(json!({
                        "by_key": {
                            "buckets": [
                                {"doc_count": 6, "key": "/a"},
                                {"doc_count": 3, "key": "/b"},
                                {"doc_count": 1, "key": "/c"}
                            ],
                            "doc_count_error_upper_bound": 0,
                            "sum_other_doc_count": 1
                        },
                        "by_key_desc": {
                            "buckets": [
                                {"doc_count": 1, "key": "/d"},
                                {"doc_count": 1, "key": "/c"},
                                {"doc_count": 3, "key": "/b"},
                                {"doc_count": 6, "key": "/a"}
                            ],
                            "doc_count_error_upper_bound": 0,
                            "sum_other_doc_count": 0
                        },
                        "platforms": {
                            "buckets": [
                                {"doc_count": 4, "key": "ios"},
                                {"doc_count": 4, "key": "web"},
                                {"doc_count": 3, "key": "android"}
                            ],
                            "doc_count_error_upper_bound": 0,
                            "sum_other_doc_count": 0
                        },
                        "top2": {
                            "buckets": [{"doc_count": 6, "key": "/a"}, {"doc_count": 3, "key": "/b"}],
                            "doc_count_error_upper_bound": 0,
                            "sum_other_doc_count": 2
                        },
                        "top3": {
                            "buckets": [
                                {"doc_count": 6, "key": "/a"},
                                {"doc_count": 3, "key": "/b"},
                                {"doc_count": 1, "key": "/c"}
                            ],
                            "doc_count_error_upper_bound": 0,
                            "sum_other_doc_count": 1
                        }
                    })),
                ),
                case(
                    "numeric keys have the field's type (floats in order, 40.0 included)",
                    json!({
                        "status": {"terms": {"field": "status", "order": {"_key": "asc"}}},
                        "latency": {"terms": {"field": "latency.p99_ms", "size": 100, "order": {"_key": "asc"}}}
                    }),
                    Expect::Response(json!({
                        "latency": {
                            "buckets": [
                                {"doc_count": 1, "key": 3.0},
                                {"doc_count": 1, "key": 7.25},
                                {"doc_count": 1, "key": 9.0},
                                {"doc_count": 1, "key": 12.5},
                                {"doc_count": 1, "key": 15.0},
                                {"doc_count": 1, "key": 22.0},
                                {"doc_count": 1, "key": 31.0},
                                {"doc_count": 1, "key": 40.0},
                                {"doc_count": 1, "key": 55.5},
                                {"doc_count": 1, "key": 100.0}
                            ],
                            "doc_count_error_upper_bound": 0,
                            "sum_other_doc_count": 0
                        },
                        "status": {
                            "buckets": [
                                {"doc_count": 7, "key": 200},
                                {"doc_count": 2, "key": 404},
                                {"doc_count": 2, "key": 500}
                            ],
                            "doc_count_error_upper_bound": 0,
                            "sum_other_doc_count": 0
                        }
                    })),
                ),
            ],
        );
    }
}
