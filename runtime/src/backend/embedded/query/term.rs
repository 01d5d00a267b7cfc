//! The term-level clauses `term`, `terms` and `ids`, and equality on
//! every field kind (which `match` on a field that is not text uses too).

use std::ops::Bound;

use serde_json::{Map, Value};
use tantivy::Term;
use tantivy::query::{BooleanQuery, EmptyQuery, Occur, Query, RangeQuery, TermQuery, TermSetQuery};
use tantivy::schema::IndexRecordOption;

use super::range::range;
use super::{bad, resolve, single_field, with_boost};
use crate::backend::embedded::schema::{FieldKind, PartitionSchema, Resolved};
use crate::backend::embedded::values;
use crate::error::{Error, Result};

/// `term`: `{"f": v}` or `{"f": {"value": v, "boost": b}}`.
pub(super) fn term_query(
    body: &Map<String, Value>,
    schema: &PartitionSchema,
) -> Result<Box<dyn Query>> {
    let (path, spec) = single_field("term", body, &[])?;
    let (value, options) = match spec {
        Value::Object(options) => {
            let value = options
                .get("value")
                .ok_or_else(|| bad(format!("`term` on `{path}` has no `value`")))?;
            (value, Some(options))
        }
        value => (value, None),
    };
    let query = match resolve(schema, path) {
        Some(resolved) => equality(schema, &resolved, value)?,
        None => Box::new(EmptyQuery),
    };
    match options {
        Some(options) => with_boost("term", options, &["value"], query),
        None => Ok(query),
    }
}

/// `terms`: `{"f": [v, ...], "boost": b}`, matching any of the values.
pub(super) fn terms_query(
    body: &Map<String, Value>,
    schema: &PartitionSchema,
) -> Result<Box<dyn Query>> {
    let (path, values) = single_field("terms", body, &["boost"])?;
    let Value::Array(values) = values else {
        return Err(Error::Unsupported {
            what: format!("`terms` on `{path}` with {values} (terms lookup)"),
            hint: "give the values as an array, e.g. {\"terms\": {\"field\": [\"a\", \"b\"]}}",
        });
    };
    let query: Box<dyn Query> = match resolve(schema, path) {
        Some(resolved) => any_of(schema, &resolved, values)?,
        None => Box::new(EmptyQuery),
    };
    with_boost("terms", body, &[path], query)
}

/// Documents whose field holds any of `values`.
fn any_of(
    schema: &PartitionSchema,
    resolved: &Resolved<'_>,
    values: &[Value],
) -> Result<Box<dyn Query>> {
    let mut terms = Vec::new();
    let mut others: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for value in values {
        match equality_term(resolved, value)? {
            Some(Equality::Term(term)) => terms.push(term),
            Some(Equality::Other) => {
                others.push((Occur::Should, equality(schema, resolved, value)?))
            }
            None => {}
        }
    }
    if !terms.is_empty() {
        others.push((Occur::Should, Box::new(TermSetQuery::new(terms))));
    }
    Ok(Box::new(BooleanQuery::with_minimum_required_clauses(
        others, 1,
    )))
}

/// How a value is matched for equality on a field.
enum Equality {
    /// One indexed term.
    Term(Term),
    /// A range (dates, doubles, IP prefixes): see [`equality`].
    Other,
}

/// The term for `value` on the field, or `Other` when equality needs a
/// range; `None` when no document can hold the value (1.5 on a `long`).
fn equality_term(resolved: &Resolved<'_>, value: &Value) -> Result<Option<Equality>> {
    if matches!(resolved.kind, FieldKind::Date(_) | FieldKind::F64)
        || (resolved.kind == FieldKind::Ip && values::ip_prefix(resolved.path, value)?.is_some())
    {
        return Ok(Some(Equality::Other));
    }
    Ok(values::term_or_none(resolved, value)?.map(Equality::Term))
}

