//! The metrics reporter: values of each kind across intervals (collected
//! at explicit interval starts, no sleeps), tags and limits, idle expiry on
//! a mock clock, the `[metrics]` configuration, process metrics, and
//! metrics recorded through the macros found again by `metrics::series`
//! in the embedded store and on a faulty Elasticsearch.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use esrecord::config::{BackendConfig, BackendKind, Config, ElasticsearchConfig};
use esrecord::metrics::{self as esmetrics, Metric, MetricValue, Reporter, Sanitize, SeriesSet};
use esrecord::{Record, Store};
use esrecord_tests::fault_server::{FaultPlan, FaultServer};

fn at(minute: u32, second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 5, 12, minute, second)
        .unwrap()
}

/// A fresh embedded store with the fixtures' backends (so `setup` covers
/// every registered type).
fn store(name: &str) -> Store {
    esrecord_tests::fresh_store(name).unwrap()
}

/// A reporter without host tag or self metrics, so only the test's metrics show.
fn quiet(store: &Store) -> Reporter {
    Reporter::builder()
        .global_tags([("env", "test")])
        .host_tag(false)
        .self_metrics(false)
        .build(store)
        .unwrap()
}

fn point<'a>(points: &'a [Metric], name: &str) -> &'a Metric {
    points
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no point {name} in {points:#?}"))
}

#[tokio::test]
async fn each_kind_reports_its_interval_values() {
    let store = store("metrics-kinds");
    let reporter = quiet(&store);
    metrics::with_local_recorder(&reporter.recorder(), || {
        metrics::counter!("orders").increment(3);
        metrics::counter!("orders").increment(2);
        metrics::gauge!("queue").set(10.0);
        metrics::gauge!("queue").set(4.0);
        metrics::gauge!("queue").increment(1.0);
        for ms in 1..=100 {
            metrics::histogram!("latency").record(f64::from(ms));
        }
    });
    let first = reporter.collect(at(0, 7));
    let orders = point(&first, "orders");
    assert_eq!(orders.timestamp, at(0, 0), "floored to the 10 s interval");
    assert_eq!(
        (orders.kind.as_str(), orders.increase, orders.total),
        ("counter", Some(5.0), Some(5.0))
    );
    let queue = point(&first, "queue");
    assert_eq!(
        (queue.last, queue.min, queue.max),
        (Some(5.0), Some(4.0), Some(10.0))
    );
    assert_eq!((queue.count, queue.mean), (Some(3), Some(19.0 / 3.0)));
    let latency = point(&first, "latency");
    assert_eq!((latency.count, latency.sum), (Some(100), Some(5050.0)));
    assert_eq!(
        (latency.min, latency.max, latency.mean),
        (Some(1.0), Some(100.0), Some(50.5))
    );
    assert_eq!(
        (latency.p50, latency.p90, latency.p99, latency.p999),
        (Some(50.0), Some(90.0), Some(99.0), Some(100.0))
    );

    metrics::with_local_recorder(&reporter.recorder(), || {
        metrics::counter!("orders").increment(1);
        metrics::counter!("orders").absolute(20);
        metrics::histogram!("latency").record(7.0);
    });
    let second = reporter.collect(at(0, 10));
    let orders = point(&second, "orders");
    assert_eq!((orders.increase, orders.total), (Some(15.0), Some(20.0)));
    let queue = point(&second, "queue");
    assert_eq!(
        (queue.last, queue.count, queue.min),
        (Some(5.0), Some(0), None),
        "a gauge keeps its last value"
    );
    let latency = point(&second, "latency");
    assert_eq!(
        (latency.count, latency.p50, latency.p999),
        (Some(1), Some(7.0), Some(7.0)),
        "only the interval's samples"
    );

    let idle = reporter.collect(at(0, 20));
    assert_eq!(
        point(&idle, "orders").increase,
        Some(0.0),
        "reported once at zero"
    );
    assert_eq!(point(&idle, "latency").count, Some(0));
    let still_idle = reporter.collect(at(0, 30));
    assert!(
        still_idle.iter().all(|p| p.name == "queue"),
        "{still_idle:#?}"
    );
}

