//! A page for every memory benchmark in Criterion's own report.
//!
//! The memory benchmarks run without Criterion's plots: their samples are
//! constant readings of an idle process, and Criterion 0.8.2's t-test plot
//! panics (kde.rs, index out of bounds) when a baseline and a run are both
//! constant and equal. Criterion's index links a benchmark whose
//! `<dir>/report/index.html` exists (html/mod.rs:125-132), so the suite
//! writes that page itself, from the rounds: each round's reading, the
//! baseline's beside them, and a small chart. No sample is faked.

use std::path::{Path, PathBuf};

use crate::compare::baseline::Summary;
use crate::compare::figures::{Figure, Metric};
use crate::error::Result;
use crate::measure::memory::MemoryFigure;
use crate::record::Phase;
use crate::report::format;
use crate::report::page::STYLE;
use crate::report::table::escape_html;

/// The figures Criterion's memory benchmarks read, in their group's order.
const BENCHED: [(Phase, MemoryFigure); 4] = [
    (Phase::Before, MemoryFigure::Rss),
    (Phase::Before, MemoryFigure::Vms),
    (Phase::After, MemoryFigure::Rss),
    (Phase::After, MemoryFigure::Vms),
];

/// The baseline a run was compared with.
pub struct Base<'a> {
    pub name: &'a str,
    pub summary: &'a Summary,
}

/// Writes a page for each memory benchmark of each server in `now`, and
/// one for its group, under `criterion_home`; returns the pages written.
pub fn write(
    criterion_home: &Path,
    now: &Summary,
    base: Option<&Base<'_>>,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for server in servers(now) {
        let group = criterion_home.join(filename_safe(&format!("memory-{server}")));
        for (phase, figure) in BENCHED {
            let Some(page) = bench_page(now, base, &server, phase, figure) else {
                continue;
            };
            let dir = group.join(filename_safe(&bench_name(phase, figure)));
            written.push(write_page(&dir, &page)?);
        }
        written.push(write_page(&group, &group_page(now, base, &server))?);
    }
    Ok(written)
}

fn write_page(dir: &Path, html: &str) -> Result<PathBuf> {
    let path = dir.join("report").join("index.html");
    crate::fs::write_atomically(&path, html.as_bytes())?;
    Ok(path)
}

/// `rss-before`: the benchmark's function name in its group.
fn bench_name(phase: Phase, figure: MemoryFigure) -> String {
    format!("{}-{}", figure.name(), phase.name())
}

/// Criterion's `make_filename_safe` (report.rs:85-110): the same directory
/// names.
fn filename_safe(name: &str) -> String {
    const MAX_DIRECTORY_NAME_LEN: usize = 64;
    let mut safe: String = name
        .chars()
        .map(|c| match c {
            '?' | '"' | '/' | '\\' | '*' | '<' | '>' | ':' | '|' | '^' => '_',
            c => c,
        })
        .collect();
    if safe.len() > MAX_DIRECTORY_NAME_LEN {
        let mut end = MAX_DIRECTORY_NAME_LEN;
        while !safe.is_char_boundary(end) {
            end -= 1;
        }
        safe.truncate(end);
    }
    if cfg!(target_os = "windows") {
        safe = safe.trim_end().to_lowercase();
    }
    safe
}

fn servers(summary: &Summary) -> Vec<String> {
    let mut names: Vec<String> = summary
        .metrics
        .iter()
        .filter(|m| matches!(m.figure, Figure::Memory(..)))
        .map(|m| m.server.clone())
        .collect();
    names.dedup();
    names
}

fn metric<'a>(summary: &'a Summary, server: &str, figure: Figure) -> Option<&'a Metric> {
    summary
        .metrics
        .iter()
        .find(|m| m.server == server && m.figure == figure)
}

