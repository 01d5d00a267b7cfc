//! The operator binary of the example application (`bin/records.rs`,
//! `esrecord::main!(esrecord_examples)`), run as a user runs it, against a
//! fresh embedded store in a directory of its own for each test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

mod workspace;

use workspace::{Workspace, texts};

/// `n` page views over three days of March 2024, hour `i % 24`, odd ones
/// on linux.
fn page_views(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({
                "timestamp": format!("2024-03-{:02}T{:02}:{:02}:00Z", 1 + i % 3, i % 24, i % 60),
                "item_id": i,
                "path": format!("/items/{}", i % 5),
                "latency": {"p50_ms": i as f64, "p99_ms": (2 * i) as f64},
                "tags": {"platform": if i % 2 == 1 { "linux" } else { "mac" }},
            })
        })
        .collect()
}

fn lines(values: &[Value]) -> Vec<String> {
    values.iter().map(Value::to_string).collect()
}

/// A workspace whose store holds `page_views(n)`.
fn with_page_views(name: &str, n: usize) -> Workspace {
    let ws = Workspace::new(name);
    let file = ws.write("views.ndjson", &lines(&page_views(n)));
    let (_, stderr) = ws.expect(0, &["import", "shop.pageview", file.to_str().unwrap()]);
    assert!(
        stderr.contains(&format!("imported {n} records")),
        "{stderr}"
    );
    ws
}

/// The NDJSON lines of `text`, parsed, sorted for comparing sets of records.
fn records_of(text: &str) -> Vec<Value> {
    let mut records: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    records.sort_by_key(Value::to_string);
    records
}

#[test]
fn types_lists_every_linked_type_as_a_table_and_as_json() {
    let ws = Workspace::new("types");
    let (table, _) = ws.expect(0, &["types"]);
    let header = table.lines().next().unwrap();
    for column in [
        "type",
        "rust path",
        "template",
        "pattern",
        "timedepth",
        "backend",
        "retention",
        "fields",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let row = table.lines().find(|l| l.contains("shop.pageview")).unwrap();
    let cells: Vec<&str> = row
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        cells,
        [
            "shop.pageview",
            "esrecord_examples::PageView",
            "shop_pageview",
            "shop_pageview_*",
            "day",
            "default",
            "90d",
            "6"
        ]
    );
    let (json, _) = ws.expect(0, &["types", "--json"]);
    let types: Vec<Value> = serde_json::from_str(&json).unwrap();
    let sales = types
        .iter()
        .find(|t| t["type"] == "shop.dailysales")
        .unwrap();
    assert_eq!(
        (&sales["template"], &sales["timedepth"], &sales["retention"]),
        (&json!("shop_dailysales"), &json!("month"), &Value::Null)
    );
    let view = types.iter().find(|t| t["type"] == "shop.pageview").unwrap();
    let paths: Vec<&str> = view["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "item_id",
            "latency.p50_ms",
            "latency.p99_ms",
            "path",
            "tags.*",
            "timestamp"
        ]
    );
}

