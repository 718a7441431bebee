//! The per-packet decision: allow/deny lists, per-source rates, SYN flood, port scan and
//! payload signatures. Owns all per-source and per-flow state of the verdict daemon.
//!
//! Pure logic with the clock passed in, so it is tested without sockets. State is sharded by
//! source address behind mutexes: the kernel balances queues by address, so two verdict
//! threads rarely touch the same shard, and the lock is uncontended in practice.
//! Counting uses fixed windows (reset when a window is over): cheap and bounded, at the cost
//! of letting a burst that straddles two windows reach up to twice a threshold.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use aho_corasick::AhoCorasick;

use crate::cidr::PrefixSet;
use crate::packet::{self, Packet, PROTO_UDP};
use crate::settings::{DetectSettings, SignatureSettings};
use crate::stats::Counters;

/// Why a source was banned (recorded with the ban).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BanCause {
    PacketRate(u32),
    ConnRate(u32),
    SynFlood(u32),
    PortScan(u32),
    Signature(String),
    Denied(String),
}

impl std::fmt::Display for BanCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BanCause::PacketRate(n) => write!(f, "packet rate: {n} packets/s"),
            BanCause::ConnRate(n) => write!(f, "connection rate: {n} new connections/s"),
            BanCause::SynFlood(n) => write!(f, "SYN flood: {n} SYNs in window"),
            BanCause::PortScan(n) => write!(f, "port scan: {n} distinct ports in window"),
            BanCause::Signature(s) => write!(f, "payload signature: {s}"),
            BanCause::Denied(s) => write!(f, "deny list: {s}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Drop,
    /// Drop this packet and ban its source.
    Ban(IpAddr, BanCause),
}

const SHARDS: usize = 64;
/// Per-shard caps: beyond them, stale entries are swept and new ones are not tracked, so a
/// spoofed-source flood cannot exhaust memory (it still hits the packet-rate checks of the
/// sources that are tracked, and the kernel's queue bypass keeps traffic flowing).
const MAX_SOURCES_PER_SHARD: usize = 16_384;
const MAX_FLOWS_PER_SHARD: usize = 16_384;

#[derive(Default)]
struct Source {
    sec_start: Option<Instant>,
    pkts_sec: u32,
    conns_sec: u32,
    win_start: Option<Instant>,
    syns: u32,
    /// Distinct destination ports seen in the window (kept only up to the threshold).
    ports: Vec<u16>,
    last_seen: Option<Instant>,
    /// Banned by this daemon; packets are dropped here until the kernel ban is in place.
    pending_ban: bool,
}

#[derive(Hash, PartialEq, Eq, Clone, Copy)]
struct FlowKey {
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    proto: u8,
}

struct Flow {
    packets: u32,
    last_seen: Instant,
}

#[derive(Default)]
struct Shard {
    sources: HashMap<IpAddr, Source>,
    flows: HashMap<FlowKey, Flow>,
}

struct Signatures {
    matchers: Vec<(AhoCorasick, Vec<usize>)>,
    rules: Vec<SignatureSettings>,
}

/// Parses Suricata `content` syntax: literal text with `|0d 0a|` hex blocks.
pub fn parse_content(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut parts = text.split('|');
    let mut hex = false;
    for part in parts.by_ref() {
        if hex {
            for byte in part.split_whitespace() {
                let b = u8::from_str_radix(byte, 16)
                    .ok()
                    .filter(|_| byte.len() == 2)
                    .ok_or_else(|| format!("bad hex byte {byte:?} in {text:?}"))?;
                out.push(b);
            }
        } else {
            out.extend_from_slice(part.as_bytes());
        }
        hex = !hex;
    }
    if !hex {
        return Err(format!("unclosed |hex| block in {text:?}"));
    }
    if out.is_empty() {
        return Err("empty signature content".into());
    }
    Ok(out)
}

impl Signatures {
    fn new(rules: &[SignatureSettings]) -> Result<Option<Signatures>, String> {
        if rules.is_empty() {
            return Ok(None);
        }
        let mut matchers = Vec::new();
        for nocase in [false, true] {
            let mut pats = Vec::new();
            let mut ids = Vec::new();
            for (i, r) in rules.iter().enumerate().filter(|(_, r)| r.nocase == nocase) {
                pats.push(
                    parse_content(&r.content)
                        .map_err(|e| format!("signature {:?}: {e}", r.name))?,
                );
                ids.push(i);
            }
            if pats.is_empty() {
                continue;
            }
            let ac = AhoCorasick::builder()
                .ascii_case_insensitive(nocase)
                .build(&pats)
                .map_err(|e| format!("signatures: {e}"))?;
            matchers.push((ac, ids));
        }
        Ok(Some(Signatures {
            matchers,
            rules: rules.to_vec(),
        }))
    }

