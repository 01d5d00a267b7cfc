//! The process-wide registry of record types.
//!
//! Every `#[derive(Record)]` type registers itself through `inventory`, so a
//! binary knows every record type linked into it, including those declared
//! in library crates, without a list kept by hand.
//!
//! The registry holds the types' descriptions only, and so does not depend
//! on the store (which reads it for `setup` and `check`). What can be done
//! with a type's records through a store, by name, is registered beside it:
//! see [`operations::of`](crate::operations::of).

use crate::error::{Collision, Collisions, Error, Result};
use crate::naming::globs_overlap;
use crate::record_type::RecordType;

/// One registered record type. Generated code submits one per type.
#[doc(hidden)]
#[derive(Debug)]
pub struct Registration {
    record_type: &'static RecordType,
}

impl Registration {
    /// Registers `record_type`.
    pub const fn new(record_type: &'static RecordType) -> Self {
        Registration { record_type }
    }
}

inventory::collect!(Registration);

/// Every record type linked into the binary, sorted by template name.
///
/// ```
/// # use esrecord::Record;
/// # #[derive(Record, serde::Serialize, serde::Deserialize)]
/// # #[record(app_label = "shop")]
/// # struct PageView { timestamp: chrono::DateTime<chrono::Utc> }
/// let names: Vec<String> = esrecord::registry::types().iter().map(|t| t.template_name()).collect();
/// assert!(names.contains(&"shop_pageview".to_owned()));
/// ```
pub fn types() -> Vec<&'static RecordType> {
    let mut types: Vec<&'static RecordType> = inventory::iter::<Registration>
        .into_iter()
        .map(|registration| registration.record_type)
        .collect();
    types.sort_by(|a, b| {
        (a.template_name(), a.rust_path()).cmp(&(b.template_name(), b.rust_path()))
    });
    types
}

/// The registered record type called `name`: its template name
/// (`shop_pageview`), its `app.type` (`shop.pageview`), or its bare type name
/// (`pageview`) when no other type has it.
///
/// ```
/// # use esrecord::Record;
/// # #[derive(Record, serde::Serialize, serde::Deserialize)]
/// # #[record(app_label = "shop")]
/// # struct PageView { timestamp: chrono::DateTime<chrono::Utc> }
/// assert_eq!(esrecord::registry::find("shop.pageview").unwrap().template_name(), "shop_pageview");
/// assert!(esrecord::registry::find("nosuchtype").is_err());
/// ```
pub fn find(name: &str) -> Result<&'static RecordType> {
    let types = types();
    let by_full_name = types
        .iter()
        .find(|t| t.template_name() == name || format!("{}.{}", t.app_label(), t.name()) == name);
    if let Some(found) = by_full_name {
        return Ok(found);
    }
    let mut by_type_name = types.iter().filter(|t| t.name() == name);
    match (by_type_name.next(), by_type_name.next()) {
        (Some(found), None) => Ok(found),
        _ => Err(Error::UnknownType {
            name: name.to_owned(),
            known: types
                .iter()
                .map(|t| t.template_name())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Checks that no two of `types` share a template name and that no two
/// index patterns overlap (a pattern claiming another type's indexes would
/// give them the wrong mapping). The error names every colliding pair by
/// Rust type.
pub fn check_collisions<'a>(types: impl IntoIterator<Item = &'a RecordType>) -> Result<()> {
    let named: Vec<(&RecordType, String, String)> = types
        .into_iter()
        .map(|t| (t, t.template_name(), t.pattern()))
        .collect();
    let mut collisions = Vec::new();
    for (i, (a, a_name, a_pattern)) in named.iter().enumerate() {
        for (b, b_name, b_pattern) in &named[i + 1..] {
            let what = if a_name == b_name {
                format!("the template name {a_name:?}")
            } else if globs_overlap(a_pattern, b_pattern) {
                format!("indexes: their patterns {a_pattern:?} and {b_pattern:?} overlap")
            } else {
                continue;
            };
            collisions.push(Collision {
                first: a.rust_path(),
                second: b.rust_path(),
                what,
            });
        }
    }
    if collisions.is_empty() {
        Ok(())
    } else {
        Err(Error::Collision(Collisions(collisions)))
    }
}
