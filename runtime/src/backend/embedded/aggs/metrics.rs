use serde_json::{Map, Value, json};

use super::parse::{Ctx, Parsed, json_f64};
use super::{HINT_DATE_MISSING, Kind};
use crate::error::Result;

/// Elasticsearch's percents when a request gives none.
const DEFAULT_PERCENTS: [f64; 7] = [1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0];
const HINT_HDR: &str = "percentiles are computed with a DDSketch; leave `hdr` out, or run this search on Elasticsearch";

/// `avg`, `min`, `max`, `sum` and `stats`.
pub(super) fn parse_simple_metric(ctx: &Ctx<'_>, params: &Map<String, Value>) -> Result<Parsed> {
    let mut field = None;
    let mut missing = None;
    for (key, value) in params {
        match key.as_str() {
            "field" => field = Some(ctx.string(key, value)?),
            "missing" => {
                missing = Some(json_f64(value).ok_or_else(|| {
                    ctx.unsupported(format_args!("`missing` {value}"), HINT_DATE_MISSING)
                })?);
            }
            other => return Err(ctx.common_unsupported(other)),
        }
    }
    let field = ctx.field(field)?;
    let kind = match ctx.ty {
        "avg" => Kind::Avg,
        "min" => Kind::Min,
        "max" => Kind::Max,
        "sum" => Kind::Sum,
        _ => Kind::Stats,
    };
    let mut out = Map::new();
    out.insert(String::from("field"), Value::from(field.as_str()));
    if let Some(missing) = missing {
        out.insert(String::from("missing"), Value::from(missing));
    }
    Ok(Parsed {
        kind,
        field,
        missing: missing.is_some(),
        tantivy: Value::Object(out),
        tantivy_type: None,
    })
}

/// `value_count` and `cardinality`.
pub(super) fn parse_counting_metric(ctx: &Ctx<'_>, params: &Map<String, Value>) -> Result<Parsed> {
    let cardinality = ctx.ty == "cardinality";
    let mut field = None;
    for (key, value) in params {
        match key.as_str() {
            "field" => field = Some(ctx.string(key, value)?),
            "precision_threshold" if cardinality => {
                ctx.count(key, value)?;
            }
            other => return Err(ctx.common_unsupported(other)),
        }
    }
    let field = ctx.field(field)?;
    Ok(Parsed {
        kind: if cardinality {
            Kind::Cardinality
        } else {
            Kind::ValueCount
        },
        tantivy: json!({ "field": field }),
        tantivy_type: None,
        field,
        missing: false,
    })
}

pub(super) fn parse_percentiles(ctx: &Ctx<'_>, params: &Map<String, Value>) -> Result<Parsed> {
    let mut field = None;
    let mut percents = DEFAULT_PERCENTS.to_vec();
    let mut keyed = true;
    let mut missing = None;
    for (key, value) in params {
        match key.as_str() {
            "field" => field = Some(ctx.string(key, value)?),
            "percents" => {
                let items = value
                    .as_array()
                    .filter(|items| !items.is_empty())
                    .ok_or_else(|| {
                        ctx.bad(format!(
                            "`percents` must be a non-empty array of numbers, not {value}"
                        ))
                    })?;
                percents = items
                    .iter()
                    .map(|item| {
                        json_f64(item)
                            .filter(|p| (0.0..=100.0).contains(p))
                            .ok_or_else(|| {
                                ctx.bad(format!(
                                    "each of `percents` must be a number from 0 to 100, not {item}"
                                ))
                            })
                    })
                    .collect::<Result<_>>()?;
            }
            "keyed" => keyed = ctx.boolean(key, value)?,
            "missing" => {
                missing = Some(json_f64(value).ok_or_else(|| {
                    ctx.unsupported(format_args!("`missing` {value}"), HINT_DATE_MISSING)
                })?);
            }
            "tdigest" => {
                let tuning = value
                    .as_object()
                    .ok_or_else(|| ctx.bad("`tdigest` must be an object"))?;
                for (option, setting) in tuning {
                    match option.as_str() {
                        "compression" => {
                            ctx.number("tdigest.compression", setting)?;
                        }
                        "execution_hint" => {
                            ctx.string("tdigest.execution_hint", setting)?;
                        }
                        other => return Err(ctx.unknown(&format!("tdigest.{other}"))),
                    }
                }
            }
            "hdr" => return Err(ctx.unsupported("`hdr`", HINT_HDR)),
            other => return Err(ctx.common_unsupported(other)),
        }
    }
    let field = ctx.field(field)?;
    let mut out = Map::new();
    out.insert(String::from("field"), Value::from(field.as_str()));
    out.insert(String::from("percents"), Value::from(percents));
    // Always a list, so values come back in the order asked for.
    out.insert(String::from("keyed"), Value::from(false));
    if let Some(missing) = missing {
        out.insert(String::from("missing"), Value::from(missing));
    }
    Ok(Parsed {
        kind: Kind::Percentiles { keyed },
        field,
        missing: missing.is_some(),
        tantivy: Value::Object(out),
        tantivy_type: None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{Expect, Stage, case, check, fixture};

    #[test]
    fn metrics() {
        check(
            &fixture(),
            Stage::Search,
            vec![
                case(
                    "single-value metrics and stats",
                    json!({
                        "avg": {"avg": {"field": "latency.p99_ms"}},
                        "min": {"min": {"field": "latency.p99_ms"}},
                        "max": {"max": {"field": "latency.p99_ms"}},
                        "sum": {"sum": {"field": "latency.p99_ms"}},
                        "count": {"value_count": {"field": "latency.p99_ms"}},
                        "stats": {"stats": {"field": "latency.p99_ms"}}
                    }),
                    Expect::Response(json!({
                        "avg": {"value": 29.525},
                        "count": {"value": 10},
                        "max": {"value": 100.0},
                        "min": {"value": 3.0},
                        "stats": {"avg": 29.525, "count": 10, "max": 100.0, "min": 3.0, "sum": 295.25},
                        "sum": {"value": 295.25}
                    })),
                ),
                case(
                    "missing counts the documents without the field",
                    json!({"avg": {"avg": {"field": "latency.p99_ms", "missing": 0}}}),
                    Expect::Response(json!({"avg": {"value": 26.84090909090909}})),
                ),
                case(
                    "percentiles, keyed",
                    json!({"p": {"percentiles": {"field": "latency.p99_ms", "percents": [50, 95.5]}}}),
                    Expect::Response(
                        json!({"p": {"values": {"50.0": 15.029881751769702, "95.5": 55.151485015781084}}}),
                    ),
                ),
                case(
                    "percentiles, listed",
                    json!({"p": {"percentiles": {"field": "latency.p99_ms", "percents": [50], "keyed": false}}}),
                    Expect::Response(
                        json!({"p": {"values": [{"key": 50.0, "value": 15.029881751769702}]}}),
                    ),
                ),
                case(
                    "cardinality counts distinct values",
                    json!({
                        "paths": {"cardinality": {"field": "path"}},
                        "platforms": {"cardinality": {"field": "tags.platform", "precision_threshold": 100}}
                    }),
                    Expect::Response(json!({"paths": {"value": 4}, "platforms": {"value": 3}})),
                ),
            ],
        );
    }
}
