//! `annotate` and `annotations`: recording an annotation from the command
//! line and listing them; and the markers `plot --annotations` draws.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::markers::Marker;
use super::output::{print, print_json, table};
use super::{Context, Failure, Outcome, RangeArgs, times};
use crate::Record as _;
use crate::annotations::{self, Annotation};
use crate::naming::TimeRange;
use crate::store::Store;

/// The most annotations `plot --annotations` marks: the newest.
const MAX_MARKERS: usize = 35;

/// What `annotate` was given.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct AnnotateArgs {
    /// The stream: ASCII letters, digits, `.`, `_`, `-`, `/`, `:`
    /// (`deploys`, `shop/incidents`).
    pub(crate) stream: String,
    /// One line saying what happened.
    #[arg(long)]
    pub(crate) title: String,
    /// More about it.
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// Who or what records it (`ci`, `alice`).
    #[arg(long)]
    pub(crate) source: Option<String>,
    /// A URL about it (repeatable).
    #[arg(long = "link", value_name = "URL")]
    pub(crate) links: Vec<String>,
    /// When it starts (default: now), written as --from is.
    #[arg(long, value_name = "TIME")]
    pub(crate) at: Option<String>,
    /// When it ends, for one that lasts, written as --from is.
    #[arg(long, value_name = "TIME")]
    pub(crate) end: Option<String>,
}

/// Records one annotation, closes the store so that it is written, and
/// prints what was recorded.
pub(crate) async fn annotate(cx: &Context, args: AnnotateArgs) -> Result<Outcome, Failure> {
    cx.find(&Annotation::record_type().template_name())?;
    let now = Utc::now();
    let time = |flag: &str, text: &str| {
        times::instant(text, now).map_err(|problem| Failure::usage(format!("--{flag}: {problem}")))
    };
    let mut annotation = Annotation::new(args.stream, args.title).at(match &args.at {
        Some(text) => time("at", text)?,
        None => now,
    });
    if let Some(text) = &args.end {
        annotation = annotation.end(time("end", text)?);
    }
    if let Some(text) = args.description {
        annotation = annotation.description(text);
    }
    if let Some(source) = args.source {
        annotation = annotation.source(source);
    }
    for link in args.links {
        annotation = annotation.link(link);
    }
    annotation.check()?;
    let store = cx.open_store()?;
    let recorded = store.annotate(annotation.clone());
    let stats = store.close().await?;
    recorded?;
    if !stats.is_complete() || stats.failed > 0 {
        return Err(Failure::failed(format!(
            "the annotation was not written ({}); check the store with `check`, and run annotate again",
            stats.last_error.as_deref().unwrap_or("no error reported")
        )));
    }
    print(&format!(
        "annotated {} at {}{}: {}",
        annotation.stream,
        annotation.timestamp.format("%Y-%m-%d %H:%M:%S UTC"),
        annotation
            .end
            .map(|end| end.format(" until %Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default(),
        annotation.title
    ))?;
    Ok(Outcome::Success)
}

/// Prints the annotations in the range (every one without `--from` and
/// `--until`), oldest first: a table, or JSON as stored.
pub(crate) async fn list(
    cx: &Context,
    stream: Option<&str>,
    range: &RangeArgs,
    limit: usize,
    json: bool,
) -> Result<Outcome, Failure> {
    cx.find(&Annotation::record_type().template_name())?;
    let selected = times::range(range)?;
    let store = cx.open_store()?;
    let found =
        annotations::list(&store, stream, selected.unwrap_or_else(everything), limit).await?;
    if json {
        let values = found
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<Value>, _>>()
            .map_err(|e| Failure::failed(format!("cannot write JSON: {e}")))?;
        print_json(&Value::Array(values))?;
    } else if found.is_empty() {
        print(&format!(
            "no annotations{}{}; record one with `annotate STREAM --title TITLE`",
            stream
                .map(|s| format!(" of stream {s:?}"))
                .unwrap_or_default(),
            if selected.is_some() {
                " in this range"
            } else {
                ""
            }
        ))?;
    } else {
        let when = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
        let rows = found
            .iter()
            .map(|a| {
                vec![
                    when(a.timestamp),
                    a.end.map(when).unwrap_or_default(),
                    a.stream.clone(),
                    a.title.clone(),
                    a.source.clone().unwrap_or_default(),
                    a.links.join(" "),
                ]
            })
            .collect();
        print(&table(
            &[
                "start (UTC)",
                "end (UTC)",
                "stream",
                "title",
                "source",
                "links",
            ],
            rows,
        ))?;
    }
    Ok(Outcome::Success)
}

/// The markers of a plot with `--annotations STREAM` (none without it):
/// the annotations of the stream that overlap the plotted range (the one
/// asked for, else the span of the buckets starting at `times`), the
/// newest [`MAX_MARKERS`], oldest first (a note on stderr says when there
/// were more).
pub(crate) async fn markers(
    cx: &Context,
    store: &Store,
    stream: Option<&str>,
    asked: Option<TimeRange>,
    times: &[DateTime<Utc>],
) -> Result<Vec<Marker>, Failure> {
    let (Some(stream), Some(range)) = (stream, plotted_range(asked, times)) else {
        return Ok(Vec::new());
    };
    let mut found = annotations::list(store, Some(stream), range, MAX_MARKERS + 1).await?;
    if found.len() > MAX_MARKERS {
        found.remove(0);
        if !cx.quiet {
            eprintln!(
                "more than {MAX_MARKERS} annotations of {stream:?} in the range; marking the newest {MAX_MARKERS} (narrow the range with --from and --until)"
            );
        }
    }
    Ok(found
        .into_iter()
        .map(|a| Marker {
            start: a.timestamp,
            end: a.end,
            title: a.title,
        })
        .collect())
}

/// The range a plot shows: the one asked for, else the buckets' span
/// (from the first bucket to the end of the last, taken to be as long as
/// the one before it, or an hour). `None` without buckets.
fn plotted_range(asked: Option<TimeRange>, times: &[DateTime<Utc>]) -> Option<TimeRange> {
    if asked.is_some() {
        return asked;
    }
    let first = times.iter().min().copied()?;
    let last = times.iter().max().copied()?;
    let before = times.iter().copied().filter(|t| *t < last).max();
    let length = before.map_or(chrono::TimeDelta::hours(1), |before| last - before);
    TimeRange::new(first, last.checked_add_signed(length)?).ok()
}

/// The range that holds every annotation: from year 0 to the last
/// millisecond of year 9999 (the years a date field takes).
fn everything() -> TimeRange {
    let start = |year| {
        NaiveDate::from_ymd_opt(year, 1, 1)
            .unwrap_or(NaiveDate::MIN)
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
    };
    TimeRange {
        from: start(0),
        until: start(10_000) - chrono::TimeDelta::milliseconds(1),
    }
}