#[test]
fn setup_then_check_is_in_sync_and_a_drifted_template_fails_check_with_its_diff() {
    let ws = Workspace::new("setup");
    let (stdout, _) = ws.expect(1, &["check"]);
    assert!(
        stdout.contains("shop_pageview: missing; run setup"),
        "{stdout}"
    );
    let (stdout, _) = ws.expect(0, &["setup", "--dry-run"]);
    assert!(
        stdout.contains("shop_pageview: would be created"),
        "{stdout}"
    );
    ws.expect(1, &["check"]);
    let (stdout, _) = ws.expect(0, &["setup"]);
    assert_eq!(
        stdout.trim(),
        "esrecord_alert: created\nesrecord_annotation: created\nesrecord_metric: created\nshop_dailysales: created\nshop_pageview: created"
    );
    let (stdout, _) = ws.expect(0, &["check"]);
    assert_eq!(
        stdout.trim(),
        "esrecord_alert: in sync\nesrecord_annotation: in sync\nesrecord_metric: in sync\nshop_dailysales: in sync\nshop_pageview: in sync"
    );
    let (stdout, _) = ws.expect(0, &["setup", "--type", "shop.pageview"]);
    assert_eq!(stdout.trim(), "shop_pageview: unchanged");

    // Someone changes the template by hand.
    {
        let store =
            esrecord::Store::with_config(esrecord::config::Config::embedded(ws.path("data")))
                .unwrap();
        let mut body =
            <esrecord_examples::PageView as esrecord::Record>::record_type().template_body();
        body["template"]["settings"]["number_of_shards"] = json!(3);
        body["template"]["mappings"]["properties"]["path"] = json!({"type": "text"});
        let backend = store.backend("default").unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime
            .block_on(backend.put_template("shop_pageview", &body))
            .unwrap();
        runtime.block_on(store.close()).unwrap();
    }
    let (stdout, stderr) = ws.expect(1, &["check"]);
    assert!(stdout.contains("shop_dailysales: in sync"), "{stdout}");
    assert!(
        stdout.contains("shop_pageview: drifted; run setup to replace it"),
        "{stdout}"
    );
    let diff: Vec<&str> = stdout.lines().filter(|l| l.starts_with("  ")).collect();
    assert!(
        diff.iter()
            .any(|l| l.contains("number_of_shards") && l.contains('3') && l.contains('1')),
        "{diff:?}"
    );
    assert!(
        diff.iter().any(|l| l.contains("properties.path.type")
            && l.contains("keyword")
            && l.contains("text")),
        "{diff:?}"
    );
    assert!(stderr.contains("run setup"), "{stderr}");
    let (stdout, _) = ws.expect(0, &["setup", "--dry-run"]);
    assert!(
        stdout.contains("shop_pageview: would be updated"),
        "{stdout}"
    );
    let (stdout, _) = ws.expect(0, &["setup"]);
    assert!(stdout.contains("shop_pageview: updated\n  "), "{stdout}");
    ws.expect(0, &["check"]);
}

