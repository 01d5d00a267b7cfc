//! `metrics` and `plot --metric`: the series the metrics reporter stored
//! (records of `esrecord.metric`), listed or charted.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::output::{print, print_json, table};
use super::plot::{image_size, terminal_width};
use super::{Context, Failure, Outcome, RangeArgs, annotations, chart, times};
use crate::Record as _;
use crate::metrics::{self, Metric, MetricValue, NamePattern, SeriesSummary};
use crate::naming::TimeBound;

/// How far back `metrics` looks without `--from`/`--until`.
const DEFAULT_LOOKBACK: &str = "1h";

/// The most label sets `plot --metric` charts one under another in the
/// terminal.
const MAX_TERMINAL_CHARTS: usize = 12;

/// Prints a table of the series in the range: name, kind, tags, points,
/// last value.
pub(crate) async fn list(
    cx: &Context,
    range: &RangeArgs,
    name: Option<&str>,
    json: bool,
) -> Result<Outcome, Failure> {
    cx.find(&Metric::record_type().template_name())?;
    let range = bounds(range, DEFAULT_LOOKBACK)?;
    let pattern = name.map(NamePattern::new);
    let store = cx.open_store()?;
    let found = metrics::list(&store, range, pattern.as_ref()).await?;
    if json {
        print_json(&Value::Array(found.iter().map(as_json).collect()))?;
    } else if found.is_empty() {
        print(&format!(
            "no metric series{}{}; widen the range with --from, or check that a reporter is installed and flushed",
            name.map(|n| format!(" named {n:?}")).unwrap_or_default(),
            if range.is_some() {
                " in this range"
            } else {
                ""
            }
        ))?;
    } else {
        let rows = found
            .iter()
            .map(|s| {
                vec![
                    s.name.clone(),
                    s.kind.clone(),
                    tags_text(&s.tags),
                    s.points.to_string(),
                    last_text(s),
                    s.last_timestamp.format("%Y-%m-%d %H:%M:%S").to_string(),
                ]
            })
            .collect();
        print(&table(
            &[
                "name",
                "kind",
                "tags",
                "points",
                "last value",
                "last point (UTC)",
            ],
            rows,
        ))?;
    }
    Ok(Outcome::Success)
}

/// What `plot --metric` was asked for.
#[derive(Debug, Clone)]
pub(crate) struct PlotRequest {
    pub(crate) name: String,
    pub(crate) tags: Vec<String>,
    pub(crate) value: Option<String>,
    pub(crate) out: Option<PathBuf>,
    pub(crate) size: String,
    /// The stream whose annotations are marked.
    pub(crate) annotations: Option<String>,
}

