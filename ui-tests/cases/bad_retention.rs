// `retention` is a whole number and a unit, like "90d"; "90 days" is rejected.
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop", retention = "90 days")]
struct PageView {
    timestamp: DateTime<Utc>,
    path: String,
}

fn main() {}
