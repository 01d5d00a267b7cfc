//! From JSON values to what tantivy stores and searches, field kind by field
//! kind, with Elasticsearch's coercions: numeric strings for numbers, the JSON
//! text of numbers and booleans for keywords, dates as RFC 3339, bare dates,
//! zone-less date-times (UTC) or epoch milliseconds, IPv4 as IPv4-mapped IPv6.
//!
//! Documents and queries go through the same conversions, so a value written
//! in a query finds the document that held it. Dates are read by
//! [`crate::dates`] and floored to the field's unit (milliseconds for `date`)
//! on both sides, so `gte` a stored timestamp includes it and `gt` excludes
//! it, as in Elasticsearch.
//!
//! - `mod.rs`: a document's values, and the names and previews error
//!   messages use;
//! - `scalars.rs`: each scalar kind read from JSON (numbers, text,
//!   booleans, IPs and prefixes, dates), with Elasticsearch's coercions;
//! - `terms.rs`: the term a query looks for on each kind;
//! - `ranges.rs`: what a range matches on each kind.

use serde_json::Value;
use tantivy::schema::OwnedValue;

use self::scalars::{ip, stored_date, text, to_bool, to_f64, to_i64, to_u64};
use super::schema::{FieldKind, LeafKind};
use crate::dates::DateUnit;
use crate::error::{Error, Result};

mod ranges;
mod scalars;
mod terms;

pub(crate) use self::ranges::{RangeEnd, RangeMatch, range_terms};
pub(crate) use self::scalars::ip_prefix;
#[cfg(test)]
pub(crate) use self::terms::term;
pub(crate) use self::terms::term_or_none;

/// A number as written in a document or query: a JSON number or a numeric
/// string (Elasticsearch coerces `"42"` to 42).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Number {
    /// A whole number, wide enough for every `long` and `unsigned_long`.
    Int(i128),
    /// A finite number with a decimal point or exponent.
    Float(f64),
}

impl Number {
    /// The value as a whole number; `None` when it has a fractional part.
    /// Floats beyond `i128` saturate, which range checks then reject.
    pub(super) fn whole(self) -> Option<i128> {
        match self {
            Number::Int(int) => Some(int),
            Number::Float(float) if float.fract() == 0.0 => Some(float as i128),
            Number::Float(_) => None,
        }
    }

    /// The value as a float (large integers round to the nearest float).
    pub(super) fn float(self) -> f64 {
        match self {
            Number::Int(int) => int as f64,
            Number::Float(float) => float,
        }
    }
}

/// Elasticsearch's name for a field kind, as used in its error messages.
pub(crate) fn type_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Keyword | FieldKind::DynamicObject(LeafKind::Keyword) => "keyword",
        FieldKind::Text => "text",
        FieldKind::I64 | FieldKind::DynamicObject(LeafKind::I64) => "long",
        FieldKind::U64 | FieldKind::DynamicObject(LeafKind::U64) => "unsigned_long",
        FieldKind::F64 | FieldKind::DynamicObject(LeafKind::F64) => "double",
        FieldKind::Bool => "boolean",
        FieldKind::Date(DateUnit::Millis) => "date",
        FieldKind::Date(DateUnit::Nanos) => "date_nanos",
        FieldKind::Ip => "ip",
        FieldKind::Flattened => "flattened",
    }
}

/// A short rendering of a value for error messages (Elasticsearch's
/// "preview of field's value").
pub(crate) fn preview(value: &Value) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    match text.char_indices().nth(80) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text,
    }
}

/// The error for a value that a field of `kind` cannot take: names the
/// field, its type and the value, then says what the field takes.
pub(super) fn invalid(path: &str, kind: FieldKind, value: &Value, takes: &str) -> Error {
    Error::BadRequest(format!(
        "field [{path}] of type [{}] cannot take [{}]: {takes}",
        type_name(kind),
        preview(value)
    ))
}

