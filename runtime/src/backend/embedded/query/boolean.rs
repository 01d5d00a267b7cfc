//! `bool`: clauses combined with `must`, `filter`, `should` and
//! `must_not`, and Elasticsearch's `minimum_should_match`.

use serde_json::{Map, Value};
use tantivy::query::{AllQuery, BooleanQuery, ConstScoreQuery, Occur, Query};

use super::{bad, check_options, clause, with_boost};
use crate::backend::embedded::schema::PartitionSchema;
use crate::error::{Error, Result};

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
pub(super) fn bool_query(
    body: &Map<String, Value>,
    schema: &PartitionSchema,
) -> Result<Box<dyn Query>> {
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
pub(super) fn minimum_should_match(spec: &Value, optional: usize) -> Result<usize> {
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;

    use super::super::tests::Fixture;

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
}
