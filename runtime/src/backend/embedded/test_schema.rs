//! The one mapping the embedded engine's unit tests share, and the helpers
//! that build a partition schema and an in-memory index from it.
//!
//! The mapping holds a field of every kind the engine indexes: a page view
//! with its `timestamp` (`date`), `at_ns` (`date_nanos`), `path`
//! (`keyword`), `message` (`text`), `status` (`long`), `bytes`
//! (`unsigned_long`), `latency.p99_ms` (`double` in an object), `cached`
//! (`boolean`), `client.ip` (`ip` in an object), `tags` (`flattened`), and
//! three maps typed by dynamic templates: `counters.*` (`long`), `totals.*`
//! (`unsigned_long`) and `ratios.*` (`double`). Tests that need a mapping of
//! their own (a type the engine refuses, a partition laid out on disk) keep
//! theirs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use tantivy::{Index, IndexWriter, Searcher};

use super::document::to_document;
use super::schema::PartitionSchema;

/// The shared mapping; `strict` sets `dynamic: "strict"` (unknown fields
/// are rejected), otherwise `dynamic: false` (they stay in `_source` only).
pub(crate) fn mappings(strict: bool) -> Value {
    json!({
        "dynamic": if strict { json!("strict") } else { json!(false) },
        "dynamic_templates": [
            {"counters": {"path_match": "counters.*", "mapping": {"type": "long"}}},
            {"totals": {"path_match": "totals.*", "mapping": {"type": "unsigned_long"}}},
            {"ratios": {"path_match": "ratios.*", "mapping": {"type": "double"}}}
        ],
        "properties": {
            "timestamp": {"type": "date"},
            "at_ns": {"type": "date_nanos"},
            "path": {"type": "keyword"},
            "message": {"type": "text"},
            "status": {"type": "long"},
            "bytes": {"type": "unsigned_long"},
            "latency": {"properties": {"p99_ms": {"type": "double"}}},
            "cached": {"type": "boolean"},
            "client": {"properties": {"ip": {"type": "ip"}}},
            "tags": {"type": "flattened"},
            "counters": {"type": "object"},
            "totals": {"type": "object", "dynamic": true},
            "ratios": {"type": "object"}
        }
    })
}

/// The partition schema of [`mappings`].
pub(crate) fn schema(strict: bool) -> PartitionSchema {
    PartitionSchema::from_mappings(&mappings(strict)).unwrap()
}

/// An in-memory index of `docs` (id, source), turned into documents as a
/// bulk write turns them, committed, and a searcher over it.
pub(crate) fn searcher(schema: &PartitionSchema, docs: &[(&str, Value)]) -> Searcher {
    let index = Index::create_in_ram(schema.schema.clone());
    let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
    for (id, source) in docs {
        let bytes = serde_json::to_vec(source).unwrap();
        writer
            .add_document(to_document(schema, id, &bytes).unwrap())
            .unwrap();
    }
    writer.commit().unwrap();
    index.reader().unwrap().searcher()
}
