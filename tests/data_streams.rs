//! Data streams, ILM policies and time series data streams (TSDS) against
//! a loopback HTTP server answering as Elasticsearch documents.
//!
//! Bodies: `GET _ilm/policy` is answered in the shape of the
//! specification's `ilm/get_lifecycle/examples/response/
//! GetLifecycleResponseExample1.yaml`, `GET _data_stream` in that of
//! `indices/get_data_stream/indicesGetDataStreamResponseExample1.yaml`,
//! `GET {stream}/_ilm/explain` in that of `ilm/explain_lifecycle/examples/
//! response/ExplainLifecycleResponseExample1.yaml` (whose JSON lacks a
//! comma; written here as the reference documents it), and acknowledged
//! requests with `{"acknowledged": true}` as `ilm/put_lifecycle/examples/
//! response/PutLifecycleResponseExample1.yaml` shows (none of these files
//! is among the fixtures, so the bodies are written inline with the names
//! of this stream). The 404 answers and the TSDS rejection of a document
//! outside the write index's time bounds have no example: they are
//! written from the reference documentation of those APIs and of TSDS.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeZone, Utc};
use esrecord::Record;
use esrecord::config::Config;
use esrecord::metrics::Metric;
use esrecord::{CheckStatus, SetupOutcome, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A plain data stream, named like its template.
#[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[record(app_label = "shop", retention = "30d", data_stream)]
struct Checkout {
    timestamp: DateTime<Utc>,
    #[record(keyword)]
    store: String,
    total: f64,
}

/// A time series data stream, named by Elastic's convention.
#[derive(Record, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[record(
    app_label = "shop",
    name = "sales",
    retention = "90d",
    data_stream(type = "metrics", dataset = "shop.sales")
)]
struct SalesPoint {
    timestamp: DateTime<Utc>,
    #[record(keyword, dimension)]
    store: String,
    #[record(time_series_metric = "counter")]
    orders: u64,
    #[record(time_series_metric = "gauge")]
    basket: f64,
}

const CHECKOUT: &str = "shop_checkout";
const SALES: &str = "metrics-shop.sales-production";

fn config(url: &str, extra: &str) -> Config {
    Config::from_toml(&format!(
        r#"
[backends.default]
kind = "elasticsearch"
url = "{url}"
gzip = false
[backends.default.data_streams]
namespace = "production"
{extra}
"#
    ))
    .unwrap()
}

fn acknowledged() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"acknowledged": true}))
}

/// 404 as the get lifecycle policy reference documents a missing policy.
fn no_policy(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({
        "error": {"root_cause": [{"type": "resource_not_found_exception", "reason": format!("Lifecycle policy not found: {name}")}],
                  "type": "resource_not_found_exception", "reason": format!("Lifecycle policy not found: {name}")},
        "status": 404
    }))
}

/// 404 as the get data stream reference documents a missing stream.
fn no_stream(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({
        "error": {"root_cause": [{"type": "index_not_found_exception", "reason": format!("no such index [{name}]")}],
                  "type": "index_not_found_exception", "reason": format!("no such index [{name}]")},
        "status": 404
    }))
}

/// `GET _ilm/policy/{name}` holding `policy`, with what Elasticsearch adds.
fn stored_policy(name: &str, policy: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({name: {
        "version": 1,
        "modified_date": 82392349,
        "policy": policy,
        "in_use_by": {"indices": [], "data_streams": [], "composable_templates": []}
    }}))
}

/// The `policy` object Elasticsearch stores for a body esrecord puts: the
/// same, with the defaults it adds inside the actions.
fn as_stored(body: &Value) -> Value {
    let mut policy = body["policy"].clone();
    if let Some(delete) = policy.pointer_mut("/phases/delete/actions/delete") {
        *delete = json!({"delete_searchable_snapshot": true});
    }
    policy
}

/// The policy esrecord puts for `named`.
fn policy_of(named: &esrecord::RecordType) -> Value {
    let lifecycle = named.data_stream().unwrap().lifecycle().unwrap();
    esrecord::lifecycle::policy_body(named, lifecycle).unwrap()
}

/// A cluster on which `record_type` is set up under `config`.
async fn set_up(server: &MockServer, config: &Config, record_type: &esrecord::RecordType) {
    let named = config.named_type(record_type);
    cluster_holding(server, &named, &as_stored(&policy_of(&named))).await;
}

