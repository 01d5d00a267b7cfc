//! The background writer against a cluster that fails in every way a
//! cluster or its network does (`esrecord_tests::fault_server`): whole
//! requests refused (429, 503), connections reset before or after the
//! documents were stored, slow answers, answers lost after storing, single
//! documents refused for a while (429) or for good (400). Whatever the mix,
//! every record that may be stored is stored exactly once, the others reach
//! the dead-letter hook, and the store's report agrees with what the server
//! saw. Run with `--nocapture` to see the fault mix.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use esrecord::Record as _;
use esrecord::config::{BackendConfig, BackendKind, Config, ElasticsearchConfig, WriterConfig};
use esrecord_tests::fault_server::{FaultPlan, FaultServer};
use esrecord_tests::{PageView, page_view};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Dead letters as a test collects them.
type Letters = Arc<Mutex<Vec<esrecord::DeadLetter>>>;

fn item_id(source: &Value) -> u64 {
    source["item_id"].as_u64().unwrap()
}

/// A store writing to `server` (uncompressed, so the server reads bodies
/// as sent), retrying quickly, collecting dead letters into `letters`.
fn store(
    server: &FaultServer,
    letters: &Letters,
    configure: impl FnOnce(&mut WriterConfig),
) -> esrecord::Store {
    store_limited(server, letters, None, configure)
}

/// As [`store`], with the backend's `max_docs_per_second`.
fn store_limited(
    server: &FaultServer,
    letters: &Letters,
    max_docs_per_second: Option<u32>,
    configure: impl FnOnce(&mut WriterConfig),
) -> esrecord::Store {
    let mut cluster = ElasticsearchConfig::new(server.url());
    cluster.gzip = false;
    cluster.timeout = Duration::from_secs(10);
    let mut config = Config::embedded("unused");
    config.writer.retry_backoff = Duration::from_millis(1);
    config.writer.retry_max_backoff = Duration::from_millis(20);
    config.writer.batch_interval = Duration::from_millis(20);
    configure(&mut config.writer);
    config.backends.insert(
        "default".into(),
        BackendConfig {
            kind: BackendKind::Elasticsearch(cluster),
            index_prefix: String::new(),
            max_docs_per_second,
            data_streams: None,
        },
    );
    let collected = Letters::clone(letters);
    esrecord::Store::builder()
        .config(config)
        .on_dead_letter(move |letter| collected.lock().unwrap().push(letter.clone()))
        .open()
        .unwrap()
}

/// The item ids of the documents stored, sorted (a multiset: a record
/// stored twice, under two ids, shows twice); and checks each was written
/// once.
fn stored_item_ids(server: &FaultServer) -> Vec<u64> {
    let documents = server.documents();
    let mut ids: Vec<u64> = documents
        .values()
        .map(|document| {
            assert_eq!(document.writes, 1, "{document:?}");
            assert_eq!(document.index, "shop_pageview_2024.03.01", "{document:?}");
            item_id(&document.json().unwrap())
        })
        .collect();
    ids.sort_unstable();
    ids
}

/// The schedule's seed: `ESRECORD_FAULT_SEED` when set (to replay or
/// explore other schedules), else `default`.
fn seed(default: u64) -> u64 {
    let seed = std::env::var("ESRECORD_FAULT_SEED").map_or(default, |s| s.parse().unwrap());
    println!("fault schedule seed {seed} (ESRECORD_FAULT_SEED)");
    seed
}

fn refused_by_plan(source: &Value) -> bool {
    source["item_id"]
        .as_u64()
        .is_some_and(|id| id.is_multiple_of(97))
}