#[test]
fn import_records_good_lines_and_writes_bad_ones_with_their_reasons() {
    let ws = Workspace::new("import");
    let mut input = lines(&page_views(10));
    input.insert(3, r#"{"timestamp": "2024-03-01T00:00:00Z", "item_id": -1, "path": "/", "latency": {"p50_ms": 1, "p99_ms": 2}, "tags": {}}"#.to_owned());
    input.insert(5, "this is not json".to_owned());
    input.insert(6, String::new());
    input.push(r#"{"timestamp": "2024-03-01T00:00:00Z", "item_id": 1, "path": "/", "latency": {"p50_ms": 1, "p99_ms": 2}, "tags": {}, "colour": "red"}"#.to_owned());
    input.push(r#"{"timestamp": "2024-03-01T00:00:00Z", "item_id": 1, "path": "/"}"#.to_owned());
    let file = ws.write("mixed.ndjson", &input);
    let (_, stderr) = ws.expect(1, &["import", "pageview", file.to_str().unwrap()]);
    assert!(
        stderr.contains("imported 10 records of shop_pageview; rejected 4"),
        "{stderr}"
    );
    let rejected = std::fs::read_to_string(ws.path("mixed.ndjson.rejected.ndjson")).unwrap();
    let rejected: Vec<Value> = rejected
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let numbers: Vec<u64> = rejected
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [4, 6, 14, 15]);
    assert_eq!(rejected[1]["source"], "this is not json");
    let reasons: Vec<&str> = rejected
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons[0].contains("-1") && reasons[0].contains("PageView"),
        "{}",
        reasons[0]
    );
    assert!(reasons[2].contains("no field `colour`"), "{}", reasons[2]);
    assert!(reasons[3].contains("missing field"), "{}", reasons[3]);
    let (stdout, _) = ws.expect(0, &["export", "shop.pageview"]);
    assert_eq!(
        records_of(&stdout),
        records_of(&lines(&page_views(10)).join("\n"))
    );

    let (_, stderr) = ws.expect(2, &["import", "pageview", "no-such-file.ndjson"]);
    assert!(
        stderr.contains("cannot open no-such-file.ndjson"),
        "{stderr}"
    );
}

#[test]
fn export_then_import_into_another_store_gives_the_same_records() {
    let ws = with_page_views("roundtrip", 1_500);
    let (exported, stderr) = ws.expect(0, &["export", "shop.pageview"]);
    assert!(stderr.contains("exported 1500 records"), "{stderr}");
    // Oldest first.
    let times: Vec<String> = exported
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["timestamp"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(
        records_of(&exported),
        records_of(&lines(&page_views(1_500)).join("\n"))
    );

    let other = Workspace::new("roundtrip-other");
    let file = other.write(
        "exported.ndjson",
        &exported.lines().map(str::to_owned).collect::<Vec<_>>(),
    );
    other.expect(0, &["import", "shop.pageview", file.to_str().unwrap()]);
    let (again, _) = other.expect(0, &["export", "shop.pageview"]);
    assert_eq!(records_of(&again), records_of(&exported));

    let (day, stderr) = ws.expect(
        0,
        &[
            "export",
            "pageview",
            "--from",
            "2024-03-02",
            "--until",
            "2024-03-03",
            "--where",
            "tags.platform=linux",
        ],
    );
    let expected: Vec<Value> = page_views(1_500)
        .into_iter()
        .filter(|v| {
            v["timestamp"].as_str().unwrap().starts_with("2024-03-02")
                && v["tags"]["platform"] == "linux"
        })
        .collect();
    assert!(
        stderr.contains(&format!("exported {} records", expected.len())),
        "{stderr}"
    );
    assert_eq!(records_of(&day), records_of(&lines(&expected).join("\n")));
}

#[test]
fn a_csv_export_has_a_header_of_field_names_and_imports_back_with_bad_rows_rejected() {
    let ws = with_page_views("csv", 200);
    let (csv, stderr) = ws.expect(0, &["export", "shop.pageview", "--format", "csv"]);
    assert!(stderr.contains("exported 200 records"), "{stderr}");
    let mut rows = csv.lines();
    assert_eq!(
        rows.next(),
        Some("timestamp,item_id,latency.p50_ms,latency.p99_ms,path,tags")
    );
    assert_eq!(
        rows.next(),
        Some(r#"2024-03-01T00:00:00Z,0,0.0,0.0,/items/0,"{""platform"":""mac""}""#)
    );
    assert_eq!(rows.count(), 199);

    let other = Workspace::new("csv-other");
    let mut input: Vec<String> = csv.lines().map(str::to_owned).collect();
    input.insert(2, "2024-03-01T00:00:00Z,-1,1.0,2.0,/,{}".to_owned());
    input.insert(3, "2024-03-01T00:00:00Z,1,fast,2.0,/,{}".to_owned());
    let file = other.write("views.csv", &input);
    let (_, stderr) = other.expect(
        1,
        &[
            "import",
            "shop.pageview",
            file.to_str().unwrap(),
            "--format",
            "csv",
        ],
    );
    assert!(
        stderr.contains("imported 200 records of shop_pageview; rejected 2"),
        "{stderr}"
    );
    let rejected = std::fs::read_to_string(other.path("views.csv.rejected.ndjson")).unwrap();
    let rejected: Vec<Value> = rejected
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rejected[0]["line"], 3);
    assert_eq!(
        rejected[0]["source"],
        "2024-03-01T00:00:00Z,-1,1.0,2.0,/,{}"
    );
    assert_eq!(rejected[1]["line"], 4);
    let reason = rejected[1]["reason"].as_str().unwrap();
    assert!(reason.contains("`latency.p50_ms` is not JSON"), "{reason}");
    let (again, _) = other.expect(0, &["export", "shop.pageview"]);
    assert_eq!(
        records_of(&again),
        records_of(&lines(&page_views(200)).join("\n"))
    );

    let bad = other.write("bad.csv", &["timestamp,colour".to_owned()]);
    let (_, stderr) = other.expect(
        2,
        &[
            "import",
            "shop.pageview",
            bad.to_str().unwrap(),
            "--format",
            "csv",
        ],
    );
    assert!(
        stderr.contains("column `colour` that the type does not have"),
        "{stderr}"
    );
}

#[test]
fn an_arrow_export_is_an_ipc_stream_of_every_record_oldest_first() {
    use esrecord::Record;
    use esrecord::export::arrow::arrow_array::RecordBatch;
    use esrecord::export::arrow::arrow_ipc::reader::StreamReader;
    use esrecord_examples::PageView;

    let ws = with_page_views("arrow", 200);
    let output = ws.run(&["export", "shop.pageview", "--format", "arrow"]);
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("exported 200 records"), "{stderr}");

    let reader = StreamReader::try_new(std::io::Cursor::new(output.stdout), None).unwrap();
    let schema = esrecord::export::arrow::schema(PageView::record_type()).unwrap();
    assert_eq!(*reader.schema(), schema);
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
    let views: Vec<PageView> = batches
        .iter()
        .flat_map(|batch| serde_arrow::from_record_batch::<Vec<PageView>>(batch).unwrap())
        .collect();
    assert!(views.is_sorted_by_key(|view| view.timestamp));
    let exported: Vec<Value> = views
        .iter()
        .map(|v| serde_json::to_value(v).unwrap())
        .collect();
    assert_eq!(
        records_of(&lines(&exported).join("\n")),
        records_of(&lines(&page_views(200)).join("\n"))
    );
}

#[test]
fn search_prints_the_newest_records_as_a_table_or_json_and_refuses_bad_conditions() {
    let ws = with_page_views("search", 60);
    let (table, stderr) = ws.expect(0, &["search", "shop.pageview", "--limit", "4"]);
    assert!(
        stderr.contains("4 of 60 matching records (the newest)"),
        "{stderr}"
    );
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap()
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "timestamp",
            "item_id",
            "latency.p50_ms",
            "latency.p99_ms",
            "path",
            "tags.platform"
        ]
    );
    assert_eq!(table.lines().count(), 2 + 4);
    assert!(
        table.lines().last().unwrap().contains("2024-03-03T23:"),
        "{table}"
    );

    let (json, _) = ws.expect(
        0,
        &[
            "search",
            "pageview",
            "--where",
            "tags.platform=linux",
            "--where",
            "latency.p99_ms>=100",
            "--limit",
            "100",
            "--format",
            "json",
        ],
    );
    let found: Vec<Value> = serde_json::from_str(&json).unwrap();
    let mut ids: Vec<u64> = found
        .iter()
        .map(|r| r["item_id"].as_u64().unwrap())
        .collect();
    ids.sort_unstable();
    let expected: Vec<u64> = (50..60).filter(|i| i % 2 == 1).collect();
    assert_eq!(ids, expected);

    let (ndjson, _) = ws.expect(
        0,
        &[
            "search",
            "pageview",
            "--where",
            "path!=/items/0",
            "--where",
            "item_id<10",
            "--format",
            "ndjson",
        ],
    );
    assert_eq!(records_of(&ndjson).len(), 8);

    let (_, stderr) = ws.expect(2, &["search", "pageview", "--where", "item_id=abc"]);
    assert!(
        stderr.contains("field item_id of shop_pageview") && stderr.contains("\"abc\" is not one"),
        "{stderr}"
    );
    let (_, stderr) = ws.expect(2, &["search", "pageview", "--where", "itemid=3"]);
    assert!(
        stderr.contains("has no field \"itemid\"") && stderr.contains("item_id, latency.p50_ms"),
        "{stderr}"
    );
    let (_, stderr) = ws.expect(2, &["search", "pageview", "--where", "item_id"]);
    assert!(stderr.contains("FIELD=VALUE"), "{stderr}");
    let (_, stderr) = ws.expect(2, &["search", "pageview", "--where", "path>/a"]);
    assert!(stderr.contains("has no order"), "{stderr}");
    let (_, stderr) = ws.expect(2, &["search", "nosuchtype"]);
    assert!(
        stderr.contains("no record type named \"nosuchtype\""),
        "{stderr}"
    );
    let (_, stderr) = ws.expect(2, &["search", "pageview", "--from", "yesterday"]);
    assert!(
        stderr.contains("--from") && stderr.contains("RFC 3339"),
        "{stderr}"
    );
}

