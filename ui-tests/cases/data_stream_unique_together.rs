// A data stream only appends, so a record that replaces itself by id
// (`unique_together`) cannot be one: refused at compile time.
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop", data_stream, unique_together(sku))]
struct Stock {
    timestamp: DateTime<Utc>,
    #[record(keyword)]
    sku: String,
    count: u32,
}

fn main() {}
