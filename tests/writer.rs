//! The writer under an outage, with each overflow policy and with the
//! spool; flush and close deadlines; hooks and their order.
//!
//! The cluster is the fault server (`esrecord_tests::fault_server`) on a
//! loopback port: stopping it refuses connections, as a cluster that is
//! down does, and restarting it brings it back on the same port.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use esrecord::config::{Config, Overflow};
use esrecord::{Error, Record, Store, StoreBuilder};
use esrecord_tests::fault_server::{FaultPlan, FaultServer};
use esrecord_tests::{PageView, fresh_dir};

/// View `item_id`, at a minute of March 2024 that the id picks.
fn page_view(item_id: u64) -> PageView {
    esrecord_tests::page_view(item_id % 10_000, item_id)
}

/// A store writing to `server` with a small queue (100 records), batches
/// of 10, one batch in flight, and quick retries.
fn store_for(server: &FaultServer, change: impl FnOnce(&mut Config)) -> StoreBuilder {
    let mut config = esrecord_tests::cluster_config(&server.url());
    let writer = &mut config.writer;
    writer.queue_capacity = 100;
    writer.batch_size = Some(10);
    writer.concurrency = 1;
    writer.batch_interval = Duration::from_millis(5);
    writer.retry_backoff = Duration::from_millis(1);
    writer.retry_max_backoff = Duration::from_millis(20);
    change(&mut config);
    Store::builder().config(config)
}

/// The item ids of the page views the server holds.
fn stored_items(server: &FaultServer) -> Vec<u64> {
    let mut items: Vec<u64> = server
        .documents()
        .values()
        .map(|doc| doc.json().unwrap()["item_id"].as_u64().unwrap())
        .collect();
    items.sort_unstable();
    items
}

const WARM_UP: u64 = 1_000_000;

/// What the writer holds in an outage, with one sending and one resting
/// slot and batches of 10: a batch resting between retries (0..10), a
/// batch retrying in the sending slot (10..20), and the next batch, waiting
/// for that slot (20..30).
const HELD: u64 = 30;

