//! Which TCP addresses a process listens on, from `/proc` (Linux). The
//! harness uses it to refuse servers that listen beyond loopback.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use crate::error::{Error, Result};

/// TCP state LISTEN in `/proc/net/tcp`.
const TCP_LISTEN: &str = "0A";

/// Every address `pid` has a listening TCP socket on.
pub fn listening_addrs(pid: u32) -> Result<Vec<SocketAddr>> {
    let inodes = socket_inodes(pid)?;
    let mut addrs = Vec::new();
    for table in ["tcp", "tcp6"] {
        let path = PathBuf::from(format!("/proc/{pid}/net/{table}"));
        let text = std::fs::read_to_string(&path).map_err(|source| Error::ReadProc {
            pid,
            path,
            source,
        })?;
        addrs.extend(parse_listeners(&text, &inodes));
    }
    Ok(addrs)
}

fn socket_inodes(pid: u32) -> Result<HashSet<u64>> {
    let path = PathBuf::from(format!("/proc/{pid}/fd"));
    let entries = std::fs::read_dir(&path).map_err(|source| Error::ReadProc {
        pid,
        path: path.clone(),
        source,
    })?;
    Ok(entries
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_str()?;
            target
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect())
}

/// Listening rows of a `/proc/net/tcp{,6}` table whose inode is in `inodes`.
fn parse_listeners(table: &str, inodes: &HashSet<u64>) -> Vec<SocketAddr> {
    table
        .lines()
        .skip(1)
        .filter_map(|row| {
            let fields: Vec<&str> = row.split_whitespace().collect();
            let (local, state, inode) = (fields.get(1)?, fields.get(3)?, fields.get(9)?);
            if *state != TCP_LISTEN || !inodes.contains(&inode.parse().ok()?) {
                return None;
            }
            parse_hex_addr(local)
        })
        .collect()
}

/// `0100007F:1F90` or a 32-digit IPv6 address: each 32-bit word in host
/// (little-endian) order, then the port in big-endian hex.
fn parse_hex_addr(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Vec<u32> = (0..ip.len() / 8)
        .map(|i| u32::from_str_radix(&ip[i * 8..i * 8 + 8], 16))
        .collect::<Result<_, _>>()
        .ok()?;
    let ip = match words.as_slice() {
        [w] => IpAddr::V4(Ipv4Addr::from(w.to_le_bytes())),
        [a, b, c, d] => {
            let mut bytes = [0u8; 16];
            for (chunk, word) in bytes.chunks_mut(4).zip([a, b, c, d]) {
                chunk.copy_from_slice(&word.to_le_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v4_and_v6_rows() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 20 4 30 10 -1
";
        let inodes: HashSet<u64> = [111, 222].into();
        let addrs = parse_listeners(v4, &inodes);
        assert_eq!(
            addrs,
            [
                "127.0.0.1:8080".parse().unwrap(),
                "0.0.0.0:22".parse().unwrap()
            ]
        );
        assert_eq!(
            parse_hex_addr("00000000000000000000000001000000:0050"),
            Some("[::1]:80".parse().unwrap())
        );
        assert_eq!(parse_hex_addr("zz:0050"), None);
    }

    #[test]
    fn finds_our_own_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addrs = listening_addrs(std::process::id()).unwrap();
        assert!(addrs.contains(&listener.local_addr().unwrap()), "{addrs:?}");
    }
}
