use serde_json::{Map, Value, json};

use super::calendar::{Calendar, Rounding, Unit, Zone};
use super::parse::{Bounds, Ctx, Parsed, parse_bounds, write_bounds};
use super::{CalendarGrid, HINT_FORMAT, Kind};
use crate::dates::{self, DateUnit};
use crate::error::Result;

const SECOND_MS: i64 = 1_000;
pub(super) const MINUTE_MS: i64 = 60 * SECOND_MS;
pub(super) const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
const WEEK_MS: i64 = 7 * DAY_MS;
/// 1970-01-05T00:00:00Z, the first Monday after the epoch. Elasticsearch's
/// calendar weeks start on Mondays, so weekly buckets are the fixed 7-day
/// grid shifted by this much.
const FIRST_MONDAY_MS: i64 = 4 * DAY_MS;
/// The longest interval or offset tantivy accepts: it works in nanoseconds.
const MAX_SPAN_MS: i64 = i64::MAX / 1_000_000;
/// Date formats whose output is the default, `strict_date_optional_time`.
const DEFAULT_DATE_FORMATS: [&str; 4] = [
    "strict_date_optional_time",
    "strict_date_optional_time||epoch_millis",
    "date_optional_time",
    "date_optional_time||epoch_millis",
];

const HINT_INTERVAL: &str = "`interval` is deprecated in Elasticsearch; use fixed_interval (e.g. \"1h\") or calendar_interval (e.g. \"hour\")";
const HINT_DATE_MATH: &str = "give bounds as epoch milliseconds or ISO-8601 dates (2024-03-05T07:00:00Z); date math such as now-1d is not evaluated";
const HINT_INTERVAL_UNIT: &str =
    "intervals are whole numbers of ms, s, m, h or d on the embedded engine";

