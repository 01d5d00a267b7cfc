// A map field holds strings or numbers; `bool` values are rejected.
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    timestamp: DateTime<Utc>,
    flags: BTreeMap<String, bool>,
}

fn main() {}
