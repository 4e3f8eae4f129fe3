//! Every output of a run: the terminal ([`terminal`]), the markdown summary
//! and the exports for Bencher and github-action-benchmark ([`export`]), and
//! the HTML memory page ([`page`]) and the memory pages in Criterion's own
//! report ([`criterion_pages`]). Each renders the same computed models
//! ([`comparison`], [`table`], [`format`]); none decides order, rounding or
//! wording on its own.

pub mod comparison;
pub mod criterion_pages;
pub mod export;
pub mod format;
pub mod heap;
pub mod latency;
pub mod memory_chart;
pub mod page;
pub mod percentile_chart;
pub mod run_view;
pub mod servers;
pub mod svg;
pub mod table;
pub mod terminal;
pub mod throughput;
pub mod timeline_chart;

#[cfg(test)]
mod tests {
    use crate::report::comparison::ComparisonView;
    use crate::report::comparison::tests::comparison;
    use crate::report::table::{escape_html, escape_markdown};

    /// Finds every row's cells in `output`, each row after the one before,
    /// each cell after the one before it: the same rows, in the same order,
    /// with the same text.
    fn assert_rows_in_order(output: &str, rows: &[Vec<String>], escape: fn(&str) -> String) {
        let mut cursor = 0;
        for row in rows {
            for cell in row {
                let cell = escape(cell);
                let found = output[cursor..].find(&cell);
                let at =
                    found.unwrap_or_else(|| panic!("`{cell}` of {row:?} not in order:\n{output}"));
                cursor += at + cell.len();
            }
        }
    }

    #[test]
    fn terminal_markdown_and_html_show_the_same_rows_in_the_same_order() {
        let comparison = comparison();
        let view = ComparisonView::of(&comparison);
        let rows: Vec<Vec<String>> = view
            .changed
            .rows
            .iter()
            .chain(&view.within_noise.rows)
            .cloned()
            .collect();
        assert_eq!(rows.len(), comparison.rows.len());
        let run = crate::fixtures::run();
        let terminal = super::terminal::comparison(&comparison);
        let markdown = super::export::markdown_summary(&run, &[], Some(&comparison));
        let html = super::page::render(&run, Some(&comparison));
        assert_rows_in_order(&terminal, &rows, str::to_owned);
        assert_rows_in_order(&markdown, &rows, escape_markdown);
        assert_rows_in_order(&html, &rows, escape_html);
        for output in [&terminal, &markdown, &html] {
            assert!(output.contains(&view.counts), "{output}");
        }
    }

    #[test]
    fn the_runs_own_tables_are_the_same_in_every_output() {
        let run = crate::fixtures::full_run();
        let view = super::run_view::RunView::of(&run);
        let terminal = super::terminal::render(&run);
        let markdown = super::export::markdown_summary(&run, &[], None);
        let html = super::page::render(&run, None);
        for section in &view.sections {
            // Each output shows the section's title, then its rows in order.
            let title_at = |output: &str, title: &str| {
                output
                    .find(title)
                    .unwrap_or_else(|| panic!("`{title}` missing:\n{output}"))
            };
            let terminal = &terminal[title_at(&terminal, &section.title)..];
            let markdown = &markdown[title_at(&markdown, &escape_markdown(&section.title))..];
            let html = &html[title_at(&html, &escape_html(&section.title))..];
            assert_rows_in_order(terminal, &section.table.rows, str::to_owned);
            assert_rows_in_order(markdown, &section.table.rows, escape_markdown);
            assert_rows_in_order(html, &section.table.rows, escape_html);
        }
        for output in [&terminal, &markdown, &html] {
            assert!(output.contains(&view.failures[0].first_line), "{output}");
        }
    }
}
