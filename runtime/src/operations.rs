//! Record types by name at run time: what a program that knows a type only
//! from the [`registry`] (the operator binary) can do with
//! its records, as JSON that has been read as the Rust type.
//!
//! This is a layer over record types, as erased-serde is over serde: a
//! type's description ([`RecordType`]) knows nothing of the store, and its
//! [`RecordOperations`], which search and record through a [`Store`], are
//! registered beside it. `#[derive(Record)]` registers both; [`of`] finds
//! the operations of a registered type.
//!
//! ```
//! # use esrecord::Record;
//! # #[derive(Record, serde::Serialize, serde::Deserialize)]
//! # #[record(app_label = "inventory")]
//! # struct StockCount { timestamp: chrono::DateTime<chrono::Utc>, item_id: u64 }
//! let record_type = esrecord::registry::find("inventory.stockcount").unwrap();
//! let operations = esrecord::operations::of(record_type).unwrap();
//! let record = operations.read_json(br#"{"timestamp": "2024-03-05T10:00:00Z", "item_id": 7}"#).unwrap();
//! assert_eq!(record["item_id"], 7);
//! assert!(operations.read_json(br#"{"timestamp": "2024-03-05T10:00:00Z", "item_id": -1}"#).is_err());
//! let unknown = operations.read_json(br#"{"timestamp": "2024-03-05T10:00:00Z", "item_id": 7, "itemid": 7}"#);
//! assert!(unknown.unwrap_err().to_string().contains("no field `itemid`"));
//! ```

use std::marker::PhantomData;

use async_trait::async_trait;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::naming::TimeRange;
use crate::record::Record;
use crate::record_type::RecordType;
use crate::registry;
use crate::search::{Hit, Query, Search};
use crate::store::Store;

/// A search given at run time: what [`RecordOperations::search`] and
/// [`RecordOperations::export`] look for.
#[derive(Debug, Clone, Default)]
pub struct JsonSearch {
    /// Only records in this range (all partitions when `None`).
    pub range: Option<TimeRange>,
    /// Clauses every record must match.
    pub filters: Vec<Query>,
    /// At most this many hits (the newest, returned oldest first) for
    /// `search`; the page size for `export`.
    pub limit: usize,
    /// Aggregations in Elasticsearch's JSON, for `search`.
    pub aggregations: Option<Value>,
}

/// The results of a [`JsonSearch`].
#[derive(Debug, Clone)]
pub struct JsonResults {
    /// How many records matched.
    pub total: u64,
    /// The records found, each read as the Rust type and written back as
    /// JSON.
    pub hits: Vec<Hit<Value>>,
    /// The aggregation results in Elasticsearch's shape, when asked for.
    pub aggregations: Option<Value>,
}

/// Where [`RecordOperations::record_json_as`] sent a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// Its document id.
    pub id: String,
    /// The index (partition) it goes to.
    pub index: String,
}

/// What can be done with the records of one type without naming the Rust
/// type (every record goes through it all the same: read as the type,
/// validated, written as serde writes it).
#[async_trait]
pub trait RecordOperations: Send + Sync + std::fmt::Debug {
    /// Reads `source` (one JSON object) as the record type and validates
    /// it; gives the record back as JSON as serde writes it.
    fn read_json(&self, source: &[u8]) -> Result<Value>;

    /// Reads `source` as the record type, validates it, and hands it to
    /// the store's background writer ([`Store::record`]).
    fn record_json(&self, store: &Store, source: &[u8]) -> Result<()>;

    /// Reads `source` as the record type, validates it, and hands it to
    /// the background writer under its `unique_together` id, else `id`,
    /// else a new one; gives that id and the index the record goes to,
    /// named as `named` (the type as the store names it) says.
    fn record_json_as(
        &self,
        store: &Store,
        named: &RecordType,
        source: &[u8],
        id: Option<&str>,
    ) -> Result<Placed>;

    /// Runs a search; hits are the newest `limit`, oldest first.
    async fn search(&self, store: &Store, search: &JsonSearch) -> Result<JsonResults>;

