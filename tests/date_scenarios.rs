//! Dates from the year 0001 to 9999, shared by the embedded engine's tests
//! (`search.rs`) and the live Elasticsearch suite (`elasticsearch_live.rs`).
//!
//! Validation accepts every timestamp of the years 0000 to 9999, so every
//! such date must be stored and searched alike: before 1970 (negative epoch
//! milliseconds), and outside the years 1677 to 2262 that nanoseconds since
//! 1970 in an `i64` hold. One record type per timedepth, each with dates in
//! a second field, an optional one, a list and a composite, takes the same
//! events: ranges find each record in its own partition, include `from` and
//! exclude `until`, cut partitions at both ends and name the partitions they
//! touch; date fields filter, sort, page and give their earliest and latest
//! values. Date histograms bucket by local months in time zones and by days
//! across 1970. Every expected answer is computed from the data.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use esrecord::fields::Field;
use esrecord::naming::glob_matches;
use esrecord::search::aggs::{self, Aggregation, Interval};
use esrecord::search::{Query, Search};
use esrecord::{Composite, Record, Store, TimeBound, Timedepth};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The instants the scenarios are about, from the first of the year 0001
/// to the last millisecond of 9999.
struct Ages {
    first: DateTime<Utc>,
    y1234: DateTime<Utc>,
    /// The start of 1677: before tantivy's nanosecond range.
    y1677: DateTime<Utc>,
    /// The last millisecond before nanoseconds since 1970 start in an `i64`
    /// (1677-09-21T00:12:43.145224192Z).
    before_nanos: DateTime<Utc>,
    before_epoch: DateTime<Utc>,
    epoch: DateTime<Utc>,
    /// The first millisecond after nanoseconds since 1970 end in an `i64`
    /// (2262-04-11T23:47:16.854775807Z).
    after_nanos: DateTime<Utc>,
    y2262_end: DateTime<Utc>,
    y2263: DateTime<Utc>,
    y3135: DateTime<Utc>,
    last: DateTime<Utc>,
}

fn ages() -> Ages {
    let at = |text: &str| {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    };
    Ages {
        first: at("0001-01-01T00:00:00Z"),
        y1234: at("1234-05-06T07:08:09.010Z"),
        y1677: at("1677-01-01T00:00:00Z"),
        before_nanos: at("1677-09-21T00:12:43.145Z"),
        before_epoch: at("1969-12-31T23:59:59.999Z"),
        epoch: at("1970-01-01T00:00:00Z"),
        after_nanos: at("2262-04-11T23:47:16.855Z"),
        y2262_end: at("2262-12-31T00:00:00Z"),
        y2263: at("2263-01-01T00:00:00Z"),
        y3135: at("3135-06-15T12:00:00Z"),
        last: at("9999-12-31T23:59:59.999Z"),
    }
}

impl Ages {
    fn all(&self) -> [DateTime<Utc>; 11] {
        [
            self.first,
            self.y1234,
            self.y1677,
            self.before_nanos,
            self.before_epoch,
            self.epoch,
            self.after_nanos,
            self.y2262_end,
            self.y2263,
            self.y3135,
            self.last,
        ]
    }
}

/// One event, whatever the type that stores it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    id: u64,
    timestamp: DateTime<Utc>,
    noted: DateTime<Utc>,
    reviewed: Option<DateTime<Utc>>,
    marks: Vec<DateTime<Utc>>,
    opened: DateTime<Utc>,
}

impl Event {
    /// Every date of the event, the list's included.
    fn dates(&self) -> Vec<DateTime<Utc>> {
        let mut dates = vec![self.timestamp, self.noted, self.opened];
        dates.extend(self.reviewed);
        dates.extend(&self.marks);
        dates
    }
}

/// The events: at every age, and 1 ms and 20 minutes either side of it
/// (within 0001..=9999), so that partitions at every depth hold records
/// on both sides of each age. Their other dates are other events'
/// timestamps: `noted` in reverse (so no two are equal), the rest spread.
fn events() -> Vec<Event> {
    let ages = ages();
    let offsets = [
        -Duration::minutes(20),
        -Duration::milliseconds(1),
        Duration::zero(),
        Duration::milliseconds(1),
        Duration::minutes(20),
    ];
    let mut times: Vec<DateTime<Utc>> = ages
        .all()
        .iter()
        .flat_map(|age| offsets.map(|offset| *age + offset))
        .filter(|t| ages.first <= *t && *t <= ages.last)
        .collect();
    times.sort();
    times.dedup();
    let n = times.len();
    times
        .iter()
        .enumerate()
        .map(|(i, timestamp)| Event {
            id: i as u64,
            timestamp: *timestamp,
            noted: times[n - 1 - i],
            reviewed: (i % 3 != 0).then(|| times[(i * 3 + 2) % n]),
            marks: (1..=i % 3).map(|k| times[(i + 11 * k) % n]).collect(),
            opened: times[(i * 5 + 3) % n],
        })
        .collect()
}

/// A window of time, stored as an object.
#[derive(Composite, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) struct Window {
    pub(crate) opened: DateTime<Utc>,
}

/// The handles of an event type's fields.
struct Handles {
    timestamp: Field<DateTime<Utc>>,
    id: Field<u64>,
    noted: Field<DateTime<Utc>>,
    reviewed: Field<DateTime<Utc>>,
    marks: Field<DateTime<Utc>>,
    opened: Field<DateTime<Utc>>,
}

