//! A search body run over several partitions: the query is built for each
//! partition's schema, hits are collected per segment and merged, and the
//! response has Elasticsearch's shape.
//!
//! The body keys and sorts supported are listed on the public
//! [`EmbeddedBackend`](super::EmbeddedBackend).
//!
//! - `mod.rs`: the search over the partitions, and the hits it returns;
//! - `request.rs`: the search body, parsed;
//! - `sort.rs`: sort keys and values, their order, and `search_after`;
//! - `collector.rs`: the collector that keeps a page of sorted hits per
//!   segment;
//! - `pruning.rs`: which partitions a sorted search can skip.

use std::sync::Arc;

use serde_json::{Value, value::RawValue};
use tantivy::collector::{Count, TopDocs};
use tantivy::schema::Value as _;
use tantivy::{Searcher, TantivyDocument};

use self::collector::SortCollector;
use self::pruning::Pruning;
use self::request::{SearchRequest, SortKey};
use self::sort::{KeySource, Order, SortValue, SortedHit, resolve_keys, sort_hits};
use super::aggs;
use super::partition::Partition;
use super::query::build_query;
use crate::backend::{Hits, RawHit, SearchResponse, TotalHits};
use crate::error::{Error, Result};

mod collector;
mod pruning;
mod request;
mod sort;

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
