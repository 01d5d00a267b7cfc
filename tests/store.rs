//! The store on the embedded engine, end to end: the shared scenarios
//! (`scenarios.rs`: setup and check, every field type written and read
//! back, replacement by id, time ranges at each timedepth, paging,
//! aggregations), and what is the embedded engine's own: errors for what it
//! does not support, writes with no template, refresh while searched.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use esrecord::bulk::{BulkAction, BulkBuilder};
use esrecord::{Error, Record};
use esrecord_tests::{DailyReport, PageView, fresh_store};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[path = "scenarios.rs"]
mod scenarios;

use scenarios::{at, view};

/// Runs a shared scenario on a fresh embedded store of its own.
macro_rules! embedded_scenario {
    ($module:ident :: $name:ident $(, $arg:expr)*) => {
        #[tokio::test]
        async fn $name() {
            let store = fresh_store(stringify!($name)).unwrap();
            $module::$name(&store $(, $arg)*).await;
        }
    };
}

scenarios::store_scenarios!(embedded_scenario, paging_tiebreak = "_id");

#[tokio::test]
async fn concurrent_batches_keep_the_last_record_of_an_overwriting_type() {
    // One record a batch, four batches at once: records of a type that
    // overwrites must still land in the order they were recorded, and
    // created records (which never collide) all arrive.
    let dir = esrecord_tests::fresh_dir("overwrite-order");
    let store = esrecord::Store::builder()
        .embedded(&dir)
        .configure(|c| {
            c.writer.batch_size = Some(1);
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
    let total = |results: esrecord::search::SearchResults<PageView>| results.total;
    // Nobody searched yet: the store is search-idle and the writer does not
    // refresh on schedule, so the first search refreshes before it reads.
    for i in 0..10 {
        store
            .record(view(at(2024, 3, 1, 0, 0, i), i.into(), "/"))
            .unwrap();
    }
    // Once the writer has written them (not refreshed: nobody searched),
    // one search sees them all.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.stats().sent < 10 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
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

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writes_of_one_template_all_succeed() {
    // Setup and a type's first record may put the same template at once.
    let store = esrecord::Store::builder()
        .embedded(esrecord_tests::fresh_dir("store-concurrent-templates"))
        .open()
        .unwrap();
    let backend = std::sync::Arc::clone(store.backend("default").unwrap());
    let body = esrecord_tests::PageView::record_type().template_body();
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let (backend, body) = (std::sync::Arc::clone(&backend), body.clone());
            tokio::spawn(async move {
                for _ in 0..20 {
                    backend.put_template("shop_pageview", &body).await?;
                }
                Ok::<(), esrecord::Error>(())
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    assert!(
        backend
            .get_template("shop_pageview")
            .await
            .unwrap()
            .is_some()
    );
}

/// Values at the edges of what validation accepts, for the embedded engine.
#[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[record(app_label = "lab")]
struct Edges {
    timestamp: DateTime<Utc>,
    big: u64,
    bigs: Vec<u64>,
    counters: BTreeMap<String, u64>,
    doubles: Vec<f64>,
    singles: Vec<f32>,
    gauges: BTreeMap<String, f64>,
    maybe: Vec<Option<u32>>,
    tags: BTreeMap<String, String>,
    names: Vec<String>,
    longest: String,
    empty_counters: BTreeMap<String, u64>,
    empty_names: Vec<String>,
}

#[tokio::test]
async fn edge_values_are_stored_and_read_back_exactly() {
    let store = fresh_store("edges").unwrap();
    let above_i64 = i64::MAX as u64 + 1;
    let doubles = vec![
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        5e-324,
        -0.0,
        0.1 + 0.2,
    ];
    let singles = vec![f32::MAX, f32::MIN_POSITIVE, 1e-45, -0.0, 0.1];
    let record = Edges {
        timestamp: at(2024, 3, 5, 7, 0, 0),
        big: u64::MAX,
        bigs: vec![0, above_i64, u64::MAX],
        counters: BTreeMap::from([("big".into(), above_i64), ("max".into(), u64::MAX)]),
        doubles: doubles.clone(),
        singles: singles.clone(),
        gauges: BTreeMap::from([("tiny".into(), 5e-324), ("zero".into(), -0.0)]),
        maybe: vec![None, Some(7), None],
        tags: BTreeMap::from([("a.b".into(), "x".repeat(32_762))]),
        names: vec![String::new(), "x".repeat(32_766)],
        longest: "é".repeat(16_383),
        empty_counters: BTreeMap::new(),
        empty_names: Vec::new(),
    };
    record.validate().unwrap();
    store.save(&record).await.unwrap();
    store.refresh().await.unwrap();
    let found = Edges::search()
        .range((2024, 3, 5), (2024, 3, 6))
        .fetch(&store)
        .await
        .unwrap();
    assert_eq!(found.total, 1);
    let back = &found.hits[0].record;
    assert_eq!(back, &record);
    // Bit for bit: -0.0 stays negative, subnormals and extremes exact.
    let bits = |values: &[f64]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&back.doubles), bits(&doubles));
    let bits32 = |values: &[f32]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits32(&back.singles), bits32(&singles));
    assert_eq!(back.gauges["zero"].to_bits(), (-0.0_f64).to_bits());

    // u64 above i64::MAX are kept as unsigned, in fields and numeric maps.
    for (clause, expected) in [
        (json!({"term": {"big": u64::MAX}}), 1),
        (json!({"term": {"bigs": above_i64}}), 1),
        (json!({"range": {"bigs": {"gt": i64::MAX}}}), 1),
        (json!({"term": {"counters.big": above_i64}}), 1),
        (json!({"range": {"counters.max": {"gte": above_i64}}}), 1),
        (json!({"range": {"counters.big": {"gt": above_i64}}}), 0),
        (json!({"term": {"maybe": 7}}), 1),
        (json!({"term": {"tags.a.b": "x".repeat(32_762)}}), 1),
        (json!({"range": {"gauges.tiny": {"gt": 0.0}}}), 1),
    ] {
        let found = Edges::search()
            .query_json(clause.clone())
            .size(0)
            .fetch(&store)
            .await
            .unwrap();
        assert_eq!(found.total, expected, "{clause}");
    }
}
