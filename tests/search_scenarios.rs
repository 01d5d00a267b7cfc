//! Typed searches, shared by the embedded engine's tests (`search.rs`) and
//! the live Elasticsearch suite (`elasticsearch_live.rs`): every filter and
//! combination, on
//! generated page views whose expected answers are computed from the data
//! itself; metadata filters must not match other keys' values; the latest
//! N records; per-field columns aligned with their timestamps.

use std::collections::BTreeMap;

use esrecord::search::{Query, Search};
use esrecord::{Record, Store};
use esrecord_tests::{HostLoad, Latency, PageView, Ticket, Uptime};

const VIEWS: u64 = 600;
const PATHS: [&str; 4] = ["/", "/cart", "/items", "/checkout"];

/// View `i`: a path, a p99 latency and tags that vary with `i`. Every
/// tenth view has its platform under another key (`os_family`), which a
/// filter on `platform` must not see.
fn view(i: u64) -> PageView {
    // 17 minutes apart: about a week of daily partitions.
    let mut view = esrecord_tests::page_view(i * 17, i);
    view.path = PATHS[(i % 4) as usize].to_owned();
    view.latency.p99_ms = (i % 50) as f64 * 2.5;
    let platform = if i.is_multiple_of(3) {
        "linux"
    } else {
        "macos"
    };
    let key = if i.is_multiple_of(10) {
        "os_family"
    } else {
        "platform"
    };
    view.tags = BTreeMap::from([(key.to_owned(), platform.to_owned())]);
    if i.is_multiple_of(7) {
        view.tags.insert("beta".to_owned(), "yes".to_owned());
    }
    view
}

/// Records the views into `store` and returns them.
async fn record_views(store: &Store) -> Vec<PageView> {
    let views: Vec<PageView> = (0..VIEWS).map(view).collect();
    for view in &views {
        store.record(view.clone()).unwrap();
    }
    assert!(store.flush().await.unwrap().is_complete());
    views
}

/// The item ids a search finds, sorted, checked against its total.
async fn found(store: &Store, search: Search<PageView>) -> Vec<u64> {
    let results = search.size(10_000).fetch(store).await.unwrap();
    let mut items: Vec<u64> = results.hits.iter().map(|h| h.record.item_id).collect();
    items.sort_unstable();
    assert_eq!(results.total, items.len() as u64);
    items
}

fn expected(views: &[PageView], keep: impl Fn(&PageView) -> bool) -> Vec<u64> {
    let mut items: Vec<u64> = views
        .iter()
        .filter(|v| keep(v))
        .map(|v| v.item_id)
        .collect();
    items.sort_unstable();
    assert!(
        !items.is_empty(),
        "a test case that selects nothing proves little"
    );
    items
}

