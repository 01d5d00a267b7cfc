//! A search body run over several partitions: the query is built for each
//! partition's schema, hits are collected per segment and merged, and the
//! response has Elasticsearch's shape.
//!
//! Supported body keys: `query`, `size` (default 10), `from`, `sort`
//! (fields with fast values, `_id`, `_doc`, `_score`), `search_after`,
//! `track_total_hits`, `aggs`/`aggregations`, `_source` (true/false).

use std::cmp::Ordering;
use std::sync::Arc;

use serde_json::{Value, json, value::RawValue};
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::columnar::{Column, StrColumn};
use tantivy::schema::Value as _;
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentOrdinal, SegmentReader, TantivyDocument};

use super::aggs::{self, AggRequest};
use super::partition::Partition;
use super::query::build_query;
use super::schema::{FieldKind, ID_FIELD};
use crate::backend::{Hits, RawHit, SearchResponse, TotalHits};
use crate::dates;
use crate::error::{Error, Result};

/// A parsed search body.
struct SearchRequest<'a> {
    query: &'a Value,
    from: usize,
    size: usize,
    sort: Vec<SortKey>,
    search_after: Option<&'a [Value]>,
    track_total_hits: bool,
    aggs: Option<AggRequest>,
    source: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum SortKey {
    Score,
    Doc(Order),
    Field { path: String, order: Order },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Asc,
    Desc,
}

const MATCH_ALL: Value = Value::Null;

impl<'a> SearchRequest<'a> {
    fn parse(body: &'a Value) -> Result<Self> {
        let Some(object) = body.as_object() else {
            return Err(Error::BadRequest(
                "a search body must be a JSON object".into(),
            ));
        };
        let mut request = SearchRequest {
            query: &MATCH_ALL,
            from: 0,
            size: 10,
            sort: Vec::new(),
            search_after: None,
            track_total_hits: true,
            aggs: None,
            source: true,
        };
        for (key, value) in object {
            match key.as_str() {
                "query" => request.query = value,
                "from" => request.from = count(key, value)?,
                "size" => request.size = count(key, value)?,
                "sort" => request.sort = parse_sort(value)?,
                "search_after" => {
                    let values = value.as_array().ok_or_else(|| {
                        Error::BadRequest(
                            "search_after must be an array of the previous hit's sort values"
                                .into(),
                        )
                    })?;
                    request.search_after = Some(values);
                }
                "track_total_hits" => request.track_total_hits = value.as_bool() != Some(false),
                "aggs" | "aggregations" => request.aggs = Some(aggs::parse(value)?),
                "_source" => {
                    request.source = value.as_bool().ok_or_else(|| {
                        Error::Unsupported {
                            what: "_source filtering".into(),
                            hint: "the embedded engine returns the whole _source or none: use true or false",
                        }
                    })?;
                }
                "timeout" => {}
                other => {
                    return Err(Error::Unsupported {
                        what: format!("search body key `{other}`"),
                        hint: "the embedded engine supports query, from, size, sort, search_after, track_total_hits, aggs and _source",
                    });
                }
            }
        }
        if request.search_after.is_some() && request.sort.iter().all(|k| *k == SortKey::Score) {
            return Err(Error::BadRequest("search_after needs a sort on fields, e.g. [{\"timestamp\": \"asc\"}, {\"_id\": \"asc\"}]".into()));
        }
        Ok(request)
    }
}

fn count(key: &str, value: &Value) -> Result<usize> {
    value
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| {
            Error::BadRequest(format!(
                "`{key}` must be a non-negative integer, not {value}"
            ))
        })
}

