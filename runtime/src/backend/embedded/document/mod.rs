//! From a bulk item's source to a tantivy document, with Elasticsearch's
//! per-item errors.
//!
//! The source is walked as Elasticsearch's document parser walks it: objects
//! recurse with dotted paths (`{"latency": {"p99_ms": 1}}` and
//! `{"latency.p99_ms": 1}` are the same field), arrays give a field several
//! values, nulls are skipped. A `flattened` field or an object mapped by a
//! dynamic template takes its whole sub-object as one JSON value. Fields the
//! mapping does not know are rejected when the mapping is strict and kept in
//! `_source` only otherwise. The document always gets `_id` and `_source`
//! (the bytes exactly as given).
//!
//! The walk is split by what it meets:
//!
//! - `mod.rs`: the parser, the walk over objects and the dispatch of each
//!   key to what its mapping makes it;
//! - `keys.rs`: the keys of the objects being walked (a key repeated in one
//!   object is rejected);
//! - `objects.rs`: mapped objects, and fields the mapping does not know;
//! - `leaf.rs`: the values of leaf fields, and the checks on them;
//! - `json.rs`: `flattened` fields and objects mapped by dynamic templates,
//!   each one tantivy JSON value.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use tantivy::TantivyDocument;
use tantivy::schema::OwnedValue;

use self::json::{JsonField, JsonValue, nest_dotted};
use self::keys::OpenKeys;
use self::leaf::Leaf;
use self::objects::ObjectValue;
use super::schema::{FieldKind, PartitionSchema};

mod json;
mod keys;
mod leaf;
mod objects;

/// Elasticsearch's metadata fields, which a source may not contain.
const METADATA_FIELDS: &[&str] = &[
    "_id",
    "_index",
    "_source",
    "_routing",
    "_version",
    "_seq_no",
    "_primary_term",
    "_ignored",
    "_field_names",
    "_doc_count",
    "_tier",
    "_data_stream_timestamp",
];

/// Why one bulk item was rejected, in Elasticsearch's terms (the `type` and
/// `reason` of the item's `error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ItemError {
    /// `mapper_parsing_exception`, `strict_dynamic_mapping_exception` or
    /// `illegal_argument_exception`.
    pub(crate) error_type: &'static str,
    /// What is wrong, naming the field and the value.
    pub(crate) reason: String,
}

impl ItemError {
    /// A `mapper_parsing_exception`.
    fn parsing(reason: String) -> Self {
        ItemError {
            error_type: "mapper_parsing_exception",
            reason,
        }
    }
}

/// Builds the tantivy document for `source`, stored under `id`, in a
/// partition with `schema`.
#[cfg(test)]
pub(crate) fn to_document(
    schema: &PartitionSchema,
    id: &str,
    source: &[u8],
) -> Result<TantivyDocument, ItemError> {
    DocumentParser::default().parse(schema, id, source)
}

/// Turns sources into tantivy documents, streaming through each source
/// once (no intermediate JSON tree); keeps its buffers from one document to
/// the next.
#[derive(Debug, Default)]
pub(crate) struct DocumentParser {
    path: String,
    keys: OpenKeys,
}

impl DocumentParser {
    /// Builds the tantivy document for `source`, stored under `id`, in a
    /// partition with `schema`.
    pub(crate) fn parse(
        &mut self,
        schema: &PartitionSchema,
        id: &str,
        source: &[u8],
    ) -> Result<TantivyDocument, ItemError> {
        self.path.clear();
        self.keys.close(0);
        let mut walker = Walker {
            schema,
            id,
            doc: TantivyDocument::new(),
            path: std::mem::take(&mut self.path),
            keys: std::mem::take(&mut self.keys),
            failure: None,
        };
        walker.doc.add_text(schema.id, id);
        walker.doc.add_bytes(schema.source, source);
        let mut json = serde_json::Deserializer::from_slice(source);
        let parsed = Root(&mut walker)
            .deserialize(&mut json)
            .and_then(|()| json.end());
        self.path = std::mem::take(&mut walker.path);
        self.keys = std::mem::take(&mut walker.keys);
        match (walker.failure, parsed) {
            (Some(failure), _) => Err(failure),
            (None, Ok(())) => Ok(walker.doc),
            (None, Err(error)) => Err(ItemError::parsing(format!(
                "failed to parse the document with id '{id}': {error}; send each document as one JSON object"
            ))),
        }
    }
}

