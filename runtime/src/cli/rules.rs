//! `rules check` and `rules watch`: a rules file evaluated against the
//! store once, or every interval with its state changes printed and
//! recorded as `esrecord.alert` records.

use std::path::PathBuf;

use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Subcommand, ValueEnum};
use serde_json::{Value, json};

use super::output::{print, print_json, table};
use super::{Context, Failure, Outcome, times};
use crate::Retention;
use crate::alerts::AlertState;
use crate::error::Error;
use crate::rules::{Change, Rules, Threshold, Violation, Watcher, number as number_text};

/// What `rules` does.
#[derive(Debug, Subcommand)]
pub(crate) enum RulesCommand {
    /// Evaluates the rules once: exit 0 when nothing fires, 1 when
    /// something does, 2 when the file is wrong (with each problem's line).
    Check {
        /// The rules file (YAML).
        file: PathBuf,
        /// Evaluates the windows that end at this time (default: now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// How to print the violations.
        #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
        format: RulesFormat,
    },
    /// Evaluates the rules every interval, prints what starts and stops
    /// firing, and records each change as an `esrecord.alert` record, until
    /// Ctrl-C.
    Watch {
        /// The rules file (YAML).
        file: PathBuf,
        /// How often: 30s, 1m, 5m...
        #[arg(long, default_value = "1m")]
        every: String,
    },
}

/// How `rules check` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RulesFormat {
    /// A table: level, rule, group, observed, threshold, message.
    Table,
    /// One JSON array of the violations.
    Json,
}

/// Runs a `rules` command.
pub(crate) async fn run(cx: &Context, command: RulesCommand) -> Result<Outcome, Failure> {
    match command {
        RulesCommand::Check { file, at, format } => check(cx, &file, at.as_deref(), format).await,
        RulesCommand::Watch { file, every } => watch(cx, &file, &every).await,
    }
}

/// The rules of `file`; a file that cannot be read is a usage error (exit
/// 2), as a wrong one is.
fn load(file: &PathBuf) -> Result<Rules, Failure> {
    Rules::from_path(file).map_err(|error| match error {
        Error::Io { .. } => Failure::usage(error.to_string()),
        other => Failure::from(other),
    })
}

async fn check(
    cx: &Context,
    file: &PathBuf,
    at: Option<&str>,
    format: RulesFormat,
) -> Result<Outcome, Failure> {
    let rules = load(file)?;
    let now = Utc::now();
    let at = match at {
        Some(text) => times::instant(text, now).map_err(|e| Failure::usage(format!("--at {e}")))?,
        None => now,
    };
    let store = cx.open_store()?;
    let evaluation = rules.evaluate_counted(&store, at).await?;
    let violations = &evaluation.violations;
    match format {
        RulesFormat::Json => print_json(&Value::Array(violations.iter().map(as_json).collect()))?,
        RulesFormat::Table if violations.is_empty() => {}
        RulesFormat::Table => {
            let rows = violations
                .iter()
                .map(|v| {
                    vec![
                        v.level.to_string(),
                        v.rule.clone(),
                        group_text(v),
                        observed_text(v),
                        threshold_text(v.threshold.as_ref()),
                        v.message.clone(),
                    ]
                })
                .collect();
            print(&table(
                &["level", "rule", "group", "observed", "threshold", "message"],
                rows,
            ))?;
        }
    }
    if !cx.quiet {
        let firing: std::collections::BTreeSet<&str> =
            violations.iter().map(|v| v.rule.as_str()).collect();
        eprintln!(
            "{} of {} rules fire ({} violations) for the windows ending {}; {} searches",
            firing.len(),
            rules.rules().len(),
            violations.len(),
            time_text(at),
            evaluation.searches
        );
    }
    Ok(if violations.is_empty() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

async fn watch(cx: &Context, file: &PathBuf, every: &str) -> Result<Outcome, Failure> {
    let rules = load(file)?;
    let interval = Retention::parse(every)
        .map(|r| std::time::Duration::from_secs(r.seconds()))
        .ok_or_else(|| {
            Failure::usage(format!(
                "--every {every:?} is not a duration: write a whole number and s, m, h or d (30s, 1m, 5m)"
            ))
        })?;
    let store = cx.open_store()?;
    if !cx.quiet {
        eprintln!(
            "watching {} rules of {} every {every}; changes are recorded as esrecord.alert records; Ctrl-C stops",
            rules.rules().len(),
            file.display()
        );
    }
    let mut watcher = Watcher::new(rules).on_change(|change| {
        // A closed standard output does not stop the watcher: the alerts
        // are recorded all the same.
        let _ = print(&change_line(change));
    });
    let stop = async {
        // Without a signal handler, only the process's end stops it.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    watcher.run(&store, interval, stop).await;
    let firing = watcher.firing().count();
    store.close().await?;
    if !cx.quiet {
        eprintln!("stopped; {firing} still firing");
    }
    Ok(Outcome::Success)
}

/// `2024-03-05T12:05:00Z FIRING critical slow cart: ...`.
fn change_line(change: &Change) -> String {
    let state = match change.state {
        AlertState::Firing => "FIRING",
        AlertState::Resolved => "RESOLVED",
    };
    let v = &change.violation;
    format!(
        "{} {state} {} {}: {}",
        time_text(change.at),
        v.level,
        v.rule,
        v.message
    )
}

fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn group_text(v: &Violation) -> String {
    let pairs: Vec<String> = v.group.iter().map(|(k, g)| format!("{k}={g}")).collect();
    pairs.join(", ")
}

fn observed_text(v: &Violation) -> String {
    v.observed
        .map(number_text)
        .unwrap_or_else(|| "no data".to_owned())
}

fn threshold_text(threshold: Option<&Threshold>) -> String {
    match threshold {
        None => String::new(),
        Some(Threshold::Number(n)) => number_text(*n),
        Some(Threshold::Between(low, high)) => {
            format!("{} to {}", number_text(*low), number_text(*high))
        }
        Some(Threshold::Baseline { limit, .. }) => number_text(*limit),
    }
}

/// A number for JSON: non-finite ones (a change from 0 in percent) as
/// strings, which JSON numbers cannot be.
fn number_json(n: f64) -> Value {
    if n.is_finite() {
        json!(n)
    } else {
        json!(n.to_string())
    }
}

fn as_json(v: &Violation) -> Value {
    let threshold = match v.threshold {
        None => Value::Null,
        Some(Threshold::Number(n)) => json!({"kind": "number", "value": n}),
        Some(Threshold::Between(low, high)) => json!({"kind": "between", "low": low, "high": high}),
        Some(Threshold::Baseline { mean, sigma, limit }) => {
            json!({"kind": "baseline", "mean": mean, "sigma": sigma, "limit": limit})
        }
    };
    json!({
        "rule": v.rule,
        "level": v.level.as_str(),
        "type": v.record_type,
        "field": v.field,
        "summary": v.summary.to_string(),
        "group": v.group,
        "window": {"from": time_text(v.window_start), "until": time_text(v.window_end)},
        "observed": v.observed.map(number_json),
        "values": v.values.iter().map(|x| x.map(number_json)).collect::<Vec<_>>(),
        "threshold": threshold,
        "last_seen": v.last_seen.map(time_text),
        "unit": v.unit,
        "message": v.message,
    })
}
