//! Metrics: esrecord as the recorder of the [`metrics`] facade.
//!
//! A [`Reporter`] installs a `metrics::Recorder`; every interval (10 s by
//! default) it stores one [`Metric`] record per metric and label set, with
//! the interval's values: a counter's increase and total, a gauge's last
//! value and the interval's min/max/mean, a histogram's count, sum, min,
//! max, mean and exact quantiles. Metric records are ordinary records
//! (template `esrecord_metric`), so `setup`, `check`, searches, plots and
//! export work on them as on any other type.
//!
//! ```no_run
//! # async fn run() -> esrecord::Result<()> {
//! let store = esrecord::Store::builder().embedded("data").open()?;
//! let reporter = esrecord::metrics::Reporter::builder()
//!     .tag("service", "shop")
//!     .install(&store)?;
//! metrics::counter!("orders", "city" => "blr").increment(1);
//! metrics::histogram!("checkout.seconds").record(0.25);
//! reporter.close().await?;
//! # Ok(()) }
//! ```

mod aggregator;
mod catalog;
mod collect;
mod meter;
mod point;
mod process;
mod quantiles;
mod recorder;
mod reporter;
mod sanitize;
mod self_metrics;
mod series;
pub(crate) mod settings;
mod storage;
mod tags;

pub use aggregator::Aggregator;
pub use catalog::{NamePattern, SeriesSummary, list};
pub use meter::{Ewma, TICK};
pub use point::{Metric, MetricFields, MetricKind};
pub use quantiles::{QUANTILES, Summary};
pub use recorder::EsrecordRecorder;
pub use reporter::{Reporter, ReporterBuilder};
pub use sanitize::Sanitize;
pub use series::{MAX_SERIES_POINTS, MetricValue, Series, SeriesQuery, SeriesSet, series};
pub use settings::{DEFAULT_INTERVAL, MetricsConfig};
pub use tags::{DISABLE_HOST_TAG_VARIABLE, TAGS_VARIABLE, parse_tags};
