// An attribute given twice is an error at its second occurrence.
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop", timedepth = "day")]
#[record(timedepth = "month")]
struct PageView {
    timestamp: DateTime<Utc>,
    path: String,
}

fn main() {}
