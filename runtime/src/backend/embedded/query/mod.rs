//! Elasticsearch's query DSL, translated to a tantivy query for one
//! partition (field ids differ between partitions, so each partition builds
//! its own).
//!
//! The clauses and options supported are listed on the public
//! [`EmbeddedBackend`](super::EmbeddedBackend). A field the partition does
//! not map matches nothing, as an unmapped field does in Elasticsearch. Any
//! other clause, and any option of a supported clause that is not
//! implemented, is an [`Error::Unsupported`] naming it: a query is never
//! silently widened.
//!
//! - `mod.rs`: the clause dispatch, and what every clause shares (options,
//!   `boost`, field references);
//! - `boolean.rs`: `bool` and `minimum_should_match`;
//! - `term.rs`: the term-level clauses `term`, `terms` and `ids`, and
//!   equality on every field kind;
//! - `range.rs`: `range`;
//! - `exists.rs`: `exists`;
//! - `full_text.rs`: `match`, analysed with the field's tokenizer.

use serde_json::{Map, Value};
use tantivy::query::{AllQuery, BoostQuery, EmptyQuery, Query};

use self::boolean::bool_query;
use self::exists::exists_query;
use self::full_text::match_query;
use self::range::range_query;
use self::term::{ids_query, term_query, terms_query};
use super::schema::{FieldKind, ID_FIELD, PartitionSchema, Resolved};
use crate::error::{Error, Result};

mod boolean;
mod exists;
mod full_text;
mod range;
mod term;

/// What to do about an unsupported clause.
const CLAUSE_HINT: &str = "the embedded engine supports match_all, match_none, bool, term, terms, range, exists, match and ids; rewrite the query with those, or run it on Elasticsearch";

/// What to do about an unsupported option of a supported clause.
const OPTION_HINT: &str =
    "remove the option (the supported ones are listed), or run the query on Elasticsearch";

/// Translates the query DSL `query` (the `query` of a search body) for a
/// partition with `schema`. Null or `{}` matches every document.
pub(crate) fn build_query(query: &Value, schema: &PartitionSchema) -> Result<Box<dyn Query>> {
    match query {
        Value::Null => Ok(Box::new(AllQuery)),
        Value::Object(object) if object.is_empty() => Ok(Box::new(AllQuery)),
        _ => clause(query, schema),
    }
}

/// One clause: an object with a single key naming its type.
fn clause(query: &Value, schema: &PartitionSchema) -> Result<Box<dyn Query>> {
    let object = query.as_object().ok_or_else(|| {
        bad(format!(
            "a query clause must be an object such as {{\"match_all\": {{}}}}, found {query}"
        ))
    })?;
    let mut entries = object.iter();
    let (Some((name, body)), None) = (entries.next(), entries.next()) else {
        return Err(bad(format!(
            "a query clause must have exactly one key, the clause type, found {} keys; combine clauses with `bool`",
            object.len()
        )));
    };
    let body = body.as_object().ok_or_else(|| {
        bad(format!(
            "the body of query clause `{name}` must be an object, found {body}"
        ))
    })?;
    match name.as_str() {
        "match_all" => with_boost(name, body, &[], Box::new(AllQuery)),
        "match_none" => with_boost(name, body, &[], Box::new(EmptyQuery)),
        "bool" => bool_query(body, schema),
        "term" => term_query(body, schema),
        "terms" => terms_query(body, schema),
        "range" => range_query(body, schema),
        "exists" => exists_query(body, schema),
        "match" => match_query(body, schema),
        "ids" => ids_query(body, schema),
        other => Err(Error::Unsupported {
            what: format!("query clause `{other}`"),
            hint: CLAUSE_HINT,
        }),
    }
}

/// A malformed query.
fn bad(message: String) -> Error {
    Error::BadRequest(message)
}

/// Rejects keys of `options` other than `allowed` (and `boost`).
fn check_options(clause: &str, options: &Map<String, Value>, allowed: &[&str]) -> Result<()> {
    match options
        .keys()
        .find(|key| *key != "boost" && !allowed.contains(&key.as_str()))
    {
        None => Ok(()),
        Some(key) => Err(Error::Unsupported {
            what: format!(
                "option `{key}` of query clause `{clause}` (supported: {})",
                [allowed, &["boost"]].concat().join(", ")
            ),
            hint: OPTION_HINT,
        }),
    }
}

