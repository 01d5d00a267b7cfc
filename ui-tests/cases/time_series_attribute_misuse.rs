// Time-series attributes: a field is a dimension or a metric, not both; the
// timestamp is neither; the metric kind is gauge or counter; the data
// stream's parts are checked.
use chrono::{DateTime, Utc};

#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop", data_stream(type = "metrics", dataset = "shop-sales"))]
struct Sales {
    #[record(dimension)]
    timestamp: DateTime<Utc>,
    #[record(keyword, dimension, time_series_metric = "gauge")]
    store: String,
    #[record(time_series_metric = "histogram")]
    total: f64,
}

fn main() {}
