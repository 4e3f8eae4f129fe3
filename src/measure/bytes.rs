//! A Criterion [`Measurement`] whose values are bytes, so memory figures go
//! through Criterion's own statistics, reports and baselines.
//!
//! Criterion still labels every value `time:` in the terminal and "time" on
//! its plots' axes (that text is hard-coded); only the numbers go through
//! [`BytesFormatter`]. Memory benchmarks therefore live in groups of their
//! own (`memory-*`), never beside a latency.

use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};

/// Bytes, summed over a sample's iterations by `iter_custom`.
pub struct Bytes;

impl Measurement for Bytes {
    type Intermediate = ();
    type Value = u64;

    /// Unused: memory benchmarks only call `iter_custom`, which never
    /// starts or ends a measurement.
    fn start(&self) -> Self::Intermediate {}

    fn end(&self, _: Self::Intermediate) -> Self::Value {
        0
    }

    fn add(&self, v1: &Self::Value, v2: &Self::Value) -> Self::Value {
        v1.saturating_add(*v2)
    }

    fn zero(&self) -> Self::Value {
        0
    }

    fn to_f64(&self, value: &Self::Value) -> f64 {
        *value as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &BytesFormatter
    }
}

/// Prints bytes in binary units: B, KiB, MiB, GiB.
pub struct BytesFormatter;

const UNITS: [(&str, f64); 4] = [
    ("GiB", 1024.0 * 1024.0 * 1024.0),
    ("MiB", 1024.0 * 1024.0),
    ("KiB", 1024.0),
    ("B", 1.0),
];

impl BytesFormatter {
    fn unit_for(typical: f64) -> (&'static str, f64) {
        UNITS
            .into_iter()
            .find(|(_, size)| typical.abs() >= *size)
            .unwrap_or(("B", 1.0))
    }
}

impl ValueFormatter for BytesFormatter {
    fn scale_values(&self, typical_value: f64, values: &mut [f64]) -> &'static str {
        let (unit, size) = BytesFormatter::unit_for(typical_value);
        values.iter_mut().for_each(|v| *v /= size);
        unit
    }

    /// Memory benchmarks set no throughput; if one does, show bytes per
    /// element rather than a rate, which would be meaningless here.
    fn scale_throughputs(
        &self,
        typical_value: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per = match throughput {
            Throughput::Elements(n)
            | Throughput::Bytes(n)
            | Throughput::BytesDecimal(n)
            | Throughput::Bits(n) => *n,
            Throughput::ElementsAndBytes { elements, .. } => *elements,
        }
        .max(1) as f64;
        values.iter_mut().for_each(|v| *v /= per);
        let (unit, size) = BytesFormatter::unit_for(typical_value / per);
        values.iter_mut().for_each(|v| *v /= size);
        match unit {
            "GiB" => "GiB/elem",
            "MiB" => "MiB/elem",
            "KiB" => "KiB/elem",
            _ => "B/elem",
        }
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "B"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_to_binary_units() {
        let formatter = BytesFormatter;
        let mut values = [3.5 * 1024.0 * 1024.0, 1024.0 * 1024.0];
        assert_eq!(formatter.scale_values(values[0], &mut values), "MiB");
        assert_eq!(values, [3.5, 1.0]);
        assert_eq!(formatter.format_value(212.0 * 1024.0).trim(), "212.00 KiB");
        assert_eq!(formatter.format_value(512.0).trim(), "512.00 B");
        let mut machine = [4096.0];
        assert_eq!(formatter.scale_for_machines(&mut machine), "B");
        assert_eq!(machine, [4096.0]);
    }

    #[test]
    fn values_add_up_per_sample() {
        assert_eq!(Bytes.add(&3, &4), 7);
        assert_eq!(Bytes.add(&u64::MAX, &1), u64::MAX);
        assert_eq!(Bytes.to_f64(&Bytes.zero()), 0.0);
    }
}
