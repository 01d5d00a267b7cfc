//! The 10-field record the runtime's benchmarks measure (a data stream
//! where a backend has data streams): a timestamp, four
//! integers, three strings, a float, a bool and an optional string.

use chrono::{DateTime, TimeZone, Utc};
use esrecord::Record;
use serde::{Deserialize, Serialize};

#[derive(Record, Serialize, Deserialize, Clone)]
#[record(app_label = "bench", data_stream)]
pub(crate) struct Request {
    pub(crate) timestamp: DateTime<Utc>,
    pub(crate) item_id: u64,
    pub(crate) user_id: u64,
    pub(crate) path: String,
    pub(crate) status: u16,
    pub(crate) bytes: u64,
    pub(crate) duration_ms: f64,
    pub(crate) country: String,
    pub(crate) cached: bool,
    pub(crate) referrer: Option<String>,
}

/// The `i`th request of a day's sample: 37 ms apart from 2024-03-05, 500
/// paths, four countries, one error in 40, a referrer in one of five.
#[allow(dead_code)] // not every benchmark uses it
pub(crate) fn sample(i: usize) -> Request {
    let start = Utc
        .with_ymd_and_hms(2024, 3, 5, 0, 0, 0)
        .single()
        .unwrap_or_default();
    Request {
        timestamp: start + chrono::Duration::milliseconds(i as i64 * 37),
        item_id: i as u64,
        user_id: (i * 7919 % 100_000) as u64,
        path: format!("/items/{}", i % 500),
        status: if i.is_multiple_of(40) { 500 } else { 200 },
        bytes: (i * 131 % 65_536) as u64,
        duration_ms: (i % 1000) as f64 / 7.0,
        country: ["de", "fr", "us", "jp"][i % 4].to_owned(),
        cached: i.is_multiple_of(3),
        referrer: i
            .is_multiple_of(5)
            .then(|| "https://example.org/".to_owned()),
    }
}
