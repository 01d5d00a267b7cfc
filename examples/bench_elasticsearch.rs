//! The Elasticsearch client's own cost: esrecord writing page views through
//! `store.record` + `flush` to a loopback HTTP sink that answers `_bulk`
//! like Elasticsearch, against (1) the official Python client's
//! `streaming_bulk` sending the same documents to the same sink, and (2)
//! the sink's ceiling: the same bulk bodies, built beforehand, posted in a
//! loop; and (3) `serde_json` alone serializing the records, the floor of
//! any client that sends them as JSON. See BENCHMARKS.md; `scripts/bench-elasticsearch` installs the
//! Python client in a virtualenv and runs this.
//!
//! `cargo run --release --example bench_elasticsearch -- [EVENTS] [PYTHON] [SERVE_URL]`
//! (defaults: 1,000,000 events; no Python run without an interpreter that
//! has the `elasticsearch` package). With `SERVE_URL`, a `records serve`
//! of the example application on a fresh store, the Python client also
//! sends the documents there: what the endpoint costs against the sink
//! (`scripts/bench-serve` starts one and runs this).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::{TimeZone, Utc};
use esrecord::backend::Backend;
use esrecord::backend::elasticsearch::ElasticsearchBackend;
use esrecord::bulk::{BulkBody, BulkBuilder};
use esrecord::config::{BackendConfig, BackendKind, Config, ElasticsearchConfig};
use esrecord::{Record, Store};
use esrecord_examples::{Latency, PageView};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let events: u64 = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let python = args.next();
    let serve_url = args.next();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let sink = runtime.block_on(Sink::start())?;
    let views = generate(events);
    println!(
        "{events} page views, sink at {}, {} cores\n",
        sink.url,
        std::thread::available_parallelism()?.get()
    );

    let ours = runtime.block_on(esrecord_run(&sink, views.clone()))?;
    let ceiling = runtime.block_on(ceiling_run(&sink, &views))?;
    let serialization = serialization_only(&views)?;
    let python_rate = match &python {
        Some(python) => Some(python_run(&sink, python, &views)?),
        None => None,
    };
    let serve_rate = match (&python, &serve_url) {
        (Some(python), Some(url)) => Some(serve_run(url, python, &views)?),
        _ => None,
    };

    println!("| measure | docs/s | esrecord's ratio |");
    println!("|---|---|---|");
    println!("| esrecord, `store.record` + `flush` | {ours:.0} | |");
    println!(
        "| sink ceiling (pre-built bodies posted in a loop) | {ceiling:.0} | {:.2} |",
        ours / ceiling
    );
    println!(
        "| `serde_json` alone: the records serialized on one thread, nothing sent | {serialization:.0} | {:.2} |",
        ours / serialization
    );
    match python_rate {
        Some(rate) => println!(
            "| Python `elasticsearch.helpers.streaming_bulk` | {rate:.0} | {:.1} |",
            ours / rate
        ),
        None => println!(
            "| Python client | not run: give a Python with the `elasticsearch` package | |"
        ),
    }
    if let (Some(serve), Some(sink)) = (serve_rate, python_rate) {
        println!(
            "\n| Python `streaming_bulk` into | docs/s | ratio to the sink |\n|---|---|---|\n| the sink | {sink:.0} | 1.00 |\n| `records serve` (embedded store, written and searchable before each answer) | {serve:.0} | {:.2} |",
            serve / sink
        );
    }
    Ok(())
}

