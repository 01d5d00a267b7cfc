// A field marked `#[record(timestamp)]` must be a `DateTime<Utc>`, not a String.
#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    #[record(timestamp)]
    created_at: String,
    path: String,
}

fn main() {}
