//! The traits `#[derive(Record)]` and `#[derive(Composite)]` implement.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::mapping::{DynamicTemplates, FieldType, InvalidValue};
use crate::record_type::RecordType;

/// A struct whose values are stored as time-series documents.
///
/// Implement it with `#[derive(Record)]` beside serde's `Serialize` and
/// `Deserialize`; see the crate documentation for the attributes.
///
/// ```
/// use chrono::{DateTime, Utc};
/// use esrecord::Record;
///
/// #[derive(Record, serde::Serialize, serde::Deserialize)]
/// #[record(app_label = "shop", timedepth = "month")]
/// struct Order {
///     timestamp: DateTime<Utc>,
///     total_cents: u64,
/// }
///
/// assert_eq!(Order::record_type().template_name(), "shop_order");
/// assert_eq!(Order::fields().total_cents.path(), "total_cents");
/// ```
pub trait Record: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The struct of typed field handles the derive generates (`{Type}Fields`).
    type Fields: ?Sized + 'static;

    /// The static description of this type.
    fn record_type() -> &'static RecordType;

    /// The typed handles on this type's fields, for searches.
    fn fields() -> &'static Self::Fields;

    /// The record's timestamp; `None` only for a simple type without one.
    fn timestamp(&self) -> Option<DateTime<Utc>>;

    /// The deterministic document id of a `unique_together` type (see
    /// [`UniqueKey`](crate::document_id::UniqueKey) for the scheme), or
    /// `None` for types whose ids the writer makes (a UUIDv7, once per record).
    fn unique_id(&self) -> Result<Option<String>>;

    /// Checks that every stored field holds a value both backends can store
    /// (see [`FieldType::check_value`]): no NaN or infinite floats, no dates
    /// outside the years 0000..=9999, no keyword longer than one term, no
    /// map key that cannot name a field, at any depth. The error,
    /// [`Error::InvalidRecord`], names the type, the field's stored path and
    /// what to do. It takes a few nanoseconds and never allocates for a
    /// valid record, so it can run before each record is queued.
    ///
    /// `#[derive(Record)]` generates it. Fields serde skips are not
    /// checked, nor are fields written by custom code (`#[serde(with)]`,
    /// whose shape the type does not tell), nor fields whose
    /// `#[record(mapping = ...)]` type has no [`FieldType`]; a field with
    /// `skip_serializing_if` is checked when it is written. `#[record(text)]`
    /// strings are not checked (full text has no term limit); a string with
    /// a `mapping` override is checked as a keyword whatever the mapping
    /// says, the safe side for a keyword subfield. The default, for
    /// a hand-written implementation, accepts every record.
    ///
    /// ```
    /// use chrono::{DateTime, Utc};
    /// use esrecord::{Error, Record};
    ///
    /// #[derive(Record, serde::Serialize, serde::Deserialize)]
    /// #[record(app_label = "shop")]
    /// struct PageView {
    ///     timestamp: DateTime<Utc>,
    ///     samples: Vec<f64>,
    /// }
    ///
    /// let view = PageView { timestamp: Utc::now(), samples: vec![1.0, 2.5] };
    /// assert!(view.validate().is_ok());
    ///
    /// let view = PageView { timestamp: Utc::now(), samples: vec![1.0, f64::NAN] };
    /// let err = view.validate().unwrap_err();
    /// assert!(matches!(&err, Error::InvalidRecord { field, .. } if field == "samples[1]"));
    /// assert!(err.to_string().starts_with("shop.pageview: field samples[1] is NaN; "));
    /// ```
    fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// Every numeric leaf of the record as `(dotted path, value)`, in
    /// document order; see [`numeric_leaves`](crate::numeric_leaves).
    fn numeric_leaves(&self) -> Result<Vec<(String, f64)>> {
        crate::leaves::numeric_leaves(self)
    }

    /// A search over records of this type.
    fn search() -> crate::search::Search<Self> {
        crate::search::Search::default()
    }
}

// Where a record goes: its type's names applied to its timestamp. These
// live beside `Record` so that the description of a type (`record_type.rs`)
// depends on nothing that records reach (searches, the store).
impl RecordType {
    /// The index `record` goes to.
    pub fn index_of<R: Record>(&self, record: &R) -> String {
        // Only simple types lack a timestamp, and their index ignores it.
        self.index_for(&record.timestamp().unwrap_or_default())
    }

    /// Appends the index `record` goes to to `out`.
    pub fn write_index_of<R: Record>(&self, record: &R, out: &mut Vec<u8>) {
        // Only simple types lack a timestamp, and their index ignores it.
        let ts = record.timestamp().unwrap_or_default();
        self.write_index_for(&ts, out);
    }
}

