//! Annotations: events worth seeing beside the data, such as a deploy, an
//! incident or a configuration change, stored as the built-in record type
//! `esrecord.annotation` (template `esrecord_annotation`, one index a
//! month) and marked on charts by the binary's `plot --annotations STREAM`.
//!
//! An annotation belongs to a *stream* (`deploys`, `incidents`,
//! `shop/checkout`), has a title, and starts at an instant; it may end
//! later (an incident from 10:05 to 10:40), and may carry a description, a
//! source (who or what recorded it) and links.
//!
//! ```no_run
//! # async fn run() -> esrecord::Result<()> {
//! use chrono::{TimeDelta, Utc};
//! use esrecord::annotations::{self, Annotation};
//! use esrecord::TimeRange;
//!
//! let store = esrecord::Store::open()?;
//! store.annotate(
//!     Annotation::new("deploys", "shop v2.3.1")
//!         .source("ci")
//!         .link("https://ci.example.com/builds/812"),
//! )?;
//! store.flush().await?;
//!
//! let day = TimeRange::new(Utc::now() - TimeDelta::days(1), Utc::now() + TimeDelta::minutes(1))?;
//! for a in annotations::list(&store, Some("deploys"), day, 100).await? {
//!     println!("{} {}", a.timestamp, a.title);
//! }
//! # Ok(()) }
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::{Record, Store, TimeRange};

/// The longest stream name, in bytes.
pub const MAX_STREAM_BYTES: usize = 128;

/// The longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// The most annotations one page of [`list`] reads.
const PAGE_SIZE: usize = 1_000;

/// An event on a stream, from `timestamp` to `end` (or at `timestamp`
/// only): the record [`Store::annotate`] stores.
///
/// Build one with [`Annotation::new`] and its setters; every field is
/// public, and [`Annotation::check`] (which `annotate` calls) says what is
/// wrong with one.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use esrecord::Record;
/// use esrecord::annotations::Annotation;
///
/// let start = Utc.with_ymd_and_hms(2024, 3, 5, 10, 5, 0).unwrap();
/// let incident = Annotation::new("incidents", "checkout errors")
///     .at(start)
///     .end(start + chrono::TimeDelta::minutes(35))
///     .description("payment provider timeouts")
///     .link("https://status.example.com/incidents/42");
/// assert!(incident.check().is_ok());
/// assert_eq!(Annotation::record_type().template_name(), "esrecord_annotation");
/// assert_eq!(Annotation::record_type().index_for(&start), "esrecord_annotation_2024.03");
/// ```
#[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[record(app_label = "esrecord", timedepth = "month")]
pub struct Annotation {
    /// When it starts (or happens).
    pub timestamp: DateTime<Utc>,
    /// The stream it belongs to: `deploys`, `incidents`...
    pub stream: String,
    /// One line saying what happened.
    pub title: String,
    /// More about it, searchable as full text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[record(text)]
    pub description: Option<String>,
    /// Who or what recorded it: `ci`, `alice`, `pagerduty`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// URLs about it: a build, a pull request, an incident report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    /// When it ends, for an annotation that lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
}

impl Annotation {
    /// An annotation of `stream` titled `title`, starting now, with no
    /// end, description, source or links.
    pub fn new(stream: impl Into<String>, title: impl Into<String>) -> Annotation {
        Annotation {
            timestamp: Utc::now(),
            stream: stream.into(),
            title: title.into(),
            description: None,
            source: None,
            links: Vec::new(),
            end: None,
        }
    }

    /// Starts at `start` instead of now.
    pub fn at(mut self, start: DateTime<Utc>) -> Annotation {
        self.timestamp = start;
        self
    }

    /// Ends at `end` (not before the start: [`check`](Self::check)).
    pub fn end(mut self, end: DateTime<Utc>) -> Annotation {
        self.end = Some(end);
        self
    }

    /// With a description.
    pub fn description(mut self, text: impl Into<String>) -> Annotation {
        self.description = Some(text.into());
        self
    }

    /// With a source: who or what recorded it.
    pub fn source(mut self, source: impl Into<String>) -> Annotation {
        self.source = Some(source.into());
        self
    }

    /// With one more link (an absolute URL).
    pub fn link(mut self, url: impl Into<String>) -> Annotation {
        self.links.push(url.into());
        self
    }

