//! Reading 10,000 search hits into typed records, against plain
//! `serde_json::from_slice` of the same `_source` bytes, in the same run
//! (search issue: target ours / baseline >= 0.9 in throughput, i.e. time
//! ratio <= 1.11).
//!
//! - `from_slice_sources` (the baseline): `serde_json::from_slice` of each
//!   hit's `_source` into a `Vec` of records, nothing else.
//! - `read_response`: `Search::read_response` of a response already in its
//!   envelope (sources kept as raw JSON): what `fetch` does with the
//!   embedded engine's answer.
//! - `response_text`: `Search::read_answer` of the response's text, in one
//!   pass: what `fetch` does with Elasticsearch's answer (the envelope, the
//!   ids and index names included).
//! - `*_dropped`, `response_text_two_passes`: diagnostics.
//!
//! The records made are kept past the timing (criterion drops them after),
//! as a caller keeps what it fetched; the `_dropped` pair drops them inside.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use esrecord::Record;
use esrecord::backend::{SearchAnswer, SearchResponse};

#[path = "common/request.rs"]
mod request;

use request::Request;

const HITS: usize = 10_000;

fn sources() -> Vec<Vec<u8>> {
    (0..HITS)
        .map(|i| serde_json::to_vec(&request::sample(i)).unwrap())
        .collect()
}

fn response_bytes(sources: &[Vec<u8>]) -> Vec<u8> {
    let mut out = br#"{"took":5,"timed_out":false,"hits":{"total":{"value":10000,"relation":"eq"},"max_score":null,"hits":["#.to_vec();
    for (i, source) in sources.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(
            format!(
                r#"{{"_index":"bench_request_2024.03.05","_id":"{i:08}","_score":null,"_source":"#
            )
            .as_bytes(),
        );
        out.extend_from_slice(source);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}}");
    out
}

fn bench(c: &mut Criterion) {
    let sources = sources();
    let bytes = response_bytes(&sources);
    let response: SearchResponse = serde_json::from_slice(&bytes).unwrap();
    let search = Request::search();
    let mut group = c.benchmark_group("typed_hits");
    // Deserializing: the typed records made, and kept past the timing (criterion drops them
    // afterwards), as a caller keeps what it fetched.
    group.bench_function("from_slice_sources", |b| {
        b.iter_with_large_drop(|| {
            sources
                .iter()
                .map(|source| serde_json::from_slice::<Request>(black_box(source)).unwrap())
                .collect::<Vec<_>>()
        })
    });
    group.bench_function("read_response", |b| {
        b.iter_batched(
            || response.clone(),
            |response| search.read_response(black_box(response)).unwrap(),
            BatchSize::LargeInput,
        )
    });
    // The same, with the records (and for hits, their ids and index names) dropped inside
    // the timing.
    group.bench_function("from_slice_sources_dropped", |b| {
        b.iter(|| {
            for source in &sources {
                black_box(serde_json::from_slice::<Request>(black_box(source)).unwrap());
            }
        })
    });
    group.bench_function("read_response_dropped", |b| {
        b.iter_batched(
            || response.clone(),
            |response| drop(black_box(search.read_response(response).unwrap())),
            BatchSize::LargeInput,
        )
    });
    // From the response's text, as the Elasticsearch backend hands it over:
    // envelope and sources in one pass.
    let text = String::from_utf8(bytes.clone()).unwrap();
    group.bench_function("response_text", |b| {
        b.iter_batched(
            || SearchAnswer::Json {
                request: "POST bench_request_*/_search".to_owned(),
                text: text.clone(),
            },
            |answer| search.read_answer(black_box(answer)).unwrap(),
            BatchSize::LargeInput,
        )
    });
    // The same in two passes (the envelope with raw sources, then the
    // records), as before the one-pass reading.
    group.bench_function("response_text_two_passes", |b| {
        b.iter_with_large_drop(|| {
            let response: SearchResponse = serde_json::from_slice(black_box(&bytes)).unwrap();
            search.read_response(response).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
