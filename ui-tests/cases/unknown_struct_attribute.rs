// A misspelt struct attribute (`timedpeth`) is rejected and the known ones are listed.
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop", timedpeth = "day")]
struct PageView {
    timestamp: DateTime<Utc>,
    path: String,
}

fn main() {}
