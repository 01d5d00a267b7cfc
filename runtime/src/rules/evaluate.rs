//! Running the searches of a plan and judging each rule, group and field
//! on their answers.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::compile::{AbsenceSearch, WindowSearch, millis, newest_request};
use super::rule::{Check, Compare, Rule, Summary};
use super::violation::{Violation, group_suffix, span, with_unit};
use crate::error::{Error, Result};
use crate::operations::{self, JsonSearch};
use crate::record_type::RecordType;
use crate::store::Store;

/// The violations of one evaluation, by rule index, and how many searches
/// it issued.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub(super) violations: Vec<(usize, Violation)>,
    pub(super) searches: u64,
}

/// One group of a search's answer: its key per `group_by` field and the
/// aggregation result below the terms.
#[derive(Debug)]
struct Group {
    keys: Vec<(String, Value)>,
    leaf: Value,
}

impl Group {
    fn labels(&self) -> BTreeMap<String, String> {
        self.keys
            .iter()
            .map(|(field, key)| {
                let text = match key {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (field.clone(), text)
            })
            .collect()
    }
}

/// Runs one window search and judges the rules it serves.
pub(super) async fn run_window_search(
    rules: &[Rule],
    search: &WindowSearch,
    store: &Store,
    at: DateTime<Utc>,
    outcome: &mut Outcome,
) -> Result<()> {
    let aggregations = aggregate(search.record_type, search.request(at)?, store, outcome).await?;
    let groups = groups(
        &aggregations,
        &search.group_by,
        "w",
        &rules[search.rules[0]],
    )?;
    let start = search.start(at);
    for group in &groups {
        let labels = group.labels();
        let buckets = windows_of(&group.leaf, start, search.window_ms(), search.windows);
        for &index in &search.rules {
            let rule = &rules[index];
            let fields: Vec<Option<&String>> = if rule.fields.is_empty() {
                vec![None]
            } else {
                rule.fields.iter().map(Some).collect()
            };
            for field in fields {
                let all = match rule.summary {
                    Summary::Last => {
                        let field = field.map(String::as_str).unwrap_or_default();
                        newest_values(rule, search, group, &buckets, field, store, at, outcome)
                            .await?
                    }
                    _ => summaries(search, rule.summary, field, &buckets),
                };
                let read = rule.windows_read() as usize;
                let series = &all[all.len().saturating_sub(read)..];
                if let Some(violation) = judge(rule, field, &labels, series, at) {
                    outcome.violations.push((index, violation));
                }
            }
        }
    }
    Ok(())
}

/// Runs one absence search and judges the rules it serves.
pub(super) async fn run_absence_search(
    rules: &[Rule],
    search: &AbsenceSearch,
    store: &Store,
    at: DateTime<Utc>,
    outcome: &mut Outcome,
) -> Result<()> {
    let aggregations = aggregate(search.record_type, search.request(at)?, store, outcome).await?;
    let mut groups = groups(
        &aggregations,
        &search.group_by,
        "last",
        &rules[search.rules[0]],
    )?;
    if groups.is_empty() {
        // Nothing of any group within the look-back: one violation, for
        // the type as a whole.
        groups.push(Group {
            keys: Vec::new(),
            leaf: Value::Null,
        });
    }
    for &index in &search.rules {
        let rule = &rules[index];
        let Check::Absence {
            absent_for,
            seen_within,
        } = rule.check
        else {
            continue;
        };
        for group in &groups {
            let last_seen = group.leaf["value"]
                .as_f64()
                .map(|ms| DateTime::<Utc>::UNIX_EPOCH + Duration::milliseconds(ms as i64));
            let since = at - Duration::seconds(absent_for as i64);
            if last_seen.is_some_and(|t| t >= since) {
                continue;
            }
            let labels = group.labels();
            let observed = last_seen.map(|t| (at - t).num_milliseconds() as f64 / 1000.0);
            let seen = match last_seen {
                Some(t) => format!(
                    "the newest at {}",
                    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                ),
                None => format!("none in the last {}", span(seen_within)),
            };
            let message = format!(
                "{} no records for {}, {seen}{}",
                rule.type_name(),
                span(absent_for),
                group_suffix(&labels)
            );
            outcome.violations.push((
                index,
                Violation {
                    rule: rule.name.clone(),
                    level: rule.level,
                    record_type: rule.type_name(),
                    field: None,
                    summary: Summary::Count,
                    group: labels,
                    window_start: since,
                    window_end: at,
                    observed,
                    values: Vec::new(),
                    threshold: None,
                    last_seen,
                    unit: Some("s".to_owned()),
                    message,
                },
            ));
        }
    }
    Ok(())
}

/// Runs one search of the plan; its aggregations.
async fn aggregate(
    record_type: &RecordType,
    search: JsonSearch,
    store: &Store,
    outcome: &mut Outcome,
) -> Result<Value> {
    let answer = operations::of(record_type)?.search(store, &search).await?;
    outcome.searches += 1;
    Ok(answer.aggregations.unwrap_or(Value::Null))
}

/// The groups of an answer, walking one terms aggregation per `group_by`
/// field. More groups than a search returns is an error, not a silent cut.
fn groups(
    aggregations: &Value,
    group_by: &[String],
    leaf: &str,
    rule: &Rule,
) -> Result<Vec<Group>> {
    let mut out = Vec::new();
    walk(
        aggregations,
        group_by,
        0,
        &mut Vec::new(),
        leaf,
        rule,
        &mut out,
    )?;
    Ok(out)
}

fn walk(
    node: &Value,
    group_by: &[String],
    depth: usize,
    keys: &mut Vec<(String, Value)>,
    leaf: &str,
    rule: &Rule,
    out: &mut Vec<Group>,
) -> Result<()> {
    let Some(field) = group_by.get(depth) else {
        out.push(Group {
            keys: keys.clone(),
            leaf: node[leaf].clone(),
        });
        return Ok(());
    };
    let terms = &node[format!("g{depth}").as_str()];
    if terms["sum_other_doc_count"].as_u64().unwrap_or(0) > 0 {
        return Err(Error::RuleEvaluation {
            rule: rule.name.clone(),
            reason: format!(
                "{field} has more values than one search returns with this many windows; narrow the rule with `where`, or use fewer or longer windows"
            ),
        });
    }
    for bucket in terms["buckets"].as_array().into_iter().flatten() {
        let key = match &bucket["key_as_string"] {
            Value::String(s) => Value::String(s.clone()),
            _ => bucket["key"].clone(),
        };
        keys.push((field.clone(), key));
        walk(bucket, group_by, depth + 1, keys, leaf, rule, out)?;
        keys.pop();
    }
    Ok(())
}

/// The histogram's buckets by window, oldest first; `Null` for a window
/// the answer left out.
fn windows_of(histogram: &Value, start: i64, window_ms: i64, windows: u64) -> Vec<Value> {
    let mut out = vec![Value::Null; windows as usize];
    for bucket in histogram["buckets"].as_array().into_iter().flatten() {
        let Some(key) = bucket["key"].as_f64() else {
            continue;
        };
        let position = (key as i64 - start).div_euclid(window_ms);
        if let Some(slot) = usize::try_from(position).ok().and_then(|p| out.get_mut(p)) {
            *slot = bucket.clone();
        }
    }
    out
}

/// The summary of each window: a count is 0 in an empty window; every
/// other summary has no value there.
fn summaries(
    search: &WindowSearch,
    summary: Summary,
    field: Option<&String>,
    buckets: &[Value],
) -> Vec<Option<f64>> {
    let metric = field.and_then(|field| {
        search
            .metrics
            .iter()
            .position(|m| &m.field == field && m.summary == summary)
            .map(|i| format!("m{i}"))
    });
    buckets
        .iter()
        .map(|bucket| {
            let docs = bucket["doc_count"].as_u64().unwrap_or(0);
            match (summary, &metric) {
                (Summary::Count, None) => Some(docs as f64),
                (Summary::Count, Some(m)) => {
                    Some(bucket[m.as_str()]["value"].as_f64().unwrap_or(0.0))
                }
                _ if docs == 0 => None,
                (Summary::Percentile(n), Some(m)) => percentile(&bucket[m.as_str()]["values"], n),
                (_, Some(m)) => bucket[m.as_str()]["value"].as_f64(),
                (_, None) => None,
            }
        })
        .collect()
}

/// The value for percent `n` of a percentiles result (`{"99.0": 312.4}`).
fn percentile(values: &Value, n: f64) -> Option<f64> {
    let values = values.as_object()?;
    values
        .iter()
        .find(|(key, _)| key.parse::<f64>().is_ok_and(|k| (k - n).abs() < 1e-9))
        .and_then(|(_, value)| value.as_f64())
}

/// `last`: the field of each window's newest record, one search per window
/// with records (Elasticsearch's top_hits would do it in one, the
/// embedded engine has none).
#[allow(clippy::too_many_arguments)]
async fn newest_values(
    rule: &Rule,
    search: &WindowSearch,
    group: &Group,
    buckets: &[Value],
    field: &str,
    store: &Store,
    at: DateTime<Utc>,
    outcome: &mut Outcome,
) -> Result<Vec<Option<f64>>> {
    let operations = operations::of(search.record_type)?;
    let read = rule.windows_read() as usize;
    let first = buckets.len().saturating_sub(read);
    let start = search.start(at);
    let mut out = vec![None; buckets.len()];
    for (i, bucket) in buckets.iter().enumerate().skip(first) {
        if bucket["doc_count"].as_u64().unwrap_or(0) == 0 {
            continue;
        }
        let from = start + i as i64 * search.window_ms();
        let request = newest_request(
            &search.filters,
            &group.keys,
            from,
            from + search.window_ms(),
        )?;
        let answer = operations.search(store, &request).await?;
        outcome.searches += 1;
        out[i] = answer
            .hits
            .last()
            .and_then(|hit| value_at(&hit.record, field))
            .and_then(Value::as_f64);
    }
    Ok(out)
}

/// The value at a dotted path of a record: nested objects, or a map's key
/// that has dots of its own.
fn value_at<'v>(record: &'v Value, path: &str) -> Option<&'v Value> {
    if let Some(found) = record.get(path) {
        return Some(found);
    }
    let (head, rest) = path.split_once('.')?;
    value_at(record.get(head)?, rest)
}