    fn find(&self, payload: &[u8], dport: u16) -> Option<&str> {
        for (ac, ids) in &self.matchers {
            for m in ac.find_overlapping_iter(payload) {
                let rule = &self.rules[ids[m.pattern().as_usize()]];
                if rule.ports.is_empty() || rule.ports.contains(&dport) {
                    return Some(&rule.name);
                }
            }
        }
        None
    }
}

/// The allow and deny lists, replaced as a whole on reload.
struct Lists {
    allow: PrefixSet,
    deny: PrefixSet,
    /// Names of the deny lists, indexed by prefix tag.
    deny_names: Vec<String>,
}

/// The verdict engine shared by all verdict threads.
pub struct Engine {
    /// Read per packet, written only by a reload: an uncontended read lock is one atomic
    /// operation.
    lists: RwLock<Lists>,
    ban_denied: bool,
    cfg: DetectSettings,
    sigs: Option<Signatures>,
    shards: Vec<Mutex<Shard>>,
    pub counters: Arc<Counters>,
}

impl Engine {
    pub fn new(
        allow: PrefixSet,
        deny: PrefixSet,
        deny_names: Vec<String>,
        ban_denied: bool,
        cfg: DetectSettings,
        signatures: &[SignatureSettings],
    ) -> Result<Engine, String> {
        Ok(Engine {
            lists: RwLock::new(Lists {
                allow,
                deny,
                deny_names,
            }),
            ban_denied,
            cfg,
            sigs: Signatures::new(signatures)?,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            counters: Arc::new(Counters::default()),
        })
    }

    /// Replaces the allow and deny lists (SIGHUP); packets in flight finish with the old ones.
    pub fn reload_lists(&self, allow: PrefixSet, deny: PrefixSet, deny_names: Vec<String>) {
        let mut l = match self.lists.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *l = Lists {
            allow,
            deny,
            deny_names,
        };
    }

    fn shard(&self, addr: &IpAddr) -> &Mutex<Shard> {
        let h = match addr {
            IpAddr::V4(a) => u64::from(u32::from(*a)),
            IpAddr::V6(a) => {
                let v = u128::from(*a);
                (v as u64) ^ ((v >> 64) as u64)
            }
        };
        let h = h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58;
        &self.shards[(h as usize) % SHARDS]
    }

    /// Decides one raw packet. Unparseable packets are accepted (fail-open) and counted.
    pub fn decide_raw(&self, raw: &[u8], now: Instant) -> Decision {
        Counters::inc(&self.counters.packets);
        let d = match packet::parse(raw) {
            Ok(p) => self.decide(&p, now),
            Err(_) => {
                Counters::inc(&self.counters.malformed);
                Decision::Accept
            }
        };
        match &d {
            Decision::Accept => Counters::inc(&self.counters.accepted),
            Decision::Ban(..) => Counters::inc(&self.counters.dropped_detection),
            Decision::Drop => {}
        }
        d
    }

