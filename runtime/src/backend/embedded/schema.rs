//! From an Elasticsearch mapping to a tantivy schema, as Elasticsearch
//! derives an index's mapping from its template when the index is created.
//!
//! Every leaf of the mapping becomes one tantivy field named by its dotted
//! path (`latency.p99_ms`); `flattened` fields and objects with dynamic
//! templates (maps) become JSON fields, whose keys are paths below the
//! field (`tags.platform`). Two fields are added: `_id` (the document id)
//! and `_source` (the exact document, returned in hits).

use std::collections::BTreeMap;

use serde_json::Value;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, IpAddrOptions, JsonObjectOptions, NumericOptions,
    STORED, STRING, Schema, TEXT, TextFieldIndexing,
};

use crate::dates::DateUnit;
use crate::error::{Error, Result};

/// The name of the field that holds document ids.
pub(crate) const ID_FIELD: &str = "_id";
/// The name of the field that holds the stored document.
pub(crate) const SOURCE_FIELD: &str = "_source";

/// How a mapped field is indexed, and so how values and queries on it are
/// converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldKind {
    /// `keyword` (and `constant_keyword`, `wildcard`): one exact term, fast.
    Keyword,
    /// `text` (and `match_only_text`): analysed full text, not fast.
    Text,
    /// `long`, `integer`, `short`, `byte`.
    I64,
    /// `unsigned_long`.
    U64,
    /// `double`, `float`, `half_float`, `scaled_float`: fast, not indexed.
    F64,
    /// `boolean`.
    Bool,
    /// `date` (epoch milliseconds) and `date_nanos` (epoch nanoseconds):
    /// an `i64` column, not indexed (see [`crate::dates`]).
    Date(DateUnit),
    /// `ip`.
    Ip,
    /// `flattened`: a JSON field whose leaves are keywords.
    Flattened,
    /// An object mapped by a dynamic template (a map of numbers): a JSON
    /// field whose leaves have the template's kind.
    DynamicObject(LeafKind),
}

/// The kind of the leaves of a JSON field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeafKind {
    I64,
    U64,
    F64,
    Keyword,
}

/// One mapped field of a partition.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MappedField {
    pub(crate) field: Field,
    pub(crate) kind: FieldKind,
}

/// A field reference resolved against a partition's schema: the tantivy
/// field, its kind, and for JSON fields the path below it.
#[derive(Debug, Clone)]
pub(crate) struct Resolved<'a> {
    pub(crate) field: Field,
    pub(crate) kind: FieldKind,
    /// The path inside a JSON field (`platform` for `tags.platform`); empty
    /// for other fields.
    pub(crate) json_path: &'a str,
    /// The full dotted path as written in the query.
    pub(crate) path: &'a str,
}

/// The schema of one partition, with the map from Elasticsearch paths to
/// tantivy fields.
#[derive(Debug, Clone)]
pub(crate) struct PartitionSchema {
    pub(crate) schema: Schema,
    pub(crate) id: Field,
    pub(crate) source: Field,
    /// Dotted path -> field, for every leaf and JSON field.
    pub(crate) fields: BTreeMap<String, MappedField>,
    /// `dynamic: "strict"` at the root: documents with unmapped fields are
    /// rejected (otherwise those fields are kept in `_source` only).
    pub(crate) strict: bool,
}

impl PartitionSchema {
    /// Builds the schema for an index created from a template whose
    /// `mappings` is `mappings`. A mapping type the engine cannot index is an
    /// error naming the field and the type.
    pub(crate) fn from_mappings(mappings: &Value) -> Result<Self> {
        let mut builder = Schema::builder();
        let id = builder.add_text_field(ID_FIELD, STRING | STORED | FAST);
        let source = builder.add_bytes_field(SOURCE_FIELD, STORED);
        let dynamic_templates = dynamic_template_kinds(mappings)?;
        let mut fields = BTreeMap::new();
        if let Some(properties) = mappings.get("properties") {
            add_properties(
                properties,
                "",
                &dynamic_templates,
                &mut builder,
                &mut fields,
            )?;
        }
        // Elasticsearch's default is `dynamic: true`; only "strict" rejects.
        let strict = mappings.get("dynamic").and_then(Value::as_str) == Some("strict");
        Ok(PartitionSchema {
            schema: builder.build(),
            id,
            source,
            fields,
            strict,
        })
    }