/// A search answer holding `hits`, in the search reference's shape.
fn search_answer(hits: Value) -> ResponseTemplate {
    let total = hits.as_array().map_or(0, Vec::len);
    ResponseTemplate::new(200).set_body_json(json!({
        "took": 1, "timed_out": false,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {"total": {"value": total, "relation": "eq"}, "max_score": null, "hits": hits}
    }))
}

fn requests_summary(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

#[test]
fn a_data_stream_template_has_data_stream_a_priority_above_200_and_the_policy() {
    let config = config("http://127.0.0.1:9", "");
    let named = config.named_type(Checkout::record_type());
    assert_eq!(named.data_stream().unwrap().name(), CHECKOUT);
    let body = named.template_body();
    assert_eq!(body["data_stream"], json!({}));
    assert!(body["priority"].as_u64().unwrap() > 200, "{body}");
    assert_eq!(body["index_patterns"], json!([CHECKOUT]));
    let settings = &body["template"]["settings"];
    assert_eq!(settings["index.lifecycle.name"], CHECKOUT);
    assert!(settings.get("index.mode").is_none(), "not a time series");
    // Elasticsearch requires `@timestamp` in a data stream.
    let properties = &body["template"]["mappings"]["properties"];
    assert_eq!(properties["@timestamp"]["type"], "date");
    assert_eq!(properties["timestamp"]["type"], "date");
    // Searches name the stream, whatever the range.
    assert_eq!(named.pattern(), CHECKOUT);
}

#[test]
fn a_time_series_template_marks_dimensions_and_metrics() {
    let config = config("http://127.0.0.1:9", "");
    let named = config.named_type(SalesPoint::record_type());
    let stream = named.data_stream().unwrap();
    assert_eq!(stream.name(), SALES, "{{type}}-{{dataset}}-{{namespace}}");
    assert!(stream.is_time_series());
    let body = named.template_body();
    assert_eq!(body["index_patterns"], json!([SALES]));
    let settings = &body["template"]["settings"];
    assert_eq!(settings["index.mode"], "time_series");
    assert_eq!(settings["index.routing_path"], json!(["store"]));
    let properties = &body["template"]["mappings"]["properties"];
    assert_eq!(
        properties["store"],
        json!({"type": "keyword", "time_series_dimension": true})
    );
    assert_eq!(properties["orders"]["time_series_metric"], "counter");
    assert_eq!(properties["basket"]["time_series_metric"], "gauge");
    // The template name stays the type's.
    assert_eq!(named.template_name(), "shop_sales");
}

#[test]
fn the_built_in_metric_type_is_stored_as_a_time_series_with_tags_as_dimensions() {
    let config = config("http://127.0.0.1:9", "");
    let named = config.named_type(Metric::record_type());
    let stream = named.data_stream().unwrap();
    assert_eq!(stream.name(), "esrecord_metric");
    assert!(stream.is_time_series());
    let body = named.template_body();
    let template = &body["template"];
    let routing: Vec<String> =
        serde_json::from_value(template["settings"]["index.routing_path"].clone()).unwrap();
    assert_eq!(routing, ["name", "kind", "tags.*"]);
    let properties = &template["mappings"]["properties"];
    assert_eq!(properties["name"]["time_series_dimension"], true);
    assert_eq!(properties["total"]["time_series_metric"], "counter");
    assert_eq!(properties["p99"]["time_series_metric"], "gauge");
    assert!(properties["unit"].get("time_series_metric").is_none());
    // Every tag becomes a keyword dimension as it arrives.
    let dynamic = template["mappings"]["dynamic_templates"].to_string();
    assert!(
        dynamic.contains("\"time_series_dimension\":true"),
        "{dynamic}"
    );
    assert!(dynamic.contains("tags.*"), "{dynamic}");
    // On the embedded engine (no section) it keeps its daily partitions.
    let embedded = Config::embedded("unused").named_type(Metric::record_type());
    assert!(embedded.data_stream().is_none());
    assert!(embedded.template_body().get("data_stream").is_none());
}

#[test]
fn the_policy_deletes_after_the_retention_and_rolls_over_as_configured() {
    let config = config(
        "http://127.0.0.1:9",
        "rollover_max_age = \"12h\"\nrollover_max_primary_shard_size = \"10gb\"\ndownsample_after = \"7d\"\ndownsample_interval = \"1h\"",
    );
    let plain = config.named_type(Checkout::record_type());
    let lifecycle = plain.data_stream().unwrap().lifecycle().unwrap();
    let body = esrecord::lifecycle::policy_body(&plain, lifecycle).unwrap();
    let phases = &body["policy"]["phases"];
    assert_eq!(
        phases["hot"],
        json!({"min_age": "0ms", "actions": {"rollover": {"max_age": "12h", "max_primary_shard_size": "10gb"}}})
    );
    assert_eq!(
        phases["delete"],
        json!({"min_age": "30d", "actions": {"delete": {}}})
    );
    // Downsampling applies to time series only.
    assert!(phases.get("warm").is_none(), "{phases}");
    let series = config.named_type(SalesPoint::record_type());
    let body = esrecord::lifecycle::policy_body(&series, lifecycle).unwrap();
    assert_eq!(
        body["policy"]["phases"]["warm"],
        json!({"min_age": "7d", "actions": {"downsample": {"fixed_interval": "1h"}}})
    );
    assert_eq!(body["policy"]["phases"]["delete"]["min_age"], "90d");
    assert_eq!(body["policy"]["_meta"]["managed_by"], "esrecord");
}

#[test]
fn defaults_are_one_day_and_fifty_gigabytes() {
    let config = config("http://127.0.0.1:9", "");
    let named = config.named_type(Checkout::record_type());
    let lifecycle = named.data_stream().unwrap().lifecycle().unwrap();
    let body = esrecord::lifecycle::policy_body(&named, lifecycle).unwrap();
    assert_eq!(
        body["policy"]["phases"]["hot"]["actions"]["rollover"],
        json!({"max_age": "1d", "max_primary_shard_size": "50gb"})
    );
}

#[test]
fn bad_sections_are_refused_with_the_key_and_what_to_write() {
    let refused = |extra: &str| {
        Config::from_toml(&format!(
            "[backends.default]\nkind = \"elasticsearch\"\nurl = \"http://127.0.0.1:9\"\n[backends.default.data_streams]\n{extra}\n"
        ))
        .unwrap_err()
        .to_string()
    };
    let message = refused("rollover_max_age = \"soon\"");
    assert!(message.contains("rollover_max_age"), "{message}");
    assert!(message.contains("\"1d\""), "{message}");
    let message = refused("namespace = \"prod-eu\"");
    assert!(message.contains("namespace"), "{message}");
    assert!(message.contains("`-`"), "{message}");
    let message = refused("rollover_max_agee = \"1d\"");
    assert!(message.contains("rollover_max_agee"), "{message}");
    let message = refused("rollover_max_primary_shard_size = \"lots\"");
    assert!(
        message.contains("rollover_max_primary_shard_size"),
        "{message}"
    );
    // Downsampling at or after the deletion would downsample nothing.
    let config = config(
        "http://127.0.0.1:9",
        "downsample_after = \"120d\"\ndownsample_interval = \"1h\"",
    );
    let series = config.named_type(SalesPoint::record_type());
    let message = series.validate().unwrap_err().to_string();
    assert!(message.contains("downsample_after"), "{message}");
    // The embedded engine has partitions, not streams.
    let message = Config::from_toml(
        "[backends.default]\nkind = \"embedded\"\npath = \"data\"\n[backends.default.data_streams]\n",
    )
    .unwrap_err()
    .to_string();
    assert!(message.contains("enforce_retention"), "{message}");
}

#[tokio::test]
async fn setup_puts_the_policy_then_the_template_then_creates_the_stream() {
    let server = MockServer::start().await;
    let config = config(&server.uri(), "");
    let named = config.named_type(Checkout::record_type());
    let policy = policy_of(&named);
    Mock::given(method("GET"))
        .and(path(format!("/_ilm/policy/{CHECKOUT}")))
        .respond_with(no_policy(CHECKOUT))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("/_ilm/policy/{CHECKOUT}")))
        .and(body_json(&policy))
        .respond_with(acknowledged())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/_index_template/{CHECKOUT}")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"root_cause": [], "type": "resource_not_found_exception", "reason": "index template matching [shop_checkout] not found"},
            "status": 404
        })))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("/_index_template/{CHECKOUT}")))
        .and(body_json(named.template_body()))
        .respond_with(acknowledged())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/_data_stream/{CHECKOUT}")))
        .respond_with(no_stream(CHECKOUT))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("/_data_stream/{CHECKOUT}")))
        .respond_with(acknowledged())
        .expect(1)
        .mount(&server)
        .await;
    let store = Store::with_config(config).unwrap();
    let report = store.setup_types(&[Checkout::record_type()]).await.unwrap();
    assert_eq!(
        report.entries,
        [
            (format!("{CHECKOUT} (ILM policy)"), SetupOutcome::Created),
            (CHECKOUT.to_owned(), SetupOutcome::Created),
            (format!("{CHECKOUT} (data stream)"), SetupOutcome::Created),
        ]
    );
    let order: Vec<String> = requests_summary(&server.received_requests().await.unwrap())
        .into_iter()
        .filter(|r| r.starts_with("PUT"))
        .collect();
    assert_eq!(
        order,
        [
            format!("PUT /_ilm/policy/{CHECKOUT}"),
            format!("PUT /_index_template/{CHECKOUT}"),
            format!("PUT /_data_stream/{CHECKOUT}"),
        ]
    );
}

