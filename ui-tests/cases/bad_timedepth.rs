// `timedepth` accepts only year, month, day or hour.
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop", timedepth = "week")]
struct PageView {
    timestamp: DateTime<Utc>,
    path: String,
}

fn main() {}
