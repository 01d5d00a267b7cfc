//! From Rust types to Elasticsearch mappings.
//!
//! Every field of a record type has a Rust type that implements
//! [`FieldType`], which gives its mapping and its typed search handle. The
//! runtime implements it for scalars, `Option`, `Vec`, string-keyed maps and
//! (through `#[derive(Composite)]`) nested structs. It also checks a value
//! before it is recorded ([`FieldType::check_value`]), so a value that
//! Elasticsearch or the embedded engine cannot store is refused with a
//! clear [`InvalidValue`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value, json};

use crate::fields::{Field, MapField};
use crate::shape::Shape;

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

    /// Checks that Elasticsearch and the embedded engine can store this
    /// value as serde writes it: finite `f32`/`f64` (JSON has no NaN or
    /// infinity, and serde_json would write `null`), dates within the years
    /// 0000..=9999, strings of at most [`MAX_TERM_BYTES`] bytes (a keyword
    /// is one term; the derive does not check `#[record(text)]` fields, which
    /// have no such limit), map keys that can name a field (see
    /// [`MapValue`]), and the same for what `Option`, `Box`, `Vec`, maps and
    /// composites hold. The default accepts every value.
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

    /// How values of this type are laid out as a column (an Arrow record
    /// batch's): what the mapping cannot tell, such as a list. The
    /// default, [`Shape::Opaque`], keeps the field out of record batches
    /// with an error that names it.
    ///
    /// ```
    /// use esrecord::mapping::FieldType;
    /// use esrecord::shape::Shape;
    /// assert_eq!(<Vec<f32> as FieldType>::shape(), Shape::List(Box::new(Shape::Float32)));
    /// ```
    fn shape() -> Shape {
        Shape::Opaque
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
    /// A keyword (a `String` that is not `#[record(text)]`) longer than one
    /// Lucene term, [`MAX_TERM_BYTES`] bytes of UTF-8.
    KeywordTooLong {
        /// Its length in UTF-8 bytes.
        bytes: usize,
    },
    /// An entry of a map of strings (a `flattened` field) whose key, a NUL
    /// separator and value, Elasticsearch's term for it, are longer than
    /// [`MAX_TERM_BYTES`] bytes.
    MapEntryTooLong {
        /// The key's length in UTF-8 bytes.
        key_bytes: usize,
        /// The value's length in UTF-8 bytes.
        value_bytes: usize,
    },
    /// A map key that is empty, or has an empty dotted part (it starts or
    /// ends with a dot, or has two in a row).
    EmptyKeyPart,
    /// A map key with a NUL or U+0001 character, which both backends use to
    /// encode paths.
    KeyWithReservedCharacter,
    /// A key of a map of strings with more than [`MAX_KEY_PARTS`] dotted parts.
    KeyTooDeep {
        /// The parts it has.
        parts: usize,
    },
    /// A key of a map of numbers with a dot: each key is a field of the
    /// index, and a dot would make objects of it.
    DottedKey,
    /// A key of a map of numbers that is only whitespace.
    BlankKey,
    /// A map of numbers with more than [`MAX_NUMERIC_MAP_KEYS`] keys.
    TooManyKeys {
        /// The keys it has.
        keys: usize,
    },
}

/// The longest keyword both backends index, in UTF-8 bytes: Lucene's limit
/// on one term. Longer strings are refused, unless the field is
/// `#[record(text)]` (analysed into words, with no such limit).
pub const MAX_TERM_BYTES: usize = 32_766;

/// The most dotted parts a key of a map of strings may have: the embedded
/// engine nests each part, and nests no deeper than this (as
/// Elasticsearch's `index.mapping.depth.limit` and `flattened` fields'
/// `depth_limit` default to).
pub const MAX_KEY_PARTS: usize = 20;

