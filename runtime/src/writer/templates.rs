//! Templates before writes: a type's template is made sure of before its
//! first record is written (by the writer thread and by `Store::save`), and
//! put by `Store::setup`, between the template hooks.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::hooks::{Hooks, TemplateEvent};
use crate::record_type::RecordType;

/// Creates the template of `named` if the backend has none (with
/// `autosetup`), or says to run setup.
pub(crate) async fn ensure_template(
    backend: &dyn Backend,
    backend_name: &str,
    named: &RecordType,
    autosetup: bool,
    hooks: &Hooks,
) -> Result<()> {
    let name = named.template_name();
    if backend.get_template(&name).await?.is_some() {
        return Ok(());
    }
    if !autosetup {
        return Err(Error::NotSetUp { template: name });
    }
    named.validate()?;
    if let Some(lifecycle) = named.data_stream().and_then(|s| s.lifecycle()) {
        // The template names the policy: put it first, unless one is there;
        // one esrecord does not manage is refused, as setup refuses it.
        match backend.get_lifecycle_policy(&name).await? {
            None => {
                let policy =
                    crate::lifecycle::policy_body(named, lifecycle).map_err(Error::Config)?;
                backend.put_lifecycle_policy(&name, &policy).await?;
            }
            Some(stored) if !crate::lifecycle::is_managed(&stored) => {
                return Err(Error::Config(format!(
                    "an ILM policy named {name} exists and esrecord does not manage it, so the template that would hand the stream to it is not put; rename that policy, or set ilm = false in [backends.{backend_name}.data_streams]"
                )));
            }
            Some(_) => {}
        }
    }
    put_template(backend, backend_name, named, hooks).await
}

/// Puts the template of `named`, between the template hooks.
pub(crate) async fn put_template(
    backend: &dyn Backend,
    backend_name: &str,
    named: &RecordType,
    hooks: &Hooks,
) -> Result<()> {
    let name = named.template_name();
    let body = named.template_body();
    let event = TemplateEvent {
        record_type: named,
        backend: backend_name,
        name: &name,
        body: &body,
    };
    hooks.pre_template_create(&event);
    backend.put_template(&name, &body).await?;
    hooks.post_template_create(&event);
    Ok(())
}
