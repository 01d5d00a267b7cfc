//! Charts for the `plot` command: a braille line chart for the terminal, or an SVG/PNG image.
//!
//! Both renderers draw the same [`Prepared`] form of a [`Series`]: x is the time since the first
//! bucket in minutes or hours (small numbers keep full precision, even in textplots' `f32`), and
//! the values are split into runs at missing buckets so gaps stay gaps.
//! Annotations are marked on both ([`markers`](super::markers)).

use chrono::{DateTime, TimeDelta, Utc};
use plotters::coord::Shift;
use plotters::prelude::{
    BitMapBackend, ChartBuilder, DrawingArea, DrawingAreaErrorKind, DrawingBackend,
    IntoDrawingArea, LineSeries, RGBColor, SVGBackend, WHITE,
};
use plotters::style::{Color, FontStyle, register_font};
use std::path::Path;
use std::sync::OnceLock;
use textplots::{Chart, LabelBuilder, LabelFormat, Plot, Shape};

use super::markers::{self, Marker};

/// A time series to draw: one value per bucket, `None` where a bucket had no data.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    /// What the values are, e.g. "avg of latency.p99_ms per 1h, shop.pageview".
    pub(crate) title: String,
    /// Bucket starts, oldest first, with their values.
    pub(crate) points: Vec<(DateTime<Utc>, Option<f64>)>,
    /// Annotations to mark, oldest first; those outside the buckets' span
    /// are marked at its ends.
    pub(crate) markers: Vec<Marker>,
}

/// Values further from zero than this are skipped like NaN and infinities, so that the y range
/// and its padding always stay finite.
const MAX_ABS_VALUE: f64 = 1e300;

/// Spans up to this many seconds use minutes on the x axis, longer ones hours.
const MINUTES_UP_TO_SECS: f64 = 3.0 * 3600.0;

/// Half the width of the x axis, in minutes, when all buckets start at the same time.
const SINGLE_BUCKET_HALF_WIDTH_MINUTES: f64 = 30.0;

/// Colour of the plotted line in images.
const LINE_COLOR: RGBColor = RGBColor(31, 119, 180);