#[tokio::test]
async fn metric_labels_win_over_reporter_tags_over_global_tags() {
    let store = store("metrics-tags");
    let reporter = Reporter::builder()
        .global_tags([("env", "dev"), ("region", "eu"), ("service", "global")])
        .tag("service", "shop")
        .tag("team", "checkout")
        .host_tag(false)
        .self_metrics(false)
        .build(&store)
        .unwrap();
    metrics::with_local_recorder(&reporter.recorder(), || {
        metrics::counter!("orders", "region" => "in", "city" => "blr").increment(1);
    });
    let points = reporter.collect(at(1, 0));
    let tags = &point(&points, "orders").tags;
    let expected = [
        ("city", "blr"),
        ("env", "dev"),
        ("region", "in"),
        ("service", "shop"),
        ("team", "checkout"),
    ];
    let expected = expected
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into_iter()
        .collect();
    assert_eq!(tags, &expected);

    let hosted = Reporter::builder()
        .global_tags([("env", "dev")])
        .self_metrics(false)
        .build(&store)
        .unwrap();
    metrics::with_local_recorder(&hosted.recorder(), || metrics::counter!("c").increment(1));
    let points = hosted.collect(at(1, 0));
    assert!(
        point(&points, "c").tags.contains_key("host"),
        "host tag by default"
    );
}

#[tokio::test]
async fn names_and_label_keys_are_sanitized_and_unstorable_ones_refused() {
    let store = store("metrics-sanitize");
    let reporter = Reporter::builder()
        .sanitize(Sanitize::Prometheus)
        .host_tag(false)
        .global_tags::<&str, &str>([])
        .self_metrics(false)
        .build(&store)
        .unwrap();
    metrics::with_local_recorder(&reporter.recorder(), || {
        metrics::counter!("http.requests total", "status code" => "200").increment(1);
    });
    let points = reporter.collect(at(2, 0));
    let requests = point(&points, "http_requests_total");
    assert_eq!(
        requests.tags.get("status_code").map(String::as_str),
        Some("200")
    );

    let plain = quiet(&store);
    metrics::with_local_recorder(&plain.recorder(), || {
        metrics::counter!("...").increment(1);
        metrics::counter!("ok", "_" => "x").increment(1);
    });
    assert!(
        plain.collect(at(2, 0)).is_empty(),
        "nothing storable is left of either"
    );
}

#[tokio::test]
async fn tag_and_series_limits_refuse_new_series_and_count_them() {
    let store = store("metrics-limits");
    let reporter = Reporter::builder()
        .global_tags([("env", "test")])
        .host_tag(false)
        .max_tags(2)
        .max_series(3)
        .build(&store)
        .unwrap();
    metrics::with_local_recorder(&reporter.recorder(), || {
        metrics::counter!("wide", "a" => "1", "b" => "2").increment(1);
        for user in 0..10 {
            metrics::counter!("per_user", "user" => user.to_string()).increment(1);
        }
    });
    let points = reporter.collect(at(3, 0));
    let kept: Vec<_> = points.iter().filter(|p| p.name == "per_user").collect();
    assert_eq!(kept.len(), 3);
    assert!(points.iter().all(|p| p.name != "wide"), "3 tags > max_tags");
    let refused = point(&points, "esrecord.reporter.refused");
    assert_eq!(refused.total, Some(8.0), "1 too wide, 7 over max_series");
    assert_eq!(point(&points, "esrecord.reporter.series").last, Some(3.0));
}

