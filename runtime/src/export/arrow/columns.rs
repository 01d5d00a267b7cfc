//! [`Columns`] as one record batch.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{FieldRef, Schema};
use serde::Serialize;
use serde_arrow::utils::Items;

use super::schema::column_named;
use crate::error::{Error, Result};
use crate::mapping::FieldType;
use crate::search::Columns;
use crate::shape::Shape;

impl<T: FieldType + Serialize> Columns<T> {
    /// The columns as one record batch: `timestamp`
    /// (`Timestamp(Millisecond, "UTC")`), then one nullable column per
    /// field, named by its dotted path (`latency.p99_ms`).
    ///
    /// ```
    /// use esrecord::search::Columns;
    /// let columns: Columns<f64> = Columns {
    ///     timestamps: vec![chrono::Utc::now(); 2],
    ///     fields: vec!["latency.p99_ms".into()],
    ///     values: vec![vec![Some(9.5), None]],
    /// };
    /// let batch = columns.to_record_batch()?;
    /// assert_eq!(batch.schema().field(1).name(), "latency.p99_ms");
    /// assert_eq!(batch.column(1).null_count(), 1);
    /// # Ok::<(), esrecord::Error>(())
    /// ```
    pub fn to_record_batch(&self) -> Result<RecordBatch> {
        let error = |reason: String| Error::Arrow {
            what: format!("the columns {}", self.fields.join(", ")),
            reason,
        };
        let mut fields: Vec<FieldRef> =
            vec![column_named("timestamp", &Shape::Timestamp).map_err(error)?];
        let mut arrays: Vec<ArrayRef> = array(&fields[0], &self.timestamps).map_err(error)?;
        let shape = Shape::Optional(Box::new(T::shape()));
        for (path, values) in self.fields.iter().zip(&self.values) {
            let field = column_named(path, &shape).map_err(error)?;
            arrays.extend(array(&field, values).map_err(error)?);
            fields.push(field);
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
            .map_err(|e| error(e.to_string()))
    }
}

/// The array of one column's values. serde_arrow reads `Items` as rows
/// of one field named `item`.
fn array<V: Serialize>(
    field: &FieldRef,
    values: &[V],
) -> std::result::Result<Vec<ArrayRef>, String> {
    let item = Arc::new(field.as_ref().clone().with_name("item"));
    serde_arrow::to_arrow(&[item], Items(values)).map_err(|e| e.to_string())
}