#[test]
fn plot_charts_in_the_terminal_and_writes_png_and_svg_of_the_size_asked() {
    let ws = with_page_views("plot", 72);
    let range = ["--from", "2024-03-01", "--until", "2024-03-04"];
    let (chart, _) = ws.expect(
        0,
        &[&["plot", "pageview", "latency.p99_ms"][..], &range].concat(),
    );
    assert!(
        chart.contains("avg of latency.p99_ms per 1h, shop_pageview"),
        "{chart}"
    );
    assert!(chart.contains("2024-03-01 00:00"), "{chart}");

    let png = ws.path("chart.png");
    let args = [
        &[
            "plot",
            "pageview",
            "latency.p99_ms",
            "--agg",
            "max",
            "--out",
            png.to_str().unwrap(),
            "--size",
            "640x320",
        ][..],
        &range,
    ]
    .concat();
    let (_, stderr) = ws.expect(0, &args);
    assert!(stderr.contains("640x320"), "{stderr}");
    let decoder = png::Decoder::new(std::fs::File::open(&png).unwrap());
    let reader = decoder.read_info().unwrap();
    assert_eq!((reader.info().width, reader.info().height), (640, 320));

    let svg = ws.path("chart.svg");
    ws.expect(
        0,
        &[
            &[
                "plot",
                "pageview",
                "item_id",
                "--agg",
                "count",
                "--interval",
                "1d",
                "--out",
                svg.to_str().unwrap(),
            ][..],
            &range,
        ]
        .concat(),
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<svg") && text.contains("count of item_id per 1d"),
        "{}",
        &text[..200.min(text.len())]
    );

    let (_, stderr) = ws.expect(2, &["plot", "pageview", "path"]);
    assert!(
        stderr.contains("not a number") && stderr.contains("--agg count"),
        "{stderr}"
    );
    let (_, stderr) = ws.expect(
        2,
        &["plot", "pageview", "latency.p99_ms", "--out", "chart.gif"],
    );
    assert!(
        stderr.contains("--out") && stderr.contains(".svg or .png"),
        "{stderr}"
    );
    let (_, stderr) = ws.expect(
        2,
        &["plot", "pageview", "latency.p99_ms", "--interval", "hourly"],
    );
    assert!(stderr.contains("--interval"), "{stderr}");
}

