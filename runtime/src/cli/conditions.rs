//! The fields of a type as its mapping names them, and `--where`
//! conditions on them: `FIELD=VALUE`, `FIELD!=VALUE`, `FIELD>VALUE`, `>=`,
//! `<`, `<=`, with the value read as the field's type.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Failure;
use super::times;
use crate::fields::Field;
use crate::record_type::RecordType;
use crate::search::Query;
use crate::stored_fields;
pub(crate) use crate::stored_fields::{Kind, fields};

/// The field at `path` and its kind, or an error listing the type's fields.
pub(crate) fn field(record_type: &RecordType, path: &str) -> Result<Kind, Failure> {
    if let Some(kind) = stored_fields::field(record_type, path) {
        return Ok(kind);
    }
    let known: Vec<String> = fields(record_type).into_iter().map(|(p, _)| p).collect();
    Err(Failure::usage(format!(
        "{} ({}) has no field {path:?}; its fields: {}",
        record_type.rust_path(),
        record_type.template_name(),
        known.join(", ")
    )))
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
