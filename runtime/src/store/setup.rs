//! `setup` and `check`: the template of every type (and the ILM policy
//! and the data stream of a data-stream type) compared with what its
//! backend holds, created or replaced by `setup`, and what each reports.
//!
//! For a data-stream type, `setup` puts the policy first (the template
//! names it), then the template, then creates the stream if it does not
//! exist, or rolls it over when the template changed.

use std::fmt;

use super::Store;
use crate::error::{Error, Result};
use crate::lifecycle;
use crate::record_type::RecordType;
use crate::registry;
use crate::template::TemplateDiff;
use crate::writer;

impl Store {
    /// Creates or updates the template of every registered type, and
    /// reports what it did.
    pub async fn setup(&self) -> Result<SetupReport> {
        self.setup_types(&registry::types()).await
    }

    /// [`setup`](Self::setup) for the given types only.
    pub async fn setup_types(&self, types: &[&RecordType]) -> Result<SetupReport> {
        let mut report = SetupReport::default();
        for (record_type, named) in self.named_types(types)? {
            let backend = self.backend(record_type.backend())?;
            named.validate()?;
            if let Some(expected) = policy_of(&named)? {
                let name = named.template_name();
                let stored = backend.get_lifecycle_policy(&name).await?;
                let outcome = match stored.as_ref().map(|p| (p, lifecycle::is_managed(p))) {
                    None => SetupOutcome::Created,
                    Some((_, false)) => SetupOutcome::Refused(foreign_policy(&name)),
                    Some((stored, true)) => {
                        let diff = lifecycle::policy_diff(&expected, stored);
                        if diff.is_in_sync() {
                            SetupOutcome::Unchanged
                        } else {
                            SetupOutcome::Updated(diff)
                        }
                    }
                };
                let refused = matches!(outcome, SetupOutcome::Refused(_));
                if matches!(outcome, SetupOutcome::Created | SetupOutcome::Updated(_)) {
                    backend.put_lifecycle_policy(&name, &expected).await?;
                }
                report
                    .entries
                    .push((format!("{name} (ILM policy)"), outcome));
                if refused {
                    // Its template would hand the stream to that policy.
                    continue;
                }
            }
            let name = named.template_name();
            let stored = backend.get_template(&name).await?;
            let outcome = match compare_template(&named, stored.as_ref()) {
                None => SetupOutcome::Created,
                Some(diff) if diff.is_in_sync() => SetupOutcome::Unchanged,
                Some(diff) => SetupOutcome::Updated(diff),
            };
            let template_changed = matches!(outcome, SetupOutcome::Updated(_));
            if outcome != SetupOutcome::Unchanged {
                writer::put_template(
                    backend.as_ref(),
                    record_type.backend(),
                    &named,
                    &self.inner.hooks,
                )
                .await?;
            }
            report.entries.push((name, outcome));
            if let Some(stream) = named.data_stream() {
                let name = stream.name();
                let outcome = match backend.data_stream(name).await? {
                    None => {
                        backend.create_data_stream(name).await?;
                        SetupOutcome::Created
                    }
                    // A stream's backing indexes keep the template they
                    // were made from: roll over so the next one takes it.
                    Some(_) if template_changed => {
                        backend.rollover_data_stream(name).await?;
                        SetupOutcome::RolledOver
                    }
                    Some(_) => SetupOutcome::Unchanged,
                };
                report
                    .entries
                    .push((format!("{name} (data stream)"), outcome));
            }
        }
        Ok(report)
    }

    /// Compares the template of every registered type with what its backend
    /// holds.
    pub async fn check(&self) -> Result<CheckReport> {
        self.check_types(&registry::types()).await
    }

    /// [`check`](Self::check) for the given types only.
    pub async fn check_types(&self, types: &[&RecordType]) -> Result<CheckReport> {
        let mut report = CheckReport::default();
        for (record_type, named) in self.named_types(types)? {
            let backend = self.backend(record_type.backend())?;
            if let Some(expected) = policy_of(&named)? {
                let name = named.template_name();
                let status = match backend.get_lifecycle_policy(&name).await? {
                    None => CheckStatus::Missing,
                    Some(stored) if !lifecycle::is_managed(&stored) => {
                        CheckStatus::Foreign(foreign_policy(&name))
                    }
                    Some(stored) => {
                        let diff = lifecycle::policy_diff(&expected, &stored);
                        if diff.is_in_sync() {
                            CheckStatus::InSync
                        } else {
                            CheckStatus::Drifted(diff)
                        }
                    }
                };
                report
                    .entries
                    .push((format!("{name} (ILM policy)"), status));
            }
            let name = named.template_name();
            let stored = backend.get_template(&name).await?;
            let status = match compare_template(&named, stored.as_ref()) {
                None => CheckStatus::Missing,
                Some(diff) if diff.is_in_sync() => CheckStatus::InSync,
                Some(diff) => CheckStatus::Drifted(diff),
            };
            report.entries.push((name, status));
            if let Some(stream) = named.data_stream() {
                let name = stream.name();
                let status = match backend.data_stream(name).await? {
                    None => CheckStatus::Missing,
                    Some(_) => CheckStatus::InSync,
                };
                report
                    .entries
                    .push((format!("{name} (data stream)"), status));
            }
        }
        Ok(report)
    }