/// What one window of a rule compares, with the baseline it is compared
/// against (for a baseline rule).
#[derive(Debug, Clone, Copy)]
struct Observation {
    value: Option<f64>,
    baseline: Option<(f64, f64)>,
}

/// The observation of window `j` of `series`.
fn observe(compare: Compare, series: &[Option<f64>], j: usize) -> Observation {
    let current = series[j];
    let previous = j.checked_sub(1).and_then(|p| series[p]);
    let value = match compare {
        Compare::Value | Compare::Baseline(_) => current,
        Compare::DeltaAbsolute => current.zip(previous).map(|(c, p)| c - p),
        Compare::DeltaPercent => current.zip(previous).map(|(c, p)| {
            if p == 0.0 {
                if c == 0.0 {
                    0.0
                } else {
                    c.signum() * f64::INFINITY
                }
            } else {
                (c - p) / p.abs() * 100.0
            }
        }),
    };
    let baseline = match compare {
        Compare::Baseline(n) => {
            let before: Vec<f64> = series[j.saturating_sub(n as usize)..j]
                .iter()
                .flatten()
                .copied()
                .collect();
            mean_and_sigma(&before)
        }
        _ => None,
    };
    // A baseline of fewer than two windows with data says nothing.
    let value = match compare {
        Compare::Baseline(_) if baseline.is_none() => None,
        _ => value,
    };
    Observation { value, baseline }
}

