//! Units: the scale constants every report uses, and durations on disk as
//! whole nanoseconds, in fields whose names say `_ns`.

/// Bytes in a mebibyte (the seed printed MiB).
pub const BYTES_PER_MIB: f64 = 1024.0 * 1024.0;
/// Bytes in a kibibyte.
pub const BYTES_PER_KIB: f64 = 1024.0;
pub const NS_PER_US: f64 = 1e3;
pub const NS_PER_MS: f64 = 1e6;
pub const NS_PER_S: f64 = 1e9;

/// `Duration` <-> `u64` nanoseconds.
pub mod duration_ns {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_nanos(u64::deserialize(d)?))
    }
}

/// `Option<Duration>` <-> `u64` nanoseconds or `null`.
pub mod option_duration_ns {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::duration_ns::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_nanos))
    }
}

/// Bytes in the largest binary unit that keeps them above 1: `512 B`,
/// `1.02 KiB`, `2.00 MiB`.
pub fn bytes_text(bytes: f64) -> String {
    let abs = bytes.abs();
    if abs >= BYTES_PER_MIB {
        format!("{:.2} MiB", bytes / BYTES_PER_MIB)
    } else if abs >= 1024.0 {
        format!("{:.2} KiB", bytes / 1024.0)
    } else {
        format!("{bytes:.0} B")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct T {
        #[serde(with = "super::duration_ns")]
        a_ns: Duration,
        #[serde(with = "super::option_duration_ns")]
        b_ns: Option<Duration>,
    }

    #[test]
    fn round_trips_as_nanoseconds() {
        let t = T {
            a_ns: Duration::from_micros(1500),
            b_ns: None,
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"a_ns":1500000,"b_ns":null}"#);
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), t);
    }
}
