//! Reading a search's answer into typed hits: Elasticsearch's JSON text in
//! one pass, each `_source` straight into its record; a response already in
//! its envelope (the embedded engine's) from each hit's raw source.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Hit, SearchResults};
use crate::backend::{RawHit, SearchAnswer, SearchResponse, TotalHits};
use crate::error::{Error, Result};
use crate::record::Record;

/// A search response with its hits' sources read as `R`.
#[derive(Deserialize)]
#[serde(bound = "R: DeserializeOwned")]
struct TypedResponse<R> {
    hits: TypedHits<R>,
    #[serde(default)]
    aggregations: Option<Value>,
    #[serde(default)]
    pit_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(bound = "R: DeserializeOwned")]
struct TypedHits<R> {
    #[serde(default)]
    total: Option<TotalHits>,
    #[serde(default)]
    hits: Vec<TypedHit<R>>,
}

#[derive(Deserialize)]
#[serde(bound = "R: DeserializeOwned")]
struct TypedHit<R> {
    #[serde(rename = "_index")]
    index: String,
    #[serde(rename = "_id")]
    id: String,
    #[serde(rename = "_source")]
    record: R,
    #[serde(default)]
    sort: Vec<Value>,
}

/// The typed results of `answer`, and the point in time to search next
/// when the answer names one.
pub(crate) fn read<R: Record>(answer: SearchAnswer) -> Result<(SearchResults<R>, Option<String>)> {
    let response = match answer {
        SearchAnswer::Parsed(response) => response,
        SearchAnswer::Json { request, text } => {
            match serde_json::from_str::<TypedResponse<R>>(&text) {
                Ok(typed) => return Ok(from_typed(typed)),
                // Read it again in its envelope, to say which document does
                // not read as an `R` (or that the answer is no search response).
                Err(_) => SearchAnswer::Json { request, text }.into_response()?,
            }
        }
    };
    let point_in_time = response.pit_id.clone();
    Ok((from_response(response)?, point_in_time))
}

fn from_typed<R>(typed: TypedResponse<R>) -> (SearchResults<R>, Option<String>) {
    let hits = typed
        .hits
        .hits
        .into_iter()
        .map(|hit| Hit {
            id: hit.id,
            index: hit.index,
            record: hit.record,
            sort: hit.sort,
        })
        .collect();
    let results = SearchResults {
        total: typed.hits.total.map_or(0, |t| t.value),
        hits,
        aggregations: typed.aggregations,
    };
    (results, typed.pit_id)
}

fn from_response<R: Record>(response: SearchResponse) -> Result<SearchResults<R>> {
    let hits = response
        .hits
        .hits
        .into_iter()
        .map(typed_hit)
        .collect::<Result<_>>()?;
    Ok(SearchResults {
        total: response.hits.total.map_or(0, |t| t.value),
        hits,
        aggregations: response.aggregations,
    })
}

fn typed_hit<R: Record>(hit: RawHit) -> Result<Hit<R>> {
    let source = hit.source.as_ref().map_or("null", |raw| raw.get());
    let record = serde_json::from_str(source)
        .or_else(|e| read_downsampled(source).ok_or(e))
        .map_err(|e| {
        Error::BadRequest(format!(
            "the stored document {} in {} does not read as a {}: {e}; its type changed since it was written",
            hit.id,
            hit.index,
            R::record_type().rust_path()
        ))
    })?;
    Ok(Hit {
        id: hit.id,
        index: hit.index,
        record,
        sort: hit.sort,
    })
}

/// A document of a downsampled time series index, read with its gauges'
/// summaries as their means (see [`time_series`](crate::time_series));
/// `None` when it is not one, or still does not read.
fn read_downsampled<R: Record>(source: &str) -> Option<R> {
    let mut value: Value = serde_json::from_str(source).ok()?;
    if !crate::time_series::read_downsampled(R::record_type(), &mut value) {
        return None;
    }
    serde_json::from_value(value).ok()
}