    /// Whether the annotation can be stored, with what to change when it
    /// cannot: the stream is 1 to [`MAX_STREAM_BYTES`] bytes of ASCII
    /// letters, digits, `.`, `_`, `-`, `/` and `:`; the title is one line
    /// of 1 to [`MAX_TITLE_CHARS`] characters, not only spaces; the end,
    /// if any, is not before the start; a source is not empty; each link is
    /// an absolute URL (`scheme://...`) without spaces.
    ///
    /// ```
    /// use esrecord::annotations::Annotation;
    ///
    /// let err = Annotation::new("release notes", "v2").check().unwrap_err();
    /// assert!(err.to_string().contains("stream \"release notes\""));
    /// ```
    pub fn check(&self) -> Result<()> {
        check_stream(&self.stream)?;
        let title = self.title.trim();
        if title.is_empty() {
            return Err(invalid(
                "title",
                "is empty; give a short line saying what happened (\"deploy v2.3.1\")",
            ));
        }
        if self.title.contains(['\n', '\r']) {
            return Err(invalid(
                "title",
                "has a line break; keep the title to one line and put the rest in the description",
            ));
        }
        let chars = self.title.chars().count();
        if chars > MAX_TITLE_CHARS {
            return Err(invalid(
                "title",
                format!(
                    "has {chars} characters, more than {MAX_TITLE_CHARS}; shorten it and put the rest in the description"
                ),
            ));
        }
        if let Some(end) = self.end.filter(|end| *end < self.timestamp) {
            return Err(invalid(
                "end",
                format!(
                    "{} is before the start {}; give an end at or after the start, or none",
                    end.to_rfc3339(),
                    self.timestamp.to_rfc3339()
                ),
            ));
        }
        if self.source.as_deref().is_some_and(|s| s.trim().is_empty()) {
            return Err(invalid(
                "source",
                "is empty; name who or what recorded it (\"ci\"), or leave it out",
            ));
        }
        for link in &self.links {
            check_link(link)?;
        }
        Ok(())
    }

    /// Whether the annotation overlaps `range`: it starts before the
    /// range's end, and it starts or ends within or after the range's
    /// start.
    pub fn overlaps(&self, range: &TimeRange) -> bool {
        let last = self.end.unwrap_or(self.timestamp).max(self.timestamp);
        self.timestamp < range.until && last >= range.from
    }
}

/// Checks a stream name: what [`Annotation::check`] says of streams.
///
/// ```
/// use esrecord::annotations::check_stream;
///
/// assert!(check_stream("shop/deploys").is_ok());
/// assert!(check_stream("").is_err());
/// ```
pub fn check_stream(stream: &str) -> Result<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':');
    if stream.is_empty() {
        return Err(invalid(
            "stream",
            "is empty; name the stream the annotation belongs to (\"deploys\", \"incidents\")",
        ));
    }
    if stream.len() > MAX_STREAM_BYTES {
        return Err(invalid(
            "stream",
            format!(
                "is {} bytes long, more than {MAX_STREAM_BYTES}; choose a shorter name",
                stream.len()
            ),
        ));
    }
    if let Some(bad) = stream.chars().find(|&c| !allowed(c)) {
        return Err(invalid(
            "stream",
            format!(
                "{stream:?} has {bad:?}; a stream name has ASCII letters, digits, `.`, `_`, `-`, `/` and `:` only (\"shop/deploys\")"
            ),
        ));
    }
    Ok(())
}

/// Checks one link: an absolute URL without whitespace.
fn check_link(link: &str) -> Result<()> {
    let absolute = link.split_once("://").is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if !absolute {
        return Err(invalid(
            "link",
            format!(
                "{link:?} is not an absolute URL; write it with its scheme (https://example.com/builds/812)"
            ),
        ));
    }
    if link.chars().any(char::is_whitespace) {
        return Err(invalid(
            "link",
            format!("{link:?} has a space; a URL has no spaces, encode them as %20"),
        ));
    }
    Ok(())
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidAnnotation {
        field,
        reason: reason.into(),
    }
}

/// The annotations that overlap `range` ([`Annotation::overlaps`]: an
/// annotation that started before the range and ends in it is included),
/// of `stream` only when given, oldest first: the newest `limit` of them
/// when there are more.
///
/// ```no_run
/// # async fn run(store: esrecord::Store) -> esrecord::Result<()> {
/// use esrecord::TimeRange;
/// use esrecord::annotations;
///
/// let march = TimeRange::new((2024, 3), (2024, 4))?;
/// for a in annotations::list(&store, Some("incidents"), march, 50).await? {
///     println!("{} to {:?}: {}", a.timestamp, a.end, a.title);
/// }
/// # Ok(()) }
/// ```
pub async fn list(
    store: &Store,
    stream: Option<&str>,
    range: TimeRange,
    limit: usize,
) -> Result<Vec<Annotation>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    if let Some(stream) = stream {
        check_stream(stream)?;
    }
    let fields = Annotation::fields();
    // Not `.range()`: an annotation that started before the range and
    // lasts into it belongs in the answer, so the start is filtered here
    // and the end below.
    let mut search = Annotation::search()
        .filter(fields.timestamp.lt(range.until))
        .filter(fields.timestamp.gte(range.from) | fields.end.gte(range.from))
        .newest_first()
        .size(limit.min(PAGE_SIZE));
    if let Some(stream) = stream {
        search = search.filter(fields.stream.eq(stream));
    }
    let mut found = Vec::new();
    let mut pages = search.stream(store).await?;
    'pages: while let Some(page) = pages.next_page().await? {
        for hit in page {
            if hit.record.overlaps(&range) {
                found.push(hit.record);
            }
            if found.len() == limit {
                break 'pages;
            }
        }
    }
    pages.close().await?;
    found.reverse();
    Ok(found)
}
