//! A rule checked against the registry: its type, fields, summary, window,
//! filters, groups, level and what makes it fire.

use std::fmt;

use serde_json::Value;

use super::condition::{Condition, Limit, Op};
use super::file::RuleSpec;
use crate::Retention;
use crate::metrics::NamePattern;
use crate::record_type::RecordType;
use crate::registry;
use crate::stored_fields::{self, Kind};

/// How serious a firing rule is: daktylos' `alert` (its `confirm`) and
/// `failure` (its `validate`), or `warning` and `critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `warning`.
    Warning,
    /// `alert` (the default).
    Alert,
    /// `failure`.
    Failure,
    /// `critical`.
    Critical,
}

impl Level {
    /// The name the rules file and messages use.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Warning => "warning",
            Level::Alert => "alert",
            Level::Failure => "failure",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a rule computes over each window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Summary {
    /// The mean.
    Avg,
    /// The smallest value.
    Min,
    /// The largest value.
    Max,
    /// The sum.
    Sum,
    /// How many records (with the field, when the rule names one).
    Count,
    /// The Nth percentile (`p99`, `p99.9`): approximate on the embedded
    /// engine (within 1%) and on Elasticsearch (TDigest).
    Percentile(f64),
    /// The value of the window's newest record.
    Last,
}

impl Summary {
    fn parse(text: &str) -> Option<Summary> {
        Some(match text {
            "avg" | "mean" => Summary::Avg,
            "min" => Summary::Min,
            "max" => Summary::Max,
            "sum" => Summary::Sum,
            "count" => Summary::Count,
            "last" => Summary::Last,
            _ => {
                let n: f64 = text.strip_prefix('p')?.parse().ok()?;
                if !(0.0..=100.0).contains(&n) {
                    return None;
                }
                Summary::Percentile(n)
            }
        })
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Summary::Avg => f.write_str("avg"),
            Summary::Min => f.write_str("min"),
            Summary::Max => f.write_str("max"),
            Summary::Sum => f.write_str("sum"),
            Summary::Count => f.write_str("count"),
            Summary::Last => f.write_str("last"),
            Summary::Percentile(n) => write!(f, "p{n}"),
        }
    }
}

/// What a threshold rule compares: the window's value, its change from the
/// previous window, or its distance from the baseline of earlier windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// The window's value.
    Value,
    /// `delta: absolute`: this window's value minus the previous one's.
    DeltaAbsolute,
    /// `delta: percent`: the change from the previous window in percent of
    /// the previous value (0 when both are 0, ±inf from 0).
    DeltaPercent,
    /// `baseline: N`: against the mean and standard deviation of the N
    /// windows before.
    Baseline(u32),
}

/// What makes a rule fire.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// A condition on a summary of each window.
    Threshold {
        /// The condition.
        condition: Condition,
        /// What is compared.
        compare: Compare,
        /// How many consecutive windows must all break it (`for: 15m` over
        /// 5m windows is 3); 1 without `for`.
        windows: u32,
        /// Whether a window without data breaks it (`missing: fire`);
        /// by default it does not.
        missing_fires: bool,
    },
    /// No records (per group) for `absent_for` seconds, among the groups
    /// seen within `seen_within` seconds.
    Absence {
        /// How long without a record fires.
        absent_for: u64,
        /// How far back groups are looked for.
        seen_within: u64,
    },
}

/// A rule of a rules file, checked against the registry.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its name: given, or made from the type, field and condition.
    pub name: String,
    /// The type its records are of.
    pub record_type: &'static RecordType,
    /// The fields it summarizes, globs expanded and exclusions removed;
    /// empty for `count` of records and for absence.
    pub fields: Vec<String>,
    /// The summary over each window.
    pub summary: Summary,
    /// The window length in seconds.
    pub window: u64,
    /// Only records whose field has one of the values.
    pub filters: Vec<(String, Vec<Value>)>,
    /// One result per value (combination) of these fields.
    pub group_by: Vec<String>,
    /// How serious it is.
    pub level: Level,
    /// What makes it fire.
    pub check: Check,
    /// The unit shown after values: given, or from the field name
    /// (`_ms`: ms, `_bytes`: B, `_seconds`: s).
    pub unit: Option<String>,
}

