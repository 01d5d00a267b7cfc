//! The spool across a crash: a child process records with the spool on and
//! is killed with SIGKILL; a new store on the same spool sends what the
//! child had recorded, and every record whose `record` call returned is
//! stored exactly once. Once against a cluster (the fault server, in this
//! process, answering slowly so that records pile up in the queue and
//! beyond it, on disk), once on the embedded engine (whose writes are only
//! durable at a commit, which the child never reaches).
//!
//! The test binary runs itself as the child: the `child_*` entries are
//! ignored tests that the parent starts with `--ignored --exact`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use esrecord::config::Config;
use esrecord::{Record, Store};
use esrecord_tests::fault_server::{FaultPlan, FaultServer};
use esrecord_tests::{PageView, fresh_dir};

/// The child is killed once it has printed this many returned records.
const KILL_AFTER: u64 = 20_000;

fn view(item_id: u64) -> PageView {
    esrecord_tests::page_view(item_id % 1440, item_id)
}

/// The configuration parent and child share: a spool in `dir/spool`, a
/// queue of 500, and the embedded engine in `dir/data` or the cluster at
/// `url`.
fn config(dir: &Path, url: Option<&str>) -> Config {
    let mut config = match url {
        Some(url) => esrecord_tests::cluster_config(url),
        None => Config::embedded(dir.join("data")),
    };
    config.writer.spool_dir = Some(dir.join("spool"));
    config.writer.queue_capacity = 500;
    config.writer.batch_size = Some(200);
    config
}

/// Starts the child `test`, reads the ids it says `record` returned for,
/// kills it with SIGKILL after `KILL_AFTER` of them, and returns the last
/// one it printed.
fn record_in_a_child_and_kill_it(test: &str, dir: &Path, url: Option<&str>) -> u64 {
    let mut child = esrecord_tests::child_test(test)
        .unwrap()
        .env("ESRECORD_CHILD_DIR", dir)
        .env("ESRECORD_CHILD_URL", url.unwrap_or(""))
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = None;
    let mut killed = false;
    // After the kill, read what the child printed before it died.
    for line in lines {
        let line = line.unwrap();
        if let Some(id) = line
            .rsplit("RECORDED ")
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            && line.contains("RECORDED ")
        {
            last = Some(id);
            if !killed && id + 1 >= KILL_AFTER {
                child.kill().unwrap(); // SIGKILL
                killed = true;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the child did not record in time"
        );
    }
    child.wait().unwrap();
    assert!(killed, "the child ended before it was killed");
    last.expect("the child recorded nothing")
}

/// What a child does: record views 0, 1, 2... with the spool on, printing
/// each id once `record` returned, until killed (bounded in time).
fn child_records(url: Option<&str>) {
    let dir = PathBuf::from(std::env::var_os("ESRECORD_CHILD_DIR").unwrap());
    let store = Store::with_config(config(&dir, url)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut item = 0;
    while Instant::now() < deadline {
        store.record(view(item)).unwrap();
        println!("RECORDED {item}");
        item += 1;
    }
}

fn child_url() -> Option<String> {
    std::env::var("ESRECORD_CHILD_URL").ok()
}

#[test]
#[ignore = "run by records_survive_a_crash_on_a_cluster as the child process"]
fn child_recording_to_a_cluster() {
    if let Some(url) = child_url() {
        child_records(Some(&url));
    }
}

#[test]
#[ignore = "run by records_survive_a_crash_on_the_embedded_engine as the child process"]
fn child_recording_to_the_embedded_engine() {
    if child_url().is_some() {
        child_records(None);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn records_survive_a_crash_on_a_cluster() {
    // Slow answers: the child's queue fills and records wait on disk.
    let plan = FaultPlan {
        delayed: 1.0,
        delay_ms: 20..=80,
        ..FaultPlan::default()
    };
    let server = FaultServer::start(plan).await.unwrap();
    let dir = fresh_dir("spool-crash-cluster");
    let url = server.url();
    let last = tokio::task::spawn_blocking({
        let (dir, url) = (dir.clone(), url.clone());
        move || record_in_a_child_and_kill_it("child_recording_to_a_cluster", &dir, Some(&url))
    })
    .await
    .unwrap();
    let before = server.document_count();
    assert!(
        (before as u64) < last,
        "the child had written everything ({before}); the test needs records left in its spool"
    );

    server.set_plan(FaultPlan::default()).unwrap();
    let store = Store::with_config(config(&dir, Some(&url))).unwrap();
    let stats = store.close().await.unwrap();
    assert!(stats.is_complete(), "{stats:?}");
    assert_eq!(stats.spooled, 0, "{stats:?}");
    let mut items: Vec<u64> = server
        .documents()
        .values()
        .map(|doc| {
            assert_eq!(doc.writes, 1, "a record written twice: {doc:?}");
            doc.json().unwrap()["item_id"].as_u64().unwrap()
        })
        .collect();
    items.sort_unstable();
    // Every record whose `record` returned, once each; perhaps the one
    // being recorded when the child died.
    let returned: Vec<u64> = (0..=last).collect();
    assert_eq!(&items[..returned.len().min(items.len())], &returned[..]);
    assert!(
        items.len() == returned.len() || items[returned.len()..] == [last + 1],
        "{} records stored past {last}",
        items.len() - returned.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn records_survive_a_crash_on_the_embedded_engine() {
    let dir = fresh_dir("spool-crash-embedded");
    let last = tokio::task::spawn_blocking({
        let dir = dir.clone();
        // Any URL marks the child as wanted; the embedded child ignores it.
        move || {
            record_in_a_child_and_kill_it(
                "child_recording_to_the_embedded_engine",
                &dir,
                Some("embedded"),
            )
        }
    })
    .await
    .unwrap();

    let store = Store::with_config(config(&dir, None)).unwrap();
    let stats = store.flush().await.unwrap();
    assert!(stats.is_complete(), "{stats:?}");
    let count = |query: serde_json::Value| {
        let store = store.clone();
        async move {
            PageView::search()
                .query_json(query)
                .size(0)
                .fetch(&store)
                .await
                .unwrap()
                .total
        }
    };
    // Ids are in the spool, so a record is never stored under two: the
    // count of those whose `record` returned is exact.
    let returned = count(serde_json::json!({"range": {"item_id": {"lte": last}}})).await;
    assert_eq!(returned, last + 1);
    let all = count(serde_json::json!({"match_all": {}})).await;
    assert!(all <= last + 2, "{all} stored, {} returned", last + 1);
    let _ = PageView::record_type();
    let closed = store.close().await.unwrap();
    assert_eq!(closed.spooled, 0, "{closed:?}");
}
