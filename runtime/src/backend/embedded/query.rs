//! Elasticsearch's query DSL, translated to a tantivy query for one
//! partition (field ids differ between partitions, so each partition builds
//! its own).
//!
//! Supported: `match_all`, `match_none`, `bool` (`must`, `filter`,
//! `should`, `must_not`, `minimum_should_match`), `term`, `terms`, `range`,
//! `exists`, `match` and `ids`, each with an optional `boost`. A field the
//! partition does not map matches nothing, as an unmapped field does in
//! Elasticsearch. Any other clause, and any option of a supported clause
//! that is not implemented, is an [`Error::Unsupported`] naming it: a
//! query is never silently widened.

use std::ops::Bound;

use serde_json::{Map, Value};
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, ExistsQuery,
    InvertedIndexRangeQuery, Occur, Query, RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{FieldType, IndexRecordOption};
use tantivy::tokenizer::{TokenStream, TokenizerManager};

use super::schema::{FieldKind, ID_FIELD, PartitionSchema, Resolved};
use super::values::{self, RangeEnd, RangeMatch};
use crate::error::{Error, Result};

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

// ----- bool -----------------------------------------------------------------

/// The options of `bool` besides `boost`.
const BOOL_OPTIONS: [&str; 5] = [
    "must",
    "filter",
    "should",
    "must_not",
    "minimum_should_match",
];

/// `bool`: must (scored), filter (not scored), should, must_not, with
/// Elasticsearch's defaults for `minimum_should_match`: 1 when there is no
/// must or filter clause, 0 otherwise; must_not alone excludes from all.
fn bool_query(body: &Map<String, Value>, schema: &PartitionSchema) -> Result<Box<dyn Query>> {
    check_options("bool", body, &BOOL_OPTIONS)?;
    let must = clauses(body, "must", schema)?;
    let filter = clauses(body, "filter", schema)?;
    let should = clauses(body, "should", schema)?;
    let must_not = clauses(body, "must_not", schema)?;
    let required = must.len() + filter.len();
    if required + should.len() + must_not.len() == 0 {
        return with_boost("bool", body, &BOOL_OPTIONS, Box::new(AllQuery));
    }
    let minimum = match body.get("minimum_should_match") {
        Some(spec) => minimum_should_match(spec, should.len())?,
        None => 0,
    };
    // Without must or filter, should clauses are required: at least one must match.
    let minimum = if required == 0 && !should.is_empty() {
        minimum.max(1)
    } else {
        minimum
    };
    let mut subqueries: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    subqueries.extend(must.into_iter().map(|query| (Occur::Must, query)));
    subqueries.extend(
        filter
            .into_iter()
            .map(|query| (Occur::Must, unscored(query))),
    );
    subqueries.extend(should.into_iter().map(|query| (Occur::Should, query)));
    subqueries.extend(must_not.into_iter().map(|query| (Occur::MustNot, query)));
    if subqueries.iter().all(|(occur, _)| *occur == Occur::MustNot) {
        subqueries.push((Occur::Must, Box::new(AllQuery)));
    }
    let query = BooleanQuery::with_minimum_required_clauses(subqueries, minimum);
    with_boost("bool", body, &BOOL_OPTIONS, Box::new(query))
}

/// A clause that filters without scoring.
fn unscored(query: Box<dyn Query>) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(query, 0.0))
}

/// The clauses under `key` of a bool: one clause object or an array of them.
fn clauses(
    body: &Map<String, Value>,
    key: &str,
    schema: &PartitionSchema,
) -> Result<Vec<Box<dyn Query>>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|item| clause(item, schema)).collect(),
        Some(item @ Value::Object(_)) => Ok(vec![clause(item, schema)?]),
        Some(other) => Err(bad(format!(
            "`bool.{key}` must be a query clause or an array of them, found {other}"
        ))),
    }
}

