//! The store's scenarios, shared by the embedded engine's tests
//! (`store.rs`) and the live Elasticsearch suite (`elasticsearch_live.rs`):
//! each takes a store with `default` and `archive` backends and names
//! indexes and templates through it, so any index prefix works.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use esrecord::bulk::{BulkAction, BulkBuilder};
use esrecord::{CheckStatus, Record, SetupOutcome, Store, Timedepth};
use esrecord_tests::{DailyReport, Everything, Latency, LegacyView, PageView, Setting, everything};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub(crate) fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
}

pub(crate) fn view(timestamp: DateTime<Utc>, item_id: u64, path: &str) -> PageView {
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

pub(crate) fn types() -> Vec<&'static esrecord::RecordType> {
    vec![
        PageView::record_type(),
        DailyReport::record_type(),
        Setting::record_type(),
        LegacyView::record_type(),
        Everything::record_type(),
    ]
}

/// The template name of `R` as `store` names it (with its backend's prefix).
fn template_name<R: Record>(store: &Store) -> String {
    store.backend_for::<R>().unwrap().1.template_name()
}

pub(crate) async fn setup_then_check_then_drift(store: &Store) {
    let pageview = template_name::<PageView>(store);
    let everything = template_name::<Everything>(store);
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
        setup.entries.iter().any(|(name, _)| *name == everything),
        "per-type backend and prefix: {setup}"
    );
    let check = store.check_types(&types()).await.unwrap();
    assert!(check.is_in_sync(), "{check}");

    // Someone changes a template behind the store's back.
    let (backend, _) = store.backend_for::<PageView>().unwrap();
    let mut drifted = backend.get_template(&pageview).await.unwrap().unwrap();
    drifted["template"]["mappings"]["properties"]["path"] = json!({"type": "text"});
    backend.put_template(&pageview, &drifted).await.unwrap();
    let check = store.check_types(&types()).await.unwrap();
    assert!(!check.is_in_sync());
    let text = check.to_string();
    assert!(text.contains(&format!("{pageview}: drifted")), "{text}");
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
            .find(|(n, _)| *n == pageview)
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

pub(crate) async fn every_field_type_round_trips(store: &Store) {
    let record = everything(at(2024, 3, 5, 7, 0, 0));
    let id = store.save(&record).await.unwrap();
    store.refresh().await.unwrap();
    let found = Everything::search()
        .range((2024, 3, 5, 7), (2024, 3, 5, 8))
        .fetch(store)
        .await
        .unwrap();
    assert_eq!(found.total, 1);
    let hit = &found.hits[0];
    assert_eq!(hit.id, id);
    let (_, named) = store.backend_for::<Everything>().unwrap();
    assert_eq!(hit.index, named.index_for(&at(2024, 3, 5, 7, 0, 0)));
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
            .fetch(store)
            .await
            .unwrap();
        assert_eq!(found.total, expected, "{clause}");
    }
}

pub(crate) async fn recording_the_same_unique_key_replaces(store: &Store) {
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
        .fetch(store)
        .await
        .unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.hits[0].record.views, 99);
    assert_eq!(found.hits[0].id, report(1).unique_id().unwrap().unwrap());
}

pub(crate) async fn created_ids_are_never_overwritten(store: &Store) {
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
    let found = PageView::search().fetch(store).await.unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.hits[0].record.path, "/first");
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
    store: &Store,
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

pub(crate) async fn ranges_at_every_timedepth(store: &Store) {
    use depths::*;
    check_boundaries(store, |timestamp| Yearly { timestamp }, Timedepth::Year).await;
    check_boundaries(store, |timestamp| Monthly { timestamp }, Timedepth::Month).await;
    check_boundaries(store, |timestamp| Daily { timestamp }, Timedepth::Day).await;
    check_boundaries(store, |timestamp| Hourly { timestamp }, Timedepth::Hour).await;
    let (backend, named) = store.backend_for::<Hourly>().unwrap();
    let indexes: Vec<String> = backend
        .indices(&named.pattern())
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    let hours = [
        at(2024, 3, 5, 21, 0, 0),
        at(2024, 3, 5, 22, 0, 0),
        at(2024, 3, 5, 23, 0, 0),
        at(2024, 3, 6, 0, 0, 0),
    ];
    assert_eq!(indexes, hours.map(|hour| named.index_for(&hour)));
}

/// `tiebreak` breaks ties between equal timestamps: `_id` on the embedded
/// engine; Elasticsearch 8 refuses to sort on `_id` by default, so a unique
/// field there.
pub(crate) async fn paging_with_search_after_has_no_gaps_or_duplicates(
    store: &Store,
    tiebreak: &str,
) {
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
    let (backend, named) = store.backend_for::<PageView>().unwrap();
    let patterns = vec![named.pattern()];
    let mut seen = HashSet::new();
    let mut previous: Option<(i64, String)> = None;
    let mut after: Option<serde_json::Value> = None;
    loop {
        let mut body = json!({"size": 777, "sort": [{"timestamp": "asc"}, {tiebreak: "asc"}]});
        if let Some(after) = &after {
            body["search_after"] = after.clone();
        }
        let page = backend
            .search(&patterns, &body)
            .await
            .unwrap()
            .into_response()
            .unwrap();
        assert_eq!(page.hits.total.as_ref().unwrap().value, 10_000);
        let Some(last) = page.hits.hits.last() else {
            break;
        };
        after = Some(json!(last.sort));
        for hit in &page.hits.hits {
            // The tiebreak's value as text, ids and numbers alike, ordered
            // as the backend orders them (numbers padded).
            let tie = match &hit.sort[1] {
                serde_json::Value::Number(n) => format!("{:020}", n.as_u64().unwrap()),
                other => other.as_str().unwrap().to_owned(),
            };
            let key = (hit.sort[0].as_i64().unwrap(), tie);
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

pub(crate) async fn aggregations_are_merged_across_partitions(store: &Store) {
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
        .fetch(store)
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

/// Every scenario of this file, each as `$run!(scenarios::name)`, for a
/// suite's runner macro; the sort field that breaks ties when paging is
/// the suite's (Elasticsearch 8 refuses to sort on `_id` by default):
/// `store_scenarios!(run, paging_tiebreak = "_id");`
macro_rules! store_scenarios {
    ($run:ident, paging_tiebreak = $paging_tiebreak:expr) => {
        $run!(scenarios::setup_then_check_then_drift);
        $run!(scenarios::every_field_type_round_trips);
        $run!(scenarios::recording_the_same_unique_key_replaces);
        $run!(scenarios::created_ids_are_never_overwritten);
        $run!(scenarios::ranges_at_every_timedepth);
        $run!(
            scenarios::paging_with_search_after_has_no_gaps_or_duplicates,
            $paging_tiebreak
        );
        $run!(scenarios::aggregations_are_merged_across_partitions);
    };
}
pub(crate) use store_scenarios;
