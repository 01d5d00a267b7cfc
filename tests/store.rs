//! The store on the embedded engine, end to end: setup and check, every
//! field type written and read back, replacement by id, time ranges at each
//! timedepth, paging, aggregations and errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use esrecord::backend::{BulkAction, BulkBuilder};
use esrecord::{CheckStatus, Error, Record, SetupOutcome, Timedepth};
use esrecord_tests::{
    DailyReport, Everything, Latency, LegacyView, PageView, Setting, fresh_store,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
}

fn view(timestamp: DateTime<Utc>, item_id: u64, path: &str) -> PageView {
    PageView {
        timestamp,
        item_id,
        path: path.into(),
        latency: Latency {
            p50_ms: item_id as f64,
            p99_ms: item_id as f64 * 10.0,
        },
        tags: BTreeMap::from([(
            "platform".into(),
            if item_id.is_multiple_of(2) {
                "linux"
            } else {
                "macos"
            }
            .into(),
        )]),
    }
}

fn types() -> Vec<&'static esrecord::RecordType> {
    vec![
        PageView::record_type(),
        DailyReport::record_type(),
        Setting::record_type(),
        LegacyView::record_type(),
        Everything::record_type(),
    ]
}

#[tokio::test]
async fn setup_then_check_then_drift() {
    let store = fresh_store("setup").unwrap();
    let check = store.check_types(&types()).await.unwrap();
    assert!(!check.is_in_sync());
    assert!(
        check
            .entries
            .iter()
            .all(|(_, s)| *s == CheckStatus::Missing),
        "{check}"
    );

    let setup = store.setup_types(&types()).await.unwrap();
    assert!(
        setup
            .entries
            .iter()
            .all(|(_, o)| *o == SetupOutcome::Created),
        "{setup}"
    );
    assert!(
        setup
            .entries
            .iter()
            .any(|(name, _)| name == "arch-lab_everything"),
        "per-type backend and prefix: {setup}"
    );
    let check = store.check_types(&types()).await.unwrap();
    assert!(check.is_in_sync(), "{check}");

    // Someone changes a template behind the store's back.
    let backend = store.backend("default").unwrap();
    let mut drifted = backend
        .get_template("shop_pageview")
        .await
        .unwrap()
        .unwrap();
    drifted["template"]["mappings"]["properties"]["path"] = json!({"type": "text"});
    backend
        .put_template("shop_pageview", &drifted)
        .await
        .unwrap();
    let check = store.check_types(&types()).await.unwrap();
    assert!(!check.is_in_sync());
    let text = check.to_string();
    assert!(text.contains("shop_pageview: drifted"), "{text}");
    assert!(
        text.contains(
            "~ mappings.properties.path.type: stored \"text\", record type defines \"keyword\""
        ),
        "{text}"
    );

    let setup = store.setup_types(&types()).await.unwrap();
    assert!(matches!(
        setup
            .entries
            .iter()
            .find(|(n, _)| n == "shop_pageview")
            .unwrap()
            .1,
        SetupOutcome::Updated(_)
    ));
    assert!(store.check_types(&types()).await.unwrap().is_in_sync());
    let again = store.setup_types(&types()).await.unwrap();
    assert!(
        again
            .entries
            .iter()
            .all(|(_, o)| *o == SetupOutcome::Unchanged),
        "{again}"
    );
}

