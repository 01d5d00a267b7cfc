//! Records written as an Arrow IPC stream (the binary's
//! `export --format arrow`), which Polars, DuckDB, pyarrow and DataFusion
//! read as they come.

use std::io::Write;

use arrow_ipc::writer::StreamWriter;
use arrow_schema::ArrowError;
use serde::Serialize;

use super::batches::BatchBuilder;
use crate::error::{Error, Result};
use crate::record_type::RecordType;

/// Rows per record batch of a stream: DataFusion's default batch size.
pub const DEFAULT_BATCH_ROWS: usize = 8192;

/// Writes one type's records to `out` as an Arrow IPC stream, a record
/// batch every `batch_rows` records.
///
/// ```
/// # #[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
/// # struct PageView { timestamp: chrono::DateTime<chrono::Utc>, path: String }
/// use esrecord::Record;
/// use esrecord::export::arrow::IpcStreamWriter;
/// let mut stream = IpcStreamWriter::new(PageView::record_type(), Vec::new(), 8192)?;
/// stream.push(&PageView { timestamp: chrono::Utc::now(), path: "/".into() })?;
/// let bytes: Vec<u8> = stream.finish()?;
/// assert!(bytes.len() > 100);
/// # Ok::<(), esrecord::Error>(())
/// ```
#[allow(missing_debug_implementations)] // arrow's StreamWriter has no Debug
pub struct IpcStreamWriter<W: Write> {
    builder: BatchBuilder,
    rows: usize,
    batch_rows: usize,
    writer: StreamWriter<W>,
}

impl<W: Write> IpcStreamWriter<W> {
    /// A stream of `record_type`'s records into `out`, starting with the
    /// schema; `batch_rows` of at least 1 per batch.
    pub fn new(record_type: &RecordType, out: W, batch_rows: usize) -> Result<Self> {
        let builder = BatchBuilder::new(record_type)?;
        let writer = StreamWriter::try_new(out, &builder.schema()).map_err(write_error)?;
        Ok(IpcStreamWriter {
            builder,
            rows: 0,
            batch_rows: batch_rows.max(1),
            writer,
        })
    }

    /// Adds one record, or one record's JSON source; writes a batch when
    /// `batch_rows` are waiting.
    pub fn push(&mut self, record: &impl Serialize) -> Result<()> {
        self.builder.push(record)?;
        self.rows += 1;
        if self.rows == self.batch_rows {
            self.write_batch()?;
        }
        Ok(())
    }

    /// Writes the records still waiting and the end of the stream, and
    /// gives `out` back.
    pub fn finish(mut self) -> Result<W> {
        if self.rows > 0 {
            self.write_batch()?;
        }
        self.writer.finish().map_err(write_error)?;
        self.writer.into_inner().map_err(write_error)
    }

    fn write_batch(&mut self) -> Result<()> {
        let batch = self.builder.finish()?;
        self.rows = 0;
        self.writer.write(&batch).map_err(write_error)
    }
}

/// An error of writing the stream: the output's own (a closed pipe stays
/// one), or Arrow's.
fn write_error(error: ArrowError) -> Error {
    match error {
        ArrowError::IoError(_, source) => {
            Error::io("write the Arrow stream to", "the output", source)
        }
        other => Error::Arrow {
            what: "the IPC stream".to_owned(),
            reason: other.to_string(),
        },
    }
}
