//! Which partitions a sorted search must read hits from, from the least
//! and greatest values of the first sort key in each.

use std::cmp::Ordering;

use tantivy::Searcher;
use tantivy::columnar::Column;

use super::request::{SearchRequest, SortKey};
use super::sort::{KeySource, Order, SortValue, SortedHit, after_values};
use crate::backend::embedded::schema::FieldKind;
use crate::error::Result;

/// Which partitions a sorted search must collect hits from. When every
/// document of a partition has a value in the first sort key (a number or
/// a date: a record's timestamp), the partition's least and greatest
/// values tell whether any of its documents can sort after the
/// search_after values and before the last hit of the page found so far;
/// the partitions are visited in the order of their first values, so
/// that the page fills early and the rest are only counted.
pub(super) struct Pruning {
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
    pub(super) fn none(partitions: usize) -> Self {
        Pruning {
            bounds: vec![None; partitions],
            order: Order::Asc,
            after: vec![None; partitions],
            last_of_page: None,
        }
    }

    pub(super) fn new(
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
    pub(super) fn visiting_order(&self) -> Vec<usize> {
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
    pub(super) fn may_reach_page(&self, ordinal: usize) -> bool {
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
    pub(super) fn can_skip(&self) -> bool {
        self.bounds.iter().any(Option::is_some)
    }

    /// Notes the hits collected so far (sorted, at most `limit`).
    pub(super) fn page_so_far(&mut self, hits: &[SortedHit], limit: usize) {
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
