// `#[record(mapping = ...)]` must be valid JSON (here: a trailing comma).
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    timestamp: DateTime<Utc>,
    #[record(mapping = r#"{"type": "keyword",}"#)]
    path: String,
}

fn main() {}
