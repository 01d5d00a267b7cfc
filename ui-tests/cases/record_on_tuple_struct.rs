// `#[derive(Record)]` applies to structs with named fields, not tuple structs.
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView(DateTime<Utc>, String);

fn main() {}
