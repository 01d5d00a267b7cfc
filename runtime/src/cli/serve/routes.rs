//! Which endpoint a request is for: the method and the path's segments
//! (percent-decoded), as Elasticsearch's REST layer reads them.

use std::borrow::Cow;

use hyper::Method;
use percent_encoding::percent_decode_str;
use serde_json::Value;

use super::reply::{EsError, Reply};
use super::server::Server;
use super::{bulk, indices, search};

/// A request read whole.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub(crate) method: &'a Method,
    pub(crate) path: &'a str,
    segments: Vec<Cow<'a, str>>,
    query: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub(crate) body: &'a [u8],
}

impl<'a> Call<'a> {
    pub(crate) fn new(
        method: &'a Method,
        path: &'a str,
        query: Option<&'a str>,
        body: &'a [u8],
    ) -> Self {
        let decode = |text: &'a str| percent_decode_str(text).decode_utf8_lossy();
        let segments = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(decode)
            .collect();
        let query = query
            .unwrap_or("")
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(key), decode(value))
            })
            .collect();
        Call {
            method,
            path,
            segments,
            query,
            body,
        }
    }

    /// The query parameter `key`.
    pub(crate) fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }

    /// Whether the flag `key` is on (`?key`, `?key=true`).
    pub(crate) fn flag(&self, key: &str) -> bool {
        self.param(key).is_some_and(|v| v.is_empty() || v == "true")
    }

    /// The body as JSON: `{}` when empty.
    pub(crate) fn json_body(&self) -> Result<Value, EsError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(serde_json::Map::new()));
        }
        serde_json::from_slice(self.body)
            .map_err(|e| EsError::parsing(format!("the request body is not JSON: {e}")))
    }
}

/// Answers `call`.
pub(crate) async fn route(server: &Server, call: Call<'_>) -> Reply {
    match dispatch(server, &call).await {
        Ok(reply) => reply,
        Err(error) => error.reply(),
    }
}

async fn dispatch(server: &Server, call: &Call<'_>) -> Result<Reply, EsError> {
    let segments: Vec<&str> = call.segments.iter().map(Cow::as_ref).collect();
    let method = call.method;
    let read = method == Method::GET || method == Method::POST;
    let write = method == Method::POST || method == Method::PUT;
    match segments.as_slice() {
        [] if method == Method::GET => Ok(indices::info()),
        [] if method == Method::HEAD => Ok(Reply::empty(200)),
        ["_cluster", "health", ..] if method == Method::GET => indices::health(server).await,
        ["_bulk"] if write => bulk::bulk(server, call, None).await,
        [index, "_bulk"] if write => bulk::bulk(server, call, Some(index)).await,
        [index, "_doc"] if method == Method::POST => {
            bulk::index_one(server, call, index, None, "index").await
        }
        [index, "_doc", id] if write => {
            bulk::index_one(server, call, index, Some(id), "index").await
        }
        [index, "_create", id] if write => {
            bulk::index_one(server, call, index, Some(id), "create").await
        }
        ["_search"] if read => search::search(server, call, None).await,
        [index, "_search"] if read => search::search(server, call, Some(index)).await,
        ["_msearch"] if read => search::msearch(server, call, None).await,
        [index, "_msearch"] if read => search::msearch(server, call, Some(index)).await,
        ["_count"] if read => search::count(server, call, None).await,
        [index, "_count"] if read => search::count(server, call, Some(index)).await,
        [index, "_pit"] if method == Method::POST => search::open_pit(server, call, index).await,
        ["_pit"] if method == Method::DELETE => search::close_pit(server, call),
        ["_mapping"] if method == Method::GET => indices::mapping(server, None).await,
        [index, "_mapping"] if method == Method::GET => indices::mapping(server, Some(index)).await,
        ["_field_caps"] if read => indices::field_caps(server, call, None).await,
        [index, "_field_caps"] if read => indices::field_caps(server, call, Some(index)).await,
        ["_index_template"] if method == Method::GET => indices::templates(server, None).await,
        ["_index_template", name] if method == Method::GET => {
            indices::templates(server, Some(name)).await
        }
        ["_index_template", name] if method == Method::HEAD => {
            indices::template_exists(server, name).await
        }
        ["_index_template", name] if method == Method::PUT => {
            indices::put_template(server, call, name).await
        }
        ["_cat", "indices"] if method == Method::GET => indices::cat(server, call, None).await,
        ["_cat", "indices", index] if method == Method::GET => {
            indices::cat(server, call, Some(index)).await
        }
        ["_refresh"] if read => indices::refresh(server).await,
        [_, "_refresh"] if read => indices::refresh(server).await,
        [index] if method == Method::DELETE && !index.starts_with('_') => {
            indices::delete(server, index).await
        }
        [index] if method == Method::HEAD && !index.starts_with('_') => {
            indices::exists(server, index).await
        }
        _ => Err(EsError::unsupported_endpoint(method.as_str(), call.path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_queries_are_percent_decoded() {
        let call = Call::new(
            &Method::GET,
            "/shop_pageview_%2A/_search",
            Some("ignore_unavailable=true&q=path%3A%2Fcart&typed_keys"),
            b"",
        );
        assert_eq!(call.segments, ["shop_pageview_*", "_search"]);
        assert_eq!(call.param("q"), Some("path:/cart"));
        assert!(call.flag("ignore_unavailable") && call.flag("typed_keys"));
        assert!(!call.flag("allow_no_indices"));
        assert_eq!(call.json_body().unwrap_or_default(), serde_json::json!({}));
    }

    #[test]
    fn a_body_that_is_not_json_is_a_parsing_exception() {
        let call = Call::new(&Method::POST, "/_search", None, b"{\"query\":");
        let error = call.json_body().unwrap_err();
        assert_eq!((error.status, error.kind), (400, "parsing_exception"));
    }
}
