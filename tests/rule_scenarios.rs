//! Rules evaluated against a store, shared by the embedded engine's tests
//! (`rules.rs`) and the live Elasticsearch suite (`elasticsearch_live.rs`):
//! every condition, summary, group, delta, baseline, duration, absence and
//! missing window, on generated page views whose expected answers the test
//! computes from the data it wrote.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use esrecord::Store;
use esrecord::rules::{Rules, Threshold, Violation};
use esrecord_tests::{Latency, PageView};

/// The evaluation time of every scenario.
fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 5, 12, 0, 0).unwrap()
}

/// A view `seconds` before [`at`], on `path`, with a p99 latency and a host.
fn view(seconds: i64, path: &str, p99: f64, host: &str) -> PageView {
    PageView {
        timestamp: at() - Duration::seconds(seconds),
        item_id: seconds as u64,
        path: path.to_owned(),
        latency: Latency {
            p50_ms: p99 / 2.0,
            p99_ms: p99,
        },
        tags: BTreeMap::from([
            ("host".to_owned(), host.to_owned()),
            (
                "platform".to_owned(),
                if seconds % 2 == 0 { "linux" } else { "macos" }.to_owned(),
            ),
        ]),
    }
}

async fn record(store: &Store, views: &[PageView]) {
    for view in views {
        store.record(view.clone()).unwrap();
    }
    assert!(store.flush().await.unwrap().is_complete());
}

async fn evaluate(store: &Store, yaml: &str) -> Vec<Violation> {
    let rules = Rules::from_yaml(yaml).unwrap_or_else(|e| panic!("{e}"));
    rules.evaluate(store, at()).await.unwrap()
}

/// The values of `rule`'s violations by the group's `key`.
fn fired<'v>(
    violations: &'v [Violation],
    rule: &str,
    key: &str,
) -> BTreeMap<String, &'v Violation> {
    violations
        .iter()
        .filter(|v| v.rule == rule)
        .map(|v| (v.group.get(key).cloned().unwrap_or_default(), v))
        .collect()
}

fn close(observed: Option<f64>, expected: f64, tolerance: f64) -> bool {
    observed.is_some_and(|o| (o - expected).abs() <= tolerance * expected.abs().max(1.0))
}