/// The state of one document's walk.
struct Walker<'a> {
    schema: &'a PartitionSchema,
    id: &'a str,
    doc: TantivyDocument,
    /// The path of the field being read.
    path: String,
    keys: OpenKeys,
    /// Why the document was rejected; the JSON reader then stops with a
    /// placeholder error.
    failure: Option<ItemError>,
}

impl Walker<'_> {
    /// Records why the document is rejected and stops the JSON reader.
    fn fail<E: de::Error>(&mut self, failure: ItemError) -> E {
        self.failure = Some(failure);
        E::custom("the document was rejected")
    }

    /// Runs `step` with the current path, for the steps that take a
    /// finished value.
    fn at_path<T, E: de::Error>(
        &mut self,
        step: impl FnOnce(&mut Self, &str) -> Result<T, ItemError>,
    ) -> Result<T, E> {
        let path = std::mem::take(&mut self.path);
        let outcome = step(self, &path);
        self.path = path;
        outcome.map_err(|failure| self.fail(failure))
    }

    /// Adds every field of the object whose path is `self.path`.
    fn object<'de, A: MapAccess<'de>>(&mut self, mut map: A) -> Result<(), A::Error> {
        let parent = self.path.len();
        let frame = self.keys.open();
        loop {
            if parent > 0 {
                self.path.push('.');
            }
            let key_start = self.path.len();
            if map.next_key_seed(KeySeed(&mut self.path))?.is_none() {
                self.path.truncate(parent);
                break;
            }
            let key = self.path.get(key_start..).unwrap_or_default();
            if !self.keys.insert(frame, key) {
                let failure = ItemError::parsing(format!(
                    "Duplicate field '{key}' in document with id '{}'; send each key once per object",
                    self.id
                ));
                return Err(self.fail(failure));
            }
            self.field(&mut map, parent == 0, key_start)?;
            self.path.truncate(parent);
        }
        self.keys.close(frame);
        Ok(())
    }

    /// Adds the value of the key just read (ending `self.path`): a mapped
    /// field, a key below a JSON field written with dots, a mapped object,
    /// or an unknown field.
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        at_root: bool,
        key_start: usize,
    ) -> Result<(), A::Error> {
        let key = self.path.get(key_start..).unwrap_or_default();
        if at_root && METADATA_FIELDS.contains(&key) {
            let failure = ItemError::parsing(format!(
                "Field [{key}] is a metadata field and cannot be added inside a document; remove it from the source (the id goes in the bulk item)"
            ));
            return Err(self.fail(failure));
        }
        if let Some(mapped) = self.schema.fields.get(&self.path).copied() {
            return match mapped.kind {
                FieldKind::Flattened | FieldKind::DynamicObject(_) => {
                    map.next_value_seed(JsonField {
                        walker: self,
                        mapped,
                    })
                }
                kind => map.next_value_seed(Leaf {
                    walker: self,
                    mapped,
                    kind,
                }),
            };
        }
        if let Some(resolved) = self.schema.resolve(&self.path) {
            // A key below a JSON field written with dots at the document
            // level (`{"tags.platform": "ios"}`): added as its own object.
            let (field, kind) = (resolved.field, resolved.kind);
            let key = resolved.json_path.to_owned();
            if let Err(failure) = self.check_key_parts(&key) {
                return Err(self.fail(failure));
            }
            let depth = key.split('.').count();
            let value = map.next_value_seed(JsonValue {
                walker: self,
                kind,
                depth,
            })?;
            if let Some(value) = value {
                let object = OwnedValue::Object(vec![nest_dotted(key, value)]);
                self.doc.add_field_value(field, &object);
            }
            return Ok(());
        }
        if self.is_object(&self.path) {
            return map.next_value_seed(ObjectValue(self));
        }
        self.at_path(|walker, path| walker.unknown(path))?;
        map.next_value::<IgnoredAny>().map(drop)
    }
}

// ----- the JSON reader's side -------------------------------------------------

/// The whole source: an object.
struct Root<'w, 'a>(&'w mut Walker<'a>);

impl<'de> DeserializeSeed<'de> for Root<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Root<'_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0.object(map)
    }
}