/// Checks the options, then applies `boost` if there is one.
fn with_boost(
    clause: &str,
    options: &Map<String, Value>,
    allowed: &[&str],
    query: Box<dyn Query>,
) -> Result<Box<dyn Query>> {
    check_options(clause, options, allowed)?;
    match options.get("boost") {
        None => Ok(query),
        Some(Value::Number(number)) => match number.as_f64() {
            Some(1.0) => Ok(query),
            Some(boost) if boost >= 0.0 => Ok(Box::new(BoostQuery::new(query, boost as f32))),
            _ => Err(bad(format!(
                "`boost` of `{clause}` must be a non-negative number, found {number}"
            ))),
        },
        Some(other) => Err(bad(format!(
            "`boost` of `{clause}` must be a number, found {other}"
        ))),
    }
}

/// A field reference resolved against the partition, including `_id`;
/// `None` when this partition does not map it.
fn resolve<'a>(schema: &PartitionSchema, path: &'a str) -> Option<Resolved<'a>> {
    if path == ID_FIELD {
        return Some(Resolved {
            field: schema.id,
            kind: FieldKind::Keyword,
            json_path: "",
            path,
        });
    }
    schema.resolve(path)
}

/// The single field of a field-keyed clause (`{"term": {"f": ...}}`),
/// ignoring the keys in `siblings` (`boost` of `terms`).
fn single_field<'b>(
    clause: &str,
    body: &'b Map<String, Value>,
    siblings: &[&str],
) -> Result<(&'b str, &'b Value)> {
    let mut fields = body
        .iter()
        .filter(|(key, _)| !siblings.contains(&key.as_str()));
    match (fields.next(), fields.next()) {
        (Some((field, value)), None) => Ok((field, value)),
        (None, _) => Err(bad(format!(
            "query clause `{clause}` names no field; write {{\"{clause}\": {{\"field\": ...}}}}"
        ))),
        (Some(_), Some(_)) => Err(bad(format!(
            "query clause `{clause}` names more than one field; use one `{clause}` per field inside a `bool`"
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    //! The documents the query tests search, and the fixture that runs
    //! queries over them.

    use serde_json::json;
    use tantivy::collector::{Count, TopDocs};
    use tantivy::schema::Value as _;
    use tantivy::{Searcher, TantivyDocument};

    use super::*;
    use crate::backend::embedded::test_schema::{schema, searcher};

    /// Five documents, ids "1" to "5".
    pub(super) fn docs() -> Vec<(&'static str, Value)> {
        vec![
            (
                "1",
                json!({"timestamp": "2024-05-01T10:00:00.000Z", "path": "/home", "message": "Quick brown fox",
                         "status": 200, "bytes": 1000, "latency": {"p99_ms": 12.5}, "cached": true,
                         "client": {"ip": "10.0.0.1"}, "tags": {"platform": "ios", "channel": "beta"},
                         "counters": {"hits": 5}}),
            ),
            (
                "2",
                json!({"timestamp": "2024-05-01T10:00:00.500Z", "path": "/cart", "message": "lazy brown dog",
                         "status": 404, "bytes": 20, "latency": {"p99_ms": 80.0}, "cached": false,
                         "client": {"ip": "10.0.1.7"}, "tags": {"platform": "android", "channel": "ios"},
                         "counters": {"hits": 15, "misses": 2}}),
            ),
            (
                "3",
                json!({"timestamp": "2024-05-01T11:00:00Z", "path": "/home", "message": "the quick dog",
                         "status": 500, "client": {"ip": "2001:db8::1"}, "tags": {"platform": "web"}}),
            ),
            (
                "4",
                json!({"timestamp": 1_714_564_800_000_i64, "path": "/about", "status": 200}),
            ),
            ("5", json!({"path": "/home"})),
        ]
    }

    pub(super) struct Fixture {
        pub(super) schema: PartitionSchema,
        pub(super) searcher: Searcher,
    }

    impl Fixture {
        pub(super) fn new() -> Self {
            let schema = schema(true);
            let searcher = searcher(&schema, &docs());
            Fixture { schema, searcher }
        }

        pub(super) fn count(&self, query: Value) -> usize {
            let built =
                build_query(&query, &self.schema).unwrap_or_else(|e| panic!("{query}: {e}"));
            self.searcher
                .search(&built, &Count)
                .unwrap_or_else(|e| panic!("{query}: {e}"))
        }

        /// The ids of the matching documents, sorted.
        pub(super) fn ids(&self, query: Value) -> Vec<String> {
            let built = build_query(&query, &self.schema).unwrap();
            let hits = self
                .searcher
                .search(&built, &TopDocs::with_limit(100).order_by_score())
                .unwrap();
            let mut ids: Vec<String> = hits
                .into_iter()
                .map(|(_, address)| {
                    let doc: TantivyDocument = self.searcher.doc(address).unwrap();
                    let source = doc
                        .get_first(self.schema.source)
                        .and_then(|v| v.as_bytes())
                        .unwrap();
                    let source: Value = serde_json::from_slice(source).unwrap();
                    docs()
                        .into_iter()
                        .find(|(_, d)| *d == source)
                        .unwrap()
                        .0
                        .to_owned()
                })
                .collect();
            ids.sort();
            ids
        }

        pub(super) fn error(&self, query: Value) -> String {
            match build_query(&query, &self.schema) {
                Ok(_) => panic!("{query} should be rejected"),
                Err(error) => error.to_string(),
            }
        }
    }

    #[test]
    fn match_all_and_empty_queries() {
        let f = Fixture::new();
        assert_eq!(f.count(Value::Null), 5);
        assert_eq!(f.count(json!({})), 5);
        assert_eq!(f.count(json!({"match_all": {}})), 5);
        assert_eq!(f.count(json!({"match_all": {"boost": 2}})), 5);
        assert_eq!(f.count(json!({"match_none": {}})), 0);
        assert_eq!(f.count(json!({"bool": {}})), 5);
    }

    #[test]
    fn unmapped_fields_match_nothing() {
        let f = Fixture::new();
        for query in [
            json!({"term": {"nope": "x"}}),
            json!({"terms": {"nope": ["x"]}}),
            json!({"range": {"nope": {"gte": 1}}}),
            json!({"match": {"nope": "x"}}),
            json!({"exists": {"field": "nope"}}),
            json!({"term": {"latency": 1}}),
        ] {
            assert_eq!(f.count(query.clone()), 0, "{query}");
        }
        assert_eq!(
            f.count(json!({"bool": {"must_not": {"term": {"nope": "x"}}}})),
            5
        );
    }

    #[test]
    fn hostile_inputs_give_errors_not_panics() {
        let f = Fixture::new();
        let deep = (0..100).fold(
            json!({"match_all": {}}),
            |inner, _| json!({"bool": {"must": inner}}),
        );
        let queries = [
            deep,
            json!({"term": {"tags.a\u{0}b": "x"}}),
            json!({"range": {"tags.a\u{1}b": {"gte": "x"}}}),
            json!({"exists": {"field": "tags.a\u{0}b"}}),
            json!({"exists": {"field": "tags."}}),
            json!({"exists": {"field": ""}}),
            json!({"term": {"": "x"}}),
            json!({"range": {"counters.hits": {"gte": 1e300, "lte": -1e300}}}),
            json!({"range": {"counters.hits": {"gte": "18446744073709551615"}}}),
            json!({"range": {"bytes": {"gte": 18_446_744_073_709_551_615_u64}}}),
            json!({"range": {"timestamp": {"gte": i64::MIN, "lte": i64::MAX}}}),
            json!({"range": {"timestamp": {"gte": "-9999-01-01T00:00:00Z"}}}),
            json!({"term": {"timestamp": u64::MAX}}),
            json!({"term": {"latency.p99_ms": "1e999"}}),
            json!({"bool": {"should": [{"match_all": {}}], "minimum_should_match": i64::MIN}}),
            json!({"bool": {"should": [{"match_all": {}}], "minimum_should_match": "-1000%"}}),
            json!({"match": {"message": {"query": "a b", "minimum_should_match": u64::MAX}}}),
            json!({"ids": {"values": [null]}}),
            json!({"terms": {"client.ip": ["::/0", "1.2.3.4/99"]}}),
        ];
        for query in queries {
            if let Ok(built) = build_query(&query, &f.schema) {
                let _ = f.searcher.search(&built, &Count);
            }
        }
    }

    #[test]
    fn unsupported_and_malformed_clauses_are_named() {
        let f = Fixture::new();
        for clause in [
            "wildcard",
            "query_string",
            "nested",
            "geo_distance",
            "prefix",
        ] {
            let error = f.error(json!({clause: {"path": "/h*"}}));
            assert!(
                error.contains(&format!("query clause `{clause}`"))
                    && error.contains("not supported"),
                "{error}"
            );
        }
        let error = f.error(json!({"bool": {"filter": [{"wildcard": {"path": "*"}}]}}));
        assert!(error.contains("query clause `wildcard`"), "{error}");
        assert!(
            f.error(json!({"term": {"path": "/", "status": 1}}))
                .contains("more than one field")
        );
        assert!(
            f.error(json!({"term": {"path": {"value": "/", "case_insensitive": true}}}))
                .contains("case_insensitive")
        );
        assert!(
            f.error(json!({"term": {"status": "abc"}}))
                .contains("[status]")
        );
        assert!(
            f.error(json!({"term": {"path": "/"}, "match_all": {}}))
                .contains("exactly one key")
        );
        assert!(
            f.error(json!({"match_all": {"boost": "high"}}))
                .contains("boost")
        );
        assert!(f.error(json!("match_all")).contains("must be an object"));
        assert!(
            f.error(json!({"match_all": []}))
                .contains("must be an object")
        );
    }
}
