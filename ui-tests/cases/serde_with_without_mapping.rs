// A field written by `#[serde(with = ...)]` needs an explicit `#[record(mapping)]`.
use chrono::{DateTime, Utc};

mod as_seconds {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_secs)
    }
}

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    timestamp: DateTime<Utc>,
    #[serde(with = "as_seconds")]
    elapsed: std::time::Duration,
}

fn main() {}
