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

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use tantivy::TantivyDocument;
use tantivy::schema::OwnedValue;

use super::schema::{FieldKind, LeafKind, MappedField, PartitionSchema};
use super::values;

/// How deep values inside a JSON field may be nested (objects and arrays
/// each count): tantivy indexes deeper values in its fast columns no more,
/// and Elasticsearch's `flattened` fields reject them by default too.
const JSON_DEPTH_LIMIT: usize = 20;

/// The longest keyword Elasticsearch indexes, in UTF-8 bytes.
const MAX_TERM_BYTES: usize = 32_766;

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

/// `parent.key`, or `key` at the root.
fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// The keys of the objects being walked, outer objects first, so that a
/// key repeated in one object is rejected, as Elasticsearch rejects it.
#[derive(Debug, Default)]
struct OpenKeys {
    text: String,
    ends: Vec<usize>,
}

impl OpenKeys {
    /// Where the keys of an object opened now begin.
    fn open(&self) -> usize {
        self.ends.len()
    }

    /// Adds `key` to the object opened at `frame`; false when that object
    /// already has it.
    fn insert(&mut self, frame: usize, key: &str) -> bool {
        let mut start = self.start(frame);
        for &end in self.ends.get(frame..).unwrap_or_default() {
            if self.text.get(start..end) == Some(key) {
                return false;
            }
            start = end;
        }
        self.text.push_str(key);
        self.ends.push(self.text.len());
        true
    }

    /// Forgets the keys of the object opened at `frame`.
    fn close(&mut self, frame: usize) {
        self.text.truncate(self.start(frame));
        self.ends.truncate(frame);
    }

    fn start(&self, frame: usize) -> usize {
        frame
            .checked_sub(1)
            .and_then(|last| self.ends.get(last))
            .copied()
            .unwrap_or(0)
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

    /// Whether the mapping has fields below `path` (it is a mapped object).
    fn is_object(&self, path: &str) -> bool {
        let prefix = format!("{path}.");
        self.schema
            .fields
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(name, _)| name.starts_with(&prefix))
    }

    /// A field the mapping does not have: rejected under a strict mapping
    /// (naming its first unknown segment and the object it would join, as
    /// Elasticsearch does), otherwise left in `_source` only.
    fn unknown(&self, path: &str) -> Result<(), ItemError> {
        if !self.schema.strict {
            return Ok(());
        }
        let (parent, name) = self.first_unmapped(path);
        let prefix = join(parent, name);
        if let Some(mapped) = self.schema.fields.get(&prefix) {
            return Err(ItemError::parsing(format!(
                "could not add [{path}] in document with id '{}': [{prefix}] is mapped as [{}], not as an object; send [{prefix}] as a plain value",
                self.id,
                values::type_name(mapped.kind)
            )));
        }
        let within = if parent.is_empty() { "_doc" } else { parent };
        Err(ItemError {
            error_type: "strict_dynamic_mapping_exception",
            reason: format!(
                "mapping set to strict, dynamic introduction of [{name}] within [{within}] is not allowed; add [{prefix}] to the record type's mapping or remove it from the document"
            ),
        })
    }

