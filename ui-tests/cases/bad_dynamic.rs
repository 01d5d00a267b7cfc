// `dynamic` accepts only "strict", "true", "false" or "runtime".
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop", dynamic = "lenient")]
struct PageView {
    timestamp: DateTime<Utc>,
    path: String,
}

fn main() {}
