//! Bulk encoding: a record as the two NDJSON lines of an Elasticsearch
//! `_bulk` request (action and source), written straight into a buffer.

use crate::data_stream::TIMESTAMP;
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
    /// `create` without an id, which Elasticsearch makes: a time series
    /// data stream's, from the point's dimensions and timestamp (TSDS
    /// refuses an id of the writer's). A retried send is answered with a
    /// conflict, as `create` is.
    Append,
}

impl BulkAction {
    /// The action a record of `record_type` is written with.
    pub fn for_type(record_type: &RecordType) -> Self {
        if let Some(stream) = record_type.data_stream() {
            return if stream.is_time_series() {
                BulkAction::Append
            } else {
                BulkAction::Create
            };
        }
        if record_type.unique_together().is_empty() {
            BulkAction::Create
        } else {
            BulkAction::Index
        }
    }

    /// The action line up to the index name's string.
    fn opening(self) -> &'static [u8] {
        match self {
            BulkAction::Create | BulkAction::Append => b"{\"create\":{\"_index\":",
            BulkAction::Index => b"{\"index\":{\"_index\":",
        }
    }

    /// Whether the action line names the document's id.
    fn sends_id(self) -> bool {
        self != BulkAction::Append
    }

    /// Whether a conflict means the document is already stored (a `create`
    /// whose earlier attempt's answer was lost).
    pub(crate) fn conflict_is_written(self) -> bool {
        self != BulkAction::Index
    }
}

/// Appends the action line of a document whose index and id are known,
/// ending in a newline.
pub(crate) fn write_action(out: &mut Vec<u8>, action: BulkAction, index: &str, id: &str) {
    out.extend_from_slice(action.opening());
    write_json_string(out, index);
    write_id_and_close(out, Some(id).filter(|_| action.sends_id()));
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
    let action = BulkAction::for_type(record_type);
    out.extend_from_slice(action.opening());
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
    write_id_and_close(out, id.filter(|_| action.sends_id()));
    let source = out.len();
    serde_json::to_writer(&mut *out, record).map_err(serialize_error)?;
    add_stream_timestamp(out, source, record_type, record.timestamp());
    out.push(b'\n');
    Ok(())
}

/// Adds `@timestamp` to the source that starts at `at`, when the type is
/// written to a data stream and stores its time under another name (see
/// [`data_stream`](crate::data_stream)). The member goes last (members of a
/// JSON object have no order), in place of the closing brace: nothing moves.
fn add_stream_timestamp(
    out: &mut Vec<u8>,
    at: usize,
    record_type: &RecordType,
    timestamp: Option<chrono::DateTime<chrono::Utc>>,
) {
    let needed =
        record_type.data_stream().is_some() && record_type.timestamp_field() != Some(TIMESTAMP);
    let (true, Some(timestamp), Some(b'{')) = (needed, timestamp, out.get(at)) else {
        return;
    };
    // A spooled source may end in whitespace.
    let Some(closing) = out.iter().rposition(|b| !b.is_ascii_whitespace()) else {
        return;
    };
    if out[closing] != b'}' {
        return;
    }
    let empty = out[at + 1..closing].iter().all(u8::is_ascii_whitespace);
    out.truncate(closing);
    if !empty {
        out.push(b',');
    }
    out.extend_from_slice(b"\"@timestamp\":");
    crate::dates::write_json_rfc3339(out, &timestamp);
    out.push(b'}');
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

/// A `_bulk` request body being built: the NDJSON line pairs, and where
/// each item's index, id and source are, so that a backend can read the
/// items back without parsing the action lines. Records are encoded
/// straight into the body: no allocation per record.
///
/// ```
/// use esrecord::bulk::{BulkAction, BulkBuilder};
///
/// let mut builder = BulkBuilder::default();
/// builder.push(BulkAction::Create, "shop_pageview_2024.03.05", "id-1", br#"{"path":"/"}"#)?;
/// let body = builder.finish();
/// assert_eq!(body.len(), 1);
/// assert_eq!(
///     &body.bytes()[..],
///     b"{\"create\":{\"_index\":\"shop_pageview_2024.03.05\",\"_id\":\"id-1\"}}\n{\"path\":\"/\"}\n"
/// );
/// let item = body.get(0).unwrap();
/// assert_eq!((item.index, item.id), ("shop_pageview_2024.03.05", "id-1"));
/// # Ok::<(), esrecord::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct BulkBuilder {
    body: Vec<u8>,
    ids: String,
    items: Vec<ItemSpan>,
    indexes: Vec<String>,
    index_numbers: rustc_hash::FxHashMap<String, u32>,
    /// The index name of the record being added.
    scratch: Vec<u8>,
}

