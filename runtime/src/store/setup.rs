//! `setup` and `check`: the template of every type compared with what its
//! backend holds, created or replaced by `setup`, and what each reports.

use std::fmt;

use super::Store;
use crate::error::Result;
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
            let name = named.template_name();
            let stored = backend.get_template(&name).await?;
            let outcome = match compare_template(&named, stored.as_ref()) {
                None => SetupOutcome::Created,
                Some(diff) if diff.is_in_sync() => SetupOutcome::Unchanged,
                Some(diff) => SetupOutcome::Updated(diff),
            };
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
            let name = named.template_name();
            let stored = backend.get_template(&name).await?;
            let status = match compare_template(&named, stored.as_ref()) {
                None => CheckStatus::Missing,
                Some(diff) if diff.is_in_sync() => CheckStatus::InSync,
                Some(diff) => CheckStatus::Drifted(diff),
            };
            report.entries.push((name, status));
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
