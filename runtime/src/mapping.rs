//! From Rust types to Elasticsearch mappings.
//!
//! Every field of a record type has a Rust type that implements
//! [`FieldType`], which gives its mapping and its typed search handle. The
//! runtime implements it for scalars, `Option`, `Vec`, string-keyed maps and
//! (through `#[derive(Composite)]`) nested structs.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value, json};

use crate::fields::{Field, MapField};

/// A Rust type that can be a field of a record: it has an Elasticsearch
/// mapping and a typed handle for searches.
///
/// ```
/// use esrecord::mapping::{DynamicTemplates, FieldType};
/// let mut templates = DynamicTemplates::default();
/// assert_eq!(<u64 as FieldType>::mapping("item_id", &mut templates), serde_json::json!({"type": "unsigned_long"}));
/// assert_eq!(<Option<String> as FieldType>::mapping("path", &mut templates), serde_json::json!({"type": "keyword"}));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no Elasticsearch mapping, so it cannot be a field of a record",
    label = "unsupported field type",
    note = "derive `esrecord::Composite` for a struct of yours, give the field its mapping with `#[record(mapping = r#\"{{\"type\": \"keyword\"}}\"#)]`, or leave it out with `#[serde(skip)]`",
    note = "supported: String, bool, integers, f32, f64, DateTime<Utc>, NaiveDate, Uuid, IpAddr, Option<T>, Vec<T>, maps from String to strings or numbers, and Composite structs"
)]
pub trait FieldType {
    /// The typed handle that searches use for this field.
    type Handle;

    /// The mapping of a field of this type at `path` (dotted, from the
    /// document root). Types that need dynamic templates add them to
    /// `templates`.
    fn mapping(path: &str, templates: &mut DynamicTemplates) -> Value;

    /// The handle for a field of this type at `path`.
    fn handle(path: String) -> Self::Handle;
}

/// The `dynamic_templates` of a mapping, collected while the properties are built.
///
/// ```
/// use esrecord::mapping::{DynamicTemplates, FieldType};
/// use std::collections::BTreeMap;
/// let mut templates = DynamicTemplates::default();
/// let mapping = <BTreeMap<String, f64> as FieldType>::mapping("load", &mut templates);
/// assert_eq!(mapping["dynamic"], true);
/// assert_eq!(templates.to_json()[0]["load_values"]["path_match"], "load.*");
/// ```
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DynamicTemplates(Vec<(String, Value)>);

impl DynamicTemplates {
    /// Maps every field below `path` (a map field's keys) with `mapping`.
    pub fn add_path_match(&mut self, path: &str, mapping: Value) {
        let name = format!("{path}_values");
        let template = json!({ "path_match": format!("{path}.*"), "mapping": mapping });
        self.0.push((name, template));
    }

    /// Whether no template was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The templates in Elasticsearch's form: `[{name: {path_match, mapping}}, ...]`.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.0
                .iter()
                .map(|(name, template)| json!({ name.as_str(): template }))
                .collect(),
        )
    }
}

/// The mapping `{"type": ty}`.
pub fn typed(ty: &str) -> Value {
    json!({ "type": ty })
}

/// The mapping of an object with the given properties.
pub fn object(properties: Map<String, Value>) -> Value {
    json!({ "properties": properties })
}

macro_rules! scalar_field_types {
    ($($ty:ty => $es:literal),* $(,)?) => {$(
        impl FieldType for $ty {
            type Handle = Field<$ty>;
            fn mapping(_path: &str, _templates: &mut DynamicTemplates) -> Value {
                typed($es)
            }
            fn handle(path: String) -> Field<$ty> {
                Field::new(path)
            }
        }
        impl KeywordField for $ty {}
    )*};
}

scalar_field_types! {
    String => "keyword",
    bool => "boolean",
    i8 => "byte",
    i16 => "short",
    i32 => "integer",
    i64 => "long",
    isize => "long",
    u8 => "short",
    u16 => "integer",
    u32 => "long",
    u64 => "unsigned_long",
    usize => "unsigned_long",
    f32 => "float",
    f64 => "double",
    DateTime<Utc> => "date",
    DateTime<FixedOffset> => "date",
    NaiveDateTime => "date",
    NaiveDate => "date",
    uuid::Uuid => "keyword",
    IpAddr => "ip",
    Ipv4Addr => "ip",
    Ipv6Addr => "ip",
}