/// A cluster holding `policy` (as stored) and the type's template, with
/// the stream created, whose refreshes succeed.
async fn cluster_holding(server: &MockServer, named: &esrecord::RecordType, policy: &Value) {
    Mock::given(method("GET"))
        .and(path_regex("/_refresh$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"_shards": {"total": 1, "successful": 1, "failed": 0}})),
        )
        .mount(server)
        .await;
    let name = named.template_name();
    Mock::given(method("GET"))
        .and(path(format!("/_ilm/policy/{name}")))
        .respond_with(stored_policy(&name, policy))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/_index_template/{name}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"index_templates": [{
                "name": name,
                "index_template": esrecord_tests::as_stored_by_elasticsearch(&named.template_body()),
            }]})),
        )
        .mount(server)
        .await;
    let stream = named.data_stream().unwrap().name().to_owned();
    Mock::given(method("GET"))
        .and(path(format!("/_data_stream/{stream}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data_streams": [{
            "name": stream,
            "timestamp_field": {"name": "@timestamp"},
            "indices": [
                {"index_name": format!(".ds-{stream}-2099.03.07-000001"), "index_uuid": "xCEhwsp8Tey0-FLNFYVwSg",
                 "prefer_ilm": true, "ilm_policy": name, "managed_by": "Index Lifecycle Management"},
                {"index_name": format!(".ds-{stream}-2099.03.08-000002"), "index_uuid": "PA_JquKGSiKcAKBA8DJ5gw",
                 "prefer_ilm": true, "ilm_policy": name, "managed_by": "Index Lifecycle Management"}
            ],
            "generation": 2,
            "status": "GREEN",
            "next_generation_managed_by": "Index Lifecycle Management",
            "prefer_ilm": true,
            "template": name,
            "ilm_policy": name,
            "hidden": false, "system": false, "allow_custom_routing": false,
            "replicated": false, "rollover_on_write": false
        }]})))
        .mount(server)
        .await;
    let explained = |index: String, phase: &str| {
        json!({
            "index": index, "managed": true, "policy": name,
            "index_creation_date_millis": 1538475653281u64, "lifecycle_date_millis": 1538475653281u64,
            "age": "15s", "phase": phase, "phase_time_millis": 1538475653317u64,
            "action": "complete", "action_time_millis": 1538475653317u64,
            "step": "complete", "step_time_millis": 1538475653317u64
        })
    };
    let first = format!(".ds-{stream}-2099.03.07-000001");
    let second = format!(".ds-{stream}-2099.03.08-000002");
    Mock::given(method("GET"))
        .and(path(format!("/{stream}/_ilm/explain")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"indices": {
            first.clone(): explained(first.clone(), "warm"),
            second.clone(): explained(second.clone(), "hot"),
        }})))
        .mount(server)
        .await;
}

