//! What every request is answered with: the store, the backend served,
//! its record types, the credentials, and the points in time opened.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::reply::EsError;
use crate::backend::Backend;
use crate::backend::IndexInfo;
use crate::cli::{Context, Failure};
use crate::config::Auth;
use crate::dead_letter::DeadLetter;
use crate::naming::glob_matches;
use crate::operations::{self, RecordOperations};
use crate::record_type::RecordType;
use crate::store::Store;
use crate::writer::Stats;

/// A record type of the served backend, with what requests ask of it
/// worked out once.
pub(crate) struct ServedType {
    /// The type as the backend names it.
    pub(crate) named: RecordType,
    /// Its template name, which a request may name for its indexes.
    pub(crate) template: String,
    /// The pattern of its indexes.
    pub(crate) pattern: String,
    /// How its records are read and recorded.
    pub(crate) operations: &'static dyn RecordOperations,
}

/// The state of `records serve`.
pub(crate) struct Server {
    pub(crate) store: Store,
    pub(crate) backend: Arc<dyn Backend>,
    /// The served types, looked up by index name for every request.
    types: Vec<ServedType>,
    pub(crate) auth: Auth,
    /// Records the backend refused, by id, until a `_bulk` reports them.
    refused: Arc<Mutex<HashMap<String, DeadLetter>>>,
    /// Points in time: the indexes each names, and when it expires.
    pits: Mutex<HashMap<String, (Vec<String>, Instant)>>,
}

impl Server {
    /// Opens the store, with a dead-letter hook that keeps refused
    /// records for `_bulk`'s answers.
    pub(crate) fn open(cx: &Context, backend_name: &str, auth: Auth) -> Result<Server, Failure> {
        let refused: Arc<Mutex<HashMap<String, DeadLetter>>> = Arc::default();
        let store = Store::builder()
            .config(cx.config.clone())
            .on_dead_letter({
                let refused = Arc::clone(&refused);
                move |letter| {
                    let mut refused = refused.lock().unwrap_or_else(PoisonError::into_inner);
                    refused.insert(letter.id.clone(), letter.clone());
                }
            })
            .open()?;
        let backend = Arc::clone(store.backend(backend_name)?);
        let types = cx
            .types()
            .into_iter()
            .filter(|t| t.backend() == backend_name)
            .map(|t| {
                let named = store.named_type(t)?;
                Ok(ServedType {
                    template: named.template_name(),
                    pattern: named.pattern(),
                    operations: operations::of(t)?,
                    named,
                })
            })
            .collect::<crate::Result<_>>()?;
        Ok(Server {
            store,
            backend,
            types,
            auth,
            refused,
            pits: Mutex::default(),
        })
    }

    pub(crate) fn type_count(&self) -> usize {
        self.types.len()
    }

    /// The served types.
    pub(crate) fn types(&self) -> impl Iterator<Item = &ServedType> {
        self.types.iter()
    }

    /// The type whose records go to index (or template) `name`.
    pub(crate) fn type_of_index(&self, name: &str) -> Option<&ServedType> {
        self.types
            .iter()
            .find(|t| t.template == name || glob_matches(&t.pattern, name))
    }

    /// The index patterns of a request's `{index}` (comma-separated names,
    /// patterns, or a type's template name, which stands for its pattern);
    /// every index when there is none, `_all` or `*`.
    pub(crate) fn patterns(&self, index: Option<&str>) -> Vec<String> {
        let Some(index) = index.filter(|i| !i.is_empty() && *i != "_all") else {
            return vec!["*".to_owned()];
        };
        index
            .split(',')
            .filter(|name| !name.is_empty())
            .map(
                |name| match self.types.iter().find(|t| t.template == name) {
                    Some(served) => served.pattern.clone(),
                    None => name.to_owned(),
                },
            )
            .collect()
    }

    /// The patterns of `index`, with each concrete name (no `*`) checked
    /// to exist, as Elasticsearch answers 404 for a missing index unless
    /// `ignore_unavailable`.
    pub(crate) async fn existing_patterns(
        &self,
        index: Option<&str>,
        ignore_unavailable: bool,
    ) -> Result<Vec<String>, EsError> {
        let patterns = self.patterns(index);
        if !ignore_unavailable {
            for pattern in patterns.iter().filter(|p| !p.contains('*')) {
                if self.backend.indices(pattern).await?.is_empty() {
                    return Err(EsError::index_not_found(pattern));
                }
            }
        }
        Ok(patterns)
    }

    /// The indexes `index` names, sorted by name; a concrete name (no
    /// `*`) that is not there is a 404.
    pub(crate) async fn indices(&self, index: Option<&str>) -> Result<Vec<IndexInfo>, EsError> {
        let mut found = Vec::new();
        for pattern in self.patterns(index) {
            let matched = self.backend.indices(&pattern).await?;
            if matched.is_empty() && !pattern.contains('*') {
                return Err(EsError::index_not_found(&pattern));
            }
            found.extend(matched);
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found.dedup_by(|a, b| a.name == b.name);
        Ok(found)
    }

    /// The refusal of the record with `id`, once the writer reported it.
    pub(crate) fn take_refusal(&self, id: &str) -> Option<DeadLetter> {
        let mut refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        refused.remove(id)
    }

    /// Opens a point in time over `patterns`, kept `keep_alive`.
    pub(crate) fn open_pit(&self, patterns: Vec<String>, keep_alive: Duration) -> String {
        let id = crate::writer::new_id().simple().to_string();
        let mut pits = self.pits.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        pits.retain(|_, (_, expires)| *expires > now);
        pits.insert(id.clone(), (patterns, now + keep_alive));
        id
    }

    /// The indexes of the point in time `id`, its keep-alive extended.
    pub(crate) fn pit_patterns(
        &self,
        id: &str,
        keep_alive: Option<Duration>,
    ) -> Option<Vec<String>> {
        let mut pits = self.pits.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let (patterns, expires) = pits.get_mut(id).filter(|(_, expires)| *expires > now)?;
        if let Some(keep_alive) = keep_alive {
            *expires = now + keep_alive;
        }
        Some(patterns.clone())
    }

    /// Closes the point in time `id`; whether it was open.
    pub(crate) fn close_pit(&self, id: &str) -> bool {
        let mut pits = self.pits.lock().unwrap_or_else(PoisonError::into_inner);
        pits.remove(id).is_some()
    }

    /// Closes the store, writing what is queued.
    pub(crate) async fn close(&self) -> Result<Stats, Failure> {
        Ok(self.store.close().await?)
    }
}
