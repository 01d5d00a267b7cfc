// `#[serde(flatten)]` applies to `#[derive(Composite)]` structs only.
use chrono::{DateTime, Utc};

#[derive(serde::Serialize, serde::Deserialize)]
struct Origin {
    host: String,
    datacenter: String,
}

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    timestamp: DateTime<Utc>,
    #[serde(flatten)]
    origin: Origin,
}

fn main() {}
