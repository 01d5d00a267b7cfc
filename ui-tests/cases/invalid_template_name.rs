// `template_name` follows the index-name rules: it cannot start with `_`.
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop", template_name = "_shop_pviews")]
struct PageView {
    timestamp: DateTime<Utc>,
    path: String,
}

fn main() {}