#[tokio::test]
async fn check_reads_the_policy_as_stored_and_setup_leaves_what_is_in_sync() {
    let server = MockServer::start().await;
    let config = config(&server.uri(), "");
    set_up(&server, &config, Checkout::record_type()).await;
    let store = Store::with_config(config).unwrap();
    let report = store.check_types(&[Checkout::record_type()]).await.unwrap();
    assert!(report.is_in_sync(), "{report}");
    assert_eq!(report.entries.len(), 3, "{report}");
    let report = store.setup_types(&[Checkout::record_type()]).await.unwrap();
    assert!(
        report
            .entries
            .iter()
            .all(|(_, outcome)| *outcome == SetupOutcome::Unchanged),
        "{report}"
    );
    let puts = requests_summary(&server.received_requests().await.unwrap())
        .into_iter()
        .filter(|r| !r.starts_with("GET"))
        .count();
    assert_eq!(puts, 0);
}

#[tokio::test]
async fn a_changed_policy_is_drift_and_setup_replaces_it() {
    let server = MockServer::start().await;
    let config = config(&server.uri(), "");
    let named = config.named_type(Checkout::record_type());
    let policy = policy_of(&named);
    let mut changed = as_stored(&policy);
    changed["phases"]["delete"]["min_age"] = json!("7d");
    cluster_holding(&server, &named, &changed).await;
    Mock::given(method("PUT"))
        .and(path(format!("/_ilm/policy/{CHECKOUT}")))
        .and(body_json(&policy))
        .respond_with(acknowledged())
        .expect(1)
        .mount(&server)
        .await;
    let store = Store::with_config(config).unwrap();
    let report = store.check_types(&[Checkout::record_type()]).await.unwrap();
    let (name, status) = &report.entries[0];
    assert_eq!(name, &format!("{CHECKOUT} (ILM policy)"));
    let CheckStatus::Drifted(diff) = status else {
        panic!("{report}")
    };
    let text = diff
        .changes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>();
    assert!(
        text.iter()
            .any(|c| c.contains("delete") && c.contains("30d") && c.contains("7d")),
        "{text:?}"
    );
    let report = store.setup_types(&[Checkout::record_type()]).await.unwrap();
    assert!(
        matches!(report.entries[0].1, SetupOutcome::Updated(_)),
        "{report}"
    );
}