/// Documents whose field equals `value`, as Elasticsearch's `term` on that
/// field type: dates compare at the field's precision and doubles by value,
/// as one-value ranges over their columns (they have no terms); IP prefixes
/// match their addresses; text fields look for the exact token.
pub(super) fn equality(
    schema: &PartitionSchema,
    resolved: &Resolved<'_>,
    value: &Value,
) -> Result<Box<dyn Query>> {
    if resolved.kind == FieldKind::Ip
        && let Some((low, high)) = values::ip_prefix(resolved.path, value)?
    {
        let (low, high) = (
            Term::from_field_ip_addr(resolved.field, low),
            Term::from_field_ip_addr(resolved.field, high),
        );
        return Ok(Box::new(RangeQuery::new(
            Bound::Included(low),
            Bound::Included(high),
        )));
    }
    if matches!(resolved.kind, FieldKind::Date(_) | FieldKind::F64) {
        return range(schema, resolved, Some((value, true)), Some((value, true)));
    }
    let record = if resolved.kind == FieldKind::Text {
        IndexRecordOption::WithFreqs
    } else {
        IndexRecordOption::Basic
    };
    Ok(match values::term_or_none(resolved, value)? {
        Some(term) => Box::new(TermQuery::new(term, record)),
        None => Box::new(EmptyQuery),
    })
}

