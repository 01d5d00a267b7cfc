//! The fixture the aggregation tests share, the loop that runs their tables
//! of cases, and the cases that cross aggregation kinds: sub-aggregations,
//! partitions without the aggregated field, fields the mapping refuses to
//! aggregate, searches over no partition.
//!
//! A case is a name, an aggregation request (the `aggs` of a search body)
//! and what it gives: the response under `aggregations`, or the error and
//! words of its message. [`check`] runs a table of cases at one [`Stage`]
//! and names the case that fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults;
use tantivy::query::AllQuery;
use tantivy::schema::OwnedValue;
use tantivy::{Index, IndexWriter, Searcher, TantivyDocument};

use super::date_histogram::MINUTE_MS;
use super::*;
use crate::backend::embedded::test_schema;

/// One document: minutes after 2024-03-05T07:00:00Z, and its fields.
struct Doc {
    minute: i64,
    path: &'static str,
    p99: Option<f64>,
    status: i64,
    platform: &'static str,
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

/// 2024-03-05T07:00:00Z, in epoch milliseconds.
fn base() -> i64 {
    Utc.with_ymd_and_hms(2024, 3, 5, 7, 0, 0)
        .unwrap()
        .timestamp_millis()
}

/// Two partitions; the first written in two commits (two segments).
/// Hour 10 has no document; one document has no latency.
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

/// The partitions of [`partitions`], indexed with the shared test mapping.
pub(super) struct Fixture {
    schema: PartitionSchema,
    indexes: Vec<Index>,
}

pub(super) fn fixture() -> Fixture {
    let schema = test_schema::schema(true);
    let field = |path: &str| schema.fields[path].field;
    let mut indexes = Vec::new();
    for partition in partitions() {
        let index = Index::create_in_ram(schema.schema.clone());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for segment in partition {
            for d in segment {
                let mut document = TantivyDocument::default();
                // Dates are stored as epoch milliseconds (see `crate::dates`).
                document.add_i64(field("timestamp"), base() + d.minute * MINUTE_MS);
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
            }
            writer.commit().unwrap();
        }
        indexes.push(index);
    }
    Fixture { schema, indexes }
}

/// One index of one document with only a `path`.
fn path_only(schema: tantivy::schema::Schema, path: &str) -> Index {
    let index = Index::create_in_ram(schema);
    let field = index.schema().get_field("path").unwrap();
    let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
    let mut document = TantivyDocument::default();
    document.add_text(field, path);
    writer.add_document(document).unwrap();
    writer.commit().unwrap();
    index
}

/// How far a case's request goes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Stage {
    /// As a search runs it: parsed, fields resolved against the mapping,
    /// calendars bound, collected on every partition, finalized.
    Search,
    /// Parsed only.
    Parse,
    /// Collected and finalized without resolving the fields.
    Unresolved,
    /// Finalized over no partition at all.
    NoPartials,
}

/// What a case gives.
#[derive(Debug)]
pub(super) enum Expect {
    /// This response under `aggregations`: the same JSON, numbers of the
    /// same kind (a float where a float is expected), floats equal to 1e-9
    /// relative.
    Response(Value),
    /// Parsed without error (at [`Stage::Parse`]).
    Accepted,
    /// [`Error::Unsupported`] with a hint, whose `what` contains these.
    Unsupported(&'static [&'static str]),
    /// [`Error::BadRequest`] whose message contains these.
    BadRequest(&'static [&'static str]),
}

/// One case of a table.
#[derive(Debug)]
pub(super) struct Case {
    name: &'static str,
    request: Value,
    expect: Expect,
}

pub(super) fn case(name: &'static str, request: Value, expect: Expect) -> Case {
    Case {
        name,
        request,
        expect,
    }
}

