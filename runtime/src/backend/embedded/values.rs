//! From JSON values to what tantivy stores and searches, field kind by field
//! kind, with Elasticsearch's coercions: numeric strings for numbers, the JSON
//! text of numbers and booleans for keywords, dates as RFC 3339, bare dates,
//! zone-less date-times (UTC) or epoch milliseconds, IPv4 as IPv4-mapped IPv6.
//!
//! Documents and queries go through the same conversions, so a value written
//! in a query finds the document that held it. Dates are read by
//! [`crate::dates`] and floored to the field's unit (milliseconds for `date`)
//! on both sides, so `gte` a stored timestamp includes it and `gt` excludes
//! it, as in Elasticsearch.

use std::net::{IpAddr, Ipv6Addr};
use std::ops::Bound;

use serde_json::Value;
use tantivy::Term;
use tantivy::columnar::NumericalValue;
use tantivy::schema::OwnedValue;

use super::schema::{FieldKind, LeafKind, Resolved};
use crate::dates::{self, DateUnit};
use crate::error::{Error, Result};

/// A number as written in a document or query: a JSON number or a numeric
/// string (Elasticsearch coerces `"42"` to 42).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Number {
    /// A whole number, wide enough for every `long` and `unsigned_long`.
    Int(i128),
    /// A finite number with a decimal point or exponent.
    Float(f64),
}

impl Number {
    /// The value as a whole number; `None` when it has a fractional part.
    /// Floats beyond `i128` saturate, which range checks then reject.
    fn whole(self) -> Option<i128> {
        match self {
            Number::Int(int) => Some(int),
            Number::Float(float) if float.fract() == 0.0 => Some(float as i128),
            Number::Float(_) => None,
        }
    }

    /// The value as a float (large integers round to the nearest float).
    fn float(self) -> f64 {
        match self {
            Number::Int(int) => int as f64,
            Number::Float(float) => float,
        }
    }
}

/// Elasticsearch's name for a field kind, as used in its error messages.
pub(crate) fn type_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Keyword | FieldKind::DynamicObject(LeafKind::Keyword) => "keyword",
        FieldKind::Text => "text",
        FieldKind::I64 | FieldKind::DynamicObject(LeafKind::I64) => "long",
        FieldKind::U64 | FieldKind::DynamicObject(LeafKind::U64) => "unsigned_long",
        FieldKind::F64 | FieldKind::DynamicObject(LeafKind::F64) => "double",
        FieldKind::Bool => "boolean",
        FieldKind::Date(DateUnit::Millis) => "date",
        FieldKind::Date(DateUnit::Nanos) => "date_nanos",
        FieldKind::Ip => "ip",
        FieldKind::Flattened => "flattened",
    }
}

/// A short rendering of a value for error messages (Elasticsearch's
/// "preview of field's value").
pub(crate) fn preview(value: &Value) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    match text.char_indices().nth(80) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text,
    }
}

/// The error for a value that a field of `kind` cannot take: names the
/// field, its type and the value, then says what the field takes.
fn invalid(path: &str, kind: FieldKind, value: &Value, takes: &str) -> Error {
    Error::BadRequest(format!(
        "field [{path}] of type [{}] cannot take [{}]: {takes}",
        type_name(kind),
        preview(value)
    ))
}

/// The typed value of a non-JSON field, for a document. Arrays and nulls are
/// the caller's business (one call per element; nulls skipped).
pub(crate) fn document_value(kind: FieldKind, path: &str, value: &Value) -> Result<OwnedValue> {
    Ok(match kind {
        FieldKind::Keyword | FieldKind::Text => OwnedValue::Str(text(kind, path, value)?),
        FieldKind::I64 => OwnedValue::I64(to_i64(kind, path, value)?),
        FieldKind::U64 => OwnedValue::U64(to_u64(kind, path, value)?),
        FieldKind::F64 => OwnedValue::F64(to_f64(kind, path, value)?),
        FieldKind::Bool => OwnedValue::Bool(to_bool(path, value)?),
        FieldKind::Date(unit) => OwnedValue::I64(stored_date(unit, path, value)?),
        FieldKind::Ip => OwnedValue::IpAddr(ip(path, value)?),
        FieldKind::Flattened | FieldKind::DynamicObject(_) => {
            return Err(invalid(path, kind, value, "this field takes a JSON object"));
        }
    })
}

