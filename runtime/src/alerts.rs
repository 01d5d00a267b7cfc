//! Alerts: the built-in record of a rule's state changes, written by the
//! [`Watcher`](crate::rules::Watcher), so that alerts are searched,
//! plotted and exported like any record.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Record;
use crate::rules::{Threshold, Violation};

/// Whether a rule started or stopped firing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    /// It fires now and did not at the previous evaluation.
    Firing,
    /// It fired at the previous evaluation and does not now.
    Resolved,
}

impl AlertState {
    /// `firing` or `resolved`, as [`Alert::state`] stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// One state change of one rule, field and group, as the watcher records
/// it (template `esrecord_alert`, one index a month).
///
/// ```
/// use esrecord::Record;
/// use esrecord::alerts::Alert;
///
/// assert_eq!(Alert::record_type().template_name(), "esrecord_alert");
/// assert_eq!(Alert::fields().observed.path(), "observed");
/// ```
#[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[record(app_label = "esrecord", timedepth = "month")]
pub struct Alert {
    /// When the change was seen: the evaluation time.
    pub timestamp: DateTime<Utc>,
    /// The rule's name.
    pub rule: String,
    /// `warning`, `alert`, `failure` or `critical`.
    pub level: String,
    /// `firing` or `resolved`.
    pub state: String,
    /// The record type the rule is about (`shop.pageview`).
    pub record_type: String,
    /// The field, when the rule summarizes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The group's field values.
    pub group: BTreeMap<String, String>,
    /// The value compared (for a resolved alert: the last firing value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<f64>,
    /// The number it was compared with (a baseline's limit; a range's
    /// lower bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// The violation's message.
    #[record(text)]
    pub message: String,
}

impl Alert {
    /// The record of `violation` changing to `state` at `at`.
    pub fn of(violation: &Violation, state: AlertState, at: DateTime<Utc>) -> Alert {
        let threshold = violation.threshold.map(|t| match t {
            Threshold::Number(n) => n,
            Threshold::Between(low, _) => low,
            Threshold::Baseline { limit, .. } => limit,
        });
        Alert {
            timestamp: at,
            rule: violation.rule.clone(),
            level: violation.level.as_str().to_owned(),
            state: state.as_str().to_owned(),
            record_type: violation.record_type.clone(),
            field: violation.field.clone(),
            group: violation.group.clone(),
            observed: violation.observed.filter(|v| v.is_finite()),
            threshold: threshold.filter(|v| v.is_finite()),
            message: violation.message.clone(),
        }
    }
}
