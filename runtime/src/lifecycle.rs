//! ILM policies: the index lifecycle a data stream's backing indexes go
//! through, made from the type's `retention` and the backend's rollover
//! and downsampling settings, put by `setup` and compared by `check`.
//!
//! A type's policy is named like its template and has three phases at most:
//!
//! - `hot`: roll the write index over at `rollover_max_age` (default `1d`)
//!   or `rollover_max_primary_shard_size` (default `50gb`), whichever comes
//!   first (Elastic's own defaults are 30 days and 50gb; a day keeps the
//!   deletion close to the retention, as esrecord's daily partitions do);
//! - `warm`, for time series streams when `downsample_after` and
//!   `downsample_interval` are set: downsample each backing index to
//!   `fixed_interval` buckets once it is `downsample_after` old;
//! - `delete`, when the type has a `retention`: delete each backing index
//!   once it is `retention` old. ILM counts a phase's age from the index's
//!   rollover, so a record is kept between `retention` and `retention +
//!   rollover_max_age`.
//!
//! A policy carries `_meta.managed_by = "esrecord"`: `setup` replaces only
//! policies it manages, and leaves any other policy of the same name alone
//! (reporting it).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::Retention;
use crate::record_type::RecordType;
use crate::template::{Change, TemplateDiff};

/// A length of time as ILM writes it: whole days, hours, minutes or
/// seconds (parsed like `retention`: `"7d"`, `"12h"`, `"2w"`...).
///
/// ```
/// use esrecord::lifecycle::Age;
/// assert_eq!(Age::parse("2w").unwrap().to_string(), "14d");
/// assert_eq!(Age::parse("90m").unwrap().to_string(), "90m");
/// assert!(Age::parse("1.5d").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Age {
    seconds: u64,
}

impl Age {
    /// A length written as a whole number and `s`, `m`, `h`, `d` or `w`.
    pub fn parse(text: &str) -> Option<Age> {
        Retention::parse(text).map(Age::of)
    }

    /// The length of a retention.
    pub fn of(retention: Retention) -> Age {
        Age {
            seconds: retention.seconds(),
        }
    }

    /// The length in seconds.
    pub fn seconds(self) -> u64 {
        self.seconds
    }
}

impl fmt::Display for Age {
    /// In the largest unit that writes it exactly (ILM has no weeks).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, seconds) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
            if self.seconds.is_multiple_of(seconds) {
                return write!(f, "{}{unit}", self.seconds / seconds);
            }
        }
        write!(f, "{}s", self.seconds)
    }
}

/// The ILM settings of a backend's data streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    /// Roll the write index over at this age.
    pub rollover_max_age: Age,
    /// Roll over when a primary shard reaches this size (`"50gb"`).
    pub rollover_max_primary_shard_size: String,
    /// Downsample time series backing indexes, when set.
    pub downsample: Option<Downsample>,
}

/// ILM's `downsample` action: once a backing index is `after` old, its
/// points are replaced by one document per time series and
/// `fixed_interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Downsample {
    /// The age of the backing index (after rollover) it happens at.
    pub after: Age,
    /// The bucket of the downsampled points (`1h`).
    pub fixed_interval: Age,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            rollover_max_age: Age { seconds: 86_400 },
            rollover_max_primary_shard_size: "50gb".to_owned(),
            downsample: None,
        }
    }
}

/// The lifecycle keys of `[backends.NAME.data_streams]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct LifecycleSection {
    rollover_max_age: Option<String>,
    rollover_max_primary_shard_size: Option<String>,
    downsample_after: Option<String>,
    downsample_interval: Option<String>,
}

impl LifecycleSection {
    /// The settings, checked; the error names the key.
    pub(crate) fn resolve(self) -> Result<Lifecycle, String> {
        let age = |key: &str, text: &str| {
            Age::parse(text).ok_or_else(|| {
                format!("{key} = {text:?} is not a length; write a whole number and a unit: \"1d\", \"12h\", \"30m\"")
            })
        };
        let mut lifecycle = Lifecycle::default();
        if let Some(text) = &self.rollover_max_age {
            lifecycle.rollover_max_age = age("rollover_max_age", text)?;
        }
        if let Some(size) = self.rollover_max_primary_shard_size {
            if !is_byte_size(&size) {
                return Err(format!(
                    "rollover_max_primary_shard_size = {size:?} is not a size; write a whole number and b, kb, mb, gb, tb or pb: \"50gb\""
                ));
            }
            lifecycle.rollover_max_primary_shard_size = size;
        }
        lifecycle.downsample = match (&self.downsample_after, &self.downsample_interval) {
            (None, None) => None,
            (Some(after), Some(interval)) => Some(Downsample {
                after: age("downsample_after", after)?,
                fixed_interval: age("downsample_interval", interval)?,
            }),
            _ => {
                return Err(
                    "downsample_after and downsample_interval go together: give both (\"7d\" and \"1h\") or neither".into(),
                );
            }
        };
        Ok(lifecycle)
    }
}

