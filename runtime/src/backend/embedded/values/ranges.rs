//! What a `range` query matches on a field: bounds converted as
//! documents' values are, rounded inward on integers, floored to the
//! field's unit on dates, and clamped to what the field can hold.

use std::ops::Bound;

use serde_json::Value;
use tantivy::Term;

use super::Number;
use super::scalars::{instant, ip, number, text, to_bool, to_f64};
use super::terms::json_path_term;
use crate::backend::embedded::schema::{FieldKind, LeafKind, Resolved};
use crate::dates::DateUnit;
use crate::error::{Error, Result};

/// One end of a range: the value and whether it is included (`gte`, `lte`).
pub(crate) type RangeEnd<'v> = Option<(&'v Value, bool)>;

/// One end of a range on numbers, parsed.
type NumberEnd = Option<(Number, bool)>;

/// What a `range` query on a field matches.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RangeMatch {
    /// No value can fall in the range (a bound beyond the type's limits, or
    /// bounds that cross).
    Nothing,
    /// Values between these bounds, typed for tantivy's `RangeQuery`.
    Between(Bound<Term>, Bound<Term>),
    /// Any of these terms: booleans, which tantivy's `RangeQuery` does not
    /// handle (false < true, as in Elasticsearch).
    AnyOf(Vec<Term>),
}

impl From<Option<(Bound<Term>, Bound<Term>)>> for RangeMatch {
    fn from(bounds: Option<(Bound<Term>, Bound<Term>)>) -> Self {
        match bounds {
            Some((low, high)) => RangeMatch::Between(low, high),
            None => RangeMatch::Nothing,
        }
    }
}

/// What a `range` query with these ends matches on the field, with the
/// bounds converted as documents' values are.
pub(crate) fn range_terms(
    resolved: &Resolved<'_>,
    lower: RangeEnd<'_>,
    upper: RangeEnd<'_>,
) -> Result<RangeMatch> {
    if resolved.kind == FieldKind::Bool {
        return bool_range(resolved, lower, upper);
    }
    range_bounds(resolved, lower, upper).map(RangeMatch::from)
}

/// The booleans within a range, as terms.
fn bool_range(
    resolved: &Resolved<'_>,
    lower: RangeEnd<'_>,
    upper: RangeEnd<'_>,
) -> Result<RangeMatch> {
    // Compared as 0 and 1.
    let end = |end: RangeEnd<'_>| {
        end.map(|(value, inclusive)| {
            Ok::<_, Error>((u8::from(to_bool(resolved.path, value)?), inclusive))
        })
        .transpose()
    };
    let (low, high) = (end(lower)?, end(upper)?);
    let within = |flag: &bool| {
        let flag = u8::from(*flag);
        low.is_none_or(|(low, inclusive)| if inclusive { flag >= low } else { flag > low })
            && high
                .is_none_or(|(high, inclusive)| if inclusive { flag <= high } else { flag < high })
    };
    let terms = [false, true]
        .into_iter()
        .filter(within)
        .map(|flag| Term::from_field_bool(resolved.field, flag));
    Ok(RangeMatch::AnyOf(terms.collect()))
}

/// Range bounds for every kind but booleans; `None` when the range is empty.
fn range_bounds(
    resolved: &Resolved<'_>,
    lower: RangeEnd<'_>,
    upper: RangeEnd<'_>,
) -> Result<Option<(Bound<Term>, Bound<Term>)>> {
    let (field, kind, path) = (resolved.field, resolved.kind, resolved.path);
    match kind {
        FieldKind::I64 => int_terms(
            resolved,
            lower,
            upper,
            i64::MIN.into(),
            i64::MAX.into(),
            |int| Term::from_field_i64(field, int as i64),
        ),
        FieldKind::U64 => int_terms(resolved, lower, upper, 0, u64::MAX.into(), |int| {
            Term::from_field_u64(field, int as u64)
        }),
        FieldKind::Date(unit) => date_terms(resolved, unit, lower, upper),
        FieldKind::DynamicObject(LeafKind::I64 | LeafKind::U64) => {
            json_int_terms(resolved, lower, upper)
        }
        FieldKind::DynamicObject(LeafKind::F64) => {
            let base = json_path_term(resolved)?;
            each_bound(lower, upper, |value| {
                let mut term = base.clone();
                term.append_type_and_fast_value(to_f64(kind, path, value)?);
                Ok(term)
            })
        }
        FieldKind::Flattened | FieldKind::DynamicObject(LeafKind::Keyword) => {
            let base = json_path_term(resolved)?;
            each_bound(lower, upper, |value| {
                let mut term = base.clone();
                term.append_type_and_str(&text(kind, path, value)?);
                Ok(term)
            })
        }
        FieldKind::Keyword | FieldKind::Text => each_bound(lower, upper, |value| {
            Ok(Term::from_field_text(field, &text(kind, path, value)?))
        }),
        FieldKind::F64 => each_bound(lower, upper, |value| {
            Ok(Term::from_field_f64(field, to_f64(kind, path, value)?))
        }),
        // Booleans go through `bool_range`: tantivy's RangeQuery does not take them.
        FieldKind::Bool => Ok(None),
        FieldKind::Ip => each_bound(lower, upper, |value| {
            Ok(Term::from_field_ip_addr(field, ip(path, value)?))
        }),
    }
}

