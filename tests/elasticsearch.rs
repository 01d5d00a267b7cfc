//! The Elasticsearch backend against a loopback HTTP server: every request
//! is checked (method, path, query, headers, body) and answered with the
//! bodies Elasticsearch documents. Bodies come from
//! `shared/fixtures/elasticsearch-spec-examples/` (named at each use);
//! where the specification has no example, the body is written from
//! Elasticsearch's reference documentation and says so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use esrecord::backend::Backend;
use esrecord::backend::elasticsearch::ElasticsearchBackend;
use esrecord::bulk::{BulkAction, BulkBody, BulkBuilder};
use esrecord::config::{Auth, ElasticsearchConfig};
use esrecord::{Error, Secret};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The `value` of a documented example: JSON text in a YAML string.
fn example(relative: &str) -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/elasticsearch-spec-examples");
    let text = std::fs::read_to_string(root.join(relative))
        .unwrap_or_else(|e| panic!("fixture {relative}: {e}"));
    let yaml: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let value = yaml.get("value").and_then(|v| v.as_str()).unwrap();
    serde_json::from_str(value).unwrap()
}

fn backend(server: &MockServer, auth: Auth, gzip: bool) -> ElasticsearchBackend {
    let mut config = ElasticsearchConfig::new(server.uri());
    config.auth = auth;
    config.gzip = gzip;
    ElasticsearchBackend::connect(&config).unwrap()
}

fn plain(server: &MockServer) -> ElasticsearchBackend {
    backend(server, Auth::None, false)
}

fn body(items: &[(BulkAction, &str, Value)]) -> BulkBody {
    let mut builder = BulkBuilder::default();
    for (action, id, source) in items {
        let source = serde_json::to_vec(source).unwrap();
        builder
            .push(*action, "shop-pageview-2024.03.01", id, &source)
            .unwrap();
    }
    builder.finish()
}

#[tokio::test]
async fn templates_are_put_as_built_and_read_back() {
    let server = MockServer::start().await;
    let body = json!({"index_patterns": ["shop-pageview-*"], "template": {"mappings": {"dynamic": "strict"}}});
    // Acknowledged, as the put index template reference documents.
    Mock::given(method("PUT"))
        .and(path("/_index_template/shop_pageview"))
        .and(header("content-type", "application/json"))
        .and(body_json(&body))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"acknowledged": true})))
        .expect(1)
        .mount(&server)
        .await;
    // indices/get_index_template/examples/200_response/GetIndexTemplateResponseExample1.yaml
    Mock::given(method("GET"))
        .and(path("/_index_template/my-index-template"))
        .respond_with(ResponseTemplate::new(200).set_body_json(example(
            "indices/get_index_template/examples/200_response/GetIndexTemplateResponseExample1.yaml",
        )))
        .mount(&server)
        .await;
    // A missing template: 404 with resource_not_found_exception, as the
    // get index template reference documents.
    Mock::given(method("GET"))
        .and(path("/_index_template/missing"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"root_cause": [], "type": "resource_not_found_exception", "reason": "index template matching [missing] not found"},
            "status": 404
        })))
        .mount(&server)
        .await;
    let backend = plain(&server);
    backend.put_template("shop_pageview", &body).await.unwrap();
    let stored = backend
        .get_template("my-index-template")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored["index_patterns"], json!(["logs-*"]));
    assert_eq!(
        stored["template"]["settings"]["index"]["number_of_shards"],
        "1"
    );
    assert_eq!(backend.get_template("missing").await.unwrap(), None);
}