/// The most windows one evaluation reads per rule (a baseline's and a
/// duration's together).
pub(super) const MAX_WINDOWS: u64 = 10_000;
/// How far back absence rules look for groups by default.
const DEFAULT_SEEN_WITHIN: u64 = 86_400;
/// The previous windows a baseline condition uses by default.
const DEFAULT_BASELINE: u32 = 12;

impl Rule {
    /// How many windows ending at the evaluation time a threshold rule
    /// reads.
    pub(super) fn windows_read(&self) -> u64 {
        match self.check {
            Check::Threshold {
                compare, windows, ..
            } => {
                let before = match compare {
                    Compare::Value => 0,
                    Compare::DeltaAbsolute | Compare::DeltaPercent => 1,
                    Compare::Baseline(n) => u64::from(n),
                };
                before + u64::from(windows)
            }
            Check::Absence { .. } => 0,
        }
    }

    /// The type as messages name it: `shop.pageview`.
    pub fn type_name(&self) -> String {
        format!(
            "{}.{}",
            self.record_type.app_label(),
            self.record_type.name()
        )
    }

    /// Checks `spec` against the registry; every problem found, each a
    /// message that says what to write instead.
    pub(super) fn check(spec: &RuleSpec) -> Result<Rule, Vec<String>> {
        let mut problems = Vec::new();
        let record_type = match registry::find(&spec.record_type) {
            Ok(found) => Some(found),
            Err(_) => {
                let known: Vec<String> = registry::types()
                    .iter()
                    .map(|t| format!("{}.{}", t.app_label(), t.name()))
                    .collect();
                problems.push(format!(
                    "unknown record type `{}`{}; the types: {}",
                    spec.record_type,
                    did_you_mean(&spec.record_type, known.iter().map(String::as_str)),
                    known.join(", ")
                ));
                None
            }
        };
        let level = match spec.level.as_deref() {
            None | Some("alert") => Level::Alert,
            Some("failure") => Level::Failure,
            Some("warning") => Level::Warning,
            Some("critical") => Level::Critical,
            Some(other) => {
                problems.push(format!(
                    "level `{other}`{}: write alert, failure, warning or critical",
                    did_you_mean(other, ["alert", "failure", "warning", "critical"])
                ));
                Level::Alert
            }
        };
        let window = match spec.window.as_deref() {
            Some(text) => duration(text, "window", &mut problems).unwrap_or(60),
            None if spec.absent_for.is_some() => 60,
            None => {
                problems.push("no window: add `window: 5m` (s, m, h, d or w)".to_owned());
                60
            }
        };
        let absence = spec.absent_for.is_some();
        let summary = match (&spec.summary, absence) {
            (Some(text), false) => Summary::parse(text).unwrap_or_else(|| {
                problems.push(format!(
                    "summary `{text}`{}: write avg, min, max, sum, count, last or a percentile such as p99",
                    did_you_mean(text, ["avg", "min", "max", "sum", "count", "last", "p99"])
                ));
                Summary::Avg
            }),
            (None, false) if spec.field.is_none() && spec.fields.is_empty() => Summary::Count,
            (None, false) => Summary::Avg,
            (_, true) => Summary::Count,
        };
        let check = check_of(spec, window, &mut problems);
        let Some(record_type) = record_type else {
            return Err(problems);
        };
        let fields = if absence {
            if spec.field.is_some() || !spec.fields.is_empty() || spec.summary.is_some() {
                problems.push(
                    "an absence rule (absent_for) takes no field or summary: it fires on records missing; remove them, or make it a rule with `when`"
                        .to_owned(),
                );
            }
            Vec::new()
        } else {
            fields_of(spec, record_type, summary, &mut problems)
        };
        let filters = filters_of(spec, record_type, &mut problems);
        let group_by = spec.group_by.to_vec();
        for name in &group_by {
            match stored_fields::field(record_type, name) {
                Some(Kind::Text) => problems.push(format!(
                    "group_by `{name}` is a text field; group by a keyword field"
                )),
                Some(Kind::Float) => problems.push(format!(
                    "group_by `{name}` is a floating-point field; group by a keyword or integer field"
                )),
                Some(_) => {}
                None => problems.push(unknown_field(record_type, name, "group_by")),
            }
        }
        if group_by.len() > 3 {
            problems.push("group_by takes at most three fields".to_owned());
        }
        let unit = spec.unit.clone().or_else(|| {
            fields
                .first()
                .filter(|_| !matches!(summary, Summary::Count))
                .and_then(|f| unit_of(f))
        });
        if !problems.is_empty() {
            return Err(problems);
        }
        let name = spec
            .name
            .clone()
            .unwrap_or_else(|| default_name(record_type, &fields, summary, &check));
        let rule = Rule {
            name,
            record_type,
            fields,
            summary,
            window,
            filters,
            group_by,
            level,
            check,
            unit,
        };
        if rule.windows_read() > MAX_WINDOWS {
            return Err(vec![format!(
                "the rule reads {} windows (baseline and for together); at most {MAX_WINDOWS}: use a longer window",
                rule.windows_read()
            )]);
        }
        Ok(rule)
    }
}