/// One benchmark's page: its readings over the rounds and the baseline's.
fn bench_page(
    now: &Summary,
    base: Option<&Base<'_>>,
    server: &str,
    phase: Phase,
    figure: MemoryFigure,
) -> Option<String> {
    let key = Figure::Memory(phase, figure);
    let measured = metric(now, server, key)?;
    let before = base.and_then(|b| metric(b.summary, server, key).map(|m| (b.name, m)));
    let title = format!("memory-{server}/{}", bench_name(phase, figure));
    let mut body = format!(
        "<h1>{}</h1>\n<p class=\"sub\">{} {} the burst, one reading per round: each round is a fresh process. \
         The figure is the median over the rounds.</p>\n",
        escape_html(&title),
        figure.label(),
        phase.name()
    );
    body.push_str(&readings_table(measured, before));
    body.push_str(&chart(measured, before));
    body.push_str(
        "<p class=\"note\"><a href=\"../../report/index.html\">All memory figures of this server</a> \
         &middot; <a href=\"../../../report/index.html\">Criterion's index</a></p>\n",
    );
    Some(html(&title, &body))
}

/// The rounds as a table: this run's readings, then the baseline's.
fn readings_table(now: &Metric, base: Option<(&str, &Metric)>) -> String {
    let rounds = now
        .readings
        .len()
        .max(base.map_or(0, |(_, m)| m.readings.len()));
    let mut rows = String::new();
    for round in 0..rounds {
        let cell = |m: &Metric| {
            m.readings
                .get(round)
                .map_or("-".to_owned(), |&b| format::mib(b))
        };
        let baseline = base.map_or(String::new(), |(_, m)| format!("<td>{}</td>", cell(m)));
        rows.push_str(&format!(
            "<tr><td>round {}</td><td>{}</td>{baseline}</tr>\n",
            round + 1,
            cell(now)
        ));
    }
    let median = |m: &Metric| format::mib(m.value);
    let (base_head, base_median) = base.map_or((String::new(), String::new()), |(name, m)| {
        (
            format!("<th>baseline <code>{}</code></th>", escape_html(name)),
            format!("<td><b>{}</b></td>", median(m)),
        )
    });
    format!(
        "<table>\n<thead><tr><th></th><th>this run</th>{base_head}</tr></thead>\n<tbody>\n{rows}\
         <tr><td><b>median</b></td><td><b>{}</b></td>{base_median}</tr>\n</tbody>\n</table>\n",
        median(now)
    )
}

/// A bar per round, this run's beside the baseline's, on one scale.
fn chart(now: &Metric, base: Option<(&str, &Metric)>) -> String {
    const WIDTH: f64 = 480.0;
    const HEIGHT: f64 = 160.0;
    const BAR: f64 = 22.0;
    let base_readings = base.map_or(&[][..], |(_, m)| m.readings.as_slice());
    let top = now
        .readings
        .iter()
        .chain(base_readings)
        .fold(0.0f64, |a, &b| a.max(b));
    if top <= 0.0 {
        return String::new();
    }
    let mut bars = String::new();
    let mut x = 10.0;
    for (label, readings, class) in [
        ("baseline", base_readings, "base"),
        ("this run", &now.readings[..], "now"),
    ] {
        for &reading in readings {
            let h = reading / top * (HEIGHT - 30.0);
            bars.push_str(&format!(
                "<rect class=\"{class}\" x=\"{x:.0}\" y=\"{:.1}\" width=\"{BAR}\" height=\"{h:.1}\"><title>{label}: {}</title></rect>\n",
                HEIGHT - 20.0 - h,
                format::mib(reading)
            ));
            x += BAR + 4.0;
        }
        if !readings.is_empty() {
            bars.push_str(&format!(
                "<text x=\"{x:.0}\" y=\"{:.0}\" text-anchor=\"end\">{label}</text>\n",
                HEIGHT - 5.0
            ));
            x += 24.0;
        }
    }
    format!(
        "<svg class=\"rounds\" role=\"img\" aria-label=\"readings per round\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\">\n<style>.now{{fill:#2f558a}}.base{{fill:#b8c4d0}}text{{font:11px sans-serif;fill:#59636e}}</style>\n\
         <text x=\"10\" y=\"12\">max {}</text>\n{bars}</svg>\n",
        format::mib(top)
    )
}

