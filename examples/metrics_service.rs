//! A small service reporting through the `metrics` macros: a checkout
//! handler counts its requests, times them and keeps a queue gauge, and
//! esrecord's reporter stores every interval as `esrecord.metric` records
//! in an embedded store, where the `records` binary lists and plots them.
//!
//! Run it with `cargo run --example metrics_service` (about 6 seconds),
//! then look at what it reported with the commands it prints at the end.
//! It writes to a fresh data directory (`ESRECORD_DATA`, default:
//! `esrecord-metrics-service` in the system's temporary directory).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use esrecord::Store;
use esrecord::metrics::{self, MetricValue, Reporter};
use esrecord_examples::{Lcg, fresh_data_dir};

/// How long the service runs.
const RUN_FOR: Duration = Duration::from_secs(6);
/// How often the reporter stores an interval (10 s unless told otherwise).
const INTERVAL: Duration = Duration::from_secs(1);
const PATHS: [&str; 3] = ["/cart", "/checkout", "/items"];

#[tokio::main]
async fn main() -> Result<(), esrecord::Error> {
    let data = fresh_data_dir("esrecord-metrics-service")?;
    let store = Store::builder().embedded(&data).open()?;
    store.setup().await?;

    let reporter = Reporter::builder()
        .interval(INTERVAL)
        .tag("service", "checkout")
        .meters(true)
        .process_metrics(cfg!(target_os = "linux"))
        .install(&store)?;
    let pending = Arc::new(AtomicU64::new(0));
    let queue = Arc::clone(&pending);
    reporter.gauge_fn("jobs.pending", move || queue.load(Ordering::Relaxed) as f64);
    ::metrics::describe_histogram!(
        "http.request.seconds",
        ::metrics::Unit::Seconds,
        "time to answer a request"
    );
    println!(
        "Serving for {} s, reporting every {} s into {}",
        RUN_FOR.as_secs(),
        INTERVAL.as_secs(),
        data.display()
    );

    let started = Instant::now();
    let mut random = Lcg(11);
    let mut requests = 0u64;
    while started.elapsed() < RUN_FOR {
        let path = PATHS[(random.draw() % 3) as usize];
        let status = if random.draw().is_multiple_of(20) {
            "500"
        } else {
            "200"
        };
        // Checkout is the slow path: 40-120 ms, the others 5-25 ms.
        let seconds = match path {
            "/checkout" => 0.04 + (random.draw() % 80) as f64 / 1000.0,
            _ => 0.005 + (random.draw() % 20) as f64 / 1000.0,
        };
        ::metrics::counter!("http.requests", "path" => path, "status" => status).increment(1);
        ::metrics::histogram!("http.request.seconds", "path" => path).record(seconds);
        pending.store(random.draw() % 8, Ordering::Relaxed);
        requests += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Reports the interval in progress too: nothing is lost at shutdown.
    let stats = reporter.close().await?;
    store.refresh().await?;
    println!(
        "Handled {requests} requests; the store sent {} metric points\n",
        stats.sent
    );

    println!("p99 of http.request.seconds per path and interval (ms):");
    let p99 = metrics::series("http.request.seconds")
        .value(MetricValue::P99)
        .fetch(&store)
        .await?;
    for series in &p99.series {
        let values: Vec<String> = series
            .values
            .iter()
            .map(|v| v.map_or("-".to_owned(), |s| format!("{:.0}", s * 1000.0)))
            .collect();
        let path = series.tags.get("path").map_or("?", String::as_str);
        println!("  {path:<10} {}", values.join(" "));
    }
    let series = metrics::list(&store, None, None).await?;
    println!("\n{} series stored, among them:", series.len());
    for summary in series
        .iter()
        .filter(|s| !s.name.starts_with("esrecord."))
        .take(8)
    {
        println!(
            "  {:<22} {:<9} {:>3} points  {:?}",
            summary.name, summary.kind, summary.points, summary.tags
        );
    }
    store.close().await?;

    let dir = data.display();
    println!("\nSee them with the operator binary:");
    println!("  ESRECORD_DATA={dir} cargo run -p esrecord-examples --bin records -- metrics");
    println!(
        "  ESRECORD_DATA={dir} cargo run -p esrecord-examples --bin records -- plot --metric http.request.seconds --tag path=/checkout --value p99"
    );
    Ok(())
}
