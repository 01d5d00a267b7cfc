//! Per-field columns: the values of some fields of every record a search
//! finds, as arrays aligned with the records' timestamps (daktylos' "fields
//! by date", for plotting), with `None` where a record lacks a field.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::fields::Field;

/// The columns a [`Search::columns`](crate::search::Search::columns) fetched.
///
/// ```
/// # use esrecord::search::Columns;
/// let columns: Columns<f64> = Columns {
///     timestamps: vec![],
///     fields: vec!["latency.p99_ms".into()],
///     values: vec![vec![]],
/// };
/// assert!(columns.column("latency.p99_ms").is_some_and(|c| c.is_empty()));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Columns<T> {
    /// The records' timestamps, oldest first.
    pub timestamps: Vec<DateTime<Utc>>,
    /// The fields' paths, in the order asked.
    pub fields: Vec<String>,
    /// Per field (in the order of `fields`), one value per timestamp:
    /// `None` where the record has no value there.
    pub values: Vec<Vec<Option<T>>>,
}

impl<T> Columns<T> {
    /// The column of the field at `path`.
    pub fn column(&self, path: &str) -> Option<&[Option<T>]> {
        let position = self.fields.iter().position(|field| field == path)?;
        self.values.get(position).map(Vec::as_slice)
    }
}

impl<T: DeserializeOwned> Columns<T> {
    /// Empty columns for `fields`.
    pub(crate) fn new(fields: &[&Field<T>]) -> Self {
        Columns {
            timestamps: Vec::new(),
            fields: fields.iter().map(|f| f.path().to_owned()).collect(),
            values: fields.iter().map(|_| Vec::new()).collect(),
        }
    }

    /// Adds one record's row from its source.
    pub(crate) fn push(
        &mut self,
        timestamp: DateTime<Utc>,
        source: &Value,
        id: &str,
    ) -> Result<()> {
        self.timestamps.push(timestamp);
        for (path, column) in self.fields.iter().zip(&mut self.values) {
            let value = match lookup(source, path) {
                None | Some(Value::Null) => None,
                Some(value) => Some(T::deserialize(value).map_err(|e| {
                    Error::BadRequest(format!(
                        "the value of {path} in document {id} does not read as the field's type: {e}"
                    ))
                })?),
            };
            column.push(value);
        }
        Ok(())
    }
}

/// The value at a dotted path of a document.
fn lookup<'a>(source: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(source, |value, key| value.get(key))
}
