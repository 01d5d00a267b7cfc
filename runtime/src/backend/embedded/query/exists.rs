//! `exists`: documents with a value in a field, or in any field below a
//! mapped object.

use std::ops::Bound;

use serde_json::{Map, Value};
use tantivy::Term;
use tantivy::query::{
    BooleanQuery, EmptyQuery, ExistsQuery, InvertedIndexRangeQuery, Occur, Query,
};

use super::{bad, resolve, with_boost};
use crate::backend::embedded::schema::{FieldKind, PartitionSchema, Resolved};
use crate::error::Result;

/// `exists`: `{"field": "f"}`. On a mapped object, any field below it.
pub(super) fn exists_query(
    body: &Map<String, Value>,
    schema: &PartitionSchema,
) -> Result<Box<dyn Query>> {
    let Some(Value::String(path)) = body.get("field") else {
        return Err(bad(
            "`exists` needs `field`, a field name: {\"exists\": {\"field\": \"user.id\"}}"
                .to_owned(),
        ));
    };
    let query = match resolve(schema, path) {
        Some(resolved) => exists(schema, &resolved),
        None => exists_below(schema, path),
    };
    with_boost("exists", body, &["field"], query)
}

/// Documents with at least one value in the field. Text fields have no
/// fast column, so their terms are scanned instead.
pub(super) fn exists(schema: &PartitionSchema, resolved: &Resolved<'_>) -> Box<dyn Query> {
    match resolved.kind {
        FieldKind::Text => Box::new(InvertedIndexRangeQuery::new(
            Bound::Included(Term::from_field_text(resolved.field, "")),
            Bound::Unbounded,
        )),
        // A flattened key exists only as itself; an object key also through keys below it.
        FieldKind::Flattened => Box::new(ExistsQuery::new(
            resolved.path.to_owned(),
            resolved.json_path.is_empty(),
        )),
        FieldKind::DynamicObject(_) => Box::new(ExistsQuery::new(resolved.path.to_owned(), true)),
        _ => Box::new(ExistsQuery::new(
            schema.schema.get_field_name(resolved.field).to_owned(),
            false,
        )),
    }
}

/// `exists` on a mapped object: any of its fields. Nothing when unmapped.
fn exists_below(schema: &PartitionSchema, path: &str) -> Box<dyn Query> {
    let prefix = format!("{path}.");
    let below: Vec<(Occur, Box<dyn Query>)> = schema
        .fields
        .range(prefix.clone()..)
        .take_while(|(name, _)| name.starts_with(&prefix))
        .filter_map(|(name, _)| schema.resolve(name))
        .map(|resolved| (Occur::Should, exists(schema, &resolved)))
        .collect();
    if below.is_empty() {
        return Box::new(EmptyQuery);
    }
    Box::new(BooleanQuery::with_minimum_required_clauses(below, 1))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;

    use super::super::tests::Fixture;

    #[test]
    fn exists_on_every_kind() {
        let f = Fixture::new();
        assert_eq!(
            f.ids(json!({"exists": {"field": "status"}})),
            ["1", "2", "3", "4"]
        );
        assert_eq!(
            f.ids(json!({"exists": {"field": "message"}})),
            ["1", "2", "3"]
        );
        assert_eq!(
            f.ids(json!({"exists": {"field": "latency.p99_ms"}})),
            ["1", "2"]
        );
        assert_eq!(f.ids(json!({"exists": {"field": "latency"}})), ["1", "2"]);
        assert_eq!(
            f.ids(json!({"exists": {"field": "client.ip"}})),
            ["1", "2", "3"]
        );
        assert_eq!(
            f.ids(json!({"exists": {"field": "timestamp"}})),
            ["1", "2", "3", "4"]
        );
        assert_eq!(f.count(json!({"exists": {"field": "nope"}})), 0);
        assert!(
            f.error(json!({"exists": {"fields": "x"}}))
                .contains("`field`")
        );
    }
}
