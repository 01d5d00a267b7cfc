// `name` is part of index names, so it cannot contain spaces or `/`.
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop", name = "page views")]
struct PageView {
    timestamp: DateTime<Utc>,
    path: String,
}

fn main() {}
