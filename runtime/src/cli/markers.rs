//! Annotation markers on charts: a row of numbered marks under the
//! terminal chart with a legend, and vertical lines (spans when they last)
//! with their titles in images.
//!
//! Marker `i` (oldest first) has the symbol [`symbol`]`(i)` in the
//! terminal and the colour [`color`]`(i)` in images, so a legend and an
//! image of the same plot agree.

use chrono::{DateTime, Utc};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::{
    Cartesian2d, ChartContext, DrawingAreaErrorKind, DrawingBackend, EmptyElement, IntoFont,
    LineSeries, Rectangle, Text, WHITE,
};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, RGBColor};

/// One annotation to mark: an instant, or a span when it has an end.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Marker {
    /// When it starts.
    pub(crate) start: DateTime<Utc>,
    /// When it ends, for a span.
    pub(crate) end: Option<DateTime<Utc>>,
    /// Its title.
    pub(crate) title: String,
}

/// The colours of markers in images, in turn (none is the line's blue):
/// orange, green, red, purple, brown, pink.
pub(crate) const MARKER_COLORS: [RGBColor; 6] = [
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
];

/// How opaque a span's shading is.
const SPAN_OPACITY: f64 = 0.15;

/// How opaque the box under a title is.
const LABEL_BACKDROP_OPACITY: f64 = 0.8;

/// The symbols of markers in the terminal, in turn; `*` after them.
const SYMBOLS: &str = "123456789abcdefghijklmnopqrstuvwxyz";

/// The colour of marker `index` in images.
pub(crate) fn color(index: usize) -> RGBColor {
    MARKER_COLORS[index % MARKER_COLORS.len()]
}

/// The symbol of marker `index` in the terminal.
pub(crate) fn symbol(index: usize) -> char {
    SYMBOLS.chars().nth(index).unwrap_or('*')
}

/// The row under a terminal chart of `columns` cells whose x axis runs
/// from `x_min` to `x_max`: each marker's symbol at its start's column, and
/// `-` over the rest of a span. `x_of` gives a time's x; times beyond the
/// axis are put at its ends.
pub(crate) fn terminal_row(
    markers: &[Marker],
    x_of: impl Fn(DateTime<Utc>) -> f64,
    (x_min, x_max): (f64, f64),
    columns: u32,
) -> String {
    let columns = columns.max(1) as usize;
    // textplots puts x on 2 * columns - 1 braille dots, 2 a cell.
    let dots = (2 * columns - 1) as f64;
    let column = |time: DateTime<Utc>| {
        let share = ((x_of(time) - x_min) / (x_max - x_min)).clamp(0.0, 1.0);
        ((share * dots).round() as usize / 2).min(columns - 1)
    };
    let mut row = vec![' '; columns];
    for marker in markers {
        if let Some(end) = marker.end {
            for cell in &mut row[column(marker.start)..=column(end)] {
                if *cell == ' ' {
                    *cell = '-';
                }
            }
        }
    }
    for (index, marker) in markers.iter().enumerate() {
        row[column(marker.start)] = symbol(index);
    }
    row.into_iter().collect::<String>().trim_end().to_owned()
}

/// The legend under a terminal chart: one line a marker, its symbol, time
/// (UTC) and title: `1 2024-03-05 10:00 deploy v2.3.1`, or `2 2024-03-05
/// 10:05 to 10:40 checkout errors` for a span.
pub(crate) fn legend(markers: &[Marker]) -> Vec<String> {
    markers
        .iter()
        .enumerate()
        .map(|(index, marker)| {
            let start = marker.start.format("%Y-%m-%d %H:%M");
            let end = marker.end.map(|end| {
                if end.date_naive() == marker.start.date_naive() {
                    end.format(" to %H:%M").to_string()
                } else {
                    end.format(" to %Y-%m-%d %H:%M").to_string()
                }
            });
            format!(
                "{} {start}{} {}",
                symbol(index),
                end.unwrap_or_default(),
                marker.title
            )
        })
        .collect()
}

/// A chart of plotters with time (as x) and value axes.
type TimeChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Shades the spans of the markers that have an end, lightly in their
/// colours: drawn before the data, so the line stays on top.
pub(crate) fn draw_spans<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    markers: &[Marker],
    x_of: impl Fn(DateTime<Utc>) -> f64,
    (y_min, y_max): (f64, f64),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    for (index, marker) in markers.iter().enumerate() {
        if let Some(end) = marker.end {
            let shade = color(index).mix(SPAN_OPACITY).filled();
            let corners = [(x_of(marker.start), y_min), (x_of(end), y_max)];
            chart.draw_series(std::iter::once(Rectangle::new(corners, shade)))?;
        }
    }
    Ok(())
}

