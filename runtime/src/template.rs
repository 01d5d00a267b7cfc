//! Index template bodies: canonical form, schema hash and the normalized
//! comparison that `check` uses to tell whether a template drifted.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// `value` as compact JSON with every object's keys sorted, whatever the
/// order the value was built in.
///
/// ```
/// let value = serde_json::json!({"b": 1, "a": [true, null]});
/// assert_eq!(esrecord::template::canonical_json(&value), r#"{"a":[true,null],"b":1}"#);
/// ```
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A short hash of what a template body defines (patterns, settings and
/// mappings, normalized), stored in the template's `_meta` so an operator can
/// tell which schema created it.
pub fn schema_hash(body: &Value) -> String {
    let normalized = NormalizedTemplate::from_body(body);
    let mut hasher = Sha256::new();
    for (path, value) in &normalized.0 {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update(value.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    digest[..8].iter().fold(String::new(), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// A template body reduced to what Elasticsearch keeps and compares:
/// `index_patterns` as a sorted set; `template.settings` flattened to dotted
/// keys without the `index.` prefix and with every value a string (as
/// Elasticsearch returns them); `template.mappings` flattened to leaf paths
/// with string values. `_meta`, `priority` and the rest are not compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedTemplate(BTreeMap<String, String>);

impl NormalizedTemplate {
    /// Normalizes a composable index template body, as built by
    /// [`RecordType::template_body`](crate::RecordType::template_body) or as
    /// returned in `index_template` by `GET _index_template/{name}`.
    pub fn from_body(body: &Value) -> Self {
        let mut leaves = BTreeMap::new();
        let mut patterns: Vec<String> = match body.get("index_patterns") {
            Some(Value::Array(items)) => items.iter().map(scalar_string).collect(),
            Some(single) => vec![scalar_string(single)],
            None => Vec::new(),
        };
        patterns.sort();
        patterns.dedup();
        leaves.insert("index_patterns".to_owned(), patterns.join(", "));

        if let Some(priority) = body.get("priority") {
            leaves.insert("priority".to_owned(), scalar_string(priority));
        }
        // Whether the template makes data streams; what Elasticsearch adds
        // inside (`hidden`, `allow_custom_routing`: false) are its defaults.
        if body.get("data_stream").is_some() {
            leaves.insert("data_stream".to_owned(), "enabled".to_owned());
        }

        let template = body.get("template");
        if let Some(settings) = template.and_then(|t| t.get("settings")) {
            let mut flat = BTreeMap::new();
            flatten(settings, String::new(), &mut flat);
            for (key, value) in flat {
                let key = key.strip_prefix("index.").unwrap_or(&key);
                leaves.insert(format!("settings.{key}"), value);
            }
        }
        if let Some(mappings) = template.and_then(|t| t.get("mappings")) {
            flatten(mappings, "mappings".to_owned(), &mut leaves);
        }
        NormalizedTemplate(leaves)
    }

    /// The leaf paths and their values.
    pub fn leaves(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

fn scalar_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn flatten(value: &Value, path: String, out: &mut BTreeMap<String, String>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                flatten(value, join(key), out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten(item, format!("{path}[{i}]"), out);
            }
        }
        scalar => {
            out.insert(path, scalar_string(scalar));
        }
    }
}

/// The differences between the template a record type expects and the one a
/// store holds; empty when they are in sync.
///
/// ```
/// use esrecord::template::TemplateDiff;
/// use serde_json::json;
/// let expected = json!({"index_patterns": ["a_*"], "template": {"settings": {"number_of_shards": 2}}});
/// let stored = json!({"index_patterns": ["a_*"], "template": {"settings": {"index": {"number_of_shards": "2"}}}});
/// assert!(TemplateDiff::between(&expected, &stored).is_in_sync());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateDiff {
    /// One entry per differing leaf, sorted by path.
    pub changes: Vec<Change>,
}

/// One difference at a leaf path of a normalized template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The record type defines the leaf; the stored template lacks it.
    Missing {
        /// The leaf path, e.g. `mappings.properties.path.type`.
        path: String,
        /// The value the record type defines.
        expected: String,
    },
    /// The stored template has a leaf the record type does not define.
    Unexpected {
        /// The leaf path.
        path: String,
        /// The stored value.
        actual: String,
    },
    /// Both have the leaf, with different values.
    Changed {
        /// The leaf path.
        path: String,
        /// The value the record type defines.
        expected: String,
        /// The stored value.
        actual: String,
    },
}

impl TemplateDiff {
    /// Compares two template bodies after normalizing both.
    pub fn between(expected: &Value, actual: &Value) -> Self {
        let expected = NormalizedTemplate::from_body(expected).0;
        let actual = NormalizedTemplate::from_body(actual).0;
        let mut changes = Vec::new();
        for (path, want) in &expected {
            match actual.get(path) {
                None => changes.push(Change::Missing {
                    path: path.clone(),
                    expected: want.clone(),
                }),
                Some(have) if have != want => changes.push(Change::Changed {
                    path: path.clone(),
                    expected: want.clone(),
                    actual: have.clone(),
                }),
                Some(_) => {}
            }
        }
        for (path, have) in &actual {
            if !expected.contains_key(path) {
                changes.push(Change::Unexpected {
                    path: path.clone(),
                    actual: have.clone(),
                });
            }
        }
        changes.sort_by(|a, b| a.path().cmp(b.path()));
        TemplateDiff { changes }
    }

    /// Whether the two templates agree.
    pub fn is_in_sync(&self) -> bool {
        self.changes.is_empty()
    }
}

impl Change {
    /// The leaf path this change is at.
    pub fn path(&self) -> &str {
        match self {
            Change::Missing { path, .. }
            | Change::Unexpected { path, .. }
            | Change::Changed { path, .. } => path,
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Missing { path, expected } => {
                write!(
                    f,
                    "+ {path}: {expected:?} (defined by the record type, not stored)"
                )
            }
            Change::Unexpected { path, actual } => {
                write!(
                    f,
                    "- {path}: {actual:?} (stored, not defined by the record type)"
                )
            }
            Change::Changed {
                path,
                expected,
                actual,
            } => write!(
                f,
                "~ {path}: stored {actual:?}, record type defines {expected:?}"
            ),
        }
    }
}

impl fmt::Display for TemplateDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changes.is_empty() {
            return f.write_str("in sync");
        }
        for (i, change) in self.changes.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{change}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pattern_order_and_setting_shapes_do_not_drift() {
        let ours = json!({
            "index_patterns": ["b_*", "a_*"],
            "template": {
                "settings": {"number_of_shards": 2, "refresh_interval": "5s"},
                "mappings": {"dynamic": "strict", "properties": {"n": {"type": "long"}}}
            },
            "_meta": {"esrecord": {"schema_hash": "x"}}
        });
        let stored = json!({
            "index_patterns": ["a_*", "b_*"],
            "composed_of": [],
            "template": {
                "settings": {"index": {"number_of_shards": "2", "refresh_interval": "5s"}},
                "mappings": {"dynamic": "strict", "properties": {"n": {"type": "long"}}}
            }
        });
        let diff = TemplateDiff::between(&ours, &stored);
        assert!(diff.is_in_sync(), "{diff}");
        assert_eq!(schema_hash(&ours), schema_hash(&stored));
    }

    #[test]
    fn drift_is_reported_per_leaf() {
        let ours = json!({
            "index_patterns": ["a_*"],
            "template": {"mappings": {"properties": {"n": {"type": "long"}, "s": {"type": "keyword"}}}}
        });
        let stored = json!({
            "index_patterns": ["a_*"],
            "template": {
                "settings": {"index": {"number_of_replicas": "0"}},
                "mappings": {"properties": {"n": {"type": "integer"}}}
            }
        });
        let diff = TemplateDiff::between(&ours, &stored);
        let text = diff.to_string();
        assert_eq!(diff.changes.len(), 3, "{text}");
        assert!(
            text.contains(
                "~ mappings.properties.n.type: stored \"integer\", record type defines \"long\""
            ),
            "{text}"
        );
        assert!(
            text.contains("+ mappings.properties.s.type: \"keyword\""),
            "{text}"
        );
        assert!(
            text.contains("- settings.number_of_replicas: \"0\""),
            "{text}"
        );
        assert_ne!(schema_hash(&ours), schema_hash(&stored));
    }
}
