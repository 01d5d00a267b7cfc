// Struct attributes of a record (`timedepth`, `app_label`) do not apply to a Composite.
#[derive(esrecord::Composite, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop", timedepth = "day")]
struct Latency {
    p50_ms: f64,
    p99_ms: f64,
}

fn main() {}