#[tokio::test]
async fn a_policy_esrecord_does_not_manage_is_left_alone_with_the_template() {
    let server = MockServer::start().await;
    let config = config(&server.uri(), "");
    let named = config.named_type(Checkout::record_type());
    // Someone's own policy under the same name (no `_meta.managed_by`).
    let foreign = json!({"phases": {"delete": {"min_age": "365d", "actions": {"delete": {}}}}});
    Mock::given(method("GET"))
        .and(path(format!("/_ilm/policy/{CHECKOUT}")))
        .respond_with(stored_policy(CHECKOUT, &foreign))
        .mount(&server)
        .await;
    let store = Store::with_config(config).unwrap();
    let report = store.setup_types(&[Checkout::record_type()]).await.unwrap();
    assert_eq!(report.entries.len(), 1, "{report}");
    assert!(
        matches!(&report.entries[0].1, SetupOutcome::Refused(reason) if reason.contains("does not manage")),
        "{report}"
    );
    let report = store.check_types(&[Checkout::record_type()]).await.unwrap();
    assert!(
        matches!(report.entries[0].1, CheckStatus::Foreign(_)),
        "{report}"
    );
    let sent: Vec<String> = requests_summary(&server.received_requests().await.unwrap())
        .into_iter()
        .filter(|r| !r.starts_with("GET"))
        .collect();
    assert!(sent.is_empty(), "{sent:?}");
    drop(named);
}

