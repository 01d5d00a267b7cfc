//! The binary's annotations, run as a user runs it against a fresh
//! embedded store: `annotate` and `annotations` (table and JSON, stream
//! and range, refusals), and `plot --annotations` in the terminal and as
//! a PNG whose marker lines are decoded and found at the columns of the
//! annotations' times.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

mod workspace;

use workspace::Workspace;

/// The cells of a Markdown table row.
fn cells(row: &str) -> Vec<&str> {
    row.trim()
        .trim_matches('|')
        .split('|')
        .map(str::trim)
        .collect()
}

#[test]
fn annotate_records_and_annotations_lists_them_as_a_table_and_as_json() {
    let ws = Workspace::new("list");
    let (stdout, _) = ws.expect(
        0,
        &[
            "annotate",
            "deploys",
            "--title",
            "shop v2.3.1",
            "--source",
            "ci",
            "--link",
            "https://ci.example.com/812",
            "--link",
            "https://github.com/example/shop/pull/7",
            "--at",
            "2024-03-05T10:00",
        ],
    );
    assert_eq!(
        stdout.trim(),
        "annotated deploys at 2024-03-05 10:00:00 UTC: shop v2.3.1"
    );
    let (stdout, _) = ws.expect(
        0,
        &[
            "annotate",
            "incidents",
            "--title",
            "checkout errors",
            "--description",
            "payment provider timeouts",
            "--at",
            "2024-03-05T12:00",
            "--end",
            "2024-03-05T13:30",
        ],
    );
    assert_eq!(
        stdout.trim(),
        "annotated incidents at 2024-03-05 12:00:00 UTC until 2024-03-05 13:30:00 UTC: checkout errors"
    );
    // Without --at: now.
    ws.expect(0, &["annotate", "deploys", "--title", "shop v2.4.0"]);

    let (table, _) = ws.expect(0, &["annotations"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        cells(lines[0]),
        [
            "start (UTC)",
            "end (UTC)",
            "stream",
            "title",
            "source",
            "links"
        ],
        "{table}"
    );
    assert_eq!(lines.len(), 5, "header, rule, three rows: {table}");
    assert_eq!(
        cells(lines[2]),
        [
            "2024-03-05 10:00:00",
            "",
            "deploys",
            "shop v2.3.1",
            "ci",
            "https://ci.example.com/812 https://github.com/example/shop/pull/7"
        ]
    );
    assert_eq!(
        cells(lines[3])[..4],
        [
            "2024-03-05 12:00:00",
            "2024-03-05 13:30:00",
            "incidents",
            "checkout errors"
        ]
    );
    assert!(lines[4].contains("shop v2.4.0"), "newest last: {table}");

    let (text, _) = ws.expect(0, &["annotations", "--stream", "deploys", "--json"]);
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{text}");
    assert_eq!(
        listed[0],
        json!({
            "timestamp": "2024-03-05T10:00:00Z",
            "stream": "deploys",
            "title": "shop v2.3.1",
            "source": "ci",
            "links": ["https://ci.example.com/812", "https://github.com/example/shop/pull/7"],
        })
    );

    // The incident lasts into this range; the deploy at 10:00 is before it.
    let (text, _) = ws.expect(
        0,
        &[
            "annotations",
            "--json",
            "--from",
            "2024-03-05T13",
            "--until",
            "2024-03-06",
        ],
    );
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{text}");
    assert_eq!(listed[0]["end"], "2024-03-05T13:30:00Z");
    assert_eq!(listed[0]["description"], "payment provider timeouts");

    let (text, _) = ws.expect(0, &["annotations", "--limit", "1", "--json"]);
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed[0]["title"], "shop v2.4.0", "the newest: {text}");

    let (stdout, _) = ws.expect(0, &["annotations", "--stream", "releases"]);
    assert!(
        stdout.contains("no annotations of stream \"releases\"") && stdout.contains("annotate"),
        "{stdout}"
    );
}

