//! From Rust types to Elasticsearch mappings.
//!
//! Every field of a record type has a Rust type that implements
//! [`FieldType`], which gives its mapping and its typed search handle. The
//! runtime implements it for scalars, `Option`, `Vec`, string-keyed maps and
//! (through `#[derive(Composite)]`) nested structs. It also checks a value
//! before it is recorded ([`FieldType::check_value`]), so a value that
//! Elasticsearch cannot store is refused with a clear [`InvalidValue`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Utc};
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

    /// Checks that Elasticsearch can store this value as serde writes it:
    /// finite `f32`/`f64` (JSON has no NaN or infinity, and serde_json would
    /// write `null`), dates within the years 0000..=9999, and the same for
    /// what `Option`, `Box`, `Vec`, numeric maps and composites hold. The
    /// default accepts every value.
    ///
    /// It costs a few comparisons and never allocates when the value is
    /// valid; the error's [path](InvalidValue::path) is built on the way out.
    ///
    /// ```
    /// use esrecord::mapping::{FieldType, InvalidReason};
    /// assert!(1.5f64.check_value().is_ok());
    /// let err = vec![1.0, f64::NAN].check_value().unwrap_err();
    /// assert_eq!((err.path(), err.reason()), ("[1]", InvalidReason::NotANumber));
    /// ```
    fn check_value(&self) -> Result<(), InvalidValue> {
        Ok(())
    }
}

/// Why [`FieldType::check_value`] refused a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidReason {
    /// A float that is NaN.
    NotANumber,
    /// A float that is `+inf`.
    PositiveInfinity,
    /// A float that is `-inf`.
    NegativeInfinity,
    /// A date or timestamp whose year (as written) is outside 0000..=9999.
    YearOutOfRange {
        /// The year it has.
        year: i32,
    },
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NOT_FINITE: &str = "Elasticsearch cannot store NaN or infinity (JSON has no such numbers): record a finite number, or leave the field out (Option::None)";
        match self {
            InvalidReason::NotANumber => write!(f, "is NaN; {NOT_FINITE}"),
            InvalidReason::PositiveInfinity => write!(f, "is +infinity; {NOT_FINITE}"),
            InvalidReason::NegativeInfinity => write!(f, "is -infinity; {NOT_FINITE}"),
            InvalidReason::YearOutOfRange { year } => write!(
                f,
                "has the year {year}; index names and Elasticsearch's default date format hold four-digit years: record a date within the years 0000 to 9999"
            ),
        }
    }
}

/// A value that [`FieldType::check_value`] refused: where it is and why.
///
/// The path is dotted from the value that was checked, with element indexes
/// in brackets and map keys as fields (`latency.p99_ms`, `samples[3]`,
/// `load.cpu`); it is empty when the value itself is invalid. Each enclosing
/// value adds its part on the way out of the check, so valid values never
/// allocate.
///
/// ```
/// use esrecord::mapping::{InvalidReason, InvalidValue};
/// let err = InvalidValue::new(InvalidReason::NotANumber).at_index(3).in_field("samples");
/// assert_eq!(err.path(), "samples[3]");
/// assert_eq!(err.in_field("stats").path(), "stats.samples[3]");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValue {
    path: String,
    reason: InvalidReason,
}

impl InvalidValue {
    /// The value checked is itself invalid (an empty path).
    #[cold]
    pub fn new(reason: InvalidReason) -> Self {
        InvalidValue {
            path: String::new(),
            reason,
        }
    }

    /// The invalid value is inside the field (or map key) `name`: prefixes
    /// the path with `name.`.
    #[cold]
    #[must_use]
    pub fn in_field(self, name: &str) -> Self {
        self.prepend(name)
    }

    /// The invalid value is inside the element `index` of a list: prefixes
    /// the path with `[index]`.
    #[cold]
    #[must_use]
    pub fn at_index(self, index: usize) -> Self {
        self.prepend(&format!("[{index}]"))
    }

    /// `part` before the path, with a dot between unless an index follows.
    fn prepend(mut self, part: &str) -> Self {
        if !self.path.is_empty() && !self.path.starts_with('[') {
            self.path.insert(0, '.');
        }
        self.path.insert_str(0, part);
        self
    }

    /// The path of the invalid value below the value checked; empty for the
    /// value itself.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Why the value was refused.
    pub fn reason(&self) -> InvalidReason {
        self.reason
    }

    /// The path, taken out.
    pub fn into_path(self) -> String {
        self.path
    }
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "the value {}", self.reason)
        } else {
            write!(f, "field {} {}", self.path, self.reason)
        }
    }
}

impl std::error::Error for InvalidValue {}

fn check_float(value: f64) -> Result<(), InvalidValue> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(InvalidValue::new(if value.is_nan() {
            InvalidReason::NotANumber
        } else if value > 0.0 {
            InvalidReason::PositiveInfinity
        } else {
            InvalidReason::NegativeInfinity
        }))
    }
}

fn check_f32(value: &f32) -> Result<(), InvalidValue> {
    check_float(f64::from(*value))
}

fn check_f64(value: &f64) -> Result<(), InvalidValue> {
    check_float(*value)
}

fn check_year(year: i32) -> Result<(), InvalidValue> {
    if (0..=9999).contains(&year) {
        Ok(())
    } else {
        Err(InvalidValue::new(InvalidReason::YearOutOfRange { year }))
    }
}

