//! Process metrics: the reporting process's CPU time, memory, page
//! faults, context switches, threads and open file descriptors, read from
//! `/proc/self` with `procfs` (Linux, feature `process-metrics`).
//!
//! Reported every interval with the reporter's tags, as counters (running
//! totals and their increase) and gauges:
//!
//! | metric | kind | unit |
//! |---|---|---|
//! | `process.cpu.user` / `process.cpu.system` | counter | seconds |
//! | `process.memory.resident` / `process.memory.virtual` | gauge | bytes |
//! | `process.faults.minor` / `process.faults.major` | counter | faults |
//! | `process.context_switches.voluntary` / `.involuntary` | counter | switches |
//! | `process.threads` | gauge | threads |
//! | `process.open_fds` | gauge | descriptors |
//!
//! Other platforms have no `/proc`: asking for process metrics there is an
//! error at build, as it is without the feature.

use chrono::{DateTime, Utc};

use super::point::Metric;
use super::recorder::Shared;
use crate::error::{Error, Result};

/// One reading of the process's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct ProcessSample {
    pub(crate) cpu_user_seconds: f64,
    pub(crate) cpu_system_seconds: f64,
    pub(crate) resident_bytes: f64,
    pub(crate) virtual_bytes: f64,
    pub(crate) minor_faults: f64,
    pub(crate) major_faults: f64,
    pub(crate) voluntary_switches: f64,
    pub(crate) involuntary_switches: f64,
    pub(crate) threads: f64,
    pub(crate) open_fds: f64,
}

/// Reads the process's figures each interval; remembers the last reading
/// to report the counters' increase.
#[derive(Debug)]
pub(crate) struct ProcessMetrics {
    last: ProcessSample,
}

impl ProcessMetrics {
    /// Checks that process metrics can be read here, and takes the first
    /// reading (so the first interval's increase is since the reporter
    /// started, not since the process did).
    pub(crate) fn new() -> Result<ProcessMetrics> {
        Ok(ProcessMetrics {
            last: read_sample()?,
        })
    }

    /// This interval's points; nothing (and a warning) if `/proc` could
    /// not be read this time.
    pub(crate) fn points(&mut self, shared: &Shared, start: DateTime<Utc>) -> Vec<Metric> {
        let now = match read_sample() {
            Ok(sample) => sample,
            Err(error) => {
                tracing::warn!("esrecord metrics: process metrics not read: {error}");
                return Vec::new();
            }
        };
        let before = std::mem::replace(&mut self.last, now);
        let tags = &shared.base_tags;
        let counter = |name: &str, unit: &str, total: f64, before: f64| {
            let mut point = Metric::from_total(start, name, tags, total, before);
            point.unit = Some(unit.to_owned());
            point
        };
        let gauge = |name: &str, unit: &str, value: f64| {
            let mut point = Metric::from_value(start, name, tags, value);
            point.unit = Some(unit.to_owned());
            point
        };
        vec![
            counter(
                "process.cpu.user",
                "seconds",
                now.cpu_user_seconds,
                before.cpu_user_seconds,
            ),
            counter(
                "process.cpu.system",
                "seconds",
                now.cpu_system_seconds,
                before.cpu_system_seconds,
            ),
            gauge("process.memory.resident", "bytes", now.resident_bytes),
            gauge("process.memory.virtual", "bytes", now.virtual_bytes),
            counter(
                "process.faults.minor",
                "faults",
                now.minor_faults,
                before.minor_faults,
            ),
            counter(
                "process.faults.major",
                "faults",
                now.major_faults,
                before.major_faults,
            ),
            counter(
                "process.context_switches.voluntary",
                "switches",
                now.voluntary_switches,
                before.voluntary_switches,
            ),
            counter(
                "process.context_switches.involuntary",
                "switches",
                now.involuntary_switches,
                before.involuntary_switches,
            ),
            gauge("process.threads", "threads", now.threads),
            gauge("process.open_fds", "descriptors", now.open_fds),
        ]
    }
}

/// Reads `/proc/self/stat`, `/proc/self/status` and `/proc/self/fd`.
#[cfg(all(feature = "process-metrics", target_os = "linux"))]
pub(crate) fn read_sample() -> Result<ProcessSample> {
    let unreadable = |error: procfs::ProcError| Error::Config(format!("process metrics: {error}"));
    let process = procfs::process::Process::myself().map_err(unreadable)?;
    let stat = process.stat().map_err(unreadable)?;
    let status = process.status().map_err(unreadable)?;
    let ticks = procfs::ticks_per_second().max(1) as f64;
    Ok(ProcessSample {
        cpu_user_seconds: stat.utime as f64 / ticks,
        cpu_system_seconds: stat.stime as f64 / ticks,
        resident_bytes: stat.rss as f64 * procfs::page_size() as f64,
        virtual_bytes: stat.vsize as f64,
        minor_faults: stat.minflt as f64,
        major_faults: stat.majflt as f64,
        voluntary_switches: status.voluntary_ctxt_switches.unwrap_or(0) as f64,
        involuntary_switches: status.nonvoluntary_ctxt_switches.unwrap_or(0) as f64,
        threads: stat.num_threads as f64,
        open_fds: process.fd_count().map_err(unreadable)? as f64,
    })
}

/// Without the feature, or off Linux, there is nothing to read from.
#[cfg(not(all(feature = "process-metrics", target_os = "linux")))]
pub(crate) fn read_sample() -> Result<ProcessSample> {
    Err(Error::Config(if cfg!(target_os = "linux") {
        "process metrics need esrecord's `process-metrics` cargo feature: add features = [\"process-metrics\"] to the esrecord dependency".to_owned()
    } else {
        "process metrics are read from /proc, which only Linux has; turn process_metrics off on this platform".to_owned()
    }))
}

#[cfg(all(test, feature = "process-metrics", target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_busy_loop_grows_cpu_time_and_the_process_has_memory_threads_and_files() {
        let before = read_sample().unwrap();
        let started = std::time::Instant::now();
        let mut spin = 0_u64;
        while started.elapsed() < std::time::Duration::from_millis(300) {
            spin = std::hint::black_box(spin.wrapping_mul(31).wrapping_add(7));
        }
        let after = read_sample().unwrap();
        let cpu = |s: &ProcessSample| s.cpu_user_seconds + s.cpu_system_seconds;
        assert!(
            cpu(&after) > cpu(&before),
            "{before:?} then {after:?} after a 300 ms busy loop"
        );
        assert!(after.resident_bytes > 0.0 && after.virtual_bytes >= after.resident_bytes);
        assert!(after.threads >= 1.0);
        assert!(after.open_fds >= 1.0, "stdin, stdout and stderr at least");
        assert!(after.minor_faults >= before.minor_faults);
        assert!(after.voluntary_switches + after.involuntary_switches > 0.0);
    }
}