fn everything(at: DateTime<Utc>) -> Everything {
    use esrecord_tests::{Client, Origin};
    Everything {
        happened_at: at,
        text_field: "plain".into(),
        message: "the quick brown fox".into(),
        code: 404,
        flag: true,
        tiny: -8,
        small: -16_000,
        medium: -2_000_000_000,
        large: -9_000_000_000_000,
        ubyte: 255,
        ushort: 65_535,
        uint: 4_000_000_000,
        ulong: u64::MAX,
        size: 12_345,
        offset: -12_345,
        ratio32: 0.25,
        ratio64: 1.0 / 3.0,
        local_time: chrono::DateTime::parse_from_rfc3339("2024-03-05T07:08:09.123+02:00").unwrap(),
        naive_time: NaiveDate::from_ymd_opt(2024, 3, 5)
            .unwrap()
            .and_hms_milli_opt(1, 2, 3, 456)
            .unwrap(),
        day: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
        id: uuid::Uuid::from_u128(0x0192_0c3e_8f1a_7b2c_9d4e_5f6a_7b8c_9d0e),
        ip: "2001:db8::1".parse().unwrap(),
        ip4: "192.168.1.10".parse().unwrap(),
        ip6: "::1".parse().unwrap(),
        maybe: None,
        many: vec!["a".into(), "b".into()],
        boxed: Box::new(7),
        latency: Latency {
            p50_ms: 1.5,
            p99_ms: 9.75,
        },
        client: Client {
            user_agent: "curl/8".into(),
            remote_ip: "10.0.0.1".parse().unwrap(),
            latency: None,
        },
        clients: vec![Client {
            user_agent: "x".into(),
            remote_ip: "::2".parse().unwrap(),
            latency: Some(Latency {
                p50_ms: 2.0,
                p99_ms: 3.0,
            }),
        }],
        origin: Origin {
            host: "web-1".into(),
            datacenter: Some("ams".into()),
        },
        labels: BTreeMap::from([("team".into(), "checkout".into())]),
        counters: HashMap::from([("hits".into(), 12)]),
        gauges: BTreeMap::from([("load".into(), 0.75)]),
        custom: "custom".into(),
        original_name: 3,
        not_stored: Vec::new(),
    }
}

#[tokio::test]
async fn every_field_type_round_trips() {
    let store = fresh_store("roundtrip").unwrap();
    let record = everything(at(2024, 3, 5, 7, 0, 0));
    let id = store.save(&record).await.unwrap();
    store.refresh().await.unwrap();
    let found = Everything::search()
        .range((2024, 3, 5, 7), (2024, 3, 5, 8))
        .fetch(&store)
        .await
        .unwrap();
    assert_eq!(found.total, 1);
    let hit = &found.hits[0];
    assert_eq!(hit.id, id);
    assert_eq!(hit.index, "arch-lab_everything_2024.03.05.07");
    assert_eq!(hit.record, record);

    // Each kind of field can be filtered on.
    for (clause, expected) in [
        (json!({"term": {"code": "404"}}), 1),
        (json!({"term": {"flag": true}}), 1),
        (
            json!({"range": {"large": {"lt": -8_999_999_999_999i64}}}),
            1,
        ),
        (json!({"term": {"ulong": u64::MAX}}), 1),
        (json!({"range": {"ratio64": {"gt": 0.3, "lt": 0.34}}}), 1),
        (json!({"term": {"ip4": "192.168.1.10"}}), 1),
        (json!({"term": {"dc": "ams"}}), 1),
        (json!({"term": {"labels.team": "checkout"}}), 1),
        (json!({"range": {"counters.hits": {"gte": 12}}}), 1),
        (json!({"match": {"message": "fox"}}), 1),
        (json!({"term": {"client.userAgent": "curl/8"}}), 1),
        (
            json!({"range": {"day": {"gte": "2024-02-29", "lt": "2024-03-01"}}}),
            1,
        ),
        (json!({"term": {"labels.team": "payments"}}), 0),
        (json!({"match": {"message": "wolf"}}), 0),
    ] {
        let found = Everything::search()
            .query_json(clause.clone())
            .size(0)
            .fetch(&store)
            .await
            .unwrap();
        assert_eq!(found.total, expected, "{clause}");
    }
}

