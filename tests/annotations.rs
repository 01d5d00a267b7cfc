//! Annotations on the embedded store: recorded with `Store::annotate`,
//! found again by `annotations::list` in a store opened after the first
//! was closed (stream filter, range, overlap of spans, limit), and the
//! checks that refuse what cannot be stored. The binary's `annotate`,
//! `annotations` and `plot --annotations` are tested beside the binary,
//! in examples/tests/annotations.rs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use esrecord::annotations::{self, Annotation};
use esrecord::config::Config;
use esrecord::{Error, Record, Store, TimeRange};

fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, day, hour, minute, 0).unwrap()
}

fn open(dir: &std::path::Path) -> Store {
    let mut config = Config::embedded(dir);
    config.writer.batch_interval = std::time::Duration::from_millis(20);
    Store::with_config(config).unwrap()
}

fn titles(found: &[Annotation]) -> Vec<&str> {
    found.iter().map(|a| a.title.as_str()).collect()
}

/// Deploys on the 5th, an incident from the 5th to the 6th, a deploy in
/// April (another partition), and one on another stream.
fn record_some(store: &Store) {
    let deploys = [
        (at(5, 10, 0), "shop v2.3.0"),
        (at(5, 16, 30), "shop v2.3.1"),
    ];
    for (start, title) in deploys {
        store
            .annotate(
                Annotation::new("deploys", title)
                    .at(start)
                    .source("ci")
                    .link(format!(
                        "https://ci.example.com/{}",
                        title.replace(' ', "-")
                    )),
            )
            .unwrap();
    }
    store
        .annotate(
            Annotation::new("incidents", "checkout errors")
                .at(at(5, 23, 0))
                .end(at(6, 1, 30))
                .description("payment provider timeouts, see the report")
                .link("https://status.example.com/incidents/42")
                .link("https://github.com/example/shop/pull/7"),
        )
        .unwrap();
    store
        .annotate(
            Annotation::new("deploys", "shop v2.4.0")
                .at(Utc.with_ymd_and_hms(2024, 4, 2, 9, 0, 0).unwrap()),
        )
        .unwrap();
}