/// A record type that stores events.
trait Dated: Record + Clone + std::fmt::Debug {
    fn from_event(event: &Event) -> Self;
    fn event(&self) -> Event;
    fn id(&self) -> u64;
    fn handles() -> Handles;
}

macro_rules! event_type {
    ($(#[$doc:meta])* $name:ident, $depth:tt) => {
        $(#[$doc])*
        #[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
        #[record(app_label = "dates", timedepth = $depth)]
        pub(crate) struct $name {
            pub(crate) timestamp: DateTime<Utc>,
            pub(crate) id: u64,
            pub(crate) noted: DateTime<Utc>,
            pub(crate) reviewed: Option<DateTime<Utc>>,
            pub(crate) marks: Vec<DateTime<Utc>>,
            pub(crate) window: Window,
        }

        impl Dated for $name {
            fn from_event(event: &Event) -> Self {
                $name {
                    timestamp: event.timestamp,
                    id: event.id,
                    noted: event.noted,
                    reviewed: event.reviewed,
                    marks: event.marks.clone(),
                    window: Window {
                        opened: event.opened,
                    },
                }
            }

            fn event(&self) -> Event {
                Event {
                    id: self.id,
                    timestamp: self.timestamp,
                    noted: self.noted,
                    reviewed: self.reviewed,
                    marks: self.marks.clone(),
                    opened: self.window.opened,
                }
            }

            fn id(&self) -> u64 {
                self.id
            }

            fn handles() -> Handles {
                let f = Self::fields();
                Handles {
                    timestamp: f.timestamp.clone(),
                    id: f.id.clone(),
                    noted: f.noted.clone(),
                    reviewed: f.reviewed.clone(),
                    marks: f.marks.clone(),
                    opened: f.window.opened.clone(),
                }
            }
        }
    };
}

event_type!(
    /// Events in yearly partitions.
    EraYear,
    "year"
);
event_type!(
    /// Events in monthly partitions.
    EraMonth,
    "month"
);
event_type!(
    /// Events in daily partitions.
    EraDay,
    "day"
);
event_type!(
    /// Events in hourly partitions.
    EraHour,
    "hour"
);

/// Runs `check::<R>(args)` for the event type of every timedepth.
macro_rules! at_every_depth {
    ($check:ident($($arg:expr),*)) => {
        $check::<EraYear>($($arg),*).await;
        $check::<EraMonth>($($arg),*).await;
        $check::<EraDay>($($arg),*).await;
        $check::<EraHour>($($arg),*).await;
    };
}

/// Records the events as every event type and returns them; each must be
/// stored.
async fn record_events(store: &Store) -> Vec<Event> {
    let events = events();
    for event in &events {
        store.record(EraYear::from_event(event)).unwrap();
        store.record(EraMonth::from_event(event)).unwrap();
        store.record(EraDay::from_event(event)).unwrap();
        store.record(EraHour::from_event(event)).unwrap();
    }
    let stats = store.flush().await.unwrap();
    assert_eq!(
        (stats.sent, stats.failed, stats.unsent),
        (4 * events.len() as u64, 0, 0),
        "every date from 0001 to 9999 is stored at every timedepth: {:?}",
        stats.last_error
    );
    events
}

fn depth<R: Record>() -> Timedepth {
    R::record_type().timedepth()
}

/// The events a search finds, by id, checked against its total.
async fn found<R: Dated>(store: &Store, search: Search<R>) -> Vec<Event> {
    let results = search.size(10_000).fetch(store).await.unwrap();
    let mut events: Vec<Event> = results.hits.iter().map(|h| h.record.event()).collect();
    events.sort_by_key(|e| e.id);
    assert_eq!(results.total, events.len() as u64, "{}", depth::<R>());
    events
}

fn ids(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.id).collect()
}

/// The events `keep` selects, by id.
fn expected(events: &[Event], keep: impl Fn(&Event) -> bool) -> Vec<Event> {
    events.iter().filter(|e| keep(e)).cloned().collect()
}

fn in_range(from: DateTime<Utc>, until: DateTime<Utc>) -> impl Fn(&Event) -> bool {
    move |e| from <= e.timestamp && e.timestamp < until
}

async fn every_record_in_its_own_partition<R: Dated>(store: &Store, events: &[Event]) {
    let depth = depth::<R>();
    let (_, named) = store.backend_for::<R>().unwrap();
    let all = found(store, R::search()).await;
    assert_eq!(ids(&all), ids(events), "{depth}: unbounded");
    assert_eq!(all, events, "{depth}: every date reads back as recorded");
    let mut partitions: BTreeMap<DateTime<Utc>, Vec<u64>> = BTreeMap::new();
    for event in events {
        partitions
            .entry(depth.floor(event.timestamp))
            .or_default()
            .push(event.id);
    }
    let last = ages().last;
    for (start, want) in partitions {
        let until = depth.next(start).unwrap();
        // A bound past 9999 would be sent as `+10000-01-01T00:00:00Z`,
        // which Elasticsearch's default date format refuses (it reads
        // four-digit years only): the last partition is searched from its
        // start without an end.
        let search = if until <= last {
            R::search().range(start, until)
        } else {
            R::search().filter(R::handles().timestamp.gte(start))
        };
        let results = search.size(10_000).fetch(store).await.unwrap();
        let index = named.index_for(&start);
        assert!(
            results.hits.iter().all(|hit| hit.index == index),
            "{depth}: the partition of {start} is {index}"
        );
        let mut got: Vec<u64> = results.hits.iter().map(|h| h.record.id()).collect();
        got.sort_unstable();
        assert_eq!(
            (results.total, got),
            (want.len() as u64, want),
            "{depth}: the partition {index}"
        );
        for hit in &results.hits {
            assert_eq!(
                hit.record.event(),
                events[hit.record.id() as usize],
                "{index}"
            );
        }
    }
}

/// Every record is found by a search over everything and by one over
/// exactly its own partition, at every timedepth, with each of its dates
/// as recorded (to the millisecond).
pub(crate) async fn every_date_from_year_1_to_9999_is_found_in_its_own_partition(store: &Store) {
    let events = record_events(store).await;
    at_every_depth!(every_record_in_its_own_partition(store, &events));
}

async fn ranges_bound_exactly<R: Dated>(
    store: &Store,
    events: &[Event],
    cases: &[(&str, DateTime<Utc>, DateTime<Utc>)],
) {
    let depth = depth::<R>();
    for (name, from, until) in cases {
        let (from, until) = (*from, *until);
        let at_from = events.iter().find(|e| e.timestamp == from);
        let at_until = events.iter().find(|e| e.timestamp == until);
        let (Some(at_from), Some(at_until)) = (at_from, at_until) else {
            panic!("{name}: both bounds are events' timestamps");
        };
        let want = expected(events, in_range(from, until));
        assert!(want.contains(at_from) && !want.contains(at_until));
        let got = found(store, R::search().range(from, until)).await;
        assert_eq!(
            ids(&got),
            ids(&want),
            "{depth}, {name}: [{from}, {until}) holds the record at {from}, not the one at {until}"
        );
    }
}

/// `range(from, until)` finds the record exactly at `from` and not the one
/// exactly at `until`: before 1970, around it, at the ends of the
/// nanosecond range and past it, at the first and last millisecond.
pub(crate) async fn ranges_include_from_and_exclude_until_before_1970_and_after_2262(
    store: &Store,
) {
    let events = record_events(store).await;
    let a = ages();
    let ms = Duration::milliseconds(1);
    let cases = [
        ("the first millisecond", a.first, a.first + ms),
        ("from 1234 to 1677", a.y1234, a.before_nanos),
        ("the start of 1677", a.y1677, a.y1677 + ms),
        ("before the epoch", a.before_epoch, a.epoch),
        ("across the epoch", a.before_epoch - ms, a.epoch + ms),
        ("the epoch", a.epoch, a.epoch + ms),
        ("past 2262-04-11", a.after_nanos, a.y2263),
        ("from 2262 to 3135", a.y2262_end, a.y3135),
        ("from 2263 to the last millisecond", a.y2263, a.last),
        ("the last millisecond but one", a.last - ms, a.last),
    ];
    at_every_depth!(ranges_bound_exactly(store, &events, &cases));
}

async fn partial_partitions<R: Dated>(
    store: &Store,
    events: &[Event],
    cases: &[(&str, DateTime<Utc>, DateTime<Utc>)],
) {
    let depth = depth::<R>();
    for (name, from, until) in cases {
        let (from, until) = (*from, *until);
        // The partitions at both ends hold records on both sides of the
        // bound, at this depth too.
        let first = depth.floor(from);
        let last = depth.floor(until);
        assert!(
            events
                .iter()
                .any(|e| depth.floor(e.timestamp) == first && e.timestamp < from)
                && events
                    .iter()
                    .any(|e| depth.floor(e.timestamp) == first && e.timestamp >= from),
            "{depth}, {name}: records on both sides of {from}"
        );
        assert!(
            events
                .iter()
                .any(|e| depth.floor(e.timestamp) == last && e.timestamp < until)
                && events
                    .iter()
                    .any(|e| depth.floor(e.timestamp) == last && e.timestamp >= until),
            "{depth}, {name}: records on both sides of {until}"
        );
        let want = expected(events, in_range(from, until));
        let got = found(store, R::search().range(from, until)).await;
        assert_eq!(ids(&got), ids(&want), "{depth}, {name}: [{from}, {until})");
    }
}

/// Ranges that start and end inside partitions find exactly the records
/// inside them, at every timedepth.
pub(crate) async fn ranges_inside_partitions_at_both_ends_find_exactly_the_records_inside(
    store: &Store,
) {
    let events = record_events(store).await;
    let a = ages();
    let ten = Duration::minutes(10);
    let cases = [
        ("from 1234 to 3135", a.y1234, a.y3135 + ten),
        ("within 1677", a.y1677 + ten, a.before_nanos + ten),
        ("across the epoch", a.before_epoch - ten, a.epoch + ten),
        ("within 2262", a.after_nanos - ten, a.y2262_end + ten),
        ("from the year 1 to 1970", a.first + ten, a.epoch + ten),
    ];
    at_every_depth!(partial_partitions(store, &events, &cases));
}

type PrunedCase = (TimeBound, TimeBound, [&'static [&'static str]; 4]);