/// The series as a line chart in text for a terminal, `width` x `height` cells (braille, via textplots),
/// with the y range, the first and last bucket times (UTC, e.g. "2024-03-05 07:00") and the title in the text.
/// An empty series (or one with no values) gives a one-line message saying there is nothing to plot, not a panic.
///
/// The whole text fits in `width` x `height` cells, so the terminal's size can be passed as is:
/// a title line, the chart with the highest and lowest value after its first and last line, and a
/// line with the first and last bucket times; no trailing newline. The chart gets what the labels
/// leave, clamped to 40..=400 columns (so both time labels fit) and 5..=200 lines; a long title
/// is not cut. NaN, infinite and absurdly large (beyond ±1e300) values are skipped like missing
/// buckets. With markers, a row under the chart has each one's symbol at its time, and a legend
/// after the time labels names them, one line each; the chart is that much shorter.
pub(crate) fn terminal(series: &Series, width: u32, height: u32) -> String {
    let Some(data) = Prepared::from_series(series) else {
        return nothing_to_plot(series);
    };
    let (y_min, y_max) = data.y_range(0.0);
    let label_width = 1 + format_value(y_min).len().max(format_value(y_max).len()) as u32;
    let columns = width.saturating_sub(label_width).clamp(40, 400);
    let marker_lines = if series.markers.is_empty() {
        0
    } else {
        1 + u32::try_from(series.markers.len()).unwrap_or(u32::MAX)
    };
    let rows = height
        .saturating_sub(2)
        .saturating_sub(marker_lines)
        .clamp(5, 200);
    let (x_min, x_max) = data.x_range();

    // textplots computes in f32: x is already small, y is scaled to 0..1 and turned back into
    // values by the label format.
    let to_chart = |x: f64, y: f64| (x as f32, ((y - y_min) / (y_max - y_min)) as f32);
    let cell_width = (x_max - x_min) / f64::from(columns);
    let lines: Vec<Vec<(f32, f32)>> = data
        .runs
        .iter()
        .map(|run| match run.as_slice() {
            // A lone value would be one dot, easily lost (e.g. on the y axis): draw a short dash.
            &[(x, y)] => vec![to_chart(x - cell_width, y), to_chart(x + cell_width, y)],
            run => run.iter().map(|&(x, y)| to_chart(x, y)).collect(),
        })
        .collect();
    let shapes: Vec<Shape<'_>> = lines.iter().map(|line| Shape::Lines(line)).collect();

    // A braille cell is 2 x 4 dots; one dot less keeps the canvas at exactly `rows` x `columns` cells.
    let mut chart = Chart::new_with_y_range(
        2 * columns - 1,
        4 * rows - 1,
        x_min as f32,
        x_max as f32,
        0.0,
        1.0,
    );
    let (first, unit_secs) = (data.first, data.unit_secs);
    let mut plot = &mut chart;
    plot = plot.x_label_format(LabelFormat::Custom(Box::new(move |x| {
        time_label(first, f64::from(x), unit_secs)
    })));
    plot = plot.y_label_format(LabelFormat::Custom(Box::new(move |y| {
        format_value(y_min + f64::from(y) * (y_max - y_min))
    })));
    for shape in &shapes {
        plot = plot.lineplot(shape);
    }
    plot.axis();
    plot.figures();
    let chart = plot.to_string();
    let chart = chart.trim_end();
    if series.markers.is_empty() {
        return format!("{}\n{chart}", series.title);
    }
    // Under the canvas, above the time labels (textplots' last line).
    let (canvas, times) = chart.rsplit_once('\n').unwrap_or((chart, ""));
    let row = markers::terminal_row(&series.markers, |t| data.x_of(t), (x_min, x_max), columns);
    let legend = markers::legend(&series.markers).join("\n");
    format!("{}\n{canvas}\n{row}\n{times}\n{legend}", series.title)
}

/// Writes the series as an SVG or PNG image (chosen by the extension of `path`, case-insensitive),
/// `width` x `height` pixels: title, axes with time labels on x and value labels on y, the line
/// (gaps where values are None), white background. Any other extension is an Err naming the
/// extension and saying to use .svg or .png. IO and drawing errors are Err with the path in the message.
///
/// `width` and `height` are each clamped to 64..=8192 pixels. A series without any value is an
/// Err saying there is nothing to plot, and no file is written. NaN, infinite and absurdly large
/// (beyond ±1e300) values are skipped like missing buckets; a value between two gaps is a dot.
/// Markers are vertical lines from the bottom to the top of the plotting area in
/// [`markers::color`] (and a light shade of it between start and end for a span), with their
/// titles beside the top.
pub(crate) fn write_image(
    series: &Series,
    path: &Path,
    width: u32,
    height: u32,
) -> Result<(), String> {
    let format = ImageFormat::of(path)?;
    let Some(data) = Prepared::from_series(series) else {
        return Err(format!(
            "{}; not writing {}",
            nothing_to_plot(series),
            path.display()
        ));
    };
    register_font_once()?;
    let size = (width.clamp(64, 8192), height.clamp(64, 8192));
    let drawn = match format {
        ImageFormat::Svg => draw(
            SVGBackend::new(path, size).into_drawing_area(),
            series,
            &data,
        )
        .map_err(|e| e.to_string()),
        ImageFormat::Png => draw(
            BitMapBackend::new(path, size).into_drawing_area(),
            series,
            &data,
        )
        .map_err(|e| e.to_string()),
    };
    drawn.map_err(|e| format!("cannot write the chart to {}: {e}", path.display()))
}

/// The one-line message for a series without any value to plot.
fn nothing_to_plot(series: &Series) -> String {
    format!("nothing to plot: no values for {}", series.title)
}

