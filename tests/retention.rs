//! Retention enforced by the store on the embedded engine: exactly the
//! partitions whose end plus the type's retention has passed are deleted,
//! by `Store::delete_expired` and, with `enforce_retention`, on the store's
//! schedule; an index under the type's pattern that is not one of its
//! partitions (a restored copy) is kept.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use esrecord::bulk::{BulkAction, BulkBuilder};
use esrecord::config::Config;
use esrecord::{Record, Store};
use serde::{Deserialize, Serialize};

/// Hourly partitions kept two hours after they end.
#[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[record(app_label = "ret", timedepth = "hour", retention = "2h")]
struct Heartbeat {
    timestamp: DateTime<Utc>,
    host: String,
}

const RESTORED: &str = "ret_heartbeat_2020.01.01.00-restored";

/// Heartbeats 10 h, 5 h, 90 min and 1 min ago, each in a partition of its
/// own (the first two expired), and a restored copy under the pattern; the
/// names of the expired partitions.
async fn fill(store: &Store, now: DateTime<Utc>) -> Vec<String> {
    let ages = [600, 300, 90, 1];
    for minutes in ages {
        let timestamp = now - TimeDelta::minutes(minutes);
        store
            .record(Heartbeat {
                timestamp,
                host: format!("web-{minutes}"),
            })
            .unwrap();
    }
    store.flush().await.unwrap();
    let mut bulk = BulkBuilder::default();
    let copy = serde_json::json!({"timestamp": "2020-01-01T00:30:00Z", "host": "old"}).to_string();
    bulk.push(BulkAction::Create, RESTORED, "copy-1", copy.as_bytes())
        .unwrap();
    let backend = store.backend("default").unwrap();
    assert_eq!(backend.bulk(bulk.finish()).await.unwrap().len(), 1);
    backend.refresh().await.unwrap();
    ages[..2]
        .iter()
        .map(|m| Heartbeat::record_type().index_for(&(now - TimeDelta::minutes(*m))))
        .collect()
}

async fn index_names(store: &Store) -> Vec<String> {
    let partitions = store.partitions(Heartbeat::record_type()).await.unwrap();
    partitions.into_iter().map(|p| p.info.name).collect()
}

#[tokio::test]
async fn delete_expired_deletes_exactly_the_expired_partitions() {
    let store = esrecord_tests::fresh_store("retention-by-hand").unwrap();
    let now = Utc::now();
    let expired = fill(&store, now).await;
    let before = index_names(&store).await;
    assert_eq!(before.len(), 5, "{before:?}");
    let partitions = store.partitions(Heartbeat::record_type()).await.unwrap();
    let restored = partitions.iter().find(|p| p.info.name == RESTORED).unwrap();
    assert_eq!((restored.start, restored.expires), (None, None));
    assert!(!restored.is_expired(now));

    let report = store
        .delete_expired(&[Heartbeat::record_type()], now)
        .await
        .unwrap();
    let mut deleted = report.deleted.clone();
    deleted.sort();
    assert_eq!(deleted, expired);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let after = index_names(&store).await;
    assert_eq!(after.len(), 3, "{after:?}");
    assert!(after.contains(&RESTORED.to_owned()));
    let hosts: Vec<String> = Heartbeat::search()
        .size(10)
        .fetch(&store)
        .await
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.record.host)
        .collect();
    assert!(
        !hosts.contains(&"web-600".to_owned()) && hosts.contains(&"web-1".to_owned()),
        "{hosts:?}"
    );
    // Nothing more has expired.
    let again = store
        .delete_expired(&[Heartbeat::record_type()], now)
        .await
        .unwrap();
    assert!(again.deleted.is_empty());
    store.close().await.unwrap();
}

fn config(name: &str, enforce: bool) -> Config {
    let dir = esrecord_tests::fresh_dir(name);
    let mut config = Config::embedded(dir);
    config.writer.refresh_interval = Duration::from_millis(50);
    config.writer.batch_interval = Duration::from_millis(20);
    config.retention.enforce = enforce;
    config.retention.interval = Duration::from_millis(100);
    config
}

#[tokio::test]
async fn an_enforcing_store_deletes_expired_partitions_on_its_schedule() {
    let store = Store::with_config(config("retention-enforced", true)).unwrap();
    let expired = fill(&store, Utc::now()).await;
    let mut left = index_names(&store).await;
    for _ in 0..100 {
        if !expired.iter().any(|e| left.contains(e)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = index_names(&store).await;
    }
    assert!(!expired.iter().any(|e| left.contains(e)), "{left:?}");
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left.contains(&RESTORED.to_owned()));
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_store_deletes_nothing_by_default() {
    let config = config("retention-default", false);
    assert!(!Config::embedded("unused").retention.enforce);
    let store = Store::with_config(config).unwrap();
    fill(&store, Utc::now()).await;
    // Several of the intervals an enforcing store would have used.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(index_names(&store).await.len(), 5);
    store.close().await.unwrap();
}

/// Deleting a partition while records are written to it fails no write:
/// a write already under way finishes first or goes to the index created
/// anew, as Elasticsearch recreates a deleted index on the next write.
#[tokio::test]
async fn deleting_a_partition_while_it_is_written_fails_no_write() {
    let store = esrecord_tests::fresh_store("retention-race").unwrap();
    let timestamp = Utc::now() - TimeDelta::hours(10);
    let index = Heartbeat::record_type().index_for(&timestamp);
    let backend = std::sync::Arc::clone(store.backend("default").unwrap());
    for round in 0..20 {
        for n in 0..50 {
            store
                .record(Heartbeat {
                    timestamp,
                    host: format!("web-{round}-{n}"),
                })
                .unwrap();
        }
        let (flushed, _) = tokio::join!(store.flush(), backend.delete_index(&index));
        let stats = flushed.unwrap();
        assert!(stats.is_complete(), "round {round}: {stats:?}");
        assert_eq!(stats.failed, 0, "round {round}: {:?}", stats.last_error);
    }
    store.close().await.unwrap();
}