async fn pruned<R: Dated>(store: &Store, events: &[Event], cases: &[PrunedCase]) {
    let depth = depth::<R>();
    let (_, named) = store.backend_for::<R>().unwrap();
    let base = format!("{}_", named.template_name());
    let at_depth = Timedepth::ALL.iter().position(|d| *d == depth).unwrap();
    for (from, until, parts) in cases {
        let patterns = named.patterns_for_range(*from, *until).unwrap();
        let want: Vec<String> = parts[at_depth]
            .iter()
            .map(|part| format!("{base}{part}"))
            .collect();
        assert_eq!(patterns, want, "{depth}: {from} .. {until}");
        let (from, until) = (from.resolve().unwrap(), until.resolve().unwrap());
        let results = R::search()
            .range(from, until)
            .size(10_000)
            .fetch(store)
            .await
            .unwrap();
        for hit in &results.hits {
            assert_eq!(hit.index, named.index_for(&hit.record.event().timestamp));
            assert!(
                patterns.iter().any(|p| glob_matches(p, &hit.index)),
                "{depth}: {} is outside {patterns:?}",
                hit.index
            );
        }
        let mut got: Vec<u64> = results.hits.iter().map(|h| h.record.id()).collect();
        got.sort_unstable();
        assert_eq!(
            got,
            ids(&expected(events, in_range(from, until))),
            "{depth}: {from} .. {until}"
        );
    }
}

