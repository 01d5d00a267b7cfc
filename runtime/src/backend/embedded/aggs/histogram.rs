use serde_json::{Map, Value};

use super::Kind;
use super::parse::{Bounds, Ctx, Parsed, parse_bounds, write_bounds};
use crate::error::Result;

pub(super) fn parse_histogram(ctx: &Ctx<'_>, params: &Map<String, Value>) -> Result<Parsed> {
    let mut field = None;
    let mut interval = None;
    let mut offset = 0.0;
    let mut min_doc_count = 0;
    let mut extended = None;
    let mut hard = None;
    let mut keyed = false;
    for (key, value) in params {
        match key.as_str() {
            "field" => field = Some(ctx.string(key, value)?),
            "interval" => interval = Some(ctx.number(key, value)?),
            "offset" => offset = ctx.number(key, value)?,
            "min_doc_count" => min_doc_count = ctx.count(key, value)?,
            "extended_bounds" => {
                extended = Some(parse_bounds(ctx, key, value, |k, v| ctx.number(k, v))?)
            }
            "hard_bounds" => hard = Some(parse_bounds(ctx, key, value, |k, v| ctx.number(k, v))?),
            "keyed" => keyed = ctx.boolean(key, value)?,
            "order" => ctx.key_ascending_order(value)?,
            other => return Err(ctx.common_unsupported(other)),
        }
    }
    let field = ctx.field(field)?;
    let interval =
        interval.ok_or_else(|| ctx.bad("`interval` is required (the width of the buckets)"))?;
    if interval <= 0.0 {
        return Err(ctx.bad(format!(
            "`interval` must be greater than zero, not {interval}"
        )));
    }
    let mut out = Map::new();
    out.insert(String::from("field"), Value::from(field.as_str()));
    out.insert(String::from("interval"), Value::from(interval));
    if offset != 0.0 {
        out.insert(String::from("offset"), Value::from(offset));
    }
    out.insert(String::from("min_doc_count"), Value::from(min_doc_count));
    // Elasticsearch keeps a value v in bucket n = floor((v - offset) /
    // interval) when min <= n * interval <= max (the offset left out);
    // tantivy keeps v when min <= v <= max.
    let hard = hard.map(|Bounds { min, max }| {
        let lo = min.map_or(f64::MIN, |m| offset + (m / interval).ceil() * interval);
        let hi = max.map_or(f64::MAX, |m| {
            (offset + ((m / interval).floor() + 1.0) * interval).next_down()
        });
        (lo, hi)
    });
    let grid = write_bounds(
        ctx,
        &mut out,
        (interval, offset),
        min_doc_count,
        extended,
        hard,
    )?;
    Ok(Parsed {
        kind: Kind::Histogram { keyed, grid },
        field,
        missing: false,
        tantivy: Value::Object(out),
        tantivy_type: None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{Expect, Stage, case, check, fixture};

    #[test]
    fn histograms() {
        check(
            &fixture(),
            Stage::Search,
            vec![
                case(
                    "keys are floats, empty buckets included",
                    json!({"status": {"histogram": {"field": "status", "interval": 100}}}),
                    Expect::Response(json!({
                        "status": {
                            "buckets": [
                                {"doc_count": 7, "key": 200.0},
                                {"doc_count": 0, "key": 300.0},
                                {"doc_count": 2, "key": 400.0},
                                {"doc_count": 2, "key": 500.0}
                            ]
                        }
                    })),
                ),
                case(
                    "keyed buckets",
                    json!({"status": {"histogram": {"field": "status", "interval": 100, "keyed": true}}}),
                    Expect::Response(json!({
                        "status": {
                            "buckets": {
                                "200.0": {"doc_count": 7, "key": 200.0},
                                "300.0": {"doc_count": 0, "key": 300.0},
                                "400.0": {"doc_count": 2, "key": 400.0},
                                "500.0": {"doc_count": 2, "key": 500.0}
                            }
                        }
                    })),
                ),
            ],
        );
    }
}
