//! Rules as searches: the threshold rules that share a type, window,
//! filters and groups share one search (a date histogram of the windows,
//! per group, with every summary they need as sub-aggregations); absence
//! rules share one per type, filters, groups and look-back.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use super::rule::{Check, Rule, Summary};
use crate::error::Result;
use crate::fields::Field;
use crate::naming::TimeRange;
use crate::operations::JsonSearch;
use crate::record_type::RecordType;
use crate::search::Query;

/// The most buckets (groups times windows) one search may return: below
/// Elasticsearch's `search.max_buckets` (65,536) and tantivy's limit.
pub(super) const MAX_BUCKETS: u64 = 60_000;

/// The summaries of one field that a window search computes.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Metric {
    pub(super) field: String,
    pub(super) summary: Summary,
}

/// One search over windows, shared by threshold rules.
#[derive(Debug, Clone)]
pub(super) struct WindowSearch {
    pub(super) record_type: &'static RecordType,
    pub(super) window: u64,
    pub(super) filters: Vec<(String, Vec<Value>)>,
    pub(super) group_by: Vec<String>,
    /// How many windows ending at the evaluation time it reads: as many
    /// as the rule that reads the most.
    pub(super) windows: u64,
    /// The sub-aggregations: `m0`, `m1`...
    pub(super) metrics: Vec<Metric>,
    /// The rules it serves, by index.
    pub(super) rules: Vec<usize>,
}

/// One search for the newest record per group, shared by absence rules.
#[derive(Debug, Clone)]
pub(super) struct AbsenceSearch {
    pub(super) record_type: &'static RecordType,
    pub(super) filters: Vec<(String, Vec<Value>)>,
    pub(super) group_by: Vec<String>,
    pub(super) seen_within: u64,
    pub(super) rules: Vec<usize>,
}

/// The searches that evaluate `rules`.
pub(super) fn plan(rules: &[Rule]) -> (Vec<WindowSearch>, Vec<AbsenceSearch>) {
    let mut windows: Vec<WindowSearch> = Vec::new();
    let mut absences: Vec<AbsenceSearch> = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        let same = |t: &RecordType, f: &[(String, Vec<Value>)], g: &[String]| {
            t.is_same_type(rule.record_type) && f == rule.filters && g == rule.group_by
        };
        match rule.check {
            Check::Absence { seen_within, .. } => {
                match absences.iter_mut().find(|s| {
                    s.seen_within == seen_within && same(s.record_type, &s.filters, &s.group_by)
                }) {
                    Some(search) => search.rules.push(index),
                    None => absences.push(AbsenceSearch {
                        record_type: rule.record_type,
                        filters: rule.filters.clone(),
                        group_by: rule.group_by.clone(),
                        seen_within,
                        rules: vec![index],
                    }),
                }
            }
            Check::Threshold { .. } => {
                let position = windows.iter().position(|s| {
                    s.window == rule.window && same(s.record_type, &s.filters, &s.group_by)
                });
                let search = match position {
                    Some(at) => &mut windows[at],
                    None => {
                        windows.push(WindowSearch {
                            record_type: rule.record_type,
                            window: rule.window,
                            filters: rule.filters.clone(),
                            group_by: rule.group_by.clone(),
                            windows: 0,
                            metrics: Vec::new(),
                            rules: Vec::new(),
                        });
                        let last = windows.len() - 1;
                        &mut windows[last]
                    }
                };
                search.rules.push(index);
                search.windows = search.windows.max(rule.windows_read());
                if !matches!(rule.summary, Summary::Last) {
                    for field in &rule.fields {
                        let metric = Metric {
                            field: field.clone(),
                            summary: rule.summary,
                        };
                        if !search.metrics.contains(&metric) {
                            search.metrics.push(metric);
                        }
                    }
                }
            }
        }
    }
    (windows, absences)
}

/// `at` in whole milliseconds.
pub(super) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

impl WindowSearch {
    /// The first window's start, for an evaluation at `at`.
    pub(super) fn start(&self, at: DateTime<Utc>) -> i64 {
        millis(at) - self.window_ms() * self.windows as i64
    }

    pub(super) fn window_ms(&self) -> i64 {
        self.window as i64 * 1000
    }

