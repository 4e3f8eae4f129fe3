//! The page's memory timeline of a server: its RSS (solid) and live heap
//! (dashed, when counted) through each round's burst and the settle after
//! it, time from the burst's start on x. One line per round; the burst's
//! end is marked. It shows the peak, how fast memory is given back, and a
//! leak's staircase.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::Result;
use crate::measure::timeline::Timeline;
use crate::record::ServerRecord;
use crate::units::BYTES_PER_MIB;

const SIZE_PX: (u32, u32) = (960, 300);
const TEXT: RGBColor = RGBColor(0x3d, 0x44, 0x4d);
const GRID: RGBColor = RGBColor(0xe6, 0xe9, 0xed);
const AXIS: RGBColor = RGBColor(0x8c, 0x95, 0x9f);

/// Each round's timeline of `server`, with its round number (from 1).
pub fn timelines(server: &ServerRecord) -> Vec<(usize, &Timeline)> {
    server
        .rounds
        .iter()
        .enumerate()
        .filter_map(|(i, round)| Some((i + 1, round.timeline.as_ref()?)))
        .filter(|(_, timeline)| !timeline.samples.is_empty())
        .collect()
}

/// The chart as an inline `<svg>`.
pub fn svg(title: &str, rounds: &[(usize, &Timeline)]) -> Result<String> {
    crate::report::svg::inline(title, SIZE_PX, |root| draw(root, rounds))
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rounds: &[(usize, &Timeline)],
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let samples = rounds.iter().flat_map(|(_, t)| &t.samples);
    let end_ms = samples.clone().map(|s| s.at_us).max().unwrap_or(1) as f64 / 1e3;
    let top_mib = samples.map(|s| s.rss_bytes).max().unwrap_or(1) as f64 / BYTES_PER_MIB;
    let style = ("sans-serif", 15).into_font().color(&TEXT);
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..end_ms.max(1.0), 0.0..top_mib * 1.1)?;
    chart
        .configure_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS)
        .x_desc("ms from the burst's start")
        .y_desc("MiB")
        .label_style(style.clone())
        .axis_desc_style(style.clone())
        .draw()?;
    for (i, (round, timeline)) in rounds.iter().enumerate() {
        let colour = Palette99::pick(i).mix(0.9);
        let at = |us: u64| us as f64 / 1e3;
        let mib = |bytes: u64| bytes as f64 / BYTES_PER_MIB;
        let rss = timeline
            .samples
            .iter()
            .map(|s| (at(s.at_us), mib(s.rss_bytes)));
        chart
            .draw_series(LineSeries::new(rss, colour.stroke_width(2)))?
            .label(format!("round {round} RSS"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(2)));
        let live: Vec<(f64, f64)> = timeline
            .samples
            .iter()
            .filter_map(|s| Some((at(s.at_us), mib(s.live_heap_bytes?))))
            .collect();
        if !live.is_empty() {
            chart
                .draw_series(DashedLineSeries::new(live, 6, 4, colour.stroke_width(1)))?
                .label(format!("round {round} live heap"))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(1))
                });
        }
        let end = at(timeline.burst_end_us);
        chart.draw_series(std::iter::once(PathElement::new(
            [(end, 0.0), (end, top_mib * 1.1)],
            colour.mix(0.4).stroke_width(1),
        )))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(AXIS)
        .label_font(style)
        .draw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_round_with_samples_is_drawn_with_its_live_heap() {
        let run = crate::fixtures::full_run();
        let rounds = timelines(&run.servers[0]);
        assert_eq!(rounds.len(), 6);
        let svg = svg("axum", &rounds).unwrap();
        assert!(svg.starts_with("<svg role=\"img\" aria-label=\"axum\""));
        assert!(svg.contains("round 3 RSS") && svg.contains("round 4 live heap"));
        assert!(timelines(&run.servers[1]).is_empty());
    }
}
