//! What the derives give a record at run time: field handles, timestamps,
//! unique ids, numeric leaves and bulk encoding.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeZone, Utc};
use esrecord::bulk::{BulkAction, encode_record};
use esrecord::{Composite, Record, Timedepth};
use esrecord_tests::{DailyReport, Everything, Latency, PageView, Setting};
use serde::{Deserialize, Serialize};

fn page_view() -> PageView {
    PageView {
        timestamp: Utc.with_ymd_and_hms(2024, 3, 5, 7, 8, 9).unwrap(),
        item_id: 42,
        path: "/cart".into(),
        latency: Latency {
            p50_ms: 12.5,
            p99_ms: 80.0,
        },
        tags: BTreeMap::from([("platform".into(), "linux".into())]),
    }
}

#[test]
fn field_handles_have_dotted_paths() {
    let fields = PageView::fields();
    assert_eq!(fields.latency.p99_ms.path(), "latency.p99_ms");
    assert_eq!(fields.item_id.path(), "item_id");
    assert_eq!(fields.tags.key("platform").path(), "tags.platform");
    let _: &esrecord::fields::Field<f64> = &fields.latency.p99_ms;
    let _: &esrecord::fields::Field<u64> = &fields.item_id;
}

#[test]
fn field_handles_follow_serde_names_and_flattening() {
    let fields = Everything::fields();
    assert_eq!(fields.happened_at.path(), "happenedAt");
    assert_eq!(fields.original_name.path(), "renamed_field");
    // A nested composite keeps its own rename_all.
    assert_eq!(fields.client.user_agent.path(), "client.userAgent");
    assert_eq!(fields.client.latency.p50_ms.path(), "client.latency.p50_ms");
    assert_eq!(fields.clients.remote_ip.path(), "clients.remoteIp");
    // A flattened base's fields are at the top level, reached through the
    // field or directly when it is the only flattened one.
    assert_eq!(fields.origin.host.path(), "host");
    assert_eq!(fields.origin.datacenter.path(), "dc");
    assert_eq!(fields.host.path(), "host");
    assert_eq!(fields.counters.key("hits").path(), "counters.hits");
    assert_eq!(fields.custom.path(), "custom");
}

#[test]
fn timestamps_come_from_the_timestamp_field() {
    let view = page_view();
    assert_eq!(view.timestamp(), Some(view.timestamp));
    assert_eq!(
        PageView::record_type().index_of(&view),
        "shop_pageview_2024.03.05"
    );
    assert_eq!(PageView::record_type().timestamp_field(), Some("timestamp"));
    assert_eq!(
        Everything::record_type().timestamp_field(),
        Some("happenedAt")
    );
    let setting = Setting {
        key: "k".into(),
        value: "v".into(),
    };
    assert_eq!(setting.timestamp(), None);
    assert_eq!(Setting::record_type().index_of(&setting), "shop_setting");
}

#[test]
fn record_type_attributes() {
    let t = Everything::record_type();
    assert_eq!(t.rust_path(), "esrecord_tests::Everything");
    assert_eq!(t.name(), "everything");
    assert_eq!(t.app_label(), "lab");
    assert_eq!(t.backend(), "archive");
    assert_eq!(t.timedepth(), Timedepth::Hour);
    let retention = t.retention().unwrap();
    assert_eq!(retention.to_string(), "90d");
    assert_eq!(
        retention,
        esrecord::Retention::new(90, esrecord::RetentionUnit::Days)
    );
    assert_eq!(retention.duration().as_secs(), 90 * 86_400);
    assert_eq!(PageView::record_type().backend(), "default");
    assert_eq!(PageView::record_type().retention(), None);
    assert_eq!(
        DailyReport::record_type().unique_together(),
        ["day", "item_id"]
    );
}

fn report(item_id: u64, day: u32, views: u64) -> DailyReport {
    DailyReport {
        timestamp: Utc.with_ymd_and_hms(2024, 3, day, 23, 0, 0).unwrap(),
        day: NaiveDate::from_ymd_opt(2024, 3, day).unwrap(),
        item_id,
        views,
    }
}