#[test]
fn indexes_lists_partitions_and_deletes_expired_ones_only_when_told() {
    let ws = with_page_views("indexes", 30);
    let (table, _) = ws.expect(0, &["indexes"]);
    for (day, docs) in [("01", 10), ("02", 10), ("03", 10)] {
        let row = table
            .lines()
            .find(|l| l.contains(&format!("shop_pageview_2024.03.{day}")))
            .unwrap();
        let cells: Vec<&str> = row
            .split('|')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(cells[2], docs.to_string(), "{row}");
        // Kept 90 days after the day ends.
        assert!(cells[4].starts_with("expired 2024-0"), "{row}");
    }
    let (json, _) = ws.expect(0, &["indexes", "--expired", "--json"]);
    let expired: Vec<Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(expired.len(), 3);
    assert_eq!(expired[0]["expires"], "2024-05-31T00:00:00+00:00");

    let (_, stderr) = ws.expect(2, &["indexes", "--delete-expired"]);
    assert!(stderr.contains("--yes"), "{stderr}");
    ws.expect(2, &["indexes", "--yes"]);
    assert_eq!(
        ws.expect(0, &["indexes", "--json"])
            .0
            .matches("\"index\"")
            .count(),
        3
    );
    // An index under the type's pattern that is none of its partitions (a
    // restored copy) is listed, and kept.
    {
        let store =
            esrecord::Store::with_config(esrecord::config::Config::embedded(ws.path("data")))
                .unwrap();
        let mut bulk = esrecord::bulk::BulkBuilder::default();
        let source = page_views(1)[0].to_string();
        bulk.push(
            esrecord::bulk::BulkAction::Create,
            "shop_pageview_2024.03.01-restored",
            "copy-1",
            source.as_bytes(),
        )
        .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let backend = store.backend("default").unwrap();
        let items = runtime.block_on(backend.bulk(bulk.finish())).unwrap();
        assert_eq!(items.len(), 1);
        runtime.block_on(backend.refresh()).unwrap();
        runtime.block_on(store.close()).unwrap();
    }
    let (table, _) = ws.expect(0, &["indexes"]);
    let restored = table
        .lines()
        .find(|l| l.contains("2024.03.01-restored"))
        .unwrap();
    assert!(
        restored.contains("not one of the type's partitions; kept"),
        "{restored}"
    );
    let (_, stderr) = ws.expect(0, &["indexes", "--delete-expired", "--yes"]);
    assert!(stderr.contains("deleted 3 partitions"), "{stderr}");
    let (stdout, _) = ws.expect(0, &["indexes", "--json"]);
    let left: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(left.len(), 1, "{stdout}");
    assert_eq!(left[0]["index"], "shop_pageview_2024.03.01-restored");
    assert_eq!(left[0]["docs"], 1);
}

