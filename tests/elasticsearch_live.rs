//! The store's scenarios (`scenarios.rs`, `search_scenarios.rs`,
//! `date_scenarios.rs` and `rule_scenarios.rs`, which the embedded engine's
//! tests run too) against a real Elasticsearch 8 or 9 cluster, when
//! `ESRECORD_TEST_ELASTICSEARCH_URL` names one (for example
//! `http://elastic:changeme@localhost:9200`); skipped, with a printed line,
//! otherwise. Every test writes under index prefixes of its own and deletes
//! its indexes afterwards (templates stay, named by the prefixes).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};
use esrecord::config::{BackendConfig, BackendKind, Config, ElasticsearchConfig};
use esrecord::{Record, Store};
use esrecord_tests::{DailyReport, Latency, PageView};
use serde_json::json;

#[path = "scenarios.rs"]
mod scenarios;

#[path = "search_scenarios.rs"]
mod search_scenarios;

#[path = "date_scenarios.rs"]
mod date_scenarios;

#[path = "rule_scenarios.rs"]
mod rule_scenarios;

const URL_VARIABLE: &str = "ESRECORD_TEST_ELASTICSEARCH_URL";

/// A store on the cluster with `default` and `archive` backends, under
/// prefixes of the test's own, or `None` (printing why) when no cluster is
/// given.
fn live_store(test: &str) -> Option<(Store, String)> {
    let Ok(url) = std::env::var(URL_VARIABLE) else {
        println!("skipped {test}: set {URL_VARIABLE} to an Elasticsearch 8 or 9 URL to run it");
        return None;
    };
    let prefix = format!("esrecord-test-{}-{test}-", std::process::id());
    let mut config = Config::embedded("unused");
    config.writer.batch_interval = std::time::Duration::from_millis(50);
    for (name, prefix) in [
        ("default", prefix.clone()),
        ("archive", format!("{prefix}arch-")),
    ] {
        config.backends.insert(
            name.into(),
            BackendConfig {
                kind: BackendKind::Elasticsearch(ElasticsearchConfig::from_url(&url).unwrap()),
                index_prefix: prefix,
                max_docs_per_second: None,
            },
        );
    }
    Some((Store::with_config(config).unwrap(), prefix))
}

/// Runs a shared scenario on a live store, then deletes its indexes.
macro_rules! live_scenario {
    ($module:ident :: $name:ident $(, $arg:expr)*) => {
        #[tokio::test]
        async fn $name() {
            let Some((store, prefix)) = live_store(stringify!($name)) else {
                return;
            };
            $module::$name(&store $(, $arg)*).await;
            clean_up(&store, &prefix).await;
        }
    };
}

// Elasticsearch 8 refuses to sort on `_id` by default; the views' item ids
// are unique in the paging scenario.
scenarios::store_scenarios!(live_scenario, paging_tiebreak = "item_id");
search_scenarios::search_scenarios!(live_scenario);
date_scenarios::date_scenarios!(live_scenario);
rule_scenarios::rule_scenarios!(live_scenario);

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

    clean_up(&store, &prefix).await;
}