    /// Hands every record the search finds, oldest first, to `sink`, page
    /// by page; stops at the first error `sink` returns. Returns how many
    /// records were handed over.
    async fn export(
        &self,
        store: &Store,
        search: &JsonSearch,
        sink: &mut (dyn FnMut(Hit<Value>) -> Result<()> + Send),
    ) -> Result<u64>;
}

/// The operations of one record type, registered beside the type's
/// [`Registration`](crate::registry::Registration). Generated code submits
/// one per type, with `&TypedOperations::<Self>::NEW`.
#[doc(hidden)]
#[derive(Debug)]
pub struct OperationsRegistration {
    record_type: &'static RecordType,
    operations: &'static dyn RecordOperations,
}

impl OperationsRegistration {
    /// Registers `operations` as those of `record_type`.
    pub const fn new(
        record_type: &'static RecordType,
        operations: &'static dyn RecordOperations,
    ) -> Self {
        OperationsRegistration {
            record_type,
            operations,
        }
    }
}

inventory::collect!(OperationsRegistration);

/// The operations of `record_type`, a type from the
/// [`registry`] (or a store's copy of one: the prefix and
/// timedepth do not matter). Every `#[derive(Record)]` type has them; a
/// [`RecordType`] made by hand has none, which is
/// [`Error::UnknownType`].
pub fn of(record_type: &RecordType) -> Result<&'static dyn RecordOperations> {
    inventory::iter::<OperationsRegistration>
        .into_iter()
        .find(|registration| registration.record_type.is_same_type(record_type))
        .map(|registration| registration.operations)
        .ok_or_else(|| Error::UnknownType {
            name: record_type.rust_path().to_owned(),
            known: registry::types()
                .iter()
                .map(|t| t.template_name())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The [`RecordOperations`] of record type `R`.
pub struct TypedOperations<R>(PhantomData<fn() -> R>);

impl<R> TypedOperations<R> {
    /// The operations of `R`.
    pub const NEW: Self = TypedOperations(PhantomData);
}

impl<R: Record> std::fmt::Debug for TypedOperations<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TypedOperations<{}>", R::record_type().rust_path())
    }
}

impl<R: Record> TypedOperations<R> {
    /// `source` as an `R`, validated; a field the type does not have is an
    /// error rather than dropped.
    fn read(source: &[u8]) -> Result<(R, Value)> {
        let invalid = |reason: String| Error::InvalidJson {
            record_type: R::record_type().rust_path(),
            reason,
        };
        let given: Value = serde_json::from_slice(source).map_err(|e| invalid(e.to_string()))?;
        let record: R = serde_path_to_error::deserialize(&given).map_err(|e| {
            let path = e.path().to_string();
            match path.as_str() {
                "." => invalid(e.into_inner().to_string()),
                _ => invalid(format!("field {path}: {}", e.into_inner())),
            }
        })?;
        record.validate()?;
        let written = serde_json::to_value(&record).map_err(|e| invalid(e.to_string()))?;
        let mut unknown = Vec::new();
        unknown_fields("", &given, &written, &mut unknown);
        if !unknown.is_empty() {
            return Err(invalid(format!("it has no field {}", unknown.join(", "))));
        }
        Ok((record, written))
    }

    fn build(search: &JsonSearch) -> Search<R> {
        let mut built = R::search();
        if let Some(range) = search.range {
            built = built.range(range.from, range.until);
        }
        for filter in &search.filters {
            built = built.filter(filter.clone());
        }
        if let Some(aggregations) = &search.aggregations {
            built = built.aggregations_json(aggregations.clone());
        }
        built
    }
}

/// The paths of `given` that hold a value and that `written` (the record
/// as serde writes it back) lacks: fields the type does not have.
fn unknown_fields(path: &str, given: &Value, written: &Value, out: &mut Vec<String>) {
    let (Value::Object(given), Value::Object(written)) = (given, written) else {
        return;
    };
    for (name, value) in given {
        let child = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        match written.get(name) {
            Some(kept) => unknown_fields(&child, value, kept, out),
            None if value.is_null() => {}
            None => out.push(format!("`{child}`")),
        }
    }
}

