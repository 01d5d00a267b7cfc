//! Records as Arrow record batches: the schema of every field type (pinned
//! by a snapshot), batches that hold exactly the records (values, nulls,
//! lists, maps, composites), a search's pages as batches, and columns.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use esrecord::Record;
use esrecord::export::arrow::arrow_array::cast::AsArray;
use esrecord::export::arrow::arrow_array::types::{
    Int32Type, TimestampMillisecondType, UInt8Type, UInt64Type,
};
use esrecord::export::arrow::arrow_array::{Array, RecordBatch};
use esrecord::export::arrow::arrow_schema::{DataType, TimeUnit};
use esrecord::export::arrow::{BatchBuilder, schema, to_record_batch};
use esrecord_tests::{Everything, Latency, PageView, Ticket, everything, fresh_store};

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, day, hour, 0, 0).unwrap()
}

/// A second `Everything` that differs in every way a column can: a value
/// where the first has none, empty lists and maps, no nested latency.
fn everything_else(at: DateTime<Utc>) -> Everything {
    let mut record = everything(at);
    record.maybe = Some(7);
    record.many = Vec::new();
    record.client.latency = Some(Latency {
        p50_ms: 0.5,
        p99_ms: 0.75,
    });
    record.clients = Vec::new();
    record.origin.datacenter = None;
    record.labels = BTreeMap::from([
        ("team".into(), "search".into()),
        ("tier".into(), "1".into()),
    ]);
    record.counters = HashMap::new();
    record.ubyte = 0;
    record.ulong = 0;
    record
}

/// The records as they read back from their batch: an instant is stored
/// as UTC, so a local time comes back at offset zero.
fn as_read_back(mut record: Everything) -> Everything {
    record.local_time = record
        .local_time
        .with_timezone(&chrono::FixedOffset::east_opt(0).unwrap());
    record
}

/// Compares the schema's lines (`name: type`, `?` when nullable) with
/// `snapshots/{name}.txt`; `UPDATE_SNAPSHOTS=1` rewrites the file.
fn assert_schema_snapshot(
    name: &str,
    batch_schema: &esrecord::export::arrow::arrow_schema::Schema,
) {
    let actual: String = batch_schema
        .fields()
        .iter()
        .map(|field| {
            let null = if field.is_nullable() { "?" } else { "" };
            format!("{}{null}: {}\n", field.name(), field.data_type())
        })
        .collect();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("snapshots")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        expected,
        actual,
        "the schema differs from {} (rerun with UPDATE_SNAPSHOTS=1 to accept)",
        path.display()
    );
}

#[test]
fn every_field_type_has_a_stable_schema() {
    let schema = schema(Everything::record_type()).unwrap();
    assert_schema_snapshot("everything_arrow_schema", &schema);

    // The figures the issue names, spelled out.
    let field = |name: &str| schema.field_with_name(name).unwrap().clone();
    assert_eq!(
        field("happenedAt").data_type(),
        &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
    );
    assert!(!field("happenedAt").is_nullable());
    assert_eq!(field("ubyte").data_type(), &DataType::UInt8);
    assert_eq!(field("ratio32").data_type(), &DataType::Float32);
    assert!(matches!(
        field("textField").data_type(),
        DataType::Dictionary(..)
    ));
    assert_eq!(field("message").data_type(), &DataType::Utf8);
    assert!(field("maybe").is_nullable());
    assert!(matches!(field("many").data_type(), DataType::List(_)));
    assert!(matches!(field("labels").data_type(), DataType::Map(..)));
    assert!(matches!(field("latency").data_type(), DataType::Struct(_)));
    // A flattened composite's fields stand at the top level, renamed.
    let keyword = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    assert_eq!(field("dc").data_type(), &keyword);
    assert!(schema.field_with_name("notStored").is_err());
}

/// The strings of a dictionary-encoded column, `None` for nulls.
fn keywords(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let column = batch.column_by_name(name).unwrap();
    let dictionary = column.as_dictionary::<Int32Type>();
    let values = dictionary.values().as_string::<i32>();
    dictionary
        .keys()
        .iter()
        .map(|key| key.map(|key| values.value(key as usize).to_owned()))
        .collect()
}