#[test]
fn what_annotate_cannot_record_exits_2_saying_what_to_give() {
    let ws = Workspace::new("refused");
    let cases: [(&[&str], &str); 6] = [
        (&["annotate", "deploys", "--title", " "], "title is empty"),
        (
            &["annotate", "release notes", "--title", "v2"],
            "ASCII letters, digits",
        ),
        (
            &[
                "annotate",
                "deploys",
                "--title",
                "v2",
                "--at",
                "2024-03-05T10",
                "--end",
                "2024-03-05T09",
            ],
            "before the start",
        ),
        (
            &["annotate", "deploys", "--title", "v2", "--at", "soon"],
            "--at: \"soon\" is not a time",
        ),
        (
            &["annotate", "deploys", "--title", "v2", "--link", "ci/812"],
            "absolute URL",
        ),
        (
            &["annotations", "--stream", "no spaces"],
            "stream \"no spaces\"",
        ),
    ];
    for (args, message) in cases {
        let (_, stderr) = ws.expect(2, args);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    for plot in [
        &["plot", "pageview", "latency.p99_ms", "--annotations", "a b"][..],
        &["plot", "--metric", "orders", "--annotations", "a b"],
    ] {
        let (_, stderr) = ws.expect(2, plot);
        assert!(stderr.contains("stream \"a b\""), "{plot:?}: {stderr}");
    }
    ws.expect(2, &["annotate", "deploys"]);
    ws.expect(2, &["annotations", "--limit", "0"]);
    let (stdout, _) = ws.expect(0, &["annotations"]);
    assert!(stdout.starts_with("no annotations;"), "{stdout}");
}

/// One page view an hour from 2024-03-01 00:00 to 2024-03-03 23:00, with
/// p99 rising and falling.
fn hourly_views() -> Vec<Value> {
    (0..72)
        .map(|i: u32| {
            json!({
                "timestamp": format!("2024-03-{:02}T{:02}:00:00Z", 1 + i / 24, i % 24),
                "item_id": i,
                "path": "/",
                "latency": {"p50_ms": 1.0, "p99_ms": 100.0 + f64::from(i % 12) * 10.0},
                "tags": {},
            })
        })
        .collect()
}

/// The annotations of the plot test: on `deploys`, a deploy at 24 h after
/// the first bucket and an incident from 36 h to 48 h, both in the range,
/// and one on the 5th, past it; on `other`, one in the range.
fn annotate_plot_events(ws: &Workspace) {
    let events: [&[&str]; 4] = [
        &[
            "deploys",
            "--title",
            "deploy v2",
            "--at",
            "2024-03-02T00:00",
        ],
        &[
            "deploys",
            "--title",
            "incident",
            "--at",
            "2024-03-02T12:00",
            "--end",
            "2024-03-03T00:00",
        ],
        &["deploys", "--title", "too late", "--at", "2024-03-05T00:00"],
        &["other", "--title", "elsewhere", "--at", "2024-03-01T12:00"],
    ];
    for args in events {
        ws.expect(0, &[&["annotate"][..], args].concat());
    }
}

/// A decoded RGB(A) PNG.
struct Image {
    width: usize,
    height: usize,
    channels: usize,
    pixels: Vec<u8>,
}

impl Image {
    fn open(path: &std::path::Path) -> Image {
        let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut pixels).unwrap();
        pixels.truncate(info.buffer_size());
        Image {
            width: info.width as usize,
            height: info.height as usize,
            channels: info.color_type.samples(),
            pixels,
        }
    }

    /// How many pixels of column `x` are exactly `rgb`.
    fn count_in_column(&self, x: usize, rgb: [u8; 3]) -> usize {
        (0..self.height)
            .filter(|y| {
                let at = (y * self.width + x) * self.channels;
                self.pixels[at..at + 3] == rgb
            })
            .count()
    }

    /// The columns with more than `min` pixels of exactly `rgb`.
    fn columns_with(&self, rgb: [u8; 3], min: usize) -> Vec<usize> {
        (0..self.width)
            .filter(|&x| self.count_in_column(x, rgb) > min)
            .collect()
    }
}

/// The plotted line's blue, and the markers' first three colours.
const LINE: [u8; 3] = [31, 119, 180];
const ORANGE: [u8; 3] = [255, 127, 14];
const GREEN: [u8; 3] = [44, 160, 44];
const RED: [u8; 3] = [214, 39, 40];

/// Whether `columns` (sorted) are all within `slack` pixels of one of
/// `expected`, and each expected column has one of them.
fn near(columns: &[usize], expected: &[f64], slack: f64) -> bool {
    let close = |c: usize, e: f64| (c as f64 - e).abs() <= slack;
    !columns.is_empty()
        && columns
            .iter()
            .all(|&c| expected.iter().any(|&e| close(c, e)))
        && expected
            .iter()
            .all(|&e| columns.iter().any(|&c| close(c, e)))
}

