//! Ingest and query figures of the embedded store, each against plain
//! tantivy doing the same work in the same run (see BENCHMARKS.md).
//!
//! `cargo run --release --example bench_embedded -- [EVENTS] [QUERY_RUNS] [ROUNDS]`
//! (defaults: 1,000,000 events over 30 daily partitions, 30 query runs,
//! 3 ingest rounds).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use esrecord::{Record, Store};
use esrecord_examples::{Latency, PageView};
use serde_json::json;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults;
use tantivy::aggregation::{
    AggContextParams, AggregationLimitsGuard, DistributedAggregationCollector,
};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, INDEXED, IndexRecordOption, JsonObjectOptions,
    NumericOptions, STORED, STRING, Schema, TextFieldIndexing,
};
use tantivy::{Index, TantivyDocument, Term};

const PATHS: [&str; 5] = ["/", "/items", "/items/42", "/cart", "/checkout"];
const DAYS: u64 = 30;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let events: u64 = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let query_runs: usize = args.next().map_or(Ok(30), |a| a.parse())?;
    let rounds: usize = args.next().map_or(Ok(3), |a| a.parse())?;
    let root = std::env::temp_dir().join(format!("esrecord-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let views = generate(events);
    println!(
        "{events} events over {DAYS} daily partitions, {} cores, {rounds} rounds\n",
        std::thread::available_parallelism()?.get()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Rounds run esrecord and plain tantivy one after the other, each
    // starting first in every other round: what one leaves behind (dirty
    // pages being written back, a fragmented heap) slows whichever runs
    // next, and a slow spell of the shared machine falls on both. Each
    // run writes a fresh directory.
    let mut ours = Vec::new();
    let mut last = None;
    for round in 0..rounds.max(1) {
        let ours_dir = root.join(format!("esrecord-{round}"));
        let raw_dir = root.join(format!("tantivy-{round}"));
        let run_ours = || -> Result<OursRun, Box<dyn std::error::Error>> {
            // esrecord takes records by value, as an application hands
            // them over; give it its own copy, made before the clock starts.
            let owned = views.clone();
            settle();
            let input_kib = resident_memory_kib("VmRSS:");
            reset_peak_memory();
            let cpu = cpu_seconds();
            let (elapsed, store) = runtime.block_on(ingest_esrecord(&ours_dir, owned))?;
            let cpu = cpu_seconds() - cpu;
            let peak_kib = resident_memory_kib("VmHWM:");
            // Closed, so that none of its background work overlaps the baseline.
            runtime.block_on(store.close())?;
            let memory_mib = peak_kib.saturating_sub(input_kib) as f64 / 1024.0;
            Ok((elapsed, cpu, memory_mib))
        };
        let run_raw = || -> Result<RawRun, Box<dyn std::error::Error>> {
            settle();
            let cpu = cpu_seconds();
            let (elapsed, indexes) = ingest_tantivy(&raw_dir, &views)?;
            Ok((elapsed, cpu_seconds() - cpu, indexes))
        };
        let ((elapsed, ours_cpu, memory_mib), (raw_elapsed, raw_cpu, raw_indexes)) =
            if round % 2 == 0 {
                let ours = run_ours()?;
                (ours, run_raw()?)
            } else {
                let raw = run_raw()?;
                (run_ours()?, raw)
            };
        let round = Round {
            ours_rate: events as f64 / elapsed.as_secs_f64(),
            raw_rate: events as f64 / raw_elapsed.as_secs_f64(),
            ours_cpu,
            raw_cpu,
            ours_bytes: directory_bytes(&ours_dir.join("indices")),
            raw_bytes: directory_bytes(&raw_dir),
            memory_mib,
        };
        println!(
            "round {}: esrecord {:.0} docs/s ({:.1} cpu-s), plain tantivy {:.0} docs/s ({:.1} cpu-s), ratio {:.2}",
            ours.len() + 1,
            round.ours_rate,
            round.ours_cpu,
            round.raw_rate,
            round.raw_cpu,
            round.ours_rate / round.raw_rate
        );
        ours.push(round);
        last = Some((ours_dir, raw_indexes));
    }
    let Some((ours_dir, raw_indexes)) = last else {
        return Ok(());
    };
    let store = Store::builder().embedded(&ours_dir).open()?;
    let ours_query = runtime.block_on(query_esrecord(&store, query_runs))?;
    let raw_query = query_tantivy(&raw_indexes, query_runs)?;
    let ours_monthly = runtime.block_on(monthly_esrecord(&store, query_runs))?;
    let raw_monthly = monthly_tantivy(&raw_indexes, query_runs)?;

    let median_of = |value: fn(&Round) -> f64| median_f64(ours.iter().map(value).collect());
    println!(
        "\n| measure (median of {} rounds) | esrecord | plain tantivy | ratio |",
        ours.len()
    );
    println!("|---|---|---|---|");
    println!(
        "| ingest, docs/s (record + flush) | {:.0} | {:.0} | {:.2} |",
        median_of(|r| r.ours_rate),
        median_of(|r| r.raw_rate),
        median_of(|r| r.ours_rate / r.raw_rate)
    );
    println!(
        "| ingest, core-seconds | {:.1} | {:.1} | {:.2} |",
        median_of(|r| r.ours_cpu),
        median_of(|r| r.raw_cpu),
        median_of(|r| r.ours_cpu / r.raw_cpu)
    );
    println!(
        "| 7-day range + term + hourly date_histogram/avg, median of {query_runs} | {:.2} ms | {:.2} ms | {:.2} |",
        ms(ours_query),
        ms(raw_query),
        ours_query.as_secs_f64() / raw_query.as_secs_f64()
    );
    println!(
        "| 30 days, hourly date_histogram with avg and terms (typed API), median of {query_runs} | {:.2} ms | {:.2} ms | {:.2} |",
        ms(ours_monthly),
        ms(raw_monthly),
        ours_monthly.as_secs_f64() / raw_monthly.as_secs_f64()
    );
    println!(
        "| disk bytes per event | {:.1} | {:.1} | {:.2} |",
        median_of(|r| r.ours_bytes as f64) / events as f64,
        median_of(|r| r.raw_bytes as f64) / events as f64,
        median_of(|r| r.ours_bytes as f64 / r.raw_bytes as f64)
    );
    println!(
        "| peak memory during esrecord's ingest, above the input events | {:.0} MiB | | |",
        median_of(|r| r.memory_mib)
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&root);
    Ok(())
}

type OursRun = (Duration, f64, f64);
type RawRun = (Duration, f64, BTreeMap<String, Index>);

/// Lets the writes of the previous run reach the disk before the next
/// starts.
fn settle() {
    let _ = std::process::Command::new("sync").status();
    std::thread::sleep(Duration::from_secs(1));
}

/// One round's ingest figures.
struct Round {
    ours_rate: f64,
    raw_rate: f64,
    ours_cpu: f64,
    raw_cpu: f64,
    ours_bytes: u64,
    raw_bytes: u64,
    memory_mib: f64,
}

fn median_f64(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn generate(events: u64) -> Vec<PageView> {
    let start = Utc
        .with_ymd_and_hms(2024, 3, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let mut state = 7u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    (0..events)
        .map(|i| {
            // Spread over the days, interleaved as a backfill would be.
            let second = (next() % (DAYS * 86_400)) as i64;
            let p50 = 5.0 + (next() % 200) as f64 / 10.0;
            PageView {
                timestamp: start + chrono::Duration::seconds(second),
                item_id: next() % 50,
                path: PATHS[(next() % 5) as usize].to_owned(),
                latency: Latency {
                    p50_ms: p50,
                    p99_ms: p50 * 4.0,
                },
                tags: BTreeMap::from([(
                    "platform".into(),
                    ["linux", "macos", "windows"][(i % 3) as usize].into(),
                )]),
            }
        })
        .collect()
}

async fn ingest_esrecord(dir: &Path, views: Vec<PageView>) -> esrecord::Result<(Duration, Store)> {
    // The default configuration, as an application gets it.
    let store = Store::builder().embedded(dir).open()?;
    store.setup_types(&[PageView::record_type()]).await?;
    let count = views.len() as u64;
    let started = Instant::now();
    for view in views {
        store.record(view)?;
    }
    let recorded = started.elapsed();
    let report = store.flush().await?;
    eprintln!(
        "record() calls took {recorded:?}, then flush {:?}",
        started.elapsed() - recorded
    );
    let elapsed = started.elapsed();
    if report.failed > 0 || report.sent != count {
        return Err(esrecord::Error::Engine(format!(
            "ingest lost records: {report:?}"
        )));
    }
    Ok((elapsed, store))
}

/// The schema the embedded store derives from PageView's template, by hand.
fn raw_schema() -> Schema {
    let mut builder = Schema::builder();
    builder.add_text_field("_id", STRING | STORED | FAST);
    builder.add_bytes_field("_source", STORED);
    builder.add_date_field(
        "timestamp",
        DateOptions::from(FAST).set_precision(DateTimePrecision::Milliseconds),
    );
    builder.add_u64_field("item_id", NumericOptions::default() | INDEXED | FAST);
    builder.add_text_field("path", STRING | FAST);
    builder.add_f64_field("latency.p50_ms", NumericOptions::default() | FAST);
    builder.add_f64_field("latency.p99_ms", NumericOptions::default() | FAST);
    let indexing = TextFieldIndexing::default()
        .set_tokenizer("raw")
        .set_index_option(IndexRecordOption::Basic);
    builder.add_json_field(
        "tags",
        JsonObjectOptions::default()
            .set_indexing_options(indexing)
            .set_fast("raw"),
    );
    builder.build()
}

/// Plain tantivy: one index per day, documents built straight from the
/// structs (with the same stored source), one commit per index at the end.
fn ingest_tantivy(
    dir: &Path,
    views: &[PageView],
) -> tantivy::Result<(Duration, BTreeMap<String, Index>)> {
    let schema = raw_schema();
    let field = |name: &str| schema.get_field(name);
    let (id, source, timestamp, item_id, path, p50, p99, tags) = (
        field("_id")?,
        field("_source")?,
        field("timestamp")?,
        field("item_id")?,
        field("path")?,
        field("latency.p50_ms")?,
        field("latency.p99_ms")?,
        field("tags")?,
    );
    let started = Instant::now();
    let mut indexes = BTreeMap::new();
    let mut writers = BTreeMap::new();
    for view in views {
        let day = view.timestamp.format("%Y.%m.%d").to_string();
        if !writers.contains_key(&day) {
            let path = dir.join(&day);
            std::fs::create_dir_all(&path)?;
            let index = Index::create_in_dir(&path, schema.clone())?;
            writers.insert(day.clone(), index.writer_with_num_threads(1, 15_000_000)?);
            indexes.insert(day.clone(), index);
        }
        let mut doc = TantivyDocument::new();
        doc.add_text(id, uuid::Uuid::now_v7().to_string());
        doc.add_bytes(source, &serde_json::to_vec(view).unwrap_or_default());
        doc.add_date(
            timestamp,
            tantivy::DateTime::from_timestamp_millis(view.timestamp.timestamp_millis()),
        );
        doc.add_u64(item_id, view.item_id);
        doc.add_text(path, &view.path);
        doc.add_f64(p50, view.latency.p50_ms);
        doc.add_f64(p99, view.latency.p99_ms);
        let tag_values: BTreeMap<String, tantivy::schema::OwnedValue> = view
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), tantivy::schema::OwnedValue::Str(v.clone())))
            .collect();
        doc.add_object(tags, tag_values);
        if let Some(writer) = writers.get(&day) {
            writer.add_document(doc)?;
        }
    }
    for writer in writers.values_mut() {
        writer.commit()?;
    }
    Ok((started.elapsed(), indexes))
}

fn week() -> (DateTime<Utc>, DateTime<Utc>) {
    let from = Utc
        .with_ymd_and_hms(2024, 3, 8, 0, 0, 0)
        .single()
        .unwrap_or_default();
    (from, from + chrono::Duration::days(7))
}

fn aggregation_request() -> serde_json::Value {
    json!({
        "per_hour": {
            "date_histogram": {"field": "timestamp", "fixed_interval": "1h"},
            "aggs": {"p99": {"avg": {"field": "latency.p99_ms"}}}
        }
    })
}

async fn query_esrecord(store: &Store, runs: usize) -> esrecord::Result<Duration> {
    let (from, until) = week();
    let search = PageView::search()
        .range(from, until)
        .query_json(json!({"term": {"path": "/cart"}}))
        .size(0)
        .aggregations_json(aggregation_request());
    let mut times = Vec::with_capacity(runs);
    let mut buckets = 0;
    for _ in 0..runs.max(1) + 3 {
        let started = Instant::now();
        let results = search.fetch(store).await?;
        times.push(started.elapsed());
        buckets = results
            .aggregations
            .as_ref()
            .and_then(|a| a["per_hour"]["buckets"].as_array().map(Vec::len))
            .unwrap_or(0);
    }
    if buckets != 7 * 24 {
        return Err(esrecord::Error::Engine(format!(
            "expected 168 hourly buckets, got {buckets}"
        )));
    }
    Ok(median(times.split_off(3)))
}

fn query_tantivy(
    indexes: &BTreeMap<String, Index>,
    runs: usize,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let (from, until) = week();
    aggregate_tantivy(
        indexes,
        (from, until),
        Some("/cart"),
        aggregation_request(),
        runs,
    )
}

/// The 30 days of the data.
fn month() -> (DateTime<Utc>, DateTime<Utc>) {
    let from = Utc
        .with_ymd_and_hms(2024, 3, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    (from, from + chrono::Duration::days(DAYS as i64))
}

fn monthly_request() -> serde_json::Value {
    json!({
        "per_hour": {
            "date_histogram": {"field": "timestamp", "fixed_interval": "1h"},
            "aggs": {
                "p99": {"avg": {"field": "latency.p99_ms"}},
                "paths": {"terms": {"field": "path", "size": 10}}
            }
        }
    })
}

/// The search issue's figure: a 30-day hourly date_histogram with an avg
/// and a terms sub-aggregation, through the typed API.
async fn monthly_esrecord(store: &Store, runs: usize) -> esrecord::Result<Duration> {
    use esrecord::search::aggs::{self, Interval};
    let (from, until) = month();
    let f = PageView::fields();
    let p99 = aggs::avg(&f.latency.p99_ms);
    let paths = aggs::terms(&f.path, 10);
    let per_hour = aggs::date_histogram(&f.timestamp, Interval::fixed("1h"))
        .with(&p99)
        .with(&paths);
    let search = PageView::search()
        .range(from, until)
        .size(0)
        .aggregate(&per_hour);
    let mut times = Vec::with_capacity(runs);
    let mut hours = 0;
    for _ in 0..runs.max(1) + 3 {
        let started = Instant::now();
        let results = search.fetch(store).await?;
        let buckets = results.read(&per_hour)?;
        for bucket in &buckets {
            std::hint::black_box((bucket.read(&p99)?, bucket.read(&paths)?));
        }
        times.push(started.elapsed());
        hours = buckets.len();
    }
    if hours != DAYS as usize * 24 {
        return Err(esrecord::Error::Engine(format!(
            "expected {} hourly buckets, got {hours}",
            DAYS * 24
        )));
    }
    Ok(median(times.split_off(3)))
}

fn monthly_tantivy(
    indexes: &BTreeMap<String, Index>,
    runs: usize,
) -> Result<Duration, Box<dyn std::error::Error>> {
    aggregate_tantivy(indexes, month(), None, monthly_request(), runs)
}

/// The median time of `request` run directly on tantivy over the indexes
/// of the days in `range`, filtered to the range (and to `path`), with the
/// partitions' results merged.
fn aggregate_tantivy(
    indexes: &BTreeMap<String, Index>,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
    path: Option<&str>,
    request: serde_json::Value,
    runs: usize,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let aggs: Aggregations = serde_json::from_value(request)?;
    let readers = indexes
        .iter()
        .filter(|(day, _)| {
            let day = day.replace('.', "-");
            day.as_str() >= from.format("%Y-%m-%d").to_string().as_str()
                && day.as_str() < until.format("%Y-%m-%d").to_string().as_str()
        })
        .map(|(_, index)| index.reader())
        .collect::<tantivy::Result<Vec<_>>>()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) + 3 {
        let started = Instant::now();
        let mut merged: Option<IntermediateAggregationResults> = None;
        for reader in &readers {
            let searcher = reader.searcher();
            let schema = searcher.schema();
            let timestamp = schema.get_field("timestamp")?;
            let range: Box<dyn Query> = Box::new(RangeQuery::new(
                std::ops::Bound::Included(Term::from_field_date_for_search(
                    timestamp,
                    tantivy::DateTime::from_timestamp_millis(from.timestamp_millis()),
                )),
                std::ops::Bound::Excluded(Term::from_field_date_for_search(
                    timestamp,
                    tantivy::DateTime::from_timestamp_millis(until.timestamp_millis()),
                )),
            ));
            let mut clauses = vec![(Occur::Must, range)];
            if let Some(path) = path {
                let field = schema.get_field("path")?;
                let term: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(field, path),
                    IndexRecordOption::Basic,
                ));
                clauses.push((Occur::Must, term));
            }
            let query = BooleanQuery::new(clauses);
            let collector = DistributedAggregationCollector::from_aggs(
                aggs.clone(),
                AggContextParams::new(
                    AggregationLimitsGuard::default(),
                    searcher.index().tokenizers().clone(),
                ),
            );
            let partial = searcher.search(&query, &collector)?;
            match &mut merged {
                Some(total) => total.merge_fruits(partial)?,
                None => merged = Some(partial),
            }
        }
        let result = merged.map(|m| m.into_final_result(aggs.clone(), Default::default()));
        times.push(started.elapsed());
        drop(result);
    }
    Ok(median(times.split_off(3)))
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn directory_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => directory_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// A memory figure of this process from /proc, in KiB (0 where unavailable):
/// `VmRSS:` now, `VmHWM:` the peak so far.
fn resident_memory_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

/// User plus system CPU time of this process so far, in seconds (0 where
/// /proc is unavailable).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name: utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |at: usize| {
        fields
            .get(at)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// Starts a new peak for `VmHWM:` (Linux: writing 5 to clear_refs).
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
