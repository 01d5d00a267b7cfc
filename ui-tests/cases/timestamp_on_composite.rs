// A Composite has no timestamp of its own: `#[record(timestamp)]` belongs on the record.
use chrono::{DateTime, Utc};

#[derive(esrecord::Composite, serde::Serialize, serde::Deserialize)]
struct Visit {
    #[record(timestamp)]
    at: DateTime<Utc>,
    path: String,
}

fn main() {}
