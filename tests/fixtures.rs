//! Record types shared by the integration tests. They live in a library
//! crate, as an application's record types often do, so the tests also show
//! that types declared in another crate register and work.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use esrecord::{Composite, Record};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod fault_server;

/// Request latency percentiles: a composite stored as an object.
#[derive(Composite, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The example type of the design: app `shop`, daily partitions.
#[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[record(
    app_label = "shop",
    settings(number_of_shards = 2, refresh_interval = "5s")
)]
pub struct PageView {
    pub timestamp: DateTime<Utc>,
    pub item_id: u64,
    pub path: String,
    pub latency: Latency,
    pub tags: BTreeMap<String, String>,
}

/// A base shared by several record types (djelme's abstract record types),
/// flattened into each.
#[derive(Composite, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Origin {
    pub host: String,
    #[serde(rename = "dc")]
    pub datacenter: Option<String>,
}

/// Nested composite with its own composite and a renamed field.
#[derive(Composite, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    pub user_agent: String,
    pub remote_ip: IpAddr,
    pub latency: Option<Latency>,
}

/// Every supported field type, a composite, a nested composite, a flattened
/// base, maps, field attributes and serde renames; its mapping is pinned by
/// the snapshot test.
#[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[record(
    app_label = "lab",
    name = "everything",
    timedepth = "hour",
    dynamic = "strict",
    backend = "archive",
    retention = "90d",
    settings(
        number_of_replicas = 0,
        refresh_interval = "-1",
        codec = "best_compression",
        hidden = false,
        ratio = 0.5
    )
)]
#[serde(rename_all = "camelCase")]
pub struct Everything {
    #[record(timestamp)]
    pub happened_at: DateTime<Utc>,
    pub text_field: String,
    #[record(text)]
    pub message: String,
    #[record(keyword)]
    pub code: u32,
    pub flag: bool,
    pub tiny: i8,
    pub small: i16,
    pub medium: i32,
    pub large: i64,
    pub ubyte: u8,
    pub ushort: u16,
    pub uint: u32,
    pub ulong: u64,
    pub size: usize,
    pub offset: isize,
    pub ratio32: f32,
    pub ratio64: f64,
    pub local_time: DateTime<FixedOffset>,
    pub naive_time: NaiveDateTime,
    pub day: NaiveDate,
    pub id: Uuid,
    pub ip: IpAddr,
    pub ip4: Ipv4Addr,
    pub ip6: Ipv6Addr,
    pub maybe: Option<u64>,
    pub many: Vec<String>,
    pub boxed: Box<i32>,
    pub latency: Latency,
    pub client: Client,
    pub clients: Vec<Client>,
    #[serde(flatten)]
    pub origin: Origin,
    pub labels: BTreeMap<String, String>,
    pub counters: HashMap<String, u64>,
    pub gauges: BTreeMap<String, f64>,
    #[record(mapping = r#"{"type": "keyword", "ignore_above": 64}"#)]
    pub custom: String,
    #[serde(rename = "renamed_field")]
    pub original_name: i32,
    #[serde(skip)]
    pub not_stored: Vec<u8>,
}

/// A cyclic report: one document per (day, item), overwritten when recorded
/// again.
#[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[record(app_label = "shop", timedepth = "month", unique_together(item_id, day))]
pub struct DailyReport {
    pub timestamp: DateTime<Utc>,
    pub day: NaiveDate,
    pub item_id: u64,
    pub views: u64,
}

/// A record that is not a time series: one index.
#[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[record(app_label = "shop", simple, unique_together(key))]
pub struct Setting {
    pub key: String,
    pub value: String,
}

/// Custom template name and pattern.
#[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[record(
    app_label = "shop",
    template_name = "shop_pviews",
    template = "shop_pviews_*",
    timedepth = "year"
)]
pub struct LegacyView {
    pub timestamp: DateTime<Utc>,
}

/// One probe of a host: a composite in a list, holding a composite.
#[derive(Composite, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Probe {
    pub target: String,
    pub latency: Option<Latency>,
}

/// Uptime, merged into the record that holds it (flattened), with a rename.
#[derive(Composite, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Uptime {
    #[serde(rename = "uptime_s")]
    pub seconds: f64,
    pub booted_at: Option<DateTime<FixedOffset>>,
}

/// Host load: floats and dates at every depth (a composite, a list of
/// composites, a list of floats, a numeric map, a flattened composite), for
/// the checks made before a record is queued.
#[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[record(app_label = "lab")]
pub struct HostLoad {
    pub timestamp: DateTime<Utc>,
    pub host: String,
    pub latency: Latency,
    pub probes: Vec<Probe>,
    pub samples: Vec<f64>,
    pub load: BTreeMap<String, f64>,
    #[serde(rename = "temp_c")]
    pub temperature: Option<f32>,
    pub installed_on: NaiveDate,
    #[serde(flatten)]
    pub uptime: Uptime,
}

/// A support ticket: a subject searched as full text.
#[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[record(app_label = "support")]
pub struct Ticket {
    pub timestamp: DateTime<Utc>,
    #[record(text)]
    pub subject: String,
    pub priority: u8,
}