/// The mean and population standard deviation, of two values or more.
fn mean_and_sigma(values: &[f64]) -> Option<(f64, f64)> {
    if values.len() < 2 {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    Some((mean, variance.sqrt()))
}

/// Whether the rule fires on `series` (its windows, oldest first, the
/// newest ending at `at`), and the violation if it does: every one of the
/// last `windows` windows must break the condition.
fn judge(
    rule: &Rule,
    field: Option<&String>,
    group: &BTreeMap<String, String>,
    series: &[Option<f64>],
    at: DateTime<Utc>,
) -> Option<Violation> {
    let Check::Threshold {
        condition,
        compare,
        windows,
        missing_fires,
    } = rule.check
    else {
        return None;
    };
    let windows = windows as usize;
    if series.len() < windows {
        return None;
    }
    let first = series.len() - windows;
    let mut last = None;
    for j in first..series.len() {
        let observation = observe(compare, series, j);
        let (fires, threshold) = match observation.value {
            Some(value) => {
                let (fires, threshold) = condition.fires(value, observation.baseline);
                (fires, Some(threshold))
            }
            None => (missing_fires, None),
        };
        if !fires {
            return None;
        }
        last = Some((observation, threshold));
    }
    let (observation, threshold) = last?;
    let unit = rule.unit.as_deref();
    let what = match field {
        Some(field) => format!("{} {field} {}", rule.type_name(), rule.summary),
        None => format!("{} count", rule.type_name()),
    };
    let window = span(rule.window);
    let comparison = threshold.map(|t| condition.describe_firing(&t));
    let percent_unit = if compare == Compare::DeltaPercent {
        "%"
    } else {
        ""
    };
    let body = match (compare, observation.value, &comparison) {
        (_, None, _) => format!("{what} over {window}: no data"),
        (Compare::DeltaAbsolute | Compare::DeltaPercent, Some(delta), Some(comparison)) => {
            let j = series.len() - 1;
            let change = match compare {
                Compare::DeltaPercent => with_unit(Some(delta), Some("%")),
                _ => with_unit(Some(delta), unit),
            };
            let sign = if delta > 0.0 { "+" } else { "" };
            format!(
                "{what} over {window} changed by {sign}{change} ({} to {}) {comparison}{percent_unit}",
                with_unit(series[j - 1], unit),
                with_unit(series[j], unit)
            )
        }
        (Compare::Baseline(n), Some(value), Some(comparison)) => format!(
            "{what} over {window} = {} {comparison} over {n} windows",
            with_unit(Some(value), unit)
        ),
        (_, Some(value), Some(comparison)) => {
            format!(
                "{what} over {window} = {} {comparison}",
                with_unit(Some(value), unit)
            )
        }
        (_, Some(value), None) => {
            format!("{what} over {window} = {}", with_unit(Some(value), unit))
        }
    };
    let duration = if windows > 1 {
        let shown: Vec<String> = series[first..]
            .iter()
            .map(|v| with_unit(*v, None))
            .collect();
        format!(
            " for {} ({windows} windows: {})",
            span(rule.window * windows as u64),
            shown.join(", ")
        )
    } else {
        String::new()
    };
    let message = format!("{body}{duration}{}", group_suffix(group));
    let window_start = at - Duration::seconds(rule.window as i64);
    Some(Violation {
        rule: rule.name.clone(),
        level: rule.level,
        record_type: rule.type_name(),
        field: field.cloned(),
        summary: rule.summary,
        group: group.clone(),
        window_start,
        window_end: at,
        observed: observation.value,
        values: series.to_vec(),
        threshold: threshold.or(condition.fixed_threshold()),
        last_seen: None,
        unit: rule.unit.clone(),
        message,
    })
}

/// `at` as a whole millisecond, the grid every window search uses.
pub(super) fn truncate(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + Duration::milliseconds(millis(at))
}
