//! Storage backends. Request and response bodies are Elasticsearch JSON on
//! every backend, so a search written once runs on either.

pub mod elasticsearch;
#[cfg(feature = "embedded")]
pub mod embedded;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::{Error, Result};

use crate::bulk::BulkBody;

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

/// A data stream as its cluster reports it (`GET _data_stream/{name}`,
/// with each backing index's ILM phase from `GET {name}/_ilm/explain`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataStreamInfo {
    /// The stream's name.
    pub name: String,
    /// How many times it was rolled over, plus one.
    pub generation: u64,
    /// The index template it was created from.
    pub template: Option<String>,
    /// The ILM policy of its write index, if any.
    pub ilm_policy: Option<String>,
    /// Its backing indexes, oldest first; the last is the write index.
    pub indices: Vec<BackingIndex>,
}

/// One backing index of a data stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackingIndex {
    /// Its name (`.ds-{stream}-{date}-{generation}`).
    pub name: String,
    /// The ILM phase it is in (`hot`, `warm`, `delete`), when ILM manages it.
    pub phase: Option<String>,
}

/// A search response in Elasticsearch's shape. Sources stay raw JSON, so
/// typed hits are deserialized straight from the stored bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchResponse {
    /// Milliseconds the search took.
    #[serde(default)]
    pub took: u64,
    /// Whether the search timed out.
    #[serde(default)]
    pub timed_out: bool,
    /// The hits and their total.
    pub hits: Hits,
    /// The aggregation results, when the body asked for aggregations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregations: Option<Value>,
    /// The point in time to search next, for a search over one
    /// (Elasticsearch may hand back a new id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pit_id: Option<String>,
}

/// What a backend answers a search with: a response already in its
/// envelope (the embedded engine's), or Elasticsearch's JSON text as the
/// server sent it, so that typed hits are read from it in one pass
/// ([`Search::read_answer`](crate::search::Search::read_answer)).
#[derive(Debug, Clone)]
pub enum SearchAnswer {
    /// A response in its envelope, sources as raw JSON.
    Parsed(SearchResponse),
    /// The text of a successful search response.
    Json {
        /// The request it answers (`POST shop_pageview_*/_search`), for
        /// error messages.
        request: String,
        /// The response body.
        text: String,
    },
}

impl SearchAnswer {
    /// The response in its envelope (parsing the text when it is one).
    pub fn into_response(self) -> Result<SearchResponse> {
        match self {
            SearchAnswer::Parsed(response) => Ok(response),
            SearchAnswer::Json { request, text } => {
                serde_json::from_str(&text).map_err(|e| not_a_search_response(&request, &text, &e))
            }
        }
    }
}

/// The error for an answer to a search that does not read as a search
/// response.
fn not_a_search_response(request: &str, text: &str, error: &serde_json::Error) -> Error {
    let preview: String = text.chars().take(200).collect();
    Error::Elasticsearch {
        request: request.to_owned(),
        status: Some(200),
        error_type: None,
        reason: format!("the answer is not a search response ({error}); it began {preview}"),
    }
}

/// What a backend without data streams answers about them (the embedded
/// engine, where a data-stream type keeps its partitions).
fn not_a_cluster(what: &str) -> Error {
    Error::Unsupported {
        what: what.to_owned(),
        hint: "data streams and ILM are Elasticsearch's; the embedded engine keeps every type in its partitions",
    }
}

/// The `hits` object of a search response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hits {
    /// How many documents matched (absent with `track_total_hits: false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<TotalHits>,
    /// The best score among the hits, for searches by score.
    #[serde(default)]
    pub max_score: Option<f64>,
    /// The page of hits.
    #[serde(default)]
    pub hits: Vec<RawHit>,
}

/// `hits.total`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TotalHits {
    /// The count.
    pub value: u64,
    /// `eq` when exact, `gte` when a lower bound.
    pub relation: String,
}

/// One hit, with its source still as JSON text.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RawHit {
    /// The index it is in.
    #[serde(rename = "_index")]
    pub index: String,
    /// The document id.
    #[serde(rename = "_id")]
    pub id: String,
    /// The score, for searches by score.
    #[serde(rename = "_score", default)]
    pub score: Option<f64>,
    /// The stored document.
    #[serde(rename = "_source", default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Box<RawValue>>,
    /// The hit's sort values (pass them as `search_after` for the next page).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sort: Vec<Value>,
}

/// What a [`Backend::scheduled_refresh`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledRefresh {
    /// It committed everything written before it (it may put that off).
    pub committed: bool,
    /// The backend wants the next scheduled refresh too: written documents
    /// still wait for one, or idle partitions are being merged and closed.
    pub again: bool,
}