#[tokio::test]
async fn bulk_sends_one_ndjson_request_and_reads_each_item() {
    let server = MockServer::start().await;
    // _global/bulk/examples/response/BulkResponseExample2.yaml: two failed
    // items with their error, one created.
    Mock::given(method("POST"))
        .and(path("/_bulk"))
        .and(header("content-type", "application/x-ndjson"))
        .respond_with(ResponseTemplate::new(200).set_body_json(example(
            "_global/bulk/examples/response/BulkResponseExample2.yaml",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let items = body(&[
        (BulkAction::Create, "a", json!({"n": 1})),
        (BulkAction::Index, "b", json!({"n": "two"})),
        (BulkAction::Create, "c", json!({"n": 3})),
    ]);
    let results = plain(&server).bulk(items).await.unwrap();
    assert_eq!(
        results.iter().map(|r| r.status).collect::<Vec<_>>(),
        [404, 404, 201]
    );
    assert!(results[0].is_failure() && results[1].is_failure() && !results[2].is_failure());
    assert_eq!(
        results[0].error_type.as_deref(),
        Some("document_missing_exception")
    );
    assert_eq!(results[0].reason.as_deref(), Some("[5]: document missing"));

    let requests = server.received_requests().await.unwrap();
    let body = String::from_utf8(requests[0].body.clone()).unwrap();
    let lines: Vec<Value> = body
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            json!({"create": {"_index": "shop-pageview-2024.03.01", "_id": "a"}}),
            json!({"n": 1}),
            json!({"index": {"_index": "shop-pageview-2024.03.01", "_id": "b"}}),
            json!({"n": "two"}),
            json!({"create": {"_index": "shop-pageview-2024.03.01", "_id": "c"}}),
            json!({"n": 3}),
        ]
    );
    assert!(body.ends_with('\n'), "NDJSON ends with a newline");
}

#[tokio::test]
async fn a_successful_item_may_carry_a_null_error() {
    let server = MockServer::start().await;
    // _global/bulk/examples/response/BulkResponseExample1.yaml, with
    // `"error": null` added to its first item as some servers send it.
    let mut answer = example("_global/bulk/examples/response/BulkResponseExample1.yaml");
    answer["items"][0]["index"]["error"] = Value::Null;
    Mock::given(method("POST"))
        .and(path("/_bulk"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    let ids = ["0", "1", "2", "3"];
    let items: Vec<_> = ids
        .iter()
        .map(|id| (BulkAction::Create, *id, json!({"i": id})))
        .collect();
    let results = plain(&server).bulk(body(&items)).await.unwrap();
    assert_eq!(
        results.iter().map(|r| r.is_failure()).collect::<Vec<_>>(),
        [false, true, false, false]
    );
}

#[tokio::test]
async fn search_names_the_patterns_and_ignores_missing_indexes() {
    let server = MockServer::start().await;
    let body = json!({"query": {"term": {"path": "/cart"}}, "size": 20, "from": 40});
    // _global/search/examples/200_response/SearchResponseExample1.yaml
    Mock::given(method("POST"))
        .and(path(
            "/shop-pageview-2024.03.01,shop-pageview-2024.03.02/_search",
        ))
        .and(query_param("ignore_unavailable", "true"))
        .and(query_param("allow_no_indices", "true"))
        .and(body_json(&body))
        .respond_with(ResponseTemplate::new(200).set_body_json(example(
            "_global/search/examples/200_response/SearchResponseExample1.yaml",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let patterns = [
        "shop-pageview-2024.03.01".to_owned(),
        "shop-pageview-2024.03.02".to_owned(),
    ];
    let response = plain(&server)
        .search(&patterns, &body)
        .await
        .unwrap()
        .into_response()
        .unwrap();
    assert_eq!(response.hits.total.map(|t| t.value), Some(20));
    let first = &response.hits.hits[0];
    assert_eq!(
        (first.index.as_str(), first.id.as_str()),
        ("my-index-000001", "0")
    );
    let source: Value = serde_json::from_str(first.source.as_ref().unwrap().get()).unwrap();
    assert_eq!(source["http"]["response"]["status_code"], 200);
}

#[tokio::test]
async fn a_search_without_patterns_is_refused_rather_than_searching_everything() {
    let server = MockServer::start().await;
    let error = plain(&server)
        .search(&[], &json!({"query": {"match_all": {}}}))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("at least one index pattern"),
        "{error}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn indices_are_listed_with_counts_and_sizes() {
    let server = MockServer::start().await;
    // cat/indices/examples/200_response/CatIndicesResponseExample1.yaml
    // (sizes with units, as without bytes=b; esrecord asks for bytes=b and
    // reads both).
    Mock::given(method("GET"))
        .and(path("/_cat/indices/my-index-*"))
        .and(query_param("format", "json"))
        .and(query_param("bytes", "b"))
        .respond_with(ResponseTemplate::new(200).set_body_json(example(
            "cat/indices/examples/200_response/CatIndicesResponseExample1.yaml",
        )))
        .mount(&server)
        .await;
    let indices = plain(&server).indices("my-index-*").await.unwrap();
    assert_eq!(indices.len(), 2);
    assert_eq!(indices[0].name, "my-index-000001");
    assert_eq!(indices[0].docs, 1200);
    assert_eq!(indices[0].bytes, 90_214); // 88.1kb
    assert_eq!((indices[1].docs, indices[1].bytes), (0, 260));
}

#[tokio::test]
async fn delete_and_refresh() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/shop-pageview-2024.03.01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"acknowledged": true})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/_bulk"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "took": 1, "errors": false,
            "items": [{"create": {"_index": "shop-pageview-2024.03.01", "_id": "a", "status": 201}}]
        })))
        .mount(&server)
        .await;
    // The refresh reference documents `_shards` counts as the answer.
    Mock::given(method("GET"))
        .and(path("/shop-pageview-2024.03.01/_refresh"))
        .and(query_param("ignore_unavailable", "true"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"_shards": {"total": 2, "successful": 1, "failed": 0}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let backend = plain(&server);
    backend
        .delete_index("shop-pageview-2024.03.01")
        .await
        .unwrap();
    // Nothing written: nothing to refresh, no request.
    backend.refresh().await.unwrap();
    // A refresh names the indexes written since the one before.
    backend
        .bulk(body(&[(BulkAction::Create, "a", json!({"n": 1}))]))
        .await
        .unwrap();
    backend.refresh().await.unwrap();
    backend.refresh().await.unwrap();
}

/// An error answer as Elasticsearch's REST API documents error bodies.
fn error_body(status: u16, error_type: &str, reason: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": {
            "root_cause": [{"type": error_type, "reason": reason}],
            "type": error_type,
            "reason": reason,
            "caused_by": null
        },
        "status": status
    }))
}

