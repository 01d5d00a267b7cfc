//! `records serve`: the embedded store answered in Elasticsearch's wire
//! format, to the official Python client (answers equal to the typed
//! API's), to the requests Grafana's data source sends, with credentials,
//! and to bad and random requests (Elasticsearch-shaped errors, never a
//! crash).

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use esrecord::search::aggs::{self, Interval};
use esrecord::{Record, Store};
use esrecord_examples::{Lcg, PageView};
use serde_json::{Value, json};

mod workspace;

#[path = "serve/support.rs"]
mod support;

use support::Served;
use workspace::Workspace;

/// The typed API over the store `records serve` wrote to.
async fn typed_answers(ws: &Workspace) -> Value {
    let store = Store::with_config(esrecord::config::Config::embedded(ws.path("data"))).unwrap();
    let f = PageView::fields();
    let p99 = aggs::avg(&f.latency.p99_ms);
    let pct = aggs::percentiles(&f.latency.p99_ms, &[50.0, 99.0]);
    let daily = aggs::date_histogram(&f.timestamp, Interval::calendar("day"))
        .with(&p99)
        .with(&pct);
    let paths = aggs::terms(&f.path, 10);
    let results = PageView::search()
        .range((2024, 3, 1), (2024, 3, 4))
        .aggregate(&daily)
        .aggregate(&paths)
        .size(0)
        .fetch(&store)
        .await
        .unwrap();
    let linux = PageView::search()
        .range((2024,), (2025,))
        .filter(f.tags.key("platform").eq("linux"))
        .size(0)
        .fetch(&store)
        .await
        .unwrap();
    let days: Vec<Value> = results
        .read(&daily)
        .unwrap()
        .iter()
        .map(|day| {
            let pct = day.read(&pct).unwrap();
            json!({
                "key": day.key.timestamp_millis(),
                "doc_count": day.doc_count,
                "p99": day.read(&p99).unwrap(),
                "pct": pct.iter().map(|p| p.value).collect::<Vec<_>>(),
            })
        })
        .collect();
    let paths: Vec<Value> = results
        .read(&paths)
        .unwrap()
        .iter()
        .map(|bucket| json!([bucket.key, bucket.doc_count]))
        .collect();
    store.close().await.unwrap();
    json!({"total": results.total, "linux": linux.total, "days": days, "paths": paths})
}

