//! The README's main job: the record types linked into this program, their
//! names, partitions and index templates.
//!
//! Run it with `cargo run --example quickstart`.

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeZone, Utc};
use esrecord::{Record, registry};
use esrecord_examples::{DailySales, Latency, PageView};

fn main() -> Result<(), esrecord::Error> {
    println!("Record types linked into this program:\n");
    println!(
        "{:<18} {:<34} {:<18} {:<9} {:<9}",
        "template", "rust type", "pattern", "timedepth", "retention"
    );
    for t in registry::types() {
        let retention = t.retention().map_or("-".to_owned(), |r| r.to_string());
        println!(
            "{:<18} {:<34} {:<18} {:<9} {:<9}",
            t.template_name(),
            t.rust_path(),
            t.pattern(),
            t.timedepth().to_string(),
            retention
        );
    }
    registry::check_collisions(registry::types())?;
    for t in registry::types() {
        t.validate()?;
    }

    let view = PageView {
        timestamp: Utc
            .with_ymd_and_hms(2024, 3, 5, 23, 30, 0)
            .single()
            .unwrap_or_default(),
        item_id: 42,
        path: "/items/42".into(),
        latency: Latency {
            p50_ms: 12.5,
            p99_ms: 80.0,
        },
        tags: BTreeMap::from([("platform".into(), "linux".into())]),
    };
    println!(
        "\nA page view at {} goes to index {}",
        view.timestamp,
        PageView::record_type().index_of(&view)
    );
    println!(
        "  and with the prefix \"prod-\" to {}",
        PageView::record_type().with_prefix("prod-").index_of(&view)
    );

    println!("\nA search from 2024-01-01 until 2024-04-02 reads these patterns:");
    for pattern in PageView::record_type().patterns_for_range((2024, 1), (2024, 4, 2))? {
        println!("  {pattern}");
    }

    let sales = DailySales {
        timestamp: Utc::now(),
        day: NaiveDate::from_ymd_opt(2024, 3, 5).unwrap_or_default(),
        item_id: 42,
        units: 3,
        revenue_cents: 5_997,
    };
    let id = sales.unique_id()?.unwrap_or_default();
    println!(
        "\nDailySales for item 42 on 2024-03-05 always has the id {id}, so recording it again replaces it."
    );
    println!(
        "Typed handles name the stored paths: PageView::fields().latency.p99_ms is {:?}",
        PageView::fields().latency.p99_ms
    );
    println!(
        "Numeric leaves of the page view: {:?}",
        view.numeric_leaves()?
    );

    for t in registry::types() {
        println!("\nPUT _index_template/{}", t.template_name());
        println!(
            "{}",
            serde_json::to_string_pretty(&t.template_body()).unwrap_or_default()
        );
    }
    Ok(())
}