/// Wrappers stored as what they wrap: `Option<T>` (absent or `T`), `Box<T>`,
/// and `Vec<T>` (Elasticsearch has no array type: any field holds one value
/// or many).
macro_rules! transparent_field_types {
    ($($wrapper:ident),*) => {$(
        impl<T: FieldType> FieldType for $wrapper<T> {
            type Handle = T::Handle;
            fn mapping(path: &str, templates: &mut DynamicTemplates) -> Value {
                T::mapping(path, templates)
            }
            fn handle(path: String) -> T::Handle {
                T::handle(path)
            }
        }
    )*};
}

transparent_field_types!(Option, Vec, Box);

/// A value type of a string-keyed map field.
///
/// Maps of strings become one `flattened` field, whose keys can be filtered
/// on (`tags.platform`); maps of numbers become an object whose keys are
/// mapped by a dynamic template, so they can be aggregated.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the value type of a map field",
    label = "unsupported map value",
    note = "map fields hold strings (a `flattened` field) or numbers (an object with a numeric dynamic template); store other values as strings, or declare a `Composite` struct with one named field per key"
)]
pub trait MapValue {
    /// The mapping of a map field at `path` with this value type.
    fn map_mapping(path: &str, templates: &mut DynamicTemplates) -> Value;
}

impl MapValue for String {
    fn map_mapping(_path: &str, _templates: &mut DynamicTemplates) -> Value {
        typed("flattened")
    }
}

macro_rules! numeric_map_values {
    ($($ty:ty),*) => {$(
        impl MapValue for $ty {
            fn map_mapping(path: &str, templates: &mut DynamicTemplates) -> Value {
                let value_mapping = <$ty as FieldType>::mapping(path, templates);
                templates.add_path_match(path, value_mapping);
                json!({ "type": "object", "dynamic": true })
            }
        }
    )*};
}

numeric_map_values!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64);

impl<V: MapValue> FieldType for BTreeMap<String, V> {
    type Handle = MapField<V>;
    fn mapping(path: &str, templates: &mut DynamicTemplates) -> Value {
        V::map_mapping(path, templates)
    }
    fn handle(path: String) -> MapField<V> {
        MapField::new(path)
    }
}

impl<V: MapValue, S> FieldType for HashMap<String, V, S> {
    type Handle = MapField<V>;
    fn mapping(path: &str, templates: &mut DynamicTemplates) -> Value {
        V::map_mapping(path, templates)
    }
    fn handle(path: String) -> MapField<V> {
        MapField::new(path)
    }
}

/// Types that `#[record(keyword)]` can store as a `keyword`: scalars, and
/// `Option`s and `Vec`s of them.
#[diagnostic::on_unimplemented(
    message = "`#[record(keyword)]` cannot store `{Self}` as a keyword",
    label = "not a scalar",
    note = "`keyword` applies to strings, numbers, booleans, dates, UUIDs and IP addresses (or Option/Vec of them); remove it here"
)]
pub trait KeywordField {}

impl<T: KeywordField> KeywordField for Option<T> {}
impl<T: KeywordField> KeywordField for Vec<T> {}

/// Types that `#[record(text)]` can store as analysed full text: `String`, and
/// `Option`s and `Vec`s of it.
#[diagnostic::on_unimplemented(
    message = "`#[record(text)]` needs a string field, not `{Self}`",
    label = "not a string",
    note = "`text` applies to String, Option<String> and Vec<String>; remove it here"
)]
pub trait TextField {}

impl TextField for String {}
impl<T: TextField> TextField for Option<T> {}
impl<T: TextField> TextField for Vec<T> {}

/// The type a record's timestamp field must have.
#[diagnostic::on_unimplemented(
    message = "the timestamp of a record must be a `DateTime<Utc>`, not `{Self}`",
    label = "not a DateTime<Utc>",
    note = "change the field to `chrono::DateTime<chrono::Utc>`, or mark another field that is one with `#[record(timestamp)]`, or declare the type `#[record(simple)]` if it is not a time series"
)]
pub trait TimestampField {
    /// The instant the field holds.
    fn instant(&self) -> DateTime<Utc>;
}

impl TimestampField for DateTime<Utc> {
    fn instant(&self) -> DateTime<Utc> {
        *self
    }
}
