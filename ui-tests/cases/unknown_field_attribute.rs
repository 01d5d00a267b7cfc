// A misspelt field attribute (`keywrod`) is rejected and the known ones are listed.
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    timestamp: DateTime<Utc>,
    #[record(keywrod)]
    path: String,
}

fn main() {}