fn parse_sort(value: &Value) -> Result<Vec<SortKey>> {
    let items = match value {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    items.into_iter().map(parse_sort_key).collect()
}

fn parse_sort_key(item: &Value) -> Result<SortKey> {
    let (path, spec) = match item {
        Value::String(path) => (path.as_str(), &Value::Null),
        Value::Object(map) if map.len() == 1 => match map.iter().next() {
            Some((path, spec)) => (path.as_str(), spec),
            None => return Err(bad_sort(item)),
        },
        _ => return Err(bad_sort(item)),
    };
    let order = match spec {
        Value::Null => None,
        Value::String(order) => Some(order.as_str()),
        Value::Object(options) => {
            if let Some(key) = options
                .keys()
                .find(|k| !matches!(String::as_str(k), "order" | "missing" | "unmapped_type"))
            {
                return Err(Error::Unsupported {
                    what: format!("sort option `{key}`"),
                    hint: "the embedded engine sorts by order only, with missing values last",
                });
            }
            if options.get("missing").is_some_and(|m| m != "_last") {
                return Err(Error::Unsupported {
                    what: "sort option `missing` other than `_last`".into(),
                    hint: "the embedded engine puts documents without the field last",
                });
            }
            options.get("order").and_then(Value::as_str)
        }
        _ => return Err(bad_sort(item)),
    };
    let order = match order {
        None if path == "_score" => Order::Desc,
        None | Some("asc") => Order::Asc,
        Some("desc") => Order::Desc,
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "sort order must be asc or desc, not {other:?}"
            )));
        }
    };
    Ok(match path {
        "_score" if order == Order::Desc => SortKey::Score,
        "_score" => {
            return Err(Error::Unsupported {
                what: "ascending sort on _score".into(),
                hint: "sort on _score descending, or on a field",
            });
        }
        "_doc" => SortKey::Doc(order),
        path => SortKey::Field {
            path: path.to_owned(),
            order,
        },
    })
}

fn bad_sort(item: &Value) -> Error {
    Error::BadRequest(format!(
        "cannot read the sort entry {item}; write \"field\" or {{\"field\": {{\"order\": \"desc\"}}}}"
    ))
}