    pub fn decide(&self, p: &Packet<'_>, now: Instant) -> Decision {
        let c = &self.counters;
        let lists = match self.lists.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if lists.allow.contains(p.src) {
            Counters::inc(&c.allowed_by_list);
            return Decision::Accept;
        }
        if let Some(tag) = lists.deny.lookup(p.src) {
            if self.ban_denied {
                let name = lists
                    .deny_names
                    .get(tag as usize)
                    .cloned()
                    .unwrap_or_default();
                if self.mark_ban(p.src) {
                    Counters::inc(&c.bans_denied);
                    return Decision::Ban(p.src, BanCause::Denied(name));
                }
            }
            Counters::inc(&c.dropped_denied);
            return Decision::Drop;
        }
        drop(lists);
        let mut shard = match self.shard(&p.src).lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let shard = &mut *shard;
        if shard.sources.len() >= MAX_SOURCES_PER_SHARD || shard.flows.len() >= MAX_FLOWS_PER_SHARD
        {
            sweep(shard, now, self.cfg.window.max(Duration::from_secs(1)));
        }
        // New flow? (UDP has no SYN; signatures look at the first packets of each flow.)
        let needs_flow = p.proto == PROTO_UDP || (self.sigs.is_some() && !p.payload.is_empty());
        let mut flow_packets = 0u32;
        let mut new_flow = p.is_syn();
        if needs_flow && !p.fragment {
            let key = FlowKey {
                src: p.src,
                dst: p.dst,
                sport: p.src_port,
                dport: p.dst_port,
                proto: p.proto,
            };
            let room = shard.flows.len() < MAX_FLOWS_PER_SHARD;
            match shard.flows.get_mut(&key) {
                Some(f) => {
                    f.packets = f.packets.saturating_add(1);
                    f.last_seen = now;
                    flow_packets = f.packets;
                }
                None if room => {
                    shard.flows.insert(
                        key,
                        Flow {
                            packets: 1,
                            last_seen: now,
                        },
                    );
                    flow_packets = 1;
                    if p.proto == PROTO_UDP {
                        new_flow = true;
                    }
                }
                None => {}
            }
        }
        let room = shard.sources.len() < MAX_SOURCES_PER_SHARD;
        if !room && !shard.sources.contains_key(&p.src) {
            return Decision::Accept;
        }
        let src = shard.sources.entry(p.src).or_default();
        if src.pending_ban {
            Counters::inc(&c.dropped_banned);
            return Decision::Drop;
        }
        src.last_seen = Some(now);
        if src
            .sec_start
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1))
        {
            src.sec_start = Some(now);
            src.pkts_sec = 0;
            src.conns_sec = 0;
        }
        if src
            .win_start
            .is_none_or(|t| now.duration_since(t) >= self.cfg.window)
        {
            src.win_start = Some(now);
            src.syns = 0;
            src.ports.clear();
        }
        src.pkts_sec += 1;
        if new_flow {
            src.conns_sec += 1;
        }
        let cfg = &self.cfg;
        let mut cause = None;
        if cfg.packets_per_sec > 0 && src.pkts_sec > cfg.packets_per_sec {
            Counters::inc(&c.bans_packet_rate);
            cause = Some(BanCause::PacketRate(src.pkts_sec));
        }
        if cause.is_none() && p.is_syn() {
            src.syns += 1;
            if cfg.syn_per_window > 0 && src.syns > cfg.syn_per_window {
                Counters::inc(&c.bans_syn_flood);
                cause = Some(BanCause::SynFlood(src.syns));
            }
        }
        if cause.is_none() && cfg.new_conns_per_sec > 0 && src.conns_sec > cfg.new_conns_per_sec {
            Counters::inc(&c.bans_conn_rate);
            cause = Some(BanCause::ConnRate(src.conns_sec));
        }
        // A port counts toward a scan when a connection is attempted to it (SYN, new UDP flow).
        if cause.is_none() && new_flow && cfg.distinct_ports > 0 && !src.ports.contains(&p.dst_port)
        {
            src.ports.push(p.dst_port);
            if src.ports.len() as u32 >= cfg.distinct_ports {
                Counters::inc(&c.bans_port_scan);
                cause = Some(BanCause::PortScan(src.ports.len() as u32));
            }
        }
        if cause.is_none() && flow_packets > 0 && flow_packets <= cfg.signature_packets {
            if let Some(name) = self
                .sigs
                .as_ref()
                .and_then(|s| s.find(p.payload, p.dst_port))
            {
                Counters::inc(&c.bans_signature);
                cause = Some(BanCause::Signature(name.to_string()));
            }
        }
        match cause {
            Some(cause) => {
                src.pending_ban = true;
                Decision::Ban(p.src, cause)
            }
            None => Decision::Accept,
        }
    }

    /// Marks `addr` as banned here (dropped in user space until the kernel ban is in
    /// place). Returns false when it already was.
    fn mark_ban(&self, addr: IpAddr) -> bool {
        let mut shard = match self.shard(&addr).lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let s = shard.sources.entry(addr).or_default();
        !std::mem::replace(&mut s.pending_ban, true)
    }

    /// Called once the kernel ban set holds `addr` (or the ban failed): the kernel drops its
    /// packets from now on, and forgetting the user-space mark lets `unban` take effect.
    pub fn ban_settled(&self, addr: IpAddr) {
        let mut shard = match self.shard(&addr).lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        shard.sources.remove(&addr);
    }

    /// Number of deny-list prefixes loaded.
    pub fn deny_len(&self) -> usize {
        self.lists.read().map(|l| l.deny.len()).unwrap_or(0)
    }

    /// Number of tracked sources (for tests and logs).
    pub fn tracked_sources(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|g| g.sources.len()).unwrap_or(0))
            .sum()
    }

    /// Drops idle state; called periodically.
    pub fn sweep(&self, now: Instant) {
        let idle = self.cfg.window.max(Duration::from_secs(1));
        for s in &self.shards {
            if let Ok(mut g) = s.lock() {
                sweep(&mut g, now, idle);
            }
        }
    }
}