pub(super) fn parse_date_histogram(ctx: &Ctx<'_>, params: &Map<String, Value>) -> Result<Parsed> {
    let mut field = None;
    let mut fixed = None;
    let mut calendar = None;
    let mut offset: i64 = 0;
    let mut min_doc_count = 0;
    let mut extended = None;
    let mut hard = None;
    let mut keyed = false;
    let mut zone = Zone::utc();
    for (key, value) in params {
        match key.as_str() {
            "field" => field = Some(ctx.string(key, value)?),
            "fixed_interval" => fixed = Some(ctx.string(key, value)?),
            "calendar_interval" => calendar = Some(ctx.string(key, value)?),
            "interval" => return Err(ctx.unsupported("`interval`", HINT_INTERVAL)),
            "time_zone" => {
                let text = ctx.string(key, value)?;
                zone = Zone::parse(text).ok_or_else(|| {
                    ctx.bad(format!(
                        "time_zone `{text}` is neither an offset (+05:30) nor a time zone name (Europe/Berlin)"
                    ))
                })?;
            }
            "format" => {
                let format = ctx.string(key, value)?;
                if !DEFAULT_DATE_FORMATS.contains(&format) {
                    return Err(ctx.unsupported(format_args!("format `{format}`"), HINT_FORMAT));
                }
            }
            "offset" => offset = parse_date_offset(ctx, value)?,
            "min_doc_count" => min_doc_count = ctx.count(key, value)?,
            "extended_bounds" => {
                extended = Some(parse_bounds(ctx, key, value, |k, v| date_bound(ctx, k, v))?)
            }
            "hard_bounds" => {
                hard = Some(parse_bounds(ctx, key, value, |k, v| date_bound(ctx, k, v))?)
            }
            "keyed" => keyed = ctx.boolean(key, value)?,
            "order" => ctx.key_ascending_order(value)?,
            other => return Err(ctx.common_unsupported(other)),
        }
    }
    let field = ctx.field(field)?;
    let rounding = match (fixed, calendar) {
        (Some(_), Some(_)) => {
            return Err(ctx.bad("give either fixed_interval or calendar_interval, not both"));
        }
        (None, None) => {
            return Err(ctx.bad(
                "fixed_interval (e.g. \"1h\") or calendar_interval (e.g. \"hour\") is required",
            ));
        }
        (Some(fixed), None) => Rounding::Fixed(parse_fixed_interval(ctx, fixed)?),
        (None, Some(calendar)) => Rounding::Calendar(Unit::parse(calendar).ok_or_else(|| {
            ctx.bad(format!(
                "calendar_interval `{calendar}` is not a calendar unit; use minute, hour, day, week, month, quarter or year (or 1m, 1h, 1d, 1w, 1M, 1q, 1y), or a fixed_interval such as \"2d\""
            ))
        })?),
    };
    let fixed_grid = match rounding {
        Rounding::Fixed(interval) => Some((interval, 0)),
        Rounding::Calendar(unit) => fixed_length(unit),
    };
    let Some((interval, grid_offset)) = fixed_grid.filter(|_| zone.is_utc()) else {
        // Buckets of different lengths: their starts are found in the data's
        // span at search time (see `AggRequest::bind_calendars`).
        let calendar = Calendar {
            rounding,
            zone,
            offset,
        };
        let bound = |bounds: Option<Bounds<i64>>| bounds.map(|b| (b.min, b.max));
        let grid = CalendarGrid {
            calendar,
            min_doc_count,
            extended: bound(extended),
            hard: bound(hard),
        };
        let mut out = Map::new();
        out.insert(String::from("field"), Value::from(field.as_str()));
        out.insert(String::from("ranges"), json!([{ "to": f64::MIN }]));
        return Ok(Parsed {
            kind: Kind::CalendarHistogram {
                keyed,
                grid: Box::new(grid),
            },
            field,
            missing: false,
            tantivy: Value::Object(out),
            tantivy_type: Some("range"),
        });
    };
    let offset = offset
        .checked_add(grid_offset)
        .filter(|o| o.unsigned_abs() <= MAX_SPAN_MS.unsigned_abs())
        .ok_or_else(|| ctx.bad("`offset` is too large"))?;

    let mut out = Map::new();
    out.insert(String::from("field"), Value::from(field.as_str()));
    // A numeric histogram over the column of epoch milliseconds.
    out.insert(String::from("interval"), Value::from(interval));
    if offset != 0 {
        out.insert(String::from("offset"), Value::from(offset));
    }
    out.insert(String::from("min_doc_count"), Value::from(min_doc_count));
    // Elasticsearch keeps a bucket when its key k has min <= k < max; tantivy
    // keeps a value v when min <= v <= max. With values in whole
    // milliseconds these are the same documents when the value bounds are
    // the first grid point at or after `min`, and one millisecond before the
    // first grid point at or after `max`.
    let hard = hard.map(|Bounds { min, max }| {
        let lo = min.map_or(f64::MIN, |m| grid_ceil(m, interval, offset) as f64);
        let hi = max.map_or(f64::MAX, |m| (grid_ceil(m, interval, offset) - 1) as f64);
        (lo, hi)
    });
    let extended = extended.map(|Bounds { min, max }| Bounds {
        min: min.map(|m| m as f64),
        max: max.map(|m| m as f64),
    });
    let grid = write_bounds(
        ctx,
        &mut out,
        (interval as f64, offset as f64),
        min_doc_count,
        extended,
        hard,
    )?;
    Ok(Parsed {
        kind: Kind::DateHistogram { keyed, grid },
        field,
        missing: false,
        tantivy: Value::Object(out),
        tantivy_type: Some("histogram"),
    })
}

/// The first point of the grid `offset + k * interval` at or after `x`.
fn grid_ceil(x: i64, interval: i64, offset: i64) -> i128 {
    let (x, interval, offset) = (i128::from(x), i128::from(interval), i128::from(offset));
    let steps = (x - offset).div_euclid(interval);
    let floor = offset + steps * interval;
    if floor == x { floor } else { floor + interval }
}

