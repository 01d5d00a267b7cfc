//! The Elasticsearch backend, over the official `elasticsearch` crate.
//!
//! Every answer is checked by its status (the crate returns 4xx and 5xx
//! answers as `Ok`), error bodies are read as plain JSON, and a body that
//! is not what Elasticsearch documents is an error, never a panic.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Mutex;

use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::Method;
use elasticsearch::http::Url;
use elasticsearch::http::headers::{CONTENT_TYPE, HeaderMap, HeaderValue};
use elasticsearch::http::response::Response;
use elasticsearch::http::transport::{MultiNodeConnectionPool, TransportBuilder};
use elasticsearch::indices::{
    IndicesDeleteParts, IndicesGetIndexTemplateParts, IndicesPutIndexTemplateParts,
    IndicesRefreshParts,
};
use elasticsearch::params::Bytes as ByteUnit;
use elasticsearch::{
    Elasticsearch, OpenPointInTimeParts, SearchParts, auth::Credentials, cat::CatIndicesParts,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{Backend, BackingIndex, BulkBody, DataStreamInfo, IndexInfo, ItemResult, SearchAnswer};
use crate::config::{Auth, ElasticsearchConfig};
use crate::error::{Error, Result};

/// A backend that stores records in an Elasticsearch cluster.
///
/// ```
/// use esrecord::backend::elasticsearch::ElasticsearchBackend;
/// use esrecord::config::ElasticsearchConfig;
/// let backend = ElasticsearchBackend::connect(&ElasticsearchConfig::new("http://127.0.0.1:9200")).unwrap();
/// assert_eq!(format!("{backend:?}"), r#"ElasticsearchBackend { urls: ["http://127.0.0.1:9200"] }"#);
/// ```
pub struct ElasticsearchBackend {
    client: Elasticsearch,
    urls: Vec<String>,
    /// Indexes written since the last refresh: a refresh names them rather
    /// than refreshing every index of a shared cluster.
    written: Mutex<BTreeSet<String>>,
}

impl fmt::Debug for ElasticsearchBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ElasticsearchBackend")
            .field("urls", &self.urls)
            .finish()
    }
}

