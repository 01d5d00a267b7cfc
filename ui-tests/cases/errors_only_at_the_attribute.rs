// A mistake in the attributes is the only error: the derives still implement
// their traits (with bodies that never run) and the typed field handles, so
// code that uses the types reports nothing more.
use chrono::{DateTime, Utc};
use esrecord::{Composite, Record, Store};

#[derive(Composite, serde::Serialize, serde::Deserialize)]
#[record(timedepth = "day")]
struct Latency {
    p50_ms: f64,
}

#[derive(Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop", timedepth = "week")]
struct PageView {
    timestamp: DateTime<Utc>,
    path: String,
    latency: Latency,
}

fn use_the_types(store: &Store, view: PageView) -> esrecord::Result<()> {
    let _ = PageView::record_type().template_name();
    let _ = PageView::fields().latency.p50_ms.path();
    let _ = PageView::search().filter(PageView::fields().path.eq("/"));
    store.record(view)
}

fn main() {
    let _ = use_the_types;
}