#[tokio::test]
async fn recording_the_same_unique_key_replaces() {
    let store = fresh_store("replace").unwrap();
    let report = |views| DailyReport {
        timestamp: at(2024, 3, 5, 23, 0, 0),
        day: NaiveDate::from_ymd_opt(2024, 3, 5).unwrap(),
        item_id: 42,
        views,
    };
    store.record(report(10)).unwrap();
    store.flush().await.unwrap();
    store.record(report(99)).unwrap();
    let flushed = store.flush().await.unwrap();
    assert_eq!((flushed.sent, flushed.failed), (2, 0));
    let found = DailyReport::search()
        .range((2024, 3), (2024, 4))
        .fetch(&store)
        .await
        .unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.hits[0].record.views, 99);
    assert_eq!(found.hits[0].id, report(1).unique_id().unwrap().unwrap());
}

#[tokio::test]
async fn created_ids_are_never_overwritten() {
    let store = fresh_store("create-conflict").unwrap();
    let (backend, named) = store.backend_for::<PageView>().unwrap();
    store.setup_types(&[PageView::record_type()]).await.unwrap();
    let item = |path: &str| {
        let mut body = BulkBuilder::default();
        let source = serde_json::to_vec(&view(at(2024, 3, 5, 0, 0, 0), 1, path)).unwrap();
        let index = named.index_for(&at(2024, 3, 5, 0, 0, 0));
        body.push(BulkAction::Create, &index, "same-id", &source)
            .unwrap();
        body.finish()
    };
    let first = backend.bulk(item("/first")).await.unwrap();
    assert_eq!(first[0].status, 201);
    let again = backend.bulk(item("/second")).await.unwrap();
    assert_eq!(again[0].status, 409, "{again:?}");
    assert_eq!(
        again[0].error_type.as_deref(),
        Some("version_conflict_engine_exception")
    );
    backend.refresh().await.unwrap();
    let found = PageView::search().fetch(&store).await.unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.hits[0].record.path, "/first");
}

#[tokio::test]
async fn concurrent_batches_keep_the_last_record_of_an_overwriting_type() {
    // One record a batch, four batches at once: records of a type that
    // overwrites must still land in the order they were recorded, and
    // created records (which never collide) all arrive.
    let dir = esrecord_tests::fresh_dir("overwrite-order");
    let store = esrecord::Store::builder()
        .embedded(&dir)
        .configure(|c| {
            c.writer.batch_size = 1;
            c.writer.concurrency = 4;
        })
        .open()
        .unwrap();
    let report = |views| DailyReport {
        timestamp: at(2024, 3, 5, 23, 0, 0),
        day: NaiveDate::from_ymd_opt(2024, 3, 5).unwrap(),
        item_id: 42,
        views,
    };
    for views in 1..=200 {
        store.record(report(views)).unwrap();
        store
            .record(view(at(2024, 3, 5, 0, 0, 0), views, "/"))
            .unwrap();
    }
    let flushed = store.flush().await.unwrap();
    assert_eq!((flushed.sent, flushed.failed), (400, 0));
    let found = DailyReport::search()
        .range((2024, 3), (2024, 4))
        .fetch(&store)
        .await
        .unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.hits[0].record.views, 200);
    let views = PageView::search().size(0).fetch(&store).await.unwrap();
    assert_eq!(views.total, 200);
}

/// One type per timedepth, each with events on partition boundaries.
mod depths {
    use super::*;

    #[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
    #[record(app_label = "depth", timedepth = "year")]
    pub(crate) struct Yearly {
        pub(crate) timestamp: DateTime<Utc>,
    }

    #[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
    #[record(app_label = "depth", timedepth = "month")]
    pub(crate) struct Monthly {
        pub(crate) timestamp: DateTime<Utc>,
    }

    #[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
    #[record(app_label = "depth", timedepth = "day")]
    pub(crate) struct Daily {
        pub(crate) timestamp: DateTime<Utc>,
    }

    #[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
    #[record(app_label = "depth", timedepth = "hour")]
    pub(crate) struct Hourly {
        pub(crate) timestamp: DateTime<Utc>,
    }
}