/// A range names only the partitions it touches, at the depth of the type,
/// in any age: whole units as wildcards, the others exactly; and the
/// search over them finds the records of the range.
pub(crate) async fn ranges_name_the_partitions_they_touch_in_every_age(store: &Store) {
    let events = record_events(store).await;
    // Year, month, day, hour.
    let cases: [PrunedCase; 8] = [
        (
            (1,).into(),
            (2,).into(),
            [&["0001"], &["0001.*"], &["0001.*"], &["0001.*"]],
        ),
        (
            (1234,).into(),
            (1235,).into(),
            [&["1234"], &["1234.*"], &["1234.*"], &["1234.*"]],
        ),
        (
            (1677, 9, 21).into(),
            (1677, 9, 22).into(),
            [&["1677"], &["1677.09"], &["1677.09.21"], &["1677.09.21.*"]],
        ),
        (
            (1969, 12, 31).into(),
            (1970, 1, 2).into(),
            [
                &["1969", "1970"],
                &["1969.12", "1970.01"],
                &["1969.12.31", "1970.01.01"],
                &["1969.12.31.*", "1970.01.01.*"],
            ],
        ),
        (
            (2262, 4, 11, 23).into(),
            (2262, 4, 12).into(),
            [&["2262"], &["2262.04"], &["2262.04.11"], &["2262.04.11.23"]],
        ),
        (
            (2262, 12).into(),
            (2263, 2).into(),
            [
                &["2262", "2263"],
                &["2262.12", "2263.01"],
                &["2262.12.*", "2263.01.*"],
                &["2262.12.*", "2263.01.*"],
            ],
        ),
        (
            (3135, 6, 15, 12).into(),
            (3135, 6, 15, 13).into(),
            [&["3135"], &["3135.06"], &["3135.06.15"], &["3135.06.15.12"]],
        ),
        // Up to the last millisecond of 9999: a bound past 9999 would be sent
        // as `+10000-01-01T00:00:00Z`, which Elasticsearch's default date
        // format refuses.
        (
            (9999, 12, 31, 23).into(),
            ages().last.into(),
            [&["9999"], &["9999.12"], &["9999.12.31"], &["9999.12.31.23"]],
        ),
    ];
    at_every_depth!(pruned(store, &events, &cases));
}

/// The ids of the events sorted by `key`, ties by id.
fn sorted_by<K: Ord>(events: &[Event], key: impl Fn(&Event) -> K, descending: bool) -> Vec<u64> {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by(|a, b| key(a).cmp(&key(b)).then(a.id.cmp(&b.id)));
    if descending {
        sorted.reverse();
    }
    sorted.iter().map(|e| e.id).collect()
}

async fn hit_ids<R: Dated>(store: &Store, search: Search<R>) -> Vec<u64> {
    let results = search.fetch(store).await.unwrap();
    results.hits.iter().map(|h| h.record.id()).collect()
}

/// Every page of `search` (sorted, with its size) through `after`.
async fn paged_by_hand<R: Dated>(store: &Store, search: Search<R>, size: usize) -> Vec<u64> {
    let (mut ids, mut cursor) = (Vec::new(), None);
    loop {
        let mut page = search.clone().size(size);
        if let Some(cursor) = cursor.take() {
            page = page.after(cursor);
        }
        let results = page.fetch(store).await.unwrap();
        let Some(last) = results.hits.last() else {
            break;
        };
        assert!(results.hits.len() <= size);
        cursor = Some(last.sort.clone());
        ids.extend(results.hits.iter().map(|h| h.record.id()));
        assert!(ids.len() <= 10_000, "pages without end");
    }
    ids
}

async fn streamed<R: Dated>(store: &Store, search: Search<R>, size: usize) -> Vec<u64> {
    let mut pages = search.size(size).stream(store).await.unwrap();
    let mut ids = Vec::new();
    while let Some(page) = pages.next_page().await.unwrap() {
        assert!(page.len() <= size);
        ids.extend(page.iter().map(|h| h.record.id()));
        assert!(ids.len() <= 10_000, "pages without end");
    }
    ids
}