async fn failing(answer: ResponseTemplate) -> Error {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(answer)
        .mount(&server)
        .await;
    plain(&server)
        .put_template("t", &json!({"index_patterns": ["t-*"]}))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn errors_say_whether_to_retry_and_what_to_do() {
    let busy = failing(error_body(
        429,
        "es_rejected_execution_exception",
        "rejected execution",
    ))
    .await;
    assert!(busy.is_retryable(), "{busy}");
    for status in [502, 503, 504] {
        let error =
            failing(ResponseTemplate::new(status).set_body_string("<html>bad gateway</html>"))
                .await;
        assert!(error.is_retryable(), "{error}");
        assert!(error.to_string().contains("bad gateway"), "{error}");
    }
    let mapping = failing(error_body(
        400,
        "mapper_parsing_exception",
        "failed to parse field [n] of type [long]",
    ))
    .await;
    assert!(!mapping.is_retryable());
    let text = mapping.to_string();
    assert!(
        text.contains("400 mapper_parsing_exception: failed to parse field [n]"),
        "{text}"
    );
    let denied = failing(error_body(
        401,
        "security_exception",
        "missing authentication credentials",
    ))
    .await;
    assert!(!denied.is_retryable());
    assert!(
        denied.to_string().contains("credentials were refused"),
        "{denied}"
    );
    let missing = failing(error_body(
        404,
        "index_not_found_exception",
        "no such index [x]",
    ))
    .await;
    assert!(!missing.is_retryable());
    assert!(missing.to_string().contains("run setup"), "{missing}");

    // A 200 whose body is not the JSON Elasticsearch documents.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("not json"))
        .mount(&server)
        .await;
    let error = plain(&server)
        .bulk(body(&[(BulkAction::Create, "a", json!({}))]))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("not what Elasticsearch documents"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unreachable_cluster_is_a_retryable_error() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = ElasticsearchConfig::new(format!("http://127.0.0.1:{port}"));
    let backend = ElasticsearchBackend::connect(&config).unwrap();
    let error = backend.indices("shop-*").await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(
        error.to_string().contains("could not be reached"),
        "{error}"
    );
}

async fn authorization(auth: Auth) -> String {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    backend(&server, auth, false)
        .indices("shop-*")
        .await
        .unwrap();
    let requests: Vec<Request> = server.received_requests().await.unwrap();
    requests[0]
        .headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn each_kind_of_credentials_is_sent_as_elasticsearch_expects() {
    assert_eq!(authorization(Auth::None).await, "");
    let basic = Auth::Basic {
        username: "app".into(),
        password: Secret::new("s3cret"),
    };
    // base64("app:s3cret")
    assert_eq!(authorization(basic).await, "Basic YXBwOnMzY3JldA==");
    assert_eq!(
        authorization(Auth::ApiKey(Secret::new("aWQ6a2V5"))).await,
        "ApiKey aWQ6a2V5"
    );
    assert_eq!(
        authorization(Auth::Bearer(Secret::new("tok"))).await,
        "Bearer tok"
    );
}

#[tokio::test]
async fn bodies_are_gzipped_when_asked() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/_bulk"))
        .and(header("content-encoding", "gzip"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "took": 1, "errors": false,
            "items": [{"create": {"_index": "shop-pageview-2024.03.01", "_id": "a", "status": 201}}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let results = backend(&server, Auth::None, true)
        .bulk(body(&[(BulkAction::Create, "a", json!({"n": 1}))]))
        .await
        .unwrap();
    assert!(!results[0].is_failure());
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].body[..2], [0x1f, 0x8b], "a gzip stream");
}

#[tokio::test]
async fn secrets_stay_out_of_debug_output_and_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(error_body(
            401,
            "security_exception",
            "unable to authenticate user [app]",
        ))
        .mount(&server)
        .await;
    let mut config =
        ElasticsearchConfig::from_url(&format!("http://app:hunter2@{}", server.address())).unwrap();
    config.ca_certificate = None;
    let shown = format!("{config:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    let backend = ElasticsearchBackend::connect(&config).unwrap();
    assert!(!format!("{backend:?}").contains("hunter2"));
    let error = backend.indices("shop-*").await.unwrap_err();
    assert!(!error.to_string().contains("hunter2"), "{error}");
    assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
    let requests = server.received_requests().await.unwrap();
    assert!(requests[0].headers.contains_key("authorization"));

    let toml = r#"
        [backends.default]
        kind = "elasticsearch"
        url = "https://es.example:9200"
        username = "app"
        password_env = "ESRECORD_TEST_PASSWORD_THAT_IS_NOT_SET"
    "#;
    let error = esrecord::config::Config::from_toml(toml).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("ESRECORD_TEST_PASSWORD_THAT_IS_NOT_SET is not set"),
        "{error}"
    );
}

#[tokio::test]
async fn toml_configures_urls_auth_timeout_and_gzip() {
    let dir = std::env::temp_dir().join(format!("esrecord-es-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("api-key");
    std::fs::write(&key_file, "aWQ6a2V5\n").unwrap();
    let toml = format!(
        r#"
        [backends.default]
        kind = "elasticsearch"
        urls = ["https://es1.example:9200", "https://es2.example:9200"]
        api_key_file = "{}"
        timeout_ms = 5000
        gzip = false
        index_prefix = "prod-"
        "#,
        key_file.display()
    );
    let config = esrecord::config::Config::from_toml(&toml).unwrap();
    let backend = &config.backends["default"];
    assert_eq!(backend.index_prefix, "prod-");
    let esrecord::config::BackendKind::Elasticsearch(cluster) = &backend.kind else {
        panic!("an elasticsearch backend: {backend:?}");
    };
    assert_eq!(
        cluster.urls,
        ["https://es1.example:9200/", "https://es2.example:9200/"]
    );
    assert_eq!(cluster.auth, Auth::ApiKey(Secret::new("aWQ6a2V5")));
    assert_eq!(cluster.timeout, std::time::Duration::from_secs(5));
    assert!(!cluster.gzip);
    std::fs::remove_dir_all(&dir).unwrap();

    // Credentials belong in username and password_env/_file, where a
    // conflict with the URL's cannot hide.
    let in_url = r#"
        [backends.default]
        kind = "elasticsearch"
        url = "https://app:hunter2@es.example:9200"
        username = "other"
        password_env = "ESRECORD_TEST_PASSWORD_THAT_IS_NOT_SET"
    "#;
    let error = esrecord::config::Config::from_toml(in_url).unwrap_err();
    assert!(error.to_string().contains("not in a URL"), "{error}");
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

#[tokio::test]
async fn check_reads_a_template_as_elasticsearch_stores_it_without_false_drift() {
    use esrecord::Record;
    use esrecord_tests::PageView;
    let server = MockServer::start().await;
    let record_type = PageView::record_type();
    let stored = json!({"index_templates": [{
        "name": record_type.template_name(),
        "index_template": esrecord_tests::as_stored_by_elasticsearch(&record_type.template_body()),
    }]});
    Mock::given(method("GET"))
        .and(path(format!(
            "/_index_template/{}",
            record_type.template_name()
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(stored))
        .mount(&server)
        .await;
    let mut config = esrecord::config::Config::embedded("unused");
    config.backends.insert(
        "default".into(),
        esrecord::config::BackendConfig {
            kind: esrecord::config::BackendKind::Elasticsearch(ElasticsearchConfig::new(
                server.uri(),
            )),
            index_prefix: String::new(),
            max_docs_per_second: None,
            data_streams: None,
        },
    );
    let store = esrecord::Store::with_config(config).unwrap();
    let report = store.check_types(&[record_type]).await.unwrap();
    assert!(report.is_in_sync(), "{report}");
}

#[tokio::test]
async fn ids_and_index_names_are_escaped_in_action_lines() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/_bulk"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "took": 1, "errors": false,
            "items": [{"index": {"_index": "shop-pageview-2024.03.01", "_id": "a\"b\\c", "status": 201}}]
        })))
        .mount(&server)
        .await;
    plain(&server)
        .bulk(body(&[(BulkAction::Index, "a\"b\\c", json!({"n": 1}))]))
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let body = String::from_utf8(requests[0].body.clone()).unwrap();
    let action: Value = serde_json::from_str(body.lines().next().unwrap()).unwrap();
    assert_eq!(action["index"]["_id"], "a\"b\\c");
}

/// Answers each `_bulk` with one success per document, after `delay` for
/// the first request only, and notes when each request arrived.
struct SlowFirstBulk {
    arrivals: std::sync::Mutex<Vec<(std::time::Instant, String)>>,
    delay: std::time::Duration,
}

impl wiremock::Respond for SlowFirstBulk {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let items: Vec<Value> = (0..body.lines().count() / 2)
            .map(|_| json!({"index": {"status": 200}}))
            .collect();
        let mut arrivals = self.arrivals.lock().unwrap();
        let first = arrivals.is_empty();
        arrivals.push((std::time::Instant::now(), body));
        let answer = ResponseTemplate::new(200)
            .set_body_json(json!({"took": 1, "errors": false, "items": items}));
        if first {
            answer.set_delay(self.delay)
        } else {
            answer
        }
    }
}

/// A store (to open) writing to `server`, which answers as a cluster where
/// the template of `R` exists and refreshes succeed; `configure` adjusts
/// the writer. Bodies go uncompressed, so the mock can read them.
async fn writer_store<R: esrecord::Record>(
    server: &MockServer,
    configure: impl FnOnce(&mut esrecord::config::WriterConfig),
) -> esrecord::StoreBuilder {
    let record_type = R::record_type();
    Mock::given(method("GET"))
        .and(path(format!(
            "/_index_template/{}",
            record_type.template_name()
        )))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"index_templates": [{
                "name": record_type.template_name(),
                "index_template": record_type.template_body(),
            }]})),
        )
        .mount(server)
        .await;
    // The refresh a flush ends with, answered as the refresh reference shows.
    Mock::given(method("GET"))
        .and(path_regex("/_refresh$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"_shards": {"total": 1, "successful": 1, "failed": 0}})),
        )
        .mount(server)
        .await;
    let mut cluster = ElasticsearchConfig::new(server.uri());
    cluster.gzip = false;
    let mut config = esrecord::config::Config::embedded("unused");
    configure(&mut config.writer);
    config.backends.insert(
        "default".into(),
        esrecord::config::BackendConfig {
            kind: esrecord::config::BackendKind::Elasticsearch(cluster),
            index_prefix: String::new(),
            max_docs_per_second: None,
            data_streams: None,
        },
    );
    esrecord::Store::builder().config(config)
}