/// Runs `body` over `partitions` (sorted by name).
pub(crate) fn search(partitions: &[Arc<Partition>], body: &Value) -> Result<SearchResponse> {
    let started = std::time::Instant::now();
    let request = SearchRequest::parse(body)?;
    let limit = request.from.saturating_add(request.size);
    let by_score = request.sort.is_empty() || request.sort == [SortKey::Score];
    let searchers: Vec<Searcher> = partitions.iter().map(|p| p.reader.searcher()).collect();
    let mut request = request;
    if let Some(agg_request) = &mut request.aggs {
        for partition in partitions {
            agg_request.resolve_fields(&partition.schema)?;
        }
        agg_request.bind_calendars(&searchers)?;
    }

    let mut total = 0u64;
    let mut hits: Vec<SortedHit> = Vec::new();
    let mut partials = Vec::new();
    let counting_only = request.size == 0 && request.from == 0;
    let sorted = !by_score && !counting_only;
    // The sort keys as each partition reads them.
    let keys: Vec<Vec<(KeySource, Order)>> = if sorted {
        partitions
            .iter()
            .map(|partition| resolve_keys(&request.sort, partition))
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    let mut pruning = if sorted {
        Pruning::new(&keys, &searchers, &request)?
    } else {
        Pruning::none(partitions.len())
    };
    for ordinal in pruning.visiting_order() {
        let (partition, searcher) = (&partitions[ordinal], &searchers[ordinal]);
        let query = build_query(request.query, &partition.schema)?;
        let partition_ordinal = u32::try_from(ordinal).unwrap_or(u32::MAX);
        // One pass over the matches collects the count, the hits and the
        // aggregations together.
        let aggregation = request
            .aggs
            .as_ref()
            .map(|agg_request| aggs::collector(agg_request, partition.index.tokenizers()));
        let only_count =
            (request.size == 0 && request.from == 0) || !pruning.may_reach_page(ordinal);
        let (count, partition_hits, partial) = if only_count {
            let (count, partial) = searcher.search(&query, &(Count, aggregation))?;
            (count, Vec::new(), partial)
        } else if by_score {
            let (count, top, partial) = searcher.search(
                &query,
                &(
                    Count,
                    TopDocs::with_limit(limit.max(1)).order_by_score(),
                    aggregation,
                ),
            )?;
            let top = top
                .into_iter()
                .map(|(score, address)| SortedHit::by_score(score, partition_ordinal, address))
                .collect();
            (count, top, partial)
        } else {
            let collector = SortCollector {
                keys: keys.get(ordinal).map_or(&[], Vec::as_slice),
                limit,
                after: request.search_after,
                partition: partition_ordinal,
            };
            searcher.search(&query, &(Count, collector, aggregation))?
        };
        total += count as u64;
        if !partition_hits.is_empty() {
            hits.extend(partition_hits);
            if pruning.can_skip() {
                sort_hits(&mut hits, &request.sort);
                hits.truncate(limit);
                pruning.page_so_far(&hits, limit);
            }
        }
        partials.extend(partial);
    }

    sort_hits(&mut hits, &request.sort);
    let page: Vec<RawHit> = hits
        .into_iter()
        .skip(request.from)
        .take(request.size)
        .map(|hit| fetch(hit, partitions, &searchers, &request))
        .collect::<Result<_>>()?;
    let aggregations = match &request.aggs {
        Some(agg_request) => Some(aggs::finalize(agg_request, partials)?),
        None => None,
    };
    let max_score = if by_score {
        page.iter().filter_map(|h| h.score).reduce(f64::max)
    } else {
        None
    };
    Ok(SearchResponse {
        pit_id: None,
        took: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        timed_out: false,
        hits: Hits {
            total: request.track_total_hits.then_some(TotalHits {
                value: total,
                relation: "eq".into(),
            }),
            max_score,
            hits: page,
        },
        aggregations,
    })
}

/// Which partitions a sorted search must collect hits from. When every
/// document of a partition has a value in the first sort key (a number or
/// a date: a record's timestamp), the partition's least and greatest
/// values tell whether any of its documents can sort after the
/// search_after values and before the last hit of the page found so far;
/// the partitions are visited in the order of their first values, so
/// that the page fills early and the rest are only counted.
struct Pruning {
    /// Per partition: its values of the first key, first and last in the
    /// sort's order; `None` when it cannot be bounded.
    bounds: Vec<Option<(SortValue, SortValue)>>,
    order: Order,
    /// Per partition: the first search_after value, typed like the first
    /// key there.
    after: Vec<Option<SortValue>>,
    /// The first key of the last hit of a full page, once one is full.
    last_of_page: Option<SortValue>,
}

impl Pruning {
    /// Nothing is skipped (searches by score, counts).
    fn none(partitions: usize) -> Self {
        Pruning {
            bounds: vec![None; partitions],
            order: Order::Asc,
            after: vec![None; partitions],
            last_of_page: None,
        }
    }

    fn new(
        keys: &[Vec<(KeySource, Order)>],
        searchers: &[Searcher],
        request: &SearchRequest,
    ) -> Result<Self> {
        let mut pruning = Pruning::none(keys.len());
        let Some(SortKey::Field { order, .. } | SortKey::Doc(order)) = request.sort.first() else {
            return Ok(pruning);
        };
        pruning.order = *order;
        for (ordinal, (keys, searcher)) in keys.iter().zip(searchers).enumerate() {
            let Some((source, _)) = keys.first() else {
                continue;
            };
            if let Some(values) = request.search_after {
                pruning.after[ordinal] = after_values(values, keys)?.into_iter().next();
            }
            pruning.bounds[ordinal] =
                value_bounds(source, searcher)?.map(|(least, greatest)| match order {
                    Order::Asc => (least, greatest),
                    Order::Desc => (greatest, least),
                });
        }
        Ok(pruning)
    }

    /// The partitions to visit: those without bounds first, then by their
    /// first value in the sort's order.
    fn visiting_order(&self) -> Vec<usize> {
        let mut ordinals: Vec<usize> = (0..self.bounds.len()).collect();
        ordinals.sort_by(|a, b| match (&self.bounds[*a], &self.bounds[*b]) {
            (None, None) => a.cmp(b),
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some((x, _)), Some((y, _))) => x.compare(y, self.order).then(a.cmp(b)),
        });
        ordinals
    }

    /// Whether a document of the partition can make the page: not all of
    /// its values sort before the search_after value, and not all after
    /// the last hit of a full page (ties are collected).
    fn may_reach_page(&self, ordinal: usize) -> bool {
        let Some(Some((first, last))) = self.bounds.get(ordinal) else {
            return true;
        };
        let past_cursor = self
            .after
            .get(ordinal)
            .and_then(Option::as_ref)
            .is_none_or(|after| last.compare(after, self.order) != Ordering::Less);
        let before_end = self
            .last_of_page
            .as_ref()
            .is_none_or(|end| first.compare(end, self.order) != Ordering::Greater);
        past_cursor && before_end
    }

    /// Whether any partition is bounded, so that the page so far matters.
    fn can_skip(&self) -> bool {
        self.bounds.iter().any(Option::is_some)
    }

    /// Notes the hits collected so far (sorted, at most `limit`).
    fn page_so_far(&mut self, hits: &[SortedHit], limit: usize) {
        if hits.len() >= limit {
            self.last_of_page = hits.last().and_then(|hit| hit.key.first().cloned());
        }
    }
}