fn to_json_hit<R: Record>(hit: Hit<R>) -> Result<Hit<Value>> {
    let record = serde_json::to_value(&hit.record).map_err(|e| Error::InvalidJson {
        record_type: R::record_type().rust_path(),
        reason: e.to_string(),
    })?;
    Ok(Hit {
        id: hit.id,
        index: hit.index,
        record,
        sort: hit.sort,
    })
}

#[async_trait]
impl<R: Record> RecordOperations for TypedOperations<R> {
    fn read_json(&self, source: &[u8]) -> Result<Value> {
        Self::read(source).map(|(_, written)| written)
    }

    fn record_json(&self, store: &Store, source: &[u8]) -> Result<()> {
        store.record(Self::read(source)?.0)
    }

    fn record_json_as(
        &self,
        store: &Store,
        named: &RecordType,
        source: &[u8],
        id: Option<&str>,
    ) -> Result<Placed> {
        let (record, _) = Self::read(source)?;
        let id = match (record.unique_id()?, id) {
            (Some(unique), _) => unique,
            (None, Some(id)) => id.to_owned(),
            (None, None) => crate::writer::new_id().hyphenated().to_string(),
        };
        let mut index = Vec::new();
        named.write_index_of(&record, &mut index);
        let index = String::from_utf8_lossy(&index).into_owned();
        store.record_as(record, id.clone())?;
        Ok(Placed { id, index })
    }

    async fn search(&self, store: &Store, search: &JsonSearch) -> Result<JsonResults> {
        let results = Self::build(search)
            .latest(search.limit)
            .fetch(store)
            .await?;
        Ok(JsonResults {
            total: results.total,
            hits: results
                .hits
                .into_iter()
                .map(to_json_hit)
                .collect::<Result<_>>()?,
            aggregations: results.aggregations,
        })
    }

    async fn export(
        &self,
        store: &Store,
        search: &JsonSearch,
        sink: &mut (dyn FnMut(Hit<Value>) -> Result<()> + Send),
    ) -> Result<u64> {
        let mut pages = Self::build(search)
            .oldest_first()
            .size(search.limit.max(1))
            .stream(store)
            .await?;
        let mut handed = 0;
        while let Some(page) = pages.next_page().await? {
            for hit in page {
                if let Err(error) = to_json_hit(hit).and_then(&mut *sink) {
                    pages.close().await?;
                    return Err(error);
                }
                handed += 1;
            }
        }
        Ok(handed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dynamic;
    use crate::record_type::RecordSpec;

    #[derive(crate::Record, serde::Serialize, serde::Deserialize)]
    #[record(app_label = "operationstest")]
    struct Event {
        timestamp: chrono::DateTime<chrono::Utc>,
    }

    #[test]
    fn operations_are_found_beside_the_type_however_a_store_names_it() {
        let record_type = <Event as Record>::record_type();
        let operations = of(record_type).unwrap();
        assert_eq!(
            format!("{operations:?}"),
            format!("TypedOperations<{}>", record_type.rust_path())
        );
        let named = record_type
            .with_prefix("prod-")
            .with_timedepth(crate::Timedepth::Hour);
        assert!(std::ptr::addr_eq(of(&named).unwrap(), operations));
    }

    #[test]
    fn a_type_made_by_hand_has_no_operations() {
        static SPEC: RecordSpec = RecordSpec {
            rust_path: "by_hand::Event",
            name: "event",
            app_label: "byhand",
            timedepth: None,
            template_name: None,
            template: None,
            settings: &[],
            dynamic: Dynamic::Strict,
            backend: "default",
            retention: None,
            unique_together: &[],
            simple: false,
            data_stream: None,
            dimensions: &[],
            time_series_metrics: &[],
            timestamp_field: Some("timestamp"),
            properties: |_| serde_json::Map::new(),
            shape: Vec::new,
        };
        let record_type = RecordType::new(&SPEC);
        let error = of(&record_type).unwrap_err();
        assert!(
            matches!(&error, Error::UnknownType { name, .. } if name == "by_hand::Event"),
            "{error}"
        );
    }
}
