// A record that is not `simple` needs a timestamp field.
#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
struct PageView {
    created: u64,
    path: String,
}

fn main() {}