/// The least and greatest value of a numeric or date key in a partition,
/// when every document there has one.
fn value_bounds(source: &KeySource, searcher: &Searcher) -> Result<Option<(SortValue, SortValue)>> {
    let KeySource::Field { path, kind } = source else {
        return Ok(None);
    };
    let mut bounds: Option<(SortValue, SortValue)> = None;
    for segment in searcher.segment_readers() {
        let fast = segment.fast_fields();
        let segment_bounds = match kind {
            FieldKind::I64 | FieldKind::Date(_) => full(fast.column_opt::<i64>(path)?)
                .map(|c| (SortValue::I64(c.min_value()), SortValue::I64(c.max_value()))),
            FieldKind::U64 => full(fast.column_opt::<u64>(path)?)
                .map(|c| (SortValue::U64(c.min_value()), SortValue::U64(c.max_value()))),
            FieldKind::F64 => full(fast.column_opt::<f64>(path)?)
                .map(|c| (SortValue::F64(c.min_value()), SortValue::F64(c.max_value()))),
            _ => None,
        };
        // A segment some documents of which lack the key: no bounds.
        let Some((least, greatest)) = segment_bounds else {
            return Ok(None);
        };
        bounds = Some(match bounds {
            None => (least, greatest),
            Some((l, g)) => (
                if least.compare(&l, Order::Asc) == Ordering::Less {
                    least
                } else {
                    l
                },
                if greatest.compare(&g, Order::Asc) == Ordering::Greater {
                    greatest
                } else {
                    g
                },
            ),
        });
    }
    Ok(bounds)
}

/// The column, when every document has a value in it.
fn full<T>(column: Option<Column<T>>) -> Option<Column<T>>
where
    T: PartialOrd + Copy + std::fmt::Debug + Send + Sync + 'static,
{
    column.filter(|c| c.get_cardinality() == tantivy::columnar::Cardinality::Full)
}

/// A collected hit and the values it sorts by.
#[derive(Debug, Clone)]
struct SortedHit {
    key: Vec<SortValue>,
    score: Option<Score>,
    partition: u32,
    address: DocAddress,
}

impl SortedHit {
    fn by_score(score: Score, partition: u32, address: DocAddress) -> Self {
        SortedHit {
            key: vec![SortValue::F64(f64::from(score))],
            score: Some(score),
            partition,
            address,
        }
    }

    /// Position in the whole search, for ties and `_doc`.
    fn position(&self) -> (u32, SegmentOrdinal, DocId) {
        (
            self.partition,
            self.address.segment_ord,
            self.address.doc_id,
        )
    }
}