async fn filtered_sorted_and_paged<R: Dated>(store: &Store, events: &[Event]) {
    let depth = depth::<R>();
    let h = R::handles();
    let a = ages();
    let marked = |e: &Event, keep: &dyn Fn(DateTime<Utc>) -> bool| e.marks.iter().any(|m| keep(*m));
    let cases: Vec<(&str, Query, Vec<Event>)> = vec![
        (
            "noted from before the epoch until 2263",
            h.noted.gte(a.before_epoch) & h.noted.lt(a.y2263),
            expected(events, |e| a.before_epoch <= e.noted && e.noted < a.y2263),
        ),
        (
            "noted before the nanosecond range",
            h.noted.lt(a.before_nanos),
            expected(events, |e| e.noted < a.before_nanos),
        ),
        (
            "noted after the nanosecond range",
            h.noted.gte(a.after_nanos),
            expected(events, |e| e.noted >= a.after_nanos),
        ),
        (
            "noted between 1234 and 1677",
            h.noted.between(a.y1234, a.y1677),
            expected(events, |e| a.y1234 <= e.noted && e.noted < a.y1677),
        ),
        (
            "reviewed from 3135",
            h.reviewed.gte(a.y3135),
            expected(events, |e| e.reviewed.is_some_and(|r| r >= a.y3135)),
        ),
        (
            "reviewed before the epoch",
            h.reviewed.lt(a.epoch),
            expected(events, |e| e.reviewed.is_some_and(|r| r < a.epoch)),
        ),
        (
            "a mark from 2263",
            h.marks.gte(a.y2263),
            expected(events, |e| marked(e, &|m| m >= a.y2263)),
        ),
        (
            "a mark before 1677",
            h.marks.lt(a.y1677),
            expected(events, |e| marked(e, &|m| m < a.y1677)),
        ),
        (
            "opened from the year 1 until the nanosecond range",
            h.opened.between(a.first, a.before_nanos),
            expected(events, |e| a.first <= e.opened && e.opened < a.before_nanos),
        ),
        (
            "opened in the last millisecond",
            h.opened.gte(a.last),
            expected(events, |e| e.opened >= a.last),
        ),
    ];
    for (name, query, want) in cases {
        assert!(!want.is_empty(), "{name}: a case that selects nothing");
        assert!(want.len() < events.len(), "{name}: a case that selects all");
        let got = found(store, R::search().filter(query)).await;
        assert_eq!(ids(&got), ids(&want), "{depth}: {name}");
    }
    // With a time range too: timestamps from 1234 to 3135, noted before 1970.
    let got = found(
        store,
        R::search()
            .range(a.y1234, a.y3135)
            .filter(h.noted.lt(a.epoch)),
    )
    .await;
    let want = expected(events, |e| {
        in_range(a.y1234, a.y3135)(e) && e.noted < a.epoch
    });
    assert_eq!(ids(&got), ids(&want), "{depth}: range and filter");

    // Sorts on the whole set, both ways.
    let all = events.len();
    let by_noted = sorted_by(events, |e| e.noted, false);
    let by_opened = sorted_by(events, |e| e.opened, false);
    let by_time = sorted_by(events, |e| e.timestamp, false);
    let reversed = |ids: &[u64]| ids.iter().rev().copied().collect::<Vec<u64>>();
    let sorted = |search: Search<R>| search.size(all);
    assert_eq!(
        hit_ids(store, sorted(R::search().sort_asc(&h.noted))).await,
        by_noted,
        "{depth}: noted, oldest first"
    );
    assert_eq!(
        hit_ids(store, sorted(R::search().sort_desc(&h.noted))).await,
        reversed(&by_noted),
        "{depth}: noted, newest first"
    );
    assert_eq!(
        hit_ids(
            store,
            sorted(R::search().sort_asc(&h.opened).sort_asc(&h.id))
        )
        .await,
        by_opened,
        "{depth}: opened, oldest first"
    );
    assert_eq!(
        hit_ids(
            store,
            sorted(R::search().sort_desc(&h.opened).sort_desc(&h.id))
        )
        .await,
        reversed(&by_opened),
        "{depth}: opened, newest first"
    );
    assert_eq!(
        hit_ids(store, sorted(R::search().oldest_first())).await,
        by_time,
        "{depth}: timestamp, oldest first"
    );
    assert_eq!(
        hit_ids(store, sorted(R::search().newest_first())).await,
        reversed(&by_time),
        "{depth}: timestamp, newest first"
    );
    assert_eq!(
        hit_ids(store, R::search().newest_first().size(3)).await,
        reversed(&by_time)[..3],
        "{depth}: the newest three, from 9999 down"
    );

    // Pages through `after`, by the timestamp and by `noted`.
    let oldest_first = R::search().sort_asc(&h.timestamp).sort_asc(&h.id);
    assert_eq!(
        paged_by_hand(store, oldest_first, 6).await,
        by_time,
        "{depth}: pages by timestamp"
    );
    let noted_newest_first = R::search().sort_desc(&h.noted).sort_desc(&h.id);
    assert_eq!(
        paged_by_hand(store, noted_newest_first, 5).await,
        reversed(&by_noted),
        "{depth}: pages by noted, newest first"
    );
    let noted_in_range = R::search()
        .range(a.y1234, a.y3135)
        .sort_asc(&h.noted)
        .sort_asc(&h.id);
    let in_range_events = expected(events, in_range(a.y1234, a.y3135));
    assert_eq!(
        paged_by_hand(store, noted_in_range, 4).await,
        sorted_by(&in_range_events, |e| e.noted, false),
        "{depth}: pages by noted, from 1234 to 3135"
    );

    // Streams, oldest first by default and as sorted.
    assert_eq!(
        streamed(store, R::search(), 7).await,
        by_time,
        "{depth}: stream"
    );
    assert_eq!(
        streamed(store, R::search().range(a.y1234, a.y3135), 4).await,
        sorted_by(&in_range_events, |e| e.timestamp, false),
        "{depth}: stream from 1234 to 3135"
    );
    assert_eq!(
        streamed(store, R::search().sort_desc(&h.noted), 6).await,
        reversed(&by_noted),
        "{depth}: stream by noted, newest first"
    );
}