/// A struct nested in records: an `object` mapping whose fields are reached
/// by dotted paths, or merged into its parent with `#[serde(flatten)]`.
///
/// Implement it with `#[derive(Composite)]`, which also implements
/// [`FieldType`] with [`Composite::Fields`] as the handle, and
/// [`FieldType::check_value`] by checking each stored field (paths relative
/// to the struct: `p99_ms`).
///
/// ```
/// use esrecord::Composite;
///
/// #[derive(Composite, serde::Serialize, serde::Deserialize)]
/// struct Latency { p50_ms: f64, p99_ms: f64 }
///
/// let leaves = Latency { p50_ms: 1.5, p99_ms: 9.0 }.numeric_leaves().unwrap();
/// assert_eq!(leaves, [("p50_ms".to_owned(), 1.5), ("p99_ms".to_owned(), 9.0)]);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Composite, so it cannot be flattened into a record",
    label = "not a #[derive(Composite)] struct",
    note = "add `#[derive(esrecord::Composite)]` to `{Self}` so its fields can be merged into the record, or remove `flatten` to store the field under its own name"
)]
pub trait Composite: Serialize {
    /// The struct of typed field handles the derive generates (`{Type}Fields`).
    type Fields;

    /// The mapping properties of the struct's fields, for a struct stored at
    /// `prefix` (empty at the root, for a flattened struct).
    fn properties(prefix: &str, templates: &mut DynamicTemplates) -> Map<String, Value>;

    /// The handles on the struct's fields, for a struct stored at `prefix`.
    fn fields_at(prefix: &str) -> Self::Fields;

    /// The layout of the struct's stored fields (see [`crate::shape`]).
    fn shape_fields() -> Vec<crate::shape::ShapeField>;

    /// Every numeric leaf as `(dotted path, value)`; see
    /// [`numeric_leaves`](crate::numeric_leaves).
    fn numeric_leaves(&self) -> Result<Vec<(String, f64)>> {
        crate::leaves::numeric_leaves(self)
    }
}

/// What the generated checks of a struct's fields return.
pub type Checked = std::result::Result<(), InvalidValue>;

/// The error of [`Record::validate`] for a record of `record_type` whose
/// fields were checked with `checked`. Generated code calls it.
#[inline]
pub fn validated(record_type: &RecordType, checked: Checked) -> Result<()> {
    match checked {
        Ok(()) => Ok(()),
        Err(invalid) => Err(invalid_record(record_type, invalid)),
    }
}

#[cold]
#[inline(never)]
fn invalid_record(record_type: &RecordType, invalid: InvalidValue) -> Error {
    let reason = invalid.reason();
    Error::InvalidRecord {
        record_type: format!("{}.{}", record_type.app_label(), record_type.name()),
        field: invalid.into_path(),
        reason,
    }
}

/// A field of a struct being checked, for the generated checks:
/// `(&FieldRef(&value.field)).check_field("stored_name")`.
///
/// Method resolution picks [`CheckByType`] when the field's type implements
/// [`FieldType`] and falls back to [`CheckNothing`] (one more reference
/// away) otherwise: a field with a `#[record(mapping = ...)]` override
/// needs no `FieldType`, and is then taken as it is. This works because the
/// derive sees concrete types only (it rejects generics). A field without an
/// override and without `FieldType` fails to compile at its mapping, so the
/// fallback adds no error of its own.
#[derive(Debug)]
pub struct FieldRef<'a, T: ?Sized>(pub &'a T);

/// The check of a field whose type implements [`FieldType`]; see [`FieldRef`].
pub trait CheckByType {
    /// Checks the field stored as `name`; an error's path starts with it.
    fn check_field(&self, name: &'static str) -> Checked;

    /// Checks a flattened field, whose fields are stored at its parent's level.
    fn check_flattened(&self) -> Checked;
}

impl<T: FieldType + ?Sized> CheckByType for FieldRef<'_, T> {
    #[inline]
    fn check_field(&self, name: &'static str) -> Checked {
        self.0.check_value().map_err(|e| e.in_field(name))
    }

    #[inline]
    fn check_flattened(&self) -> Checked {
        self.0.check_value()
    }
}

/// The check of a field whose type has no [`FieldType`]: none; see [`FieldRef`].
pub trait CheckNothing {
    /// Accepts the field.
    #[inline]
    fn check_field(&self, name: &'static str) -> Checked {
        let _ = name;
        Ok(())
    }

    /// Accepts the field.
    #[inline]
    fn check_flattened(&self) -> Checked {
        Ok(())
    }
}

impl<T: ?Sized> CheckNothing for &FieldRef<'_, T> {}