#[tokio::test]
async fn idle_counters_and_histograms_expire_and_come_back() {
    let store = store("metrics-idle");
    let (clock, mock) = quanta::Clock::mock();
    let reporter = Reporter::builder()
        .global_tags([("env", "test")])
        .host_tag(false)
        .self_metrics(false)
        .idle_timeout(Some(Duration::from_secs(60)))
        .clock(clock)
        .build(&store)
        .unwrap();
    let recorder = reporter.recorder();
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("jobs").increment(4);
        metrics::histogram!("size").record(1.0);
    });
    assert_eq!(reporter.collect(at(4, 0)).len(), 2);
    mock.increment(Duration::from_secs(61));
    assert!(
        reporter.collect(at(5, 10)).is_empty(),
        "idle past the timeout: dropped"
    );
    metrics::with_local_recorder(&recorder, || metrics::counter!("jobs").increment(1));
    let back = reporter.collect(at(5, 20));
    let jobs = point(&back, "jobs");
    assert_eq!(
        (jobs.increase, jobs.total),
        (Some(1.0), Some(1.0)),
        "a new series"
    );
}

#[tokio::test]
async fn meters_follow_dropwizard_and_callback_gauges_are_sampled() {
    let store = store("metrics-meters");
    let reporter = Reporter::builder()
        .global_tags([("env", "test")])
        .host_tag(false)
        .self_metrics(false)
        .meters(true)
        .interval(Duration::from_secs(5))
        .build(&store)
        .unwrap();
    let pending = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(7));
    let read = std::sync::Arc::clone(&pending);
    reporter.gauge_fn("jobs.pending", move || {
        read.load(std::sync::atomic::Ordering::Relaxed) as f64
    });
    metrics::with_local_recorder(&reporter.recorder(), || {
        metrics::counter!("marks").increment(3)
    });
    let first = reporter.collect(at(6, 0));
    let marks = point(&first, "marks");
    for rate in [marks.rate_m1, marks.rate_m5, marks.rate_m15] {
        assert!((rate.unwrap() - 0.6).abs() < 1e-9, "{marks:?}");
    }
    assert_eq!(point(&first, "jobs.pending").last, Some(7.0));
    pending.store(2, std::sync::atomic::Ordering::Relaxed);
    let second = reporter.collect(at(6, 5));
    let marks = point(&second, "marks");
    assert!(
        (marks.rate_m1.unwrap() - 0.5520266).abs() < 1e-6,
        "{marks:?}"
    );
    assert!(
        (marks.rate_m15.unwrap() - 0.5966759).abs() < 1e-6,
        "{marks:?}"
    );
    assert_eq!(point(&second, "jobs.pending").last, Some(2.0));
}

#[tokio::test]
async fn self_metrics_agree_with_the_store_stats() {
    let store = store("metrics-self");
    store.setup().await.unwrap();
    let reporter = Reporter::builder()
        .host_tag(false)
        .global_tags([("env", "test")])
        .build(&store)
        .unwrap();
    metrics::with_local_recorder(&reporter.recorder(), || metrics::counter!("c").increment(1));
    reporter.report(at(7, 0)).unwrap();
    let stats = store.flush().await.unwrap();
    let points = reporter.collect(at(7, 10));
    let sent = point(&points, "esrecord.store.sent");
    assert_eq!(sent.total, Some(stats.sent as f64));
    assert_eq!(
        point(&points, "esrecord.store.queued").total,
        Some(stats.queued as f64)
    );
    assert_eq!(
        point(&points, "esrecord.store.unsent").last,
        Some(stats.unsent as f64)
    );
    assert_eq!(
        point(&points, "esrecord.store.send_latency").count,
        Some(stats.send_latency.count)
    );
}

