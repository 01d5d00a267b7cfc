//! `_search`, `_msearch`, `_count` and `_pit`: search bodies run by the
//! backend as they come (it reads Elasticsearch's query DSL and
//! aggregations, and refuses what it does not support by name), answered
//! in Elasticsearch's envelope.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::dialect;
use super::reply::{EsError, Reply};
use super::routes::Call;
use super::server::Server;

/// Every search answers for one shard: the engine is one node's.
fn shards() -> Value {
    json!({"total": 1, "successful": 1, "skipped": 0, "failed": 0})
}

/// `{index}/_search`.
pub(crate) async fn search(
    server: &Server,
    call: &Call<'_>,
    index: Option<&str>,
) -> Result<Reply, EsError> {
    let mut body = call.json_body()?;
    apply_url_parameters(call, &mut body)?;
    let options = Options::of(call);
    let answer = run(server, index, body, &options).await?;
    Ok(Reply::json(200, &answer))
}

/// How a search is answered, from the URL.
struct Options {
    ignore_unavailable: bool,
    total_as_int: bool,
}

impl Options {
    fn of(call: &Call<'_>) -> Options {
        Options {
            ignore_unavailable: call.flag("ignore_unavailable"),
            total_as_int: call.flag("rest_total_hits_as_int"),
        }
    }
}

/// `size`, `from` and `track_total_hits` given in the URL, into the body;
/// a query string (`q`) is refused by name.
fn apply_url_parameters(call: &Call<'_>, body: &mut Value) -> Result<(), EsError> {
    if call.param("q").is_some() {
        return Err(EsError::illegal(
            "the `q` parameter (a Lucene query string) is not supported: send the query in the body as query DSL",
        ));
    }
    let Some(object) = body.as_object_mut() else {
        return Err(EsError::parsing("a search body must be a JSON object"));
    };
    for key in ["size", "from"] {
        if let Some(value) = call.param(key) {
            let number: u64 = value.parse().map_err(|_| {
                EsError::illegal(format!("[{key}] must be a whole number, not [{value}]"))
            })?;
            object.insert(key.to_owned(), json!(number));
        }
    }
    if let Some(value) = call.param("track_total_hits") {
        object.insert("track_total_hits".to_owned(), json!(value != "false"));
    }
    Ok(())
}

/// Runs one search body over `index` (or the point in time the body
/// names) and gives the answer in Elasticsearch's envelope.
async fn run(
    server: &Server,
    index: Option<&str>,
    mut body: Value,
    options: &Options,
) -> Result<Value, EsError> {
    let started = Instant::now();
    let Some(object) = body.as_object_mut() else {
        return Err(EsError::parsing("a search body must be a JSON object"));
    };
    let pit = object.remove("pit");
    let patterns = match &pit {
        Some(pit) => {
            let id = pit["id"]
                .as_str()
                .ok_or_else(|| EsError::parsing("[pit] needs an [id]"))?;
            let keep_alive = pit["keep_alive"]
                .as_str()
                .map(parse_keep_alive)
                .transpose()?;
            rename_shard_doc(object);
            server.pit_patterns(id, keep_alive).ok_or_else(|| EsError {
                status: 404,
                kind: "search_context_missing_exception",
                reason: format!("no search context found for id [{id}]: it expired or was closed; open another point in time"),
            })?
        }
        None => {
            server
                .existing_patterns(index, options.ignore_unavailable)
                .await?
        }
    };
    let rewritten = dialect::rewrite(&mut body)?;
    let response = server
        .backend
        .search(&patterns, &body)
        .await?
        .into_response()?;
    let mut answer = serde_json::to_value(&response).map_err(|e| EsError {
        status: 500,
        kind: "exception",
        reason: format!("cannot write the answer: {e}"),
    })?;
    dialect::restore(&mut answer, &rewritten);
    answer["_shards"] = shards();
    answer["took"] = json!(started.elapsed().as_millis() as u64);
    if let Some(pit) = pit {
        answer["pit_id"] = pit["id"].clone();
    }
    if options.total_as_int {
        let total = answer["hits"]["total"]["value"].clone();
        answer["hits"]["total"] = total;
    }
    Ok(answer)
}

/// `_shard_doc`, the tiebreaker of searches over a point in time, is the
/// document id on the engine (`_id` orders documents the same way on
/// every search).
fn rename_shard_doc(body: &mut Map<String, Value>) {
    let Some(Value::Array(sort)) = body.get_mut("sort") else {
        return;
    };
    for key in sort.iter_mut() {
        match key {
            Value::String(name) if name == "_shard_doc" => *name = "_id".to_owned(),
            Value::Object(map) => {
                if let Some(spec) = map.remove("_shard_doc") {
                    map.insert("_id".to_owned(), spec);
                }
            }
            _ => {}
        }
    }
}