#[tokio::test]
async fn every_record_is_stored_once_whatever_fails_and_the_rest_are_dead_letters() {
    let plan = FaultPlan {
        seed: seed(0x5eed_2024),
        too_many_requests: 0.08,
        unavailable: 0.06,
        reset_before_storing: 0.05,
        reset_after_storing: 0.05,
        answer_lost: 0.05,
        delayed: 0.10,
        delay_ms: 1..=30,
        item_too_many_requests: 0.02,
        ..FaultPlan::default()
    }
    .refusing(refused_by_plan);
    let server = FaultServer::start(plan).await.unwrap();
    let letters = Letters::default();
    let store = store(&server, &letters, |writer| writer.batch_size = Some(1_000));

    let records = 100_000u64;
    let started = Instant::now();
    for i in 0..records {
        // Within the first day, so they share one index.
        store.record(page_view(i % 1_440, i)).unwrap();
    }
    let report = tokio::time::timeout(Duration::from_secs(60), store.flush())
        .await
        .expect("flush within a minute")
        .unwrap();
    let counts = server.counts();
    println!("{records} records in {:?}", started.elapsed());
    println!("server: {counts}");
    println!("store: {report:?}");

    // Autosetup put the template the server then served.
    let template_name = PageView::record_type().template_name();
    assert_eq!(
        server.templates().get(&template_name),
        Some(&PageView::record_type().template_body())
    );

    // Every fault of the plan happened.
    assert!(counts.answered_429 > 0, "{counts}");
    assert!(counts.answered_503 > 0, "{counts}");
    assert!(counts.reset_before_storing > 0, "{counts}");
    assert!(counts.reset_after_storing > 0, "{counts}");
    assert!(counts.answer_lost > 0, "{counts}");
    assert!(counts.delayed > 0, "{counts}");
    assert!(counts.items_429 > 0, "{counts}");
    assert!(counts.items_conflicted > 0, "{counts}");
    assert!(counts.items_refused > 0, "{counts}");
    assert_eq!(
        (
            counts.bad_requests,
            counts.items_invalid,
            counts.items_overwritten
        ),
        (0, 0, 0),
        "{counts}"
    );

    // Every record that may be stored is, once, under one id.
    let expected: Vec<u64> = (0..records).filter(|i| !i.is_multiple_of(97)).collect();
    assert_eq!(stored_item_ids(&server), expected);

    // The refused ones reached the dead-letter hook, once each, with the
    // status and their sources.
    let refused = server.refused();
    let letters = letters.lock().unwrap();
    let mut dead: Vec<u64> = letters
        .iter()
        .map(|letter| {
            assert_eq!(letter.status, Some(400), "{letter:?}");
            assert_eq!(
                letter.error_type.as_deref(),
                Some("mapper_parsing_exception"),
                "{letter:?}"
            );
            assert_eq!(letter.index, "shop_pageview_2024.03.01");
            assert_eq!(
                refused.get(&letter.id).map(|d| d.source.as_str()),
                Some(letter.source.as_str()),
                "{letter:?}"
            );
            item_id(&serde_json::from_str(&letter.source).unwrap())
        })
        .collect();
    dead.sort_unstable();
    let expected: Vec<u64> = (0..records).step_by(97).collect();
    assert_eq!(dead, expected);
    assert_eq!(
        letters.iter().map(|l| &l.id).collect::<HashSet<_>>(),
        refused.keys().collect::<HashSet<_>>()
    );

    // The report agrees with the server: a record counts as sent when it
    // was created or met itself (409 on create, an earlier attempt stored
    // it and its answer was lost), so sent is the number stored; failed is
    // the number refused; every retried document reached the server again.
    let stored = server.document_count() as u64;
    assert_eq!(report.sent, stored, "{report:?} {counts}");
    assert_eq!(report.sent, counts.items_created, "{report:?} {counts}");
    assert_eq!(report.failed, refused.len() as u64, "{report:?} {counts}");
    assert_eq!(report.sent + report.failed, records, "{report:?}");
    assert!(report.retried > 0, "{report:?}");
    assert_eq!(
        counts.items_received,
        records + report.retried,
        "each attempt of each document reached the server once: {report:?} {counts}"
    );
    // Which error came last depends on the interleaving (a refusal, a
    // retry); that there was one does not.
    assert!(report.last_error.is_some(), "{report:?}");
}