/// Why a duration could not be read.
enum DurationError {
    /// Not a whole number followed by a unit.
    Malformed,
    /// A unit Elasticsearch knows and the engine does not (`nanos`, `micros`).
    Unit,
    /// More than tantivy can hold.
    TooLong,
}

/// A duration as Elasticsearch writes it: a whole number of ms, s, m, h or
/// d (`"90m"`), in milliseconds.
fn duration_ms(text: &str) -> std::result::Result<i64, DurationError> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let unit_ms = match unit {
        "ms" => 1,
        "s" => SECOND_MS,
        "m" => MINUTE_MS,
        "h" => HOUR_MS,
        "d" => DAY_MS,
        "nanos" | "micros" => return Err(DurationError::Unit),
        _ => return Err(DurationError::Malformed),
    };
    let count: i64 = number.parse().map_err(|_| DurationError::Malformed)?;
    count
        .checked_mul(unit_ms)
        .filter(|ms| *ms <= MAX_SPAN_MS)
        .ok_or(DurationError::TooLong)
}

/// A `fixed_interval`, in milliseconds.
fn parse_fixed_interval(ctx: &Ctx<'_>, interval: &str) -> Result<i64> {
    match duration_ms(interval) {
        Ok(0) => Err(ctx.bad(format!("fixed_interval `{interval}` must be longer than zero"))),
        Ok(ms) => Ok(ms),
        Err(DurationError::Unit) => {
            Err(ctx.unsupported(format_args!("fixed_interval `{interval}`"), HINT_INTERVAL_UNIT))
        }
        Err(DurationError::TooLong) => Err(ctx.bad(format!("fixed_interval `{interval}` is too long"))),
        Err(DurationError::Malformed) => Err(ctx.bad(format!(
            "fixed_interval `{interval}` is not a whole number of ms, s, m, h or d (e.g. \"90m\"); for calendar units use calendar_interval"
        ))),
    }
}

/// A calendar unit of fixed length in UTC, as the equal fixed interval and
/// the offset of its grid; `None` for months, quarters and years.
fn fixed_length(unit: Unit) -> Option<(i64, i64)> {
    match unit {
        Unit::Second => Some((SECOND_MS, 0)),
        Unit::Minute => Some((MINUTE_MS, 0)),
        Unit::Hour => Some((HOUR_MS, 0)),
        Unit::Day => Some((DAY_MS, 0)),
        Unit::Week => Some((WEEK_MS, FIRST_MONDAY_MS)),
        Unit::Month | Unit::Quarter | Unit::Year => None,
    }
}

/// A date histogram's `offset`: milliseconds, or a duration with an
/// optional sign (`"+6h"`, `"-30m"`).
fn parse_date_offset(ctx: &Ctx<'_>, value: &Value) -> Result<i64> {
    if let Value::Number(n) = value {
        return n
            .as_i64()
            .filter(|ms| ms.unsigned_abs() <= MAX_SPAN_MS.unsigned_abs())
            .ok_or_else(|| {
                ctx.bad(format!(
                    "`offset` must be whole milliseconds or a duration like \"+6h\", not {value}"
                ))
            });
    }
    let text = ctx.string("offset", value)?;
    let (negative, duration) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let ms = match duration_ms(duration) {
        Ok(ms) => ms,
        Err(DurationError::Unit) => {
            return Err(ctx.unsupported(format_args!("offset `{text}`"), HINT_INTERVAL_UNIT));
        }
        Err(_) => {
            return Err(ctx.bad(format!(
                "`offset` {text:?} is not a duration like \"+6h\" or \"-30m\""
            )));
        }
    };
    Ok(if negative { -ms } else { ms })
}

