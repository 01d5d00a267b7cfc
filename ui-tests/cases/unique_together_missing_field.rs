// `unique_together` can only name fields of the struct.
use chrono::{DateTime, NaiveDate, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop", unique_together(day, item))]
struct DailyReport {
    timestamp: DateTime<Utc>,
    day: NaiveDate,
    item_id: u64,
}

fn main() {}
