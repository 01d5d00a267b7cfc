//! Typed handles on the fields of a record type.
//!
//! `#[derive(Record)]` generates a struct of handles for each record type,
//! returned by [`Record::fields`](crate::Record::fields):
//! `PageView::fields().latency.p99_ms` is a `Field<f64>` whose path is
//! `"latency.p99_ms"`. Searches take handles, not strings, so a filter on a
//! field that does not exist, or with a value of the wrong type, does not
//! compile.

use std::fmt;
use std::marker::PhantomData;

/// A field of type `T` at a dotted path in the stored document. `K` says
/// how it is searched: [`Exact`] values (the default: compared, sorted and
/// aggregated), or [`FullText`] (a `#[record(text)]` field, searched by its
/// words with `matches`, which is all Elasticsearch does well with one).
///
/// ```
/// use esrecord::fields::Field;
/// let field: Field<f64> = Field::new("latency.p99_ms".to_owned());
/// assert_eq!(field.path(), "latency.p99_ms");
/// ```
pub struct Field<T, K = Exact> {
    path: String,
    value: PhantomData<fn() -> (T, K)>,
}

/// How a [`Field`] of exact values is searched: `eq`, `one_of`, ranges,
/// sorting, aggregations.
#[derive(Debug)]
pub enum Exact {}

/// How a [`Field`] of full text (`#[record(text)]`) is searched: by its
/// words, with `matches`.
#[derive(Debug)]
pub enum FullText {}

impl<T, K> Field<T, K> {
    /// A handle on the field at `path`. Generated code builds these; build one
    /// by hand only for a field the derive does not describe.
    pub fn new(path: String) -> Self {
        Field {
            path,
            value: PhantomData,
        }
    }

    /// The dotted path of the field in the stored document.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl<T, K> Clone for Field<T, K> {
    fn clone(&self) -> Self {
        Field::new(self.path.clone())
    }
}

impl<T, K> fmt::Debug for Field<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Field<{}>({})", std::any::type_name::<T>(), self.path)
    }
}

/// A string-keyed map field whose values are of type `V`; each key is a
/// field of its own.
///
/// ```
/// use esrecord::fields::MapField;
/// let tags: MapField<String> = MapField::new("tags".to_owned());
/// assert_eq!(tags.key("platform").path(), "tags.platform");
/// ```
pub struct MapField<V> {
    path: String,
    value: PhantomData<fn() -> V>,
}

impl<V> MapField<V> {
    /// A handle on the map field at `path`.
    pub fn new(path: String) -> Self {
        MapField {
            path,
            value: PhantomData,
        }
    }

    /// The dotted path of the map field.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The handle on one key of the map.
    pub fn key(&self, key: &str) -> Field<V> {
        Field::new(join_path(&self.path, key))
    }
}

impl<V> Clone for MapField<V> {
    fn clone(&self) -> Self {
        MapField::new(self.path.clone())
    }
}

impl<V> fmt::Debug for MapField<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MapField<{}>({})", std::any::type_name::<V>(), self.path)
    }
}

/// `prefix.name`, or `name` at the document root (empty prefix).
///
/// ```
/// assert_eq!(esrecord::fields::join_path("", "a"), "a");
/// assert_eq!(esrecord::fields::join_path("a", "b"), "a.b");
/// ```
pub fn join_path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        let mut path = String::with_capacity(prefix.len() + 1 + name.len());
        path.push_str(prefix);
        path.push('.');
        path.push_str(name);
        path
    }
}
