//! The naming and partitioning rules: index names per timedepth, prefixes,
//! time zones, and the patterns that cover a time range.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use esrecord::{Error, Record, Timedepth};
use esrecord_tests::{LegacyView, PageView, Setting};

fn at(rfc3339: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap()
}

#[test]
fn index_names_per_timedepth() {
    let t = PageView::record_type();
    let ts = at("2024-03-05T07:08:09Z");
    assert_eq!(t.timedepth(), Timedepth::Day);
    assert_eq!(t.index_for(&ts), "shop_pageview_2024.03.05");
    assert_eq!(
        t.with_timedepth(Timedepth::Month).index_for(&ts),
        "shop_pageview_2024.03"
    );
    assert_eq!(
        t.with_timedepth(Timedepth::Year).index_for(&ts),
        "shop_pageview_2024"
    );
    assert_eq!(
        t.with_timedepth(Timedepth::Hour).index_for(&ts),
        "shop_pageview_2024.03.05.07"
    );
}

#[test]
fn aware_timestamps_are_converted_to_utc() {
    let t = PageView::record_type();
    assert_eq!(
        t.index_for(&at("2024-03-05T23:30:00-05:00")),
        "shop_pageview_2024.03.06"
    );
    assert_eq!(
        t.index_for(&at("2024-03-06T00:30:00+01:00")),
        "shop_pageview_2024.03.05"
    );
}

#[test]
fn prefix_applies_to_every_name() {
    let prod = PageView::record_type().with_prefix("prod-");
    assert_eq!(
        prod.index_for(&at("2024-03-05T07:08:09Z")),
        "prod-shop_pageview_2024.03.05"
    );
    assert_eq!(prod.template_name(), "prod-shop_pageview");
    assert_eq!(prod.pattern(), "prod-shop_pageview_*");
    assert!(prod.validate().is_ok());
    assert!(
        PageView::record_type()
            .with_prefix("Prod-")
            .validate()
            .is_err()
    );
}

#[test]
fn early_years_are_zero_padded() {
    let year = PageView::record_type().with_timedepth(Timedepth::Year);
    assert_eq!(
        year.index_for(&at("0200-06-01T00:00:00Z")),
        "shop_pageview_0200"
    );
}

#[test]
fn store_default_timedepth_applies_only_without_attribute() {
    let ts = at("2024-03-05T07:08:09Z");
    let page_view = PageView::record_type().with_default_timedepth(Timedepth::Month);
    assert_eq!(page_view.index_for(&ts), "shop_pageview_2024.03");
    let legacy = LegacyView::record_type().with_default_timedepth(Timedepth::Hour);
    assert_eq!(legacy.index_for(&ts), "shop_pviews_2024");
}

#[test]
fn custom_template_name_and_pattern() {
    let t = LegacyView::record_type();
    assert_eq!(t.template_name(), "shop_pviews");
    assert_eq!(t.pattern(), "shop_pviews_*");
    assert_eq!(t.with_prefix("qa-").pattern(), "qa-shop_pviews_*");
    assert!(t.validate().is_ok());
}

#[test]
fn simple_types_have_one_index() {
    let t = Setting::record_type();
    assert!(t.is_simple());
    assert_eq!(t.template_name(), "shop_setting");
    assert_eq!(t.pattern(), "shop_setting");
    assert_eq!(t.index_for(&at("2024-03-05T07:08:09Z")), "shop_setting");
    assert_eq!(
        t.patterns_for_range((2024,), (2025,)).unwrap(),
        ["shop_setting"]
    );
    assert!(t.validate().is_ok());
}

#[test]
fn day_ranges() {
    let t = PageView::record_type();
    assert_eq!(
        t.patterns_for_range((2024, 3, 30), (2024, 4, 2)).unwrap(),
        [
            "shop_pageview_2024.03.30",
            "shop_pageview_2024.03.31",
            "shop_pageview_2024.04.01"
        ]
    );
    assert_eq!(
        t.patterns_for_range((2024,), (2025,)).unwrap(),
        ["shop_pageview_2024.*"]
    );
    assert_eq!(
        t.patterns_for_range((2024, 1), (2024, 4, 2)).unwrap(),
        [
            "shop_pageview_2024.01.*",
            "shop_pageview_2024.02.*",
            "shop_pageview_2024.03.*",
            "shop_pageview_2024.04.01"
        ]
    );
}

#[test]
fn month_range_over_years() {
    let t = PageView::record_type().with_timedepth(Timedepth::Month);
    let patterns = t.patterns_for_range((1999,), (2002, 6)).unwrap();
    let suffixes: Vec<&str> = patterns
        .iter()
        .map(|p| p.strip_prefix("shop_pageview").unwrap())
        .collect();
    assert_eq!(
        suffixes,
        [
            "_1999.*", "_2000.*", "_2001.*", "_2002.01", "_2002.02", "_2002.03", "_2002.04",
            "_2002.05"
        ]
    );
}