pub(crate) async fn each_filter_finds_exactly_the_matching_records(store: &Store) {
    let views = record_views(store).await;
    let f = PageView::fields();
    let search = PageView::search;
    let platform = |v: &PageView| v.tags.get("platform").cloned();

    let cases: Vec<(&str, Query, Vec<u64>)> = vec![
        (
            "eq",
            f.item_id.eq(42),
            expected(&views, |v| v.item_id == 42),
        ),
        (
            "eq on a string",
            f.path.eq("/cart"),
            expected(&views, |v| v.path == "/cart"),
        ),
        (
            "one_of",
            f.path.one_of(["/", "/checkout"]),
            expected(&views, |v| v.path == "/" || v.path == "/checkout"),
        ),
        (
            "gt",
            f.item_id.gt(550),
            expected(&views, |v| v.item_id > 550),
        ),
        (
            "gte",
            f.item_id.gte(550),
            expected(&views, |v| v.item_id >= 550),
        ),
        (
            "lt",
            f.latency.p99_ms.lt(10.0),
            expected(&views, |v| v.latency.p99_ms < 10.0),
        ),
        (
            "lte",
            f.latency.p99_ms.lte(10.0),
            expected(&views, |v| v.latency.p99_ms <= 10.0),
        ),
        (
            "between (from inclusive, until exclusive)",
            f.latency.p99_ms.between(50.0, 100.0),
            expected(&views, |v| (50.0..100.0).contains(&v.latency.p99_ms)),
        ),
        (
            "between on the timestamp",
            f.timestamp
                .between(view(100).timestamp, view(200).timestamp),
            expected(&views, |v| {
                v.timestamp >= view(100).timestamp && v.timestamp < view(200).timestamp
            }),
        ),
        (
            "a metadata key",
            f.tags.key("platform").eq("linux"),
            expected(&views, |v| platform(v).as_deref() == Some("linux")),
        ),
        (
            "a metadata key exists",
            f.tags.key("beta").exists(),
            expected(&views, |v| v.tags.contains_key("beta")),
        ),
        (
            "and",
            f.path.eq("/items") & f.tags.key("platform").eq("linux"),
            expected(&views, |v| {
                v.path == "/items" && platform(v).as_deref() == Some("linux")
            }),
        ),
        (
            "or",
            f.item_id.lt(5) | f.item_id.gte(595),
            expected(&views, |v| v.item_id < 5 || v.item_id >= 595),
        ),
        ("not", !f.path.eq("/"), expected(&views, |v| v.path != "/")),
        (
            "nested",
            (f.path.eq("/cart") | f.path.eq("/checkout"))
                & !f.tags.key("beta").exists()
                & f.latency.p99_ms.gte(60.0),
            expected(&views, |v| {
                (v.path == "/cart" || v.path == "/checkout")
                    && !v.tags.contains_key("beta")
                    && v.latency.p99_ms >= 60.0
            }),
        ),
    ];
    for (name, query, want) in cases {
        let got = found(store, search().filter(query)).await;
        assert_eq!(got, want, "{name}");
    }
}

pub(crate) async fn metadata_filters_do_not_match_other_keys_values(store: &Store) {
    let views = record_views(store).await;
    let f = PageView::fields();
    let linux_anywhere = views
        .iter()
        .filter(|v| v.tags.values().any(|p| p == "linux"))
        .count();
    let on_platform = found(
        store,
        PageView::search().filter(f.tags.key("platform").eq("linux")),
    )
    .await;
    let on_os_family = found(
        store,
        PageView::search().filter(f.tags.key("os_family").eq("linux")),
    )
    .await;
    // Views 0, 30, 60... keep "linux" under `os_family`: only that key finds them.
    assert!(
        on_os_family.iter().all(|i| i.is_multiple_of(10)),
        "{on_os_family:?}"
    );
    assert!(
        on_platform.iter().all(|i| !i.is_multiple_of(10)),
        "{on_platform:?}"
    );
    assert_eq!(on_platform.len() + on_os_family.len(), linux_anywhere);
}

pub(crate) async fn filter_exclude_and_should_combine_with_the_time_range(store: &Store) {
    let views = record_views(store).await;
    let f = PageView::fields();
    // From inside the second day to inside the fourth.
    let (from, until) = (view(100).timestamp, view(300).timestamp);
    let search = PageView::search()
        .range(from, until)
        .filter(f.latency.p99_ms.gte(20.0))
        .exclude(f.tags.key("platform").eq("macos"))
        .should(f.path.eq("/"))
        .should(f.path.eq("/items"));
    let want = expected(&views, |v| {
        v.timestamp >= from
            && v.timestamp < until
            && v.latency.p99_ms >= 20.0
            && v.tags.get("platform").map(String::as_str) != Some("macos")
            && (v.path == "/" || v.path == "/items")
    });
    assert_eq!(found(store, search).await, want);
}

pub(crate) async fn latest_gives_the_newest_records_oldest_first(store: &Store) {
    let views = record_views(store).await;
    let f = PageView::fields();
    let latest = PageView::search().latest(5).fetch(store).await.unwrap();
    let items: Vec<u64> = latest.hits.iter().map(|h| h.record.item_id).collect();
    assert_eq!(items, [595, 596, 597, 598, 599]);
    // With a filter: the 3 newest on /cart (every fourth view, from 1).
    let on_cart = PageView::search()
        .filter(f.path.eq("/cart"))
        .latest(3)
        .fetch(store)
        .await
        .unwrap();
    let mut want: Vec<u64> = views
        .iter()
        .filter(|v| v.path == "/cart")
        .map(|v| v.item_id)
        .collect();
    want = want.split_off(want.len() - 3);
    let items: Vec<u64> = on_cart.hits.iter().map(|h| h.record.item_id).collect();
    assert_eq!(items, want);
}