/// `50gb`, `512mb`: a whole number and a byte unit, as Elasticsearch writes sizes.
fn is_byte_size(text: &str) -> bool {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0
        && text[..digits].parse::<u64>().is_ok_and(|n| n > 0)
        && ["b", "kb", "mb", "gb", "tb", "pb"].contains(&&text[digits..])
}

/// The body of `PUT _ilm/policy/{name}` for `record_type` (a data-stream
/// type, as its backend names it) under `lifecycle`. Downsampling applies
/// to time series streams only, and must come before the deletion.
pub fn policy_body(record_type: &RecordType, lifecycle: &Lifecycle) -> Result<Value, String> {
    let time_series = record_type
        .data_stream()
        .is_some_and(|stream| stream.is_time_series());
    let mut phases = Map::new();
    phases.insert(
        "hot".into(),
        json!({
            "min_age": "0ms",
            "actions": {"rollover": {
                "max_age": lifecycle.rollover_max_age.to_string(),
                "max_primary_shard_size": lifecycle.rollover_max_primary_shard_size,
            }},
        }),
    );
    let retention = record_type.retention().map(Age::of);
    if let Some(downsample) = lifecycle.downsample.filter(|_| time_series) {
        if retention.is_some_and(|retention| retention <= downsample.after) {
            return Err(format!(
                "{}: downsample_after ({}) is not before the type's retention ({}), so nothing would be left to downsample; downsample sooner or keep the records longer",
                record_type.rust_path(),
                downsample.after,
                retention.map(|r| r.to_string()).unwrap_or_default()
            ));
        }
        phases.insert(
            "warm".into(),
            json!({
                "min_age": downsample.after.to_string(),
                "actions": {"downsample": {"fixed_interval": downsample.fixed_interval.to_string()}},
            }),
        );
    }
    if let Some(retention) = retention {
        phases.insert(
            "delete".into(),
            json!({"min_age": retention.to_string(), "actions": {"delete": {}}}),
        );
    }
    Ok(json!({"policy": {
        "phases": phases,
        "_meta": {"managed_by": "esrecord", "rust_type": record_type.rust_path()},
    }}))
}

/// Whether a stored policy (the `policy` object of `GET _ilm/policy`) is
/// one esrecord manages.
pub fn is_managed(stored: &Value) -> bool {
    stored.pointer("/_meta/managed_by").and_then(Value::as_str) == Some("esrecord")
}

/// The differences between the policy a type expects (a
/// [`policy_body`]) and the `policy` object a cluster holds. Phases and
/// actions must match; within an action, the settings the type gives must
/// have its values, and settings only the cluster has are Elasticsearch's
/// defaults (`delete_searchable_snapshot`, `wait_timeout`), not drift.
///
/// ```
/// use serde_json::json;
/// let expected = json!({"policy": {"phases": {"delete": {"min_age": "90d", "actions": {"delete": {}}}}}});
/// let stored = json!({"phases": {"delete": {"min_age": "90d", "actions": {"delete": {"delete_searchable_snapshot": true}}}}});
/// assert!(esrecord::lifecycle::policy_diff(&expected, &stored).is_in_sync());
/// let shorter = json!({"phases": {"delete": {"min_age": "30d", "actions": {"delete": {}}}}});
/// assert_eq!(esrecord::lifecycle::policy_diff(&expected, &shorter).to_string(),
///     "~ phases.delete.min_age: stored \"30d\", record type defines \"90d\"");
/// ```
pub fn policy_diff(expected: &Value, stored: &Value) -> TemplateDiff {
    let expected = PolicyLeaves::of(expected.get("policy").unwrap_or(expected));
    let stored = PolicyLeaves::of(stored);
    let mut changes = Vec::new();
    for action in expected.actions.difference(&stored.actions) {
        changes.push(Change::Missing {
            path: action.clone(),
            expected: "(the action)".into(),
        });
    }
    for action in stored.actions.difference(&expected.actions) {
        changes.push(Change::Unexpected {
            path: action.clone(),
            actual: "(an action)".into(),
        });
    }
    for (path, want) in &expected.leaves {
        match stored.leaves.get(path) {
            Some(have) if have == want => {}
            Some(have) => changes.push(Change::Changed {
                path: path.clone(),
                expected: want.clone(),
                actual: have.clone(),
            }),
            None => changes.push(Change::Missing {
                path: path.clone(),
                expected: want.clone(),
            }),
        }
    }
    for (path, have) in &stored.leaves {
        // A setting within an action is a default when the type expects
        // the action, and part of an unexpected action otherwise.
        let within_action = stored
            .actions
            .iter()
            .any(|action| path.starts_with(&format!("{action}.")));
        if !expected.leaves.contains_key(path) && !within_action {
            changes.push(Change::Unexpected {
                path: path.clone(),
                actual: have.clone(),
            });
        }
    }
    changes.sort_by(|a, b| a.path().cmp(b.path()));
    TemplateDiff { changes }
}

