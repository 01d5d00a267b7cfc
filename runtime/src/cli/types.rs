//! `types`: the record types linked into the program.

use serde_json::{Value, json};

use super::output::{print, print_json, table};
use super::{Context, Failure, Outcome, conditions};
use crate::record_type::RecordType;

/// Prints a table of the types (or JSON with `--json`).
pub(crate) fn run(cx: &Context, as_json: bool) -> Result<Outcome, Failure> {
    let types = cx.types();
    if as_json {
        let described: Vec<Value> = types
            .iter()
            .map(|t| describe(&cx.config.named_type(t)))
            .collect();
        print_json(&Value::Array(described))?;
        return Ok(Outcome::Success);
    }
    if types.is_empty() {
        print(
            "no record types are linked into this program: derive Record on structs in it, or name the library crate that declares them: esrecord::main!(my_records)",
        )?;
        return Ok(Outcome::Success);
    }
    let rows = types
        .iter()
        .map(|t| {
            let t = &cx.config.named_type(t);
            vec![
                type_name(t),
                t.rust_path().to_owned(),
                t.template_name(),
                t.pattern(),
                timedepth(t),
                t.backend().to_owned(),
                t.retention()
                    .map_or_else(|| "-".to_owned(), |r| r.to_string()),
                conditions::fields(t).len().to_string(),
            ]
        })
        .collect();
    let headers = [
        "type",
        "rust path",
        "template",
        "pattern",
        "timedepth",
        "backend",
        "retention",
        "fields",
    ];
    print(&table(&headers, rows))?;
    Ok(Outcome::Success)
}

/// `shop.pageview`.
pub(crate) fn type_name(t: &RecordType) -> String {
    format!("{}.{}", t.app_label(), t.name())
}

fn timedepth(t: &RecordType) -> String {
    if t.is_simple() {
        "simple".to_owned()
    } else {
        t.timedepth().to_string()
    }
}

fn describe(t: &RecordType) -> Value {
    let fields: Vec<Value> = conditions::fields(t)
        .into_iter()
        .map(|(path, kind)| json!({"path": path, "kind": format!("{kind:?}").to_lowercase()}))
        .collect();
    json!({
        "type": type_name(t),
        "rust_path": t.rust_path(),
        "template": t.template_name(),
        "pattern": t.pattern(),
        "timedepth": timedepth(t),
        "backend": t.backend(),
        "retention": t.retention().map(|r| r.to_string()),
        "timestamp_field": t.timestamp_field(),
        "fields": fields,
    })
}