/// Converts both ends with `convert`, keeping inclusiveness.
fn each_bound(
    lower: RangeEnd<'_>,
    upper: RangeEnd<'_>,
    convert: impl Fn(&Value) -> Result<Term>,
) -> Result<Option<(Bound<Term>, Bound<Term>)>> {
    let bound = |end: RangeEnd<'_>| -> Result<Bound<Term>> {
        Ok(match end {
            None => Bound::Unbounded,
            Some((value, true)) => Bound::Included(convert(value)?),
            Some((value, false)) => Bound::Excluded(convert(value)?),
        })
    };
    Ok(Some((bound(lower)?, bound(upper)?)))
}

/// Inclusive integer bounds of a range on integers in `min..=max`: a
/// fractional lower bound rounds up, a fractional upper bound rounds down,
/// exclusive bounds step by one, and bounds beyond the type are clamped.
/// `None` when the range is empty.
fn int_bounds(
    lower: NumberEnd,
    upper: NumberEnd,
    min: i128,
    max: i128,
) -> Option<(Option<i128>, Option<i128>)> {
    let low = lower.map(|(number, inclusive)| match number.whole() {
        Some(int) if inclusive => int,
        Some(int) => int.saturating_add(1),
        None => number.float().ceil() as i128,
    });
    let high = upper.map(|(number, inclusive)| match number.whole() {
        Some(int) if inclusive => int,
        Some(int) => int.saturating_sub(1),
        None => number.float().floor() as i128,
    });
    if low.unwrap_or(min).max(min) > high.unwrap_or(max).min(max) {
        return None;
    }
    Some((low.map(|low| low.max(min)), high.map(|high| high.min(max))))
}

/// Parses both ends of a range as numbers for a field of `kind`.
fn number_ends(
    kind: FieldKind,
    path: &str,
    lower: RangeEnd<'_>,
    upper: RangeEnd<'_>,
) -> Result<(NumberEnd, NumberEnd)> {
    let parse = |end: RangeEnd<'_>| -> Result<NumberEnd> {
        end.map(|(value, inclusive)| Ok((number(kind, path, value)?, inclusive)))
            .transpose()
    };
    Ok((parse(lower)?, parse(upper)?))
}

/// Range terms for an integer field, through [`int_bounds`].
fn int_terms(
    resolved: &Resolved<'_>,
    lower: RangeEnd<'_>,
    upper: RangeEnd<'_>,
    min: i128,
    max: i128,
    make: impl Fn(i128) -> Term,
) -> Result<Option<(Bound<Term>, Bound<Term>)>> {
    let (low, high) = number_ends(resolved.kind, resolved.path, lower, upper)?;
    Ok(int_bounds(low, high, min, max)
        .map(|(low, high)| (included(low, &make), included(high, &make))))
}

/// `Included(make(value))`, or `Unbounded` without a value.
fn included(value: Option<i128>, make: impl Fn(i128) -> Term) -> Bound<Term> {
    value.map_or(Bound::Unbounded, |value| Bound::Included(make(value)))
}

