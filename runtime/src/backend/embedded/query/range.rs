//! `range`: bounds converted as documents' values are, on every field
//! kind; only Elasticsearch's default date formats and UTC.

use serde_json::{Map, Value};
use tantivy::query::{EmptyQuery, Query, RangeQuery, TermSetQuery};

use super::exists::exists;
use super::{bad, check_options, resolve, single_field, with_boost};
use crate::backend::embedded::schema::{PartitionSchema, Resolved};
use crate::backend::embedded::values::{self, RangeEnd, RangeMatch};
use crate::error::{Error, Result};

/// Date formats a range may name: Elasticsearch's default ones.
const RANGE_FORMATS: &[&str] = &[
    "strict_date_optional_time",
    "date_optional_time",
    "epoch_millis",
];

/// `range`: `{"f": {"gte": a, "lt": b, "format": ..., "boost": ...}}`.
pub(super) fn range_query(
    body: &Map<String, Value>,
    schema: &PartitionSchema,
) -> Result<Box<dyn Query>> {
    let (path, spec) = single_field("range", body, &[])?;
    let options = spec.as_object().ok_or_else(|| {
        bad(format!(
            "`range` on `{path}` takes an object such as {{\"gte\": 1, \"lt\": 10}}, found {spec}"
        ))
    })?;
    let allowed = ["gt", "gte", "lt", "lte", "format", "time_zone"];
    check_options("range", options, &allowed)?;
    check_format(options)?;
    let lower = range_end(path, options, "gt", "gte")?;
    let upper = range_end(path, options, "lt", "lte")?;
    let query = match resolve(schema, path) {
        Some(resolved) => range(schema, &resolved, lower, upper)?,
        None => Box::new(EmptyQuery),
    };
    with_boost("range", options, &allowed, query)
}

/// Accepts only the default date formats, and UTC as time zone.
fn check_format(options: &Map<String, Value>) -> Result<()> {
    if let Some(format) = options.get("format") {
        let known = format
            .as_str()
            .is_some_and(|format| format.split("||").all(|part| RANGE_FORMATS.contains(&part)));
        if !known {
            return Err(Error::Unsupported {
                what: format!("range format {format}"),
                hint: "give dates as RFC 3339 strings or epoch milliseconds and drop `format` (or use strict_date_optional_time or epoch_millis)",
            });
        }
    }
    match options.get("time_zone").map(|zone| zone.as_str()) {
        None | Some(Some("Z" | "UTC" | "Etc/UTC" | "+00:00")) => Ok(()),
        Some(_) => Err(Error::Unsupported {
            what: format!(
                "range time_zone {}",
                options.get("time_zone").unwrap_or(&Value::Null)
            ),
            hint: "write the offset in the dates themselves (2024-05-01T00:00:00+02:00) and drop `time_zone`",
        }),
    }
}

/// One end of a range from its exclusive and inclusive keys.
fn range_end<'v>(
    path: &str,
    options: &'v Map<String, Value>,
    exclusive: &str,
    inclusive: &str,
) -> Result<RangeEnd<'v>> {
    let end = |key: &str| options.get(key).filter(|value| !value.is_null());
    match (end(exclusive), end(inclusive)) {
        (Some(_), Some(_)) => Err(bad(format!(
            "`range` on `{path}` has both `{exclusive}` and `{inclusive}`; keep one"
        ))),
        (Some(value), None) => Ok(Some((value, false))),
        (None, Some(value)) => Ok(Some((value, true))),
        (None, None) => Ok(None),
    }
}