/// Runs every case at `stage` on the partitions of `f`, and fails naming
/// the cases whose outcome is not the one expected.
pub(super) fn check(f: &Fixture, stage: Stage, cases: Vec<Case>) {
    let failures: Vec<String> = cases
        .into_iter()
        .filter_map(|case| {
            let outcome = outcome(f, stage, &case.request);
            mismatch(&outcome, &case.expect)
                .map(|why| format!("case `{}`: {why}\n  request: {}", case.name, case.request))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What `request` gives at `stage`: `None` for a request parsed at
/// [`Stage::Parse`].
fn outcome(f: &Fixture, stage: Stage, request: &Value) -> Result<Option<Value>> {
    let mut request = parse(request)?;
    match stage {
        Stage::Parse => return Ok(None),
        Stage::NoPartials => return finalize(&request, Vec::new()).map(Some),
        Stage::Unresolved => {}
        Stage::Search => {
            request.resolve_fields(&f.schema)?;
            request.bind_calendars(&searchers(f))?;
        }
    }
    finalize(&request, partials(f, &request)).map(Some)
}

fn searchers(f: &Fixture) -> Vec<Searcher> {
    f.indexes
        .iter()
        .map(|index| index.reader().unwrap().searcher())
        .collect()
}

fn partials(f: &Fixture, request: &AggRequest) -> Vec<IntermediateAggregationResults> {
    f.indexes
        .iter()
        .zip(searchers(f))
        .map(|(index, searcher)| {
            searcher
                .search(&AllQuery, &collector(request, index.tokenizers()))
                .unwrap()
        })
        .collect()
}

/// Why `outcome` is not `expect`; `None` when it is.
fn mismatch(outcome: &Result<Option<Value>>, expect: &Expect) -> Option<String> {
    let missing = |text: &str, words: &[&str]| {
        words
            .iter()
            .find(|word| !text.contains(*word))
            .map(|word| format!("the message {text:?} lacks {word:?}"))
    };
    match (outcome, expect) {
        (Ok(Some(actual)), Expect::Response(expected)) => (!same(actual, expected))
            .then(|| format!("expected the response {expected}\n  got {actual}")),
        (Ok(None), Expect::Accepted) => None,
        (Err(Error::Unsupported { what, hint }), Expect::Unsupported(words)) => {
            if hint.is_empty() {
                Some("the error has no hint".into())
            } else {
                missing(what, words)
            }
        }
        (Err(Error::BadRequest(message)), Expect::BadRequest(words)) => missing(message, words),
        (outcome, expect) => Some(format!("expected {expect:?}, got {outcome:?}")),
    }
}

/// Whether `actual` is `expected`, as [`Expect::Response`] says.
fn same(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) if e.is_f64() => {
            let (a, e) = (a.as_f64().unwrap(), e.as_f64().unwrap());
            actual.is_f64() && (a - e).abs() <= 1e-9 * e.abs().max(1.0)
        }
        (Value::Array(a), Value::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(a, e)| same(a, e))
        }
        (Value::Object(a), Value::Object(e)) => {
            a.len() == e.len() && e.iter().all(|(k, e)| a.get(k).is_some_and(|a| same(a, e)))
        }
        _ => actual == expected,
    }
}

