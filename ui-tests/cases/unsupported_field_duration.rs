// `std::time::Duration` has no Elasticsearch mapping.
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    timestamp: DateTime<Utc>,
    elapsed: std::time::Duration,
}

fn main() {}
