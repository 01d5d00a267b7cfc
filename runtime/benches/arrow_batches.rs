//! Records as Arrow record batches, against `serde_json` decoding of the
//! same sources, in the same run (the Arrow issue: the ratio of the
//! conversion to the decoding it follows).
//!
//! Over 1,000,000 sources of the 10-field record of `bulk_encode`:
//!
//! - `serde_json_sources` (the baseline): `serde_json::from_slice` of each
//!   source into a `Vec` of records: what a search does to its pages.
//! - `records_to_batches`: the decoded records into batches of 8,192 rows
//!   ([`to_record_batch`]): what `to_record_batches` adds to a search.
//! - `sources_to_batches`: each source decoded as JSON and pushed into a
//!   [`BatchBuilder`], batches of 8,192 rows: what `export --format arrow`
//!   does to the stored sources.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use esrecord::Record;
use esrecord::export::arrow::{BatchBuilder, DEFAULT_BATCH_ROWS, to_record_batch};

#[path = "common/request.rs"]
mod request;

use request::Request;

const RECORDS: usize = 1_000_000;

fn bench(c: &mut Criterion) {
    let sources: Vec<Vec<u8>> = (0..RECORDS)
        .map(|i| serde_json::to_vec(&request::sample(i)).unwrap())
        .collect();
    let records: Vec<Request> = (0..RECORDS).map(request::sample).collect();
    let mut group = c.benchmark_group("arrow_batches");
    group.sample_size(10);
    group.bench_function("serde_json_sources", |b| {
        b.iter_with_large_drop(|| {
            sources
                .iter()
                .map(|source| serde_json::from_slice::<Request>(black_box(source)).unwrap())
                .collect::<Vec<_>>()
        })
    });
    group.bench_function("records_to_batches", |b| {
        b.iter_with_large_drop(|| {
            records
                .chunks(DEFAULT_BATCH_ROWS)
                .map(|chunk| to_record_batch(black_box(chunk)).unwrap())
                .collect::<Vec<_>>()
        })
    });
    group.bench_function("sources_to_batches", |b| {
        b.iter_with_large_drop(|| {
            let mut builder = BatchBuilder::new(Request::record_type()).unwrap();
            let mut batches = Vec::new();
            for chunk in sources.chunks(DEFAULT_BATCH_ROWS) {
                for source in chunk {
                    let value: serde_json::Value =
                        serde_json::from_slice(black_box(source)).unwrap();
                    builder.push(&value).unwrap();
                }
                batches.push(builder.finish().unwrap());
            }
            batches
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