/// Charts one metric's value over time: one chart per label set in the
/// terminal, or the one label set `--tag` selects as an image.
pub(crate) async fn plot(
    cx: &Context,
    range: &RangeArgs,
    request: PlotRequest,
) -> Result<Outcome, Failure> {
    cx.find(&Metric::record_type().template_name())?;
    let mut query = metrics::series(&request.name);
    for text in &request.tags {
        let (key, value) = text.split_once('=').ok_or_else(|| {
            Failure::usage(format!(
                "--tag {text:?} is not a tag; write KEY=VALUE (--tag city=blr)"
            ))
        })?;
        query = query.tag(key.trim(), value.trim());
    }
    if let Some(text) = &request.value {
        query = query.value(text.parse::<MetricValue>()?);
    }
    let plotted = bounds(range, DEFAULT_LOOKBACK)?;
    if let Some((from, until)) = plotted {
        query = query.range(from, until);
    }
    if let Some(stream) = &request.annotations {
        crate::annotations::check_stream(stream)?;
    }
    let (width, height) = image_size(&request.size)?;
    if let Some(path) = &request.out {
        chart::check_image_path(path).map_err(|e| Failure::usage(format!("--out: {e}")))?;
    }
    let store = cx.open_store()?;
    let set = query.fetch(&store).await?;
    if set.series.is_empty() {
        return Err(Failure::failed(format!(
            "no points of metric {:?}{} in this range; list the series with `metrics --from 7d`",
            request.name,
            if request.tags.is_empty() {
                String::new()
            } else {
                format!(" with {}", request.tags.join(", "))
            }
        )));
    }
    let asked = match (&request.annotations, plotted) {
        (Some(_), Some((from, until))) => Some(crate::TimeRange::new(from, until)?),
        _ => None,
    };
    let markers = annotations::markers(
        cx,
        &store,
        request.annotations.as_deref(),
        asked,
        &set.timestamps,
    )
    .await?;
    let charts: Vec<chart::Series> = set
        .series
        .iter()
        .map(|series| chart::Series {
            title: format!(
                "{} of {}{}{}",
                series.value,
                series.name,
                if series.tags.is_empty() {
                    String::new()
                } else {
                    format!(" {{{}}}", tags_text(&series.tags))
                },
                series
                    .unit
                    .as_ref()
                    .map(|u| format!(", {u}"))
                    .unwrap_or_default()
            ),
            points: set
                .timestamps
                .iter()
                .copied()
                .zip(series.values.iter().copied())
                .collect(),
            markers: markers.clone(),
        })
        .collect();
    match &request.out {
        Some(path) => {
            let [only] = charts.as_slice() else {
                return Err(Failure::usage(format!(
                    "metric {:?} has {} label sets here and an image shows one; pick one with --tag KEY=VALUE (label sets: {})",
                    request.name,
                    charts.len(),
                    label_sets(&set.series)
                )));
            };
            chart::write_image(only, path, width, height).map_err(Failure::failed)?;
            if !cx.quiet {
                eprintln!("wrote {} ({width}x{height})", path.display());
            }
        }
        None => {
            let shown: Vec<String> = charts
                .iter()
                .take(MAX_TERMINAL_CHARTS)
                .map(|c| chart::terminal(c, terminal_width(), 16))
                .collect();
            print(&shown.join("\n\n"))?;
            if charts.len() > MAX_TERMINAL_CHARTS && !cx.quiet {
                eprintln!(
                    "{} more label sets not shown; narrow with --tag KEY=VALUE",
                    charts.len() - MAX_TERMINAL_CHARTS
                );
            }
        }
    }
    Ok(Outcome::Success)
}

/// The range of `--from`/`--until`, or the last `lookback` without them.
fn bounds(args: &RangeArgs, lookback: &str) -> Result<Option<(TimeBound, TimeBound)>, Failure> {
    let args = if args.from.is_none() && args.until.is_none() {
        RangeArgs {
            from: Some(lookback.to_owned()),
            until: None,
        }
    } else {
        args.clone()
    };
    Ok(times::range(&args)?.map(|r| (TimeBound::Instant(r.from), TimeBound::Instant(r.until))))
}

/// `city=blr, host=web-1`.
fn tags_text(tags: &BTreeMap<String, String>) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The label sets of `series`, for an error message (at most five).
fn label_sets(series: &[metrics::Series]) -> String {
    let mut shown: Vec<String> = series
        .iter()
        .take(5)
        .map(|s| format!("{{{}}}", tags_text(&s.tags)))
        .collect();
    if series.len() > 5 {
        shown.push(format!("and {} more", series.len() - 5));
    }
    shown.join(" ")
}

/// The newest value with its unit.
fn last_text(summary: &SeriesSummary) -> String {
    match (summary.last_value, &summary.unit) {
        (None, _) => String::new(),
        (Some(v), Some(unit)) => format!("{} {unit}", number(v)),
        (Some(v), None) => number(v),
    }
}

/// A value for the table: integers bare, others to four decimal places.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.4}")
    }
}

fn as_json(summary: &SeriesSummary) -> Value {
    json!({
        "name": summary.name,
        "kind": summary.kind,
        "tags": summary.tags,
        "unit": summary.unit,
        "points": summary.points,
        "last_timestamp": summary.last_timestamp.to_rfc3339(),
        "last_value": summary.last_value,
    })
}
