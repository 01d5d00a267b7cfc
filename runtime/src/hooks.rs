//! Hooks, as djelme's signals: callbacks the application sets on the
//! [`StoreBuilder`](crate::StoreBuilder) to hear of saves, template
//! creation, failed bulk requests and dead letters.
//!
//! Hooks run on the store's threads (the writer's, for recorded records),
//! so they should be quick: count, log, or hand the event on.
//!
//! ```no_run
//! let store = esrecord::Store::builder()
//!     .on_pre_template_create(|t| println!("creating {} on {}", t.name, t.backend))
//!     .on_post_save(|saved| println!("{} is in {}", saved.id, saved.index))
//!     .on_error(|e| eprintln!("bulk {:?}: {} ok, {} failed: {:?}", e.status, e.succeeded, e.failed, e.errors))
//!     .open()?;
//! # Ok::<(), esrecord::Error>(())
//! ```

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::dead_letter::DeadLetter;
use crate::record_type::RecordType;

/// A record about to be written (pre-save) or written (post-save).
#[derive(Debug, Clone, Copy)]
pub struct SaveEvent<'a> {
    /// The record's type.
    pub record_type: &'static RecordType,
    /// The backend it goes to.
    pub backend: &'a str,
    /// The index it goes to.
    pub index: &'a str,
    /// Its document id.
    pub id: &'a str,
    /// The document, as JSON.
    pub source: &'a [u8],
}

/// A template about to be created or replaced (pre), or just put (post).
#[derive(Debug, Clone, Copy)]
pub struct TemplateEvent<'a> {
    /// The record type it is for.
    pub record_type: &'a RecordType,
    /// The backend it is put on.
    pub backend: &'a str,
    /// The template's name.
    pub name: &'a str,
    /// The template's body.
    pub body: &'a Value,
}

/// A bulk request that failed, whole or in part, in the shape of apptuit's
/// error handler: the HTTP status (when there was an answer), how many of
/// its documents were written, how many failed, and the errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkError {
    /// The backend it was sent to.
    pub backend: String,
    /// The status of the whole request: 200 when only some items failed,
    /// the error status when the request failed, `None` without an answer.
    pub status: Option<u16>,
    /// Documents written by this request.
    pub succeeded: usize,
    /// Documents that failed in this request (they may still be retried).
    pub failed: usize,
    /// What went wrong, the first few distinct errors.
    pub errors: Vec<String>,
}

pub(crate) type SaveHook = Arc<dyn Fn(&SaveEvent<'_>) + Send + Sync>;
pub(crate) type TemplateHook = Arc<dyn Fn(&TemplateEvent<'_>) + Send + Sync>;
pub(crate) type ErrorHook = Arc<dyn Fn(&BulkError) + Send + Sync>;
pub(crate) type DeadLetterHook = Arc<dyn Fn(&DeadLetter) + Send + Sync>;

/// The hooks a store was built with.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) pre_save: Option<SaveHook>,
    pub(crate) post_save: Option<SaveHook>,
    pub(crate) pre_template_create: Option<TemplateHook>,
    pub(crate) post_template_create: Option<TemplateHook>,
    pub(crate) error: Option<ErrorHook>,
    pub(crate) dead_letter: Option<DeadLetterHook>,
}

impl Hooks {
    pub(crate) fn pre_save(&self, event: &SaveEvent<'_>) {
        if let Some(hook) = &self.pre_save {
            hook(event);
        }
    }

    pub(crate) fn post_save(&self, event: &SaveEvent<'_>) {
        if let Some(hook) = &self.post_save {
            hook(event);
        }
    }

    pub(crate) fn pre_template_create(&self, event: &TemplateEvent<'_>) {
        if let Some(hook) = &self.pre_template_create {
            hook(event);
        }
    }

    pub(crate) fn post_template_create(&self, event: &TemplateEvent<'_>) {
        if let Some(hook) = &self.post_template_create {
            hook(event);
        }
    }

    pub(crate) fn error(&self, error: &BulkError) {
        if let Some(hook) = &self.error {
            hook(error);
        }
    }

    pub(crate) fn dead_letter(&self, letter: &DeadLetter) {
        if let Some(hook) = &self.dead_letter {
            hook(letter);
        }
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |hook: bool, name: &'static str| hook.then_some(name);
        let names: Vec<&str> = [
            set(self.pre_save.is_some(), "pre_save"),
            set(self.post_save.is_some(), "post_save"),
            set(self.pre_template_create.is_some(), "pre_template_create"),
            set(self.post_template_create.is_some(), "post_template_create"),
            set(self.error.is_some(), "error"),
            set(self.dead_letter.is_some(), "dead_letter"),
        ]
        .into_iter()
        .flatten()
        .collect();
        f.debug_tuple("Hooks").field(&names).finish()
    }
}
