//! How a field's values are laid out, from its Rust type: what a column
//! of them holds (Arrow record batches), which the mapping cannot tell
//! (Elasticsearch maps `Vec<T>` and `Option<T>` as `T`, and `u8` as
//! `short`).
//!
//! Every [`FieldType`](crate::mapping::FieldType) gives its
//! [`shape`](crate::mapping::FieldType::shape); the derive collects a
//! record's into [`RecordType::shape`](crate::RecordType::shape).

use std::marker::PhantomData;

use crate::mapping::FieldType;

/// The layout of one field's values.
///
/// ```
/// use esrecord::mapping::FieldType;
/// use esrecord::shape::Shape;
/// assert_eq!(<Option<Vec<u16>> as FieldType>::shape(), Shape::Optional(Box::new(Shape::List(Box::new(Shape::UInt16)))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Shape {
    /// `bool`.
    Boolean,
    /// `i8`.
    Int8,
    /// `i16`.
    Int16,
    /// `i32`.
    Int32,
    /// `i64`, `isize`.
    Int64,
    /// `u8`.
    UInt8,
    /// `u16`.
    UInt16,
    /// `u32`.
    UInt32,
    /// `u64`, `usize`.
    UInt64,
    /// `f32`.
    Float32,
    /// `f64`.
    Float64,
    /// An instant: `DateTime<Utc>`, `DateTime<FixedOffset>` (read as UTC).
    Timestamp,
    /// A date and time of day without a zone: `NaiveDateTime`.
    LocalTimestamp,
    /// A calendar date: `NaiveDate`.
    Date,
    /// A string of few distinct values: a keyword (`String`), a tag.
    Keyword,
    /// A string of many distinct values: text, a UUID, an address.
    Text,
    /// `Option<T>`: absent or `T`.
    Optional(Box<Shape>),
    /// `Vec<T>`: any number of `T`.
    List(Box<Shape>),
    /// A map from strings to the values of this shape (tags, counters).
    Map(Box<Shape>),
    /// A composite: named fields.
    Struct(Vec<ShapeField>),
    /// Written by code whose layout the type does not tell (a custom
    /// serializer with an object mapping, a `FieldType` without a shape).
    Opaque,
}

/// One named field of a [`Shape::Struct`] or of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeField {
    /// The name the field is stored under.
    pub name: &'static str,
    /// Its layout.
    pub shape: Shape,
}

impl Shape {
    /// The shape with `Keyword` strings as `Text` (a `#[record(text)]`
    /// field holds many distinct values).
    pub fn as_text(self) -> Shape {
        self.map_strings(Shape::Text)
    }

    fn map_strings(self, to: Shape) -> Shape {
        match self {
            Shape::Keyword | Shape::Text => to,
            Shape::Optional(inner) => Shape::Optional(Box::new(inner.map_strings(to))),
            Shape::List(inner) => Shape::List(Box::new(inner.map_strings(to))),
            other => other,
        }
    }

    /// The shape of values written to match `mapping` (a field with a
    /// custom serializer): scalars by their mapping type, possibly absent;
    /// anything else is opaque.
    ///
    /// ```
    /// use esrecord::shape::Shape;
    /// let mapping = serde_json::json!({"type": "long"});
    /// assert_eq!(Shape::of_mapping(&mapping), Shape::Optional(Box::new(Shape::Int64)));
    /// ```
    pub fn of_mapping(mapping: &serde_json::Value) -> Shape {
        let scalar = match mapping["type"].as_str() {
            Some("boolean") => Shape::Boolean,
            Some("byte") => Shape::Int8,
            Some("short") => Shape::Int16,
            Some("integer") => Shape::Int32,
            Some("long") => Shape::Int64,
            Some("unsigned_long") => Shape::UInt64,
            Some("float" | "half_float") => Shape::Float32,
            Some("double" | "scaled_float") => Shape::Float64,
            Some("keyword" | "constant_keyword") => Shape::Keyword,
            Some("text" | "match_only_text" | "wildcard" | "ip") => Shape::Text,
            _ => return Shape::Opaque,
        };
        Shape::Optional(Box::new(scalar))
    }
}

/// The shape of `T` where the derive cannot know whether `T` implements
/// [`FieldType`] (a field with a `#[record(mapping = ...)]` override):
/// `(&ShapeOf::<T>::NEW).shape(mapping)` resolves to [`ShapeByType`] when
/// it does and to [`ShapeByMapping`] (one more reference away) otherwise.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct ShapeOf<T: ?Sized>(PhantomData<T>);

impl<T: ?Sized> ShapeOf<T> {
    /// The probe for `T`.
    pub const NEW: ShapeOf<T> = ShapeOf(PhantomData);
}

/// The shape of a type that implements [`FieldType`]; see [`ShapeOf`].
#[doc(hidden)]
pub trait ShapeByType {
    /// `T`'s own shape.
    fn shape(&self, mapping: &str) -> Shape;
}

impl<T: FieldType + ?Sized> ShapeByType for ShapeOf<T> {
    fn shape(&self, _mapping: &str) -> Shape {
        T::shape()
    }
}

/// The shape of a type without [`FieldType`], from its mapping; see
/// [`ShapeOf`].
#[doc(hidden)]
pub trait ShapeByMapping {
    /// The shape that the mapping literal `mapping` tells.
    fn shape(&self, mapping: &str) -> Shape {
        shape_of_mapping_literal(mapping)
    }
}

impl<T: ?Sized> ShapeByMapping for &ShapeOf<T> {}

/// The shape of a field written by custom code to match the mapping
/// literal `mapping`.
#[doc(hidden)]
pub fn shape_of_mapping_literal(mapping: &str) -> Shape {
    serde_json::from_str(mapping).map_or(Shape::Opaque, |value| Shape::of_mapping(&value))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoFieldType;

    #[test]
    #[allow(clippy::needless_borrow)] // the borrow picks the trait, as in generated code
    fn the_probe_takes_the_type_shape_when_there_is_one_and_the_mapping_otherwise() {
        #[allow(unused_imports)]
        use super::{ShapeByMapping as _, ShapeByType as _};
        let mapping = r#"{"type": "keyword"}"#;
        assert_eq!(
            (&ShapeOf::<Vec<u32>>::NEW).shape(mapping),
            Shape::List(Box::new(Shape::UInt32))
        );
        assert_eq!(
            (&ShapeOf::<NoFieldType>::NEW).shape(mapping),
            Shape::Optional(Box::new(Shape::Keyword))
        );
        assert_eq!(
            (&ShapeOf::<NoFieldType>::NEW).shape(r#"{"type": "object"}"#),
            Shape::Opaque
        );
    }

    #[test]
    fn text_turns_keywords_inside_wrappers_into_text() {
        let shape = Shape::Optional(Box::new(Shape::List(Box::new(Shape::Keyword))));
        assert_eq!(
            shape.as_text(),
            Shape::Optional(Box::new(Shape::List(Box::new(Shape::Text))))
        );
    }
}
