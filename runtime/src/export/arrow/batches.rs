//! Records as Arrow record batches: a slice of records, the pages of a
//! search, the JSON sources of a type (the binary's export).

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{FieldRef, Schema};
use serde::Serialize;
use serde_arrow::ArrayBuilder;

use super::schema::schema;
use crate::error::{Error, Result};
use crate::record::Record;
use crate::record_type::RecordType;
use crate::search::{Pages, Search};
use crate::store::Store;

/// One record batch of `records`, with the [schema](super::schema) of
/// their type.
///
/// ```
/// # #[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
/// # struct PageView { timestamp: chrono::DateTime<chrono::Utc>, path: String }
/// let views = vec![PageView { timestamp: chrono::Utc::now(), path: "/".into() }];
/// let batch = esrecord::export::arrow::to_record_batch(&views)?;
/// assert_eq!((batch.num_rows(), batch.num_columns()), (1, 2));
/// # Ok::<(), esrecord::Error>(())
/// ```
pub fn to_record_batch<R: Record>(records: &[R]) -> Result<RecordBatch> {
    let mut builder = BatchBuilder::new(R::record_type())?;
    builder.extend(records)?;
    builder.finish()
}

/// Builds record batches of one type's records, from the records or
/// from their JSON sources (fields in any order, absent ones null).
#[derive(Debug)]
pub struct BatchBuilder {
    what: &'static str,
    fields: Vec<FieldRef>,
    builder: ArrayBuilder,
}

impl BatchBuilder {
    /// A builder of `record_type`'s batches.
    pub fn new(record_type: &RecordType) -> Result<BatchBuilder> {
        let schema = schema(record_type)?;
        let fields: Vec<FieldRef> = schema.fields().iter().cloned().collect();
        let builder = ArrayBuilder::from_arrow(&fields).map_err(|e| Error::Arrow {
            what: format!("{} records", record_type.rust_path()),
            reason: e.to_string(),
        })?;
        Ok(BatchBuilder {
            what: record_type.rust_path(),
            fields,
            builder,
        })
    }

    /// The schema of the batches.
    pub fn schema(&self) -> Schema {
        Schema::new(self.fields.clone())
    }

    /// Adds one record, or one record's JSON source (a
    /// `serde_json::Value` or anything that serializes as the record does).
    pub fn push(&mut self, record: &impl Serialize) -> Result<()> {
        self.builder.push(record).map_err(|e| self.error(e))
    }

    /// Adds every record of `records`.
    pub fn extend<T: Serialize>(&mut self, records: &[T]) -> Result<()> {
        self.builder.extend(records).map_err(|e| self.error(e))
    }

    /// The batch of the records added since the last one.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        self.builder.to_record_batch().map_err(|e| self.error(e))
    }

    fn error(&self, error: serde_arrow::Error) -> Error {
        Error::Arrow {
            what: format!("{} records", self.what),
            reason: error.to_string(),
        }
    }
}

/// The record batches of a search, one per page
/// ([`Search::to_record_batches`]).
#[derive(Debug)]
pub struct RecordBatches<R> {
    pages: Pages<R>,
    builder: BatchBuilder,
}

impl<R: Record> RecordBatches<R> {
    /// The schema every batch has.
    pub fn schema(&self) -> Arc<Schema> {
        Arc::new(self.builder.schema())
    }

    /// The next page's batch, or `None` after the last page.
    pub async fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        let Some(page) = self.pages.next_page().await? else {
            return Ok(None);
        };
        for hit in &page {
            self.builder.push(&hit.record)?;
        }
        self.builder.finish().map(Some)
    }

    /// Every remaining batch.
    pub async fn collect(mut self) -> Result<Vec<RecordBatch>> {
        let mut batches = Vec::new();
        while let Some(batch) = self.next_batch().await? {
            batches.push(batch);
        }
        Ok(batches)
    }
}

impl<R: Record> Search<R> {
    /// The records this search finds, as Arrow record batches of the
    /// type's [schema](crate::export::arrow::schema()): one per page of
    /// [`size`](Search::size) records, every hit once (as
    /// [`stream`](Search::stream) pages), oldest first unless sorted.
    ///
    /// ```
    /// # #[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
    /// # struct PageView { timestamp: chrono::DateTime<chrono::Utc>, path: String }
    /// # async fn run() -> esrecord::Result<()> {
    /// use esrecord::Record;
    /// # let store = esrecord::Store::open()?;
    /// let mut batches = PageView::search().range((2024,), (2025,)).size(10_000).to_record_batches(&store).await?;
    /// while let Some(batch) = batches.next_batch().await? {
    ///     println!("{} views", batch.num_rows());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn to_record_batches(&self, store: &Store) -> Result<RecordBatches<R>> {
        let builder = BatchBuilder::new(R::record_type())?;
        let pages = self.stream(store).await?;
        Ok(RecordBatches { pages, builder })
    }
}