/// The typed value of one leaf inside a JSON field (`flattened` or an object
/// mapped by a dynamic template), for a document; `path` is the leaf's full
/// dotted path. Flattened leaves are keywords whatever their JSON type.
pub(crate) fn json_leaf(kind: FieldKind, path: &str, value: &Value) -> Result<OwnedValue> {
    let leaf = match kind {
        FieldKind::DynamicObject(leaf) => leaf,
        _ => LeafKind::Keyword,
    };
    Ok(match leaf {
        LeafKind::Keyword => OwnedValue::Str(text(kind, path, value)?),
        LeafKind::I64 => OwnedValue::I64(to_i64(kind, path, value)?),
        LeafKind::U64 => OwnedValue::U64(to_u64(kind, path, value)?),
        LeafKind::F64 => OwnedValue::F64(to_f64(kind, path, value)?),
    })
}

/// The JSON type of a value, for messages: "a string", "an object"...
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The term a `term` query looks for: the value converted as a document's
/// value would be (dates have no terms: query code matches them with
/// [`range_terms`]). A value that no document of
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

/// Like [`term`], but `None` for a number with a fractional part on an
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
fn json_path_term(resolved: &Resolved<'_>) -> Result<Term> {
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

/// The range of addresses of an IP prefix (`10.0.0.0/8`, `2001:db8::/32`),
/// as Elasticsearch's `term` query on `ip` fields accepts; `None` when
/// `value` is not written as a prefix.
pub(crate) fn ip_prefix(path: &str, value: &Value) -> Result<Option<(Ipv6Addr, Ipv6Addr)>> {
    let Some((address, length)) = value.as_str().and_then(|text| text.split_once('/')) else {
        return Ok(None);
    };
    let bad = || {
        invalid(
            path,
            FieldKind::Ip,
            value,
            "give an address and a prefix length, e.g. 10.0.0.0/8",
        )
    };
    let (address, max) = match address.parse::<IpAddr>().map_err(|_| bad())? {
        IpAddr::V4(v4) => (v4.to_ipv6_mapped(), 32),
        IpAddr::V6(v6) => (v6, 128),
    };
    let length: u32 = length.parse().map_err(|_| bad())?;
    if length > max {
        return Err(bad());
    }
    let host_bits = max - length;
    let mask = u128::MAX.checked_shl(host_bits).unwrap_or(0);
    let network = u128::from(address) & mask;
    Ok(Some((
        Ipv6Addr::from(network),
        Ipv6Addr::from(network | !mask),
    )))
}

/// Keyword or text content: strings as they are, numbers and booleans as
/// their JSON text (Elasticsearch indexes `42` in a keyword as `"42"`).
fn text(kind: FieldKind, path: &str, value: &Value) -> Result<String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        _ => Err(invalid(
            path,
            kind,
            value,
            "give a string, a number or a boolean",
        )),
    }
}

/// A JSON number or numeric string; NaN and infinities are rejected.
fn number(kind: FieldKind, path: &str, value: &Value) -> Result<Number> {
    let parsed = match value {
        Value::Number(number) => match (number.as_i64(), number.as_u64(), number.as_f64()) {
            (Some(int), _, _) => Some(Number::Int(int.into())),
            (_, Some(int), _) => Some(Number::Int(int.into())),
            (_, _, float) => float.map(Number::Float),
        },
        Value::String(text) => match text.parse::<i128>() {
            Ok(int) => Some(Number::Int(int)),
            Err(_) => text.parse::<f64>().ok().map(Number::Float),
        },
        _ => None,
    };
    match parsed {
        Some(Number::Float(float)) if !float.is_finite() => Err(invalid(
            path,
            kind,
            value,
            "give a finite number; NaN and infinities are not numbers Elasticsearch stores",
        )),
        Some(number) => Ok(number),
        None => Err(invalid(
            path,
            kind,
            value,
            "give a JSON number or a string holding one",
        )),
    }
}

/// A whole number within the range of `T`, or an error naming the field.
fn in_range<T: TryFrom<i128>>(kind: FieldKind, path: &str, value: &Value, int: i128) -> Result<T> {
    T::try_from(int)
        .map_err(|_| invalid(path, kind, value, "the value is out of range for this type"))
}

/// A whole number for an integer field: fractions are rejected.
fn whole_number(kind: FieldKind, path: &str, value: &Value) -> Result<i128> {
    number(kind, path, value)?.whole().ok_or_else(|| {
        invalid(
            path,
            kind,
            value,
            "this field holds whole numbers only; round the value or map the field as double",
        )
    })
}

