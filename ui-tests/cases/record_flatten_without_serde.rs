// `#[record(flatten)]` alone would map fields that serde still writes nested.
use chrono::{DateTime, Utc};

#[derive(esrecord::Composite, serde::Serialize, serde::Deserialize)]
struct Origin {
    host: String,
}

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    timestamp: DateTime<Utc>,
    #[record(flatten)]
    origin: Origin,
}

fn main() {}