/// Where one item is, in a body and its side tables.
#[derive(Debug)]
struct ItemSpan {
    action: BulkAction,
    /// Its position in the body's list of indexes.
    index: u32,
    id: std::ops::Range<usize>,
    /// Where its action line starts.
    line: usize,
    source: std::ops::Range<usize>,
}

impl BulkBuilder {
    /// Adds a document whose source is already JSON (one object on one
    /// line). A source containing a line break is refused: it would split
    /// the NDJSON body.
    pub fn push(&mut self, action: BulkAction, index: &str, id: &str, source: &[u8]) -> Result<()> {
        if source.contains(&b'\n') {
            return Err(Error::BadRequest(format!(
                "the source of document '{id}' contains a line break; send it as compact JSON on one line"
            )));
        }
        let line = self.body.len();
        write_action(&mut self.body, action, index, id);
        let start = self.body.len();
        self.body.extend_from_slice(source);
        self.body.push(b'\n');
        let index = self.index_number(index);
        self.add_span(action, index, id, line..start);
        Ok(())
    }

    /// Adds a document of `record_type` whose source is already JSON (a
    /// spooled record's), with the action the type is written with and,
    /// for a data stream, `@timestamp` from `timestamp`.
    pub fn push_source(
        &mut self,
        record_type: &RecordType,
        timestamp: Option<chrono::DateTime<chrono::Utc>>,
        id: &str,
        source: &[u8],
    ) -> Result<()> {
        let mut index = std::mem::take(&mut self.scratch);
        index.clear();
        record_type.write_index_for(&timestamp.unwrap_or_default(), &mut index);
        let index_name = String::from_utf8_lossy(&index).into_owned();
        self.scratch = index;
        let action = BulkAction::for_type(record_type);
        if record_type.data_stream().is_none() {
            return self.push(action, &index_name, id, source);
        }
        let mut with_timestamp = source.to_vec();
        add_stream_timestamp(&mut with_timestamp, 0, record_type, timestamp);
        self.push(action, &index_name, id, &with_timestamp)
    }

    /// Adds `record` of `record_type` under `id`, encoded as
    /// [`encode_record`] does. On error nothing is added.
    pub fn push_record<R: Record>(
        &mut self,
        record_type: &RecordType,
        record: &R,
        id: &str,
    ) -> Result<()> {
        let action = BulkAction::for_type(record_type);
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        record_type.write_index_of(record, &mut scratch);
        // Index names are ASCII unless an unvalidated prefix says otherwise.
        let index = match std::str::from_utf8(&scratch) {
            Ok(index) => std::borrow::Cow::Borrowed(index),
            Err(_) => String::from_utf8_lossy(&scratch),
        };
        let start = self.body.len();
        write_action(&mut self.body, action, &index, id);
        let source = self.body.len();
        let written = serde_json::to_writer(&mut self.body, record);
        let outcome = match written {
            Ok(()) => {
                add_stream_timestamp(&mut self.body, source, record_type, record.timestamp());
                self.body.push(b'\n');
                let index = self.index_number(&index);
                self.add_span(action, index, id, start..source);
                Ok(())
            }
            Err(source) => {
                self.body.truncate(start);
                Err(Error::Serialize {
                    what: format!("a {} record", record_type.rust_path()),
                    source,
                })
            }
        };
        drop(index);
        self.scratch = scratch;
        outcome
    }

    /// How many documents the body holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the body holds no document.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The body's size in bytes.
    pub fn byte_len(&self) -> usize {
        self.body.len()
    }

    /// The finished body; the builder starts over, empty.
    pub fn finish(&mut self) -> BulkBody {
        self.index_numbers.clear();
        BulkBody {
            bytes: bytes::Bytes::from(std::mem::take(&mut self.body)),
            layout: std::sync::Arc::new(Layout {
                ids: std::mem::take(&mut self.ids),
                items: std::mem::take(&mut self.items),
                indexes: std::mem::take(&mut self.indexes),
            }),
        }
    }