/// Three paths with three views a minute for 30 minutes; each summary over
/// the last 5 minutes, per path, against a threshold between the paths'
/// answers, so that exactly `/cart` fires.
pub(crate) async fn every_summary_per_group_against_the_answer_the_data_gives(store: &Store) {
    let base = [("/", 100.0), ("/items", 200.0), ("/cart", 300.0)];
    let mut views = Vec::new();
    for minute in 0..30 {
        for (n, (path, base)) in base.iter().enumerate() {
            // 2, 3 and 4 views a minute: the counts differ too.
            for k in 0..(2 + n as i64) {
                let seconds = minute * 60 + k * 15 + n as i64 + 1;
                let p99 = base + ((minute * 7 + k * 3) % 11) as f64;
                views.push(view(seconds, path, p99, "web-1"));
            }
        }
    }
    record(store, &views).await;
    let window_start = at() - Duration::minutes(5);
    let expected = |path: &str, summary: &str| -> f64 {
        let mut in_window: Vec<&PageView> = views
            .iter()
            .filter(|v| v.path == path && v.timestamp >= window_start)
            .collect();
        in_window.sort_by_key(|v| v.timestamp);
        let values: Vec<f64> = in_window.iter().map(|v| v.latency.p99_ms).collect();
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        match summary {
            "avg" => values.iter().sum::<f64>() / values.len() as f64,
            "min" => sorted[0],
            "max" => sorted[sorted.len() - 1],
            "sum" => values.iter().sum(),
            "count" => values.len() as f64,
            "last" => values[values.len() - 1],
            "p50" => sorted[sorted.len() / 2],
            _ => unreachable!(),
        }
    };
    let summaries = ["avg", "min", "max", "sum", "count", "last", "p50"];
    let mut yaml = String::from("rules:\n");
    for summary in summaries {
        let threshold = (expected("/items", summary) + expected("/cart", summary)) / 2.0;
        let field = if summary == "count" {
            ""
        } else {
            "\n    field: latency.p99_ms"
        };
        yaml.push_str(&format!(
            "  - name: {summary}\n    type: shop.pageview{field}\n    summary: {summary}\n    window: 5m\n    group_by: path\n    when: \"> {threshold}\"\n"
        ));
        // The same limit stated as what must hold fires for the others.
        yaml.push_str(&format!(
            "  - name: must {summary}\n    type: shop.pageview{field}\n    summary: {summary}\n    window: 5m\n    group_by: path\n    must: \"> {threshold}\"\n"
        ));
    }
    let rules = Rules::from_yaml(&yaml).unwrap_or_else(|e| panic!("{e}"));
    // Every rule shares the type, window and group: one search, and one
    // per path for `last` (the newest record of the window).
    let evaluation = rules.evaluate_counted(store, at()).await.unwrap();
    assert_eq!(evaluation.searches, 1 + 3 * 2);
    let violations = evaluation.violations;
    for summary in summaries {
        let tolerance = if summary == "p50" { 0.04 } else { 1e-9 };
        let fired_when = fired(&violations, summary, "path");
        assert_eq!(
            fired_when.keys().collect::<Vec<_>>(),
            ["/cart"],
            "{summary}"
        );
        let observed = fired_when["/cart"].observed;
        assert!(
            close(observed, expected("/cart", summary), tolerance),
            "{summary}: {observed:?} for {}",
            expected("/cart", summary)
        );
        let fired_must = fired(&violations, &format!("must {summary}"), "path");
        assert_eq!(
            fired_must.keys().collect::<Vec<_>>(),
            ["/", "/items"],
            "must {summary}"
        );
    }
    let max = fired(&violations, "max", "path")["/cart"];
    let threshold = (expected("/items", "max") + expected("/cart", "max")) / 2.0;
    assert_eq!(
        max.message,
        format!(
            "shop.pageview latency.p99_ms max over 5m = {} ms > {threshold} (path=/cart)",
            expected("/cart", "max")
        )
    );
    assert_eq!(max.threshold, Some(Threshold::Number(threshold)));
    assert_eq!(max.field.as_deref(), Some("latency.p99_ms"));
    assert_eq!((max.window_start, max.window_end), (window_start, at()));
    // Sorted by rule (file order), then group.
    let order: Vec<(&str, &str)> = violations
        .iter()
        .map(|v| (v.rule.as_str(), v.group["path"].as_str()))
        .collect();
    let mut sorted_within_rule = order.clone();
    sorted_within_rule.sort_by_key(|(rule, path)| {
        (
            summaries
                .iter()
                .position(|s| rule.trim_start_matches("must ") == *s),
            rule.starts_with("must"),
            *path,
        )
    });
    assert_eq!(order, sorted_within_rule);
}

/// daktylos' operator table, limit 100, with what must hold: `<` flags 110
/// and 100, `<=` flags 110, `>` flags 90 and 100, `>=` flags 99; and `==`,
/// `!=`, `between`.
pub(crate) async fn operators_flag_what_daktylos_flags_and_more(store: &Store) {
    let values = [110.0, 100.0, 99.0, 90.0];
    let views: Vec<PageView> = values
        .iter()
        .enumerate()
        .map(|(i, v)| view(30 + i as i64, &format!("/{v}"), *v, "web-1"))
        .collect();
    record(store, &views).await;
    let cases = [
        ("must", "< 100", vec!["/100", "/110"]),
        ("must", "<= 100", vec!["/110"]),
        ("must", "> 100", vec!["/100", "/90", "/99"]),
        ("must", ">= 100", vec!["/90", "/99"]),
        ("when", "== 100", vec!["/100"]),
        ("when", "!= 100", vec!["/110", "/90", "/99"]),
        ("when", "between 95 and 105", vec!["/100", "/99"]),
        ("must", "between 95 and 105", vec!["/110", "/90"]),
    ];
    let mut yaml = String::from("rules:\n");
    for (i, (sense, condition, _)) in cases.iter().enumerate() {
        yaml.push_str(&format!(
            "  - name: r{i}\n    type: shop.pageview\n    field: latency.p99_ms\n    summary: max\n    window: 1m\n    group_by: path\n    {sense}: \"{condition}\"\n"
        ));
    }
    let violations = evaluate(store, &yaml).await;
    for (i, (sense, condition, flagged)) in cases.iter().enumerate() {
        let got: Vec<String> = fired(&violations, &format!("r{i}"), "path")
            .into_keys()
            .collect();
        assert_eq!(got, *flagged, "{sense}: {condition}");
    }
    let under = fired(&violations, "r0", "path")["/110"];
    assert!(
        under.message.ends_with("= 110 ms >= 100 (path=/110)"),
        "{}",
        under.message
    );
}

