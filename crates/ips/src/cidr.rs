//! CIDR allow/deny lists: a binary prefix tree for IPv4 and IPv6, and the list-file loaders.
//!
//! Owns address matching for the verdict path. A lookup walks at most 32 (IPv4) or 128
//! (IPv6) nodes whatever the number of entries, and stops at the first stored prefix on the
//! path: a list answers "is this address covered, and by which list", not longest match.
//! Each stored prefix carries a tag (the index of the list it came from) for reasons and
//! counters.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;

const NONE: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Node {
    child: [u32; 2],
    /// Tag of the prefix ending here, or NONE.
    tag: u32,
}

/// One tree per address family, nodes in an arena (no per-node allocation, cache friendly).
#[derive(Clone)]
struct Trie {
    nodes: Vec<Node>,
}

impl Trie {
    fn new() -> Trie {
        Trie {
            nodes: vec![Node {
                child: [NONE; 2],
                tag: NONE,
            }],
        }
    }

    fn insert(&mut self, bits: u128, width: u32, len: u8, tag: u32) -> bool {
        let mut at = 0usize;
        for i in 0..u32::from(len) {
            if self.nodes[at].tag != NONE {
                return false; // covered by a shorter prefix already
            }
            let bit = ((bits >> (width - 1 - i)) & 1) as usize;
            let next = self.nodes[at].child[bit];
            at = if next == NONE {
                self.nodes.push(Node {
                    child: [NONE; 2],
                    tag: NONE,
                });
                let id = (self.nodes.len() - 1) as u32;
                self.nodes[at].child[bit] = id;
                id as usize
            } else {
                next as usize
            };
        }
        if self.nodes[at].tag != NONE {
            return false;
        }
        self.nodes[at].tag = tag;
        // Longer prefixes below are now redundant; cut them off so lookups stop here.
        self.nodes[at].child = [NONE; 2];
        true
    }

    #[inline]
    fn lookup(&self, bits: u128, width: u32) -> Option<u32> {
        let mut at = 0usize;
        let mut i = 0;
        loop {
            let n = &self.nodes[at];
            if n.tag != NONE {
                return Some(n.tag);
            }
            if i == width {
                return None;
            }
            let bit = ((bits >> (width - 1 - i)) & 1) as usize;
            let next = n.child[bit];
            if next == NONE {
                return None;
            }
            at = next as usize;
            i += 1;
        }
    }
}

/// A set of IPv4 and IPv6 prefixes with a tag per prefix.
#[derive(Clone)]
pub struct PrefixSet {
    v4: Trie,
    v6: Trie,
    len: usize,
}

impl Default for PrefixSet {
    fn default() -> Self {
        PrefixSet::new()
    }
}

impl std::fmt::Debug for PrefixSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrefixSet({} prefixes)", self.len)
    }
}

impl PrefixSet {
    pub fn new() -> PrefixSet {
        PrefixSet {
            v4: Trie::new(),
            v6: Trie::new(),
            len: 0,
        }
    }

    /// Number of prefixes stored (prefixes covered by a shorter one are not counted).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn insert(&mut self, net: IpNet, tag: u32) {
        let added = match net.trunc() {
            IpNet::V4(n) => {
                self.v4
                    .insert(u128::from(u32::from(n.addr())), 32, n.prefix_len(), tag)
            }
            IpNet::V6(n) => self
                .v6
                .insert(u128::from(n.addr()), 128, n.prefix_len(), tag),
        };
        if added {
            self.len += 1;
        }
    }

    /// The tag of a stored prefix covering `addr`. IPv4-mapped IPv6 addresses are looked up
    /// as IPv4 so a v4 list also covers `::ffff:a.b.c.d` sources.
    #[inline]
    pub fn lookup(&self, addr: IpAddr) -> Option<u32> {
        match addr {
            IpAddr::V4(a) => self.v4.lookup(u128::from(u32::from(a)), 32),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => self.v4.lookup(u128::from(u32::from(v4)), 32),
                None => self.v6.lookup(u128::from(a), 128),
            },
        }
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        self.lookup(addr).is_some()
    }
}

/// A list file that could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {text:?} is not an IP address or CIDR prefix")]
    Syntax {
        path: String,
        line: usize,
        text: String,
    },
}

/// Parses one address or prefix (`192.0.2.7`, `198.51.100.0/24`, `2001:db8::/32`).
pub fn parse_net(text: &str) -> Option<IpNet> {
    if let Ok(n) = text.parse::<IpNet>() {
        return Some(n.trunc());
    }
    text.parse::<IpAddr>().ok().map(IpNet::from)
}