#[test]
fn a_batch_holds_exactly_the_records() {
    let records = vec![everything(at(5, 7)), everything_else(at(5, 8))];
    let batch = to_record_batch(&records).unwrap();
    assert_eq!(batch.num_rows(), 2);

    // Read back whole through serde: every field of every record.
    let read: Vec<Everything> = serde_arrow::from_record_batch(&batch).unwrap();
    let expected: Vec<Everything> = records.iter().cloned().map(as_read_back).collect();
    assert_eq!(read, expected);

    // And column by column, as a DataFrame library sees them.
    let times = batch.column_by_name("happenedAt").unwrap();
    let times = times.as_primitive::<TimestampMillisecondType>();
    assert_eq!(
        times.values(),
        &[at(5, 7).timestamp_millis(), at(5, 8).timestamp_millis()]
    );
    let local = batch.column_by_name("local_time");
    assert!(local.is_none(), "columns are named as stored: localTime");
    let local = batch.column_by_name("localTime").unwrap();
    assert_eq!(
        local.as_primitive::<TimestampMillisecondType>().value(0),
        records[0].local_time.timestamp_millis()
    );
    assert_eq!(
        batch
            .column_by_name("ubyte")
            .unwrap()
            .as_primitive::<UInt8Type>()
            .values(),
        &[255, 0]
    );
    assert_eq!(
        batch
            .column_by_name("ulong")
            .unwrap()
            .as_primitive::<UInt64Type>()
            .values(),
        &[u64::MAX, 0]
    );
    let maybe = batch.column_by_name("maybe").unwrap();
    assert_eq!((maybe.null_count(), maybe.is_null(0)), (1, true));
    assert_eq!(keywords(&batch, "dc"), [Some("ams".into()), None]);
    assert_eq!(
        keywords(&batch, "textField"),
        [Some("plain".into()), Some("plain".into())]
    );

    let many = batch.column_by_name("many").unwrap().as_list::<i32>();
    assert_eq!((many.value_length(0), many.value_length(1)), (2, 0));
    let labels = batch.column_by_name("labels").unwrap().as_map();
    assert_eq!((labels.value_length(0), labels.value_length(1)), (1, 2));
    let keys = labels.keys().as_string::<i32>();
    assert_eq!(
        keys.iter().flatten().collect::<Vec<_>>(),
        ["team", "team", "tier"]
    );
    let latency = batch.column_by_name("latency").unwrap().as_struct();
    assert_eq!(latency.column_names(), ["p50_ms", "p99_ms"]);
}

#[test]
fn json_sources_make_the_same_batch_whatever_the_order_of_their_fields() {
    let records = vec![everything(at(5, 7)), everything_else(at(5, 8))];
    let from_records = to_record_batch(&records).unwrap();
    let mut builder = BatchBuilder::new(Everything::record_type()).unwrap();
    for record in &records {
        let source = serde_json::to_value(record).unwrap();
        // Fields in reverse order, as a stored source may hold them.
        let reversed: serde_json::Map<String, serde_json::Value> = source
            .as_object()
            .unwrap()
            .clone()
            .into_iter()
            .rev()
            .collect();
        builder.push(&serde_json::Value::Object(reversed)).unwrap();
    }
    let from_sources = builder.finish().unwrap();
    assert_eq!(from_sources, from_records);

    // A field the type does not have (a data stream's `@timestamp`) is
    // left out, as typed reads leave it.
    let mut source = serde_json::to_value(&records[0]).unwrap();
    source["@timestamp"] = serde_json::json!("2024-03-05T07:00:00Z");
    builder.push(&source).unwrap();
    assert_eq!(
        builder.finish().unwrap(),
        to_record_batch(&records[..1]).unwrap()
    );

    // A source without an optional field has a null there; one that lacks
    // a required field is refused with the field named.
    let mut source = serde_json::to_value(&records[0]).unwrap();
    source.as_object_mut().unwrap().remove("maybe");
    builder.push(&source).unwrap();
    let batch = builder.finish().unwrap();
    assert!(batch.column_by_name("maybe").unwrap().is_null(0));
    source.as_object_mut().unwrap().remove("ulong");
    let error = builder.push(&source).unwrap_err().to_string();
    assert!(error.contains("ulong"), "{error}");
}