#[tokio::test]
async fn annotations_round_trip_through_a_closed_store_with_every_field() {
    let dir = esrecord_tests::fresh_dir("annotations-round-trip");
    let store = open(&dir);
    record_some(&store);
    let stats = store.close().await.unwrap();
    assert_eq!((stats.sent, stats.unsent, stats.failed), (4, 0, 0));
    drop(store);

    let store = open(&dir);
    let spring = TimeRange::new((2024,), (2025,)).unwrap();
    let all = annotations::list(&store, None, spring, 100).await.unwrap();
    assert_eq!(
        titles(&all),
        [
            "shop v2.3.0",
            "shop v2.3.1",
            "checkout errors",
            "shop v2.4.0"
        ],
        "oldest first, across partitions"
    );
    let incident = &all[2];
    assert_eq!(
        incident,
        &Annotation {
            timestamp: at(5, 23, 0),
            stream: "incidents".into(),
            title: "checkout errors".into(),
            description: Some("payment provider timeouts, see the report".into()),
            source: None,
            links: vec![
                "https://status.example.com/incidents/42".into(),
                "https://github.com/example/shop/pull/7".into(),
            ],
            end: Some(at(6, 1, 30)),
        }
    );
    assert_eq!(all[0].source.as_deref(), Some("ci"));
    assert_eq!(all[0].links, ["https://ci.example.com/shop-v2.3.0"]);
    assert_eq!((all[3].source.as_ref(), all[3].links.len()), (None, 0));

    let march = TimeRange::new((2024, 3), (2024, 4)).unwrap();
    let deploys = annotations::list(&store, Some("deploys"), march, 100)
        .await
        .unwrap();
    assert_eq!(titles(&deploys), ["shop v2.3.0", "shop v2.3.1"]);

    // The 6th from midnight: the incident started the day before and
    // lasts into it; the deploys of the 5th do not.
    let sixth = TimeRange::new((2024, 3, 6), (2024, 3, 7)).unwrap();
    let found = annotations::list(&store, None, sixth, 100).await.unwrap();
    assert_eq!(titles(&found), ["checkout errors"]);
    let after = TimeRange::new(at(6, 1, 31), at(6, 12, 0)).unwrap();
    let found = annotations::list(&store, None, after, 100).await.unwrap();
    assert!(found.is_empty(), "ended before the range: {found:?}");
    let before = TimeRange::new(at(5, 0, 0), at(5, 10, 0)).unwrap();
    let found = annotations::list(&store, None, before, 100).await.unwrap();
    assert!(
        found.is_empty(),
        "the range ends before they start: {found:?}"
    );

    let newest_two = annotations::list(&store, None, spring, 2).await.unwrap();
    assert_eq!(titles(&newest_two), ["checkout errors", "shop v2.4.0"]);
    assert!(
        annotations::list(&store, Some("nothing-here"), spring, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // An ordinary record type: its template, and typed searches.
    assert_eq!(
        Annotation::record_type().template_name(),
        "esrecord_annotation"
    );
    let found = Annotation::search()
        .filter(Annotation::fields().description.matches("timeouts"))
        .fetch(&store)
        .await
        .unwrap();
    assert_eq!(found.total, 1);
    store.close().await.unwrap();
}

/// The error's field and message, for a refused annotation.
fn refused(annotation: Annotation) -> (&'static str, String) {
    match annotation.check() {
        Err(error @ Error::InvalidAnnotation { field, .. }) => (field, error.to_string()),
        other => panic!("{annotation:?} was not refused: {other:?}"),
    }
}

#[test]
fn what_cannot_be_stored_is_refused_saying_what_to_give() {
    let start = at(5, 10, 0);
    let cases = [
        (Annotation::new("", "v2"), "stream", "is empty"),
        (
            Annotation::new("release notes", "v2"),
            "stream",
            "ASCII letters, digits",
        ),
        (Annotation::new("x".repeat(129), "v2"), "stream", "128"),
        (Annotation::new("deploys", "  "), "title", "is empty"),
        (
            Annotation::new("deploys", "v2\nand more"),
            "title",
            "description",
        ),
        (
            Annotation::new("deploys", "x".repeat(201)),
            "title",
            "shorten it",
        ),
        (
            Annotation::new("deploys", "v2")
                .at(start)
                .end(start - TimeDelta::minutes(1)),
            "end",
            "before the start",
        ),
        (
            Annotation::new("deploys", "v2").source(" "),
            "source",
            "leave it out",
        ),
        (
            Annotation::new("deploys", "v2").link("ci.example.com/812"),
            "link",
            "https://",
        ),
        (
            Annotation::new("deploys", "v2").link("https://ci.example.com/a b"),
            "link",
            "%20",
        ),
    ];
    for (annotation, field, hint) in cases {
        let (at_fault, message) = refused(annotation);
        assert_eq!(at_fault, field, "{message}");
        assert!(
            message.starts_with("invalid annotation: ") && message.contains(hint),
            "{message}"
        );
    }
    let fine = Annotation::new("shop/deploys:eu-1", "v2")
        .at(start)
        .end(start)
        .source("ci")
        .link("https://ci.example.com/812");
    assert!(fine.check().is_ok());
}

#[tokio::test]
async fn the_store_refuses_what_check_refuses_and_records_nothing() {
    let dir = esrecord_tests::fresh_dir("annotations-refused");
    let store = open(&dir);
    let error = store.annotate(Annotation::new("deploys", "")).unwrap_err();
    assert!(error.to_string().contains("title is empty"), "{error}");
    let error = annotations::list(
        &store,
        Some("no spaces allowed"),
        TimeRange::new((2024,), (2025,)).unwrap(),
        10,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            error,
            Error::InvalidAnnotation {
                field: "stream",
                ..
            }
        ),
        "{error}"
    );
    let stats = store.close().await.unwrap();
    assert_eq!(stats.queued, 0);
}