/// One side of a date histogram's bounds, in epoch milliseconds.
fn date_bound(ctx: &Ctx<'_>, key: &str, value: &Value) -> Result<i64> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
            .ok_or_else(|| {
                ctx.bad(format!(
                    "`{key}` must be epoch milliseconds or a date, not {value}"
                ))
            }),
        Value::String(text) => {
            if let Some(ms) = parse_date_ms(text) {
                Ok(ms)
            } else if text.starts_with("now") || text.contains("||") {
                Err(ctx.unsupported(
                    format_args!("date math `{text}` in `{key}`"),
                    HINT_DATE_MATH,
                ))
            } else {
                Err(ctx.bad(format!(
                    "`{key}` {text:?} is not a date; give epoch milliseconds or an ISO-8601 date such as 2024-03-05T07:00:00Z"
                )))
            }
        }
        _ => Err(ctx.bad(format!(
            "`{key}` must be epoch milliseconds or a date, not {value}"
        ))),
    }
}

/// A date as `strict_date_optional_time||epoch_millis` reads it (dates
/// without a zone are UTC), through the engine's one date reader.
fn parse_date_ms(text: &str) -> Option<i64> {
    dates::read_text(text).and_then(|nanos| DateUnit::Millis.stored(nanos))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;

    use super::super::parse;
    use super::super::tests::{Expect, Stage, case, check, fixture};
    use super::*;

    #[test]
    fn date_histograms() {
        check(
            &fixture(),
            Stage::Search,
            vec![
                case(
                    "hourly buckets fill the gaps across partitions",
                    json!({"per_hour": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h"}}}),
                    Expect::Response(json!({
                        "per_hour": {
                            "buckets": [
                                {
                                    "doc_count": 4,
                                    "key": 1_709_622_000_000_i64,
                                    "key_as_string": "2024-03-05T07:00:00.000Z"
                                },
                                {
                                    "doc_count": 3,
                                    "key": 1_709_625_600_000_i64,
                                    "key_as_string": "2024-03-05T08:00:00.000Z"
                                },
                                {
                                    "doc_count": 2,
                                    "key": 1_709_629_200_000_i64,
                                    "key_as_string": "2024-03-05T09:00:00.000Z"
                                },
                                {
                                    "doc_count": 0,
                                    "key": 1_709_632_800_000_i64,
                                    "key_as_string": "2024-03-05T10:00:00.000Z"
                                },
                                {
                                    "doc_count": 2,
                                    "key": 1_709_636_400_000_i64,
                                    "key_as_string": "2024-03-05T11:00:00.000Z"
                                }
                            ]
                        }
                    })),
                ),
                case(
                    "fixed interval of an hour",
                    json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h"}}}),
                    Expect::Response(json!({
                        "h": {
                            "buckets": [
                                {
                                    "doc_count": 4,
                                    "key": 1_709_622_000_000_i64,
                                    "key_as_string": "2024-03-05T07:00:00.000Z"
                                },
                                {
                                    "doc_count": 3,
                                    "key": 1_709_625_600_000_i64,
                                    "key_as_string": "2024-03-05T08:00:00.000Z"
                                },
                                {
                                    "doc_count": 2,
                                    "key": 1_709_629_200_000_i64,
                                    "key_as_string": "2024-03-05T09:00:00.000Z"
                                },
                                {
                                    "doc_count": 0,
                                    "key": 1_709_632_800_000_i64,
                                    "key_as_string": "2024-03-05T10:00:00.000Z"
                                },
                                {
                                    "doc_count": 2,
                                    "key": 1_709_636_400_000_i64,
                                    "key_as_string": "2024-03-05T11:00:00.000Z"
                                }
                            ]
                        }
                    })),
                ),
                case(
                    "calendar interval 1h in UTC: the fixed hour",
                    json!({"h": {"date_histogram": {"field": "timestamp", "calendar_interval": "1h", "time_zone": "UTC"}}}),
                    Expect::Response(json!({
                        "h": {
                            "buckets": [
                                {
                                    "doc_count": 4,
                                    "key": 1_709_622_000_000_i64,
                                    "key_as_string": "2024-03-05T07:00:00.000Z"
                                },
                                {
                                    "doc_count": 3,
                                    "key": 1_709_625_600_000_i64,
                                    "key_as_string": "2024-03-05T08:00:00.000Z"
                                },
                                {
                                    "doc_count": 2,
                                    "key": 1_709_629_200_000_i64,
                                    "key_as_string": "2024-03-05T09:00:00.000Z"
                                },
                                {
                                    "doc_count": 0,
                                    "key": 1_709_632_800_000_i64,
                                    "key_as_string": "2024-03-05T10:00:00.000Z"
                                },
                                {
                                    "doc_count": 2,
                                    "key": 1_709_636_400_000_i64,
                                    "key_as_string": "2024-03-05T11:00:00.000Z"
                                }
                            ]
                        }
                    })),
                ),
                case(
                    "calendar interval hour in UTC: the fixed hour",
                    json!({"h": {"date_histogram": {"field": "timestamp", "calendar_interval": "hour", "time_zone": "UTC"}}}),
                    Expect::Response(json!({
                        "h": {
                            "buckets": [
                                {
                                    "doc_count": 4,
                                    "key": 1_709_622_000_000_i64,
                                    "key_as_string": "2024-03-05T07:00:00.000Z"
                                },
                                {
                                    "doc_count": 3,
                                    "key": 1_709_625_600_000_i64,
                                    "key_as_string": "2024-03-05T08:00:00.000Z"
                                },
                                {
                                    "doc_count": 2,
                                    "key": 1_709_629_200_000_i64,
                                    "key_as_string": "2024-03-05T09:00:00.000Z"
                                },
                                {
                                    "doc_count": 0,
                                    "key": 1_709_632_800_000_i64,
                                    "key_as_string": "2024-03-05T10:00:00.000Z"
                                },
                                {
                                    "doc_count": 2,
                                    "key": 1_709_636_400_000_i64,
                                    "key_as_string": "2024-03-05T11:00:00.000Z"
                                }
                            ]
                        }
                    })),
                ),
                case(
                    "calendar weeks start on Monday (2024-03-05 is a Tuesday)",
                    json!({"w": {"date_histogram": {"field": "timestamp", "calendar_interval": "week"}}}),
                    Expect::Response(json!({
                        "w": {
                            "buckets": [
                                {
                                    "doc_count": 11,
                                    "key": 1_709_510_400_000_i64,
                                    "key_as_string": "2024-03-04T00:00:00.000Z"
                                }
                            ]
                        }
                    })),
                ),
                case(
                    "hard bounds keep the buckets whose key k has min <= k < max",
                    json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "60m",
                        "hard_bounds": {"min": 1_709_623_800_000_i64, "max": "2024-03-05T10:00:00.000Z"}}}}),
                    Expect::Response(json!({
                        "h": {
                            "buckets": [
                                {
                                    "doc_count": 3,
                                    "key": 1_709_625_600_000_i64,
                                    "key_as_string": "2024-03-05T08:00:00.000Z"
                                },
                                {
                                    "doc_count": 2,
                                    "key": 1_709_629_200_000_i64,
                                    "key_as_string": "2024-03-05T09:00:00.000Z"
                                }
                            ]
                        }
                    })),
                ),
                case(
                    "extended bounds add empty buckets on both sides",
                    json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h",
                        "extended_bounds": {"min": 1_709_614_800_000_i64, "max": "2024-03-05T13:00:00Z"}}}}),
                    Expect::Response(json!({
                        "h": {
                            "buckets": [
                                {
                                    "doc_count": 0,
                                    "key": 1_709_614_800_000_i64,
                                    "key_as_string": "2024-03-05T05:00:00.000Z"
                                },
                                {
                                    "doc_count": 0,
                                    "key": 1_709_618_400_000_i64,
                                    "key_as_string": "2024-03-05T06:00:00.000Z"
                                },
                                {
                                    "doc_count": 4,
                                    "key": 1_709_622_000_000_i64,
                                    "key_as_string": "2024-03-05T07:00:00.000Z"
                                },
                                {
                                    "doc_count": 3,
                                    "key": 1_709_625_600_000_i64,
                                    "key_as_string": "2024-03-05T08:00:00.000Z"
                                },
                                {
                                    "doc_count": 2,
                                    "key": 1_709_629_200_000_i64,
                                    "key_as_string": "2024-03-05T09:00:00.000Z"
                                },
                                {
                                    "doc_count": 0,
                                    "key": 1_709_632_800_000_i64,
                                    "key_as_string": "2024-03-05T10:00:00.000Z"
                                },
                                {
                                    "doc_count": 2,
                                    "key": 1_709_636_400_000_i64,
                                    "key_as_string": "2024-03-05T11:00:00.000Z"
                                },
                                {
                                    "doc_count": 0,
                                    "key": 1_709_640_000_000_i64,
                                    "key_as_string": "2024-03-05T12:00:00.000Z"
                                },
                                {
                                    "doc_count": 0,
                                    "key": 1_709_643_600_000_i64,
                                    "key_as_string": "2024-03-05T13:00:00.000Z"
                                }
                            ]
                        }
                    })),
                ),
                case(
                    "min_doc_count drops the empty hour",
                    json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h", "min_doc_count": 1}}}),
                    Expect::Response(json!({
                        "h": {
                            "buckets": [
                                {
                                    "doc_count": 4,
                                    "key": 1_709_622_000_000_i64,
                                    "key_as_string": "2024-03-05T07:00:00.000Z"
                                },
                                {
                                    "doc_count": 3,
                                    "key": 1_709_625_600_000_i64,
                                    "key_as_string": "2024-03-05T08:00:00.000Z"
                                },
                                {
                                    "doc_count": 2,
                                    "key": 1_709_629_200_000_i64,
                                    "key_as_string": "2024-03-05T09:00:00.000Z"
                                },
                                {
                                    "doc_count": 2,
                                    "key": 1_709_636_400_000_i64,
                                    "key_as_string": "2024-03-05T11:00:00.000Z"
                                }
                            ]
                        }
                    })),
                ),
                case(
                    "offset shifts the bucket grid",
                    json!({"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "1h", "offset": "+30m"}}}),
                    Expect::Response(json!({
                        "h": {
                            "buckets": [
                                {
                                    "doc_count": 3,
                                    "key": 1_709_620_200_000_i64,
                                    "key_as_string": "2024-03-05T06:30:00.000Z"
                                },
                                {
                                    "doc_count": 4,
                                    "key": 1_709_623_800_000_i64,
                                    "key_as_string": "2024-03-05T07:30:00.000Z"
                                },
                                {
                                    "doc_count": 2,
                                    "key": 1_709_627_400_000_i64,
                                    "key_as_string": "2024-03-05T08:30:00.000Z"
                                },
                                {
                                    "doc_count": 0,
                                    "key": 1_709_631_000_000_i64,
                                    "key_as_string": "2024-03-05T09:30:00.000Z"
                                },
                                {
                                    "doc_count": 2,
                                    "key": 1_709_634_600_000_i64,
                                    "key_as_string": "2024-03-05T10:30:00.000Z"
                                }
                            ]
                        }
                    })),
                ),
            ],
        );
    }

    #[test]
    fn week_interval_is_rewritten_as_seven_days_from_monday() {
        let request = parse(&json!({"w": {"date_histogram": {"field": "t", "calendar_interval": "1w", "offset": "-1h"}}})).unwrap();
        let tantivy = serde_json::to_value(&request.tantivy).unwrap();
        // A histogram over the column of epoch milliseconds.
        assert_eq!(tantivy["w"]["histogram"]["interval"], WEEK_MS as f64);
        assert_eq!(
            tantivy["w"]["histogram"]["offset"],
            (FIRST_MONDAY_MS - HOUR_MS) as f64
        );
    }
}
