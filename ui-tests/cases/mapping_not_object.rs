// `#[record(mapping = ...)]` must be a JSON object, not a bare type name.
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    timestamp: DateTime<Utc>,
    #[record(mapping = r#""keyword""#)]
    path: String,
}

fn main() {}
