//! The record types of the example application. They live in a library, as
//! an application's record types often do; the programs in this package
//! link it and find the types through the registry.

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