/// Dead letters as a test collects them.
type Letters = std::sync::Arc<std::sync::Mutex<Vec<esrecord::DeadLetter>>>;

/// A responder shared with the test, which reads what it noted.
struct Shared<T>(std::sync::Arc<T>);

impl<T: wiremock::Respond> wiremock::Respond for Shared<T> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.respond(request)
    }
}

#[tokio::test]
async fn records_that_overwrite_are_sent_in_order_despite_concurrent_batches() {
    use esrecord_tests::DailyReport;
    let server = MockServer::start().await;
    let delay = std::time::Duration::from_millis(300);
    let responder = std::sync::Arc::new(SlowFirstBulk {
        arrivals: std::sync::Mutex::new(Vec::new()),
        delay,
    });
    Mock::given(method("POST"))
        .and(path("/_bulk"))
        .respond_with(Shared(std::sync::Arc::clone(&responder)))
        .mount(&server)
        .await;
    let store = writer_store::<DailyReport>(&server, |writer| {
        writer.batch_size = Some(1);
        writer.concurrency = 4;
    })
    .await
    .open()
    .unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2024, 3, 5).unwrap();
    for views in 1..=3 {
        store
            .record(DailyReport {
                timestamp: day.and_hms_opt(23, 0, 0).unwrap().and_utc(),
                day,
                item_id: 42,
                views,
            })
            .unwrap();
    }
    let flushed = store.flush().await.unwrap();
    assert_eq!((flushed.sent, flushed.failed), (3, 0), "{flushed:?}");
    let arrivals = responder.arrivals.lock().unwrap();
    let sent: Vec<u64> = arrivals
        .iter()
        .map(|(_, body)| {
            let source: Value = serde_json::from_str(body.lines().nth(1).unwrap()).unwrap();
            source["views"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(sent, [1, 2, 3]);
    // The second waited for the first's (slow) answer.
    assert!(arrivals[1].0 - arrivals[0].0 >= delay, "sent at once");
}

#[tokio::test]
async fn records_refused_with_their_whole_request_reach_the_dead_letter_hook() {
    use esrecord_tests::PageView;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/_bulk"))
        .respond_with(error_body(
            401,
            "security_exception",
            "unable to authenticate user [esrecord]",
        ))
        .mount(&server)
        .await;
    let letters = Letters::default();
    let collected = Letters::clone(&letters);
    let store = writer_store::<PageView>(&server, |_| {})
        .await
        .on_dead_letter(move |letter| collected.lock().unwrap().push(letter.clone()))
        .open()
        .unwrap();
    for item_id in 0..3 {
        store.record(esrecord_tests::page_view(0, item_id)).unwrap();
    }
    let report = store.flush().await.unwrap();
    assert_eq!((report.sent, report.failed, report.retried), (0, 3, 0));
    let letters = letters.lock().unwrap();
    assert_eq!(letters.len(), 3);
    assert!(letters.iter().all(|letter| letter.status == Some(401)
        && letter.error_type.as_deref() == Some("security_exception")
        && letter.index == "shop_pageview_2024.03.01"
        && letter.reason.contains("credentials")));
}

#[tokio::test]
async fn typed_searches_send_their_body_and_read_elasticsearchs_aggregation_shapes() {
    use esrecord::Record;
    use esrecord::search::aggs::{self, Aggregation, Interval};
    use esrecord_tests::PageView;
    let server = MockServer::start().await;
    let f = PageView::fields();
    let p99 = aggs::avg(&f.latency.p99_ms);
    let daily = aggs::date_histogram(&f.timestamp, Interval::calendar("day")).with(&p99);
    let paths = aggs::terms(&f.path, 2);
    let tails = aggs::percentiles(&f.latency.p99_ms, &[50.0, 99.0]);
    let search = PageView::search()
        .range((2024, 3, 1), (2024, 3, 3))
        .filter(f.tags.key("platform").eq("linux") & !f.path.eq("/"))
        .size(0)
        .aggregate(&daily)
        .aggregate(&paths)
        .aggregate(&tails);
    // Aggregation results in the shapes of Elasticsearch's aggregation
    // reference: date keys as epoch milliseconds with `key_as_string`,
    // terms with their error bounds, percentiles with `keyed: false`.
    let mut aggregations = serde_json::Map::new();
    aggregations.insert(
        daily.name().to_owned(),
        json!({"buckets": [
            {"key_as_string": "2024-03-01T00:00:00.000Z", "key": 1_709_251_200_000u64, "doc_count": 3, p99.name(): {"value": 12.5}},
            {"key_as_string": "2024-03-02T00:00:00.000Z", "key": 1_709_337_600_000u64, "doc_count": 0, p99.name(): {"value": null}}
        ]}),
    );
    aggregations.insert(
        paths.name().to_owned(),
        json!({"doc_count_error_upper_bound": 0, "sum_other_doc_count": 1, "buckets": [
            {"key": "/cart", "doc_count": 2}, {"key": "/items", "doc_count": 1}
        ]}),
    );
    aggregations.insert(
        tails.name().to_owned(),
        json!({"values": [{"key": 50.0, "value": 11.0}, {"key": 99.0, "value": 14.5}]}),
    );
    Mock::given(method("POST"))
        .and(path(
            "/shop_pageview_2024.03.01,shop_pageview_2024.03.02/_search",
        ))
        .and(body_json(search.to_json().unwrap()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "took": 3, "timed_out": false,
            "_shards": {"total": 2, "successful": 2, "skipped": 0, "failed": 0},
            "hits": {"total": {"value": 3, "relation": "eq"}, "max_score": null, "hits": []},
            "aggregations": aggregations,
        })))
        .expect(1)
        .mount(&server)
        .await;
    let store =
        esrecord::Store::with_config(esrecord_tests::cluster_config(&server.uri())).unwrap();
    let results = search.fetch(&store).await.unwrap();
    assert_eq!(results.total, 3);
    let days = results.read(&daily).unwrap();
    let first_day = chrono::DateTime::from_timestamp_millis(1_709_251_200_000).unwrap();
    assert_eq!((days[0].key, days[0].doc_count), (first_day, 3));
    assert_eq!(days[0].read(&p99).unwrap(), Some(12.5));
    assert_eq!(days[1].read(&p99).unwrap(), None);
    let top: Vec<(String, u64)> = results
        .read(&paths)
        .unwrap()
        .into_iter()
        .map(|b| (b.key, b.doc_count))
        .collect();
    assert_eq!(top, [("/cart".to_owned(), 2), ("/items".to_owned(), 1)]);
    let tails = results.read(&tails).unwrap();
    assert_eq!((tails[1].percent, tails[1].value), (99.0, Some(14.5)));
}

