//! Typed searches: `R::search()` builds an Elasticsearch body for record
//! type `R`, names the partitions its time range touches, and returns typed
//! hits.

pub mod aggs;
mod answer;
mod columns;
mod pages;
mod query;

use std::marker::PhantomData;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};
use serde_json::{Map, Value, json};

use crate::backend::{SearchAnswer, SearchResponse};
use crate::error::{Error, Result};
use crate::fields::Field;
use crate::naming::{TimeBound, TimeRange};
use crate::record::Record;
use crate::store::Store;

pub use self::columns::Columns;
pub use self::pages::Pages;
pub use self::query::{FilterValue, Query};

/// A search over the records of type `R`.
///
/// ```
/// # use esrecord::Record;
/// # #[derive(Record, serde::Serialize, serde::Deserialize)]
/// # #[record(app_label = "shop")]
/// # struct PageView { timestamp: chrono::DateTime<chrono::Utc>, path: String }
/// let search = PageView::search().range((2024, 3), (2024, 4)).size(5);
/// let body = search.to_json().unwrap();
/// assert_eq!(body["size"], 5);
/// assert_eq!(body["query"]["bool"]["filter"][0]["range"]["timestamp"]["lt"], "2024-04-01T00:00:00Z");
/// ```
#[derive(Debug)]
pub struct Search<R> {
    range: Option<Result<TimeRange, String>>,
    size: usize,
    query: Option<Value>,
    filters: Vec<Value>,
    exclusions: Vec<Value>,
    alternatives: Vec<Value>,
    aggregations: Option<Value>,
    sort: Vec<Value>,
    /// Hits come back in reverse of the sort (`latest`).
    reversed: bool,
    /// The sort values of the hit to start after.
    search_after: Option<Vec<Value>>,
    record: PhantomData<fn() -> R>,
}

/// Typed search results.
#[derive(Debug, Clone)]
pub struct SearchResults<R> {
    /// How many records matched.
    pub total: u64,
    /// The page of hits.
    pub hits: Vec<Hit<R>>,
    /// The aggregation results in Elasticsearch's shape, when asked for.
    pub aggregations: Option<Value>,
}

impl<R> SearchResults<R> {
    /// The result of an aggregation the search asked for, read through its
    /// handle: `results.read(&daily)?` is a `Vec<Bucket<DateTime<Utc>>>`.
    pub fn read<A: aggs::Aggregation>(&self, aggregation: &A) -> Result<A::Output> {
        aggs::read(self.aggregations.as_ref(), aggregation)
    }
}

/// One record found by a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit<R> {
    /// The document id.
    pub id: String,
    /// The index (partition) it is stored in.
    pub index: String,
    /// The record.
    pub record: R,
    /// The hit's sort values, for a sorted search: pass the last hit's to
    /// [`Search::after`] for the next page.
    pub sort: Vec<Value>,
}

impl<R> Clone for Search<R> {
    fn clone(&self) -> Self {
        Search {
            range: self.range.clone(),
            size: self.size,
            query: self.query.clone(),
            filters: self.filters.clone(),
            exclusions: self.exclusions.clone(),
            alternatives: self.alternatives.clone(),
            aggregations: self.aggregations.clone(),
            sort: self.sort.clone(),
            reversed: self.reversed,
            search_after: self.search_after.clone(),
            record: PhantomData,
        }
    }
}

impl<R: Record> Default for Search<R> {
    fn default() -> Self {
        Search {
            range: None,
            size: 10,
            query: None,
            filters: Vec::new(),
            exclusions: Vec::new(),
            alternatives: Vec::new(),
            aggregations: None,
            sort: Vec::new(),
            reversed: false,
            search_after: None,
            record: PhantomData,
        }
    }
}

impl<R: Record> Search<R> {
    /// Records with `from <= timestamp < until`; only the partitions the
    /// range touches are searched. `from >= until` is an error at `fetch`.
    pub fn range(mut self, from: impl Into<TimeBound>, until: impl Into<TimeBound>) -> Self {
        self.range = Some(TimeRange::new(from, until).map_err(|e| e.to_string()));
        self
    }