/// A policy's `phases` as leaf paths (`phases.hot.actions.rollover.max_age`)
/// and the set of its actions (`phases.hot.actions.rollover`).
struct PolicyLeaves {
    leaves: BTreeMap<String, String>,
    actions: BTreeSet<String>,
}

impl PolicyLeaves {
    fn of(policy: &Value) -> Self {
        let mut leaves = BTreeMap::new();
        let mut actions = BTreeSet::new();
        let phases = policy.get("phases").and_then(Value::as_object);
        for (phase, body) in phases.into_iter().flatten() {
            let base = format!("phases.{phase}");
            if let Some(min_age) = body.get("min_age") {
                leaves.insert(format!("{base}.min_age"), scalar(min_age));
            }
            let phase_actions = body.get("actions").and_then(Value::as_object);
            for (action, settings) in phase_actions.into_iter().flatten() {
                let path = format!("{base}.actions.{action}");
                for (key, value) in settings.as_object().into_iter().flatten() {
                    leaves.insert(format!("{path}.{key}"), scalar(value));
                }
                actions.insert(path);
            }
        }
        PolicyLeaves { leaves, actions }
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_sections_are_checked() {
        assert!(is_byte_size("50gb"));
        assert!(is_byte_size("512mb"));
        for bad in ["", "gb", "0gb", "50 gb", "50GB", "1.5gb", "50g"] {
            assert!(!is_byte_size(bad), "{bad:?}");
        }
        let half = LifecycleSection {
            downsample_after: Some("7d".into()),
            ..LifecycleSection::default()
        };
        assert!(half.resolve().unwrap_err().contains("go together"));
        let bad_age = LifecycleSection {
            rollover_max_age: Some("1 day".into()),
            ..LifecycleSection::default()
        };
        assert!(
            bad_age
                .resolve()
                .unwrap_err()
                .starts_with("rollover_max_age")
        );
    }

    #[test]
    fn a_stored_policy_with_another_phase_or_value_drifts() {
        let expected = json!({"policy": {"phases": {
            "hot": {"min_age": "0ms", "actions": {"rollover": {"max_age": "1d", "max_primary_shard_size": "50gb"}}},
            "delete": {"min_age": "90d", "actions": {"delete": {}}},
        }}});
        let mut stored = expected["policy"].clone();
        stored["phases"]["delete"]["actions"]["delete"]["delete_searchable_snapshot"] = json!(true);
        assert!(policy_diff(&expected, &stored).is_in_sync());
        stored["phases"]["warm"] =
            json!({"min_age": "2d", "actions": {"forcemerge": {"max_num_segments": 1}}});
        stored["phases"]["hot"]["actions"]["rollover"]["max_age"] = json!("30d");
        let paths: Vec<String> = policy_diff(&expected, &stored)
            .changes
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            paths,
            [
                "~ phases.hot.actions.rollover.max_age: stored \"30d\", record type defines \"1d\"",
                "- phases.warm.actions.forcemerge: \"(an action)\" (stored, not defined by the record type)",
                "- phases.warm.min_age: \"2d\" (stored, not defined by the record type)",
            ]
        );
    }
}