/// Documents whose field falls between the ends; with no end, documents
/// that have the field (Elasticsearch's unbounded range).
pub(super) fn range(
    schema: &PartitionSchema,
    resolved: &Resolved<'_>,
    lower: RangeEnd<'_>,
    upper: RangeEnd<'_>,
) -> Result<Box<dyn Query>> {
    if lower.is_none() && upper.is_none() {
        return Ok(exists(schema, resolved));
    }
    Ok(match values::range_terms(resolved, lower, upper)? {
        RangeMatch::Between(low, high) => Box::new(RangeQuery::new(low, high)),
        RangeMatch::AnyOf(terms) => Box::new(TermSetQuery::new(terms)),
        RangeMatch::Nothing => Box::new(EmptyQuery),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;

    use super::super::tests::Fixture;

    #[test]
    fn date_range_bounds_are_inclusive_or_exclusive_as_asked() {
        let f = Fixture::new();
        let at = "2024-05-01T10:00:00.500Z";
        assert_eq!(
            f.ids(json!({"range": {"timestamp": {"gte": at}}})),
            ["2", "3", "4"]
        );
        assert_eq!(
            f.ids(json!({"range": {"timestamp": {"gt": at}}})),
            ["3", "4"]
        );
        assert_eq!(
            f.ids(json!({"range": {"timestamp": {"lte": at}}})),
            ["1", "2"]
        );
        assert_eq!(f.ids(json!({"range": {"timestamp": {"lt": at}}})), ["1"]);
        assert_eq!(
            f.ids(json!({"range": {"timestamp": {"gte": 1_714_557_600_500_i64, "lte": at}}})),
            ["2"]
        );
        assert_eq!(f.ids(json!({"range": {"timestamp": {"gt": "2024-05-01T12:00:00+02:00", "lt": "2024-05-01T12:00:00Z"}}})), ["2", "3"]);
        assert_eq!(f.ids(json!({"range": {"timestamp": {"gte": "2024-05-01", "format": "strict_date_optional_time||epoch_millis"}}})), ["1", "2", "3", "4"]);
        assert_eq!(
            f.ids(
                json!({"range": {"timestamp": {"gte": "1714557600500", "format": "epoch_millis"}}})
            ),
            ["2", "3", "4"]
        );
        assert_eq!(f.count(json!({"range": {"timestamp": {"gt": "2024-05-01T12:00:00Z", "lt": "2024-05-01T12:00:00.001Z"}}})), 0);
        assert_eq!(
            f.ids(json!({"range": {"timestamp": {}}})),
            ["1", "2", "3", "4"]
        );
        assert!(
            f.error(json!({"range": {"timestamp": {"gte": "01/05/2024", "format": "dd/MM/yyyy"}}}))
                .contains("range format")
        );
        assert!(
            f.error(json!({"range": {"timestamp": {"gte": "now-1d"}}}))
                .contains("date math")
        );
        assert!(
            f.error(json!({"range": {"timestamp": {"gte": "soon"}}}))
                .contains("[timestamp]")
        );
        assert!(
            f.error(json!({"range": {"timestamp": {"gte": "2024-05-01", "time_zone": "+02:00"}}}))
                .contains("time_zone")
        );
        assert_eq!(
            f.count(json!({"range": {"timestamp": {"gte": "2024-05-01", "time_zone": "UTC"}}})),
            4
        );
    }

    #[test]
    fn ranges_on_numbers_keywords_and_ips() {
        let f = Fixture::new();
        assert_eq!(
            f.ids(json!({"range": {"status": {"gte": 200, "lt": 500}}})),
            ["1", "2", "4"]
        );
        assert_eq!(
            f.ids(json!({"range": {"status": {"gt": 200, "lte": 500}}})),
            ["2", "3"]
        );
        assert_eq!(
            f.ids(json!({"range": {"status": {"gt": 403.5, "lt": "404.5"}}})),
            ["2"]
        );
        assert_eq!(f.count(json!({"range": {"status": {"gte": 1e30}}})), 0);
        assert_eq!(f.count(json!({"range": {"status": {"lte": 1e30}}})), 4);
        assert_eq!(
            f.ids(json!({"range": {"bytes": {"gt": -5, "lt": 100}}})),
            ["2"]
        );
        assert_eq!(
            f.ids(json!({"range": {"latency.p99_ms": {"gt": 12.5}}})),
            ["2"]
        );
        assert_eq!(
            f.ids(json!({"range": {"latency.p99_ms": {"gte": 12.5}}})),
            ["1", "2"]
        );
        assert_eq!(
            f.ids(json!({"range": {"path": {"gte": "/b", "lt": "/d"}}})),
            ["2"]
        );
        assert_eq!(
            f.ids(json!({"range": {"path": {"gt": "/cart"}}})),
            ["1", "3", "5"]
        );
        assert_eq!(
            f.ids(json!({"range": {"client.ip": {"gte": "10.0.0.0", "lte": "10.0.0.255"}}})),
            ["1"]
        );
        assert_eq!(f.ids(json!({"range": {"cached": {"gt": false}}})), ["1"]);
        assert!(
            f.error(json!({"range": {"status": {"gt": 1, "gte": 1}}}))
                .contains("both")
        );
        assert!(
            f.error(json!({"range": {"status": {"gt": "abc"}}}))
                .contains("[status]")
        );
        assert!(
            f.error(json!({"range": {"status": {"from": 1}}}))
                .contains("option `from`")
        );
    }
}