fn check_of(spec: &RuleSpec, window: u64, problems: &mut Vec<String>) -> Check {
    if let Some(text) = &spec.absent_for {
        if spec.when.is_some()
            || spec.must.is_some()
            || spec.delta.is_some()
            || spec.baseline.is_some()
            || spec.duration.is_some()
        {
            problems.push(
                "an absence rule (absent_for) takes no when, must, delta, baseline or for; write those in a rule of their own"
                    .to_owned(),
            );
        }
        let absent_for = duration(text, "absent_for", problems).unwrap_or(60);
        let seen_within = match &spec.seen_within {
            Some(text) => duration(text, "seen_within", problems).unwrap_or(DEFAULT_SEEN_WITHIN),
            None => DEFAULT_SEEN_WITHIN.max(absent_for * 2),
        };
        if seen_within <= absent_for {
            problems.push(format!(
                "seen_within must be longer than absent_for ({text}): groups are looked for over seen_within"
            ));
        }
        return Check::Absence {
            absent_for,
            seen_within,
        };
    }
    if spec.seen_within.is_some() {
        problems.push("seen_within goes with absent_for only".to_owned());
    }
    let condition = match (&spec.when, &spec.must) {
        (Some(text), None) => Condition::parse(text, true),
        (None, Some(text)) => Condition::parse(text, false),
        (Some(_), Some(_)) => Err("both when and must: write one (`when` fires when it holds, `must` when it does not)".to_owned()),
        (None, None) => Err("no condition: add `when: \"> 250\"` (fires when it holds), `must: \"< 250\"` (fires when it does not) or `absent_for: 10m`".to_owned()),
    };
    let condition = condition.unwrap_or_else(|problem| {
        problems.push(problem);
        Condition {
            limit: Limit::Number(Op::Gt, 0.0),
            fires_when_true: true,
        }
    });
    let compare = match (spec.delta.as_deref(), spec.baseline) {
        (Some(_), Some(_)) => {
            problems.push("both delta and baseline: a rule compares with one".to_owned());
            Compare::Value
        }
        (Some("absolute"), None) => Compare::DeltaAbsolute,
        (Some("percent"), None) => Compare::DeltaPercent,
        (Some(other), None) => {
            problems.push(format!("delta `{other}`: write absolute or percent"));
            Compare::Value
        }
        (None, Some(n)) if n < 2 => {
            problems.push(format!("baseline {n}: a baseline needs at least 2 windows"));
            Compare::Value
        }
        (None, Some(_)) if !condition.uses_baseline() => {
            problems.push(
                "baseline given, but the condition does not use it: write `> baseline + 3 sigma`"
                    .to_owned(),
            );
            Compare::Value
        }
        (None, Some(n)) => Compare::Baseline(n),
        (None, None) if condition.uses_baseline() => Compare::Baseline(DEFAULT_BASELINE),
        (None, None) => Compare::Value,
    };
    if spec.delta.is_some() && condition.uses_baseline() {
        problems
            .push("a delta rule compares the change with a number, not with a baseline".to_owned());
    }
    let windows = match &spec.duration {
        None => 1,
        Some(text) => match duration(text, "for", problems) {
            Some(seconds) if seconds % window != 0 || seconds < window => {
                problems.push(format!(
                    "for: {text} is not a whole number of windows ({}s each): write a multiple of the window",
                    window
                ));
                1
            }
            Some(seconds) => u32::try_from(seconds / window).unwrap_or(u32::MAX),
            None => 1,
        },
    };
    let missing_fires = match spec.missing.as_deref() {
        None | Some("ignore") => false,
        Some("fire") => true,
        Some(other) => {
            problems.push(format!(
                "missing `{other}`: write ignore (the default) or fire"
            ));
            false
        }
    };
    Check::Threshold {
        condition,
        compare,
        windows,
        missing_fires,
    }
}