#[tokio::test]
async fn connections_reset_at_every_turn_still_store_each_record_once() {
    let plan = FaultPlan {
        seed: seed(30),
        reset_before_storing: 0.15,
        reset_after_storing: 0.15,
        ..FaultPlan::default()
    };
    let server = FaultServer::start(plan).await.unwrap();
    let letters = Letters::default();
    let store = store(&server, &letters, |writer| writer.batch_size = Some(250));
    let records = 10_000u64;
    for i in 0..records {
        store.record(page_view(i % 1_440, i)).unwrap();
    }
    let report = tokio::time::timeout(Duration::from_secs(60), store.flush())
        .await
        .expect("flush within a minute")
        .unwrap();
    let counts = server.counts();
    println!("server: {counts}");
    println!("store: {report:?}");
    assert!(
        counts.reset_before_storing > 0 && counts.reset_after_storing > 0,
        "{counts}"
    );
    assert!(counts.items_conflicted > 0, "{counts}");
    assert_eq!(stored_item_ids(&server), (0..records).collect::<Vec<_>>());
    assert_eq!((report.sent, report.failed), (records, 0), "{report:?}");
    assert!(report.retried > 0, "{report:?}");
    assert!(letters.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_outage_holds_the_records_until_the_cluster_is_back() {
    let server = FaultServer::start(FaultPlan::default()).await.unwrap();
    let letters = Letters::default();
    let store = store(&server, &letters, |writer| writer.batch_size = Some(500));
    // The template is put, and connections are open, before the outage.
    store.record(page_view(0, 0)).unwrap();
    store.flush().await.unwrap();
    server.stop().await;
    assert!(!server.is_running().await);
    assert!(
        tokio::net::TcpStream::connect(server.address())
            .await
            .is_err(),
        "the port refuses connections while stopped"
    );
    let records = 5_000u64;
    for i in 1..records {
        store.record(page_view(i % 1_440, i)).unwrap();
    }
    // Retried against a closed port for a while.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = server.counts();
    server.restart().await.unwrap();
    let report = tokio::time::timeout(Duration::from_secs(30), store.flush())
        .await
        .expect("flush within 30 s")
        .unwrap();
    let counts = server.counts();
    println!("server: {counts}");
    println!("store: {report:?}");
    assert_eq!(during.items_received, 1, "{during}");
    assert_eq!(stored_item_ids(&server), (0..records).collect::<Vec<_>>());
    assert_eq!((report.sent, report.failed), (records, 0), "{report:?}");
    assert!(report.retried > 0, "{report:?}");
    assert!(letters.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_rate_limited_backend_never_receives_documents_faster_than_its_limit() {
    let server = FaultServer::start(FaultPlan::default()).await.unwrap();
    let letters = Letters::default();
    let rate = 40.0;
    let store = store_limited(&server, &letters, Some(40), |writer| {
        writer.batch_size = Some(1_000);
    });
    let records = 120u64;
    let started = Instant::now();
    for i in 0..records {
        store.record(page_view(i % 1_440, i)).unwrap();
    }
    // The writer sends at the rate on its own for a second, then the
    // flush sends the rest at the rate too.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sent_before_the_flush = server.document_count();
    let report = tokio::time::timeout(Duration::from_secs(30), store.flush())
        .await
        .expect("flush within 30 s")
        .unwrap();
    let took = started.elapsed();
    assert!(
        (40..=90).contains(&sent_before_the_flush),
        "{sent_before_the_flush} documents sent in the first second"
    );
    assert_eq!(stored_item_ids(&server), (0..records).collect::<Vec<_>>());
    assert_eq!((report.sent, report.failed), (records, 0), "{report:?}");
    assert!(report.rate_limited > 0, "{report:?}");
    let mut arrivals: Vec<Instant> = server.documents().values().map(|d| d.arrived).collect();
    arrivals.sort_unstable();
    // Over any stretch of time, at most one second's burst more than the
    // rate allows, with 200 ms of slack for batching and the network.
    let burst = rate;
    for (i, first) in arrivals.iter().enumerate() {
        for (j, last) in arrivals.iter().enumerate().skip(i) {
            let seconds = (*last - *first).as_secs_f64() + 0.2;
            let documents = (j - i + 1) as f64;
            assert!(
                documents <= burst + rate * seconds,
                "documents {i}..={j} arrived within {:?}: faster than {rate}/s",
                *last - *first
            );
        }
    }
    // 120 documents at 40 a second, the first 40 at once: two seconds.
    assert!(took >= Duration::from_millis(1_800), "{took:?}");
}

/// Sends `request` on `stream` and reads one answer: status, headers
/// (lowercase names), body.
async fn exchange(
    stream: &mut tokio::net::TcpStream,
    request: &[u8],
) -> (u16, HashMap<String, String>, String) {
    stream.write_all(request).await.unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(read > 0, "closed before a whole answer");
        received.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&received).into_owned();
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let mut lines = head.lines();
        let status: u16 = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: HashMap<String, String> = lines
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap();
                (name.to_ascii_lowercase(), value.trim().to_owned())
            })
            .collect();
        let length: usize = headers["content-length"].parse().unwrap();
        if body.len() >= length {
            return (status, headers, body[..length].to_owned());
        }
    }
}

