// Each record type has one fixed mapping, so a generic struct is refused; code
// that uses it reports nothing more.
use chrono::{DateTime, Utc};
use esrecord::Record;

#[derive(Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct Sample<T> {
    timestamp: DateTime<Utc>,
    value: T,
}

fn main() {
    let _ = Sample::<f64>::record_type().template_name();
}