/// The group's page: every memory figure of the server, and links to the
/// benchmarks' pages.
fn group_page(now: &Summary, base: Option<&Base<'_>>, server: &str) -> String {
    let base_head = base.map_or(String::new(), |b| {
        format!("<th>baseline <code>{}</code></th>", escape_html(b.name))
    });
    let mut rows = String::new();
    for phase in Phase::ALL {
        for figure in MemoryFigure::ALL {
            let key = Figure::Memory(phase, figure);
            let Some(measured) = metric(now, server, key) else {
                continue;
            };
            let name = format!("{} {}", figure.label(), phase.name());
            let label = if BENCHED.contains(&(phase, figure)) {
                format!(
                    "<a href=\"../{}/report/index.html\">{name}</a>",
                    filename_safe(&bench_name(phase, figure))
                )
            } else {
                name
            };
            let baseline = base.map_or(String::new(), |b| {
                let value = metric(b.summary, server, key).map(|m| m.value);
                format!("<td>{}</td>", value.map_or("-".to_owned(), format::mib))
            });
            rows.push_str(&format!(
                "<tr><td>{label}</td><td>{}</td>{baseline}</tr>\n",
                format::mib(measured.value)
            ));
        }
    }
    let title = format!("memory-{server}");
    let body = format!(
        "<h1>{}</h1>\n<p class=\"sub\">Memory of {} before and after the seed's burst: medians over the rounds.</p>\n\
         <table>\n<thead><tr><th>figure</th><th>this run</th>{base_head}</tr></thead>\n<tbody>\n{rows}</tbody>\n</table>\n\
         <p class=\"note\"><a href=\"../../report/index.html\">Criterion's index</a> &middot; \
         <a href=\"../../framework-bench-memory/report/index.html\">the suite's memory report</a></p>\n",
        escape_html(&title),
        escape_html(server)
    );
    html(&title, &body)
}

fn html(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{} - framework-bench</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape_html(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::figures;
    use crate::fixtures;

    fn summary() -> Summary {
        let run = fixtures::run();
        Summary::of_run(&run, figures::collect(&run))
    }

    #[test]
    fn each_memory_benchmark_gets_a_page_where_criterion_looks_for_one() {
        let home = tempfile::tempdir().unwrap();
        let now = summary();
        let written = write(home.path(), &now, None).unwrap();
        for bench in ["rss-before", "vms-before", "rss-after", "vms-after"] {
            let page = home
                .path()
                .join("memory-axum")
                .join(bench)
                .join("report/index.html");
            assert!(written.contains(&page), "{page:?} in {written:?}");
        }
        let group = home.path().join("memory-axum/report/index.html");
        let text = std::fs::read_to_string(group).unwrap();
        assert!(
            text.contains("<a href=\"../rss-after/report/index.html\">RSS after</a>"),
            "{text}"
        );
    }

    #[test]
    fn a_page_shows_every_rounds_reading_and_the_baselines() {
        let now = summary();
        let mut older = summary();
        for metric in &mut older.metrics {
            metric.readings = vec![14.0 * fixtures::MIB, 14.5 * fixtures::MIB];
            metric.value = 14.25 * fixtures::MIB;
        }
        let base = Base {
            name: "main",
            summary: &older,
        };
        let page = bench_page(&now, Some(&base), "axum", Phase::After, MemoryFigure::Rss).unwrap();
        // The fixture's rounds: 15, 16 and 17 MiB after the burst.
        for reading in ["15.00 MiB", "16.00 MiB", "17.00 MiB", "14.50 MiB"] {
            assert!(page.contains(reading), "{reading}: {page}");
        }
        assert!(
            page.contains("<td>round 3</td><td>17.00 MiB</td><td>-</td>"),
            "{page}"
        );
        assert!(page.contains("baseline <code>main</code>"));
        assert_eq!(page.matches("<rect class=\"now\"").count(), 3);
        assert_eq!(page.matches("<rect class=\"base\"").count(), 2);
        assert!(!page.contains("<script"), "an offline page");
    }

    #[test]
    fn directory_names_are_criterions() {
        // Criterion lowercases only on Windows.
        let expected = if cfg!(target_os = "windows") {
            "memory-actix_web"
        } else {
            "memory-Actix_Web"
        };
        assert_eq!(filename_safe("memory-Actix:Web"), expected);
        assert_eq!(filename_safe(&"x".repeat(70)).len(), 64);
    }
}