/// One sort value. `Missing` sorts last in either order, as Elasticsearch's
/// default `missing: _last`.
#[derive(Debug, Clone, PartialEq)]
enum SortValue {
    I64(i64),
    U64(u64),
    F64(f64),
    Str(String),
    /// A string by its ordinal in one segment's dictionary: only compared
    /// with ordinals of the same segment, and resolved before it leaves
    /// the segment's collector.
    Ordinal(u64),
    Missing,
}

impl SortValue {
    fn compare(&self, other: &Self, order: Order) -> Ordering {
        let ordering = match (self, other) {
            (SortValue::Missing, SortValue::Missing) => return Ordering::Equal,
            (SortValue::Missing, _) => return Ordering::Greater,
            (_, SortValue::Missing) => return Ordering::Less,
            (SortValue::I64(a), SortValue::I64(b)) => a.cmp(b),
            (SortValue::U64(a), SortValue::U64(b)) => a.cmp(b),
            (SortValue::F64(a), SortValue::F64(b)) => a.total_cmp(b),
            (SortValue::Str(a), SortValue::Str(b)) => a.cmp(b),
            (SortValue::Ordinal(a), SortValue::Ordinal(b)) => a.cmp(b),
            // Partitions created from different templates may disagree on a
            // field's type; order by type, then stably.
            (a, b) => a.rank().cmp(&b.rank()),
        };
        match order {
            Order::Asc => ordering,
            Order::Desc => ordering.reverse(),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            SortValue::I64(_) => 0,
            SortValue::U64(_) => 1,
            SortValue::F64(_) => 2,
            SortValue::Str(_) | SortValue::Ordinal(_) => 3,
            SortValue::Missing => 4,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            SortValue::I64(n) => json!(n),
            SortValue::U64(n) => json!(n),
            SortValue::F64(x) => json!(x),
            SortValue::Str(s) => json!(s),
            SortValue::Ordinal(_) | SortValue::Missing => Value::Null,
        }
    }
}

fn orders(keys: &[SortKey]) -> impl Iterator<Item = Order> + '_ {
    keys.iter().map(|key| match key {
        SortKey::Score => Order::Desc,
        SortKey::Doc(order) | SortKey::Field { order, .. } => *order,
    })
}

fn sort_hits(hits: &mut [SortedHit], keys: &[SortKey]) {
    let orders: Vec<Order> = if keys.is_empty() {
        vec![Order::Desc] // by score
    } else {
        orders(keys).collect()
    };
    hits.sort_by(|a, b| compare_keys(a, b, &orders));
}

/// How one sort key reads its value in one partition.
#[derive(Clone)]
enum KeySource {
    Doc,
    Id,
    Field {
        path: String,
        kind: FieldKind,
    },
    /// The partition does not have the field: every value is missing.
    Unmapped,
}

fn resolve_keys(keys: &[SortKey], partition: &Partition) -> Result<Vec<(KeySource, Order)>> {
    keys.iter()
        .map(|key| match key {
            SortKey::Score => Err(Error::Unsupported {
                what: "sorting on _score together with other keys".into(),
                hint: "sort on fields only, or on _score alone",
            }),
            SortKey::Doc(order) => Ok((KeySource::Doc, *order)),
            SortKey::Field { path, order } if path == ID_FIELD => Ok((KeySource::Id, *order)),
            SortKey::Field { path, order } => match partition.schema.resolve(path) {
                None => Ok((KeySource::Unmapped, *order)),
                Some(resolved) if !resolved.json_path.is_empty() || resolved.kind == FieldKind::Text => {
                    Err(Error::Unsupported {
                        what: format!("sorting on `{path}`"),
                        hint: "the embedded engine sorts on keyword, numeric, date, boolean and ip fields",
                    })
                }
                Some(resolved) => Ok((
                    KeySource::Field {
                        path: path.clone(),
                        kind: resolved.kind,
                    },
                    *order,
                )),
            },
        })
        .collect()
}

/// Keeps the first `limit` documents in sort order, after `after` if given.
struct SortCollector<'a> {
    keys: &'a [(KeySource, Order)],
    limit: usize,
    after: Option<&'a [Value]>,
    partition: u32,
}