/// The most keys one map of numbers may hold. Each key is a field of the
/// index in Elasticsearch, and an index holds at most
/// `index.mapping.total_fields.limit` fields (1,000 by default): a map with
/// more keys can never be stored there.
pub const MAX_NUMERIC_MAP_KEYS: usize = 1_000;

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
            InvalidReason::KeywordTooLong { bytes } => write!(
                f,
                "is {bytes} bytes long; a keyword is indexed as one term of at most {MAX_TERM_BYTES} bytes (UTF-8): record a shorter value, or declare the field #[record(text)] to store it as full text"
            ),
            InvalidReason::MapEntryTooLong {
                key_bytes,
                value_bytes,
            } => write!(
                f,
                "has a key of {key_bytes} bytes and a value of {value_bytes} bytes; Elasticsearch indexes an entry of a map of strings as one term, key and value, of at most {MAX_TERM_BYTES} bytes (UTF-8): record a shorter value"
            ),
            InvalidReason::EmptyKeyPart => f.write_str(
                "has a key that is empty, starts or ends with a dot, or has two dots in a row; such a key names no field: record a non-empty key without empty dotted parts",
            ),
            InvalidReason::KeyWithReservedCharacter => f.write_str(
                "has a key with a NUL or U+0001 character, which the backends use to encode field paths: remove the character from the key",
            ),
            InvalidReason::KeyTooDeep { parts } => write!(
                f,
                "has a key of {parts} dotted parts; each part is a level of nesting, and the backends nest at most {MAX_KEY_PARTS} levels: use fewer dots in the key"
            ),
            InvalidReason::DottedKey => f.write_str(
                "has a dot in its key; each key of a map of numbers is a field of the index, and a dot would make `a.b` an object `a`, which no other record could then record as a number: use another separator, such as `_` or `/`",
            ),
            InvalidReason::BlankKey => f.write_str(
                "has a key that is only whitespace, which Elasticsearch refuses as a field name: record a key with a visible character",
            ),
            InvalidReason::TooManyKeys { keys } => write!(
                f,
                "has {keys} keys; each key of a map of numbers is a field of the index, and an index holds at most {MAX_NUMERIC_MAP_KEYS} fields by default: record fewer keys, or store values that need not be aggregated as a map of strings (one field, whatever its keys)"
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

fn check_keyword(value: &str) -> Result<(), InvalidValue> {
    if value.len() <= MAX_TERM_BYTES {
        Ok(())
    } else {
        Err(too_long(value.len()))
    }
}

#[cold]
fn too_long(bytes: usize) -> InvalidValue {
    InvalidValue::new(InvalidReason::KeywordTooLong { bytes })
}

/// What both backends refuse in any map key: a NUL or U+0001 (path
/// encodings), an empty key or an empty dotted part.
fn check_key(key: &str) -> Result<(), InvalidReason> {
    if key.contains(['\u{0}', '\u{1}']) {
        Err(InvalidReason::KeyWithReservedCharacter)
    } else if key.is_empty() {
        Err(InvalidReason::EmptyKeyPart)
    } else {
        Ok(())
    }
}

/// A key of a map of strings: dotted parts are levels of the `flattened`
/// field (in the embedded engine), each non-empty, at most
/// [`MAX_KEY_PARTS`] of them.
fn check_flattened_key(key: &str) -> Result<(), InvalidReason> {
    check_key(key)?;
    let mut parts = 0;
    for part in key.split('.') {
        if part.is_empty() {
            return Err(InvalidReason::EmptyKeyPart);
        }
        parts += 1;
    }
    if parts > MAX_KEY_PARTS {
        return Err(InvalidReason::KeyTooDeep { parts });
    }
    Ok(())
}

/// A key of a map of numbers: one field name of the index, without dots
/// and not blank.
fn check_numeric_key(key: &str) -> Result<(), InvalidReason> {
    check_key(key)?;
    if key.contains('.') {
        Err(InvalidReason::DottedKey)
    } else if key.chars().all(char::is_whitespace) {
        Err(InvalidReason::BlankKey)
    } else {
        Ok(())
    }
}

/// The error for the entry `key` of a map.
#[cold]
fn invalid_entry(key: &str, reason: InvalidReason) -> InvalidValue {
    InvalidValue::new(reason).in_field(key)
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

/// `$ty => "es type" as Shape`, optionally `checked by` a function that
/// checks a value.
macro_rules! scalar_field_types {
    ($($ty:ty => $es:literal as $shape:ident $(checked by $check:ident)?),* $(,)?) => {$(
        impl FieldType for $ty {
            type Handle = Field<$ty>;
            fn mapping(_path: &str, _templates: &mut DynamicTemplates) -> Value {
                typed($es)
            }
            fn shape() -> Shape {
                Shape::$shape
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
    String => "keyword" as Keyword checked by check_keyword,
    bool => "boolean" as Boolean,
    i8 => "byte" as Int8,
    i16 => "short" as Int16,
    i32 => "integer" as Int32,
    i64 => "long" as Int64,
    isize => "long" as Int64,
    u8 => "short" as UInt8,
    u16 => "integer" as UInt16,
    u32 => "long" as UInt32,
    u64 => "unsigned_long" as UInt64,
    usize => "unsigned_long" as UInt64,
    f32 => "float" as Float32 checked by check_f32,
    f64 => "double" as Float64 checked by check_f64,
    DateTime<Utc> => "date" as Timestamp checked by check_utc,
    DateTime<FixedOffset> => "date" as Timestamp checked by check_fixed_offset,
    NaiveDateTime => "date" as LocalTimestamp checked by check_naive_date_time,
    NaiveDate => "date" as Date checked by check_naive_date,
    // 36 bytes as serde writes it: always one term.
    uuid::Uuid => "keyword" as Text,
    IpAddr => "ip" as Text,
    Ipv4Addr => "ip" as Text,
    Ipv6Addr => "ip" as Text,
}

/// Wrappers stored as what they wrap: `Option<T>` (absent or `T`), `Box<T>`,
/// and `Vec<T>` (Elasticsearch has no array type: any field holds one value
/// or many). Each is checked by `|value| check`.
macro_rules! transparent_field_types {
    ($($wrapper:ident as |$shape:ident| $shape_of:expr, checked by |$value:ident| $check:expr),* $(,)?) => {$(
        impl<T: FieldType> FieldType for $wrapper<T> {
            type Handle = T::Handle;
            fn mapping(path: &str, templates: &mut DynamicTemplates) -> Value {
                T::mapping(path, templates)
            }
            fn handle(path: String) -> T::Handle {
                T::handle(path)
            }
            fn shape() -> Shape {
                let $shape = T::shape();
                $shape_of
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
    Option as |shape| Shape::Optional(Box::new(shape)),
        checked by |value| value.as_ref().map_or(Ok(()), T::check_value),
    Box as |shape| shape, checked by |value| T::check_value(value),
    Vec as |shape| Shape::List(Box::new(shape)), checked by |value| {
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
///
/// Checking a map checks its keys as well as its values: no key may be
/// empty or hold a NUL or U+0001. A key of a map of strings may have dotted
/// parts (sub-keys, at most [`MAX_KEY_PARTS`], none empty) and an entry,
/// key and value, must fit in one term ([`MAX_TERM_BYTES`]). A key of a map
/// of numbers is one field name: no dots, not blank, and at most
/// [`MAX_NUMERIC_MAP_KEYS`] keys.
///
/// ```
/// use esrecord::mapping::{FieldType, InvalidReason};
/// use std::collections::BTreeMap;
/// let load = BTreeMap::from([("cpu.user".to_owned(), 0.5)]);
/// let err = load.check_value().unwrap_err();
/// assert_eq!((err.path(), err.reason()), ("cpu.user", InvalidReason::DottedKey));
/// let tags = BTreeMap::from([("os.name".to_owned(), "linux".to_owned())]);
/// assert!(tags.check_value().is_ok());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the value type of a map field",
    label = "unsupported map value",
    note = "map fields hold strings (a `flattened` field) or numbers (an object with a numeric dynamic template); store other values as strings, or declare a `Composite` struct with one named field per key"
)]
pub trait MapValue {
    /// The most keys a map of this value type may hold, if any limit.
    const MAX_KEYS: Option<usize> = None;

    /// The mapping of a map field at `path` with this value type.
    fn map_mapping(path: &str, templates: &mut DynamicTemplates) -> Value;

    /// Checks one entry of a map, for [`FieldType::check_value`]; an
    /// error's path starts with the key.
    fn check_entry(key: &str, value: &Self) -> Result<(), InvalidValue>;

    /// The shape of one value (see [`FieldType::shape`]).
    fn value_shape() -> Shape;
}

impl MapValue for String {
    fn map_mapping(_path: &str, _templates: &mut DynamicTemplates) -> Value {
        typed("flattened")
    }

    fn value_shape() -> Shape {
        Shape::Keyword
    }

    #[inline]
    fn check_entry(key: &str, value: &Self) -> Result<(), InvalidValue> {
        check_flattened_key(key).map_err(|reason| invalid_entry(key, reason))?;
        // Elasticsearch's term for the entry is `key\0value`.
        if key.len() + 1 + value.len() > MAX_TERM_BYTES {
            let reason = InvalidReason::MapEntryTooLong {
                key_bytes: key.len(),
                value_bytes: value.len(),
            };
            return Err(invalid_entry(key, reason));
        }
        Ok(())
    }
}

/// A map of numbers: an object whose keys the dynamic template maps as `T`.
fn numeric_map_mapping<T: FieldType>(path: &str, templates: &mut DynamicTemplates) -> Value {
    let value_mapping = T::mapping(path, templates);
    templates.add_path_match(path, value_mapping);
    json!({ "type": "object", "dynamic": true })
}

/// Numbers as map values: keys checked as field names, values by their
/// type (NaN and infinities cannot be stored).
macro_rules! numeric_map_values {
    ($($ty:ty),*) => {$(
        impl MapValue for $ty {
            const MAX_KEYS: Option<usize> = Some(MAX_NUMERIC_MAP_KEYS);

            fn map_mapping(path: &str, templates: &mut DynamicTemplates) -> Value {
                numeric_map_mapping::<$ty>(path, templates)
            }

            fn value_shape() -> Shape {
                <$ty as FieldType>::shape()
            }

            #[inline]
            fn check_entry(key: &str, value: &Self) -> Result<(), InvalidValue> {
                check_numeric_key(key).map_err(|reason| invalid_entry(key, reason))?;
                value.check_value().map_err(|e| e.in_field(key))
            }
        }
    )*};
}

numeric_map_values!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64);

/// Checks a map of `len` entries.
#[inline]
fn check_map<'a, V: MapValue + 'a>(
    len: usize,
    entries: impl Iterator<Item = (&'a String, &'a V)>,
) -> Result<(), InvalidValue> {
    if let Some(max) = V::MAX_KEYS
        && len > max
    {
        return Err(InvalidValue::new(InvalidReason::TooManyKeys { keys: len }));
    }
    for (key, value) in entries {
        V::check_entry(key, value)?;
    }
    Ok(())
}

impl<V: MapValue> FieldType for BTreeMap<String, V> {
    type Handle = MapField<V>;
    fn mapping(path: &str, templates: &mut DynamicTemplates) -> Value {
        V::map_mapping(path, templates)
    }
    fn handle(path: String) -> MapField<V> {
        MapField::new(path)
    }
    fn shape() -> Shape {
        Shape::Map(Box::new(V::value_shape()))
    }
    #[inline]
    fn check_value(&self) -> Result<(), InvalidValue> {
        check_map(self.len(), self.iter())
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
    fn shape() -> Shape {
        Shape::Map(Box::new(V::value_shape()))
    }
    #[inline]
    fn check_value(&self) -> Result<(), InvalidValue> {
        check_map(self.len(), self.iter())
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_measured_in_bytes() {
        assert!("x".repeat(MAX_TERM_BYTES).check_value().is_ok());
        // Three bytes a character: 10,923 characters are 32,769 bytes.
        let err = "€".repeat(10_923).check_value().unwrap_err();
        assert_eq!(
            err.reason(),
            InvalidReason::KeywordTooLong { bytes: 32_769 }
        );
        let err = Some(vec![String::new(), "x".repeat(MAX_TERM_BYTES + 1)])
            .check_value()
            .unwrap_err();
        assert_eq!(err.path(), "[1]");
    }

    #[test]
    fn map_keys_are_checked_by_value_type() {
        for (key, reason) in [
            ("", InvalidReason::EmptyKeyPart),
            ("a..b", InvalidReason::EmptyKeyPart),
            ("a.", InvalidReason::EmptyKeyPart),
            ("a\u{0}", InvalidReason::KeyWithReservedCharacter),
        ] {
            assert_eq!(check_flattened_key(key), Err(reason), "{key:?}");
        }
        assert_eq!(check_flattened_key("a.b c._d"), Ok(()));
        assert_eq!(check_flattened_key(" "), Ok(()));
        for (key, reason) in [
            ("", InvalidReason::EmptyKeyPart),
            ("a.b", InvalidReason::DottedKey),
            ("\u{1}.", InvalidReason::KeyWithReservedCharacter),
            ("\u{a0} ", InvalidReason::BlankKey),
        ] {
            assert_eq!(check_numeric_key(key), Err(reason), "{key:?}");
        }
        assert_eq!(check_numeric_key("p99 ms"), Ok(()));
        assert_eq!(check_numeric_key("_total"), Ok(()));
    }

    #[test]
    fn map_errors_name_the_key() {
        let tags = HashMap::from([("os".to_owned(), "x".repeat(MAX_TERM_BYTES - 2))]);
        let err = tags.check_value().unwrap_err();
        assert_eq!(err.path(), "os");
        assert_eq!(
            err.reason(),
            InvalidReason::MapEntryTooLong {
                key_bytes: 2,
                value_bytes: MAX_TERM_BYTES - 2
            }
        );
        let err = BTreeMap::from([("ok".to_owned(), 1.0), ("".to_owned(), 2.0)])
            .check_value()
            .unwrap_err();
        assert_eq!(
            (err.path(), err.reason()),
            ("", InvalidReason::EmptyKeyPart)
        );
        let many: BTreeMap<String, u8> = (0..=MAX_NUMERIC_MAP_KEYS)
            .map(|i| (i.to_string(), 0))
            .collect();
        assert_eq!(
            many.check_value().unwrap_err().reason(),
            InvalidReason::TooManyKeys { keys: 1_001 }
        );
        // A map of strings is one field, whatever its keys.
        let many: BTreeMap<String, String> = (0..=MAX_NUMERIC_MAP_KEYS)
            .map(|i| (i.to_string(), String::new()))
            .collect();
        assert!(many.check_value().is_ok());
    }
}
