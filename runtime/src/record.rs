//! The traits `#[derive(Record)]` and `#[derive(Composite)]` implement.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::Result;
use crate::mapping::DynamicTemplates;
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
    /// `None` for types whose ids are made when recorded.
    fn unique_id(&self) -> Result<Option<String>>;

    /// Every numeric leaf of the record as `(dotted path, value)`, in
    /// document order; see [`numeric_leaves`](crate::numeric_leaves).
    fn numeric_leaves(&self) -> Result<Vec<(String, f64)>> {
        crate::leaves::numeric_leaves(self)
    }

    /// A search over records of this type.
    fn search() -> crate::Search<Self> {
        crate::Search::default()
    }
}

/// A struct nested in records: an `object` mapping whose fields are reached
/// by dotted paths, or merged into its parent with `#[serde(flatten)]`.
///
/// Implement it with `#[derive(Composite)]`, which also implements
/// [`FieldType`](crate::mapping::FieldType) with [`Composite::Fields`] as the handle.
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

    /// Every numeric leaf as `(dotted path, value)`; see
    /// [`numeric_leaves`](crate::numeric_leaves).
    fn numeric_leaves(&self) -> Result<Vec<(String, f64)>> {
        crate::leaves::numeric_leaves(self)
    }
}
