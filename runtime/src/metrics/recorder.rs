//! The `metrics::Recorder` the reporter installs: it admits each new
//! series (sanitizing, tag and series limits) and keeps its storage in a
//! `metrics-util` registry.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_util::MetricKindMask;
use metrics_util::registry::Recency;

use super::point::MetricKind;
use super::sanitize::Sanitize;
use super::storage::{MetricRegistry, new_registry};

/// Limits on what one reporter keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Tags per metric, its own and the reporter's together.
    pub(crate) max_tags: usize,
    /// Distinct metric and label sets.
    pub(crate) max_series: usize,
}

/// A series' stored name and tags, worked out once when it is admitted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeriesName {
    pub(crate) name: String,
    pub(crate) tags: BTreeMap<String, String>,
}

/// A [`SeriesName`] as the recorder keeps it: the tags in a sorted
/// vector, a tenth of the memory of a small `BTreeMap`, whose first node
/// holds room for eleven entries.
#[derive(Debug, Clone, PartialEq)]
struct KeptName {
    name: String,
    tags: Vec<(String, String)>,
}

/// What `describe_*` said of a metric name.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Description {
    pub(crate) unit: Option<Unit>,
    pub(crate) text: String,
}

/// The recorder's state, shared with the reporter that reads it.
pub(crate) struct Shared {
    pub(crate) registry: MetricRegistry,
    pub(crate) recency: Recency<Key>,
    pub(crate) sanitize: Sanitize,
    pub(crate) base_tags: BTreeMap<String, String>,
    pub(crate) limits: Limits,
    /// Series admitted (made exact again at each collection).
    pub(crate) series: AtomicUsize,
    /// Registrations refused by a limit or a name, in all.
    pub(crate) refused: AtomicU64,
    refused_names: Mutex<HashSet<String>>,
    descriptions: Mutex<HashMap<String, Description>>,
    names: Mutex<HashMap<Key, KeptName>>,
}

impl Shared {
    pub(crate) fn new(
        sanitize: Sanitize,
        base_tags: BTreeMap<String, String>,
        limits: Limits,
        clock: quanta::Clock,
        idle_timeout: Option<Duration>,
    ) -> Shared {
        Shared {
            registry: new_registry(),
            recency: Recency::new(
                clock,
                MetricKindMask::COUNTER | MetricKindMask::HISTOGRAM,
                idle_timeout,
            ),
            sanitize,
            base_tags,
            limits,
            series: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
            refused_names: Mutex::new(HashSet::new()),
            descriptions: Mutex::new(HashMap::new()),
            names: Mutex::new(HashMap::new()),
        }
    }

    /// The stored name and tags of an admitted series.
    pub(crate) fn series_name(&self, key: &Key) -> Option<SeriesName> {
        let names = lock(&self.names);
        let kept = names.get(key)?;
        Some(SeriesName {
            name: kept.name.clone(),
            tags: kept.tags.iter().cloned().collect(),
        })
    }

    /// Forgets an expired series' name.
    pub(crate) fn forget(&self, key: &Key) {
        lock(&self.names).remove(key);
    }

    /// What `describe_*` said of `name`, if anything.
    pub(crate) fn description(&self, name: &str) -> Option<Description> {
        lock(&self.descriptions).get(name).cloned()
    }

    /// Admits a new series, or says why not (then counts it and warns
    /// once per metric name).
    fn admit(&self, kind: MetricKind, key: &Key) -> bool {
        if lock(&self.names).contains_key(key) {
            return true;
        }
        match self.name_series(key) {
            Ok(series) => {
                if self.series.fetch_add(1, Ordering::AcqRel) >= self.limits.max_series {
                    self.series.fetch_sub(1, Ordering::AcqRel);
                    self.refuse(kind, key, &format!(
                        "the reporter already keeps max_series = {} series; raise it or use fewer label values",
                        self.limits.max_series
                    ));
                    return false;
                }
                let kept = KeptName {
                    name: series.name,
                    tags: series.tags.into_iter().collect(),
                };
                lock(&self.names).insert(key.clone(), kept);
                true
            }
            Err(problem) => {
                self.refuse(kind, key, &problem);
                false
            }
        }
    }

    fn name_series(&self, key: &Key) -> Result<SeriesName, String> {
        let name = self
            .sanitize
            .apply(key.name())
            .ok_or_else(|| "its name has nothing left that can be stored".to_owned())?;
        let mut tags = self.base_tags.clone();
        for label in key.labels() {
            let tag = self.sanitize.apply(label.key()).ok_or_else(|| {
                format!(
                    "label {:?} has nothing left that can be stored",
                    label.key()
                )
            })?;
            tags.insert(tag, label.value().to_owned());
        }
        if tags.len() > self.limits.max_tags {
            return Err(format!(
                "it would carry {} tags (its labels and the reporter's), more than max_tags = {}",
                tags.len(),
                self.limits.max_tags
            ));
        }
        Ok(SeriesName { name, tags })
    }

    fn refuse(&self, kind: MetricKind, key: &Key, problem: &str) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        if lock(&self.refused_names).insert(key.name().to_owned()) {
            tracing::warn!(
                metric = key.name(),
                "esrecord metrics: {} {:?} is not recorded: {problem} (said once per metric; refusals are counted in esrecord.reporter.refused)",
                kind.as_str(),
                key.name()
            );
        }
    }

    fn describe(&self, key: KeyName, unit: Option<Unit>, text: SharedString) {
        lock(&self.descriptions).insert(
            key.as_str().to_owned(),
            Description {
                unit,
                text: text.into_owned(),
            },
        );
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The maps stay consistent between statements: a poisoned lock is used as it is.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// esrecord's `metrics::Recorder`: install it globally with
/// [`Reporter::install`](super::Reporter::install), or use
/// [`Reporter::recorder`](super::Reporter::recorder) with
/// `metrics::with_local_recorder`.
#[derive(Clone)]
pub struct EsrecordRecorder {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for EsrecordRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EsrecordRecorder")
            .field("series", &self.shared.series.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Recorder for EsrecordRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.shared.describe(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.shared.describe(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.shared.describe(key, unit, description);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        if let Some(known) = self.shared.registry.get_counter(key) {
            return known.into();
        }
        if !self.shared.admit(MetricKind::Counter, key) {
            return Counter::noop();
        }
        self.shared
            .registry
            .get_or_create_counter(key, |c| c.clone().into())
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        if let Some(known) = self.shared.registry.get_gauge(key) {
            return known.into();
        }
        if !self.shared.admit(MetricKind::Gauge, key) {
            return Gauge::noop();
        }
        self.shared
            .registry
            .get_or_create_gauge(key, |g| g.clone().into())
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        if let Some(known) = self.shared.registry.get_histogram(key) {
            return known.into();
        }
        if !self.shared.admit(MetricKind::Histogram, key) {
            return Histogram::noop();
        }
        self.shared
            .registry
            .get_or_create_histogram(key, |h| h.clone().into())
    }
}