#[tokio::test]
async fn streaming_pages_over_a_point_in_time_breaking_ties_on_shard_doc() {
    use esrecord::Record;
    use esrecord_tests::PageView;
    use wiremock::matchers::body_partial_json;
    let server = MockServer::start().await;
    // _global/open_point_in_time/examples/response/OpenPointInTimeResponseExample1.yaml
    let opened = example(
        "_global/open_point_in_time/examples/response/OpenPointInTimeResponseExample1.yaml",
    );
    let first_id = opened["id"].as_str().unwrap().to_owned();
    Mock::given(method("POST"))
        .and(path("/shop_pageview_2024.03.01/_pit"))
        .and(query_param("keep_alive", "1m"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&opened))
        .expect(1)
        .mount(&server)
        .await;
    let hit = |item: u64, sort: Value| {
        json!({"_index": "shop_pageview_2024.03.01", "_id": format!("id-{item}"), "_score": null,
               "_source": esrecord_tests::page_view(0, item), "sort": sort})
    };
    let page = |hits: Vec<Value>, pit: &str| {
        ResponseTemplate::new(200).set_body_json(json!({
            "pit_id": pit, "took": 1, "timed_out": false,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {"total": {"value": 3, "relation": "eq"}, "max_score": null, "hits": hits}
        }))
    };
    let ts = 1_709_251_200_000u64;
    Mock::given(method("POST"))
        .and(path("/_search"))
        .and(body_partial_json(json!({
            "pit": {"id": first_id, "keep_alive": "1m"},
            "sort": [{"timestamp": "asc"}, {"_shard_doc": "asc"}],
            "size": 2
        })))
        .respond_with(page(
            vec![hit(1, json!([ts, 7])), hit(2, json!([ts, 9]))],
            "pit-2",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/_search"))
        .and(body_partial_json(
            json!({"pit": {"id": "pit-2"}, "search_after": [ts, 9]}),
        ))
        .respond_with(page(vec![hit(3, json!([ts, 12]))], "pit-3"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/_pit"))
        .and(body_json(json!({"id": "pit-3"})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"succeeded": true, "num_freed": 1})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let store =
        esrecord::Store::with_config(esrecord_tests::cluster_config(&server.uri())).unwrap();
    let mut pages = PageView::search()
        .range((2024, 3, 1), (2024, 3, 2))
        .size(2)
        .stream(&store)
        .await
        .unwrap();
    let mut items = Vec::new();
    while let Some(page) = pages.next_page().await.unwrap() {
        items.extend(page.into_iter().map(|hit| hit.record.item_id));
    }
    assert_eq!(items, [1, 2, 3]);
}

#[test]
fn a_range_to_the_year_10000_sends_no_upper_bound_elasticsearch_cannot_read() {
    use esrecord::Record;
    use esrecord_tests::PageView;
    let range = |search: esrecord::search::Search<PageView>| {
        search.to_json().unwrap()["query"]["bool"]["filter"][0]["range"]["timestamp"].clone()
    };
    // Elasticsearch reads no year past 9999, and every timestamp is before
    // the year 10000, so the end of time is no bound at all.
    assert_eq!(
        range(PageView::search().range((9999, 12), (10000,))),
        json!({"gte": "9999-12-01T00:00:00Z"})
    );
    assert_eq!(
        range(PageView::search().range((9999, 11), (9999, 12))),
        json!({"gte": "9999-11-01T00:00:00Z", "lt": "9999-12-01T00:00:00Z"})
    );
}