/// The typed value of a non-JSON field, for a document. Arrays and nulls are
/// the caller's business (one call per element; nulls skipped).
pub(crate) fn document_value(kind: FieldKind, path: &str, value: &Value) -> Result<OwnedValue> {
    Ok(match kind {
        FieldKind::Keyword | FieldKind::Text => OwnedValue::Str(text(kind, path, value)?),
        FieldKind::I64 => OwnedValue::I64(to_i64(kind, path, value)?),
        FieldKind::U64 => OwnedValue::U64(to_u64(kind, path, value)?),
        FieldKind::F64 => OwnedValue::F64(to_f64(kind, path, value)?),
        FieldKind::Bool => OwnedValue::Bool(to_bool(path, value)?),
        FieldKind::Date(unit) => OwnedValue::I64(stored_date(unit, path, value)?),
        FieldKind::Ip => OwnedValue::IpAddr(ip(path, value)?),
        FieldKind::Flattened | FieldKind::DynamicObject(_) => {
            return Err(invalid(path, kind, value, "this field takes a JSON object"));
        }
    })
}

/// The typed value of one leaf inside a JSON field (`flattened` or an object
/// mapped by a dynamic template), for a document; `path` is the leaf's full
/// dotted path. Flattened leaves are keywords whatever their JSON type.
pub(crate) fn json_leaf(kind: FieldKind, path: &str, value: &Value) -> Result<OwnedValue> {
    let leaf = match kind {
        FieldKind::DynamicObject(leaf) => leaf,
        _ => LeafKind::Keyword,
    };
    Ok(match leaf {
        LeafKind::Keyword => OwnedValue::Str(text(kind, path, value)?),
        LeafKind::I64 => OwnedValue::I64(to_i64(kind, path, value)?),
        LeafKind::U64 => OwnedValue::U64(to_u64(kind, path, value)?),
        LeafKind::F64 => OwnedValue::F64(to_f64(kind, path, value)?),
    })
}

/// The JSON type of a value, for messages: "a string", "an object"...
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    //! The fixture the tests of terms and ranges share.

    use tantivy::collector::Count;
    use tantivy::query::{RangeQuery, TermQuery, TermSetQuery};
    use tantivy::schema::IndexRecordOption;
    use tantivy::{Index, IndexWriter, TantivyDocument};

    use super::*;
    use crate::backend::embedded::schema::{PartitionSchema, Resolved};
    use crate::backend::embedded::test_schema::schema;

    pub(super) fn resolved<'a>(schema: &PartitionSchema, path: &'a str) -> Resolved<'a> {
        schema.resolve(path).unwrap()
    }

    /// Indexes one document per (path, value) and counts the documents
    /// each query finds.
    pub(super) struct Fixture {
        pub(super) schema: PartitionSchema,
        searcher: tantivy::Searcher,
    }

    impl Fixture {
        pub(super) fn new(docs: &[(&str, Value)]) -> Self {
            let schema = schema(true);
            let index = Index::create_in_ram(schema.schema.clone());
            let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
            for (path, value) in docs {
                let mut doc = TantivyDocument::new();
                let resolved = schema.resolve(path).unwrap();
                match resolved.kind {
                    FieldKind::Flattened | FieldKind::DynamicObject(_) => {
                        let leaf = json_leaf(resolved.kind, path, value).unwrap();
                        let object =
                            OwnedValue::Object(vec![(resolved.json_path.to_owned(), leaf)]);
                        doc.add_field_value(resolved.field, &object);
                    }
                    kind => doc.add_field_value(
                        resolved.field,
                        &document_value(kind, path, value).unwrap(),
                    ),
                }
                writer.add_document(doc).unwrap();
            }
            writer.commit().unwrap();
            let searcher = index.reader().unwrap().searcher();
            Fixture { schema, searcher }
        }

        pub(super) fn term_count(&self, path: &str, value: Value) -> usize {
            let term = term(&resolved(&self.schema, path), &value).unwrap();
            self.searcher
                .search(&TermQuery::new(term, IndexRecordOption::Basic), &Count)
                .unwrap()
        }

        pub(super) fn range_count(
            &self,
            path: &str,
            lower: RangeEnd<'_>,
            upper: RangeEnd<'_>,
        ) -> usize {
            let resolved = resolved(&self.schema, path);
            match range_terms(&resolved, lower, upper).unwrap() {
                RangeMatch::Between(low, high) => self
                    .searcher
                    .search(&RangeQuery::new(low, high), &Count)
                    .unwrap(),
                RangeMatch::AnyOf(terms) => self
                    .searcher
                    .search(&TermSetQuery::new(terms), &Count)
                    .unwrap(),
                RangeMatch::Nothing => 0,
            }
        }
    }
}
