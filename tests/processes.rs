//! Several processes on one data directory: a writer killed with SIGKILL
//! loses nothing it flushed; a second writer is refused, naming the holder;
//! a reader in another process sees what the writer flushed.
//!
//! The test binary runs itself as the other process: the `child_*` entries
//! are ignored tests that the parent starts with `--ignored --exact`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use esrecord::config::{BackendKind, Config};
use esrecord::{Record, Store};
use esrecord_tests::{PageView, fresh_dir};

const FLUSHED: u64 = 2_000;
/// Records written after the flush carry item ids from here on.
const UNFLUSHED_FROM: u64 = 1_000_000;

fn view(item_id: u64) -> PageView {
    // All on 2024-03-01: one partition.
    esrecord_tests::page_view(item_id % 1440, item_id)
}

fn start_child(test: &str, dir: &Path) -> Child {
    esrecord_tests::child_test(test)
        .unwrap()
        .env("ESRECORD_CHILD_DIR", dir)
        .spawn()
        .unwrap()
}

/// What the child printed from `marker` to the end of that line, within 60
/// seconds (libtest may print its own `test name ... ` before it).
fn wait_for_line(child: &mut Child, marker: &str) -> String {
    let stdout = child.stdout.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next() {
        let line = line.unwrap();
        if let Some(at) = line.find(marker) {
            // Keep reading what the child prints after, so it never writes
            // into a closed pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return line[at..].to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no {marker} line from the child in time"
        );
    }
    panic!("the child ended without printing {marker}");
}

fn child_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("ESRECORD_CHILD_DIR").map(Into::into)
}

#[tokio::test]
async fn a_killed_writer_keeps_everything_it_flushed() {
    let dir = fresh_dir("crash");
    let mut child = start_child("child_writer", &dir);
    let line = wait_for_line(&mut child, "FLUSHED");
    assert_eq!(line, format!("FLUSHED {FLUSHED}"));
    // Let it write (and refresh) more before the kill.
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let store = Store::builder().embedded(&dir).open().unwrap();
    let flushed = PageView::search()
        .query_json(serde_json::json!({"range": {"item_id": {"lt": UNFLUSHED_FROM}}}))
        .size(0)
        .fetch(&store)
        .await
        .unwrap();
    assert_eq!(flushed.total, FLUSHED);
    // The store works after the crash: it takes new records.
    store.record(view(7)).unwrap();
    assert_eq!(store.flush().await.unwrap().failed, 0);
}

#[tokio::test]
#[ignore = "run by a_killed_writer_keeps_everything_it_flushed as the child process"]
async fn child_writer() {
    let Some(dir) = child_dir() else { return };
    let store = Store::builder()
        .embedded(&dir)
        .configure(|c| c.writer.refresh_interval = Duration::from_millis(20))
        .open()
        .unwrap();
    for i in 0..FLUSHED {
        store.record(view(i)).unwrap();
    }
    let report = store.flush().await.unwrap();
    println!("FLUSHED {}", report.sent);
    // Keep writing until killed (bounded, should the parent not kill us).
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut i = UNFLUSHED_FROM;
    while Instant::now() < deadline {
        store.record(view(i)).unwrap();
        i += 1;
        if i.is_multiple_of(1_000) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

#[tokio::test]
async fn a_second_writer_is_refused_and_a_reader_sees_flushed_data() {
    let dir = fresh_dir("two-processes");
    let store = Store::builder().embedded(&dir).open().unwrap();
    for i in 0..500 {
        store.record(view(i)).unwrap();
    }
    store.flush().await.unwrap();

    let mut writer = start_child("child_second_writer", &dir);
    let line = wait_for_line(&mut writer, "REFUSED");
    assert!(
        line.contains(&format!("process {}", std::process::id())),
        "{line}"
    );
    assert!(line.contains("only one process may write"), "{line}");
    writer.wait().unwrap();

    let mut reader = start_child("child_reader", &dir);
    assert_eq!(wait_for_line(&mut reader, "COUNT"), "COUNT 500");
    reader.wait().unwrap();
}

#[tokio::test]
#[ignore = "run by a_second_writer_is_refused_and_a_reader_sees_flushed_data as the child process"]
async fn child_second_writer() {
    let Some(dir) = child_dir() else { return };
    match Store::builder().embedded(&dir).open() {
        Ok(_) => println!("OPENED (expected a refusal)"),
        Err(error) => println!("REFUSED {error}"),
    }
}

#[tokio::test]
#[ignore = "run by a_second_writer_is_refused_and_a_reader_sees_flushed_data as the child process"]
async fn child_reader() {
    let Some(dir) = child_dir() else { return };
    let mut config = Config::embedded(&dir);
    if let Some(backend) = config.backends.get_mut("default") {
        backend.kind = BackendKind::Embedded {
            path: dir.clone(),
            read_only: true,
        };
    }
    let store = Store::with_config(config).unwrap();
    let found = PageView::search().size(0).fetch(&store).await.unwrap();
    println!("COUNT {}", found.total);
    let _ = PageView::record_type();
}
