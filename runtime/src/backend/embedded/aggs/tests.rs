//! Whole requests run end to end, and the fixture and helpers the tests of
//! the aggregation modules share.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde_json::{Value, json};
use tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults;
use tantivy::query::AllQuery;
use tantivy::schema::OwnedValue;
use tantivy::{Index, IndexWriter, TantivyDocument};

use super::date_histogram::{HOUR_MS, MINUTE_MS};
use super::*;

/// One document: minutes after 2024-03-05T07:00:00Z, and its fields.
pub(super) struct Doc {
    pub(super) minute: i64,
    pub(super) path: &'static str,
    p99: Option<f64>,
    pub(super) status: i64,
    pub(super) platform: &'static str,
}

impl Doc {
    pub(super) fn timestamp(&self) -> i64 {
        base() + self.minute * MINUTE_MS
    }
    pub(super) fn hour(&self) -> i64 {
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

pub(super) fn base() -> i64 {
    Utc.with_ymd_and_hms(2024, 3, 5, 7, 0, 0)
        .unwrap()
        .timestamp_millis()
}

pub(super) fn iso(ms: i64) -> String {
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

pub(super) struct Fixture {
    schema: PartitionSchema,
    indexes: Vec<Index>,
    pub(super) docs: Vec<Doc>,
}

pub(super) fn fixture() -> Fixture {
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
                // Dates are stored as epoch milliseconds (see `dates`).
                document.add_i64(field("timestamp"), d.timestamp());
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
pub(super) fn run(f: &Fixture, aggs: Value) -> Value {
    let mut request = parse(&aggs).unwrap();
    request.resolve_fields(&f.schema).unwrap();
    finalize(&request, partials(f, &request)).unwrap()
}

pub(super) fn assert_close(actual: &Value, expected: f64) {
    let actual = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{actual} is not a number"));
    assert!(
        (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0),
        "{actual} != {expected}"
    );
}

pub(super) fn latencies(docs: &[Doc]) -> Vec<f64> {
    docs.iter().filter_map(|d| d.p99).collect()
}

pub(super) fn unsupported(aggs: Value) -> String {
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
pub(super) fn hourly_buckets(docs: &[Doc]) -> Vec<Value> {
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

pub(super) fn term_counts(docs: &[Doc], key: impl Fn(&Doc) -> String) -> Vec<(String, u64)> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for d in docs {
        *counts.entry(key(d)).or_default() += 1;
    }
    counts.into_iter().collect()
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
fn resolve_fields_rejects_what_elasticsearch_rejects() {
    let schema = PartitionSchema::from_mappings(&json!({"properties": {
        "message": {"type": "text"}, "path": {"type": "keyword"}, "tags": {"type": "flattened"},
        "at_ns": {"type": "date_nanos"}
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
    for interval in [
        json!({"fixed_interval": "1h"}),
        json!({"calendar_interval": "month"}),
    ] {
        let mut body = json!({"field": "at_ns"});
        body.as_object_mut()
            .unwrap()
            .extend(interval.as_object().unwrap().clone());
        let nanos = resolve(json!({"h": {"date_histogram": body}})).unwrap_err();
        assert!(
            matches!(&nanos, Error::Unsupported { what, .. } if what.contains("date_nanos") && what.contains("`at_ns`")),
            "{nanos}"
        );
    }
    resolve(
        json!({"t": {"terms": {"field": "tags.platform"}}, "u": {"avg": {"field": "unmapped"}}}),
    )
    .unwrap();
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
