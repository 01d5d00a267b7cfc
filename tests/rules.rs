//! Rules on the embedded engine: the shared rule scenarios
//! (`rule_scenarios.rs`, which the live Elasticsearch suite runs too), the
//! rules file's validation errors with their lines, and the watcher's
//! firing and resolved changes under a clock the test moves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone, Utc};
use esrecord::Record;
use esrecord::alerts::{Alert, AlertState};
use esrecord::rules::{Rules, Watcher};
use esrecord_tests::{PageView, fresh_store, page_view};

#[path = "rule_scenarios.rs"]
mod rule_scenarios;

/// Runs a shared scenario on a fresh embedded store of its own.
macro_rules! embedded_scenario {
    ($module:ident :: $name:ident) => {
        #[tokio::test]
        async fn $name() {
            let store = fresh_store(concat!("rules-", stringify!($name))).unwrap();
            $module::$name(&store).await;
        }
    };
}

rule_scenarios::rule_scenarios!(embedded_scenario);

/// The problems of a rules file, as `(line, message)`.
fn problems(yaml: &str) -> Vec<(Option<usize>, String)> {
    match Rules::from_yaml(yaml) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(esrecord::Error::InvalidRules(found)) => found
            .problems
            .into_iter()
            .map(|p| {
                (
                    p.line,
                    format!("{}: {}", p.rule.unwrap_or_default(), p.message),
                )
            })
            .collect(),
        Err(other) => panic!("{other}"),
    }
}

