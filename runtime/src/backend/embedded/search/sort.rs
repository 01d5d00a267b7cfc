//! Sort keys and values: how each key reads its value in a partition, how
//! values and hits compare (missing values last), and the `search_after`
//! values typed like the keys.

use std::cmp::Ordering;

use serde_json::{Value, json};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal};

use super::request::SortKey;
use crate::backend::embedded::partition::Partition;
use crate::backend::embedded::schema::{FieldKind, ID_FIELD};
use crate::dates;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Order {
    Asc,
    Desc,
}

/// A collected hit and the values it sorts by.
#[derive(Debug, Clone)]
pub(super) struct SortedHit {
    pub(super) key: Vec<SortValue>,
    pub(super) score: Option<Score>,
    pub(super) partition: u32,
    pub(super) address: DocAddress,
}

impl SortedHit {
    pub(super) fn by_score(score: Score, partition: u32, address: DocAddress) -> Self {
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
pub(super) enum SortValue {
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
    pub(super) fn compare(&self, other: &Self, order: Order) -> Ordering {
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

    pub(super) fn to_json(&self) -> Value {
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

pub(super) fn sort_hits(hits: &mut [SortedHit], keys: &[SortKey]) {
    let orders: Vec<Order> = if keys.is_empty() {
        vec![Order::Desc] // by score
    } else {
        orders(keys).collect()
    };
    hits.sort_by(|a, b| compare_keys(a, b, &orders));
}

/// How one sort key reads its value in one partition.
#[derive(Clone)]
pub(super) enum KeySource {
    Doc,
    Id,
    Field {
        path: String,
        kind: FieldKind,
    },
    /// The partition does not have the field: every value is missing.
    Unmapped,
}

pub(super) fn resolve_keys(
    keys: &[SortKey],
    partition: &Partition,
) -> Result<Vec<(KeySource, Order)>> {
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

/// Hits in sort order; ties in the order they were found.
pub(super) fn compare_keys(a: &SortedHit, b: &SortedHit, orders: &[Order]) -> Ordering {
    compare_values(&a.key, &b.key, orders).then_with(|| a.position().cmp(&b.position()))
}

/// Two lists of sort values, key by key.
pub(super) fn compare_values(a: &[SortValue], b: &[SortValue], orders: &[Order]) -> Ordering {
    a.iter()
        .zip(b)
        .zip(orders)
        .map(|((x, y), order)| x.compare(y, *order))
        .find(|ordering| ordering.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// The `search_after` values, typed like the sort keys.
pub(super) fn after_values(
    values: &[Value],
    keys: &[(KeySource, Order)],
) -> Result<Vec<SortValue>> {
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