fn check_utc(value: &DateTime<Utc>) -> Result<(), InvalidValue> {
    // The same year as `value.year()`, without adding a zero offset.
    check_year(value.naive_utc().year())
}

/// serde writes the local time and its offset, so the local year counts.
fn check_fixed_offset(value: &DateTime<FixedOffset>) -> Result<(), InvalidValue> {
    check_year(value.year())
}

fn check_naive_date_time(value: &NaiveDateTime) -> Result<(), InvalidValue> {
    check_year(value.year())
}

fn check_naive_date(value: &NaiveDate) -> Result<(), InvalidValue> {
    check_year(value.year())
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

/// `$ty => "es type"`, optionally `checked by` a function that checks a value.
macro_rules! scalar_field_types {
    ($($ty:ty => $es:literal $(checked by $check:ident)?),* $(,)?) => {$(
        impl FieldType for $ty {
            type Handle = Field<$ty>;
            fn mapping(_path: &str, _templates: &mut DynamicTemplates) -> Value {
                typed($es)
            }
            fn handle(path: String) -> Field<$ty> {
                Field::new(path)
            }
            $(
                #[inline]
                fn check_value(&self) -> Result<(), InvalidValue> {
                    $check(self)
                }
            )?
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
    f32 => "float" checked by check_f32,
    f64 => "double" checked by check_f64,
    DateTime<Utc> => "date" checked by check_utc,
    DateTime<FixedOffset> => "date" checked by check_fixed_offset,
    NaiveDateTime => "date" checked by check_naive_date_time,
    NaiveDate => "date" checked by check_naive_date,
    uuid::Uuid => "keyword",
    IpAddr => "ip",
    Ipv4Addr => "ip",
    Ipv6Addr => "ip",
}

/// Wrappers stored as what they wrap: `Option<T>` (absent or `T`), `Box<T>`,
/// and `Vec<T>` (Elasticsearch has no array type: any field holds one value
/// or many). Each is checked by `|value| check`.
macro_rules! transparent_field_types {
    ($($wrapper:ident: |$value:ident| $check:expr),* $(,)?) => {$(
        impl<T: FieldType> FieldType for $wrapper<T> {
            type Handle = T::Handle;
            fn mapping(path: &str, templates: &mut DynamicTemplates) -> Value {
                T::mapping(path, templates)
            }
            fn handle(path: String) -> T::Handle {
                T::handle(path)
            }
            #[inline]
            fn check_value(&self) -> Result<(), InvalidValue> {
                let $value = self;
                $check
            }
        }
    )*};
}

transparent_field_types! {
    Option: |value| value.as_ref().map_or(Ok(()), T::check_value),
    Box: |value| T::check_value(value),
    Vec: |value| {
        for (index, item) in value.iter().enumerate() {
            item.check_value().map_err(|e| e.at_index(index))?;
        }
        Ok(())
    },
}

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

    /// Checks a map's values, for [`FieldType::check_value`]; an error's
    /// path starts with the key. The default, for value types that are
    /// always valid, does not look at them.
    fn check_entries<'a>(
        entries: impl Iterator<Item = (&'a String, &'a Self)>,
    ) -> Result<(), InvalidValue>
    where
        Self: 'a,
    {
        let _ = entries;
        Ok(())
    }
}

impl MapValue for String {
    fn map_mapping(_path: &str, _templates: &mut DynamicTemplates) -> Value {
        typed("flattened")
    }
}

/// A map of numbers: an object whose keys the dynamic template maps as `T`.
fn numeric_map_mapping<T: FieldType>(path: &str, templates: &mut DynamicTemplates) -> Value {
    let value_mapping = T::mapping(path, templates);
    templates.add_path_match(path, value_mapping);
    json!({ "type": "object", "dynamic": true })
}

macro_rules! numeric_map_values {
    ($($ty:ty),*) => {$(
        impl MapValue for $ty {
            fn map_mapping(path: &str, templates: &mut DynamicTemplates) -> Value {
                numeric_map_mapping::<$ty>(path, templates)
            }
        }
    )*};
}

numeric_map_values!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

/// Float values are checked: NaN and infinities cannot be stored.
macro_rules! float_map_values {
    ($($ty:ty),*) => {$(
        impl MapValue for $ty {
            fn map_mapping(path: &str, templates: &mut DynamicTemplates) -> Value {
                numeric_map_mapping::<$ty>(path, templates)
            }
            fn check_entries<'a>(
                entries: impl Iterator<Item = (&'a String, &'a Self)>,
            ) -> Result<(), InvalidValue> {
                for (key, value) in entries {
                    value.check_value().map_err(|e| e.in_field(key))?;
                }
                Ok(())
            }
        }
    )*};
}

float_map_values!(f32, f64);

impl<V: MapValue> FieldType for BTreeMap<String, V> {
    type Handle = MapField<V>;
    fn mapping(path: &str, templates: &mut DynamicTemplates) -> Value {
        V::map_mapping(path, templates)
    }
    fn handle(path: String) -> MapField<V> {
        MapField::new(path)
    }
    #[inline]
    fn check_value(&self) -> Result<(), InvalidValue> {
        V::check_entries(self.iter())
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
    #[inline]
    fn check_value(&self) -> Result<(), InvalidValue> {
        V::check_entries(self.iter())
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
