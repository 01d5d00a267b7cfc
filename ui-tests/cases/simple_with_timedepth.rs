// A `simple` record has one index, so `timedepth` does not apply.
#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop", simple, timedepth = "day")]
struct Setting {
    key: String,
    value: String,
}

fn main() {}