fn generate(events: u64) -> Vec<PageView> {
    let start = Utc
        .with_ymd_and_hms(2024, 3, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    (0..events)
        .map(|i| PageView {
            timestamp: start + chrono::Duration::seconds((i * 2_592_000 / events.max(1)) as i64),
            item_id: i % 50,
            path: ["/", "/items", "/items/42", "/cart", "/checkout"][(i % 5) as usize].to_owned(),
            latency: Latency {
                p50_ms: 5.0 + (i % 200) as f64 / 10.0,
                p99_ms: 20.0 + (i % 800) as f64 / 10.0,
            },
            tags: BTreeMap::from([(
                "platform".into(),
                ["linux", "macos", "windows"][(i % 3) as usize].into(),
            )]),
        })
        .collect()
}

/// The records serialized by `serde_json` into a reused buffer on one
/// thread, with no ids, no action lines and no I/O: what any client that
/// sends these records as JSON pays before the first byte goes out.
fn serialization_only(views: &[PageView]) -> Result<f64, Failure> {
    let mut buffer = Vec::with_capacity(8 << 20);
    let started = Instant::now();
    for chunk in views.chunks(10_000) {
        buffer.clear();
        for view in chunk {
            serde_json::to_writer(&mut buffer, view)?;
            buffer.push(b'\n');
        }
        std::hint::black_box(&buffer);
    }
    Ok(views.len() as f64 / started.elapsed().as_secs_f64())
}

fn cluster(sink: &Sink) -> ElasticsearchConfig {
    let mut cluster = ElasticsearchConfig::new(sink.url.clone());
    // The sink counts documents in plain bodies; the Python client sends
    // them uncompressed too.
    cluster.gzip = false;
    cluster
}

/// Documents per bulk request in every run: the figures in BENCHMARKS.md
/// were measured with 10,000 (Elasticsearch's default is now 1,000).
const BATCH: usize = 10_000;

async fn esrecord_run(sink: &Sink, views: Vec<PageView>) -> Result<f64, Failure> {
    let mut config = Config::embedded("unused");
    config.writer.batch_size = Some(BATCH);
    config.backends.insert(
        "default".into(),
        BackendConfig {
            kind: BackendKind::Elasticsearch(cluster(sink)),
            index_prefix: String::new(),
            max_docs_per_second: None,
            data_streams: None,
        },
    );
    let store = Store::with_config(config)?;
    store.setup_types(&[PageView::record_type()]).await?;
    let count = views.len() as u64;
    let before = sink.docs.load(Ordering::Relaxed);
    let started = Instant::now();
    for view in views {
        store.record(view)?;
    }
    let report = store.flush().await?;
    let elapsed = started.elapsed();
    let received = sink.docs.load(Ordering::Relaxed) - before;
    if report.sent != count || received != count {
        return Err(format!(
            "esrecord sent {} of {count}, the sink got {received}",
            report.sent
        )
        .into());
    }
    store.close().await?;
    Ok(count as f64 / elapsed.as_secs_f64())
}

/// The documents as esrecord sends them, as bulk bodies of `batch`
/// documents each.
fn bulk_bodies(views: &[PageView], batch: usize) -> Result<Vec<BulkBody>, Failure> {
    let record_type = PageView::record_type();
    let mut bodies = Vec::new();
    let mut builder = BulkBuilder::default();
    for view in views {
        let id = uuid::Uuid::now_v7().to_string();
        builder.push_record(record_type, view, &id)?;
        if builder.len() == batch {
            bodies.push(builder.finish());
        }
    }
    if !builder.is_empty() {
        bodies.push(builder.finish());
    }
    Ok(bodies)
}

/// Bodies of the benchmark's batch size, built before the clock starts,
/// then posted one after another through the same client.
async fn ceiling_run(sink: &Sink, views: &[PageView]) -> Result<f64, Failure> {
    let bodies = bulk_bodies(views, BATCH)?;
    let backend = ElasticsearchBackend::connect(&cluster(sink))?;
    let before = sink.docs.load(Ordering::Relaxed);
    let started = Instant::now();
    for body in bodies {
        backend.bulk(body).await?;
    }
    let elapsed = started.elapsed();
    let received = sink.docs.load(Ordering::Relaxed) - before;
    Ok(received as f64 / elapsed.as_secs_f64())
}

fn python_run(sink: &Sink, python: &str, views: &[PageView]) -> Result<f64, Failure> {
    let before = sink.docs.load(Ordering::Relaxed);
    let seconds = python_streaming_bulk(&sink.url, python, views)?;
    let received = sink.docs.load(Ordering::Relaxed) - before;
    if received != views.len() as u64 {
        return Err(format!("the Python client delivered {received} of {}", views.len()).into());
    }
    Ok(received as f64 / seconds)
}

/// The Python client's `streaming_bulk` into `records serve` at `url`,
/// checked by counting what the endpoint then holds.
fn serve_run(url: &str, python: &str, views: &[PageView]) -> Result<f64, Failure> {
    let seconds = python_streaming_bulk(url, python, views)?;
    let count = std::process::Command::new(python)
        .args(["-c", "import sys; from elasticsearch import Elasticsearch; print(Elasticsearch(sys.argv[1]).count(index='shop_pageview_*')['count'])", url])
        .output()?;
    let held: u64 = String::from_utf8_lossy(&count.stdout).trim().parse()?;
    if held != views.len() as u64 {
        return Err(format!("records serve holds {held} of {} documents", views.len()).into());
    }
    Ok(held as f64 / seconds)
}

/// Runs `bench_elasticsearch.py` with the views as `create` actions
/// against `url`; the seconds it took.
fn python_streaming_bulk(url: &str, python: &str, views: &[PageView]) -> Result<f64, Failure> {
    let path =
        std::env::temp_dir().join(format!("esrecord-bench-es-{}.ndjson", std::process::id()));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
    for body in bulk_bodies(views, views.len().max(1))? {
        for item in body.entries() {
            let source: serde_json::Value = serde_json::from_slice(item.source)?;
            let line = serde_json::json!({"_index": item.index, "_id": item.id, "_source": source});
            writeln!(file, "{line}")?;
        }
    }
    file.flush()?;
    drop(file);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench_elasticsearch.py");
    let output = std::process::Command::new(python)
        .arg(script)
        .arg(url)
        .arg(&path)
        .output()?;
    let _ = std::fs::remove_file(&path);
    if !output.status.success() {
        return Err(format!(
            "the Python client failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let result: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    result["seconds"]
        .as_f64()
        .ok_or_else(|| "no seconds from the Python run".into())
}

/// A loopback HTTP/1.1 server that answers as Elasticsearch does for what
/// the clients send, counting the documents of `_bulk` bodies.
struct Sink {
    url: String,
    docs: Arc<AtomicU64>,
}

impl Sink {
    async fn start() -> std::io::Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let docs = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&docs);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let counter = Arc::clone(&counter);
                tokio::spawn(async move {
                    let _ = serve(stream, &counter).await;
                });
            }
        });
        Ok(Sink { url, docs })
    }
}

