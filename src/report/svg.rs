//! One way to make a chart an inline `<svg>` for the page: drawn with
//! plotters, without the namespace attribute (HTML5 puts an inline `<svg>`
//! in the SVG namespace by itself, and the page stays free of URLs), and
//! labelled with its title for screen readers.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::report::table::escape_html;

/// What a chart's drawing returns on the SVG backend.
pub type DrawResult = std::result::Result<(), DrawingAreaErrorKind<std::io::Error>>;

/// The chart `draw` makes on a `size` canvas, as an inline `<svg>`.
pub fn inline(
    title: &str,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult,
) -> Result<String> {
    let chart_error = |err: &dyn std::fmt::Display| Error::Chart {
        title: title.to_owned(),
        message: err.to_string(),
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw(&root).map_err(|err| chart_error(&err))?;
        root.present().map_err(|err| chart_error(&err))?;
    }
    let svg = svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
    Ok(svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{}\" ", escape_html(title)),
        1,
    ))
}