    /// The first segment of `path` that is not a mapped object, and the
    /// object path it is in (empty at the root).
    fn first_unmapped<'p>(&self, path: &'p str) -> (&'p str, &'p str) {
        let ends = path
            .match_indices('.')
            .map(|(at, _)| at)
            .chain([path.len()]);
        let mut parent = "";
        for end in ends {
            let prefix = &path[..end];
            if !self.is_object(prefix) {
                let start = if parent.is_empty() {
                    0
                } else {
                    parent.len() + 1
                };
                return (parent, &prefix[start..]);
            }
            parent = prefix;
        }
        (parent, "")
    }

    /// One or more values of a leaf field.
    fn leaf(
        &mut self,
        path: &str,
        mapped: MappedField,
        kind: FieldKind,
        value: &Value,
    ) -> Result<(), ItemError> {
        match value {
            Value::Null => Ok(()),
            Value::Array(items) => items
                .iter()
                .try_for_each(|item| self.leaf(path, mapped, kind, item)),
            _ => {
                let typed = values::document_value(kind, path, value)
                    .map_err(|error| self.failed(path, kind, value, &error))?;
                if kind == FieldKind::Keyword {
                    check_term_length(path, &typed)?;
                }
                self.doc.add_field_value(mapped.field, &typed);
                Ok(())
            }
        }
    }

    /// Checks a key read inside a JSON field (ending `self.path`), in the
    /// object opened at `frame`: given once in its object, with no empty
    /// dotted part.
    fn check_json_key(&mut self, frame: usize, key: &str) -> Result<(), ItemError> {
        if !self.keys.insert(frame, key) {
            return Err(ItemError::parsing(format!(
                "Duplicate field '{}' in document with id '{}'; send each key once per object",
                self.path, self.id
            )));
        }
        self.check_key_parts(key)
    }

    /// Rejects a key with an empty dotted part (`a..b`, `.a`), which
    /// Elasticsearch rejects too, or with the control characters tantivy
    /// uses to encode paths.
    fn check_key_parts(&self, key: &str) -> Result<(), ItemError> {
        if key.split('.').any(str::is_empty) {
            return Err(ItemError::parsing(format!(
                "field name [{}] in document with id '{}' has an empty part; field names cannot be empty, start or end with a dot, or contain two dots in a row",
                self.path, self.id
            )));
        }
        if key.contains(['\u{0}', '\u{1}']) {
            return Err(ItemError::parsing(format!(
                "field name [{}] in document with id '{}' contains a NUL or U+0001 character; rename the key",
                self.path.escape_debug(),
                self.id
            )));
        }
        Ok(())
    }

    /// Elasticsearch's error for a value a field cannot take.
    fn failed(
        &self,
        path: &str,
        kind: FieldKind,
        value: &Value,
        error: &crate::error::Error,
    ) -> ItemError {
        ItemError::parsing(format!(
            "failed to parse field [{path}] of type [{}] in document with id '{}'. Preview of field's value: '{}'; {error}",
            values::type_name(kind),
            self.id,
            values::preview(value)
        ))
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

/// The value of a mapped object: an object, an array of them, or null.
struct ObjectValue<'w, 'a>(&'w mut Walker<'a>);

impl<'de> DeserializeSeed<'de> for ObjectValue<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ObjectValue<'_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0.object(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        while items.next_element_seed(ObjectValue(self.0))?.is_some() {}
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.concrete()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.concrete()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.concrete()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.concrete()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.concrete()
    }
}

impl ObjectValue<'_, '_> {
    fn concrete<E: de::Error>(self) -> Result<(), E> {
        let path = &self.0.path;
        let failure = ItemError::parsing(format!(
            "object mapping for [{path}] tried to parse field [{path}] as object, but found a concrete value; send an object for [{path}]"
        ));
        Err(self.0.fail(failure))
    }
}

/// The value of a JSON field (`flattened`, or an object mapped by a dynamic
/// template): an object, an array of them, or null. Each object becomes one
/// tantivy JSON value, read straight from the source.
struct JsonField<'w, 'a> {
    walker: &'w mut Walker<'a>,
    mapped: MappedField,
}