async fn serve(stream: TcpStream, docs: &AtomicU64) -> std::io::Result<()> {
    let mut stream = BufReader::new(stream);
    let mut line = String::new();
    let mut body = Vec::new();
    loop {
        line.clear();
        if stream.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        );
        let mut length = 0usize;
        loop {
            line.clear();
            stream.read_line(&mut line).await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        body.resize(length, 0);
        stream.read_exact(&mut body).await?;
        let answer = respond(&method, &path, &body, docs);
        // Head and body in one write: two small writes meet the client's
        // delayed ACK (Nagle), a 40 ms stall per request.
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-elastic-product: Elasticsearch\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        );
        stream.get_mut().write_all(response.as_bytes()).await?;
    }
}

fn respond(method: &str, path: &str, body: &[u8], docs: &AtomicU64) -> String {
    let path = path.split('?').next().unwrap_or("");
    if path.ends_with("/_bulk") {
        let lines = body
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count();
        let count = lines / 2;
        docs.fetch_add(count as u64, Ordering::Relaxed);
        let item = r#"{"create":{"status":201}}"#;
        let mut answer = String::with_capacity(40 + count * (item.len() + 1));
        answer.push_str(r#"{"took":1,"errors":false,"items":["#);
        for i in 0..count {
            if i > 0 {
                answer.push(',');
            }
            answer.push_str(item);
        }
        answer.push_str("]}");
        return answer;
    }
    if let Some(name) = path.strip_prefix("/_index_template/") {
        return if method == "GET" {
            format!(r#"{{"index_templates":[{{"name":"{name}","index_template":{{}}}}]}}"#)
        } else {
            r#"{"acknowledged":true}"#.to_owned()
        };
    }
    if path.ends_with("/_refresh") {
        return r#"{"_shards":{"total":1,"successful":1,"failed":0}}"#.to_owned();
    }
    r#"{"name":"sink","cluster_name":"sink","version":{"number":"9.1.0"},"tagline":"You Know, for Search"}"#.to_owned()
}
