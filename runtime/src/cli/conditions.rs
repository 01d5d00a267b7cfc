//! The fields of a type as its mapping names them, and `--where`
//! conditions on them: `FIELD=VALUE`, `FIELD!=VALUE`, `FIELD>VALUE`, `>=`,
//! `<`, `<=`, with the value read as the field's type.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::Failure;
use super::times;
use crate::fields::Field;
use crate::naming::glob_matches;
use crate::record_type::RecordType;
use crate::search::Query;

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

    fn describe(self) -> &'static str {
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
/// its dynamic template gives (keyword for `flattened`). An unknown field
/// is an error listing the type's fields.
pub(crate) fn field(record_type: &RecordType, path: &str) -> Result<Kind, Failure> {
    let body = record_type.template_body();
    let mappings = &body["template"]["mappings"];
    let mut properties = mappings["properties"].as_object();
    let mut segments = path.split('.').peekable();
    while let (Some(segment), Some(current)) = (segments.next(), properties) {
        let Some(mapping) = current.get(segment) else {
            break;
        };
        let last = segments.peek().is_none();
        match (mapping["type"].as_str(), last) {
            (Some("flattened"), false) => return Ok(Kind::Keyword),
            (Some("object") | None, false) if mapping["properties"].is_null() => {
                return Ok(dynamic_kind(mappings, path));
            }
            (Some(kind), true) if kind != "object" && kind != "flattened" => {
                return Ok(Kind::of_mapping_type(kind));
            }
            (_, true) => break,
            _ => properties = mapping["properties"].as_object(),
        }
    }
    let known: Vec<String> = fields(record_type).into_iter().map(|(p, _)| p).collect();
    Err(Failure::usage(format!(
        "{} ({}) has no field {path:?}; its fields: {}",
        record_type.rust_path(),
        record_type.template_name(),
        known.join(", ")
    )))
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

/// A `--where` condition as a query clause.
///
/// `shop.pageview` with `item_id>=10` gives `{"range": {"item_id": {"gte": 10}}}`.
pub(crate) fn condition(record_type: &RecordType, text: &str) -> Result<Query, Failure> {
    const OPERATORS: [&str; 6] = ["!=", ">=", "<=", "=", ">", "<"];
    let Some((at, operator)) = text.char_indices().find_map(|(i, _)| {
        OPERATORS
            .iter()
            .find(|op| text[i..].starts_with(**op))
            .map(|op| (i, *op))
    }) else {
        return Err(Failure::usage(format!(
            "--where {text:?} has no comparison; write FIELD=VALUE (or !=, >, >=, <, <=)"
        )));
    };
    let path = text[..at].trim();
    let raw = text[at + operator.len()..].trim();
    if path.is_empty() {
        return Err(Failure::usage(format!(
            "--where {text:?} names no field; write FIELD=VALUE"
        )));
    }
    let kind = field(record_type, path)?;
    let value = value(record_type, path, kind, raw)?;
    let handle = Field::<Value>::new(path.to_owned());
    let ordered = matches!(
        kind,
        Kind::Integer | Kind::Unsigned | Kind::Float | Kind::Date
    );
    if !ordered && !matches!(operator, "=" | "!=") {
        return Err(Failure::usage(format!(
            "--where {text:?}: field {path} of {} is {}, which has no order; use = or !=",
            record_type.template_name(),
            kind.describe()
        )));
    }
    let equal = match kind {
        Kind::Text => Query::from_json(serde_json::json!({"match": {path: value}})),
        // A time names its instant; comparing it with term would compare text.
        Kind::Date => handle.gte(value.clone()) & handle.lte(value.clone()),
        _ => handle.eq(value.clone()),
    };
    Ok(match operator {
        "=" => equal,
        "!=" => !equal,
        ">" => handle.gt(value),
        ">=" => handle.gte(value),
        "<" => handle.lt(value),
        _ => handle.lte(value),
    })
}

/// `raw` read as a value of `kind`, or an error that names the field, the
/// type and what the value must be.
fn value(record_type: &RecordType, path: &str, kind: Kind, raw: &str) -> Result<Value, Failure> {
    let parsed = match kind {
        Kind::Integer => raw.parse::<i64>().ok().map(Value::from),
        Kind::Unsigned => raw.parse::<u64>().ok().map(Value::from),
        Kind::Float => raw
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::from),
        Kind::Boolean => raw.parse::<bool>().ok().map(Value::from),
        Kind::Date => times::instant(raw, Utc::now())
            .ok()
            .map(|t: DateTime<Utc>| {
                Value::from(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            }),
        Kind::Text | Kind::Keyword => Some(Value::from(raw)),
    };
    parsed.ok_or_else(|| {
        Failure::usage(format!(
            "field {path} of {} ({}) is {}: {raw:?} is not one",
            record_type.template_name(),
            record_type.rust_path(),
            kind.describe()
        ))
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::Record;

    #[derive(crate::Composite, serde::Serialize, serde::Deserialize)]
    struct Timing {
        p99_ms: f64,
    }

    #[derive(Record, serde::Serialize, serde::Deserialize)]
    #[record(app_label = "clitest")]
    struct Visit {
        timestamp: DateTime<Utc>,
        item_id: u64,
        offset: i32,
        path: String,
        #[record(text)]
        comment: String,
        cached: bool,
        timing: Timing,
        tags: BTreeMap<String, String>,
        counters: BTreeMap<String, u64>,
    }

    fn clause(text: &str) -> Result<Value, Failure> {
        condition(Visit::record_type(), text).map(Query::into_json)
    }

    #[test]
    fn each_comparison_is_the_clause_for_the_fields_type() {
        assert_eq!(clause("item_id=7"), Ok(json!({"term": {"item_id": 7}})));
        assert_eq!(
            clause("offset < -3"),
            Ok(json!({"range": {"offset": {"lt": -3}}}))
        );
        assert_eq!(
            clause("timing.p99_ms>=2.5"),
            Ok(json!({"range": {"timing.p99_ms": {"gte": 2.5}}}))
        );
        assert_eq!(clause("cached=true"), Ok(json!({"term": {"cached": true}})));
        assert_eq!(clause("path=/a=b"), Ok(json!({"term": {"path": "/a=b"}})));
        assert_eq!(
            clause("path!=/"),
            Ok(json!({"bool": {"must_not": [{"term": {"path": "/"}}]}}))
        );
        assert_eq!(
            clause("comment=red shoes"),
            Ok(json!({"match": {"comment": "red shoes"}}))
        );
        assert_eq!(
            clause("tags.platform=linux"),
            Ok(json!({"term": {"tags.platform": "linux"}}))
        );
        assert_eq!(
            clause("counters.hits>10"),
            Ok(json!({"range": {"counters.hits": {"gt": 10}}}))
        );
        assert_eq!(
            clause("timestamp=2024-03-05T10:00:00Z"),
            Ok(json!({"bool": {"filter": [
                {"range": {"timestamp": {"gte": "2024-03-05T10:00:00Z"}}},
                {"range": {"timestamp": {"lte": "2024-03-05T10:00:00Z"}}}
            ]}}))
        );
    }

    #[test]
    fn a_bad_condition_names_the_field_the_type_and_what_to_write() {
        let message = |text: &str| {
            clause(text)
                .err()
                .map(|f| (f.code, f.message))
                .unwrap_or_default()
        };
        let (code, text) = message("item_id=-1");
        assert_eq!(code, 2);
        assert!(
            text.contains("field item_id of clitest_visit")
                && text.contains("non-negative integer"),
            "{text}"
        );
        assert!(message("counters.hits=many").1.contains("counters.hits"));
        assert!(message("timing.p99_ms=NaN").1.contains("a number"));
        assert!(message("cached=yes").1.contains("true or false"));
        let (_, text) = message("timing.p50_ms=1");
        assert!(
            text.contains("no field \"timing.p50_ms\"") && text.contains("timing.p99_ms"),
            "{text}"
        );
        assert!(message("timing=1").1.contains("no field \"timing\""));
        assert!(message("cached>true").1.contains("has no order"));
        assert!(message("=3").1.contains("names no field"));
        assert!(message("item_id 3").1.contains("FIELD=VALUE"));
    }
}
