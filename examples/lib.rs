//! The record types of the example application. They live in a library, as
//! an application's record types often do; the programs in this package
//! link it and find the types through the registry. [`Lcg`] gives them
//! the same pseudo-random data on every run.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use esrecord::{Composite, Record};
use serde::{Deserialize, Serialize};

/// Request latency percentiles, stored as an object.
#[derive(Composite, Serialize, Deserialize, Debug, Clone)]
pub struct Latency {
    /// Median latency in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency in milliseconds.
    pub p99_ms: f64,
}

/// One page view in the shop.
#[derive(Record, Serialize, Deserialize, Debug, Clone)]
#[record(
    app_label = "shop",
    timedepth = "day",
    retention = "90d",
    settings(number_of_shards = 1, refresh_interval = "5s")
)]
pub struct PageView {
    /// When the page was served.
    pub timestamp: DateTime<Utc>,
    /// The item shown.
    pub item_id: u64,
    /// The request path.
    pub path: String,
    /// How long it took.
    pub latency: Latency,
    /// Free-form metadata, filterable by key.
    pub tags: BTreeMap<String, String>,
}

/// A daily sales summary per item: recording it again for the same day and
/// item replaces the earlier one.
#[derive(Record, Serialize, Deserialize, Debug, Clone)]
#[record(app_label = "shop", timedepth = "month", unique_together(day, item_id))]
pub struct DailySales {
    /// When the summary was computed.
    pub timestamp: DateTime<Utc>,
    /// The day summarized.
    pub day: NaiveDate,
    /// The item summarized.
    pub item_id: u64,
    /// Units sold that day.
    pub units: u32,
    /// Revenue that day, in cents.
    pub revenue_cents: u64,
}

/// The data directory of an example, emptied: `ESRECORD_DATA`, else
/// `default_name` in the system's temporary directory, so that every run
/// starts from nothing.
pub fn fresh_data_dir(default_name: &str) -> Result<std::path::PathBuf, esrecord::Error> {
    let data = std::env::var_os("ESRECORD_DATA")
        .map_or_else(|| std::env::temp_dir().join(default_name), Into::into);
    if data.exists() {
        std::fs::remove_dir_all(&data).map_err(|e| {
            esrecord::Error::Config(format!("cannot clear {}: {e}", data.display()))
        })?;
    }
    Ok(data)
}

/// A small deterministic generator (a linear congruential one), so every
/// run of an example records the same data.
///
/// ```
/// let mut random = esrecord_examples::Lcg(7);
/// assert_ne!(random.draw(), random.draw());
/// ```
#[derive(Debug, Clone)]
pub struct Lcg(pub u64);

impl Lcg {
    /// The next number, 31 bits.
    pub fn draw(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}