/// An `Everything` at `at` with a value in every field (a `None`, a
/// `u64::MAX`, a local time two hours east of UTC).
#[allow(clippy::unwrap_used)] // literals that always parse
pub fn everything(at: DateTime<Utc>) -> Everything {
    Everything {
        happened_at: at,
        text_field: "plain".into(),
        message: "the quick brown fox".into(),
        code: 404,
        flag: true,
        tiny: -8,
        small: -16_000,
        medium: -2_000_000_000,
        large: -9_000_000_000_000,
        ubyte: 255,
        ushort: 65_535,
        uint: 4_000_000_000,
        ulong: u64::MAX,
        size: 12_345,
        offset: -12_345,
        ratio32: 0.25,
        ratio64: 1.0 / 3.0,
        local_time: chrono::DateTime::parse_from_rfc3339("2024-03-05T07:08:09.123+02:00").unwrap(),
        naive_time: NaiveDate::from_ymd_opt(2024, 3, 5)
            .unwrap()
            .and_hms_milli_opt(1, 2, 3, 456)
            .unwrap(),
        day: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
        id: uuid::Uuid::from_u128(0x0192_0c3e_8f1a_7b2c_9d4e_5f6a_7b8c_9d0e),
        ip: "2001:db8::1".parse().unwrap(),
        ip4: "192.168.1.10".parse().unwrap(),
        ip6: "::1".parse().unwrap(),
        maybe: None,
        many: vec!["a".into(), "b".into()],
        boxed: Box::new(7),
        latency: Latency {
            p50_ms: 1.5,
            p99_ms: 9.75,
        },
        client: Client {
            user_agent: "curl/8".into(),
            remote_ip: "10.0.0.1".parse().unwrap(),
            latency: None,
        },
        clients: vec![Client {
            user_agent: "x".into(),
            remote_ip: "::2".parse().unwrap(),
            latency: Some(Latency {
                p50_ms: 2.0,
                p99_ms: 3.0,
            }),
        }],
        origin: Origin {
            host: "web-1".into(),
            datacenter: Some("ams".into()),
        },
        labels: BTreeMap::from([("team".into(), "checkout".into())]),
        counters: HashMap::from([("hits".into(), 12)]),
        gauges: BTreeMap::from([("load".into(), 0.75)]),
        custom: "custom".into(),
        original_name: 3,
        not_stored: Vec::new(),
    }
}

/// A fresh, empty directory for one test's data, below the system's
/// temporary directory.
pub fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("esrecord-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A store over fresh directories: `default` and `archive` backends (the
/// `Everything` type lives in `archive`), refreshing every 50 ms.
pub fn fresh_store(name: &str) -> esrecord::Result<esrecord::Store> {
    let dir = fresh_dir(name);
    let mut config = esrecord::config::Config::embedded(dir.join("default"));
    let archive = esrecord::config::BackendConfig {
        kind: esrecord::config::BackendKind::Embedded {
            path: dir.join("archive"),
            read_only: false,
        },
        index_prefix: "arch-".to_owned(),
        max_docs_per_second: None,
        data_streams: None,
    };
    config.backends.insert("archive".to_owned(), archive);
    config.writer.refresh_interval = std::time::Duration::from_millis(50);
    config.writer.batch_interval = std::time::Duration::from_millis(20);
    esrecord::Store::with_config(config)
}

/// A template body as Elasticsearch answers `GET _index_template/{name}`
/// with it after setup (as its reference shows a stored template):
/// settings nested under `index` and stringified; a data stream's
/// `data_stream` with the defaults Elasticsearch fills in.
pub fn as_stored_by_elasticsearch(body: &serde_json::Value) -> serde_json::Value {
    use serde_json::{Value, json};
    let mut index = json!({});
    if let Some(settings) = body["template"]["settings"].as_object() {
        for (key, value) in settings {
            let key = key.strip_prefix("index.").unwrap_or(key);
            let mut slot = &mut index;
            for part in key.split('.') {
                slot = &mut slot[part];
            }
            *slot = match value {
                Value::Number(_) | Value::Bool(_) => Value::String(value.to_string()),
                other => other.clone(),
            };
        }
    }
    let mut stored = json!({
        "index_patterns": body["index_patterns"],
        "composed_of": [],
        "template": {
            "settings": {"index": index},
            "mappings": body["template"]["mappings"],
        },
        "_meta": body["_meta"],
    });
    if let Some(priority) = body.get("priority") {
        stored["priority"] = priority.clone();
    }
    if body.get("data_stream").is_some() {
        stored["data_stream"] = json!({"hidden": false, "allow_custom_routing": false});
    }
    stored
}

/// The page view with `item_id`, `minutes` after the start of March 2024.
pub fn page_view(minutes: u64, item_id: u64) -> PageView {
    let start = chrono::NaiveDate::from_ymd_opt(2024, 3, 1)
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
        .and_utc();
    PageView {
        timestamp: start + chrono::Duration::minutes(minutes as i64),
        item_id,
        path: "/".into(),
        latency: Latency {
            p50_ms: 1.0,
            p99_ms: 2.0,
        },
        tags: BTreeMap::new(),
    }
}

/// A configuration whose default backend is the Elasticsearch cluster at
/// `url`, with request bodies uncompressed, so that test servers read them.
pub fn cluster_config(url: &str) -> esrecord::config::Config {
    let mut cluster = esrecord::config::ElasticsearchConfig::new(url);
    cluster.gzip = false;
    let mut config = esrecord::config::Config::embedded("unused");
    config.backends.insert(
        "default".into(),
        esrecord::config::BackendConfig {
            kind: esrecord::config::BackendKind::Elasticsearch(cluster),
            index_prefix: String::new(),
            max_docs_per_second: None,
            data_streams: None,
        },
    );
    config
}

/// A command that runs the ignored test `test` of the running test binary
/// alone, as a child process (how the multi-process tests start theirs),
/// with its standard output piped to the parent.
pub fn child_test(test: &str) -> std::io::Result<std::process::Command> {
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command
        .args([
            "--ignored",
            "--exact",
            test,
            "--nocapture",
            "--test-threads=1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit());
    Ok(command)
}