/// A series made ready to draw: x offsets from the first bucket and runs of plottable values.
#[derive(Debug)]
struct Prepared {
    /// Start of the oldest bucket, where x is 0.
    first: DateTime<Utc>,
    /// Seconds in one x unit: 60 (minutes) for short spans, 3600 (hours) otherwise.
    unit_secs: f64,
    /// x of the newest bucket.
    x_last: f64,
    /// Runs of consecutive plottable values as (x, value); a missing value ends a run.
    runs: Vec<Vec<(f64, f64)>>,
    /// The lowest plottable value.
    y_min: f64,
    /// The highest plottable value.
    y_max: f64,
}

impl Prepared {
    /// Sorts the buckets by time and splits them into runs; `None` if no value is plottable.
    fn from_series(series: &Series) -> Option<Self> {
        let mut points = series.points.clone();
        points.sort_by_key(|&(time, _)| time);
        let first = points.first()?.0;
        let last = points.last()?.0;
        let span_secs = seconds_between(first, last);
        let unit_secs = if span_secs <= MINUTES_UP_TO_SECS {
            60.0
        } else {
            3600.0
        };

        let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut run = Vec::new();
        for (time, value) in points {
            match value.filter(|v| is_plottable(*v)) {
                Some(v) => run.push((seconds_between(first, time) / unit_secs, v)),
                None if !run.is_empty() => runs.push(std::mem::take(&mut run)),
                None => {}
            }
        }
        if !run.is_empty() {
            runs.push(run);
        }

        let values = || runs.iter().flatten().map(|&(_, v)| v);
        let y_min = values().reduce(f64::min)?;
        let y_max = values().reduce(f64::max)?;
        Some(Self {
            first,
            unit_secs,
            x_last: span_secs / unit_secs,
            runs,
            y_min,
            y_max,
        })
    }

    /// The x of `time`: units since the first bucket.
    fn x_of(&self, time: DateTime<Utc>) -> f64 {
        seconds_between(self.first, time) / self.unit_secs
    }

    /// The x axis: first to last bucket, or an hour around the bucket if all start at the same time.
    fn x_range(&self) -> (f64, f64) {
        if self.x_last > 0.0 {
            (0.0, self.x_last)
        } else {
            let half_width = SINGLE_BUCKET_HALF_WIDTH_MINUTES * 60.0 / self.unit_secs;
            (-half_width, half_width)
        }
    }

    /// The y axis: lowest to highest value, widened by `margin` times the span on each side,
    /// or by a tenth of the value (1 around zero) if all values are equal.
    fn y_range(&self, margin: f64) -> (f64, f64) {
        let pad = if self.y_max > self.y_min {
            (self.y_max - self.y_min) * margin
        } else if self.y_min == 0.0 {
            1.0
        } else {
            self.y_min.abs() / 10.0
        };
        (self.y_min - pad, self.y_max + pad)
    }
}

/// Whether a value can be drawn: finite and not so large that the y range would overflow.
fn is_plottable(value: f64) -> bool {
    value.is_finite() && value.abs() <= MAX_ABS_VALUE
}

/// Seconds from `from` to `to`, with millisecond precision.
fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