/// A key, appended to the path.
struct KeySeed<'p>(&'p mut String);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<(), E> {
        self.0.push_str(key);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::Value;
    use tantivy::Term;
    use tantivy::collector::Count;
    use tantivy::query::TermQuery;
    use tantivy::schema::{IndexRecordOption, Value as _};

    use super::*;
    use crate::backend::embedded::test_schema::schema;
    use crate::backend::embedded::values;

    /// Why `source` is rejected.
    pub(super) fn error(schema: &PartitionSchema, source: &str) -> ItemError {
        to_document(schema, "doc-1", source.as_bytes()).unwrap_err()
    }

    /// How many documents hold `term`.
    pub(super) fn count(searcher: &tantivy::Searcher, term: Term) -> usize {
        searcher
            .search(&TermQuery::new(term, IndexRecordOption::Basic), &Count)
            .unwrap()
    }

    /// The term of `value` at `path`, a key below a JSON field.
    pub(super) fn json_term(schema: &PartitionSchema, path: &str, value: Value) -> Term {
        values::term(&schema.resolve(path).unwrap(), &value).unwrap()
    }

    #[test]
    fn id_and_exact_source_are_always_added() {
        let schema = schema(true);
        let source = br#"{ "path" : "/a",  "status": 200 }"#;
        let doc = to_document(&schema, "abc", source).unwrap();
        assert_eq!(
            doc.get_first(schema.id).and_then(|v| v.as_str()),
            Some("abc")
        );
        assert_eq!(
            doc.get_first(schema.source).and_then(|v| v.as_bytes()),
            Some(&source[..])
        );
    }

    #[test]
    fn wrong_types_are_mapper_parsing_exceptions() {
        let schema = schema(true);
        let cases = [
            (
                r#"{"status": "abc"}"#,
                "failed to parse field [status] of type [long] in document with id 'doc-1'",
            ),
            (r#"{"status": 1.5}"#, "[status] of type [long]"),
            (r#"{"status": 1e300}"#, "out of range"),
            (r#"{"status": "NaN"}"#, "finite"),
            (
                r#"{"latency": {"p99_ms": "Infinity"}}"#,
                "[latency.p99_ms] of type [double]",
            ),
            (r#"{"latency": {"p99_ms": "nan"}}"#, "finite"),
            (r#"{"status": {"code": 1}}"#, "[status] of type [long]"),
            (
                r#"{"timestamp": "yesterday"}"#,
                "[timestamp] of type [date]",
            ),
            (
                r#"{"client": {"ip": "10.0.0"}}"#,
                "[client.ip] of type [ip]",
            ),
            (r#"{"latency": 5}"#, "object mapping for [latency]"),
            (r#"{"tags": "ios"}"#, "[tags] of type [flattened]"),
            (r#"{"tags": {"a..b": "x"}}"#, "empty part"),
            (r#"{"tags": {"a\u0000b": "x"}}"#, "NUL"),
            (r#"{"tags.": "x"}"#, "empty part"),
            (
                r#"{"status.code": 1}"#,
                "[status] is mapped as [long], not as an object",
            ),
            (r#"{"_id": "other"}"#, "metadata field"),
        ];
        for (source, expected) in cases {
            let error = error(&schema, source);
            assert_eq!(error.error_type, "mapper_parsing_exception", "{source}");
            assert!(
                error.reason.contains(expected),
                "{source}: {}",
                error.reason
            );
        }
    }

    #[test]
    fn escaped_keys_and_values_are_read_as_their_text() {
        let schema = schema(true);
        let source = br#"{"p\u0061th": "caf\u00e9 \"au\" lait"}"#;
        let doc = to_document(&schema, "1", source).unwrap();
        let path = doc
            .get_first(schema.fields["path"].field)
            .and_then(|v| v.as_str());
        assert_eq!(path, Some("caf\u{e9} \"au\" lait"));
    }

    #[test]
    fn sources_that_are_not_objects_are_rejected() {
        let schema = schema(true);
        for source in [
            "[1, 2]",
            "42",
            "\"text\"",
            "null",
            "",
            "{\"path\": ",
            "{\"status\": 1e400}",
        ] {
            let error = error(&schema, source);
            assert_eq!(error.error_type, "mapper_parsing_exception", "{source}");
            assert!(
                error.reason.contains("JSON object"),
                "{source}: {}",
                error.reason
            );
        }
    }
}
