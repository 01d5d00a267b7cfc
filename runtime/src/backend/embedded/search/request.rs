//! A search body, parsed: the keys the engine supports, checked, with
//! Elasticsearch's defaults.

use serde_json::Value;

use super::sort::Order;
use crate::backend::embedded::aggs::{self, AggRequest};
use crate::error::{Error, Result};

/// A parsed search body.
pub(super) struct SearchRequest<'a> {
    pub(super) query: &'a Value,
    pub(super) from: usize,
    pub(super) size: usize,
    pub(super) sort: Vec<SortKey>,
    pub(super) search_after: Option<&'a [Value]>,
    pub(super) track_total_hits: bool,
    pub(super) aggs: Option<AggRequest>,
    pub(super) source: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum SortKey {
    Score,
    Doc(Order),
    Field { path: String, order: Order },
}

const MATCH_ALL: Value = Value::Null;

impl<'a> SearchRequest<'a> {
    pub(super) fn parse(body: &'a Value) -> Result<Self> {
        let Some(object) = body.as_object() else {
            return Err(Error::BadRequest(
                "a search body must be a JSON object".into(),
            ));
        };
        let mut request = SearchRequest {
            query: &MATCH_ALL,
            from: 0,
            size: 10,
            sort: Vec::new(),
            search_after: None,
            track_total_hits: true,
            aggs: None,
            source: true,
        };
        for (key, value) in object {
            match key.as_str() {
                "query" => request.query = value,
                "from" => request.from = count(key, value)?,
                "size" => request.size = count(key, value)?,
                "sort" => request.sort = parse_sort(value)?,
                "search_after" => {
                    let values = value.as_array().ok_or_else(|| {
                        Error::BadRequest(
                            "search_after must be an array of the previous hit's sort values"
                                .into(),
                        )
                    })?;
                    request.search_after = Some(values);
                }
                "track_total_hits" => request.track_total_hits = value.as_bool() != Some(false),
                "aggs" | "aggregations" => request.aggs = Some(aggs::parse(value)?),
                "_source" => {
                    request.source = value.as_bool().ok_or_else(|| {
                        Error::Unsupported {
                            what: "_source filtering".into(),
                            hint: "the embedded engine returns the whole _source or none: use true or false",
                        }
                    })?;
                }
                "timeout" => {}
                other => {
                    return Err(Error::Unsupported {
                        what: format!("search body key `{other}`"),
                        hint: "the embedded engine supports query, from, size, sort, search_after, track_total_hits, aggs and _source",
                    });
                }
            }
        }
        if request.search_after.is_some() && request.sort.iter().all(|k| *k == SortKey::Score) {
            return Err(Error::BadRequest("search_after needs a sort on fields, e.g. [{\"timestamp\": \"asc\"}, {\"_id\": \"asc\"}]".into()));
        }
        Ok(request)
    }
}

fn count(key: &str, value: &Value) -> Result<usize> {
    value
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| {
            Error::BadRequest(format!(
                "`{key}` must be a non-negative integer, not {value}"
            ))
        })
}

fn parse_sort(value: &Value) -> Result<Vec<SortKey>> {
    let items = match value {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    items.into_iter().map(parse_sort_key).collect()
}

fn parse_sort_key(item: &Value) -> Result<SortKey> {
    let (path, spec) = match item {
        Value::String(path) => (path.as_str(), &Value::Null),
        Value::Object(map) if map.len() == 1 => match map.iter().next() {
            Some((path, spec)) => (path.as_str(), spec),
            None => return Err(bad_sort(item)),
        },
        _ => return Err(bad_sort(item)),
    };
    let order = match spec {
        Value::Null => None,
        Value::String(order) => Some(order.as_str()),
        Value::Object(options) => {
            if let Some(key) = options
                .keys()
                .find(|k| !matches!(String::as_str(k), "order" | "missing" | "unmapped_type"))
            {
                return Err(Error::Unsupported {
                    what: format!("sort option `{key}`"),
                    hint: "the embedded engine sorts by order only, with missing values last",
                });
            }
            if options.get("missing").is_some_and(|m| m != "_last") {
                return Err(Error::Unsupported {
                    what: "sort option `missing` other than `_last`".into(),
                    hint: "the embedded engine puts documents without the field last",
                });
            }
            options.get("order").and_then(Value::as_str)
        }
        _ => return Err(bad_sort(item)),
    };
    let order = match order {
        None if path == "_score" => Order::Desc,
        None | Some("asc") => Order::Asc,
        Some("desc") => Order::Desc,
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "sort order must be asc or desc, not {other:?}"
            )));
        }
    };
    Ok(match path {
        "_score" if order == Order::Desc => SortKey::Score,
        "_score" => {
            return Err(Error::Unsupported {
                what: "ascending sort on _score".into(),
                hint: "sort on _score descending, or on a field",
            });
        }
        "_doc" => SortKey::Doc(order),
        path => SortKey::Field {
            path: path.to_owned(),
            order,
        },
    })
}

fn bad_sort(item: &Value) -> Error {
    Error::BadRequest(format!(
        "cannot read the sort entry {item}; write \"field\" or {{\"field\": {{\"order\": \"desc\"}}}}"
    ))
}
