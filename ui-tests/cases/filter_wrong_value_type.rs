// A filter compares a field with a value of its own type.
use esrecord::Record;

#[derive(Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    timestamp: chrono::DateTime<chrono::Utc>,
    item_id: u64,
    path: String,
}

fn main() {
    let f = PageView::fields();
    // A number field with a string, a string field with a number.
    let _ = PageView::search().filter(f.item_id.eq("42"));
    let _ = PageView::search().filter(f.path.gte(3.5));
}
