// Mistakes in one struct are all reported together, each at its own token.
#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "Shop", timedepth = "week", retention = "forever")]
struct PageView {
    created: u64,
    #[record(keywrod)]
    path: String,
    #[record(mapping = "not json")]
    referrer: String,
}

fn main() {}