fn host_load(minute: i64, temperature: Option<f32>) -> HostLoad {
    let start = chrono::NaiveDate::from_ymd_opt(2024, 3, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    HostLoad {
        timestamp: start + chrono::Duration::minutes(minute),
        host: "web-1".into(),
        latency: Latency {
            p50_ms: minute as f64,
            p99_ms: minute as f64 * 2.0,
        },
        probes: Vec::new(),
        samples: Vec::new(),
        load: BTreeMap::new(),
        temperature,
        installed_on: chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
        uptime: Uptime {
            seconds: 60.0 * minute as f64,
            booted_at: None,
        },
    }
}

pub(crate) async fn columns_are_aligned_with_timestamps_and_none_where_a_record_lacks_the_field(
    store: &Store,
) {
    // Recorded out of order; every third has no temperature.
    let minutes = [50, 10, 40, 0, 30, 20];
    for minute in minutes {
        let temperature = (minute % 30 != 0).then_some(40.0 + minute as f32 / 10.0);
        store.record(host_load(minute, temperature)).unwrap();
    }
    assert!(store.flush().await.unwrap().is_complete());
    let f = HostLoad::fields();
    let temperatures = HostLoad::search()
        .size(100)
        .columns(&[&f.temperature], store)
        .await
        .unwrap();
    let start = host_load(0, None).timestamp;
    let expected_times: Vec<_> = (0..6)
        .map(|i| start + chrono::Duration::minutes(i * 10))
        .collect();
    assert_eq!(temperatures.timestamps, expected_times);
    assert_eq!(
        temperatures.column("temp_c").unwrap(),
        &[None, Some(41.0), Some(42.0), None, Some(44.0), Some(45.0)]
    );
    let latency = HostLoad::search()
        .range((2024, 3, 1), (2024, 3, 2))
        .filter(f.latency.p50_ms.gte(20.0))
        .size(100)
        .columns(
            &[&f.latency.p50_ms, &f.latency.p99_ms, &f.uptime.seconds],
            store,
        )
        .await
        .unwrap();
    assert_eq!(
        latency.fields,
        ["latency.p50_ms", "latency.p99_ms", "uptime_s"]
    );
    assert_eq!(
        latency.values[0],
        [Some(20.0), Some(30.0), Some(40.0), Some(50.0)]
    );
    assert_eq!(
        latency.values[1],
        [Some(40.0), Some(60.0), Some(80.0), Some(100.0)]
    );
    assert_eq!(
        latency.values[2],
        [Some(1200.0), Some(1800.0), Some(2400.0), Some(3000.0)]
    );
    // The newest two, still oldest first.
    let newest = HostLoad::search()
        .latest(2)
        .columns(&[&f.latency.p50_ms], store)
        .await
        .unwrap();
    assert_eq!(newest.values[0], [Some(40.0), Some(50.0)]);
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

pub(crate) async fn aggregations_read_back_typed_with_the_answers_the_data_gives(store: &Store) {
    use esrecord::search::aggs::{self, Interval};
    let views = record_views(store).await;
    let f = PageView::fields();
    let p99s: Vec<f64> = views.iter().map(|v| v.latency.p99_ms).collect();
    let (avg, min, max, sum) = (
        aggs::avg(&f.latency.p99_ms),
        aggs::min(&f.latency.p99_ms),
        aggs::max(&f.latency.p99_ms),
        aggs::sum(&f.latency.p99_ms),
    );
    let (count, distinct, stats) = (
        aggs::value_count(&f.item_id),
        aggs::cardinality(&f.path),
        aggs::stats(&f.latency.p99_ms),
    );
    let percentiles = aggs::percentiles(&f.latency.p99_ms, &[50.0, 99.0]);
    let per_path_avg = aggs::avg(&f.latency.p99_ms);
    let top_paths = aggs::terms(&f.path, 2).with(&per_path_avg);
    let per_day = aggs::value_count(&f.item_id);
    let daily = aggs::date_histogram(&f.timestamp, Interval::calendar("day"))
        .fill_empty(
            view(0).timestamp,
            view(0).timestamp + chrono::Duration::days(9),
        )
        .with(&per_day);
    let latency_histogram = aggs::histogram(&f.latency.p99_ms, 25.0);
    let results = PageView::search()
        .size(0)
        .aggregate(&avg)
        .aggregate(&min)
        .aggregate(&max)
        .aggregate(&sum)
        .aggregate(&count)
        .aggregate(&distinct)
        .aggregate(&stats)
        .aggregate(&percentiles)
        .aggregate(&top_paths)
        .aggregate(&daily)
        .aggregate(&latency_histogram)
        .fetch(store)
        .await
        .unwrap();

    let n = p99s.len() as f64;
    let want_sum: f64 = p99s.iter().sum();
    let want_min = p99s.iter().copied().fold(f64::INFINITY, f64::min);
    let want_max = p99s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!(close(results.read(&avg).unwrap().unwrap(), want_sum / n));
    assert_eq!(results.read(&min).unwrap(), Some(want_min));
    assert_eq!(results.read(&max).unwrap(), Some(want_max));
    assert!(close(results.read(&sum).unwrap().unwrap(), want_sum));
    assert_eq!(results.read(&count).unwrap(), VIEWS);
    assert_eq!(results.read(&distinct).unwrap(), PATHS.len() as u64);
    let read_stats = results.read(&stats).unwrap();
    assert_eq!(
        (read_stats.count, read_stats.min, read_stats.max),
        (VIEWS, Some(want_min), Some(want_max))
    );
    assert!(close(read_stats.sum, want_sum));

    // Percentiles within the engines' documented error (t-digest,
    // interpolating between values): two steps of the data's 2.5 ms grid
    // from the value at that rank.
    let mut sorted = p99s.clone();
    sorted.sort_by(f64::total_cmp);
    for percentile in results.read(&percentiles).unwrap() {
        let rank = (percentile.percent / 100.0 * (n - 1.0)).round() as usize;
        let exact = sorted[rank.min(sorted.len() - 1)];
        let value = percentile.value.unwrap();
        assert!(
            (value - exact).abs() <= 5.0,
            "p{} = {value}, the data's value there {exact}",
            percentile.percent
        );
    }

    // Terms: the two most frequent paths, with their own mean.
    let buckets = results.read(&top_paths).unwrap();
    assert_eq!(buckets.len(), 2);
    for bucket in &buckets {
        let on_path: Vec<f64> = views
            .iter()
            .filter(|v| v.path == bucket.key)
            .map(|v| v.latency.p99_ms)
            .collect();
        assert_eq!(bucket.doc_count, on_path.len() as u64);
        let mean = bucket.read(&per_path_avg).unwrap().unwrap();
        assert!(
            close(mean, on_path.iter().sum::<f64>() / on_path.len() as f64),
            "{}",
            bucket.key
        );
    }

    // Days: filled from the first to the ninth, counts from the data.
    let days = results.read(&daily).unwrap();
    assert_eq!(days.len(), 9);
    for day in &days {
        let next = day.key + chrono::Duration::days(1);
        let want = views
            .iter()
            .filter(|v| v.timestamp >= day.key && v.timestamp < next)
            .count() as u64;
        assert_eq!(
            (day.doc_count, day.read(&per_day).unwrap()),
            (want, want),
            "{}",
            day.key
        );
    }
    assert!(
        days.iter().any(|day| day.doc_count == 0),
        "the filled days past the data are empty"
    );

    let intervals = results.read(&latency_histogram).unwrap();
    for interval in &intervals {
        let want = p99s
            .iter()
            .filter(|p| **p >= interval.key && **p < interval.key + 25.0)
            .count() as u64;
        assert_eq!(interval.doc_count, want, "{}", interval.key);
    }
    assert_eq!(intervals.iter().map(|i| i.doc_count).sum::<u64>(), VIEWS);

    // A handle the search did not ask for is an error that says so.
    let other = aggs::avg(&f.latency.p50_ms);
    let error = results.read(&other).unwrap_err();
    assert!(error.to_string().contains("was not asked for"), "{error}");
}

/// 25,000 views at 100 distinct instants (250 sharing each timestamp):
/// paging by timestamp needs the tiebreaker to neither repeat nor skip.
pub(crate) async fn streaming_pages_through_every_hit_once(store: &Store) {
    const MANY: u64 = 25_000;
    for i in 0..MANY {
        store.record(esrecord_tests::page_view(i % 100, i)).unwrap();
    }
    assert!(store.flush().await.unwrap().is_complete());
    let mut pages = PageView::search()
        .range((2024, 3, 1), (2024, 3, 2))
        .size(1_000)
        .stream(store)
        .await
        .unwrap();
    let (mut seen, mut pages_read, mut last_time) = (Vec::new(), 0, None);
    while let Some(page) = pages.next_page().await.unwrap() {
        pages_read += 1;
        assert!(page.len() <= 1_000);
        for hit in page {
            // Oldest first across pages.
            assert!(last_time <= Some(hit.record.timestamp));
            last_time = Some(hit.record.timestamp);
            seen.push(hit.record.item_id);
        }
        assert!(pages_read <= 30, "more pages than hits");
    }
    assert_eq!(seen.len() as u64, MANY, "every hit once");
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len() as u64, MANY, "no hit twice");
    assert!(pages_read >= 25);

    // By hand: `after` the last hit's sort values gives the next page.
    let first = PageView::search()
        .range((2024, 3, 1), (2024, 3, 2))
        .sort_desc(&PageView::fields().item_id)
        .size(3)
        .fetch(store)
        .await
        .unwrap();
    let cursor = first.hits.last().unwrap().sort.clone();
    let next = PageView::search()
        .range((2024, 3, 1), (2024, 3, 2))
        .sort_desc(&PageView::fields().item_id)
        .size(3)
        .after(cursor)
        .fetch(store)
        .await
        .unwrap();
    let items: Vec<u64> = first
        .hits
        .iter()
        .chain(&next.hits)
        .map(|h| h.record.item_id)
        .collect();
    assert_eq!(
        items,
        [MANY - 1, MANY - 2, MANY - 3, MANY - 4, MANY - 5, MANY - 6]
    );
}

/// Full text: `matches` finds the records whose subject has any of the
/// words, whatever their case; `exists` those with a subject; and the
/// words combine with exact filters on other fields.
pub(crate) async fn text_fields_match_by_their_words(store: &Store) {
    let subjects = [
        "Checkout button does nothing",
        "checkout page slow on mobile",
        "Refund not received",
        "Login fails after password reset",
        "Slow search results",
        "",
    ];
    let start = chrono::DateTime::from_timestamp(1_709_251_200, 0).unwrap();
    let tickets: Vec<Ticket> = (0..60)
        .map(|i| Ticket {
            timestamp: start + chrono::Duration::minutes(i * 97),
            subject: subjects[i as usize % subjects.len()].to_owned(),
            priority: (i % 3) as u8,
        })
        .collect();
    for ticket in &tickets {
        store.record(ticket.clone()).unwrap();
    }
    assert!(store.flush().await.unwrap().is_complete());
    let f = Ticket::fields();
    let has_word = |t: &Ticket, words: &[&str]| {
        t.subject
            .split_whitespace()
            .any(|w| words.contains(&w.to_lowercase().as_str()))
    };
    let cases: Vec<(&str, Query, usize)> = vec![
        (
            "one word, any case",
            f.subject.matches("CHECKOUT"),
            tickets
                .iter()
                .filter(|t| has_word(t, &["checkout"]))
                .count(),
        ),
        (
            "any of the words",
            f.subject.matches("refund slow"),
            tickets
                .iter()
                .filter(|t| has_word(t, &["refund", "slow"]))
                .count(),
        ),
        (
            "words and an exact filter",
            f.subject.matches("slow") & f.priority.eq(0u8),
            tickets
                .iter()
                .filter(|t| has_word(t, &["slow"]) && t.priority == 0)
                .count(),
        ),
        ("a word no subject has", f.subject.matches("invoice"), 0),
    ];
    for (what, query, expected) in cases {
        let results = Ticket::search()
            .filter(query)
            .size(100)
            .fetch(store)
            .await
            .unwrap();
        assert_eq!(results.total as usize, expected, "{what}");
        assert_eq!(results.hits.len(), expected, "{what}");
    }
    // Elasticsearch answers `exists` on text from the field's norms, which
    // an empty text (no words) does not have.
    let with_subject = Ticket::search()
        .filter(f.subject.exists())
        .size(0)
        .fetch(store)
        .await
        .unwrap();
    let non_empty = tickets.iter().filter(|t| !t.subject.is_empty()).count();
    assert_eq!(with_subject.total as usize, non_empty);
}

/// Sorted searches over many partitions give exactly the records sorted in
/// memory, page after page: by the timestamp (partitions apart in time,
/// which the embedded engine skips once a page is full) both ways, and by
/// a field whose values every partition shares.
pub(crate) async fn sorted_pages_across_partitions_follow_the_sort(store: &Store) {
    let views: Vec<PageView> = (0..900u64)
        .map(|i| {
            // Ten days, out of order, several views a minute.
            let minute = (i * 7919) % (10 * 24 * 60);
            let mut view = esrecord_tests::page_view(minute, i);
            view.latency.p99_ms = ((i * 37) % 101) as f64;
            view
        })
        .collect();
    for view in &views {
        store.record(view.clone()).unwrap();
    }
    assert!(store.flush().await.unwrap().is_complete());
    let f = PageView::fields();
    let mut by_time: Vec<(chrono::DateTime<chrono::Utc>, u64)> =
        views.iter().map(|v| (v.timestamp, v.item_id)).collect();
    by_time.sort();
    let by_latency: Vec<u64> = {
        let mut sorted: Vec<&PageView> = views.iter().collect();
        sorted.sort_by(|a, b| {
            b.latency
                .p99_ms
                .total_cmp(&a.latency.p99_ms)
                .then(a.item_id.cmp(&b.item_id))
        });
        sorted.iter().map(|v| v.item_id).collect()
    };
    for size in [7, 250] {
        // Oldest first, page by page, ties broken by item id.
        let mut found = Vec::new();
        let mut cursor = None;
        loop {
            let mut search = PageView::search()
                .sort_asc(&f.timestamp)
                .sort_asc(&f.item_id)
                .size(size);
            if let Some(cursor) = cursor.take() {
                search = search.after(cursor);
            }
            let page = search.fetch(store).await.unwrap();
            assert_eq!(page.total, 900);
            let Some(last) = page.hits.last() else { break };
            cursor = Some(last.sort.clone());
            found.extend(
                page.hits
                    .iter()
                    .map(|h| (h.record.timestamp, h.record.item_id)),
            );
        }
        assert_eq!(found, by_time, "timestamp ascending, pages of {size}");
        // Newest first, one page.
        let newest = PageView::search()
            .sort_desc(&f.timestamp)
            .sort_desc(&f.item_id)
            .size(size)
            .fetch(store)
            .await
            .unwrap();
        let expected: Vec<u64> = by_time.iter().rev().take(size).map(|(_, id)| *id).collect();
        let items: Vec<u64> = newest.hits.iter().map(|h| h.record.item_id).collect();
        assert_eq!(items, expected, "timestamp descending, {size}");
        // A field every partition has values of.
        let slowest = PageView::search()
            .sort_desc(&f.latency.p99_ms)
            .sort_asc(&f.item_id)
            .size(size)
            .fetch(store)
            .await
            .unwrap();
        let items: Vec<u64> = slowest.hits.iter().map(|h| h.record.item_id).collect();
        assert_eq!(items, by_latency[..size], "latency descending, {size}");
    }
}

/// Every scenario of this file, each as `$run!(search_scenarios::name)`, for a
/// suite's runner macro: `search_scenarios!(run);`.
macro_rules! search_scenarios {
    ($run:ident) => {
        $run!(search_scenarios::each_filter_finds_exactly_the_matching_records);
        $run!(search_scenarios::metadata_filters_do_not_match_other_keys_values);
        $run!(search_scenarios::filter_exclude_and_should_combine_with_the_time_range);
        $run!(search_scenarios::latest_gives_the_newest_records_oldest_first);
        $run!(search_scenarios::columns_are_aligned_with_timestamps_and_none_where_a_record_lacks_the_field);
        $run!(search_scenarios::aggregations_read_back_typed_with_the_answers_the_data_gives);
        $run!(search_scenarios::streaming_pages_through_every_hit_once);
        $run!(search_scenarios::text_fields_match_by_their_words);
        $run!(search_scenarios::sorted_pages_across_partitions_follow_the_sort);
    };
}
pub(crate) use search_scenarios;