enum Reader {
    Doc,
    I64(Option<Column<i64>>),
    U64(Option<Column<u64>>),
    F64(Option<Column<f64>>),
    Bool(Option<Column<bool>>),
    Str(Option<StrColumn>),
    Ip(Option<Column<std::net::Ipv6Addr>>),
    Unmapped,
}

struct SortSegmentCollector {
    readers: Vec<(Reader, Order)>,
    after: Option<Vec<SortValue>>,
    limit: usize,
    segment: SegmentOrdinal,
    partition: u32,
    hits: Vec<SortedHit>,
    orders: Vec<Order>,
    /// The key of the worst hit kept, once `limit` are kept.
    worst: Option<Vec<SortValue>>,
}

impl Collector for SortCollector<'_> {
    type Fruit = Vec<SortedHit>;
    type Child = SortSegmentCollector;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SortSegmentCollector> {
        let fast = reader.fast_fields();
        let mut readers = Vec::with_capacity(self.keys.len());
        for (source, order) in self.keys {
            let reader = match source {
                KeySource::Doc => Reader::Doc,
                KeySource::Id => Reader::Str(fast.str(ID_FIELD)?),
                KeySource::Unmapped => Reader::Unmapped,
                KeySource::Field { path, kind } => match kind {
                    // Dates are epoch milliseconds (nanoseconds for
                    // date_nanos), which are also their sort values.
                    FieldKind::I64 | FieldKind::Date(_) => Reader::I64(fast.column_opt(path)?),
                    FieldKind::U64 => Reader::U64(fast.column_opt(path)?),
                    FieldKind::F64 => Reader::F64(fast.column_opt(path)?),
                    FieldKind::Bool => Reader::Bool(fast.column_opt(path)?),
                    FieldKind::Ip => Reader::Ip(fast.column_opt(path)?),
                    _ => Reader::Str(fast.str(path)?),
                },
            };
            readers.push((reader, *order));
        }
        let after = match self.after {
            Some(values) => Some(
                after_values(values, self.keys)
                    .map_err(|e| tantivy::TantivyError::InvalidArgument(e.to_string()))?,
            ),
            None => None,
        };
        Ok(SortSegmentCollector {
            orders: readers.iter().map(|(_, order)| *order).collect(),
            readers,
            after,
            limit: self.limit,
            segment,
            partition: self.partition,
            hits: Vec::new(),
            worst: None,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<SortedHit>>) -> tantivy::Result<Vec<SortedHit>> {
        let orders: Vec<Order> = self.keys.iter().map(|(_, order)| *order).collect();
        let mut all: Vec<SortedHit> = fruits.into_iter().flatten().collect();
        all.sort_by(|a, b| compare_keys(a, b, &orders));
        all.truncate(self.limit);
        Ok(all)
    }
}

/// Hits in sort order; ties in the order they were found.
fn compare_keys(a: &SortedHit, b: &SortedHit, orders: &[Order]) -> Ordering {
    compare_values(&a.key, &b.key, orders).then_with(|| a.position().cmp(&b.position()))
}

/// Two lists of sort values, key by key.
fn compare_values(a: &[SortValue], b: &[SortValue], orders: &[Order]) -> Ordering {
    a.iter()
        .zip(b)
        .zip(orders)
        .map(|((x, y), order)| x.compare(y, *order))
        .find(|ordering| ordering.is_ne())
        .unwrap_or(Ordering::Equal)
}

impl SegmentCollector for SortSegmentCollector {
    type Fruit = Vec<SortedHit>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        // Keys are read as they are needed: the first alone settles most
        // documents (those before the search_after values, and those after
        // the worst hit kept), and strings are compared by their ordinals
        // in the segment's dictionary, resolved only for the hits kept.
        let Some((first_reader, first_order)) = self.readers.first() else {
            return;
        };
        let first = read_ordinal(first_reader, doc, self.segment, self.partition);
        if let Some(after) = &self.after {
            let first_text = resolve(first_reader, first.clone());
            let ordering = after
                .first()
                .map_or(Ordering::Greater, |a| first_text.compare(a, *first_order));
            let tied_after = ordering == Ordering::Equal
                && compare_values(&self.text_key(doc), after, &self.orders) != Ordering::Greater;
            if ordering == Ordering::Less || tied_after {
                return;
            }
        }
        let after_worst = |worst: &[SortValue]| {
            worst
                .first()
                .is_some_and(|w| first.compare(w, *first_order) == Ordering::Greater)
        };
        if self.worst.as_deref().is_some_and(after_worst) {
            return;
        }
        let mut key = Vec::with_capacity(self.readers.len());
        key.push(first);
        key.extend(
            self.readers[1..]
                .iter()
                .map(|(reader, _)| read_ordinal(reader, doc, self.segment, self.partition)),
        );
        self.hits.push(SortedHit {
            key,
            score: None,
            partition: self.partition,
            address: DocAddress::new(self.segment, doc),
        });
        // Keep memory bounded: trim to the best `limit` now and then.
        if self.hits.len() >= self.limit.saturating_mul(2).max(1024) {
            self.trim();
        }
    }

    fn harvest(mut self) -> Vec<SortedHit> {
        self.trim();
        let mut hits = std::mem::take(&mut self.hits);
        for hit in &mut hits {
            for (value, (reader, _)) in hit.key.iter_mut().zip(&self.readers) {
                *value = resolve(reader, std::mem::replace(value, SortValue::Missing));
            }
        }
        hits
    }
}

