//! `_bulk`: NDJSON actions and sources. Each `index` or `create` goes
//! through the store's writer as the record type its `_index` names: read
//! as the type (a field it lacks is refused), validated, batched. The
//! answer waits until the writer has written them and made them
//! searchable, so an acknowledged document is durable, and it reports
//! each item as Elasticsearch does: 201 with its id and partition, or the
//! error that refused it.

use std::time::Instant;

use serde_json::{Value, json};

use super::reply::{EsError, Reply};
use super::routes::Call;
use super::server::Server;
use crate::operations::Placed;

/// One item's outcome, in request order.
enum Item {
    /// Handed to the writer; written unless the backend refuses it.
    Queued {
        action: &'static str,
        placed: Placed,
    },
    /// Refused before the writer.
    Failed {
        action: String,
        index: String,
        id: Option<String>,
        error: EsError,
    },
}

/// `{index}/_bulk`.
pub(crate) async fn bulk(
    server: &Server,
    call: &Call<'_>,
    default_index: Option<&str>,
) -> Result<Reply, EsError> {
    let started = Instant::now();
    // Every line is read before anything is recorded: a malformed request
    // records nothing, as Elasticsearch refuses it whole.
    let items: Vec<Item> = read_actions(call.body, default_index)?
        .into_iter()
        .map(|(action, source)| match (action.kind.as_str(), source) {
            ("index" | "create", Some(source)) => record(server, &action, source),
            ("update", _) => action.refused("update is not supported: records are written once; index a new record instead"),
            _ => action.refused("deleting one document is not supported: records are deleted with their partition (DELETE of the index, or retention)"),
        })
        .collect();
    if items.iter().any(|item| matches!(item, Item::Queued { .. })) {
        written(server, &items).await?;
    }
    let answered: Vec<Value> = items.into_iter().map(|item| answer(server, item)).collect();
    let errors = answered.iter().any(|item| {
        item.as_object()
            .and_then(|o| o.values().next())
            .is_some_and(|result| result.get("error").is_some())
    });
    Ok(Reply::json(
        200,
        &json!({"took": started.elapsed().as_millis() as u64, "errors": errors, "items": answered}),
    ))
}

/// An action of a `_bulk` body with its source line (`index`, `create`
/// and `update` have one; `delete` has none).
type ActionLines<'a> = (Action, Option<&'a [u8]>);

/// The actions of a `_bulk` body.
fn read_actions<'a>(
    body: &'a [u8],
    default_index: Option<&str>,
) -> Result<Vec<ActionLines<'a>>, EsError> {
    let mut lines = body
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace));
    let mut actions = Vec::new();
    while let Some((number, line)) = lines.next() {
        let action = Action::read(line, number + 1, default_index)?;
        let source = match action.kind.as_str() {
            "index" | "create" | "update" => {
                let Some((_, source)) = lines.next() else {
                    return Err(EsError::illegal(format!(
                        "the {} action on line {} has no source line after it",
                        action.kind,
                        number + 1
                    )));
                };
                Some(source)
            }
            "delete" => None,
            other => {
                return Err(EsError::illegal(format!(
                    "Malformed action/metadata line [{}], expected one of [index, create, update, delete] but found [{other}]",
                    number + 1
                )));
            }
        };
        actions.push((action, source));
    }
    Ok(actions)
}

/// `{index}/_doc[/{id}]` and `{index}/_create/{id}`: one document, as a
/// `_bulk` of one item is written, answered as Elasticsearch answers it.
pub(crate) async fn index_one(
    server: &Server,
    call: &Call<'_>,
    index: &str,
    id: Option<&str>,
    kind: &str,
) -> Result<Reply, EsError> {
    let action = Action {
        kind: kind.to_owned(),
        index: Some(index.to_owned()),
        id: id.map(str::to_owned),
    };
    match record(server, &action, call.body) {
        Item::Failed { error, .. } => Err(error),
        queued => {
            written(server, std::slice::from_ref(&queued)).await?;
            let answered = answer(server, queued);
            let result = answered
                .as_object()
                .and_then(|o| o.values().next())
                .cloned()
                .unwrap_or_default();
            match result.get("error") {
                Some(error) => Err(EsError {
                    status: result["status"]
                        .as_u64()
                        .and_then(|s| u16::try_from(s).ok())
                        .unwrap_or(500),
                    kind: "exception",
                    reason: error["reason"].as_str().unwrap_or("refused").to_owned(),
                }),
                None => {
                    let mut result = result;
                    if let Some(object) = result.as_object_mut() {
                        object.remove("status");
                    }
                    Ok(Reply::json(201, &result))
                }
            }
        }
    }
}

/// Waits until the writer has written and committed what `items`
/// queued. When it does not in time, the items' refusals are not kept
/// for an answer that will not be given.
async fn written(server: &Server, items: &[Item]) -> Result<(), EsError> {
    let Err(error) = server.store.flush().await else {
        return Ok(());
    };
    for item in items {
        if let Item::Queued { placed, .. } = item {
            server.take_refusal(&placed.id);
        }
    }
    Err(error.into())
}

