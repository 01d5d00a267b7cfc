// Index names are lowercase, so `app_label` cannot have uppercase letters.
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "Shop")]
struct PageView {
    timestamp: DateTime<Utc>,
    path: String,
}

fn main() {}
