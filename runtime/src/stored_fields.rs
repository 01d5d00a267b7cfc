//! The fields of a record type as its mapping names them (`latency.p99_ms`,
//! `tags.*`), and what kind of values each holds: what the binary's
//! `--where` conditions and the rules check field names and values against.

use serde_json::{Map, Value};

use crate::naming::glob_matches;
use crate::record_type::RecordType;

/// What kind of values a field holds, from its mapping type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `long`, `integer`, `short`, `byte`.
    Integer,
    /// `unsigned_long`.
    Unsigned,
    /// `double`, `float`, `half_float`, `scaled_float`.
    Float,
    /// `boolean`.
    Boolean,
    /// `date`, `date_nanos`.
    Date,
    /// `text`: searched by its words.
    Text,
    /// `keyword`, `ip`, a `flattened` map's keys, and the rest: exact values.
    Keyword,
}

impl Kind {
    fn of_mapping_type(mapping_type: &str) -> Kind {
        match mapping_type {
            "long" | "integer" | "short" | "byte" => Kind::Integer,
            "unsigned_long" => Kind::Unsigned,
            "double" | "float" | "half_float" | "scaled_float" => Kind::Float,
            "boolean" => Kind::Boolean,
            "date" | "date_nanos" => Kind::Date,
            "text" | "match_only_text" => Kind::Text,
            _ => Kind::Keyword,
        }
    }

    /// Whether averages and sums of the field mean something.
    pub(crate) fn is_numeric(self) -> bool {
        matches!(self, Kind::Integer | Kind::Unsigned | Kind::Float)
    }

    /// What the values are, for messages: "an integer", "a string"...
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Kind::Integer => "an integer",
            Kind::Unsigned => "a non-negative integer",
            Kind::Float => "a number",
            Kind::Boolean => "true or false",
            Kind::Date => "a time (2024-03-05, 2024-03-05T10:00:00Z, 7d for a week ago)",
            Kind::Text => "text",
            Kind::Keyword => "a string",
        }
    }
}

/// The fields a type's mapping has, with dotted paths, in mapping order:
/// `latency.p99_ms`; a map field (`tags`, `counters`) as `tags.*`.
pub(crate) fn fields(record_type: &RecordType) -> Vec<(String, Kind)> {
    let body = record_type.template_body();
    let mut out = Vec::new();
    if let Some(properties) = body["template"]["mappings"]["properties"].as_object() {
        collect("", properties, &mut out);
    }
    out
}

fn collect(prefix: &str, properties: &Map<String, Value>, out: &mut Vec<(String, Kind)>) {
    for (name, mapping) in properties {
        let path = format!("{prefix}{name}");
        if let Some(children) = mapping["properties"].as_object() {
            collect(&format!("{path}."), children, out);
        } else {
            match mapping["type"].as_str() {
                Some("flattened") => out.push((format!("{path}.*"), Kind::Keyword)),
                Some("object") | None => out.push((format!("{path}.*"), Kind::Keyword)),
                Some(other) => out.push((path, Kind::of_mapping_type(other))),
            }
        }
    }
}

/// The field at `path` and its kind; a key of a map field takes the kind
/// its dynamic template gives (keyword for `flattened`). `None` when the
/// type has no such field.
pub(crate) fn field(record_type: &RecordType, path: &str) -> Option<Kind> {
    let body = record_type.template_body();
    let mappings = &body["template"]["mappings"];
    let mut properties = mappings["properties"].as_object();
    let mut segments = path.split('.').peekable();
    while let (Some(segment), Some(current)) = (segments.next(), properties) {
        let mapping = current.get(segment)?;
        let last = segments.peek().is_none();
        match (mapping["type"].as_str(), last) {
            (Some("flattened"), false) => return Some(Kind::Keyword),
            (Some("object") | None, false) if mapping["properties"].is_null() => {
                return Some(dynamic_kind(mappings, path));
            }
            (Some(kind), true) if kind != "object" && kind != "flattened" => {
                return Some(Kind::of_mapping_type(kind));
            }
            (_, true) => return None,
            _ => properties = mapping["properties"].as_object(),
        }
    }
    None
}

/// The kind a dynamic template maps `path` to.
fn dynamic_kind(mappings: &Value, path: &str) -> Kind {
    let templates = mappings["dynamic_templates"].as_array();
    templates
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|named| named.values())
        .find(|template| {
            template["path_match"]
                .as_str()
                .is_some_and(|glob| glob_matches(glob, path))
        })
        .and_then(|template| template["mapping"]["type"].as_str())
        .map_or(Kind::Keyword, Kind::of_mapping_type)
}
