// `#[record(keyword)]` applies to scalars, not to a Composite struct.
use chrono::{DateTime, Utc};

#[derive(esrecord::Composite, serde::Serialize, serde::Deserialize)]
struct Latency {
    p50_ms: f64,
    p99_ms: f64,
}

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    timestamp: DateTime<Utc>,
    #[record(keyword)]
    latency: Latency,
}

fn main() {}
