//! Mappings and index template bodies, pinned by a snapshot, and the
//! normalized comparison that `check` relies on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use esrecord::Record;
use esrecord::template::{TemplateDiff, schema_hash};
use esrecord_tests::{Everything, PageView, Setting, as_stored_by_elasticsearch};
use serde_json::{Value, json};

/// Compares `actual` with the JSON file `snapshots/{name}.json`; with
/// `UPDATE_SNAPSHOTS=1` rewrites the file instead (review the diff!).
fn assert_snapshot(name: &str, actual: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("snapshots")
        .join(format!("{name}.json"));
    let pretty = serde_json::to_string_pretty(actual).unwrap() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, pretty).unwrap();
        return;
    }
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(
        expected == *actual,
        "{name} differs from {}:\n{}\n(rerun with UPDATE_SNAPSHOTS=1 to accept)",
        path.display(),
        TemplateDiff::between(&expected, actual)
    );
}

#[test]
fn every_field_type_maps_as_documented() {
    assert_snapshot(
        "everything_template",
        &Everything::record_type().template_body(),
    );
}

#[test]
fn page_view_template() {
    let body = PageView::record_type().template_body();
    assert_eq!(body["index_patterns"], json!(["shop_pageview_*"]));
    assert_eq!(
        body["template"]["settings"],
        json!({"number_of_shards": 2, "refresh_interval": "5s"})
    );
    let mappings = &body["template"]["mappings"];
    assert_eq!(mappings["dynamic"], "strict");
    assert_eq!(mappings["properties"]["timestamp"], json!({"type": "date"}));
    assert_eq!(
        mappings["properties"]["item_id"],
        json!({"type": "unsigned_long"})
    );
    assert_eq!(mappings["properties"]["path"], json!({"type": "keyword"}));
    assert_eq!(
        mappings["properties"]["latency"],
        json!({"properties": {"p50_ms": {"type": "double"}, "p99_ms": {"type": "double"}}})
    );
    assert_eq!(mappings["properties"]["tags"], json!({"type": "flattened"}));
    assert!(mappings.get("dynamic_templates").is_none());
    assert_eq!(body["_meta"]["rust_type"], "esrecord_tests::PageView");
    assert_eq!(body["_meta"]["schema_hash"], schema_hash(&body));
}

#[test]
fn prefixed_template_has_prefixed_pattern_and_same_schema_hash() {
    let plain = PageView::record_type().template_body();
    let prod = PageView::record_type().with_prefix("prod-").template_body();
    assert_eq!(prod["index_patterns"], json!(["prod-shop_pageview_*"]));
    assert_eq!(prod["template"], plain["template"]);
    assert_ne!(prod["_meta"]["schema_hash"], plain["_meta"]["schema_hash"]);
}

#[test]
fn simple_type_template_matches_its_one_index() {
    let body = Setting::record_type().template_body();
    assert_eq!(body["index_patterns"], json!(["shop_setting"]));
}

#[test]
fn a_stored_template_is_in_sync_until_it_drifts() {
    let expected = PageView::record_type().template_body();
    let mut stored = as_stored_by_elasticsearch(&expected);
    let diff = TemplateDiff::between(&expected, &stored);
    assert!(diff.is_in_sync(), "{diff}");
    assert_eq!(diff.to_string(), "in sync");

    stored["template"]["mappings"]["properties"]["path"] = json!({"type": "text"});
    stored["template"]["mappings"]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("item_id");
    stored["template"]["settings"]["index"]["number_of_shards"] = json!("1");
    let diff = TemplateDiff::between(&expected, &stored);
    assert_eq!(
        diff.to_string(),
        [
            "+ mappings.properties.item_id.type: \"unsigned_long\" (defined by the record type, not stored)",
            "~ mappings.properties.path.type: stored \"text\", record type defines \"keyword\"",
            "~ settings.number_of_shards: stored \"1\", record type defines \"2\"",
        ]
        .join("\n")
    );
}

#[test]
fn numeric_maps_get_dynamic_templates() {
    let body = Everything::record_type().template_body();
    let mappings = &body["template"]["mappings"];
    assert_eq!(
        mappings["properties"]["counters"],
        json!({"type": "object", "dynamic": true})
    );
    let templates = mappings["dynamic_templates"].as_array().unwrap();
    assert!(templates.contains(&json!({"counters_values": {"path_match": "counters.*", "mapping": {"type": "unsigned_long"}}})));
    assert!(templates.contains(
        &json!({"gauges_values": {"path_match": "gauges.*", "mapping": {"type": "double"}}})
    ));
}

/// Composites nested one in another, `Level0` the deepest.
macro_rules! nested_composites {
    ($leaf:ident $(, $outer:ident($inner:ident))*) => {
        #[derive(esrecord::Composite, serde::Serialize, serde::Deserialize)]
        struct $leaf {
            value: u64,
        }
        $(
            #[derive(esrecord::Composite, serde::Serialize, serde::Deserialize)]
            struct $outer {
                inner: $inner,
            }
        )*
    };
}

nested_composites!(
    Level0,
    Level1(Level0),
    Level2(Level1),
    Level3(Level2),
    Level4(Level3),
    Level5(Level4),
    Level6(Level5),
    Level7(Level6),
    Level8(Level7),
    Level9(Level8),
    Level10(Level9),
    Level11(Level10),
    Level12(Level11),
    Level13(Level12),
    Level14(Level13),
    Level15(Level14),
    Level16(Level15),
    Level17(Level16),
    Level18(Level17),
    Level19(Level18)
);

/// Objects 20 deep below the root (`a.inner...inner.value`): Elasticsearch's
/// depth limit counts the root too, so this is 21 levels.
#[derive(Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "lab")]
struct TooDeep {
    timestamp: chrono::DateTime<chrono::Utc>,
    a: Level19,
}

/// One level less: at the limit.
#[derive(Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "lab")]
struct DeepEnough {
    timestamp: chrono::DateTime<chrono::Utc>,
    a: Level18,
}

#[test]
fn mappings_deeper_than_elasticsearch_allows_are_refused() {
    DeepEnough::record_type().validate().unwrap();
    let err = TooDeep::record_type().validate().unwrap_err().to_string();
    assert!(
        err.contains("TooDeep: the mapping nests objects 21 levels deep"),
        "{err}"
    );
    assert!(err.contains("#[serde(flatten)]"), "{err}");
}
