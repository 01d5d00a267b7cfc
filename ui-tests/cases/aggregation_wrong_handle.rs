// An aggregation's result reads as its handle's type; averages take numbers.
use esrecord::search::aggs;
use esrecord::Record;
use esrecord::search::SearchResults;

#[derive(Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    timestamp: chrono::DateTime<chrono::Utc>,
    item_id: u64,
    path: String,
}

fn main() {
    let f = PageView::fields();
    let top_paths = aggs::terms(&f.path, 3);
    let results = SearchResults::<PageView> {
        total: 0,
        hits: Vec::new(),
        aggregations: None,
    };
    // Buckets read back as a number.
    let _mean: Option<f64> = results.read(&top_paths).unwrap();
    // The mean of a string field.
    let _ = aggs::avg(&f.path);
}