/// Range terms for integer keys of a dynamic object. Both ends must have the
/// same type for tantivy's JSON range: i64 unless a bound needs u64.
fn json_int_terms(
    resolved: &Resolved<'_>,
    lower: RangeEnd<'_>,
    upper: RangeEnd<'_>,
) -> Result<Option<(Bound<Term>, Bound<Term>)>> {
    let (min, max) = match resolved.kind {
        FieldKind::DynamicObject(LeafKind::U64) => (0, i128::from(u64::MAX)),
        _ => (i128::from(i64::MIN), i128::from(i64::MAX)),
    };
    let (low, high) = number_ends(resolved.kind, resolved.path, lower, upper)?;
    let Some((low, high)) = int_bounds(low, high, min, max) else {
        return Ok(None);
    };
    let base = json_path_term(resolved)?;
    let as_u64 = low
        .max(high)
        .is_some_and(|value| value > i128::from(i64::MAX));
    let make = |value: i128| {
        let mut term = base.clone();
        match (as_u64, u64::try_from(value), i64::try_from(value)) {
            (true, Ok(value), _) => term.append_type_and_fast_value(value),
            (_, _, Ok(value)) => term.append_type_and_fast_value(value),
            // Unreachable after clamping; keeps the conversion total.
            _ => term.append_type_and_fast_value(0i64),
        }
        term
    };
    Ok(Some((included(low, make), included(high, make))))
}