impl ElasticsearchBackend {
    /// A client for the cluster `config` describes. Nothing is sent yet.
    pub fn connect(config: &ElasticsearchConfig) -> Result<Self> {
        let urls = config
            .urls
            .iter()
            .map(|url| {
                Url::parse(url).map_err(|e| {
                    Error::Config(format!(
                        "the Elasticsearch URL {url:?} is not a URL ({e}); write it as https://host:9200"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if urls.is_empty() {
            return Err(Error::Config(
                "an Elasticsearch backend needs at least one URL".into(),
            ));
        }
        let mut builder = TransportBuilder::new(MultiNodeConnectionPool::round_robin(urls, None))
            .timeout(config.timeout)
            .request_body_compression(config.gzip);
        if let Some(credentials) = credentials(&config.auth) {
            builder = builder.auth(credentials);
        }
        if let Some(path) = &config.ca_certificate {
            let pem =
                std::fs::read(path).map_err(|e| Error::io("read the CA certificate", path, e))?;
            let certificate = Certificate::from_pem(&pem).map_err(|e| {
                Error::Config(format!(
                    "{} is not a PEM certificate ({e}); give the certificate authority's PEM file",
                    path.display()
                ))
            })?;
            builder = builder.cert_validation(CertificateValidation::Full(certificate));
        }
        let transport = builder
            .build()
            .map_err(|e| Error::Config(format!("cannot set up the Elasticsearch client: {e}")))?;
        Ok(ElasticsearchBackend {
            client: Elasticsearch::new(transport),
            urls: config.urls.clone(),
            written: Mutex::new(BTreeSet::new()),
        })
    }
}

fn credentials(auth: &Auth) -> Option<Credentials> {
    match auth {
        Auth::None => None,
        Auth::Basic { username, password } => Some(Credentials::Basic(
            username.clone(),
            password.expose().to_owned(),
        )),
        Auth::ApiKey(key) => Some(Credentials::EncodedApiKey(key.expose().to_owned())),
        Auth::Bearer(token) => Some(Credentials::Bearer(token.expose().to_owned())),
    }
}

#[async_trait::async_trait]
impl Backend for ElasticsearchBackend {
    async fn put_template(&self, name: &str, body: &Value) -> Result<()> {
        let request = format!("PUT _index_template/{name}");
        let sent = self
            .client
            .indices()
            .put_index_template(IndicesPutIndexTemplateParts::Name(name))
            .body(body)
            .send()
            .await;
        answer::<Value>(&request, sent).await.map(drop)
    }

    async fn get_template(&self, name: &str) -> Result<Option<Value>> {
        let request = format!("GET _index_template/{name}");
        let sent = self
            .client
            .indices()
            .get_index_template(IndicesGetIndexTemplateParts::Name(name))
            .send()
            .await;
        let Some(found) = answer_unless_missing::<Value>(&request, sent).await? else {
            return Ok(None);
        };
        let template = found
            .get("index_templates")
            .and_then(Value::as_array)
            .and_then(|templates| {
                templates
                    .iter()
                    .find(|t| t.get("name").and_then(Value::as_str) == Some(name))
            })
            .and_then(|t| t.get("index_template"));
        match template {
            Some(template) => Ok(Some(template.clone())),
            None => Err(unexpected(
                &request,
                200,
                "no `index_templates` entry with that name",
            )),
        }
    }

    async fn put_lifecycle_policy(&self, name: &str, body: &Value) -> Result<()> {
        let request = format!("PUT _ilm/policy/{name}");
        let sent = self
            .raw(Method::Put, &format!("/_ilm/policy/{name}"), Some(body))
            .await;
        answer::<Value>(&request, sent).await.map(drop)
    }

    async fn get_lifecycle_policy(&self, name: &str) -> Result<Option<Value>> {
        let request = format!("GET _ilm/policy/{name}");
        let sent = self
            .raw(Method::Get, &format!("/_ilm/policy/{name}"), None)
            .await;
        let Some(found) = answer_unless_missing::<Value>(&request, sent).await? else {
            return Ok(None);
        };
        match found.get(name).and_then(|entry| entry.get("policy")) {
            Some(policy) => Ok(Some(policy.clone())),
            None => Err(unexpected(
                &request,
                200,
                "no entry with that name holding a `policy`",
            )),
        }
    }

    async fn create_data_stream(&self, name: &str) -> Result<()> {
        let request = format!("PUT _data_stream/{name}");
        let sent = self
            .raw(Method::Put, &format!("/_data_stream/{name}"), None)
            .await;
        answer::<Value>(&request, sent).await.map(drop)
    }

    async fn delete_data_stream(&self, name: &str) -> Result<()> {
        let request = format!("DELETE _data_stream/{name}");
        let sent = self
            .raw(Method::Delete, &format!("/_data_stream/{name}"), None)
            .await;
        answer::<Value>(&request, sent).await.map(drop)
    }

    async fn rollover_data_stream(&self, name: &str) -> Result<()> {
        let request = format!("POST {name}/_rollover");
        let sent = self
            .raw(Method::Post, &format!("/{name}/_rollover"), None)
            .await;
        answer::<Value>(&request, sent).await.map(drop)
    }

    async fn data_stream(&self, name: &str) -> Result<Option<DataStreamInfo>> {
        let request = format!("GET _data_stream/{name}");
        let sent = self
            .raw(Method::Get, &format!("/_data_stream/{name}"), None)
            .await;
        let Some(found) = answer_unless_missing::<DataStreams>(&request, sent).await? else {
            return Ok(None);
        };
        let Some(stream) = found.data_streams.into_iter().find(|s| s.name == name) else {
            return Ok(None);
        };
        let request = format!("GET {name}/_ilm/explain");
        let sent = self
            .raw(Method::Get, &format!("/{name}/_ilm/explain"), None)
            .await;
        let phases = answer_unless_missing::<IlmExplain>(&request, sent)
            .await?
            .map(|explain| explain.indices)
            .unwrap_or_default();
        Ok(Some(DataStreamInfo {
            indices: stream
                .indices
                .into_iter()
                .map(|index| BackingIndex {
                    phase: phases
                        .get(&index.index_name)
                        .and_then(|explained| explained.phase.clone()),
                    name: index.index_name,
                })
                .collect(),
            name: stream.name,
            generation: stream.generation,
            template: stream.template,
            ilm_policy: stream.ilm_policy,
        }))
    }

    async fn bulk(&self, body: BulkBody) -> Result<Vec<ItemResult>> {
        if body.is_empty() {
            return Ok(Vec::new());
        }
        self.note_written(body.indexes());
        let request = format!("POST _bulk ({} documents)", body.len());
        // Sent as built, without the copy the typed bulk API makes.
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        );
        let sent = self
            .client
            .send(
                Method::Post,
                "/_bulk",
                headers,
                None::<&()>,
                Some(body.bytes().clone()),
                None,
            )
            .await;
        let response: BulkResponse = answer(&request, sent).await?;
        if response.items.len() != body.len() {
            return Err(unexpected(
                &request,
                200,
                &format!(
                    "{} item results for {} documents",
                    response.items.len(),
                    body.len()
                ),
            ));
        }
        Ok(response.items.into_iter().map(item_result).collect())
    }

    async fn search(&self, patterns: &[String], body: &Value) -> Result<SearchAnswer> {
        if patterns.is_empty() {
            // An empty list would search every index of the cluster.
            return Err(Error::BadRequest(
                "a search needs at least one index pattern".into(),
            ));
        }
        let patterns: Vec<&str> = patterns.iter().map(String::as_str).collect();
        let request = format!("POST {}/_search", patterns.join(","));
        let sent = self
            .client
            .search(SearchParts::Index(&patterns))
            .ignore_unavailable(true)
            .allow_no_indices(true)
            .body(body)
            .send()
            .await;
        let text = answer_text(&request, sent).await?;
        Ok(SearchAnswer::Json { request, text })
    }

    async fn open_point_in_time(
        &self,
        patterns: &[String],
        keep_alive: &str,
    ) -> Result<Option<String>> {
        if patterns.is_empty() {
            return Err(Error::BadRequest(
                "a point in time needs at least one index pattern".into(),
            ));
        }
        let patterns: Vec<&str> = patterns.iter().map(String::as_str).collect();
        let request = format!("POST {}/_pit", patterns.join(","));
        let sent = self
            .client
            .open_point_in_time(OpenPointInTimeParts::Index(&patterns))
            .keep_alive(keep_alive)
            .ignore_unavailable(true)
            .send()
            .await;
        let opened: PointInTime = answer(&request, sent).await?;
        Ok(Some(opened.id))
    }

    async fn search_point_in_time(&self, body: &Value) -> Result<SearchAnswer> {
        let sent = self
            .client
            .search(SearchParts::None)
            .body(body)
            .send()
            .await;
        let request = "POST _search (point in time)".to_owned();
        let text = answer_text(&request, sent).await?;
        Ok(SearchAnswer::Json { request, text })
    }

    async fn close_point_in_time(&self, id: &str) -> Result<()> {
        let sent = self
            .client
            .close_point_in_time()
            .body(json!({ "id": id }))
            .send()
            .await;
        answer::<Value>("DELETE _pit", sent).await.map(drop)
    }

    async fn indices(&self, pattern: &str) -> Result<Vec<IndexInfo>> {
        let request = format!("GET _cat/indices/{pattern}");
        let sent = self
            .client
            .cat()
            .indices(CatIndicesParts::Index(&[pattern]))
            .format("json")
            .bytes(ByteUnit::B)
            .send()
            .await;
        let Some(rows) = answer_unless_missing::<Vec<CatIndex>>(&request, sent).await? else {
            return Ok(Vec::new());
        };
        let mut indices = rows
            .into_iter()
            .map(|row| {
                Ok(IndexInfo {
                    docs: row.docs_count.as_deref().map_or(Ok(0), |count| {
                        count.parse().map_err(|_| {
                            unexpected(&request, 200, "a docs.count that is not a number")
                        })
                    })?,
                    bytes: row.store_size.as_deref().map_or(Ok(0), |size| {
                        parse_size(size).ok_or_else(|| {
                            unexpected(&request, 200, "a store.size that is not a size")
                        })
                    })?,
                    name: row.index,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        indices.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(indices)
    }

    async fn delete_index(&self, name: &str) -> Result<()> {
        let request = format!("DELETE {name}");
        let sent = self
            .client
            .indices()
            .delete(IndicesDeleteParts::Index(&[name]))
            .send()
            .await;
        answer::<Value>(&request, sent).await.map(drop)
    }

    async fn refresh(&self) -> Result<()> {
        let written = std::mem::take(&mut *self.lock_written());
        if written.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = written.iter().map(String::as_str).collect();
        let request = format!("GET {}/_refresh", names.join(","));
        let sent = self
            .client
            .indices()
            .refresh(IndicesRefreshParts::Index(&names))
            .ignore_unavailable(true)
            .allow_no_indices(true)
            .send()
            .await;
        let outcome = answer::<Value>(&request, sent).await.map(drop);
        if outcome.is_err() {
            // Refresh them with the next refresh instead.
            self.lock_written().extend(written);
        }
        outcome
    }
}

impl ElasticsearchBackend {
    /// Sends a request the typed API has no builder for (ILM, data
    /// streams), with a JSON body when given.
    async fn raw(&self, method: Method, path: &str, body: Option<&Value>) -> Sent {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let body = body.map(|body| bytes::Bytes::from(body.to_string()));
        self.client
            .send(method, path, headers, None::<&()>, body, None)
            .await
    }

    fn note_written(&self, indexes: &[String]) {
        let mut written = self.lock_written();
        for index in indexes {
            if !written.contains(index) {
                written.insert(index.clone());
            }
        }
    }

    fn lock_written(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        // A set of names, valid whatever a panic interrupted.
        self.written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A `_bulk` answer, as far as esrecord reads it.
#[derive(serde::Deserialize)]
struct BulkResponse {
    items: Vec<BulkItemEntry>,
}

/// `{"create": {...}}` (or `index`, `update`, `delete`).
#[derive(serde::Deserialize)]
struct BulkItemEntry {
    #[serde(alias = "index", alias = "update", alias = "delete")]
    create: BulkItemResponse,
}

#[derive(serde::Deserialize)]
struct BulkItemResponse {
    status: u16,
    #[serde(default)]
    error: Option<Value>,
}

/// One item's outcome: failed when its status is 300 or more (a server
/// may send `"error": null` with a success).
fn item_result(item: BulkItemEntry) -> ItemResult {
    let response = item.create;
    if response.status < 300 {
        return ItemResult::ok(response.status);
    }
    let (error_type, reason) = error_parts(response.error.as_ref());
    let reason = crate::time_series::explain_rejection(&reason).unwrap_or(reason);
    ItemResult::failed(
        response.status,
        error_type.as_deref().unwrap_or("error"),
        reason,
    )
}

/// `GET _data_stream/{name}`, as far as esrecord reads it.
#[derive(serde::Deserialize)]
struct DataStreams {
    data_streams: Vec<DataStreamEntry>,
}

#[derive(serde::Deserialize)]
struct DataStreamEntry {
    name: String,
    generation: u64,
    #[serde(default)]
    template: Option<String>,
    #[serde(default)]
    ilm_policy: Option<String>,
    #[serde(default)]
    indices: Vec<DataStreamIndex>,
}

#[derive(serde::Deserialize)]
struct DataStreamIndex {
    index_name: String,
}

/// `GET {target}/_ilm/explain`: each index's ILM state.
#[derive(serde::Deserialize)]
struct IlmExplain {
    indices: std::collections::BTreeMap<String, IlmIndex>,
}

#[derive(serde::Deserialize)]
struct IlmIndex {
    #[serde(default)]
    phase: Option<String>,
}

/// A `_cat/indices` row.
#[derive(serde::Deserialize)]
struct CatIndex {
    index: String,
    #[serde(rename = "docs.count")]
    docs_count: Option<String>,
    #[serde(rename = "store.size")]
    store_size: Option<String>,
}

/// Bytes from a `_cat` size: plain (`bytes=b`) or with a unit (`88.1kb`).
fn parse_size(size: &str) -> Option<u64> {
    let digits_end = size
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(size.len());
    let (number, unit) = size.split_at(digits_end);
    let number: f64 = number.parse().ok()?;
    let scale: f64 = match unit.trim() {
        "" | "b" => 1.0,
        "kb" => 1024.0,
        "mb" => 1024.0 * 1024.0,
        "gb" => 1024.0 * 1024.0 * 1024.0,
        "tb" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "pb" => 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((number * scale).round() as u64)
}

type Sent = std::result::Result<Response, elasticsearch::Error>;

/// The body of a successful answer, or the error it reports.
/// The answer to `POST {index}/_pit`.
#[derive(serde::Deserialize)]
struct PointInTime {
    id: String,
}

async fn answer<T: DeserializeOwned>(request: &str, sent: Sent) -> Result<T> {
    let (status, text) = read(request, sent).await?;
    check(request, status, &text)?;
    decode(request, status, &text)
}

/// The text of a successful answer, for the caller to read.
async fn answer_text(request: &str, sent: Sent) -> Result<String> {
    let (status, text) = read(request, sent).await?;
    check(request, status, &text)?;
    Ok(text)
}

/// Like [`answer`], with `None` for a 404 (a missing template or index).
async fn answer_unless_missing<T: DeserializeOwned>(
    request: &str,
    sent: Sent,
) -> Result<Option<T>> {
    let (status, text) = read(request, sent).await?;
    if status == 404 {
        return Ok(None);
    }
    check(request, status, &text)?;
    decode(request, status, &text).map(Some)
}

/// The status and body of an answer; no answer is a retryable error.
async fn read(request: &str, sent: Sent) -> Result<(u16, String)> {
    let response = sent.map_err(|e| Error::Elasticsearch {
        request: request.to_owned(),
        status: e.status_code().map(|s| s.as_u16()),
        error_type: None,
        reason: if e.is_timeout() {
            format!("timed out ({e})")
        } else {
            e.to_string()
        },
    })?;
    let status = response.status_code().as_u16();
    let text = response.text().await.map_err(|e| Error::Elasticsearch {
        request: request.to_owned(),
        status: Some(status),
        error_type: None,
        reason: format!("the answer could not be read: {e}"),
    })?;
    Ok((status, text))
}

/// The error an answer of 300 or more reports, read from its body as plain
/// JSON (or shown as it is when it is not JSON).
fn check(request: &str, status: u16, text: &str) -> Result<()> {
    if status < 300 {
        return Ok(());
    }
    let body: Option<Value> = serde_json::from_str(text).ok();
    let (error_type, reason) = error_parts(body.as_ref().and_then(|b| b.get("error")));
    Err(Error::Elasticsearch {
        request: request.to_owned(),
        status: Some(status),
        error_type,
        reason: if reason.is_empty() {
            preview(text)
        } else {
            reason
        },
    })
}

fn decode<T: DeserializeOwned>(request: &str, status: u16, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        unexpected(
            request,
            status,
            &format!("{e}; the answer began {}", preview(text)),
        )
    })
}

/// `error.type` and `error.reason` of an error object (or the error itself
/// when it is a string, as some proxies and old versions send).
fn error_parts(error: Option<&Value>) -> (Option<String>, String) {
    match error {
        Some(Value::Object(error)) => (
            error.get("type").and_then(Value::as_str).map(str::to_owned),
            error
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        ),
        Some(Value::String(reason)) => (None, reason.clone()),
        _ => (None, String::new()),
    }
}

fn preview(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None if text.is_empty() => "(an empty body)".to_owned(),
        None => text.to_owned(),
    }
}

fn unexpected(request: &str, status: u16, what: &str) -> Error {
    Error::Elasticsearch {
        request: request.to_owned(),
        status: Some(status),
        error_type: Some("invalid_response".into()),
        reason: format!("the answer is not what Elasticsearch documents: {what}"),
    }
}
