//! `plot`: a field of a type over time, one value per interval, charted
//! in the terminal or written as an SVG or PNG file.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::chart::{self, Series};
use super::output::print;
use super::{Context, Failure, Outcome, Selection, search};
use super::{annotations, conditions};
use crate::fields::Field;
use crate::operations;
use crate::search::aggs::{self, Aggregation, Interval};

/// What each interval of the chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Agg {
    /// The average of the field.
    Avg,
    /// Its sum.
    Sum,
    /// Its smallest value.
    Min,
    /// Its largest value.
    Max,
    /// How many records have a value in it.
    Count,
}

/// What `plot` was asked for, besides the type and the range.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) field: String,
    pub(crate) interval: String,
    pub(crate) agg: Agg,
    pub(crate) out: Option<PathBuf>,
    pub(crate) size: String,
    /// The stream whose annotations are marked.
    pub(crate) annotations: Option<String>,
}

/// Charts the field: in the terminal, or in the file `--out` names.
pub(crate) async fn run(
    cx: &Context,
    selection: &Selection,
    request: Request,
) -> Result<Outcome, Failure> {
    let (record_type, mut search) = search::request(cx, selection, 0)?;
    let Some(timestamp) = record_type.timestamp_field() else {
        return Err(Failure::usage(format!(
            "{} has no timestamp field, so it has nothing to plot over time",
            record_type.rust_path()
        )));
    };
    let kind = conditions::field(record_type, &request.field)?;
    if request.agg != Agg::Count && !kind.is_numeric() {
        return Err(Failure::usage(format!(
            "field {} of {} is not a number, so it has no {:?}; plot a numeric field, or use --agg count",
            request.field,
            record_type.template_name(),
            request.agg
        )));
    }
    if let Some(stream) = &request.annotations {
        crate::annotations::check_stream(stream)?;
    }
    let (width, height) = image_size(&request.size)?;
    if let Some(path) = &request.out {
        chart::check_image_path(path).map_err(|e| Failure::usage(format!("--out: {e}")))?;
    }
    let field = Field::<f64>::new(request.field.clone());
    let metric = match request.agg {
        Agg::Avg => Some(aggs::avg(&field)),
        Agg::Sum => Some(aggs::sum(&field)),
        Agg::Min => Some(aggs::min(&field)),
        Agg::Max => Some(aggs::max(&field)),
        Agg::Count => None,
    };
    let count = aggs::value_count(&Field::<Value>::new(request.field.clone()));
    let mut histogram = aggs::date_histogram(
        &Field::new(timestamp.to_owned()),
        interval(&request.interval)?,
    );
    histogram = match &metric {
        Some(metric) => histogram.with(metric),
        None => histogram.with(&count),
    };
    if let Some(range) = search.range {
        histogram = histogram.fill_empty(range.from, range.until);
    }
    let mut body = Map::new();
    body.insert(histogram.name().to_owned(), histogram.body());
    search.aggregations = Some(Value::Object(body));
    let store = cx.open_store()?;
    let results = operations::of(record_type)?.search(&store, &search).await?;
    let answer = results
        .aggregations
        .as_ref()
        .and_then(|a| a.get(histogram.name()))
        .ok_or_else(|| {
            Failure::failed("the backend answered without the histogram it was asked for")
        })?;
    let mut points: Vec<(DateTime<Utc>, Option<f64>)> = Vec::new();
    for bucket in histogram.read_result(answer)? {
        let value = match &metric {
            Some(metric) => bucket.read(metric)?,
            None => Some(bucket.read(&count)? as f64),
        };
        points.push((bucket.key, value));
    }
    let times: Vec<DateTime<Utc>> = points.iter().map(|(t, _)| *t).collect();
    let markers = annotations::markers(
        cx,
        &store,
        request.annotations.as_deref(),
        search.range,
        &times,
    )
    .await?;
    let series = Series {
        title: format!(
            "{} of {} per {}, {}",
            format!("{:?}", request.agg).to_lowercase(),
            request.field,
            request.interval,
            record_type.template_name()
        ),
        points,
        markers,
    };
    match &request.out {
        Some(path) => {
            chart::write_image(&series, path, width, height).map_err(Failure::failed)?;
            if !cx.quiet {
                eprintln!("wrote {} ({width}x{height})", path.display());
            }
        }
        None => print(&chart::terminal(&series, terminal_width(), 20))?,
    }
    Ok(Outcome::Success)
}

/// `30s`, `5m`, `1h`, `1d` are fixed lengths; `week`, `month`, `quarter`,
/// `year` (or `1w`, `1M`, `1q`, `1y`) calendar units.
fn interval(text: &str) -> Result<Interval, Failure> {
    let calendar = match text {
        "week" | "1w" => Some("week"),
        "month" | "1M" => Some("month"),
        "quarter" | "1q" => Some("quarter"),
        "year" | "1y" => Some("year"),
        _ => None,
    };
    if let Some(unit) = calendar {
        return Ok(Interval::calendar(unit));
    }
    let fixed = text
        .strip_suffix(['s', 'm', 'h', 'd'])
        .and_then(|count| count.parse::<u32>().ok())
        .is_some_and(|count| count > 0);
    if fixed {
        Ok(Interval::fixed(text))
    } else {
        Err(Failure::usage(format!(
            "--interval {text:?} is not an interval; write a length (30s, 5m, 1h, 1d) or a calendar unit (week, month, quarter, year)"
        )))
    }
}

/// `1200x600`.
pub(super) fn image_size(text: &str) -> Result<(u32, u32), Failure> {
    text.split_once('x')
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .filter(|&(w, h): &(u32, u32)| (64..=8192).contains(&w) && (64..=8192).contains(&h))
        .ok_or_else(|| {
            Failure::usage(format!(
                "--size {text:?} is not an image size; write WIDTHxHEIGHT in pixels, each 64 to 8192 (1200x600)"
            ))
        })
}

/// The terminal's width in columns (`COLUMNS`), else 100.
pub(super) fn terminal_width() -> u32 {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_sizes_are_read_or_refused_with_the_forms_to_use() {
        assert!(interval("1h").is_ok());
        assert!(interval("month").is_ok());
        for bad in ["1x", "h", "0m", "-1h", ""] {
            let failure = interval(bad).err().map(|f| (f.code, f.message));
            assert!(
                failure
                    .as_ref()
                    .is_some_and(|(code, m)| *code == 2 && m.contains("30s")),
                "{bad}: {failure:?}"
            );
        }
        assert_eq!(image_size("800x400").ok(), Some((800, 400)));
        assert!(image_size("800").is_err());
        assert!(image_size("10x10").is_err());
    }
}
