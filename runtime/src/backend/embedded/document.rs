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

use serde_json::{Map, Value};
use tantivy::TantivyDocument;
use tantivy::schema::OwnedValue;

use super::schema::{FieldKind, MappedField, PartitionSchema, Resolved};
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
pub(crate) fn to_document(
    schema: &PartitionSchema,
    id: &str,
    source: &[u8],
) -> Result<TantivyDocument, ItemError> {
    let parsed: Value = serde_json::from_slice(source).map_err(|error| {
        ItemError::parsing(format!(
            "failed to parse the document with id '{id}': {error}; send each document as one JSON object"
        ))
    })?;
    let Value::Object(root) = &parsed else {
        return Err(ItemError::parsing(format!(
            "failed to parse the document with id '{id}': the source is {}, not a JSON object; send each document as one JSON object",
            values::json_type(&parsed)
        )));
    };
    let mut walker = Walker {
        schema,
        id,
        doc: TantivyDocument::new(),
    };
    walker.doc.add_text(schema.id, id);
    walker.doc.add_bytes(schema.source, source);
    walker.object("", root)?;
    Ok(walker.doc)
}

/// `parent.key`, or `key` at the root.
fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// The state of one document's walk.
struct Walker<'a> {
    schema: &'a PartitionSchema,
    id: &'a str,
    doc: TantivyDocument,
}

