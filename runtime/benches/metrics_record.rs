//! The metrics hot path (metrics issue: target esrecord / prometheus <= 1.2):
//! one update of a registered handle, through esrecord's recorder, through
//! `metrics-exporter-prometheus`'s recorder, and as a bare atomic, in the
//! same run.
//!
//! - `counter/atomic_fetch_add` (the floor): `AtomicU64::fetch_add(1)`.
//! - `counter/{prometheus,esrecord}_handle`: `counter.increment(1)` on a
//!   handle got once from `counter!("orders", "city" => "blr")`.
//! - `counter/{prometheus,esrecord}_macro`: `counter!(..).increment(1)`
//!   each time, the registry lookup of the key included.
//! - `histogram/*`: the same for `histogram.record(x)`; the floor is a
//!   push into metrics-util's `AtomicBucket`, which both recorders use.
//!
//! Histogram samples pile up in the buckets while criterion runs (each
//! recorder drains them only when it reports); both recorders keep them the
//! same way, so the pair stays comparable.
//!
//! Run: `cargo bench -p esrecord --bench metrics_record`

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use esrecord::metrics::Reporter;
use metrics::Recorder;
use metrics_exporter_prometheus::PrometheusBuilder;
use metrics_util::storage::AtomicBucket;

/// An esrecord recorder over a fresh embedded store (nothing is reported
/// while the benchmark runs).
fn esrecord_reporter() -> (Reporter, esrecord::Store) {
    let dir = std::env::temp_dir().join(format!("esrecord-bench-metrics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = esrecord::Store::builder().embedded(&dir).open().unwrap();
    let reporter = Reporter::builder()
        .host_tag(false)
        .self_metrics(false)
        .build(&store)
        .unwrap();
    (reporter, store)
}

fn handles(c: &mut Criterion, name: &str, recorders: &[(&str, &dyn Recorder)]) {
    let mut group = c.benchmark_group(name);
    if name == "counter" {
        let atomic = AtomicU64::new(0);
        group.bench_function("atomic_fetch_add", |b| {
            b.iter(|| black_box(&atomic).fetch_add(1, Ordering::Relaxed));
        });
    } else {
        let bucket = AtomicBucket::<f64>::new();
        group.bench_function("atomic_bucket_push", |b| {
            b.iter(|| black_box(&bucket).push(black_box(0.25)));
        });
    }
    for &(label, recorder) in recorders {
        metrics::with_local_recorder(recorder, || {
            if name == "counter" {
                let counter = metrics::counter!("orders", "city" => "blr");
                group.bench_function(format!("{label}_handle"), |b| {
                    b.iter(|| black_box(&counter).increment(1));
                });
                group.bench_function(format!("{label}_macro"), |b| {
                    b.iter(|| metrics::counter!("orders", "city" => "blr").increment(1));
                });
            } else {
                let histogram = metrics::histogram!("checkout.seconds", "city" => "blr");
                group.bench_function(format!("{label}_handle"), |b| {
                    b.iter(|| black_box(&histogram).record(black_box(0.25)));
                });
                group.bench_function(format!("{label}_macro"), |b| {
                    b.iter(|| {
                        metrics::histogram!("checkout.seconds", "city" => "blr")
                            .record(black_box(0.25));
                    });
                });
            }
        });
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let prometheus = PrometheusBuilder::new().build_recorder();
    let (reporter, _store) = esrecord_reporter();
    let esrecord = reporter.recorder();
    let recorders: [(&str, &dyn Recorder); 2] =
        [("prometheus", &prometheus), ("esrecord", &esrecord)];
    handles(c, "counter", &recorders);
    // A fresh pair for the histograms, so the counters' keys are not in
    // the way.
    let prometheus = PrometheusBuilder::new().build_recorder();
    let recorders: [(&str, &dyn Recorder); 2] =
        [("prometheus", &prometheus), ("esrecord", &esrecord)];
    handles(c, "histogram", &recorders);
}

criterion_group!(benches, bench);
criterion_main!(benches);
