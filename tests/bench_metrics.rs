//! The metrics reporter's interval (metrics issue, BENCHMARKS.md):
//!
//! 1. The cost of one interval's collection for 10,000 series: esrecord's
//!    `Reporter::collect` (every series turned into a `Metric` record)
//!    against `metrics-exporter-prometheus` rendering the same series as
//!    its text exposition, in the same run. Each round updates every series
//!    first (counters by one; histograms with 10 samples each), then times
//!    the collection; medians of the rounds.
//! 2. Memory per series: the bytes still allocated (counted by a global
//!    allocator) after 10,000 series were registered, updated and collected
//!    once, divided by 10,000, for both recorders.
//!
//! Run: `cargo run --release -p esrecord-tests --example bench_metrics -- [series] [rounds]`
//! (defaults 10000, 15).

use std::alloc::System;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use esrecord::metrics::Reporter;
use metrics::Recorder;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

/// Counts the bytes allocated and freed.
#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Counter,
    Histogram,
}

/// Updates `series` series of `kind` through `recorder`: `requests`
/// counters or `latency` histograms, one label set each.
fn update(recorder: &dyn Recorder, kind: Kind, series: usize) {
    metrics::with_local_recorder(recorder, || {
        for i in 0..series {
            let id = format!("{i}");
            match kind {
                Kind::Counter => metrics::counter!("requests", "id" => id).increment(1),
                Kind::Histogram => {
                    let histogram = metrics::histogram!("latency", "id" => id);
                    for sample in 0..10 {
                        histogram.record(f64::from(sample) / 100.0);
                    }
                }
            }
        }
    });
}

fn esrecord_reporter(store: &esrecord::Store) -> Result<Reporter, Failure> {
    Ok(Reporter::builder()
        .host_tag(false)
        .self_metrics(false)
        .build(store)?)
}

fn store() -> Result<esrecord::Store, Failure> {
    let dir = std::env::temp_dir().join(format!("esrecord-bench-metrics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(esrecord::Store::builder().embedded(&dir).open()?)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// Median collection times (esrecord, prometheus) over `rounds`.
fn collection(
    store: &esrecord::Store,
    kind: Kind,
    series: usize,
    rounds: usize,
) -> Result<(Duration, Duration), Failure> {
    let reporter = esrecord_reporter(store)?;
    let recorder = reporter.recorder();
    let prometheus = PrometheusBuilder::new().build_recorder();
    let handle = prometheus.handle();
    let start = Utc
        .with_ymd_and_hms(2024, 3, 5, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let interval_start = start + chrono::Duration::seconds(10 * round as i64);
        update(&recorder, kind, series);
        update(&prometheus, kind, series);
        let timer = Instant::now();
        let points = reporter.collect(interval_start);
        ours.push(timer.elapsed());
        let timer = Instant::now();
        let text = handle.render();
        theirs.push(timer.elapsed());
        if points.len() != series || text.is_empty() {
            return Err(format!("collected {} points of {series} series", points.len()).into());
        }
    }
    Ok((median(ours), median(theirs)))
}

/// Bytes allocated and not freed since `region` began.
fn kept(region: &Region<'_, System>) -> f64 {
    let change = region.change();
    change.bytes_allocated as f64 + change.bytes_reallocated as f64
        - change.bytes_deallocated as f64
}

/// Bytes per series still allocated after registering, updating and
/// collecting `series` series: (esrecord, prometheus).
fn memory(store: &esrecord::Store, kind: Kind, series: usize) -> Result<(f64, f64), Failure> {
    let start = Utc
        .with_ymd_and_hms(2024, 3, 5, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let region = Region::new(ALLOCATOR);
    let reporter = esrecord_reporter(store)?;
    update(&reporter.recorder(), kind, series);
    drop(reporter.collect(start));
    let ours = kept(&region) / series as f64;
    drop(reporter);

    let region = Region::new(ALLOCATOR);
    let prometheus: PrometheusRecorder = PrometheusBuilder::new().build_recorder();
    update(&prometheus, kind, series);
    drop(prometheus.handle().render());
    let theirs = kept(&region) / series as f64;
    drop(prometheus);
    Ok((ours, theirs))
}

fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let series: usize = args.next().map_or(Ok(10_000), |a| a.parse())?;
    let rounds: usize = args.next().map_or(Ok(15), |a| a.parse())?;
    let store = store()?;
    println!("{series} series, {rounds} rounds (medians)\n");
    println!(
        "| series of | esrecord collect | prometheus render | ratio | esrecord bytes/series | prometheus bytes/series |"
    );
    println!("|---|---|---|---|---|---|");
    for (label, kind) in [
        ("counters", Kind::Counter),
        ("histograms (10 samples each)", Kind::Histogram),
    ] {
        let (ours, theirs) = collection(&store, kind, series, rounds)?;
        let (our_bytes, their_bytes) = memory(&store, kind, series)?;
        println!(
            "| {label} | {:.2} ms | {:.2} ms | {:.2} | {our_bytes:.0} | {their_bytes:.0} |",
            ours.as_secs_f64() * 1e3,
            theirs.as_secs_f64() * 1e3,
            ours.as_secs_f64() / theirs.as_secs_f64(),
        );
    }
    Ok(())
}