#[tokio::test]
async fn a_changed_template_rolls_the_stream_over() {
    let server = MockServer::start().await;
    let config = config(&server.uri(), "");
    let named = config.named_type(Checkout::record_type());
    let policy = policy_of(&named);
    // The stored template lacks the priority: drift.
    Mock::given(method("GET"))
        .and(path(format!("/_index_template/{CHECKOUT}")))
        .respond_with({
            let mut stored = esrecord_tests::as_stored_by_elasticsearch(&named.template_body());
            stored.as_object_mut().unwrap().remove("priority");
            ResponseTemplate::new(200).set_body_json(json!({"index_templates": [{
                "name": CHECKOUT, "index_template": stored,
            }]}))
        })
        .with_priority(1)
        .mount(&server)
        .await;
    cluster_holding(&server, &named, &as_stored(&policy)).await;
    Mock::given(method("PUT"))
        .and(path(format!("/_index_template/{CHECKOUT}")))
        .respond_with(acknowledged())
        .expect(1)
        .mount(&server)
        .await;
    // The rollover answer, as the rollover reference documents it.
    Mock::given(method("POST"))
        .and(path(format!("/{CHECKOUT}/_rollover")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "acknowledged": true, "shards_acknowledged": true,
            "old_index": format!(".ds-{CHECKOUT}-2099.03.08-000002"),
            "new_index": format!(".ds-{CHECKOUT}-2099.03.09-000003"),
            "rolled_over": true, "dry_run": false, "conditions": {}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let store = Store::with_config(config).unwrap();
    let report = store.check_types(&[Checkout::record_type()]).await.unwrap();
    let drift = report.to_string();
    assert!(drift.contains("priority"), "{drift}");
    let report = store.setup_types(&[Checkout::record_type()]).await.unwrap();
    assert!(
        matches!(report.entries[1].1, SetupOutcome::Updated(_)),
        "{report}"
    );
    assert_eq!(
        report.entries[2],
        (
            format!("{CHECKOUT} (data stream)"),
            SetupOutcome::RolledOver
        )
    );
}

#[tokio::test]
async fn indexes_lists_the_backing_indexes_with_generation_and_phase() {
    let server = MockServer::start().await;
    let config = config(&server.uri(), "");
    set_up(&server, &config, Checkout::record_type()).await;
    // cat/indices over the stream, as the cat indices reference shows.
    Mock::given(method("GET"))
        .and(path(format!("/_cat/indices/{CHECKOUT}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"index": format!(".ds-{CHECKOUT}-2099.03.07-000001"), "docs.count": "120", "store.size": "4096"},
            {"index": format!(".ds-{CHECKOUT}-2099.03.08-000002"), "docs.count": "7", "store.size": "1024"}
        ])))
        .mount(&server)
        .await;
    let store = Store::with_config(config).unwrap();
    let partitions = store.partitions(Checkout::record_type()).await.unwrap();
    let seen: Vec<(String, u64, u64, bool, Option<String>)> = partitions
        .iter()
        .map(|p| {
            let place = p.stream.as_ref().unwrap();
            (
                p.info.name.clone(),
                p.info.docs,
                place.generation,
                place.write_index,
                place.phase.clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                format!(".ds-{CHECKOUT}-2099.03.07-000001"),
                120,
                1,
                false,
                Some("warm".to_owned())
            ),
            (
                format!(".ds-{CHECKOUT}-2099.03.08-000002"),
                7,
                2,
                true,
                Some("hot".to_owned())
            ),
        ]
    );
    // ILM deletes them: nothing is expired for esrecord to delete.
    assert!(partitions.iter().all(|p| p.expires.is_none()));
}

/// Answers each `_bulk` with one `201 created` per document, as the bulk
/// reference shows, and keeps the bodies.
struct Created(std::sync::Mutex<Vec<String>>);

impl wiremock::Respond for Created {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let items: Vec<Value> = body
            .lines()
            .step_by(2)
            .map(|action| {
                let action: Value = serde_json::from_str(action).unwrap();
                let index = action["create"]["_index"].clone();
                json!({"create": {"_index": index, "_id": "WmN0cmVhdGVk", "status": 201, "result": "created"}})
            })
            .collect();
        self.0.lock().unwrap().push(body);
        ResponseTemplate::new(200)
            .set_body_json(json!({"took": 1, "errors": false, "items": items}))
    }
}

struct Shared<T>(std::sync::Arc<T>);

impl<T: wiremock::Respond> wiremock::Respond for Shared<T> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.respond(request)
    }
}

#[tokio::test]
async fn records_are_created_in_the_stream_with_timestamp_and_tsds_gets_no_id() {
    let server = MockServer::start().await;
    let config = config(&server.uri(), "");
    for record_type in [Checkout::record_type(), SalesPoint::record_type()] {
        let named = config.named_type(record_type);
        let policy = policy_of(&named);
        cluster_holding(&server, &named, &as_stored(&policy)).await;
    }
    let bodies = std::sync::Arc::new(Created(std::sync::Mutex::new(Vec::new())));
    Mock::given(method("POST"))
        .and(path("/_bulk"))
        .respond_with(Shared(std::sync::Arc::clone(&bodies)))
        .mount(&server)
        .await;
    let store = Store::with_config(config).unwrap();
    let at = Utc.with_ymd_and_hms(2099, 3, 8, 12, 0, 0).unwrap();
    store
        .record(Checkout {
            timestamp: at,
            store: "lyon".into(),
            total: 12.5,
        })
        .unwrap();
    store
        .record(SalesPoint {
            timestamp: at,
            store: "lyon".into(),
            orders: 3,
            basket: 4.2,
        })
        .unwrap();
    let stats = store.flush().await.unwrap();
    assert_eq!((stats.sent, stats.failed), (2, 0), "{stats:?}");
    let sent = bodies.0.lock().unwrap().join("");
    let lines: Vec<Value> = sent
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let action_of = |stream: &str| {
        lines
            .iter()
            .position(|l| l["create"]["_index"] == stream)
            .unwrap_or_else(|| panic!("no create into {stream}: {sent}"))
    };
    let plain = action_of(CHECKOUT);
    // A plain stream keeps esrecord's id (retries stay idempotent)...
    assert!(lines[plain]["create"]["_id"].is_string(), "{sent}");
    assert_eq!(lines[plain + 1]["@timestamp"], "2099-03-08T12:00:00Z");
    assert_eq!(lines[plain + 1]["timestamp"], "2099-03-08T12:00:00Z");
    // ...a time series refuses one: Elasticsearch makes it from the
    // dimensions and the timestamp.
    let series = action_of(SALES);
    assert!(lines[series]["create"].get("_id").is_none(), "{sent}");
    assert_eq!(lines[series + 1]["@timestamp"], "2099-03-08T12:00:00Z");
    assert!(!sent.contains("\"index\""), "only create: {sent}");
}