/// A record with a field whose layout its type does not tell.
#[derive(Record, serde::Serialize, serde::Deserialize)]
#[record(app_label = "lab")]
struct Opaque {
    timestamp: DateTime<Utc>,
    #[record(mapping = r#"{"type": "object", "enabled": false}"#)]
    payload: serde_json::Value,
}

#[test]
fn a_text_field_is_plain_utf8_and_an_opaque_field_is_refused_by_name() {
    let schema = schema(Ticket::record_type()).unwrap();
    assert_eq!(
        schema.field_with_name("subject").unwrap().data_type(),
        &DataType::Utf8
    );
    assert_eq!(
        schema.field_with_name("priority").unwrap().data_type(),
        &DataType::UInt8
    );

    let error = esrecord::export::arrow::schema(Opaque::record_type())
        .unwrap_err()
        .to_string();
    assert!(error.contains("`payload`"), "{error}");
    assert!(error.contains("FieldType::shape"), "{error}");
}

#[tokio::test]
async fn a_search_gives_one_batch_per_page_holding_every_record_once() {
    let store = fresh_store("arrow-search").unwrap();
    let views: Vec<PageView> = (0..250)
        .map(|i| {
            let mut view = view(at(5, 0) + Duration::minutes(i * 7), i as u64);
            if i % 3 == 0 {
                view.tags.insert("platform".into(), "linux".into());
            }
            view
        })
        .collect();
    for view in &views {
        store.record(view.clone()).unwrap();
    }
    store.flush().await.unwrap();

    let mut batches = PageView::search()
        .range((2024, 3, 5), (2024, 3, 7))
        .size(100)
        .to_record_batches(&store)
        .await
        .unwrap();
    let expected_schema = schema(PageView::record_type()).unwrap();
    assert_eq!(*batches.schema(), expected_schema);
    let mut sizes = Vec::new();
    let mut read: Vec<PageView> = Vec::new();
    while let Some(batch) = batches.next_batch().await.unwrap() {
        assert_eq!(*batch.schema(), expected_schema);
        sizes.push(batch.num_rows());
        read.extend(serde_arrow::from_record_batch::<Vec<PageView>>(&batch).unwrap());
    }
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(read, views);

    // An empty range: no batch at all.
    let none = PageView::search()
        .range((2023,), (2024,))
        .to_record_batches(&store)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert!(none.is_empty());
    store.close().await.unwrap();
}

fn view(timestamp: DateTime<Utc>, item_id: u64) -> PageView {
    PageView {
        timestamp,
        item_id,
        path: format!("/item/{}", item_id % 5),
        latency: Latency {
            p50_ms: item_id as f64,
            p99_ms: item_id as f64 * 2.0,
        },
        tags: BTreeMap::new(),
    }
}

#[tokio::test]
async fn columns_are_a_batch_with_a_timestamp_column_and_nulls() {
    let store = fresh_store("arrow-columns").unwrap();
    store.record(everything(at(6, 0))).unwrap();
    store.record(everything_else(at(6, 1))).unwrap();
    store.flush().await.unwrap();
    let fields = Everything::fields();
    let columns = Everything::search()
        .range((2024, 3, 6), (2024, 3, 7))
        .columns(&[&fields.maybe, &fields.ulong], &store)
        .await
        .unwrap();
    let batch = columns.to_record_batch().unwrap();
    assert_eq!(batch.num_rows(), 2);
    let names: Vec<&str> = batch
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, ["timestamp", "maybe", "ulong"]);
    let maybe = batch.column(1).as_primitive::<UInt64Type>();
    assert_eq!(maybe.iter().collect::<Vec<_>>(), [None, Some(7)]);
    let ulong = batch.column(2).as_primitive::<UInt64Type>();
    assert_eq!(ulong.iter().collect::<Vec<_>>(), [Some(u64::MAX), Some(0)]);
    let times = batch.column(0).as_primitive::<TimestampMillisecondType>();
    assert_eq!(
        times.values(),
        &[at(6, 0).timestamp_millis(), at(6, 1).timestamp_millis()]
    );
    store.close().await.unwrap();
}
