// `keyword` and `text` both set a field's mapping; only one may be given.
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    timestamp: DateTime<Utc>,
    #[record(keyword, text)]
    path: String,
}

fn main() {}