/// Filters (gte, lt, between) on dates that are not the timestamp (a
/// second date, an optional one, a list, a composite's), sorts by dates
/// both ways and paging by `after` and by `stream`, across every age.
pub(crate) async fn date_fields_filter_sort_and_page_across_the_ages(store: &Store) {
    let events = record_events(store).await;
    at_every_depth!(filtered_sorted_and_paged(store, &events));
}

/// `min` or `max` of a date field, read as an instant. (The typed
/// `aggs::min` and `aggs::max` take numeric fields only.)
#[derive(Debug)]
struct DateExtreme {
    name: String,
    body: Value,
}

impl DateExtreme {
    fn min(field: &Field<DateTime<Utc>>) -> Self {
        Self::new("min", field)
    }

    fn max(field: &Field<DateTime<Utc>>) -> Self {
        Self::new("max", field)
    }

    fn new(kind: &str, field: &Field<DateTime<Utc>>) -> Self {
        DateExtreme {
            name: format!("{kind}_{}", field.path().replace('.', "_")),
            body: json!({ kind: { "field": field.path() } }),
        }
    }
}

impl Aggregation for DateExtreme {
    type Output = Option<DateTime<Utc>>;

    fn name(&self) -> &str {
        &self.name
    }

    fn body(&self) -> Value {
        self.body.clone()
    }

    fn read_result(&self, result: &Value) -> esrecord::Result<Option<DateTime<Utc>>> {
        let Some(millis) = result.get("value").and_then(Value::as_f64) else {
            return Ok(None);
        };
        let instant = DateTime::from_timestamp_millis(millis.round() as i64).ok_or_else(|| {
            esrecord::Error::BadRequest(format!("{}: {result} is no instant", self.name))
        })?;
        if let Some(text) = result.get("value_as_string").and_then(Value::as_str) {
            let as_text = DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc));
            assert_eq!(as_text, Ok(instant), "{}: {result}", self.name);
        }
        Ok(Some(instant))
    }
}

async fn earliest_and_latest<R: Dated>(store: &Store, events: &[Event]) {
    let depth = depth::<R>();
    let h = R::handles();
    let a = ages();
    type Dates = fn(&Event) -> Vec<DateTime<Utc>>;
    let fields: [(&Field<DateTime<Utc>>, Dates); 5] = [
        (&h.timestamp, |e| vec![e.timestamp]),
        (&h.noted, |e| vec![e.noted]),
        (&h.reviewed, |e| e.reviewed.into_iter().collect()),
        (&h.marks, |e| e.marks.clone()),
        (&h.opened, |e| vec![e.opened]),
    ];
    let ranges = [
        ("everything", None),
        ("before the epoch", Some((a.first, a.epoch))),
        ("from 2263", Some((a.y2263, a.last))),
        ("from 1677 to 2262", Some((a.y1677, a.y2263))),
    ];
    for (name, range) in ranges {
        let inside = match range {
            Some((from, until)) => expected(events, in_range(from, until)),
            None => events.to_vec(),
        };
        let mut search = R::search().size(0);
        if let Some((from, until)) = range {
            search = search.range(from, until);
        }
        let extremes: Vec<(DateExtreme, DateExtreme)> = fields
            .iter()
            .map(|(field, _)| (DateExtreme::min(field), DateExtreme::max(field)))
            .collect();
        for (min, max) in &extremes {
            search = search.aggregate(min).aggregate(max);
        }
        let results = search.fetch(store).await.unwrap();
        assert_eq!(results.total, inside.len() as u64, "{depth}, {name}");
        for ((field, dates), (min, max)) in fields.iter().zip(&extremes) {
            let values: Vec<DateTime<Utc>> = inside.iter().flat_map(dates).collect();
            assert_eq!(
                (results.read(min).unwrap(), results.read(max).unwrap()),
                (values.iter().min().copied(), values.iter().max().copied()),
                "{depth}, {name}: the earliest and latest {}",
                field.path()
            );
        }
    }
    assert!(
        events.iter().flat_map(Event::dates).min() == Some(a.first)
            && events.iter().flat_map(Event::dates).max() == Some(a.last),
        "the dates span the years 0001 to 9999"
    );
}

/// `min` and `max` of date fields (the timestamp, a second date, an
/// optional one, a list, a composite's) are the earliest and latest
/// instants, over everything and over ranges before 1970 and after 2262.
pub(crate) async fn min_and_max_of_date_fields_are_the_earliest_and_latest_instants(store: &Store) {
    let events = record_events(store).await;
    at_every_depth!(earliest_and_latest(store, &events));
}

/// Events around 1970, for date histograms.
#[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[record(app_label = "dates", timedepth = "month")]
pub(crate) struct AroundEpoch {
    pub(crate) timestamp: DateTime<Utc>,
    pub(crate) id: u64,
}