/// An action line: `{"index": {"_index": ..., "_id": ...}}`.
struct Action {
    kind: String,
    index: Option<String>,
    id: Option<String>,
}

impl Action {
    fn read(line: &[u8], number: usize, default_index: Option<&str>) -> Result<Action, EsError> {
        let malformed = |why: String| {
            EsError::illegal(format!("Malformed action/metadata line [{number}]: {why}"))
        };
        let value: Value =
            serde_json::from_slice(line).map_err(|e| malformed(format!("not JSON ({e})")))?;
        let Some((kind, meta)) = value
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.iter().next())
        else {
            return Err(malformed(
                "expected one action, e.g. {\"index\": {\"_index\": \"...\"}}".into(),
            ));
        };
        if !meta.is_object() {
            return Err(malformed(format!(
                "expected an object after [{kind}], found {meta}"
            )));
        }
        let index = meta["_index"].as_str().or(default_index).map(str::to_owned);
        let id = match &meta["_id"] {
            Value::Null => None,
            Value::String(id) if !id.is_empty() && id.len() <= 512 => Some(id.clone()),
            other => {
                return Err(malformed(format!(
                    "_id must be a string of 1 to 512 bytes, not {other}"
                )));
            }
        };
        Ok(Action {
            kind: kind.clone(),
            index,
            id,
        })
    }

    fn refused(&self, reason: &str) -> Item {
        Item::Failed {
            action: self.kind.clone(),
            index: self.index.clone().unwrap_or_default(),
            id: self.id.clone(),
            error: EsError::illegal(reason),
        }
    }
}

/// Hands one source to the writer as the record type its index names.
fn record(server: &Server, action: &Action, source: &[u8]) -> Item {
    let failed = |error: EsError| Item::Failed {
        action: action.kind.clone(),
        index: action.index.clone().unwrap_or_default(),
        id: action.id.clone(),
        error,
    };
    let Some(index) = action.index.as_deref() else {
        return failed(EsError::illegal(
            "the action names no _index, and the path names none",
        ));
    };
    let Some(served) = server.type_of_index(index) else {
        return failed(EsError::index_not_found(index));
    };
    let placed = served.operations.record_json_as(
        &server.store,
        &served.named,
        source,
        action.id.as_deref(),
    );
    match placed {
        Ok(placed) => Item::Queued {
            action: if action.kind == "create" {
                "create"
            } else {
                "index"
            },
            placed,
        },
        Err(error) => failed(EsError::from(error)),
    }
}

/// The answer of one item, once the writer is done with it.
fn answer(server: &Server, item: Item) -> Value {
    match item {
        Item::Queued { action, placed } => match server.take_refusal(&placed.id) {
            None => json!({action: {
                "_index": placed.index, "_id": placed.id, "_version": 1, "result": "created",
                "_shards": {"total": 1, "successful": 1, "failed": 0},
                "_seq_no": 0, "_primary_term": 1, "status": 201,
            }}),
            Some(letter) => {
                let error = EsError {
                    status: letter.status.unwrap_or(500),
                    kind: "exception",
                    reason: letter.reason,
                };
                failure(
                    action,
                    &placed.index,
                    Some(&placed.id),
                    &error,
                    letter.error_type.as_deref(),
                )
            }
        },
        Item::Failed {
            action,
            index,
            id,
            error,
        } => failure(&action, &index, id.as_deref(), &error, None),
    }
}

fn failure(
    action: &str,
    index: &str,
    id: Option<&str>,
    error: &EsError,
    kind: Option<&str>,
) -> Value {
    json!({action: {
        "_index": index,
        "_id": id,
        "status": error.status,
        "error": {"type": kind.unwrap_or(error.kind), "reason": error.reason},
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_line_anywhere_refuses_the_whole_request() {
        let body = b"{\"index\": {\"_index\": \"a\"}}\n{}\n{\"delete\": {\"_id\": \"1\"}}\n{\"upsert\": {}}\n{}\n";
        let error = read_actions(body, None).map(|_| ()).unwrap_err();
        assert!(error.reason.contains("line [4]"), "{}", error.reason);
        let body = b"{\"index\": {}}\n{}\n{\"delete\": {\"_index\": \"b\"}}\n{\"create\": {\"_id\": \"7\"}}\n{}\n";
        let actions = read_actions(body, Some("a")).unwrap_or_default();
        let kinds: Vec<(&str, Option<&str>, bool)> = actions
            .iter()
            .map(|(a, source)| (a.kind.as_str(), a.index.as_deref(), source.is_some()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("index", Some("a"), true),
                ("delete", Some("b"), false),
                ("create", Some("a"), true)
            ]
        );
        let cut = b"{\"index\": {\"_index\": \"a\"}}\n";
        assert!(read_actions(cut, None).is_err());
    }
}
