//! The collector of a sorted search: per segment, the first `limit`
//! documents in sort order after the `search_after` values, read from the
//! fast columns (strings by their ordinals until a hit is kept).

use std::cmp::Ordering;

use serde_json::Value;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use super::sort::{
    KeySource, Order, SortValue, SortedHit, after_values, compare_keys, compare_values,
};
use crate::backend::embedded::schema::{FieldKind, ID_FIELD};

/// Keeps the first `limit` documents in sort order, after `after` if given.
pub(super) struct SortCollector<'a> {
    pub(super) keys: &'a [(KeySource, Order)],
    pub(super) limit: usize,
    pub(super) after: Option<&'a [Value]>,
    pub(super) partition: u32,
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

pub(super) struct SortSegmentCollector {
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

/// An ip as Elasticsearch prints it: IPv4 for mapped addresses.
fn ip_to_string(ip: std::net::Ipv6Addr) -> String {
    match ip.to_ipv4_mapped() {
        Some(v4) => v4.to_string(),
        None => ip.to_string(),
    }
}