/// A value for a `long` field (or a long key of a dynamic object).
fn to_i64(kind: FieldKind, path: &str, value: &Value) -> Result<i64> {
    in_range(kind, path, value, whole_number(kind, path, value)?)
}

/// A value for an `unsigned_long` field (or key).
fn to_u64(kind: FieldKind, path: &str, value: &Value) -> Result<u64> {
    in_range(kind, path, value, whole_number(kind, path, value)?)
}

/// A value for a `double` field (or key).
fn to_f64(kind: FieldKind, path: &str, value: &Value) -> Result<f64> {
    Ok(number(kind, path, value)?.float())
}

/// A value for a `boolean` field: `true`, `false`, or those words as strings.
fn to_bool(path: &str, value: &Value) -> Result<bool> {
    match value {
        Value::Bool(flag) => Ok(*flag),
        Value::String(text) if text == "true" => Ok(true),
        Value::String(text) if text == "false" => Ok(false),
        _ => Err(invalid(path, FieldKind::Bool, value, "give true or false")),
    }
}

/// A value for an `ip` field: an IPv4 (stored IPv4-mapped) or IPv6 address.
fn ip(path: &str, value: &Value) -> Result<Ipv6Addr> {
    match value.as_str().map(str::parse::<IpAddr>) {
        Some(Ok(IpAddr::V4(v4))) => Ok(v4.to_ipv6_mapped()),
        Some(Ok(IpAddr::V6(v6))) => Ok(v6),
        _ => Err(invalid(
            path,
            FieldKind::Ip,
            value,
            "give an IPv4 or IPv6 address as a string",
        )),
    }
}

/// The stored value of a date field of `unit`: epoch milliseconds for
/// `date`, nanoseconds for `date_nanos` (see [`crate::dates`]).
fn stored_date(unit: DateUnit, path: &str, value: &Value) -> Result<i64> {
    let kind = FieldKind::Date(unit);
    unit.stored(instant(path, value)?).ok_or_else(|| {
        let takes = format!("a {} field holds {}", type_name(kind), unit.span());
        invalid(path, kind, value, &takes)
    })
}