fn sweep(shard: &mut Shard, now: Instant, idle: Duration) {
    shard
        .sources
        .retain(|_, s| s.pending_ban || s.last_seen.is_some_and(|t| now.duration_since(t) < idle));
    shard
        .flows
        .retain(|_, f| now.duration_since(f.last_seen) < idle);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::build::*;
    use crate::packet::{TCP_ACK, TCP_SYN};
    use std::net::Ipv4Addr;

    const ATT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 66);
    const OK: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
    const DST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

    fn engine(cfg: DetectSettings, sigs: &[SignatureSettings]) -> Engine {
        let mut deny = PrefixSet::new();
        deny.insert("198.51.100.0/24".parse().unwrap(), 0);
        let mut allow = PrefixSet::new();
        allow.insert("192.0.2.200/32".parse().unwrap(), 0);
        Engine::new(allow, deny, vec!["test.txt".into()], false, cfg, sigs).unwrap()
    }

    fn quiet() -> DetectSettings {
        DetectSettings {
            window: Duration::from_secs(10),
            packets_per_sec: 0,
            new_conns_per_sec: 0,
            syn_per_window: 0,
            distinct_ports: 0,
            signature_packets: 2,
        }
    }

    #[test]
    fn deny_list_drops_and_allow_list_wins() {
        let e = engine(DetectSettings::default(), &[]);
        let now = Instant::now();
        let p = ipv4_tcp(Ipv4Addr::new(198, 51, 100, 7), DST, 1, 80, TCP_SYN, b"");
        assert_eq!(e.decide_raw(&p, now), Decision::Drop);
        let p = ipv4_tcp(OK, DST, 1, 80, TCP_SYN, b"");
        assert_eq!(e.decide_raw(&p, now), Decision::Accept);
        assert_eq!(Counters::get(&e.counters.dropped_denied), 1);
        assert_eq!(Counters::get(&e.counters.accepted), 1);
        assert_eq!(e.decide_raw(&[0x45, 0, 1], now), Decision::Accept);
        assert_eq!(Counters::get(&e.counters.malformed), 1);
    }

    #[test]
    fn syn_flood_bans_the_source_once_and_not_others() {
        let cfg = DetectSettings {
            syn_per_window: 50,
            ..quiet()
        };
        let e = engine(cfg, &[]);
        let now = Instant::now();
        let mut bans = 0;
        for i in 0..200u16 {
            let p = ipv4_tcp(ATT, DST, 10_000 + i, 80, TCP_SYN, b"");
            match e.decide_raw(&p, now) {
                Decision::Ban(a, BanCause::SynFlood(n)) => {
                    assert_eq!((a, n), (IpAddr::V4(ATT), 51));
                    bans += 1;
                }
                Decision::Accept => assert!(i < 50),
                Decision::Drop => assert!(i > 50),
                d => panic!("{d:?}"),
            }
        }
        assert_eq!(bans, 1);
        assert_eq!(Counters::get(&e.counters.dropped_banned), 149);
        let p = ipv4_tcp(OK, DST, 1, 80, TCP_SYN, b"");
        assert_eq!(e.decide_raw(&p, now), Decision::Accept);
        // Once the kernel holds the ban, user space forgets it (so unban works).
        e.ban_settled(IpAddr::V4(ATT));
        let p = ipv4_tcp(ATT, DST, 1, 80, TCP_ACK, b"");
        assert_eq!(e.decide_raw(&p, now), Decision::Accept);
    }

    #[test]
    fn port_scan_counts_distinct_ports_per_window() {
        let cfg = DetectSettings {
            distinct_ports: 10,
            ..quiet()
        };
        let e = engine(cfg, &[]);
        let t0 = Instant::now();
        // The same port many times is not a scan.
        for i in 0..100u16 {
            let p = ipv4_tcp(OK, DST, 20_000 + i, 80, TCP_SYN, b"");
            assert_eq!(e.decide_raw(&p, t0), Decision::Accept);
        }
        // 9 distinct ports, then the window ends: no ban.
        for port in 1..10u16 {
            let p = ipv4_tcp(ATT, DST, 40_000, port, TCP_SYN, b"");
            assert_eq!(e.decide_raw(&p, t0), Decision::Accept);
        }
        let t1 = t0 + Duration::from_secs(11);
        for port in 100..109u16 {
            let p = ipv4_tcp(ATT, DST, 40_000, port, TCP_SYN, b"");
            assert_eq!(e.decide_raw(&p, t1), Decision::Accept);
        }
        let p = ipv4_tcp(ATT, DST, 40_000, 109, TCP_SYN, b"");
        assert!(matches!(
            e.decide_raw(&p, t1),
            Decision::Ban(_, BanCause::PortScan(10))
        ));
    }

    #[test]
    fn packet_and_connection_rates() {
        let cfg = DetectSettings {
            packets_per_sec: 100,
            new_conns_per_sec: 20,
            ..quiet()
        };
        let e = engine(cfg, &[]);
        let t0 = Instant::now();
        // 100 packets/s of one established flow is fine, every second.
        for s in 0..3u64 {
            for _ in 0..100 {
                let p = ipv4_tcp(OK, DST, 5555, 80, TCP_ACK, b"x");
                assert_eq!(
                    e.decide_raw(&p, t0 + Duration::from_secs(s)),
                    Decision::Accept
                );
            }
        }
        let p = ipv4_tcp(OK, DST, 5555, 80, TCP_ACK, b"x");
        assert!(matches!(
            e.decide_raw(&p, t0 + Duration::from_secs(2)),
            Decision::Ban(_, BanCause::PacketRate(101))
        ));
        // UDP: each new flow is a new connection.
        for i in 0..20u16 {
            let p = ipv4_udp(ATT, DST, 1000 + i, 53, b"q");
            assert_eq!(e.decide_raw(&p, t0), Decision::Accept);
        }
        let p = ipv4_udp(ATT, DST, 999, 53, b"q");
        assert!(matches!(
            e.decide_raw(&p, t0),
            Decision::Ban(_, BanCause::ConnRate(21))
        ));
    }

    #[test]
    fn signatures_match_only_the_first_packets_of_a_flow() {
        let sigs = vec![SignatureSettings {
            name: "shellshock".into(),
            content: "() {|20|:;".into(),
            nocase: false,
            ports: vec![80],
        }];
        let e = engine(quiet(), &sigs);
        let now = Instant::now();
        let benign = ipv4_tcp(OK, DST, 7000, 80, TCP_ACK, b"GET / HTTP/1.1\r\n");
        assert_eq!(e.decide_raw(&benign, now), Decision::Accept);
        assert_eq!(e.decide_raw(&benign, now), Decision::Accept);
        // third packet of the flow: beyond signature_packets, not inspected
        let late = ipv4_tcp(OK, DST, 7000, 80, TCP_ACK, b"User-Agent: () { :; };");
        assert_eq!(e.decide_raw(&late, now), Decision::Accept);
        let bad = ipv4_tcp(ATT, DST, 7001, 80, TCP_ACK, b"User-Agent: () { :; };");
        assert!(
            matches!(e.decide_raw(&bad, now), Decision::Ban(_, BanCause::Signature(ref s)) if s == "shellshock")
        );
        // other port: the signature does not apply
        let other = ipv4_tcp(OK, DST, 7002, 8080, TCP_ACK, b"() { :; }");
        assert_eq!(e.decide_raw(&other, now), Decision::Accept);
    }

    #[test]
    fn content_syntax() {
        assert_eq!(parse_content("a|0d 0A|b").unwrap(), b"a\r\nb");
        assert!(parse_content("a|0d").is_err());
        assert!(parse_content("|zz|").is_err());
        assert!(parse_content("").is_err());
    }

    #[test]
    fn idle_sources_are_swept() {
        let e = engine(quiet(), &[]);
        let t0 = Instant::now();
        for i in 0..100u8 {
            let p = ipv4_tcp(Ipv4Addr::new(192, 0, 2, i), DST, 1, 80, TCP_SYN, b"");
            e.decide_raw(&p, t0);
        }
        assert_eq!(e.tracked_sources(), 100);
        e.sweep(t0 + Duration::from_secs(60));
        assert_eq!(e.tracked_sources(), 0);
    }
}
