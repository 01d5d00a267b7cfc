//! The term a query looks for on a field: the value converted as a
//! document's value is, typed for JSON fields as tantivy types their
//! indexed leaves.

use serde_json::Value;
use tantivy::Term;
use tantivy::columnar::NumericalValue;

use super::Number;
#[cfg(test)]
use super::invalid;
use super::scalars::{in_range, ip, number, stored_date, text, to_bool, to_f64};
use crate::backend::embedded::schema::{FieldKind, LeafKind, Resolved};
use crate::error::{Error, Result};

/// The term a `term` query looks for: the value converted as a document's
/// value would be (dates have no terms: query code matches them with
/// [`super::range_terms`]). A value that no document of
/// the field can hold (1.5 for a `long`) is an error here; see
/// [`term_or_none`] to match nothing instead, as Elasticsearch does.
#[cfg(test)]
pub(crate) fn term(resolved: &Resolved<'_>, value: &Value) -> Result<Term> {
    term_or_none(resolved, value)?.ok_or_else(|| {
        invalid(
            resolved.path,
            resolved.kind,
            value,
            "this field holds whole numbers only",
        )
    })
}

/// Like `term` (for tests), but `None` for a number with a fractional part on an
/// integer field: Elasticsearch's `term` query then matches nothing.
pub(crate) fn term_or_none(resolved: &Resolved<'_>, value: &Value) -> Result<Option<Term>> {
    let (field, kind, path) = (resolved.field, resolved.kind, resolved.path);
    let whole = |value: &Value| number(kind, path, value).map(Number::whole);
    Ok(Some(match kind {
        FieldKind::Keyword | FieldKind::Text => {
            Term::from_field_text(field, &text(kind, path, value)?)
        }
        FieldKind::I64 => match whole(value)? {
            Some(int) => Term::from_field_i64(field, in_range(kind, path, value, int)?),
            None => return Ok(None),
        },
        FieldKind::U64 => match whole(value)? {
            Some(int) => Term::from_field_u64(field, in_range(kind, path, value, int)?),
            None => return Ok(None),
        },
        FieldKind::F64 => Term::from_field_f64(field, to_f64(kind, path, value)?),
        FieldKind::Bool => Term::from_field_bool(field, to_bool(path, value)?),
        FieldKind::Date(unit) => Term::from_field_i64(field, stored_date(unit, path, value)?),
        FieldKind::Ip => Term::from_field_ip_addr(field, ip(path, value)?),
        FieldKind::Flattened | FieldKind::DynamicObject(_) => return json_term(resolved, value),
    }))
}

/// The term for a key of a JSON field, typed as the indexer types it:
/// strings as strings, numbers normalised (whole floats and small unsigned
/// values become i64) exactly as tantivy normalises indexed JSON numbers.
fn json_term(resolved: &Resolved<'_>, value: &Value) -> Result<Option<Term>> {
    let (kind, path) = (resolved.kind, resolved.path);
    let mut term = json_path_term(resolved)?;
    let numerical = match kind {
        FieldKind::DynamicObject(LeafKind::I64) => match number(kind, path, value)?.whole() {
            Some(int) => NumericalValue::I64(in_range(kind, path, value, int)?),
            None => return Ok(None),
        },
        FieldKind::DynamicObject(LeafKind::U64) => match number(kind, path, value)?.whole() {
            Some(int) => NumericalValue::U64(in_range(kind, path, value, int)?),
            None => return Ok(None),
        },
        FieldKind::DynamicObject(LeafKind::F64) => NumericalValue::F64(to_f64(kind, path, value)?),
        _ => {
            term.append_type_and_str(&text(kind, path, value)?);
            return Ok(Some(term));
        }
    };
    match numerical.normalize() {
        NumericalValue::I64(int) => term.append_type_and_fast_value(int),
        NumericalValue::U64(int) => term.append_type_and_fast_value(int),
        NumericalValue::F64(float) => term.append_type_and_fast_value(float),
    }
    Ok(Some(term))
}

/// A JSON field's term with the path set and no value yet. A query on the
/// JSON field itself (`tags` rather than `tags.platform`) is not supported.
pub(super) fn json_path_term(resolved: &Resolved<'_>) -> Result<Term> {
    if resolved.json_path.is_empty() {
        return Err(Error::Unsupported {
            what: format!(
                "a value query on the whole object field `{}`",
                resolved.path
            ),
            hint: "query one key below it, e.g. `tags.platform` for the field `tags`; `exists` works on the whole field",
        });
    }
    if resolved.json_path.contains(['\u{0}', '\u{1}']) {
        return Err(Error::BadRequest(format!(
            "field name `{}` contains a NUL or U+0001 character, which no indexed key holds; fix the field name",
            resolved.path.escape_debug()
        )));
    }
    Ok(Term::from_field_json_path(
        resolved.field,
        resolved.json_path,
        false,
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;

    use super::super::tests::{Fixture, resolved};
    use super::*;

    #[test]
    fn terms_find_the_documents_that_hold_the_value() {
        let fixture = Fixture::new(&[
            ("status", json!(42)),
            ("bytes", json!(u64::MAX)),
            ("latency.p99_ms", json!(0.5)),
            ("cached", json!(true)),
            ("client.ip", json!("10.0.0.1")),
            ("path", json!(7)),
            ("tags.platform", json!("ios")),
            ("tags.build", json!(12)),
            ("totals.hits", json!(5)),
            ("ratios.hit", json!(2)),
        ]);
        assert_eq!(fixture.term_count("status", json!("42")), 1);
        assert_eq!(fixture.term_count("status", json!(41)), 0);
        assert_eq!(fixture.term_count("bytes", json!(u64::MAX)), 1);
        assert_eq!(fixture.term_count("latency.p99_ms", json!("0.5")), 1);
        assert_eq!(fixture.term_count("cached", json!("true")), 1);
        assert_eq!(fixture.term_count("cached", json!(false)), 0);
        assert_eq!(fixture.term_count("client.ip", json!("::ffff:10.0.0.1")), 1);
        assert_eq!(fixture.term_count("path", json!("7")), 1);
        assert_eq!(fixture.term_count("tags.platform", json!("ios")), 1);
        assert_eq!(fixture.term_count("tags.build", json!(12)), 1);
        assert_eq!(fixture.term_count("tags.build", json!("ios")), 0);
        assert_eq!(fixture.term_count("totals.hits", json!(5)), 1);
        assert_eq!(fixture.term_count("totals.hits", json!("5")), 1);
        assert_eq!(fixture.term_count("ratios.hit", json!(2.0)), 1);
        let count = resolved(&fixture.schema, "status");
        assert!(term_or_none(&count, &json!(42.5)).unwrap().is_none());
        assert!(term(&count, &json!(42.5)).is_err());
        assert!(term(&resolved(&fixture.schema, "tags"), &json!("ios")).is_err());
    }
}
