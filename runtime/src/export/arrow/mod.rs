//! Records as Arrow record batches (the `arrow` feature), for Polars,
//! DataFusion, DuckDB and the rest of the Arrow world.
//!
//! The [schema] comes from the record type's fields ([`crate::shape`]); a
//! search gives one batch per page ([`Search::to_record_batches`]), and
//! [`Columns`](crate::search::Columns) converts to one batch
//! ([`Columns::to_record_batch`](crate::search::Columns::to_record_batch));
//! [`IpcStreamWriter`] writes records as an Arrow IPC stream.
//! The Arrow crates are re-exported at the versions esrecord uses.
//!
//! ```
//! # #[derive(esrecord::Record, serde::Serialize, serde::Deserialize)]
//! # struct PageView { timestamp: chrono::DateTime<chrono::Utc>, path: String, load_ms: Option<u32> }
//! # async fn run() -> esrecord::Result<()> {
//! use esrecord::Record;
//! # let store = esrecord::Store::open()?;
//! let batches = PageView::search().range((2024,), (2025,)).to_record_batches(&store).await?.collect().await?;
//! let rows: usize = batches.iter().map(|batch| batch.num_rows()).sum();
//! # Ok(()) }
//! ```
//!
//! [`Search::to_record_batches`]: crate::search::Search::to_record_batches

mod batches;
mod columns;
mod ipc;
mod schema;

pub use self::batches::{BatchBuilder, RecordBatches, to_record_batch};
pub use self::ipc::{DEFAULT_BATCH_ROWS, IpcStreamWriter};
pub use self::schema::schema;
pub use {arrow_array, arrow_ipc, arrow_schema};
