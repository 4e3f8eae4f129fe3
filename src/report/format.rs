//! How every output writes a value: one scale and one number of decimals per
//! unit, so the terminal, the markdown and the page show the same text.

use crate::compare::figures::Unit;
use crate::units::{BYTES_PER_MIB, NS_PER_MS, NS_PER_S, NS_PER_US};

/// A value in its unit's readable scale: `52.3 µs`, `12.20 MiB`, `1.5%`;
/// `-` when there is none, `n/a` when it is not a number.
pub fn value(unit: Unit, value: Option<f64>) -> String {
    match value {
        None => "-".to_owned(),
        Some(v) if !v.is_finite() => "n/a".to_owned(),
        Some(v) => match unit {
            Unit::Nanoseconds => duration_ns(v),
            Unit::Bytes if v.abs() < BYTES_PER_MIB => crate::units::bytes_text(v),
            Unit::Bytes => mib(v),
            Unit::Ratio => percent(v),
            Unit::Count => count(v),
        },
    }
}

/// A count per request: `16.7 k`, `12.0`, `0.50`.
pub fn count(v: f64) -> String {
    match v.abs() {
        a if a >= 1e6 => format!("{:.2} M", v / 1e6),
        a if a >= 1e4 => format!("{:.1} k", v / 1e3),
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    }
}

/// A percentile of a latency summary, or `-` where it has none.
pub fn percentile(
    p: crate::compare::figures::Percentile,
    summary: &crate::load::hammer::LatencySummary,
) -> String {
    p.of(summary)
        .map_or_else(|| "-".to_owned(), |ns| duration_ns(ns as f64))
}

/// The notes that apply, joined: `client-bound; a connection per request`.
pub fn notes(notes: &[(bool, &str)]) -> String {
    let applying: Vec<&str> = notes
        .iter()
        .filter(|(applies, _)| *applies)
        .map(|(_, note)| *note)
        .collect();
    applying.join("; ")
}

/// `950 ns`, `52.3 µs`, `1.25 ms`, `2.00 s`.
pub fn duration_ns(ns: f64) -> String {
    match ns.abs() {
        a if a < NS_PER_US => format!("{ns:.0} ns"),
        a if a < NS_PER_MS => format!("{:.1} µs", ns / NS_PER_US),
        a if a < NS_PER_S => format!("{:.2} ms", ns / NS_PER_MS),
        _ => format!("{:.2} s", ns / NS_PER_S),
    }
}

/// `12.20 MiB`.
pub fn mib(bytes: f64) -> String {
    format!("{:.2} MiB", bytes / BYTES_PER_MIB)
}

/// MiB without the unit, for a table whose title names it: `12.20`.
pub fn mib_number(bytes: f64) -> String {
    format!("{:.2}", bytes / BYTES_PER_MIB)
}

/// Nanoseconds as microseconds, for a column whose header names the unit:
/// `52.3`.
pub fn us_number(ns: f64) -> String {
    format!("{:.1}", ns / NS_PER_US)
}

/// Nanoseconds as seconds with five decimals (the seed's seconds per call):
/// `0.00021`.
pub fn seconds_number(ns: f64) -> String {
    format!("{:.5}", ns / NS_PER_S)
}

/// A fraction as a percentage without the sign: `1.5`.
pub fn percent_number(ratio: f64) -> String {
    format!("{:.1}", ratio * 100.0)
}

/// A setting in seconds: `1.0 s`.
pub fn seconds(duration: std::time::Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

/// A start-up time: `4.1 ms`.
pub fn millis(duration: std::time::Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}

/// A fraction as `12.5%`.
pub fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// A relative change as `+12.5%`; `-` when unknown (a zero baseline).
pub fn change(change: Option<f64>) -> String {
    match change {
        Some(c) if c.is_finite() => format!("{:+.1}%", c * 100.0),
        _ => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unit_has_one_scale() {
        assert_eq!(value(Unit::Nanoseconds, Some(52_340.0)), "52.3 µs");
        assert_eq!(value(Unit::Nanoseconds, Some(950.0)), "950 ns");
        assert_eq!(value(Unit::Nanoseconds, Some(2.5e9)), "2.50 s");
        assert_eq!(value(Unit::Bytes, Some(12.2 * BYTES_PER_MIB)), "12.20 MiB");
        assert_eq!(value(Unit::Ratio, Some(0.125)), "12.5%");
        assert_eq!(value(Unit::Count, Some(16_743.0)), "16.7 k");
        assert_eq!(value(Unit::Count, Some(12.0)), "12.0");
        assert_eq!(value(Unit::Count, Some(1.5)), "1.50");
        assert_eq!(value(Unit::Ratio, None), "-");
        assert_eq!(value(Unit::Ratio, Some(f64::NAN)), "n/a");
        assert_eq!(change(Some(2.0)), "+200.0%");
        assert_eq!(change(None), "-");
        assert_eq!(mib_number(12.2 * BYTES_PER_MIB), "12.20");
        assert_eq!(seconds(std::time::Duration::from_millis(1500)), "1.5 s");
        assert_eq!(millis(std::time::Duration::from_micros(4100)), "4.1 ms");
    }
}