    /// The search for an evaluation at `at`: the windows `[at - k*window,
    /// at)`, each a bucket of a date histogram whose grid ends at `at`.
    pub(super) fn request(&self, at: DateTime<Utc>) -> Result<JsonSearch> {
        let end = millis(at);
        let start = self.start(at);
        let timestamp = self.record_type.timestamp_field().unwrap_or("timestamp");
        let mut histogram = json!({
            "field": timestamp,
            "fixed_interval": format!("{}s", self.window),
            "min_doc_count": 0,
            "extended_bounds": {"min": start, "max": end - 1},
        });
        let offset = end.rem_euclid(self.window_ms());
        if offset != 0 {
            histogram["offset"] = Value::from(format!("+{offset}ms"));
        }
        let mut metrics = Map::new();
        for (i, metric) in self.metrics.iter().enumerate() {
            metrics.insert(format!("m{i}"), metric_aggregation(metric));
        }
        let mut leaf = json!({"date_histogram": histogram});
        if !metrics.is_empty() {
            leaf["aggs"] = Value::Object(metrics);
        }
        let groups_size = groups_per_level(MAX_BUCKETS / self.windows.max(1), self.group_by.len());
        Ok(JsonSearch {
            range: Some(range(start, end)?),
            filters: filter_queries(&self.filters),
            limit: 0,
            aggregations: Some(nest(&self.group_by, groups_size, "w", leaf)),
        })
    }
}

impl AbsenceSearch {
    /// The search for an evaluation at `at`: the newest timestamp per
    /// group over `[at - seen_within, at)`.
    pub(super) fn request(&self, at: DateTime<Utc>) -> Result<JsonSearch> {
        let end = millis(at);
        let start = end - self.seen_within as i64 * 1000;
        let timestamp = self.record_type.timestamp_field().unwrap_or("timestamp");
        let leaf = json!({"max": {"field": timestamp}});
        Ok(JsonSearch {
            range: Some(range(start, end)?),
            filters: filter_queries(&self.filters),
            limit: 0,
            aggregations: Some(nest(
                &self.group_by,
                groups_per_level(MAX_BUCKETS, self.group_by.len()),
                "last",
                leaf,
            )),
        })
    }
}

/// The search for the newest record of one window and group (the `last`
/// summary).
pub(super) fn newest_request(
    filters: &[(String, Vec<Value>)],
    group: &[(String, Value)],
    start: i64,
    end: i64,
) -> Result<JsonSearch> {
    let mut queries = filter_queries(filters);
    for (field, value) in group {
        queries.push(Field::<Value>::new(field.clone()).eq(value.clone()));
    }
    Ok(JsonSearch {
        range: Some(range(start, end)?),
        filters: queries,
        limit: 1,
        aggregations: None,
    })
}

fn range(start: i64, end: i64) -> Result<TimeRange> {
    let at = |ms: i64| DateTime::<Utc>::UNIX_EPOCH + Duration::milliseconds(ms);
    TimeRange::new(at(start), at(end))
}

/// How many groups each of `levels` nested terms aggregations may return
/// for `buckets` in all.
fn groups_per_level(buckets: u64, levels: usize) -> u64 {
    let levels = u32::try_from(levels.max(1)).unwrap_or(1);
    ((buckets as f64).powf(1.0 / f64::from(levels)).floor() as u64).max(1)
}

fn metric_aggregation(metric: &Metric) -> Value {
    let field = &metric.field;
    match metric.summary {
        Summary::Avg => json!({"avg": {"field": field}}),
        Summary::Min => json!({"min": {"field": field}}),
        Summary::Max => json!({"max": {"field": field}}),
        Summary::Sum => json!({"sum": {"field": field}}),
        Summary::Count | Summary::Last => json!({"value_count": {"field": field}}),
        Summary::Percentile(n) => json!({"percentiles": {"field": field, "percents": [n]}}),
    }
}

/// `leaf` named `name`, inside one terms aggregation per group field
/// (`g0`, `g1`...), outermost first.
fn nest(group_by: &[String], size: u64, name: &str, leaf: Value) -> Value {
    let mut inner = json!({ name: leaf });
    for (depth, field) in group_by.iter().enumerate().rev() {
        inner = json!({
            format!("g{depth}"): {
                "terms": {"field": field, "size": size},
                "aggs": inner,
            }
        });
    }
    inner
}

fn filter_queries(filters: &[(String, Vec<Value>)]) -> Vec<Query> {
    filters
        .iter()
        .map(|(field, values)| {
            let handle = Field::<Value>::new(field.clone());
            match values.as_slice() {
                [one] => handle.eq(one.clone()),
                many => handle.one_of(many.iter().cloned()),
            }
        })
        .collect()
}