/// The time `x` units after `first` to the minute, e.g. "2024-03-05 07:00" (UTC); empty if out of range.
///
/// Rounding to whole minutes hides the float error in `x`, which would otherwise turn 07:00 into 06:59.
fn time_label(first: DateTime<Utc>, x: f64, unit_secs: f64) -> String {
    let minutes = (x * unit_secs / 60.0).round() as i64;
    TimeDelta::try_minutes(minutes)
        .and_then(|offset| first.checked_add_signed(offset))
        .map(|time| time.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// A value for an axis label: up to three decimals below a million, scientific notation beyond
/// that and for tiny values, e.g. "12.5", "-3", "1.234e9", "2.50e-5".
fn format_value(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 {
        "0".to_string()
    } else if magnitude >= 1e6 {
        format!("{value:.3e}")
    } else if magnitude < 1e-3 {
        format!("{value:.2e}")
    } else {
        let fixed = format!("{value:.3}");
        fixed
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// Whether [`write_image`] can write `path` (an `.svg` or a `.png`, by its
/// extension); the error says what to use.
pub(crate) fn check_image_path(path: &Path) -> Result<(), String> {
    ImageFormat::of(path).map(drop)
}

/// The image formats [`write_image`] can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImageFormat {
    /// Scalable vector graphics, `.svg`.
    Svg,
    /// Portable network graphics, `.png`.
    Png,
}

impl ImageFormat {
    /// The format named by the extension of `path`, ignoring case.
    fn of(path: &Path) -> Result<Self, String> {
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match extension.as_deref() {
            Some("svg") => Ok(Self::Svg),
            Some("png") => Ok(Self::Png),
            Some(other) => Err(format!(
                "cannot write a .{other} image ({}): use .svg or .png",
                path.display()
            )),
            None => Err(format!(
                "{} has no extension: use .svg or .png",
                path.display()
            )),
        }
    }
}

/// Registers DejaVu Sans as plotters' "sans-serif" font, once per process; plotters needs it to
/// measure and draw text, in SVG as well as PNG.
fn register_font_once() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "cannot load the DejaVu Sans font for chart text".to_string())
        })
        .clone()
}

