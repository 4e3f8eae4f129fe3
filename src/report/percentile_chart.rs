//! The page's percentile chart of a route: p50, p90, p99, p99.9 and the
//! maximum of every latency benchmark's requests, all servers on one chart,
//! on a log scale when the spread needs it (tide as shipped sits three
//! orders of magnitude above the others).

use plotters::coord::Shift;
use plotters::coord::combinators::WithKeyPoints;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordi32;
use plotters::prelude::*;

use crate::compare::figures::Percentile;
use crate::error::Result;
use crate::load::Route;
use crate::record::RunRecord;

const SIZE_PX: (u32, u32) = (960, 360);
const TEXT: RGBColor = RGBColor(0x3d, 0x44, 0x4d);
const GRID: RGBColor = RGBColor(0xe6, 0xe9, 0xed);
const AXIS: RGBColor = RGBColor(0x8c, 0x95, 0x9f);
/// Above this ratio of the largest to the smallest value, the y axis is
/// logarithmic.
const LOG_SCALE_SPREAD: f64 = 20.0;

/// One server's percentiles of a route, in microseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerLine {
    pub server: String,
    pub points_us: Vec<(Percentile, f64)>,
}

/// Every server's percentiles of `route` in the run.
pub fn lines(run: &RunRecord, route: Route) -> Vec<ServerLine> {
    run.servers
        .iter()
        .filter_map(|s| {
            let requests = &s.latency.get(&route)?.requests;
            let points_us: Vec<(Percentile, f64)> = Percentile::ALL
                .into_iter()
                .filter_map(|p| Some((p, p.of(requests)? as f64 / 1e3)))
                .collect();
            (!points_us.is_empty()).then(|| ServerLine {
                server: s.name.clone(),
                points_us,
            })
        })
        .collect()
}

/// Whether the values spread far enough to need a log scale.
pub fn needs_log_scale(lines: &[ServerLine]) -> bool {
    let values = lines.iter().flat_map(|l| l.points_us.iter().map(|p| p.1));
    let (min, max) = values.fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    min > 0.0 && max / min > LOG_SCALE_SPREAD
}

/// The chart as an inline `<svg>`.
pub fn svg(title: &str, lines: &[ServerLine]) -> Result<String> {
    crate::report::svg::inline(title, SIZE_PX, |root| draw(root, lines))
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    lines: &[ServerLine],
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let values = lines.iter().flat_map(|l| l.points_us.iter().map(|p| p.1));
    let (min, max) = values.fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (min, max) = if min <= max { (min, max) } else { (1.0, 10.0) };
    let mut builder = ChartBuilder::on(root);
    builder
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(70);
    let x_range = (0..Percentile::ALL.len() as i32 - 1).with_key_points((0..5).collect());
    let style = ("sans-serif", 15).into_font().color(&TEXT);
    if needs_log_scale(lines) {
        let chart = builder.build_cartesian_2d(x_range, (min * 0.8..max * 1.25).log_scale())?;
        fill(chart, lines, "µs (log scale)", style)?;
    } else {
        let chart = builder.build_cartesian_2d(x_range, 0.0..max * 1.1)?;
        fill(chart, lines, "µs", style)?;
    }
    Ok(())
}

/// The grid, the lines and the legend, on either y axis.
fn fill<'a, DB, Y>(
    mut chart: ChartContext<'a, DB, Cartesian2d<WithKeyPoints<RangedCoordi32>, Y>>,
    lines: &[ServerLine],
    y_desc: &str,
    style: TextStyle<'_>,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let x_label = |x: &i32| {
        usize::try_from(*x)
            .ok()
            .and_then(|i| Percentile::ALL.get(i))
            .map_or_else(String::new, |p| p.name().to_owned())
    };
    chart
        .configure_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS)
        .x_label_formatter(&x_label)
        .y_label_formatter(&|y: &f64| format!("{y:.0}"))
        .y_desc(y_desc)
        .label_style(style.clone())
        .axis_desc_style(style.clone())
        .draw()?;
    draw_lines(&mut chart, lines)?;
    finish_legend(&mut chart, style)
}

fn draw_lines<'a, DB, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<WithKeyPoints<RangedCoordi32>, Y>>,
    lines: &[ServerLine],
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    Y: Ranged<ValueType = f64>,
{
    for (i, line) in lines.iter().enumerate() {
        let colour = Palette99::pick(i).mix(0.9);
        let points = line
            .points_us
            .iter()
            .filter_map(|(p, us)| Some((Percentile::ALL.iter().position(|q| q == p)? as i32, *us)));
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(line.server.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(2)));
    }
    Ok(())
}

fn finish_legend<'a, DB, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<WithKeyPoints<RangedCoordi32>, Y>>,
    style: TextStyle<'_>,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::MiddleLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(AXIS)
        .label_font(style)
        .draw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_with_requests_is_a_line_and_a_wide_spread_goes_log() {
        let mut run = crate::fixtures::run();
        let one = lines(&run, Route::HELLO);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].points_us.len(), 5);
        // The fixture's percentiles run from 50 µs to 200 µs: linear.
        assert!(!needs_log_scale(&one));
        let mut tide = run.servers[0].clone();
        tide.name = "tide".into();
        if let Some(latency) = tide.latency.get_mut(&Route::HELLO) {
            latency.requests.p50_ns = 44_000_000;
            latency.requests.max_ns = 48_000_000;
        }
        run.servers.push(tide);
        let two = lines(&run, Route::HELLO);
        assert!(needs_log_scale(&two));
        let svg = svg("hello", &two).unwrap();
        assert!(
            svg.starts_with("<svg role=\"img\" aria-label=\"hello\""),
            "{svg}"
        );
        assert!(svg.contains("tide") && svg.contains("p99.9"), "labels");
    }
}
