//! The values of leaf fields (keywords, text, numbers, booleans, dates,
//! IPs): one value, an array of them, or null, converted by
//! [`values`] and checked as
//! Elasticsearch checks them.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use tantivy::schema::OwnedValue;

use super::{ItemError, Walker};
use crate::backend::embedded::schema::{FieldKind, MappedField};
use crate::backend::embedded::values;

/// The longest keyword Elasticsearch indexes, in UTF-8 bytes.
pub(super) const MAX_TERM_BYTES: usize = 32_766;

impl Walker<'_> {
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

    /// Elasticsearch's error for a value a field cannot take.
    pub(super) fn failed(
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

/// The value of a leaf field: a scalar, an array of them, or null.
pub(super) struct Leaf<'w, 'a> {
    pub(super) walker: &'w mut Walker<'a>,
    pub(super) mapped: MappedField,
    pub(super) kind: FieldKind,
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
pub(super) fn check_term_length(path: &str, typed: &OwnedValue) -> Result<(), ItemError> {
    match typed {
        OwnedValue::Str(text) if text.len() > MAX_TERM_BYTES => Err(immense_term(path)),
        _ => Ok(()),
    }
}

pub(super) fn immense_term(path: &str) -> ItemError {
    ItemError {
        error_type: "illegal_argument_exception",
        reason: format!(
            "Document contains at least one immense term in field=\"{path}\" (whose UTF8 encoding is longer than the max length {MAX_TERM_BYTES}); shorten the value or map the field as text"
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;
    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::{ExistsQuery, TermQuery};
    use tantivy::schema::IndexRecordOption;
    use tantivy::{DocAddress, Term};

    use super::super::tests::count;
    use super::super::to_document;
    use super::MAX_TERM_BYTES;
    use crate::backend::embedded::test_schema::{schema, searcher};

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
}
