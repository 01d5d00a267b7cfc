//! The watcher: evaluates rules again and again and reports what changed
//! (a rule, field and group starting or stopping to fire) to a hook and as
//! [`Alert`] records.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Utc};

use super::Rules;
use super::violation::Violation;
use crate::alerts::{Alert, AlertState};
use crate::error::Result;
use crate::store::Store;

/// What is called with each change.
type Hook = Box<dyn FnMut(&Change) + Send>;

/// A rule, field and group.
type Key = (String, Option<String>, BTreeMap<String, String>);

/// One state change seen by [`Watcher::tick`].
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Firing or resolved.
    pub state: AlertState,
    /// The evaluation time that saw it.
    pub at: DateTime<Utc>,
    /// The violation: the new one when firing, the last one seen when
    /// resolved.
    pub violation: Violation,
}

/// Re-evaluates rules and reports state changes.
///
/// ```no_run
/// # async fn watch(store: esrecord::Store) -> esrecord::Result<()> {
/// use esrecord::rules::{Rules, Watcher};
///
/// let rules = Rules::from_path("rules.yaml")?;
/// let mut watcher = Watcher::new(rules)
///     .on_change(|change| println!("{:?} {}", change.state, change.violation.message));
/// watcher
///     .run(&store, std::time::Duration::from_secs(60), std::future::pending())
///     .await;
/// # Ok(()) }
/// ```
pub struct Watcher {
    rules: Rules,
    firing: BTreeMap<Key, Violation>,
    hook: Option<Hook>,
    record_alerts: bool,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("rules", &self.rules.rules().len())
            .field("firing", &self.firing.len())
            .field("record_alerts", &self.record_alerts)
            .finish()
    }
}

impl Watcher {
    /// A watcher of `rules` that records an [`Alert`] for each change.
    pub fn new(rules: Rules) -> Watcher {
        Watcher {
            rules,
            firing: BTreeMap::new(),
            hook: None,
            record_alerts: true,
        }
    }

    /// Calls `hook` with each change, in the order of the violations.
    pub fn on_change(mut self, hook: impl FnMut(&Change) + Send + 'static) -> Watcher {
        self.hook = Some(Box::new(hook));
        self
    }

    /// Whether changes are recorded as [`Alert`] records (on by default).
    pub fn record_alerts(mut self, record: bool) -> Watcher {
        self.record_alerts = record;
        self
    }

    /// What fires now, as of the last evaluation.
    pub fn firing(&self) -> impl Iterator<Item = &Violation> {
        self.firing.values()
    }

    /// Evaluates the rules at `at` (the clock is the caller's: tests give
    /// it, [`Watcher::run`] gives the time now) and reports what started
    /// and stopped firing since the previous evaluation: first the
    /// resolved, then the firing, each in rule order.
    pub async fn tick(&mut self, store: &Store, at: DateTime<Utc>) -> Result<Vec<Change>> {
        let violations = self.rules.evaluate(store, at).await?;
        let mut now: BTreeMap<Key, Violation> = BTreeMap::new();
        let mut order = Vec::new();
        for violation in violations {
            let key = (
                violation.rule.clone(),
                violation.field.clone(),
                violation.group.clone(),
            );
            order.push(key.clone());
            now.insert(key, violation);
        }
        let mut changes = Vec::new();
        let resolved: Vec<Key> = self
            .firing
            .keys()
            .filter(|key| !now.contains_key(*key))
            .cloned()
            .collect();
        for key in resolved {
            if let Some(violation) = self.firing.remove(&key) {
                changes.push(Change {
                    state: AlertState::Resolved,
                    at,
                    violation,
                });
            }
        }
        for key in order {
            if let Some(violation) = now.remove(&key) {
                if !self.firing.contains_key(&key) {
                    changes.push(Change {
                        state: AlertState::Firing,
                        at,
                        violation: violation.clone(),
                    });
                }
                self.firing.insert(key, violation);
            }
        }
        for change in &changes {
            if self.record_alerts {
                store.record(Alert::of(&change.violation, change.state, at))?;
            }
            if let Some(hook) = self.hook.as_mut() {
                hook(change);
            }
        }
        Ok(changes)
    }

    /// Evaluates every `every` until `stop` completes. An evaluation that
    /// fails is logged and tried again at the next interval (the store or
    /// cluster may be back by then); the state is kept across it.
    pub async fn run(
        &mut self,
        store: &Store,
        every: std::time::Duration,
        stop: impl Future<Output = ()>,
    ) {
        let mut stop = std::pin::pin!(stop);
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = interval.tick() => {
                    if let Err(error) = self.tick(store, Utc::now()).await {
                        tracing::warn!("rules evaluation failed, trying again in {every:?}: {error}");
                    }
                }
            }
        }
    }
}