/// `ids`: `{"values": ["a", "b"]}`, on `_id`.
pub(super) fn ids_query(
    body: &Map<String, Value>,
    schema: &PartitionSchema,
) -> Result<Box<dyn Query>> {
    let Some(Value::Array(ids)) = body.get("values") else {
        return Err(bad(
            "`ids` needs `values`, an array of document ids: {\"ids\": {\"values\": [\"a\"]}}"
                .to_owned(),
        ));
    };
    let terms = ids
        .iter()
        .map(|id| match id {
            Value::String(id) => Ok(Term::from_field_text(schema.id, id)),
            Value::Number(id) => Ok(Term::from_field_text(schema.id, &id.to_string())),
            other => Err(bad(format!(
                "`ids.values` holds document ids (strings), found {other}"
            ))),
        })
        .collect::<Result<Vec<_>>>()?;
    with_boost("ids", body, &["values"], Box::new(TermSetQuery::new(terms)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;

    use super::super::tests::Fixture;

    #[test]
    fn term_on_every_type() {
        let f = Fixture::new();
        assert_eq!(f.ids(json!({"term": {"path": "/home"}})), ["1", "3", "5"]);
        assert_eq!(
            f.ids(json!({"term": {"path": {"value": "/cart", "boost": 2.0}}})),
            ["2"]
        );
        assert_eq!(f.count(json!({"term": {"path": "/HOME"}})), 0);
        assert_eq!(f.ids(json!({"term": {"status": 200}})), ["1", "4"]);
        assert_eq!(f.ids(json!({"term": {"status": "404"}})), ["2"]);
        assert_eq!(f.count(json!({"term": {"status": 200.5}})), 0);
        assert_eq!(f.ids(json!({"term": {"bytes": 20}})), ["2"]);
        assert_eq!(f.ids(json!({"term": {"latency.p99_ms": 12.5}})), ["1"]);
        assert_eq!(f.ids(json!({"term": {"cached": false}})), ["2"]);
        assert_eq!(f.ids(json!({"term": {"client.ip": "10.0.0.1"}})), ["1"]);
        assert_eq!(
            f.ids(json!({"term": {"client.ip": "10.0.0.0/16"}})),
            ["1", "2"]
        );
        assert_eq!(
            f.ids(json!({"term": {"client.ip": "2001:db8::/32"}})),
            ["3"]
        );
        assert_eq!(
            f.ids(json!({"term": {"timestamp": "2024-05-01T10:00:00.500Z"}})),
            ["2"]
        );
        assert_eq!(
            f.ids(json!({"term": {"timestamp": "2024-05-01T12:00:00Z"}})),
            ["4"]
        );
        assert_eq!(
            f.ids(json!({"term": {"timestamp": 1_714_557_600_000_i64}})),
            ["1"]
        );
        assert_eq!(f.ids(json!({"term": {"message": "brown"}})), ["1", "2"]);
        assert_eq!(f.count(json!({"term": {"message": "Quick"}})), 0);
        assert_eq!(f.ids(json!({"term": {"_id": "4"}})), ["4"]);
    }

    #[test]
    fn flattened_keys_match_only_their_own_values() {
        let f = Fixture::new();
        assert_eq!(f.ids(json!({"term": {"tags.platform": "ios"}})), ["1"]);
        assert_eq!(f.ids(json!({"term": {"tags.channel": "ios"}})), ["2"]);
        assert_eq!(
            f.ids(json!({"terms": {"tags.platform": ["ios", "web"]}})),
            ["1", "3"]
        );
        assert_eq!(f.count(json!({"term": {"tags.nope": "ios"}})), 0);
        assert_eq!(f.ids(json!({"match": {"tags.platform": "android"}})), ["2"]);
        assert_eq!(
            f.ids(json!({"range": {"tags.platform": {"gte": "b", "lt": "j"}}})),
            ["1"]
        );
        assert_eq!(
            f.ids(json!({"exists": {"field": "tags.channel"}})),
            ["1", "2"]
        );
        assert_eq!(f.ids(json!({"exists": {"field": "tags"}})), ["1", "2", "3"]);
        assert!(
            f.error(json!({"term": {"tags": "ios"}}))
                .contains("whole object field `tags`")
        );
    }

    #[test]
    fn numeric_map_keys() {
        let f = Fixture::new();
        assert_eq!(f.ids(json!({"term": {"counters.hits": 15}})), ["2"]);
        assert_eq!(f.ids(json!({"term": {"counters.hits": "5"}})), ["1"]);
        assert_eq!(f.count(json!({"term": {"counters.hits": 5.5}})), 0);
        assert_eq!(f.ids(json!({"range": {"counters.hits": {"gt": 5}}})), ["2"]);
        assert_eq!(
            f.ids(json!({"range": {"counters.hits": {"gte": 5, "lte": 15}}})),
            ["1", "2"]
        );
        assert_eq!(
            f.ids(json!({"range": {"counters.hits": {"gt": 4.5, "lt": 14.9}}})),
            ["1"]
        );
        assert_eq!(
            f.ids(json!({"exists": {"field": "counters.misses"}})),
            ["2"]
        );
        assert_eq!(f.ids(json!({"exists": {"field": "counters"}})), ["1", "2"]);
        assert_eq!(
            f.ids(json!({"terms": {"counters.hits": [5, 15, 99]}})),
            ["1", "2"]
        );
    }

    #[test]
    fn terms_and_ids() {
        let f = Fixture::new();
        assert_eq!(
            f.ids(json!({"terms": {"path": ["/cart", "/about"]}})),
            ["2", "4"]
        );
        assert_eq!(
            f.ids(json!({"terms": {"status": [404, "500"], "boost": 1.5}})),
            ["2", "3"]
        );
        assert_eq!(
            f.ids(json!({"terms": {"timestamp": ["2024-05-01T11:00:00Z", 1_714_557_600_500_i64]}})),
            ["2", "3"]
        );
        assert_eq!(
            f.ids(json!({"terms": {"client.ip": ["10.0.1.0/24", "2001:db8::1"]}})),
            ["2", "3"]
        );
        assert_eq!(f.count(json!({"terms": {"path": []}})), 0);
        assert_eq!(
            f.ids(json!({"ids": {"values": ["1", "5", "nope"]}})),
            ["1", "5"]
        );
        assert_eq!(f.count(json!({"ids": {"values": []}})), 0);
        assert!(
            f.error(json!({"terms": {"path": {"index": "x", "id": "1", "path": "p"}}}))
                .contains("terms lookup")
        );
        assert!(
            f.error(json!({"ids": {"values": "1"}}))
                .contains("`values`")
        );
    }
}
