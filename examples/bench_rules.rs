//! The cost of evaluating rules on the embedded store (see BENCHMARKS.md):
//! 100 rules over 1,000,000 page views of one day, evaluated as one rules
//! file (rules that share a type, window, filters and groups share a
//! search) against the same rules evaluated one by one (a search each),
//! and against one plain aggregation search over the day.
//!
//! `cargo run --release --example bench_rules -- [EVENTS] [RUNS]`
//! (defaults: 1,000,000 events, 7 runs).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use esrecord::config::Config;
use esrecord::operations::{self, JsonSearch};
use esrecord::rules::Rules;
use esrecord::{Record, Store, TimeRange};
use esrecord_examples::{Latency, Lcg, PageView};
use serde_json::json;

const PATHS: [&str; 5] = ["/", "/items", "/items/42", "/cart", "/checkout"];
const HOSTS: u64 = 8;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let events: u64 = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let runs: usize = args.next().map_or(Ok(7), |a| a.parse())?;
    let end = Utc
        .with_ymd_and_hms(2024, 3, 6, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("esrecord-bench-rules-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let store = Store::with_config(Config::embedded(&dir))?;

    let started = Instant::now();
    for view in generate(events, end) {
        store.record(view)?;
    }
    runtime.block_on(store.flush())?;
    println!(
        "{events} page views over the day before {end}, recorded in {:.1} s; {} cores\n",
        started.elapsed().as_secs_f64(),
        std::thread::available_parallelism()?.get()
    );

    let texts = rule_texts();
    let all = Rules::from_yaml(&format!("rules:\n{}", texts.concat()))?;
    let one_by_one: Vec<Rules> = texts
        .iter()
        .map(|text| Rules::from_yaml(&format!("rules:\n{text}")))
        .collect::<Result<_, _>>()?;
    let plain = plain_search(end)?;
    let operations = operations::of(PageView::record_type())?;

    let (mut together, mut separately, mut single) = (Vec::new(), Vec::new(), Vec::new());
    let (mut searches_together, mut searches_separately, mut violations) = (0, 0, 0);
    for run in 0..runs.max(1) {
        // Alternate which goes first: the first pays for a cold cache.
        let mut measure_together = || -> Result<(), esrecord::Error> {
            let started = Instant::now();
            let evaluation = runtime.block_on(all.evaluate_counted(&store, end))?;
            together.push(started.elapsed());
            searches_together = evaluation.searches;
            violations = evaluation.violations.len();
            Ok(())
        };
        let mut measure_separately = || -> Result<(), esrecord::Error> {
            let started = Instant::now();
            let mut searches = 0;
            for rules in &one_by_one {
                searches += runtime
                    .block_on(rules.evaluate_counted(&store, end))?
                    .searches;
            }
            separately.push(started.elapsed());
            searches_separately = searches;
            Ok(())
        };
        if run % 2 == 0 {
            measure_together()?;
            measure_separately()?;
        } else {
            measure_separately()?;
            measure_together()?;
        }
        let started = Instant::now();
        runtime.block_on(operations.search(&store, &plain))?;
        single.push(started.elapsed());
    }
    let (together, separately, single) = (median(together), median(separately), median(single));
    println!("| evaluation | searches | median of {runs} | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| 100 rules as one file (shared searches) | {searches_together} | {:.0} ms | **1.00** |",
        ms(together)
    );
    println!(
        "| the same rules one by one (baseline) | {searches_separately} | {:.0} ms | {:.2} |",
        ms(separately),
        ms(separately) / ms(together)
    );
    println!(
        "| one search: 24 hourly buckets, avg, over the day | 1 | {:.0} ms | {:.2} |",
        ms(single),
        ms(single) / ms(together)
    );
    println!("\n{violations} violations");
    store.close_blocking()?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// 100 rules: 15 of each of six window, filter and group combinations,
/// and 10 absence rules per host.
fn rule_texts() -> Vec<String> {
    let combos = [
        ("24h", "", ""),
        ("24h", "    group_by: path\n", ""),
        ("1h", "", "    baseline: 23\n"),
        ("1h", "    group_by: tags.host\n", "    delta: percent\n"),
        ("5m", "    group_by: path\n", "    for: 15m\n"),
        ("5m", "    where: {tags.platform: linux}\n", ""),
    ];
    let summaries = ["avg", "min", "max", "sum", "p50", "p90", "p99"];
    let mut texts = Vec::new();
    for (c, (window, scope, compare)) in combos.iter().enumerate() {
        for r in 0..15 {
            let (field, summary) = match r {
                14 => (String::new(), "count"),
                r if c == 1 && r == 13 => ("    field: latency.p99_ms\n".to_owned(), "last"),
                r => (
                    format!("    field: latency.{}\n", ["p50_ms", "p99_ms"][r % 2]),
                    summaries[r / 2],
                ),
            };
            let condition = if compare.contains("baseline") {
                "'> baseline + 3 sigma'".to_owned()
            } else {
                format!("'> {}'", 20 + 10 * r)
            };
            texts.push(format!(
                "  - name: rule {c}.{r}\n    type: shop.pageview\n{field}    summary: {summary}\n    window: {window}\n{scope}{compare}    when: {condition}\n"
            ));
        }
    }
    for r in 0..10 {
        texts.push(format!(
            "  - name: quiet {r}\n    type: shop.pageview\n    group_by: tags.host\n    absent_for: {}m\n",
            10 * (r + 1)
        ));
    }
    texts
}

/// One plain search: the day in 24 hourly buckets with the average p99.
fn plain_search(end: DateTime<Utc>) -> Result<JsonSearch, esrecord::Error> {
    Ok(JsonSearch {
        range: Some(TimeRange::new(end - chrono::Duration::days(1), end)?),
        filters: Vec::new(),
        limit: 0,
        aggregations: Some(json!({"hours": {
            "date_histogram": {"field": "timestamp", "fixed_interval": "1h"},
            "aggs": {"p99": {"avg": {"field": "latency.p99_ms"}}},
        }})),
    })
}

/// `events` page views spread evenly over the day before `end`.
fn generate(events: u64, end: DateTime<Utc>) -> impl Iterator<Item = PageView> {
    let start = end - chrono::Duration::days(1);
    let step = 86_400_000.0 / events.max(1) as f64;
    let mut random = Lcg(11);
    (0..events).map(move |i| {
        let p50 = 5.0 + (random.draw() % 200) as f64 / 10.0;
        PageView {
            timestamp: start + chrono::Duration::milliseconds((i as f64 * step) as i64),
            item_id: random.draw() % 50,
            path: PATHS[(random.draw() % 5) as usize].to_owned(),
            latency: Latency {
                p50_ms: p50,
                p99_ms: p50 * (2.0 + (random.draw() % 30) as f64 / 10.0),
            },
            tags: BTreeMap::from([
                ("host".into(), format!("web-{}", random.draw() % HOSTS)),
                (
                    "platform".into(),
                    ["linux", "macos"][(i % 2) as usize].into(),
                ),
            ]),
        }
    })
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
