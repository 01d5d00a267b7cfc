//! The store's scenarios against a real Elasticsearch 8 or 9 cluster, when
//! `ESRECORD_TEST_ELASTICSEARCH_URL` names one (for example
//! `http://elastic:changeme@localhost:9200`); skipped, with a printed line,
//! otherwise. Every run writes under its own index prefix and deletes its
//! indexes afterwards (templates stay, named by the prefix).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use esrecord::config::{BackendConfig, BackendKind, Config, ElasticsearchConfig};
use esrecord::{Record, Store};
use esrecord_tests::{DailyReport, Latency, PageView};
use serde_json::json;

const URL_VARIABLE: &str = "ESRECORD_TEST_ELASTICSEARCH_URL";

/// A store on the cluster under a prefix of its own, or `None` (printing
/// why) when no cluster is given.
fn live_store(test: &str) -> Option<(Store, String)> {
    let Ok(url) = std::env::var(URL_VARIABLE) else {
        println!("skipped {test}: set {URL_VARIABLE} to an Elasticsearch 8 or 9 URL to run it");
        return None;
    };
    let prefix = format!("esrecord-test-{}-{test}-", std::process::id());
    let mut config = Config::embedded("unused");
    config.writer.batch_interval = std::time::Duration::from_millis(50);
    config.backends.insert(
        "default".into(),
        BackendConfig {
            kind: BackendKind::Elasticsearch(ElasticsearchConfig::from_url(&url).unwrap()),
            index_prefix: prefix.clone(),
        },
    );
    Some((Store::with_config(config).unwrap(), prefix))
}

async fn clean_up(store: &Store, prefix: &str) {
    let backend = store.backend("default").unwrap();
    for index in backend.indices(&format!("{prefix}*")).await.unwrap() {
        backend.delete_index(&index.name).await.unwrap();
    }
}

fn view(minute: i64, item_id: u64) -> PageView {
    PageView {
        timestamp: Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap() + Duration::minutes(minute),
        item_id,
        path: if item_id.is_multiple_of(2) {
            "/cart"
        } else {
            "/"
        }
        .into(),
        latency: Latency {
            p50_ms: 10.0,
            p99_ms: 40.0,
        },
        tags: BTreeMap::from([("platform".into(), "linux".into())]),
    }
}

#[tokio::test]
async fn setup_record_search_and_aggregate_on_a_cluster() {
    let Some((store, prefix)) = live_store("scenarios") else {
        return;
    };
    let types = [PageView::record_type(), DailyReport::record_type()];
    store.setup_types(&types).await.unwrap();
    let check = store.check_types(&types).await.unwrap();
    assert!(check.is_in_sync(), "{check}");

    // Two days of views, one a minute.
    for minute in 0..2 * 24 * 60 {
        store.record(view(minute, minute as u64 % 10)).unwrap();
    }
    let report = store.flush().await.unwrap();
    assert_eq!((report.sent, report.failed), (2 * 24 * 60, 0));
    let first_day = PageView::search()
        .range((2024, 3, 1), (2024, 3, 2))
        .size(0)
        .fetch(&store)
        .await
        .unwrap();
    assert_eq!(first_day.total, 24 * 60);
    let per_hour = PageView::search()
        .range((2024, 3, 1), (2024, 3, 3))
        .query_json(json!({"term": {"path": "/cart"}}))
        .size(0)
        .aggregations_json(
            json!({"per_hour": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h"}}}),
        )
        .fetch(&store)
        .await
        .unwrap();
    let buckets = per_hour.aggregations.unwrap()["per_hour"]["buckets"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(buckets, 48);

    // Recording the same unique key again replaces the document.
    let daily = |views| DailyReport {
        timestamp: Utc.with_ymd_and_hms(2024, 3, 5, 23, 0, 0).unwrap(),
        day: NaiveDate::from_ymd_opt(2024, 3, 5).unwrap(),
        item_id: 7,
        views,
    };
    store.record(daily(1)).unwrap();
    store.flush().await.unwrap();
    store.record(daily(2)).unwrap();
    store.flush().await.unwrap();
    let found = DailyReport::search()
        .range((2024, 3), (2024, 4))
        .fetch(&store)
        .await
        .unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.hits[0].record.views, 2);

    clean_up(&store, &prefix).await;
}