#[test]
fn configuration_and_usage_errors_exit_2_with_what_to_fix() {
    let ws = Workspace::new("config");
    let (_, stderr) = ws.expect(2, &["--config", "missing.toml", "types"]);
    assert!(stderr.contains("missing.toml"), "{stderr}");
    std::fs::write(ws.path("bad.toml"), "[store]\nbatch_sise = 3\n").unwrap();
    let (_, stderr) = ws.expect(2, &["--config", "bad.toml", "check"]);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("batch_sise"),
        "{stderr}"
    );
    let (_, stderr) = ws.expect(2, &["--backend", "archive", "types"]);
    assert!(
        stderr.contains("no backend named \"archive\"") && stderr.contains("default"),
        "{stderr}"
    );
    std::fs::write(
        ws.path("two.toml"),
        format!("[backends.default]\nkind = \"embedded\"\npath = {:?}\n[backends.archive]\nkind = \"embedded\"\npath = {:?}\n", ws.path("data"), ws.path("archive")),
    )
    .unwrap();
    let (stdout, _) = ws.expect(
        0,
        &["--config", "two.toml", "--backend", "archive", "types"],
    );
    assert!(stdout.contains("no record types"), "{stdout}");
    let (_, stderr) = ws.expect(
        2,
        &[
            "--config",
            "two.toml",
            "--backend",
            "archive",
            "search",
            "pageview",
        ],
    );
    assert!(stderr.contains("stored in backend \"default\""), "{stderr}");
    let (_, stderr) = ws.expect(2, &["serch"]);
    assert!(stderr.contains("search"), "{stderr}");
    let quiet = ws.run(&["-q", "setup"]);
    assert_eq!(quiet.status.code(), Some(0));
    assert!(texts(&quiet).1.is_empty(), "{}", texts(&quiet).1);
    assert!(Path::new(&ws.path("data")).exists());
}

/// Points of the metrics reporter's type on 2024-03-05 from 12:00, every
/// 10 s: a counter `orders` per city and a histogram `checkout.seconds`.
fn metric_points() -> Vec<Value> {
    let mut points = Vec::new();
    for i in 0..3u32 {
        let timestamp = format!("2024-03-05T12:00:{:02}Z", i * 10);
        for (city, per_interval) in [("blr", 2.0), ("del", 1.0)] {
            points.push(json!({
                "timestamp": timestamp, "name": "orders", "kind": "counter",
                "tags": {"city": city, "service": "shop"}, "interval": 10.0,
                "increase": per_interval,
                "total": per_interval * f64::from(i + 1),
            }));
        }
        points.push(json!({
            "timestamp": timestamp, "name": "checkout.seconds", "kind": "histogram",
            "tags": {"service": "shop"}, "interval": 10.0, "unit": "seconds",
            "count": 4, "sum": 1.0, "min": 0.1, "max": 0.4, "mean": 0.25,
            "p50": 0.2, "p99": 0.3 + f64::from(i) / 10.0,
        }));
    }
    points
}

