// Map fields need `String` keys: a `BTreeMap<u32, String>` has no mapping.
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    timestamp: DateTime<Utc>,
    labels: BTreeMap<u32, String>,
}

fn main() {}
