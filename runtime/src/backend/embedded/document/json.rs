//! `flattened` fields and objects mapped by a dynamic template (maps): the
//! whole sub-object becomes one tantivy JSON value, read straight from the
//! source, its keys checked and its leaves typed as the field's leaves.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use tantivy::schema::OwnedValue;

use super::leaf::{MAX_TERM_BYTES, check_term_length, immense_term};
use super::{ItemError, KeySeed, Walker};
use crate::backend::embedded::schema::{FieldKind, LeafKind, MappedField};
use crate::backend::embedded::values;

/// How deep values inside a JSON field may be nested (objects and arrays
/// each count): tantivy indexes deeper values in its fast columns no more,
/// and Elasticsearch's `flattened` fields reject them by default too.
const JSON_DEPTH_LIMIT: usize = 20;

impl Walker<'_> {
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
    pub(super) fn check_key_parts(&self, key: &str) -> Result<(), ItemError> {
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
}

/// The value of a JSON field (`flattened`, or an object mapped by a dynamic
/// template): an object, an array of them, or null. Each object becomes one
/// tantivy JSON value, read straight from the source.
pub(super) struct JsonField<'w, 'a> {
    pub(super) walker: &'w mut Walker<'a>,
    pub(super) mapped: MappedField,
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
pub(super) struct JsonValue<'w, 'a> {
    pub(super) walker: &'w mut Walker<'a>,
    pub(super) kind: FieldKind,
    pub(super) depth: usize,
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

/// `first: {rest[0]: {rest[1]: ... value}}`.
/// The entry of a JSON object for `key` with dots expanded:
/// `("a.b.c", v)` is `("a", {"b": {"c": v}})`.
pub(super) fn nest_dotted(key: String, value: OwnedValue) -> (String, OwnedValue) {
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
mod tests {
    use serde_json::json;

    use super::super::tests::{count, error, json_term};
    use super::super::to_document;
    use crate::backend::embedded::test_schema::{schema, searcher};

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
}