    /// Resolves a dotted path as written in a query or aggregation:
    /// a mapped leaf, or a key below a JSON field (`tags.platform`).
    pub(crate) fn resolve<'a>(&self, path: &'a str) -> Option<Resolved<'a>> {
        if let Some(mapped) = self.fields.get(path) {
            return Some(Resolved {
                field: mapped.field,
                kind: mapped.kind,
                json_path: "",
                path,
            });
        }
        // The longest mapped JSON field that is a prefix of the path.
        let mut end = path.len();
        while let Some(dot) = path[..end].rfind('.') {
            let (prefix, rest) = (&path[..dot], &path[dot + 1..]);
            if let Some(mapped) = self.fields.get(prefix)
                && matches!(
                    mapped.kind,
                    FieldKind::Flattened | FieldKind::DynamicObject(_)
                )
            {
                return Some(Resolved {
                    field: mapped.field,
                    kind: mapped.kind,
                    json_path: rest,
                    path,
                });
            }
            end = dot;
        }
        None
    }
}

/// `path_match` -> leaf kind, from `mappings.dynamic_templates`.
fn dynamic_template_kinds(mappings: &Value) -> Result<BTreeMap<String, LeafKind>> {
    let mut kinds = BTreeMap::new();
    let Some(templates) = mappings.get("dynamic_templates").and_then(Value::as_array) else {
        return Ok(kinds);
    };
    for template in templates
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|t| t.values())
    {
        let (Some(path_match), Some(ty)) = (
            template.get("path_match").and_then(Value::as_str),
            template.pointer("/mapping/type").and_then(Value::as_str),
        ) else {
            continue;
        };
        let Some(object_path) = path_match.strip_suffix(".*") else {
            return Err(unsupported(
                path_match,
                "dynamic template path_match other than `object.*`",
            ));
        };
        let kind = match ty {
            "long" | "integer" | "short" | "byte" => LeafKind::I64,
            "unsigned_long" => LeafKind::U64,
            "double" | "float" | "half_float" | "scaled_float" => LeafKind::F64,
            "keyword" => LeafKind::Keyword,
            other => return Err(unsupported(path_match, other)),
        };
        kinds.insert(object_path.to_owned(), kind);
    }
    Ok(kinds)
}

fn add_properties(
    properties: &Value,
    prefix: &str,
    dynamic_templates: &BTreeMap<String, LeafKind>,
    builder: &mut tantivy::schema::SchemaBuilder,
    fields: &mut BTreeMap<String, MappedField>,
) -> Result<()> {
    let Some(properties) = properties.as_object() else {
        return Err(unsupported(prefix, "properties that are not an object"));
    };
    for (name, mapping) in properties {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let ty = mapping.get("type").and_then(Value::as_str);
        if let Some(children) = mapping.get("properties") {
            if ty.is_some_and(|t| t != "object") {
                return Err(unsupported(&path, ty.unwrap_or_default()));
            }
            add_properties(children, &path, dynamic_templates, builder, fields)?;
            continue;
        }
        let kind = match ty.unwrap_or("object") {
            "keyword" | "constant_keyword" | "wildcard" => FieldKind::Keyword,
            "text" | "match_only_text" => FieldKind::Text,
            "long" | "integer" | "short" | "byte" => FieldKind::I64,
            "unsigned_long" => FieldKind::U64,
            "double" | "float" | "half_float" | "scaled_float" => FieldKind::F64,
            "boolean" => FieldKind::Bool,
            "date" => FieldKind::Date(DateUnit::Millis),
            "date_nanos" => FieldKind::Date(DateUnit::Nanos),
            "ip" => FieldKind::Ip,
            "flattened" => FieldKind::Flattened,
            "object" => match dynamic_templates.get(&path) {
                Some(leaf) => FieldKind::DynamicObject(*leaf),
                // An object with no properties and no template holds nothing indexed.
                None => continue,
            },
            other => return Err(unsupported(&path, other)),
        };
        let field = add_field(builder, &path, kind);
        fields.insert(path, MappedField { field, kind });
    }
    Ok(())
}