    /// At most `n` hits (10 by default).
    pub fn size(mut self, n: usize) -> Self {
        self.size = n;
        self
    }

    /// The `n` newest records, returned oldest first (daktylos' "by
    /// volume"): newest first with `size(n)`, reversed.
    ///
    /// ```
    /// # use esrecord::Record;
    /// # #[derive(Record, serde::Serialize, serde::Deserialize)]
    /// # #[record(app_label = "shop")]
    /// # struct PageView { timestamp: chrono::DateTime<chrono::Utc>, path: String }
    /// let body = PageView::search().latest(200).to_json().unwrap();
    /// assert_eq!((body["size"].as_u64(), &body["sort"][0]["timestamp"]), (Some(200), &serde_json::json!("desc")));
    /// ```
    pub fn latest(mut self, n: usize) -> Self {
        self.sort.clear();
        self.reversed = true;
        self.newest_first().size(n)
    }

    /// The hits after the one whose sort values are `cursor` (the
    /// [`Hit::sort`] of the last hit of the previous page; Elasticsearch's
    /// `search_after`). The search must be sorted, with a tiebreaker that
    /// makes sort values unique; [`stream`](Self::stream) does all this.
    pub fn after(mut self, cursor: Vec<Value>) -> Self {
        self.search_after = Some(cursor);
        self
    }