/// `delta`: this window against the previous one, absolute and in percent
/// (0 to 0 is 0%, 0 to anything else infinitely many).
pub(crate) async fn deltas_compare_with_the_previous_window(store: &Store) {
    let windows = [
        ("/a", 100.0, 150.0),
        ("/b", 100.0, 105.0),
        ("/z", 0.0, 0.0),
        ("/y", 0.0, 10.0),
        ("/c", 200.0, 100.0),
    ];
    let mut views = Vec::new();
    for (path, previous, current) in windows {
        views.push(view(400, path, previous, "web-1"));
        views.push(view(100, path, current, "web-1"));
    }
    record(store, &views).await;
    let yaml = "
rules:
  - name: absolute
    type: shop.pageview
    field: latency.p99_ms
    summary: max
    window: 5m
    group_by: path
    delta: absolute
    when: '> 20'
  - name: percent
    type: shop.pageview
    field: latency.p99_ms
    summary: max
    window: 5m
    group_by: path
    delta: percent
    when: '> 20'
  - name: drop
    type: shop.pageview
    field: latency.p99_ms
    summary: max
    window: 5m
    group_by: path
    delta: percent
    must: '>= -25'
";
    let violations = evaluate(store, yaml).await;
    let absolute = fired(&violations, "absolute", "path");
    assert_eq!(absolute.keys().collect::<Vec<_>>(), ["/a"]);
    assert_eq!(absolute["/a"].observed, Some(50.0));
    assert_eq!(absolute["/a"].values, [Some(100.0), Some(150.0)]);
    let percent = fired(&violations, "percent", "path");
    assert_eq!(percent.keys().collect::<Vec<_>>(), ["/a", "/y"]);
    assert_eq!(percent["/a"].observed, Some(50.0));
    assert_eq!(percent["/y"].observed, Some(f64::INFINITY));
    assert!(
        percent["/a"]
            .message
            .contains("changed by +50% (100 ms to 150 ms) > 20%"),
        "{}",
        percent["/a"].message
    );
    let drop = fired(&violations, "drop", "path");
    assert_eq!(drop.keys().collect::<Vec<_>>(), ["/c"]);
    assert_eq!(drop["/c"].observed, Some(-50.0));
}

/// `baseline`: against the mean and deviation of the 12 windows before.
pub(crate) async fn baselines_fire_beyond_k_sigma(store: &Store) {
    // Views per 5-minute window, oldest first; the last is the current one.
    let steady = [10; 13];
    let noisy = [9, 11, 9, 11, 9, 11, 9, 11, 9, 11, 9, 11, 20];
    let quiet = [9, 11, 9, 11, 9, 11, 9, 11, 9, 11, 9, 11, 12];
    let mut views = Vec::new();
    for (path, counts) in [("/steady", steady), ("/noisy", noisy), ("/quiet", quiet)] {
        for (w, count) in counts.iter().enumerate() {
            let window_end = (12 - w as i64) * 300;
            for k in 0..*count {
                views.push(view(window_end + 1 + k * 7, path, 1.0, "web-1"));
            }
        }
    }
    record(store, &views).await;
    let yaml = "
rules:
  - name: surge
    type: shop.pageview
    summary: count
    window: 5m
    group_by: path
    baseline: 12
    when: '> baseline + 3 sigma'
";
    let violations = evaluate(store, yaml).await;
    let surge = fired(&violations, "surge", "path");
    assert_eq!(surge.keys().collect::<Vec<_>>(), ["/noisy"]);
    let v = surge["/noisy"];
    assert_eq!(v.observed, Some(20.0));
    assert_eq!(
        v.threshold,
        Some(Threshold::Baseline {
            mean: 10.0,
            sigma: 1.0,
            limit: 13.0
        })
    );
    assert_eq!(v.values.len(), 13);
    assert!(
        v.message
            .contains("= 20 > 13 (baseline 10 + 3 sigma, sigma 1) over 12 windows"),
        "{}",
        v.message
    );
}

