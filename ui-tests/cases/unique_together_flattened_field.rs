// A flattened field has no stored name of its own, so it cannot identify a record.
use chrono::{DateTime, Utc};

#[derive(esrecord::Composite, serde::Serialize, serde::Deserialize)]
struct Origin {
    host: String,
}

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop", unique_together(origin))]
struct PageView {
    timestamp: DateTime<Utc>,
    #[serde(flatten)]
    origin: Origin,
}

fn main() {}