/// The same figures, from the Python client's answers.
fn client_answers(out: &Value) -> Value {
    let aggregations = &out["search"]["aggregations"];
    let days: Vec<Value> = aggregations["daily"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|day| {
            json!({
                "key": day["key"],
                "doc_count": day["doc_count"],
                "p99": day["p99"]["value"],
                "pct": [day["pct"]["values"]["50.0"], day["pct"]["values"]["99.0"]],
            })
        })
        .collect();
    let paths: Vec<Value> = aggregations["paths"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bucket| json!([bucket["key"], bucket["doc_count"]]))
        .collect();
    json!({
        "total": out["search"]["hits"]["total"]["value"],
        "linux": out["count_linux"],
        "days": days,
        "paths": paths,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_client_indexes_and_searches_with_the_typed_apis_answers() {
    let python = support::python_with_client();
    let ws = Workspace::new("serve-python");
    let served = Served::start(&ws.dir, None);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/serve/client.py");
    let output = Command::new(&python)
        .args([script, &served.url(), "1000"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the client failed:\n{stderr}");
    let (code, serve_stderr) = served.stop();
    assert_eq!(code, Some(0), "{serve_stderr}");
    assert!(
        serve_stderr.contains("stopped; 1000 records written"),
        "{serve_stderr}"
    );
    let out: Value = serde_json::from_slice(&output.stdout).unwrap();

    assert_eq!(out["info"]["version"]["number"], "8.17.0");
    assert_eq!(out["bulk"], json!({"ok": 999, "errors": 0}));
    assert_eq!(out["index"], "created");
    assert_eq!(
        out["refused"],
        json!([{"ok": false, "status": 400, "type": "document_parsing_exception"}])
    );
    assert_eq!(out["count"], 1000);
    assert_eq!(out["count_gzip"], 1000);
    assert_eq!(out["pit"], json!({"pages_seen": 1000, "distinct": 1000}));
    // Views i with i % 5 == 1; the 2nd of March is views with i % 3 == 1.
    assert_eq!(out["msearch"], json!([200, 333]));
    assert_eq!(out["unsupported"]["status"], 400);
    assert_eq!(out["unsupported"]["type"], "illegal_argument_exception");
    let hits = out["hits"]["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[0]["_source"]["item_id"], 0);
    assert_eq!(hits[0]["_index"], "shop_pageview_2024.03.01");
    let mapping = &out["mapping"]["shop_pageview_2024.03.01"]["mappings"]["properties"];
    assert_eq!(mapping["tags"]["type"], "flattened");
    let caps = &out["field_caps"]["fields"];
    assert_eq!(caps["latency.p99_ms"]["double"]["aggregatable"], true);
    assert_eq!(caps["path"]["keyword"]["searchable"], true);

    let typed = typed_answers(&ws).await;
    assert_eq!(typed["total"], 1000);
    assert_eq!(typed["linux"], 500);
    assert_eq!(client_answers(&out), typed);
}

/// A Grafana time-series panel's request, as its Elasticsearch data source
/// builds it (`pkg/tsdb/elasticsearch/client`: the `_msearch` header, the
/// range filter and bounds as strings of epoch milliseconds, the empty
/// Lucene query, percents as strings): a date histogram with avg and
/// percentiles over the dashboard's range.
fn grafana_metrics(from_ms: i64, to_ms: i64) -> String {
    let (from, to) = (from_ms.to_string(), to_ms.to_string());
    let header = json!({"search_type": "query_then_fetch", "ignore_unavailable": true, "index": "shop_pageview_*"});
    let body = json!({
        "size": 0,
        "query": {"bool": {"filter": [
            {"range": {"timestamp": {"gte": from, "lte": to, "format": "epoch_millis"}}},
            {"query_string": {"analyze_wildcard": true, "query": "*"}},
        ]}},
        "aggs": {"2": {
            "date_histogram": {
                "field": "timestamp", "min_doc_count": 0, "fixed_interval": "6h", "format": "epoch_millis",
                "extended_bounds": {"min": from, "max": to},
            },
            "aggs": {
                "1": {"avg": {"field": "latency.p99_ms"}},
                "3": {"percentiles": {"field": "latency.p99_ms", "percents": ["95", "99"]}},
            },
        }},
    });
    format!("{header}\n{body}\n")
}

/// The same data source's raw-data (logs) request: the newest documents,
/// the time field asked for as a doc value, a sort with `unmapped_type`,
/// one filter as an object.
fn grafana_raw(from_ms: i64, to_ms: i64) -> String {
    let header = json!({"search_type": "query_then_fetch", "ignore_unavailable": true, "index": "shop_pageview_*"});
    let body = json!({
        "size": 5,
        "sort": {"timestamp": {"order": "desc", "unmapped_type": "boolean"}},
        "query": {"bool": {"filter": {"range": {"timestamp": {"gte": from_ms.to_string(), "lte": to_ms.to_string(), "format": "epoch_millis"}}}}},
        "script_fields": {},
        "docvalue_fields": ["timestamp"],
        "fields": [{"field": "timestamp", "format": "strict_date_optional_time_nanos"}],
    });
    format!("{header}\n{body}\n")
}

#[test]
fn grafanas_requests_get_what_its_data_source_expects() {
    let ws = Workspace::new("serve-grafana");
    let views: Vec<Value> = (0..48)
        .map(|i| {
            json!({
                "timestamp": format!("2024-03-01T{:02}:{:02}:00Z", i / 2, (i % 2) * 30),
                "item_id": i, "path": "/", "tags": {},
                "latency": {"p50_ms": 1.0, "p99_ms": f64::from(i)},
            })
        })
        .collect();
    ws.import("shop.pageview", &views);
    let served = Served::start(&ws.dir, None);

    // The health check: the version, and the index's fields.
    let (status, info) = served.json("GET", "/", "");
    assert_eq!(
        (status, info["version"]["number"].as_str()),
        (200, Some("8.17.0"))
    );
    let (status, mapping) = served.json("GET", "/shop_pageview_*/_mapping", "");
    assert_eq!(status, 200);
    assert_eq!(
        mapping["shop_pageview_2024.03.01"]["mappings"]["properties"]["timestamp"]["type"],
        "date"
    );

    let from = 1_709_251_200_000; // 2024-03-01T00:00:00Z
    let to = from + 24 * 3_600_000 - 1;
    let (status, text) = served.request(
        "POST",
        "/_msearch?max_concurrent_shard_requests=5",
        &[("Content-Type", "application/x-ndjson")],
        grafana_metrics(from, to).as_bytes(),
    );
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    let response = &answer["responses"][0];
    assert_eq!(response["status"], 200, "{response}");
    let buckets = response["aggregations"]["2"]["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 4);
    for (n, bucket) in buckets.iter().enumerate() {
        let key = from + n as i64 * 6 * 3_600_000;
        assert_eq!(bucket["key"], key);
        assert_eq!(bucket["key_as_string"], key.to_string());
        assert_eq!(bucket["doc_count"], 12);
        // Views 12n to 12n+11: p99_ms is the view's number.
        assert_eq!(bucket["1"]["value"], 12.0 * n as f64 + 5.5);
        // The engine's percentiles are a sketch's: close to the top value.
        let p99 = bucket["3"]["values"]["99.0"].as_f64().unwrap();
        assert!(
            (12.0 * n as f64 + 9.0..=12.0 * n as f64 + 11.0).contains(&p99),
            "{bucket}"
        );
    }

    let (status, text) = served.request("POST", "/_msearch", &[], grafana_raw(from, to).as_bytes());
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    let hits = answer["responses"][0]["hits"]["hits"].as_array().unwrap();
    let times: Vec<&str> = hits
        .iter()
        .map(|h| h["fields"]["timestamp"][0].as_str().unwrap())
        .collect();
    assert_eq!(
        times,
        [
            "2024-03-01T23:30:00Z",
            "2024-03-01T23:00:00Z",
            "2024-03-01T22:30:00Z",
            "2024-03-01T22:00:00Z",
            "2024-03-01T21:30:00Z"
        ]
    );

    // A panel grouped by a terms aggregation, and a template variable's
    // values (terms ordered by key).
    let header = json!({"search_type": "query_then_fetch", "ignore_unavailable": true, "index": "shop_pageview_*"});
    let range = json!({"range": {"timestamp": {"gte": from.to_string(), "lte": to.to_string(), "format": "epoch_millis"}}});
    let grouped = json!({"size": 0, "query": {"bool": {"filter": [range]}}, "aggs": {"3": {
        "terms": {"field": "path", "size": 10, "order": {"_count": "desc"}, "min_doc_count": 1},
        "aggs": {"2": {
            "date_histogram": {"field": "timestamp", "min_doc_count": 0, "fixed_interval": "12h", "format": "epoch_millis",
                "extended_bounds": {"min": from.to_string(), "max": to.to_string()}},
            "aggs": {"1": {"sum": {"field": "item_id"}}},
        }},
    }}});
    let values = json!({"size": 0, "query": {"bool": {"filter": [range]}}, "aggs": {"1": {
        "terms": {"field": "path", "size": 500, "order": {"_key": "asc"}, "min_doc_count": 1},
    }}});
    let body = format!("{header}\n{grouped}\n{header}\n{values}\n");
    let (status, text) = served.request("POST", "/_msearch", &[], body.as_bytes());
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    let by_path = &answer["responses"][0]["aggregations"]["3"]["buckets"][0];
    assert_eq!(by_path["key"], "/");
    let halves = by_path["2"]["buckets"].as_array().unwrap();
    assert_eq!(
        halves[1]["key_as_string"],
        (from + 12 * 3_600_000).to_string()
    );
    // Views 0-23 before noon, 24-47 after: item ids summed.
    assert_eq!(
        (
            halves[0]["1"]["value"].as_f64(),
            halves[1]["1"]["value"].as_f64()
        ),
        (Some(276.0), Some(852.0))
    );
    assert_eq!(
        answer["responses"][1]["aggregations"]["1"]["buckets"],
        json!([{"key": "/", "doc_count": 48}])
    );
}

#[test]
fn requests_without_the_configured_credentials_are_refused() {
    let ws = Workspace::new("serve-auth");
    let config = ws.path("esrecord.toml");
    std::fs::write(ws.path("password"), "s3cret\n").unwrap();
    std::fs::write(
        &config,
        format!(
            "[backends.default]\nkind = \"embedded\"\npath = \"{}\"\n[serve]\nusername = \"grafana\"\npassword_file = \"{}\"\n",
            ws.path("data").display(),
            ws.path("password").display()
        ),
    )
    .unwrap();
    let served = Served::start(&ws.dir, Some(&config));
    let (status, body) = served.request("GET", "/", &[], b"");
    assert_eq!(status, 401, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["type"], "security_exception");
    // grafana:wrong, then grafana:s3cret.
    let (status, _) = served.request(
        "GET",
        "/",
        &[("Authorization", "Basic Z3JhZmFuYTp3cm9uZw==")],
        b"",
    );
    assert_eq!(status, 401);
    let (status, _) = served.request(
        "GET",
        "/",
        &[("Authorization", "Basic Z3JhZmFuYTpzM2NyZXQ=")],
        b"",
    );
    assert_eq!(status, 200);
    drop(served);

    // Beyond loopback, no credentials is no server.
    let open = ws.path("open.toml");
    std::fs::write(&open, "[serve]\nlisten = \"0.0.0.0:9200\"\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_records"))
        .arg("--config")
        .arg(&open)
        .arg("serve")
        .current_dir(&ws.dir)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to serve on 0.0.0.0:9200 without credentials"),
        "{stderr}"
    );
}

#[test]
fn it_answers_over_tls_with_the_configured_certificate() {
    let python = support::python_with_client();
    let ws = Workspace::new("serve-tls");
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    std::fs::write(ws.path("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(ws.path("key.pem"), certified.signing_key.serialize_pem()).unwrap();
    let config = ws.path("esrecord.toml");
    std::fs::write(
        &config,
        format!(
            "[backends.default]\nkind = \"embedded\"\npath = \"{}\"\n[serve]\ntls_certificate = \"{}\"\ntls_key = \"{}\"\n",
            ws.path("data").display(),
            ws.path("cert.pem").display(),
            ws.path("key.pem").display()
        ),
    )
    .unwrap();
    let served = Served::start(&ws.dir, Some(&config));
    let url = format!("https://{}", served.address);
    let check = "import sys; from elasticsearch import Elasticsearch; print(Elasticsearch(sys.argv[1], ca_certs=sys.argv[2]).info()['version']['number'])";
    let output = Command::new(&python)
        .args(["-c", check, &url])
        .arg(ws.path("cert.pem"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.trim(),
        "8.17.0",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Plain HTTP to the TLS port gets no answer in the clear.
    let (status, _) = served.request("GET", "/", &[], b"");
    assert_ne!(status, 200);

    // A key that does not parse is a configuration error naming the file.
    std::fs::write(ws.path("key.pem"), "not a key").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_records"))
        .arg("--config")
        .arg(&config)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(&ws.dir)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("key.pem"), "{stderr}");
}

#[test]
fn bad_requests_get_elasticsearch_shaped_errors_and_garbage_never_stops_the_server() {
    let ws = Workspace::new("serve-bad");
    let view = json!({"timestamp": "2024-03-01T00:00:00Z", "item_id": 1, "path": "/", "tags": {},
        "latency": {"p50_ms": 1.0, "p99_ms": 2.0}});
    ws.import("shop.pageview", &[view]);
    let mut served = Served::start(&ws.dir, None);
    let error = |method: &str, path: &str, body: &str| {
        let (status, answer) = served.json(method, path, body);
        (
            status,
            answer["error"]["type"].as_str().unwrap_or("").to_owned(),
            answer,
        )
    };
    let (status, kind, _) = error("POST", "/_search", "{\"query\":");
    assert_eq!((status, kind.as_str()), (400, "parsing_exception"));
    let (status, kind, answer) =
        error("POST", "/_search", r#"{"query": {"fuzzy": {"path": "x"}}}"#);
    assert_eq!((status, kind.as_str()), (400, "illegal_argument_exception"));
    assert!(
        answer["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("fuzzy"),
        "{answer}"
    );
    let (status, kind, _) = error("GET", "/_nodes/stats", "");
    assert_eq!((status, kind.as_str()), (400, "illegal_argument_exception"));
    let (status, kind, _) = error("GET", "/no_such_index/_search", "{}");
    assert_eq!((status, kind.as_str()), (404, "index_not_found_exception"));
    let (status, kind, _) = error("DELETE", "/shop_pageview_*", "");
    assert_eq!((status, kind.as_str()), (400, "illegal_argument_exception"));
    let (status, kind, _) = error("POST", "/_bulk", "{\"index\": 3}\n{}\n");
    assert_eq!((status, kind.as_str()), (400, "illegal_argument_exception"));
    // A malformed line after a good item: nothing of the request is recorded.
    let good = r#"{"timestamp": "2024-03-01T01:00:00Z", "item_id": 2, "path": "/", "tags": {}, "latency": {"p50_ms": 1.0, "p99_ms": 2.0}}"#;
    let body = format!(
        "{{\"index\": {{\"_index\": \"shop_pageview\"}}}}\n{good}\n{{\"upsert\": {{}}}}\n{{}}\n"
    );
    let (status, kind, _) = error("POST", "/_bulk", &body);
    assert_eq!((status, kind.as_str()), (400, "illegal_argument_exception"));
    let (_, count) = served.json("POST", "/_refresh", "");
    assert_eq!(count["_shards"]["failed"], 0);
    let (_, count) = served.json("GET", "/shop_pageview_*/_count", "");
    assert_eq!(count["count"], 1);

    // A bounded fuzz: random bytes and mangled JSON to every endpoint.
    let endpoints = [
        ("POST", "/_search"),
        ("POST", "/shop_pageview_*/_search"),
        ("POST", "/_msearch"),
        ("POST", "/_bulk"),
        ("POST", "/shop_pageview/_doc"),
        ("POST", "/_count"),
        ("POST", "/shop_pageview_*/_field_caps"),
        ("PUT", "/_index_template/x"),
        ("DELETE", "/_pit"),
        ("POST", "/shop_pageview_*/_pit?keep_alive=1m"),
        ("GET", "/_cat/indices?format=json"),
    ];
    let seeds = [
        r#"{"query": {"bool": {"filter": [{"range": {"timestamp": {"gte": "2024"}}}]}}, "aggs": {"a": {"terms": {"field": "path"}}}}"#,
        "{\"index\": {\"_index\": \"shop_pageview\"}}\n{\"timestamp\": \"2024-03-01T00:00:00Z\"}\n",
        r#"{"size": -1, "sort": [{"x": {"order": "sideways"}}], "aggs": {"h": {"date_histogram": {"field": "timestamp", "fixed_interval": "0s"}}}}"#,
    ];
    let mut random = Lcg(19);
    for round in 0..300 {
        let (method, path) = endpoints[round % endpoints.len()];
        let mut body = seeds[round % seeds.len()].as_bytes().to_vec();
        for _ in 0..(random.draw() % 8) {
            let at = random.draw() as usize % (body.len() + 1);
            match random.draw() % 3 {
                0 if at < body.len() => {
                    body.remove(at);
                }
                1 => body.insert(at, random.draw() as u8),
                _ => body.insert(at, b"{}[]\":,\n\\"[random.draw() as usize % 9]),
            }
        }
        let (status, answer) =
            served.request(method, path, &[("Content-Type", "application/json")], &body);
        assert!(
            (200..500).contains(&status),
            "{method} {path} {:?}: {status} {answer}",
            String::from_utf8_lossy(&body)
        );
        if status >= 400 {
            let answer: Value =
                serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"));
            assert!(answer["error"]["type"].is_string(), "{answer}");
        }
    }
    assert!(served.is_running());
    let (status, _) = served.json("GET", "/", "");
    assert_eq!(status, 200);
}