#[test]
fn plot_marks_the_streams_annotations_at_their_times_in_a_png() {
    let ws = Workspace::new("plot-png");
    ws.import("shop.pageview", &hourly_views());
    annotate_plot_events(&ws);
    let png = ws.path("annotated.png");
    ws.expect(
        0,
        &[
            "plot",
            "pageview",
            "latency.p99_ms",
            "--from",
            "2024-03-01",
            "--until",
            "2024-03-04",
            "--annotations",
            "deploys",
            "--out",
            png.to_str().unwrap(),
            "--size",
            "1200x600",
        ],
    );
    let image = Image::open(&png);
    assert_eq!((image.width, image.height), (1200, 600));

    // The line runs from the first bucket (x of 0 h) to the last (71 h):
    // its ends give the plotting area's scale.
    let line = image.columns_with(LINE, 0);
    let (left, right) = (line[0] as f64, line[line.len() - 1] as f64);
    assert!(
        right - left > 900.0,
        "the line spans the chart: {left}..{right}"
    );
    let x_at = |hours: f64| left + (right - left) * hours / 71.0;

    // A marker is a line over most of the chart's height (its title, in
    // the same colour, never fills a column).
    let tall = image.height * 2 / 3;
    let orange = image.columns_with(ORANGE, tall);
    assert!(
        near(&orange, &[x_at(24.0)], 3.0),
        "the deploy's line at {:.0}: {orange:?}",
        x_at(24.0)
    );
    let green = image.columns_with(GREEN, tall);
    assert!(
        near(&green, &[x_at(36.0), x_at(48.0)], 3.0),
        "the incident's start and end at {:.0} and {:.0}: {green:?}",
        x_at(36.0),
        x_at(48.0)
    );
    assert!(
        image.columns_with(RED, 0).is_empty(),
        "no third marker: the annotation past the range and the other stream's are not drawn"
    );

    // Between its lines, the incident is shaded: lighter than green, not white.
    let middle = x_at(42.0) as usize;
    let at = (image.height / 2 * image.width + middle) * image.channels;
    let shade = &image.pixels[at..at + 3];
    assert!(
        shade != [255, 255, 255] && shade[1] > shade[0] && shade[1] > shade[2],
        "a green shade between start and end: {shade:?}"
    );
}

#[test]
fn plot_marks_annotations_under_the_terminal_chart_with_a_legend() {
    let ws = Workspace::new("plot-terminal");
    ws.import("shop.pageview", &hourly_views());
    annotate_plot_events(&ws);
    let (chart, _) = ws.expect(
        0,
        &[
            "plot",
            "pageview",
            "latency.p99_ms",
            "--from",
            "2024-03-01",
            "--until",
            "2024-03-04",
            "--annotations",
            "deploys",
        ],
    );
    let lines: Vec<&str> = chart.lines().collect();
    assert!(
        lines.ends_with(&[
            "1 2024-03-02 00:00 deploy v2",
            "2 2024-03-02 12:00 to 2024-03-03 00:00 incident"
        ]),
        "{chart}"
    );
    assert!(!chart.contains("too late") && !chart.contains("elsewhere"));
    // The canvas is the braille lines; the marker row is right under it.
    let braille = |l: &&str| l.chars().any(|c| ('\u{2800}'..='\u{28ff}').contains(&c));
    let canvas: Vec<&str> = lines.iter().copied().filter(braille).collect();
    let columns = canvas[0]
        .chars()
        .filter(|c| ('\u{2800}'..='\u{28ff}').contains(c))
        .count();
    let row_index = lines.iter().rposition(braille).unwrap() + 1;
    let row: Vec<char> = lines[row_index].chars().collect();
    let column_of = |hours: f64| (hours / 71.0 * (2 * columns - 1) as f64).round() as usize / 2;
    let found = |symbol: char| row.iter().position(|&c| c == symbol);
    assert_eq!(found('1'), Some(column_of(24.0)), "{chart}");
    assert_eq!(found('2'), Some(column_of(36.0)), "{chart}");
    assert!(
        row[column_of(36.0) + 1..=column_of(48.0)]
            .iter()
            .all(|&c| c == '-'),
        "the incident's span: {chart}"
    );
    assert!(
        lines[row_index + 1].starts_with("2024-03-01 00:00"),
        "{chart}"
    );
    assert!(lines.len() <= 20 + 1, "{} lines: {chart}", lines.len());
}

#[test]
fn plot_of_a_metric_marks_annotations_too() {
    let ws = Workspace::new("plot-metric");
    let points: Vec<Value> = (0..6)
        .map(|i| {
            json!({
                "timestamp": format!("2024-03-05T12:{:02}:00Z", i * 10), "name": "orders",
                "kind": "counter", "tags": {"service": "shop"}, "interval": 600.0,
                "increase": f64::from(i), "total": f64::from(i * (i + 1) / 2),
            })
        })
        .collect();
    ws.import("esrecord.metric", &points);
    ws.expect(
        0,
        &[
            "annotate",
            "deploys",
            "--title",
            "orders service v7",
            "--at",
            "2024-03-05T12:25",
        ],
    );
    let range = ["--from", "2024-03-05T12", "--until", "2024-03-05T13"];
    let (chart, _) = ws.expect(
        0,
        &[
            &["plot", "--metric", "orders", "--annotations", "deploys"][..],
            &range,
        ]
        .concat(),
    );
    assert!(
        chart.contains("increase of orders")
            && chart.ends_with("1 2024-03-05 12:25 orders service v7\n"),
        "{chart}"
    );
    let svg = ws.path("orders.svg");
    ws.expect(
        0,
        &[
            &[
                "plot",
                "--metric",
                "orders",
                "--annotations",
                "deploys",
                "--out",
                svg.to_str().unwrap(),
            ][..],
            &range,
        ]
        .concat(),
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("orders service v7") && text.contains("#FF7F0E"),
        "the title beside an orange line"
    );
}
