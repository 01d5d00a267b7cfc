//! The reporter's settings: defaults, the `[metrics]` section of
//! `esrecord.toml`, and what the builder changes in code.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::sanitize::Sanitize;
use crate::error::{Error, Result};

/// The default reporting interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// How a [`Reporter`](super::Reporter) reports, as `esrecord.toml` sets it
/// (`Config::metrics`); the builder's calls win over it.
///
/// ```toml
/// [metrics]
/// interval_ms = 10000        # one point per series per interval (at least 1000)
/// tags = { region = "eu" }   # global tags (ESRECORD_TAGS adds to them, and wins)
/// host_tag = true            # add `host` = the hostname unless a tag sets it
/// sanitize = "esrecord"      # none, esrecord or prometheus
/// max_tags = 25              # tags per metric
/// max_series = 10000         # metric and label sets per reporter
/// idle_timeout_ms = 600000   # drop counters and histograms idle this long (0: never)
/// meters = false             # add mean and 1/5/15-minute rates to counters
/// self_metrics = true        # report esrecord.store.* and esrecord.reporter.*
/// process_metrics = false    # report process.* (feature `process-metrics`)
/// ```
///
/// ```
/// let config = esrecord::config::Config::from_toml(r#"
///     [metrics]
///     interval_ms = 60000
///     tags = { region = "eu" }
///     sanitize = "prometheus"
///     idle_timeout_ms = 0
/// "#).unwrap();
/// assert_eq!(config.metrics.interval, std::time::Duration::from_secs(60));
/// assert_eq!(config.metrics.tags["region"], "eu");
/// assert_eq!(config.metrics.sanitize, esrecord::metrics::Sanitize::Prometheus);
/// assert_eq!(config.metrics.idle_timeout, None);
/// assert!(esrecord::config::Config::from_toml("[metrics]\nsanitize = \"strict\"").is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsConfig {
    /// How often a point is stored per series.
    pub interval: Duration,
    /// Global tags (under `ESRECORD_TAGS`, reporter tags and labels).
    pub tags: BTreeMap<String, String>,
    /// Whether to add `host`; `None` asks `ESRECORD_DISABLE_HOST_TAG`.
    pub host_tag: Option<bool>,
    /// How metric names and tag keys are cleaned.
    pub sanitize: Sanitize,
    /// Tags per metric, labels and reporter tags together.
    pub max_tags: usize,
    /// Distinct metric and label sets one reporter keeps.
    pub max_series: usize,
    /// Counters and histograms idle this long are dropped (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// Whether counters carry meter rates.
    pub meters: bool,
    /// Whether the store's and the reporter's own figures are reported.
    pub self_metrics: bool,
    /// Whether the process's CPU, memory, faults, switches, threads and
    /// file descriptors are reported (needs the `process-metrics` feature).
    pub process_metrics: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            interval: DEFAULT_INTERVAL,
            tags: BTreeMap::new(),
            host_tag: None,
            sanitize: Sanitize::default(),
            max_tags: 25,
            max_series: 10_000,
            idle_timeout: Some(Duration::from_secs(600)),
            meters: false,
            self_metrics: true,
            process_metrics: false,
        }
    }
}

impl MetricsConfig {
    /// Refuses settings a reporter cannot run with.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.interval < Duration::from_secs(1) {
            return Err(Error::Config(format!(
                "metrics interval {:?} is under a second: points are stored per interval, so give at least 1 s",
                self.interval
            )));
        }
        if self.max_tags == 0 || self.max_series == 0 {
            return Err(Error::Config(
                "metrics max_tags and max_series must be at least 1".to_owned(),
            ));
        }
        Ok(())
    }
}

/// The `[metrics]` section as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct MetricsSection {
    interval_ms: Option<u64>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    host_tag: Option<bool>,
    sanitize: Option<String>,
    max_tags: Option<usize>,
    max_series: Option<usize>,
    idle_timeout_ms: Option<u64>,
    meters: Option<bool>,
    self_metrics: Option<bool>,
    process_metrics: Option<bool>,
}

impl MetricsSection {
    /// The section over the defaults, validated.
    pub(crate) fn resolve(self) -> Result<MetricsConfig> {
        let mut config = MetricsConfig::default();
        if let Some(ms) = self.interval_ms {
            config.interval = Duration::from_millis(ms);
        }
        config.tags = self.tags;
        config.host_tag = self.host_tag;
        if let Some(name) = &self.sanitize {
            config.sanitize = Sanitize::from_name(name).ok_or_else(|| {
                Error::Config(format!(
                    "[metrics] sanitize = {name:?} is not a mode; use \"none\", \"esrecord\" or \"prometheus\""
                ))
            })?;
        }
        config.max_tags = self.max_tags.unwrap_or(config.max_tags);
        config.max_series = self.max_series.unwrap_or(config.max_series);
        if let Some(ms) = self.idle_timeout_ms {
            config.idle_timeout = (ms > 0).then(|| Duration::from_millis(ms));
        }
        config.meters = self.meters.unwrap_or(config.meters);
        config.self_metrics = self.self_metrics.unwrap_or(config.self_metrics);
        config.process_metrics = self.process_metrics.unwrap_or(config.process_metrics);
        config.validate().map_err(|error| match error {
            Error::Config(message) => Error::Config(format!("[metrics]: {message}")),
            other => other,
        })?;
        Ok(config)
    }
}
