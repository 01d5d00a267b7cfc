// `template` is an index pattern and must contain a `*`.
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop", template = "shop_pviews")]
struct PageView {
    timestamp: DateTime<Utc>,
    path: String,
}

fn main() {}