/// Creates the template with one record, stops the server, and records
/// views 0..HELD, which the writer takes; the queue is then empty.
async fn hold_records_in_an_outage(store: &Store, server: &FaultServer) {
    store.record(page_view(WARM_UP)).unwrap();
    assert!(store.flush().await.unwrap().is_complete());
    server.stop().await;
    for item in 0..HELD {
        store.record(page_view(item)).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.stats().batches < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The writer takes the last batch, then waits for the sending slot.
    tokio::time::sleep(Duration::from_millis(200)).await;
}

async fn outage_with(policy: Overflow) -> (Vec<u64>, Vec<u64>, esrecord::Stats) {
    let server = FaultServer::start(FaultPlan::default()).await.unwrap();
    let store = store_for(&server, |config| config.writer.overflow = policy)
        .open()
        .unwrap();
    hold_records_in_an_outage(&store, &server).await;
    let mut refused = Vec::new();
    for item in HELD..1000 {
        match store.record(page_view(item)) {
            Ok(()) => {}
            Err(Error::QueueFull { capacity, .. }) => {
                assert_eq!(capacity, 100);
                refused.push(item);
            }
            Err(other) => panic!("{other}"),
        }
    }
    server.restart().await.unwrap();
    let stats = store.close().await.unwrap();
    let mut stored = stored_items(&server);
    assert_eq!(stored.pop(), Some(WARM_UP));
    (stored, refused, stats)
}

#[tokio::test]
async fn drop_newest_keeps_what_was_queued_and_counts_the_rest() {
    let (stored, refused, stats) = outage_with(Overflow::DropNewest).await;
    assert!(refused.is_empty());
    // 30 held by the writer, 100 queued; the 870 recorded after are dropped.
    assert_eq!(stored, (0..HELD + 100).collect::<Vec<_>>());
    assert_eq!(
        (stats.dropped, stats.sent, stats.unsent),
        (1000 - HELD - 100, HELD + 101, 0),
        "{stats:?}"
    );
    assert_eq!(stats.queued, 1001);
}

#[tokio::test]
async fn drop_oldest_keeps_the_newest_records() {
    let (stored, refused, stats) = outage_with(Overflow::DropOldest).await;
    assert!(refused.is_empty());
    let expected: Vec<u64> = (0..HELD).chain(900..1000).collect();
    assert_eq!(stored, expected);
    assert_eq!(
        (stats.dropped, stats.sent, stats.unsent),
        (1000 - HELD - 100, HELD + 101, 0),
        "{stats:?}"
    );
}

#[tokio::test]
async fn error_refuses_exactly_the_records_that_did_not_fit() {
    let (stored, refused, stats) = outage_with(Overflow::Error).await;
    assert_eq!(refused, (HELD + 100..1000).collect::<Vec<_>>());
    assert_eq!(stored, (0..HELD + 100).collect::<Vec<_>>());
    assert_eq!(
        (stats.dropped, stats.sent, stats.unsent),
        (1000 - HELD - 100, HELD + 101, 0),
        "{stats:?}"
    );
}

#[tokio::test]
async fn block_waits_for_room_and_loses_nothing() {
    let server = FaultServer::start(FaultPlan::default()).await.unwrap();
    let store = store_for(&server, |config| config.writer.overflow = Overflow::Block)
        .open()
        .unwrap();
    hold_records_in_an_outage(&store, &server).await;
    let returned = Arc::new(AtomicU64::new(0));
    let recorder = {
        let (store, returned) = (store.clone(), Arc::clone(&returned));
        std::thread::spawn(move || {
            for item in HELD..HELD + 200 {
                store.record(page_view(item)).unwrap();
                returned.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The queue holds 100; the 101st waits for room.
    assert_eq!(returned.load(Ordering::SeqCst), 100);
    server.restart().await.unwrap();
    tokio::task::spawn_blocking(move || recorder.join().unwrap())
        .await
        .unwrap();
    let stats = store.close().await.unwrap();
    assert_eq!(
        (stats.sent, stats.dropped, stats.unsent),
        (HELD + 201, 0, 0),
        "{stats:?}"
    );
    let mut stored = stored_items(&server);
    assert_eq!(stored.pop(), Some(WARM_UP));
    assert_eq!(stored, (0..HELD + 200).collect::<Vec<_>>());
}

#[tokio::test]
async fn with_a_spool_an_outage_longer_than_the_queue_loses_nothing() {
    let server = FaultServer::start(FaultPlan::default()).await.unwrap();
    let spool = fresh_dir("writer-spool-outage");
    let store = store_for(&server, |config| {
        config.writer.overflow = Overflow::DropNewest;
        config.writer.spool_dir = Some(spool.clone());
    })
    .open()
    .unwrap();
    hold_records_in_an_outage(&store, &server).await;
    let started = Instant::now();
    for item in HELD..5000 {
        store.record(page_view(item)).unwrap();
    }
    // Nothing waited for the queue: the records beyond it went to disk.
    assert!(started.elapsed() < Duration::from_secs(20));
    let during = store.stats();
    assert_eq!((during.dropped, during.spooled), (0, 5000), "{during:?}");
    server.restart().await.unwrap();
    let stats = store.close().await.unwrap();
    assert_eq!(
        (stats.sent, stats.dropped, stats.unsent, stats.spooled),
        (5001, 0, 0, 0),
        "{stats:?}"
    );
    let mut stored = stored_items(&server);
    assert_eq!(stored.pop(), Some(WARM_UP));
    assert_eq!(stored, (0..5000).collect::<Vec<_>>());
    assert!(server.documents().values().all(|doc| doc.writes == 1));
    let left: Vec<_> = std::fs::read_dir(spool.join("default"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|name| name.to_string_lossy().ends_with(".spool"))
        .collect();
    assert!(
        left.is_empty(),
        "segments left after every record was written: {left:?}"
    );
}

#[tokio::test]
async fn flush_and_close_stop_at_their_deadline_and_the_spool_keeps_the_rest() {
    let server = FaultServer::start(FaultPlan::default()).await.unwrap();
    let spool = fresh_dir("writer-deadlines");
    let open = || {
        store_for(&server, |config| {
            config.writer.spool_dir = Some(spool.clone());
        })
        .open()
        .unwrap()
    };
    let store = open();
    store.record(page_view(WARM_UP)).unwrap();
    assert!(store.flush().await.unwrap().is_complete());
    server.stop().await;
    for item in 0..50 {
        store.record(page_view(item)).unwrap();
    }
    let started = Instant::now();
    let flushed = store
        .flush_within(Duration::from_millis(300))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((flushed.unsent, flushed.sent), (50, 1), "{flushed:?}");
    assert!(!flushed.is_complete());
    assert!(flushed.last_error.is_some());

    let started = Instant::now();
    let closed = store
        .close_within(Duration::from_millis(300))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        (closed.unsent, closed.spooled, closed.failed),
        (50, 50, 0),
        "{closed:?}"
    );
    assert!(matches!(store.record(page_view(0)), Err(Error::Closed)));
    drop(store);

    // The next store on the spool sends what the last one kept.
    server.restart().await.unwrap();
    let store = open();
    let stats = store.close().await.unwrap();
    assert_eq!(
        (stats.queued, stats.sent, stats.spooled),
        (50, 50, 0),
        "{stats:?}"
    );
    let mut stored = stored_items(&server);
    assert_eq!(stored.pop(), Some(WARM_UP));
    assert_eq!(stored, (0..50).collect::<Vec<_>>());
}

#[tokio::test]
async fn flush_without_a_spool_reports_unsent_records_and_close_gives_them_up() {
    let server = FaultServer::start(FaultPlan::default()).await.unwrap();
    let store = store_for(&server, |_| {}).open().unwrap();
    store.record(page_view(WARM_UP)).unwrap();
    store.flush().await.unwrap();
    server.stop().await;
    for item in 0..30 {
        store.record(page_view(item)).unwrap();
    }
    let flushed = store
        .flush_within(Duration::from_millis(200))
        .await
        .unwrap();
    assert_eq!(flushed.unsent, 30, "{flushed:?}");
    let closed = store
        .close_within(Duration::from_millis(200))
        .await
        .unwrap();
    assert_eq!(
        (closed.unsent, closed.spooled, closed.sent),
        (30, 0, 1),
        "{closed:?}"
    );
}

/// What the hooks saw, in order.
type Seen = Arc<Mutex<Vec<String>>>;

#[tokio::test]
async fn hooks_see_templates_then_each_record_before_and_after_it_is_written() {
    let seen = Seen::default();
    let note = |seen: &Seen, line: String| seen.lock().unwrap().push(line);
    let (a, b, c, d) = (seen.clone(), seen.clone(), seen.clone(), seen.clone());
    let dir = fresh_dir("writer-hooks");
    let store = Store::builder()
        .embedded(&dir)
        .on_pre_template_create(move |t| note(&a, format!("pre-template {} {}", t.backend, t.name)))
        .on_post_template_create(move |t| {
            assert!(t.body["template"]["mappings"].is_object());
            note(&b, format!("post-template {}", t.name))
        })
        .on_pre_save(move |s| {
            let item =
                serde_json::from_slice::<serde_json::Value>(s.source).unwrap()["item_id"].clone();
            note(
                &c,
                format!("pre-save {} {} {item}", s.record_type.name(), s.index),
            )
        })
        .on_post_save(move |s| {
            let item =
                serde_json::from_slice::<serde_json::Value>(s.source).unwrap()["item_id"].clone();
            note(&d, format!("post-save {} {item} {}", s.index, s.id.len()))
        })
        .open()
        .unwrap();
    for item in 1..=3 {
        store.record(page_view(item)).unwrap();
    }
    store.flush().await.unwrap();
    let id = store.save(&page_view(4)).await.unwrap();
    store.close().await.unwrap();
    let index = PageView::record_type().index_for(&page_view(1).timestamp);
    let expected = vec![
        "pre-template default shop_pageview".to_owned(),
        "post-template shop_pageview".to_owned(),
        format!("pre-save pageview {index} 1"),
        format!("pre-save pageview {index} 2"),
        format!("pre-save pageview {index} 3"),
        format!("post-save {index} 1 36"),
        format!("post-save {index} 2 36"),
        format!("post-save {index} 3 36"),
        format!("pre-save pageview {index} 4"),
        format!("post-save {index} 4 {}", id.len()),
    ];
    assert_eq!(*seen.lock().unwrap(), expected);
}

#[tokio::test]
async fn the_error_hook_hears_of_failed_requests_in_apptuits_shape() {
    let plan = FaultPlan {
        seed: 3,
        unavailable: 0.5,
        ..FaultPlan::default()
    }
    .refusing(|source| source["item_id"].as_u64() == Some(7));
    let server = FaultServer::start(plan).await.unwrap();
    let errors = Arc::new(Mutex::new(Vec::new()));
    let collected = Arc::clone(&errors);
    let store = store_for(&server, |_| {})
        .on_error(move |error| collected.lock().unwrap().push(error.clone()))
        .open()
        .unwrap();
    for item in 0..40 {
        store.record(page_view(item)).unwrap();
    }
    let stats = store.close().await.unwrap();
    assert_eq!((stats.sent, stats.failed), (39, 1), "{stats:?}");
    let errors = errors.lock().unwrap();
    let refused: Vec<_> = errors.iter().filter(|e| e.status == Some(200)).collect();
    assert_eq!(refused.len(), 1, "{errors:?}");
    assert_eq!((refused[0].succeeded, refused[0].failed), (9, 1));
    assert!(
        refused[0].errors[0].contains("mapper_parsing_exception"),
        "{errors:?}"
    );
    let unavailable: Vec<_> = errors.iter().filter(|e| e.status == Some(503)).collect();
    assert!(!unavailable.is_empty(), "{errors:?}");
    assert!(unavailable.iter().all(|e| e.succeeded == 0 && e.failed > 0));
    let sent: BTreeSet<u64> = stored_items(&server).into_iter().collect();
    assert_eq!(sent.len(), 39);
}

#[tokio::test]
async fn a_bad_record_is_refused_by_record_and_nothing_else_is_affected() {
    let dir = fresh_dir("writer-bad-records");
    let store = Store::builder().embedded(&dir).open().unwrap();
    store.record(page_view(1)).unwrap();
    let mut bad = page_view(2);
    bad.latency.p99_ms = f64::NAN;
    let error = store.record(bad.clone()).unwrap_err();
    assert!(
        matches!(&error, Error::InvalidRecord { record_type, field, .. } if record_type == "shop.pageview" && field == "latency.p99_ms"),
        "{error}"
    );
    assert!(error.to_string().contains("finite"), "{error}");
    assert!(store.save(&bad).await.is_err());
    let mut far = page_view(3);
    far.timestamp =
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 10_000, 1, 1, 0, 0, 0).unwrap();
    assert!(matches!(
        store.record(far),
        Err(Error::InvalidRecord { .. })
    ));
    store.record(page_view(4)).unwrap();
    let stats = store.close().await.unwrap();
    assert_eq!(
        (stats.queued, stats.sent, stats.failed),
        (2, 2, 0),
        "{stats:?}"
    );
}

#[test]
fn a_program_without_async_records_saves_flushes_searches_and_closes() {
    let dir = fresh_dir("writer-blocking");
    let store = Store::builder().embedded(&dir).open().unwrap();
    for item in 0..20 {
        store.record(page_view(item)).unwrap();
    }
    let id = store.save_blocking(&page_view(100)).unwrap();
    let stats = store.flush_blocking().unwrap();
    assert_eq!((stats.sent, stats.unsent), (20, 0), "{stats:?}");
    let found = PageView::search().size(100).fetch_blocking(&store).unwrap();
    assert_eq!(found.total, 21);
    assert!(found.hits.iter().any(|hit| hit.id == id));
    assert!(store.close_blocking().unwrap().is_complete());
}

#[tokio::test]
async fn the_blocking_forms_inside_a_runtime_say_to_await_instead() {
    let store = Store::builder()
        .embedded(fresh_dir("writer-blocking-async"))
        .open()
        .unwrap();
    let error = store.flush_blocking().unwrap_err();
    assert!(error.to_string().contains(".await"), "{error}");
    store.close().await.unwrap();
}
