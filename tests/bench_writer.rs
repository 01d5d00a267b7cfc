//! The writer's figures (BENCHMARKS.md, writer issue):
//!
//! 1. The hot path: the cost of one `store.record(r)` call for a 10-field
//!    record, against a bare `crossbeam_channel` `try_send` of the same
//!    struct to a bounded channel drained by a thread, in the same run:
//!    median and p99 of per-call times, spool off and spool on. Both are
//!    paced (bursts of 500 calls, then 5 ms) so that neither queue fills
//!    and the writer's own work does not starve the recording thread.
//! 2. Throughput under faults: records written per second (from the first
//!    `record` to the end of `flush`) with 10% of bulk requests answered
//!    429 or 503, against the same run without faults, both to the
//!    loopback fault server, default writer configuration.
//!
//! Run: `cargo run --release -p esrecord-tests --example bench_writer -- [calls] [records] [rounds]`
//! (defaults 200000, 500000, 3).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use esrecord::config::Config;
use esrecord::{Record, Store};
use esrecord_tests::fault_server::{FaultCounts, FaultPlan, FaultServer};
use serde::{Deserialize, Serialize};

/// A 10-field event: a timestamp, four integers, three strings, a float, a
/// bool.
#[derive(Record, Serialize, Deserialize, Debug, Clone)]
#[record(app_label = "bench", name = "event")]
struct Event {
    timestamp: DateTime<Utc>,
    user_id: u64,
    item_id: u64,
    status: u16,
    bytes: i64,
    method: String,
    path: String,
    host: String,
    latency_ms: f64,
    cached: bool,
}