impl<'de> DeserializeSeed<'de> for JsonField<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for JsonField<'_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let JsonField { walker, mapped } = self;
        while items
            .next_element_seed(JsonField {
                walker: &mut *walker,
                mapped,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let JsonField { walker, mapped } = self;
        let object = JsonValue {
            walker: &mut *walker,
            kind: mapped.kind,
            depth: 0,
        }
        .visit_map(map)?;
        if let Some(object) = object {
            walker.doc.add_field_value(mapped.field, &object);
        }
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.concrete("a boolean")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.concrete("a number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.concrete("a number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.concrete("a number")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.concrete("a string")
    }
}

impl JsonField<'_, '_> {
    fn concrete<E: de::Error>(self, found: &str) -> Result<(), E> {
        let failure = ItemError::parsing(format!(
            "failed to parse field [{}] of type [{}] in document with id '{}': it takes an object of keys and values, found {found}",
            self.walker.path,
            values::type_name(self.mapped.kind),
            self.walker.id,
        ));
        Err(self.walker.fail(failure))
    }
}

/// A value inside a JSON field, `depth` levels below the field (objects
/// and arrays each count, as in tantivy's fast fields), its path in the
/// walker's path; `None` for null (and for arrays of nulls only). Dotted
/// keys are expanded (`{"a.b": 1}` is `{"a": {"b": 1}}`), as Elasticsearch
/// does, so that both forms are found by the query path `field.a.b`.
struct JsonValue<'w, 'a> {
    walker: &'w mut Walker<'a>,
    kind: FieldKind,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for JsonValue<'_, '_> {
    type Value = Option<OwnedValue>;

    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Option<OwnedValue>, D::Error> {
        if self.depth > JSON_DEPTH_LIMIT {
            let failure = ItemError::parsing(format!(
                "field [{}] in document with id '{}' is nested more than {JSON_DEPTH_LIMIT} levels deep inside its [{}] field; flatten the object (dotted keys count as levels)",
                self.walker.path,
                self.walker.id,
                values::type_name(self.kind)
            ));
            return Err(self.walker.fail(failure));
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for JsonValue<'_, '_> {
    type Value = Option<OwnedValue>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<OwnedValue>, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Option<OwnedValue>, E> {
        match self.kind {
            // Keyword leaves (every leaf of a flattened field) without a detour.
            FieldKind::Flattened | FieldKind::DynamicObject(LeafKind::Keyword) => {
                if text.len() > MAX_TERM_BYTES {
                    let failure = immense_term(&self.walker.path);
                    return Err(self.walker.fail(failure));
                }
                Ok(Some(OwnedValue::Str(text.to_owned())))
            }
            _ => self.leaf(Value::String(text.to_owned())),
        }
    }

    fn visit_bool<E: de::Error>(self, flag: bool) -> Result<Option<OwnedValue>, E> {
        self.leaf(Value::Bool(flag))
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<Option<OwnedValue>, E> {
        self.leaf(Value::from(number))
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<Option<OwnedValue>, E> {
        self.leaf(Value::from(number))
    }

    fn visit_f64<E: de::Error>(self, number: f64) -> Result<Option<OwnedValue>, E> {
        self.leaf(Value::from(number))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Option<OwnedValue>, A::Error> {
        let JsonValue {
            walker,
            kind,
            depth,
        } = self;
        let mut converted = Vec::new();
        while let Some(item) = items.next_element_seed(JsonValue {
            walker: &mut *walker,
            kind,
            depth: depth + 1,
        })? {
            converted.extend(item);
        }
        Ok((!converted.is_empty()).then_some(OwnedValue::Array(converted)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<OwnedValue>, A::Error> {
        let JsonValue {
            walker,
            kind,
            depth,
        } = self;
        let parent = walker.path.len();
        let frame = walker.keys.open();
        let mut entries = Vec::new();
        loop {
            walker.path.push('.');
            let key_start = walker.path.len();
            if map.next_key_seed(KeySeed(&mut walker.path))?.is_none() {
                walker.path.truncate(parent);
                break;
            }
            let key = walker.path.get(key_start..).unwrap_or_default().to_owned();
            if let Err(failure) = walker.check_json_key(frame, &key) {
                return Err(walker.fail(failure));
            }
            let segments = key.split('.').count();
            let value = map.next_value_seed(JsonValue {
                walker: &mut *walker,
                kind,
                depth: depth + segments,
            })?;
            walker.path.truncate(parent);
            if let Some(value) = value {
                entries.push(nest_dotted(key, value));
            }
        }
        walker.keys.close(frame);
        Ok(Some(OwnedValue::Object(entries)))
    }
}

impl JsonValue<'_, '_> {
    /// A scalar leaf, converted as the field's leaves are.
    fn leaf<E: de::Error>(self, value: Value) -> Result<Option<OwnedValue>, E> {
        let JsonValue { walker, kind, .. } = self;
        walker
            .at_path(|walker, path| {
                let typed = values::json_leaf(kind, path, &value)
                    .map_err(|error| walker.failed(path, kind, &value, &error))?;
                check_term_length(path, &typed)?;
                Ok(typed)
            })
            .map(Some)
    }
}

/// The value of a leaf field: a scalar, an array of them, or null.
struct Leaf<'w, 'a> {
    walker: &'w mut Walker<'a>,
    mapped: MappedField,
    kind: FieldKind,
}

impl<'de> DeserializeSeed<'de> for Leaf<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Leaf<'_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        write!(
            formatter,
            "a value of type {}",
            values::type_name(self.kind)
        )
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        if matches!(self.kind, FieldKind::Keyword | FieldKind::Text) {
            // The common case, added without a copy.
            if self.kind == FieldKind::Keyword && text.len() > MAX_TERM_BYTES {
                let path = std::mem::take(&mut self.walker.path);
                let failure = immense_term(&path);
                self.walker.path = path;
                return Err(self.walker.fail(failure));
            }
            self.walker.doc.add_text(self.mapped.field, text);
            return Ok(());
        }
        self.value(Value::String(text.to_owned()))
    }

    fn visit_bool<E: de::Error>(self, flag: bool) -> Result<(), E> {
        self.value(Value::Bool(flag))
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<(), E> {
        self.value(Value::from(number))
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<(), E> {
        self.value(Value::from(number))
    }

    fn visit_f64<E: de::Error>(self, number: f64) -> Result<(), E> {
        self.value(Value::from(number))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let Leaf {
            walker,
            mapped,
            kind,
        } = self;
        while items
            .next_element_seed(Leaf {
                walker: &mut *walker,
                mapped,
                kind,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        // Not a value for a leaf: read it whole for the error message.
        let object = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        self.value(object)
    }
}

impl Leaf<'_, '_> {
    fn value<E: de::Error>(self, value: Value) -> Result<(), E> {
        let Leaf {
            walker,
            mapped,
            kind,
        } = self;
        walker.at_path(|walker, path| walker.leaf(path, mapped, kind, &value))
    }
}

/// Rejects a string too long to be one term, as Elasticsearch rejects
/// "immense terms" (tantivy would silently skip it).
fn check_term_length(path: &str, typed: &OwnedValue) -> Result<(), ItemError> {
    match typed {
        OwnedValue::Str(text) if text.len() > MAX_TERM_BYTES => Err(immense_term(path)),
        _ => Ok(()),
    }
}

fn immense_term(path: &str) -> ItemError {
    ItemError {
        error_type: "illegal_argument_exception",
        reason: format!(
            "Document contains at least one immense term in field=\"{path}\" (whose UTF8 encoding is longer than the max length {MAX_TERM_BYTES}); shorten the value or map the field as text"
        ),
    }
}

/// `first: {rest[0]: {rest[1]: ... value}}`.
/// The entry of a JSON object for `key` with dots expanded:
/// `("a.b.c", v)` is `("a", {"b": {"c": v}})`.
fn nest_dotted(key: String, value: OwnedValue) -> (String, OwnedValue) {
    let Some((first, rest)) = key.split_once('.') else {
        return (key, value);
    };
    let value = rest.rsplit('.').fold(value, |inner, segment| {
        OwnedValue::Object(vec![(segment.to_owned(), inner)])
    });
    (first.to_owned(), value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod testing {
    //! Indexes documents in memory for the embedded engine's tests.

    use serde_json::Value;
    use tantivy::{Index, IndexWriter, Searcher};

    use super::to_document;
    use crate::backend::embedded::schema::PartitionSchema;

    /// An in-memory index of `docs` (id, source), committed, and a searcher
    /// over it.
    pub(crate) fn searcher(schema: &PartitionSchema, docs: &[(&str, Value)]) -> Searcher {
        let index = Index::create_in_ram(schema.schema.clone());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for (id, source) in docs {
            let bytes = serde_json::to_vec(source).unwrap();
            writer
                .add_document(to_document(schema, id, &bytes).unwrap())
                .unwrap();
        }
        writer.commit().unwrap();
        index.reader().unwrap().searcher()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;
    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::{ExistsQuery, TermQuery};
    use tantivy::schema::{IndexRecordOption, Value as _};
    use tantivy::{DocAddress, Term};

    use super::testing::searcher;
    use super::*;

    fn schema(strict: bool) -> PartitionSchema {
        PartitionSchema::from_mappings(&json!({
            "dynamic": if strict { json!("strict") } else { json!(false) },
            "dynamic_templates": [{"counters": {"path_match": "counters.*", "mapping": {"type": "long"}}}],
            "properties": {
                "timestamp": {"type": "date"},
                "path": {"type": "keyword"},
                "message": {"type": "text"},
                "status": {"type": "long"},
                "latency": {"properties": {"p99_ms": {"type": "double"}}},
                "client": {"properties": {"ip": {"type": "ip"}}},
                "tags": {"type": "flattened"},
                "counters": {"type": "object"}
            }
        }))
        .unwrap()
    }

    fn error(schema: &PartitionSchema, source: &str) -> ItemError {
        to_document(schema, "doc-1", source.as_bytes()).unwrap_err()
    }

    fn count(searcher: &tantivy::Searcher, term: Term) -> usize {
        searcher
            .search(&TermQuery::new(term, IndexRecordOption::Basic), &Count)
            .unwrap()
    }

    fn json_term(schema: &PartitionSchema, path: &str, value: Value) -> Term {
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
    fn leaves_objects_arrays_and_nulls() {
        let schema = schema(true);
        let searcher = searcher(
            &schema,
            &[
                (
                    "1",
                    json!({"path": ["/a", "/b"], "status": "200", "latency": {"p99_ms": 1.5}, "message": null}),
                ),
                (
                    "2",
                    json!({"latency.p99_ms": [2, null], "client": [{"ip": "10.0.0.1"}, {"ip": "::1"}], "status": null}),
                ),
                (
                    "3",
                    json!({"timestamp": "2024-05-01T12:00:00+02:00", "message": "Hello World"}),
                ),
            ],
        );
        let field = |path: &str| schema.fields[path].field;
        assert_eq!(
            count(&searcher, Term::from_field_text(field("path"), "/b")),
            1
        );
        assert_eq!(
            count(&searcher, Term::from_field_i64(field("status"), 200)),
            1
        );
        assert_eq!(
            count(
                &searcher,
                Term::from_field_f64(field("latency.p99_ms"), 1.5)
            ),
            1
        );
        assert_eq!(
            count(
                &searcher,
                Term::from_field_f64(field("latency.p99_ms"), 2.0)
            ),
            1
        );
        assert_eq!(
            count(&searcher, Term::from_field_text(field("message"), "world")),
            1
        );
        let ip = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(
            count(&searcher, Term::from_field_ip_addr(field("client.ip"), ip)),
            1
        );
        let exists = |path: &str| {
            searcher
                .search(&ExistsQuery::new(path.to_owned(), false), &Count)
                .unwrap()
        };
        assert_eq!(
            (exists("status"), exists("client.ip"), exists("timestamp")),
            (1, 1, 1)
        );
        let top = searcher
            .search(
                &TermQuery::new(
                    Term::from_field_text(schema.id, "3"),
                    IndexRecordOption::Basic,
                ),
                &TopDocs::with_limit(1).order_by_score(),
            )
            .unwrap();
        assert_eq!(top.first().map(|hit| hit.1), Some(DocAddress::new(0, 2)));
    }

    #[test]
    fn flattened_keys_are_keywords_and_stay_apart() {
        let schema = schema(true);
        let searcher = searcher(
            &schema,
            &[
                (
                    "1",
                    json!({"tags": {"platform": "ios", "build": 12, "beta": true}}),
                ),
                (
                    "2",
                    json!({"tags": {"channel": "ios", "os": {"name": "android"}}}),
                ),
                (
                    "3",
                    json!({"tags.platform": "web", "tags": [{"a.b": "x"}, null]}),
                ),
            ],
        );
        assert_eq!(
            count(&searcher, json_term(&schema, "tags.platform", json!("ios"))),
            1
        );
        assert_eq!(
            count(&searcher, json_term(&schema, "tags.channel", json!("ios"))),
            1
        );
        assert_eq!(
            count(
                &searcher,
                json_term(&schema, "tags.platform", json!("android"))
            ),
            0
        );
        assert_eq!(
            count(&searcher, json_term(&schema, "tags.build", json!("12"))),
            1
        );
        assert_eq!(
            count(&searcher, json_term(&schema, "tags.beta", json!(true))),
            1
        );
        assert_eq!(
            count(
                &searcher,
                json_term(&schema, "tags.os.name", json!("android"))
            ),
            1
        );
        assert_eq!(
            count(&searcher, json_term(&schema, "tags.platform", json!("web"))),
            1
        );
        assert_eq!(
            count(&searcher, json_term(&schema, "tags.a.b", json!("x"))),
            1
        );
    }

    #[test]
    fn dynamic_object_leaves_take_the_template_type() {
        let schema = schema(true);
        let searcher = searcher(
            &schema,
            &[
                (
                    "1",
                    json!({"counters": {"hits": 5, "misses": "7", "by": {"day": [1, 2]}}}),
                ),
                ("2", json!({"counters.hits": 6})),
            ],
        );
        assert_eq!(
            count(&searcher, json_term(&schema, "counters.hits", json!(5))),
            1
        );
        assert_eq!(
            count(&searcher, json_term(&schema, "counters.misses", json!(7))),
            1
        );
        assert_eq!(
            count(&searcher, json_term(&schema, "counters.by.day", json!(2))),
            1
        );
        assert_eq!(
            count(&searcher, json_term(&schema, "counters.hits", json!(6))),
            1
        );
        for bad in [
            r#"{"counters": {"hits": "many"}}"#,
            r#"{"counters": {"hits": 1.5}}"#,
            r#"{"counters": {"hits": true}}"#,
        ] {
            let error = error(&schema, bad);
            assert_eq!(error.error_type, "mapper_parsing_exception");
            assert!(
                error.reason.contains("[counters.hits] of type [long]"),
                "{}",
                error.reason
            );
        }
    }

    #[test]
    fn strict_mappings_reject_unknown_fields() {
        let schema = schema(true);
        let error = error(&schema, r#"{"path": "/", "nope": 1}"#);
        assert_eq!(error.error_type, "strict_dynamic_mapping_exception");
        assert!(
            error.reason.starts_with(
                "mapping set to strict, dynamic introduction of [nope] within [_doc] is not allowed"
            ),
            "{}",
            error.reason
        );
        let error = error_at(&schema, r#"{"latency": {"p50_ms": 1}}"#);
        assert!(error.contains("[p50_ms] within [latency]"), "{error}");
        let error = error_at(&schema, r#"{"nope.deeper": 1}"#);
        assert!(error.contains("[nope] within [_doc]"), "{error}");
        let error = error_at(&schema, r#"{"nope": null}"#);
        assert!(error.contains("[nope]"), "{error}");
    }

    fn error_at(schema: &PartitionSchema, source: &str) -> String {
        error(schema, source).reason
    }

    #[test]
    fn lenient_mappings_keep_unknown_fields_in_source_only() {
        let schema = schema(false);
        let source = br#"{"path": "/", "nope": {"deep": [1, 2]}, "latency": {"p50_ms": "x"}}"#;
        let doc = to_document(&schema, "1", source).unwrap();
        assert_eq!(
            doc.get_first(schema.source).and_then(|v| v.as_bytes()),
            Some(&source[..])
        );
        let searcher = searcher(&schema, &[("1", serde_json::from_slice(source).unwrap())]);
        assert_eq!(
            count(
                &searcher,
                Term::from_field_text(schema.fields["path"].field, "/")
            ),
            1
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
    fn immense_keywords_are_rejected() {
        let schema = schema(true);
        let long = "x".repeat(MAX_TERM_BYTES + 1);
        for source in [json!({ "path": long }), json!({"tags": { "k": long }})] {
            let bytes = serde_json::to_vec(&source).unwrap();
            let error = to_document(&schema, "1", &bytes).unwrap_err();
            assert_eq!(error.error_type, "illegal_argument_exception");
            assert!(error.reason.contains("immense term"), "{}", error.reason);
        }
        let fits = json!({ "path": "x".repeat(MAX_TERM_BYTES), "message": long });
        assert!(to_document(&schema, "1", &serde_json::to_vec(&fits).unwrap()).is_ok());
    }

    #[test]
    fn json_fields_limit_nesting_depth() {
        let schema = schema(true);
        let nested = |levels: usize| {
            let value = (1..levels).fold(json!("deep"), |inner, _| json!({ "k": inner }));
            serde_json::to_vec(&json!({ "tags": { "k": value } })).unwrap()
        };
        let searcher = searcher(
            &schema,
            &[("1", serde_json::from_slice(&nested(20)).unwrap())],
        );
        let path = format!("tags{}", ".k".repeat(20));
        assert_eq!(
            count(&searcher, json_term(&schema, &path, json!("deep"))),
            1
        );
        let error = to_document(&schema, "1", &nested(21)).unwrap_err();
        assert_eq!(error.error_type, "mapper_parsing_exception");
        assert!(
            error.reason.contains("more than 20 levels"),
            "{}",
            error.reason
        );
    }

    #[test]
    fn a_key_repeated_in_one_object_is_rejected() {
        let schema = schema(false);
        for source in [
            r#"{"path": "/a", "path": "/b"}"#,
            r#"{"latency": {"p99_ms": 1, "p99_ms": 2}}"#,
            r#"{"nope": 1, "nope": 2}"#,
            r#"{"tags": {"platform": "ios", "platform": "web"}}"#,
            r#"{"tags": {"os": {"name": "a", "name": "b"}}}"#,
        ] {
            let error = error(&schema, source);
            assert_eq!(error.error_type, "mapper_parsing_exception", "{source}");
            assert!(
                error.reason.contains("Duplicate field"),
                "{source}: {}",
                error.reason
            );
        }
        // The same key in sibling objects, and a field given both nested
        // and dotted, are not repeats.
        let source = br#"{"client": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "latency": {"p99_ms": 1}, "latency.p99_ms": 2, "tags": [{"k": "a"}, {"k": "b", "j": {"k": "c"}}]}"#;
        let doc = to_document(&schema, "1", source).unwrap();
        let field = |path: &str| schema.fields[path].field;
        assert_eq!(doc.get_all(field("client.ip")).count(), 2);
        assert_eq!(doc.get_all(field("latency.p99_ms")).count(), 2);
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