    /// Every hit of the search, page by page (`size` hits a page): sorted
    /// as asked (else oldest first), with a tiebreaker so that no hit is
    /// repeated or skipped, over a point in time on Elasticsearch.
    ///
    /// ```no_run
    /// # use esrecord::Record;
    /// # #[derive(Record, serde::Serialize, serde::Deserialize)]
    /// # #[record(app_label = "shop")]
    /// # struct PageView { timestamp: chrono::DateTime<chrono::Utc>, path: String }
    /// # #[tokio::main] async fn main() -> esrecord::Result<()> {
    /// # let store = esrecord::Store::open()?;
    /// let mut pages = PageView::search().range((2024,), (2025,)).size(1_000).stream(&store).await?;
    /// while let Some(page) = pages.next_page().await? {
    ///     println!("{} views, up to {:?}", page.len(), page.last().map(|h| h.record.timestamp));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn stream(&self, store: &Store) -> Result<Pages<R>> {
        let (backend, named) = store.backend_for::<R>()?;
        let patterns = self.patterns(&named)?;
        Pages::open(self.clone(), Arc::clone(backend), patterns).await
    }

    /// Newest first, by the record's timestamp.
    pub fn newest_first(self) -> Self {
        self.sort_by_timestamp("desc")
    }

    /// Oldest first, by the record's timestamp.
    pub fn oldest_first(self) -> Self {
        self.sort_by_timestamp("asc")
    }

    fn sort_by_timestamp(mut self, order: &str) -> Self {
        if let Some(field) = R::record_type().timestamp_field() {
            self.sort.push(json!({ field: order }));
        }
        self
    }

    /// Sorts by `field`, ascending; later sorts break ties.
    pub fn sort_asc<T>(mut self, field: &Field<T>) -> Self {
        self.sort.push(json!({ field.path(): "asc" }));
        self
    }

    /// Sorts by `field`, descending; later sorts break ties.
    pub fn sort_desc<T>(mut self, field: &Field<T>) -> Self {
        self.sort.push(json!({ field.path(): "desc" }));
        self
    }

    /// Only records that match `query` (built from field handles:
    /// `R::fields().item_id.eq(42)`). Filters add up: a record must match
    /// them all.
    ///
    /// ```
    /// # use esrecord::Record;
    /// # #[derive(Record, serde::Serialize, serde::Deserialize)]
    /// # #[record(app_label = "shop")]
    /// # struct PageView { timestamp: chrono::DateTime<chrono::Utc>, item_id: u64, path: String }
    /// let f = PageView::fields();
    /// let search = PageView::search()
    ///     .filter(f.item_id.gte(10))
    ///     .exclude(f.path.one_of(["/health", "/metrics"]))
    ///     .should(f.path.eq("/cart"))
    ///     .should(f.path.eq("/checkout"));
    /// let body = search.to_json().unwrap();
    /// assert_eq!(body["query"]["bool"]["filter"][0]["range"]["item_id"]["gte"], 10);
    /// assert_eq!(body["query"]["bool"]["must_not"][0]["terms"]["path"][1], "/metrics");
    /// assert_eq!(body["query"]["bool"]["should"].as_array().map(Vec::len), Some(2));
    /// assert_eq!(body["query"]["bool"]["minimum_should_match"], 1);
    /// ```
    pub fn filter(mut self, query: Query) -> Self {
        self.filters.push(query.into_json());
        self
    }

    /// Leaves out the records that match `query`.
    pub fn exclude(mut self, query: Query) -> Self {
        self.exclusions.push(query.into_json());
        self
    }

    /// Records must match at least one of the `should` queries given.
    pub fn should(mut self, query: Query) -> Self {
        self.alternatives.push(query.into_json());
        self
    }

    /// Adds an Elasticsearch query clause that hits must match (the raw
    /// form, for what the typed filters do not cover).
    pub fn query_json(mut self, clause: Value) -> Self {
        self.query = Some(clause);
        self
    }

    /// Asks for `aggregation` (see [`aggs`]); read its result with
    /// [`SearchResults::read`] and the same handle.
    pub fn aggregate(mut self, aggregation: &impl aggs::Aggregation) -> Self {
        let all = self.aggregations.get_or_insert_with(|| json!({}));
        if let Some(all) = all.as_object_mut() {
            all.insert(aggregation.name().to_owned(), aggregation.body());
        }
        self
    }

    /// Asks for aggregations, written as Elasticsearch's `aggs` object;
    /// results come back in [`SearchResults::aggregations`].
    pub fn aggregations_json(mut self, aggs: Value) -> Self {
        self.aggregations = Some(aggs);
        self
    }

    /// The index patterns the search names, with `named` the type as its
    /// backend names it: the partitions of the time range, else all.
    fn patterns(&self, named: &crate::RecordType) -> Result<Vec<String>> {
        Ok(match self.time_range()? {
            Some(range) => named.patterns_for(&range),
            None => vec![named.pattern()],
        })
    }

    fn time_range(&self) -> Result<Option<TimeRange>> {
        match &self.range {
            None => Ok(None),
            Some(Ok(range)) => Ok(Some(*range)),
            Some(Err(message)) => Err(Error::BadRequest(message.clone())),
        }
    }

    /// The exact Elasticsearch body this search sends.
    pub fn to_json(&self) -> Result<Value> {
        let mut filters = Vec::new();
        if let Some(range) = self.time_range()? {
            let Some(field) = R::record_type().timestamp_field() else {
                return Err(Error::BadRequest(format!(
                    "{} has no timestamp field, so it cannot be searched by time range",
                    R::record_type().rust_path()
                )));
            };
            filters.push(json!({ "range": { field: range_bounds(&range) } }));
        }
        filters.extend(self.filters.iter().cloned());
        let mut bool_query = Map::new();
        if let Some(query) = &self.query {
            bool_query.insert("must".into(), json!([query]));
        }
        if !filters.is_empty() {
            bool_query.insert("filter".into(), Value::Array(filters));
        }
        if !self.exclusions.is_empty() {
            bool_query.insert("must_not".into(), Value::Array(self.exclusions.clone()));
        }
        if !self.alternatives.is_empty() {
            bool_query.insert("should".into(), Value::Array(self.alternatives.clone()));
            bool_query.insert("minimum_should_match".into(), json!(1));
        }
        let query = if bool_query.is_empty() {
            json!({ "match_all": {} })
        } else {
            json!({ "bool": bool_query })
        };
        let mut body = json!({ "query": query, "size": self.size, "track_total_hits": true });
        if !self.sort.is_empty() {
            body["sort"] = Value::Array(self.sort.clone());
        }
        if let Some(aggs) = &self.aggregations {
            body["aggs"] = aggs.clone();
        }
        if let Some(after) = &self.search_after {
            body["search_after"] = Value::Array(after.clone());
        }
        Ok(body)
    }

    /// [`fetch`](Self::fetch), for programs without an async runtime: runs
    /// on the calling thread (inside an async runtime it is an error that
    /// says to `.await` `fetch()` instead).
    pub fn fetch_blocking(&self, store: &Store) -> Result<SearchResults<R>> {
        crate::blocking::run("fetch", self.fetch(store))
    }

    /// Runs the search.
    pub async fn fetch(&self, store: &Store) -> Result<SearchResults<R>> {
        let (backend, named) = store.backend_for::<R>()?;
        let patterns = self.patterns(&named)?;
        let answer = backend.search(&patterns, &self.to_json()?).await?;
        self.read_answer(answer)
    }

    /// The typed results of a search response in Elasticsearch's shape
    /// (what [`fetch`](Self::fetch) does with the backend's answer; for
    /// responses obtained another way).
    ///
    /// ```
    /// # use esrecord::Record;
    /// # #[derive(Record, serde::Serialize, serde::Deserialize, Debug)]
    /// # #[record(app_label = "shop")]
    /// # struct PageView { timestamp: chrono::DateTime<chrono::Utc>, path: String }
    /// let response = serde_json::from_str(r#"{"hits": {"total": {"value": 1, "relation": "eq"}, "hits": [
    ///     {"_index": "shop_pageview_2024.03.01", "_id": "a", "_source": {"timestamp": "2024-03-01T10:00:00Z", "path": "/"}}
    /// ]}}"#).unwrap();
    /// let results = PageView::search().read_response(response).unwrap();
    /// assert_eq!((results.total, results.hits[0].record.path.as_str()), (1, "/"));
    /// ```
    pub fn read_response(&self, response: SearchResponse) -> Result<SearchResults<R>> {
        self.read_answer(SearchAnswer::Parsed(response))
    }

    /// The typed results of a backend's answer: from Elasticsearch's JSON
    /// text in one pass, each `_source` read straight into its record.
    ///
    /// ```
    /// # use esrecord::Record;
    /// # use esrecord::backend::SearchAnswer;
    /// # #[derive(Record, serde::Serialize, serde::Deserialize, Debug)]
    /// # #[record(app_label = "shop")]
    /// # struct PageView { timestamp: chrono::DateTime<chrono::Utc>, path: String }
    /// let text = r#"{"took": 1, "hits": {"total": {"value": 1, "relation": "eq"}, "hits": [
    ///     {"_index": "shop_pageview_2024.03.01", "_id": "a", "_score": null, "_source": {"timestamp": "2024-03-01T10:00:00Z", "path": "/"}}
    /// ]}}"#;
    /// let answer = SearchAnswer::Json { request: "POST shop_pageview_*/_search".into(), text: text.into() };
    /// let results = PageView::search().read_answer(answer).unwrap();
    /// assert_eq!((results.hits[0].id.as_str(), results.hits[0].record.path.as_str()), ("a", "/"));
    ///
    /// let other = text.replace(r#""path": "/""#, r#""path": 7"#);
    /// let answer = SearchAnswer::Json { request: "POST shop_pageview_*/_search".into(), text: other };
    /// let error = PageView::search().read_answer(answer).unwrap_err().to_string();
    /// assert!(error.contains("document a in shop_pageview_2024.03.01 does not read as"), "{error}");
    /// ```
    pub fn read_answer(&self, answer: SearchAnswer) -> Result<SearchResults<R>> {
        self.read_answer_and_point_in_time(answer)
            .map(|(results, _)| results)
    }

    /// [`read_answer`](Self::read_answer), with the point in time the
    /// answer names.
    pub(crate) fn read_answer_and_point_in_time(
        &self,
        answer: SearchAnswer,
    ) -> Result<(SearchResults<R>, Option<String>)> {
        let (mut results, point_in_time) = answer::read::<R>(answer)?;
        if self.reversed {
            results.hits.reverse();
        }
        Ok((results, point_in_time))
    }
}