#[tokio::test]
async fn metrics_recorded_through_the_macros_are_found_in_the_store_after_close() {
    let store = store("metrics-end-to-end");
    store.setup().await.unwrap();
    let reporter = quiet(&store);
    metrics::with_local_recorder(&reporter.recorder(), || {
        for city in ["blr", "bom"] {
            metrics::counter!("orders", "city" => city).increment(2);
        }
        metrics::describe_histogram!("checkout", metrics::Unit::Seconds, "time to pay");
        metrics::histogram!("checkout").record(0.5);
    });
    reporter.report(at(8, 0)).unwrap();
    metrics::with_local_recorder(&reporter.recorder(), || {
        metrics::counter!("orders", "city" => "blr").increment(5);
    });
    // The last, partial interval: close reports it before flushing.
    reporter.close().await.unwrap();
    store.refresh().await.unwrap();
    let fields = Metric::fields();
    let found = Metric::search()
        .filter(fields.name.eq("orders"))
        .size(100)
        .fetch(&store)
        .await
        .unwrap();
    let mut blr: Vec<(f64, f64)> = found
        .hits
        .iter()
        .filter(|h| h.record.tags.get("city").map(String::as_str) == Some("blr"))
        .map(|h| (h.record.increase.unwrap(), h.record.total.unwrap()))
        .collect();
    blr.sort_by(|a, b| a.1.total_cmp(&b.1));
    assert_eq!(blr, [(2.0, 2.0), (5.0, 7.0)], "no interval lost at close");
    let checkout = Metric::search()
        .filter(fields.name.eq("checkout"))
        .fetch(&store)
        .await
        .unwrap();
    let checkout = &checkout.hits[0].record;
    assert_eq!(
        (checkout.unit.as_deref(), checkout.description.as_deref()),
        (Some("seconds"), Some("time to pay"))
    );
    assert_eq!(checkout.p99, Some(0.5));

    let totals = esmetrics::series("orders")
        .tag("city", "blr")
        .value(MetricValue::Total)
        .fetch(&store)
        .await
        .unwrap();
    assert_eq!(totals.series.len(), 1, "{totals:?}");
    assert_eq!(totals.series[0].values, [Some(2.0), Some(7.0)]);
    assert_eq!(totals.timestamps.len(), 2);
    let every_city = esmetrics::series("orders").fetch(&store).await.unwrap();
    let cities: Vec<&str> = every_city
        .series
        .iter()
        .map(|s| s.tags["city"].as_str())
        .collect();
    assert_eq!(cities, ["blr", "bom"]);
    assert_eq!(
        every_city.series[1].values,
        [Some(2.0), Some(0.0)],
        "an idle counter reports one zero"
    );
}

/// Reports two intervals (at 12:10 and 12:11 of the test's day), then
/// closes the reporter, which reports the third, partial one (at the
/// current interval's start).
async fn report_three_intervals_and_close(reporter: &Reporter) {
    for (minute, orders) in [(10, 3), (11, 4)] {
        metrics::with_local_recorder(&reporter.recorder(), || {
            metrics::counter!("orders", "city" => "blr").increment(orders);
            metrics::gauge!("queue").set(f64::from(minute));
        });
        reporter.report(at(minute, 0)).unwrap();
    }
    metrics::with_local_recorder(&reporter.recorder(), || {
        metrics::counter!("orders", "city" => "blr").increment(5);
    });
    reporter.close().await.unwrap();
}

