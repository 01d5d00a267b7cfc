//! Storage backends. Request and response bodies are Elasticsearch JSON on
//! every backend, so a search written once runs on either.

pub mod embedded;

use std::fmt;

use serde_json::Value;

use crate::error::Result;

/// What a bulk item does with its document.
pub use crate::bulk::BulkAction;

/// One document to write.
#[derive(Debug, Clone)]
pub struct BulkItem {
    /// `create` (never overwrite) or `index` (overwrite).
    pub action: BulkAction,
    /// The index it goes to.
    pub index: String,
    /// The document id.
    pub id: String,
    /// The document, serialized as JSON.
    pub source: Vec<u8>,
}

/// The outcome of one bulk item, in Elasticsearch's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemResult {
    /// The HTTP-style status: 201 created, 200 updated, 409 conflict, 400 rejected...
    pub status: u16,
    /// For a failed item, Elasticsearch's error type (e.g. `mapper_parsing_exception`).
    pub error_type: Option<String>,
    /// For a failed item, the reason.
    pub reason: Option<String>,
}

impl ItemResult {
    /// A successful item.
    pub fn ok(status: u16) -> Self {
        ItemResult {
            status,
            error_type: None,
            reason: None,
        }
    }

    /// A failed item.
    pub fn failed(status: u16, error_type: &str, reason: impl Into<String>) -> Self {
        ItemResult {
            status,
            error_type: Some(error_type.to_owned()),
            reason: Some(reason.into()),
        }
    }

    /// Whether the item failed (status >= 300).
    pub fn is_failure(&self) -> bool {
        self.status >= 300
    }
}

/// One index, as listed by [`Backend::indices`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    /// The index name.
    pub name: String,
    /// How many documents it holds (searchable ones).
    pub docs: u64,
    /// Its size on disk, in bytes.
    pub bytes: u64,
}

/// A place records are stored: the embedded engine or Elasticsearch.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + fmt::Debug {
    /// Creates or replaces the composable index template `name`.
    async fn put_template(&self, name: &str, body: &Value) -> Result<()>;

    /// The template `name` as stored, or `None` when there is none.
    async fn get_template(&self, name: &str) -> Result<Option<Value>>;

    /// Writes documents; one result per item, in order.
    async fn bulk(&self, items: Vec<BulkItem>) -> Result<Vec<ItemResult>>;

    /// Runs an Elasticsearch search body over the indexes matching any of
    /// `patterns` (missing indexes are ignored) and returns the response.
    async fn search(&self, patterns: &[String], body: &Value) -> Result<Value>;

    /// The indexes matching `pattern`, sorted by name.
    async fn indices(&self, pattern: &str) -> Result<Vec<IndexInfo>>;

    /// Deletes an index.
    async fn delete_index(&self, name: &str) -> Result<()>;

    /// Makes everything written so far searchable and durable.
    async fn refresh(&self) -> Result<()>;
}