/// Range terms for a date field: bounds floored to the field's unit like
/// stored values, then made inclusive and clamped to the column's range (a
/// bound beyond it matches everything or nothing, as it would in
/// Elasticsearch).
fn date_terms(
    resolved: &Resolved<'_>,
    unit: DateUnit,
    lower: RangeEnd<'_>,
    upper: RangeEnd<'_>,
) -> Result<Option<(Bound<Term>, Bound<Term>)>> {
    let end = |end: RangeEnd<'_>| -> Result<NumberEnd> {
        end.map(|(value, inclusive)| {
            let stored = instant(resolved.path, value)?.div_euclid(unit.nanos());
            Ok((Number::Int(stored), inclusive))
        })
        .transpose()
    };
    let bounds = int_bounds(end(lower)?, end(upper)?, i64::MIN.into(), i64::MAX.into());
    let make = |stored: i128| Term::from_field_i64(resolved.field, stored as i64);
    Ok(bounds.map(|(low, high)| (included(low, make), included(high, make))))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::{Value, json};

    use super::super::tests::Fixture;
    use super::*;

    #[test]
    fn integer_range_bounds_round_inward_and_clamp() {
        let (min, max) = (i128::from(i64::MIN), i128::from(i64::MAX));
        let b = |number, inclusive| Some((number, inclusive));
        assert_eq!(
            int_bounds(b(Number::Float(1.5), false), None, min, max),
            Some((Some(2), None))
        );
        assert_eq!(
            int_bounds(None, b(Number::Float(1.5), true), min, max),
            Some((None, Some(1)))
        );
        assert_eq!(
            int_bounds(b(Number::Int(3), false), b(Number::Int(4), false), min, max),
            None
        );
        assert_eq!(
            int_bounds(b(Number::Float(1e30), true), None, min, max),
            None
        );
        assert_eq!(
            int_bounds(None, b(Number::Float(1e30), true), min, max),
            Some((None, Some(max)))
        );
        assert_eq!(
            int_bounds(b(Number::Int(-5), true), None, 0, max),
            Some((Some(0), None))
        );
    }

    #[test]
    fn date_range_bounds_match_elasticsearch_at_the_stored_instant() {
        let at = "2024-05-01T10:00:00.123Z";
        let fixture = Fixture::new(&[
            ("timestamp", json!(at)),
            ("at_ns", json!("2024-05-01T10:00:00.123456789Z")),
        ]);
        let stored = json!(at);
        assert_eq!(
            fixture.range_count("timestamp", Some((&stored, true)), None),
            1
        );
        assert_eq!(
            fixture.range_count("timestamp", Some((&stored, false)), None),
            0
        );
        assert_eq!(
            fixture.range_count("timestamp", None, Some((&stored, true))),
            1
        );
        assert_eq!(
            fixture.range_count("timestamp", None, Some((&stored, false))),
            0
        );
        // Sub-millisecond digits are truncated on both sides.
        let finer = json!("2024-05-01T10:00:00.123999Z");
        assert_eq!(
            fixture.range_count("timestamp", Some((&finer, true)), Some((&finer, true))),
            1
        );
        let millis = json!(1_714_557_600_123_i64);
        assert_eq!(
            fixture.range_count("timestamp", Some((&millis, true)), Some((&millis, true))),
            1
        );
        // date_nanos keeps nanoseconds.
        let ns = json!("2024-05-01T10:00:00.123456789Z");
        let before = json!("2024-05-01T10:00:00.123456788Z");
        assert_eq!(
            fixture.range_count("at_ns", Some((&ns, true)), Some((&ns, true))),
            1
        );
        assert_eq!(
            fixture.range_count("at_ns", Some((&before, false)), Some((&ns, false))),
            0
        );
        let far = json!("9999-01-01");
        assert_eq!(
            fixture.range_count("timestamp", Some((&far, true)), None),
            0
        );
        assert_eq!(
            fixture.range_count("timestamp", None, Some((&far, true))),
            1
        );
    }

    #[test]
    fn date_ranges_hold_before_1970_and_after_2262() {
        let fixture = Fixture::new(&[
            ("timestamp", json!("0001-01-01T00:00:00Z")),
            ("timestamp", json!("1969-12-31T23:59:59.999Z")),
            ("timestamp", json!("1970-01-01T00:00:00Z")),
            ("timestamp", json!("3135-06-15T12:00:00Z")),
            ("timestamp", json!("9999-12-31T23:59:59.999Z")),
        ]);
        let count = |low: Value, high: Value| {
            fixture.range_count("timestamp", Some((&low, true)), Some((&high, false)))
        };
        assert_eq!(count(json!("0001"), json!("0002")), 1);
        assert_eq!(count(json!("1969-12-31T23:59:59.999Z"), json!("1970")), 1);
        assert_eq!(count(json!(-1), json!(1)), 2);
        // A sub-millisecond bound before 1970 floors, as the stored value did.
        assert_eq!(count(json!("1969-12-31T23:59:59.9995Z"), json!("1970")), 1);
        assert_eq!(count(json!("2263"), json!("9999-12-31T23:59:59.999Z")), 1);
        let last = json!("9999-12-31T23:59:59.999Z");
        assert_eq!(
            fixture.range_count("timestamp", Some((&last, true)), None),
            1
        );
        assert_eq!(
            fixture.range_count("timestamp", None, None.or(Some((&last, true)))),
            5
        );
    }

    #[test]
    fn numeric_and_keyword_ranges() {
        let fixture = Fixture::new(&[
            ("status", json!(10)),
            ("bytes", json!(u64::MAX)),
            ("path", json!("m")),
            ("tags.platform", json!("ios")),
            ("totals.hits", json!(5)),
            ("totals.hits", json!(u64::MAX)),
            ("ratios.hit", json!(0.25)),
        ]);
        let (ten, nine_half, big) = (json!(10), json!("9.5"), json!(u64::MAX));
        assert_eq!(fixture.range_count("status", Some((&ten, true)), None), 1);
        assert_eq!(fixture.range_count("status", Some((&ten, false)), None), 0);
        assert_eq!(
            fixture.range_count("status", Some((&nine_half, false)), Some((&ten, true))),
            1
        );
        assert_eq!(fixture.range_count("bytes", Some((&big, true)), None), 1);
        let (a, n) = (json!("a"), json!("n"));
        assert_eq!(
            fixture.range_count("path", Some((&a, true)), Some((&n, false))),
            1
        );
        let (i, j) = (json!("i"), json!("j"));
        assert_eq!(
            fixture.range_count("tags.platform", Some((&i, true)), Some((&j, false))),
            1
        );
        assert_eq!(
            fixture.range_count("tags.platform", Some((&j, true)), None),
            0
        );
        let (four, six) = (json!(4), json!(6));
        assert_eq!(
            fixture.range_count("totals.hits", Some((&four, true)), Some((&six, true))),
            1
        );
        assert_eq!(
            fixture.range_count("totals.hits", Some((&four, true)), None),
            2
        );
        assert_eq!(
            fixture.range_count("totals.hits", Some((&big, true)), None),
            1
        );
        let (low, high) = (json!(0.2), json!(0.3));
        assert_eq!(
            fixture.range_count("ratios.hit", Some((&low, true)), Some((&high, true))),
            1
        );
    }
}
