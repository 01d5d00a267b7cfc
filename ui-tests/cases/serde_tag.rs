// `#[serde(tag = "...")]` changes the stored document's shape, which the mapping cannot follow.
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
#[serde(tag = "kind")]
struct PageView {
    timestamp: DateTime<Utc>,
    path: String,
}

fn main() {}