fn utc(year: i32, month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, hour, 0, 0).unwrap()
}

/// The first day without events, and the first day with them again: days
/// on both sides of the epoch with nothing recorded.
fn gap() -> (DateTime<Utc>, DateTime<Utc>) {
    (utc(1969, 12, 29, 0), utc(1970, 1, 3, 0))
}

/// Every 31 hours from 1969-10-01 to 1970-03-31 (UTC), but for the gap,
/// and 3 hours either side of each UTC month start, where local months
/// east and west of UTC begin; recorded and returned.
async fn record_around_epoch(store: &Store) -> Vec<AroundEpoch> {
    let (gap_from, gap_until) = gap();
    let mut times = Vec::new();
    let mut t = utc(1969, 10, 1, 0);
    while t < utc(1970, 4, 1, 0) {
        times.push(t);
        t += Duration::hours(31);
    }
    for (year, month) in [(1969, 10), (1969, 11), (1969, 12), (1970, 2), (1970, 3)] {
        let start = utc(year, month, 1, 0);
        times.extend([start - Duration::hours(3), start + Duration::hours(3)]);
    }
    times.retain(|t| !(gap_from <= *t && *t < gap_until));
    times.sort();
    times.dedup();
    let records: Vec<AroundEpoch> = times
        .into_iter()
        .enumerate()
        .map(|(i, timestamp)| AroundEpoch {
            timestamp,
            id: i as u64,
        })
        .collect();
    for record in &records {
        store.record(record.clone()).unwrap();
    }
    let stats = store.flush().await.unwrap();
    assert_eq!(
        (stats.sent, stats.failed, stats.unsent),
        (records.len() as u64, 0, 0)
    );
    records
}