impl SortSegmentCollector {
    /// Keeps the best `limit` hits, and remembers the worst of them once
    /// there are `limit`: nothing that sorts after it can make the page.
    fn trim(&mut self) {
        let orders = &self.orders;
        self.hits.sort_by(|a, b| compare_keys(a, b, orders));
        self.hits.truncate(self.limit);
        if self.hits.len() == self.limit {
            self.worst = self.hits.last().map(|hit| hit.key.clone());
        }
    }

    /// Every key of `doc`, strings as text (to compare with search_after
    /// values).
    fn text_key(&self, doc: DocId) -> Vec<SortValue> {
        self.readers
            .iter()
            .map(|(reader, _)| read_value(reader, doc, self.segment, self.partition))
            .collect()
    }
}

/// A sort value as [`read_value`] reads it, but a string as its ordinal in
/// the segment's dictionary (ordinals order as the strings do).
fn read_ordinal(reader: &Reader, doc: DocId, segment: SegmentOrdinal, partition: u32) -> SortValue {
    match reader {
        Reader::Str(column) => column
            .as_ref()
            .and_then(|c| c.term_ords(doc).next())
            .map_or(SortValue::Missing, SortValue::Ordinal),
        other => read_value(other, doc, segment, partition),
    }
}

/// `value` with a string ordinal turned back into its string.
fn resolve(reader: &Reader, value: SortValue) -> SortValue {
    match (reader, value) {
        (Reader::Str(Some(column)), SortValue::Ordinal(ord)) => {
            let mut text = String::new();
            match column.ord_to_str(ord, &mut text) {
                Ok(true) => SortValue::Str(text),
                _ => SortValue::Missing,
            }
        }
        (_, value) => value,
    }
}

fn read_value(reader: &Reader, doc: DocId, segment: SegmentOrdinal, partition: u32) -> SortValue {
    let value = match reader {
        Reader::Doc => Some(SortValue::U64(
            (u64::from(partition) << 48) | (u64::from(segment) << 32) | u64::from(doc),
        )),
        Reader::I64(column) => column
            .as_ref()
            .and_then(|c| c.first(doc))
            .map(SortValue::I64),
        Reader::U64(column) => column
            .as_ref()
            .and_then(|c| c.first(doc))
            .map(SortValue::U64),
        Reader::F64(column) => column
            .as_ref()
            .and_then(|c| c.first(doc))
            .map(SortValue::F64),
        Reader::Bool(column) => column
            .as_ref()
            .and_then(|c| c.first(doc))
            .map(|b| SortValue::I64(i64::from(b))),
        Reader::Ip(column) => column
            .as_ref()
            .and_then(|c| c.first(doc))
            .map(|ip| SortValue::Str(ip_to_string(ip))),
        Reader::Str(column) => column.as_ref().and_then(|c| {
            let ord = c.term_ords(doc).next()?;
            let mut text = String::new();
            c.ord_to_str(ord, &mut text).ok()?;
            Some(SortValue::Str(text))
        }),
        Reader::Unmapped => None,
    };
    value.unwrap_or(SortValue::Missing)
}