/// `for`: a single spike does not fire; a sustained one does.
pub(crate) async fn a_duration_needs_every_window_to_break_the_condition(store: &Store) {
    // The maximum of each of the last three 5-minute windows, oldest first.
    let paths = [
        ("/spike", [100.0, 100.0, 400.0]),
        ("/sustained", [300.0, 400.0, 500.0]),
        ("/gap", [400.0, 100.0, 400.0]),
    ];
    let mut views = Vec::new();
    for (path, maxima) in paths {
        for (w, max) in maxima.iter().enumerate() {
            let window_end = (2 - w as i64) * 300;
            views.push(view(window_end + 10, path, *max, "web-1"));
            views.push(view(window_end + 20, path, 50.0, "web-1"));
        }
    }
    record(store, &views).await;
    let yaml = "
rules:
  - name: sustained
    type: shop.pageview
    field: latency.p99_ms
    summary: max
    window: 5m
    for: 15m
    group_by: path
    when: '> 250'
  - name: any spike
    type: shop.pageview
    field: latency.p99_ms
    summary: max
    window: 5m
    group_by: path
    when: '> 250'
";
    let violations = evaluate(store, yaml).await;
    let sustained = fired(&violations, "sustained", "path");
    assert_eq!(sustained.keys().collect::<Vec<_>>(), ["/sustained"]);
    assert!(
        sustained["/sustained"]
            .message
            .ends_with("= 500 ms > 250 for 15m (3 windows: 300, 400, 500) (path=/sustained)"),
        "{}",
        sustained["/sustained"].message
    );
    let spikes = fired(&violations, "any spike", "path");
    assert_eq!(
        spikes.keys().collect::<Vec<_>>(),
        ["/gap", "/spike", "/sustained"]
    );
}

/// `absent_for`: groups seen within the look-back that went quiet, a type
/// that went quiet, and a filtered one.
pub(crate) async fn absence_fires_per_group_that_stopped_reporting(store: &Store) {
    let views = vec![
        view(120, "/", 1.0, "host-a"),
        view(1_800, "/", 1.0, "host-b"),
        view(2_400, "/", 1.0, "host-b"),
        view(10_800, "/", 1.0, "host-c"),
    ];
    record(store, &views).await;
    let yaml = "
rules:
  - name: host quiet
    type: shop.pageview
    group_by: tags.host
    absent_for: 10m
  - name: host gone
    type: shop.pageview
    group_by: tags.host
    absent_for: 1h
  - name: all quiet
    type: shop.pageview
    absent_for: 10m
  - name: b quiet
    type: shop.pageview
    where: {tags.host: host-b}
    absent_for: 10m
  - name: nothing on /none
    type: shop.pageview
    where: {path: /none}
    absent_for: 10m
";
    let violations = evaluate(store, yaml).await;
    let quiet = fired(&violations, "host quiet", "tags.host");
    assert_eq!(quiet.keys().collect::<Vec<_>>(), ["host-b", "host-c"]);
    assert_eq!(quiet["host-b"].observed, Some(1_800.0));
    assert_eq!(
        quiet["host-c"].last_seen,
        Some(at() - Duration::seconds(10_800))
    );
    assert_eq!(
        quiet["host-b"].message,
        "shop.pageview no records for 10m, the newest at 2024-03-05T11:30:00Z (tags.host=host-b)"
    );
    assert_eq!(
        fired(&violations, "host gone", "tags.host")
            .keys()
            .collect::<Vec<_>>(),
        ["host-c"]
    );
    assert!(fired(&violations, "all quiet", "").is_empty());
    assert_eq!(fired(&violations, "b quiet", "").len(), 1);
    let none = fired(&violations, "nothing on /none", "");
    assert!(
        none[""]
            .message
            .ends_with("no records for 10m, none in the last 1d"),
        "{}",
        none[""].message
    );
    assert_eq!(none[""].observed, None);
}