#[tokio::test]
async fn on_a_faulty_elasticsearch_close_delivers_every_interval() {
    let plan = FaultPlan {
        seed: 16,
        too_many_requests: 0.5,
        reset_before_storing: 0.2,
        ..FaultPlan::default()
    };
    let server = FaultServer::start(plan).await.unwrap();
    let mut cluster = ElasticsearchConfig::new(server.url());
    cluster.gzip = false;
    let mut config = Config::embedded("unused");
    config.backends.insert(
        "default".into(),
        BackendConfig {
            kind: BackendKind::Elasticsearch(cluster),
            index_prefix: String::new(),
            max_docs_per_second: None,
            data_streams: None,
        },
    );
    config.writer.retry_backoff = Duration::from_millis(1);
    config.writer.retry_max_backoff = Duration::from_millis(20);
    config.writer.batch_interval = Duration::from_millis(20);
    let store = Store::with_config(config).unwrap();
    let reporter = quiet(&store);
    report_three_intervals_and_close(&reporter).await;

    let points: Vec<Metric> = server
        .documents()
        .values()
        .filter(|d| d.index.starts_with("esrecord_metric_"))
        .map(|d| serde_json::from_str(&d.source).unwrap())
        .collect();
    let orders: Vec<Metric> = points
        .iter()
        .filter(|p| p.name == "orders")
        .cloned()
        .collect();
    let totals = SeriesSet::from_points(orders, Some(MetricValue::Total));
    assert_eq!(totals.series.len(), 1, "{totals:?}");
    assert_eq!(
        totals.series[0].values,
        [Some(3.0), Some(7.0), Some(12.0)],
        "the last interval, reported at close, arrived too"
    );
    let queue: Vec<Metric> = points
        .iter()
        .filter(|p| p.name == "queue")
        .cloned()
        .collect();
    let queue = SeriesSet::from_points(queue, None);
    assert_eq!(
        queue.series[0].values,
        [Some(10.0), Some(11.0), Some(11.0)],
        "gauges keep reporting their last value"
    );
    let counts = server.counts();
    assert!(
        counts.answered_429 + counts.reset_before_storing > 0,
        "the plan's faults happened: {counts}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_metrics_section_of_the_configuration_sets_the_reporter_and_code_wins() {
    let dir = esrecord_tests::fresh_dir("metrics-config");
    let mut config = Config::from_toml(
        r#"
        [metrics]
        interval_ms = 60000
        tags = { region = "eu", env = "prod" }
        host_tag = false
        sanitize = "prometheus"
        self_metrics = false
        "#,
    )
    .unwrap();
    config.backends = Config::embedded(dir).backends;
    let store = Store::with_config(config).unwrap();
    let reporter = Reporter::builder().build(&store).unwrap();
    assert_eq!(reporter.interval(), Duration::from_secs(60));
    metrics::with_local_recorder(&reporter.recorder(), || {
        metrics::counter!("http.requests", "path" => "/").increment(1);
    });
    let points = reporter.collect(at(0, 0));
    assert_eq!(points.len(), 1, "no self metrics: {points:#?}");
    let requests = point(&points, "http_requests");
    assert_eq!(requests.interval, Some(60.0));
    assert_eq!(
        requests.tags.keys().collect::<Vec<_>>(),
        ["env", "path", "region"],
        "configured tags, no host tag"
    );

    let overridden = Reporter::builder()
        .interval(Duration::from_secs(5))
        .host_tag(true)
        .global_tags([("env", "staging")])
        .build(&store)
        .unwrap();
    metrics::with_local_recorder(&overridden.recorder(), || {
        metrics::counter!("c").increment(1)
    });
    let points = overridden.collect(at(0, 0));
    let c = point(&points, "c");
    assert_eq!(c.interval, Some(5.0));
    assert_eq!(c.tags.get("env").map(String::as_str), Some("staging"));
    assert!(
        !c.tags.contains_key("region"),
        "code's global tags replace the configured ones"
    );
    assert!(c.tags.contains_key("host"));

    let refused = Config::from_toml("[metrics]\ninterval_ms = 10").map(|_| ());
    assert!(
        refused.as_ref().is_err_and(
            |e| e.to_string().contains("[metrics]") && e.to_string().contains("at least 1 s")
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn process_metrics_are_reported_with_their_units() {
    let store = store("metrics-process");
    let reporter = Reporter::builder()
        .host_tag(false)
        .self_metrics(false)
        .process_metrics(true)
        .build(&store)
        .unwrap();
    let first = reporter.collect(at(20, 0));
    let mut spin = 0u64;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(300) {
        spin = spin.wrapping_add(std::hint::black_box(spin ^ 0x5bd1e995));
    }
    std::hint::black_box(spin);
    let second = reporter.collect(at(20, 10));
    let cpu = |points: &[Metric]| point(points, "process.cpu.user").total.unwrap();
    assert!(
        cpu(&second) > cpu(&first),
        "a busy loop grows user CPU time"
    );
    let resident = point(&second, "process.memory.resident");
    assert!(resident.last.unwrap() > 0.0);
    assert_eq!(resident.unit.as_deref(), Some("bytes"));
    assert!(point(&second, "process.threads").last.unwrap() >= 1.0);
    assert!(point(&second, "process.open_fds").last.unwrap() >= 3.0);
}
