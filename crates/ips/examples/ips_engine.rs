//! In-process verdict-engine throughput for bench/ips.sh: decisions per second of
//! `Engine::decide_raw` on one thread, with N random deny prefixes loaded (IPv4 and IPv6)
//! and the default detection thresholds, over a mix of sources and ports.
//!
//! `ips_engine [PREFIXES] [PACKETS]`

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use palisade_ips::cidr::PrefixSet;
use palisade_ips::detect::Engine;
use palisade_ips::packet::{build, TCP_ACK};
use palisade_ips::settings::DetectSettings;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let prefixes: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let packets: usize = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000_000);
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut deny = PrefixSet::new();
    for i in 0..prefixes {
        let net = if i % 10 == 9 {
            let a = Ipv6Addr::from(((0x2001_0db8u128) << 96) | u128::from(rnd()) << 32);
            ipnet::IpNet::new(IpAddr::V6(a), 48 + (rnd() % 17) as u8)
        } else {
            // 11.0.0.0/8 .. 126.0.0.0/8: never the 198.18/15 sources below
            let a =
                Ipv4Addr::from(((11 + rnd() % 116) as u32) << 24 | (rnd() as u32 & 0x00ff_ffff));
            ipnet::IpNet::new(IpAddr::V4(a), 16 + (rnd() % 17) as u8)
        };
        deny.insert(net.expect("prefix").trunc(), 0);
    }
    let engine = Engine::new(
        PrefixSet::new(),
        deny,
        vec!["bench".into()],
        false,
        DetectSettings {
            packets_per_sec: 0,
            new_conns_per_sec: 0,
            syn_per_window: 0,
            distinct_ports: 0,
            ..DetectSettings::default()
        },
        &[],
    )
    .expect("engine");
    let pkts: Vec<Vec<u8>> = (0..1024u32)
        .map(|i| {
            let src = Ipv4Addr::new(198, 18, (i >> 8) as u8, i as u8);
            build::ipv4_tcp(
                src,
                Ipv4Addr::new(198, 19, 0, 1),
                40_000 + i as u16,
                443,
                TCP_ACK,
                b"GET / HTTP/1.1\r\n",
            )
        })
        .collect();
    let start = Instant::now();
    let now = Instant::now();
    let mut accepted = 0usize;
    for i in 0..packets {
        if engine.decide_raw(&pkts[i & 1023], now) == palisade_ips::detect::Decision::Accept {
            accepted += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{prefixes} prefixes ({} stored): {:.0} decisions/s on one thread ({accepted} accepted)",
        engine.deny_len(),
        packets as f64 / secs
    );
}
