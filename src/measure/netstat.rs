//! The kernel's TCP counters around a burst, so that a failed request is
//! named by its cause: a SYN dropped because the listen queue was full is
//! not "a timeout".
//!
//! The counters (`/proc/net/netstat`, `/proc/net/snmp`) are per network
//! namespace and count every socket in it: they are read just before and
//! just after a burst, with one server running.

use serde::{Deserialize, Serialize};

/// The counters that explain a burst's failures, or their change over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TcpCounters {
    /// SYNs (or completed handshakes) dropped because the listen queue was
    /// full (`TcpExt: ListenOverflows`).
    pub listen_overflows: u64,
    /// Every SYN a listener dropped, for any reason (`TcpExt: ListenDrops`).
    pub listen_drops: u64,
    /// SYNs the client sent again after no answer (`TcpExt: TCPSynRetrans`).
    pub syn_retransmits: u64,
    /// Resets sent (`Tcp: OutRsts`).
    pub resets_sent: u64,
    /// Connections reset from the established state (`Tcp: EstabResets`).
    pub established_resets: u64,
}

impl TcpCounters {
    /// This namespace's counters now; `None` where `/proc/net` cannot be
    /// read (not Linux).
    pub fn read() -> Option<TcpCounters> {
        let netstat = std::fs::read_to_string("/proc/net/netstat").ok()?;
        let snmp = std::fs::read_to_string("/proc/net/snmp").ok()?;
        TcpCounters::parse(&netstat, &snmp)
    }

    fn parse(netstat: &str, snmp: &str) -> Option<TcpCounters> {
        let ext = |key| field(netstat, "TcpExt:", key);
        let tcp = |key| field(snmp, "Tcp:", key);
        Some(TcpCounters {
            listen_overflows: ext("ListenOverflows")?,
            listen_drops: ext("ListenDrops")?,
            syn_retransmits: ext("TCPSynRetrans")?,
            resets_sent: tcp("OutRsts")?,
            established_resets: tcp("EstabResets")?,
        })
    }

    /// How much each counter rose from `before` to `self`.
    pub fn since(&self, before: &TcpCounters) -> TcpCounters {
        TcpCounters {
            listen_overflows: self
                .listen_overflows
                .saturating_sub(before.listen_overflows),
            listen_drops: self.listen_drops.saturating_sub(before.listen_drops),
            syn_retransmits: self.syn_retransmits.saturating_sub(before.syn_retransmits),
            resets_sent: self.resets_sent.saturating_sub(before.resets_sent),
            established_resets: self
                .established_resets
                .saturating_sub(before.established_resets),
        }
    }
}

/// A counter from the `/proc/net` format: a line of names after `prefix`,
/// then a line of values after the same prefix.
fn field(text: &str, prefix: &str, key: &str) -> Option<u64> {
    let mut lines = text.lines().filter(|line| line.starts_with(prefix));
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        let names = names.split_whitespace().skip(1);
        let values = values.split_whitespace().skip(1);
        if let Some((_, value)) = names.zip(values).find(|(name, _)| *name == key) {
            return value.parse().ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const NETSTAT: &str = "TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPSynRetrans\n\
                           TcpExt: 0 7559 7561 12\n\
                           IpExt: InNoRoutes\nIpExt: 0\n";
    const SNMP: &str = "Ip: Forwarding\nIp: 1\n\
                        Tcp: RtoAlgorithm ActiveOpens EstabResets OutRsts\n\
                        Tcp: 1 100 3 44\n";

    #[test]
    fn reads_the_counters_by_name() {
        let counters = TcpCounters::parse(NETSTAT, SNMP).unwrap();
        assert_eq!(counters.listen_overflows, 7559);
        assert_eq!(counters.listen_drops, 7561);
        assert_eq!(counters.syn_retransmits, 12);
        assert_eq!(counters.established_resets, 3);
        assert_eq!(counters.resets_sent, 44);
        assert_eq!(TcpCounters::parse("", SNMP), None);
    }

    #[test]
    fn deltas_never_go_negative() {
        let before = TcpCounters {
            listen_overflows: 10,
            resets_sent: 5,
            ..TcpCounters::default()
        };
        let after = TcpCounters {
            listen_overflows: 853,
            resets_sent: 4,
            ..TcpCounters::default()
        };
        let delta = after.since(&before);
        assert_eq!((delta.listen_overflows, delta.resets_sent), (843, 0));
    }

    #[test]
    fn this_machine_has_them() {
        if cfg!(target_os = "linux") {
            assert!(TcpCounters::read().is_some());
        }
    }
}
