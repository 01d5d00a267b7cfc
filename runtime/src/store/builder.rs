//! Opening a store: its configuration, from the environment or in code
//! ([`StoreBuilder`]), its hooks, and a backend with its writer for each
//! configured backend.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::retention::Enforcer;
use super::{Inner, NamedBackend, Store};
use crate::backend::Backend;
use crate::backend::elasticsearch::ElasticsearchBackend;
#[cfg(feature = "embedded")]
use crate::backend::embedded::EmbeddedBackend;
use crate::config::{BackendKind, Config};
use crate::dead_letter::DeadLetter;
use crate::error::{Error, Result};
use crate::hooks::{BulkError, Hooks, SaveEvent, TemplateEvent};
use crate::writer::{Target, Writer};

/// Builds a [`Store`] in code.
///
/// ```no_run
/// let store = esrecord::Store::builder().embedded("./records").open()?;
/// # Ok::<(), esrecord::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct StoreBuilder {
    config: Result<Config, String>,
    hooks: Hooks,
}

impl StoreBuilder {
    /// Starts from `config`.
    pub fn config(mut self, config: Config) -> Self {
        self.config = Ok(config);
        self
    }

    /// Uses an embedded store in `path` as the default backend.
    pub fn embedded(self, path: impl Into<std::path::PathBuf>) -> Self {
        self.config(Config::embedded(path))
    }

    /// Changes the configuration in place.
    pub fn configure(mut self, change: impl FnOnce(&mut Config)) -> Self {
        if let Ok(config) = &mut self.config {
            change(config);
        }
        self
    }

    /// Calls `hook` with every document the store gives up on (see
    /// [`DeadLetter`]), besides counting it.
    pub fn on_dead_letter(mut self, hook: impl Fn(&DeadLetter) + Send + Sync + 'static) -> Self {
        self.hooks.dead_letter = Some(Arc::new(hook));
        self
    }

    /// Calls `hook` with each record about to be written, with the index
    /// it goes to (for recorded records: when its batch is encoded).
    pub fn on_pre_save(mut self, hook: impl Fn(&SaveEvent<'_>) + Send + Sync + 'static) -> Self {
        self.hooks.pre_save = Some(Arc::new(hook));
        self
    }

    /// Calls `hook` with each record once the backend has acknowledged it.
    pub fn on_post_save(mut self, hook: impl Fn(&SaveEvent<'_>) + Send + Sync + 'static) -> Self {
        self.hooks.post_save = Some(Arc::new(hook));
        self
    }

    /// Calls `hook` before a template is created or replaced (by `setup`,
    /// or before a type's first write).
    pub fn on_pre_template_create(
        mut self,
        hook: impl Fn(&TemplateEvent<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.hooks.pre_template_create = Some(Arc::new(hook));
        self
    }

    /// Calls `hook` after a template was created or replaced.
    pub fn on_post_template_create(
        mut self,
        hook: impl Fn(&TemplateEvent<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.hooks.post_template_create = Some(Arc::new(hook));
        self
    }

    /// Calls `hook` after every bulk request that failed, whole or in
    /// part, with its status, how many documents it wrote and how many
    /// failed, and the errors (see [`BulkError`]). Failed documents that
    /// may pass are still retried.
    pub fn on_error(mut self, hook: impl Fn(&BulkError) + Send + Sync + 'static) -> Self {
        self.hooks.error = Some(Arc::new(hook));
        self
    }

    /// Opens the store.
    pub fn open(self) -> Result<Store> {
        let config = self.config.map_err(Error::Config)?;
        Store::open_with(config, self.hooks)
    }
}

impl Store {
    /// Opens the store `ESRECORD_CONFIG`, `./esrecord.toml`, `ESRECORD_URL`
    /// or `ESRECORD_DATA` describe (in that order), else an embedded store
    /// at `./esrecord-data`.
    pub fn open() -> Result<Store> {
        Store::with_config(Config::from_environment()?)
    }

    /// A builder that starts from the same configuration as [`Store::open`].
    pub fn builder() -> StoreBuilder {
        StoreBuilder {
            config: Config::from_environment().map_err(|e| e.to_string()),
            hooks: Hooks::default(),
        }
    }

    /// Opens a store with `config`.
    pub fn with_config(config: Config) -> Result<Store> {
        Store::open_with(config, Hooks::default())
    }

    fn open_with(config: Config, hooks: Hooks) -> Result<Store> {
        let mut backends = BTreeMap::new();
        for (name, backend_config) in &config.backends {
            let backend = open_backend(name, &backend_config.kind)?;
            let naming = config.clone();
            let writer = Writer::start(
                name,
                Target {
                    backend: Arc::clone(&backend),
                    name_type: Box::new(move |t| naming.named_type(t)),
                    autosetup: config.autosetup,
                    config: config.writer.clone(),
                    hooks: hooks.clone(),
                    max_docs_per_second: backend_config.max_docs_per_second,
                },
            )?;
            backends.insert(name.clone(), NamedBackend { backend, writer });
        }
        let enforce = config
            .retention
            .enforce
            .then_some(config.retention.interval);
        let store = Store {
            inner: Arc::new(Inner {
                config,
                backends,
                hooks,
                retention: std::sync::Mutex::new(None),
            }),
        };
        if let Some(interval) = enforce {
            let enforcer = Enforcer::start(Arc::downgrade(&store.inner), interval)?;
            if let Ok(mut slot) = store.inner.retention.lock() {
                *slot = Some(enforcer);
            }
        }
        Ok(store)
    }
}

/// Opens the backend `kind` describes, for the backend called `name` (named
/// in the error when the embedded engine is not built in).
#[cfg_attr(feature = "embedded", allow(unused_variables))]
fn open_backend(name: &str, kind: &BackendKind) -> Result<Arc<dyn Backend>> {
    Ok(match kind {
        #[cfg(feature = "embedded")]
        BackendKind::Embedded { path, read_only } => Arc::new(if *read_only {
            EmbeddedBackend::open_read_only(path)?
        } else {
            EmbeddedBackend::open(path)?
        }),
        #[cfg(not(feature = "embedded"))]
        BackendKind::Embedded { path, .. } => {
            return Err(Error::Config(format!(
                "backend {name:?} is the embedded engine (at {}), which this program was built without: enable esrecord's `embedded` feature (on by default) or configure an Elasticsearch backend",
                path.display()
            )));
        }
        BackendKind::Elasticsearch(cluster) => Arc::new(ElasticsearchBackend::connect(cluster)?),
    })
}

#[cfg(all(test, not(feature = "embedded")))]
mod tests {
    use crate::config::Config;
    use crate::error::Error;

    #[test]
    fn an_embedded_backend_without_the_engine_built_in_says_which_feature_to_enable() {
        let Err(Error::Config(message)) =
            super::super::Store::with_config(Config::embedded("data"))
        else {
            panic!("an embedded backend opened without the embedded feature");
        };
        assert!(message.contains("backend \"default\""), "{message}");
        assert!(message.contains("`embedded` feature"), "{message}");
    }
}