async fn check_boundaries<R: Record + Clone>(
    store: &esrecord::Store,
    make: fn(DateTime<Utc>) -> R,
    depth: Timedepth,
) {
    // Events just before, at, and just after each of three partition starts.
    let starts = match depth {
        Timedepth::Year => [
            at(2023, 1, 1, 0, 0, 0),
            at(2024, 1, 1, 0, 0, 0),
            at(2025, 1, 1, 0, 0, 0),
        ],
        Timedepth::Month => [
            at(2024, 2, 1, 0, 0, 0),
            at(2024, 3, 1, 0, 0, 0),
            at(2024, 4, 1, 0, 0, 0),
        ],
        Timedepth::Day => [
            at(2024, 2, 28, 0, 0, 0),
            at(2024, 2, 29, 0, 0, 0),
            at(2024, 3, 1, 0, 0, 0),
        ],
        Timedepth::Hour => [
            at(2024, 3, 5, 22, 0, 0),
            at(2024, 3, 5, 23, 0, 0),
            at(2024, 3, 6, 0, 0, 0),
        ],
    };
    let mut times = Vec::new();
    for start in starts {
        times.extend([
            start - Duration::milliseconds(1),
            start,
            start + Duration::milliseconds(1),
        ]);
    }
    for t in &times {
        store.record(make(*t)).unwrap();
    }
    assert_eq!(store.flush().await.unwrap().failed, 0);
    // [second start, third start): the event at the second start, the one
    // just after it, and the one just before the third start.
    let (from, until) = (starts[1], starts[2]);
    let expected = times.iter().filter(|t| from <= **t && **t < until).count() as u64;
    assert_eq!(expected, 3);
    let found = R::search()
        .range(from, until)
        .size(100)
        .fetch(store)
        .await
        .unwrap();
    assert_eq!(found.total, expected, "{depth}");
    // A range that starts and ends inside partitions (partial at both ends).
    let (from, until) = (starts[0] + Duration::milliseconds(1), starts[2]);
    let found = R::search()
        .range(from, until)
        .size(100)
        .fetch(store)
        .await
        .unwrap();
    assert_eq!(
        found.total,
        times.iter().filter(|t| from <= **t && **t < until).count() as u64,
        "{depth} partial"
    );
    let until_inclusive = R::search()
        .range(from, starts[2] + Duration::milliseconds(1))
        .size(0)
        .fetch(store)
        .await
        .unwrap();
    assert_eq!(
        until_inclusive.total,
        found.total + 1,
        "{depth}: until is exclusive, the bound itself is one more"
    );
}

#[tokio::test]
async fn ranges_at_every_timedepth() {
    use depths::*;
    let store = fresh_store("depths").unwrap();
    check_boundaries(&store, |timestamp| Yearly { timestamp }, Timedepth::Year).await;
    check_boundaries(&store, |timestamp| Monthly { timestamp }, Timedepth::Month).await;
    check_boundaries(&store, |timestamp| Daily { timestamp }, Timedepth::Day).await;
    check_boundaries(&store, |timestamp| Hourly { timestamp }, Timedepth::Hour).await;
    let indexes: Vec<String> = store
        .backend("default")
        .unwrap()
        .indices("depth_hourly_*")
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(
        indexes,
        [
            "depth_hourly_2024.03.05.21",
            "depth_hourly_2024.03.05.22",
            "depth_hourly_2024.03.05.23",
            "depth_hourly_2024.03.06.00"
        ]
    );
}

