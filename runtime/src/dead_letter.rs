//! Dead letters: the documents the store gave up on, handed to a callback
//! the application sets, so that nothing is lost without a trace.

use crate::bulk::BulkEntry;

/// A document the store will not write: refused for good (a mapping error,
/// a bad index, a credentials problem) or still failing when
/// `retry_for` ran out.
///
/// ```no_run
/// let store = esrecord::Store::builder()
///     .on_dead_letter(|letter| eprintln!("lost {} in {}: {}", letter.id, letter.index, letter.reason))
///     .open()?;
/// # Ok::<(), esrecord::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The index it was to go to.
    pub index: String,
    /// Its document id.
    pub id: String,
    /// The document, as JSON (the record as it was sent).
    pub source: String,
    /// The HTTP status of the item or request, when there was an answer.
    pub status: Option<u16>,
    /// Elasticsearch's error type (`mapper_parsing_exception`...), when given.
    pub error_type: Option<String>,
    /// What went wrong.
    pub reason: String,
}

impl DeadLetter {
    pub(crate) fn new(
        item: &BulkEntry<'_>,
        status: Option<u16>,
        error_type: Option<&str>,
        reason: &str,
    ) -> Self {
        DeadLetter {
            index: item.index.to_owned(),
            id: item.id.to_owned(),
            source: String::from_utf8_lossy(item.source).into_owned(),
            status,
            error_type: error_type.map(str::to_owned),
            reason: reason.to_owned(),
        }
    }
}