impl<R: Record> Search<R> {
    /// The values of `fields` in the records found (with the search's
    /// filters and range; at most `size`: the oldest, unless the search is
    /// sorted, e.g. [`latest`](Self::latest)), as arrays aligned with the
    /// records' timestamps, oldest first; `None` where a record lacks a
    /// field. Columns of different value types take one call each.
    ///
    /// ```no_run
    /// # use esrecord::Record;
    /// # #[derive(esrecord::Composite, serde::Serialize, serde::Deserialize)]
    /// # struct Latency { p50_ms: f64, p99_ms: Option<f64> }
    /// # #[derive(Record, serde::Serialize, serde::Deserialize)]
    /// # #[record(app_label = "shop")]
    /// # struct PageView { timestamp: chrono::DateTime<chrono::Utc>, latency: Latency }
    /// # #[tokio::main] async fn main() -> esrecord::Result<()> {
    /// # let store = esrecord::Store::open()?;
    /// let f = PageView::fields();
    /// let columns = PageView::search()
    ///     .range((2024, 3, 1), (2024, 3, 11))
    ///     .size(10_000)
    ///     .columns(&[&f.latency.p50_ms, &f.latency.p99_ms], &store)
    ///     .await?;
    /// for (ts, p99) in columns.timestamps.iter().zip(columns.column("latency.p99_ms").unwrap_or_default()) {
    ///     println!("{ts} {p99:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn columns<T: serde::de::DeserializeOwned>(
        &self,
        fields: &[&Field<T>],
        store: &Store,
    ) -> Result<Columns<T>> {
        let Some(timestamp_field) = R::record_type().timestamp_field() else {
            return Err(Error::BadRequest(format!(
                "{} has no timestamp field, so it has no columns by time",
                R::record_type().rust_path()
            )));
        };
        // Without a sort, the oldest `size` records.
        let search = if self.sort.is_empty() {
            self.clone().oldest_first()
        } else {
            self.clone()
        };
        let (backend, named) = store.backend_for::<R>()?;
        let patterns = search.patterns(&named)?;
        let response = backend
            .search(&patterns, &search.to_json()?)
            .await?
            .into_response()?;
        let mut rows = Vec::with_capacity(response.hits.hits.len());
        for hit in &response.hits.hits {
            let source: Value = match &hit.source {
                Some(raw) => serde_json::from_str(raw.get()).map_err(|e| {
                    Error::BadRequest(format!("the stored document {} is not JSON: {e}", hit.id))
                })?,
                None => Value::Null,
            };
            let timestamp = source
                .get(timestamp_field)
                .and_then(|value| serde_json::from_value::<DateTime<Utc>>(value.clone()).ok())
                .ok_or_else(|| {
                    Error::BadRequest(format!(
                        "the stored document {} has no timestamp in {timestamp_field}",
                        hit.id
                    ))
                })?;
            rows.push((timestamp, source, hit.id.clone()));
        }
        rows.sort_by_key(|(timestamp, _, _)| *timestamp);
        let mut columns = Columns::new(fields);
        for (timestamp, source, id) in &rows {
            columns.push(*timestamp, source, id)?;
        }
        Ok(columns)
    }
}

/// A time range as the bounds of a `range` query: `gte` from, `lt` until.
///
/// An `until` in the year 10000 (the end of `..(10000,)`) is left out, since
/// Elasticsearch reads no year past 9999 and validation keeps every
/// timestamp before it anyway.
fn range_bounds(range: &TimeRange) -> Value {
    let text = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let mut bounds = json!({ "gte": text(&range.from) });
    if range.until.year() <= 9999 {
        bounds["lt"] = json!(text(&range.until));
    }
    bounds
}