/// The start of the local month (in `zone`) that holds `t`, as an instant.
fn local_month_start<Tz: TimeZone>(t: DateTime<Utc>, zone: &Tz) -> DateTime<Utc> {
    let local = t.with_timezone(zone).naive_local();
    let first = NaiveDate::from_ymd_opt(local.year(), local.month(), 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    zone.from_local_datetime(&first)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

/// The start of the local day (in `zone`) that holds `t`, as an instant.
fn local_day_start<Tz: TimeZone>(t: DateTime<Utc>, zone: &Tz) -> DateTime<Utc> {
    let midnight = t.with_timezone(zone).date_naive().and_hms_opt(0, 0, 0);
    zone.from_local_datetime(&midnight.unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

/// Expected histogram buckets: (key, count, earliest record) for every
/// bucket from the first record's to the last record's, `start` giving a
/// record's bucket and `next` the bucket after one.
fn expected_buckets(
    records: &[AroundEpoch],
    start: impl Fn(DateTime<Utc>) -> DateTime<Utc>,
    next: impl Fn(DateTime<Utc>) -> DateTime<Utc>,
) -> Vec<(DateTime<Utc>, u64, Option<DateTime<Utc>>)> {
    let mut counts: BTreeMap<DateTime<Utc>, (u64, DateTime<Utc>)> = BTreeMap::new();
    for record in records {
        let entry = counts
            .entry(start(record.timestamp))
            .or_insert((0, record.timestamp));
        entry.0 += 1;
        entry.1 = entry.1.min(record.timestamp);
    }
    let (Some(first), Some(last)) = (counts.keys().next(), counts.keys().next_back()) else {
        return Vec::new();
    };
    let mut buckets = Vec::new();
    let mut key = *first;
    while key <= *last {
        let (count, earliest) = counts.get(&key).map_or((0, None), |(c, e)| (*c, Some(*e)));
        buckets.push((key, count, earliest));
        key = next(key);
    }
    buckets
}

/// Reads the buckets of `histogram` (with `earliest` under it) from a
/// search over every record.
async fn histogram_buckets(
    store: &Store,
    histogram: aggs::Buckets<DateTime<Utc>>,
    earliest: &DateExtreme,
) -> Vec<(DateTime<Utc>, u64, Option<DateTime<Utc>>)> {
    let histogram = histogram.with(earliest);
    let results = AroundEpoch::search()
        .size(0)
        .aggregate(&histogram)
        .fetch(store)
        .await
        .unwrap();
    results
        .read(&histogram)
        .unwrap()
        .iter()
        .map(|bucket| {
            let first = if bucket.doc_count == 0 {
                None
            } else {
                bucket.read(earliest).unwrap()
            };
            (bucket.key, bucket.doc_count, first)
        })
        .collect()
}

async fn months_in_zone<Tz: TimeZone>(
    store: &Store,
    records: &[AroundEpoch],
    name: &str,
    zone: &Tz,
) {
    let f = AroundEpoch::fields();
    let earliest = DateExtreme::min(&f.timestamp);
    let monthly = aggs::date_histogram(&f.timestamp, Interval::calendar("month")).time_zone(name);
    let got = histogram_buckets(store, monthly, &earliest).await;
    let want = expected_buckets(
        records,
        |t| local_month_start(t, zone),
        |key| local_month_start(key + Duration::days(32), zone),
    );
    assert_eq!(got, want, "months in {name}");
    assert!(
        want.iter().any(|(key, _, _)| key.timestamp_millis() < 0),
        "{name}: keys before 1970 are negative"
    );
    if name != "UTC" {
        assert!(
            records
                .iter()
                .any(|r| local_month_start(r.timestamp, zone)
                    != local_month_start(r.timestamp, &Utc)),
            "{name}: some records are in another month there than in UTC"
        );
    }
}

/// Date histograms by calendar month in time zones, over events from
/// 1969-10 to 1970-03: bucket keys are the instants local months start
/// (negative before 1970), counts those of the local months, computed with
/// chrono (a fixed offset, and America/New_York, which left summer time on
/// 1969-10-26); and by fixed days at a fixed offset.
pub(crate) async fn date_histograms_by_local_month_in_time_zones_across_1970(store: &Store) {
    let records = record_around_epoch(store).await;
    months_in_zone(store, &records, "UTC", &Utc).await;
    let india = FixedOffset::east_opt(5 * 3600 + 30 * 60).unwrap();
    months_in_zone(store, &records, "+05:30", &india).await;
    let pacific = FixedOffset::west_opt(8 * 3600).unwrap();
    months_in_zone(store, &records, "-08:00", &pacific).await;
    months_in_zone(
        store,
        &records,
        "America/New_York",
        &chrono_tz::America::New_York,
    )
    .await;
    // New York's October starts in summer time, November in winter time.
    assert_eq!(
        local_month_start(utc(1969, 10, 15, 0), &chrono_tz::America::New_York),
        utc(1969, 10, 1, 4)
    );
    assert_eq!(
        local_month_start(utc(1969, 11, 15, 0), &chrono_tz::America::New_York),
        utc(1969, 11, 1, 5)
    );

    // Fixed days at +05:30 start at 18:30 UTC.
    let f = AroundEpoch::fields();
    let earliest = DateExtreme::min(&f.timestamp);
    let daily = aggs::date_histogram(&f.timestamp, Interval::fixed("1d")).time_zone("+05:30");
    let got = histogram_buckets(store, daily, &earliest).await;
    let want = expected_buckets(
        &records,
        |t| local_day_start(t, &india),
        |key| key + Duration::days(1),
    );
    assert_eq!(got, want, "days at +05:30");
}

/// A daily histogram with `fill_empty`, over days on both sides of 1970
/// with no events (the gap) and past the data: every day from `from` to
/// `until`, keys at UTC midnights (negative before 1970), counts from the
/// data; by fixed and by calendar days.
pub(crate) async fn daily_histograms_fill_empty_days_across_1970(store: &Store) {
    let records = record_around_epoch(store).await;
    let f = AroundEpoch::fields();
    let earliest = DateExtreme::min(&f.timestamp);
    let (gap_from, gap_until) = gap();
    let spans = [
        ("around the gap", utc(1969, 12, 20, 0), utc(1970, 1, 10, 0)),
        ("past the data", utc(1969, 9, 25, 0), utc(1970, 4, 6, 0)),
    ];
    for (name, from, until) in spans {
        let mut want = Vec::new();
        let mut day = from;
        while day < until {
            let next = day + Duration::days(1);
            let inside: Vec<DateTime<Utc>> = records
                .iter()
                .map(|r| r.timestamp)
                .filter(|t| day <= *t && *t < next)
                .collect();
            want.push((day, inside.len() as u64, inside.iter().min().copied()));
            day = next;
        }
        assert!(
            want.iter()
                .any(|(key, count, _)| *count == 0 && key.timestamp_millis() < 0)
                && want
                    .iter()
                    .any(|(key, count, _)| *count == 0 && key.timestamp_millis() >= 0),
            "{name}: empty days on both sides of the epoch"
        );
        assert!(
            want.iter()
                .any(|(key, _, _)| gap_from <= *key && *key < gap_until)
        );
        for interval in [Interval::fixed("1d"), Interval::calendar("day")] {
            let histogram =
                aggs::date_histogram(&f.timestamp, interval.clone()).fill_empty(from, until);
            let histogram = histogram.with(&earliest);
            let results = AroundEpoch::search()
                .range(from, until)
                .size(0)
                .aggregate(&histogram)
                .fetch(store)
                .await
                .unwrap();
            let got: Vec<(DateTime<Utc>, u64, Option<DateTime<Utc>>)> = results
                .read(&histogram)
                .unwrap()
                .iter()
                .map(|bucket| {
                    let first = if bucket.doc_count == 0 {
                        None
                    } else {
                        bucket.read(&earliest).unwrap()
                    };
                    (bucket.key, bucket.doc_count, first)
                })
                .collect();
            assert_eq!(got, want, "{name}, {interval:?}");
        }
    }
}

/// Every scenario of this file, each as `$run!(date_scenarios::name)`, for a
/// suite's runner macro: `date_scenarios!(run);`.
macro_rules! date_scenarios {
    ($run:ident) => {
        $run!(date_scenarios::every_date_from_year_1_to_9999_is_found_in_its_own_partition);
        $run!(date_scenarios::ranges_include_from_and_exclude_until_before_1970_and_after_2262);
        $run!(
            date_scenarios::ranges_inside_partitions_at_both_ends_find_exactly_the_records_inside
        );
        $run!(date_scenarios::ranges_name_the_partitions_they_touch_in_every_age);
        $run!(date_scenarios::date_fields_filter_sort_and_page_across_the_ages);
        $run!(date_scenarios::min_and_max_of_date_fields_are_the_earliest_and_latest_instants);
        $run!(date_scenarios::date_histograms_by_local_month_in_time_zones_across_1970);
        $run!(date_scenarios::daily_histograms_fill_empty_days_across_1970);
    };
}
pub(crate) use date_scenarios;
