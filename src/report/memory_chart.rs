//! The page's memory chart: before and after the burst per server, as a
//! grouped bar chart in an inline `<svg>`.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::Result;
use crate::measure::memory::MemoryFigure;
use crate::record::RunRecord;
use crate::units::BYTES_PER_MIB;

const CHART_SIZE_PX: (u32, u32) = (960, 340);
const LEGEND_HEIGHT_PX: u32 = 30;
/// Fewer servers than this still get bars of a sensible width.
const MIN_CHART_SLOTS: usize = 4;
const CHART_LABEL_MAX_CHARS: usize = 18;
const BEFORE_COLOUR: RGBColor = RGBColor(0x6b, 0x9b, 0xc8);
const AFTER_COLOUR: RGBColor = RGBColor(0x2f, 0x55, 0x8a);
const GRID_COLOUR: RGBColor = RGBColor(0xe6, 0xe9, 0xed);
const AXIS_COLOUR: RGBColor = RGBColor(0x8c, 0x95, 0x9f);
const TEXT_COLOUR: RGBColor = RGBColor(0x3d, 0x44, 0x4d);

/// One server's bars in a chart, in MiB.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerBars {
    label: String,
    before_mib: Option<f64>,
    after_mib: Option<f64>,
}

/// Reads one of a server's bars, in MiB.
type BarValue = fn(&ServerBars) -> Option<f64>;

/// The servers with at least one snapshot giving `figure`.
pub fn chart_bars(run: &RunRecord, figure: MemoryFigure) -> Vec<ServerBars> {
    run.servers
        .iter()
        .map(|s| ServerBars {
            label: chart_label(&s.name),
            before_mib: s
                .first_round()
                .and_then(|r| r.before.as_ref())
                .and_then(|s| figure.of(s))
                .map(mib),
            after_mib: s
                .first_round()
                .and_then(|r| r.after.as_ref())
                .and_then(|s| figure.of(s))
                .map(mib),
        })
        .filter(|bars| bars.before_mib.is_some() || bars.after_mib.is_some())
        .collect()
}

fn chart_label(name: &str) -> String {
    if name.chars().count() <= CHART_LABEL_MAX_CHARS {
        return name.to_owned();
    }
    let mut label: String = name.chars().take(CHART_LABEL_MAX_CHARS - 1).collect();
    label.push('…');
    label
}

/// A grouped bar chart (before and after per server) as an inline `<svg>`.
pub fn bar_chart_svg(title: &str, bars: &[ServerBars]) -> Result<String> {
    crate::report::svg::inline(title, CHART_SIZE_PX, |root| draw_bar_chart(root, bars))
}

fn draw_bar_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    bars: &[ServerBars],
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let (legend_area, plot_area) = root.split_vertically(LEGEND_HEIGHT_PX);
    draw_legend(&legend_area)?;

    let x_range = slot_range(bars.len()).with_key_points(slot_centres(bars.len()));
    let top_mib = axis_top_mib(bars);
    let y_decimals = if top_mib < 5.0 { 1 } else { 0 };

    let mut chart = ChartBuilder::on(&plot_area)
        .margin_left(8)
        .margin_right(16)
        .margin_bottom(4)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range, 0.0..top_mib)?;
    let x_label = |x: &i32| {
        server_at(*x)
            .and_then(|i| bars.get(i))
            .map_or_else(String::new, |b| b.label.clone())
    };
    let y_label = |y: &f64| format!("{y:.y_decimals$}");
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(GRID_COLOUR)
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS_COLOUR)
        .y_labels(6)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .label_style(("sans-serif", 16).into_font().color(&TEXT_COLOUR))
        .axis_desc_style(("sans-serif", 16).into_font().color(&TEXT_COLOUR))
        .y_desc("MiB")
        .draw()?;

    let phases: [(i32, RGBColor, BarValue); 2] = [
        (0, BEFORE_COLOUR, |b| b.before_mib),
        (1, AFTER_COLOUR, |b| b.after_mib),
    ];
    for (phase, colour, value) in phases {
        let series = bars.iter().enumerate().filter_map(|(i, b)| {
            let (left, right) = bar_span(i, phase);
            value(b).map(|v| Rectangle::new([(left, 0.0), (right, v)], colour.filled()))
        });
        chart.draw_series(series)?;
        let labels = bars.iter().enumerate().filter_map(|(i, b)| {
            let (left, right) = bar_span(i, phase);
            let style = ("sans-serif", 14)
                .into_font()
                .color(&TEXT_COLOUR)
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            value(b).map(|v| {
                EmptyElement::at(((left + right) / 2, v))
                    + Text::new(bar_value_text(v), (0, -3), style)
            })
        });
        chart.draw_series(labels)?;
    }
    Ok(())
}