fn events(count: usize) -> Vec<Event> {
    let start = Utc::now();
    (0..count)
        .map(|i| Event {
            timestamp: start + chrono::Duration::milliseconds(i as i64),
            user_id: (i % 9_973) as u64,
            item_id: i as u64,
            status: if i % 50 == 0 { 500 } else { 200 },
            bytes: (i % 4096) as i64,
            method: "GET".into(),
            path: format!("/items/{}", i % 1000),
            host: "web-1".into(),
            latency_ms: (i % 300) as f64 / 3.0,
            cached: i % 3 == 0,
        })
        .collect()
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

const BURST: usize = 500;
const PAUSE: Duration = Duration::from_millis(5);

/// What one round measured: per-call nanoseconds (each call timed on its
/// own, the timer's cost included) and the mean nanoseconds per call of
/// whole bursts (timed as a whole, without the timer's cost).
struct Timings {
    calls: Vec<u64>,
    burst_means: Vec<f64>,
}

/// Times `call` over `events`, paced in bursts: every other burst with each
/// call timed, the others timed as a whole.
fn time_calls(events: Vec<Event>, mut call: impl FnMut(Event)) -> Timings {
    let mut timings = Timings {
        calls: Vec::with_capacity(events.len()),
        burst_means: Vec::new(),
    };
    let mut events = events.into_iter().peekable();
    let mut burst = 0;
    while events.peek().is_some() {
        if burst % 2 == 0 {
            for event in events.by_ref().take(BURST) {
                let started = Instant::now();
                call(event);
                timings.calls.push(started.elapsed().as_nanos() as u64);
            }
        } else {
            let chunk: Vec<Event> = events.by_ref().take(BURST).collect();
            let count = chunk.len() as f64;
            let started = Instant::now();
            for event in chunk {
                call(event);
            }
            timings
                .burst_means
                .push(started.elapsed().as_nanos() as f64 / count);
        }
        burst += 1;
        std::thread::sleep(PAUSE);
    }
    timings
}

/// (median, p99, median of burst means) of a round.
type RoundFigures = (u64, u64, f64);

fn figures(mut timings: Timings) -> RoundFigures {
    let median_call = percentile(&mut timings.calls, 0.5);
    let p99_call = percentile(&mut timings.calls, 0.99);
    (median_call, p99_call, median(&mut timings.burst_means))
}

fn percentile(times: &mut [u64], share: f64) -> u64 {
    times.sort_unstable();
    let rank = ((times.len() as f64 * share).ceil() as usize).clamp(1, times.len());
    times[rank - 1]
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn cluster_config(server: &FaultServer, spool: Option<std::path::PathBuf>) -> Config {
    let mut config = esrecord_tests::cluster_config(&server.url());
    config.writer.queue_capacity = 1_000_000;
    config.writer.spool_dir = spool;
    config
}

/// The figures of a bare channel send.
fn channel_round(events: Vec<Event>) -> RoundFigures {
    let (sender, receiver) = crossbeam_channel::bounded::<Event>(1_000_000);
    let drain = std::thread::spawn(move || receiver.iter().count());
    let timings = time_calls(events, |event| {
        let _ = sender.try_send(event);
    });
    drop(sender);
    let _ = drain.join();
    figures(timings)
}

/// The figures of `store.record`.
fn record_round(
    runtime: &tokio::runtime::Runtime,
    events: Vec<Event>,
    spool: Option<std::path::PathBuf>,
) -> Result<RoundFigures, Failure> {
    let server = runtime.block_on(FaultServer::start(FaultPlan::default()))?;
    let store = Store::with_config(cluster_config(&server, spool))?;
    let mut failed = 0;
    let timings = time_calls(events, |event| {
        if store.record(event).is_err() {
            failed += 1;
        }
    });
    let stats = runtime.block_on(store.close())?;
    if failed > 0 || !stats.is_complete() {
        return Err(format!("{failed} records refused; {stats:?}").into());
    }
    Ok(figures(timings))
}

/// Records per second from the first `record` to the end of `flush`, to a
/// fresh server failing as `plan` says, and what the server saw.
fn throughput_round(
    runtime: &tokio::runtime::Runtime,
    plan: FaultPlan,
    events: Vec<Event>,
) -> Result<(f64, FaultCounts), Failure> {
    let count = events.len() as f64;
    let server = runtime.block_on(FaultServer::start(plan))?;
    let store = Store::with_config(cluster_config(&server, None))?;
    let started = Instant::now();
    for event in events {
        store.record(event)?;
    }
    let stats = runtime.block_on(store.close())?;
    let seconds = started.elapsed().as_secs_f64();
    if !stats.is_complete() || stats.failed > 0 {
        return Err(format!("not everything was written: {stats:?}").into());
    }
    Ok((count / seconds, server.counts()))
}

fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let calls = args.next().transpose()?.unwrap_or(200_000);
    let records = args.next().transpose()?.unwrap_or(500_000);
    let rounds = args.next().transpose()?.unwrap_or(3);
    let runtime = tokio::runtime::Runtime::new()?;
    let spool_dir =
        std::env::temp_dir().join(format!("esrecord-bench-spool-{}", std::process::id()));
    println!(
        "hot path: {calls} calls a round, {rounds} rounds, bursts of {BURST} then {PAUSE:?}; {} cores\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let (mut bare, mut ours, mut spooled) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which goes first.
        let mut order = vec!["bare", "ours", "spooled"];
        order.rotate_left(round % 3);
        for which in order {
            let batch = events(calls);
            match which {
                "bare" => bare.push(channel_round(batch)),
                "ours" => ours.push(record_round(&runtime, batch, None)?),
                _ => {
                    let _ = std::fs::remove_dir_all(&spool_dir);
                    spooled.push(record_round(&runtime, batch, Some(spool_dir.clone()))?);
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&spool_dir);
    let summary = |runs: &[RoundFigures]| {
        let mut medians: Vec<f64> = runs.iter().map(|r| r.0 as f64).collect();
        let mut p99s: Vec<f64> = runs.iter().map(|r| r.1 as f64).collect();
        let mut means: Vec<f64> = runs.iter().map(|r| r.2).collect();
        (median(&mut medians), median(&mut p99s), median(&mut means))
    };
    let (bare_median, bare_p99, bare_mean) = summary(&bare);
    println!(
        "| what | median ns | p99 ns | burst mean ns | median ratio | p99 ratio | burst mean ratio |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| crossbeam `try_send` of the struct (baseline) | {bare_median:.0} | {bare_p99:.0} | {bare_mean:.1} | 1.00 | 1.00 | 1.00 |"
    );
    for (name, runs) in [
        ("`store.record`, spool off", &ours),
        ("`store.record`, spool on", &spooled),
    ] {
        let (m, p, mean) = summary(runs);
        println!(
            "| {name} | {m:.0} | {p:.0} | {mean:.1} | {:.2} | {:.2} | {:.2} |",
            m / bare_median,
            p / bare_p99,
            mean / bare_mean
        );
    }
    println!(
        "\nper round (median ns, p99 ns, burst mean ns): bare {bare:?}, ours {ours:?}, spooled {spooled:?}"
    );

    println!(
        "\nthroughput: {records} records a round, {rounds} rounds, default writer configuration\n"
    );
    let faulty = FaultPlan {
        seed: 11,
        too_many_requests: 0.05,
        unavailable: 0.05,
        ..FaultPlan::default()
    };
    let (mut clean, mut faults) = (Vec::new(), Vec::new());
    let (mut requests, mut refused) = (0, 0);
    for round in 0..rounds {
        for faulted in [round % 2 == 1, round % 2 == 0] {
            let plan = if faulted {
                FaultPlan {
                    seed: faulty.seed + round as u64,
                    ..faulty.clone()
                }
            } else {
                FaultPlan::default()
            };
            let (rate, counts) = throughput_round(&runtime, plan, events(records))?;
            if faulted {
                faults.push(rate);
                requests += counts.bulk_requests;
                refused += counts.answered_429 + counts.answered_503;
            } else {
                clean.push(rate);
            }
        }
    }
    let (clean_rate, fault_rate) = (median(&mut clean.clone()), median(&mut faults.clone()));
    println!("| run | records/s (median) | ratio |");
    println!("|---|---|---|");
    println!("| no faults | {clean_rate:.0} | 1.00 |");
    println!(
        "| 10% of requests 429/503 | {fault_rate:.0} | {:.2} |",
        fault_rate / clean_rate
    );
    println!(
        "\nper round: clean {clean:?}, faults {faults:?}\nfaulted rounds: {refused} of {requests} bulk requests answered 429 or 503"
    );
    Ok(())
}