fn add_field(builder: &mut tantivy::schema::SchemaBuilder, path: &str, kind: FieldKind) -> Field {
    let numeric = || NumericOptions::default() | INDEXED | FAST;
    match kind {
        FieldKind::Keyword => builder.add_text_field(path, STRING | FAST),
        FieldKind::Text => builder.add_text_field(path, TEXT),
        FieldKind::I64 => builder.add_i64_field(path, numeric()),
        FieldKind::U64 => builder.add_u64_field(path, numeric()),
        // Measurements: ranges and aggregations read the column, equality is
        // a one-value range (see `query::equality`); no term per value.
        FieldKind::F64 => builder.add_f64_field(path, NumericOptions::default() | FAST),
        FieldKind::Bool => builder.add_bool_field(path, numeric()),
        // Epoch milliseconds (or nanoseconds) in a column only, like
        // Elasticsearch's points and doc values: ranges, sorts and
        // aggregations read the column, and equality is a one-instant range
        // (see `query::equality`). Indexing terms too would add one per
        // distinct instant.
        FieldKind::Date(_) => builder.add_i64_field(path, NumericOptions::default() | FAST),
        FieldKind::Ip => builder.add_ip_addr_field(path, IpAddrOptions::from(INDEXED | FAST)),
        FieldKind::Flattened | FieldKind::DynamicObject(_) => {
            let indexing = TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_index_option(IndexRecordOption::Basic);
            let options = JsonObjectOptions::default()
                .set_indexing_options(indexing)
                .set_fast("raw");
            builder.add_json_field(path, options)
        }
    }
}

fn unsupported(path: &str, what: &str) -> Error {
    Error::Unsupported {
        what: format!("mapping type `{what}` (field `{path}`)"),
        hint: "the embedded engine indexes keyword, text, numbers, boolean, date, ip, flattened and objects; store this type in Elasticsearch, or give the field a supported mapping",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::backend::embedded::test_schema;

    #[test]
    fn leaves_objects_and_json_fields_resolve() {
        let schema = test_schema::schema(true);
        assert!(schema.strict);
        assert!(!test_schema::schema(false).strict);
        assert_eq!(schema.resolve("path").unwrap().kind, FieldKind::Keyword);
        assert_eq!(
            schema.resolve("latency.p99_ms").unwrap().kind,
            FieldKind::F64
        );
        let tag = schema.resolve("tags.platform").unwrap();
        assert_eq!(
            (tag.kind, tag.json_path),
            (FieldKind::Flattened, "platform")
        );
        let counter = schema.resolve("counters.hits.total").unwrap();
        assert_eq!(counter.kind, FieldKind::DynamicObject(LeafKind::I64));
        assert_eq!(counter.json_path, "hits.total");
        let total = schema.resolve("totals.hits.total").unwrap();
        assert_eq!(total.kind, FieldKind::DynamicObject(LeafKind::U64));
        assert_eq!(total.json_path, "hits.total");
        assert!(schema.resolve("latency").is_none());
        assert!(schema.resolve("nope").is_none());
    }

    #[test]
    fn unsupported_types_are_named() {
        let error = PartitionSchema::from_mappings(
            &json!({"properties": {"where": {"type": "geo_point"}}}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("geo_point") && error.contains("where"),
            "{error}"
        );
    }
}