#[test]
fn metrics_lists_the_reporters_series_and_plot_charts_one_metric() {
    let ws = Workspace::new("metrics");
    let file = ws.write("metrics.ndjson", &lines(&metric_points()));
    let (_, stderr) = ws.expect(0, &["import", "esrecord.metric", file.to_str().unwrap()]);
    assert!(stderr.contains("imported 9 records"), "{stderr}");
    let range = ["--from", "2024-03-05", "--until", "2024-03-06"];

    let (table, _) = ws.expect(0, &[&["metrics"][..], &range].concat());
    let rows: Vec<&str> = table.lines().filter(|l| l.contains("shop")).collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(
        rows[0].contains("checkout.seconds") && rows[0].contains("0.2500 seconds"),
        "histograms show their mean with the unit: {table}"
    );
    assert!(
        rows[1].contains("orders") && rows[1].contains("city=blr") && rows[1].contains("| 3 "),
        "three points, last increase 2: {table}"
    );
    assert!(table.contains("2024-03-05 12:00:20"), "{table}");

    let (json_text, _) = ws.expect(
        0,
        &[&["metrics", "--json", "--name", "ord*"][..], &range].concat(),
    );
    let listed: Value = serde_json::from_str(&json_text).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{json_text}");
    assert_eq!(listed[0]["tags"]["city"], "blr");
    assert_eq!(listed[0]["last_value"], 2.0);
    assert_eq!(listed[1]["points"], 3);

    let (nothing, _) = ws.expect(0, &["metrics"]);
    assert!(
        nothing.contains("no metric series") && nothing.contains("--from"),
        "the default range is the last hour: {nothing}"
    );

    let (chart, _) = ws.expect(
        0,
        &[
            &[
                "plot", "--metric", "orders", "--tag", "city=blr", "--value", "total",
            ][..],
            &range,
        ]
        .concat(),
    );
    assert!(
        chart.contains("total of orders {city=blr, service=shop}"),
        "{chart}"
    );
    assert!(!chart.contains("city=del"), "{chart}");
    assert!(chart.contains("2024-03-05 12:00"), "{chart}");

    let (charts, _) = ws.expect(0, &[&["plot", "--metric", "orders"][..], &range].concat());
    assert!(
        charts.contains("increase of orders {city=blr")
            && charts.contains("increase of orders {city=del"),
        "one chart per label set: {charts}"
    );

    let svg = ws.path("p99.svg");
    ws.expect(
        0,
        &[
            &[
                "plot",
                "--metric",
                "checkout.seconds",
                "--value",
                "p99",
                "--out",
                svg.to_str().unwrap(),
            ][..],
            &range,
        ]
        .concat(),
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("p99 of checkout.seconds"),
        "{}",
        &text[..200.min(text.len())]
    );

    let png = ws.path("orders.png");
    let (_, stderr) = ws.expect(
        2,
        &[
            &["plot", "--metric", "orders", "--out", png.to_str().unwrap()][..],
            &range,
        ]
        .concat(),
    );
    assert!(
        stderr.contains("--tag") && stderr.contains("city=del"),
        "an image of two label sets asks for one: {stderr}"
    );
    let (_, stderr) = ws.expect(
        2,
        &[
            &["plot", "--metric", "orders", "--value", "p12"][..],
            &range,
        ]
        .concat(),
    );
    assert!(
        stderr.contains("p99") && stderr.contains("rate"),
        "{stderr}"
    );
    let (_, stderr) = ws.expect(2, &["plot", "--metric", "orders", "--tag", "city"]);
    assert!(stderr.contains("KEY=VALUE"), "{stderr}");
    let (_, stderr) = ws.expect(1, &[&["plot", "--metric", "refunds"][..], &range].concat());
    assert!(
        stderr.contains("no points of metric \"refunds\""),
        "{stderr}"
    );
    ws.expect(2, &["plot"]);
}

/// Views of `/cart` (slow) and `/` in the five minutes before 12:00 on
/// 2024-03-05, and a rules file over them.
fn with_rules(name: &str) -> (Workspace, PathBuf) {
    let ws = Workspace::new(name);
    let views: Vec<Value> = [("/cart", 312.4), ("/", 100.0), ("/cart", 200.0)]
        .iter()
        .enumerate()
        .map(|(i, (path, p99))| {
            json!({
                "timestamp": format!("2024-03-05T11:5{}:00Z", 6 + i),
                "item_id": i,
                "path": path,
                "latency": {"p50_ms": 1.0, "p99_ms": p99},
                "tags": {"host": "web-1"},
            })
        })
        .collect();
    let file = ws.write("views.ndjson", &lines(&views));
    ws.expect(0, &["import", "shop.pageview", file.to_str().unwrap()]);
    let rules = ws.write(
        "rules.yaml",
        &[
            "rules:".to_owned(),
            "  - name: slow cart".to_owned(),
            "    type: shop.pageview".to_owned(),
            "    field: latency.p99_ms".to_owned(),
            "    summary: max".to_owned(),
            "    window: 5m".to_owned(),
            "    group_by: path".to_owned(),
            "    when: '> 250'".to_owned(),
            "    level: critical".to_owned(),
            "  - name: traffic".to_owned(),
            "    type: shop.pageview".to_owned(),
            "    window: 1h".to_owned(),
            "    must: '>= 1'".to_owned(),
        ],
    );
    (ws, rules)
}

