//! `Store::annotate`: an annotation through the background writer.

use crate::annotations::Annotation;
use crate::error::Result;
use crate::store::Store;

impl Store {
    /// Checks `annotation` ([`Annotation::check`]) and hands it to the
    /// background writer, as [`record`](Store::record) does: it returns at
    /// once, and [`flush`](Store::flush) or [`close`](Store::close) waits
    /// until it is written.
    ///
    /// ```no_run
    /// # async fn run(store: esrecord::Store) -> esrecord::Result<()> {
    /// use esrecord::annotations::Annotation;
    ///
    /// store.annotate(Annotation::new("deploys", "shop v2.3.1").source("ci"))?;
    /// store.flush().await?;
    /// # Ok(()) }
    /// ```
    pub fn annotate(&self, annotation: Annotation) -> Result<()> {
        annotation.check()?;
        self.record(annotation)
    }
}