    /// The types as their backends name them, after checking that every
    /// backend exists and no two types on one backend collide.
    fn named_types<'a>(
        &self,
        types: &[&'a RecordType],
    ) -> Result<Vec<(&'a RecordType, RecordType)>> {
        let named: Vec<(&RecordType, RecordType)> = types
            .iter()
            .map(|t| Ok((*t, self.named_type(t)?)))
            .collect::<Result<_>>()?;
        for backend in self.inner.backends.keys() {
            let on_backend = named
                .iter()
                .filter(|(t, _)| t.backend() == backend)
                .map(|(_, n)| n);
            registry::check_collisions(on_backend)?;
        }
        Ok(named)
    }
}

/// The ILM policy a data-stream type's backend should hold, when esrecord
/// manages it (see [`lifecycle`]).
fn policy_of(named: &RecordType) -> Result<Option<serde_json::Value>> {
    let Some(lifecycle) = named.data_stream().and_then(|s| s.lifecycle()) else {
        return Ok(None);
    };
    lifecycle::policy_body(named, lifecycle)
        .map(Some)
        .map_err(Error::Config)
}

fn foreign_policy(name: &str) -> String {
    format!(
        "an ILM policy named {name} exists and esrecord does not manage it (no `_meta.managed_by: esrecord`), so it is left alone, and so is the type's template; rename that policy, or set ilm = false in [backends.NAME.data_streams] to let the cluster's policies apply"
    )
}

/// How a stored template compares with the type's; `None` when there is none.
fn compare_template(
    named: &RecordType,
    stored: Option<&serde_json::Value>,
) -> Option<TemplateDiff> {
    stored.map(|stored| TemplateDiff::between(&named.template_body(), stored))
}

/// What `setup` did to each template.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetupReport {
    /// Template name and outcome, per type.
    pub entries: Vec<(String, SetupOutcome)>,
}

/// What `setup` did to one template.
#[derive(Debug, Clone, PartialEq)]
pub enum SetupOutcome {
    /// It did not exist and was created.
    Created,
    /// It differed and was replaced; the differences it had.
    Updated(TemplateDiff),
    /// It was already in sync.
    Unchanged,
    /// A data stream whose template changed was rolled over, so that its
    /// next backing index (the new write index) follows the template; the
    /// indexes before it keep the mappings they were made with.
    RolledOver,
    /// It was left alone, for the reason given (an ILM policy of the same
    /// name that esrecord does not manage).
    Refused(String),
}

/// What `check` found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckReport {
    /// Template name and status, per type.
    pub entries: Vec<(String, CheckStatus)>,
}

/// The state of one template.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckStatus {
    /// As the type defines it.
    InSync,
    /// Not set up.
    Missing,
    /// Different from what the type defines.
    Drifted(TemplateDiff),
    /// Held by something esrecord does not manage, for the reason given.
    Foreign(String),
}

impl CheckReport {
    /// Whether every template is in sync.
    pub fn is_in_sync(&self) -> bool {
        self.entries
            .iter()
            .all(|(_, status)| *status == CheckStatus::InSync)
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, status) in &self.entries {
            match status {
                CheckStatus::InSync => writeln!(f, "{name}: in sync")?,
                CheckStatus::Missing => writeln!(f, "{name}: missing; run setup")?,
                CheckStatus::Foreign(reason) => writeln!(f, "{name}: not esrecord's: {reason}")?,
                CheckStatus::Drifted(diff) => {
                    writeln!(f, "{name}: drifted; run setup to replace it")?;
                    for change in &diff.changes {
                        writeln!(f, "  {change}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for SetupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, outcome) in &self.entries {
            match outcome {
                SetupOutcome::Created => writeln!(f, "{name}: created")?,
                SetupOutcome::Unchanged => writeln!(f, "{name}: unchanged")?,
                SetupOutcome::RolledOver => writeln!(
                    f,
                    "{name}: rolled over to a write index with the new template"
                )?,
                SetupOutcome::Refused(reason) => writeln!(f, "{name}: left alone: {reason}")?,
                SetupOutcome::Updated(diff) => {
                    writeln!(f, "{name}: updated")?;
                    for change in &diff.changes {
                        writeln!(f, "  {change}")?;
                    }
                }
            }
        }
        Ok(())
    }
}