fn one_problem(yaml: &str) -> (Option<usize>, String) {
    let mut found = problems(yaml);
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

#[test]
fn every_validation_error_names_the_rule_and_its_line() {
    let rule =
        |body: &str| format!("# rules\nrules:\n  - type: shop.pageview\n    window: 5m\n{body}");
    let cases = [
        (
            "    field: latency.p99\n    when: '> 1'\n",
            "field `latency.p99`: shop_pageview has no such field (did you mean `latency.p99_ms`?)",
        ),
        (
            "    field: path\n    summary: avg\n    when: '> 1'\n",
            "field `path` is a string: avg needs a numeric field",
        ),
        (
            "    fields: [latncy.*]\n    summary: max\n    when: '> 1'\n",
            "fields `latncy.*` matches no field of shop_pageview",
        ),
        (
            "    fields: [latency.*]\n    exclude: [tags.*]\n    when: '> 1'\n",
            "exclude `tags.*` excludes none of the rule's fields",
        ),
        (
            "    field: latency.p99_ms\n    summary: p999x\n    when: '> 1'\n",
            "summary `p999x`",
        ),
        (
            "    field: latency.p99_ms\n    when: '=> 1'\n",
            "condition `=> 1`",
        ),
        ("    field: latency.p99_ms\n", "no condition: add `when"),
        (
            "    field: latency.p99_ms\n    when: '> 1'\n    must: '< 1'\n",
            "both when and must",
        ),
        (
            "    field: latency.p99_ms\n    when: '> 1'\n    level: critcal\n",
            "level `critcal` (did you mean `critical`?)",
        ),
        (
            "    field: latency.p99_ms\n    when: '> 1'\n    for: 7m\n",
            "for: 7m is not a whole number of windows",
        ),
        (
            "    field: latency.p99_ms\n    when: '> 1'\n    delta: relative\n",
            "delta `relative`: write absolute or percent",
        ),
        (
            "    field: latency.p99_ms\n    when: '> 1'\n    baseline: 12\n",
            "the condition does not use it",
        ),
        (
            "    field: latency.p99_ms\n    when: '> 1'\n    where: {tag.platform: linux}\n",
            "where `tag.platform`: shop_pageview has no such field",
        ),
        (
            "    field: latency.p99_ms\n    when: '> 1'\n    where: {item_id: many}\n",
            "where `item_id` is a non-negative integer: \"many\" is not one",
        ),
        (
            "    field: latency.p99_ms\n    when: '> 1'\n    group_by: pth\n",
            "group_by `pth`: shop_pageview has no such field (did you mean `path`?)",
        ),
        (
            "    absent_for: 10m\n    field: latency.p99_ms\n",
            "an absence rule (absent_for) takes no field",
        ),
        (
            "    field: latency.p99_ms\n    when: '> 1'\n    windw: 5m\n",
            "unknown field `windw`",
        ),
    ];
    for (body, expected) in cases {
        let (line, message) = one_problem(&rule(body));
        assert!(message.contains(expected), "{body}\n{message}");
        // Errors of a rule are at the rule's first line; YAML's own at theirs.
        let expected_line = if expected.starts_with("unknown field") {
            7
        } else {
            3
        };
        assert_eq!(line, Some(expected_line), "{body}\n{message}");
    }
    let (line, message) =
        one_problem("rules:\n  - type: shop.pagevew\n    window: 5m\n    when: '> 1'\n");
    assert_eq!(line, Some(2));
    assert!(
        message.contains("unknown record type `shop.pagevew` (did you mean `shop.pageview`?)"),
        "{message}"
    );
    let (line, message) = one_problem("rules:\n  - type: shop.pageview\n    when: '> 1'\n");
    assert_eq!(line, Some(2));
    assert!(message.contains("no window: add `window: 5m`"), "{message}");
    let (line, message) = one_problem("rules: [\n");
    assert!(line.is_some(), "{message}");
    assert!(one_problem("rules: []\n").1.contains("no rules"));
}

#[test]
fn all_problems_are_reported_with_each_rules_line() {
    let yaml = "\
rules:
  - name: good
    type: shop.pageview
    window: 5m
    when: '> 1'
  - name: bad field
    type: shop.pageview
    field: nope
    window: 5m
    when: '> 1'

  - name: good
    type: shop.pageview
    window: 1h
    must: '< 5'
";
    let found = problems(yaml);
    assert_eq!(
        found.iter().map(|(line, _)| *line).collect::<Vec<_>>(),
        [Some(6), Some(12)],
        "{found:?}"
    );
    assert!(
        found[0].1.starts_with("rule 2 `bad field`: field `nope`"),
        "{}",
        found[0].1
    );
    assert!(
        found[1].1.contains("another rule has this name"),
        "{}",
        found[1].1
    );
    let error = Rules::from_yaml(yaml).unwrap_err().to_string();
    assert!(
        error.starts_with("rules: 2 problems\n  line 6: rule 2 `bad field`: field `nope`"),
        "{error}"
    );
}

/// daktylos accepted a pattern that matched nothing; here it is an error.
#[test]
fn a_pattern_that_matches_nothing_is_an_error() {
    let (_, message) = one_problem(
        "rules:\n  - type: shop.pageview\n    fields: ['*.p95_ms']\n    summary: max\n    window: 5m\n    when: '> 1'\n",
    );
    assert!(message.contains("fields `*.p95_ms` matches no field of shop_pageview; its fields: item_id, latency.p50_ms, latency.p99_ms, path, tags.*, timestamp"), "{message}");
}

#[tokio::test]
async fn rules_load_from_a_file_and_name_it_in_errors() {
    let dir = esrecord_tests::fresh_dir("rules-file");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rules.yaml");
    std::fs::write(
        &path,
        "rules:\n  - type: shop.pageview\n    window: 5m\n    when: '> 1'\n",
    )
    .unwrap();
    assert_eq!(Rules::from_path(&path).unwrap().rules().len(), 1);
    std::fs::write(
        &path,
        "rules:\n  - type: nosuch\n    window: 5m\n    when: '> 1'\n",
    )
    .unwrap();
    let error = Rules::from_path(&path).unwrap_err().to_string();
    assert!(
        error.starts_with(&format!("{}: 1 problem\n  line 2:", path.display())),
        "{error}"
    );
    let missing = Rules::from_path(dir.join("none.yaml"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("cannot read the rules file"), "{missing}");
}

/// The watcher under a clock the test moves: a latency that goes bad fires
/// once, stays firing without a new change, resolves once; each change
/// reaches the hook and is recorded as an alert.
#[tokio::test]
async fn the_watcher_reports_firing_and_resolved_once_each() {
    let store = fresh_store("rules-watcher").unwrap();
    let start = Utc.with_ymd_and_hms(2024, 3, 5, 12, 0, 0).unwrap();
    // One view a minute for an hour; minutes 20 to 29 are slow on /cart.
    let mut views = Vec::new();
    for minute in 0..60 {
        for path in ["/", "/cart"] {
            let mut view = page_view(0, minute);
            view.timestamp = start + Duration::minutes(minute as i64) + Duration::seconds(30);
            view.path = path.to_owned();
            view.latency.p99_ms = if path == "/cart" && (20..30).contains(&minute) {
                900.0
            } else {
                100.0
            };
            views.push(view);
        }
    }
    for view in &views {
        store.record(view.clone()).unwrap();
    }
    store.flush().await.unwrap();
    let rules = Rules::from_yaml(
        "rules:\n  - name: slow\n    type: shop.pageview\n    field: latency.p99_ms\n    summary: max\n    window: 5m\n    group_by: path\n    when: '> 500'\n    level: critical\n",
    )
    .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hook_seen = Arc::clone(&seen);
    let mut watcher = Watcher::new(rules).on_change(move |change| {
        hook_seen.lock().unwrap().push((
            change.state,
            change.at,
            change.violation.group["path"].clone(),
        ));
    });
    let mut changes = Vec::new();
    for minute in (5..=60).step_by(5) {
        let at = start + Duration::minutes(minute);
        for change in watcher.tick(&store, at).await.unwrap() {
            changes.push((change.state, minute));
        }
        let firing = watcher.firing().count();
        assert_eq!(
            firing,
            usize::from((25..=30).contains(&minute)),
            "minute {minute}"
        );
    }
    assert_eq!(
        changes,
        [(AlertState::Firing, 25), (AlertState::Resolved, 35)]
    );
    let hooked = seen.lock().unwrap().clone();
    assert_eq!(
        hooked,
        [
            (
                AlertState::Firing,
                start + Duration::minutes(25),
                "/cart".to_owned()
            ),
            (
                AlertState::Resolved,
                start + Duration::minutes(35),
                "/cart".to_owned()
            ),
        ]
    );
    store.flush().await.unwrap();
    let alerts = Alert::search().size(10).fetch(&store).await.unwrap();
    let mut recorded: Vec<(String, String, Option<f64>)> = alerts
        .hits
        .iter()
        .map(|h| {
            (
                h.record.state.clone(),
                h.record.level.clone(),
                h.record.observed,
            )
        })
        .collect();
    recorded.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        recorded,
        [
            ("firing".to_owned(), "critical".to_owned(), Some(900.0)),
            ("resolved".to_owned(), "critical".to_owned(), Some(900.0)),
        ]
    );
    assert_eq!(Alert::record_type().template_name(), "esrecord_alert");
    let _ = PageView::record_type();
}

/// Rules over the metrics reporter's points: the p99 of a histogram per
/// path, and a counter that stopped increasing, as for any record type.
#[tokio::test]
async fn rules_run_over_the_metrics_reporters_points() {
    use esrecord::metrics::{Metric, MetricKind};

    let store = fresh_store("rules-metrics").unwrap();
    let at = Utc.with_ymd_and_hms(2024, 3, 5, 12, 0, 0).unwrap();
    for minute in 1..=10 {
        let timestamp = at - Duration::minutes(minute);
        for (path, p99) in [("/cart", 0.9), ("/", 0.1)] {
            let mut point = Metric::new(timestamp, "http.request.seconds", MetricKind::Histogram);
            point.tags.insert("path".to_owned(), path.to_owned());
            point.count = Some(10);
            point.p99 = Some(p99 + minute as f64 / 100.0);
            store.record(point).unwrap();
        }
        let mut orders = Metric::new(timestamp, "orders", MetricKind::Counter);
        orders.increase = Some(if minute <= 5 { 0.0 } else { 3.0 });
        store.record(orders).unwrap();
    }
    store.flush().await.unwrap();
    let rules = Rules::from_yaml(
        "
rules:
  - name: slow requests
    type: esrecord.metric
    field: p99
    summary: max
    window: 5m
    where: {name: http.request.seconds}
    group_by: tags.path
    when: '> 0.5'
  - name: no orders
    type: esrecord.metric
    field: increase
    summary: sum
    window: 5m
    where: {name: orders}
    must: '> 0'
",
    )
    .unwrap();
    let violations = rules.evaluate(&store, at).await.unwrap();
    let found: Vec<(&str, Option<&str>, Option<f64>)> = violations
        .iter()
        .map(|v| {
            (
                v.rule.as_str(),
                v.group.get("tags.path").map(String::as_str),
                v.observed,
            )
        })
        .collect();
    // The newest five minutes: p99 0.91 to 0.95 on /cart; no orders.
    assert_eq!(
        found,
        [
            ("slow requests", Some("/cart"), Some(0.9 + 5.0 / 100.0)),
            ("no orders", None, Some(0.0))
        ]
    );
    assert_eq!(
        violations[0].message,
        "esrecord.metric p99 max over 5m = 0.95 > 0.5 (tags.path=/cart)"
    );
}

/// The built-in types' templates are renamed by configuration
/// (`[builtin_templates]`): setup, the index names and searches follow.
#[tokio::test]
async fn built_in_templates_take_the_names_the_configuration_gives() {
    use esrecord::metrics::{Metric, MetricKind};

    let mut config = esrecord::config::Config::from_toml(
        "[builtin_templates]\nmetric = \"ops_metric\"\nalert = \"ops_alert\"\n",
    )
    .unwrap();
    let dir = esrecord_tests::fresh_dir("rules-builtin-templates");
    config.backends.get_mut("default").unwrap().kind = esrecord::config::BackendKind::Embedded {
        path: dir,
        read_only: false,
    };
    let store = esrecord::Store::with_config(config).unwrap();
    let report = store
        .setup_types(&[Metric::record_type(), Alert::record_type()])
        .await
        .unwrap();
    let names: Vec<&str> = report
        .entries
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(names, ["ops_metric", "ops_alert"]);
    let at = Utc.with_ymd_and_hms(2024, 3, 5, 12, 0, 0).unwrap();
    store
        .record(Metric::new(at, "orders", MetricKind::Counter))
        .unwrap();
    store.flush().await.unwrap();
    let partitions = store.partitions(Metric::record_type()).await.unwrap();
    let indexes: Vec<&str> = partitions.iter().map(|p| p.info.name.as_str()).collect();
    assert_eq!(indexes, ["ops_metric_2024.03.05"]);
    let found = Metric::search().fetch(&store).await.unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.hits[0].index, "ops_metric_2024.03.05");
    store.close().await.unwrap();
}