    fn index_number(&mut self, index: &str) -> u32 {
        if let Some(&number) = self.index_numbers.get(index) {
            return number;
        }
        let number = self.indexes.len() as u32;
        self.indexes.push(index.to_owned());
        self.index_numbers.insert(index.to_owned(), number);
        number
    }

    /// Records the item whose action line starts at `lines.start` and whose
    /// source line starts at `lines.end` and ends the body.
    fn add_span(
        &mut self,
        action: BulkAction,
        index: u32,
        id: &str,
        lines: std::ops::Range<usize>,
    ) {
        let source = lines.end;
        let id_start = self.ids.len();
        self.ids.push_str(id);
        self.items.push(ItemSpan {
            action,
            index,
            id: id_start..self.ids.len(),
            line: lines.start,
            // Without the line's newline.
            source: source..self.body.len() - 1,
        });
    }
}

/// A finished `_bulk` request body (see [`BulkBuilder`]). Cloning it is
/// cheap: the bytes and the item table are shared, so a body can be kept
/// for a retry while it is sent.
#[derive(Debug, Clone)]
pub struct BulkBody {
    bytes: bytes::Bytes,
    layout: std::sync::Arc<Layout>,
}

#[derive(Debug)]
struct Layout {
    ids: String,
    items: Vec<ItemSpan>,
    indexes: Vec<String>,
}

/// One document of a [`BulkBody`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkEntry<'a> {
    /// `create` (never overwrite) or `index` (overwrite).
    pub action: BulkAction,
    /// The index it goes to.
    pub index: &'a str,
    /// Its position in [`BulkBody::indexes`].
    pub index_number: usize,
    /// The document id.
    pub id: &'a str,
    /// The document, as JSON.
    pub source: &'a [u8],
}

impl BulkBody {
    /// The NDJSON body, as sent to Elasticsearch.
    pub fn bytes(&self) -> &bytes::Bytes {
        &self.bytes
    }

    /// How many documents the body holds.
    pub fn len(&self) -> usize {
        self.layout.items.len()
    }

    /// Whether the body holds no document.
    pub fn is_empty(&self) -> bool {
        self.layout.items.is_empty()
    }

    /// The indexes the documents go to, each once, in order of first use.
    pub fn indexes(&self) -> &[String] {
        &self.layout.indexes
    }

    /// The document at `position`.
    pub fn get(&self, position: usize) -> Option<BulkEntry<'_>> {
        let span = self.layout.items.get(position)?;
        let index_number = span.index as usize;
        Some(BulkEntry {
            action: span.action,
            index: self.layout.indexes.get(index_number)?,
            index_number,
            id: self.layout.ids.get(span.id.clone())?,
            source: self.bytes.get(span.source.clone())?,
        })
    }

    /// The documents, in order.
    pub fn entries(&self) -> impl Iterator<Item = BulkEntry<'_>> {
        (0..self.len()).filter_map(|position| self.get(position))
    }

    /// A body of the documents at `positions` only (in that order), to
    /// resend those that failed for a reason that may pass.
    ///
    /// ```
    /// use esrecord::bulk::{BulkAction, BulkBuilder};
    ///
    /// let mut builder = BulkBuilder::default();
    /// for id in ["a", "b", "c"] {
    ///     builder.push(BulkAction::Create, "events", id, b"{}")?;
    /// }
    /// let again = builder.finish().select(&[2, 0]);
    /// assert_eq!(again.entries().map(|e| e.id).collect::<Vec<_>>(), ["c", "a"]);
    /// # Ok::<(), esrecord::Error>(())
    /// ```
    pub fn select(&self, positions: &[usize]) -> BulkBody {
        let mut builder = BulkBuilder::default();
        for span in positions.iter().filter_map(|&p| self.layout.items.get(p)) {
            let (Some(lines), Some(index), Some(id)) = (
                self.bytes.get(span.line..span.source.end + 1),
                self.layout.indexes.get(span.index as usize),
                self.layout.ids.get(span.id.clone()),
            ) else {
                continue;
            };
            let line = builder.body.len();
            builder.body.extend_from_slice(lines);
            let number = builder.index_number(index);
            let source = line + (span.source.start - span.line);
            builder.add_span(span.action, number, id, line..source);
        }
        builder.finish()
    }
}