#[test]
fn unique_ids_depend_only_on_the_key_fields() {
    let first = report(42, 5, 10).unique_id().unwrap().unwrap();
    let again = report(42, 5, 999).unique_id().unwrap().unwrap();
    assert_eq!(first, again, "same key, other values: same id");
    assert_ne!(first, report(43, 5, 10).unique_id().unwrap().unwrap());
    assert_ne!(first, report(42, 6, 10).unique_id().unwrap().unwrap());
    assert_eq!(first.len(), 32);
    assert!(
        first
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    // Pinned: ids must not change between versions, or re-recording a report
    // would duplicate it. The value is the documented scheme computed by hand:
    // sha256(b"esrecord-unique-v1\0shop.dailyreport\0day\0\"2024-03-05\"\0item_id\042\0")[:16]
    assert_eq!(first, "b5d286920551730e0426fcccd9bfc7af");
    assert_eq!(page_view().unique_id().unwrap(), None);
}

mod reordered {
    //! The same record type with its fields, and its unique_together list,
    //! in another order.
    use super::*;

    #[allow(dead_code)] // the fields are read only by serde
    #[derive(Record, Serialize, Deserialize, Debug)]
    #[record(
        app_label = "shop",
        name = "dailyreport",
        timedepth = "month",
        unique_together(day, item_id)
    )]
    pub(crate) struct DailyReport {
        pub(crate) views: u64,
        pub(crate) item_id: u64,
        pub(crate) day: NaiveDate,
        pub(crate) timestamp: chrono::DateTime<Utc>,
    }
}

#[test]
fn unique_ids_ignore_field_order() {
    let original = report(42, 5, 10);
    let reordered = reordered::DailyReport {
        views: 1,
        item_id: 42,
        day: original.day,
        timestamp: original.timestamp,
    };
    assert_eq!(
        reordered.unique_id().unwrap(),
        original.unique_id().unwrap()
    );
    let json = serde_json::to_value(&reordered).unwrap();
    assert_eq!(
        (json["views"].as_u64(), json["item_id"].as_u64()),
        (Some(1), Some(42))
    );
}

#[test]
fn numeric_leaves_are_listed_with_dotted_paths() {
    let leaves = page_view().numeric_leaves().unwrap();
    assert_eq!(
        leaves,
        [
            ("item_id".to_owned(), 42.0),
            ("latency.p50_ms".to_owned(), 12.5),
            ("latency.p99_ms".to_owned(), 80.0),
        ]
    );
    let latency = Latency {
        p50_ms: 1.0,
        p99_ms: 2.0,
    };
    assert_eq!(Composite::numeric_leaves(&latency).unwrap().len(), 2);
}

#[test]
fn bulk_pairs_name_the_partition_and_the_action() {
    let mut out = Vec::new();
    encode_record(
        &mut out,
        PageView::record_type(),
        &page_view(),
        Some("0192-abc"),
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[0],
        r#"{"create":{"_index":"shop_pageview_2024.03.05","_id":"0192-abc"}}"#
    );
    let source: PageView = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(source, page_view());

    let report = report(42, 5, 10);
    let id = report.unique_id().unwrap().unwrap();
    let mut out = Vec::new();
    let prod = DailyReport::record_type().with_prefix("prod-");
    assert_eq!(BulkAction::for_type(&prod), BulkAction::Index);
    encode_record(&mut out, &prod, &report, Some(&id)).unwrap();
    let action: serde_json::Value =
        serde_json::from_slice(out.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(action["index"]["_index"], "prod-shop_dailyreport_2024.03");
    assert_eq!(action["index"]["_id"], id.as_str());
}

#[test]
fn bulk_encoding_escapes_an_unvalidated_prefix_and_keeps_the_buffer_on_error() {
    let mut out = b"earlier line\n".to_vec();
    let odd = PageView::record_type().with_prefix("a\"b-");
    encode_record(&mut out, &odd, &page_view(), None).unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    let action: serde_json::Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    assert_eq!(action["create"]["_index"], "a\"b-shop_pageview_2024.03.05");

    #[derive(Record, Serialize, Deserialize)]
    #[record(app_label = "shop")]
    struct Broken {
        timestamp: chrono::DateTime<Utc>,
        #[serde(serialize_with = "fail")]
        #[record(mapping = r#"{"type": "keyword"}"#)]
        value: String,
    }
    fn fail<S: serde::Serializer>(_: &str, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("cannot write this value"))
    }
    let before = out.clone();
    let broken = Broken {
        timestamp: Utc::now(),
        value: "x".into(),
    };
    let error = encode_record(&mut out, Broken::record_type(), &broken, None).unwrap_err();
    assert!(
        error.to_string().contains("cannot write this value"),
        "{error}"
    );
    assert_eq!(out, before, "a failed record leaves the buffer as it was");
}