#[tokio::test]
async fn paging_with_search_after_has_no_gaps_or_duplicates() {
    let store = fresh_store("paging").unwrap();
    let start = at(2024, 3, 1, 0, 0, 0);
    // 10,000 views over three days, many sharing a timestamp.
    for i in 0..10_000u64 {
        store
            .record(view(
                start + Duration::seconds((i / 3) as i64 * 77),
                i,
                "/p",
            ))
            .unwrap();
    }
    assert_eq!(store.flush().await.unwrap().sent, 10_000);
    let backend = store.backend("default").unwrap();
    let patterns = vec!["shop_pageview_*".to_owned()];
    let mut seen = HashSet::new();
    let mut previous: Option<(i64, String)> = None;
    let mut after: Option<serde_json::Value> = None;
    loop {
        let mut body = json!({"size": 777, "sort": [{"timestamp": "asc"}, {"_id": "asc"}]});
        if let Some(after) = &after {
            body["search_after"] = after.clone();
        }
        let page = backend.search(&patterns, &body).await.unwrap();
        assert_eq!(page.hits.total.as_ref().unwrap().value, 10_000);
        let Some(last) = page.hits.hits.last() else {
            break;
        };
        after = Some(json!(last.sort));
        for hit in &page.hits.hits {
            let key = (
                hit.sort[0].as_i64().unwrap(),
                hit.sort[1].as_str().unwrap().to_owned(),
            );
            assert!(
                previous.as_ref().is_none_or(|p| *p < key),
                "out of order at {key:?}"
            );
            previous = Some(key);
            assert!(seen.insert(hit.id.clone()), "duplicate {}", hit.id);
        }
    }
    assert_eq!(seen.len(), 10_000);
}

#[tokio::test]
async fn aggregations_are_merged_across_partitions() {
    let store = fresh_store("aggs").unwrap();
    let start = at(2024, 3, 1, 0, 0, 0);
    let views: Vec<PageView> = (0..600u64)
        .map(|i| {
            view(
                start + Duration::minutes(i as i64 * 17),
                i % 7,
                ["/a", "/b", "/c"][(i % 3) as usize],
            )
        })
        .collect();
    for v in &views {
        store.record(v.clone()).unwrap();
    }
    store.flush().await.unwrap();
    let found = PageView::search()
        .range((2024, 3, 2), (2024, 3, 5))
        .size(0)
        .aggregations_json(json!({
            "per_day": {"date_histogram": {"field": "timestamp", "fixed_interval": "1d"}, "aggs": {"p99": {"avg": {"field": "latency.p99_ms"}}}},
            "paths": {"terms": {"field": "path"}},
            "max_item": {"max": {"field": "item_id"}}
        }))
        .fetch(&store)
        .await
        .unwrap();
    let in_range: Vec<&PageView> = views
        .iter()
        .filter(|v| v.timestamp >= at(2024, 3, 2, 0, 0, 0) && v.timestamp < at(2024, 3, 5, 0, 0, 0))
        .collect();
    assert_eq!(found.total, in_range.len() as u64);
    let aggs = found.aggregations.unwrap();
    let buckets = aggs["per_day"]["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 3);
    for (day, bucket) in (2..5).zip(buckets) {
        let day_views: Vec<&&PageView> = in_range
            .iter()
            .filter(|v| v.timestamp.format("%d").to_string() == format!("{day:02}"))
            .collect();
        assert_eq!(bucket["key"], at(2024, 3, day, 0, 0, 0).timestamp_millis());
        assert_eq!(
            bucket["key_as_string"],
            format!("2024-03-{day:02}T00:00:00.000Z")
        );
        assert_eq!(bucket["doc_count"], day_views.len());
        let mean = day_views.iter().map(|v| v.latency.p99_ms).sum::<f64>() / day_views.len() as f64;
        assert!((bucket["p99"]["value"].as_f64().unwrap() - mean).abs() < 1e-9);
    }
    let path_total: u64 = aggs["paths"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["doc_count"].as_u64().unwrap())
        .sum();
    assert_eq!(path_total, in_range.len() as u64);
    assert_eq!(aggs["max_item"]["value"], 6.0);
}

#[tokio::test]
async fn unsupported_clauses_and_bad_ranges_are_errors() {
    let store = fresh_store("errors").unwrap();
    store.record(view(at(2024, 3, 1, 0, 0, 0), 1, "/")).unwrap();
    store.flush().await.unwrap();
    let error = PageView::search()
        .query_json(json!({"wildcard": {"path": "/*"}}))
        .fetch(&store)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("wildcard"), "{error}");
    let error = PageView::search()
        .aggregations_json(json!({"x": {"geo_bounds": {"field": "path"}}}))
        .fetch(&store)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("geo_bounds"), "{error}");
    let error = PageView::search()
        .range((2024, 4), (2024, 3))
        .fetch(&store)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("earlier bound first"), "{error}");
}

