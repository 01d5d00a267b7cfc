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
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::super::tests::{assert_close, fixture, latencies, run};

    #[test]
    fn single_value_metrics_and_stats() {
        let f = fixture();
        let result = run(
            &f,
            json!({
                "avg": {"avg": {"field": "latency.p99_ms"}},
                "min": {"min": {"field": "latency.p99_ms"}},
                "max": {"max": {"field": "latency.p99_ms"}},
                "sum": {"sum": {"field": "latency.p99_ms"}},
                "count": {"value_count": {"field": "latency.p99_ms"}},
                "stats": {"stats": {"field": "latency.p99_ms"}}
            }),
        );
        let values = latencies(&f.docs);
        let sum: f64 = values.iter().sum();
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let avg = sum / values.len() as f64;
        assert_close(&result["avg"]["value"], avg);
        assert_close(&result["min"]["value"], min);
        assert_close(&result["max"]["value"], max);
        assert_close(&result["sum"]["value"], sum);
        assert_eq!(result["count"], json!({"value": values.len()}));
        assert!(result["count"]["value"].is_u64());
        let stats = &result["stats"];
        assert_eq!(stats["count"], json!(values.len()));
        assert!(stats["count"].is_u64());
        assert_close(&stats["min"], min);
        assert_close(&stats["max"], max);
        assert_close(&stats["avg"], avg);
        assert_close(&stats["sum"], sum);
        assert_eq!(stats.as_object().unwrap().len(), 5, "{stats}");
    }

    #[test]
    fn missing_counts_documents_without_the_field() {
        let f = fixture();
        let result = run(
            &f,
            json!({"avg": {"avg": {"field": "latency.p99_ms", "missing": 0}}}),
        );
        let sum: f64 = latencies(&f.docs).iter().sum();
        assert_close(&result["avg"]["value"], sum / f.docs.len() as f64);
    }

    #[test]
    fn percentiles_within_sketch_precision() {
        let f = fixture();
        let result = run(
            &f,
            json!({"p": {"percentiles": {"field": "latency.p99_ms", "percents": [50, 95.5]}}}),
        );
        let mut values = latencies(&f.docs);
        values.sort_by(f64::total_cmp);
        let values_out = result["p"]["values"].as_object().unwrap();
        assert_eq!(values_out.keys().collect::<Vec<_>>(), ["50.0", "95.5"]);
        for (key, percent) in [("50.0", 50.0), ("95.5", 95.5)] {
            // Between the neighbouring ranks, within the sketch's 1%, whether
            // the estimate interpolates (t-digest) or picks a rank (DDSketch).
            let rank = percent / 100.0 * (values.len() - 1) as f64;
            let low = values[rank.floor() as usize] * 0.98;
            let high = values[rank.ceil() as usize] * 1.02;
            let actual = values_out[key].as_f64().unwrap();
            assert!(
                low <= actual && actual <= high,
                "{key}: {actual} not in [{low}, {high}]"
            );
        }

        let listed = run(
            &f,
            json!({"p": {"percentiles": {"field": "latency.p99_ms", "percents": [50], "keyed": false}}}),
        );
        assert_eq!(listed["p"]["values"][0]["key"], json!(50.0));
        assert_eq!(
            listed["p"]["values"][0]["value"],
            result["p"]["values"]["50.0"]
        );
    }

    #[test]
    fn cardinality_counts_distinct_values() {
        let f = fixture();
        let result = run(
            &f,
            json!({
                "paths": {"cardinality": {"field": "path"}},
                "platforms": {"cardinality": {"field": "tags.platform", "precision_threshold": 100}}
            }),
        );
        let paths: BTreeSet<&str> = f.docs.iter().map(|d| d.path).collect();
        let platforms: BTreeSet<&str> = f.docs.iter().map(|d| d.platform).collect();
        assert_eq!(result["paths"], json!({"value": paths.len()}));
        assert_eq!(result["platforms"], json!({"value": platforms.len()}));
    }
}
