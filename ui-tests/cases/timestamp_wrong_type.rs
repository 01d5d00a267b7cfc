// The field named `timestamp` must be a `DateTime<Utc>`, not epoch seconds.
#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    timestamp: i64,
    path: String,
}

fn main() {}
