//! Blocking forms of the store's async operations, for programs without
//! an async runtime: each runs the operation to completion on a runtime of
//! its own, on the calling thread.
//!
//! ```no_run
//! # use esrecord::{Record, Store};
//! # #[derive(Record, serde::Serialize, serde::Deserialize)]
//! # #[record(app_label = "shop")]
//! # struct PageView { timestamp: chrono::DateTime<chrono::Utc>, path: String }
//! fn main() -> esrecord::Result<()> {
//!     let store = Store::open()?;
//!     store.record(PageView { timestamp: chrono::Utc::now(), path: "/".into() })?;
//!     let stats = store.flush_blocking()?;
//!     let found = PageView::search().size(5).fetch_blocking(&store)?;
//!     println!("{} sent, {} found", stats.sent, found.total);
//!     store.close_blocking()?;
//!     Ok(())
//! }
//! ```

use std::future::Future;

use crate::error::{Error, Result};

/// Runs `work` to completion on the calling thread. Inside an async
/// runtime that would stall the runtime's thread (and tokio refuses it), so
/// there it is an error that says to `.await` the async form instead.
pub(crate) fn run<T>(operation: &str, work: impl Future<Output = Result<T>>) -> Result<T> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::BadRequest(format!(
            "{operation}_blocking was called inside an async runtime; `.await` {operation}() there instead"
        )));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::Engine(format!(
                "cannot start a runtime for {operation}_blocking: {e}"
            ))
        })?;
    runtime.block_on(work)
}
