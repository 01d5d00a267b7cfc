//! Bulk encoding: a record as the two NDJSON lines of an Elasticsearch
//! `_bulk` request (action and source), written straight into a buffer.

use crate::error::{Error, Result};
use crate::record::Record;
use crate::record_type::RecordType;

/// The operation of one bulk item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    /// Write the document unless one with its id exists: a retried send can
    /// never duplicate a record.
    Create,
    /// Write the document, replacing one with the same id
    /// (`unique_together` types, which overwrite on purpose).
    Index,
}

impl BulkAction {
    /// The action a record of `record_type` is written with.
    pub fn for_type(record_type: &RecordType) -> Self {
        if record_type.unique_together().is_empty() {
            BulkAction::Create
        } else {
            BulkAction::Index
        }
    }

    /// The action line up to the index name's string.
    fn opening(self) -> &'static [u8] {
        match self {
            BulkAction::Create => b"{\"create\":{\"_index\":",
            BulkAction::Index => b"{\"index\":{\"_index\":",
        }
    }
}

/// Appends the action line of a document whose index and id are known,
/// ending in a newline.
pub(crate) fn write_action(out: &mut Vec<u8>, action: BulkAction, index: &str, id: &str) {
    out.extend_from_slice(action.opening());
    write_json_string(out, index);
    write_id_and_close(out, Some(id));
}

fn write_id_and_close(out: &mut Vec<u8>, id: Option<&str>) {
    if let Some(id) = id {
        out.extend_from_slice(b",\"_id\":");
        write_json_string(out, id);
    }
    out.extend_from_slice(b"}}\n");
}

/// Appends `record` to `out` as a bulk line pair: the action line (its index
/// from the record's timestamp, and `id` if given) and the source line, each
/// ending in a newline. On error `out` is left as it was.
///
/// ```
/// use esrecord::{Record, bulk::encode_record};
/// use chrono::{TimeZone, Utc};
///
/// #[derive(Record, serde::Serialize, serde::Deserialize)]
/// #[record(app_label = "shop")]
/// struct PageView { timestamp: chrono::DateTime<Utc>, path: String }
///
/// let view = PageView { timestamp: Utc.with_ymd_and_hms(2024, 3, 5, 7, 8, 9).unwrap(), path: "/".into() };
/// let mut out = Vec::new();
/// encode_record(&mut out, PageView::record_type(), &view, Some("id-1")).unwrap();
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     "{\"create\":{\"_index\":\"shop_pageview_2024.03.05\",\"_id\":\"id-1\"}}\n\
///      {\"timestamp\":\"2024-03-05T07:08:09Z\",\"path\":\"/\"}\n"
/// );
/// ```
pub fn encode_record<R: Record>(
    out: &mut Vec<u8>,
    record_type: &RecordType,
    record: &R,
    id: Option<&str>,
) -> Result<()> {
    let start = out.len();
    let result = write_pair(out, record_type, record, id);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn write_pair<R: Record>(
    out: &mut Vec<u8>,
    record_type: &RecordType,
    record: &R,
    id: Option<&str>,
) -> Result<()> {
    let serialize_error = |source| Error::Serialize {
        what: format!("a {} record", record_type.rust_path()),
        source,
    };
    out.extend_from_slice(BulkAction::for_type(record_type).opening());
    // The index name is written in place from the timestamp, in quotes.
    let quote = out.len();
    out.push(b'"');
    record_type.write_index_of(record, out);
    if any_needs_escape(&out[quote + 1..]) {
        // Only an unvalidated prefix can bring these in.
        let index = String::from_utf8_lossy(&out.split_off(quote + 1)).into_owned();
        out.truncate(quote);
        write_json_string(out, &index);
    } else {
        out.push(b'"');
    }
    write_id_and_close(out, id);
    serde_json::to_writer(&mut *out, record).map_err(serialize_error)?;
    out.push(b'\n');
    Ok(())
}

/// Whether a JSON string of these bytes needs escapes. Branch-free, so the
/// compiler vectorizes it: this runs twice for every record sent.
fn any_needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |any, &b| {
        any | (b == b'"') | (b == b'\\') | (b < 0x20)
    })
}

/// Appends `s` as a JSON string. Ids and index names rarely need escaping,
/// so the common case is a copy.
fn write_json_string(out: &mut Vec<u8>, s: &str) {
    if any_needs_escape(s.as_bytes()) {
        out.extend_from_slice(serde_json::Value::from(s).to_string().as_bytes());
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}