/// Elasticsearch's `minimum_should_match` for `optional` clauses: an
/// integer (negative: all but that many), or a string holding an integer or
/// a percentage (`"75%"`, `"-25%"`), rounded down. Combinations
/// (`"3<90%"`) are not supported.
fn minimum_should_match(spec: &Value, optional: usize) -> Result<usize> {
    let total = i64::try_from(optional).unwrap_or(i64::MAX);
    let invalid = || {
        bad(format!(
            "`minimum_should_match` must be an integer or a percentage such as \"75%\", found {spec}"
        ))
    };
    let computed = match spec {
        Value::Number(number) => number.as_i64().ok_or_else(invalid)?,
        Value::String(text) if text.contains('<') => {
            return Err(Error::Unsupported {
                what: format!("combination `minimum_should_match` \"{text}\""),
                hint: "give an integer or a single percentage",
            });
        }
        Value::String(text) => match text.trim().strip_suffix('%') {
            Some(percent) => {
                let percent: i64 = percent.trim().parse().map_err(|_| invalid())?;
                total.saturating_mul(percent.clamp(-100, 100)) / 100
            }
            None => text.trim().parse().map_err(|_| invalid())?,
        },
        _ => return Err(invalid()),
    };
    let required = if computed < 0 {
        total.saturating_add(computed)
    } else {
        computed
    };
    Ok(usize::try_from(required.max(0)).unwrap_or(usize::MAX))
}

// ----- term, terms, ids -------------------------------------------------------

