//! The cluster and its indexes: `GET /`, `_mapping`, `_field_caps`,
//! `_index_template`, `_cat/indices`, `_refresh`, and `DELETE` or `HEAD`
//! of an index. Mappings come from the record types; an index belongs to
//! the type whose pattern it matches.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::reply::{EsError, Reply};
use super::routes::Call;
use super::server::Server;
use crate::naming::glob_matches;

/// The Elasticsearch version the endpoint answers as: the wire format its
/// answers follow (clients and Grafana check it).
pub(crate) const VERSION: &str = "8.17.0";

/// `GET /`: who answers.
pub(crate) fn info() -> Reply {
    Reply::json(
        200,
        &json!({
            "name": "esrecord",
            "cluster_name": "esrecord",
            "cluster_uuid": "esrecord-embedded",
            "version": {
                "number": VERSION,
                "build_flavor": "default",
                "build_type": "esrecord",
                "lucene_version": "9.12.0",
                "minimum_wire_compatibility_version": "7.17.0",
                "minimum_index_compatibility_version": "7.0.0",
            },
            "tagline": "You Know, for Search",
        }),
    )
}

/// `_cluster/health`: one node, green (what Grafana's data source checks).
pub(crate) async fn health(server: &Server) -> Result<Reply, EsError> {
    let shards = server.backend.indices("*").await?.len();
    Ok(Reply::json(
        200,
        &json!({
            "cluster_name": "esrecord", "status": "green", "timed_out": false,
            "number_of_nodes": 1, "number_of_data_nodes": 1,
            "active_primary_shards": shards, "active_shards": shards,
            "relocating_shards": 0, "initializing_shards": 0, "unassigned_shards": 0,
            "delayed_unassigned_shards": 0, "number_of_pending_tasks": 0,
            "number_of_in_flight_fetch": 0, "task_max_waiting_in_queue_millis": 0,
            "active_shards_percent_as_number": 100.0,
        }),
    ))
}

/// The names of the indexes `index` names (see [`Server::indices`]).
async fn names(server: &Server, index: Option<&str>) -> Result<Vec<String>, EsError> {
    Ok(server
        .indices(index)
        .await?
        .into_iter()
        .map(|i| i.name)
        .collect())
}

/// The mappings of the type `name` belongs to.
fn mappings_of(server: &Server, name: &str) -> Value {
    match server.type_of_index(name) {
        Some(served) => served.named.template_body()["template"]["mappings"].clone(),
        None => json!({}),
    }
}

/// `{index}/_mapping`.
pub(crate) async fn mapping(server: &Server, index: Option<&str>) -> Result<Reply, EsError> {
    let mut answer = Map::new();
    for name in names(server, index).await? {
        let mappings = mappings_of(server, &name);
        answer.insert(name, json!({"mappings": mappings}));
    }
    Ok(Reply::json(200, &Value::Object(answer)))
}

/// `{index}/_field_caps?fields=...`: each field's type, and whether it
/// can be searched and aggregated, across the indexes.
pub(crate) async fn field_caps(
    server: &Server,
    call: &Call<'_>,
    index: Option<&str>,
) -> Result<Reply, EsError> {
    let body = call.json_body()?;
    let wanted: Vec<String> = match (call.param("fields"), &body["fields"]) {
        (Some(fields), _) => fields.split(',').map(str::to_owned).collect(),
        (None, Value::String(field)) => vec![field.clone()],
        (None, Value::Array(fields)) => fields
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => vec!["*".to_owned()],
    };
    let indices = names(server, index).await?;
    // field -> mapping type -> the indexes that map it so.
    let mut fields: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for name in &indices {
        let mappings = mappings_of(server, name);
        let mut leaves = Vec::new();
        leaf_types("", &mappings["properties"], &mut leaves);
        for (path, kind) in leaves {
            if wanted.iter().any(|w| glob_matches(w, &path)) {
                let types = fields.entry(path).or_default();
                types.entry(kind).or_default().push(name.clone());
            }
        }
    }
    let fields: Map<String, Value> = fields
        .into_iter()
        .map(|(path, types)| {
            let several = types.len() > 1;
            let caps: Map<String, Value> = types
                .into_iter()
                .map(|(kind, in_indices)| {
                    let mut cap = json!({
                        "type": kind,
                        "metadata_field": false,
                        "searchable": true,
                        "aggregatable": kind != "text",
                    });
                    if several {
                        cap["indices"] = json!(in_indices);
                    }
                    (kind, cap)
                })
                .collect();
            (path, Value::Object(caps))
        })
        .collect();
    Ok(Reply::json(
        200,
        &json!({"indices": indices, "fields": fields}),
    ))
}

/// Every leaf of `properties` as (dotted path, mapping type).
fn leaf_types(prefix: &str, properties: &Value, out: &mut Vec<(String, String)>) {
    let Some(properties) = properties.as_object() else {
        return;
    };
    for (name, field) in properties {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match field["type"].as_str() {
            Some(kind) if kind != "object" && kind != "nested" => out.push((path, kind.to_owned())),
            _ => leaf_types(&path, &field["properties"], out),
        }
    }
}