#[test]
fn requests_across_aggregation_kinds() {
    check(
        &fixture(),
        Stage::Search,
        vec![
            case(
                "terms with avg under date_histogram: sub-aggregations, null average without values",
                json!({"per_hour": {
                    "date_histogram": {"field": "timestamp", "fixed_interval": "1h"},
                    "aggs": {"by_path": {
                        "terms": {"field": "path"},
                        "aggregations": {"latency": {"avg": {"field": "latency.p99_ms"}}}
                    }}
                }}),
                Expect::Response(json!({
                    "per_hour": {
                        "buckets": [
                            {
                                "by_path": {
                                    "buckets": [
                                        {
                                            "doc_count": 3,
                                            "key": "/a",
                                            "latency": {"value": 11.583333333333334}
                                        },
                                        {"doc_count": 1, "key": "/b", "latency": {"value": 40.0}}
                                    ],
                                    "doc_count_error_upper_bound": 0,
                                    "sum_other_doc_count": 0
                                },
                                "doc_count": 4,
                                "key": 1_709_622_000_000_i64,
                                "key_as_string": "2024-03-05T07:00:00.000Z"
                            },
                            {
                                "by_path": {
                                    "buckets": [
                                        {"doc_count": 1, "key": "/a", "latency": {"value": 3.0}},
                                        {"doc_count": 1, "key": "/c", "latency": {"value": 100.0}},
                                        {"doc_count": 1, "key": "/d", "latency": {"value": 55.5}}
                                    ],
                                    "doc_count_error_upper_bound": 0,
                                    "sum_other_doc_count": 0
                                },
                                "doc_count": 3,
                                "key": 1_709_625_600_000_i64,
                                "key_as_string": "2024-03-05T08:00:00.000Z"
                            },
                            {
                                "by_path": {
                                    "buckets": [
                                        {"doc_count": 1, "key": "/a", "latency": {"value": 22.0}},
                                        {"doc_count": 1, "key": "/b", "latency": {"value": null}}
                                    ],
                                    "doc_count_error_upper_bound": 0,
                                    "sum_other_doc_count": 0
                                },
                                "doc_count": 2,
                                "key": 1_709_629_200_000_i64,
                                "key_as_string": "2024-03-05T09:00:00.000Z"
                            },
                            {
                                "by_path": {
                                    "buckets": [],
                                    "doc_count_error_upper_bound": 0,
                                    "sum_other_doc_count": 0
                                },
                                "doc_count": 0,
                                "key": 1_709_632_800_000_i64,
                                "key_as_string": "2024-03-05T10:00:00.000Z"
                            },
                            {
                                "by_path": {
                                    "buckets": [
                                        {"doc_count": 1, "key": "/a", "latency": {"value": 31.0}},
                                        {"doc_count": 1, "key": "/b", "latency": {"value": 9.0}}
                                    ],
                                    "doc_count_error_upper_bound": 0,
                                    "sum_other_doc_count": 0
                                },
                                "doc_count": 2,
                                "key": 1_709_636_400_000_i64,
                                "key_as_string": "2024-03-05T11:00:00.000Z"
                            }
                        ]
                    }
                })),
            ),
            case(
                "terms on a text field is refused",
                json!({"m": {"terms": {"field": "message"}}}),
                Expect::BadRequest(&[
                    "aggregation `m` is on `message`, a text field: text fields are analysed and cannot be aggregated; aggregate on a keyword field instead",
                ]),
            ),
            case(
                "avg on a keyword is refused",
                json!({"a": {"avg": {"field": "path"}}}),
                Expect::BadRequest(&["`path`", "avg"]),
            ),
            case(
                "terms on the root of a flattened field is unsupported",
                json!({"t": {"terms": {"field": "tags"}}}),
                Expect::Unsupported(&["aggregating on `tags`, an object of keys (in `t`)"]),
            ),
            case(
                "fixed date_histogram on date_nanos is unsupported",
                json!({"h": {"date_histogram": {"field": "at_ns", "fixed_interval": "1h"}}}),
                Expect::Unsupported(&["date_nanos", "`at_ns`"]),
            ),
            case(
                "calendar date_histogram on date_nanos is unsupported",
                json!({"h": {"date_histogram": {"field": "at_ns", "calendar_interval": "month"}}}),
                Expect::Unsupported(&["date_nanos", "`at_ns`"]),
            ),
            case(
                "a key below a flattened field, and an unmapped field",
                json!({"t": {"terms": {"field": "tags.platform"}}, "u": {"avg": {"field": "unmapped"}}}),
                Expect::Response(json!({
                    "t": {
                        "buckets": [
                            {"doc_count": 4, "key": "ios"},
                            {"doc_count": 4, "key": "web"},
                            {"doc_count": 3, "key": "android"}
                        ],
                        "doc_count_error_upper_bound": 0,
                        "sum_other_doc_count": 0
                    },
                    "u": {"value": null}
                })),
            ),
        ],
    );
}