/// Draws the chart on `root` (filling it white first) and saves it.
fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    series: &Series,
    data: &Prepared,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (width, height) = root.dim_in_pixel();
    let text_px = (width.min(height) / 40).clamp(10, 48);
    let (x_min, x_max) = data.x_range();
    let (y_min, y_max) = data.y_range(0.05);
    let widest_y_label = format_value(y_min).len().max(format_value(y_max).len()) as u32;

    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(&series.title, ("sans-serif", text_px * 4 / 3))
        .margin(text_px)
        // Room for half a time label, centred under the last tick.
        .margin_right(text_px * 5)
        .x_label_area_size(text_px * 2)
        // A digit is about 3/5 of the text height wide; leave room for the tick marks too.
        .y_label_area_size(text_px * (4 + widest_y_label) * 3 / 5)
        .build_cartesian_2d(x_min..x_max, y_min..y_max)?;

    let x_label = |x: &f64| time_label(data.first, *x, data.unit_secs);
    let y_label = |y: &f64| format_value(*y);
    chart
        .configure_mesh()
        // A time label is about ten text heights wide; leave room between them.
        .x_labels((width / (text_px * 12)).max(2) as usize)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .label_style(("sans-serif", text_px))
        .draw()?;

    let x_of = |t| data.x_of(t);
    markers::draw_spans(&mut chart, &series.markers, x_of, (y_min, y_max))?;
    let line = LINE_COLOR.filled().stroke_width((text_px / 5).max(2));
    for run in &data.runs {
        // A value between two gaps has no line to be part of: mark it with a dot.
        let dot_px = if run.len() == 1 { text_px / 3 } else { 0 };
        chart.draw_series(LineSeries::new(run.iter().copied(), line).point_size(dot_px))?;
    }
    markers::draw_lines(&mut chart, &series.markers, x_of, (y_min, y_max), text_px)?;
    root.present()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::fs::File;
    use std::path::PathBuf;

    /// `hours` hourly buckets from 2024-03-05 07:00 UTC with the given values.
    fn hourly(title: &str, values: &[Option<f64>]) -> Series {
        let start = Utc.with_ymd_and_hms(2024, 3, 5, 7, 0, 0).unwrap();
        Series {
            title: title.to_string(),
            points: values
                .iter()
                .enumerate()
                .map(|(i, v)| (start + TimeDelta::hours(i as i64), *v))
                .collect(),
            markers: Vec::new(),
        }
    }

    /// A day of hourly values shaped like a wave.
    fn wave() -> Series {
        let values: Vec<Option<f64>> = (0..25)
            .map(|i| Some(100.0 + 50.0 * (f64::from(i) / 4.0).sin()))
            .collect();
        hourly("avg of latency.p99_ms per 1h, shop.pageview", &values)
    }

    /// A fresh empty directory for one test's files.
    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("chart-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Decodes a PNG file into (width, height, pixel bytes).
    fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
        let decoder = png::Decoder::new(File::open(path).unwrap());
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut pixels).unwrap();
        pixels.truncate(info.buffer_size());
        (info.width, info.height, pixels)
    }

    /// Whether an RGB pixel buffer has more than one colour.
    fn has_several_colors(pixels: &[u8]) -> bool {
        let mut colors = pixels.chunks_exact(3);
        let first = colors.next().unwrap();
        colors.any(|c| c != first)
    }

    #[test]
    fn terminal_shows_title_times_and_range_within_height() {
        let series = wave();
        let text = terminal(&series, 80, 20);
        assert!(text.contains(&series.title));
        assert!(
            text.contains("2024-03-05 07:00"),
            "first bucket time missing"
        );
        assert!(
            text.contains("2024-03-06 07:00"),
            "last bucket time missing"
        );
        assert!(
            text.lines().count() <= 20 + 3,
            "{} lines",
            text.lines().count()
        );
        let (y_min, y_max) = Prepared::from_series(&series).unwrap().y_range(0.0);
        assert!(text.contains(&format_value(y_min)));
        assert!(text.contains(&format_value(y_max)));
    }

    #[test]
    fn markers_fit_in_the_terminal_height_and_name_their_titles_in_images() {
        let mut series = wave();
        let start = Utc.with_ymd_and_hms(2024, 3, 5, 13, 0, 0).unwrap();
        series.markers = vec![
            Marker {
                start,
                end: None,
                title: "deploy v2".into(),
            },
            Marker {
                start: start + TimeDelta::hours(2),
                end: Some(start + TimeDelta::hours(5)),
                title: "incident".into(),
            },
        ];
        let text = terminal(&series, 80, 20);
        assert!(text.lines().count() <= 20, "{text}");
        assert!(
            text.ends_with("1 2024-03-05 13:00 deploy v2\n2 2024-03-05 15:00 to 18:00 incident"),
            "{text}"
        );
        let dir = temp_dir("markers");
        let path = dir.join("chart.svg");
        write_image(&series, &path, 800, 400).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.contains("deploy v2") && svg.contains("incident"));
        let png = dir.join("chart.png");
        write_image(&series, &png, 800, 400).unwrap();
        let (_, _, pixels) = decode_png(&png);
        let orange = markers::color(0);
        assert!(
            pixels
                .chunks_exact(3)
                .any(|p| p == [orange.0, orange.1, orange.2])
        );
    }

    #[test]
    fn terminal_empty_series_says_nothing_to_plot() {
        let empty = Series {
            title: "count per 1h, shop.pageview".to_string(),
            points: vec![],
            markers: Vec::new(),
        };
        let text = terminal(&empty, 80, 20);
        assert_eq!(text.lines().count(), 1);
        assert!(text.contains("nothing to plot"));

        let no_values = hourly("count", &[None, Some(f64::NAN), Some(f64::INFINITY)]);
        assert!(terminal(&no_values, 80, 20).contains("nothing to plot"));
    }

    #[test]
    fn terminal_survives_odd_data_and_sizes() {
        let gappy = hourly(
            "gappy",
            &[
                Some(1.0),
                None,
                Some(f64::NAN),
                Some(3.0),
                Some(4.0),
                None,
                Some(-1e301),
            ],
        );
        for (width, height) in [(0, 0), (1, 1), (u32::MAX, u32::MAX), (80, 20)] {
            let text = terminal(&gappy, width, height);
            assert!(text.contains("gappy"));
            assert!(text.lines().count() <= 200 + 3);
        }
        let single = hourly("single", &[Some(42.0)]);
        let text = terminal(&single, 80, 20);
        assert!(text.contains("46.2") && text.contains("37.8"), "{text}");
        let flat = hourly("flat", &[Some(5.0); 10]);
        assert!(
            terminal(&flat, 80, 20).contains("5.5"),
            "flat range not widened"
        );
        let huge = hourly("huge", &[Some(-1e300), Some(1e300)]);
        assert!(terminal(&huge, 80, 20).contains("1.000e300"));
    }

    #[test]
    fn png_has_requested_size_and_a_drawing() {
        let dir = temp_dir("png");
        let path = dir.join("chart.png");
        write_image(&wave(), &path, 640, 480).unwrap();
        let (width, height, pixels) = decode_png(&path);
        assert_eq!((width, height), (640, 480));
        assert!(has_several_colors(&pixels));
    }

    #[test]
    fn png_extension_is_case_insensitive_and_sizes_are_clamped() {
        let dir = temp_dir("png-upper");
        let path = dir.join("CHART.PNG");
        write_image(&wave(), &path, 1, 100_000).unwrap();
        let (width, height, _) = decode_png(&path);
        assert_eq!((width, height), (64, 8192));
    }

    #[test]
    fn svg_starts_with_svg_tag_and_has_title() {
        let dir = temp_dir("svg");
        let path = dir.join("chart.svg");
        let series = wave();
        write_image(&series, &path, 800, 600).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains(&series.title));
        assert!(svg.contains("2024-03-05 07:00"));
    }

    #[test]
    fn other_extensions_are_refused() {
        let dir = temp_dir("gif");
        for name in ["chart.gif", "chart"] {
            let err = write_image(&wave(), &dir.join(name), 640, 480).unwrap_err();
            assert!(err.contains(".svg") && err.contains(".png"), "{err}");
        }
        let err = write_image(&wave(), &dir.join("chart.gif"), 640, 480).unwrap_err();
        assert!(err.contains("gif"), "{err}");
        assert!(!dir.join("chart.gif").exists());
    }

    #[test]
    fn io_errors_name_the_path() {
        let dir = temp_dir("io");
        let path = dir.join("missing-dir").join("chart.png");
        let err = write_image(&wave(), &path, 640, 480).unwrap_err();
        assert!(err.contains(&path.display().to_string()), "{err}");
    }

    #[test]
    fn gaps_nan_and_edge_cases_still_write() {
        let dir = temp_dir("gaps");
        let cases = [
            hourly(
                "gaps",
                &[
                    Some(1.0),
                    None,
                    Some(f64::NAN),
                    Some(2.0),
                    Some(3.0),
                    None,
                    Some(f64::NEG_INFINITY),
                    Some(0.5),
                ],
            ),
            hourly("single", &[Some(7.0)]),
            hourly("flat", &[Some(0.0); 5]),
            hourly("huge", &[Some(-1e300), Some(1e300), Some(1e301)]),
            hourly("tiny", &[Some(1e-300), Some(2e-300)]),
        ];
        for series in &cases {
            for extension in ["png", "svg"] {
                let path = dir.join(format!("{}.{extension}", series.title));
                write_image(series, &path, 320, 240).unwrap();
                assert!(path.exists());
            }
            let (_, _, pixels) = decode_png(&dir.join(format!("{}.png", series.title)));
            assert!(has_several_colors(&pixels));
        }
        let small = dir.join("small.png");
        write_image(&cases[0], &small, 0, 0).unwrap();
        assert_eq!(decode_png(&small).0, 64);
    }

    #[test]
    fn image_of_no_values_is_an_error() {
        let dir = temp_dir("none");
        let path = dir.join("chart.png");
        let err = write_image(&hourly("empty", &[None, None]), &path, 640, 480).unwrap_err();
        assert!(err.contains("nothing to plot"), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn labels_read_well() {
        let start = Utc.with_ymd_and_hms(2024, 3, 5, 7, 0, 0).unwrap();
        assert_eq!(time_label(start, 2.0, 3600.0), "2024-03-05 09:00");
        assert_eq!(time_label(start, 23.999_99, 3600.0), "2024-03-06 07:00");
        assert_eq!(time_label(start, f64::MAX, 3600.0), "");
        assert_eq!(format_value(12.5), "12.5");
        assert_eq!(format_value(-3.0), "-3");
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(1_234_000_000.0), "1.234e9");
        assert_eq!(format_value(0.000_025), "2.50e-5");
    }
}