/// Parses list text: one address or prefix per line. Accepts plain lists, the Emerging
/// Threats `compromised-ips.txt` / `emerging-Block-IPs.txt` format (bare IPs or CIDRs, `#`
/// comments) and Spamhaus-style `prefix ; comment` lines: the first whitespace- or
/// `;`-separated token of each non-comment line is the entry.
pub fn parse_list(text: &str, origin: &str) -> Result<Vec<IpNet>, ListError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split(['#', ';']).next().unwrap_or("").trim();
        let Some(token) = line.split_whitespace().next() else {
            continue;
        };
        match parse_net(token) {
            Some(n) => out.push(n),
            None => {
                return Err(ListError::Syntax {
                    path: origin.to_string(),
                    line: i + 1,
                    text: token.to_string(),
                })
            }
        }
    }
    Ok(out)
}

pub fn load_list(path: &Path) -> Result<Vec<IpNet>, ListError> {
    let text = std::fs::read_to_string(path).map_err(|source| ListError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_list(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn matches_v4_and_v6_prefixes() {
        let mut s = PrefixSet::new();
        s.insert("198.51.100.0/24".parse().unwrap(), 1);
        s.insert("203.0.113.7/32".parse().unwrap(), 2);
        s.insert("2001:db8:ab::/48".parse().unwrap(), 3);
        assert_eq!(s.lookup(ip("198.51.100.200")), Some(1));
        assert_eq!(s.lookup(ip("198.51.101.1")), None);
        assert_eq!(s.lookup(ip("203.0.113.7")), Some(2));
        assert_eq!(s.lookup(ip("203.0.113.8")), None);
        assert_eq!(s.lookup(ip("2001:db8:ab:ffff::1")), Some(3));
        assert_eq!(s.lookup(ip("2001:db8:ac::1")), None);
        assert_eq!(s.lookup(ip("::ffff:198.51.100.9")), Some(1));
        // the string-compare bug of the old system: "10.0.0.1" is not a prefix match of "10.0.0.10"
        s.insert("10.0.0.1/32".parse().unwrap(), 4);
        assert_eq!(s.lookup(ip("10.0.0.10")), None);
    }

    #[test]
    fn shorter_prefix_covers_longer_and_default_route_matches_all() {
        let mut s = PrefixSet::new();
        s.insert("10.1.2.0/24".parse().unwrap(), 1);
        s.insert("10.0.0.0/8".parse().unwrap(), 2);
        s.insert("10.1.2.3/32".parse().unwrap(), 3);
        assert_eq!(s.len(), 2);
        assert_eq!(s.lookup(ip("10.1.2.3")), Some(2));
        let mut all = PrefixSet::new();
        all.insert("0.0.0.0/0".parse().unwrap(), 9);
        assert_eq!(all.lookup(ip("1.2.3.4")), Some(9));
        assert_eq!(all.lookup(ip("::1")), None);
    }

    #[test]
    fn agrees_with_a_linear_scan_on_random_prefixes() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let nets: Vec<IpNet> = (0..2000)
            .map(|_| {
                let a = std::net::Ipv4Addr::from(rng.gen::<u32>() & 0x0fff_ffff);
                IpNet::new(IpAddr::V4(a), rng.gen_range(8..=32))
                    .unwrap()
                    .trunc()
            })
            .collect();
        let mut s = PrefixSet::new();
        for (i, n) in nets.iter().enumerate() {
            s.insert(*n, i as u32);
        }
        for _ in 0..20_000 {
            let a = IpAddr::V4(std::net::Ipv4Addr::from(rng.gen::<u32>() & 0x0fff_ffff));
            assert_eq!(s.contains(a), nets.iter().any(|n| n.contains(&a)), "{a}");
        }
    }

    #[test]
    fn parses_plain_et_and_spamhaus_formats_and_names_bad_lines() {
        let text = "# ET compromised\n192.0.2.1\n\n198.51.100.0/24 ; SBL1\n2001:db8::/32 # v6\n";
        let l = parse_list(text, "t.txt").unwrap();
        assert_eq!(l.len(), 3);
        let err = parse_list("192.0.2.1\nnot-an-ip\n", "bad.txt").unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad.txt:2: \"not-an-ip\" is not an IP address or CIDR prefix"
        );
        let err = load_list(Path::new("/nonexistent/list.txt")).unwrap_err();
        assert!(err.to_string().starts_with("/nonexistent/list.txt: "));
    }
}