/// `_index_template[/{name}]`: the served types' templates (a name may
/// hold `*`).
pub(crate) async fn templates(server: &Server, name: Option<&str>) -> Result<Reply, EsError> {
    let mut found = Vec::new();
    for served in server.types() {
        let template = &served.template;
        if name.is_some_and(|name| !glob_matches(name, template)) {
            continue;
        }
        if let Some(body) = server.backend.get_template(template).await? {
            found.push(json!({"name": template, "index_template": body}));
        }
    }
    if found.is_empty() && name.is_some_and(|name| !name.contains('*')) {
        return Err(template_missing(name.unwrap_or_default()));
    }
    Ok(Reply::json(200, &json!({"index_templates": found})))
}

fn template_missing(name: &str) -> EsError {
    EsError {
        status: 404,
        kind: "resource_not_found_exception",
        reason: format!(
            "index template matching [{name}] not found: run `records setup` to create the types' templates"
        ),
    }
}

/// `HEAD _index_template/{name}`.
pub(crate) async fn template_exists(server: &Server, name: &str) -> Result<Reply, EsError> {
    let found = server.backend.get_template(name).await?.is_some();
    Ok(Reply::empty(if found { 200 } else { 404 }))
}

/// `PUT _index_template/{name}`: stored as the engine stores templates
/// (`records check` reports one that differs from its type's).
pub(crate) async fn put_template(
    server: &Server,
    call: &Call<'_>,
    name: &str,
) -> Result<Reply, EsError> {
    let body = call.json_body()?;
    if !body["index_patterns"].is_array() && !body["index_patterns"].is_string() {
        return Err(EsError::illegal("an index template needs [index_patterns]"));
    }
    server.backend.put_template(name, &body).await?;
    Ok(Reply::json(200, &json!({"acknowledged": true})))
}

/// `_cat/indices[/{index}]`: a table (`?v` for a header), or JSON with
/// `?format=json`.
pub(crate) async fn cat(
    server: &Server,
    call: &Call<'_>,
    index: Option<&str>,
) -> Result<Reply, EsError> {
    let rows: Vec<Value> = server
        .indices(index)
        .await?
        .iter()
        .map(|info| {
            json!({
                "health": "green", "status": "open", "index": info.name, "uuid": info.name,
                "pri": "1", "rep": "0", "docs.count": info.docs.to_string(), "docs.deleted": "0",
                "store.size": format!("{}b", info.bytes), "pri.store.size": format!("{}b", info.bytes),
            })
        })
        .collect();
    if call.param("format") == Some("json") {
        return Ok(Reply::json(200, &Value::Array(rows)));
    }
    let columns = [
        "health",
        "status",
        "index",
        "uuid",
        "pri",
        "rep",
        "docs.count",
        "docs.deleted",
        "store.size",
        "pri.store.size",
    ];
    let mut text = String::new();
    if call.flag("v") {
        text.push_str(&columns.join(" "));
        text.push('\n');
    }
    for row in &rows {
        let cells: Vec<&str> = columns
            .iter()
            .map(|c| row[*c].as_str().unwrap_or(""))
            .collect();
        text.push_str(&cells.join(" "));
        text.push('\n');
    }
    Ok(Reply::text(text))
}

/// `_refresh`: everything written so far made searchable.
pub(crate) async fn refresh(server: &Server) -> Result<Reply, EsError> {
    server.store.flush().await?;
    Ok(Reply::json(
        200,
        &json!({"_shards": {"total": 1, "successful": 1, "failed": 0}}),
    ))
}

/// Refuses what Elasticsearch refuses to delete by default
/// (`action.destructive_requires_name`): wildcards and `_all`.
fn named_only(index: &str) -> Result<Vec<&str>, EsError> {
    let names: Vec<&str> = index.split(',').filter(|n| !n.is_empty()).collect();
    if names.iter().any(|n| n.contains('*') || *n == "_all") {
        return Err(EsError::illegal(
            "wildcard expressions or all indices are not allowed: name each index to delete (records indexes lists them)",
        ));
    }
    Ok(names)
}

/// `DELETE {index}`: the named indexes, each of which must be there.
pub(crate) async fn delete(server: &Server, index: &str) -> Result<Reply, EsError> {
    let names = named_only(index)?;
    for name in &names {
        if server.backend.indices(name).await?.is_empty() {
            return Err(EsError::index_not_found(name));
        }
    }
    for name in names {
        server.backend.delete_index(name).await?;
    }
    Ok(Reply::json(200, &json!({"acknowledged": true})))
}

/// `HEAD {index}`: 200 when every named index (or pattern) is there.
pub(crate) async fn exists(server: &Server, index: &str) -> Result<Reply, EsError> {
    Ok(Reply::empty(
        match server.existing_patterns(Some(index), false).await {
            Ok(_) => 200,
            Err(error) if error.status == 404 => 404,
            Err(error) => return Err(error),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_are_dotted_paths_with_their_types() {
        let properties = json!({
            "path": {"type": "keyword"},
            "latency": {"properties": {"p99_ms": {"type": "double"}}},
            "tags": {"type": "flattened"},
        });
        let mut leaves = Vec::new();
        leaf_types("", &properties, &mut leaves);
        leaves.sort();
        assert_eq!(
            leaves,
            [
                ("latency.p99_ms".to_owned(), "double".to_owned()),
                ("path".to_owned(), "keyword".to_owned()),
                ("tags".to_owned(), "flattened".to_owned()),
            ]
        );
    }

    #[test]
    fn deleting_by_wildcard_is_refused() {
        assert!(named_only("shop_pageview_*").is_err());
        assert!(named_only("_all").is_err());
        assert_eq!(named_only("a,b").ok(), Some(vec!["a", "b"]));
    }
}