/// A place records are stored: the embedded engine or Elasticsearch.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + fmt::Debug {
    /// Creates or replaces the composable index template `name`.
    async fn put_template(&self, name: &str, body: &Value) -> Result<()>;

    /// The template `name` as stored, or `None` when there is none.
    async fn get_template(&self, name: &str) -> Result<Option<Value>>;

    /// Creates or replaces the ILM policy `name` (`PUT _ilm/policy/{name}`).
    async fn put_lifecycle_policy(&self, name: &str, body: &Value) -> Result<()> {
        let _ = (name, body);
        Err(not_a_cluster("ILM policies"))
    }

    /// The `policy` object of the ILM policy `name`, or `None` when there
    /// is none.
    async fn get_lifecycle_policy(&self, name: &str) -> Result<Option<Value>> {
        let _ = name;
        Err(not_a_cluster("ILM policies"))
    }

    /// Creates the data stream `name`, which its index template must match.
    async fn create_data_stream(&self, name: &str) -> Result<()> {
        let _ = name;
        Err(not_a_cluster("data streams"))
    }

    /// Deletes the data stream `name` and its backing indexes.
    async fn delete_data_stream(&self, name: &str) -> Result<()> {
        let _ = name;
        Err(not_a_cluster("data streams"))
    }

    /// Rolls the data stream `name` over: a new write index, made from the
    /// stream's current index template.
    async fn rollover_data_stream(&self, name: &str) -> Result<()> {
        let _ = name;
        Err(not_a_cluster("data streams"))
    }

    /// The data stream `name`, or `None` when there is none.
    async fn data_stream(&self, name: &str) -> Result<Option<DataStreamInfo>> {
        let _ = name;
        Err(not_a_cluster("data streams"))
    }

    /// Writes the documents of a bulk body; one result per item, in order.
    async fn bulk(&self, body: BulkBody) -> Result<Vec<ItemResult>>;

    /// Runs an Elasticsearch search body over the indexes matching any of
    /// `patterns` (missing indexes are ignored) and returns the response.
    async fn search(&self, patterns: &[String], body: &Value) -> Result<SearchAnswer>;

    /// Opens a point in time over `patterns`, kept `keep_alive` (`"1m"`)
    /// between searches, for paging through a search that does not shift
    /// while records are written (Elasticsearch's `_pit`, whose hits break
    /// ties on `_shard_doc`). `None`: the backend pages without one, and
    /// breaks ties on `_id` (the embedded engine, the default).
    async fn open_point_in_time(
        &self,
        patterns: &[String],
        keep_alive: &str,
    ) -> Result<Option<String>> {
        let _ = (patterns, keep_alive);
        Ok(None)
    }

    /// Runs a search body that names its point in time (`"pit": {"id"}`).
    async fn search_point_in_time(&self, body: &Value) -> Result<SearchAnswer> {
        let _ = body;
        Err(crate::error::Error::Unsupported {
            what: "searching a point in time".into(),
            hint: "this backend pages without one; search its indexes",
        })
    }

    /// Closes a point in time.
    async fn close_point_in_time(&self, id: &str) -> Result<()> {
        let _ = id;
        Ok(())
    }

    /// The indexes matching `pattern`, sorted by name.
    async fn indices(&self, pattern: &str) -> Result<Vec<IndexInfo>>;

    /// Deletes an index.
    async fn delete_index(&self, name: &str) -> Result<()>;

    /// Makes everything written so far searchable and durable.
    async fn refresh(&self) -> Result<()>;

    /// The refresh the writer schedules every refresh interval after it
    /// wrote. By default it does nothing and nothing waits: Elasticsearch
    /// refreshes on its own schedule. The embedded engine refreshes while
    /// someone searches, as Elasticsearch does.
    async fn scheduled_refresh(&self) -> Result<ScheduledRefresh> {
        Ok(ScheduledRefresh {
            committed: true,
            again: false,
        })
    }

    /// How many documents a bulk request holds when the configuration
    /// does not say (`batch_size`): 1,000, as Elasticsearch's clients'
    /// bulk processors flush.
    fn default_batch_size(&self) -> usize {
        1_000
    }

    /// Whether a document is durable once `bulk` acknowledged it
    /// (Elasticsearch's translog), or only after the next commit, which
    /// [`refresh`](Self::refresh) makes (the embedded engine). The spool
    /// keeps records until they are durable.
    fn durable_on_ack(&self) -> bool {
        true
    }

    /// Finishes the background work of writing (the embedded engine's
    /// segment merges) and lets go of what writing holds, when the store
    /// closes. The backend stays usable; nothing to do by default.
    async fn close(&self) -> Result<()> {
        Ok(())
    }
}
