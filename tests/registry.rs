//! The process-wide registry: every type linked in, lookup, and collisions
//! reported with both Rust types named.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use esrecord::{Error, Record, registry};
use serde::{Deserialize, Serialize};

// Types declared in another crate (the fixtures library) register too.
use esrecord_tests::{DailyReport, Everything, LegacyView, PageView, Setting};

/// Would write into `shop_pageview_*`, the indexes of `PageView`.
#[derive(Record, Serialize, Deserialize)]
#[record(app_label = "shop", name = "pageview")]
struct PageViewTwin {
    timestamp: DateTime<Utc>,
}

/// Its pattern `shop_page_*` claims `shop_page_view_*` indexes below.
#[derive(Record, Serialize, Deserialize)]
#[record(app_label = "shop")]
struct Page {
    timestamp: DateTime<Utc>,
}

#[derive(Record, Serialize, Deserialize)]
#[record(app_label = "shop_page")]
struct View {
    timestamp: DateTime<Utc>,
}

#[test]
fn every_linked_type_is_registered() {
    let names: Vec<String> = registry::types()
        .iter()
        .map(|t| t.template_name())
        .collect();
    for expected in [
        "lab_everything",
        "shop_dailyreport",
        "shop_page",
        "shop_page_view",
        "shop_pageview",
        "shop_pviews",
        "shop_setting",
    ] {
        assert!(
            names.contains(&expected.to_owned()),
            "{expected} missing from {names:?}"
        );
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "types() is sorted by template name");
    // Keep the fixture types referenced, so the linker keeps their crate.
    let _ = (
        Everything::record_type(),
        LegacyView::record_type(),
        Setting::record_type(),
        DailyReport::record_type(),
    );
}

#[test]
fn lookup_by_template_name_app_and_type_or_type_name() {
    assert_eq!(
        registry::find("shop_setting").unwrap().rust_path(),
        "esrecord_tests::Setting"
    );
    assert_eq!(
        registry::find("lab.everything").unwrap().rust_path(),
        "esrecord_tests::Everything"
    );
    assert_eq!(
        registry::find("dailyreport").unwrap().rust_path(),
        "esrecord_tests::DailyReport"
    );
    // `pageview` is the type name of two types: ambiguous without the app.
    let error = registry::find("pageview").unwrap_err();
    assert!(matches!(error, Error::UnknownType { .. }));
    assert!(
        error.to_string().contains("shop_setting"),
        "lists the known types: {error}"
    );
}

#[test]
fn collisions_name_both_rust_types() {
    let error = registry::check_collisions(registry::types()).unwrap_err();
    let Error::Collision(collisions) = &error else {
        panic!("expected a collision error, got {error}");
    };
    let pairs: Vec<(&str, &str)> = collisions.0.iter().map(|c| (c.first, c.second)).collect();
    assert!(
        pairs.contains(&("esrecord_tests::PageView", "registry::PageViewTwin")),
        "{error}"
    );
    assert!(
        pairs.contains(&("registry::Page", "registry::View")),
        "{error}"
    );
    assert_eq!(collisions.0.len(), 2, "{error}");
    let text = error.to_string();
    assert!(
        text.contains("the template name \"shop_pageview\""),
        "{text}"
    );
    assert!(
        text.contains("\"shop_page_*\" and \"shop_page_view_*\" overlap"),
        "{text}"
    );
    assert!(
        text.contains("give one of each pair another `name`"),
        "{text}"
    );
}

#[test]
fn types_without_collisions_pass() {
    let distinct = [
        PageView::record_type(),
        Setting::record_type(),
        Page::record_type(),
    ];
    assert!(registry::check_collisions(distinct).is_ok());
    // The same type under two prefixes (two backends) does not collide.
    let prod = PageView::record_type().with_prefix("prod-");
    assert!(registry::check_collisions([PageView::record_type(), &prod]).is_ok());
}

#[test]
fn every_registered_name_is_valid() {
    for t in registry::types() {
        t.validate().unwrap();
        let _ = (PageViewTwin::record_type(), View::record_type());
    }
}
