//! The 10-field record the runtime's benchmarks measure (a data stream
//! where a backend has data streams): a timestamp, four
//! integers, three strings, a float, a bool and an optional string.

use chrono::{DateTime, Utc};
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
