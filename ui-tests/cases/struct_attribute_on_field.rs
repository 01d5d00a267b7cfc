// A struct attribute written on a field is rejected with a hint to move it.
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    #[record(timedepth = "day")]
    timestamp: DateTime<Utc>,
    path: String,
}

fn main() {}
