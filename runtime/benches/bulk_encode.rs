//! Bulk encoding of a 10-field record, against hand-written serde_json in
//! the same run.
//!
//! - `esrecord_pair`: `bulk::encode_record`, the action line (index from the
//!   timestamp, client-side id) and the source line.
//! - `serde_source_only` (the baseline of the ratio): `serde_json::to_writer`
//!   of the same struct, with no action line at all.
//! - `hand_written_pair`: what a program would write by hand for the same
//!   two lines: `write!` of the action with chrono's date formatting, then
//!   `serde_json::to_writer`.
//!
//! - `esrecord_pair_data_stream`: the same record written to a data
//!   stream (`[backends.NAME.data_streams]`): the stream's name as index
//!   and `@timestamp` added to the source.
//!
//! - `validate/request`: `Record::validate` of the same record, the check
//!   made before a record is queued.
//!
//! `scripts/bench-table` runs this and prints the medians and ratios of the
//! `bulk_encode` group.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::io::Write;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use esrecord::Record;

#[path = "common/request.rs"]
mod request;

use request::Request;

fn request() -> Request {
    Request {
        timestamp: Utc.with_ymd_and_hms(2024, 3, 5, 7, 8, 9).unwrap(),
        item_id: 184_467_440,
        user_id: 99_201,
        path: "/shop/items/184467440/reviews".into(),
        status: 200,
        bytes: 18_234,
        duration_ms: 12.75,
        country: "NL".into(),
        cached: false,
        referrer: Some("https://example.com/search?q=boots".into()),
    }
}

/// A backend that writes the types declaring `data_stream` to streams.
fn stream_config() -> esrecord::config::Config {
    esrecord::config::Config::from_toml(
        "[backends.default]\nkind = \"elasticsearch\"\nurl = \"http://127.0.0.1:9200\"\n[backends.default.data_streams]\n",
    )
    .unwrap()
}

const ID: &str = "01920c3e-8f1a-7b2c-9d4e-5f6a7b8c9d0e";

fn bulk_encode(c: &mut Criterion) {
    let record = request();
    let record_type = Request::record_type();
    let mut group = c.benchmark_group("bulk_encode");
    let mut out = Vec::with_capacity(1024);

    group.bench_function("esrecord_pair", |b| {
        b.iter(|| {
            out.clear();
            esrecord::bulk::encode_record(&mut out, record_type, black_box(&record), Some(ID))
                .unwrap();
            black_box(out.len())
        })
    });
    let streamed = stream_config().named_type(record_type);
    group.bench_function("esrecord_pair_data_stream", |b| {
        b.iter(|| {
            out.clear();
            esrecord::bulk::encode_record(&mut out, &streamed, black_box(&record), Some(ID))
                .unwrap();
            black_box(out.len())
        })
    });
    group.bench_function("serde_source_only", |b| {
        b.iter(|| {
            out.clear();
            serde_json::to_writer(&mut out, black_box(&record)).unwrap();
            out.push(b'\n');
            black_box(out.len())
        })
    });
    group.bench_function("hand_written_pair", |b| {
        b.iter(|| {
            out.clear();
            let record = black_box(&record);
            writeln!(
                out,
                "{{\"create\":{{\"_index\":\"bench_request_{}\",\"_id\":\"{}\"}}}}",
                record.timestamp.format("%Y.%m.%d"),
                ID
            )
            .unwrap();
            serde_json::to_writer(&mut out, record).unwrap();
            out.push(b'\n');
            black_box(out.len())
        })
    });
    group.finish();
}

/// `Record::validate`, which runs before each record is queued: a few
/// nanoseconds, no allocation.
fn validate(c: &mut Criterion) {
    let record = request();
    c.bench_function("validate/request", |b| {
        b.iter(|| black_box(&record).validate().unwrap())
    });
}

criterion_group!(benches, bulk_encode, validate);
criterion_main!(benches);