/// The `search_after` values, typed like the sort keys.
fn after_values(values: &[Value], keys: &[(KeySource, Order)]) -> Result<Vec<SortValue>> {
    if values.len() != keys.len() {
        return Err(Error::BadRequest(format!(
            "search_after has {} values but the sort has {} keys; pass the `sort` of the last hit",
            values.len(),
            keys.len()
        )));
    }
    values
        .iter()
        .zip(keys)
        .map(|(value, (source, _))| {
            let bad = || {
                Error::BadRequest(format!(
                    "search_after value {value} does not fit its sort key"
                ))
            };
            Ok(match (value, source) {
                (Value::Null, _) => SortValue::Missing,
                (
                    Value::String(s),
                    KeySource::Field {
                        kind: FieldKind::Date(unit),
                        ..
                    },
                ) => SortValue::I64(
                    dates::read_text(s)
                        .and_then(|nanos| unit.stored(nanos))
                        .ok_or_else(bad)?,
                ),
                (Value::String(s), _) => SortValue::Str(s.clone()),
                (Value::Bool(b), _) => SortValue::I64(i64::from(*b)),
                (
                    Value::Number(n),
                    KeySource::Field {
                        kind: FieldKind::F64,
                        ..
                    },
                ) => SortValue::F64(n.as_f64().ok_or_else(bad)?),
                (
                    Value::Number(n),
                    KeySource::Field {
                        kind: FieldKind::U64,
                        ..
                    },
                )
                | (Value::Number(n), KeySource::Doc) => SortValue::U64(n.as_u64().ok_or_else(bad)?),
                (Value::Number(n), _) => SortValue::I64(n.as_i64().ok_or_else(bad)?),
                _ => return Err(bad()),
            })
        })
        .collect()
}

/// Reads a hit's id and source.
fn fetch(
    hit: SortedHit,
    partitions: &[Arc<Partition>],
    searchers: &[Searcher],
    request: &SearchRequest,
) -> Result<RawHit> {
    let index = usize::try_from(hit.partition).unwrap_or(usize::MAX);
    let (Some(partition), Some(searcher)) = (partitions.get(index), searchers.get(index)) else {
        return Err(Error::Engine("a hit points at no partition".into()));
    };
    let doc: TantivyDocument = searcher.doc(hit.address)?;
    let id = doc
        .get_first(partition.schema.id)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    let source =
        if request.source {
            let bytes = doc
                .get_first(partition.schema.source)
                .and_then(|v| v.as_bytes())
                .unwrap_or(b"{}");
            let text = String::from_utf8(bytes.to_vec())
                .map_err(|_| Error::Engine(format!("the stored source of {id} is not UTF-8")))?;
            Some(RawValue::from_string(text).map_err(|e| {
                Error::Engine(format!("the stored source of {id} is not JSON: {e}"))
            })?)
        } else {
            None
        };
    let sort = if request.sort.is_empty() {
        Vec::new()
    } else {
        hit.key.iter().map(SortValue::to_json).collect()
    };
    Ok(RawHit {
        index: partition.name.clone(),
        id,
        score: hit.score.map(f64::from),
        source,
        sort,
    })
}

/// An ip as Elasticsearch prints it: IPv4 for mapped addresses.
fn ip_to_string(ip: std::net::Ipv6Addr) -> String {
    match ip.to_ipv4_mapped() {
        Some(v4) => v4.to_string(),
        None => ip.to_string(),
    }
}
