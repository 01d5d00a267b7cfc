//! `setup` and `check`: the templates of the types, against what their
//! backends hold.

use super::output::print;
use super::{Context, Failure, Outcome};
use crate::store::{CheckStatus, SetupOutcome};
use crate::template::TemplateDiff;

/// Creates or updates the templates of the types named (every type when
/// none); with `dry_run`, says what it would do and changes nothing.
pub(crate) async fn setup(
    cx: &Context,
    names: &[String],
    dry_run: bool,
) -> Result<Outcome, Failure> {
    let types = cx.selected(names)?;
    let store = cx.open_store()?;
    let entries: Vec<(String, &str, Option<TemplateDiff>)> = if dry_run {
        let report = store.check_types(&types).await?;
        report
            .entries
            .into_iter()
            .map(|(name, status)| match status {
                CheckStatus::InSync => (name, "unchanged", None),
                CheckStatus::Missing => (name, "would be created", None),
                CheckStatus::Drifted(diff) => (name, "would be updated", Some(diff)),
                CheckStatus::Foreign(_) => (name, "would be left alone (not esrecord's)", None),
            })
            .collect()
    } else {
        let report = store.setup_types(&types).await?;
        report
            .entries
            .into_iter()
            .map(|(name, outcome)| match outcome {
                SetupOutcome::Created => (name, "created", None),
                SetupOutcome::Unchanged => (name, "unchanged", None),
                SetupOutcome::RolledOver => (name, "rolled over", None),
                SetupOutcome::Updated(diff) => (name, "updated", Some(diff)),
                SetupOutcome::Refused(_) => (name, "left alone (not esrecord's; see check)", None),
            })
            .collect()
    };
    let mut lines = Vec::new();
    for (name, what, diff) in entries {
        lines.push(format!("{name}: {what}"));
        let changes = diff.map(|d| d.changes).unwrap_or_default();
        lines.extend(changes.iter().map(|change| format!("  {change}")));
    }
    print(&lines.join("\n"))?;
    Ok(Outcome::Success)
}

/// Compares every template with its backend's: success when all are in
/// sync, failure naming each drifted (with the differences) or missing
/// one. Two types that would share templates or indexes fail here too.
pub(crate) async fn check(cx: &Context, names: &[String]) -> Result<Outcome, Failure> {
    let types = cx.selected(names)?;
    let store = cx.open_store()?;
    let report = store.check_types(&types).await?;
    print(report.to_string().trim_end())?;
    if report.is_in_sync() {
        Ok(Outcome::Success)
    } else {
        eprintln!("check failed: run setup to create or replace the templates named above");
        Ok(Outcome::Failed)
    }
}
