// `#[record(text)]` applies to string fields only.
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    timestamp: DateTime<Utc>,
    #[record(text)]
    item_id: u64,
}

fn main() {}
