//! The reporter: its builder, the background task that reports every
//! interval, and flushing and closing without losing the last interval.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::collect::{Collector, finite};
use super::point::{Metric, MetricKind};
use super::process::ProcessMetrics;
use super::recorder::{EsrecordRecorder, Limits, Shared};
use super::sanitize::Sanitize;
use super::self_metrics::SelfMetrics;
use super::settings::MetricsConfig;
use super::tags::{TAGS_VARIABLE, base_tags, host_tag_disabled_by_environment, parse_tags};
use crate::error::{Error, Result};
use crate::{Stats, Store};

/// A gauge read from a closure at each interval.
type CallbackFn = Box<dyn Fn() -> f64 + Send + Sync>;

/// A change the builder makes to the configured [`MetricsConfig`].
type Edit = Box<dyn FnOnce(&mut MetricsConfig) + Send>;

/// Configures a [`Reporter`]; from [`Reporter::builder`]. What is not set
/// here comes from the store's configuration (`[metrics]` in
/// `esrecord.toml`, see [`MetricsConfig`]), else the defaults.
#[must_use]
pub struct ReporterBuilder {
    edits: Vec<Edit>,
    global_tags: Option<BTreeMap<String, String>>,
    tags: BTreeMap<String, String>,
    clock: Option<quanta::Clock>,
}

impl fmt::Debug for ReporterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReporterBuilder")
            .field("changes", &self.edits.len())
            .field("tags", &self.tags)
            .finish_non_exhaustive()
    }
}

impl ReporterBuilder {
    fn edit(mut self, edit: impl FnOnce(&mut MetricsConfig) + Send + 'static) -> Self {
        self.edits.push(Box::new(edit));
        self
    }

    /// How often a point is stored per series (default 10 s, at least 1 s).
    pub fn interval(self, interval: Duration) -> Self {
        self.edit(move |config| config.interval = interval)
    }

