//! Scalars read from JSON for a field of a kind, with Elasticsearch's
//! coercions: numeric strings for numbers, the JSON text of numbers and
//! booleans for keywords, `"true"`/`"false"` for booleans, IPv4 as
//! IPv4-mapped IPv6, and dates read by [`crate::dates`].

use std::net::{IpAddr, Ipv6Addr};

use serde_json::Value;

use super::{Number, invalid, type_name};
use crate::backend::embedded::schema::FieldKind;
use crate::dates::{self, DateUnit};
use crate::error::{Error, Result};

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
pub(super) fn text(kind: FieldKind, path: &str, value: &Value) -> Result<String> {
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
pub(super) fn number(kind: FieldKind, path: &str, value: &Value) -> Result<Number> {
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
pub(super) fn in_range<T: TryFrom<i128>>(
    kind: FieldKind,
    path: &str,
    value: &Value,
    int: i128,
) -> Result<T> {
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
pub(super) fn to_i64(kind: FieldKind, path: &str, value: &Value) -> Result<i64> {
    in_range(kind, path, value, whole_number(kind, path, value)?)
}

/// A value for an `unsigned_long` field (or key).
pub(super) fn to_u64(kind: FieldKind, path: &str, value: &Value) -> Result<u64> {
    in_range(kind, path, value, whole_number(kind, path, value)?)
}

/// A value for a `double` field (or key).
pub(super) fn to_f64(kind: FieldKind, path: &str, value: &Value) -> Result<f64> {
    Ok(number(kind, path, value)?.float())
}

/// A value for a `boolean` field: `true`, `false`, or those words as strings.
pub(super) fn to_bool(path: &str, value: &Value) -> Result<bool> {
    match value {
        Value::Bool(flag) => Ok(*flag),
        Value::String(text) if text == "true" => Ok(true),
        Value::String(text) if text == "false" => Ok(false),
        _ => Err(invalid(path, FieldKind::Bool, value, "give true or false")),
    }
}

/// A value for an `ip` field: an IPv4 (stored IPv4-mapped) or IPv6 address.
pub(super) fn ip(path: &str, value: &Value) -> Result<Ipv6Addr> {
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
pub(super) fn stored_date(unit: DateUnit, path: &str, value: &Value) -> Result<i64> {
    let kind = FieldKind::Date(unit);
    unit.stored(instant(path, value)?).ok_or_else(|| {
        let takes = format!("a {} field holds {}", type_name(kind), unit.span());
        invalid(path, kind, value, &takes)
    })
}

/// Nanoseconds since the epoch of a date as Elasticsearch's default format
/// reads it (`strict_date_optional_time||epoch_millis`): the text forms of
/// [`dates::read_text`], or epoch milliseconds as a number.
pub(super) fn instant(path: &str, value: &Value) -> Result<i128> {
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

    use super::*;

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
}