#[test]
fn partial_partitions_at_both_ends_are_included() {
    let t = PageView::record_type();
    let from = Utc.with_ymd_and_hms(2024, 3, 30, 22, 0, 0).unwrap();
    let until = Utc.with_ymd_and_hms(2024, 4, 1, 0, 0, 1).unwrap();
    assert_eq!(
        t.patterns_for_range(from, until).unwrap(),
        [
            "shop_pageview_2024.03.30",
            "shop_pageview_2024.03.31",
            "shop_pageview_2024.04.01"
        ]
    );
    // An until on a partition boundary excludes that partition.
    let until = Utc.with_ymd_and_hms(2024, 4, 1, 0, 0, 0).unwrap();
    assert_eq!(
        t.patterns_for_range(from, until).unwrap(),
        ["shop_pageview_2024.03.30", "shop_pageview_2024.03.31"]
    );
}

#[test]
fn hour_ranges_use_coarser_wildcards() {
    let t = PageView::record_type().with_timedepth(Timedepth::Hour);
    assert_eq!(
        t.patterns_for_range((2024, 3, 4, 22), (2024, 3, 6, 1))
            .unwrap(),
        [
            "shop_pageview_2024.03.04.22",
            "shop_pageview_2024.03.04.23",
            "shop_pageview_2024.03.05.*",
            "shop_pageview_2024.03.06.00"
        ]
    );
}

#[test]
fn bounds_of_every_kind() {
    let t = PageView::record_type();
    let march = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
    let april = NaiveDate::from_ymd_opt(2024, 4, 1).unwrap();
    assert_eq!(
        t.patterns_for_range(march, april).unwrap(),
        ["shop_pageview_2024.03.*"]
    );
    let from = at("2024-03-01T00:00:00+00:00");
    let until = at("2024-03-31T20:00:00-04:00"); // 2024-04-01T00:00Z
    assert_eq!(
        t.patterns_for_range(from, until).unwrap(),
        ["shop_pageview_2024.03.*"]
    );
    assert_eq!(
        t.patterns_for_range(march.and_hms_opt(0, 0, 0).unwrap(), (2024, 4))
            .unwrap(),
        ["shop_pageview_2024.03.*"]
    );
}

#[test]
fn empty_or_reversed_ranges_are_errors() {
    let t = PageView::record_type();
    for (from, until) in [((2024, 3), (2024, 3)), ((2024, 4), (2024, 3))] {
        let error = t.patterns_for_range(from, until).unwrap_err();
        assert!(matches!(error, Error::EmptyRange { .. }), "{error}");
        assert!(error.to_string().contains("earlier bound first"), "{error}");
    }
}

#[test]
fn invalid_bounds_are_errors() {
    let t = PageView::record_type();
    let error = t.patterns_for_range((2024, 13), (2025,)).unwrap_err();
    assert!(matches!(error, Error::InvalidTimeBound { .. }), "{error}");
    assert!(error.to_string().contains("(2024, 13,)"), "{error}");
    assert!(t.patterns_for_range((2024, 2, 30), (2025,)).is_err());
    assert!(t.patterns_for_range((2024, 2, 1, 24), (2025,)).is_err());
}

#[test]
fn long_ranges_fall_back_to_the_full_pattern() {
    let t = PageView::record_type();
    // 40 single days, with no whole month inside: more than the default 32.
    let patterns = t.patterns_for_range((2024, 1, 5), (2024, 2, 14)).unwrap();
    assert_eq!(patterns, ["shop_pageview_*"]);
    // Exactly at the limit (Jan 2..=31 and Feb 1, 2: 32 days) is still pruned;
    // one more day is not.
    let patterns = t.patterns_for_range((2024, 1, 2), (2024, 2, 3)).unwrap();
    assert_eq!(patterns.len(), 32);
    assert_eq!(patterns[31], "shop_pageview_2024.02.02");
    assert_eq!(
        t.patterns_for_range((2024, 1, 2), (2024, 2, 4)).unwrap(),
        ["shop_pageview_*"]
    );
    // The limit is configurable.
    let narrow = t.with_pattern_limit(3);
    assert_eq!(
        narrow
            .patterns_for_range((2024, 3, 1), (2024, 3, 4))
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        narrow
            .patterns_for_range((2024, 3, 2), (2024, 3, 6))
            .unwrap(),
        ["shop_pageview_*"]
    );
}