    /// Global tags, in place of those of the configuration and `ESRECORD_TAGS`.
    pub fn global_tags<K: Into<String>, V: Into<String>>(
        mut self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.global_tags = Some(
            tags.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// A reporter tag: on every metric, over a global tag of the same key,
    /// under the metric's own label.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Whether to add `host` (the hostname) when no tag sets it; on unless
    /// this or `ESRECORD_DISABLE_HOST_TAG=true` turns it off.
    pub fn host_tag(self, on: bool) -> Self {
        self.edit(move |config| config.host_tag = Some(on))
    }

    /// How metric names and tag keys are cleaned (default [`Sanitize::Esrecord`]).
    pub fn sanitize(self, mode: Sanitize) -> Self {
        self.edit(move |config| config.sanitize = mode)
    }

    /// Tags per metric, labels and reporter tags together (default 25).
    pub fn max_tags(self, max: usize) -> Self {
        self.edit(move |config| config.max_tags = max)
    }

    /// Distinct metric and label sets one reporter keeps (default 10,000).
    pub fn max_series(self, max: usize) -> Self {
        self.edit(move |config| config.max_series = max)
    }

    /// Counters and histograms not updated for this long are dropped
    /// (default 10 minutes; `None` keeps them). Gauges keep their value.
    pub fn idle_timeout(self, timeout: Option<Duration>) -> Self {
        self.edit(move |config| config.idle_timeout = timeout)
    }

    /// Whether counters also carry meter rates (mean, 1/5/15 minutes).
    pub fn meters(self, on: bool) -> Self {
        self.edit(move |config| config.meters = on)
    }

    /// Whether the store's and the reporter's own figures are reported as
    /// metrics (`esrecord.store.*`, `esrecord.reporter.*`; default on).
    pub fn self_metrics(self, on: bool) -> Self {
        self.edit(move |config| config.self_metrics = on)
    }

    /// Whether the process's own figures are reported as `process.*`
    /// metrics (default off; needs the `process-metrics` feature).
    pub fn process_metrics(self, on: bool) -> Self {
        self.edit(move |config| config.process_metrics = on)
    }

    /// The clock idle expiry reads: `quanta::Clock::mock()` in tests.
    pub fn clock(mut self, clock: quanta::Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// A reporter that reports when told to ([`Reporter::report`],
    /// [`Reporter::flush`]); its recorder is not installed. For tests,
    /// with `metrics::with_local_recorder(&reporter.recorder(), ..)`.
    pub fn build(self, store: &Store) -> Result<Reporter> {
        let mut config = store.config().metrics.clone();
        for edit in self.edits {
            edit(&mut config);
        }
        config.validate()?;
        let process = if config.process_metrics {
            Some(ProcessMetrics::new()?)
        } else {
            None
        };
        let global = match self.global_tags {
            Some(tags) => tags,
            None => {
                let mut tags = config.tags.clone();
                if let Ok(text) = std::env::var(TAGS_VARIABLE) {
                    let from_environment = parse_tags(&text)
                        .map_err(|e| Error::Config(format!("{TAGS_VARIABLE}: {e}")))?;
                    tags.extend(from_environment);
                }
                tags
            }
        };
        let host_tag = config
            .host_tag
            .unwrap_or_else(|| !host_tag_disabled_by_environment());
        let base = base_tags(&global, &self.tags, host_tag);
        for key in base.keys() {
            if config.sanitize.apply(key).as_deref() != Some(key.as_str()) {
                return Err(Error::Config(format!(
                    "tag key {key:?} is not kept as it is by sanitize mode {:?}; rename it",
                    config.sanitize
                )));
            }
        }
        if base.len() > config.max_tags {
            return Err(Error::Config(format!(
                "the global and reporter tags are {} tags, more than max_tags = {}",
                base.len(),
                config.max_tags
            )));
        }
        let limits = Limits {
            max_tags: config.max_tags,
            max_series: config.max_series,
        };
        let shared = Shared::new(
            config.sanitize,
            base,
            limits,
            self.clock.unwrap_or_default(),
            config.idle_timeout,
        );
        Ok(Reporter {
            inner: Arc::new(Inner {
                shared: Arc::new(shared),
                store: store.clone(),
                interval: config.interval,
                state: Mutex::new(State {
                    collector: Collector::new(config.meters),
                    callbacks: Vec::new(),
                    self_metrics: config.self_metrics.then(SelfMetrics::default),
                    process,
                }),
                stop: Notify::new(),
                task: Mutex::new(None),
            }),
        })
    }

    /// Builds the reporter, installs its recorder as the process's
    /// `metrics` recorder, and reports every interval from a task on the
    /// current tokio runtime.
    pub fn install(self, store: &Store) -> Result<Reporter> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Config(
                "the metrics reporter runs on a tokio runtime: install it from within one (#[tokio::main])"
                    .to_owned(),
            )
        })?;
        let reporter = self.build(store)?;
        ::metrics::set_global_recorder(reporter.recorder()).map_err(|_| {
            Error::Config(
                "a metrics recorder is already installed in this process; install the reporter once, or use Reporter::builder().build() with metrics::with_local_recorder"
                    .to_owned(),
            )
        })?;
        let inner = Arc::clone(&reporter.inner);
        let task = runtime.spawn(async move { inner.run().await });
        *lock(&reporter.inner.task) = Some(task);
        Ok(reporter)
    }
}

/// Reports the `metrics` facade's counters, gauges and histograms as
/// [`Metric`] records, one per series every interval.
///
/// ```no_run
/// # async fn run(store: esrecord::Store) -> esrecord::Result<()> {
/// use esrecord::metrics::Reporter;
///
/// let reporter = Reporter::builder().tag("service", "shop").install(&store)?;
/// metrics::counter!("orders", "city" => "blr").increment(1);
/// reporter.close().await?; // reports the last interval, then flushes the store
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Reporter {
    inner: Arc<Inner>,
}

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reporter")
            .field("interval", &self.inner.interval)
            .finish_non_exhaustive()
    }
}

struct Inner {
    shared: Arc<Shared>,
    store: Store,
    interval: Duration,
    state: Mutex<State>,
    stop: Notify,
    task: Mutex<Option<JoinHandle<()>>>,
}

struct State {
    collector: Collector,
    callbacks: Vec<(String, CallbackFn)>,
    self_metrics: Option<SelfMetrics>,
    process: Option<ProcessMetrics>,
}

