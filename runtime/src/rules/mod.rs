//! Rules over records: thresholds, deltas, baselines, durations and
//! absence, loaded from a YAML file, checked against the registry, and
//! evaluated by the backend's aggregations (the records stay in the store).
//!
//! ```yaml
//! rules:
//!   - name: slow cart
//!     type: shop.pageview
//!     field: latency.p99_ms        # stored names; `fields: [latency.*]` with `exclude`
//!     summary: p99                 # avg min max sum count last pN
//!     window: 5m
//!     when: "> 250"                # fires when it holds; `must:` fires when it does not
//!     where: {path: /cart}         # a value, or a list of values
//!     group_by: [tags.host]
//!     level: critical              # alert (default), failure, warning, critical
//!     for: 15m                     # every 5m window of the last 15m must break it
//!   - type: shop.pageview
//!     field: latency.p50_ms
//!     window: 1h
//!     delta: percent               # or absolute: this window against the previous
//!     when: "> 50"
//!   - type: shop.pageview
//!     summary: count
//!     window: 5m
//!     baseline: 12                 # the mean and sigma of the 12 windows before
//!     when: "< baseline - 3 sigma"
//!   - type: shop.pageview
//!     group_by: tags.host
//!     absent_for: 10m              # hosts seen in the last day (seen_within) that went quiet
//! ```
//!
//! Stated rules for the edge cases:
//! - A window without records has no value, and a rule does not fire on it
//!   (`missing: fire` makes it fire); `count` of an empty window is 0.
//! - A NaN fires every rule.
//! - `delta: percent` from 0 is 0% to 0 and ±infinity to anything else.
//! - A baseline needs two of its windows with data; without, the rule
//!   does not fire.
//! - Results are sorted by rule (file order), field, group and window.
//!
//! ```
//! # use esrecord::Record;
//! # #[derive(Record, serde::Serialize, serde::Deserialize)]
//! # #[record(app_label = "docshop")]
//! # struct Sale { timestamp: chrono::DateTime<chrono::Utc>, amount: f64 }
//! let rules = esrecord::rules::Rules::from_yaml(r#"
//! rules:
//!   - type: docshop.sale
//!     field: amount
//!     summary: sum
//!     window: 1h
//!     must: ">= 100"
//! "#).unwrap();
//! assert_eq!(rules.rules()[0].window, 3600);
//! let bad = esrecord::rules::Rules::from_yaml("rules:\n  - type: docshop.sale\n    field: amont\n    window: 1h\n    when: \"> 1\"\n");
//! assert!(bad.unwrap_err().to_string().contains("line 2: rule 1 (docshop.sale): field `amont`"));
//! ```

mod compile;
mod condition;
mod evaluate;
mod file;
mod rule;
mod violation;
mod watch;

use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};

pub use self::condition::{Condition, Limit, Op, Threshold};
pub use self::rule::{Check, Compare, Level, Rule, Summary};
pub use self::violation::Violation;
pub use self::watch::{Change, Watcher};

use self::compile::{AbsenceSearch, WindowSearch};
#[cfg(feature = "cli")]
pub(crate) use self::condition::number;
use crate::error::{Error, Result};
use crate::store::Store;

/// A loaded rules file: its rules, checked against the registry, and the
/// searches that evaluate them.
#[derive(Debug, Clone)]
pub struct Rules {
    rules: Vec<Rule>,
    windows: Vec<WindowSearch>,
    absences: Vec<AbsenceSearch>,
}

/// What one evaluation found, and what it cost.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// The violations, by rule (file order), field, group.
    pub violations: Vec<Violation>,
    /// How many searches the backends ran.
    pub searches: u64,
}

/// One problem of a rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    /// The line (1-based) of the rule, or of the syntax error.
    pub line: Option<usize>,
    /// Which rule (1-based, and its name or type), when it is about one.
    pub rule: Option<String>,
    /// What is wrong and what to write.
    pub message: String,
}

/// Every problem of a rules file ([`Error::InvalidRules`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblems {
    /// Where the rules came from: a path, or `rules` for text.
    pub source: String,
    /// The problems, in file order.
    pub problems: Vec<RuleProblem>,
}