impl Walker<'_> {
    /// Adds every field of an object found at `parent`.
    fn object(&mut self, parent: &str, object: &Map<String, Value>) -> Result<(), ItemError> {
        for (key, value) in object {
            self.field(parent, key, value)?;
        }
        Ok(())
    }

    /// Adds the field `key` of the object at `parent`: a mapped field, a key
    /// below a JSON field written with dots, a mapped object, or an unknown
    /// field.
    fn field(&mut self, parent: &str, key: &str, value: &Value) -> Result<(), ItemError> {
        if parent.is_empty() && METADATA_FIELDS.contains(&key) {
            return Err(ItemError::parsing(format!(
                "Field [{key}] is a metadata field and cannot be added inside a document; remove it from the source (the id goes in the bulk item)"
            )));
        }
        let path = join(parent, key);
        if let Some(mapped) = self.schema.fields.get(&path) {
            return self.mapped(&path, *mapped, value);
        }
        if let Some(resolved) = self.schema.resolve(&path) {
            return self.json_key(&resolved, value);
        }
        if self.is_object(&path) {
            return self.object_value(&path, value);
        }
        self.unknown(&path)
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

    /// The value of a mapped object: an object, an array of them, or null.
    fn object_value(&mut self, path: &str, value: &Value) -> Result<(), ItemError> {
        match value {
            Value::Null => Ok(()),
            Value::Object(object) => self.object(path, object),
            Value::Array(items) => items
                .iter()
                .try_for_each(|item| self.object_value(path, item)),
            _ => Err(ItemError::parsing(format!(
                "object mapping for [{path}] tried to parse field [{path}] as object, but found a concrete value; send an object for [{path}]"
            ))),
        }
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

    /// A mapped field's value: a JSON field's object, or leaf values.
    fn mapped(&mut self, path: &str, mapped: MappedField, value: &Value) -> Result<(), ItemError> {
        match mapped.kind {
            FieldKind::Flattened | FieldKind::DynamicObject(_) => {
                self.json_field(path, mapped, value)
            }
            kind => self.leaf(path, mapped, kind, value),
        }
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

    /// The value of a JSON field: an object (or an array of them, or null).
    fn json_field(
        &mut self,
        path: &str,
        mapped: MappedField,
        value: &Value,
    ) -> Result<(), ItemError> {
        match value {
            Value::Null => Ok(()),
            Value::Array(items) => items
                .iter()
                .try_for_each(|item| self.json_field(path, mapped, item)),
            Value::Object(object) => {
                let json = self.json_object(path, mapped.kind, object, 0)?;
                self.doc.add_field_value(mapped.field, &json);
                Ok(())
            }
            _ => Err(ItemError::parsing(format!(
                "failed to parse field [{path}] of type [{}] in document with id '{}': it takes an object of keys and values, found {}",
                values::type_name(mapped.kind),
                self.id,
                values::json_type(value)
            ))),
        }
    }

    /// A key below a JSON field written with dots at the document level
    /// (`{"tags.platform": "ios"}`): added as its own object.
    fn json_key(&mut self, resolved: &Resolved<'_>, value: &Value) -> Result<(), ItemError> {
        let segments: Vec<&str> = resolved.json_path.split('.').collect();
        let (first, rest) = self.segments(resolved.path, &segments)?;
        let depth = segments.len();
        let Some(json) = self.json_value(resolved.path, resolved.kind, value, depth)? else {
            return Ok(());
        };
        let object = OwnedValue::Object(vec![nest(first, rest, json)]);
        self.doc.add_field_value(resolved.field, &object);
        Ok(())
    }

    /// The tantivy value of an object inside a JSON field, `depth` levels
    /// below the field. Dotted keys are expanded (`{"a.b": 1}` is
    /// `{"a": {"b": 1}}`), as Elasticsearch does, so that both forms are
    /// found by the query path `field.a.b`.
    fn json_object(
        &self,
        path: &str,
        kind: FieldKind,
        object: &Map<String, Value>,
        depth: usize,
    ) -> Result<OwnedValue, ItemError> {
        let mut entries = Vec::with_capacity(object.len());
        for (key, value) in object {
            let child = join(path, key);
            let segments: Vec<&str> = key.split('.').collect();
            let (first, rest) = self.segments(&child, &segments)?;
            let Some(json) = self.json_value(&child, kind, value, depth + segments.len())? else {
                continue;
            };
            entries.push(nest(first, rest, json));
        }
        Ok(OwnedValue::Object(entries))
    }

    /// Splits key segments into the first and the rest, rejecting empty
    /// segments (`a..b`, `.a`), which Elasticsearch rejects too, and the
    /// control characters tantivy uses to encode paths.
    fn segments<'s>(
        &self,
        path: &str,
        segments: &'s [&'s str],
    ) -> Result<(&'s str, &'s [&'s str]), ItemError> {
        match segments.split_first() {
            Some((first, rest)) if !segments.iter().any(|segment| segment.is_empty()) => {
                if path.contains(['\u{0}', '\u{1}']) {
                    return Err(ItemError::parsing(format!(
                        "field name [{}] in document with id '{}' contains a NUL or U+0001 character; rename the key",
                        path.escape_debug(),
                        self.id
                    )));
                }
                Ok((first, rest))
            }
            _ => Err(ItemError::parsing(format!(
                "field name [{path}] in document with id '{}' has an empty part; field names cannot be empty, start or end with a dot, or contain two dots in a row",
                self.id
            ))),
        }
    }

    /// The tantivy value of any value inside a JSON field, `depth` levels
    /// below the field (objects and arrays each count, as in tantivy's fast
    /// fields); `None` for null (and for arrays of nulls only).
    fn json_value(
        &self,
        path: &str,
        kind: FieldKind,
        value: &Value,
        depth: usize,
    ) -> Result<Option<OwnedValue>, ItemError> {
        if depth > JSON_DEPTH_LIMIT {
            return Err(ItemError::parsing(format!(
                "field [{path}] in document with id '{}' is nested more than {JSON_DEPTH_LIMIT} levels deep inside its [{}] field; flatten the object (dotted keys count as levels)",
                self.id,
                values::type_name(kind)
            )));
        }
        match value {
            Value::Null => Ok(None),
            Value::Object(object) => self.json_object(path, kind, object, depth).map(Some),
            Value::Array(items) => {
                let mut converted = Vec::with_capacity(items.len());
                for item in items {
                    converted.extend(self.json_value(path, kind, item, depth + 1)?);
                }
                Ok((!converted.is_empty()).then_some(OwnedValue::Array(converted)))
            }
            _ => {
                let typed = values::json_leaf(kind, path, value)
                    .map_err(|error| self.failed(path, kind, value, &error))?;
                check_term_length(path, &typed)?;
                Ok(Some(typed))
            }
        }
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

/// Rejects a string too long to be one term, as Elasticsearch rejects
/// "immense terms" (tantivy would silently skip it).
fn check_term_length(path: &str, typed: &OwnedValue) -> Result<(), ItemError> {
    match typed {
        OwnedValue::Str(text) if text.len() > MAX_TERM_BYTES => Err(ItemError {
            error_type: "illegal_argument_exception",
            reason: format!(
                "Document contains at least one immense term in field=\"{path}\" (whose UTF8 encoding is longer than the max length {MAX_TERM_BYTES}); shorten the value or map the field as text"
            ),
        }),
        _ => Ok(()),
    }
}

/// `first: {rest[0]: {rest[1]: ... value}}`.
fn nest(first: &str, rest: &[&str], value: OwnedValue) -> (String, OwnedValue) {
    let value = rest.iter().rev().fold(value, |inner, segment| {
        OwnedValue::Object(vec![((*segment).to_owned(), inner)])
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