/// `{index}/_msearch`: NDJSON pairs of a header (`index`,
/// `ignore_unavailable`) and a body; each answered on its own, an error
/// in its place.
pub(crate) async fn msearch(
    server: &Server,
    call: &Call<'_>,
    index: Option<&str>,
) -> Result<Reply, EsError> {
    let started = Instant::now();
    let mut lines = call
        .body
        .split(|b| *b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace));
    let mut responses = Vec::new();
    while let Some(header) = lines.next() {
        let header: Value = serde_json::from_slice(header)
            .map_err(|e| EsError::parsing(format!("an _msearch header line is not JSON: {e}")))?;
        let body = lines
            .next()
            .ok_or_else(|| EsError::parsing("an _msearch header has no search body after it"))?;
        let body: Value = serde_json::from_slice(body)
            .map_err(|e| EsError::parsing(format!("an _msearch body line is not JSON: {e}")))?;
        let names = match &header["index"] {
            Value::String(name) => Some(name.clone()),
            Value::Array(names) => Some(
                names
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => index.map(str::to_owned),
        };
        let options = Options {
            ignore_unavailable: header["ignore_unavailable"]
                .as_bool()
                .unwrap_or(call.flag("ignore_unavailable")),
            total_as_int: call.flag("rest_total_hits_as_int"),
        };
        let response = match run(server, names.as_deref(), body, &options).await {
            Ok(mut answer) => {
                answer["status"] = json!(200);
                answer
            }
            Err(error) => error.body(),
        };
        responses.push(response);
    }
    Ok(Reply::json(
        200,
        &json!({"took": started.elapsed().as_millis() as u64, "responses": responses}),
    ))
}

/// `{index}/_count`: the documents a query matches.
pub(crate) async fn count(
    server: &Server,
    call: &Call<'_>,
    index: Option<&str>,
) -> Result<Reply, EsError> {
    let body = call.json_body()?;
    let Some(object) = body.as_object() else {
        return Err(EsError::parsing("a count body must be a JSON object"));
    };
    if let Some(key) = object.keys().find(|k| *k != "query") {
        return Err(EsError::parsing(format!(
            "request does not support [{key}]: a count body holds a query only"
        )));
    }
    let mut search = json!({"size": 0, "track_total_hits": true});
    if let Some(query) = object.get("query") {
        search["query"] = query.clone();
    }
    let answer = run(server, index, search, &Options::of(call)).await?;
    Ok(Reply::json(
        200,
        &json!({"count": answer["hits"]["total"]["value"], "_shards": shards()}),
    ))
}

/// `{index}/_pit?keep_alive=1m`: a point in time names the indexes its
/// searches run over (the engine's searches see what was written since,
/// as a refresh would show it).
pub(crate) async fn open_pit(
    server: &Server,
    call: &Call<'_>,
    index: &str,
) -> Result<Reply, EsError> {
    let keep_alive = call
        .param("keep_alive")
        .ok_or_else(|| EsError::illegal("[keep_alive] is required, e.g. ?keep_alive=1m"))?;
    let keep_alive = parse_keep_alive(keep_alive)?;
    let patterns = server
        .existing_patterns(Some(index), call.flag("ignore_unavailable"))
        .await?;
    let id = server.open_pit(patterns, keep_alive);
    Ok(Reply::json(200, &json!({"id": id, "_shards": shards()})))
}

/// `DELETE _pit` with `{"id": ...}`.
pub(crate) fn close_pit(server: &Server, call: &Call<'_>) -> Result<Reply, EsError> {
    let body = call.json_body()?;
    let id = body["id"]
        .as_str()
        .ok_or_else(|| EsError::parsing("[id] is required: {\"id\": \"...\"}"))?;
    let freed = server.close_pit(id);
    let status = if freed { 200 } else { 404 };
    Ok(Reply::json(
        status,
        &json!({"succeeded": freed, "num_freed": u32::from(freed)}),
    ))
}

/// A keep-alive such as `1m`, `30s` or `500ms`.
fn parse_keep_alive(text: &str) -> Result<Duration, EsError> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| {
        EsError::illegal(format!(
            "[keep_alive] must be a time such as 1m, not [{text}]"
        ))
    })?;
    let seconds = match unit {
        "ms" => return Ok(Duration::from_millis(number)),
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(EsError::illegal(format!(
                "[keep_alive] must be a time such as 1m, not [{text}]"
            )));
        }
    };
    Ok(Duration::from_secs(number.saturating_mul(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_alives_read_as_elasticsearch_times() {
        assert_eq!(parse_keep_alive("1m").ok(), Some(Duration::from_secs(60)));
        assert_eq!(
            parse_keep_alive("500ms").ok(),
            Some(Duration::from_millis(500))
        );
        assert!(parse_keep_alive("soon").is_err());
        assert!(parse_keep_alive("5y").is_err());
    }

    #[test]
    fn shard_doc_sorts_by_id() {
        let mut body =
            json!({"sort": [{"timestamp": "asc"}, {"_shard_doc": "desc"}, "_shard_doc"]});
        let object = body.as_object_mut().map(|o| {
            rename_shard_doc(o);
            o.clone()
        });
        assert_eq!(
            object.map(Value::Object),
            Some(json!({"sort": [{"timestamp": "asc"}, {"_id": "desc"}, "_id"]}))
        );
    }
}