/// A window without records: no value, no firing, unless `missing: fire`;
/// a count of it is 0.
pub(crate) async fn missing_windows_fire_only_when_asked(store: &Store) {
    let views = vec![
        view(30, "/live", 10.0, "web-1"),
        view(350, "/live", 10.0, "web-1"),
        view(400, "/gone", 10.0, "web-1"),
    ];
    record(store, &views).await;
    let yaml = "
rules:
  - name: ignore
    type: shop.pageview
    field: latency.p99_ms
    window: 5m
    for: 10m
    group_by: path
    must: '< 5'
  - name: fire
    type: shop.pageview
    field: latency.p99_ms
    window: 5m
    for: 10m
    group_by: path
    must: '< 5'
    missing: fire
  - name: count
    type: shop.pageview
    window: 5m
    where: {path: /gone}
    must: '>= 1'
";
    let violations = evaluate(store, yaml).await;
    assert_eq!(
        fired(&violations, "ignore", "path")
            .keys()
            .collect::<Vec<_>>(),
        ["/live"]
    );
    let fire = fired(&violations, "fire", "path");
    assert_eq!(fire.keys().collect::<Vec<_>>(), ["/gone", "/live"]);
    assert_eq!(fire["/gone"].observed, None);
    assert_eq!(fire["/gone"].values, [Some(10.0), None]);
    assert_eq!(
        fire["/gone"].message,
        "shop.pageview latency.p99_ms avg over 5m: no data for 10m (2 windows: 10, no data) (path=/gone)"
    );
    let count = fired(&violations, "count", "path");
    assert_eq!(count.len(), 1);
    assert_eq!(count[""].observed, Some(0.0));
    assert_eq!(count[""].message, "shop.pageview count over 5m = 0 < 1");
}

/// Globs over field paths with exclusions, and filters on fields and tags.
pub(crate) async fn globs_exclusions_and_filters_pick_the_fields_and_records(store: &Store) {
    // Even seconds are linux.
    let views = vec![view(10, "/", 400.0, "web-1"), view(11, "/", 900.0, "web-1")];
    record(store, &views).await;
    let yaml = "
rules:
  - name: every latency
    type: shop.pageview
    fields: [latency.*]
    summary: max
    window: 5m
    when: '> 150'
  - name: p99 only
    type: shop.pageview
    fields: ['latency.*']
    exclude: ['*.p50_ms']
    summary: max
    window: 5m
    when: '> 150'
  - name: linux
    type: shop.pageview
    field: latency.p99_ms
    summary: max
    window: 5m
    where: {tags.platform: linux, path: [/, /cart]}
    when: '> 150'
";
    let violations = evaluate(store, yaml).await;
    let every: Vec<(Option<&str>, Option<f64>)> = violations
        .iter()
        .filter(|v| v.rule == "every latency")
        .map(|v| (v.field.as_deref(), v.observed))
        .collect();
    assert_eq!(
        every,
        [
            (Some("latency.p50_ms"), Some(450.0)),
            (Some("latency.p99_ms"), Some(900.0))
        ]
    );
    let p99: Vec<&str> = violations
        .iter()
        .filter(|v| v.rule == "p99 only")
        .filter_map(|v| v.field.as_deref())
        .collect();
    assert_eq!(p99, ["latency.p99_ms"]);
    let linux: Vec<Option<f64>> = violations
        .iter()
        .filter(|v| v.rule == "linux")
        .map(|v| v.observed)
        .collect();
    assert_eq!(linux, [Some(400.0)]);
}

/// Every scenario of this file, each as `$run!(rule_scenarios::name)`.
macro_rules! rule_scenarios {
    ($run:ident) => {
        $run!(rule_scenarios::every_summary_per_group_against_the_answer_the_data_gives);
        $run!(rule_scenarios::operators_flag_what_daktylos_flags_and_more);
        $run!(rule_scenarios::deltas_compare_with_the_previous_window);
        $run!(rule_scenarios::baselines_fire_beyond_k_sigma);
        $run!(rule_scenarios::a_duration_needs_every_window_to_break_the_condition);
        $run!(rule_scenarios::absence_fires_per_group_that_stopped_reporting);
        $run!(rule_scenarios::missing_windows_fire_only_when_asked);
        $run!(rule_scenarios::globs_exclusions_and_filters_pick_the_fields_and_records);
    };
}
pub(crate) use rule_scenarios;