#[test]
fn a_spooled_record_gets_its_timestamp_when_the_batch_is_built() {
    let config = config("http://127.0.0.1:9", "");
    let named = config.named_type(Checkout::record_type());
    let at = Utc.with_ymd_and_hms(2099, 3, 8, 12, 0, 0).unwrap();
    let mut builder = esrecord::bulk::BulkBuilder::default();
    // As the spool holds it (a trailing newline), and an empty source.
    let spooled = b"{\"timestamp\":\"2099-03-08T12:00:00Z\",\"store\":\"lyon\",\"total\":1.5}\n";
    builder
        .push_source(&named, Some(at), "id-1", spooled)
        .unwrap();
    builder
        .push_source(&named, Some(at), "id-2", b"{}")
        .unwrap();
    let body = builder.finish();
    let text = String::from_utf8(body.bytes().to_vec()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0]["create"]["_index"], CHECKOUT);
    assert_eq!(lines[1]["@timestamp"], "2099-03-08T12:00:00Z");
    assert_eq!(lines[1]["store"], "lyon");
    assert_eq!(lines[3], json!({"@timestamp": "2099-03-08T12:00:00Z"}));
}

#[tokio::test]
async fn a_point_outside_the_writable_time_bounds_is_a_dead_letter_that_says_why() {
    let server = MockServer::start().await;
    let config = config(&server.uri(), "");
    set_up(&server, &config, SalesPoint::record_type()).await;
    // A TSDS rejection, as the time series reference describes it: the
    // document's timestamp is outside every writable backing index.
    Mock::given(method("POST"))
        .and(path("/_bulk"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "took": 1, "errors": true,
            "items": [{"create": {"_index": SALES, "status": 400, "error": {
                "type": "illegal_argument_exception",
                "reason": "the document timestamp [2001-01-01T00:00:00.000Z] is outside of ranges of currently writable indices [[2099-03-08T10:00:00.000Z,2099-03-08T14:00:00.000Z]]"
            }}}]
        })))
        .mount(&server)
        .await;
    let letters = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = std::sync::Arc::clone(&letters);
    let store = Store::builder()
        .config(config)
        .on_dead_letter(move |letter| kept.lock().unwrap().push(letter.clone()))
        .open()
        .unwrap();
    store
        .record(SalesPoint {
            timestamp: Utc.with_ymd_and_hms(2001, 1, 1, 0, 0, 0).unwrap(),
            store: "lyon".into(),
            orders: 1,
            basket: 1.0,
        })
        .unwrap();
    let stats = store.flush().await.unwrap();
    assert_eq!((stats.sent, stats.failed), (0, 1), "{stats:?}");
    let letters = letters.lock().unwrap();
    assert_eq!(letters.len(), 1, "never a silent loss");
    let reason = &letters[0].reason;
    assert!(reason.contains("outside of ranges"), "{reason}");
    assert!(
        reason.contains("look_ahead_time") || reason.contains("look_back_time"),
        "{reason}"
    );
}