/// The fields the rule names, globs expanded and exclusions removed.
fn fields_of(
    spec: &RuleSpec,
    record_type: &RecordType,
    summary: Summary,
    problems: &mut Vec<String>,
) -> Vec<String> {
    let mut written: Vec<&str> = spec.fields.iter().map(String::as_str).collect();
    if let Some(field) = &spec.field {
        if !written.is_empty() {
            problems.push("both field and fields: write one".to_owned());
        }
        written.insert(0, field);
    }
    if written.is_empty() {
        if summary != Summary::Count {
            problems.push(format!(
                "summary {summary} needs a field: add `field: ...` (or use count, which counts records)"
            ));
        }
        if !spec.exclude.is_empty() {
            problems.push(
                "exclude without fields: exclude removes fields that `fields` globs match"
                    .to_owned(),
            );
        }
        return Vec::new();
    }
    let known = stored_fields::fields(record_type);
    let needs_numbers = summary != Summary::Count;
    let mut fields: Vec<String> = Vec::new();
    for pattern in written {
        let glob = NamePattern::new(pattern);
        if glob.exact().is_some() {
            match stored_fields::field(record_type, pattern) {
                None => problems.push(unknown_field(record_type, pattern, "field")),
                Some(kind) if needs_numbers && !kind.is_numeric() => problems.push(format!(
                    "field `{pattern}` is {}: {summary} needs a numeric field (count works on any)",
                    kind.describe()
                )),
                Some(_) => fields.push(pattern.to_owned()),
            }
            continue;
        }
        let matched: Vec<&(String, Kind)> = known
            .iter()
            .filter(|(path, _)| !path.ends_with(".*") && glob.matches(path))
            .collect();
        let usable: Vec<&String> = matched
            .iter()
            .filter(|(_, kind)| !needs_numbers || kind.is_numeric())
            .map(|(path, _)| path)
            .collect();
        if matched.is_empty() {
            problems.push(format!(
                "fields `{pattern}` matches no field of {}; its fields: {}",
                record_type.template_name(),
                names(&known)
            ));
        } else if usable.is_empty() {
            problems.push(format!(
                "fields `{pattern}` matches only fields that are not numbers ({}): {summary} needs numeric fields",
                matched.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        fields.extend(usable.into_iter().cloned());
    }
    for exclusion in &spec.exclude {
        let glob = NamePattern::new(exclusion);
        let before = fields.len();
        fields.retain(|field| !glob.matches(field));
        if fields.len() == before {
            problems.push(format!(
                "exclude `{exclusion}` excludes none of the rule's fields ({})",
                fields.join(", ")
            ));
        }
    }
    fields.dedup();
    if fields.is_empty() && problems.is_empty() {
        problems
            .push("the exclusions exclude every field: the rule would check nothing".to_owned());
    }
    fields
}

fn filters_of(
    spec: &RuleSpec,
    record_type: &RecordType,
    problems: &mut Vec<String>,
) -> Vec<(String, Vec<Value>)> {
    let mut filters = Vec::new();
    for (path, value) in &spec.filters {
        let Some(kind) = stored_fields::field(record_type, path) else {
            problems.push(unknown_field(record_type, path, "where"));
            continue;
        };
        let values = match value {
            Value::Array(values) => values.clone(),
            value => vec![value.clone()],
        };
        let fits = |value: &Value| match kind {
            Kind::Integer => value.is_i64() || value.is_u64(),
            Kind::Unsigned => value.is_u64(),
            Kind::Float => value.is_number(),
            Kind::Boolean => value.is_boolean(),
            Kind::Keyword | Kind::Date => {
                value.is_string() || value.is_number() || value.is_boolean()
            }
            Kind::Text => false,
        };
        if kind == Kind::Text {
            problems.push(format!(
                "where `{path}` is a text field: filter on keyword fields"
            ));
        } else if values.is_empty() {
            problems.push(format!("where `{path}` lists no values"));
        } else if let Some(bad) = values.iter().find(|v| !fits(v)) {
            problems.push(format!(
                "where `{path}` is {}: {bad} is not one",
                kind.describe()
            ));
        } else {
            // Keys of keyword fields are strings, whatever YAML made of them.
            let values = values
                .into_iter()
                .map(|v| match (kind, v) {
                    (Kind::Keyword | Kind::Date, Value::String(s)) => Value::String(s),
                    (Kind::Keyword | Kind::Date, other) => Value::String(other.to_string()),
                    (_, v) => v,
                })
                .collect();
            filters.push((path.clone(), values));
        }
    }
    filters
}

/// A duration such as `5m`, in seconds.
fn duration(text: &str, key: &str, problems: &mut Vec<String>) -> Option<u64> {
    let parsed = Retention::parse(text).map(|r| r.seconds());
    if parsed.is_none() {
        problems.push(format!(
            "{key} `{text}` is not a duration: write a whole number and s, m, h, d or w (`5m`, `1h`)"
        ));
    }
    parsed
}

fn unknown_field(record_type: &RecordType, path: &str, key: &str) -> String {
    let known = stored_fields::fields(record_type);
    format!(
        "{key} `{path}`: {} has no such field{}; its fields: {}",
        record_type.template_name(),
        did_you_mean(path, known.iter().map(|(p, _)| p.as_str())),
        names(&known)
    )
}

fn names(known: &[(String, Kind)]) -> String {
    known
        .iter()
        .map(|(p, _)| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `" (did you mean `x`?)"` for the closest candidate, when one is close.
fn did_you_mean<'a>(written: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(written, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// The unit a field's name ends with.
fn unit_of(field: &str) -> Option<String> {
    let last = field.rsplit('.').next().unwrap_or(field);
    [
        ("_ms", "ms"),
        ("_us", "µs"),
        ("_ns", "ns"),
        ("_seconds", "s"),
        ("_secs", "s"),
        ("_bytes", "B"),
        ("_percent", "%"),
        ("_pct", "%"),
    ]
    .into_iter()
    .find(|(suffix, _)| last.ends_with(suffix))
    .map(|(_, unit)| unit.to_owned())
}

fn default_name(
    record_type: &RecordType,
    fields: &[String],
    summary: Summary,
    check: &Check,
) -> String {
    let type_name = format!("{}.{}", record_type.app_label(), record_type.name());
    match check {
        Check::Absence { absent_for, .. } => format!("{type_name} absent for {absent_for}s"),
        Check::Threshold { condition, .. } => {
            format!("{type_name} {} {summary} {condition}", fields.join(","))
        }
    }
}
