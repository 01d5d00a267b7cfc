//! Records as CSV rows, for `export --format csv` and `import --format csv`.
//!
//! The header is the type's stored field names: its timestamp first, then
//! the others in the mapping's (alphabetical) order, a composite's fields
//! as dotted columns (`latency.p99_ms`), a map field (`tags`) as one
//! column. A cell holds:
//!
//! - nothing, for a missing or null value;
//! - in a string column (keyword, text, date, ip...), the string itself,
//!   unless it starts with `"`, `[` or `{`, or is empty: then the cell is
//!   JSON (`""`, `"[draft]"`), as is a list of strings (`["a","b"]`);
//! - in any other column (numbers, booleans, maps), the value as JSON:
//!   `42`, `0.5`, `true`, `{"host":"a"}`, `[1,2]`.
//!
//! So every record reads back as it was written.
//!
//! ```text
//! timestamp,latency.p50_ms,path,tags
//! 2024-03-05T10:00:00Z,12.5,/,"{""host"":""a""}"
//! ```

use serde_json::{Map, Value};

use crate::record_type::RecordType;
use crate::stored_fields::{self, Kind};

/// The columns of a type's CSV file.
pub(crate) struct Columns {
    columns: Vec<Column>,
}

struct Column {
    /// The dotted path, as the header names it.
    name: String,
    /// Whether the cell is the string itself (unless it looks like JSON).
    text: bool,
}

impl Columns {
    /// The columns of `record_type`, from its mapping.
    pub(crate) fn of(record_type: &RecordType) -> Columns {
        let mut columns: Vec<Column> = stored_fields::fields(record_type)
            .into_iter()
            .map(|(path, kind)| match path.strip_suffix(".*") {
                Some(map) => Column {
                    name: map.to_owned(),
                    text: false,
                },
                None => Column {
                    name: path,
                    text: matches!(kind, Kind::Keyword | Kind::Text | Kind::Date),
                },
            })
            .collect();
        let timestamp = record_type.timestamp_field();
        columns.sort_by_key(|column| Some(column.name.as_str()) != timestamp);
        Columns { columns }
    }

    /// The header row.
    pub(crate) fn header(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// The cells of one record, in header order. Fails when the record
    /// holds a list of composites, which has no one cell per column.
    pub(crate) fn row(&self, record: &Value) -> Result<Vec<String>, String> {
        self.columns
            .iter()
            .map(|column| {
                let value = value_at(record, &column.name)?;
                Ok(cell(value, column.text))
            })
            .collect()
    }

    /// How the columns of a file's `header` map onto the type's. Fails on
    /// a column the type does not have, naming the ones it has.
    pub(crate) fn reader(&self, header: &csv::StringRecord) -> Result<RowReader, String> {
        let mut columns = Vec::with_capacity(header.len());
        for name in header {
            let Some(column) = self.columns.iter().find(|c| c.name == name) else {
                return Err(format!(
                    "the CSV header names a column `{name}` that the type does not have; its columns are: {}",
                    self.header().join(", ")
                ));
            };
            columns.push((
                column.name.split('.').map(str::to_owned).collect(),
                column.text,
            ));
        }
        Ok(RowReader { columns })
    }
}

/// Reads rows of a file whose header [`Columns::reader`] checked.
pub(crate) struct RowReader {
    /// Per cell: the path of its field and whether it is a string column.
    columns: Vec<(Vec<String>, bool)>,
}

impl RowReader {
    /// The record a row holds, as JSON. Fails on a row of another length
    /// and on a cell that should be JSON and is not.
    pub(crate) fn record(&self, row: &csv::StringRecord) -> Result<Value, String> {
        if row.len() != self.columns.len() {
            return Err(format!(
                "the row has {} cells and the header {}",
                row.len(),
                self.columns.len()
            ));
        }
        let mut record = Map::new();
        for ((path, text), cell) in self.columns.iter().zip(row) {
            if cell.is_empty() {
                continue;
            }
            let value = if *text && !looks_like_json(cell) {
                Value::String(cell.to_owned())
            } else {
                serde_json::from_str(cell).map_err(|e| {
                    format!("the cell of `{}` is not JSON ({e}): {cell}", path.join("."))
                })?
            };
            insert(&mut record, path, value);
        }
        Ok(Value::Object(record))
    }
}

/// The value at a dotted path of the record; `None` when missing.
fn value_at<'a>(record: &'a Value, path: &str) -> Result<Option<&'a Value>, String> {
    let mut current = record;
    for segment in path.split('.') {
        current = match current {
            Value::Object(fields) => match fields.get(segment) {
                Some(next) => next,
                None => return Ok(None),
            },
            Value::Null => return Ok(None),
            _ => {
                return Err(format!(
                    "CSV export of `{path}` (a field inside a list of composites, which has no one cell per field)"
                ));
            }
        };
    }
    Ok(Some(current))
}