impl Reporter {
    /// A builder over the store's `[metrics]` configuration, whose
    /// defaults are 10 s, `esrecord` sanitizing, 25 tags, 10,000 series,
    /// host tag, self metrics, no meters, no process metrics.
    pub fn builder() -> ReporterBuilder {
        ReporterBuilder {
            edits: Vec::new(),
            global_tags: None,
            tags: BTreeMap::new(),
            clock: None,
        }
    }

    /// The recorder, for `metrics::with_local_recorder`.
    pub fn recorder(&self) -> EsrecordRecorder {
        EsrecordRecorder {
            shared: Arc::clone(&self.inner.shared),
        }
    }

    /// The reporting interval.
    pub fn interval(&self) -> Duration {
        self.inner.interval
    }

    /// A gauge read from `read` at every interval, such as a queue's length.
    pub fn gauge_fn(&self, name: &str, read: impl Fn() -> f64 + Send + Sync + 'static) {
        lock(&self.inner.state)
            .callbacks
            .push((name.to_owned(), Box::new(read)));
    }

    /// The points of the interval that starts at `start`, without storing
    /// them (what [`Reporter::report`] stores).
    pub fn collect(&self, start: DateTime<Utc>) -> Vec<Metric> {
        self.inner.collect(start)
    }

    /// Collects the interval that starts at `start` and records its points
    /// in the store; returns how many.
    pub fn report(&self, start: DateTime<Utc>) -> Result<usize> {
        self.inner.report(start)
    }

    /// Reports the interval in progress, then flushes the store.
    pub async fn flush(&self) -> Result<Stats> {
        self.inner.report(self.inner.current_start())?;
        self.inner.store.flush().await
    }

    /// Stops the background task, reports the interval in progress, and
    /// flushes the store (which stays open for other uses).
    pub async fn close(&self) -> Result<Stats> {
        self.inner.stop.notify_one();
        let task = lock(&self.inner.task).take();
        if let Some(task) = task {
            let _ = task.await;
        }
        self.flush().await
    }
}

impl Inner {
    async fn run(&self) {
        loop {
            let now = Utc::now();
            let next = floor(now, self.interval) + delta(self.interval);
            let wait = (next - now).to_std().unwrap_or_default();
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.stop.notified() => return,
            }
            if let Err(error) = self.report(next - delta(self.interval)) {
                tracing::warn!("esrecord metrics: an interval was not recorded: {error}");
            }
        }
    }

    fn current_start(&self) -> DateTime<Utc> {
        floor(Utc::now(), self.interval)
    }

    fn collect(&self, start: DateTime<Utc>) -> Vec<Metric> {
        let start = floor(start, self.interval);
        let mut state = lock(&self.state);
        let State {
            collector,
            callbacks,
            self_metrics,
            process,
        } = &mut *state;
        let mut points = collector.collect(&self.shared, start, self.interval);
        for (name, read) in callbacks.iter() {
            if let Some(name) = self.shared.sanitize.apply(name) {
                let mut point = Metric::new(start, &name, MetricKind::Gauge);
                point.tags = self.shared.base_tags.clone();
                point.last = finite(read());
                points.push(point);
            }
        }
        if let Some(process) = process {
            points.extend(process.points(&self.shared, start));
        }
        if let Some(own) = self_metrics {
            let series = points.len();
            points.extend(own.points(&self.shared, &self.store.stats(), start, series));
        }
        let seconds = self.interval.as_secs_f64();
        for point in &mut points {
            point.interval = Some(seconds);
        }
        points
    }

    fn report(&self, start: DateTime<Utc>) -> Result<usize> {
        let points = self.collect(start);
        let count = points.len();
        for point in points {
            self.store.record(point)?;
        }
        Ok(count)
    }
}

/// `time` floored to a multiple of `interval` since the epoch.
pub(crate) fn floor(time: DateTime<Utc>, interval: Duration) -> DateTime<Utc> {
    let step = i64::try_from(interval.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    let ms = time.timestamp_millis();
    DateTime::from_timestamp_millis(ms - ms.rem_euclid(step)).unwrap_or(time)
}

fn delta(interval: Duration) -> TimeDelta {
    TimeDelta::from_std(interval).unwrap_or(TimeDelta::MAX)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
