//! The Arrow schema of a record type, from the shapes of its fields.

use std::sync::Arc;

use arrow_schema::{DataType, Field, FieldRef, Fields, Schema, TimeUnit};

use crate::error::{Error, Result};
use crate::record_type::RecordType;
use crate::shape::{Shape, ShapeField};

/// The Arrow schema of `record_type`'s records: one column per stored
/// field, in declaration order (a flattened composite's fields in its
/// place).
///
/// - instants are `Timestamp(Millisecond, "UTC")` (the stores keep
///   milliseconds), the timestamp field never null;
/// - integers and floats keep their widths (`u8` is `UInt8`, not the
///   mapping's `short`);
/// - keywords are dictionary-encoded `Utf8` (`Dictionary(Int32, Utf8)`:
///   few distinct values, grouped on), text, UUIDs and addresses plain
///   `Utf8`;
/// - a composite is a struct column (`latency` with `p50_ms` and `p99_ms`:
///   Polars' `unnest` or DuckDB's `latency.p99_ms` reach into it);
/// - a map of tags or numbers is a map column (`Map<Utf8, V>`), the same
///   whatever keys the records hold;
/// - `Option` is a nullable column, `Vec` a list column.
///
/// A field whose Rust type does not tell its layout ([`Shape::Opaque`]) is
/// an error that names it.
///
/// ```
/// # #[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
/// # struct PageView { timestamp: chrono::DateTime<chrono::Utc>, path: String, load_ms: Option<u32> }
/// use esrecord::Record;
/// use esrecord::export::arrow::arrow_schema::DataType;
/// let schema = esrecord::export::arrow::schema(PageView::record_type())?;
/// assert_eq!(schema.field(2).data_type(), &DataType::UInt32);
/// assert!(schema.field(2).is_nullable());
/// # Ok::<(), esrecord::Error>(())
/// ```
pub fn schema(record_type: &RecordType) -> Result<Schema> {
    let timestamp = record_type.timestamp_field();
    let fields = record_type
        .shape()
        .iter()
        .map(|field| {
            let column = column(field).map_err(|reason| Error::Arrow {
                what: format!("{}'s field `{}`", record_type.rust_path(), field.name),
                reason,
            })?;
            Ok(match Some(field.name) == timestamp {
                // Every record has its timestamp, whatever its type says.
                true => Arc::new(column.as_ref().clone().with_nullable(false)),
                false => column,
            })
        })
        .collect::<Result<Vec<FieldRef>>>()?;
    Ok(Schema::new(fields))
}

/// The column of one field.
pub(crate) fn column(field: &ShapeField) -> std::result::Result<FieldRef, String> {
    column_named(field.name, &field.shape)
}

/// A column `name` of values of `shape`.
pub(crate) fn column_named(name: &str, shape: &Shape) -> std::result::Result<FieldRef, String> {
    let (data_type, nullable) = data_type(shape)?;
    Ok(Arc::new(Field::new(name, data_type, nullable)))
}

/// The Arrow type of values of `shape`, and whether they may be absent.
fn data_type(shape: &Shape) -> std::result::Result<(DataType, bool), String> {
    let data_type = match shape {
        Shape::Boolean => DataType::Boolean,
        Shape::Int8 => DataType::Int8,
        Shape::Int16 => DataType::Int16,
        Shape::Int32 => DataType::Int32,
        Shape::Int64 => DataType::Int64,
        Shape::UInt8 => DataType::UInt8,
        Shape::UInt16 => DataType::UInt16,
        Shape::UInt32 => DataType::UInt32,
        Shape::UInt64 => DataType::UInt64,
        Shape::Float32 => DataType::Float32,
        Shape::Float64 => DataType::Float64,
        Shape::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        Shape::LocalTimestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
        Shape::Date => DataType::Date32,
        Shape::Keyword => DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        Shape::Text => DataType::Utf8,
        Shape::Optional(inner) => return Ok((data_type(inner)?.0, true)),
        Shape::List(item) => DataType::List(column_named("element", item)?),
        Shape::Map(value) => {
            let keys = Arc::new(Field::new("keys", DataType::Utf8, false));
            let values = column_named("values", value)?;
            let entries = Field::new(
                "entries",
                DataType::Struct(Fields::from(vec![keys, values])),
                false,
            );
            DataType::Map(Arc::new(entries), false)
        }
        Shape::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(column)
                .collect::<std::result::Result<Fields, String>>()?,
        ),
        Shape::Opaque => {
            return Err("its Rust type does not tell how its values are laid out (a custom serializer with an object mapping, or a FieldType without a shape): implement `FieldType::shape` for it, or leave the field out with #[serde(skip)]".to_owned());
        }
    };
    Ok((data_type, false))
}
