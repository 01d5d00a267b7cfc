// `#[derive(Record)]` applies to structs with named fields, not enums.
#[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "shop")]
enum Event {
    Click { x: u32, y: u32 },
    Scroll { offset: u32 },
}

fn main() {}
