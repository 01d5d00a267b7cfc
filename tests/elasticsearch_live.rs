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
                data_streams: None,
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

/// A plain data stream on a live cluster.
#[derive(Record, serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
#[record(app_label = "live", retention = "30d", data_stream)]
struct LiveCheckout {
    timestamp: chrono::DateTime<Utc>,
    #[record(keyword)]
    store: String,
    total: f64,
}

/// A time series data stream on a live cluster.
#[derive(Record, serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
#[record(app_label = "live", name = "sales", retention = "30d", data_stream)]
struct LiveSales {
    timestamp: chrono::DateTime<Utc>,
    #[record(keyword, dimension)]
    store: String,
    #[record(time_series_metric = "counter")]
    orders: u64,
    #[record(time_series_metric = "gauge")]
    basket: f64,
}

/// Dead letters as a test collects them.
type Letters = std::sync::Arc<std::sync::Mutex<Vec<esrecord::DeadLetter>>>;

/// A store whose default backend writes data streams with ILM policies
/// (downsampling an hour in, for the time series), under a prefix of the
/// test's own, and the dead letters it hears of.
fn live_stream_store(test: &str) -> Option<(Store, String, Letters)> {
    let Ok(url) = std::env::var(URL_VARIABLE) else {
        println!("skipped {test}: set {URL_VARIABLE} to an Elasticsearch 8 or 9 URL to run it");
        return None;
    };
    let prefix = format!("esrecord-test-{}-{test}-", std::process::id());
    let config = Config::from_toml(&format!(
        r#"
[writer]
batch_interval_ms = 50
[backends.default]
kind = "elasticsearch"
url = "{url}"
index_prefix = "{prefix}"
[backends.default.data_streams]
rollover_max_age = "1d"
downsample_after = "1h"
downsample_interval = "10m"
"#
    ))
    .unwrap();
    let letters = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = std::sync::Arc::clone(&letters);
    let store = Store::builder()
        .config(config)
        .on_dead_letter(move |letter| kept.lock().unwrap().push(letter.clone()))
        .open()
        .unwrap();
    Some((store, prefix, letters))
}

async fn delete_streams(store: &Store, types: &[&'static esrecord::RecordType]) {
    let backend = store.backend("default").unwrap();
    for record_type in types {
        let named = store.named_type(record_type).unwrap();
        let stream = named.data_stream().unwrap().name().to_owned();
        backend.delete_data_stream(&stream).await.unwrap();
    }
}

#[tokio::test]
async fn data_streams_with_ilm_and_time_series_on_a_cluster() {
    let Some((store, _prefix, letters)) = live_stream_store("streams") else {
        return;
    };
    let types = [LiveCheckout::record_type(), LiveSales::record_type()];
    let report = store.setup_types(&types).await.unwrap();
    assert!(
        report
            .entries
            .iter()
            .any(|(name, outcome)| name.ends_with("(data stream)")
                && *outcome == esrecord::SetupOutcome::Created),
        "{report}"
    );
    let check = store.check_types(&types).await.unwrap();
    assert!(check.is_in_sync(), "{check}");

    // Points within the time series' writable bounds (now, give or take
    // the default look-back of two hours).
    let now = Utc::now();
    for i in 0..20u32 {
        let timestamp = now - Duration::seconds(i64::from(i) * 30);
        store
            .record(LiveCheckout {
                timestamp,
                store: format!("s{}", i % 3),
                total: f64::from(i),
            })
            .unwrap();
        store
            .record(LiveSales {
                timestamp,
                store: format!("s{}", i % 3),
                orders: u64::from(i),
                basket: f64::from(i) / 2.0,
            })
            .unwrap();
    }
    // Far outside them: refused by the cluster, heard as a dead letter.
    store
        .record(LiveSales {
            timestamp: Utc.with_ymd_and_hms(2001, 1, 1, 0, 0, 0).unwrap(),
            store: "s0".into(),
            orders: 1,
            basket: 1.0,
        })
        .unwrap();
    let stats = store.flush().await.unwrap();
    assert_eq!((stats.sent, stats.failed), (40, 1), "{stats:?}");
    let letters = letters.lock().unwrap().clone();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert!(
        letters[0].reason.contains("look_back_time"),
        "{}",
        letters[0].reason
    );

    let found = LiveSales::search()
        .range(now - Duration::hours(1), now + Duration::minutes(1))
        .size(100)
        .fetch(&store)
        .await
        .unwrap();
    assert_eq!(found.total, 20);
    let found = LiveCheckout::search()
        .range(now - Duration::hours(1), now + Duration::minutes(1))
        .size(100)
        .fetch(&store)
        .await
        .unwrap();
    assert_eq!(found.total, 20);

    for record_type in types {
        let partitions = store.partitions(record_type).await.unwrap();
        assert_eq!(partitions.len(), 1, "one backing index");
        let place = partitions[0].stream.as_ref().unwrap();
        assert!(place.write_index);
        assert_eq!(place.generation, 1);
        assert_eq!(partitions[0].info.docs, 20);
    }
    delete_streams(&store, &types).await;
}