/// Width of one server's slot on the x axis, in axis units (plotters'
/// integer axes take a label formatter; its f64 axis with fixed key points
/// does not).
const SLOT_UNITS: i32 = 1000;

/// The x axis: one slot per server, centred in at least
/// `MIN_CHART_SLOTS` slots so that a lone server's bars stay narrow.
fn slot_range(n_servers: usize) -> std::ops::Range<i32> {
    let n_slots = n_servers.max(MIN_CHART_SLOTS) as i32;
    let padding = (n_slots - n_servers as i32) * SLOT_UNITS / 2;
    -padding..n_servers as i32 * SLOT_UNITS + padding
}

fn slot_centres(n_servers: usize) -> Vec<i32> {
    (0..n_servers as i32)
        .map(|i| i * SLOT_UNITS + SLOT_UNITS / 2)
        .collect()
}

/// The server whose slot is centred on `x`.
fn server_at(x: i32) -> Option<usize> {
    let from_first_centre = x - SLOT_UNITS / 2;
    (from_first_centre >= 0 && from_first_centre % SLOT_UNITS == 0)
        .then_some((from_first_centre / SLOT_UNITS) as usize)
}

/// The x span of a server's bar: `phase` 0 is before, 1 after.
fn bar_span(index: usize, phase: i32) -> (i32, i32) {
    const BAR_UNITS: i32 = 340;
    const GAP_UNITS: i32 = 20;
    let centre = index as i32 * SLOT_UNITS + SLOT_UNITS / 2;
    let left = centre - BAR_UNITS - GAP_UNITS / 2 + phase * (BAR_UNITS + GAP_UNITS);
    (left, left + BAR_UNITS)
}

fn bar_value_text(value_mib: f64) -> String {
    if value_mib < 10.0 {
        format!("{value_mib:.2}")
    } else {
        format!("{value_mib:.1}")
    }
}

/// Room above the tallest bar for its label.
fn axis_top_mib(bars: &[ServerBars]) -> f64 {
    let max_mib = bars
        .iter()
        .flat_map(|b| [b.before_mib, b.after_mib])
        .flatten()
        .fold(0.0, f64::max);
    if max_mib > 0.0 { max_mib * 1.15 } else { 1.0 }
}

/// Two swatches above the plot, drawn in pixels.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let style = ("sans-serif", 16)
        .into_font()
        .color(&TEXT_COLOUR)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let mut x_px = 68;
    let y_px = 16;
    for (label, colour, width_px) in [
        ("before the burst", BEFORE_COLOUR, 150),
        ("after the burst", AFTER_COLOUR, 150),
    ] {
        area.draw(&Rectangle::new(
            [(x_px, y_px - 6), (x_px + 12, y_px + 6)],
            colour.filled(),
        ))?;
        area.draw(&Text::new(label, (x_px + 18, y_px), style.clone()))?;
        x_px += width_px;
    }
    Ok(())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / BYTES_PER_MIB
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_with_an_ellipsis() {
        assert_eq!(
            chart_label("abcdefghijklmnopqrstuvwxyz"),
            "abcdefghijklmnopq…"
        );
        assert_eq!(chart_label("axum"), "axum");
    }
}