#[test]
fn rules_check_prints_what_fires_and_exits_1_0_when_nothing_does_2_for_a_bad_file() {
    let (ws, rules) = with_rules("rules-check");
    let rules = rules.to_str().unwrap();
    let (stdout, stderr) = ws.expect(
        1,
        &["rules", "check", rules, "--at", "2024-03-05T12:00:00Z"],
    );
    let row = stdout
        .lines()
        .find(|l| l.contains("slow cart"))
        .unwrap_or_default();
    assert!(
        row.contains("critical")
            && row.contains("path=/cart")
            && row
                .contains("shop.pageview latency.p99_ms max over 5m = 312.4 ms > 250 (path=/cart)"),
        "{stdout}"
    );
    assert!(!stdout.contains("traffic"), "{stdout}");
    assert!(
        stderr.contains("1 of 2 rules fire (1 violations) for the windows ending 2024-03-05T12:00:00Z; 2 searches"),
        "{stderr}"
    );
    let (stdout, _) = ws.expect(
        1,
        &[
            "rules",
            "check",
            rules,
            "--at",
            "2024-03-05T12:00:00Z",
            "--format",
            "json",
        ],
    );
    let violations: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(violations.as_array().map(Vec::len), Some(1), "{stdout}");
    let violation = &violations[0];
    assert_eq!(violation["rule"], "slow cart");
    assert_eq!(violation["observed"], 312.4);
    assert_eq!(
        violation["threshold"],
        json!({"kind": "number", "value": 250.0})
    );
    assert_eq!(violation["group"], json!({"path": "/cart"}));
    assert_eq!(
        violation["window"],
        json!({"from": "2024-03-05T11:55:00Z", "until": "2024-03-05T12:00:00Z"})
    );
    // An hour later there is no traffic at all.
    let (stdout, _) = ws.expect(
        1,
        &["rules", "check", rules, "--at", "2024-03-05T13:00:00Z"],
    );
    assert!(
        stdout.contains("shop.pageview count over 1h = 0 < 1"),
        "{stdout}"
    );
    assert!(!stdout.contains("slow cart"), "{stdout}");
    // At 12:02 the slow view is out of the window, and there was traffic.
    let (stdout, stderr) = ws.expect(
        0,
        &["rules", "check", rules, "--at", "2024-03-05T12:02:00Z"],
    );
    assert_eq!(stdout.trim(), "");
    assert!(stderr.contains("0 of 2 rules fire"), "{stderr}");

    let bad = ws.write(
        "bad.yaml",
        &[
            "rules:".to_owned(),
            "  - type: shop.pageview".to_owned(),
            "    field: latency.p99".to_owned(),
            "    window: 5m".to_owned(),
            "    when: '> 250'".to_owned(),
        ],
    );
    let (_, stderr) = ws.expect(2, &["rules", "check", bad.to_str().unwrap()]);
    assert!(
        stderr.contains("line 2: rule 1 (shop.pageview): field `latency.p99`")
            && stderr.contains("did you mean `latency.p99_ms`?"),
        "{stderr}"
    );
    let (_, stderr) = ws.expect(2, &["rules", "check", "none.yaml"]);
    assert!(stderr.contains("cannot read the rules file"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn rules_watch_prints_changes_records_alerts_and_stops_on_ctrl_c() {
    use std::io::{BufRead, BufReader};
    use std::time::Duration;

    let (ws, _) = with_rules("rules-watch");
    // The views are of 2024: now, nothing has reported for a day.
    let rules = ws.write(
        "absent.yaml",
        &[
            "rules:".to_owned(),
            "  - name: views stopped".to_owned(),
            "    type: shop.pageview".to_owned(),
            "    absent_for: 10m".to_owned(),
        ],
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_records"))
        .args(["rules", "watch", rules.to_str().unwrap(), "--every", "1s"])
        .current_dir(&ws.dir)
        .env_remove("ESRECORD_CONFIG")
        .env_remove("ESRECORD_URL")
        .env("ESRECORD_DATA", ws.path("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let first = lines_rx.recv_timeout(Duration::from_secs(60));
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let mut status = None;
    for _ in 0..200 {
        status = child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let Some(status) = status else {
        let _ = child.kill();
        panic!("records rules watch did not stop on SIGINT");
    };
    let first = first.unwrap();
    assert!(
        first.contains(
            " FIRING alert views stopped: shop.pageview no records for 10m, none in the last 1d"
        ),
        "{first}"
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("stopped; 1 still firing"), "{stderr}");
    // Fired once, not once a second: the change was recorded once.
    let (stdout, _) = ws.expect(0, &["export", "esrecord.alert"]);
    let alerts = records_of(&stdout);
    assert_eq!(alerts.len(), 1, "{stdout}");
    assert_eq!(alerts[0]["state"], "firing");
    assert_eq!(alerts[0]["rule"], "views stopped");
}
