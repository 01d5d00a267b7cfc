//! Typed filters: query clauses built from field handles, so that a filter
//! names a field that exists and compares it with a value of its type.
//!
//! ```
//! # use esrecord::Record;
//! # use std::collections::BTreeMap;
//! # #[derive(Record, serde::Serialize, serde::Deserialize)]
//! # #[record(app_label = "shop")]
//! # struct PageView { timestamp: chrono::DateTime<chrono::Utc>, item_id: u64, path: String, tags: BTreeMap<String, String> }
//! let f = PageView::fields();
//! let query = f.item_id.between(10, 20) & !f.path.eq("/") | f.tags.key("platform").eq("linux");
//! assert_eq!(
//!     query.to_json(),
//!     &serde_json::json!({"bool": {"should": [
//!         {"bool": {"filter": [
//!             {"range": {"item_id": {"gte": 10, "lt": 20}}},
//!             {"bool": {"must_not": [{"term": {"path": "/"}}]}}
//!         ]}},
//!         {"term": {"tags.platform": "linux"}}
//!     ], "minimum_should_match": 1}})
//! );
//! ```

use std::ops::{BitAnd, BitOr, Not};

use serde::Serialize;
use serde_json::{Value, json};

use crate::fields::{Field, FullText};

/// A query clause in Elasticsearch's JSON, as the typed filters build it.
/// Combine clauses with `&` (both), `|` (either) and `!` (not), or with
/// [`and`](Self::and), [`or`](Self::or) and [`not`](Self::not).
#[derive(Debug, Clone, PartialEq)]
pub struct Query(Value);

impl Query {
    /// A clause given as Elasticsearch JSON (for what the typed filters do
    /// not cover).
    pub fn from_json(clause: Value) -> Self {
        Query(clause)
    }

    /// The clause as Elasticsearch JSON.
    pub fn to_json(&self) -> &Value {
        &self.0
    }

    /// The clause as Elasticsearch JSON, by value.
    pub fn into_json(self) -> Value {
        self.0
    }

    /// Records that match both clauses.
    pub fn and(self, other: Query) -> Query {
        let filter: Vec<Value> = [self.0, other.0]
            .into_iter()
            .flat_map(|clause| filters_of(&clause).unwrap_or_else(|| vec![clause]))
            .collect();
        Query(json!({"bool": {"filter": filter}}))
    }

    /// Records that match either clause.
    pub fn or(self, other: Query) -> Query {
        let should: Vec<Value> = [self.0, other.0]
            .into_iter()
            .flat_map(|clause| alternatives_of(&clause).unwrap_or_else(|| vec![clause]))
            .collect();
        Query(json!({"bool": {"should": should, "minimum_should_match": 1}}))
    }

    /// Records that do not match the clause.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Query {
        Query(json!({"bool": {"must_not": [self.0]}}))
    }
}

/// The clauses of a `bool` query of `filter` clauses only (what
/// [`Query::and`] builds), so that `a & b & c` is one list.
fn filters_of(clause: &Value) -> Option<Vec<Value>> {
    let bool_query = clause.get("bool")?.as_object()?;
    if bool_query.len() != 1 {
        return None;
    }
    bool_query.get("filter")?.as_array().cloned()
}

/// The clauses of a `bool` query of `should` clauses of which one must
/// match (what [`Query::or`] builds), so that `a | b | c` is one list.
fn alternatives_of(clause: &Value) -> Option<Vec<Value>> {
    let bool_query = clause.get("bool")?.as_object()?;
    if bool_query.len() != 2 || bool_query.get("minimum_should_match") != Some(&json!(1)) {
        return None;
    }
    bool_query.get("should")?.as_array().cloned()
}

impl BitAnd for Query {
    type Output = Query;
    fn bitand(self, other: Query) -> Query {
        self.and(other)
    }
}

impl BitOr for Query {
    type Output = Query;
    fn bitor(self, other: Query) -> Query {
        self.or(other)
    }
}

impl Not for Query {
    type Output = Query;
    fn not(self) -> Query {
        Query::not(self)
    }
}

/// What a filter on a `Field<T>` may compare it with: a `T`, or for string
/// fields a `&str`.
#[diagnostic::on_unimplemented(
    message = "a filter on a `Field<{T}>` takes a `{T}`, not `{Self}`",
    label = "not a `{T}`",
    note = "compare the field with a value of its own type (a string field also takes a `&str`)"
)]
pub trait FilterValue<T> {
    /// The value as Elasticsearch JSON.
    fn to_filter_json(&self) -> Value;
}