/// Nanoseconds since the epoch of a date as Elasticsearch's default format
/// reads it (`strict_date_optional_time||epoch_millis`): the text forms of
/// [`dates::read_text`], or epoch milliseconds as a number.
fn instant(path: &str, value: &Value) -> Result<i128> {
    let kind = FieldKind::Date(DateUnit::Millis);
    let parsed = match value {
        Value::String(text) if dates::is_date_math(text) => {
            return Err(Error::Unsupported {
                what: format!("date math `{text}` (field `{path}`)"),
                hint: "give an absolute date: RFC 3339 (2024-05-01T12:00:00Z) or epoch milliseconds",
            });
        }
        Value::String(text) => dates::read_text(text),
        Value::Number(_) => number(kind, path, value).ok().map(|millis| match millis {
            Number::Int(int) => dates::millis_to_nanos(int),
            Number::Float(float) => dates::fractional_millis_to_nanos(float),
        }),
        _ => None,
    };
    parsed.ok_or_else(|| {
        invalid(path, kind, value, "give an RFC 3339 date (2024-05-01T12:00:00Z), a date (2024-05-01) or epoch milliseconds")
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;
    use tantivy::collector::Count;
    use tantivy::query::{RangeQuery, TermQuery, TermSetQuery};
    use tantivy::schema::IndexRecordOption;
    use tantivy::{Index, IndexWriter, TantivyDocument};

    use super::*;
    use crate::backend::embedded::schema::PartitionSchema;

    fn schema() -> PartitionSchema {
        PartitionSchema::from_mappings(&json!({
            "dynamic_templates": [
                {"counts": {"path_match": "counters.*", "mapping": {"type": "unsigned_long"}}},
                {"ratios": {"path_match": "ratios.*", "mapping": {"type": "double"}}}
            ],
            "properties": {
                "count": {"type": "long"},
                "big": {"type": "unsigned_long"},
                "ratio": {"type": "double"},
                "ok": {"type": "boolean"},
                "at": {"type": "date"},
                "at_ns": {"type": "date_nanos"},
                "addr": {"type": "ip"},
                "name": {"type": "keyword"},
                "tags": {"type": "flattened"},
                "counters": {"type": "object"},
                "ratios": {"type": "object"}
            }
        }))
        .unwrap()
    }

    fn resolved<'a>(schema: &PartitionSchema, path: &'a str) -> Resolved<'a> {
        schema.resolve(path).unwrap()
    }

    fn nanos(value: Value) -> i128 {
        instant("at", &value).unwrap()
    }

    #[test]
    fn dates_parse_in_every_supported_form() {
        // Text goes to the date reader, whose tests prove each of its forms
        // (`crate::dates`); numbers are epoch milliseconds.
        let midnight = 1_714_521_600_000_000_000_i128; // 2024-05-01T00:00:00Z
        assert_eq!(nanos(json!("2024-05-01T02:00:00+02:00")), midnight);
        assert_eq!(nanos(json!("1714521600000")), midnight);
        assert_eq!(nanos(json!(1_714_521_600_000_i64)), midnight);
        assert_eq!(nanos(json!(-1000)), -1_000_000_000);
        assert_eq!(nanos(json!(1.5)), 1_500_000);
    }

    #[test]
    fn bad_dates_name_the_field_and_value() {
        for bad in [
            json!("yesterday"),
            json!("2024-13-01"),
            json!(true),
            json!({"a": 1}),
        ] {
            let error = instant("at", &bad).unwrap_err().to_string();
            assert!(
                error.contains("[at]") && error.contains("RFC 3339"),
                "{error}"
            );
        }
        // `date` holds every year; `date_nanos` what fits nanoseconds in an i64.
        assert_eq!(
            stored_date(DateUnit::Millis, "at", &json!("3000-01-01")).unwrap(),
            32_503_680_000_000
        );
        let error = stored_date(DateUnit::Nanos, "at_ns", &json!("3000-01-01"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("[at_ns]") && error.contains("[date_nanos]") && error.contains("2262"),
            "{error}"
        );
        let error = instant("at", &json!("now-1d")).unwrap_err().to_string();
        assert!(error.contains("date math"), "{error}");
    }

    #[test]
    fn numbers_are_checked_and_coerced() {
        let long = FieldKind::I64;
        assert_eq!(to_i64(long, "count", &json!(42)).unwrap(), 42);
        assert_eq!(to_i64(long, "count", &json!("42")).unwrap(), 42);
        assert_eq!(to_i64(long, "count", &json!(42.0)).unwrap(), 42);
        for bad in [
            json!(1.5),
            json!("1.5"),
            json!(u64::MAX),
            json!(1e300),
            json!("NaN"),
            json!("inf"),
            json!("x"),
        ] {
            let error = to_i64(long, "count", &bad).unwrap_err().to_string();
            assert!(
                error.contains("[count]") && error.contains("[long]"),
                "{error}"
            );
        }
        assert_eq!(
            to_u64(FieldKind::U64, "big", &json!(u64::MAX)).unwrap(),
            u64::MAX
        );
        assert_eq!(
            to_u64(FieldKind::U64, "big", &json!("18446744073709551615")).unwrap(),
            u64::MAX
        );
        assert!(to_u64(FieldKind::U64, "big", &json!(-1)).is_err());
        assert_eq!(to_f64(FieldKind::F64, "ratio", &json!("0.5")).unwrap(), 0.5);
        for bad in [json!("NaN"), json!("-infinity"), json!([1]), json!(null)] {
            assert!(to_f64(FieldKind::F64, "ratio", &bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keywords_take_the_json_text_of_scalars() {
        let kind = FieldKind::Keyword;
        assert_eq!(text(kind, "name", &json!(42)).unwrap(), "42");
        assert_eq!(text(kind, "name", &json!(1.5)).unwrap(), "1.5");
        assert_eq!(text(kind, "name", &json!(true)).unwrap(), "true");
        assert!(text(kind, "name", &json!({"a": 1})).is_err());
    }

    #[test]
    fn ips_and_prefixes() {
        let v4 = ip("addr", &json!("10.1.2.3")).unwrap();
        assert_eq!(v4, "::ffff:10.1.2.3".parse::<Ipv6Addr>().unwrap());
        assert_eq!(
            ip("addr", &json!("2001:db8::1")).unwrap(),
            "2001:db8::1".parse::<Ipv6Addr>().unwrap()
        );
        assert!(ip("addr", &json!("10.1.2")).is_err());
        let (low, high) = ip_prefix("addr", &json!("10.1.0.0/16")).unwrap().unwrap();
        assert_eq!(low, "::ffff:10.1.0.0".parse::<Ipv6Addr>().unwrap());
        assert_eq!(high, "::ffff:10.1.255.255".parse::<Ipv6Addr>().unwrap());
        let (low, high) = ip_prefix("addr", &json!("::/0")).unwrap().unwrap();
        assert_eq!((u128::from(low), u128::from(high)), (0, u128::MAX));
        assert!(ip_prefix("addr", &json!("10.0.0.0/33")).is_err());
        assert!(ip_prefix("addr", &json!("10.0.0.0")).unwrap().is_none());
    }

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

    /// Indexes one document per value of `field` and counts the documents
    /// each query finds.
    struct Fixture {
        schema: PartitionSchema,
        searcher: tantivy::Searcher,
    }

    impl Fixture {
        fn new(docs: &[(&str, Value)]) -> Self {
            let schema = schema();
            let index = Index::create_in_ram(schema.schema.clone());
            let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
            for (path, value) in docs {
                let mut doc = TantivyDocument::new();
                let resolved = schema.resolve(path).unwrap();
                match resolved.kind {
                    FieldKind::Flattened | FieldKind::DynamicObject(_) => {
                        let leaf = json_leaf(resolved.kind, path, value).unwrap();
                        let object =
                            OwnedValue::Object(vec![(resolved.json_path.to_owned(), leaf)]);
                        doc.add_field_value(resolved.field, &object);
                    }
                    kind => doc.add_field_value(
                        resolved.field,
                        &document_value(kind, path, value).unwrap(),
                    ),
                }
                writer.add_document(doc).unwrap();
            }
            writer.commit().unwrap();
            let searcher = index.reader().unwrap().searcher();
            Fixture { schema, searcher }
        }

        fn term_count(&self, path: &str, value: Value) -> usize {
            let term = term(&resolved(&self.schema, path), &value).unwrap();
            self.searcher
                .search(&TermQuery::new(term, IndexRecordOption::Basic), &Count)
                .unwrap()
        }

        fn range_count(&self, path: &str, lower: RangeEnd<'_>, upper: RangeEnd<'_>) -> usize {
            let resolved = resolved(&self.schema, path);
            match range_terms(&resolved, lower, upper).unwrap() {
                RangeMatch::Between(low, high) => self
                    .searcher
                    .search(&RangeQuery::new(low, high), &Count)
                    .unwrap(),
                RangeMatch::AnyOf(terms) => self
                    .searcher
                    .search(&TermSetQuery::new(terms), &Count)
                    .unwrap(),
                RangeMatch::Nothing => 0,
            }
        }
    }

    #[test]
    fn terms_find_the_documents_that_hold_the_value() {
        let fixture = Fixture::new(&[
            ("count", json!(42)),
            ("big", json!(u64::MAX)),
            ("ratio", json!(0.5)),
            ("ok", json!(true)),
            ("addr", json!("10.0.0.1")),
            ("name", json!(7)),
            ("tags.platform", json!("ios")),
            ("tags.build", json!(12)),
            ("counters.hits", json!(5)),
            ("ratios.hit", json!(2)),
        ]);
        assert_eq!(fixture.term_count("count", json!("42")), 1);
        assert_eq!(fixture.term_count("count", json!(41)), 0);
        assert_eq!(fixture.term_count("big", json!(u64::MAX)), 1);
        assert_eq!(fixture.term_count("ratio", json!("0.5")), 1);
        assert_eq!(fixture.term_count("ok", json!("true")), 1);
        assert_eq!(fixture.term_count("ok", json!(false)), 0);
        assert_eq!(fixture.term_count("addr", json!("::ffff:10.0.0.1")), 1);
        assert_eq!(fixture.term_count("name", json!("7")), 1);
        assert_eq!(fixture.term_count("tags.platform", json!("ios")), 1);
        assert_eq!(fixture.term_count("tags.build", json!(12)), 1);
        assert_eq!(fixture.term_count("tags.build", json!("ios")), 0);
        assert_eq!(fixture.term_count("counters.hits", json!(5)), 1);
        assert_eq!(fixture.term_count("counters.hits", json!("5")), 1);
        assert_eq!(fixture.term_count("ratios.hit", json!(2.0)), 1);
        let count = resolved(&fixture.schema, "count");
        assert!(term_or_none(&count, &json!(42.5)).unwrap().is_none());
        assert!(term(&count, &json!(42.5)).is_err());
        assert!(term(&resolved(&fixture.schema, "tags"), &json!("ios")).is_err());
    }

    #[test]
    fn date_range_bounds_match_elasticsearch_at_the_stored_instant() {
        let at = "2024-05-01T10:00:00.123Z";
        let fixture = Fixture::new(&[
            ("at", json!(at)),
            ("at_ns", json!("2024-05-01T10:00:00.123456789Z")),
        ]);
        let stored = json!(at);
        assert_eq!(fixture.range_count("at", Some((&stored, true)), None), 1);
        assert_eq!(fixture.range_count("at", Some((&stored, false)), None), 0);
        assert_eq!(fixture.range_count("at", None, Some((&stored, true))), 1);
        assert_eq!(fixture.range_count("at", None, Some((&stored, false))), 0);
        // Sub-millisecond digits are truncated on both sides.
        let finer = json!("2024-05-01T10:00:00.123999Z");
        assert_eq!(
            fixture.range_count("at", Some((&finer, true)), Some((&finer, true))),
            1
        );
        let millis = json!(1_714_557_600_123_i64);
        assert_eq!(
            fixture.range_count("at", Some((&millis, true)), Some((&millis, true))),
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
        assert_eq!(fixture.range_count("at", Some((&far, true)), None), 0);
        assert_eq!(fixture.range_count("at", None, Some((&far, true))), 1);
    }

    #[test]
    fn date_ranges_hold_before_1970_and_after_2262() {
        let fixture = Fixture::new(&[
            ("at", json!("0001-01-01T00:00:00Z")),
            ("at", json!("1969-12-31T23:59:59.999Z")),
            ("at", json!("1970-01-01T00:00:00Z")),
            ("at", json!("3135-06-15T12:00:00Z")),
            ("at", json!("9999-12-31T23:59:59.999Z")),
        ]);
        let count = |low: Value, high: Value| {
            fixture.range_count("at", Some((&low, true)), Some((&high, false)))
        };
        assert_eq!(count(json!("0001"), json!("0002")), 1);
        assert_eq!(count(json!("1969-12-31T23:59:59.999Z"), json!("1970")), 1);
        assert_eq!(count(json!(-1), json!(1)), 2);
        // A sub-millisecond bound before 1970 floors, as the stored value did.
        assert_eq!(count(json!("1969-12-31T23:59:59.9995Z"), json!("1970")), 1);
        assert_eq!(count(json!("2263"), json!("9999-12-31T23:59:59.999Z")), 1);
        let last = json!("9999-12-31T23:59:59.999Z");
        assert_eq!(fixture.range_count("at", Some((&last, true)), None), 1);
        assert_eq!(
            fixture.range_count("at", None, None.or(Some((&last, true)))),
            5
        );
    }

    #[test]
    fn numeric_and_keyword_ranges() {
        let fixture = Fixture::new(&[
            ("count", json!(10)),
            ("big", json!(u64::MAX)),
            ("name", json!("m")),
            ("tags.platform", json!("ios")),
            ("counters.hits", json!(5)),
            ("counters.hits", json!(u64::MAX)),
            ("ratios.hit", json!(0.25)),
        ]);
        let (ten, nine_half, big) = (json!(10), json!("9.5"), json!(u64::MAX));
        assert_eq!(fixture.range_count("count", Some((&ten, true)), None), 1);
        assert_eq!(fixture.range_count("count", Some((&ten, false)), None), 0);
        assert_eq!(
            fixture.range_count("count", Some((&nine_half, false)), Some((&ten, true))),
            1
        );
        assert_eq!(fixture.range_count("big", Some((&big, true)), None), 1);
        let (a, n) = (json!("a"), json!("n"));
        assert_eq!(
            fixture.range_count("name", Some((&a, true)), Some((&n, false))),
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
            fixture.range_count("counters.hits", Some((&four, true)), Some((&six, true))),
            1
        );
        assert_eq!(
            fixture.range_count("counters.hits", Some((&four, true)), None),
            2
        );
        assert_eq!(
            fixture.range_count("counters.hits", Some((&big, true)), None),
            1
        );
        let (low, high) = (json!(0.2), json!(0.3));
        assert_eq!(
            fixture.range_count("ratios.hit", Some((&low, true)), Some((&high, true))),
            1
        );
    }
}