#[test]
fn a_partition_without_the_date_field_does_not_break_date_buckets() {
    let mut f = fixture();
    // Searched first: a partition from an older template that does not map
    // the field, then one whose (empty) histogram is not marked as one over
    // dates.
    let older =
        PartitionSchema::from_mappings(&json!({"properties": {"path": {"type": "keyword"}}}))
            .unwrap();
    let undated = path_only(f.schema.schema.clone(), "/z");
    f.indexes.insert(0, undated);
    f.indexes.insert(0, path_only(older.schema, "/y"));
    check(
        &f,
        Stage::Search,
        vec![case(
            "date buckets with sub-buckets over partitions without dates",
            json!({"per_hour": {
                "date_histogram": {"field": "timestamp", "fixed_interval": "1h"},
                "aggs": {"halves": {"date_histogram": {"field": "timestamp", "fixed_interval": "30m"}}}
            }}),
            Expect::Response(json!({
                "per_hour": {
                    "buckets": [
                        {
                            "doc_count": 4,
                            "halves": {
                                "buckets": [
                                    {
                                        "doc_count": 3,
                                        "key": 1_709_622_000_000_i64,
                                        "key_as_string": "2024-03-05T07:00:00.000Z"
                                    },
                                    {
                                        "doc_count": 1,
                                        "key": 1_709_623_800_000_i64,
                                        "key_as_string": "2024-03-05T07:30:00.000Z"
                                    }
                                ]
                            },
                            "key": 1_709_622_000_000_i64,
                            "key_as_string": "2024-03-05T07:00:00.000Z"
                        },
                        {
                            "doc_count": 3,
                            "halves": {
                                "buckets": [
                                    {
                                        "doc_count": 3,
                                        "key": 1_709_625_600_000_i64,
                                        "key_as_string": "2024-03-05T08:00:00.000Z"
                                    }
                                ]
                            },
                            "key": 1_709_625_600_000_i64,
                            "key_as_string": "2024-03-05T08:00:00.000Z"
                        },
                        {
                            "doc_count": 2,
                            "halves": {
                                "buckets": [
                                    {
                                        "doc_count": 2,
                                        "key": 1_709_629_200_000_i64,
                                        "key_as_string": "2024-03-05T09:00:00.000Z"
                                    }
                                ]
                            },
                            "key": 1_709_629_200_000_i64,
                            "key_as_string": "2024-03-05T09:00:00.000Z"
                        },
                        {
                            "doc_count": 0,
                            "halves": {"buckets": []},
                            "key": 1_709_632_800_000_i64,
                            "key_as_string": "2024-03-05T10:00:00.000Z"
                        },
                        {
                            "doc_count": 2,
                            "halves": {
                                "buckets": [
                                    {
                                        "doc_count": 2,
                                        "key": 1_709_636_400_000_i64,
                                        "key_as_string": "2024-03-05T11:00:00.000Z"
                                    }
                                ]
                            },
                            "key": 1_709_636_400_000_i64,
                            "key_as_string": "2024-03-05T11:00:00.000Z"
                        }
                    ]
                }
            })),
        )],
    );
}

#[test]
fn huge_bucket_ranges_are_errors_not_panics() {
    check(
        &fixture(),
        Stage::Unresolved,
        vec![
            case(
                "extended bounds of 1e300 intervals",
                json!({"h": {"histogram": {"field": "status", "interval": 1, "extended_bounds": {"min": -1e300, "max": 1e300}}}}),
                Expect::BadRequest(&[
                    "histogram `h` would return more than 65000 buckets; use a wider interval, narrower bounds or a narrower time range, or set min_doc_count to 1",
                ]),
            ),
            case(
                "an interval of 1e-300",
                json!({"h": {"histogram": {"field": "latency.p99_ms", "interval": 1e-300}}}),
                Expect::BadRequest(&[
                    "the interval of histogram `h` is too small for the values aggregated; use a wider interval",
                ]),
            ),
            case(
                "milliseconds from 1970",
                json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1ms", "extended_bounds": {"min": 0}}}}),
                Expect::BadRequest(&[
                    "histogram `h` would return more than 65000 buckets; use a wider interval, narrower bounds or a narrower time range, or set min_doc_count to 1",
                ]),
            ),
        ],
    );
}

#[test]
fn zero_partials_give_empty_results() {
    check(
        &fixture(),
        Stage::NoPartials,
        vec![
            case(
                "every aggregation kind, empty",
                json!({
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
                }),
                Expect::Response(json!({
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
                })),
            ),
            case(
                "extended bounds still give their empty buckets",
                json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1d",
                    "extended_bounds": {"min": "2024-03-01", "max": "2024-03-03"}}}}),
                Expect::Response(json!({
                    "h": {
                        "buckets": [
                            {
                                "doc_count": 0,
                                "key": 1_709_251_200_000_i64,
                                "key_as_string": "2024-03-01T00:00:00.000Z"
                            },
                            {
                                "doc_count": 0,
                                "key": 1_709_337_600_000_i64,
                                "key_as_string": "2024-03-02T00:00:00.000Z"
                            },
                            {
                                "doc_count": 0,
                                "key": 1_709_424_000_000_i64,
                                "key_as_string": "2024-03-03T00:00:00.000Z"
                            }
                        ]
                    }
                })),
            ),
        ],
    );
}
