//! One table description, written out as terminal text, markdown or HTML,
//! so that the outputs cannot drift apart (hyperfine's `MarkupExporter`).

use std::fmt::Write as _;

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table: headers with their alignment, and rows of cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<(String, Align)>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table whose first column is left-aligned text and the rest `rest`.
    pub fn new(headers: &[&str]) -> Table {
        let columns = headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let align = if i == 0 { Align::Left } else { Align::Right };
                ((*h).to_owned(), align)
            })
            .collect();
        Table {
            columns,
            rows: Vec::new(),
        }
    }

    /// The same table with column `index` aligned `align`.
    pub fn aligned(mut self, index: usize, align: Align) -> Table {
        if let Some(column) = self.columns.get_mut(index) {
            column.1 = align;
        }
        self
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// Padded columns, two spaces apart, no trailing blanks.
    pub fn to_terminal(&self) -> String {
        let widths = self.widths();
        let header: Vec<String> = self.columns.iter().map(|(h, _)| h.clone()).collect();
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                let w = widths.get(i).copied().unwrap_or(0);
                match self.align(i) {
                    Align::Left => write!(line, "{cell:<w$}  "),
                    Align::Right => write!(line, "{cell:>w$}  "),
                }
                .unwrap_or_default();
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// A GitHub-flavoured markdown table; `|` in cells is escaped.
    pub fn to_markdown(&self) -> String {
        let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
        let header = self
            .columns
            .iter()
            .map(|(h, _)| escape_markdown(h))
            .collect();
        let rule = self
            .columns
            .iter()
            .map(|(_, a)| match a {
                Align::Left => ":---".to_owned(),
                Align::Right => "---:".to_owned(),
            })
            .collect();
        let mut out = line(header) + &line(rule);
        for row in &self.rows {
            out += &line(row.iter().map(|c| escape_markdown(c)).collect());
        }
        out
    }

    /// An HTML `<table>`; every cell escaped, numbers right-aligned.
    pub fn to_html(&self, class: &str) -> String {
        self.to_html_with_row_classes(class, &|_| None)
    }

    /// [`Table::to_html`], with a class for row `i` where `row_class(i)`
    /// gives one.
    pub fn to_html_with_row_classes(
        &self,
        class: &str,
        row_class: &dyn Fn(usize) -> Option<&'static str>,
    ) -> String {
        let mut out = format!("<table class=\"{}\">\n<thead><tr>", escape_html(class));
        for (header, align) in &self.columns {
            let _ = write!(
                out,
                "<th{}>{}</th>",
                html_align(*align),
                escape_html(header)
            );
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for (index, row) in self.rows.iter().enumerate() {
            match row_class(index) {
                Some(class) => write!(out, "<tr class=\"{class}\">"),
                None => write!(out, "<tr>"),
            }
            .unwrap_or_default();
            for (i, cell) in row.iter().enumerate() {
                let _ = write!(
                    out,
                    "<td{}>{}</td>",
                    html_align(self.align(i)),
                    escape_html(cell)
                );
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
        out
    }

    fn align(&self, index: usize) -> Align {
        self.columns.get(index).map_or(Align::Left, |c| c.1)
    }

    fn widths(&self) -> Vec<usize> {
        (0..self.columns.len())
            .map(|i| {
                let header = self.columns[i].0.chars().count();
                let cells = self.rows.iter().filter_map(|r| r.get(i));
                cells.map(|c| c.chars().count()).fold(header, usize::max)
            })
            .collect()
    }
}

fn html_align(align: Align) -> &'static str {
    match align {
        Align::Left => "",
        Align::Right => " class=\"num\"",
    }
}

/// `\\` and `|` escaped and line breaks folded, so a cell stays one
/// markdown cell.
pub fn escape_markdown(cell: &str) -> String {
    one_line(cell).replace('\\', "\\\\").replace('|', "\\|")
}

/// Line breaks folded into single spaces.
pub fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Text safe inside HTML elements and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let mut t = Table::new(&["server", "value", "note"]).aligned(2, Align::Left);
        t.push(vec!["axum".into(), "1.00".into(), "a|b".into()]);
        t.push(vec!["actix-web".into(), "12.50".into(), "<x>".into()]);
        t
    }

    #[test]
    fn terminal_pads_and_aligns() {
        assert_eq!(
            table().to_terminal(),
            "server     value  note\naxum        1.00  a|b\nactix-web  12.50  <x>\n"
        );
    }

    #[test]
    fn markdown_escapes_pipes_and_marks_alignment() {
        assert_eq!(
            table().to_markdown(),
            "| server | value | note |\n| :--- | ---: | :--- |\n| axum | 1.00 | a\\|b |\n| actix-web | 12.50 | <x> |\n"
        );
    }

    #[test]
    fn html_escapes_every_cell() {
        let html = table().to_html("t");
        assert!(html.contains("<td>&lt;x&gt;</td>"), "{html}");
        assert!(html.contains("<td class=\"num\">12.50</td>"), "{html}");
        assert!(!html.contains("<x>"), "{html}");
    }
}
