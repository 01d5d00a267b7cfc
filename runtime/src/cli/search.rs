//! `search`: records of a type, printed as a table or JSON.

use serde_json::{Map, Value};

use super::output::{cell, print, print_json, table};
use super::{Context, Failure, Format, Outcome, Selection, conditions, times};
use crate::operations::{self, JsonSearch};
use crate::record_type::RecordType;

/// The type a command line names, and the search for its range and
/// conditions.
pub(crate) fn request(
    cx: &Context,
    selection: &Selection,
    limit: usize,
) -> Result<(&'static RecordType, JsonSearch), Failure> {
    let record_type = cx.find(&selection.record_type)?;
    let search = JsonSearch {
        range: times::range(&selection.range)?,
        filters: selection
            .conditions
            .iter()
            .map(|text| conditions::condition(record_type, text))
            .collect::<Result<_, _>>()?,
        limit,
        aggregations: None,
    };
    Ok((record_type, search))
}

/// Prints the newest `limit` records that match, oldest first.
pub(crate) async fn run(
    cx: &Context,
    selection: &Selection,
    limit: usize,
    format: Format,
) -> Result<Outcome, Failure> {
    let (record_type, search) = request(cx, selection, limit)?;
    let store = cx.open_store()?;
    let results = operations::of(record_type)?.search(&store, &search).await?;
    let records: Vec<Value> = results.hits.into_iter().map(|hit| hit.record).collect();
    let shown = records.len();
    match format {
        Format::Json => print_json(&Value::Array(records))?,
        Format::Ndjson => {
            let lines: Vec<String> = records.iter().map(Value::to_string).collect();
            if !lines.is_empty() {
                print(&lines.join("\n"))?;
            }
        }
        Format::Table if records.is_empty() => print("no records")?,
        Format::Table => print(&as_table(&records, record_type.timestamp_field()))?,
    }
    if !cx.quiet {
        eprintln!(
            "{} of {} matching records{}",
            shown,
            results.total,
            if (shown as u64) < results.total {
                " (the newest)"
            } else {
                ""
            }
        );
    }
    Ok(Outcome::Success)
}

/// The records as a table: one column per leaf (`latency.p99_ms`,
/// `tags.platform`), in the order they first appear; empty where a record
/// lacks one; the timestamp first.
fn as_table(records: &[Value], timestamp: Option<&str>) -> String {
    let flat: Vec<Map<String, Value>> = records
        .iter()
        .map(|record| {
            let mut leaves = Map::new();
            flatten("", record, &mut leaves);
            leaves
        })
        .collect();
    let mut columns: Vec<&str> = timestamp.into_iter().collect();
    for leaves in &flat {
        for key in leaves.keys() {
            if !columns.contains(&key.as_str()) {
                columns.push(key);
            }
        }
    }
    let rows = flat
        .iter()
        .map(|leaves| {
            columns
                .iter()
                .map(|c| leaves.get(*c).map(cell).unwrap_or_default())
                .collect()
        })
        .collect();
    table(&columns, rows)
}

fn flatten(prefix: &str, value: &Value, out: &mut Map<String, Value>) {
    match value {
        Value::Object(fields) if !fields.is_empty() => {
            for (name, child) in fields {
                let path = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                flatten(&path, child, out);
            }
        }
        other => {
            out.insert(prefix.to_owned(), other.clone());
        }
    }
}