/// The cell of `value` in a string column (`text`) or another.
fn cell(value: Option<&Value>, text: bool) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if text && !s.is_empty() && !looks_like_json(s) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Whether a string column's cell is JSON rather than the string itself.
fn looks_like_json(cell: &str) -> bool {
    cell.starts_with(['"', '[', '{'])
}

/// Sets `value` at `path` in `record`, making the objects on the way.
fn insert(record: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = record;
    for parent in parents {
        let entry = current
            .entry(parent.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else {
            return;
        };
        current = next;
    }
    current.insert(last.clone(), value);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{DateTime, Utc};
    use serde_json::json;

    use super::*;
    use crate::{Composite, Record};

    #[derive(Composite, serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Latency {
        p50_ms: f64,
        p99_ms: Option<f64>,
    }

    #[derive(Record, serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    #[record(app_label = "shop")]
    struct Visit {
        timestamp: DateTime<Utc>,
        #[record(keyword)]
        path: String,
        referrer: Option<String>,
        item_id: u64,
        bot: bool,
        latency: Latency,
        labels: Vec<String>,
        sizes: Vec<i32>,
        tags: BTreeMap<String, String>,
    }

    fn visit(path: &str, referrer: Option<&str>, labels: &[&str]) -> Visit {
        Visit {
            timestamp: "2024-03-05T10:00:00.250Z".parse().unwrap(),
            path: path.to_owned(),
            referrer: referrer.map(str::to_owned),
            item_id: u64::MAX,
            bot: false,
            latency: Latency {
                p50_ms: 0.1,
                p99_ms: None,
            },
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            sizes: vec![-1, 2],
            tags: BTreeMap::from([("host".to_owned(), "a,\"b\"".to_owned())]),
        }
    }

    /// Writes the records as a CSV file and reads them back as the type.
    fn round_trip(visits: &[Visit]) -> (String, Vec<Visit>) {
        let columns = Columns::of(Visit::record_type());
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(columns.header()).unwrap();
        for visit in visits {
            let row = columns.row(&serde_json::to_value(visit).unwrap()).unwrap();
            writer.write_record(&row).unwrap();
        }
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let rows = columns.reader(reader.headers().unwrap()).unwrap();
        let read = reader
            .records()
            .map(|row| serde_json::from_value(rows.record(&row.unwrap()).unwrap()).unwrap())
            .collect();
        (text, read)
    }

    #[test]
    fn every_field_shape_reads_back_as_it_was_written() {
        let visits = [
            visit("/", Some("https://example.com/?a=1,b"), &["new", "mobile"]),
            // Strings that look like JSON, an empty one, and no referrer.
            visit("[draft]", None, &[]),
            visit("\"quoted\"", Some(""), &["[x]"]),
            visit("{}", Some("line\nbreak"), &[""]),
        ];
        let (text, read) = round_trip(&visits);
        assert_eq!(read, visits, "{text}");
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "timestamp,bot,item_id,labels,latency.p50_ms,latency.p99_ms,path,referrer,sizes,tags"
        );
        assert_eq!(
            lines.next().unwrap(),
            r#"2024-03-05T10:00:00.250Z,false,18446744073709551615,"[""new"",""mobile""]",0.1,,/,"https://example.com/?a=1,b","[-1,2]","{""host"":""a,\""b\""""}""#
        );
    }

    #[test]
    fn a_header_with_a_column_the_type_lacks_names_the_columns_it_has() {
        let columns = Columns::of(Visit::record_type());
        let header = csv::StringRecord::from(vec!["timestamp", "pathh"]);
        let error = columns.reader(&header).err().unwrap();
        assert!(error.contains("`pathh`"), "{error}");
        assert!(error.contains("timestamp, bot, item_id"), "{error}");
    }

    #[test]
    fn a_bad_cell_or_row_says_which_and_why() {
        let columns = Columns::of(Visit::record_type());
        let header = csv::StringRecord::from(vec!["timestamp", "item_id"]);
        let rows = columns.reader(&header).unwrap();
        let error = rows
            .record(&csv::StringRecord::from(vec![
                "2024-03-05T10:00:00Z",
                "12x",
            ]))
            .unwrap_err();
        assert!(error.contains("`item_id` is not JSON"), "{error}");
        let error = rows
            .record(&csv::StringRecord::from(vec!["2024-03-05T10:00:00Z"]))
            .unwrap_err();
        assert!(error.contains("1 cells and the header 2"), "{error}");
        let record = rows
            .record(&csv::StringRecord::from(vec!["2024-03-05T10:00:00Z", ""]))
            .unwrap();
        assert_eq!(record, json!({"timestamp": "2024-03-05T10:00:00Z"}));
    }

    #[test]
    fn a_list_of_composites_is_refused_with_the_field() {
        let columns = Columns {
            columns: vec![Column {
                name: "hops.host".to_owned(),
                text: true,
            }],
        };
        let error = columns.row(&json!({"hops": [{"host": "a"}]})).unwrap_err();
        assert!(error.contains("`hops.host`"), "{error}");
    }
}
