// A struct field without `#[derive(Composite)]` has no mapping.
use chrono::{DateTime, Utc};

#[derive(serde::Serialize, serde::Deserialize)]
struct Latency {
    p50_ms: f64,
    p99_ms: f64,
}

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    timestamp: DateTime<Utc>,
    latency: Latency,
}

fn main() {}