#[tokio::test]
async fn records_that_do_not_fit_the_mapping_are_reported_not_lost_silently() {
    let store = fresh_store("rejects").unwrap();
    store.setup_types(&[PageView::record_type()]).await.unwrap();
    let (backend, named) = store.backend_for::<PageView>().unwrap();
    let index = named.index_for(&at(2024, 3, 5, 0, 0, 0));
    let bad = br#"{"timestamp": "2024-03-05T00:00:00Z", "item_id": "not a number"}"#;
    let unknown = br#"{"timestamp": "2024-03-05T00:00:00Z", "surprise": 1}"#;
    let mut body = BulkBuilder::default();
    body.push(BulkAction::Create, &index, "bad", bad).unwrap();
    body.push(BulkAction::Create, &index, "unknown", unknown)
        .unwrap();
    body.push(BulkAction::Create, "nothing_matches_2024", "x", bad)
        .unwrap();
    let results = backend.bulk(body.finish()).await.unwrap();
    assert_eq!(
        results[0].error_type.as_deref(),
        Some("mapper_parsing_exception"),
        "{results:?}"
    );
    assert_eq!(
        results[1].error_type.as_deref(),
        Some("strict_dynamic_mapping_exception"),
        "{results:?}"
    );
    assert_eq!(results[2].status, 404, "{results:?}");
    assert!(
        results[2]
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("run setup"),
        "{results:?}"
    );
}

#[tokio::test]
async fn autosetup_off_refuses_types_without_templates() {
    let dir = esrecord_tests::fresh_dir("no-autosetup");
    let store = esrecord::Store::builder()
        .embedded(&dir)
        .configure(|c| c.autosetup = false)
        .open()
        .unwrap();
    let error = store
        .save(&view(at(2024, 3, 1, 0, 0, 0), 1, "/"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotSetUp { .. }), "{error}");
    store.record(view(at(2024, 3, 1, 0, 0, 0), 1, "/")).unwrap();
    let report = store.flush().await.unwrap();
    assert_eq!((report.sent, report.failed), (0, 1));
    assert!(report.last_error.unwrap().contains("run setup"));
}

#[tokio::test]
async fn recorded_records_become_searchable_without_a_flush() {
    let store = fresh_store("refresh").unwrap();
    let march = || PageView::search().range((2024, 3), (2024, 4)).size(0);
    let total = |results: esrecord::SearchResults<PageView>| results.total;
    // Nobody searched yet: the store is search-idle and the writer does not
    // refresh on schedule, so the first search refreshes before it reads.
    for i in 0..10 {
        store
            .record(view(at(2024, 3, 1, 0, 0, i), i.into(), "/"))
            .unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(total(march().fetch(&store).await.unwrap()), 10);
    // Searched a moment ago: the scheduled refresh (50 ms in the fixture)
    // makes new records searchable.
    for i in 10..25 {
        store
            .record(view(at(2024, 3, 2, 0, 0, i), i.into(), "/"))
            .unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut seen = 0;
    while seen < 25 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        seen = total(march().fetch(&store).await.unwrap());
    }
    assert_eq!(seen, 25);
    assert_eq!(store.flush().await.unwrap().failed, 0);
}