impl<T: Serialize> FilterValue<T> for T {
    fn to_filter_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl FilterValue<String> for &str {
    fn to_filter_json(&self) -> Value {
        Value::String((*self).to_owned())
    }
}

impl<T> Field<T> {
    /// Records whose field holds `value` (a `term` query; for a list field,
    /// any of its values).
    pub fn eq(&self, value: impl FilterValue<T>) -> Query {
        Query(json!({"term": {self.path(): value.to_filter_json()}}))
    }

    /// Records whose field holds any of `values` (a `terms` query).
    pub fn one_of<V: FilterValue<T>>(&self, values: impl IntoIterator<Item = V>) -> Query {
        let values: Vec<Value> = values.into_iter().map(|v| v.to_filter_json()).collect();
        Query(json!({"terms": {self.path(): values}}))
    }

    /// Records whose field is greater than `value`.
    pub fn gt(&self, value: impl FilterValue<T>) -> Query {
        self.range(json!({"gt": value.to_filter_json()}))
    }

    /// Records whose field is at least `value`.
    pub fn gte(&self, value: impl FilterValue<T>) -> Query {
        self.range(json!({"gte": value.to_filter_json()}))
    }

    /// Records whose field is less than `value`.
    pub fn lt(&self, value: impl FilterValue<T>) -> Query {
        self.range(json!({"lt": value.to_filter_json()}))
    }

    /// Records whose field is at most `value`.
    pub fn lte(&self, value: impl FilterValue<T>) -> Query {
        self.range(json!({"lte": value.to_filter_json()}))
    }

    /// Records with `from <= field < until`, as time ranges are.
    pub fn between(&self, from: impl FilterValue<T>, until: impl FilterValue<T>) -> Query {
        self.range(json!({"gte": from.to_filter_json(), "lt": until.to_filter_json()}))
    }

    /// Records that have a value in the field.
    pub fn exists(&self) -> Query {
        Query(json!({"exists": {"field": self.path()}}))
    }

    fn range(&self, bounds: Value) -> Query {
        Query(json!({"range": {self.path(): bounds}}))
    }
}

impl<T> Field<T, FullText> {
    /// Records whose text has any of the words of `text` (a `match`
    /// query, analyzed as the field is).
    pub fn matches(&self, text: &str) -> Query {
        Query(json!({"match": {self.path(): text}}))
    }

    /// Records that have text in the field.
    pub fn exists(&self) -> Query {
        Query(json!({"exists": {"field": self.path()}}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<T>(path: &str) -> Field<T> {
        Field::new(path.to_owned())
    }

    #[test]
    fn each_filter_is_the_elasticsearch_clause() {
        let item = field::<u64>("item_id");
        let path = field::<String>("path");
        let message: Field<String, FullText> = Field::new("message".to_owned());
        let when = field::<chrono::DateTime<chrono::Utc>>("timestamp");
        let start = chrono::DateTime::from_timestamp(1_709_251_200, 0).unwrap_or_default();
        assert_eq!(item.eq(7).into_json(), json!({"term": {"item_id": 7}}));
        assert_eq!(path.eq("/").into_json(), json!({"term": {"path": "/"}}));
        assert_eq!(
            path.one_of(["/a", "/b"]).into_json(),
            json!({"terms": {"path": ["/a", "/b"]}})
        );
        assert_eq!(
            item.gt(1).into_json(),
            json!({"range": {"item_id": {"gt": 1}}})
        );
        assert_eq!(
            item.lte(2).into_json(),
            json!({"range": {"item_id": {"lte": 2}}})
        );
        assert_eq!(
            when.gte(start).into_json(),
            json!({"range": {"timestamp": {"gte": "2024-03-01T00:00:00Z"}}})
        );
        assert_eq!(
            item.exists().into_json(),
            json!({"exists": {"field": "item_id"}})
        );
        assert_eq!(
            message.matches("red shoes").into_json(),
            json!({"match": {"message": "red shoes"}})
        );
    }

    #[test]
    fn combinations_flatten_and_nest_as_written() {
        let a = field::<u64>("a");
        let all = a.eq(1) & a.eq(2) & a.eq(3);
        assert_eq!(
            all.into_json(),
            json!({"bool": {"filter": [{"term": {"a": 1}}, {"term": {"a": 2}}, {"term": {"a": 3}}]}})
        );
        let any = a.eq(1) | a.eq(2) | a.eq(3);
        assert_eq!(
            any.into_json(),
            json!({"bool": {"should": [{"term": {"a": 1}}, {"term": {"a": 2}}, {"term": {"a": 3}}], "minimum_should_match": 1}})
        );
        let mixed = (a.eq(1) | a.eq(2)) & !a.eq(3);
        assert_eq!(
            mixed.into_json(),
            json!({"bool": {"filter": [
                {"bool": {"should": [{"term": {"a": 1}}, {"term": {"a": 2}}], "minimum_should_match": 1}},
                {"bool": {"must_not": [{"term": {"a": 3}}]}}
            ]}})
        );
    }
}
