//! `match`: on a text field, the query text analysed with the field's
//! tokenizer and its terms OR-ed (or AND-ed); on other fields, equality.

use serde_json::{Map, Value};
use tantivy::Term;
use tantivy::query::{BooleanQuery, EmptyQuery, Occur, Query, TermQuery};
use tantivy::schema::{FieldType, IndexRecordOption};
use tantivy::tokenizer::{TokenStream, TokenizerManager};

use super::boolean::minimum_should_match;
use super::term::equality;
use super::{bad, check_options, resolve, single_field, with_boost};
use crate::backend::embedded::schema::{FieldKind, PartitionSchema, Resolved};
use crate::error::{Error, Result};

/// `match`: `{"f": "text"}` or `{"f": {"query": ..., "operator": "and",
/// "minimum_should_match": ..., "boost": ...}}`. On text fields the query is
/// analysed with the field's tokenizer and its terms are OR-ed (or AND-ed);
/// on other fields it is a `term`.
pub(super) fn match_query(
    body: &Map<String, Value>,
    schema: &PartitionSchema,
) -> Result<Box<dyn Query>> {
    let (path, spec) = single_field("match", body, &[])?;
    let allowed = ["query", "operator", "minimum_should_match"];
    let (text, options) = match spec {
        Value::Object(options) => {
            check_options("match", options, &allowed)?;
            let text = options
                .get("query")
                .ok_or_else(|| bad(format!("`match` on `{path}` has no `query`")))?;
            (text, Some(options))
        }
        text => (text, None),
    };
    let all = match options
        .and_then(|options| options.get("operator"))
        .map(|op| op.as_str().map(str::to_ascii_lowercase))
    {
        None => false,
        Some(Some(op)) if op == "or" => false,
        Some(Some(op)) if op == "and" => true,
        Some(op) => {
            return Err(bad(format!(
                "`match` operator must be \"or\" or \"and\", found {op:?}"
            )));
        }
    };
    let minimum = options.and_then(|options| options.get("minimum_should_match"));
    let query = match resolve(schema, path) {
        Some(resolved) if resolved.kind == FieldKind::Text => {
            text_match(schema, &resolved, text, all, minimum)?
        }
        Some(resolved) => equality(schema, &resolved, text)?,
        None => Box::new(EmptyQuery),
    };
    match options {
        Some(options) => with_boost("match", options, &allowed, query),
        None => Ok(query),
    }
}

/// An analysed match on a text field; no tokens match nothing
/// (Elasticsearch's default `zero_terms_query`).
fn text_match(
    schema: &PartitionSchema,
    resolved: &Resolved<'_>,
    text: &Value,
    all: bool,
    minimum: Option<&Value>,
) -> Result<Box<dyn Query>> {
    let text = match text {
        Value::String(text) => text.clone(),
        Value::Number(_) | Value::Bool(_) => text.to_string(),
        other => {
            return Err(bad(format!(
                "`match` on `{}` takes a string, found {other}",
                resolved.path
            )));
        }
    };
    let tokens = analyse(schema, resolved, &text)?;
    if tokens.is_empty() {
        return Ok(Box::new(EmptyQuery));
    }
    let occur = if all { Occur::Must } else { Occur::Should };
    let count = tokens.len();
    let clauses: Vec<(Occur, Box<dyn Query>)> = tokens
        .into_iter()
        .map(|token| {
            let term = Term::from_field_text(resolved.field, &token);
            (
                occur,
                Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)) as Box<dyn Query>,
            )
        })
        .collect();
    let minimum = match minimum {
        Some(spec) if !all => minimum_should_match(spec, count)?.max(1),
        _ => usize::from(!all),
    };
    Ok(Box::new(BooleanQuery::with_minimum_required_clauses(
        clauses, minimum,
    )))
}

/// The tokens of `text` under the text field's tokenizer.
fn analyse(schema: &PartitionSchema, resolved: &Resolved<'_>, text: &str) -> Result<Vec<String>> {
    let name = match schema.schema.get_field_entry(resolved.field).field_type() {
        FieldType::Str(options) => options
            .get_indexing_options()
            .map_or("default", |indexing| indexing.tokenizer()),
        _ => "default",
    };
    let mut analyzer = TokenizerManager::default().get(name).ok_or_else(|| {
        Error::Engine(format!(
            "field `{}` uses tokenizer `{name}`, which the engine does not know",
            resolved.path
        ))
    })?;
    let mut stream = analyzer.token_stream(text);
    let mut tokens = Vec::new();
    while stream.advance() {
        tokens.push(stream.token().text.clone());
    }
    Ok(tokens)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;
    use tantivy::collector::TopDocs;

    use super::super::build_query;
    use super::super::tests::Fixture;

    #[test]
    fn match_on_text_and_other_fields() {
        let f = Fixture::new();
        assert_eq!(
            f.ids(json!({"match": {"message": "QUICK dog"}})),
            ["1", "2", "3"]
        );
        assert_eq!(
            f.ids(json!({"match": {"message": {"query": "quick dog", "operator": "and"}}})),
            ["3"]
        );
        assert_eq!(f.ids(json!({"match": {"message": {"query": "quick brown dog", "minimum_should_match": 2}}})), ["1", "2", "3"]);
        assert_eq!(f.ids(json!({"match": {"message": {"query": "quick lazy fox", "minimum_should_match": "67%"}}})), ["1"]);
        assert_eq!(f.count(json!({"match": {"message": "cat"}})), 0);
        assert_eq!(f.count(json!({"match": {"message": "  ,; "}})), 0);
        assert_eq!(f.ids(json!({"match": {"path": "/cart"}})), ["2"]);
        assert_eq!(f.ids(json!({"match": {"status": "500"}})), ["3"]);
        assert_eq!(
            f.ids(json!({"match": {"timestamp": "2024-05-01T11:00:00Z"}})),
            ["3"]
        );
        let error = f.error(json!({"match": {"message": {"query": "fox", "fuzziness": "AUTO"}}}));
        assert!(
            error.contains("option `fuzziness` of query clause `match`"),
            "{error}"
        );
        assert!(
            f.error(json!({"match": {"message": {"query": "fox", "operator": "xor"}}}))
                .contains("operator")
        );
        // Scores rank the better match first.
        let query =
            build_query(&json!({"match": {"message": "quick brown fox"}}), &f.schema).unwrap();
        let top = f
            .searcher
            .search(&query, &TopDocs::with_limit(1).order_by_score())
            .unwrap();
        assert_eq!(top.first().map(|hit| hit.1.doc_id), Some(0));
    }
}