fn post(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-ndjson\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn the_fault_server_answers_as_elasticsearch_on_one_connection_and_400_to_nonsense() {
    let server = FaultServer::start(FaultPlan::default()).await.unwrap();
    let mut stream = tokio::net::TcpStream::connect(server.address())
        .await
        .unwrap();
    let get = b"GET /_index_template/t HTTP/1.1\r\nhost: x\r\n\r\n";
    let (status, headers, body) = exchange(&mut stream, get).await;
    assert_eq!(status, 404);
    assert_eq!(headers["x-elastic-product"], "Elasticsearch");
    assert_eq!(headers["content-type"], "application/json");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["type"], "resource_not_found_exception");
    assert_eq!(body["status"], 404);

    let put = b"PUT /_index_template/t HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}";
    assert_eq!(exchange(&mut stream, put).await.0, 200);
    let (status, _, body) = exchange(&mut stream, get).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        serde_json::json!({"index_templates": [{"name": "t", "index_template": {}}]})
    );

    let bulk = concat!(
        "{\"create\":{\"_index\":\"i\",\"_id\":\"a\"}}\n{\"n\":1}\n",
        "{\"create\":{\"_index\":\"i\",\"_id\":\"a\"}}\n{\"n\":2}\n",
        "{\"index\":{\"_id\":\"b\"}}\n{\"n\":3}\n",
        "{\"index\":{\"_index\":\"i\",\"_id\":\"b\"}}\n{\"n\":4}\n",
        "{\"create\":{\"_index\":\"i\",\"_id\":\"c\"}}\nnot json\n",
    );
    let (status, _, body) = exchange(&mut stream, &post("/d/_bulk", bulk)).await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["errors"], true);
    let statuses: Vec<(String, u64)> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let (action, result) = item.as_object().unwrap().iter().next().unwrap();
            (action.clone(), result["status"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("create".into(), 201),
            ("create".into(), 409),
            ("index".into(), 201),
            ("index".into(), 200),
            ("create".into(), 400),
        ]
    );
    assert_eq!(
        body["items"][1]["create"]["error"]["type"],
        "version_conflict_engine_exception"
    );
    assert_eq!(server.document("a").unwrap().source, "{\"n\":1}");
    let b = server.document("b").unwrap();
    assert_eq!(
        (b.index.as_str(), b.source.as_str(), b.writes),
        ("i", "{\"n\":4}", 2)
    );

    let refresh = b"POST /i/_refresh HTTP/1.1\r\ncontent-length: 0\r\n\r\n";
    let (status, _, body) = exchange(&mut stream, refresh).await;
    assert_eq!((status, body.contains("_shards")), (200, true));
    let root = b"GET / HTTP/1.1\r\n\r\n";
    let (status, _, body) = exchange(&mut stream, root).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["version"]["number"],
        "9.1.0"
    );

    // Bodies that are not bulk requests are refused whole, with 400.
    for nonsense in [
        "{\"create\":{\"_id\":\"x\"}}\n{}\n",
        "[]\n",
        "{\"delete\":{\"_index\":\"i\",\"_id\":\"a\"}}\n",
        "{\"create\":{\"_index\":\"i\",\"_id\":\"x\"}}\n{}",
    ] {
        let (status, headers, body) = exchange(&mut stream, &post("/_bulk", nonsense)).await;
        assert_eq!(status, 400, "{nonsense:?}: {body}");
        assert_eq!(headers["x-elastic-product"], "Elasticsearch");
        assert!(serde_json::from_str::<Value>(&body).unwrap()["error"]["type"].is_string());
    }
    // Still one connection, and nothing stored by the refused requests.
    assert_eq!(server.counts().connections, 1);
    assert_eq!(server.document_count(), 2);

    // A request that cannot be framed is answered 400 and the connection closed.
    let (status, headers, _) = exchange(&mut stream, b"GARBAGE\r\n\r\n").await;
    assert_eq!((status, headers["connection"].as_str()), (400, "close"));
    let mut rest = Vec::new();
    assert_eq!(stream.read_to_end(&mut rest).await.unwrap(), 0);
    let counts = server.counts();
    assert_eq!(counts.bad_requests, 5, "{counts}");
}
