//! Mapped objects, and fields the mapping does not know: rejected under a
//! strict mapping, kept in `_source` only otherwise.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{ItemError, Walker};
use crate::backend::embedded::values;

/// `parent.key`, or `key` at the root.
fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

impl Walker<'_> {
    /// Whether the mapping has fields below `path` (it is a mapped object).
    pub(super) fn is_object(&self, path: &str) -> bool {
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
    pub(super) fn unknown(&self, path: &str) -> Result<(), ItemError> {
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
}

/// The value of a mapped object: an object, an array of them, or null.
pub(super) struct ObjectValue<'w, 'a>(pub(super) &'w mut Walker<'a>);

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use tantivy::Term;
    use tantivy::schema::Value as _;

    use super::super::tests::{count, error};
    use super::super::to_document;
    use crate::backend::embedded::schema::PartitionSchema;
    use crate::backend::embedded::test_schema::{schema, searcher};

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
}
