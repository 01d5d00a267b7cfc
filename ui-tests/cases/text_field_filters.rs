// A full-text field is searched by its words; an exact field by its value.
use esrecord::Record;

#[derive(Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "support")]
struct Ticket {
    timestamp: chrono::DateTime<chrono::Utc>,
    #[record(text)]
    subject: String,
    queue: String,
}

fn main() {
    let f = Ticket::fields();
    // Words on a keyword, an exact value and a sort on full text.
    let _ = Ticket::search().filter(f.queue.matches("billing"));
    let _ = Ticket::search().filter(f.subject.eq("Refund not received"));
    let _ = Ticket::search().sort_asc(&f.subject);
}
