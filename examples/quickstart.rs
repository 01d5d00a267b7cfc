//! The README's main job: records 100,000 page views spread over 30 days
//! into an embedded store, then searches them by time range and aggregates.
//!
//! Run it with `cargo run --example quickstart`. It writes to a fresh data
//! directory (`ESRECORD_DATA`, default: `esrecord-quickstart` in the
//! system's temporary directory), so every run prints the same figures.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use esrecord::{Record, Store, registry};
use esrecord_examples::{DailySales, Latency, Lcg, PageView, fresh_data_dir};
use serde_json::json;

const EVENTS: u64 = 100_000;
const PATHS: [&str; 5] = ["/", "/items", "/items/42", "/cart", "/checkout"];

#[tokio::main]
async fn main() -> Result<(), esrecord::Error> {
    let data = fresh_data_dir("esrecord-quickstart")?;
    println!("Embedded store in {}\n", data.display());
    let store = Store::builder().embedded(&data).open()?;

    println!("Record types:");
    for t in registry::types() {
        println!(
            "  {:<16} {:<32} timedepth {}",
            t.template_name(),
            t.rust_path(),
            t.timedepth()
        );
    }
    print!("{}", store.setup().await?);

    let started = Instant::now();
    let start = Utc
        .with_ymd_and_hms(2024, 3, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let mut random = Lcg(7);
    for i in 0..EVENTS {
        let offset = Duration::seconds((i * 30 * 86_400 / EVENTS) as i64);
        let p50 = 5.0 + (random.draw() % 200) as f64 / 10.0;
        store.record(PageView {
            timestamp: start + offset,
            item_id: random.draw() % 50,
            path: PATHS[(random.draw() % 5) as usize].to_owned(),
            latency: Latency {
                p50_ms: p50,
                p99_ms: p50 * 4.0,
            },
            tags: BTreeMap::from([(
                "platform".into(),
                ["linux", "macos", "windows"][(i % 3) as usize].into(),
            )]),
        })?;
    }
    for day in 1..=30 {
        for item_id in 1..=3 {
            let day = NaiveDate::from_ymd_opt(2024, 3, day).unwrap_or_default();
            // Recorded twice: the second replaces the first (unique_together).
            for units in [1, item_id as u32 * 10] {
                store.record(DailySales {
                    timestamp: start,
                    day,
                    item_id,
                    units,
                    revenue_cents: u64::from(units) * 1_999,
                })?;
            }
        }
    }
    let report = store.flush().await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "\nRecorded and flushed {} records in {seconds:.2} s ({:.0} records/s); {} rejected",
        report.sent,
        report.sent as f64 / seconds,
        report.failed
    );

    let march = PageView::search()
        .range((2024, 3), (2024, 4))
        .size(0)
        .fetch(&store)
        .await?;
    println!("\nPage views in March 2024: {}", march.total);
    let week = PageView::search()
        .range((2024, 3, 4), (2024, 3, 11))
        .size(0)
        .fetch(&store)
        .await?;
    println!(
        "Page views from 2024-03-04 until 2024-03-11: {}",
        week.total
    );

    println!("\nThe 5 newest page views before 2024-03-15:");
    let newest = PageView::search()
        .range((2024, 3, 1), (2024, 3, 15))
        .newest_first()
        .size(5)
        .fetch(&store)
        .await?;
    for hit in &newest.hits {
        let view = &hit.record;
        println!(
            "  {}  {:<10} item {:>2}  p99 {:>5.1} ms  in {}",
            view.timestamp, view.path, view.item_id, view.latency.p99_ms, hit.index
        );
    }

    println!("\nDaily page views and mean p99 latency, first week of March:");
    let daily = PageView::search()
        .range((2024, 3, 1), (2024, 3, 8))
        .size(0)
        .aggregations_json(json!({
            "per_day": {
                "date_histogram": {"field": "timestamp", "fixed_interval": "1d"},
                "aggs": {"p99": {"avg": {"field": "latency.p99_ms"}}}
            },
            "top_paths": {"terms": {"field": "path", "size": 3}}
        }))
        .fetch(&store)
        .await?;
    let aggregations = daily.aggregations.unwrap_or_default();
    for bucket in aggregations["per_day"]["buckets"]
        .as_array()
        .into_iter()
        .flatten()
    {
        println!(
            "  {}  {:>5} views  p99 {:>5.1} ms",
            bucket["key_as_string"].as_str().unwrap_or("?"),
            bucket["doc_count"],
            bucket["p99"]["value"].as_f64().unwrap_or(f64::NAN)
        );
    }
    println!("Top paths that week:");
    for bucket in aggregations["top_paths"]["buckets"]
        .as_array()
        .into_iter()
        .flatten()
    {
        println!(
            "  {:<10} {:>5}",
            bucket["key"].as_str().unwrap_or("?"),
            bucket["doc_count"]
        );
    }

    let sales = DailySales::search()
        .range((2024, 3), (2024, 4))
        .size(0)
        .fetch(&store)
        .await?;
    println!(
        "\nDaily sales documents: {} (180 recorded, each day and item twice; the second replaced the first)",
        sales.total
    );

    print!("\nTemplates after the run:\n{}", store.check().await?);
    store.close().await?;
    Ok(())
}