/// `term`: `{"f": v}` or `{"f": {"value": v, "boost": b}}`.
fn term_query(body: &Map<String, Value>, schema: &PartitionSchema) -> Result<Box<dyn Query>> {
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
fn terms_query(body: &Map<String, Value>, schema: &PartitionSchema) -> Result<Box<dyn Query>> {
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
fn equality(
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
fn ids_query(body: &Map<String, Value>, schema: &PartitionSchema) -> Result<Box<dyn Query>> {
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

// ----- range, exists ---------------------------------------------------------

/// Date formats a range may name: Elasticsearch's default ones.
const RANGE_FORMATS: &[&str] = &[
    "strict_date_optional_time",
    "date_optional_time",
    "epoch_millis",
];

/// `range`: `{"f": {"gte": a, "lt": b, "format": ..., "boost": ...}}`.
fn range_query(body: &Map<String, Value>, schema: &PartitionSchema) -> Result<Box<dyn Query>> {
    let (path, spec) = single_field("range", body, &[])?;
    let options = spec.as_object().ok_or_else(|| {
        bad(format!(
            "`range` on `{path}` takes an object such as {{\"gte\": 1, \"lt\": 10}}, found {spec}"
        ))
    })?;
    let allowed = ["gt", "gte", "lt", "lte", "format", "time_zone"];
    check_options("range", options, &allowed)?;
    check_format(options)?;
    let lower = range_end(path, options, "gt", "gte")?;
    let upper = range_end(path, options, "lt", "lte")?;
    let query = match resolve(schema, path) {
        Some(resolved) => range(schema, &resolved, lower, upper)?,
        None => Box::new(EmptyQuery),
    };
    with_boost("range", options, &allowed, query)
}

/// Accepts only the default date formats, and UTC as time zone.
fn check_format(options: &Map<String, Value>) -> Result<()> {
    if let Some(format) = options.get("format") {
        let known = format
            .as_str()
            .is_some_and(|format| format.split("||").all(|part| RANGE_FORMATS.contains(&part)));
        if !known {
            return Err(Error::Unsupported {
                what: format!("range format {format}"),
                hint: "give dates as RFC 3339 strings or epoch milliseconds and drop `format` (or use strict_date_optional_time or epoch_millis)",
            });
        }
    }
    match options.get("time_zone").map(|zone| zone.as_str()) {
        None | Some(Some("Z" | "UTC" | "Etc/UTC" | "+00:00")) => Ok(()),
        Some(_) => Err(Error::Unsupported {
            what: format!(
                "range time_zone {}",
                options.get("time_zone").unwrap_or(&Value::Null)
            ),
            hint: "write the offset in the dates themselves (2024-05-01T00:00:00+02:00) and drop `time_zone`",
        }),
    }
}

/// One end of a range from its exclusive and inclusive keys.
fn range_end<'v>(
    path: &str,
    options: &'v Map<String, Value>,
    exclusive: &str,
    inclusive: &str,
) -> Result<RangeEnd<'v>> {
    let end = |key: &str| options.get(key).filter(|value| !value.is_null());
    match (end(exclusive), end(inclusive)) {
        (Some(_), Some(_)) => Err(bad(format!(
            "`range` on `{path}` has both `{exclusive}` and `{inclusive}`; keep one"
        ))),
        (Some(value), None) => Ok(Some((value, false))),
        (None, Some(value)) => Ok(Some((value, true))),
        (None, None) => Ok(None),
    }
}

/// Documents whose field falls between the ends; with no end, documents
/// that have the field (Elasticsearch's unbounded range).
fn range(
    schema: &PartitionSchema,
    resolved: &Resolved<'_>,
    lower: RangeEnd<'_>,
    upper: RangeEnd<'_>,
) -> Result<Box<dyn Query>> {
    if lower.is_none() && upper.is_none() {
        return Ok(exists(schema, resolved));
    }
    Ok(match values::range_terms(resolved, lower, upper)? {
        RangeMatch::Between(low, high) => Box::new(RangeQuery::new(low, high)),
        RangeMatch::AnyOf(terms) => Box::new(TermSetQuery::new(terms)),
        RangeMatch::Nothing => Box::new(EmptyQuery),
    })
}

/// `exists`: `{"field": "f"}`. On a mapped object, any field below it.
fn exists_query(body: &Map<String, Value>, schema: &PartitionSchema) -> Result<Box<dyn Query>> {
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
fn exists(schema: &PartitionSchema, resolved: &Resolved<'_>) -> Box<dyn Query> {
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

// ----- match -----------------------------------------------------------------

/// `match`: `{"f": "text"}` or `{"f": {"query": ..., "operator": "and",
/// "minimum_should_match": ..., "boost": ...}}`. On text fields the query is
/// analysed with the field's tokenizer and its terms are OR-ed (or AND-ed);
/// on other fields it is a `term`.
fn match_query(body: &Map<String, Value>, schema: &PartitionSchema) -> Result<Box<dyn Query>> {
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
    use tantivy::collector::{Count, TopDocs};
    use tantivy::schema::Value as _;
    use tantivy::{Searcher, TantivyDocument};

    use super::*;
    use crate::backend::embedded::test_schema::searcher;

    fn schema() -> PartitionSchema {
        PartitionSchema::from_mappings(&json!({
            "dynamic": "strict",
            "dynamic_templates": [{"counters": {"path_match": "counters.*", "mapping": {"type": "long"}}}],
            "properties": {
                "timestamp": {"type": "date"},
                "path": {"type": "keyword"},
                "message": {"type": "text"},
                "status": {"type": "long"},
                "bytes": {"type": "unsigned_long"},
                "latency": {"properties": {"p99_ms": {"type": "double"}}},
                "cached": {"type": "boolean"},
                "client": {"properties": {"ip": {"type": "ip"}}},
                "tags": {"type": "flattened"},
                "counters": {"type": "object"}
            }
        }))
        .unwrap()
    }

    /// Five documents, ids "1" to "5".
    fn docs() -> Vec<(&'static str, Value)> {
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

    struct Fixture {
        schema: PartitionSchema,
        searcher: Searcher,
    }

    impl Fixture {
        fn new() -> Self {
            let schema = schema();
            let searcher = searcher(&schema, &docs());
            Fixture { schema, searcher }
        }

        fn count(&self, query: Value) -> usize {
            let built =
                build_query(&query, &self.schema).unwrap_or_else(|e| panic!("{query}: {e}"));
            self.searcher
                .search(&built, &Count)
                .unwrap_or_else(|e| panic!("{query}: {e}"))
        }

        /// The ids of the matching documents, sorted.
        fn ids(&self, query: Value) -> Vec<String> {
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

        fn error(&self, query: Value) -> String {
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

    #[test]
    fn date_range_bounds_are_inclusive_or_exclusive_as_asked() {
        let f = Fixture::new();
        let at = "2024-05-01T10:00:00.500Z";
        assert_eq!(
            f.ids(json!({"range": {"timestamp": {"gte": at}}})),
            ["2", "3", "4"]
        );
        assert_eq!(
            f.ids(json!({"range": {"timestamp": {"gt": at}}})),
            ["3", "4"]
        );
        assert_eq!(
            f.ids(json!({"range": {"timestamp": {"lte": at}}})),
            ["1", "2"]
        );
        assert_eq!(f.ids(json!({"range": {"timestamp": {"lt": at}}})), ["1"]);
        assert_eq!(
            f.ids(json!({"range": {"timestamp": {"gte": 1_714_557_600_500_i64, "lte": at}}})),
            ["2"]
        );
        assert_eq!(f.ids(json!({"range": {"timestamp": {"gt": "2024-05-01T12:00:00+02:00", "lt": "2024-05-01T12:00:00Z"}}})), ["2", "3"]);
        assert_eq!(f.ids(json!({"range": {"timestamp": {"gte": "2024-05-01", "format": "strict_date_optional_time||epoch_millis"}}})), ["1", "2", "3", "4"]);
        assert_eq!(
            f.ids(
                json!({"range": {"timestamp": {"gte": "1714557600500", "format": "epoch_millis"}}})
            ),
            ["2", "3", "4"]
        );
        assert_eq!(f.count(json!({"range": {"timestamp": {"gt": "2024-05-01T12:00:00Z", "lt": "2024-05-01T12:00:00.001Z"}}})), 0);
        assert_eq!(
            f.ids(json!({"range": {"timestamp": {}}})),
            ["1", "2", "3", "4"]
        );
        assert!(
            f.error(json!({"range": {"timestamp": {"gte": "01/05/2024", "format": "dd/MM/yyyy"}}}))
                .contains("range format")
        );
        assert!(
            f.error(json!({"range": {"timestamp": {"gte": "now-1d"}}}))
                .contains("date math")
        );
        assert!(
            f.error(json!({"range": {"timestamp": {"gte": "soon"}}}))
                .contains("[timestamp]")
        );
        assert!(
            f.error(json!({"range": {"timestamp": {"gte": "2024-05-01", "time_zone": "+02:00"}}}))
                .contains("time_zone")
        );
        assert_eq!(
            f.count(json!({"range": {"timestamp": {"gte": "2024-05-01", "time_zone": "UTC"}}})),
            4
        );
    }

    #[test]
    fn ranges_on_numbers_keywords_and_ips() {
        let f = Fixture::new();
        assert_eq!(
            f.ids(json!({"range": {"status": {"gte": 200, "lt": 500}}})),
            ["1", "2", "4"]
        );
        assert_eq!(
            f.ids(json!({"range": {"status": {"gt": 200, "lte": 500}}})),
            ["2", "3"]
        );
        assert_eq!(
            f.ids(json!({"range": {"status": {"gt": 403.5, "lt": "404.5"}}})),
            ["2"]
        );
        assert_eq!(f.count(json!({"range": {"status": {"gte": 1e30}}})), 0);
        assert_eq!(f.count(json!({"range": {"status": {"lte": 1e30}}})), 4);
        assert_eq!(
            f.ids(json!({"range": {"bytes": {"gt": -5, "lt": 100}}})),
            ["2"]
        );
        assert_eq!(
            f.ids(json!({"range": {"latency.p99_ms": {"gt": 12.5}}})),
            ["2"]
        );
        assert_eq!(
            f.ids(json!({"range": {"latency.p99_ms": {"gte": 12.5}}})),
            ["1", "2"]
        );
        assert_eq!(
            f.ids(json!({"range": {"path": {"gte": "/b", "lt": "/d"}}})),
            ["2"]
        );
        assert_eq!(
            f.ids(json!({"range": {"path": {"gt": "/cart"}}})),
            ["1", "3", "5"]
        );
        assert_eq!(
            f.ids(json!({"range": {"client.ip": {"gte": "10.0.0.0", "lte": "10.0.0.255"}}})),
            ["1"]
        );
        assert_eq!(f.ids(json!({"range": {"cached": {"gt": false}}})), ["1"]);
        assert!(
            f.error(json!({"range": {"status": {"gt": 1, "gte": 1}}}))
                .contains("both")
        );
        assert!(
            f.error(json!({"range": {"status": {"gt": "abc"}}}))
                .contains("[status]")
        );
        assert!(
            f.error(json!({"range": {"status": {"from": 1}}}))
                .contains("option `from`")
        );
    }

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

    #[test]
    fn bool_combinations() {
        let f = Fixture::new();
        let home = json!({"term": {"path": "/home"}});
        let ok = json!({"term": {"status": 200}});
        let error = json!({"range": {"status": {"gte": 500}}});
        assert_eq!(f.ids(json!({"bool": {"must": [home, ok]}})), ["1"]);
        assert_eq!(f.ids(json!({"bool": {"filter": home}})), ["1", "3", "5"]);
        assert_eq!(
            f.ids(json!({"bool": {"should": [ok, error]}})),
            ["1", "3", "4"]
        );
        // With must or filter, should is optional unless minimum_should_match says otherwise.
        assert_eq!(
            f.ids(json!({"bool": {"filter": [home], "should": [ok]}})),
            ["1", "3", "5"]
        );
        assert_eq!(
            f.ids(json!({"bool": {"filter": [home], "should": [ok], "minimum_should_match": 1}})),
            ["1"]
        );
        assert_eq!(f.ids(json!({"bool": {"must": [home], "should": [ok, error], "minimum_should_match": "100%"}})), Vec::<String>::new());
        assert_eq!(
            f.ids(json!({"bool": {"should": [home, ok, error], "minimum_should_match": 2}})),
            ["1", "3"]
        );
        assert_eq!(
            f.ids(json!({"bool": {"should": [home, ok, error], "minimum_should_match": "-2"}})),
            ["1", "3", "4", "5"]
        );
        assert_eq!(
            f.count(json!({"bool": {"should": [home], "minimum_should_match": 2}})),
            0
        );
        // must_not alone excludes from everything.
        assert_eq!(f.ids(json!({"bool": {"must_not": home}})), ["2", "4"]);
        assert_eq!(f.ids(json!({"bool": {"must_not": [home, ok]}})), ["2"]);
        assert_eq!(
            f.ids(json!({"bool": {"should": [ok], "must_not": [home]}})),
            ["4"]
        );
        // Nesting.
        let nested = json!({"bool": {"must": {"bool": {"should": [ok, error]}}, "must_not": {"term": {"path": "/about"}}}});
        assert_eq!(f.ids(nested), ["1", "3"]);
        assert!(
            f.error(json!({"bool": {"must": "x"}}))
                .contains("bool.must")
        );
        assert!(
            f.error(json!({"bool": {"must": [], "adjust_pure_negative": true}}))
                .contains("adjust_pure_negative")
        );
        assert!(
            f.error(json!({"bool": {"should": [ok], "minimum_should_match": "2<75%"}}))
                .contains("combination")
        );
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