#[tokio::test]
async fn searches_name_the_stream_and_filter_on_the_time_range() {
    let server = MockServer::start().await;
    let config = config(&server.uri(), "");
    let search = SalesPoint::search().range((2099, 3, 1), (2099, 3, 3));
    let sent = search.to_json().unwrap();
    assert!(sent.to_string().contains("\"range\""), "{sent}");
    Mock::given(method("POST"))
        .and(path(format!("/{SALES}/_search")))
        .and(body_json(&sent))
        .respond_with(search_answer(json!([
            {"_index": format!(".ds-{SALES}-2099.03.01-000001"), "_id": "a", "_score": null,
             "_source": {"@timestamp": "2099-03-02T00:00:00Z", "timestamp": "2099-03-02T00:00:00Z",
                         "store": "lyon", "orders": 5, "basket": 2.5}}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let store = Store::with_config(config).unwrap();
    let results = search.fetch(&store).await.unwrap();
    let records: Vec<&SalesPoint> = results.hits.iter().map(|hit| &hit.record).collect();
    assert_eq!(
        records,
        [&SalesPoint {
            timestamp: Utc.with_ymd_and_hms(2099, 3, 2, 0, 0, 0).unwrap(),
            store: "lyon".into(),
            orders: 5,
            basket: 2.5,
        }]
    );
}

#[tokio::test]
async fn a_downsampled_point_reads_with_its_gauges_as_the_intervals_mean() {
    let server = MockServer::start().await;
    let config = config(&server.uri(), "");
    let search = SalesPoint::search().range((2099, 3, 1), (2099, 3, 3));
    // A document of a downsampled backing index, in the shape the
    // downsampling reference gives: the gauge as an
    // `aggregate_metric_double`, the counter and the dimension as last
    // values.
    Mock::given(method("POST"))
        .and(path(format!("/{SALES}/_search")))
        .respond_with(search_answer(json!([
                {"_index": format!("downsample-1h-.ds-{SALES}-2099.03.01-000001"), "_id": "a", "_score": null,
                 "_source": {"@timestamp": "2099-03-01T10:00:00Z", "timestamp": "2099-03-01T10:00:00Z",
                             "store": "lyon", "orders": 40,
                             "basket": {"min": 1.0, "max": 5.0, "sum": 12.0, "value_count": 4}}},
                {"_index": format!(".ds-{SALES}-2099.03.02-000002"), "_id": "b", "_score": null,
                 "_source": {"@timestamp": "2099-03-02T00:00:00Z", "timestamp": "2099-03-02T00:00:00Z",
                             "store": "lyon", "orders": 41, "basket": 2.5}}
            ])))
        .mount(&server)
        .await;
    let store = Store::with_config(config).unwrap();
    let results = search.fetch(&store).await.unwrap();
    let baskets: Vec<(u64, f64)> = results
        .hits
        .iter()
        .map(|hit| (hit.record.orders, hit.record.basket))
        .collect();
    assert_eq!(baskets, [(40, 3.0), (41, 2.5)]);
}

#[tokio::test]
async fn a_document_that_does_not_read_still_says_so() {
    let server = MockServer::start().await;
    let config = config(&server.uri(), "");
    Mock::given(method("POST"))
        .and(path(format!("/{SALES}/_search")))
        .respond_with(search_answer(json!([
            {"_index": format!(".ds-{SALES}-2099.03.02-000002"), "_id": "b", "_score": null,
             "_source": {"timestamp": "2099-03-02T00:00:00Z", "store": "lyon", "orders": "many",
                         "basket": {"min": 1.0, "max": 5.0, "sum": 12.0, "value_count": 4}}}
        ])))
        .mount(&server)
        .await;
    let store = Store::with_config(config).unwrap();
    let error = SalesPoint::search()
        .range((2099, 3, 1), (2099, 3, 3))
        .fetch(&store)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("does not read as"), "{error}");
}

#[tokio::test]
async fn on_the_embedded_engine_data_stream_types_keep_their_partitions() {
    let dir = esrecord_tests::fresh_dir("data-streams-embedded");
    let store = Store::with_config(Config::embedded(dir)).unwrap();
    let at = Utc.with_ymd_and_hms(2099, 3, 8, 12, 0, 0).unwrap();
    store
        .record(SalesPoint {
            timestamp: at,
            store: "lyon".into(),
            orders: 3,
            basket: 4.2,
        })
        .unwrap();
    store
        .record(SalesPoint {
            timestamp: at,
            store: "nice".into(),
            orders: 1,
            basket: 2.0,
        })
        .unwrap();
    let stats = store.flush().await.unwrap();
    assert_eq!((stats.sent, stats.failed), (2, 0), "{stats:?}");
    let found = SalesPoint::search()
        .range((2099, 3, 8), (2099, 3, 9))
        .fetch(&store)
        .await
        .unwrap();
    assert_eq!(found.total, 2);
    let partitions = store.partitions(SalesPoint::record_type()).await.unwrap();
    let names: Vec<&str> = partitions.iter().map(|p| p.info.name.as_str()).collect();
    assert_eq!(names, ["shop_sales_2099.03.08"]);
    assert!(partitions[0].stream.is_none());
    assert!(partitions[0].expires.is_some(), "its retention applies");
    store.close().await.unwrap();
}