impl fmt::Display for RuleProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        write!(
            f,
            "{}: {count} problem{}",
            self.source,
            if count == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            f.write_str("\n  ")?;
            if let Some(line) = problem.line {
                write!(f, "line {line}: ")?;
            }
            if let Some(rule) = &problem.rule {
                write!(f, "{rule}: ")?;
            }
            f.write_str(&problem.message)?;
        }
        Ok(())
    }
}

impl Rules {
    /// Reads rules from YAML text and checks them against the registry;
    /// every problem is reported, each with its line.
    pub fn from_yaml(text: &str) -> Result<Rules> {
        Rules::load(text, "rules")
    }

    /// Reads the rules file at `path` ([`Rules::from_yaml`]).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Rules> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            action: "read the rules file",
            path: path.display().to_string(),
            source,
        })?;
        Rules::load(&text, &path.display().to_string())
    }

    fn load(text: &str, source: &str) -> Result<Rules> {
        let invalid = |problems| {
            Error::InvalidRules(RuleProblems {
                source: source.to_owned(),
                problems,
            })
        };
        let file = file::parse(text).map_err(|error| {
            invalid(vec![RuleProblem {
                line: error.line,
                rule: None,
                message: error.message,
            }])
        })?;
        let mut rules = Vec::new();
        let mut problems = Vec::new();
        for (index, spec) in file.rules.iter().enumerate() {
            match Rule::check(spec) {
                Ok(rule) => rules.push((index, rule)),
                Err(found) => {
                    let line = file::rule_line(text, index);
                    let label = spec.name.as_ref().map_or_else(
                        || format!("rule {} ({})", index + 1, spec.record_type),
                        |name| format!("rule {} `{name}`", index + 1),
                    );
                    problems.extend(found.into_iter().map(|message| RuleProblem {
                        line,
                        rule: Some(label.clone()),
                        message,
                    }));
                }
            }
        }
        for (i, (index, rule)) in rules.iter().enumerate() {
            if rules[..i]
                .iter()
                .any(|(_, earlier)| earlier.name == rule.name)
            {
                problems.push(RuleProblem {
                    line: file::rule_line(text, *index),
                    rule: Some(format!("rule `{}`", rule.name)),
                    message: "another rule has this name: give each rule a name of its own"
                        .to_owned(),
                });
            }
        }
        if file.rules.is_empty() {
            problems.push(RuleProblem {
                line: None,
                rule: None,
                message: "no rules: add rules under `rules:`".to_owned(),
            });
        }
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        Ok(Rules::new(
            rules.into_iter().map(|(_, rule)| rule).collect(),
        ))
    }

    fn new(rules: Vec<Rule>) -> Rules {
        let (windows, absences) = compile::plan(&rules);
        Rules {
            rules,
            windows,
            absences,
        }
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Evaluates every rule for the windows that end at `at`; the
    /// violations, sorted by rule (file order), field and group.
    pub async fn evaluate(&self, store: &Store, at: DateTime<Utc>) -> Result<Vec<Violation>> {
        Ok(self.evaluate_counted(store, at).await?.violations)
    }

    /// [`Rules::evaluate`], with the number of searches it issued.
    pub async fn evaluate_counted(&self, store: &Store, at: DateTime<Utc>) -> Result<Evaluation> {
        let at = evaluate::truncate(at);
        let mut outcome = evaluate::Outcome::default();
        for search in &self.windows {
            evaluate::run_window_search(&self.rules, search, store, at, &mut outcome).await?;
        }
        for search in &self.absences {
            evaluate::run_absence_search(&self.rules, search, store, at, &mut outcome).await?;
        }
        let mut violations = outcome.violations;
        violations.sort_by(|(a, va), (b, vb)| {
            a.cmp(b)
                .then_with(|| va.field.cmp(&vb.field))
                .then_with(|| va.group.cmp(&vb.group))
        });
        Ok(Evaluation {
            violations: violations.into_iter().map(|(_, v)| v).collect(),
            searches: outcome.searches,
        })
    }
}