/// Draws each marker as a vertical line in its colour at its start (and
/// one at its end, for a span), with its title beside the top (right of
/// the line when it fits), in four rows in turn so that neighbours do not
/// overwrite each other's titles.
pub(crate) fn draw_lines<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    markers: &[Marker],
    x_of: impl Fn(DateTime<Utc>) -> f64,
    (y_min, y_max): (f64, f64),
    text_px: u32,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (x_min, x_max) = {
        let range = chart.x_range();
        (range.start, range.end)
    };
    let right_px = chart.plotting_area().get_pixel_range().0.end;
    let stroke = (text_px / 6).max(2);
    let text_px = i32::try_from(text_px).unwrap_or(48);
    for (index, marker) in markers.iter().enumerate() {
        let colour = color(index);
        let mut edges = vec![x_of(marker.start)];
        edges.extend(marker.end.map(&x_of));
        for x in edges.iter().map(|x| x.clamp(x_min, x_max)) {
            let line = [(x, y_min), (x, y_max)];
            chart.draw_series(LineSeries::new(line, colour.stroke_width(stroke)))?;
        }
        // A title goes right of its line (inside a span) when it fits
        // before the chart's right edge, else left of it.
        let x = edges[0].clamp(x_min, x_max);
        let line_px = chart.backend_coord(&(x, y_max)).0;
        let style = ("sans-serif", text_px)
            .into_font()
            .color(&colour)
            .pos(Pos::new(HPos::Left, VPos::Top));
        let title_px = match chart
            .plotting_area()
            .estimate_text_size(&marker.title, &style)
        {
            Ok((width, _)) => i32::try_from(width).unwrap_or(i32::MAX / 2),
            // Unmeasured: about 3/5 of the text height a character.
            Err(_) => i32::try_from(marker.title.chars().count())
                .unwrap_or(i32::MAX / 2)
                .saturating_mul(text_px * 3 / 5),
        };
        let fits_right = line_px + text_px / 3 + title_px <= right_px;
        let (dx, anchor) = if fits_right {
            (text_px / 3, HPos::Left)
        } else {
            (-text_px / 3, HPos::Right)
        };
        let dy = text_px / 3 + (index % 4) as i32 * (text_px + text_px / 3);
        let style = style.pos(Pos::new(anchor, VPos::Top));
        // A pale box under the title keeps it readable over the data.
        let (box_left, box_right) = if fits_right {
            (dx - 1, dx + title_px + 1)
        } else {
            (dx - title_px - 1, dx + 1)
        };
        let backdrop = Rectangle::new(
            [(box_left, dy - 1), (box_right, dy + text_px + 1)],
            WHITE.mix(LABEL_BACKDROP_OPACITY).filled(),
        );
        let label = EmptyElement::at((x, y_max))
            + backdrop
            + Text::new(marker.title.clone(), (dx, dy), style);
        chart.draw_series(std::iter::once(label))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 5, hour, minute, 0)
            .single()
            .unwrap_or_default()
    }

    fn marker(start: DateTime<Utc>, end: Option<DateTime<Utc>>, title: &str) -> Marker {
        Marker {
            start,
            end,
            title: title.to_owned(),
        }
    }

    #[test]
    fn the_row_puts_each_symbol_at_its_time_and_dashes_over_spans() {
        let first = at(0, 0);
        let x_of = |t: DateTime<Utc>| (t - first).num_minutes() as f64 / 60.0;
        let markers = [
            marker(at(0, 0), None, "start"),
            marker(at(12, 0), Some(at(18, 0)), "incident"),
            marker(at(23, 0) + TimeDelta::hours(5), None, "past the end"),
        ];
        let row = terminal_row(&markers, x_of, (0.0, 24.0), 49);
        assert_eq!(row.chars().next(), Some('1'));
        assert_eq!(row.find('2'), Some(24), "{row:?}");
        assert_eq!(&row[25..37], "------------", "{row:?}");
        assert_eq!(row.chars().last(), Some('3'), "{row:?}");
        assert_eq!(row.chars().count(), 49);
    }

    #[test]
    fn the_legend_names_symbol_time_and_title() {
        let lines = legend(&[
            marker(at(10, 0), None, "deploy v2"),
            marker(at(10, 5), Some(at(10, 40)), "checkout errors"),
            marker(
                at(23, 0),
                Some(at(23, 0) + TimeDelta::hours(2)),
                "maintenance",
            ),
        ]);
        assert_eq!(
            lines,
            [
                "1 2024-03-05 10:00 deploy v2",
                "2 2024-03-05 10:05 to 10:40 checkout errors",
                "3 2024-03-05 23:00 to 2024-03-06 01:00 maintenance",
            ]
        );
        assert_eq!(symbol(35), '*');
        assert_ne!(color(0), color(1));
        assert_eq!(color(6), color(0));
    }
}
